// core/intrinsics_x86.h — <immintrin.h> for the x86 kernel files, without GCC 12's false
// -Wuninitialized / -Wmaybe-uninitialized: its AVX-512 intrinsics (_mm512_extracti64x4_epi64,
// _mm512_max_ps, _mm512_cvttps_epi32, ...) pass an _mm*_undefined_*() operand, which GCC 12 reports
// as used uninitialized once inlined (GCC bug 105593, fixed in GCC 13). The pragmas cover the
// header's own lines only, so warnings in our code still show. Include it first: a later
// <immintrin.h> is skipped by its include guard, an earlier one brings the warnings back.
#pragma once
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wuninitialized"
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#include <immintrin.h>
#pragma GCC diagnostic pop
#else
#include <immintrin.h>
#endif
