// model/requantize.cpp — see requantize.h.
#include "model/requantize.h"

#include <fmt/format.h>

#include <set>
#include <vector>

#include "core/error.h"
#include "io/gguf.h"
#include "model/config.h"
#include "quant/packed_layout.h"
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

// Decodes a ternary tensor exactly (FormatError if its blocks carry different scales) and encodes
// it in `type`.
std::vector<uint8_t> reencode_ternary(const GgufFile& f, const GgufTensorInfo& t, uint32_t type) {
  if (t.ne.size() != 2 || !is_ternary_format(t.type))
    throw FormatError(f.path(), fmt::format("tensor '{}': type {} is not a ternary weight type", t.name,
                                            ggml_type_name(t.type)));
  const int64_t cols = int64_t(t.ne[0]), rows = int64_t(t.ne[1]);
  DecodedTernary d;
  const float scale = decode_ternary(f.path(), t.name, t.type, f.tensor_data(t), rows, cols, d);
  return encode_ternary(type, d.q, rows, cols, scale, fmt::format("{}: tensor '{}'", f.path(), t.name));
}

// The arch-prefixed keys under the new arch name, every other key as it is.
void copy_metadata(const GgufFile& f, const std::string& from_arch, const std::string& to_arch, GgufWriter& w) {
  const std::string prefix = from_arch + ".";
  for (const auto& [key, value] : f.metadata()) {
    if (key == "general.architecture") w.set(key, GgufValue::string(to_arch));
    else if (key.starts_with(prefix)) w.set(to_arch + "." + key.substr(prefix.size()), value);
    else w.set(key, value);
  }
}

}  // namespace

RequantizeCounts requantize_model(const std::string& in, const std::string& out, const RequantizeOptions& o) {
  if (o.embd_type)
    BITLM_CHECK(dense_type_supported(*o.embd_type),
                "embedding type {} is not one of F32, F16, BF16, Q8_0, Q6_K, Q4_0",
                ggml_type_name(*o.embd_type));
  if (o.weight_type)
    BITLM_CHECK(is_ternary_write_type(*o.weight_type), "weight type {} is not a packed ternary type",
                ggml_type_name(*o.weight_type));
  const auto f = GgufFile::open(in);
  const ModelConfig config = ModelConfig::from_gguf(*f);
  ModelConfig written = config;
  if (o.weight_type) {
    if (config.fp_linear)
      throw FormatError(in, "an fp model (weight_mode \"fp\") has no ternary weights to re-encode");
    if (!find_packed_layout(*o.weight_type)) written.use_peer_arch();
  }
  const TensorTable& names = config.tensors();
  std::set<std::string> linear;
  for (int64_t l = 0; l < config.n_layer; ++l)
    for (const TensorRow& row : names.blocks)
      if (tensor_kind(row.role) == TensorKind::kLinear) linear.insert(names.gguf_name(row.role, l));
  GgufWriter w;
  copy_metadata(*f, config.arch, written.arch, w);
  RequantizeCounts n;
  for (const GgufTensorInfo& t : f->tensors()) {
    if (o.embd_type && is_head_or_embedding(names, t)) {
      w.add_tensor(t.name, t.ne, *o.embd_type, reencode(*f, t, *o.embd_type));
      ++n.embeddings;
    } else if (o.weight_type && linear.contains(t.name)) {
      w.add_tensor(t.name, t.ne, *o.weight_type, reencode_ternary(*f, t, *o.weight_type));
      ++n.ternary;
    } else {
      const auto bytes = f->tensor_data(t);
      w.add_tensor(t.name, t.ne, t.type, {bytes.begin(), bytes.end()});
    }
  }
  BITLM_CHECK(!o.embd_type || n.embeddings > 0, "{}: no tensor '{}' to re-encode", in,
              names.gguf_name(TensorRole::kTokenEmbd));
  w.write(out, f->alignment());
  return n;
}

int requantize_embedding(const std::string& in, const std::string& out, uint32_t type) {
  return requantize_model(in, out, {.embd_type = type}).embeddings;
}

}  // namespace bitlm
