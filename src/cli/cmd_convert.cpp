// cli/cmd_convert.cpp — `bitlm convert HF_DIR -o model.gguf [--weight-type auto|t1|t2|tq2_0|tq1_0|i2_s|iq2_bn|iq1_bn]
// [--embd-type auto|f32|f16|bf16|q8_0|q6_k]`: a Hugging Face BitNet checkpoint folder to a bitlm
// GGUF (model/hf_convert.h), streamed tensor by tensor with a progress bar.
#include <fmt/format.h>
#include <unistd.h>

#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/ggml_types.h"
#include "core/progress.h"
#include "core/sys.h"
#include "model/hf_convert.h"
#include "quant/ternary_formats.h"

namespace bitlm::cli {
namespace {

struct ConvertArgs { std::string dir, out, weights = "auto", embd = "auto"; };

const std::map<std::string, uint32_t> kEmbdTypes = {{"auto", 0},         {"f32", kGgmlF32},   {"f16", kGgmlF16},
                                                    {"bf16", kGgmlBF16}, {"q8_0", kGgmlQ8_0}, {"q6_k", kGgmlQ6_K}};

void setup(CLI::App& root) {
  auto a = std::make_shared<ConvertArgs>();
  CLI::App* c = root.add_subcommand("convert", "convert a Hugging Face BitNet checkpoint folder to GGUF");
  c->add_option("dir", a->dir, "checkpoint folder (config.json, *.safetensors, tokenizer files)")->required();
  c->add_option("-o,--output", a->out, "output GGUF path")->required();
  add_weight_type_option(c, a->weights, "auto: the layout this CPU decodes fastest (t2 with AVX2, t1 with AVX-512); a peer's type writes the arch "
                         "the peers run", {"auto"})
      ->capture_default_str();
  c->add_option("--embd-type", a->embd, "token embedding / untied head type (auto: the checkpoint's dtype)")
      ->check(CLI::IsMember(kEmbdTypes));
  c->callback([a] {
    ConvertOptions o;
    if (a->weights != "auto") o.weight_type = ternary_write_type(a->weights);
    o.embd_type = kEmbdTypes.at(a->embd);
    // A bar on a terminal only: into a log, an error stays the one line it is (no progress lines
    // before it), and the summary line says what was written.
    std::unique_ptr<ProgressBar> bar;
    if (isatty(STDERR_FILENO))
      o.progress = [&bar](uint64_t done, uint64_t total) {
        if (!bar) bar = std::make_unique<ProgressBar>("convert", int64_t(total));
        bar->update(int64_t(done), "tensors");
      };
    const double t0 = now_seconds();
    const ConvertResult r = convert_hf_checkpoint(a->dir, a->out, o);
    if (bar) bar->finish();
    fmt::print(stderr, "wrote {} ({}: D {}, {} layers, vocab {}, {} tensors) in {:.1f} s\n", a->out, r.family,
               r.config.n_embd, r.config.n_layer, r.config.n_vocab, r.n_tensors, now_seconds() - t0);
  });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
