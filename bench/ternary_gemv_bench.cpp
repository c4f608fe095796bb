// bench/ternary_gemv_bench.cpp — the T2 and T1 kernels of quant/kernels.h for every runnable ISA on
// the BitNet b1.58 2B-4T shapes, single thread. GEMV streams weights from DRAM: each iteration uses
// the next of several copies whose total exceeds the L3 cache, so bytes_per_second is the weight
// bandwidth decode achieves ("hot" rows reuse one copy: the kernel's compute ceiling).
// GEMM runs T = 128 tokens (prefill); its counter is weight bytes too, per pass over the tokens;
// gemm_tiled calls it as the runtime does (GMAC/s: compare with vpdpbusd's 64 MACs per issue).
// "weights/s" compares the layouts (T1 reads 0.8x the bytes of T2 for the same weights).
#include <benchmark/benchmark.h>

#include <algorithm>
#include <functional>
#include <string>
#include <vector>

#include "core/rng.h"
#include "quant/kernels.h"
#include "quant/packed_layout.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

struct Shape { int64_t rows, cols; };
constexpr Shape kShapes[] = {{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}};
constexpr int64_t kColdBytes = int64_t(256) << 20;  // > 32 MiB L3 by far

using Layout = const PackedLayout&;

struct Weights {
  int64_t row_bytes, matrix_bytes, copies, stride;
  std::vector<uint8_t> w;
  std::vector<int8_t> x;
  Weights(const Layout& l, Shape s, int64_t T, bool cold) {
    Rng rng(1);
    std::vector<int8_t> q(size_t(s.rows * s.cols));
    for (auto& v : q) v = int8_t(int(rng.below(3)) - 1);
    const std::vector<uint8_t> one = encode_ternary(l.type, q, s.rows, s.cols, 1.0f);
    matrix_bytes = int64_t(one.size()) - kGgmlScaleTailBytes;
    row_bytes = matrix_bytes / s.rows;
    stride = l.padded_cols(s.cols);
    copies = cold ? (kColdBytes + matrix_bytes - 1) / matrix_bytes : 1;
    w.resize(size_t(copies * matrix_bytes));
    for (int64_t c = 0; c < copies; ++c) std::copy(one.begin(), one.end() - kGgmlScaleTailBytes, w.begin() + c * matrix_bytes);
    x.resize(size_t(T * stride));
    for (auto& v : x) v = int8_t(int(rng.below(256)) - 128);
  }
};

void gemv(benchmark::State& state, const MatmulKernels* k, Layout l, Shape s, bool cold) {
  Weights d(l, s, 1, cold);
  std::vector<int32_t> y(size_t(s.rows));
  int64_t i = 0;
  for (auto _ : state) {
    (k->*l.kernels).gemv(d.w.data() + (i++ % d.copies) * d.matrix_bytes, d.row_bytes, d.x.data(), 0, y.data(), s.rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * d.matrix_bytes);
  state.counters["weights/s"] = benchmark::Counter(double(state.iterations()) * double(s.rows * s.cols),
                                                   benchmark::Counter::kIsRate);
}

void gemm(benchmark::State& state, const MatmulKernels* k, Layout l, Shape s) {
  constexpr int64_t T = 128;
  Weights d(l, s, T, false);
  std::vector<int32_t> y(size_t(T * s.rows)), x_sum(T, 0);
  for (auto _ : state) {
    (k->*l.kernels).gemm(d.w.data(), d.row_bytes, d.x.data(), d.stride, x_sum.data(), T, y.data(), s.rows, s.rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * d.matrix_bytes);
  state.counters["tokens/s"] = benchmark::Counter(double(state.iterations()) * T, benchmark::Counter::kIsRate);
}

// As quant/matrix.cpp's matmul_rows calls the kernel: 32-row tiles x 64-token chunks into a small
// y (the weights and a token tile stay in cache across the calls).
void gemm_tiled(benchmark::State& state, const MatmulKernels* k, Layout l, Shape s) {
  constexpr int64_t T = 128, kRows = 32, kTokens = 64;
  Weights d(l, s, T, false);
  std::vector<int32_t> y(size_t(kTokens * kRows)), x_sum(T, 0);
  for (auto _ : state) {
    for (int64_t r0 = 0; r0 < s.rows; r0 += kRows)
      for (int64_t t0 = 0; t0 < T; t0 += kTokens)
        (k->*l.kernels).gemm(d.w.data() + r0 * d.row_bytes, d.row_bytes, d.x.data() + t0 * d.stride, d.stride,
                     x_sum.data() + t0, kTokens, y.data(), kRows, std::min(kRows, s.rows - r0));
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["GMAC/s"] = benchmark::Counter(double(state.iterations()) * double(T * s.rows * s.cols) * 1e-9,
                                                benchmark::Counter::kIsRate);
}

}  // namespace
}  // namespace bitlm

int main(int argc, char** argv) {
  using namespace bitlm;
  for (const PackedLayout& l : packed_layouts())
    for (const MatmulKernels* k : runnable_kernels())
      for (Shape s : kShapes) {
        const std::string shape = std::to_string(s.rows) + "x" + std::to_string(s.cols);
        const std::string isa(k->isa), name(l.name);
        benchmark::RegisterBenchmark(("gemv_" + name + "/" + isa + "/" + shape + "/cold").c_str(), gemv, k, std::cref(l), s, true);
        benchmark::RegisterBenchmark(("gemv_" + name + "/" + isa + "/" + shape + "/hot").c_str(), gemv, k, std::cref(l), s, false);
        if (k->isa == "ref") continue;
        benchmark::RegisterBenchmark(("gemm_" + name + "_T128/" + isa + "/" + shape).c_str(), gemm, k, std::cref(l), s);
        benchmark::RegisterBenchmark(("gemm_tiled_" + name + "_T128/" + isa + "/" + shape).c_str(), gemm_tiled, k, std::cref(l), s);
      }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
