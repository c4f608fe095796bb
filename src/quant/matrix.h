// quant/matrix.h — the weight matrices the runtime multiplies with, and their matmuls.
// This header is the contract between quant/ (owner) and model/ (user).
//
// TernaryMatrix: rows = output features, cols = input features; values {-1,0,+1} times one
// per-tensor scale (b1.58 absmean beta, or b1 beta with values {-1,+1}), stored in bitlm's native
// packed layout (see quant/ternary_formats.h). Group quantization (003 eq. 14) is kept as one
// scale per group of rows (n_groups == 1 for every published model).
//
// DenseMatrix: embeddings and output heads of published files (F32/F16/BF16/Q8_0/Q6_K), kept
// in their file format (mmap-backed or owned) and decoded row by row.
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "core/aligned.h"
#include "core/thread_pool.h"

namespace bitlm {

class TernaryMatrix {
 public:
  TernaryMatrix() = default;
  // q: rows*cols values in {-1,0,+1}, row-major. scales: one per row group (rows % size == 0).
  static TernaryMatrix pack(std::span<const int8_t> q, int64_t rows, int64_t cols,
                            std::span<const float> group_scales);
  int64_t rows() const { return rows_; }
  int64_t cols() const { return cols_; }
  float scale_of_row(int64_t r) const { return scales_[size_t(r / (rows_ / int64_t(scales_.size())))]; }
  std::span<const float> group_scales() const { return scales_; }
  void unpack(std::span<int8_t> q) const;  // back to row-major {-1,0,+1}
  uint64_t n_bytes() const;                // packed weight bytes (what decode streams)
  // Internal layout, for kernels.
  const uint8_t* packed() const { return packed_.data(); }
  int64_t row_bytes() const { return row_bytes_; }

 private:
  int64_t rows_ = 0, cols_ = 0, row_bytes_ = 0;
  std::vector<float> scales_;
  AlignedBuffer<uint8_t> packed_;
};

// Per-token int8 activations (003 eq. 6-7): x_q[t] = RoundClip(127/max(gamma_t, 1e-5) * x[t]),
// x_scale[t] = 127/max(gamma_t, 1e-5). Layout: T rows of `cols` int8, padded to a multiple of
// 128 with zeros (kernels may read whole blocks).
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
  AlignedBuffer<uint8_t> owned_;
};

// y[t][r] = dot(W[r], x[t]) for dense W (the output head). x: T x cols, y: T x rows.
void dense_matmul(const DenseMatrix& w, const float* x, int64_t T, float* y, ThreadPool& pool);

}  // namespace bitlm
