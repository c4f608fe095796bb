#include "core/cpu.h"

#if defined(__x86_64__) || defined(__i386__)
#include <cpuid.h>
#endif
#if defined(__aarch64__) && defined(__linux__)
#include <asm/hwcap.h>
#include <sys/auxv.h>
#endif
#include <cstdlib>
#include <cstring>
#include <string>

#include "core/error.h"

namespace bitlm {
namespace {

#if defined(__x86_64__) || defined(__i386__)
uint64_t xgetbv0() {
  uint32_t lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (uint64_t(hi) << 32) | lo;
}

CpuFeatures detect() {
  CpuFeatures f;
  unsigned a, b, c, d;
  if (!__get_cpuid(1, &a, &b, &c, &d)) return f;
  const bool osxsave = c & (1u << 27);
  const uint64_t xcr0 = osxsave ? xgetbv0() : 0;
  const bool ymm_os = (xcr0 & 0x6) == 0x6, zmm_os = (xcr0 & 0xe6) == 0xe6;
  f.fma = ymm_os && (c & (1u << 12));
  f.f16c = ymm_os && (c & (1u << 29));
  if (__get_cpuid_count(7, 0, &a, &b, &c, &d)) {
    f.avx2 = ymm_os && (b & (1u << 5));
    f.avx512f = zmm_os && (b & (1u << 16));
    f.avx512dq = zmm_os && (b & (1u << 17));
    f.avx512bw = zmm_os && (b & (1u << 30));
    f.avx512vl = zmm_os && (b & (1u << 31));
    f.avx512vnni = zmm_os && (c & (1u << 11));
  }
  if (__get_cpuid_count(7, 1, &a, &b, &c, &d)) {
    f.avxvnni = ymm_os && (a & (1u << 4));
    f.avx512bf16 = zmm_os && (a & (1u << 5));
  }
  unsigned regs[12] = {};
  if (__get_cpuid(0x80000000, &a, &b, &c, &d) && a >= 0x80000004) {
    for (unsigned i = 0; i < 3; ++i)
      __get_cpuid(0x80000002 + i, &regs[4 * i], &regs[4 * i + 1], &regs[4 * i + 2], &regs[4 * i + 3]);
    char name[49] = {};
    std::memcpy(name, regs, 48);
    f.brand = name;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
  return f;
}
#elif defined(__aarch64__)
CpuFeatures detect() {
  CpuFeatures f;
  f.neon = true;
#if defined(__linux__) && defined(HWCAP_ASIMDDP)
  f.dotprod = getauxval(AT_HWCAP) & HWCAP_ASIMDDP;
#endif
  f.brand = "aarch64";
  return f;
}
#else
CpuFeatures detect() { return {}; }
#endif

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures features = detect();
  return features;
}

bool cpu_runs_isa(std::string_view isa) {
  const CpuFeatures& f = cpu_features();
  if (isa == "ref") return true;
  if (isa == "avx2") return f.avx2 && f.fma;
  if (isa == "avx512") return f.avx2 && f.fma && f.avx512f && f.avx512bw && f.avx512vl && f.avx512vnni;
  if (isa == "neon") return f.neon && f.dotprod;
  return false;
}

std::string_view requested_isa() {
  static const std::string isa = [] {
    const char* env = std::getenv("BITLM_ISA");
    const std::string want = env ? env : "";
    if (want.empty() || cpu_runs_isa(want)) return want;
    std::string have;
    for (const char* name : {"ref", "avx2", "avx512", "neon"})
      if (cpu_runs_isa(name)) have += std::string(have.empty() ? "" : ", ") + name;
    throw UserError(fmt::format("BITLM_ISA={}: this CPU runs only: {}", want, have));
  }();
  return isa;
}

}  // namespace bitlm
