// cli/cmd_quantize.cpp — `bitlm quantize IN -o OUT [--embd-type f32|f16|bf16|q8_0|q6_k|q4_0]
// [--weight-type t2|t1|tq2_0|tq1_0|i2_s|iq2_bn|iq1_bn]`: the same model with its token embedding / output head
// and/or its ternary weights re-encoded (model/requantize.h), e.g. to measure the perplexity a Q8_0,
// Q6_K or Q4_0 head costs, or to write a bitlm model for llama.cpp (tq2_0, tq1_0) or bitnet.cpp
// (i2_s); and `--ptq absmax|gptq`: post-training quantization of an fp model's linear layers
// (model/ptq_model.h), the baselines of 003 Table 3.
#include <fmt/format.h>

#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/error.h"
#include "core/ggml_types.h"
#include "model/ptq_model.h"
#include "model/requantize.h"
#include "quant/ternary_formats.h"

namespace bitlm::cli {
namespace {

struct QuantizeArgs {
  std::string in, out, type, weight_type;
  PtqOptions ptq;
  std::string method;
};

const std::map<std::string, uint32_t> kEmbdTypes = {
    {"f32", kGgmlF32}, {"f16", kGgmlF16}, {"bf16", kGgmlBF16}, {"q8_0", kGgmlQ8_0}, {"q6_k", kGgmlQ6_K}, {"q4_0", kGgmlQ4_0}};

void run_quantize(QuantizeArgs& a) {
  const bool requantize = !a.type.empty() || !a.weight_type.empty();
  if (a.method.empty() == !requantize)
    throw UserError("quantize: give --embd-type and/or --weight-type, or --ptq (not both)");
  if (requantize) {
    RequantizeOptions o;
    if (!a.type.empty()) o.embd_type = kEmbdTypes.at(a.type);
    if (!a.weight_type.empty()) o.weight_type = ternary_write_type(a.weight_type);
    const RequantizeCounts n = requantize_model(a.in, a.out, o);
    if (o.embd_type)
      fmt::print(stderr, "{} embedding tensor{} re-encoded as {}\n", n.embeddings, n.embeddings == 1 ? "" : "s", a.type);
    if (o.weight_type) fmt::print(stderr, "{} ternary tensors re-encoded as {}\n", n.ternary, a.weight_type);
    fmt::print(stderr, "wrote {}\n", a.out);
    return;
  }
  a.ptq.method = a.method;
  a.ptq.threads = thread_count(a.ptq.threads);
  const PtqSummary s = quantize_model_ptq(a.in, a.out, a.ptq);
  fmt::print(stderr, "wrote {} ({}: {} linear weights, mean squared weight error {:.3g}{})\n", a.out, ptq_name(a.ptq),
             s.n_tensors, s.mean_sq_error,
             s.calib_tokens > 0 ? fmt::format(", calibrated on {} tokens", s.calib_tokens) : std::string());
}

void setup(CLI::App& root) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* c = root.add_subcommand("quantize", "re-encode a model's embedding / head or ternary weights, or post-training-quantize an fp model");
  c->add_option("model", a->in, "input model GGUF")->required();
  c->add_option("-o,--output", a->out, "output GGUF path")->required();
  c->add_option("--embd-type", a->type, "type of token_embd (and output.weight, if untied)")
      ->check(CLI::IsMember(kEmbdTypes));
  add_weight_type_option(c, a->weight_type, "a peer's type writes the arch the peers run");
  c->add_option("--ptq", a->method, "post-training quantization of an fp model's linear weights (003 Table 3)")
      ->check(CLI::IsMember({"absmax", "gptq"}));
  c->add_option("--wbits", a->ptq.wbits, "weight bits: absmax 1, 1.58, 2..16; gptq 2..8")->capture_default_str();
  c->add_option("--abits", a->ptq.abits, "activation bits (absmax): 16 = float, else per-token absmax")
      ->capture_default_str();
  c->add_option("--group-size", a->ptq.group_size, "gptq: input columns per scale (0 = one per output row)")
      ->capture_default_str();
  c->add_option("--calib", a->ptq.calib_file, "gptq: calibration text file")->check(CLI::ExistingFile);
  c->add_option("--calib-tokens", a->ptq.calib_tokens, "gptq: at most this many calibration tokens")->capture_default_str();
  c->add_option("-t,--threads", a->ptq.threads, "threads of the calibration forward (0: every CPU this process may run on)")
      ->check(at_least(0))->capture_default_str();
  c->callback([a] { run_quantize(*a); });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
