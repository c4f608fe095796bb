// cli/cmd_tokenizer_train.cpp — `bitlm tokenizer train`: a byte-level BPE vocabulary learned from text
// files, written as a GGUF that holds only the tokenizer.ggml.* metadata.
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "core/sys.h"
#include "io/gguf.h"
#include "tokenizer/bpe_trainer.h"

namespace bitlm::cli {
namespace {

struct TrainOptions {
  std::vector<std::string> inputs;
  std::string output;
  BpeTrainOptions bpe;
};

void run_train(const TrainOptions& o) {
  const double t0 = now_seconds();
  const Vocab v = train_bpe_files(o.inputs, o.bpe);
  const double seconds = now_seconds() - t0;
  GgufWriter w;
  w.set("general.name", GgufValue::string("bitlm-bpe"));
  write_vocab(v, w);
  w.write(o.output);
  fmt::print("{}: {} tokens ({} merges, {} special) trained in {:.2f} s\n", o.output, v.tokens.size(),
             v.merges.size(), o.bpe.special_tokens.size(), seconds);
}

void setup(CLI::App& root) {
  auto o = std::make_shared<TrainOptions>();
  CLI::App* tok = root.add_subcommand("tokenizer", "tokenizer tools");
  tok->require_subcommand(1);
  CLI::App* c = tok->add_subcommand("train", "train a byte-level BPE (Llama-3 pre-tokenizer) on text files");
  c->add_option("--input", o->inputs, "text files")->required()->expected(1, -1);
  c->add_option("--vocab-size", o->bpe.vocab_size, "total tokens, special tokens included")->default_val(4096);
  c->add_option("--special", o->bpe.special_tokens, "special tokens; the first is BOS and EOS")
      ->default_val(std::vector<std::string>{"<|endoftext|>"});
  c->add_option("-o,--output", o->output, "tokenizer GGUF to write")->required();
  c->callback([o] { run_train(*o); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
