/* backends/cpu/kernel_loops.h — the elementwise kernels of the CPU backend's tables, as static
 * functions that each instruction-set file (generic.c, x86_avx2.c, x86_avx512.c) includes and
 * builds with its own flags: the same C loops, vectorised 4, 8 or 16 lanes wide. Each lane does the
 * reference's operations in the reference's order (no reassociation, no contraction:
 * -ffp-contract=off), so every build gives the scalar reference's bits. Include it after setting
 * the optimisation pragmas of the including file. */
#ifndef UAE_CPU_KERNEL_LOOPS_H
#define UAE_CPU_KERNEL_LOOPS_H

#include "backends/cpu/cpu_ctx.h"
#include "core/pointwise_math.h"
#include "core/philox.h"

#define LOOPS_INLINE static inline __attribute__((always_inline))

/* Writes one chunk of flat outputs acc[i] = out[o0 + i] to yk (P, Q): drops o >= len and the
 * columns q >= Q, adds the bias, and accumulates with beta (beta == 0: yk is not read). Row by
 * row (one division per chunk, not per element: with few taps, as conv-ae's last layer's input
 * gradient has, a division per output cost more than the output's multiply-adds). */
static inline void uae_direct_store_chunk(const float *acc, int64_t o0, int64_t len, int64_t wp,
                                          int64_t Q, const float *bias_k, float beta, float *yk) {
    int64_t end = o0 + UAE_DIRECT_CHUNK < len ? o0 + UAE_DIRECT_CHUNK : len;
    int64_t p = o0 / wp, q = o0 % wp;
    const float b = bias_k ? *bias_k : 0.0f;
    for (int64_t o = o0; o < end; p++, q = 0) {
        int64_t n = end - o < wp - q ? end - o : wp - q; /* flat outputs in row p */
        int64_t qe = q + n < Q ? q + n : Q;
        const float *a = acc + (o - o0) - q;
        float *out = yk + p * Q;
        if (bias_k && beta != 0.0f)
            for (int64_t j = q; j < qe; j++) out[j] = (a[j] + b) + beta * out[j];
        else if (bias_k)
            for (int64_t j = q; j < qe; j++) out[j] = a[j] + b;
        else if (beta != 0.0f)
            for (int64_t j = q; j < qe; j++) out[j] = a[j] + beta * out[j];
        else
            for (int64_t j = q; j < qe; j++) out[j] = a[j];
        o += n;
    }
}

/* One tile of a direct correlation: filters [0, kb) of conv_correlate's job (cpu_ctx.h), the
 * weights wt and bias and output y starting at the tile's first filter. */
typedef void (*loops_correlate_tile_fn)(int kb, const float *xp, int64_t wp, const float *wt,
                                        int64_t ntaps, const int64_t *off, const float *bias,
                                        float beta, float *y, int64_t P, int64_t Q);

/* conv_correlate's job as tiles of kb filters, then the rest one by one. With an always-inline
 * tile and constant kb, GCC inlines both calls with kb known. */
LOOPS_INLINE void loops_correlate_tiles(loops_correlate_tile_fn tile, int kb, const float *xp,
                                        int64_t wp, int64_t nout, const float *wt, int64_t ntaps,
                                        const int64_t *off, const float *bias, float beta,
                                        float *y, int64_t P, int64_t Q) {
    for (int64_t k = 0; k < nout; k += nout - k >= kb ? kb : 1) {
        const float *bk = bias ? bias + k : NULL;
        if (nout - k >= kb)
            tile(kb, xp, wp, wt + k * ntaps, ntaps, off, bk, beta, y + k * P * Q, P, Q);
        else
            tile(1, xp, wp, wt + k * ntaps, ntaps, off, bk, beta, y + k * P * Q, P, Q);
    }
}

/* NORMAL elements [i0, i1): y[i] = uae_philox_normal(.., counter + i, ..); about 100 cycles per
 * element in scalar code (Philox's 10 rounds, log, sqrt, cos). */
static void loops_rng_normal(float *restrict y, int64_t i0, int64_t i1, const uae_rng_params *p) {
    const uint64_t seed = p->seed, stream = p->stream, counter = p->counter;
    const float mean = p->a, std = p->b;
#ifdef _OPENMP
#pragma omp simd
#endif
    for (int64_t i = i0; i < i1; i++)
        y[i] = uae_philox_normal(seed, stream, counter + (uint64_t)i, mean, std);
}

/* n elements of one optimizer (a constant at each call site), with or without each state (has1,
 * has2: constants too, so that the loop reads and writes only the states it has). */
LOOPS_INLINE void loops_optim_fn(uae_optim_fn fn, bool has1, bool has2, uae_optim_consts c,
                                 const float *g, float *p, float *s1, float *s2, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        uae_optim_elem e = {p[i], has1 ? s1[i] : 0.0f, has2 ? s2[i] : 0.0f};
        e = uae_optim_f(fn, has1, c, g[i], e);
        p[i] = e.p;
        if (has1) s1[i] = e.s1;
        if (has2) s2[i] = e.s2;
    }
}

/* rows x n elements of one optimizer step: the gradient's rows ldg apart, the parameters' and
 * states' ldp apart (s1, s2 NULL where the optimizer has none). A flat tensor is one row; a tile
 * of a product fused with the step (UAE_OP_GEMM_OPTIM, omp_gemm.c) is MR rows of NR. */
static void loops_optim(uae_optim_fn fn, const uae_optim_consts *cp, int64_t rows, int64_t n,
                        const float *g, int64_t ldg, float *p, float *s1, float *s2,
                        int64_t ldp) {
    const uae_optim_consts c = *cp;
    for (int64_t r = 0; r < rows; r++) {
        const float *gr = g + r * ldg;
        float *pr = p + r * ldp, *s1r = s1 ? s1 + r * ldp : NULL, *s2r = s2 ? s2 + r * ldp : NULL;
        switch (fn) {
        case UAE_OPTIM_SGD:
            if (s1) loops_optim_fn(UAE_OPTIM_SGD, true, false, c, gr, pr, s1r, NULL, n);
            else loops_optim_fn(UAE_OPTIM_SGD, false, false, c, gr, pr, NULL, NULL, n);
            break;
        case UAE_OPTIM_ADAM: loops_optim_fn(UAE_OPTIM_ADAM, true, true, c, gr, pr, s1r, s2r, n); break;
        case UAE_OPTIM_RMSPROP:
            loops_optim_fn(UAE_OPTIM_RMSPROP, true, false, c, gr, pr, s1r, NULL, n);
            break;
        case UAE_OPTIM_ADADELTA:
            loops_optim_fn(UAE_OPTIM_ADADELTA, true, true, c, gr, pr, s1r, s2r, n);
            break;
        case UAE_OPTIM_COUNT: break;
        }
    }
}

/* One attack step over n elements; two loops, so that `sign` is a constant in each. */
static void loops_attack(const uae_attack_params *a, float lr, const float *x, const float *g,
                         float *delta, float *xadv, int64_t n) {
    const float eps = a->eps, lo = a->lo, hi = a->hi;
    if (a->sign)
        for (int64_t i = 0; i < n; i++)
            delta[i] = uae_attack_f(true, lr, eps, lo, hi, x[i], g[i], delta[i]);
    else
        for (int64_t i = 0; i < n; i++)
            delta[i] = uae_attack_f(false, lr, eps, lo, hi, x[i], g[i], delta[i]);
    if (xadv)
        for (int64_t i = 0; i < n; i++) xadv[i] = x[i] + delta[i];
}

#endif
