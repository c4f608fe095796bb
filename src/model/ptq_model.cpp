// model/ptq_model.cpp — see ptq_model.h.
#include "model/ptq_model.h"

#include <fmt/format.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>

#include "core/error.h"
#include "core/ggml_types.h"
#include "core/thread_pool.h"
#include "io/gguf.h"
#include "model/config.h"
#include "model/forward.h"
#include "model/model.h"
#include "quant/ptq.h"
#include "quant/ternary_formats.h"
#include "tokenizer/tokenizer.h"

namespace bitlm {
namespace {

constexpr TensorRole kLinearRoles[] = {TensorRole::kAttnQ, TensorRole::kAttnK, TensorRole::kAttnV,
                                       TensorRole::kAttnOutput, TensorRole::kFfnGate, TensorRole::kFfnUp,
                                       TensorRole::kFfnDown};

// The forward's tap whose value is a linear layer's input (forward.cpp: the normed rows it multiplies).
std::string_view input_tap(TensorRole role) {
  switch (role) {
    case TensorRole::kAttnQ: case TensorRole::kAttnK: case TensorRole::kAttnV: return "attn_norm";
    case TensorRole::kAttnOutput: return "attn_sub_norm";
    case TensorRole::kFfnGate: case TensorRole::kFfnUp: return "ffn_norm";
    default: return "ffn_sub_norm";
  }
}

struct Hessian {
  std::vector<double> sum;
  int64_t rows = 0;
};

// Hessians of every linear input, keyed by (layer, tap): one pass of the fp model over the text.
std::map<std::pair<int64_t, std::string>, Hessian> calibrate(const std::string& model_path, const PtqOptions& o,
                                                             int64_t* n_tokens) {
  std::ifstream f(o.calib_file, std::ios::binary);
  if (!f) throw IoError(fmt::format("{}: cannot open the calibration text", o.calib_file));
  const std::string text{std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
  const auto model = Model::load(model_path);
  const auto tok = Tokenizer::from_gguf(*model->file);
  std::vector<int32_t> ids = tok->encode(text, /*add_bos=*/false);
  if (int64_t(ids.size()) > o.calib_tokens) ids.resize(size_t(o.calib_tokens));
  if (ids.size() < 2) throw UserError(fmt::format("{}: too little calibration text ({} tokens)", o.calib_file, ids.size()));
  const int64_t n_ctx = model->config.n_ctx_train;
  ThreadPool pool(std::max(o.threads, 1));
  Forward fwd(*model, n_ctx, pool, ActMode::kNone, /*max_batch=*/std::min<int64_t>(n_ctx, 64));
  std::map<std::pair<int64_t, std::string>, Hessian> hs;
  fwd.set_tap([&](std::string_view name, int64_t layer, Mat<const float> m) {
    if (name != "attn_norm" && name != "attn_sub_norm" && name != "ffn_norm" && name != "ffn_sub_norm") return;
    Hessian& h = hs[{layer, std::string(name)}];
    if (h.sum.empty()) h.sum.assign(size_t(m.cols * m.cols), 0.0);
    for (int64_t r = 0; r < m.rows; ++r) gptq_accumulate(h.sum, m.cols, m.row_ptr(r), 1);
    h.rows += m.rows;
  });
  for (size_t start = 0; start < ids.size(); start += size_t(n_ctx)) {
    fwd.kv().clear();
    const size_t len = std::min(ids.size() - start, size_t(n_ctx));
    fwd.eval(std::span<const int32_t>(ids.data() + start, len));
  }
  *n_tokens = int64_t(ids.size());
  return hs;
}

}  // namespace

std::string ptq_name(const PtqOptions& o) {
  const std::string bits = o.wbits == std::floor(o.wbits) ? fmt::format("{}", int64_t(o.wbits)) : fmt::format("{}", o.wbits);
  std::string n = fmt::format("{}-w{}a{}", o.method, bits, o.abits);
  if (o.group_size > 0) n += fmt::format("-g{}", o.group_size);
  return n;
}

PtqSummary quantize_model_ptq(const std::string& in, const std::string& out, const PtqOptions& o) {
  BITLM_CHECK(o.method == "absmax" || o.method == "gptq", "--ptq {}: want absmax or gptq", o.method);
  BITLM_CHECK(o.abits == 16 || (o.method == "absmax" && o.abits >= 2 && o.abits <= 15),
              "--abits {}: activations are 16 (float) or, with absmax, 2..15 bits", o.abits);
  if (o.method == "gptq") {
    BITLM_CHECK(o.wbits == std::floor(o.wbits) && o.wbits >= 2 && o.wbits <= 8, "--ptq gptq --wbits {}: want 2..8", o.wbits);
    BITLM_CHECK(!o.calib_file.empty(), "--ptq gptq needs calibration text (--calib FILE)");
  }
  const auto f = GgufFile::open(in);
  ModelConfig cfg = ModelConfig::from_gguf(*f);
  BITLM_CHECK(cfg.fp_linear, "{}: post-training quantization takes an fp model (weight_mode \"fp\"); this one is "
              "already ternary or binary", in);
  PtqSummary summary;
  std::map<std::pair<int64_t, std::string>, Hessian> hs;
  if (o.method == "gptq") hs = calibrate(in, o, &summary.calib_tokens);

  std::map<std::string, std::pair<int64_t, TensorRole>> linear;  // GGUF name -> (layer, role)
  const TensorTable& names = cfg.tensors();
  for (int64_t l = 0; l < cfg.n_layer; ++l)
    for (TensorRole role : kLinearRoles) linear[names.gguf_name(role, l)] = {l, role};

  GgufWriter w;
  for (const auto& [key, value] : f->metadata()) w.set(key, value);
  cfg.act_bits = o.abits < 16 ? o.abits : 0;
  cfg.write_gguf(w);  // the same keys, and act_bits
  w.set("bitlm.ptq", GgufValue::string(ptq_name(o)));
  double sq = 0;
  int64_t n_weights = 0;
  for (const GgufTensorInfo& t : f->tensors()) {
    const auto it = linear.find(t.name);
    const auto bytes = f->tensor_data(t);
    if (it == linear.end()) {
      w.add_tensor(t.name, t.ne, t.type, {bytes.begin(), bytes.end()});
      continue;
    }
    const int64_t cols = int64_t(t.ne[0]), rows = int64_t(t.ne[1]);
    const uint64_t row_bytes = dense_row_bytes(t.type, cols);
    std::vector<float> wf(size_t(rows * cols));
    for (int64_t r = 0; r < rows; ++r) decode_dense_row(t.type, bytes.data() + uint64_t(r) * row_bytes, cols, &wf[size_t(r * cols)]);
    std::vector<float> q = wf;
    if (o.method == "absmax") {
      ptq_absmax_weights(q, rows, cols, o.wbits);
    } else {
      const auto h = hs.find({it->second.first, std::string(input_tap(it->second.second))});
      BITLM_CHECK(h != hs.end() && h->second.rows > 0, "{}: no calibration input reached tensor '{}'", in, t.name);
      std::vector<double> hess = h->second.sum;
      for (double& v : hess) v /= double(h->second.rows);
      q = gptq_quantize(wf, rows, cols, hess, {.bits = int(o.wbits), .group_size = o.group_size});
    }
    for (size_t i = 0; i < q.size(); ++i) sq += double(wf[i] - q[i]) * double(wf[i] - q[i]);
    n_weights += int64_t(q.size());
    std::vector<uint8_t> enc(q.size() * sizeof(float));
    std::memcpy(enc.data(), q.data(), enc.size());
    w.add_tensor(t.name, t.ne, kGgmlF32, std::move(enc));
    ++summary.n_tensors;
  }
  BITLM_CHECK(summary.n_tensors == int(linear.size()), "{}: {} of the {} linear weights were found", in,
              summary.n_tensors, linear.size());
  summary.mean_sq_error = n_weights > 0 ? sq / double(n_weights) : 0;
  w.write(out, f->alignment());
  return summary;
}

}  // namespace bitlm
