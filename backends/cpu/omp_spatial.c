/* backends/cpu/omp_spatial.c — the OpenMP versions of the image ops: 2-D convolution and its two
 * gradients (im2col + the packed GEMM of omp_gemm.c, or direct), 2x2 max pooling and 2x
 * upsampling. GEMM itself is in omp_gemm.c; the scalar references these are tested against are
 * in ref_spatial.c.
 *
 * Work is split into tasks with fixed boundaries (an image, or a fixed part of a weight set's
 * images) whose results are combined in a fixed order, so every result is bit-identical for any
 * number of threads. */
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/omp_gemm.h"

#ifdef _OPENMP
#include <omp.h>
#endif

/* ---- Convolution geometry -------------------------------------------------------------------- */

typedef struct conv_geom {
    int64_t n, c, h, w;     /* input (N, C, H, W) */
    int64_t k, r, s;        /* filters per weight set, filter size */
    int64_t p, q;           /* output size */
    int64_t g, per_set;     /* weight sets, images per set */
    int64_t crs, pq;        /* rows of the im2col matrix, output pixels per image */
    int stride_h, stride_w, pad_h, pad_w;
} conv_geom;

static conv_geom conv_geom_of(const uae_tensor *x, const uae_tensor *w, const uae_tensor *y,
                              const uae_conv_params *cp) {
    conv_geom d = {
        .n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
        .k = y->shape[1], .r = w->shape[2], .s = w->shape[3],
        .p = y->shape[2], .q = y->shape[3], .g = cp->wsets,
        .stride_h = cp->stride_h, .stride_w = cp->stride_w, .pad_h = cp->pad_h, .pad_w = cp->pad_w,
    };
    d.per_set = d.n / d.g;
    d.crs = d.c * d.r * d.s;
    d.pq = d.p * d.q;
    return d;
}

/* A 1x1 filter with stride 1 and no padding reads the image as it is: the im2col matrix is x. */
static bool conv_pointwise(const conv_geom *d) {
    return d->r == 1 && d->s == 1 && d->stride_h == 1 && d->stride_w == 1 && d->pad_h == 0 &&
           d->pad_w == 0;
}

/* For filter column s: the output columns [*q_lo, *q_hi) whose input column q*stride - pad + s lies
 * inside the image; the others read zero padding. */
static void valid_cols(const conv_geom *d, int64_t s, int64_t *q_lo, int64_t *q_hi) {
    int64_t off = s - d->pad_w; /* iw = q*stride + off */
    int64_t lo = off >= 0 ? 0 : (-off + d->stride_w - 1) / d->stride_w;
    int64_t hi = d->w - off <= 0 ? 0 : (d->w - off + d->stride_w - 1) / d->stride_w;
    if (hi > d->q) hi = d->q;
    if (lo > hi) lo = hi;
    *q_lo = lo;
    *q_hi = hi;
}

/* col (C*R*S, P*Q): row (c, r, s), column (p, q) holds
 * x[c][p*stride - pad + r][q*stride - pad + s], or 0 in the padding. x is one image (C, H, W). */
static void im2col(const conv_geom *d, const float *restrict x, float *restrict col) {
    for (int64_t c = 0; c < d->c; c++)
        for (int64_t r = 0; r < d->r; r++)
            for (int64_t s = 0; s < d->s; s++) {
                float *row = col + ((c * d->r + r) * d->s + s) * d->pq;
                int64_t q_lo, q_hi;
                valid_cols(d, s, &q_lo, &q_hi);
                for (int64_t p = 0; p < d->p; p++) {
                    float *dst = row + p * d->q;
                    int64_t ih = p * d->stride_h - d->pad_h + r;
                    /* Rows are short (Q = 7 .. 28 in the models): plain loops, not libc calls. */
                    if (ih < 0 || ih >= d->h) {
                        for (int64_t q = 0; q < d->q; q++) dst[q] = 0.0f;
                        continue;
                    }
                    const float *src = x + (c * d->h + ih) * d->w + (s - d->pad_w);
                    for (int64_t q = 0; q < q_lo; q++) dst[q] = 0.0f;
                    if (d->stride_w == 1)
                        for (int64_t q = q_lo; q < q_hi; q++) dst[q] = src[q];
                    else
                        for (int64_t q = q_lo; q < q_hi; q++) dst[q] = src[q * d->stride_w];
                    for (int64_t q = q_hi; q < d->q; q++) dst[q] = 0.0f;
                }
            }
}

/* The adjoint of im2col: dx (C, H, W) += every col entry at the pixel it was read from, in a fixed
 * order (c, r, s, p, q). Entries that were padding are dropped. */
static void col2im_add(const conv_geom *d, const float *restrict col, float *restrict dx) {
    for (int64_t c = 0; c < d->c; c++)
        for (int64_t r = 0; r < d->r; r++)
            for (int64_t s = 0; s < d->s; s++) {
                const float *row = col + ((c * d->r + r) * d->s + s) * d->pq;
                int64_t q_lo, q_hi;
                valid_cols(d, s, &q_lo, &q_hi);
                for (int64_t p = 0; p < d->p; p++) {
                    int64_t ih = p * d->stride_h - d->pad_h + r;
                    if (ih < 0 || ih >= d->h) continue;
                    const float *src = row + p * d->q;
                    float *dst = dx + (c * d->h + ih) * d->w + (s - d->pad_w);
                    for (int64_t q = q_lo; q < q_hi; q++) dst[q * d->stride_w] += src[q];
                }
            }
}

/* db[k] = [db[k] +] the sum of dy[k][0 .. pq), in that order, for k < K: the order of the
 * reference. Eight filters' sums advance together: each is a chain of dependent adds (pq of them:
 * 784 on a 28 x 28 map), one filter at a time waited out each add's latency (1 ms of a
 * conv-ae.1 weight gradient at batch 100). */
static void bias_grad_add(const float *restrict dy, int64_t K, int64_t pq, bool accumulate,
                          float *restrict db) {
    enum { KB = 8 };
    int64_t k = 0;
    for (; k + KB <= K; k += KB) {
        float sum[KB];
        for (int j = 0; j < KB; j++) sum[j] = accumulate ? db[k + j] : 0.0f;
        for (int64_t i = 0; i < pq; i++)
#pragma GCC unroll 8
            for (int j = 0; j < KB; j++) sum[j] += dy[(k + j) * pq + i];
        for (int j = 0; j < KB; j++) db[k + j] = sum[j];
    }
    for (; k < K; k++) {
        float sum = accumulate ? db[k] : 0.0f;
        for (int64_t i = 0; i < pq; i++) sum += dy[k * pq + i];
        db[k] = sum;
    }
}

/* ---- Running tasks --------------------------------------------------------------------------- */

/* One task: an image, or a part of a weight set. col is scratch for one im2col matrix. gemm_scratch
 * is the per-thread GEMM scratch when tasks run in parallel (the GEMM then runs on this thread);
 * NULL when tasks run one after another (the GEMM then uses gemm_threads threads). */
typedef uae_status (*conv_task_fn)(const void *ctx, int64_t task, float *col, float *gemm_scratch,
                                   int gemm_threads);

static uae_status task_gemm(cpu_ctx *cpu, const uae_sgemm_args *a, float *gemm_scratch,
                            int gemm_threads) {
    if (gemm_scratch) {
        uae_sgemm_serial(cpu->k, a, gemm_scratch);
        return UAE_OK;
    }
    return uae_sgemm_parallel(cpu, cpu->k, a, gemm_threads);
}

static size_t round16(size_t floats) { return (floats + 15) / 16 * 16; }

/* Runs tasks 0 .. ntasks-1: one per thread if there are at least as many tasks as threads, else in
 * order with threaded GEMMs. The result does not depend on which: tasks write disjoint outputs and
 * the GEMM gives the same bits either way. */
static uae_status run_tasks(cpu_ctx *cpu, const char *what, int64_t ntasks, size_t col_floats,
                            size_t gemm_floats, conv_task_fn fn, const void *ctx) {
    int threads = uae_cpu_ctx_threads(cpu);
    if (ntasks >= threads) {
        size_t per_thread = round16(col_floats) + round16(gemm_floats);
        float *buf;
        UAE_TRY(uae_cpu_scratch(cpu, per_thread * (size_t)threads * sizeof(float), &buf));
        /* Dynamic: which thread runs a task does not change its result, and a thread that the
         * system deschedules then holds up only its current task. */
        UAE_OMP(omp parallel for schedule(dynamic) num_threads(threads))
        for (int64_t t = 0; t < ntasks; t++) {
            int tid = 0;
#ifdef _OPENMP
            tid = omp_get_thread_num();
#endif
            float *col = buf + (size_t)tid * per_thread;
            /* With a scratch of its own the GEMM runs serially and cannot fail. */
            (void)fn(ctx, t, col, col + round16(col_floats), 1);
        }
        return UAE_OK;
    }
    size_t bytes = round16(col_floats) * sizeof(float);
    float *col = aligned_alloc(64, bytes ? bytes : 64);
    if (!col) return uae_fail(UAE_ERR_NOMEM, "%s: cannot allocate %zu bytes", what, bytes);
    uae_status st = UAE_OK;
    for (int64_t t = 0; t < ntasks && st == UAE_OK; t++) st = fn(ctx, t, col, NULL, threads);
    free(col);
    return st;
}

/* ---- Forward --------------------------------------------------------------------------------- */

typedef struct conv_ctx {
    conv_geom d;
    float beta;
    const float *x, *w, *dy, *bias; /* the inputs each op has; others NULL */
    float *y, *dx;
    float *part_dw, *part_db;       /* bwd_weight: per-part partial sums */
    int64_t parts;                  /* bwd_weight: parts per weight set */
    const float *wt;                /* direct bwd_data: flipped weights (G, C, K, R, S) */
    const int64_t *off;             /* direct: tap offsets into the padded planes */
    cpu_ctx *cpu;                   /* the kernels, scratch and threads */
} conv_ctx;

/* ---- Direct convolution, for layers with few filters ----------------------------------------- */

/* With K filters the im2col GEMM has only K rows: the 6-row micro-kernel is partly idle, and
 * copying the image twice (im2col, packing) costs more than the K multiply-adds each copy feeds.
 * Such layers (an autoencoder's 8-channel and last 1-channel layers) run as a direct correlation
 * instead, when the stride is 1: measured on Zen 3 at batch 100, 2-3x faster than im2col + GEMM
 * for K = 8 and K = 1, slower for K = 16 (generic and AVX2 paths: K <= 8). The AVX-512 kernels
 * reuse each input load for 4 filters and go direct up to K = 16: on Zen 4 at batch 100, 1 thread,
 * conv-ae's 16-filter layers ran 1.4-2.4x faster than im2col + GEMM (forward, input gradient;
 * weight gradient 1.0-1.5x).
 *
 * On a zero-padded image (C, Hp, Wp) whose planes are `plane` floats apart, output pixel (p, q)
 * is element o = p*Wp + q of the flat sum
 *     out[o] = sum over taps t = (c, r, s) of w[t] * xp[off[t] + o],  off[t] = c*plane + r*Wp + s,
 * so every tap is one long vector multiply-add over o; the S - 1 columns with q >= Q are computed
 * and dropped. */
enum {
    DCH = UAE_DIRECT_CHUNK, /* outputs per chunk, kept in registers across all taps */
    PAD_TAIL = 2 * DCH, /* zeros after padded planes, see pad_planes */
};

/* The most filters (output channels) that go the direct way is the kernel table's
 * conv_direct_max_k. */
static bool conv_direct(const cpu_ctx *cpu, const conv_geom *d) {
    return d->k <= cpu->k->conv_direct_max_k && d->stride_h == 1 && d->stride_w == 1 && d->pad_h < d->r &&
           d->pad_w < d->s && d->s <= DCH;
}

/* Zero-padded copy of planes (n, h, w) into (n, h + 2*ph, w + 2*pw), followed by PAD_TAIL zeros:
 * the chunked loops read past the last output, by at most DCH (correlation) or S + 31 floats (dot
 * products over lengths rounded up to 32; S <= DCH). Returns the floats written. */
static int64_t pad_planes(const float *src, int64_t n, int64_t h, int64_t w, int64_t ph, int64_t pw,
                          float *dst) {
    int64_t hp = h + 2 * ph, wp = w + 2 * pw, total = n * hp * wp + PAD_TAIL;
    memset(dst, 0, (size_t)total * sizeof(float));
    for (int64_t c = 0; c < n; c++)
        for (int64_t i = 0; i < h; i++)
            memcpy(dst + (c * hp + ph + i) * wp + pw, src + (c * h + i) * w,
                   (size_t)w * sizeof(float));
    return total;
}

static int64_t padded_floats(int64_t n, int64_t h, int64_t w, int64_t ph, int64_t pw) {
    return n * (h + 2 * ph) * (w + 2 * pw) + PAD_TAIL;
}

static uae_status direct_fwd_task(const void *vctx, int64_t n, float *buf, float *gemm_scratch,
                                  int gemm_threads) {
    (void)gemm_scratch, (void)gemm_threads;
    const conv_ctx *c = vctx;
    const conv_geom *d = &c->d;
    int64_t f0 = n / d->per_set * d->k;
    pad_planes(c->x + n * d->c * d->h * d->w, d->c, d->h, d->w, d->pad_h, d->pad_w, buf);
    c->cpu->k->conv_correlate(
        buf, d->w + 2 * d->pad_w, d->k, c->w + f0 * d->crs, d->crs, c->off,
        c->bias ? c->bias + f0 : NULL, 0.0f, c->y + n * d->k * d->pq, d->p, d->q);
    return UAE_OK;
}

/* The input gradient of a stride-1 convolution is itself a stride-1 correlation: of dy, padded by
 * R-1-pad_h and S-1-pad_w, with the filters flipped and input/output channels swapped. */
static uae_status direct_bwd_data_task(const void *vctx, int64_t n, float *buf,
                                       float *gemm_scratch, int gemm_threads) {
    (void)gemm_scratch, (void)gemm_threads;
    const conv_ctx *c = vctx;
    const conv_geom *d = &c->d;
    int64_t g = n / d->per_set, ph = d->r - 1 - d->pad_h, pw = d->s - 1 - d->pad_w;
    pad_planes(c->dy + n * d->k * d->pq, d->k, d->p, d->q, ph, pw, buf);
    c->cpu->k->conv_correlate(
        buf, d->q + 2 * pw, d->c, c->wt + g * d->c * d->k * d->r * d->s, d->k * d->r * d->s,
        c->off, NULL, c->beta, c->dx + n * d->c * d->h * d->w, d->h, d->w);
    return UAE_OK;
}

/* Part j of weight set g: dw[k][t] = sum over its images of dot(dy[n][k], xp[n] shifted by tap t),
 * with dy laid out at the padded row length (zeros in the dropped columns). */
static uae_status direct_bwd_weight_task(const void *vctx, int64_t task, float *buf,
                                         float *gemm_scratch, int gemm_threads) {
    (void)gemm_scratch, (void)gemm_threads;
    const conv_ctx *c = vctx;
    const conv_geom *d = &c->d;
    int64_t g = task / c->parts, j = task % c->parts;
    int64_t first = g * d->per_set + j * d->per_set / c->parts;
    int64_t end = g * d->per_set + (j + 1) * d->per_set / c->parts;
    int64_t wp = d->w + 2 * d->pad_w, len = (d->p * wp + 31) / 32 * 32;
    float *dw = c->part_dw + task * d->k * d->crs, *db = c->part_db + task * d->k;
    float *xp = buf, *dyp = buf + padded_floats(d->c, d->h, d->w, d->pad_h, d->pad_w);
    for (int64_t n = first; n < end; n++) {
        const float *dyn = c->dy + n * d->k * d->pq;
        pad_planes(c->x + n * d->c * d->h * d->w, d->c, d->h, d->w, d->pad_h, d->pad_w, xp);
        for (int64_t k = 0; k < d->k; k++) {
            float *row = dyp + k * len;
            memset(row, 0, (size_t)len * sizeof(float));
            for (int64_t p = 0; p < d->p; p++)
                memcpy(row + p * wp, dyn + (k * d->p + p) * d->q, (size_t)d->q * sizeof(float));
        }
        /* All K rows at once: the kernel reuses each load of xp for several filters. */
        c->cpu->k->conv_dots(dyp, d->k, len, xp, c->off, d->crs, n != first, dw);
        bias_grad_add(dyn, d->k, d->pq, n != first, db);
    }
    return UAE_OK;
}

/* Offsets of taps (c, r, s) into padded planes of size hp x wp. The caller frees them; NULL when
 * out of memory. */
static int64_t *tap_offsets(int64_t c, int64_t r, int64_t s, int64_t hp, int64_t wp) {
    int64_t *off = malloc((size_t)(c * r * s) * sizeof *off);
    if (!off) return NULL;
    for (int64_t i = 0; i < c; i++)
        for (int64_t j = 0; j < r; j++)
            for (int64_t k = 0; k < s; k++) off[(i * r + j) * s + k] = (i * hp + j) * wp + k;
    return off;
}


/* y[n] (K, P*Q) = W_g (K, C*R*S) @ col(x[n]) (C*R*S, P*Q) + bias_g. */
static uae_status conv_fwd_task(const void *vctx, int64_t n, float *col, float *gemm_scratch,
                                int gemm_threads) {
    const conv_ctx *c = vctx;
    const conv_geom *d = &c->d;
    const float *xn = c->x + n * d->c * d->h * d->w;
    int64_t f0 = n / d->per_set * d->k; /* first filter of this image's weight set */
    float *yn = c->y + n * d->k * d->pq;
    const float *b = xn;
    if (!conv_pointwise(d)) {
        im2col(d, xn, col);
        b = col;
    }
    if (c->bias)
        for (int64_t k = 0; k < d->k; k++)
            for (int64_t i = 0; i < d->pq; i++) yn[k * d->pq + i] = c->bias[f0 + k];
    uae_sgemm_args a = {
        .m = d->k, .n = d->pq, .k = d->crs, .alpha = 1.0f,
        .a = c->w + f0 * d->crs, .lda = d->crs, .b = b, .ldb = d->pq,
        .beta = c->bias ? 1.0f : 0.0f, .c = yn, .ldc = d->pq,
    };
    return task_gemm(c->cpu, &a, gemm_scratch, gemm_threads);
}

uae_status uae_conv2d_omp(cpu_ctx *ctx, const uae_op *op) {
    conv_ctx c = {
        .cpu = ctx,
        .d = conv_geom_of(op->src[0], op->src[1], op->dst[0], &op->p.conv),
        .x = uae_cpu_data(op->src[0]), .w = uae_cpu_data(op->src[1]),
        .bias = op->src[2] ? uae_cpu_data(op->src[2]) : NULL, .y = uae_cpu_data(op->dst[0]),
    };
    const conv_geom *d = &c.d;
    if (conv_direct(ctx, d)) {
        int64_t *off = tap_offsets(d->c, d->r, d->s, d->h + 2 * d->pad_h, d->w + 2 * d->pad_w);
        if (!off) return uae_fail(UAE_ERR_NOMEM, "conv2d_omp: out of memory");
        c.off = off;
        uae_status st = run_tasks(ctx, "conv2d_omp", d->n,
                                  (size_t)padded_floats(d->c, d->h, d->w, d->pad_h, d->pad_w), 0,
                                  direct_fwd_task, &c);
        free(off);
        return st;
    }
    size_t col = conv_pointwise(d) ? 0 : (size_t)(d->crs * d->pq);
    return run_tasks(ctx, "conv2d_omp", d->n, col, uae_sgemm_scratch_floats(ctx->k, d->k, d->pq, d->crs),
                     conv_fwd_task, &c);
}

/* ---- Gradient with respect to the input ------------------------------------------------------ */

/* dcol (C*R*S, P*Q) = W_g^T @ dy[n] (K, P*Q); dx[n] = beta*dx[n] + col2im(dcol). */
static uae_status conv_bwd_data_task(const void *vctx, int64_t n, float *col, float *gemm_scratch,
                                     int gemm_threads) {
    const conv_ctx *c = vctx;
    const conv_geom *d = &c->d;
    int64_t f0 = n / d->per_set * d->k, plane = d->c * d->h * d->w;
    float *dxn = c->dx + n * plane;
    uae_sgemm_args a = {
        .trans_a = true, .m = d->crs, .n = d->pq, .k = d->k, .alpha = 1.0f,
        .a = c->w + f0 * d->crs, .lda = d->crs, .b = c->dy + n * d->k * d->pq, .ldb = d->pq,
        .beta = 0.0f, .c = col, .ldc = d->pq,
    };
    if (conv_pointwise(d)) { /* col2im is the identity: the GEMM accumulates into dx itself */
        a.beta = c->beta;
        a.c = dxn;
        return task_gemm(c->cpu, &a, gemm_scratch, gemm_threads);
    }
    UAE_TRY(task_gemm(c->cpu, &a, gemm_scratch, gemm_threads));
    if (c->beta == 0.0f) /* dx is not read: NaNs in it do not propagate */
        memset(dxn, 0, (size_t)plane * sizeof(float));
    else if (c->beta != 1.0f)
        for (int64_t i = 0; i < plane; i++) dxn[i] *= c->beta;
    col2im_add(d, col, dxn);
    return UAE_OK;
}

uae_status uae_conv2d_bwd_data_omp(cpu_ctx *ctx, const uae_op *op) {
    conv_ctx c = {
        .cpu = ctx,
        .d = conv_geom_of(op->dst[0], op->src[1], op->src[0], &op->p.conv),
        .beta = op->p.conv.beta,
        .dy = uae_cpu_data(op->src[0]), .w = uae_cpu_data(op->src[1]),
        .dx = uae_cpu_data(op->dst[0]),
    };
    const conv_geom *d = &c.d;
    if (conv_direct(ctx, d)) {
        int64_t ph = d->r - 1 - d->pad_h, pw = d->s - 1 - d->pad_w, taps = d->k * d->r * d->s;
        int64_t *off = tap_offsets(d->k, d->r, d->s, d->p + 2 * ph, d->q + 2 * pw);
        float *wt = malloc((size_t)(d->g * d->c * taps) * sizeof(float));
        if (!off || !wt) {
            free(off);
            free(wt);
            return uae_fail(UAE_ERR_NOMEM, "conv2d_bwd_data_omp: out of memory");
        }
        /* wt[g][c][k][r][s] = w[g*K + k][c][R-1-r][S-1-s] */
        for (int64_t g = 0; g < d->g; g++)
            for (int64_t ch = 0; ch < d->c; ch++)
                for (int64_t k = 0; k < d->k; k++)
                    for (int64_t r = 0; r < d->r; r++)
                        for (int64_t s = 0; s < d->s; s++)
                            wt[(((g * d->c + ch) * d->k + k) * d->r + r) * d->s + s] =
                                c.w[(((g * d->k + k) * d->c + ch) * d->r + d->r - 1 - r) * d->s +
                                    d->s - 1 - s];
        c.off = off;
        c.wt = wt;
        uae_status st = run_tasks(ctx, "conv2d_bwd_data_omp", d->n,
                                  (size_t)padded_floats(d->k, d->p, d->q, ph, pw), 0,
                                  direct_bwd_data_task, &c);
        free(off);
        free(wt);
        return st;
    }
    size_t col = conv_pointwise(d) ? 0 : (size_t)(d->crs * d->pq);
    return run_tasks(ctx, "conv2d_bwd_data_omp", d->n, col,
                     uae_sgemm_scratch_floats(ctx->k, d->crs, d->pq, d->k), conv_bwd_data_task, &c);
}

/* ---- Gradient with respect to the weights ---------------------------------------------------- */

/* The images of each weight set are split into this many consecutive parts (fewer if the set has
 * fewer images). Parts are summed separately, in parallel, then added in part order: a fixed
 * partition, so the bits do not depend on the thread count. 16 parts keep 16 cores busy for one
 * weight set; each costs one (K, C*R*S) buffer. */
enum { DW_PARTS = 16 };

/* Task (g, j): part j of weight set g accumulates dy[n] (K, P*Q) @ col(x[n])^T (P*Q, C*R*S) and the
 * sums of dy[n] over its images, in image order. */
static uae_status conv_bwd_weight_task(const void *vctx, int64_t task, float *col,
                                       float *gemm_scratch, int gemm_threads) {
    const conv_ctx *c = vctx;
    const conv_geom *d = &c->d;
    int64_t g = task / c->parts, j = task % c->parts;
    int64_t first = g * d->per_set + j * d->per_set / c->parts;
    int64_t end = g * d->per_set + (j + 1) * d->per_set / c->parts;
    float *dw = c->part_dw + task * d->k * d->crs, *db = c->part_db + task * d->k;
    for (int64_t n = first; n < end; n++) {
        const float *xn = c->x + n * d->c * d->h * d->w, *dyn = c->dy + n * d->k * d->pq;
        const float *b = xn;
        if (!conv_pointwise(d)) {
            im2col(d, xn, col);
            b = col;
        }
        uae_sgemm_args a = {
            .trans_b = true, .m = d->k, .n = d->crs, .k = d->pq, .alpha = 1.0f,
            .a = dyn, .lda = d->pq, .b = b, .ldb = d->pq,
            .beta = n == first ? 0.0f : 1.0f, .c = dw, .ldc = d->crs,
        };
        UAE_TRY(task_gemm(c->cpu, &a, gemm_scratch, gemm_threads));
        bias_grad_add(dyn, d->k, d->pq, n != first, db);
    }
    return UAE_OK;
}

uae_status uae_conv2d_bwd_weight_omp(cpu_ctx *ctx, const uae_op *op) {
    conv_ctx c = {
        .cpu = ctx,
        .d = conv_geom_of(op->src[0], op->dst[0], op->src[1], &op->p.conv),
        .beta = op->p.conv.beta,
        .x = uae_cpu_data(op->src[0]), .dy = uae_cpu_data(op->src[1]),
    };
    const conv_geom *d = &c.d;
    float *dw = uae_cpu_data(op->dst[0]);
    float *db = op->dst[1] ? uae_cpu_data(op->dst[1]) : NULL;
    c.parts = d->per_set < DW_PARTS ? d->per_set : DW_PARTS;
    int64_t tasks = d->g * c.parts, filter = d->k * d->crs;
    size_t bytes = (size_t)(tasks * (filter + d->k)) * sizeof(float);
    c.part_dw = malloc(bytes);
    if (!c.part_dw)
        return uae_fail(UAE_ERR_NOMEM, "conv2d_bwd_weight_omp: cannot allocate %zu bytes", bytes);
    c.part_db = c.part_dw + tasks * filter;
    uae_status st;
    if (conv_direct(ctx, d)) {
        int64_t wp = d->w + 2 * d->pad_w, len = (d->p * wp + 31) / 32 * 32;
        int64_t *off = tap_offsets(d->c, d->r, d->s, d->h + 2 * d->pad_h, wp);
        if (!off) {
            free(c.part_dw);
            return uae_fail(UAE_ERR_NOMEM, "conv2d_bwd_weight_omp: out of memory");
        }
        c.off = off;
        size_t buf = (size_t)(padded_floats(d->c, d->h, d->w, d->pad_h, d->pad_w) + d->k * len);
        st = run_tasks(ctx, "conv2d_bwd_weight_omp", tasks, buf, 0, direct_bwd_weight_task, &c);
        free(off);
    } else {
        size_t col = conv_pointwise(d) ? 0 : (size_t)(d->crs * d->pq);
        st = run_tasks(ctx, "conv2d_bwd_weight_omp", tasks, col,
                       uae_sgemm_scratch_floats(ctx->k, d->k, d->crs, d->pq), conv_bwd_weight_task, &c);
    }
    if (st == UAE_OK) {
        /* dw_g = beta*dw_g + (((part 0 + part 1) + part 2) + ...), element by element. */
        float beta = c.beta;
        int64_t parts = c.parts;
        UAE_OMP(omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op)))
        for (int64_t e = 0; e < d->g * filter; e++) {
            int64_t g = e / filter, i = e % filter;
            const float *part = c.part_dw + g * parts * filter + i;
            float sum = part[0];
            for (int64_t j = 1; j < parts; j++) sum += part[j * filter];
            dw[e] = beta == 0.0f ? sum : sum + beta * dw[e];
        }
        if (db)
            for (int64_t f = 0; f < d->g * d->k; f++) {
                int64_t g = f / d->k, k = f % d->k;
                const float *part = c.part_db + g * parts * d->k + k;
                float sum = part[0];
                for (int64_t j = 1; j < parts; j++) sum += part[j * d->k];
                db[f] = beta == 0.0f ? sum : sum + beta * db[f];
            }
    }
    free(c.part_dw);
    return st;
}

/* ---- Pooling and upsampling ------------------------------------------------------------------ */

/* The reference's choice in a 2 x 2 window (argmax2x2 in ref_spatial.c): the first maximum in
 * row-major order wins. Here without branches, which mispredicted on real data: a later value
 * replaces the one kept only when it is greater, so the first of equal values stays and a NaN
 * never replaces nor is replaced, bit for bit as the reference; GCC vectorises it (x86: maxps has
 * exactly these semantics). */
static inline float keep_greater(float v, float x) { return x > v ? x : v; }

uae_status uae_maxpool2_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *xt = op->src[0], *yt = op->dst[0];
    const float *x = uae_cpu_data(xt);
    float *y = uae_cpu_data(yt);
    int64_t planes = xt->shape[0] * xt->shape[1], h = xt->shape[2], w = xt->shape[3];
    int64_t ho = yt->shape[2], wo = yt->shape[3];
    UAE_OMP(omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op)))
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < ho; i++) {
            const float *r0 = x + (pl * h + 2 * i) * w, *r1 = r0 + w;
            float *out = y + (pl * ho + i) * wo;
            for (int64_t j = 0; j < wo; j++)
                out[j] = keep_greater(keep_greater(keep_greater(r0[2 * j], r0[2 * j + 1]), r1[2 * j]),
                                      r1[2 * j + 1]);
        }
    return UAE_OK;
}

uae_status uae_maxpool2_bwd_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *xt = op->src[0], *dyt = op->src[1];
    const float *x = uae_cpu_data(xt), *dy = uae_cpu_data(dyt);
    float *dx = uae_cpu_data(op->dst[0]);
    int64_t planes = xt->shape[0] * xt->shape[1], h = xt->shape[2], w = xt->shape[3];
    int64_t ho = dyt->shape[2], wo = dyt->shape[3];
    UAE_OMP(omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op)))
    for (int64_t pl = 0; pl < planes; pl++) {
        float *dxp = dx + pl * h * w;
        /* Every element of the 2 x 2 windows is written, dy at the window's argmax (the rule of
         * keep_greater) and 0 elsewhere, without branches on the data; a dropped last row or
         * column (odd h, w) is cleared apart. */
        if (h != 2 * ho) memset(dxp + 2 * ho * w, 0, (size_t)w * sizeof(float));
        for (int64_t i = 0; i < ho; i++) {
            const float *restrict r0 = x + (pl * h + 2 * i) * w, *restrict r1 = r0 + w;
            const float *restrict g = dy + (pl * ho + i) * wo;
            float *restrict d0 = dxp + 2 * i * w, *restrict d1 = d0 + w;
            for (int64_t j = 0; j < wo; j++) {
                /* m: the value kept (keep_greater); the gradient goes to the first element
                 * equal to it, in row-major order. The first element is it also when it is a
                 * NaN (then m is that NaN: a NaN is never replaced); a later NaN never is. */
                float a = r0[2 * j], b = r0[2 * j + 1], c = r1[2 * j], d = r1[2 * j + 1];
                float m = keep_greater(keep_greater(keep_greater(a, b), c), d);
                float rest = g[j];
                d0[2 * j] = !(a < m) ? rest : 0.0f;
                rest = !(a < m) ? 0.0f : rest;
                d0[2 * j + 1] = b == m ? rest : 0.0f;
                rest = b == m ? 0.0f : rest;
                d1[2 * j] = c == m ? rest : 0.0f;
                d1[2 * j + 1] = c == m ? 0.0f : rest;
            }
            if (w != 2 * wo) d0[w - 1] = d1[w - 1] = 0.0f;
        }
    }
    return UAE_OK;
}

uae_status uae_upsample2_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *xt = op->src[0];
    const float *x = uae_cpu_data(xt);
    float *y = uae_cpu_data(op->dst[0]);
    int64_t planes = xt->shape[0] * xt->shape[1], h = xt->shape[2], w = xt->shape[3];
    UAE_OMP(omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op)))
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < h; i++) {
            const float *src = x + (pl * h + i) * w;
            float *top = y + (pl * 2 * h + 2 * i) * 2 * w;
            for (int64_t j = 0; j < w; j++) top[2 * j] = top[2 * j + 1] = src[j];
            memcpy(top + 2 * w, top, (size_t)(2 * w) * sizeof(float));
        }
    return UAE_OK;
}

uae_status uae_upsample2_bwd_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_tensor *dxt = op->dst[0];
    const float *dy = uae_cpu_data(op->src[0]);
    float *dx = uae_cpu_data(dxt);
    int64_t planes = dxt->shape[0] * dxt->shape[1], h = dxt->shape[2], w = dxt->shape[3];
    UAE_OMP(omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op)))
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < h; i++) {
            const float *top = dy + (pl * 2 * h + 2 * i) * 2 * w, *bottom = top + 2 * w;
            float *out = dx + (pl * h + i) * w;
            /* The reference's order: (top-left + top-right) + bottom-left + bottom-right. */
            for (int64_t j = 0; j < w; j++)
                out[j] = ((top[2 * j] + top[2 * j + 1]) + bottom[2 * j]) + bottom[2 * j + 1];
        }
    return UAE_OK;
}
