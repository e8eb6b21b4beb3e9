/* backends/cpu/omp_pointwise.c — the OpenMP versions of the elementwise, reduction, optimizer,
 * row-gather and MINE/attack ops. Elementwise ops use the scalar formulas of core/pointwise_math.h
 * (so they give the reference's bits) in parallel, vectorisable loops. Reductions split their
 * input into fixed chunks of REDUCE_CHUNK elements whose partial results are combined in a fixed
 * order: the bits do not depend on the number of threads (they may differ from the reference's
 * plain sequential sums in the last place). Not here: gemm/conv/pool, rng/permutation. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_ops.h"
#include "core/pointwise_math.h"

/* Loops whose function is a compile-time constant after inlining (each call site below passes a
 * literal), so that the switch of pointwise_math.h disappears and the loop vectorises. */
#define ALWAYS_INLINE static inline __attribute__((always_inline))

/* Elements per work item of an elementwise loop: large enough to amortise the scheduling, small
 * enough to balance two to a hundred threads. Results never depend on it. */
#define SEG 4096

/* Elements per partial result of a reduction. Part of the definition of the OpenMP results: it
 * fixes the summation order, so changing it changes the last bits (not the thread count). */
#define REDUCE_CHUNK 1024

static int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

/* ---- Binary with broadcasting ---------------------------------------------------------------- */

/* dst[j] = a[j] fn b[j * bstride] for j < n, bstride 0 (b broadcast) or 1. The switch is outside
 * the loops and fn a constant inside each, so that every loop vectorises. */
ALWAYS_INLINE void binary_loop(uae_binary_fn fn, const float *a, const float *b,
                               int64_t bstride, float *dst, int64_t n) {
    if (bstride == 0) {
        float bv = b[0];
        for (int64_t j = 0; j < n; j++) dst[j] = uae_binary_f(fn, a[j], bv);
    } else {
        for (int64_t j = 0; j < n; j++) dst[j] = uae_binary_f(fn, a[j], b[j]);
    }
}

static void binary_span(uae_binary_fn fn, const float *a, const float *b, int64_t bstride,
                        float *dst, int64_t n) {
    switch (fn) {
    case UAE_BINARY_ADD: binary_loop(UAE_BINARY_ADD, a, b, bstride, dst, n); break;
    case UAE_BINARY_SUB: binary_loop(UAE_BINARY_SUB, a, b, bstride, dst, n); break;
    case UAE_BINARY_MUL: binary_loop(UAE_BINARY_MUL, a, b, bstride, dst, n); break;
    case UAE_BINARY_DIV: binary_loop(UAE_BINARY_DIV, a, b, bstride, dst, n); break;
    case UAE_BINARY_MAX: binary_loop(UAE_BINARY_MAX, a, b, bstride, dst, n); break;
    case UAE_BINARY_MIN: binary_loop(UAE_BINARY_MIN, a, b, bstride, dst, n); break;
    case UAE_BINARY_COUNT: break;
    }
}

uae_status uae_binary_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *ta = op->src[0], *tb = op->src[1];
    const float *a = uae_cpu_data(ta), *b = uae_cpu_data(tb);
    float *dst = uae_cpu_data(op->dst[0]);
    uae_binary_fn fn = op->p.binary.fn;
    /* Merge neighbouring dimensions in which b is alike (both full or both broadcast), dropping
     * dimensions of size 1: what is left is at most 4 alternating groups. */
    int64_t size[4];
    bool full[4];
    int nd = 0;
    for (int d = 0; d < ta->ndim; d++) {
        if (ta->shape[d] == 1) continue;
        bool f = tb->shape[d] != 1;
        if (nd > 0 && full[nd - 1] == f) {
            size[nd - 1] *= ta->shape[d];
        } else {
            size[nd] = ta->shape[d];
            full[nd] = f;
            nd++;
        }
    }
    if (nd == 0) { /* one element */
        dst[0] = uae_binary_f(fn, a[0], b[0]);
        return UAE_OK;
    }
    /* b's stride in each group: the product of b's sizes in the later groups, 0 if broadcast. */
    int64_t bstride[4];
    int64_t acc = 1;
    for (int d = nd - 1; d >= 0; d--) {
        bstride[d] = full[d] ? acc : 0;
        if (full[d]) acc *= size[d];
    }
    int64_t len = size[nd - 1], rows = uae_tensor_numel(ta) / len, segs = ceil_div(len, SEG);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t w = 0; w < rows * segs; w++) {
        int64_t row = w / segs, s = w % segs;
        /* b's offset of this row: decompose the row index over the outer groups. */
        int64_t boff = 0, rest = row;
        for (int d = nd - 2; d >= 0; d--) {
            boff += rest % size[d] * bstride[d];
            rest /= size[d];
        }
        int64_t j0 = s * SEG, n = len - j0 < SEG ? len - j0 : SEG;
        binary_span(fn, a + row * len + j0, b + boff + j0 * bstride[nd - 1], bstride[nd - 1],
                    dst + row * len + j0, n);
    }
    return UAE_OK;
}

/* ---- Unary, its derivative, fill, clamp, optimizers: flat loops ----------------------------- */

ALWAYS_INLINE void unary_loop(uae_unary_fn fn, const float *x, float *y, int64_t n, float al,
                              float be) {
    for (int64_t i = 0; i < n; i++) y[i] = uae_unary_f(fn, x[i], al, be);
}

ALWAYS_INLINE void unary_bwd_loop(uae_unary_fn fn, const float *x, const float *y,
                                  const float *dy, float *dx, int64_t n, float al) {
    for (int64_t i = 0; i < n; i++) dx[i] = uae_unary_bwd_f(fn, x[i], y[i], dy[i], al);
}

/* The unary function (bwd: its derivative) over n elements, one loop per function. */
static void unary_span(const uae_unary_params *u, bool bwd, const float *x, const float *y,
                       const float *dy, float *out, int64_t n) {
    float al = u->alpha, be = u->beta;
#define CASE(f)                                                                                   \
    case f:                                                                                       \
        if (bwd) unary_bwd_loop(f, x, y, dy, out, n, al);                                         \
        else unary_loop(f, x, out, n, al, be);                                                    \
        break;
    switch (u->fn) {
    CASE(UAE_UNARY_RELU)
    CASE(UAE_UNARY_LEAKY)
    CASE(UAE_UNARY_SIGMOID)
    CASE(UAE_UNARY_TANH)
    CASE(UAE_UNARY_SOFTPLUS)
    CASE(UAE_UNARY_EXP)
    CASE(UAE_UNARY_LOG)
    CASE(UAE_UNARY_SQUARE)
    CASE(UAE_UNARY_SQRT)
    CASE(UAE_UNARY_ABS)
    CASE(UAE_UNARY_AFFINE)
    CASE(UAE_UNARY_STEP)
    CASE(UAE_UNARY_RECIP)
    case UAE_UNARY_COUNT: break;
    }
#undef CASE
}

uae_status uae_unary_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_unary_params u = op->p.unary;
    const float *x = uae_cpu_data(op->src[0]);
    float *y = uae_cpu_data(op->dst[0]);
    int64_t n = uae_tensor_numel(op->src[0]);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t s = 0; s < ceil_div(n, SEG); s++) {
        int64_t len = n - s * SEG < SEG ? n - s * SEG : SEG;
        unary_span(&u, false, x + s * SEG, NULL, NULL, y + s * SEG, len);
    }
    return UAE_OK;
}

uae_status uae_unary_bwd_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_unary_params u = op->p.unary;
    const float *x = uae_cpu_data(op->src[0]), *y = uae_cpu_data(op->src[1]);
    const float *dy = uae_cpu_data(op->src[2]);
    float *dx = uae_cpu_data(op->dst[0]);
    int64_t n = uae_tensor_numel(op->src[0]);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t s = 0; s < ceil_div(n, SEG); s++) {
        int64_t o = s * SEG, len = n - o < SEG ? n - o : SEG;
        unary_span(&u, true, x + o, y + o, dy + o, dx + o, len);
    }
    return UAE_OK;
}

uae_status uae_fill_omp(cpu_ctx *ctx, const uae_op *op) {
    float *y = uae_cpu_data(op->dst[0]);
    float v = op->p.fill.value;
    int64_t n = uae_tensor_numel(op->dst[0]);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t s = 0; s < ceil_div(n, SEG); s++) {
        int64_t end = (s + 1) * SEG < n ? (s + 1) * SEG : n;
        for (int64_t i = s * SEG; i < end; i++) y[i] = v;
    }
    return UAE_OK;
}

uae_status uae_clamp_omp(cpu_ctx *ctx, const uae_op *op) {
    const float *x = uae_cpu_data(op->src[0]);
    float *y = uae_cpu_data(op->dst[0]);
    float lo = op->p.clamp.lo, hi = op->p.clamp.hi;
    int64_t n = uae_tensor_numel(op->src[0]);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t s = 0; s < ceil_div(n, SEG); s++) {
        int64_t end = (s + 1) * SEG < n ? (s + 1) * SEG : n;
        for (int64_t i = s * SEG; i < end; i++) y[i] = uae_clampf_nan(x[i], lo, hi);
    }
    return UAE_OK;
}

uae_status uae_optim_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_optim_params o = op->p.optim;
    const uae_optim_consts c = uae_optim_consts_of(&o);
    const float *g = uae_cpu_data(op->src[0]);
    float *p = uae_cpu_data(op->dst[0]);
    float *s1, *s2;
    uae_cpu_optim_states(op, &o, &s1, &s2);
    int64_t n = uae_tensor_numel(op->src[0]);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t s = 0; s < ceil_div(n, SEG); s++) {
        int64_t i = s * SEG, len = n - i < SEG ? n - i : SEG;
        ctx->k->optim(o.fn, &c, 1, len, g + i, len, p + i, s1 ? s1 + i : NULL, s2 ? s2 + i : NULL,
                      len);
    }
    return UAE_OK;
}

/* ---- Reduce ----------------------------------------------------------------------------------
 * The input is seen as kept groups and reduced groups of dimensions (neighbours of the same kind
 * merged, size-1 dimensions dropped): at most two of each. An output's elements are visited as
 * (outer reduced index r1, inner reduced index r0); the inner range is cut into chunks of
 * REDUCE_CHUNK. Every (output, r1, chunk) gives one partial result, and the partials of an output
 * are combined in increasing (r1, chunk) order. */

typedef struct reduce_plan {
    const float *x;
    int64_t kn[2], ks[2];  /* kept groups, inner first: size, stride in x */
    int64_t rn[2], rs[2];  /* reduced groups, inner first */
    int64_t nout, count;   /* outputs; elements per output */
    int64_t nchunk, nparts; /* chunks of the inner reduced group; parts per output */
    int threads;            /* of the parallel passes */
} reduce_plan;

static void reduce_plan_make(const uae_tensor *tx, unsigned axes, reduce_plan *p) {
    memset(p, 0, sizeof *p);
    p->x = uae_cpu_data(tx);
    p->kn[0] = p->kn[1] = p->rn[0] = p->rn[1] = 1;
    int last_red = -1; /* kind of the group last added: 1 reduced, 0 kept, -1 none */
    int nk = 0, nr = 0;
    int64_t stride = 1;
    for (int d = tx->ndim - 1; d >= 0; d--) {
        int64_t n = tx->shape[d];
        int red = axes >> d & 1;
        if (n != 1) {
            int64_t *sz = red ? p->rn : p->kn, *st = red ? p->rs : p->ks;
            int *cnt = red ? &nr : &nk;
            if (last_red == red) {
                sz[*cnt - 1] *= n;
            } else {
                UAE_ASSERT(*cnt < 2);
                sz[*cnt] = n;
                st[*cnt] = stride;
                (*cnt)++;
                last_red = red;
            }
        }
        stride *= n;
    }
    p->nout = p->kn[0] * p->kn[1];
    p->count = p->rn[0] * p->rn[1];
    p->nchunk = ceil_div(p->rn[0], REDUCE_CHUNK);
    p->nparts = p->rn[1] * p->nchunk;
}

/* First element and length of part `part` of output o; the elements are rs[0] apart. */
static const float *reduce_part(const reduce_plan *p, int64_t o, int64_t part, int64_t *len) {
    int64_t r1 = part / p->nchunk, c = part % p->nchunk;
    int64_t off = o % p->kn[0] * p->ks[0] + o / p->kn[0] * p->ks[1] + r1 * p->rs[1] +
                  c * REDUCE_CHUNK * p->rs[0];
    int64_t rest = p->rn[0] - c * REDUCE_CHUNK;
    *len = rest < REDUCE_CHUNK ? rest : REDUCE_CHUNK;
    return p->x + off;
}

typedef enum part_kind { PART_SUM, PART_MAX, PART_SUMEXP } part_kind;

/* One partial result: sum, NaN-propagating max, or sum of exp(x - shift). */
static double reduce_part_value(part_kind kind, const float *x, int64_t stride, int64_t len,
                                float shift) {
    if (kind == PART_MAX) {
        float m = x[0];
        for (int64_t j = 1; j < len; j++) m = uae_maxf_nan(m, x[j * stride]);
        return m;
    }
    double s = 0.0;
    if (stride == 1) {
        if (kind == PART_SUM) {
#ifdef _OPENMP
#pragma omp simd reduction(+ : s)
#endif
            for (int64_t j = 0; j < len; j++) s += x[j];
        } else {
#ifdef _OPENMP
#pragma omp simd reduction(+ : s)
#endif
            for (int64_t j = 0; j < len; j++) s += expf(x[j] - shift);
        }
    } else {
        for (int64_t j = 0; j < len; j++)
            s += kind == PART_SUM ? x[j * stride] : expf(x[j * stride] - shift);
    }
    return s;
}

/* The parts of reduce_pass when neighbouring outputs are neighbours in x (the innermost group is
 * kept, as in column sums): OUT_BLOCK outputs at a time, so that the inner loop runs along
 * contiguous memory and vectorises. Each output still adds its elements one by one in the order of
 * reduce_part_value, so the partial results have the same bits as the one-output-at-a-time loop. */
static void reduce_parts_across(const reduce_plan *p, part_kind kind, const float *shift,
                                double *part) {
    enum { OUT_BLOCK = 64 };
    int64_t nblk = ceil_div(p->kn[0], OUT_BLOCK);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(p->threads)
#endif
    for (int64_t w = 0; w < p->kn[1] * nblk * p->nparts; w++) {
        int64_t k = w % p->nparts, blk = w / p->nparts % nblk, o1 = w / p->nparts / nblk;
        int64_t first = o1 * p->kn[0] + blk * OUT_BLOCK, len;
        int64_t cnt = p->kn[0] - blk * OUT_BLOCK < OUT_BLOCK ? p->kn[0] - blk * OUT_BLOCK : OUT_BLOCK;
        const float *x = reduce_part(p, first, k, &len); /* output first + t starts at x + t */
        double acc[OUT_BLOCK];
        float mx[OUT_BLOCK];
        if (kind == PART_MAX) {
            for (int64_t t = 0; t < cnt; t++) mx[t] = x[t];
            for (int64_t j = 1; j < len; j++) {
                const float *row = x + j * p->rs[0];
                for (int64_t t = 0; t < cnt; t++) mx[t] = uae_maxf_nan(mx[t], row[t]);
            }
            for (int64_t t = 0; t < cnt; t++) part[(first + t) * p->nparts + k] = mx[t];
            continue;
        }
        for (int64_t t = 0; t < cnt; t++) acc[t] = 0.0;
        for (int64_t j = 0; j < len; j++) {
            const float *row = x + j * p->rs[0];
            if (kind == PART_SUM)
                for (int64_t t = 0; t < cnt; t++) acc[t] += row[t];
            else
                for (int64_t t = 0; t < cnt; t++) acc[t] += expf(row[t] - shift[first + t]);
        }
        for (int64_t t = 0; t < cnt; t++) part[(first + t) * p->nparts + k] = acc[t];
    }
}

/* Computes the parts of every output into part[o * nparts + k] in parallel (the shift of output o
 * is shift[o] for PART_SUMEXP), then combines each output's parts in order into out[o]. */
static void reduce_pass(const reduce_plan *p, part_kind kind, const float *shift, double *part,
                        double *out) {
    if (p->ks[0] == 1 && p->rs[0] != 1 && p->kn[0] > 1) {
        reduce_parts_across(p, kind, shift, part);
    } else {
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(p->threads)
#endif
        for (int64_t w = 0; w < p->nout * p->nparts; w++) {
            int64_t o = w / p->nparts, len;
            const float *x = reduce_part(p, o, w % p->nparts, &len);
            part[w] = reduce_part_value(kind, x, p->rs[0], len, shift ? shift[o] : 0.0f);
        }
    }
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(p->threads)
#endif
    for (int64_t o = 0; o < p->nout; o++) {
        const double *q = part + o * p->nparts;
        double acc = q[0];
        for (int64_t k = 1; k < p->nparts; k++)
            acc = kind == PART_MAX ? (double)uae_maxf_nan((float)acc, (float)q[k]) : acc + q[k];
        out[o] = acc;
    }
}

uae_status uae_reduce_omp(cpu_ctx *ctx, const uae_op *op) {
    reduce_plan p;
    reduce_plan_make(op->src[0], op->p.reduce.axes, &p);
    p.threads = uae_cpu_ctx_threads_for(ctx, op);
    uae_reduce_fn fn = op->p.reduce.fn;
    float *dst = uae_cpu_data(op->dst[0]);
    double *part = malloc((size_t)(p.nout * p.nparts) * sizeof *part);
    double *res = malloc((size_t)p.nout * sizeof *res);
    if (!part || !res) {
        free(part);
        free(res);
        return uae_fail(UAE_ERR_NOMEM, "reduce: out of host memory for %lld partial sums",
                        (long long)(p.nout * p.nparts));
    }
    if (fn == UAE_REDUCE_SUM || fn == UAE_REDUCE_MEAN) {
        reduce_pass(&p, PART_SUM, NULL, part, res);
        for (int64_t o = 0; o < p.nout; o++)
            dst[o] = (float)(fn == UAE_REDUCE_SUM ? res[o] : res[o] / (double)p.count);
    } else {
        reduce_pass(&p, PART_MAX, NULL, part, res);
        for (int64_t o = 0; o < p.nout; o++) dst[o] = (float)res[o];
        if (fn == UAE_REDUCE_LSE || fn == UAE_REDUCE_LME) {
            /* dst holds the maxima M; log sum exp(x) = M + log sum exp(x - M). An infinite or NaN
             * maximum is the answer itself, as in the reference. */
            reduce_pass(&p, PART_SUMEXP, dst, part, res);
            for (int64_t o = 0; o < p.nout; o++) {
                if (!isfinite(dst[o])) continue;
                double s = fn == UAE_REDUCE_LME ? res[o] / (double)p.count : res[o];
                dst[o] = (float)((double)dst[o] + log(s));
            }
        }
    }
    free(part);
    free(res);
    return UAE_OK;
}

/* ---- Softmax: rows in parallel ---------------------------------------------------------------- */

uae_status uae_softmax_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *tx = op->src[0];
    int64_t len = tx->shape[tx->ndim - 1], rows = uae_tensor_numel(tx) / len;
    const float *x = uae_cpu_data(tx);
    float *y = uae_cpu_data(op->dst[0]);
    bool log_out = op->p.softmax.log;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        float *yr = y + r * len;
        float m = xr[0];
        for (int64_t j = 1; j < len; j++) m = uae_maxf_nan(m, xr[j]);
        /* One sequential sum per row (rows are short: classes), as in the reference; the
         * exponentials are kept in y for the normalisation (x and y do not alias). */
        double sum = 0.0;
        for (int64_t j = 0; j < len; j++) {
            yr[j] = expf(xr[j] - m);
            sum += yr[j];
        }
        if (log_out) {
            double ls = log(sum);
            for (int64_t j = 0; j < len; j++) yr[j] = (float)((double)(xr[j] - m) - ls);
        } else {
            for (int64_t j = 0; j < len; j++) yr[j] = (float)((double)yr[j] / sum);
        }
    }
    return UAE_OK;
}

/* ---- Row gather and scatter -------------------------------------------------------------------- */

uae_status uae_gather_rows_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *ts = op->src[0], *ti = op->src[1];
    int64_t nb = ts->shape[0], n = ts->shape[1], d = ts->shape[2], m = ti->shape[1];
    const float *src = uae_cpu_data(ts), *idx = uae_cpu_data(ti);
    float *dst = uae_cpu_data(op->dst[0]);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t k = 0; k < nb * m; k++) {
        int64_t r = uae_row_index(idx[k], n);
        if (r < 0) /* out of range: zeros (the reference reports UAE_ERR_INVALID) */
            memset(dst + k * d, 0, (size_t)d * sizeof(float));
        else
            memcpy(dst + k * d, src + (k / m * n + r) * d, (size_t)d * sizeof(float));
    }
    return UAE_OK;
}

uae_status uae_scatter_rows_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *ts = op->src[0], *ti = op->src[1], *td = op->dst[0];
    int64_t nb = td->shape[0], n = td->shape[1], d = td->shape[2], m = ti->shape[1];
    const float *src = uae_cpu_data(ts), *idx = uae_cpu_data(ti);
    float *dst = uae_cpu_data(td);
    /* Work items are (b, block of columns); each walks idx in order. Distinct indices are the
     * contract; should an index repeat, the last row wins on every thread count, and out-of-range
     * indices are skipped (the reference reports both as UAE_ERR_INVALID). */
    enum { COLS = 256 };
    int64_t blocks = ceil_div(d, COLS);
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t w = 0; w < nb * blocks; w++) {
        int64_t b = w / blocks, j0 = w % blocks * COLS;
        int64_t cols = d - j0 < COLS ? d - j0 : COLS;
        for (int64_t i = 0; i < m; i++) {
            int64_t r = uae_row_index(idx[b * m + i], n);
            if (r >= 0)
                memcpy(dst + (b * n + r) * d + j0, src + (b * m + i) * d + j0,
                       (size_t)cols * sizeof(float));
        }
    }
    return UAE_OK;
}

/* ---- MINE bounds: estimators in parallel -------------------------------------------------------- */

uae_status uae_mine_bound_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *tj = op->src[0], *tm = op->src[1];
    int64_t nb = tj->shape[0], n = tj->shape[1], m = tm->shape[1];
    const float *xj = uae_cpu_data(tj), *xm = uae_cpu_data(tm);
    const float *up = op->src[2] ? uae_cpu_data(op->src[2]) : NULL;
    float *bound = uae_cpu_data(op->dst[0]);
    float *gj = op->dst[1] ? uae_cpu_data(op->dst[1]) : NULL;
    float *gm = op->dst[2] ? uae_cpu_data(op->dst[2]) : NULL;
    bool dv = op->p.mine.kind == UAE_MINE_DV;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t b = 0; b < nb; b++) {
        const float *j_ = xj + b * n, *m_ = xm + b * m;
        float u = up ? up[b] : 1.0f;
        double sj = 0.0, sm = 0.0;
        if (dv) {
            /* I = mean tj - (M + log mean exp(tm - M)); formulas in uae/ops.h. */
#ifdef _OPENMP
#pragma omp simd reduction(+ : sj)
#endif
            for (int64_t i = 0; i < n; i++) sj += j_[i];
            float mx = m_[0];
            for (int64_t k = 1; k < m; k++) mx = uae_maxf_nan(mx, m_[k]);
#ifdef _OPENMP
#pragma omp simd reduction(+ : sm)
#endif
            for (int64_t k = 0; k < m; k++) sm += expf(m_[k] - mx);
            bound[b] = (float)(sj / (double)n - ((double)mx + log(sm / (double)m)));
            if (gj)
                for (int64_t i = 0; i < n; i++) gj[b * n + i] = u / (float)n;
            if (gm)
                for (int64_t k = 0; k < m; k++)
                    gm[b * m + k] = -u * (float)((double)expf(m_[k] - mx) / sm);
        } else {
#ifdef _OPENMP
#pragma omp simd reduction(+ : sj)
#endif
            for (int64_t i = 0; i < n; i++) sj -= uae_softplusf(-j_[i]);
#ifdef _OPENMP
#pragma omp simd reduction(+ : sm)
#endif
            for (int64_t k = 0; k < m; k++) sm += uae_softplusf(m_[k]);
            bound[b] = (float)(sj / (double)n - sm / (double)m);
            if (gj)
                for (int64_t i = 0; i < n; i++)
                    gj[b * n + i] = u * (uae_sigmoidf(-j_[i]) / (float)n);
            if (gm)
                for (int64_t k = 0; k < m; k++)
                    gm[b * m + k] = -u * (uae_sigmoidf(m_[k]) / (float)m);
        }
    }
    return UAE_OK;
}

/* ---- Attack step: (sample, segment) work items ------------------------------------------------- */

uae_status uae_attack_step_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_attack_params a = op->p.attack;
    int64_t nb = op->src[0]->shape[0], d = op->src[0]->shape[1], segs = ceil_div(d, SEG);
    const float *x = uae_cpu_data(op->src[0]), *g = uae_cpu_data(op->src[1]);
    const float *lr = op->src[2] ? uae_cpu_data(op->src[2]) : NULL;
    float *delta = uae_cpu_data(op->dst[0]);
    float *xadv = op->dst[1] ? uae_cpu_data(op->dst[1]) : NULL;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t w = 0; w < nb * segs; w++) {
        int64_t b = w / segs, i0 = b * d + w % segs * SEG;
        int64_t end = i0 + SEG < (b + 1) * d ? i0 + SEG : (b + 1) * d;
        ctx->k->attack(&a, lr ? lr[b] : a.lr, x + i0, g + i0, delta + i0, xadv ? xadv + i0 : NULL,
                       end - i0);
    }
    return UAE_OK;
}
