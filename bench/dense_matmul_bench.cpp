// bench/dense_matmul_bench.cpp — dense_matmul (the output head) at T = 1, one thread, for every
// dense type, on a 32000 x 2560 head (larger than the L3 in every format but Q6_K/Q8_0 on big
// server parts): bytes_per_second is the head's encoded bytes streamed per second.
#include <benchmark/benchmark.h>

#include <vector>

#include "core/rng.h"
#include "quant/matrix.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

void head(benchmark::State& state, uint32_t type, int64_t T) {
  const int64_t rows = 32000, cols = 2560;
  Rng rng(1);
  std::vector<float> w(size_t(rows * cols)), x(size_t(T * cols)), y(size_t(T * rows));
  for (auto& v : w) v = float(rng.normal());
  for (auto& v : x) v = float(rng.normal());
  const DenseMatrix m = DenseMatrix::from_f32(type, w, rows, cols);
  w = {};
  ThreadPool pool(1);
  for (auto _ : state) {
    dense_matmul(m, x.data(), T, y.data(), pool);
    benchmark::DoNotOptimize(y.data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * int64_t(m.n_bytes()));
}

}  // namespace
}  // namespace bitlm

int main(int argc, char** argv) {
  using namespace bitlm;
  const std::pair<const char*, uint32_t> types[] = {{"F32", type_id::kF32}, {"F16", type_id::kF16},
                                                    {"BF16", type_id::kBF16}, {"Q8_0", type_id::kQ8_0},
                                                    {"Q6_K", type_id::kQ6_K}};
  for (auto [name, type] : types) {
    benchmark::RegisterBenchmark((std::string("dense_head/") + name + "/T1").c_str(), head, type, 1);
    benchmark::RegisterBenchmark((std::string("dense_head/") + name + "/T8").c_str(), head, type, 8);
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
