#include "cli/commands.h"

#include <vector>

#include <fmt/format.h>

#include "core/cpu.h"
#include "core/thread_pool.h"

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

CLI::Option* add_kv_type_option(CLI::App* c, std::string& kv_type) {
  return c->add_option("--kv-type", kv_type, "KV cache storage: f16 (default), q8 or q4 (per-32 absmax blocks)")
      ->check(CLI::IsMember({"f16", "q8", "q4"}));
}

int run(int argc, char** argv) {
  CLI::App app{"bitlm: train and run BitNet b1.58 / b1 language models on the CPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bitlm 0.1");
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
