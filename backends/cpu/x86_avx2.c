/* backends/cpu/x86_avx2.c — the kernel table of the AVX2 + FMA path (built with -mavx2 -mfma by
 * meson; chosen by cpu_ctx.c only where cpuid and xgetbv say the processor and the OS support it).
 * The GEMM micro-kernel and the direct convolution use explicit FMAs (intrinsics): deterministic,
 * but rounded differently from the plain C kernels of generic.c. The elementwise loops are
 * kernel_loops.h's, 8 lanes wide, with the reference's bits. */
#if defined(__GNUC__) && !defined(__clang__)
/* As in generic.c: lets GCC vectorise the normal fill; changes no result. */
#pragma GCC optimize("no-trapping-math")
#endif
#include <immintrin.h>

#include "backends/cpu/kernel_loops.h"
#include "backends/cpu/omp_gemm.h"
#include "backends/cpu/x86_pack.h"

enum { MR = 6, NR = 16 };

static void pack_b_avx2(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                        float *restrict dst) {
    x86_pack_b(g, p0, kc, j0, nr, NR, dst);
}

/* 6 rows x 2 vectors of 8 = 12 accumulators, 2 registers for B, 1 for A broadcasts. Zen 3 has two
 * FMA pipes of latency 4, so 12 independent chains keep both busy. */
/* stream: full tiles with beta == 0 go to memory with non-temporal stores when C's rows are
 * 64-byte aligned (gemm_ukernel_stream in cpu_ctx.h); the same values either way. */
static inline __attribute__((always_inline)) void
ukernel_body(int64_t kc, const float *restrict a, const float *restrict b, int64_t ldb,
             float *restrict c, int64_t ldc, int mr, int nr, float alpha, float beta, bool stream) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    stream = stream && beta == 0.0f && mr == MR && nr == NR &&
             (((uintptr_t)c | (uintptr_t)ldc * sizeof(float)) & 63) == 0;
    /* Start fetching the C tile now; it is needed only after the loop. */
    if (!stream)
        for (int i = 0; i < mr; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 4
    for (int64_t p = 0; p < kc; p++) {
        __m256 b0 = _mm256_loadu_ps(b), b1 = _mm256_loadu_ps(b + 8);
        __m256 ai;
        ai = _mm256_broadcast_ss(a + 0);
        c00 = _mm256_fmadd_ps(ai, b0, c00);
        c01 = _mm256_fmadd_ps(ai, b1, c01);
        ai = _mm256_broadcast_ss(a + 1);
        c10 = _mm256_fmadd_ps(ai, b0, c10);
        c11 = _mm256_fmadd_ps(ai, b1, c11);
        ai = _mm256_broadcast_ss(a + 2);
        c20 = _mm256_fmadd_ps(ai, b0, c20);
        c21 = _mm256_fmadd_ps(ai, b1, c21);
        ai = _mm256_broadcast_ss(a + 3);
        c30 = _mm256_fmadd_ps(ai, b0, c30);
        c31 = _mm256_fmadd_ps(ai, b1, c31);
        ai = _mm256_broadcast_ss(a + 4);
        c40 = _mm256_fmadd_ps(ai, b0, c40);
        c41 = _mm256_fmadd_ps(ai, b1, c41);
        ai = _mm256_broadcast_ss(a + 5);
        c50 = _mm256_fmadd_ps(ai, b0, c50);
        c51 = _mm256_fmadd_ps(ai, b1, c51);
        a += MR;
        b += ldb;
    }
    __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (stream) {
        __m256 va = _mm256_set1_ps(alpha);
        for (int i = 0; i < MR; i++)
            for (int h = 0; h < 2; h++) _mm256_stream_ps(c + i * ldc + 8 * h, _mm256_mul_ps(va, acc[i][h]));
    } else if (mr == MR && nr == NR) {
        __m256 va = _mm256_set1_ps(alpha), vb = _mm256_set1_ps(beta);
        for (int i = 0; i < MR; i++)
            for (int h = 0; h < 2; h++) {
                float *ci = c + i * ldc + 8 * h;
                __m256 t = _mm256_mul_ps(va, acc[i][h]);
                if (beta != 0.0f) t = _mm256_add_ps(t, _mm256_mul_ps(vb, _mm256_loadu_ps(ci)));
                _mm256_storeu_ps(ci, t);
            }
    } else {
        float ab[MR * NR];
        for (int i = 0; i < MR; i++) {
            _mm256_storeu_ps(ab + i * NR, acc[i][0]);
            _mm256_storeu_ps(ab + i * NR + 8, acc[i][1]);
        }
        uae_gemm_tile_update(ab, NR, c, ldc, mr, nr, alpha, beta);
    }
}

static void ukernel_avx2(int64_t kc, const float *restrict a, const float *restrict b,
                         int64_t ldb, float *restrict c, int64_t ldc, int mr, int nr, float alpha, float beta) {
    ukernel_body(kc, a, b, ldb, c, ldc, mr, nr, alpha, beta, false);
}

static void ukernel_stream_avx2(int64_t kc, const float *restrict a, const float *restrict b,
                                int64_t ldb, float *restrict c, int64_t ldc, int mr, int nr,
                                float alpha, float beta) {
    ukernel_body(kc, a, b, ldb, c, ldc, mr, nr, alpha, beta, true);
}

/* Dot-product GEMM C = alpha A B^T + beta C (cpu_ctx.h, gemm_dot): tiles of 2 rows of A x 4
 * rows of B, 8 ymm accumulators of 8 lanes along k (the tail by a masked load), each reduced at
 * the end in a fixed order; B is read in place. As x86_avx512.c's, with 16 registers. */
static float hsum8(__m256 v) {
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

static void gemm_dot_avx2(const uae_sgemm_args *g) {
    enum { TM = 2, TN = 4 };
    const int64_t K = g->k, k8 = K / 8 * 8;
    int32_t lanes[8];
    for (int l = 0; l < 8; l++) lanes[l] = l < K - k8 ? -1 : 0;
    const __m256i tail = _mm256_loadu_si256((const __m256i *)lanes);
    for (int64_t j0 = 0; j0 < g->n; j0 += TN)
        for (int64_t i0 = 0; i0 < g->m; i0 += TM) {
            const float *a[TM], *b[TN];
            for (int t = 0; t < TM; t++) a[t] = g->a + (i0 + t < g->m ? i0 + t : g->m - 1) * g->lda;
            for (int t = 0; t < TN; t++) b[t] = g->b + (j0 + t < g->n ? j0 + t : g->n - 1) * g->ldb;
            __m256 acc[TM][TN];
#pragma GCC unroll 2
            for (int r = 0; r < TM; r++)
#pragma GCC unroll 4
                for (int q = 0; q < TN; q++) acc[r][q] = _mm256_setzero_ps();
            for (int64_t p = 0; p <= K - 8; p += 8) {
                __m256 va[TM], vb[TN];
#pragma GCC unroll 2
                for (int r = 0; r < TM; r++) va[r] = _mm256_loadu_ps(a[r] + p);
#pragma GCC unroll 4
                for (int q = 0; q < TN; q++) vb[q] = _mm256_loadu_ps(b[q] + p);
#pragma GCC unroll 2
                for (int r = 0; r < TM; r++)
#pragma GCC unroll 4
                    for (int q = 0; q < TN; q++) acc[r][q] = _mm256_fmadd_ps(va[r], vb[q], acc[r][q]);
            }
            if (K > k8) {
                __m256 va[TM], vb[TN];
#pragma GCC unroll 2
                for (int r = 0; r < TM; r++) va[r] = _mm256_maskload_ps(a[r] + k8, tail);
#pragma GCC unroll 4
                for (int q = 0; q < TN; q++) vb[q] = _mm256_maskload_ps(b[q] + k8, tail);
#pragma GCC unroll 2
                for (int r = 0; r < TM; r++)
#pragma GCC unroll 4
                    for (int q = 0; q < TN; q++) acc[r][q] = _mm256_fmadd_ps(va[r], vb[q], acc[r][q]);
            }
            for (int r = 0; r < TM && i0 + r < g->m; r++)
                for (int q = 0; q < TN && j0 + q < g->n; q++) {
                    float *c = g->c + (i0 + r) * g->ldc + j0 + q;
                    float t = g->alpha * hsum8(acc[r][q]);
                    *c = g->beta == 0.0f ? t : t + g->beta * *c;
                }
        }
}

/* The direct convolution (the plain C loops of generic.c; gcc does not keep their accumulators
 * in registers). Each output is one FMA chain over the taps in order. A tile computes KB (up to
 * 3) output channels x 32 flat outputs (4 ymm each: 12 accumulators of the 16 registers), so
 * every load of the input feeds KB multiply-adds; a chunk of 64 outputs is two such halves. One
 * channel alone (KB = 1) takes the whole chunk in one pass (8 accumulators). */
static inline __attribute__((always_inline)) void
correlate_tile_avx2(int kb, const float *xp, int64_t wp, const float *wt, int64_t ntaps,
                    const int64_t *off, const float *bias, float beta, float *y, int64_t P,
                    int64_t Q) {
    _Static_assert(UAE_DIRECT_CHUNK == 64, "the AVX2 loop computes chunks as 2 x 4 vectors of 8");
    enum { KB_MAX = 3 };
    const int nv = kb == 1 ? 8 : 4; /* vectors per pass */
    int64_t len = (P - 1) * wp + Q;
    for (int64_t o0 = 0; o0 < len; o0 += UAE_DIRECT_CHUNK) {
        float acc[KB_MAX][UAE_DIRECT_CHUNK];
        for (int h = 0; h < 8 / nv; h++) {
            /* Indexed by constants only once unrolled: GCC keeps them in registers. */
            __m256 a[KB_MAX][8];
#pragma GCC unroll 3
            for (int i = 0; i < kb; i++)
#pragma GCC unroll 8
                for (int j = 0; j < nv; j++) a[i][j] = _mm256_setzero_ps();
            for (int64_t t = 0; t < ntaps; t++) {
                const float *src = xp + off[t] + o0 + 8 * nv * h;
                __m256 w[KB_MAX];
#pragma GCC unroll 3
                for (int i = 0; i < kb; i++) w[i] = _mm256_broadcast_ss(wt + i * ntaps + t);
#pragma GCC unroll 8
                for (int j = 0; j < nv; j++) {
                    __m256 v = _mm256_loadu_ps(src + 8 * j);
#pragma GCC unroll 3
                    for (int i = 0; i < kb; i++) a[i][j] = _mm256_fmadd_ps(w[i], v, a[i][j]);
                }
            }
#pragma GCC unroll 3
            for (int i = 0; i < kb; i++)
#pragma GCC unroll 8
                for (int j = 0; j < nv; j++) _mm256_storeu_ps(acc[i] + 8 * nv * h + 8 * j, a[i][j]);
        }
#pragma GCC unroll 3
        for (int i = 0; i < kb; i++)
            uae_direct_store_chunk(acc[i], o0, len, wp, Q, bias ? bias + i : NULL, beta,
                                   y + i * P * Q);
    }
}

static void conv_correlate_avx2(const float *xp, int64_t wp, int64_t nout, const float *wt,
                                int64_t ntaps, const int64_t *off, const float *bias, float beta,
                                float *y, int64_t P, int64_t Q) {
    loops_correlate_tiles(correlate_tile_avx2, 3, xp, wp, nout, wt, ntaps, off, bias, beta, y, P, Q);
}

static void dots_row_avx2(const float *d, int64_t len, const float *xp, const int64_t *off,
                          int64_t ntaps, bool accumulate, float *out) {
    for (int64_t t = 0; t < ntaps; t++) {
        const float *x = xp + off[t];
        /* Four independent chains hide the latency of the multiply-adds. */
        __m256 a0 = _mm256_setzero_ps(), a1 = _mm256_setzero_ps();
        __m256 a2 = _mm256_setzero_ps(), a3 = _mm256_setzero_ps();
        for (int64_t o = 0; o < len; o += 32) {
            a0 = _mm256_fmadd_ps(_mm256_loadu_ps(d + o), _mm256_loadu_ps(x + o), a0);
            a1 = _mm256_fmadd_ps(_mm256_loadu_ps(d + o + 8), _mm256_loadu_ps(x + o + 8), a1);
            a2 = _mm256_fmadd_ps(_mm256_loadu_ps(d + o + 16), _mm256_loadu_ps(x + o + 16), a2);
            a3 = _mm256_fmadd_ps(_mm256_loadu_ps(d + o + 24), _mm256_loadu_ps(x + o + 24), a3);
        }
        float acc[8];
        _mm256_storeu_ps(acc, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
        float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                    ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        out[t] = accumulate ? out[t] + sum : sum;
    }
}

/* One row of d at a time: with 16 registers, four chains per dot leave no room for more rows. */
static void conv_dots_avx2(const float *d, int64_t nd, int64_t len, const float *xp,
                           const int64_t *off, int64_t ntaps, bool accumulate, float *out) {
    for (int64_t i = 0; i < nd; i++)
        dots_row_avx2(d + i * len, len, xp, off, ntaps, accumulate, out + i * ntaps);
}

/* Blocks as generic.c's (tuned for Zen 3; on Zen 4, with 1 MiB of L2, they stay in cache). */
const uae_cpu_kernels uae_cpu_kernels_avx2 = {
    .isa = UAE_CPU_ISA_AVX2,
    .mr = MR, .nr = NR, .kc = 256, .mc = 144, .nc = 4080,
    .gemm_ukernel = ukernel_avx2,
    .gemm_ukernel_stream = ukernel_stream_avx2,
    .gemm_dot = gemm_dot_avx2,
    .gemm_pack_b = pack_b_avx2,
    .conv_direct_max_k = 8,
    .conv_correlate = conv_correlate_avx2,
    .conv_dots = conv_dots_avx2,
    .rng_normal = loops_rng_normal,
    .optim = loops_optim,
    .attack = loops_attack,
};
