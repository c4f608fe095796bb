// cli/commands.h — subcommand registration. Each command lives in its own cmd_<name>.cpp.
#pragma once
#include <CLI/CLI.hpp>

namespace bitlm::cli {

int run(int argc, char** argv);

}  // namespace bitlm::cli
