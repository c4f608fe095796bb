// cli/cmd_synth.cpp — `bitlm synth`: writes a random-weight model of a known shape.
#include <fmt/format.h>

#include <memory>

#include "cli/commands.h"
#include "core/sys.h"
#include "core/ggml_types.h"
#include "model/synth.h"
#include "quant/ternary_formats.h"

namespace bitlm::cli {
namespace {

void setup(CLI::App& root) {
  auto o = std::make_shared<SynthOptions>();
  auto out = std::make_shared<std::string>();
  auto embd = std::make_shared<std::string>("auto");
  auto weights = std::make_shared<std::string>("auto");
  CLI::App* c = root.add_subcommand("synth", "write a random-weight model of a known shape");
  c->add_option("--shape", o->shape, "bitnet-2b4t | bitnet-700m | bitnet-3b | tiny | micro | nano")->required();
  c->add_option("-o,--output", *out, "output GGUF file")->required();
  c->add_option("--seed", o->seed, "weights seed");
  c->add_option("--embd-type", *embd, "token embedding/tied head type (auto: q6_k for bitnet-* shapes, q8_0 where D is not a multiple of 256, else f16)")
      ->check(CLI::IsMember({"auto", "f16", "q8_0", "q6_k", "q4_0"}));
  add_weight_type_option(c, *weights, "auto: for bitnet-* shapes the layout this CPU decodes fastest (t2 with AVX2, t1 with AVX-512), else t2; a peer's type writes the arch the "
                         "peers run; f16: an fp model (weight_mode fp), the FP16 twin of the same shape", {"auto", "f16"});
  c->add_option("--activation", o->activation, "FFN activation instead of the shape's (upstream llama.cpp runs silu only)")
      ->check(CLI::IsMember({"silu", "relu2"}));
  c->add_option("--tokenizer", o->tokenizer_from, "copy the tokenizer from this GGUF");
  c->callback([o, out, embd, weights] {
    o->weight_type = *weights == "auto"  ? synth_default_weight_type(o->shape)
                     : *weights == "f16" ? kGgmlF16
                                         : ternary_write_type(*weights);
    o->embd_type = *embd == "auto" ? synth_default_embd_type(o->shape)
                   : *embd == "q8_0" ? kGgmlQ8_0 : *embd == "q6_k" ? kGgmlQ6_K : *embd == "q4_0" ? kGgmlQ4_0 : kGgmlF16;
    const double t0 = now_seconds();
    const ModelConfig cfg = write_synth_model(*o, *out);
    fmt::print(stderr, "wrote {} ({} {}: D {}, {} layers, vocab {}) in {:.1f} s\n", *out, o->shape, cfg.arch,
               cfg.n_embd, cfg.n_layer, cfg.n_vocab, now_seconds() - t0);
  });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
