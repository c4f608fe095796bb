// cli/cmd_export.cpp — `bitlm export CKPT -o MODEL.gguf [--tokenizer TOK.gguf] [--type f16|f32|bf16]
// [--weight-type t2|t1|tq2_0|tq1_0|i2_s|iq2_bn|iq1_bn]`: a training checkpoint to the inference GGUF that `bitlm
// generate` runs, or that llama.cpp / ik_llama.cpp / bitnet.cpp run (train/export.h);
// `--format hf -o DIR`: a Hugging Face folder in the 2B-4T layout (train/export_hf.h).
#include <fmt/format.h>

#include <map>
#include <memory>

#include "cli/commands.h"
#include "quant/ternary_formats.h"
#include "train/export.h"
#include "train/export_hf.h"

namespace bitlm::cli {
namespace {

struct ExportArgs { std::string checkpoint, out, tokenizer, type = "f16", format = "gguf", weight_type = "t2"; };

const std::map<std::string, uint32_t> kFpTypes = {{"f16", kGgmlF16}, {"f32", kGgmlF32}, {"bf16", kGgmlBF16}};

void setup(CLI::App& root) {
  auto a = std::make_shared<ExportArgs>();
  CLI::App* c = root.add_subcommand("export", "turn a training checkpoint into an inference GGUF");
  c->add_option("checkpoint", a->checkpoint, "checkpoint.safetensors written by `bitlm train`")->required();
  c->add_option("-o,--output", a->out, "output GGUF path (--format hf: output folder)")->required();
  c->add_option("--format", a->format, "gguf, or hf: a Hugging Face folder in the 2B-4T layout (BitNetForCausalLM)")
      ->check(CLI::IsMember({"gguf", "hf"}))->capture_default_str();
  c->add_option("--tokenizer", a->tokenizer, "tokenizer GGUF whose vocab to embed (default: the config's)");
  c->add_option("--type", a->type, "linear weight type of an fp model (b1.58/b1: packed ternary)")
      ->check(CLI::IsMember(kFpTypes))->capture_default_str();
  add_weight_type_option(c, a->weight_type,
                         "a peer's type writes the arch the peers run (a SiLU model as bitnet, a ReLU^2 one as bitnet-b1.58)")
      ->capture_default_str();
  c->callback([a] {
    if (a->format == "hf") export_checkpoint_hf(a->checkpoint, a->tokenizer, a->out);
    else export_checkpoint(a->checkpoint, a->tokenizer, a->out, kFpTypes.at(a->type), ternary_write_type(a->weight_type));
    fmt::print(stderr, "wrote {}\n", a->out);
  });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
