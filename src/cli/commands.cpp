#include "cli/commands.h"

#include <algorithm>
#include <random>
#include <string>
#include <vector>

#include <fmt/format.h>

#include "core/cpu.h"
#include "core/thread_pool.h"
#include "quant/ternary_formats.h"
#include "model/sampler.h"

namespace bitlm::cli {
namespace {
std::vector<CommandSetup>& registry() {
  static std::vector<CommandSetup> commands;
  return commands;
}
}  // namespace

int register_command(CommandSetup setup) {
  registry().push_back(std::move(setup));
  return 0;
}

int thread_count(int requested) {
  const int available = default_thread_count();
  if (requested <= 0) return available;
  if (requested <= available) return requested;
  fmt::print(stderr, "bitlm: warning: -t {} is more than the {} CPUs this process may run on; using {}\n", requested,
             available, available);
  return available;
}

namespace {
// A validator over the option's value as a number; `problem(v)` says what is wrong, or "" if fine.
CLI::Validator numeric_check(std::string description, std::function<std::string(double)> problem) {
  return CLI::Validator(
      [problem = std::move(problem)](std::string& value) -> std::string {
        double v = 0;
        if (!CLI::detail::lexical_cast(value, v)) return fmt::format("'{}' is not a number", value);
        return problem(v);
      },
      std::move(description));
}
}  // namespace

CLI::Validator at_least(double lo) {
  return numeric_check(fmt::format(">= {}", lo), [lo](double v) {
    return v >= lo ? std::string() : fmt::format("{} is below the minimum {}", v, lo);
  });
}

CLI::Validator above(double lo) {
  return numeric_check(fmt::format("> {}", lo), [lo](double v) {
    return v > lo ? std::string() : fmt::format("{} must be above {}", v, lo);
  });
}

CLI::Validator in_range(double lo, double hi) {
  return numeric_check(fmt::format("in [{}, {}]", lo, hi), [lo, hi](double v) {
    if (v < lo) return fmt::format("{} is below the minimum {}", v, lo);
    if (v > hi) return fmt::format("{} is above the maximum {}", v, hi);
    return std::string();
  });
}

int64_t context_size(int64_t requested, int64_t fallback, int64_t n_ctx_train, const std::string& model_path) {
  if (requested <= 0) return std::min(fallback, n_ctx_train);
  if (requested > n_ctx_train)
    fmt::print(stderr,
               "bitlm: warning: context {} is beyond the {} positions {} was trained for; predictions past "
               "position {} are unreliable\n",
               requested, n_ctx_train, model_path, n_ctx_train);
  return requested;
}

CLI::Option* add_kv_type_option(CLI::App* c, std::string& kv_type) {
  return c->add_option("--kv-type", kv_type, "KV cache storage: f16 (default), q8 or q4 (per-32 absmax blocks)")
      ->check(CLI::IsMember({"f16", "q8", "q4"}));
}

CLI::Option* add_weight_type_option(CLI::App* c, std::string& weight_type, const std::string& note,
                                    const std::vector<std::string>& extra) {
  std::vector<std::string> names = extra;
  for (const TernaryWriteType& t : ternary_write_types()) names.emplace_back(t.name);
  return c->add_option("--weight-type", weight_type, "ternary weight type: " + ternary_write_type_help() + "; " + note)
      ->check(CLI::IsMember(names));
}

void add_sampling_options(CLI::App* c, SamplerParams& sampling, bool& seed_given) {
  c->add_option("--temp", sampling.temperature, "temperature (0 = greedy)")->check(at_least(0));
  c->add_option("--top-k", sampling.top_k, "top-k (0 = off)")->check(at_least(0));
  c->add_option("--top-p", sampling.top_p, "top-p (1 = off)")->check(in_range(0, 1));
  c->add_option("--min-p", sampling.min_p, "min-p (0 = off)")->check(in_range(0, 1));
  c->add_option("--repeat-penalty", sampling.repeat_penalty, "repetition penalty (1 = off)")->check(above(0));
  c->add_option("--repeat-last-n", sampling.repeat_last_n, "tokens the penalty looks back on (-1 = all)")
      ->check(at_least(-1));
  c->add_option_function<uint64_t>(
       "--seed",
       [&sampling, &seed_given](uint64_t seed) {
         sampling.seed = seed;
         seed_given = seed != kRandomSeed;
       },
       "sampling seed (default and -1: random; the seed used is printed, so a run can be repeated)")
      ->default_str("random");
}

uint64_t random_seed() { return std::random_device{}(); }

int run(int argc, char** argv) {
  CLI::App app{"bitlm: train and run BitNet b1.58 / b1 language models on the CPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bitlm 0.1");
  app.option_defaults()->always_capture_default();  // --help shows every option's default
  // A bad option is one line and exit 2, like every other user error: "bitlm: --temp: -1 is below the
  // minimum 0 (see bitlm generate --help)" (CLI11's default adds a second line).
  app.failure_message([](const CLI::App* root, const CLI::Error& e) {
    std::string command = "bitlm";
    for (const CLI::App* a = root; !a->get_subcommands().empty();) {
      a = a->get_subcommands().front();
      command += ' ';
      command += a->get_name();
    }
    return fmt::format("bitlm: {} (see {} --help)\n", e.what(), command);
  });
  for (const auto& setup : registry()) setup(app);
  // BITLM_ISA is checked before any command runs, so a bad value fails at once, not after a model
  // has loaded, and on the main thread (a pool worker's exception is rethrown too: ThreadPool::run).
  requested_isa();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return 0;
}

}  // namespace bitlm::cli
