/* models/model_simclr.c — a small SimCLR (Chen et al. 2020) sized for a CPU: a CNN encoder whose
 * representation is probed linearly, a projection head, and NT-Xent over two augmented views of
 * every image. Not here: the linear probe (the trainer's), the choice of the attack's negatives
 * (models/attack.c).
 *
 *   encoder: Conv(32, 3x3 same, ReLU) -> MaxPool 2 -> Conv(64, 3x3 same, ReLU) -> MaxPool 2
 *            -> Flatten -> Dense(128, ReLU)                       (the representation, embed)
 *   head:    Dense(128, ReLU) -> Dense(64)                          (the embedding, forward)
 * NT-Xent at temperature 0.5; Adam lr 1e-3; 20 epochs of 128 images (256 views).
 * Parameters: conv1 (32, C, 3, 3), conv2 (64, 32, 3, 3), rep (128, 64 * H/4 * W/4), proj1
 * (128, 128), proj2 (64, 128), each with its bias.
 *
 * Augmentation of one view, from 8 uniforms u (6 used):
 *   random resized crop: a window of area fraction s ~ U(0.6, 1) and the image's aspect ratio at
 *   a uniform position, resized back to H x W by nearest-neighbour sampling (enough at 28 x 28);
 *   horizontal flip with probability 1/2; brightness +U(-0.2, 0.2) and contrast x U(0.8, 1.2)
 *   about the view's mean; clipped to [0, 1].
 * Three losses use it:
 *   training: NT-Xent of a batch of B images over 2B views, both augmented on the host (numbers at
 *     (seed, AUGMENT stream, step * 2B * 8 + view * 8), view = v * B + i for view v of sample i);
 *   evaluation (no negatives): the first view is x itself, the second an augmented view of
 *     batch.target (the clean images), or of x if there is no target; the batch's other samples
 *     are the negatives;
 *   the attack (batch.negatives): two views of each x_i, their parameters fixed by (seed, VIEWS
 *     stream, global index), computed on the tape so that the loss is differentiable with respect
 *     to x, against a fixed set of negatives (their embeddings computed once, simclr_negatives).
 * The per-sample loss is the mean of the NT-Xent losses of a sample's two views. */
#include "model_impl.h"

#include <math.h>
#include <stdlib.h>

#include "uae/rng.h"

enum { SIM_CONV1, SIM_CONV2, SIM_REP, SIM_PROJ1, SIM_PROJ2 };
#define AUG_NUMBERS 8 /* uniforms drawn per view (6 used) */

static void simclr_defaults(uae_model_config *cfg) {
    cfg->tau = 0.5f;
    cfg->opt = uae_optimizer_default(UAE_OPTIM_ADAM);
    cfg->epochs = 20;
    cfg->batch = 128;
}

static uae_status simclr_declare(uae_model *m) {
    int c = m->cfg.channels, h = m->cfg.height / 4, w = m->cfg.width / 4;
    if (h < 1 || w < 1)
        return uae_fail(UAE_ERR_SHAPE, "simclr-small: input %d x %d, expected at least 4 x 4",
                        m->cfg.height, m->cfg.width);
    if (!(m->cfg.tau > 0.0f))
        return uae_fail(UAE_ERR_INVALID, "simclr-small: temperature %g", (double)m->cfg.tau);
    uae_model_add_conv(m, "conv1", 32, c, 3);
    uae_model_add_conv(m, "conv2", 64, 32, 3);
    uae_model_add_dense(m, "rep", 128, (int64_t)64 * h * w);
    uae_model_add_dense(m, "proj1", 128, 128);
    uae_model_add_dense(m, "proj2", 64, 128);
    return UAE_OK;
}

static uae_var *simclr_embed(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x) {
    uae_var *h = uae_model_conv(m, t, pv, SIM_CONV1, uae_model_as_images(m, t, x), true, UAE_ACT_RELU);
    h = uae_model_conv(m, t, pv, SIM_CONV2, uae_ad_maxpool2(t, h), true, UAE_ACT_RELU);
    h = uae_model_flatten(t, uae_ad_maxpool2(t, h));
    return uae_model_dense(m, t, pv, SIM_REP, h, UAE_ACT_RELU);
}

static uae_var *simclr_first(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x) {
    return uae_model_conv(m, t, pv, SIM_CONV1, uae_model_as_images(m, t, x), true, UAE_ACT_RELU);
}

static uae_var *simclr_forward(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                               const uae_batch *b) {
    (void)b;
    uae_var *h = uae_model_dense(m, t, pv, SIM_PROJ1, simclr_embed(m, t, pv, x), UAE_ACT_RELU);
    return uae_model_dense(m, t, pv, SIM_PROJ2, h, UAE_ACT_NONE);
}

/* The parameters of one augmented view, from the uniforms u: the crop window, the flip and the
 * brightness / contrast change. The host augmentation (training) and the one on the tape (the
 * attack) both read a view through this and view_row / view_col, so they draw the same views. */
typedef struct aug_view {
    int top, left, ch, cw; /* the crop window: rows top .. top + ch - 1, columns left .. */
    bool flip;
    float bright, contrast;
} aug_view;

static aug_view aug_view_of(const float *u, int hh, int ww) {
    aug_view v;
    double s = 0.6 + 0.4 * u[0];
    v.ch = (int)lround(sqrt(s) * hh);
    v.cw = (int)lround(sqrt(s) * ww);
    if (v.ch < 1) v.ch = 1;
    if (v.cw < 1) v.cw = 1;
    v.top = (int)(u[1] * (float)(hh - v.ch + 1));
    v.left = (int)(u[2] * (float)(ww - v.cw + 1));
    /* u < 1, but keep the window inside whatever the rounding */
    if (v.top > hh - v.ch) v.top = hh - v.ch;
    if (v.left > ww - v.cw) v.left = ww - v.cw;
    v.flip = u[3] < 0.5f;
    v.bright = 0.4f * (u[4] - 0.5f);
    v.contrast = 0.8f + 0.4f * u[5];
    return v;
}

/* The source row of the view's row i, and the source column of its column j (nearest neighbour
 * in the crop window, mirrored if flipped). */
static int view_row(const aug_view *v, int hh, int i) {
    return v->top + (int)((i + 0.5) * v->ch / hh);
}

static int view_col(const aug_view *v, int ww, int j) {
    int jj = v->flip ? ww - 1 - j : j;
    return v->left + (int)((jj + 0.5) * v->cw / ww);
}

/* One augmented view of image x (C, H, W) into out, from the uniforms u, on the host. */
static void augment_one(const float *x, float *out, int c, int hh, int ww, const float *u) {
    aug_view v = aug_view_of(u, hh, ww);
    double sum = 0.0;
    for (int k = 0; k < c; k++)
        for (int i = 0; i < hh; i++)
            for (int j = 0; j < ww; j++) {
                float p = x[((size_t)k * hh + (size_t)view_row(&v, hh, i)) * ww +
                            (size_t)view_col(&v, ww, j)];
                out[((size_t)k * hh + (size_t)i) * ww + (size_t)j] = p;
                sum += p;
            }
    float mean = (float)(sum / ((double)c * hh * ww));
    for (size_t e = 0; e < (size_t)c * hh * ww; e++) {
        float p = (out[e] - mean) * v.contrast + mean + v.bright;
        out[e] = p < 0.0f ? 0.0f : p > 1.0f ? 1.0f : p;
    }
}

/* Views [v0, v0 + nv) x B of the batch x (B, C, H, W) as one (nv * B, C, H, W) constant. */
static uae_var *augmented_views(uae_model *m, uae_tape *t, const uae_tensor *x, int v0, int nv,
                                const uae_batch *b) {
    int64_t n = x->shape[0], d = uae_tensor_numel(x) / n;
    uae_var *views = uae_ad_new_const(t, 4, (int64_t[]){nv * n, m->cfg.channels, m->cfg.height,
                                                        m->cfg.width});
    uae_var *rnd = uae_ad_new_const(t, 2, (int64_t[]){2 * n, AUG_NUMBERS});
    if (!views || !rnd) return NULL;
    float *hx = malloc((size_t)(n * d) * sizeof *hx), *hv = malloc((size_t)(nv * n * d) * sizeof *hv);
    float *hu = malloc((size_t)(2 * n * AUG_NUMBERS) * sizeof *hu);
    uae_status st = hx && hv && hu ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "simclr: out of host memory");
    if (st == UAE_OK)
        st = uae_rng_fill(UAE_RNG_UNIFORM, b->seed, UAE_STREAM_AUGMENT,
                          b->step * (uint64_t)(2 * n * AUG_NUMBERS), 0.0f, 1.0f, uae_ad_value(rnd));
    if (st == UAE_OK) st = uae_tensor_read(uae_ad_value(rnd), hu);
    if (st == UAE_OK) st = uae_tensor_read(x, hx);
    for (int v = 0; v < nv && st == UAE_OK; v++)
        for (int64_t i = 0; i < n; i++)
            augment_one(hx + i * d, hv + ((int64_t)v * n + i) * d, m->cfg.channels, m->cfg.height,
                        m->cfg.width, hu + ((int64_t)(v0 + v) * n + i) * AUG_NUMBERS);
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(views), hv);
    free(hx);
    free(hv);
    free(hu);
    return st == UAE_OK ? views : uae_tape_fail(t, st);
}

/* The rows of a (n, d) on top of those of c (n, d): [I; 0] a + [0; I] c, so that gradients reach
 * both (the tape has no concatenation op). */
static uae_var *stack_rows(uae_tape *t, uae_var *a, uae_var *c) {
    if (!a || !c) return NULL;
    int64_t n = uae_ad_value(a)->shape[0];
    uae_var *top = uae_ad_new_const(t, 2, (int64_t[]){2 * n, n});
    uae_var *bottom = uae_ad_new_const(t, 2, (int64_t[]){2 * n, n});
    if (!top || !bottom) return NULL;
    float *h = calloc((size_t)(4 * n * n), sizeof *h);
    if (!h) return uae_tape_fail(t, uae_fail(UAE_ERR_NOMEM, "simclr: out of host memory"));
    for (int64_t i = 0; i < n; i++) h[i * n + i] = 1.0f;
    uae_status st = uae_tensor_write(uae_ad_value(top), h);
    for (int64_t i = 0; i < 2 * n * n; i++) h[i] = 0.0f;
    for (int64_t i = 0; i < n; i++) h[(n + i) * n + i] = 1.0f;
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(bottom), h);
    free(h);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    return uae_ad_add(t, uae_ad_matmul(t, top, a, false, false),
                      uae_ad_matmul(t, bottom, c, false, false));
}

/* Views of the n images x (n, C, H, W) on the tape, view i from the uniforms u + i * stride,
 * differentiable with respect to x. The crop, resize and flip of channel k are one product
 *     view_k = R x_k S,   R (H, H): R[i][view_row(i)] = 1,   S (W, W): S[view_col(j)][j] = 1,
 * (0/1 matrices, so the products are exact); the gradient R^T g S^T adds up the gradients of a
 * source pixel that the nearest-neighbour resize uses twice. (A row gather would need distinct
 * indices for its backward scatter, which an enlarging resize does not have.) Then brightness
 * and contrast about the view's mean, (v - mean) * contrast + mean + bright, and the clip. */
static uae_var *views_on_tape(uae_model *m, uae_tape *t, uae_var *x, const float *u,
                              int64_t stride) {
    const int c = m->cfg.channels, hh = m->cfg.height, ww = m->cfg.width;
    if (!x) return NULL;
    const int64_t n = uae_ad_value(x)->shape[0], nc = n * c;
    uae_var *R = uae_ad_new_const(t, 3, (int64_t[]){nc, hh, hh});
    uae_var *S = uae_ad_new_const(t, 3, (int64_t[]){nc, ww, ww});
    uae_var *contrast = uae_ad_new_const(t, 2, (int64_t[]){n, 1});
    uae_var *keep = uae_ad_new_const(t, 2, (int64_t[]){n, 1}); /* 1 - contrast */
    uae_var *bright = uae_ad_new_const(t, 2, (int64_t[]){n, 1});
    if (!R || !S || !contrast || !keep || !bright) return NULL;
    float *hr = calloc((size_t)(nc * hh * hh), sizeof *hr);
    float *hs = calloc((size_t)(nc * ww * ww), sizeof *hs);
    float *hp = malloc((size_t)(3 * n) * sizeof *hp); /* contrast, 1 - contrast, brightness */
    uae_status st = hr && hs && hp ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "simclr: out of host memory");
    for (int64_t i = 0; i < n && st == UAE_OK; i++) {
        aug_view v = aug_view_of(u + i * stride, hh, ww);
        hp[i] = v.contrast;
        hp[n + i] = 1.0f - v.contrast;
        hp[2 * n + i] = v.bright;
        for (int k = 0; k < c; k++) { /* every channel of the image is cropped alike */
            float *r = hr + (i * c + k) * hh * hh, *q = hs + (i * c + k) * ww * ww;
            for (int a = 0; a < hh; a++) r[a * hh + view_row(&v, hh, a)] = 1.0f;
            for (int j = 0; j < ww; j++) q[view_col(&v, ww, j) * ww + j] = 1.0f;
        }
    }
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(R), hr);
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(S), hs);
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(contrast), hp);
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(keep), hp + n);
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(bright), hp + 2 * n);
    free(hr);
    free(hs);
    free(hp);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    uae_var *v = uae_ad_reshape(t, x, 3, (int64_t[]){nc, hh, ww});
    v = uae_ad_matmul(t, uae_ad_matmul(t, R, v, false, false), S, false, false);
    v = uae_ad_reshape(t, v, 2, (int64_t[]){n, (int64_t)c * hh * ww});
    uae_var *mean = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x2, v); /* (n, 1) */
    /* (v - mean) * contrast + mean + bright = v * contrast + (mean * (1 - contrast) + bright) */
    uae_var *shift = uae_ad_add(t, uae_ad_mul(t, mean, keep), bright);
    v = uae_ad_clamp(t, uae_ad_add(t, uae_ad_mul(t, v, contrast), shift), 0.0f, 1.0f);
    return uae_ad_reshape(t, v, 4, (int64_t[]){n, c, hh, ww});
}

/* The rows of z (n, E) divided by their L2 norms (as inside uae_loss_nt_xent). */
static uae_var *unit_rows(uae_tape *t, uae_var *z) {
    uae_var *sq = uae_ad_unary(t, UAE_UNARY_SQUARE, 0, 0, z);
    uae_var *norm2 = uae_ad_affine(t, uae_ad_reduce(t, UAE_REDUCE_SUM, 0x2, sq), 1.0f, 1e-12f);
    uae_var *inv = uae_ad_unary(t, UAE_UNARY_RECIP, 0, 0, uae_ad_unary(t, UAE_UNARY_SQRT, 0, 0, norm2));
    return uae_ad_mul(t, z, inv);
}

/* n * per uniforms of (seed, stream) from element first * per on, into u (host). */
static float *uniforms(uint64_t seed, uint64_t stream, uint64_t first, int64_t n, int per) {
    float *u = malloc((size_t)(n * per) * sizeof *u);
    if (!u) return NULL;
    for (int64_t i = 0; i < n * per; i++)
        u[i] = uae_rng_uniform01(seed, stream, first * (uint64_t)per + (uint64_t)i);
    return u;
}

/* The attack's negatives: the unit embeddings (M, 64) of one view of each image of x (M, C, H, W),
 * view j from (seed, NEG_VIEWS stream, j). */
static uae_var *simclr_negatives(uae_model *m, uae_tape *t, uae_var **pv, const uae_tensor *x,
                                 uint64_t seed) {
    if (x->ndim != 4 || x->shape[1] != m->cfg.channels || x->shape[2] != m->cfg.height ||
        x->shape[3] != m->cfg.width)
        return uae_tape_fail(t, uae_fail(UAE_ERR_SHAPE, "simclr-small: negatives of another shape "
                                         "than the model's (M, %d, %d, %d) inputs", m->cfg.channels,
                                         m->cfg.height, m->cfg.width));
    float *u = uniforms(seed, UAE_STREAM_NEG_VIEWS, 0, x->shape[0], AUG_NUMBERS);
    if (!u) return uae_tape_fail(t, uae_fail(UAE_ERR_NOMEM, "simclr: out of host memory"));
    uae_var *views = views_on_tape(m, t, uae_ad_const(t, x), u, AUG_NUMBERS);
    free(u);
    return unit_rows(t, simclr_forward(m, t, pv, views, NULL));
}

/* NT-Xent of the anchors za (n, E) (unit rows) with their positives at cosine similarity pos (n, 1)
 * against the negatives neg (M, E) (unit rows), per row (n, 1):
 *     l = -pos/tau + log(exp(pos/tau) + sum_j exp(s_j/tau)),   s_j = za . neg_j
 *       = log(1 + sum_j exp((s_j - pos)/tau)) = softplus(LSE_j(s_j/tau) - pos/tau),
 * the last form stable for any tau. */
static uae_var *anchor_loss(uae_tape *t, uae_var *za, uae_var *pos, uae_var *neg, float tau) {
    uae_var *s = uae_ad_affine(t, uae_ad_matmul(t, za, neg, false, true), 1.0f / tau, 0.0f);
    uae_var *lse = uae_ad_reduce(t, UAE_REDUCE_LSE, 0x2, s);
    return uae_ad_unary(t, UAE_UNARY_SOFTPLUS, 0, 0,
                        uae_ad_sub(t, lse, uae_ad_affine(t, pos, 1.0f / tau, 0.0f)));
}

/* The attack's loss (n): for each x_i, two views fixed by (seed, VIEWS stream, first_index + i),
 * NT-Xent of each against the other and the negatives, averaged over the two directions. */
static uae_var *attack_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                            const uae_batch *b) {
    const uae_tensor *N = b->negatives;
    if (N->ndim != 2 || N->shape[0] < 1 || N->shape[1] != 64)
        return uae_tape_fail(t, uae_fail(UAE_ERR_SHAPE, "simclr-small: negatives of %d dimensions, "
                                         "expected (M, 64) embeddings from uae_model_negatives",
                                         N->ndim));
    int64_t n = uae_ad_value(x)->shape[0];
    float *u = uniforms(b->seed, UAE_STREAM_VIEWS, b->first_index, n, 2 * AUG_NUMBERS);
    if (!u) return uae_tape_fail(t, uae_fail(UAE_ERR_NOMEM, "simclr: out of host memory"));
    uae_var *v1 = views_on_tape(m, t, x, u, 2 * AUG_NUMBERS);
    uae_var *v2 = views_on_tape(m, t, x, u + AUG_NUMBERS, 2 * AUG_NUMBERS);
    free(u);
    uae_var *z1 = unit_rows(t, simclr_forward(m, t, pv, v1, b));
    uae_var *z2 = unit_rows(t, simclr_forward(m, t, pv, v2, b));
    uae_var *neg = uae_ad_const(t, N);
    uae_var *pos = uae_ad_reduce(t, UAE_REDUCE_SUM, 0x2, uae_ad_mul(t, z1, z2)); /* (n, 1) */
    uae_var *l = uae_ad_add(t, anchor_loss(t, z1, pos, neg, m->cfg.tau),
                            anchor_loss(t, z2, pos, neg, m->cfg.tau));
    return uae_ad_reshape(t, uae_ad_affine(t, l, 0.5f, 0.0f), 1, (int64_t[]){n});
}

static uae_var *simclr_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                            const uae_batch *b) {
    if (!b) return uae_tape_fail(t, uae_fail(UAE_ERR_INVALID, "simclr-small: the loss needs a batch "
                                             "(seed and step of the augmentations)"));
    if (!b->training && b->negatives) return attack_loss(m, t, pv, x, b);
    const uae_tensor *X = uae_ad_value(x);
    int64_t n = X->shape[0];
    uae_var *views;
    if (b->training) {
        views = augmented_views(m, t, X, 0, 2, b);
    } else {
        const uae_tensor *clean = b->target ? b->target : X;
        uae_var *other = augmented_views(m, t, clean, 1, 1, b);
        views = stack_rows(t, uae_model_flatten(t, x), uae_model_flatten(t, other));
    }
    uae_var *rows = uae_loss_nt_xent(t, simclr_forward(m, t, pv, views, b), m->cfg.tau); /* (2B) */
    uae_var *pair = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x1,
                                  uae_ad_reshape(t, rows, 2, (int64_t[]){2, n}));
    return uae_ad_reshape(t, pair, 1, (int64_t[]){n});
}

const uae_model_family uae_family_simclr_small = {
    .name = "simclr-small", .kind = UAE_MODEL_CONTRASTIVE, .defaults = simclr_defaults,
    .declare = simclr_declare, .forward = simclr_forward, .loss = simclr_loss,
    .first_layer = simclr_first, .embed = simclr_embed, .negatives = simclr_negatives,
    .coupled_rows = "its NT-Xent loss takes every other example of the batch as a negative",
};
