// bench/ternary_lut_bench.cpp — a trial, not a runtime kernel: a table look-up (T-MAC / bitnet.cpp
// TL1 style) ternary GEMV on AVX-512BW, timed next to the T2 vpdpbusd GEMV on the 2B-4T shapes.
// Layout of the trial: per 64-row tile and per column pair p, 32 bytes whose nibbles index the
// nine (w0, w1) combinations, idx = 3 (w0 + 1) + (w1 + 1) (2 bits/weight, as T2); byte i holds
// row i (low nibble) and row i + 32 (high nibble). Per token the tables hold, for every pair, the
// nine sums w0 x0 + w1 x1 as int16 split into a low-byte and a high-byte 16-entry table, so one
// vpshufb pair looks up 64 rows at once; sums stay exact (int16 for 64 pairs, then int32).
// The kernel is checked against a plain integer dot before timing (exit 1 on a mismatch).
// GCC 12 warns falsely inside its own avx512fintrin.h (the _mm512_undefined_* idiom).
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <benchmark/benchmark.h>
#include <immintrin.h>

#include <cstdio>
#include <string>
#include <vector>

#include "core/cpu.h"
#include "core/rng.h"
#include "quant/kernels.h"
#include "quant/packed_layout.h"
#include "quant/ternary_formats.h"

namespace bitlm {
namespace {

struct Shape { int64_t rows, cols; };
constexpr Shape kShapes[] = {{2560, 2560}, {640, 2560}, {6912, 2560}, {2560, 6912}};
constexpr int64_t kColdBytes = int64_t(256) << 20;
constexpr int64_t kTile = 64, kPairsPerInt16 = 64;  // 64 pairs x |sum| <= 256 fits int16

std::vector<uint8_t> pack_lut(const std::vector<int8_t>& q, int64_t rows, int64_t cols) {
  const int64_t pairs = cols / 2;
  std::vector<uint8_t> w(size_t(rows / kTile * pairs * 32), 0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t p = 0; p < pairs; ++p) {
      const int idx = 3 * (q[size_t(r * cols + 2 * p)] + 1) + q[size_t(r * cols + 2 * p + 1)] + 1;
      const int64_t i = r % kTile;
      w[size_t((r / kTile * pairs + p) * 32 + i % 32)] |= uint8_t(idx << (i < 32 ? 0 : 4));
    }
  return w;
}

// Per token: for every pair, entries idx = 0..8 of sum w0 x0 + w1 x1, low bytes then high bytes.
void build_tables(const int8_t* x, int64_t cols, uint8_t* tables) {
  for (int64_t p = 0; p < cols / 2; ++p) {
    uint8_t* t = tables + p * 32;
    for (int idx = 0; idx < 16; ++idx) {
      const int v = idx < 9 ? (idx / 3 - 1) * x[2 * p] + (idx % 3 - 1) * x[2 * p + 1] : 0;
      t[idx] = uint8_t(v & 0xff);
      t[16 + idx] = uint8_t((v >> 8) & 0xff);
    }
  }
}

__attribute__((target("avx512f,avx512bw"))) void gemv_lut_avx512(const uint8_t* w, const uint8_t* tables,
                                                                   int64_t pairs, int64_t rows, int32_t* y) {
  const __m512i m4 = _mm512_set1_epi8(0x0f);
  for (int64_t r0 = 0; r0 < rows; r0 += kTile) {
    const uint8_t* wt = w + r0 / kTile * pairs * 32;
    __m512i acc[4] = {_mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512(), _mm512_setzero_si512()};
    for (int64_t p0 = 0; p0 < pairs; p0 += kPairsPerInt16) {
      __m512i a0 = _mm512_setzero_si512(), a1 = _mm512_setzero_si512();
      const int64_t pe = p0 + kPairsPerInt16 < pairs ? p0 + kPairsPerInt16 : pairs;
      for (int64_t p = p0; p < pe; ++p) {
        const __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wt + p * 32));
        const __m512i idx =
            _mm512_and_si512(_mm512_inserti64x4(_mm512_castsi256_si512(b), _mm256_srli_epi16(b, 4), 1), m4);
        const __m512i tlo = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tables + p * 32)));
        const __m512i thi = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(tables + p * 32 + 16)));
        const __m512i lo = _mm512_shuffle_epi8(tlo, idx), hi = _mm512_shuffle_epi8(thi, idx);
        a0 = _mm512_add_epi16(a0, _mm512_unpacklo_epi8(lo, hi));  // rows 16L + 0..7 of lane L
        a1 = _mm512_add_epi16(a1, _mm512_unpackhi_epi8(lo, hi));  // rows 16L + 8..15
      }
      acc[0] = _mm512_add_epi32(acc[0], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(a0)));
      acc[1] = _mm512_add_epi32(acc[1], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(a0, 1)));
      acc[2] = _mm512_add_epi32(acc[2], _mm512_cvtepi16_epi32(_mm512_castsi512_si256(a1)));
      acc[3] = _mm512_add_epi32(acc[3], _mm512_cvtepi16_epi32(_mm512_extracti64x4_epi64(a1, 1)));
    }
    alignas(64) int32_t s[4][16];
    for (int k = 0; k < 4; ++k) _mm512_store_si512(s[k], acc[k]);
    // acc[k] element e: lane pair (k & 1) of a0 (k < 2) or a1 (k >= 2); element e < 8 -> lane 2(k&1), else 2(k&1)+1
    for (int k = 0; k < 4; ++k)
      for (int e = 0; e < 16; ++e) y[r0 + 16 * (2 * (k & 1) + e / 8) + 8 * (k / 2) + e % 8] = s[k][e];
  }
}

struct Data {
  int64_t t2_bytes, lut_bytes, copies_t2, copies_lut, row_bytes;
  std::vector<int8_t> q, x;
  std::vector<uint8_t> t2, lut, tables;
  Data(Shape s, bool cold) {
    Rng rng(1);
    q.resize(size_t(s.rows * s.cols));
    for (auto& v : q) v = int8_t(int(rng.below(3)) - 1);
    x.resize(size_t(s.cols));
    for (auto& v : x) v = int8_t(int(rng.below(256)) - 128);
    const std::vector<uint8_t> one_t2 = encode_ternary(kGgmlBitlmT2, q, s.rows, s.cols, 1.0f);
    const std::vector<uint8_t> one_lut = pack_lut(q, s.rows, s.cols);
    row_bytes = packed_layout(kGgmlBitlmT2).row_bytes(s.cols);
    t2_bytes = s.rows * row_bytes;
    lut_bytes = int64_t(one_lut.size());
    copies_t2 = cold ? (kColdBytes + t2_bytes - 1) / t2_bytes : 1;
    copies_lut = cold ? (kColdBytes + lut_bytes - 1) / lut_bytes : 1;
    for (int64_t c = 0; c < copies_t2; ++c) t2.insert(t2.end(), one_t2.begin(), one_t2.begin() + t2_bytes);
    for (int64_t c = 0; c < copies_lut; ++c) lut.insert(lut.end(), one_lut.begin(), one_lut.end());
    tables.resize(size_t(s.cols / 2 * 32));
  }
};

bool lut_matches_plain_dot(Shape s) {
  Data d(s, false);
  build_tables(d.x.data(), s.cols, d.tables.data());
  std::vector<int32_t> y(size_t(s.rows));
  gemv_lut_avx512(d.lut.data(), d.tables.data(), s.cols / 2, s.rows, y.data());
  for (int64_t r = 0; r < s.rows; ++r) {
    int32_t want = 0;
    for (int64_t i = 0; i < s.cols; ++i) want += int32_t(d.q[size_t(r * s.cols + i)]) * d.x[size_t(i)];
    if (y[size_t(r)] != want) return false;
  }
  return true;
}

// The tables are rebuilt every call: decode builds them once per token and input vector.
void lut(benchmark::State& state, Shape s, bool cold) {
  Data d(s, cold);
  std::vector<int32_t> y(size_t(s.rows));
  int64_t i = 0;
  for (auto _ : state) {
    build_tables(d.x.data(), s.cols, d.tables.data());
    gemv_lut_avx512(d.lut.data() + (i++ % d.copies_lut) * d.lut_bytes, d.tables.data(), s.cols / 2, s.rows, y.data());
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weights/s"] = benchmark::Counter(double(state.iterations()) * double(s.rows * s.cols),
                                                   benchmark::Counter::kIsRate);
}

void t2(benchmark::State& state, Shape s, bool cold) {
  Data d(s, cold);
  std::vector<int8_t> xp(size_t(d.row_bytes * 4), 0);
  std::copy(d.x.begin(), d.x.end(), xp.begin());
  std::vector<int32_t> y(size_t(s.rows));
  int64_t i = 0;
  for (auto _ : state) {
    best_kernels().t2.gemv(d.t2.data() + (i++ % d.copies_t2) * d.t2_bytes, d.row_bytes, xp.data(), 0, y.data(), s.rows);
    benchmark::DoNotOptimize(y.data());
  }
  state.counters["weights/s"] = benchmark::Counter(double(state.iterations()) * double(s.rows * s.cols),
                                                   benchmark::Counter::kIsRate);
}

}  // namespace
}  // namespace bitlm

int main(int argc, char** argv) {
  using namespace bitlm;
  if (!cpu_runs_isa("avx512")) {
    std::fprintf(stderr, "ternary_lut_bench: the trial kernel needs AVX-512\n");
    return 0;
  }
  for (Shape s : kShapes) {
    if (!lut_matches_plain_dot(s)) {
      std::fprintf(stderr, "ternary_lut_bench: LUT GEMV differs from the plain dot at %ldx%ld\n", long(s.rows), long(s.cols));
      return 1;
    }
    const std::string shape = std::to_string(s.rows) + "x" + std::to_string(s.cols);
    for (bool cold : {true, false}) {
      const std::string heat = cold ? "/cold" : "/hot";
      benchmark::RegisterBenchmark(("gemv_lut_avx512/" + shape + heat).c_str(), lut, s, cold);
      benchmark::RegisterBenchmark(("gemv_t2_" + std::string(best_kernels().isa) + "/" + shape + heat).c_str(), t2, s, cold);
    }
  }
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
}
