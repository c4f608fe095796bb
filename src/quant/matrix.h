// quant/matrix.h — the weight matrices the runtime multiplies with, and their matmuls.
// This header is the contract between quant/ (owner) and model/ (user).
//
// TernaryMatrix: rows = output features, cols = input features; values {-1,0,+1} times one
// per-tensor scale (b1.58 absmean beta, or b1 beta with values {-1,+1}), stored in one of bitlm's
// packed layouts (quant/packed_layout.h: T2, T1), multiplied by that layout's kernels. Group quantization (003 eq. 14) is kept as one
// scale per group of rows (n_groups == 1 for every published model).
//
// DenseMatrix: embeddings and output heads of published files (F32/F16/BF16/Q8_0/Q6_K), kept
// in their file format (mmap-backed or owned) and decoded row by row.
#pragma once
#include <cstdint>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "core/aligned.h"
#include "core/thread_pool.h"
#include "quant/packed_layout.h"

namespace bitlm {

// Packed weight bytes: 2 MiB-aligned, and the whole 2 MiB pages inside are madvise(MADV_HUGEPAGE)d
// before the first write (decode streams every byte once per token; 4 KiB pages cost a TLB miss
// per page). The partial last page stays small: rounding it up would add up to 2 MiB of resident
// memory per matrix.
class WeightBuffer {
 public:
  void allocate(size_t n);  // uninitialized; the caller writes every byte
  uint8_t* data() { return data_.get(); }
  const uint8_t* data() const { return data_.get(); }
  size_t size() const { return size_; }

 private:
  struct Free { void operator()(uint8_t* p) const; };
  std::unique_ptr<uint8_t, Free> data_;
  size_t size_ = 0;
};

class TernaryMatrix {
 public:
  TernaryMatrix() = default;
  // q: rows*cols values in {-1,0,+1}, row-major. scales: one per row group (rows % size == 0).
  // layout: the ggml id of a packed layout (kGgmlBitlmT2: 2 bits/weight, kGgmlBitlmT1: 1.6).
  static TernaryMatrix pack(std::span<const int8_t> q, int64_t rows, int64_t cols,
                            std::span<const float> group_scales, uint32_t layout = kGgmlBitlmT2);
  // A file tensor already in a packed layout (find_packed_layout) is copied as it is, without a
  // decode and re-pack; FormatError naming `path` and tensor `name` on a wrong size, an invalid
  // code or a scale that is not finite and non-negative.
  static TernaryMatrix copy_native(uint32_t ggml_type, std::span<const uint8_t> data, int64_t rows,
                                   int64_t cols, std::string_view path, std::string_view name);
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  const PackedLayout& layout() const { return *layout_; }
  float scale_of_row(int64_t r) const { return scales_[size_t(r / (rows_ / int64_t(scales_.size())))]; }
  std::span<const float> group_scales() const { return scales_; }
  void unpack(std::span<int8_t> q) const;  // back to row-major {-1,0,+1}
  uint64_t n_bytes() const;                // packed weight bytes (what decode streams)
  // Internal layout, for kernels.
  const uint8_t* packed() const { return packed_.data(); }
  int64_t row_bytes() const { return row_bytes_; }
  int64_t padded_cols() const { return padded_cols_; }  // activations the kernels read per token (whole blocks)

 private:
  static TernaryMatrix empty(const PackedLayout& layout, int64_t rows, int64_t cols,
                             std::span<const float> group_scales);
  int64_t rows_ = 0, cols_ = 0, row_bytes_ = 0, padded_cols_ = 0;
  const PackedLayout* layout_ = nullptr;
  std::vector<float> scales_;
  WeightBuffer packed_;
};

// Per-token int8 activations (003 eq. 6-7): x_q[t] = RoundClip(127/max(gamma_t, 1e-5) * x[t]),
// x_scale[t] = 127/max(gamma_t, 1e-5). Layout: T rows of `cols` int8, padded with zeros to a
// multiple of every layout's block (activation_block_lcm: 640 for T2's 128 and T1's 160), as the
// kernels read whole blocks.
struct QuantizedActivations {
  int64_t T = 0, cols = 0, stride = 0;
  AlignedBuffer<int8_t> q;
  std::vector<float> scale;  // 127/gamma per token
  std::vector<int32_t> sum;  // sum of q per token (for kernels on offset codes)
  void resize(int64_t T, int64_t cols);
};

// y[t][r] = scale_of_row(r) * dot(W[r], x_q[t]) / x_scale[t]   (003 Fig. 12: scales after the matmul)
// y: T x rows, row-major. Threads split the rows.
void ternary_matmul(const TernaryMatrix& w, const QuantizedActivations& x, float* y,
                    ThreadPool& pool);
// Several matrices with the same input (W_q, W_k, W_v; W_gate, W_up) in one parallel region over
// their stacked rows: one pool hand-off instead of one per matrix. ys[m]: T x ws[m]->rows().
void ternary_matmul_multi(std::span<const TernaryMatrix* const> ws, const QuantizedActivations& x,
                          std::span<float* const> ys, ThreadPool& pool);
// Full-precision activations (`--act none`): y[t][r] = scale_of_row(r) * dot(W[r], x[t]).
void ternary_matmul_f32(const TernaryMatrix& w, const float* x, int64_t T, float* y,
                        ThreadPool& pool);

class DenseMatrix {
 public:
  DenseMatrix() = default;
  // Views `data` (must outlive the matrix, e.g. an mmap) holding rows x cols of ggml `type`.
  static DenseMatrix view(uint32_t ggml_type, const uint8_t* data, int64_t rows, int64_t cols);
  // Owns a copy of `data` (rows x cols of ggml `type`, as stored) in a huge-page WeightBuffer: a
  // head is streamed whole per decoded token, and an mmap's 4 KiB pages cost a TLB miss each.
  static DenseMatrix copy(uint32_t ggml_type, std::span<const uint8_t> data, int64_t rows, int64_t cols);
  // Owns a copy of f32 data converted to ggml `type` (F32, F16, BF16, Q8_0 or Q6_K).
  static DenseMatrix from_f32(uint32_t ggml_type, std::span<const float> data, int64_t rows,
                              int64_t cols);
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  uint32_t type() const { return type_; }
  uint64_t n_bytes() const;
  void row_f32(int64_t r, float* out) const;  // decode one row (embedding lookup)
  const uint8_t* row_data(int64_t r) const { return data_ + uint64_t(r) * row_bytes_; }  // encoded

 private:
  uint32_t type_ = 0;
  int64_t rows_ = 0, cols_ = 0;
  uint64_t row_bytes_ = 0;
  const uint8_t* data_ = nullptr;
  WeightBuffer owned_;
};

// y[t][r] = dot(W[r], x[t]) for dense W (the output head). x: T x cols, y: T x rows.
void dense_matmul(const DenseMatrix& w, const float* x, int64_t T, float* y, ThreadPool& pool);

}  // namespace bitlm
