// quant/matrix.cpp — TernaryMatrix (rows of a packed layout, quant/packed_layout.h), QuantizedActivations,
// DenseMatrix and their matmuls (matrix.h). Threads take grains of output rows (at least
// kMinChunkWork each), their own contiguous run first (for_grains); each thread runs the dispatch
// table's kernel on row tiles into a small stack buffer of int32 sums, then applies the scales
// (003 Fig. 12: y = W_q x_q * beta / (127/gamma)).
#include "quant/matrix.h"

#include <sys/mman.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <cstring>

#include "core/error.h"
#include "core/prefetch.h"
#include "quant/kernels.h"
#include "quant/quantize.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

constexpr int64_t kRowTile = 32;     // rows per kernel call
constexpr int64_t kTokenChunk = 64;  // tokens per kernel call: kRowTile * kTokenChunk int32 on the stack
constexpr int64_t kMinChunkWork = int64_t(64) << 10;  // weight bytes x tokens per thread, at least

constexpr size_t kHugePage = size_t(2) << 20;

int64_t padded_activations(int64_t cols) {
  const int64_t pad = activation_block_lcm();
  return (cols + pad - 1) / pad * pad;
}

// Rows per thread chunk: whole row tiles, and enough work that handing a small matrix (the tiny
// test models, a 640-row projection at T = 1 is already 400 KiB) to the pool does not cost more
// than computing it inline.
int64_t row_grain(uint64_t row_bytes, int64_t T) {
  const int64_t work = std::max<int64_t>(1, int64_t(row_bytes) * T);
  const int64_t rows = std::max(kRowTile, (kMinChunkWork + work - 1) / work);
  return (rows + kRowTile - 1) / kRowTile * kRowTile;
}

// The grain of a matrix of n rows that is worth splitting (more than one row_grain): the threads
// finish their runs within one grain of each other and the earlier one spins until the later is
// done, so a split matrix goes in grains of at least kTailWork (a 2B-4T decode's D-row matrices
// in 32-row grains of 20 KiB instead of 128 rows, 80 KiB).
constexpr int64_t kTailWork = int64_t(16) << 10;
int64_t split_grain(uint64_t row_bytes, int64_t T, int64_t n) {
  const int64_t g = row_grain(row_bytes, T);
  if (n <= g) return g;  // one grain: inline
  const int64_t work = std::max<int64_t>(1, int64_t(row_bytes) * T);
  const int64_t rows = std::max(kRowTile, (kTailWork + work - 1) / work);
  return (rows + kRowTile - 1) / kRowTile * kRowTile;
}

// Grains [front, back) of one thread's run, packed in one word so that the owner (taking from
// the front) and a thief (from the back) never both take the last one.
class GrainRun {
 public:
  void set(int64_t front, int64_t back) { v_.store(uint64_t(front) << 32 | uint64_t(back), std::memory_order_relaxed); }
  bool take_front(int64_t& g) { return take(g, true); }
  bool take_back(int64_t& g) { return take(g, false); }

 private:
  bool take(int64_t& g, bool front) {
    uint64_t v = v_.load(std::memory_order_relaxed);
    for (;;) {
      const uint64_t f = v >> 32, b = v & 0xffffffffu;
      if (f >= b) return false;
      const uint64_t next = front ? (f + 1) << 32 | b : f << 32 | (b - 1);
      if (v_.compare_exchange_weak(v, next, std::memory_order_relaxed)) {
        g = int64_t(front ? f : b - 1);
        return true;
      }
    }
  }
  alignas(64) std::atomic<uint64_t> v_{0};  // a line each: the owners' takes do not contend
};

// fn(b, e) over grains of [0, n): thread t owns the t-th contiguous run of grains and takes them
// in order, so each thread streams one long range of weights, as the bandwidth probe does (decode's
// matmuls ran 1.13x faster at 2 threads than with grains dealt alternately by one counter:
// docs/performance.md); a thread done with its run takes the others' grains from their back ends,
// so on a shared machine a preempted thread still delays only the grain it holds.
template <typename Fn>
void for_grains(ThreadPool& pool, int64_t n, int64_t grain, const Fn& fn) {
  const int64_t n_grains = (n + grain - 1) / grain;
  const int nt = pool.n_threads();
  if (n_grains <= 1 || nt == 1) return fn(int64_t(0), n);
  std::vector<GrainRun> runs(static_cast<size_t>(nt));
  for (int t = 0; t < nt; ++t) runs[size_t(t)].set(n_grains * t / nt, n_grains * (t + 1) / nt);
  pool.run([&](int t, int) {
    const auto run_grain = [&](int64_t g) { fn(g * grain, std::min(n, (g + 1) * grain)); };
    int64_t g;
    while (runs[size_t(t)].take_front(g)) run_grain(g);
    for (int k = 1; k < nt; ++k)
      while (runs[size_t((t + k) % nt)].take_back(g)) run_grain(g);
  });
}

// Q8_0 and Q4_0 heads: x is quantized per 32-block like the weights (absmax, 003 eq. 6-7 with one
// scale per block, as llama.cpp's vec_dot_type for both), then every row is an int8 dot. The buffers are
// per calling thread and only grow, so decode allocates nothing after the first token.
void dense_matmul_q8_0(const DenseMatrix& w, const float* x, int64_t T, float* y, ThreadPool& pool,
                       DotQ8Q8 dot) {
  thread_local std::vector<int8_t> xq;
  thread_local std::vector<float> xd;
  const int64_t rows = w.rows(), cols = w.cols(), nb = cols / 32;
  const uint64_t rb = w.n_bytes() / uint64_t(rows);
  if (xq.size() < size_t(T * cols)) xq.resize(size_t(T * cols));
  if (xd.size() < size_t(T * nb)) xd.resize(size_t(T * nb));
  for (int64_t t = 0; t < T; ++t) {
    float* d = xd.data() + t * nb;
    quantize_absmax_int8_groups({x + t * cols, size_t(cols)}, nb, {xq.data() + t * cols, size_t(cols)},
                                {d, size_t(nb)});
    for (int64_t b = 0; b < nb; ++b) d[b] = 1.0f / d[b];  // 127/amax -> the block's step d
  }
  // Plain pointers: inside the lambda the names would denote each worker's own thread_local.
  const int8_t* q = xq.data();
  const float* d = xd.data();
  for_grains(pool, rows, split_grain(rb, T, rows), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)  // the SIMD kernels prefetch block by block (DotQ8Q8)
      for (int64_t t = 0; t < T; ++t) y[t * rows + r] = dot(w.row_data(r), q + t * cols, d + t * nb, cols);
  });
}

// Q6_K head: x is quantized per 256-block like ggml's Q8_K (quantize_q8_k_blocks, the reason in
// quant/kernels.h DotQ6KQ8), then every row is an int8 dot; the same per-thread buffers as Q8_0.
void dense_matmul_q6_k(const DenseMatrix& w, const float* x, int64_t T, float* y, ThreadPool& pool,
                       const MatmulKernels& k) {
  thread_local std::vector<int8_t> xq;
  thread_local std::vector<float> xd;
  thread_local std::vector<int16_t> xs;
  const int64_t rows = w.rows(), cols = w.cols(), nb = cols / 256, ng = cols / 16;
  const uint64_t rb = w.n_bytes() / uint64_t(rows);
  if (xq.size() < size_t(T * cols)) xq.resize(size_t(T * cols));
  if (xd.size() < size_t(T * nb)) xd.resize(size_t(T * nb));
  if (xs.size() < size_t(T * ng)) xs.resize(size_t(T * ng));
  for (int64_t t = 0; t < T; ++t)
    quantize_q8_k_blocks(x + t * cols, cols, xq.data() + t * cols, xd.data() + t * nb, xs.data() + t * ng);
  const int8_t* q = xq.data();  // plain pointers, as in dense_matmul_q8_0
  const float* d = xd.data();
  const int16_t* sums = xs.data();
  for_grains(pool, rows, split_grain(rb, T, rows), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r)  // each row decoded once for all T (DotQ6KQ8Rows), prefetched
      if (T == 1) y[r] = k.dot_q6_k_q8(w.row_data(r), q, d, sums, cols);  // decode: the register-light dot
      else k.dot_q6_k_q8_rows(w.row_data(r), q, d, sums, cols, T, y + r, rows);
  });
}

}  // namespace

void WeightBuffer::Free::operator()(uint8_t* p) const { std::free(p); }

void WeightBuffer::allocate(size_t n) {
  const size_t bytes = (n + 63) / 64 * 64;
  const bool huge = bytes >= kHugePage;
  // aligned_alloc wants a size that is a multiple of the alignment (C11; glibc is lenient, ASan is
  // not): round up, but advise only the whole huge pages the data fills, so that the untouched
  // tail never becomes a resident 2 MiB page.
  void* p = huge ? std::aligned_alloc(kHugePage, (bytes + kHugePage - 1) / kHugePage * kHugePage)
                 : std::aligned_alloc(64, bytes);
  if (bytes && !p) throw std::bad_alloc();
#if defined(MADV_HUGEPAGE)
  if (huge) madvise(p, bytes / kHugePage * kHugePage, MADV_HUGEPAGE);  // a hint: errors ignored
#endif
  data_.reset(static_cast<uint8_t*>(p));
  size_ = n;
}

TernaryMatrix TernaryMatrix::empty(const PackedLayout& layout, int64_t rows, int64_t cols,
                                   std::span<const float> group_scales) {
  TernaryMatrix m;
  m.rows_ = rows;
  m.cols_ = cols;
  m.layout_ = &layout;
  m.row_bytes_ = layout.row_bytes(cols);
  m.padded_cols_ = layout.padded_cols(cols);
  m.scales_.assign(group_scales.begin(), group_scales.end());
  m.packed_.allocate(size_t(rows * m.row_bytes_));
  return m;
}

TernaryMatrix TernaryMatrix::pack(std::span<const int8_t> q, int64_t rows, int64_t cols,
                                  std::span<const float> group_scales, uint32_t layout) {
  BITLM_CHECK(rows > 0 && cols > 0 && int64_t(q.size()) == rows * cols,
              "TernaryMatrix: {} values for a {}x{} matrix", q.size(), rows, cols);
  BITLM_CHECK(!group_scales.empty() && rows % int64_t(group_scales.size()) == 0,
              "TernaryMatrix: {} rows do not split into {} scale groups", rows, group_scales.size());
  bool ternary = true;  // one vectorizable pass; the message's search only on failure
  for (const int8_t v : q) ternary &= uint8_t(v + 1) <= 2;
  for (size_t i = 0; !ternary && i < q.size(); ++i)
    BITLM_CHECK(q[i] >= -1 && q[i] <= 1, "TernaryMatrix: value {} at {} is not in {{-1, 0, 1}}", q[i], i);
  TernaryMatrix m = empty(packed_layout(layout), rows, cols, group_scales);
  for (int64_t r = 0; r < rows; ++r) m.layout_->pack_row(q.data() + r * cols, cols, m.packed_.data() + r * m.row_bytes_);
  return m;
}

TernaryMatrix TernaryMatrix::copy_native(uint32_t ggml_type, std::span<const uint8_t> data, int64_t rows,
                                         int64_t cols, std::string_view path, std::string_view name) {
  const PackedLayout& layout = packed_layout(ggml_type);
  BITLM_ASSERT(rows > 0 && cols > 0);
  const int64_t rb = layout.row_bytes(cols);
  const std::string where{path};
  if (data.size() != uint64_t(rows * rb + kGgmlScaleTailBytes))
    throw FormatError(where, fmt::format("tensor '{}': {} bytes for {}x{}, expected {}", name, data.size(), rows,
                                         cols, rows * rb + kGgmlScaleTailBytes));
  float scale;
  std::memcpy(&scale, data.data() + rows * rb, 4);
  if (!std::isfinite(scale) || scale < 0)
    throw FormatError(where, fmt::format("tensor '{}': scale {} is not a finite non-negative number", name, scale));
  TernaryMatrix m = empty(layout, rows, cols, {&scale, 1});
  std::memcpy(m.packed_.data(), data.data(), size_t(rows * rb));
  if (layout.rows_valid && !layout.rows_valid(m.packed_.data(), m.packed_.size()))
    throw FormatError(where, fmt::format("tensor '{}': a {} weight has an invalid code", name, layout.storage().name));
  return m;
}

void TernaryMatrix::unpack(std::span<int8_t> q) const {
  BITLM_ASSERT(int64_t(q.size()) == rows_ * cols_);
  for (int64_t r = 0; r < rows_; ++r) layout_->unpack_row(packed_.data() + r * row_bytes_, cols_, q.data() + r * cols_);
}

uint64_t TernaryMatrix::n_bytes() const { return uint64_t(rows_ * row_bytes_); }

void QuantizedActivations::resize(int64_t new_T, int64_t new_cols) {
  T = new_T;
  if (new_cols == cols && int64_t(scale.size()) == new_T) return;  // keeps the zero padding
  cols = new_cols;
  stride = padded_activations(new_cols);
  q.resize(size_t(new_T * stride));  // zeroed: kernels read the padding
  scale.assign(size_t(new_T), 0.0f);
  sum.assign(size_t(new_T), 0);
}

namespace {

// The scales of rows [r0, r0 + n): scale_of_row's integer division per row cost decode ~3% (an
// idiv per 640-byte row, the GEMV's loads waiting behind it), so one division, then a running group.
void row_scales(const TernaryMatrix& w, int64_t r0, int64_t n, float* out) {
  const std::span<const float> scales = w.group_scales();
  const int64_t per_scale = w.rows() / int64_t(scales.size());  // rows per scale group
  int64_t g = r0 / per_scale, g_end = (g + 1) * per_scale;
  for (int64_t i = 0; i < n; ++i) {
    if (r0 + i == g_end) ++g, g_end += per_scale;
    out[i] = scales[size_t(g)];
  }
}

// Rows [begin, end) of y = W x (003 Fig. 12 scaling): kernel tiles of kRowTile rows x kTokenChunk
// tokens into a stack buffer of int32 sums.
void matmul_rows(const TernaryMatrix& w, const QuantizedActivations& x, float* y, int64_t begin, int64_t end,
                 const MatmulKernels& k) {
  const int64_t rows = w.rows(), T = x.T, rb = w.row_bytes();
  const PackedKernels& kernels = k.*w.layout().kernels;
  int32_t acc[kRowTile * kTokenChunk];
  float row_scale[kRowTile];
  for (int64_t r0 = begin; r0 < end; r0 += kRowTile) {
    const int64_t nr = std::min(kRowTile, end - r0);
    const uint8_t* wr = w.packed() + r0 * rb;
    row_scales(w, r0, nr, row_scale);
    for (int64_t t0 = 0; t0 < T; t0 += kTokenChunk) {
      const int64_t nt = std::min(kTokenChunk, T - t0);
      const int8_t* xt = x.q.data() + t0 * x.stride;
      if (nt == 1) kernels.gemv(wr, rb, xt, x.sum[size_t(t0)], acc, nr);
      else kernels.gemm(wr, rb, xt, x.stride, x.sum.data() + t0, nt, acc, kRowTile, nr);
      for (int64_t t = 0; t < nt; ++t) {
        const float xs = x.scale[size_t(t0 + t)];
        float* yt = y + (t0 + t) * rows + r0;
        for (int64_t i = 0; i < nr; ++i) yt[i] = float(acc[t * kRowTile + i]) * (row_scale[i] / xs);
      }
    }
  }
}

}  // namespace

void ternary_matmul(const TernaryMatrix& w, const QuantizedActivations& x, float* y, ThreadPool& pool) {
  const TernaryMatrix* ws[] = {&w};
  float* ys[] = {y};
  ternary_matmul_multi(ws, x, ys, pool);
}

// The matrices' rows are stacked into one range that the pool splits; a thread's chunk may span
// two matrices.
void ternary_matmul_multi(std::span<const TernaryMatrix* const> ws, const QuantizedActivations& x,
                          std::span<float* const> ys, ThreadPool& pool) {
  BITLM_ASSERT(!ws.empty() && ws.size() == ys.size() && x.T <= int64_t(x.scale.size()));
  int64_t total = 0;
  for (const TernaryMatrix* w : ws) {
    BITLM_ASSERT(w->cols() == x.cols && x.stride >= w->padded_cols());
    total += w->rows();
  }
  const MatmulKernels& k = best_kernels();
  for_grains(pool, total, split_grain(uint64_t(ws[0]->row_bytes()), x.T, total), [&](int64_t begin, int64_t end) {
    int64_t first = 0;
    for (size_t m = 0; m < ws.size(); first += ws[m]->rows(), ++m) {
      const int64_t lo = std::max(begin, first), hi = std::min(end, first + ws[m]->rows());
      if (lo < hi) matmul_rows(*ws[m], x, ys[m], lo - first, hi - first, k);
    }
  });
}

void ternary_matmul_f32(const TernaryMatrix& w, const float* x, int64_t T, float* y, ThreadPool& pool) {
  const int64_t rows = w.rows(), cols = w.cols(), rb = w.row_bytes(), stride = w.padded_cols();
  std::vector<float> xp(size_t(T * stride), 0.0f), x_sum(size_t(T), 0.0f);  // padded copy for the kernels
  for (int64_t t = 0; t < T; ++t) {
    std::memcpy(xp.data() + t * stride, x + t * cols, size_t(cols) * sizeof(float));
    for (int64_t i = 0; i < cols; ++i) x_sum[size_t(t)] += x[t * cols + i];
  }
  const TernaryGemmF32 gemm = (best_kernels().*w.layout().kernels).gemm_f32;
  pool.parallel_for(0, rows, row_grain(uint64_t(stride), T), [&](int64_t begin, int64_t end) {
    gemm(w.packed() + begin * rb, rb, xp.data(), stride, x_sum.data(), T, y + begin, rows, end - begin);
    std::vector<float> scale(size_t(end - begin));
    row_scales(w, begin, end - begin, scale.data());
    for (int64_t t = 0; t < T; ++t)
      for (int64_t r = begin; r < end; ++r) y[t * rows + r] *= scale[size_t(r - begin)];
  });
}

DenseMatrix DenseMatrix::view(uint32_t ggml_type, const uint8_t* data, int64_t rows, int64_t cols) {
  BITLM_CHECK(rows > 0, "DenseMatrix: {} rows", rows);
  DenseMatrix m;
  m.type_ = ggml_type;
  m.rows_ = rows;
  m.cols_ = cols;
  m.row_bytes_ = dense_row_bytes(ggml_type, cols);  // throws for unsupported types and shapes
  m.data_ = data;
  return m;
}

DenseMatrix DenseMatrix::copy(uint32_t ggml_type, std::span<const uint8_t> data, int64_t rows, int64_t cols) {
  DenseMatrix m = view(ggml_type, data.data(), rows, cols);
  BITLM_CHECK(data.size() >= m.n_bytes(), "DenseMatrix: {} bytes for {}x{} of type {}", data.size(), rows, cols,
              ggml_type);
  m.owned_.allocate(size_t(m.n_bytes()));
  std::memcpy(m.owned_.data(), data.data(), size_t(m.n_bytes()));
  m.data_ = m.owned_.data();
  return m;
}

DenseMatrix DenseMatrix::from_f32(uint32_t ggml_type, std::span<const float> data, int64_t rows, int64_t cols) {
  BITLM_CHECK(rows > 0 && int64_t(data.size()) == rows * cols, "DenseMatrix: {} values for {}x{}",
              data.size(), rows, cols);
  const uint64_t row_bytes = dense_row_bytes(ggml_type, cols);
  DenseMatrix m;
  m.owned_.allocate(size_t(row_bytes) * size_t(rows));
  for (int64_t r = 0; r < rows; ++r) encode_dense_row(ggml_type, data.data() + r * cols, cols, m.owned_.data() + r * row_bytes);
  m.type_ = ggml_type;
  m.rows_ = rows;
  m.cols_ = cols;
  m.row_bytes_ = row_bytes;
  m.data_ = m.owned_.data();
  return m;
}

uint64_t DenseMatrix::n_bytes() const { return row_bytes_ * uint64_t(rows_); }

void DenseMatrix::row_f32(int64_t r, float* out) const {
  BITLM_DASSERT(r >= 0 && r < rows_);
  decode_dense_row(type_, data_ + uint64_t(r) * row_bytes_, cols_, out);
}

// Encoded rows are dotted straight from their bytes: a row stays in L1 across the tokens, so
// re-decoding it per token is cheaper than a decoded f32 copy (and needs no buffer).
void dense_matmul(const DenseMatrix& w, const float* x, int64_t T, float* y, ThreadPool& pool) {
  const MatmulKernels& k = best_kernels();
  const int64_t rows = w.rows(), cols = w.cols();
  const uint64_t rb = w.n_bytes() / uint64_t(rows);
  const uint32_t type = w.type();
  if (type == kGgmlQ8_0) return dense_matmul_q8_0(w, x, T, y, pool, k.dot_q8_0_q8);
  if (type == kGgmlQ4_0) return dense_matmul_q8_0(w, x, T, y, pool, k.dot_q4_0_q8);  // x quantized alike
  if (type == kGgmlQ6_K) return dense_matmul_q6_k(w, x, T, y, pool, k);
  const DotRow dot = type == kGgmlF16 ? k.dot_f16 : type == kGgmlBF16 ? k.dot_bf16 : nullptr;
  for_grains(pool, rows, split_grain(rb, T, rows), [&](int64_t begin, int64_t end) {
    for (int64_t r = begin; r < end; ++r) {
      const uint8_t* wr = w.row_data(r);
      prefetch_ahead(wr, rb);
      for (int64_t t = 0; t < T; ++t)
        y[t * rows + r] = dot ? dot(wr, x + t * cols, cols)
                              : k.dot_f32(reinterpret_cast<const float*>(wr), x + t * cols, cols);  // F32
    }
  });
}

}  // namespace bitlm
