// core/cpu.h — CPU features, read once (CPUID on x86, HWCAP on ARM).
#pragma once
#include <initializer_list>
#include <span>
#include <string>
#include <string_view>
#include <vector>

// Expand to their arguments only when building for that architecture (kernel table lists).
#if defined(__x86_64__) || defined(_M_X64)
#define BITLM_X86(...) __VA_ARGS__,
#else
#define BITLM_X86(...)
#endif
#if defined(__aarch64__)
#define BITLM_ARM(...) __VA_ARGS__,
#else
#define BITLM_ARM(...)
#endif

namespace bitlm {

struct CpuFeatures {
  bool avx2 = false, fma = false, f16c = false;
  bool avx512f = false, avx512bw = false, avx512vl = false, avx512dq = false;
  bool avx512vnni = false, avx512bf16 = false, avxvnni = false;
  bool neon = false, dotprod = false;
  std::string brand;
};

const CpuFeatures& cpu_features();

// The ISAs this CPU runs, as kernel families name them: "ref" first, then "avx2", "avx512"
// (F/BW/VL/VNNI) or "neon" (with dotprod).
bool cpu_runs_isa(std::string_view isa);

// BITLM_ISA, read once: empty when unset. Throws UserError for a name this CPU cannot run.
std::string_view requested_isa();

// One ISA choice for every kernel family (each Table has `std::string_view isa`; runnable lists
// ref first and the best last): the best, or the one BITLM_ISA names — and a family without
// kernels for that ISA runs its plain reference.
template <typename Table>
const Table& select_kernels(std::span<const Table* const> runnable) {
  const std::string_view want = requested_isa();
  if (want.empty()) return *runnable.back();
  for (const Table* t : runnable)
    if (t->isa == want) return *t;
  return *runnable.front();
}

// The kernel tables of `compiled` (ref first, best last) whose ISA this CPU runs: a family's list
// for select_kernels and for its tests. List the per-ISA tables with BITLM_X86(...) / BITLM_ARM(...)
// so that a build for the other architecture drops them. A family whose kernels need a feature
// beyond their ISA's (AVX-512 BF16) gives its Table `bool (*also_needs)(const CpuFeatures&)`.
template <typename Table>
std::vector<const Table*> runnable_tables(std::initializer_list<const Table*> compiled) {
  std::vector<const Table*> v;
  for (const Table* t : compiled) {
    if constexpr (requires { t->also_needs; })
      if (t->also_needs && !t->also_needs(cpu_features())) continue;
    if (cpu_runs_isa(t->isa)) v.push_back(t);
  }
  return v;
}

}  // namespace bitlm
