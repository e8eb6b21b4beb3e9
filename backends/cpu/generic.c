/* backends/cpu/generic.c — the kernel table of the generic path: plain C that every processor runs
 * (on x86-64 the compiler vectorises it with SSE2). It also defines each kernel's job for the
 * instruction-set files (x86_avx2.c, x86_avx512.c), which do the same with wider registers. */
#if defined(__GNUC__) && !defined(__clang__)
/* GCC vectorises the normal fill of kernel_loops.h only without trapping math (clang's default):
 * the branches of the portable log and cos then become selects, which evaluate both sides. That
 * changes no result: no float operation here can trap, no flag is read, and the operations and
 * their order stay as written (no reassociation, no contraction). It must precede the includes,
 * as functions with different optimisation settings are not inlined into each other. */
#pragma GCC optimize("no-trapping-math")
#endif
#include "backends/cpu/kernel_loops.h"
#include "backends/cpu/omp_gemm.h"

/* 4 x 8: 32 accumulators, eight SSE registers, so that the compiler keeps the tile in registers
 * (a 6 x 16 tile of plain C spills to memory at every step: 2 GFLOP/s per core). */
enum { MR = 4, NR = 8 };

/* The micro-kernel's job: ab = A sliver @ B sliver over kc steps, then the tile update. */
static void ukernel_c(int64_t kc, const float *restrict a, const float *restrict b,
                      int64_t ldb, float *restrict c, int64_t ldc, int mr, int nr, float alpha, float beta) {
    float ab[MR * NR] = {0};
    for (int64_t p = 0; p < kc; p++) {
#pragma GCC unroll 4
        for (int i = 0; i < MR; i++)
#pragma GCC unroll 8
            for (int j = 0; j < NR; j++) ab[i * NR + j] += a[p * MR + i] * b[p * ldb + j];
    }
    uae_gemm_tile_update(ab, NR, c, ldc, mr, nr, alpha, beta);
}

static void pack_b_c(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                     float *restrict dst) {
    uae_gemm_pack_b_c(g, p0, kc, j0, nr, NR, dst);
}

/* y (nout, P, Q) = [beta * y +] bias + correlation of xp (row length wp) with wt (nout, ntaps) at
 * tap offsets off. */
static void direct_correlate_c(const float *xp, int64_t wp, int64_t nout, const float *wt,
                               int64_t ntaps, const int64_t *off, const float *bias, float beta,
                               float *y, int64_t P, int64_t Q) {
    enum { DCH = UAE_DIRECT_CHUNK };
    int64_t len = (P - 1) * wp + Q; /* flat outputs up to the last one that is kept */
    for (int64_t k = 0; k < nout; k++)
        for (int64_t o0 = 0; o0 < len; o0 += DCH) {
            float acc[DCH] = {0};
            for (int64_t t = 0; t < ntaps; t++) {
                const float wv = wt[k * ntaps + t], *src = xp + off[t] + o0;
                for (int i = 0; i < DCH; i++) acc[i] += wv * src[i];
            }
            uae_direct_store_chunk(acc, o0, len, wp, Q, bias ? bias + k : NULL, beta,
                                   y + k * P * Q);
        }
}

/* One row of direct_dots_c. */
static void direct_dots_row_c(const float *d, int64_t len, const float *xp, const int64_t *off,
                              int64_t ntaps, bool accumulate, float *out) {
    for (int64_t t = 0; t < ntaps; t++) {
        const float *x = xp + off[t];
        float acc[8] = {0};
        for (int64_t o = 0; o < len; o += 8)
            for (int i = 0; i < 8; i++) acc[i] += d[o + i] * x[o + i];
        float sum = ((acc[0] + acc[1]) + (acc[2] + acc[3])) +
                    ((acc[4] + acc[5]) + (acc[6] + acc[7]));
        out[t] = accumulate ? out[t] + sum : sum;
    }
}

/* out[i][t] (+)= sum over o < len of d[i][o] * xp[off[t] + o], len a multiple of 32, in
 * interleaved partial sums added in a fixed order. */
static void direct_dots_c(const float *d, int64_t nd, int64_t len, const float *xp,
                          const int64_t *off, int64_t ntaps, bool accumulate, float *out) {
    for (int64_t i = 0; i < nd; i++)
        direct_dots_row_c(d + i * len, len, xp, off, ntaps, accumulate, out + i * ntaps);
}

/* Cache blocks as the AVX2 path's (tuned for Zen 3, as BLIS's zen3 configuration): an A block
 * MC*KC*4 = 144 KiB (under a third of a 512 KiB L2), a B block KC*NC*4 = 4 MiB (in L3). */
const uae_cpu_kernels uae_cpu_kernels_generic = {
    .isa = UAE_CPU_ISA_GENERIC,
    .mr = MR, .nr = NR, .kc = 256, .mc = 144, .nc = 4080, /* mc, nc: multiples of 4 and 8 */
    .gemm_ukernel = ukernel_c,
    .gemm_pack_b = pack_b_c,
    .conv_direct_max_k = 8,
    .conv_correlate = direct_correlate_c,
    .conv_dots = direct_dots_c,
    .rng_normal = loops_rng_normal,
    .optim = loops_optim,
    .attack = loops_attack,
};
