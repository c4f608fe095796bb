// cli/commands.h — subcommand registry. Each command lives in its own cmd_<name>.cpp and
// registers itself with BITLM_COMMAND(setup), where setup(CLI::App& root) adds the subcommand
// and its callback. Callbacks throw UserError for bad input (main turns it into exit code 2).
#pragma once
#include <CLI/CLI.hpp>

#include <functional>

namespace bitlm::cli {

using CommandSetup = std::function<void(CLI::App& root)>;
int register_command(CommandSetup setup);
int run(int argc, char** argv);

// --kv-type f16|q8|q4 (model/kv_cache.h), the same on every command that runs a Forward; an
// unknown value is a parse error (exit 2).
CLI::Option* add_kv_type_option(CLI::App* c, std::string& kv_type);

}  // namespace bitlm::cli

#define BITLM_CONCAT_INNER(a, b) a##b
#define BITLM_CONCAT(a, b) BITLM_CONCAT_INNER(a, b)
#define BITLM_COMMAND(setup) \
  static const int BITLM_CONCAT(bitlm_command_, __LINE__) = ::bitlm::cli::register_command(setup)
