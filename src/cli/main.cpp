// cli/main.cpp — the `bitlm` binary: subcommands, and the one place errors become exit codes.
#include <fmt/format.h>

#include <exception>

#include "cli/commands.h"
#include "core/error.h"
#include "io/mapped_file.h"

int main(int argc, char** argv) try {
  bitlm::install_mapped_file_fault_handler();  // a model truncated underneath: one line, exit 2
  return bitlm::cli::run(argc, argv);
} catch (const bitlm::UserError& e) {
  fmt::print(stderr, "bitlm: {}\n", e.what());
  return 2;
} catch (const std::bad_alloc&) {
  fmt::print(stderr, "bitlm: out of memory\n");
  return 1;
} catch (const std::exception& e) {
  fmt::print(stderr, "bitlm: internal error: {}\n", e.what());
  return 1;
}
