// cli/cmd_tokenize.cpp — `bitlm tokenize`: a GGUF's tokenizer applied to a prompt, printed as
// llama.cpp's llama-tokenize prints it (`id -> 'piece'` per line, or `[id, ...]` with --ids).
#include <fmt/format.h>
#include <fmt/ranges.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"

namespace bitlm::cli {
namespace {

struct TokenizeOptions {
  std::string model, prompt, file;
  bool no_bos = false, ids_only = false, parse_special = false;
};

std::string read_text_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw IoError(fmt::format("{}: cannot open", path));
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void run_tokenize(const TokenizeOptions& o) {
  if (o.prompt.empty() == o.file.empty()) throw UserError("tokenize: give exactly one of -p/--prompt and -f/--file");
  const std::string text = o.file.empty() ? o.prompt : read_text_file(o.file);
  const auto tokenizer = Tokenizer::from_gguf(*GgufFile::open(o.model));
  const std::vector<int32_t> ids = tokenizer->encode(text, !o.no_bos, o.parse_special);
  if (o.ids_only) {
    fmt::print("[{}]\n", fmt::join(ids, ", "));
    return;
  }
  for (int32_t id : ids) fmt::print("{:6d} -> '{}'\n", id, tokenizer->token_bytes(id));
}

void setup(CLI::App& root) {
  auto o = std::make_shared<TokenizeOptions>();
  CLI::App* c = root.add_subcommand("tokenize", "print the token ids (and pieces) of a text");
  c->add_option("-m,--model", o->model, "GGUF file holding tokenizer.ggml.* metadata")->required();
  c->add_option("-p,--prompt", o->prompt, "text to tokenize");
  c->add_option("-f,--file", o->file, "file whose content to tokenize");
  c->add_flag("--no-bos", o->no_bos, "do not add BOS (and EOS) even when the vocab asks for it");
  c->add_flag("--ids", o->ids_only, "print only the ids, as [a, b, ...]");
  c->add_flag("--parse-special", o->parse_special, "turn control-token text like <s> into its id");
  c->callback([o] { run_tokenize(*o); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
