/* backends/cpu/ref_spatial.c — the scalar references of the matrix and image ops: GEMM, 2-D
 * convolution and its two gradients, 2x2 max pooling, 2x upsampling. They are the oracle of the
 * tests: plain loops that follow ops.h word for word, one float sum per output in a fixed order.
 * Not fast, and not meant to be; the OpenMP versions are in omp_gemm.c and omp_spatial.c. */
#include "backends/cpu/cpu_ops.h"

/* ---- GEMM ------------------------------------------------------------------------------------ */

/* Element (i, j) of op(A) @ op(B) for one batch (a, b at its start): the sum over k in order. */
static float gemm_dot_ref(const uae_gemm_params *g, const float *a, const float *b, int64_t i,
                          int64_t j) {
    float sum = 0.0f;
    for (int64_t p = 0; p < g->k; p++) {
        float x = g->trans_a ? a[p * g->lda + i] : a[i * g->lda + p];
        float y = g->trans_b ? b[j * g->ldb + p] : b[p * g->ldb + j];
        sum += x * y;
    }
    return sum;
}

uae_status uae_gemm_ref(const uae_op *op) {
    const uae_gemm_params *g = &op->p.gemm;
    const float *a = uae_cpu_data(op->src[0]), *b = uae_cpu_data(op->src[1]);
    float *c = uae_cpu_data(op->dst[0]);
    /* Leading dimensions and strides are explicit here (uae_op_normalise). */
    for (int64_t bi = 0; bi < g->batch; bi++) {
        const float *ab = a + bi * g->stride_a, *bb = b + bi * g->stride_b;
        float *cb = c + bi * g->stride_c;
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                float sum = gemm_dot_ref(g, ab, bb, i, j);
                float *out = &cb[i * g->ldc + j];
                /* beta == 0: C is not read, so NaNs in it do not propagate. */
                *out = g->beta == 0.0f ? g->alpha * sum : g->alpha * sum + g->beta * *out;
            }
    }
    return UAE_OK;
}

/* Each element: the product as uae_gemm_ref computes it (beta = 0), then the optimizer's update
 * as uae_optim_ref computes it. */
uae_status uae_gemm_optim_ref(const uae_op *op) {
    const uae_gemm_params *g = &op->p.gemm_optim.gemm;
    const uae_optim_params *o = &op->p.gemm_optim.optim;
    const uae_optim_consts c = uae_optim_consts_of(o);
    const float *a = uae_cpu_data(op->src[0]), *b = uae_cpu_data(op->src[1]);
    float *p = uae_cpu_data(op->dst[0]);
    float *s1, *s2;
    uae_cpu_optim_states(op, o, &s1, &s2);
    for (int64_t bi = 0; bi < g->batch; bi++)
        for (int64_t i = 0; i < g->m; i++)
            for (int64_t j = 0; j < g->n; j++) {
                float grad = g->alpha * gemm_dot_ref(g, a + bi * g->stride_a, b + bi * g->stride_b,
                                                     i, j);
                uae_cpu_optim_at(o->fn, &c, grad, p, s1, s2, bi * g->stride_c + i * g->ldc + j);
            }
    return UAE_OK;
}

/* ---- Convolution ----------------------------------------------------------------------------- */

/* The sizes every convolution op needs, from x (N, C, H, W), w (G*K, C, R, S), y (N, K, P, Q). */
typedef struct conv_dims {
    int64_t n, c, h, w;      /* input */
    int64_t k, r, s;         /* filters per weight set, filter height and width */
    int64_t p, q;            /* output height and width */
    int64_t g;               /* weight sets; images [i*N/G, (i+1)*N/G) use set i */
} conv_dims;

static conv_dims conv_dims_of(const uae_tensor *x, const uae_tensor *w, const uae_tensor *y,
                              const uae_conv_params *cp) {
    conv_dims d = {
        .n = x->shape[0], .c = x->shape[1], .h = x->shape[2], .w = x->shape[3],
        .k = y->shape[1], .r = w->shape[2], .s = w->shape[3],
        .p = y->shape[2], .q = y->shape[3], .g = cp->wsets,
    };
    return d;
}

uae_status uae_conv2d_ref(const uae_op *op) {
    const uae_conv_params *cp = &op->p.conv;
    conv_dims d = conv_dims_of(op->src[0], op->src[1], op->dst[0], cp);
    const float *x = uae_cpu_data(op->src[0]), *w = uae_cpu_data(op->src[1]);
    const float *bias = op->src[2] ? uae_cpu_data(op->src[2]) : NULL;
    float *y = uae_cpu_data(op->dst[0]);
    int64_t per_set = d.n / d.g;
    for (int64_t n = 0; n < d.n; n++) {
        int64_t f0 = (n / per_set) * d.k; /* first filter of this image's weight set */
        for (int64_t k = 0; k < d.k; k++)
            for (int64_t p = 0; p < d.p; p++)
                for (int64_t q = 0; q < d.q; q++) {
                    float sum = 0.0f;
                    for (int64_t c = 0; c < d.c; c++)
                        for (int64_t r = 0; r < d.r; r++)
                            for (int64_t s = 0; s < d.s; s++) {
                                int64_t ih = p * cp->stride_h - cp->pad_h + r;
                                int64_t iw = q * cp->stride_w - cp->pad_w + s;
                                if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) continue;
                                sum += x[((n * d.c + c) * d.h + ih) * d.w + iw] *
                                       w[(((f0 + k) * d.c + c) * d.r + r) * d.s + s];
                            }
                    if (bias) sum += bias[f0 + k];
                    y[((n * d.k + k) * d.p + p) * d.q + q] = sum;
                }
    }
    return UAE_OK;
}

/* Gathers, for one input pixel, every (output pixel, filter tap) pair that read it: a "pull"
 * formulation, so that each dx element is one sum and the reference needs no scatter. */
uae_status uae_conv2d_bwd_data_ref(const uae_op *op) {
    const uae_conv_params *cp = &op->p.conv;
    conv_dims d = conv_dims_of(op->dst[0], op->src[1], op->src[0], cp);
    const float *dy = uae_cpu_data(op->src[0]), *w = uae_cpu_data(op->src[1]);
    float *dx = uae_cpu_data(op->dst[0]);
    int64_t per_set = d.n / d.g;
    for (int64_t n = 0; n < d.n; n++) {
        int64_t f0 = (n / per_set) * d.k;
        for (int64_t c = 0; c < d.c; c++)
            for (int64_t ih = 0; ih < d.h; ih++)
                for (int64_t iw = 0; iw < d.w; iw++) {
                    float sum = 0.0f;
                    for (int64_t k = 0; k < d.k; k++)
                        for (int64_t r = 0; r < d.r; r++)
                            for (int64_t s = 0; s < d.s; s++) {
                                /* Output pixel (p, q) reads input ih = p*stride - pad + r. */
                                int64_t th = ih + cp->pad_h - r, tw = iw + cp->pad_w - s;
                                if (th < 0 || tw < 0 || th % cp->stride_h || tw % cp->stride_w)
                                    continue;
                                int64_t p = th / cp->stride_h, q = tw / cp->stride_w;
                                if (p >= d.p || q >= d.q) continue;
                                sum += dy[((n * d.k + k) * d.p + p) * d.q + q] *
                                       w[(((f0 + k) * d.c + c) * d.r + r) * d.s + s];
                            }
                    float *out = &dx[((n * d.c + c) * d.h + ih) * d.w + iw];
                    *out = cp->beta == 0.0f ? sum : sum + cp->beta * *out;
                }
    }
    return UAE_OK;
}

uae_status uae_conv2d_bwd_weight_ref(const uae_op *op) {
    const uae_conv_params *cp = &op->p.conv;
    conv_dims d = conv_dims_of(op->src[0], op->dst[0], op->src[1], cp);
    const float *x = uae_cpu_data(op->src[0]), *dy = uae_cpu_data(op->src[1]);
    float *dw = uae_cpu_data(op->dst[0]);
    float *db = op->dst[1] ? uae_cpu_data(op->dst[1]) : NULL;
    int64_t per_set = d.n / d.g;
    for (int64_t g = 0; g < d.g; g++)
        for (int64_t k = 0; k < d.k; k++) {
            int64_t f = g * d.k + k;
            for (int64_t c = 0; c < d.c; c++)
                for (int64_t r = 0; r < d.r; r++)
                    for (int64_t s = 0; s < d.s; s++) {
                        float sum = 0.0f;
                        for (int64_t n = g * per_set; n < (g + 1) * per_set; n++)
                            for (int64_t p = 0; p < d.p; p++)
                                for (int64_t q = 0; q < d.q; q++) {
                                    int64_t ih = p * cp->stride_h - cp->pad_h + r;
                                    int64_t iw = q * cp->stride_w - cp->pad_w + s;
                                    if (ih < 0 || ih >= d.h || iw < 0 || iw >= d.w) continue;
                                    sum += x[((n * d.c + c) * d.h + ih) * d.w + iw] *
                                           dy[((n * d.k + k) * d.p + p) * d.q + q];
                                }
                        float *out = &dw[((f * d.c + c) * d.r + r) * d.s + s];
                        *out = cp->beta == 0.0f ? sum : sum + cp->beta * *out;
                    }
            if (db) {
                float sum = 0.0f;
                for (int64_t n = g * per_set; n < (g + 1) * per_set; n++)
                    for (int64_t pq = 0; pq < d.p * d.q; pq++)
                        sum += dy[(n * d.k + k) * d.p * d.q + pq];
                db[f] = cp->beta == 0.0f ? sum : sum + cp->beta * db[f];
            }
        }
    return UAE_OK;
}

/* ---- Pooling and upsampling ------------------------------------------------------------------ */

/* Index (0..3, row-major) of the first maximum of a 2x2 window whose top-left is v[0], rows ld
 * apart. Shared by the forward and backward reference so that they agree on ties. */
static int argmax2x2(const float *v, int64_t ld) {
    const float cand[4] = {v[0], v[1], v[ld], v[ld + 1]};
    int best = 0;
    for (int i = 1; i < 4; i++)
        if (cand[i] > cand[best]) best = i;
    return best;
}

uae_status uae_maxpool2_ref(const uae_op *op) {
    const uae_tensor *xt = op->src[0], *yt = op->dst[0];
    const float *x = uae_cpu_data(xt);
    float *y = uae_cpu_data(yt);
    int64_t planes = xt->shape[0] * xt->shape[1], h = xt->shape[2], w = xt->shape[3];
    int64_t ho = yt->shape[2], wo = yt->shape[3];
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < ho; i++)
            for (int64_t j = 0; j < wo; j++) {
                const float *v = &x[(pl * h + 2 * i) * w + 2 * j];
                int a = argmax2x2(v, w);
                y[(pl * ho + i) * wo + j] = v[(a / 2) * w + a % 2];
            }
    return UAE_OK;
}

uae_status uae_maxpool2_bwd_ref(const uae_op *op) {
    const uae_tensor *xt = op->src[0], *dyt = op->src[1];
    const float *x = uae_cpu_data(xt), *dy = uae_cpu_data(dyt);
    float *dx = uae_cpu_data(op->dst[0]);
    int64_t planes = xt->shape[0] * xt->shape[1], h = xt->shape[2], w = xt->shape[3];
    int64_t ho = dyt->shape[2], wo = dyt->shape[3];
    for (int64_t i = 0; i < planes * h * w; i++) dx[i] = 0.0f; /* dropped rows/columns get 0 */
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < ho; i++)
            for (int64_t j = 0; j < wo; j++) {
                int64_t top_left = (pl * h + 2 * i) * w + 2 * j;
                int a = argmax2x2(&x[top_left], w);
                dx[top_left + (a / 2) * w + a % 2] = dy[(pl * ho + i) * wo + j];
            }
    return UAE_OK;
}

uae_status uae_upsample2_ref(const uae_op *op) {
    const uae_tensor *xt = op->src[0];
    const float *x = uae_cpu_data(xt);
    float *y = uae_cpu_data(op->dst[0]);
    int64_t planes = xt->shape[0] * xt->shape[1], h = xt->shape[2], w = xt->shape[3];
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < 2 * h; i++)
            for (int64_t j = 0; j < 2 * w; j++)
                y[(pl * 2 * h + i) * 2 * w + j] = x[(pl * h + i / 2) * w + j / 2];
    return UAE_OK;
}

uae_status uae_upsample2_bwd_ref(const uae_op *op) {
    const uae_tensor *dxt = op->dst[0];
    const float *dy = uae_cpu_data(op->src[0]);
    float *dx = uae_cpu_data(dxt);
    int64_t planes = dxt->shape[0] * dxt->shape[1], h = dxt->shape[2], w = dxt->shape[3];
    for (int64_t pl = 0; pl < planes; pl++)
        for (int64_t i = 0; i < h; i++)
            for (int64_t j = 0; j < w; j++) {
                const float *v = &dy[(pl * 2 * h + 2 * i) * 2 * w + 2 * j];
                /* Summed in row-major order; the OpenMP version uses the same order. */
                dx[(pl * h + i) * w + j] = ((v[0] + v[1]) + v[2 * w]) + v[2 * w + 1];
            }
    return UAE_OK;
}
