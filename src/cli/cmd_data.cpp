// cli/cmd_data.cpp — `bitlm data prepare --tokenizer TOK.gguf -i TEXT... -o PREFIX`: text to
// token shards (train/data.h), EOS after every document.
#include <fmt/format.h>

#include <fstream>
#include <memory>
#include <sstream>

#include "cli/commands.h"
#include "core/error.h"
#include "io/gguf.h"
#include "tokenizer/tokenizer.h"
#include "train/data.h"

namespace bitlm::cli {
namespace {

struct PrepareArgs {
  std::string tokenizer, out;
  std::vector<std::string> inputs;
  int64_t shard_tokens = 100'000'000;
};

void run_prepare(const PrepareArgs& a) {
  const auto file = GgufFile::open(a.tokenizer);
  const auto tok = Tokenizer::from_gguf(*file);
  std::string text;
  for (const std::string& path : a.inputs) {
    std::ifstream f(path, std::ios::binary);
    if (!f) throw IoError(fmt::format("{}: cannot open", path));
    std::ostringstream ss;
    ss << f.rdbuf();
    text += ss.str();
    if (!text.empty() && text.back() != '\n') text += '\n';
  }
  const PrepareStats st = prepare_shards(
      text, [&](std::string_view doc) { return tok->encode(doc, /*add_bos=*/false); }, tok->eos(), tok->n_vocab(),
      a.out, a.shard_tokens);
  fmt::print(stderr, "{} documents, {} tokens ({:.2f} bytes/token) in {} shard(s) {}_*.bin\n", st.n_documents,
             st.n_tokens, double(text.size()) / double(std::max<int64_t>(st.n_tokens, 1)), st.n_shards, a.out);
}

void setup(CLI::App& root) {
  CLI::App* data = root.add_subcommand("data", "training data tools");
  data->require_subcommand(1);
  auto a = std::make_shared<PrepareArgs>();
  CLI::App* c = data->add_subcommand("prepare", "tokenize text into training shards (EOS between documents)");
  c->add_option("-t,--tokenizer", a->tokenizer, "GGUF holding the tokenizer (e.g. from `bitlm tokenizer train`)")->required();
  c->add_option("-i,--input", a->inputs, "text files; documents split on <|endoftext|> lines, else blank lines")->required();
  c->add_option("-o,--output", a->out, "shard prefix: writes PREFIX_0000.bin, ...")->required();
  c->add_option("--shard-tokens", a->shard_tokens, "tokens per shard");
  c->callback([a] { run_prepare(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
