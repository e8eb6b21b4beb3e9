/* backends/cpu/x86_pack.h — B packing with AVX registers, shared by x86_avx2.c and x86_avx512.c
 * (both are built with at least -mavx2). Included once per file; NR is the including file's
 * micro-kernel width (a multiple of 8). */
#ifndef UAE_CPU_X86_PACK_H
#define UAE_CPU_X86_PACK_H

#include <immintrin.h>

#include "backends/cpu/omp_gemm.h"

/* Packs k-range [p0, p0 + kc) and columns [j0, j0 + nr) of op(B) as one NR-column sliver
 * (dst[p*NR + j] = op(B)[p0 + p][j0 + j], columns past nr zero). For a transposed B the sliver is
 * the transpose of an NR x kc block of B, done as 8x8 transposes in registers so that both reads
 * and writes are whole vectors (the scalar loop writes one float per row of the sliver, which
 * makes packing as slow as the product itself when m is small); the last kc % 8 steps are scalar.
 * Partial slivers take the plain C loop. */
static inline __attribute__((always_inline)) void
x86_pack_b(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr, int NR,
           float *restrict dst) {
    if (nr != NR) {
        uae_gemm_pack_b_c(g, p0, kc, j0, nr, NR, dst);
        return;
    }
    if (!g->trans_b) { /* NR consecutive floats per p */
        for (int64_t p = 0; p < kc; p++) {
            const float *src = g->b + (p0 + p) * g->ldb + j0;
            for (int j = 0; j < NR; j += 8) _mm256_storeu_ps(dst + p * NR + j, _mm256_loadu_ps(src + j));
        }
        return;
    }
    int64_t k8 = kc / 8 * 8, ld = g->ldb;
    for (int grp = 0; grp < NR / 8; grp++) {
        const float *src = g->b + (j0 + 8 * grp) * ld + p0;
        for (int64_t p = 0; p < k8; p += 8) {
            __m256 r0 = _mm256_loadu_ps(src + 0 * ld + p), r1 = _mm256_loadu_ps(src + 1 * ld + p);
            __m256 r2 = _mm256_loadu_ps(src + 2 * ld + p), r3 = _mm256_loadu_ps(src + 3 * ld + p);
            __m256 r4 = _mm256_loadu_ps(src + 4 * ld + p), r5 = _mm256_loadu_ps(src + 5 * ld + p);
            __m256 r6 = _mm256_loadu_ps(src + 6 * ld + p), r7 = _mm256_loadu_ps(src + 7 * ld + p);
            __m256 t0 = _mm256_unpacklo_ps(r0, r1), t1 = _mm256_unpackhi_ps(r0, r1);
            __m256 t2 = _mm256_unpacklo_ps(r2, r3), t3 = _mm256_unpackhi_ps(r2, r3);
            __m256 t4 = _mm256_unpacklo_ps(r4, r5), t5 = _mm256_unpackhi_ps(r4, r5);
            __m256 t6 = _mm256_unpacklo_ps(r6, r7), t7 = _mm256_unpackhi_ps(r6, r7);
            __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xee);
            __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xee);
            __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xee);
            __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xee);
            float *d = dst + p * NR + 8 * grp;
            _mm256_storeu_ps(d + 0 * NR, _mm256_permute2f128_ps(u0, u4, 0x20));
            _mm256_storeu_ps(d + 1 * NR, _mm256_permute2f128_ps(u1, u5, 0x20));
            _mm256_storeu_ps(d + 2 * NR, _mm256_permute2f128_ps(u2, u6, 0x20));
            _mm256_storeu_ps(d + 3 * NR, _mm256_permute2f128_ps(u3, u7, 0x20));
            _mm256_storeu_ps(d + 4 * NR, _mm256_permute2f128_ps(u0, u4, 0x31));
            _mm256_storeu_ps(d + 5 * NR, _mm256_permute2f128_ps(u1, u5, 0x31));
            _mm256_storeu_ps(d + 6 * NR, _mm256_permute2f128_ps(u2, u6, 0x31));
            _mm256_storeu_ps(d + 7 * NR, _mm256_permute2f128_ps(u3, u7, 0x31));
        }
        for (int j = 0; j < 8; j++)
            for (int64_t p = k8; p < kc; p++) dst[p * NR + 8 * grp + j] = src[j * ld + p];
    }
}

#endif
