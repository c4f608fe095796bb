// bench/dense_matmul_bench.cpp — dense_matmul (the output head) at T = 1, one thread, for every
// dense type, on a 32000 x 2560 head (larger than the L3 in every format but Q6_K/Q8_0 on big
// server parts): bytes_per_second is the head's encoded bytes streamed per second. The `float_x`
// rows run the Q8_0 / Q6_K row dots with float x (DotRow), what dense_matmul ran before it
// quantized x to int8 for these types.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.h"
#include "quant/kernels.h"
#include "quant/matrix.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

constexpr int64_t kRows = 32000, kCols = 2560;

DenseMatrix random_head(uint32_t type) {
  Rng rng(1);
  std::vector<float> w(size_t(kRows * kCols));
  for (auto& v : w) v = float(rng.normal());
  return DenseMatrix::from_f32(type, w, kRows, kCols);
}

std::vector<float> random_x(int64_t T) {
  Rng rng(2);
  std::vector<float> x(size_t(T * kCols));
  for (auto& v : x) v = float(rng.normal());
  return x;
}

void head(benchmark::State& state, uint32_t type, int64_t T) {
  const DenseMatrix m = random_head(type);
  const std::vector<float> x = random_x(T);
  std::vector<float> y(size_t(T * kRows));
  ThreadPool pool(1);
  for (auto _ : state) {
    dense_matmul(m, x.data(), T, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(m.n_bytes()));
}

void head_float_x(benchmark::State& state, uint32_t type) {
  const DenseMatrix m = random_head(type);
  const std::vector<float> x = random_x(1);
  std::vector<float> y(static_cast<size_t>(kRows));
  const DotRow dot = type == kGgmlQ8_0 ? best_kernels().dot_q8_0 : best_kernels().dot_q6_k;
  for (auto _ : state) {
    for (int64_t r = 0; r < kRows; ++r) y[size_t(r)] = dot(m.row_data(r), x.data(), kCols);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(m.n_bytes()));
}

}  // namespace
}  // namespace bitlm

int main(int argc, char** argv) {
  using namespace bitlm;
  const std::pair<const char*, uint32_t> types[] = {{"F32", kGgmlF32}, {"F16", kGgmlF16},
                                                    {"BF16", kGgmlBF16}, {"Q8_0", kGgmlQ8_0},
                                                    {"Q6_K", kGgmlQ6_K}};
  for (auto [name, type] : types) {
    benchmark::RegisterBenchmark((std::string("dense_head/") + name + "/T1").c_str(), head, type, 1);
    benchmark::RegisterBenchmark((std::string("dense_head/") + name + "/T8").c_str(), head, type, 8);
    if (type == kGgmlQ8_0 || type == kGgmlQ6_K)
      benchmark::RegisterBenchmark((std::string("dense_head/") + name + "/T1/float_x").c_str(), head_float_x, type);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
