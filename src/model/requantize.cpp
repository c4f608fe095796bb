// model/requantize.cpp — see requantize.h.
#include "model/requantize.h"

#include <fmt/format.h>

#include <vector>

#include "core/error.h"
#include "io/gguf.h"
#include "model/config.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

bool is_head_or_embedding(const TensorTable& names, const GgufTensorInfo& t) {
  return t.name == names.gguf_name(TensorRole::kTokenEmbd) || t.name == names.gguf_name(TensorRole::kOutput);
}

std::vector<uint8_t> reencode(const GgufFile& f, const GgufTensorInfo& t, uint32_t type) {
  if (t.ne.size() != 2 || !dense_type_supported(t.type))
    throw FormatError(f.path(), fmt::format("tensor '{}' is not a dense matrix (F32, F16, BF16, Q8_0, Q6_K, Q4_0)", t.name));
  const int64_t cols = int64_t(t.ne[0]), rows = int64_t(t.ne[1]);
  const uint64_t in_row = dense_row_bytes(t.type, cols);
  if (in_row * uint64_t(rows) != t.n_bytes)
    throw FormatError(f.path(), fmt::format("tensor '{}': {} bytes for {}x{}", t.name, t.n_bytes, rows, cols));
  uint64_t out_row = 0;
  try {
    out_row = dense_row_bytes(type, cols);
  } catch (const UserError& e) {
    throw UserError(fmt::format("{}: tensor '{}': {}", f.path(), t.name, e.what()));
  }
  const uint8_t* src = f.tensor_data(t).data();
  std::vector<uint8_t> out(size_t(out_row * uint64_t(rows)));
  std::vector<float> row(static_cast<size_t>(cols));
  for (int64_t r = 0; r < rows; ++r) {
    decode_dense_row(t.type, src + uint64_t(r) * in_row, cols, row.data());
    encode_dense_row(type, row.data(), cols, out.data() + uint64_t(r) * out_row);
  }
  return out;
}

}  // namespace

int requantize_embedding(const std::string& in, const std::string& out, uint32_t type) {
  BITLM_CHECK(dense_type_supported(type), "embedding type {} is not one of F32, F16, BF16, Q8_0, Q6_K, Q4_0", type);
  const auto f = GgufFile::open(in);
  const TensorTable& names = ModelConfig::from_gguf(*f).tensors();
  GgufWriter w;
  for (const auto& [key, value] : f->metadata()) w.set(key, value);
  int n_reencoded = 0;
  for (const GgufTensorInfo& t : f->tensors()) {
    if (is_head_or_embedding(names, t)) {
      w.add_tensor(t.name, t.ne, type, reencode(*f, t, type));
      ++n_reencoded;
    } else {
      const auto bytes = f->tensor_data(t);
      w.add_tensor(t.name, t.ne, t.type, {bytes.begin(), bytes.end()});
    }
  }
  BITLM_CHECK(n_reencoded > 0, "{}: no tensor '{}' to re-encode", in, names.gguf_name(TensorRole::kTokenEmbd));
  w.write(out, f->alignment());
  return n_reencoded;
}

}  // namespace bitlm
