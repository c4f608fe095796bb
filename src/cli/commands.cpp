#include "cli/commands.h"

#include <fmt/format.h>

#include "core/cpu.h"

namespace bitlm::cli {

int run(int argc, char** argv) {
  CLI::App app{"bitlm: train and run BitNet b1.58 / b1 language models on the CPU"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "bitlm 0.1");
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int rc = app.exit(e);
    return rc == 0 ? 0 : 2;
  }
  return 0;
}

}  // namespace bitlm::cli
