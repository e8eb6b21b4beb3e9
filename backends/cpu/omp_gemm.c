/* backends/cpu/omp_gemm.c — the OpenMP GEMM of the CPU backend: a cache-blocked, packed product in
 * the GotoBLAS/BLIS structure, with an AVX2+FMA 6x16 register-blocked micro-kernel chosen at run
 * time and a plain C micro-kernel elsewhere. Not a general BLAS: float32, row-major, no complex
 * types. The reference it is tested against is uae_gemm_ref (ref_spatial.c).
 *
 * The loops, from outside in (as in BLIS):
 *   jc: columns of C in blocks of NC      B block (KC x NC) is packed, lives in L3
 *   pc: the sum over k in blocks of KC    (fixed order: this is the only order of the k sum)
 *   ic: rows of C in blocks of MC         A block (MC x KC) is packed, lives in L2
 *   jr: NR-wide column slivers            B sliver (KC x NR) stays in L1 while ...
 *   ir: MR-tall row slivers               ... the micro-kernel walks A slivers down the block
 * The micro-kernel keeps an MR x NR tile of C in registers (12 ymm accumulators) and adds one
 * rank-1 update per k. Packing lays A out as MR-row slivers (k-major) and B as NR-column slivers,
 * zero-padded at the edges, so that the kernel reads both with unit stride.
 *
 * Threads split C into bands of whole micro-tiles, each computed like a product of its own: every
 * element of C is computed by exactly one thread, by the same sequence of micro-kernel calls
 * (the k blocks start at 0 in every band), so results are bit-identical for any thread count.
 *
 * Scratch (the packed panels) is allocated per call, never kept in globals: one allocation per
 * op, a few microseconds next to a product worth threading; a batch or a convolution allocates
 * once per thread and reuses it for all of its products. */
#include "backends/cpu/omp_gemm.h"

#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_ops.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if defined(__GNUC__) && (defined(__x86_64__) || defined(__i386__))
#include <immintrin.h>
#define UAE_GEMM_X86 1
#else
#define UAE_GEMM_X86 0
#endif

/* Register block and cache blocks, tuned for Zen 3 (32 KiB L1d, 512 KiB L2 per core) as in BLIS's
 * zen3 configuration: a B sliver is KC*NR*4 = 16 KiB (half of L1), an A block MC*KC*4 = 144 KiB
 * (under a third of L2), a B block KC*NC*4 = 4 MiB (in the shared L3). MC is a multiple of MR and
 * NC of NR. */
enum { MR = 6, NR = 16, KC = 256, MC = 144, NC = 4080 };

/* Each thread gets at least this many multiply-adds (10-20 microseconds of work), else fewer
 * threads are used: a parallel region costs a few microseconds on idle cores, and much more when
 * the cores are busy with other work, since it waits for its slowest thread. OpenBLAS uses the
 * same threshold. */
#define PARALLEL_MIN_FMAS (1 << 18)

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* ---- Packing --------------------------------------------------------------------------------- */

/* Packs rows [i0, i0 + mr) and k-range [p0, p0 + kc) of op(A) as one MR-row sliver:
 * dst[p*MR + i] = op(A)[i0 + i][p0 + p], rows past mr zero. */
static void pack_a_sliver(const uae_sgemm_args *g, int64_t i0, int mr, int64_t p0, int64_t kc,
                          float *restrict dst) {
    if (g->trans_a) { /* op(A)[i][p] = a[p*lda + i]: MR consecutive floats per p */
        for (int64_t p = 0; p < kc; p++) {
            const float *src = g->a + (p0 + p) * g->lda + i0;
            for (int i = 0; i < mr; i++) dst[p * MR + i] = src[i];
            for (int i = mr; i < MR; i++) dst[p * MR + i] = 0.0f;
        }
    } else { /* op(A)[i][p] = a[i*lda + p]: one row of A per sliver row */
        for (int i = 0; i < mr; i++) {
            const float *src = g->a + (i0 + i) * g->lda + p0;
            for (int64_t p = 0; p < kc; p++) dst[p * MR + i] = src[p];
        }
        for (int i = mr; i < MR; i++)
            for (int64_t p = 0; p < kc; p++) dst[p * MR + i] = 0.0f;
    }
}

/* Packs k-range [p0, p0 + kc) and columns [j0, j0 + nr) of op(B) as one NR-column sliver:
 * dst[p*NR + j] = op(B)[p0 + p][j0 + j], columns past nr zero. */
static void pack_b_sliver(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                          float *restrict dst) {
    if (g->trans_b) { /* op(B)[p][j] = b[j*ldb + p]: one row of B per sliver column */
        for (int j = 0; j < nr; j++) {
            const float *src = g->b + (j0 + j) * g->ldb + p0;
            for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = src[p];
        }
        for (int j = nr; j < NR; j++)
            for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = 0.0f;
    } else if (nr == NR) { /* op(B)[p][j] = b[p*ldb + j]: NR consecutive floats per p */
        for (int64_t p = 0; p < kc; p++) {
            const float *src = g->b + (p0 + p) * g->ldb + j0;
            for (int j = 0; j < NR; j++) dst[p * NR + j] = src[j];
        }
    } else {
        for (int64_t p = 0; p < kc; p++) {
            const float *src = g->b + (p0 + p) * g->ldb + j0;
            for (int j = 0; j < nr; j++) dst[p * NR + j] = src[j];
            for (int j = nr; j < NR; j++) dst[p * NR + j] = 0.0f;
        }
    }
}

typedef void (*pack_b_fn)(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                          float *restrict dst);

#if UAE_GEMM_X86
/* pack_b_sliver for a transposed B with AVX: the sliver is the transpose of an NR x kc block of B,
 * done as 8x8 transposes in registers so that both reads and writes are whole vectors. (The
 * scalar loop writes one float per 64-byte row of the sliver, which makes packing as slow as the
 * product itself when m is small.) Partial slivers and the last kc % 8 steps use scalar loops. */
__attribute__((target("avx2"))) static void
pack_b_sliver_avx2(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                   float *restrict dst) {
    if (!g->trans_b || nr != NR) {
        pack_b_sliver(g, p0, kc, j0, nr, dst);
        return;
    }
    int64_t k8 = kc / 8 * 8;
    for (int half = 0; half < 2; half++) {
        const float *src = g->b + (j0 + 8 * half) * g->ldb + p0;
        int64_t ld = g->ldb;
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
            float *d = dst + p * NR + 8 * half;
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
            for (int64_t p = k8; p < kc; p++) dst[p * NR + 8 * half + j] = src[j * ld + p];
    }
}
#endif

/* ---- Micro-kernels --------------------------------------------------------------------------- */

/* C[0:mr, 0:nr] = alpha * (A sliver @ B sliver) + beta * C over kc steps; with beta == 0, C is not
 * read. Both kernels finish with the same scalar-equivalent update t = alpha*ab; t = t + beta*c
 * (separately rounded), so edge tiles and full tiles agree. */
typedef void (*ukernel_fn)(int64_t kc, const float *restrict a, const float *restrict b,
                           float *restrict c, int64_t ldc, int mr, int nr, float alpha, float beta);

/* Writes an MR x NR tile of products ab into C, partial tiles included. */
static void tile_update(const float *ab, float *c, int64_t ldc, int mr, int nr, float alpha,
                        float beta) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float t = alpha * ab[i * NR + j];
            c[i * ldc + j] = beta == 0.0f ? t : t + beta * c[i * ldc + j];
        }
}

/* Plain C: the fallback on processors without AVX2/FMA, and the definition of the kernel's job. */
static void ukernel_c(int64_t kc, const float *restrict a, const float *restrict b,
                      float *restrict c, int64_t ldc, int mr, int nr, float alpha, float beta) {
    float ab[MR * NR] = {0};
    for (int64_t p = 0; p < kc; p++)
        for (int i = 0; i < MR; i++)
            for (int j = 0; j < NR; j++) ab[i * NR + j] += a[p * MR + i] * b[p * NR + j];
    tile_update(ab, c, ldc, mr, nr, alpha, beta);
}

#if UAE_GEMM_X86
/* AVX2 + FMA: 6 rows x 2 vectors of 8 = 12 accumulators, 2 registers for B, 1 for A broadcasts.
 * Zen 3 has two FMA pipes of latency 4, so 12 independent chains keep both busy. */
__attribute__((target("avx2,fma"))) static void
ukernel_avx2(int64_t kc, const float *restrict a, const float *restrict b, float *restrict c,
             int64_t ldc, int mr, int nr, float alpha, float beta) {
    __m256 c00 = _mm256_setzero_ps(), c01 = _mm256_setzero_ps();
    __m256 c10 = _mm256_setzero_ps(), c11 = _mm256_setzero_ps();
    __m256 c20 = _mm256_setzero_ps(), c21 = _mm256_setzero_ps();
    __m256 c30 = _mm256_setzero_ps(), c31 = _mm256_setzero_ps();
    __m256 c40 = _mm256_setzero_ps(), c41 = _mm256_setzero_ps();
    __m256 c50 = _mm256_setzero_ps(), c51 = _mm256_setzero_ps();
    /* Start fetching the C tile now; it is needed only after the loop. */
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
        b += NR;
    }
    __m256 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31}, {c40, c41}, {c50, c51}};
    if (mr == MR && nr == NR) {
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
        tile_update(ab, c, ldc, mr, nr, alpha, beta);
    }
}
#endif

/* The kernels one product uses: the best this processor runs. */
typedef struct gemm_kernels {
    ukernel_fn ukernel;
    pack_b_fn pack_b;
} gemm_kernels;

bool uae_cpu_use_avx2(void) {
#if UAE_GEMM_X86
    const char *nosimd = getenv("UAE_CPU_NOSIMD");
    if (nosimd && *nosimd && strcmp(nosimd, "0") != 0) return false;
    __builtin_cpu_init();
    return __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma");
#else
    return false;
#endif
}

/* Decided per call (a few instructions), so that the library keeps no mutable global state. */
static gemm_kernels pick_kernels(void) {
#if UAE_GEMM_X86
    if (uae_cpu_use_avx2()) return (gemm_kernels){ukernel_avx2, pack_b_sliver_avx2};
#endif
    return (gemm_kernels){ukernel_c, pack_b_sliver};
}

/* ---- The blocked loops ----------------------------------------------------------------------- */

size_t uae_sgemm_scratch_floats(int64_t m, int64_t n, int64_t k) {
    int64_t kc = min64(k, KC);
    return (size_t)(round_up(min64(m, MC), MR) * kc + kc * round_up(min64(n, NC), NR));
}

/* The whole product on the calling thread. pa holds round_up(min(m, MC), MR) * min(k, KC) floats,
 * pb min(k, KC) * round_up(min(n, NC), NR). */
static void gemm_blocked(const uae_sgemm_args *g, const gemm_kernels *kern, float *pa, float *pb) {
    for (int64_t jc = 0; jc < g->n; jc += NC) {
        int64_t nc = min64(NC, g->n - jc);
        for (int64_t pc = 0; pc < g->k; pc += KC) {
            int64_t kc = min64(KC, g->k - pc);
            /* After the first k block, the partial sums already in C are accumulated. */
            float beta = pc == 0 ? g->beta : 1.0f;
            for (int64_t jr = 0; jr * NR < nc; jr++) {
                int64_t j0 = jc + jr * NR;
                kern->pack_b(g, pc, kc, j0, (int)min64(NR, g->n - j0), pb + jr * kc * NR);
            }
            for (int64_t ic = 0; ic < g->m; ic += MC) {
                int64_t mc = min64(MC, g->m - ic);
                for (int64_t ir = 0; ir * MR < mc; ir++) {
                    int64_t i0 = ic + ir * MR;
                    pack_a_sliver(g, i0, (int)min64(MR, g->m - i0), pc, kc, pa + ir * kc * MR);
                }
                for (int64_t jr = 0; jr * NR < nc; jr++) {
                    int64_t j0 = jc + jr * NR;
                    int nr = (int)min64(NR, g->n - j0);
                    for (int64_t ir = 0; ir * MR < mc; ir++) {
                        int64_t i0 = ic + ir * MR;
                        int mr = (int)min64(MR, g->m - i0);
                        kern->ukernel(kc, pa + ir * kc * MR, pb + jr * kc * NR,
                                      g->c + i0 * g->ldc + j0, g->ldc, mr, nr, g->alpha, beta);
                    }
                }
            }
        }
    }
}

void uae_sgemm_serial(const uae_sgemm_args *g, float *scratch) {
    float *pa = scratch;
    float *pb = scratch + round_up(min64(g->m, MC), MR) * min64(g->k, KC);
    gemm_kernels kern = pick_kernels();
    gemm_blocked(g, &kern, pa, pb);
}

/* Threads worth using for one product: at least PARALLEL_MIN_FMAS multiply-adds each. */
static int useful_threads(const uae_sgemm_args *g, int threads) {
    double fmas = (double)g->m * (double)g->n * (double)g->k;
    int t = (int)(fmas / PARALLEL_MIN_FMAS);
    return t < 1 ? 1 : t < threads ? t : threads;
}

/* Band `part` of `parts` of C: whole micro-tiles along C's columns (by_cols) or rows, contiguous
 * and balanced. The band is an ordinary product of its own: rows of A and C, or columns of B and
 * C. */
static uae_sgemm_args band(const uae_sgemm_args *g, bool by_cols, int part, int parts) {
    uae_sgemm_args b = *g;
    int64_t tile = by_cols ? NR : MR, size = by_cols ? g->n : g->m;
    int64_t tiles = (size + tile - 1) / tile;
    int64_t lo = min64(tiles * part / parts * tile, size);
    int64_t hi = min64(tiles * (part + 1) / parts * tile, size);
    if (by_cols) {
        b.n = hi - lo;
        b.b += g->trans_b ? lo * g->ldb : lo;
        b.c += lo;
    } else {
        b.m = hi - lo;
        b.a += g->trans_a ? lo : lo * g->lda;
        b.c += lo * g->ldc;
    }
    return b;
}

/* Each thread computes one band of C with private packed panels, exactly as uae_sgemm_serial
 * would compute that band: no barriers and no shared buffers, so a descheduled thread delays only
 * its own band. Packing is duplicated: every band packs all of the operand it shares (A when
 * split by columns), which costs about threads / n of the work. */
uae_status uae_sgemm_parallel(const uae_sgemm_args *g, int threads) {
    int nthr = useful_threads(g, threads);
    /* Split the longer side, counted in micro-tiles, so that bands are as even as possible. */
    int64_t col_tiles = (g->n + NR - 1) / NR, row_tiles = (g->m + MR - 1) / MR;
    bool by_cols = col_tiles >= row_tiles;
    int64_t tiles = by_cols ? col_tiles : row_tiles;
    if (tiles < nthr) nthr = (int)tiles;
    size_t per_thread = (size_t)round_up((int64_t)uae_sgemm_scratch_floats(g->m, g->n, g->k), 16);
    size_t bytes = per_thread * (size_t)nthr * sizeof(float);
    float *scratch = aligned_alloc(64, bytes);
    if (!scratch) return uae_fail(UAE_ERR_NOMEM, "gemm_omp: cannot allocate %zu bytes", bytes);
    if (nthr == 1) {
        uae_sgemm_serial(g, scratch);
    } else {
        UAE_OMP(omp parallel for schedule(dynamic) num_threads(nthr))
        for (int part = 0; part < nthr; part++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            uae_sgemm_args b = band(g, by_cols, part, nthr);
            if (b.m > 0 && b.n > 0) uae_sgemm_serial(&b, scratch + (size_t)tid * per_thread);
        }
    }
    free(scratch);
    return UAE_OK;
}

/* ---- The op ---------------------------------------------------------------------------------- */

/* Batches run one per thread when there are at least as many as threads (many small products:
 * per-sample networks); otherwise one after another, each product using all threads. */
uae_status uae_gemm_omp(const uae_op *op) {
    const uae_gemm_params *p = &op->p.gemm;
    int64_t a_cols = p->trans_a ? p->m : p->k, a_rows = p->trans_a ? p->k : p->m;
    int64_t b_cols = p->trans_b ? p->k : p->n, b_rows = p->trans_b ? p->n : p->k;
    uae_sgemm_args g = {
        .trans_a = p->trans_a, .trans_b = p->trans_b, .m = p->m, .n = p->n, .k = p->k,
        .alpha = p->alpha, .a = uae_cpu_data(op->src[0]), .lda = p->lda ? p->lda : a_cols,
        .b = uae_cpu_data(op->src[1]), .ldb = p->ldb ? p->ldb : b_cols,
        .beta = p->beta, .c = uae_cpu_data(op->dst[0]), .ldc = p->ldc ? p->ldc : p->n,
    };
    int64_t sa = p->stride_a ? p->stride_a : a_rows * g.lda;
    int64_t sb = p->stride_b ? p->stride_b : b_rows * g.ldb;
    int64_t sc = p->stride_c ? p->stride_c : p->m * g.ldc;
    int threads = uae_cpu_threads();
    if (p->batch < threads || p->batch == 1) {
        for (int64_t b = 0; b < p->batch; b++) {
            uae_sgemm_args gb = g;
            gb.a += b * sa;
            gb.b += b * sb;
            gb.c += b * sc;
            UAE_TRY(uae_sgemm_parallel(&gb, threads));
        }
        return UAE_OK;
    }
    /* One scratch area per thread, 64-byte aligned, carved from one allocation. */
    size_t per_thread = (size_t)round_up((int64_t)uae_sgemm_scratch_floats(p->m, p->n, p->k), 16);
    size_t bytes = per_thread * (size_t)threads * sizeof(float);
    float *scratch = aligned_alloc(64, bytes);
    if (!scratch) return uae_fail(UAE_ERR_NOMEM, "gemm_omp: cannot allocate %zu bytes", bytes);
    /* Dynamic: which thread computes a product does not change its bits. */
    UAE_OMP(omp parallel for schedule(dynamic) num_threads(threads))
    for (int64_t b = 0; b < p->batch; b++) {
        int tid = 0;
#ifdef _OPENMP
        tid = omp_get_thread_num();
#endif
        uae_sgemm_args gb = g;
        gb.a += b * sa;
        gb.b += b * sb;
        gb.c += b * sc;
        uae_sgemm_serial(&gb, scratch + (size_t)tid * per_thread);
    }
    free(scratch);
    return UAE_OK;
}
