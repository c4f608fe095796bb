// cli/cmd_quantize.cpp — `bitlm quantize IN -o OUT --embd-type f32|f16|bf16|q8_0|q6_k|q4_0`: the same
// model with its token embedding / output head re-encoded (model/requantize.h), e.g. to measure the
// perplexity a Q8_0, Q6_K or Q4_0 head costs.
#include <fmt/format.h>

#include <map>
#include <memory>

#include "cli/commands.h"
#include "core/ggml_types.h"
#include "model/requantize.h"

namespace bitlm::cli {
namespace {

struct QuantizeArgs { std::string in, out, type; };

const std::map<std::string, uint32_t> kEmbdTypes = {
    {"f32", kGgmlF32}, {"f16", kGgmlF16}, {"bf16", kGgmlBF16}, {"q8_0", kGgmlQ8_0}, {"q6_k", kGgmlQ6_K}, {"q4_0", kGgmlQ4_0}};

void setup(CLI::App& root) {
  auto a = std::make_shared<QuantizeArgs>();
  CLI::App* c = root.add_subcommand("quantize", "re-encode a model's token embedding / output head");
  c->add_option("model", a->in, "input model GGUF")->required();
  c->add_option("-o,--output", a->out, "output GGUF path")->required();
  c->add_option("--embd-type", a->type, "type of token_embd (and output.weight, if untied)")
      ->check(CLI::IsMember(kEmbdTypes))->required();
  c->callback([a] {
    const int n = requantize_embedding(a->in, a->out, kEmbdTypes.at(a->type));
    fmt::print(stderr, "wrote {} ({} tensor{} re-encoded as {})\n", a->out, n, n == 1 ? "" : "s", a->type);
  });
}

BITLM_COMMAND(setup);

}  // namespace
}  // namespace bitlm::cli
