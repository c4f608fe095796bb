// bench/ternary_gemv_bench.cpp — the T2 kernels of quant/gemv_t2.h for every runnable ISA on the
// BitNet b1.58 2B-4T shapes, single thread. GEMV streams weights from DRAM: each iteration uses
// the next of several copies whose total exceeds the L3 cache, so bytes_per_second is the weight
// bandwidth decode achieves ("hot" rows reuse one copy: the kernel's compute ceiling).
// GEMM runs T = 128 tokens (prefill); its counter is weight bytes too, per pass over the tokens.
#include <benchmark/benchmark.h>

#include <string>
#include <vector>

#include "core/rng.h"
#include "quant/gemv_t2.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

struct Shape { int64_t rows, cols; };
constexpr Shape kShapes[] = {{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}};
constexpr int64_t kColdBytes = int64_t(256) << 20;  // > 32 MiB L3 by far

struct Weights {
  int64_t row_bytes, matrix_bytes, copies;
  std::vector<uint8_t> w;
  std::vector<int8_t> x;
  Weights(Shape s, int64_t T, bool cold) : row_bytes(t2_row_bytes(s.cols)), matrix_bytes(s.rows * row_bytes) {
    copies = cold ? (kColdBytes + matrix_bytes - 1) / matrix_bytes : 1;
    Rng rng(1);
    w.resize(size_t(copies * matrix_bytes));
    for (auto& b : w) b = uint8_t(rng.next() % 3 | (rng.next() % 3) << 2 | (rng.next() % 3) << 4 | (rng.next() % 3) << 6);
    x.resize(size_t(T * row_bytes * 4));
    for (auto& v : x) v = int8_t(int(rng.below(256)) - 128);
  }
};

void gemv(benchmark::State& state, const TernaryKernels* k, Shape s, bool cold) {
  Weights d(s, 1, cold);
  std::vector<int32_t> y(size_t(s.rows));
  int64_t i = 0;
  for (auto _ : state) {
    k->gemv_t2(d.w.data() + (i++ % d.copies) * d.matrix_bytes, d.row_bytes, d.x.data(), 0, y.data(), s.rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * d.matrix_bytes);
}

void gemm(benchmark::State& state, const TernaryKernels* k, Shape s) {
  constexpr int64_t T = 128;
  Weights d(s, T, false);
  std::vector<int32_t> y(size_t(T * s.rows)), x_sum(T, 0);
  for (auto _ : state) {
    k->gemm_t2(d.w.data(), d.row_bytes, d.x.data(), d.row_bytes * 4, x_sum.data(), T, y.data(), s.rows, s.rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * d.matrix_bytes);
  state.counters["tokens/s"] = benchmark::Counter(double(state.iterations()) * T, benchmark::Counter::kIsRate);
}

}  // namespace
}  // namespace bitlm

int main(int argc, char** argv) {
  using namespace bitlm;
  for (const TernaryKernels* k : runnable_kernels())
    for (Shape s : kShapes) {
      const std::string shape = std::to_string(s.rows) + "x" + std::to_string(s.cols);
      const std::string isa(k->isa);
      benchmark::RegisterBenchmark(("gemv_t2/" + isa + "/" + shape + "/cold").c_str(), gemv, k, s, true);
      benchmark::RegisterBenchmark(("gemv_t2/" + isa + "/" + shape + "/hot").c_str(), gemv, k, s, false);
      if (k->isa != "ref") benchmark::RegisterBenchmark(("gemm_t2_T128/" + isa + "/" + shape).c_str(), gemm, k, s);
    }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
