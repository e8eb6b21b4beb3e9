/* backends/cpu/x86_avx512.c — the kernel table of the AVX-512 path (built with
 * -mavx512f -mavx512bw -mavx512vl -mavx512dq -mavx2 -mfma by meson; chosen by cpu_ctx.c only where
 * cpuid says the processor has AVX-512 F/BW/VL/DQ and xgetbv says the OS saves the zmm and mask
 * registers).
 *
 * The GEMM micro-kernel is 8 x 32: 16 zmm accumulators, 2 for a row of B, 1 for an A broadcast.
 * Per k step it loads 2 vectors and 8 broadcasts for 16 FMAs, against 8 loads for 12 FMAs in the
 * AVX2 6 x 16 kernel. 8 rows, not 14 (28 accumulators): the MINE's products have 16 rows, which a
 * 14-row kernel covers with 14 + 2, leaving 43 % of the second tile idle (measured on Zen 4, 1
 * thread: 8 x 32 ran the MINE's forward and dx products 27 % faster and square products no
 * slower). On Zen 4 a 512-bit FMA occupies both 256-bit FMA pipes (the same peak FLOPs as AVX2),
 * so the gain there is the lighter load and front-end traffic; on Intel server cores with two
 * 512-bit FMA ports the peak doubles. The elementwise loops are
 * kernel_loops.h's, 16 lanes wide, with the reference's bits. */
#if defined(__GNUC__) && !defined(__clang__)
/* As in generic.c: lets GCC vectorise the normal fill; changes no result. */
#pragma GCC optimize("no-trapping-math")
#endif
#include <immintrin.h>

#include "backends/cpu/kernel_loops.h"
#include "backends/cpu/omp_gemm.h"
#include "backends/cpu/x86_pack.h"

enum { MR = 8, NR = 32 };

static void pack_b_avx512(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                          float *restrict dst) {
    x86_pack_b(g, p0, kc, j0, nr, NR, dst);
}

/* stream: full tiles with beta == 0 go to memory with non-temporal stores when C's rows are
 * 64-byte aligned (gemm_ukernel_stream in cpu_ctx.h); the same values either way. */
static inline __attribute__((always_inline)) void
ukernel_body(int64_t kc, const float *restrict a, const float *restrict b, int64_t ldb,
             float *restrict c, int64_t ldc, int mr, int nr, float alpha, float beta, bool stream) {
    /* Arrays indexed by constants only (every loop over them is unrolled): GCC keeps them in
     * registers. */
    __m512 c0[MR], c1[MR];
#pragma GCC unroll 16
    for (int i = 0; i < MR; i++) c0[i] = c1[i] = _mm512_setzero_ps();
    stream = stream && beta == 0.0f && mr == MR && nr == NR &&
             (((uintptr_t)c | (uintptr_t)ldc * sizeof(float)) & 63) == 0;
    if (!stream)
        for (int i = 0; i < mr; i++) _mm_prefetch((const char *)(c + i * ldc), _MM_HINT_T0);
#pragma GCC unroll 2
    for (int64_t p = 0; p < kc; p++) {
        __m512 b0 = _mm512_loadu_ps(b), b1 = _mm512_loadu_ps(b + 16);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            __m512 ai = _mm512_set1_ps(a[i]);
            c0[i] = _mm512_fmadd_ps(ai, b0, c0[i]);
            c1[i] = _mm512_fmadd_ps(ai, b1, c1[i]);
        }
        a += MR;
        b += ldb;
    }
    if (stream) {
        __m512 va = _mm512_set1_ps(alpha);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            _mm512_stream_ps(c + i * ldc, _mm512_mul_ps(va, c0[i]));
            _mm512_stream_ps(c + i * ldc + 16, _mm512_mul_ps(va, c1[i]));
        }
    } else if (mr == MR && nr == NR) {
        __m512 va = _mm512_set1_ps(alpha), vb = _mm512_set1_ps(beta);
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            float *ci = c + i * ldc;
            __m512 t0 = _mm512_mul_ps(va, c0[i]), t1 = _mm512_mul_ps(va, c1[i]);
            if (beta != 0.0f) {
                t0 = _mm512_add_ps(t0, _mm512_mul_ps(vb, _mm512_loadu_ps(ci)));
                t1 = _mm512_add_ps(t1, _mm512_mul_ps(vb, _mm512_loadu_ps(ci + 16)));
            }
            _mm512_storeu_ps(ci, t0);
            _mm512_storeu_ps(ci + 16, t1);
        }
    } else {
        float ab[MR * NR];
#pragma GCC unroll 16
        for (int i = 0; i < MR; i++) {
            _mm512_storeu_ps(ab + i * NR, c0[i]);
            _mm512_storeu_ps(ab + i * NR + 16, c1[i]);
        }
        uae_gemm_tile_update(ab, NR, c, ldc, mr, nr, alpha, beta);
    }
}

static void ukernel_avx512(int64_t kc, const float *restrict a, const float *restrict b,
                           int64_t ldb, float *restrict c, int64_t ldc, int mr, int nr, float alpha,
                           float beta) {
    ukernel_body(kc, a, b, ldb, c, ldc, mr, nr, alpha, beta, false);
}

static void ukernel_stream_avx512(int64_t kc, const float *restrict a, const float *restrict b,
                                  int64_t ldb, float *restrict c, int64_t ldc, int mr, int nr,
                                  float alpha, float beta) {
    ukernel_body(kc, a, b, ldb, c, ldc, mr, nr, alpha, beta, true);
}

/* Dot-product GEMM (cpu_ctx.h, gemm_dot): tiles of 4 rows of A x 4 rows of B, 16 zmm
 * accumulators of 16 lanes along k (the tail masked), each reduced at the end in a fixed order.
 * Per 16 k steps it loads 8 vectors for 16 FMAs, and it reads B (the MINE's 24 MB of weights) once,
 * in place, where the packed path transposes it into a buffer first. Edge tiles repeat the last
 * row of A or B and drop the repeats. */
static float hsum16(__m512 v) {
    __m256 h = _mm256_add_ps(_mm512_castps512_ps256(v), _mm512_extractf32x8_ps(v, 1));
    __m128 q = _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1));
    q = _mm_add_ps(q, _mm_movehl_ps(q, q));
    q = _mm_add_ss(q, _mm_movehdup_ps(q));
    return _mm_cvtss_f32(q);
}

static void gemm_dot_avx512(const uae_sgemm_args *g) {
    enum { TM = 4, TN = 4 };
    const int64_t K = g->k, k16 = K / 16 * 16;
    const __mmask16 tail = (__mmask16)((1u << (K - k16)) - 1u);
    for (int64_t j0 = 0; j0 < g->n; j0 += TN)
        for (int64_t i0 = 0; i0 < g->m; i0 += TM) {
            const float *a[TM], *b[TN];
            for (int t = 0; t < TM; t++) a[t] = g->a + (i0 + t < g->m ? i0 + t : g->m - 1) * g->lda;
            for (int t = 0; t < TN; t++) b[t] = g->b + (j0 + t < g->n ? j0 + t : g->n - 1) * g->ldb;
            __m512 acc[TM][TN];
#pragma GCC unroll 4
            for (int r = 0; r < TM; r++)
#pragma GCC unroll 4
                for (int q = 0; q < TN; q++) acc[r][q] = _mm512_setzero_ps();
            for (int64_t p = 0; p <= K - 16; p += 16) {
                __m512 va[TM], vb[TN];
#pragma GCC unroll 4
                for (int r = 0; r < TM; r++) va[r] = _mm512_loadu_ps(a[r] + p);
#pragma GCC unroll 4
                for (int q = 0; q < TN; q++) vb[q] = _mm512_loadu_ps(b[q] + p);
#pragma GCC unroll 4
                for (int r = 0; r < TM; r++)
#pragma GCC unroll 4
                    for (int q = 0; q < TN; q++) acc[r][q] = _mm512_fmadd_ps(va[r], vb[q], acc[r][q]);
            }
            if (tail) {
                __m512 va[TM], vb[TN];
#pragma GCC unroll 4
                for (int r = 0; r < TM; r++) va[r] = _mm512_maskz_loadu_ps(tail, a[r] + k16);
#pragma GCC unroll 4
                for (int q = 0; q < TN; q++) vb[q] = _mm512_maskz_loadu_ps(tail, b[q] + k16);
#pragma GCC unroll 4
                for (int r = 0; r < TM; r++)
#pragma GCC unroll 4
                    for (int q = 0; q < TN; q++) acc[r][q] = _mm512_fmadd_ps(va[r], vb[q], acc[r][q]);
            }
            for (int r = 0; r < TM && i0 + r < g->m; r++)
                for (int q = 0; q < TN && j0 + q < g->n; q++) {
                    float *c = g->c + (i0 + r) * g->ldc + j0 + q;
                    float t = g->alpha * hsum16(acc[r][q]);
                    *c = g->beta == 0.0f ? t : t + g->beta * *c;
                }
        }
}

/* The direct convolution (omp_spatial.c; plain C definitions in generic.c). Each output is one
 * FMA chain over the taps in order, as the AVX2 loop's (the same bits); a tile computes KB output
 * channels x a chunk of 64 flat outputs (4 zmm each) together, so that every load of the input
 * feeds KB multiply-adds: 4 loads and 4 weight broadcasts per 16 FMAs for KB = 4, where one
 * channel at a time needed 4 loads and a broadcast per 4 FMAs (the loads, half of them split
 * across cache lines, were the bound). */
static inline __attribute__((always_inline)) void
correlate_tile_avx512(int kb, const float *xp, int64_t wp, const float *wt, int64_t ntaps,
                      const int64_t *off, const float *bias, float beta, float *y, int64_t P,
                      int64_t Q) {
    _Static_assert(UAE_DIRECT_CHUNK == 64, "the AVX-512 loop keeps 4 vectors of 16 outputs");
    enum { KB_MAX = 4 };
    int64_t len = (P - 1) * wp + Q;
    for (int64_t o0 = 0; o0 < len; o0 += UAE_DIRECT_CHUNK) {
        /* Indexed by constants only once unrolled: GCC keeps them in registers. */
        __m512 a[KB_MAX][4];
#pragma GCC unroll 4
        for (int i = 0; i < kb; i++)
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) a[i][j] = _mm512_setzero_ps();
        for (int64_t t = 0; t < ntaps; t++) {
            const float *src = xp + off[t] + o0;
            __m512 v0 = _mm512_loadu_ps(src + 0), v1 = _mm512_loadu_ps(src + 16);
            __m512 v2 = _mm512_loadu_ps(src + 32), v3 = _mm512_loadu_ps(src + 48);
#pragma GCC unroll 4
            for (int i = 0; i < kb; i++) {
                __m512 wv = _mm512_set1_ps(wt[i * ntaps + t]);
                a[i][0] = _mm512_fmadd_ps(wv, v0, a[i][0]);
                a[i][1] = _mm512_fmadd_ps(wv, v1, a[i][1]);
                a[i][2] = _mm512_fmadd_ps(wv, v2, a[i][2]);
                a[i][3] = _mm512_fmadd_ps(wv, v3, a[i][3]);
            }
        }
#pragma GCC unroll 4
        for (int i = 0; i < kb; i++) {
            float acc[UAE_DIRECT_CHUNK];
#pragma GCC unroll 4
            for (int j = 0; j < 4; j++) _mm512_storeu_ps(acc + 16 * j, a[i][j]);
            uae_direct_store_chunk(acc, o0, len, wp, Q, bias ? bias + i : NULL, beta,
                                   y + i * P * Q);
        }
    }
}

static void conv_correlate_avx512(const float *xp, int64_t wp, int64_t nout, const float *wt,
                                int64_t ntaps, const int64_t *off, const float *bias, float beta,
                                float *y, int64_t P, int64_t Q) {
    loops_correlate_tiles(correlate_tile_avx512, 4, xp, wp, nout, wt, ntaps, off, bias, beta, y, P, Q);
}

/* out[i][t] (+)= dot(d[i], xp + off[t]) over len (a multiple of 32): two chains of 16 lanes per
 * output, added and reduced in a fixed order. A tile computes KB rows of d x TB taps together
 * (2 * KB * TB accumulators), so each load of d or of the input feeds several dots: 14 loads per
 * 24 FMAs for 4 x 3, where one dot at a time needed 2 loads per FMA, and the chains of one dot
 * (len / 32 = 8 FMAs each on a 14 x 14 map) were too short to hide the FMA latency. */
static inline __attribute__((always_inline)) void
dots_tile_avx512(int kb, int tb, const float *d, int64_t len, const float *xp, const int64_t *off,
                 int64_t ntaps, bool accumulate, float *out) {
    enum { KB_MAX = 4, TB_MAX = 8 };
    const float *x[TB_MAX];
    __m512 a0[KB_MAX][TB_MAX], a1[KB_MAX][TB_MAX];
#pragma GCC unroll 8
    for (int t = 0; t < tb; t++) x[t] = xp + off[t];
#pragma GCC unroll 4
    for (int i = 0; i < kb; i++)
#pragma GCC unroll 8
        for (int t = 0; t < tb; t++) a0[i][t] = a1[i][t] = _mm512_setzero_ps();
    for (int64_t o = 0; o < len; o += 32) {
        __m512 x0[TB_MAX], x1[TB_MAX];
#pragma GCC unroll 8
        for (int t = 0; t < tb; t++) {
            x0[t] = _mm512_loadu_ps(x[t] + o);
            x1[t] = _mm512_loadu_ps(x[t] + o + 16);
        }
#pragma GCC unroll 4
        for (int i = 0; i < kb; i++) {
            __m512 d0 = _mm512_loadu_ps(d + i * len + o), d1 = _mm512_loadu_ps(d + i * len + o + 16);
#pragma GCC unroll 8
            for (int t = 0; t < tb; t++) {
                a0[i][t] = _mm512_fmadd_ps(d0, x0[t], a0[i][t]);
                a1[i][t] = _mm512_fmadd_ps(d1, x1[t], a1[i][t]);
            }
        }
    }
#pragma GCC unroll 4
    for (int i = 0; i < kb; i++)
#pragma GCC unroll 8
        for (int t = 0; t < tb; t++) {
            float sum = hsum16(_mm512_add_ps(a0[i][t], a1[i][t]));
            float *o = out + i * ntaps + t;
            *o = accumulate ? *o + sum : sum;
        }
}

/* Rows [0, kb) of d against all taps, tb taps at a time. */
static inline __attribute__((always_inline)) void
dots_rows_avx512(int kb, int tb, const float *d, int64_t len, const float *xp, const int64_t *off,
                 int64_t ntaps, bool accumulate, float *out) {
    int64_t t = 0;
    for (; t + tb <= ntaps; t += tb)
        dots_tile_avx512(kb, tb, d, len, xp, off + t, ntaps, accumulate, out + t);
    for (; t < ntaps; t++) dots_tile_avx512(kb, 1, d, len, xp, off + t, ntaps, accumulate, out + t);
}

static void conv_dots_avx512(const float *d, int64_t nd, int64_t len, const float *xp,
                             const int64_t *off, int64_t ntaps, bool accumulate, float *out) {
    int64_t i = 0;
    for (; i + 4 <= nd; i += 4)
        dots_rows_avx512(4, 3, d + i * len, len, xp, off, ntaps, accumulate, out + i * ntaps);
    for (; i < nd; i++)
        dots_rows_avx512(1, 8, d + i * len, len, xp, off, ntaps, accumulate, out + i * ntaps);
}

/* Blocks: a B sliver is KC*NR*4 = 32 KiB, an A block MC*KC*4 = 168 KiB (in L2: 1 MiB per core on
 * Zen 4, 1-2 MiB on Intel server cores), a B block KC*NC*4 = 4 MiB (in L3). NC = 1024 measured no
 * faster on Zen 4. */
const uae_cpu_kernels uae_cpu_kernels_avx512 = {
    .isa = UAE_CPU_ISA_AVX512,
    .mr = MR, .nr = NR, .kc = 256, .mc = 168, .nc = 4096,
    .gemm_ukernel = ukernel_avx512,
    .gemm_ukernel_stream = ukernel_stream_avx512,
    .gemm_dot = gemm_dot_avx512,
    .gemm_pack_b = pack_b_avx512,
    .conv_direct_max_k = 16,
    .conv_correlate = conv_correlate_avx512,
    .conv_dots = conv_dots_avx512,
    .rng_normal = loops_rng_normal,
    .optim = loops_optim,
    .attack = loops_attack,
};
