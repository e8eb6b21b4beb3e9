/* backends/cpu/omp_gemm.c — the OpenMP GEMM of the CPU backend: a cache-blocked, packed product in
 * the GotoBLAS/BLIS structure. The micro-kernel, the B packing and the block sizes come from the
 * context's kernel table (cpu_ctx.h): 4x8 plain C (generic.c), 6x16 AVX2+FMA (x86_avx2.c), 8x32
 * AVX-512 (x86_avx512.c); with few rows, a large row-major B is read in place, and A B^T may go to
 * the table's dot-product kernel (below). Not a general BLAS: float32, row-major, no complex
 * types. The reference it is tested against is uae_gemm_ref (ref_spatial.c).
 *
 * The loops, from outside in (as in BLIS):
 *   jc: columns of C in blocks of NC      B block (KC x NC) is packed, lives in L3
 *   pc: the sum over k in blocks of KC    (fixed order: this is the only order of the k sum)
 *   ic: rows of C in blocks of MC         A block (MC x KC) is packed, lives in L2
 *   jr: NR-wide column slivers            B sliver (KC x NR) stays in L1 while ...
 *   ir: MR-tall row slivers               ... the micro-kernel walks A slivers down the block
 * The micro-kernel keeps an MR x NR tile of C in registers and adds one
 * rank-1 update per k. Packing lays A out as MR-row slivers (k-major) and B as NR-column slivers,
 * zero-padded at the edges, so that the kernel reads both with unit stride.
 *
 * Threads split C into bands of whole micro-tiles, each computed like a product of its own: every
 * element of C is computed by exactly one thread, by the same sequence of micro-kernel calls
 * (the k blocks start at 0 in every band), so results are bit-identical for any thread count.
 *
 * Scratch (the packed panels) is the context's grow-only scratch: after the first op of a size,
 * no allocation and no page faults per op. */
#include "backends/cpu/omp_gemm.h"

#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_ctx.h"
#include "backends/cpu/cpu_ops.h"
#include "core/pointwise_math.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* Each thread gets at least this many multiply-adds (10-20 microseconds of work), else fewer
 * threads are used: a parallel region costs a few microseconds on idle cores, and much more when
 * the cores are busy with other work, since it waits for its slowest thread. OpenBLAS uses the
 * same threshold. */
#define PARALLEL_MIN_FMAS (1 << 18)

/* Products with at most this many micro-tile rows read a row-major B in place, unpacked, when B
 * is larger than a core's L2 (4 MiB: the MINE's 512 x 11664 weights). Smaller B are packed: in
 * cache, packing is cheap and the packed sliver reads faster. */
#define DIRECT_B_MAX_SLIVERS 4
#define DIRECT_B_MIN_FLOATS ((int64_t)1 << 20)

/* A product whose C has at least this many floats (16 MiB, half the L3 of the machines measured),
 * with beta == 0 and a single k block, writes C with the kernel table's streaming micro-kernel
 * (non-temporal stores): C is written once and cannot stay in cache, and ordinary stores would
 * first read each of its lines from memory. The MINE's dW = dy^T x (512 x 11664, k = 16). */
#define STREAM_C_MIN_FLOATS ((int64_t)1 << 22)

/* Products C = A B^T with at most this many rows and a long k go to the kernel table's dot-product
 * kernel when it has one (the MINE's forward x W^T: 16 x 11664 x 512). */
#define DOT_MAX_M 32
#define DOT_MIN_K 256

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }
static int64_t round_up(int64_t x, int64_t to) { return (x + to - 1) / to * to; }

/* Whether uae_sgemm_serial computes g with the dot-product kernel. */
static bool uses_dot(const uae_cpu_kernels *k, const uae_sgemm_args *g) {
    return k->gemm_dot && g->trans_b && !g->trans_a && g->m <= DOT_MAX_M && g->k >= DOT_MIN_K;
}

bool uae_sgemm_fuses(const uae_cpu_kernels *k, const uae_sgemm_args *g) {
    return g->beta == 0.0f && g->k <= k->kc && !uses_dot(k, g);
}

/* Moves C (and the states of a fused optimizer step, laid out like C) by off floats. */
static void shift_c(uae_sgemm_args *g, int64_t off) {
    g->c += off;
    if (g->s1) g->s1 += off;
    if (g->s2) g->s2 += off;
}

/* ---- Packing --------------------------------------------------------------------------------- */

/* Packs rows [i0, i0 + mr) and k-range [p0, p0 + kc) of op(A) as one MR-row sliver:
 * dst[p*MR + i] = op(A)[i0 + i][p0 + p], rows past mr zero. */
static void pack_a_sliver(const uae_sgemm_args *g, int64_t i0, int mr, int MR, int64_t p0,
                          int64_t kc, float *restrict dst) {
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

void uae_gemm_pack_b_c(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                       int NR, float *restrict dst) {
    if (g->trans_b) { /* op(B)[p][j] = b[j*ldb + p]: one row of B per sliver column */
        for (int j = 0; j < nr; j++) {
            const float *src = g->b + (j0 + j) * g->ldb + p0;
            for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = src[p];
        }
        for (int j = nr; j < NR; j++)
            for (int64_t p = 0; p < kc; p++) dst[p * NR + j] = 0.0f;
    } else { /* op(B)[p][j] = b[p*ldb + j]: NR consecutive floats per p */
        for (int64_t p = 0; p < kc; p++) {
            const float *src = g->b + (p0 + p) * g->ldb + j0;
            for (int j = 0; j < nr; j++) dst[p * NR + j] = src[j];
            for (int j = nr; j < NR; j++) dst[p * NR + j] = 0.0f;
        }
    }
}

void uae_gemm_tile_update(const float *ab, int NR, float *c, int64_t ldc, int mr, int nr,
                          float alpha, float beta) {
    for (int i = 0; i < mr; i++)
        for (int j = 0; j < nr; j++) {
            float t = alpha * ab[i * NR + j];
            c[i * ldc + j] = beta == 0.0f ? t : t + beta * c[i * ldc + j];
        }
}

/* ---- The blocked loops ----------------------------------------------------------------------- */

size_t uae_sgemm_scratch_floats(const uae_cpu_kernels *k, int64_t m, int64_t n, int64_t kk) {
    int64_t kc = min64(kk, k->kc);
    return (size_t)(round_up(min64(m, k->mc), k->mr) * kc + kc * round_up(min64(n, k->nc), k->nr));
}

/* Whether C is large enough to be streamed (STREAM_C_MIN_FLOATS), judged on the whole product. */
static bool streams_c(const uae_sgemm_args *g) {
    return g->beta == 0.0f && !g->optim && g->m * g->n >= STREAM_C_MIN_FLOATS;
}

/* Orders the non-temporal stores of a streamed product before the stores that follow (x86:
 * sfence; elsewhere no kernel streams). */
static void stream_fence(void) {
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_sfence();
#endif
}

/* Columns of C per block of the fused product (gemm_fused; a multiple of every NR): the MINE's
 * 11 664 fit in one, so that a sliver's rows of the parameters and states are one contiguous run
 * each. Measured on the Zen 4 (one thread, 2 x 512 x 11 664, k = 16, Adam, min of 30 runs;
 * unfused: GEMM 3.9 ms + optim 6.1 ms = 10.0 ms): tile by tile 13-18 ms; blocks of 2048, 4096,
 * 8192 columns with prefetch 12.5, 11.5, 10.9 ms; whole rows without prefetch 1.2x the unfused
 * time; whole rows with prefetch 9.9 ms. */
#define FUSED_NC 16384

/* Asks for rows i0 .. i0 + rows of the parameters and states at columns j0 .. j0 + cols (no
 * temporal locality: they are read once, by the step right after). */
static void prefetch_rows(const uae_sgemm_args *g, int64_t i0, int64_t rows, int64_t j0,
                          int64_t cols) {
    float *const arrays[3] = {g->c, g->s1, g->s2};
    for (int a = 0; a < 3; a++)
        for (int64_t i = 0; i < rows && arrays[a]; i++)
            for (int64_t j = 0; j < cols; j += 16)
                __builtin_prefetch(arrays[a] + (i0 + i) * g->ldc + j0 + j, 0, 0);
}

/* The width of gemm_fused's column blocks for n columns, and the row length of its band (not a
 * multiple of 4 KiB, so that a tile's rows fall into different L1 sets). */
static int64_t fused_nc(const uae_cpu_kernels *k, int64_t n) { return min64(FUSED_NC, round_up(n, k->nr)); }
static int64_t fused_ldband(const uae_cpu_kernels *k, int64_t n) { return fused_nc(k, n) + 16; }

/* The product with the optimizer step fused (g->optim; one k block), on the calling thread: C's
 * columns in blocks of FUSED_NC (op(B)'s block packed once), in each block every MR-row sliver
 * of op(A) in turn: its tiles (the unfused loop's micro-kernel calls on the same packed slivers,
 * beta = 0, so the same bits) into `band` (MR rows of the block, in cache), then the step over
 * those rows of the parameters and states. While a sliver is computed, the next sliver's
 * parameters and states are prefetched, so that memory works during the product.
 * Scratch: fused_scratch_floats. */
static void gemm_fused(const uae_sgemm_args *g, const uae_cpu_kernels *kern, float *scratch) {
    const int MR = kern->mr, NR = kern->nr;
    const int64_t kc = g->k, ncb = fused_nc(kern, g->n), ldband = fused_ldband(kern, g->n);
    float *pb = scratch, *pa = pb + kc * ncb, *band = pa + kc * MR;
    for (int64_t jc = 0; jc < g->n; jc += ncb) {
        int64_t nc = min64(ncb, g->n - jc);
        for (int64_t jr = 0; jr * NR < nc; jr++)
            kern->gemm_pack_b(g, 0, kc, jc + jr * NR, (int)min64(NR, nc - jr * NR),
                              pb + jr * kc * NR);
        for (int64_t i0 = 0; i0 < g->m; i0 += MR) {
            int mr = (int)min64(MR, g->m - i0);
            pack_a_sliver(g, i0, mr, MR, 0, kc, pa);
            int64_t next = min64(MR, g->m - i0 - MR); /* rows of the next sliver */
            for (int64_t jr = 0; jr * NR < nc; jr++) {
                int nr = (int)min64(NR, nc - jr * NR);
                kern->gemm_ukernel(kc, pa, pb + jr * kc * NR, NR, band + jr * NR, ldband, mr, nr,
                                   g->alpha, 0.0f);
                if (next > 0) prefetch_rows(g, i0 + MR, next, jc + jr * NR, nr);
            }
            int64_t at = i0 * g->ldc + jc;
            kern->optim(g->optim_fn, g->optim, mr, nc, band, ldband, g->c + at,
                        g->s1 ? g->s1 + at : NULL, g->s2 ? g->s2 + at : NULL, g->ldc);
        }
    }
}

/* Floats of scratch that gemm_fused needs for g: op(B)'s block, the band, one A sliver. */
static size_t fused_scratch_floats(const uae_cpu_kernels *k, const uae_sgemm_args *g) {
    return (size_t)(g->k * fused_nc(k, g->n) + k->mr * fused_ldband(k, g->n) + g->k * k->mr);
}

/* Floats of scratch per thread for g: gemm_fused's or the blocked product's. */
static size_t scratch_floats_of(const uae_cpu_kernels *k, const uae_sgemm_args *g) {
    return g->optim ? fused_scratch_floats(k, g) : uae_sgemm_scratch_floats(k, g->m, g->n, g->k);
}

/* The whole product on the calling thread. pa holds round_up(min(m, mc), mr) * min(k, kc) floats,
 * pb min(k, kc) * round_up(min(n, nc), nr). */
static void gemm_blocked(const uae_sgemm_args *g, const uae_cpu_kernels *kern, float *pa,
                         float *pb) {
    const int MR = kern->mr, NR = kern->nr;
    const int64_t KC = kern->kc, MC = kern->mc, NC = kern->nc;
    /* Few rows (the per-sample MINE products: 16): each B sliver would serve only a few A slivers,
     * so packing it would cost as much memory traffic as the product. A B stored row by row is
     * read in place instead (whole slivers; the last, partial one is packed). */
    const bool direct_b = !g->trans_b && g->m <= DIRECT_B_MAX_SLIVERS * MR &&
                          g->k * g->n >= DIRECT_B_MIN_FLOATS;
    const bool stream = g->stream_c && kern->gemm_ukernel_stream && g->beta == 0.0f && g->k <= KC;
    void (*ukernel)(int64_t, const float *restrict, const float *restrict, int64_t,
                    float *restrict, int64_t, int, int, float, float) =
        stream ? kern->gemm_ukernel_stream : kern->gemm_ukernel;
    for (int64_t jc = 0; jc < g->n; jc += NC) {
        int64_t nc = min64(NC, g->n - jc);
        for (int64_t pc = 0; pc < g->k; pc += KC) {
            int64_t kc = min64(KC, g->k - pc);
            /* After the first k block, the partial sums already in C are accumulated. */
            float beta = pc == 0 ? g->beta : 1.0f;
            for (int64_t jr = 0; jr * NR < nc; jr++) {
                int64_t j0 = jc + jr * NR;
                int nr = (int)min64(NR, g->n - j0);
                if (!(direct_b && nr == NR)) kern->gemm_pack_b(g, pc, kc, j0, nr, pb + jr * kc * NR);
            }
            for (int64_t ic = 0; ic < g->m; ic += MC) {
                int64_t mc = min64(MC, g->m - ic);
                for (int64_t ir = 0; ir * MR < mc; ir++) {
                    int64_t i0 = ic + ir * MR;
                    pack_a_sliver(g, i0, (int)min64(MR, g->m - i0), MR, pc, kc, pa + ir * kc * MR);
                }
                for (int64_t jr = 0; jr * NR < nc; jr++) {
                    int64_t j0 = jc + jr * NR;
                    int nr = (int)min64(NR, g->n - j0);
                    bool in_place = direct_b && nr == NR;
                    const float *b = in_place ? g->b + pc * g->ldb + j0 : pb + jr * kc * NR;
                    int64_t ldb = in_place ? g->ldb : NR;
                    for (int64_t ir = 0; ir * MR < mc; ir++) {
                        int64_t i0 = ic + ir * MR;
                        int mr = (int)min64(MR, g->m - i0);
                        ukernel(kc, pa + ir * kc * MR, b, ldb, g->c + i0 * g->ldc + j0, g->ldc,
                                mr, nr, g->alpha, beta);
                    }
                }
            }
        }
    }
    if (stream) stream_fence();
}

void uae_sgemm_serial(const uae_cpu_kernels *k, const uae_sgemm_args *g, float *scratch) {
    if (g->optim) {
        UAE_ASSERT(uae_sgemm_fuses(k, g));
        gemm_fused(g, k, scratch);
        return;
    }
    if (uses_dot(k, g)) {
        k->gemm_dot(g);
        return;
    }
    float *pa = scratch;
    float *pb = scratch + round_up(min64(g->m, k->mc), k->mr) * min64(g->k, k->kc);
    gemm_blocked(g, k, pa, pb);
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
static uae_sgemm_args band(const uae_cpu_kernels *k, const uae_sgemm_args *g, bool by_cols,
                           int part, int parts) {
    uae_sgemm_args b = *g;
    int64_t tile = by_cols ? k->nr : k->mr, size = by_cols ? g->n : g->m;
    int64_t tiles = (size + tile - 1) / tile;
    int64_t lo = min64(tiles * part / parts * tile, size);
    int64_t hi = min64(tiles * (part + 1) / parts * tile, size);
    if (by_cols) {
        b.n = hi - lo;
        b.b += g->trans_b ? lo * g->ldb : lo;
        shift_c(&b, lo);
    } else {
        b.m = hi - lo;
        b.a += g->trans_a ? lo : lo * g->lda;
        shift_c(&b, lo * g->ldc);
    }
    return b;
}

/* Scratch of `bytes`: ctx's when there is a ctx, else a new allocation (*owned set). */
static uae_status get_scratch(cpu_ctx *ctx, size_t bytes, float **out, bool *owned) {
    *owned = ctx == NULL;
    if (ctx) return uae_cpu_scratch(ctx, bytes, out);
    *out = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!*out) return uae_fail(UAE_ERR_NOMEM, "gemm_omp: cannot allocate %zu bytes", bytes);
    return UAE_OK;
}

/* Each thread computes one band of C with private packed panels, exactly as uae_sgemm_serial
 * would compute that band: no barriers and no shared buffers, so a descheduled thread delays only
 * its own band. Packing is duplicated: every band packs all of the operand it shares (A when
 * split by columns), which costs about threads / n of the work. */
uae_status uae_sgemm_parallel(cpu_ctx *ctx, const uae_cpu_kernels *k, const uae_sgemm_args *g_in,
                              int threads) {
    /* Decided on the whole product: its bands are smaller. */
    uae_sgemm_args whole = *g_in;
    whole.stream_c = streams_c(g_in);
    const uae_sgemm_args *g = &whole;
    int nthr = useful_threads(g, threads);
    /* Split the longer side, counted in micro-tiles, so that bands are as even as possible. */
    int64_t col_tiles = (g->n + k->nr - 1) / k->nr, row_tiles = (g->m + k->mr - 1) / k->mr;
    bool by_cols = col_tiles >= row_tiles;
    int64_t tiles = by_cols ? col_tiles : row_tiles;
    if (tiles < nthr) nthr = (int)tiles;
    size_t per_thread = (size_t)round_up((int64_t)scratch_floats_of(k, g), 16);
    float *scratch;
    bool owned;
    UAE_TRY(get_scratch(ctx, per_thread * (size_t)nthr * sizeof(float), &scratch, &owned));
    if (nthr == 1) {
        uae_sgemm_serial(k, g, scratch);
    } else {
        UAE_OMP(omp parallel for schedule(dynamic) num_threads(nthr))
        for (int part = 0; part < nthr; part++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            uae_sgemm_args b = band(k, g, by_cols, part, nthr);
            if (b.m > 0 && b.n > 0) uae_sgemm_serial(k, &b, scratch + (size_t)tid * per_thread);
        }
    }
    if (owned) free(scratch);
    return UAE_OK;
}

/* ---- The op ---------------------------------------------------------------------------------- */

/* The product of the op's parameters p, batch by batch, with g's pointers at batch 0. Batches run
 * one per thread when there are at least as many as threads (many small products: per-sample
 * networks); otherwise one after another, each product using all threads. */
static uae_status gemm_batches(cpu_ctx *ctx, const uae_gemm_params *p, uae_sgemm_args g) {
    const uae_cpu_kernels *k = ctx->k;
    int64_t sa = p->stride_a, sb = p->stride_b, sc = p->stride_c;
    int threads = uae_cpu_ctx_threads(ctx);
    if (p->batch < threads || p->batch == 1) {
        for (int64_t b = 0; b < p->batch; b++) {
            uae_sgemm_args gb = g;
            gb.a += b * sa;
            gb.b += b * sb;
            shift_c(&gb, b * sc);
            UAE_TRY(uae_sgemm_parallel(ctx, k, &gb, threads));
        }
        return UAE_OK;
    }
    /* One scratch area per thread, 64-byte aligned, carved from the context's scratch. */
    size_t per_thread = (size_t)round_up((int64_t)scratch_floats_of(k, &g), 16);
    float *scratch;
    UAE_TRY(uae_cpu_scratch(ctx, per_thread * (size_t)threads * sizeof(float), &scratch));
    g.stream_c = streams_c(&g);
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
        shift_c(&gb, b * sc);
        uae_sgemm_serial(k, &gb, scratch + (size_t)tid * per_thread);
    }
    return UAE_OK;
}

/* The product's arguments for the op's parameters p and tensors (C: dst0). */
static uae_sgemm_args sgemm_args_of(const uae_gemm_params *p, const uae_op *op) {
    /* Leading dimensions and strides are explicit here (uae_op_normalise). */
    return (uae_sgemm_args){
        .trans_a = p->trans_a, .trans_b = p->trans_b, .m = p->m, .n = p->n, .k = p->k,
        .alpha = p->alpha, .a = uae_cpu_data(op->src[0]), .lda = p->lda,
        .b = uae_cpu_data(op->src[1]), .ldb = p->ldb,
        .beta = p->beta, .c = uae_cpu_data(op->dst[0]), .ldc = p->ldc,
    };
}

uae_status uae_gemm_omp(cpu_ctx *ctx, const uae_op *op) {
    return gemm_batches(ctx, &op->p.gemm, sgemm_args_of(&op->p.gemm, op));
}

/* The step fused into the product's tiles where the kernels compute it in one k block
 * (uae_sgemm_fuses: the MINE's weight gradients, k = its samples); otherwise the product of
 * each batch into scratch, as uae_gemm_omp computes it, then the step over its rows. The same
 * bits either way: the product's are uae_gemm_omp's, the step's the optim op's. */
uae_status uae_gemm_optim_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_gemm_params *p = &op->p.gemm_optim.gemm;
    const uae_optim_params *o = &op->p.gemm_optim.optim;
    const uae_optim_consts c = uae_optim_consts_of(o);
    uae_sgemm_args g = sgemm_args_of(p, op);
    g.optim = &c;
    g.optim_fn = o->fn;
    uae_cpu_optim_states(op, o, &g.s1, &g.s2);
    if (uae_sgemm_fuses(ctx->k, &g)) return gemm_batches(ctx, p, g);
    float *prod;
    UAE_TRY(uae_cpu_scratch(ctx, (size_t)(p->m * p->n) * sizeof(float), &prod));
    for (int64_t b = 0; b < p->batch; b++) {
        uae_sgemm_args gb = g;
        gb.optim = NULL;
        gb.a += b * p->stride_a;
        gb.b += b * p->stride_b;
        gb.c = prod;
        gb.ldc = p->n;
        /* the product's panels in scratch of their own (ctx's holds prod) */
        UAE_TRY(uae_sgemm_parallel(NULL, ctx->k, &gb, uae_cpu_ctx_threads(ctx)));
        int64_t at = b * p->stride_c;
        ctx->k->optim(o->fn, &c, p->m, p->n, prod, p->n, g.c + at, g.s1 ? g.s1 + at : NULL,
                      g.s2 ? g.s2 + at : NULL, p->ldc);
    }
    return UAE_OK;
}
