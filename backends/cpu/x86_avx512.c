/* backends/cpu/x86_avx512.c — the kernel table of the AVX-512 path (built with
 * -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma by meson; chosen by cpu_ctx.c only where
 * cpuid says the processor has AVX-512 F/BW/VL/DQ and xgetbv says the OS saves the zmm and mask
 * registers).
 *
 * The GEMM micro-kernel is 14 x 32: 28 zmm accumulators, 2 for a row of B, 1 for an A broadcast
 * (31 of the 32 registers). Per k step it loads 2 vectors and 14 broadcasts for 28 FMAs, against
 * 8 loads for 12 FMAs in the AVX2 6 x 16 kernel. On Zen 4 a 512-bit FMA occupies both 256-bit FMA
 * pipes (the same peak FLOPs as AVX2), so the gain there is the lighter load and front-end traffic;
 * on Intel server cores with two 512-bit FMA ports the peak doubles. The elementwise loops are
 * kernel_loops.h's, 16 lanes wide, with the reference's bits. The direct convolution's loops are
 * the AVX2 ones (x86_avx2.c: 64-output chunks fit 8 ymm accumulators). */
#if defined(__GNUC__) && !defined(__clang__)
/* As in generic.c: lets GCC vectorise the normal fill; changes no result. */
#pragma GCC optimize("no-trapping-math")
#endif
#include <immintrin.h>

#include "backends/cpu/kernel_loops.h"
#include "backends/cpu/omp_gemm.h"
#include "backends/cpu/x86_kernels.h"
#include "backends/cpu/x86_pack.h"

enum { MR = 14, NR = 32 };

static void pack_b_avx512(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                          float *restrict dst) {
    x86_pack_b(g, p0, kc, j0, nr, NR, dst);
}

#define ROW_FMA(i)                                                                                 \
    do {                                                                                           \
        __m512 ai = _mm512_set1_ps(a[i]);                                                          \
        c##i##0 = _mm512_fmadd_ps(ai, b0, c##i##0);                                                \
        c##i##1 = _mm512_fmadd_ps(ai, b1, c##i##1);                                                \
    } while (0)

static void ukernel_avx512(int64_t kc, const float *restrict a, const float *restrict b,
                           float *restrict c, int64_t ldc, int mr, int nr, float alpha,
                           float beta) {
    __m512 c00 = _mm512_setzero_ps(), c01 = _mm512_setzero_ps();
    __m512 c10 = _mm512_setzero_ps(), c11 = _mm512_setzero_ps();
    __m512 c20 = _mm512_setzero_ps(), c21 = _mm512_setzero_ps();
    __m512 c30 = _mm512_setzero_ps(), c31 = _mm512_setzero_ps();
    __m512 c40 = _mm512_setzero_ps(), c41 = _mm512_setzero_ps();
    __m512 c50 = _mm512_setzero_ps(), c51 = _mm512_setzero_ps();
    __m512 c60 = _mm512_setzero_ps(), c61 = _mm512_setzero_ps();
    __m512 c70 = _mm512_setzero_ps(), c71 = _mm512_setzero_ps();
    __m512 c80 = _mm512_setzero_ps(), c81 = _mm512_setzero_ps();
    __m512 c90 = _mm512_setzero_ps(), c91 = _mm512_setzero_ps();
    __m512 c100 = _mm512_setzero_ps(), c101 = _mm512_setzero_ps();
    __m512 c110 = _mm512_setzero_ps(), c111 = _mm512_setzero_ps();
    __m512 c120 = _mm512_setzero_ps(), c121 = _mm512_setzero_ps();
    __m512 c130 = _mm512_setzero_ps(), c131 = _mm512_setzero_ps();
    for (int i = 0; i < mr; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
        ROW_FMA(0);
        ROW_FMA(1);
        ROW_FMA(2);
        ROW_FMA(3);
        ROW_FMA(4);
        ROW_FMA(5);
        ROW_FMA(6);
        ROW_FMA(7);
        ROW_FMA(8);
        ROW_FMA(9);
        ROW_FMA(10);
        ROW_FMA(11);
        ROW_FMA(12);
        ROW_FMA(13);
        a += MR;
        b += NR;
    }
    __m512 acc[MR][2] = {{c00, c01},   {c10, c11},   {c20, c21},   {c30, c31},   {c40, c41},
                         {c50, c51},   {c60, c61},   {c70, c71},   {c80, c81},   {c90, c91},
                         {c100, c101}, {c110, c111}, {c120, c121}, {c130, c131}};
    if (mr == MR && nr == NR) {
        __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
        for (int i = 0; i < MR; i++)
            for (int h = 0; h < 2; h++) {
                float *ci = c + i * ldc + 16 * h;
                __m512 t = _mm512_mul_ps(va, acc[i][h]);
                if (beta != 0.0f) t = _mm512_add_ps(t, _mm512_mul_ps(vb, _mm512_loadu_ps(ci)));
                _mm512_storeu_ps(ci, t);
            }
    } else {
        float ab[MR * NR];
        for (int i = 0; i < MR; i++) {
            _mm512_storeu_ps(ab + i * NR, acc[i][0]);
            _mm512_storeu_ps(ab + i * NR + 16, acc[i][1]);
        }
        uae_gemm_tile_update(ab, NR, c, ldc, mr, nr, alpha, beta);
    }
}

#ifndef UAE_AVX512_KC
#define UAE_AVX512_KC 256
#endif
#ifndef UAE_AVX512_MC
#define UAE_AVX512_MC 168
#endif

/* Blocks: a B sliver is KC*NR*4 bytes, an A block MC*KC*4 (in L2: 1 MiB per core on Zen 4,
 * 1-2 MiB on Intel server cores), a B block KC*NC*4 (in L3). */
const uae_cpu_kernels uae_cpu_kernels_avx512 = {
    .isa = UAE_CPU_ISA_AVX512,
    .mr = MR, .nr = NR, .kc = UAE_AVX512_KC, .mc = UAE_AVX512_MC, .nc = 4096,
    .gemm_ukernel = ukernel_avx512,
    .gemm_pack_b = pack_b_avx512,
    .conv_correlate = uae_conv_correlate_avx2,
    .conv_dots = uae_conv_dots_avx2,
    .rng_normal = loops_rng_normal,
    .optim = loops_optim,
    .attack = loops_attack,
};
