// core/cpu.h — CPU features, read once (CPUID on x86, HWCAP on ARM).
#pragma once
#include <string>

namespace bitlm {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
  bool neon = false, dotprod = false;
  std::string brand;
};

const CpuFeatures& cpu_features();

}  // namespace bitlm
