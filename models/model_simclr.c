/* models/model_simclr.c — a small SimCLR (Chen et al. 2020) sized for a CPU: a CNN encoder whose
 * representation is probed linearly, a projection head, and NT-Xent over two augmented views of
 * every image. Augmentations are computed on the host. Not here: the linear probe (the trainer's).
 *
 *   encoder: Conv(32, 3x3 same, ReLU) -> MaxPool 2 -> Conv(64, 3x3 same, ReLU) -> MaxPool 2
 *            -> Flatten -> Dense(128, ReLU)                       (the representation, embed)
 *   head:    Dense(128, ReLU) -> Dense(64)                          (the embedding, forward)
 * NT-Xent at temperature 0.5; Adam lr 1e-3; 20 epochs of 128 images (256 views).
 * Parameters: conv1 (32, C, 3, 3), conv2 (64, 32, 3, 3), rep (128, 64 * H/4 * W/4), proj1
 * (128, 128), proj2 (64, 128), each with its bias.
 *
 * Augmentation of one view (random numbers from the counter RNG at (seed, AUGMENT stream,
 * step * 2B * 8 + view * 8), view = v * B + i for view v of sample i):
 *   random resized crop: a window of area fraction s ~ U(0.6, 1) and the image's aspect ratio at
 *   a uniform position, resized back to H x W by nearest-neighbour sampling (enough at 28 x 28);
 *   horizontal flip with probability 1/2; brightness +U(-0.2, 0.2) and contrast x U(0.8, 1.2)
 *   about the view's mean; clipped to [0, 1].
 * The loss of a batch of B images builds 2B views. In training both are augmented views of x. In
 * evaluation (the attack) the first view is x itself, so that the loss is differentiable with
 * respect to x, and the second an augmented view of batch.target (the clean images), or of x if
 * there is no target (then a constant of the step: no gradient flows through the augmentation).
 * The per-sample loss is the mean of the NT-Xent losses of a sample's two views. */
#include "model_impl.h"

#include <math.h>
#include <stdlib.h>

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

/* One augmented view of image x (C, H, W) into out, from six uniforms u. */
static void augment_one(const float *x, float *out, int c, int hh, int ww, const float *u) {
    double s = 0.6 + 0.4 * u[0];
    int ch = (int)lround(sqrt(s) * hh), cw = (int)lround(sqrt(s) * ww);
    if (ch < 1) ch = 1;
    if (cw < 1) cw = 1;
    int top = (int)(u[1] * (float)(hh - ch + 1)), left = (int)(u[2] * (float)(ww - cw + 1));
    if (top > hh - ch) top = hh - ch; /* u < 1, but keep the window inside whatever the rounding */
    if (left > ww - cw) left = ww - cw;
    bool flip = u[3] < 0.5f;
    float bright = 0.4f * (u[4] - 0.5f), contrast = 0.8f + 0.4f * u[5];
    double sum = 0.0;
    for (int k = 0; k < c; k++)
        for (int i = 0; i < hh; i++)
            for (int j = 0; j < ww; j++) {
                int jj = flip ? ww - 1 - j : j;
                int si = top + (int)((i + 0.5) * ch / hh), sj = left + (int)((jj + 0.5) * cw / ww);
                float v = x[((size_t)k * hh + (size_t)si) * ww + (size_t)sj];
                out[((size_t)k * hh + (size_t)i) * ww + (size_t)j] = v;
                sum += v;
            }
    float mean = (float)(sum / ((double)c * hh * ww));
    for (size_t e = 0; e < (size_t)c * hh * ww; e++) {
        float v = (out[e] - mean) * contrast + mean + bright;
        out[e] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
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

static uae_var *simclr_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                            const uae_batch *b) {
    if (!b) return uae_tape_fail(t, uae_fail(UAE_ERR_INVALID, "simclr-small: the loss needs a batch "
                                             "(seed and step of the augmentations)"));
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
    .first_layer = simclr_first, .embed = simclr_embed,
};
