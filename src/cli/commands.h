// cli/commands.h — subcommand registry. Each command lives in its own cmd_<name>.cpp and
// registers itself with BITLM_COMMAND(setup), where setup(CLI::App& root) adds the subcommand
// and its callback. Callbacks throw UserError for bad input (main turns it into exit code 2).
#pragma once
#include <CLI/CLI.hpp>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace bitlm {
struct SamplerParams;
}

namespace bitlm::cli {

using CommandSetup = std::function<void(CLI::App& root)>;
int register_command(CommandSetup setup);
int run(int argc, char** argv);

// --kv-type f16|q8|q4 (model/kv_cache.h), the same on every command that runs a Forward; an
// unknown value is a parse error (exit 2).
CLI::Option* add_kv_type_option(CLI::App* c, std::string& kv_type);

// --weight-type NAME, the same on every command that writes ternary weights (export, quantize,
// synth, convert): a name of quant/ternary_formats.h's ternary_write_types (t2, t1, tq2_0, tq1_0,
// i2_s, iq2_bn, iq1_bn) or one of `extra` (synth's "auto"); `note` says what the default is. Resolve the name with
// ternary_write_type(name). An unknown value is a parse error (exit 2).
CLI::Option* add_weight_type_option(CLI::App* c, std::string& weight_type, const std::string& note,
                                    const std::vector<std::string>& extra = {});
// --temp, --top-k, --top-p, --min-p, --repeat-penalty, --repeat-last-n and --seed (model/sampler.h),
// the same on generate and chat; `seed_given` is set when --seed is.
void add_sampling_options(CLI::App* c, SamplerParams& sampling, bool& seed_given);

// The seed when --seed is not given: 32 random bits, as llama.cpp's (short to retype, and exact in
// every JSON reader: JavaScript's numbers hold 53 bits). Printed, so that a run can be repeated.
uint64_t random_seed();

// -t N of the commands that run a model: 0 = every CPU this process may run on; more than that is
// capped there with a note on stderr (the pool's threads spin-wait, so extra ones only take turns:
// -t 999 on 2 cores decoded at 0.4 t/s).
int thread_count(int requested);

// Range checks for numeric options. Their errors read "--top-p: 2 is above the maximum 1" (CLI11's
// NonNegativeNumber printed "Value -1 not in range 0.000000 to 1797...", a 300-digit number).
// Use these, not CLI::NonNegativeNumber / PositiveNumber / Range. They check each value of a list.
CLI::Validator at_least(double lo);
CLI::Validator above(double lo);  // strictly greater
CLI::Validator in_range(double lo, double hi);

// The context a command runs at: `requested` (-c) when > 0, else `fallback` capped at the model's
// trained context. A context beyond the trained one is allowed (to study extrapolation) but warned
// about on stderr: RoPE positions past it were never seen, and the output degrades (a 256-context
// model scored ppl 20.8 at -c 512 against 14.4 at 256; `generate -c 100000` printed garbage).
int64_t context_size(int64_t requested, int64_t fallback, int64_t n_ctx_train, const std::string& model_path);

}  // namespace bitlm::cli

#define BITLM_CONCAT_INNER(a, b) a##b
#define BITLM_CONCAT(a, b) BITLM_CONCAT_INNER(a, b)
#define BITLM_COMMAND(setup) \
  static const int BITLM_CONCAT(bitlm_command_, __LINE__) = ::bitlm::cli::register_command(setup)
