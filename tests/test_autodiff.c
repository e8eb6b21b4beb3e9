/* tests/test_autodiff.c — finite-difference gradient checks of every differentiable op and of
 * composed expressions, through the autodiff, on every backend (ref, cpu, OpenCL devices).
 *
 * For each case the loss is L = sum(y * r) with a fixed random r, so that no gradient is trivially
 * all ones. The analytic gradient of every leaf from uae_ad_backward is compared with central
 * differences (L(v + eps) - L(v - eps)) / (2 eps) at up to 24 elements per leaf. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/autodiff.h"
#include "uae/nn.h"
#include "tests/test_util.h"

#define MAX_LEAVES 3

typedef struct leafspec {
    int ndim;
    int64_t shape[4];
    float lo, hi;      /* values drawn in [lo, hi] */
    bool spaced;       /* distinct values at least 0.02 apart (pooling: no ties under eps) */
    bool away_from_0;  /* |v| >= 0.1 (kinks of relu/abs at 0) */
} leafspec;

typedef uae_var *(*build_fn)(uae_tape *t, uae_var **x, const uae_tensor *aux);

typedef struct gcase {
    const char *name;
    int nleaves;
    leafspec leaf[MAX_LEAVES];
    build_fn build;
    float eps;
    bool aux_perm;     /* build gets a permutation index tensor (2, n) in aux */
    bool aux_onehot;   /* build gets a (3, 4) one-hot tensor in aux */
} gcase;

/* ---- the expressions ---- */
static uae_var *b_mm_nn(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_matmul(t, x[0], x[1], false, false); }
static uae_var *b_mm_nt(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_matmul(t, x[0], x[1], false, true); }
static uae_var *b_mm_tn(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_matmul(t, x[0], x[1], true, false); }
static uae_var *b_mm_tt(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_matmul(t, x[0], x[1], true, true); }
static uae_var *b_add(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_add(t, x[0], x[1]); }
static uae_var *b_sub(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_sub(t, x[0], x[1]); }
static uae_var *b_mul(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_mul(t, x[0], x[1]); }
static uae_var *b_div(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_binary(t, UAE_BINARY_DIV, x[0], x[1]); }
#define UNARY_BUILD(NAME, FN, A, B) \
    static uae_var *NAME(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_unary(t, FN, A, B, x[0]); }
UNARY_BUILD(b_relu, UAE_UNARY_RELU, 0, 0)
UNARY_BUILD(b_leaky, UAE_UNARY_LEAKY, 0.2f, 0)
UNARY_BUILD(b_sigmoid, UAE_UNARY_SIGMOID, 0, 0)
UNARY_BUILD(b_tanh, UAE_UNARY_TANH, 0, 0)
UNARY_BUILD(b_softplus, UAE_UNARY_SOFTPLUS, 0, 0)
UNARY_BUILD(b_exp, UAE_UNARY_EXP, 0, 0)
UNARY_BUILD(b_log, UAE_UNARY_LOG, 0, 0)
UNARY_BUILD(b_square, UAE_UNARY_SQUARE, 0, 0)
UNARY_BUILD(b_sqrt, UAE_UNARY_SQRT, 0, 0)
UNARY_BUILD(b_abs, UAE_UNARY_ABS, 0, 0)
UNARY_BUILD(b_affine, UAE_UNARY_AFFINE, -1.5f, 0.25f)
UNARY_BUILD(b_recip, UAE_UNARY_RECIP, 0, 0)
static uae_var *b_conv_same(uae_tape *t, uae_var **x, const uae_tensor *a) {
    (void)a;
    uae_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1, .wsets = 1};
    return uae_ad_conv2d(t, x[0], x[1], x[2], &p);
}
static uae_var *b_conv_s2(uae_tape *t, uae_var **x, const uae_tensor *a) {
    (void)a;
    uae_conv_params p = {.stride_h = 2, .stride_w = 2, .pad_h = 0, .pad_w = 1, .wsets = 1};
    return uae_ad_conv2d(t, x[0], x[1], NULL, &p);
}
static uae_var *b_conv_sets(uae_tape *t, uae_var **x, const uae_tensor *a) {
    (void)a;
    uae_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 0, .pad_w = 0, .wsets = 2};
    return uae_ad_conv2d(t, x[0], x[1], x[2], &p);
}
static uae_var *b_maxpool(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_maxpool2(t, x[0]); }
static uae_var *b_upsample(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_upsample2(t, x[0]); }
static uae_var *b_sum(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_reduce(t, UAE_REDUCE_SUM, 0x2, x[0]); }
static uae_var *b_mean(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x5, x[0]); }
static uae_var *b_lse(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_reduce(t, UAE_REDUCE_LSE, 0x2, x[0]); }
static uae_var *b_lme(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_reduce(t, UAE_REDUCE_LME, 0x1, x[0]); }
static uae_var *b_max(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_reduce(t, UAE_REDUCE_MAX, 0x2, x[0]); }
static uae_var *b_clamp(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_clamp(t, x[0], -0.505f, 0.7f); }
static uae_var *b_softmax(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_softmax(t, x[0], false); }
static uae_var *b_logsoftmax(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_softmax(t, x[0], true); }
static uae_var *b_gather(uae_tape *t, uae_var **x, const uae_tensor *a) { return uae_ad_gather_rows(t, x[0], a); }
static uae_var *b_concat(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_concat(t, x[0], x[1]); }
/* tanh(x) (6, 3) split in three: part a takes two contributions (summed into the split's
 * gradient), b one borrowed (copied there), c none (zeros there). */
static uae_var *b_split(uae_tape *t, uae_var **x, const uae_tensor *aux) {
    (void)aux;
    uae_var *p[3];
    if (uae_ad_split(t, uae_ad_unary(t, UAE_UNARY_TANH, 0, 0, x[0]), 3, p) != UAE_OK) return NULL;
    return uae_ad_concat(t, uae_ad_add(t, p[0], p[1]), uae_ad_mul(t, p[0], p[0]));
}
static uae_var *b_mine_dv(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_mine_bound(t, UAE_MINE_DV, x[0], x[1]); }
static uae_var *b_mine_js(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_ad_mine_bound(t, UAE_MINE_JS, x[0], x[1]); }

/* x used twice (accumulation), a shared weight over a batch, reshape, and a bias. */
static uae_var *b_mlp(uae_tape *t, uae_var **x, const uae_tensor *a) {
    (void)a;
    uae_var *h = uae_ad_matmul(t, x[0], x[1], false, true);              /* (2,3,4) @ (5,4)^T */
    h = uae_ad_add(t, h, uae_ad_reshape(t, x[2], 3, (int64_t[]){1, 1, 5}));
    h = uae_ad_unary(t, UAE_UNARY_TANH, 0, 0, h);
    uae_var *skip = uae_ad_reduce(t, UAE_REDUCE_SUM, 0x4, x[0]);         /* (2,3,1) */
    return uae_ad_mul(t, h, skip);
}

/* A small conv autoencoder path: conv -> relu -> pool -> upsample -> conv -> sigmoid. */
static uae_var *b_convnet(uae_tape *t, uae_var **x, const uae_tensor *a) {
    (void)a;
    uae_conv_params p = {.stride_h = 1, .stride_w = 1, .pad_h = 1, .pad_w = 1, .wsets = 1};
    uae_var *h = uae_ad_conv2d(t, x[0], x[1], NULL, &p);                  /* (2,3,6,6) */
    h = uae_ad_unary(t, UAE_UNARY_SOFTPLUS, 0, 0, h);
    h = uae_ad_maxpool2(t, h);
    h = uae_ad_upsample2(t, h);
    h = uae_ad_conv2d(t, h, x[2], NULL, &p);                              /* (2,1,6,6) */
    return uae_ad_unary(t, UAE_UNARY_SIGMOID, 0, 0, h);
}

/* The losses of uae/nn.h, composed of the ops above: checked the same way. x[1] is the target. */
static uae_var *b_mse(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_loss_mse(t, x[0], x[1]); }
static uae_var *b_bce(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_loss_bce(t, x[0], x[1]); }
static uae_var *b_ce(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_loss_softmax_ce(t, x[0], x[1]); }
static uae_var *b_kl(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_loss_kl_sparsity(t, x[0], 0.1f); }
static uae_var *b_l1(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_loss_l1(t, x[0]); }
static uae_var *b_ntxent(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_loss_nt_xent(t, x[0], 0.5f); }
static uae_var *b_cw(uae_tape *t, uae_var **x, const uae_tensor *a) {
    /* labels 1, 0, 3 as a one-hot constant; kappa large enough that the margin is active */
    uae_tensor *oh = (uae_tensor *)a;
    return uae_loss_cw_margin(t, x[0], oh, false, 5.0f);
}
static uae_var *b_dense(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_nn_dense(t, x[0], x[1], x[2], UAE_ACT_TANH); }
static uae_var *b_dropout(uae_tape *t, uae_var **x, const uae_tensor *a) { (void)a; return uae_nn_dropout(t, x[0], 0.3f, true, 7, 1, 0); }

#define S1(a) 1, {a}
#define S2(a, b) 2, {a, b}
#define S3(a, b, c) 3, {a, b, c}
#define S4(a, b, c, d) 4, {a, b, c, d}
#define LEAF(shape, lo, hi) {shape, lo, hi, false, false}

static const gcase cases[] = {
    {"matmul nn", 2, {LEAF(S2(3, 5), -1, 1), LEAF(S2(5, 4), -1, 1)}, b_mm_nn, 1e-2f, false, false},
    {"matmul nt", 2, {LEAF(S2(3, 5), -1, 1), LEAF(S2(4, 5), -1, 1)}, b_mm_nt, 1e-2f, false, false},
    {"matmul tn", 2, {LEAF(S2(5, 3), -1, 1), LEAF(S2(5, 4), -1, 1)}, b_mm_tn, 1e-2f, false, false},
    {"matmul tt", 2, {LEAF(S2(5, 3), -1, 1), LEAF(S2(4, 5), -1, 1)}, b_mm_tt, 1e-2f, false, false},
    {"matmul batched", 2, {LEAF(S3(2, 3, 5), -1, 1), LEAF(S3(2, 5, 4), -1, 1)}, b_mm_nn, 1e-2f, false, false},
    {"matmul shared b", 2, {LEAF(S3(2, 3, 5), -1, 1), LEAF(S2(5, 4), -1, 1)}, b_mm_nn, 1e-2f, false, false},
    {"add broadcast", 2, {LEAF(S2(3, 4), -1, 1), LEAF(S2(1, 4), -1, 1)}, b_add, 1e-2f, false, false},
    {"sub broadcast", 2, {LEAF(S4(2, 3, 4, 5), -1, 1), LEAF(S4(1, 3, 1, 1), -1, 1)}, b_sub, 1e-2f, false, false},
    {"mul broadcast", 2, {LEAF(S3(2, 3, 4), -1, 1), LEAF(S3(2, 1, 4), -1, 1)}, b_mul, 1e-2f, false, false},
    {"div", 2, {LEAF(S2(3, 4), -1, 1), LEAF(S2(3, 4), 0.5f, 2)}, b_div, 1e-3f, false, false},
    {"relu", 1, {{S2(4, 7), -2, 2, false, true}}, b_relu, 1e-2f, false, false},
    {"leaky", 1, {{S2(4, 7), -2, 2, false, true}}, b_leaky, 1e-2f, false, false},
    {"sigmoid", 1, {LEAF(S2(4, 7), -4, 4)}, b_sigmoid, 1e-2f, false, false},
    {"tanh", 1, {LEAF(S2(4, 7), -2, 2)}, b_tanh, 1e-2f, false, false},
    {"softplus", 1, {LEAF(S2(4, 7), -4, 4)}, b_softplus, 1e-2f, false, false},
    {"exp", 1, {LEAF(S2(4, 7), -2, 1)}, b_exp, 1e-3f, false, false},
    {"log", 1, {LEAF(S2(4, 7), 0.5f, 3)}, b_log, 1e-3f, false, false},
    {"square", 1, {LEAF(S2(4, 7), -2, 2)}, b_square, 1e-2f, false, false},
    {"sqrt", 1, {LEAF(S2(4, 7), 0.5f, 3)}, b_sqrt, 1e-3f, false, false},
    {"abs", 1, {{S2(4, 7), -2, 2, false, true}}, b_abs, 1e-2f, false, false},
    {"affine", 1, {LEAF(S2(4, 7), -2, 2)}, b_affine, 1e-2f, false, false},
    {"recip", 1, {LEAF(S2(4, 7), 0.5f, 2)}, b_recip, 1e-3f, false, false},
    {"conv2d same+bias", 3, {LEAF(S4(2, 3, 7, 6), -1, 1), LEAF(S4(4, 3, 3, 3), -1, 1), LEAF(S2(1, 4), -1, 1)}, b_conv_same, 1e-2f, false, false},
    {"conv2d stride 2", 2, {LEAF(S4(2, 2, 7, 6), -1, 1), LEAF(S4(3, 2, 3, 2), -1, 1)}, b_conv_s2, 1e-2f, false, false},
    {"conv2d wsets 2", 3, {LEAF(S4(4, 2, 5, 5), -1, 1), LEAF(S4(6, 2, 2, 2), -1, 1), LEAF(S2(1, 6), -1, 1)}, b_conv_sets, 1e-2f, false, false},
    {"maxpool2", 1, {{S4(2, 3, 6, 5), -2, 2, true, false}}, b_maxpool, 1e-3f, false, false},
    {"upsample2", 1, {LEAF(S4(2, 3, 3, 4), -1, 1)}, b_upsample, 1e-2f, false, false},
    {"reduce sum", 1, {LEAF(S3(3, 5, 2), -1, 1)}, b_sum, 1e-2f, false, false},
    {"reduce mean", 1, {LEAF(S3(3, 5, 2), -1, 1)}, b_mean, 1e-2f, false, false},
    {"reduce lse", 1, {LEAF(S3(3, 5, 2), -2, 2)}, b_lse, 1e-2f, false, false},
    {"reduce lme", 1, {LEAF(S2(6, 3), -2, 2)}, b_lme, 1e-2f, false, false},
    {"reduce max", 1, {{S3(3, 5, 2), -2, 2, true, false}}, b_max, 1e-3f, false, false},
    {"clamp", 1, {{S2(5, 7), -1, 1, true, false}}, b_clamp, 1e-3f, false, false},
    {"softmax", 1, {LEAF(S2(3, 6), -2, 2)}, b_softmax, 1e-2f, false, false},
    {"log-softmax", 1, {LEAF(S2(3, 6), -2, 2)}, b_logsoftmax, 1e-2f, false, false},
    {"gather rows", 1, {LEAF(S3(2, 5, 3), -1, 1)}, b_gather, 1e-2f, true, false},
    {"concat", 2, {LEAF(S3(2, 3, 4), -1, 1), LEAF(S3(3, 3, 4), -1, 1)}, b_concat, 1e-2f, false, false},
    {"split", 1, {LEAF(S2(6, 3), -2, 2)}, b_split, 1e-2f, false, false},
    {"mine DV", 2, {LEAF(S2(3, 7), -2, 2), LEAF(S2(3, 9), -2, 2)}, b_mine_dv, 1e-2f, false, false},
    {"mine JS", 2, {LEAF(S2(3, 7), -2, 2), LEAF(S2(3, 9), -2, 2)}, b_mine_js, 1e-2f, false, false},
    {"mlp composite", 3, {LEAF(S3(2, 3, 4), -1, 1), LEAF(S2(5, 4), -1, 1), LEAF(S1(5), -1, 1)}, b_mlp, 1e-2f, false, false},
    {"convnet composite", 3, {LEAF(S4(2, 1, 6, 6), 0, 1), {S4(3, 1, 3, 3), -1, 1, false, false}, LEAF(S4(1, 3, 3, 3), -1, 1)}, b_convnet, 1e-3f, false, false},
    {"loss mse", 2, {LEAF(S2(3, 6), 0, 1), LEAF(S2(3, 6), 0, 1)}, b_mse, 1e-2f, false, false},
    {"loss bce", 2, {LEAF(S2(3, 6), 0.05f, 0.95f), LEAF(S2(3, 6), 0, 1)}, b_bce, 1e-3f, false, false},
    {"loss softmax ce", 2, {LEAF(S2(3, 5), -2, 2), LEAF(S2(3, 5), 0, 1)}, b_ce, 1e-2f, false, false},
    {"loss kl sparsity", 1, {LEAF(S2(6, 4), 0.05f, 0.95f)}, b_kl, 1e-3f, false, false},
    {"loss l1", 1, {{S2(3, 6), -2, 2, false, true}}, b_l1, 1e-2f, false, false},
    {"loss nt-xent", 1, {LEAF(S2(6, 4), -1, 1)}, b_ntxent, 1e-2f, false, false},
    {"loss cw margin", 1, {{S2(3, 4), -2, 2, true, false}}, b_cw, 1e-3f, false, true},

    {"dense tanh", 3, {LEAF(S3(2, 3, 5), -1, 1), LEAF(S2(4, 5), -1, 1), LEAF(S1(4), -1, 1)}, b_dense, 1e-2f, false, false},
    {"dropout", 1, {LEAF(S2(4, 9), -1, 1)}, b_dropout, 1e-2f, false, false},
};

/* ---- the harness ---- */

/* A small deterministic generator for test inputs (xorshift; independent of the library RNG). */
static uint32_t rng_state = 12345u;
static float frand(float lo, float hi) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 17;
    rng_state ^= rng_state << 5;
    return lo + (hi - lo) * (float)(rng_state >> 8) * (1.0f / 16777216.0f);
}

static int64_t numel_of(const leafspec *l) {
    int64_t n = 1;
    for (int d = 0; d < l->ndim; d++) n *= l->shape[d];
    return n;
}

static void fill_leaf(const leafspec *l, float *v, int64_t n) {
    for (int64_t i = 0; i < n; i++) {
        float x = frand(l->lo, l->hi);
        if (l->away_from_0 && fabsf(x) < 0.1f) x = x < 0 ? -0.1f - fabsf(x) : 0.1f + x;
        v[i] = x;
    }
    if (l->spaced) {
        /* distinct values 0.02 apart in a random order: no two within a finite-difference step */
        for (int64_t i = 0; i < n; i++) v[i] = l->lo + 0.02f * (float)i;
        for (int64_t i = n - 1; i > 0; i--) {
            int64_t j = (int64_t)(frand(0, 1) * (float)(i + 1)) % (i + 1);
            float tmp = v[i]; v[i] = v[j]; v[j] = tmp;
        }
    }
}

typedef struct harness {
    uae_backend *be;
    uae_arena *params;   /* leaves, their gradients, r, aux */
    uae_arena *scratch;
    uae_tape *tape;
} harness;

/* Runs the expression once; returns L = sum(y * r) computed in double on the host. When
 * want_grad, also runs backward. r is created on first use (host copy kept in *r_host). */
static uae_status run_case(harness *h, const gcase *c, uae_tensor *leaves, uae_tensor *grads,
                           const uae_tensor *aux, bool want_grad, float **r_host, double *loss) {
    size_t mark = uae_arena_mark(h->scratch);
    uae_tape_reset(h->tape);
    uae_var *x[MAX_LEAVES];
    for (int i = 0; i < c->nleaves; i++) x[i] = uae_ad_leaf(h->tape, &leaves[i], &grads[i]);
    uae_var *y = c->build(h->tape, x, aux);
    UAE_TRY(uae_tape_status(h->tape));
    const uae_tensor *Y = uae_ad_value(y);
    int64_t n = uae_tensor_numel(Y);
    if (!*r_host) {
        *r_host = malloc((size_t)n * sizeof(float));
        for (int64_t i = 0; i < n; i++) (*r_host)[i] = frand(-1, 1);
    }
    uae_tensor r;
    UAE_TRY(uae_arena_tensor(h->scratch, Y->ndim, Y->shape, &r));
    UAE_TRY(uae_tensor_write(&r, *r_host));
    float *yh = malloc((size_t)n * sizeof(float));
    UAE_TRY(uae_tensor_read(Y, yh));
    double l = 0;
    for (int64_t i = 0; i < n; i++) l += (double)yh[i] * (*r_host)[i];
    free(yh);
    *loss = l;
    if (want_grad) {
        uae_var *weighted = uae_ad_mul(h->tape, y, uae_ad_const(h->tape, &r));
        uae_var *L = uae_ad_reduce(h->tape, UAE_REDUCE_SUM, (1u << Y->ndim) - 1, weighted);
        UAE_TRY(uae_ad_backward(h->tape, L));
    }
    uae_arena_reset(h->scratch, mark);
    return UAE_OK;
}

static int check_case(harness *h, const gcase *c, unsigned index) {
    rng_state = 12345u + 7919u * index; /* the same inputs on every backend, whatever ran before */
    uae_tensor leaves[MAX_LEAVES], grads[MAX_LEAVES], aux = {0};
    float *host[MAX_LEAVES] = {0}, *ghost[MAX_LEAVES] = {0}, *r_host = NULL;
    size_t mark = uae_arena_mark(h->params);
    int fails = 0;
    uae_status st = UAE_OK;
    for (int i = 0; i < c->nleaves && st == UAE_OK; i++) {
        const leafspec *l = &c->leaf[i];
        int64_t n = numel_of(l);
        host[i] = malloc((size_t)n * sizeof(float));
        ghost[i] = malloc((size_t)n * sizeof(float));
        fill_leaf(l, host[i], n);
        st = uae_arena_tensor(h->params, l->ndim, l->shape, &leaves[i]);
        if (st == UAE_OK) st = uae_arena_tensor(h->params, l->ndim, l->shape, &grads[i]);
        if (st == UAE_OK) st = uae_tensor_write(&leaves[i], host[i]);
    }
    if (st == UAE_OK && c->aux_perm) {
        /* two reversed/rotated permutations of 5 rows */
        float idx[10] = {4, 3, 2, 1, 0, 2, 0, 4, 1, 3};
        st = uae_arena_tensor2(h->params, 2, 5, &aux);
        if (st == UAE_OK) st = uae_tensor_write(&aux, idx);
    }
    if (st == UAE_OK && c->aux_onehot) {
        float oh[12] = {0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1};
        st = uae_arena_tensor2(h->params, 3, 4, &aux);
        if (st == UAE_OK) st = uae_tensor_write(&aux, oh);
    }
    double l0;
    if (st == UAE_OK) st = run_case(h, c, leaves, grads, &aux, true, &r_host, &l0);
    for (int i = 0; i < c->nleaves && st == UAE_OK; i++) st = uae_tensor_read(&grads[i], ghost[i]);
    if (st != UAE_OK) {
        printf("FAIL %-20s %s: %s\n", c->name, uae_backend_name(h->be), uae_last_error());
        fails = 1;
        goto done;
    }
    double worst = 0;
    int skipped = 0, checked = 0;
    for (int i = 0; i < c->nleaves; i++) {
        int64_t n = numel_of(&c->leaf[i]);
        int64_t step = n > 24 ? n / 24 : 1;
        for (int64_t e = 0; e < n; e += step) {
            float saved = host[i][e];
            double lp, lm;
            host[i][e] = saved + c->eps;
            uae_tensor_write(&leaves[i], host[i]);
            st = run_case(h, c, leaves, grads, &aux, false, &r_host, &lp);
            host[i][e] = saved - c->eps;
            uae_tensor_write(&leaves[i], host[i]);
            if (st == UAE_OK) st = run_case(h, c, leaves, grads, &aux, false, &r_host, &lm);
            host[i][e] = saved;
            uae_tensor_write(&leaves[i], host[i]);
            if (st != UAE_OK) { fails++; break; }
            /* The perturbed inputs are rounded to float: use the actual step taken. */
            double step_up = (double)(saved + c->eps) - saved, step_dn = saved - (double)(saved - c->eps);
            double fd = (lp - lm) / (step_up + step_dn);
            /* A kink (a max-pool switching its maximum, a ReLU crossing 0) inside [v - eps, v + eps]
             * makes the two one-sided differences disagree; such points are skipped, as a
             * finite difference says nothing there. */
            double right = (lp - l0) / step_up, left = (l0 - lm) / step_dn;
            if (fabs(right - left) > 1e-2 + 1e-1 * fmax(fabs(right), fabs(left))) {
                skipped++;
                continue;
            }
            double an = ghost[i][e];
            /* Tolerance: central differences in float32 carry a truncation error O(eps^2) and a
             * rounding error ~1e-7 * |y| / eps (~1e-4 at eps = 1e-3); 2e-3 absolute plus 2% relative
             * is far below the size of any real mistake in a gradient rule (a wrong sign or a
             * missing factor is an O(1) relative error). */
            checked++;
            double err = fabs(fd - an), tol = 2e-3 + 2e-2 * fmax(fabs(fd), fabs(an));
            if (err / tol > worst) worst = err / tol;
            if (err > tol) {
                if (fails < 5)
                    printf("  %s leaf %d elem %lld: analytic %.6f numeric %.6f\n", c->name, i,
                           (long long)e, an, fd);
                fails++;
            }
        }
    }
    /* Skipping must stay the exception, or the check would check nothing. */
    if (skipped * 4 > checked) fails++;
    printf("%s %-20s %-24s worst err/tol %.3f (%d points, %d at kinks skipped)\n",
           fails ? "FAIL" : "ok  ", c->name, uae_backend_name(h->be), worst, checked, skipped);
done:
    for (int i = 0; i < c->nleaves; i++) { free(host[i]); free(ghost[i]); }
    free(r_host);
    uae_arena_reset(h->params, mark);
    return fails ? 1 : 0;
}

/* Checks that leaves the loss does not reach get a zero gradient, and errors are sticky. */
static int check_semantics(harness *h) {
    int fails = 0;
    uae_tensor a, b, ga, gb;
    uae_arena_tensor2(h->params, 2, 3, &a);
    uae_arena_tensor2(h->params, 2, 3, &b);
    uae_arena_tensor2(h->params, 2, 3, &ga);
    uae_arena_tensor2(h->params, 2, 3, &gb);
    uae_fill(&a, 1.0f);
    uae_fill(&b, 2.0f);
    uae_fill(&gb, 123.0f); /* stale garbage that backward must clear */
    uae_tape_reset(h->tape);
    uae_var *va = uae_ad_leaf(h->tape, &a, &ga);
    uae_ad_leaf(h->tape, &b, &gb);
    uae_var *l = uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3, uae_ad_unary(h->tape, UAE_UNARY_SQUARE, 0, 0, va));
    if (uae_ad_backward(h->tape, l) != UAE_OK) { printf("FAIL semantics: %s\n", uae_last_error()); return 1; }
    float g[6];
    uae_tensor_read(&gb, g);
    for (int i = 0; i < 6; i++) if (g[i] != 0.0f) fails++;
    uae_tensor_read(&ga, g);
    for (int i = 0; i < 6; i++) if (g[i] != 2.0f) fails++; /* d(x^2)/dx at 1, exact in float */
    /* An intermediate's gradient stays its own after backward: with p = 3a, c = a + b and
     * L = sum(c + p), dL/dc = 1 and dL/da = 4. A gradient that took c's as a view (a's first
     * contribution comes from c) and then added p's contribution in place would show dL/dc = 4. */
    uae_tape_reset(h->tape);
    va = uae_ad_leaf(h->tape, &a, NULL);
    uae_var *vb = uae_ad_leaf(h->tape, &b, NULL);
    uae_var *vp = uae_ad_affine(h->tape, va, 3.0f, 0.0f);
    uae_var *vc = uae_ad_add(h->tape, va, vb);
    l = uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3, uae_ad_add(h->tape, vc, vp));
    if (uae_ad_backward(h->tape, l) != UAE_OK) { printf("FAIL semantics: %s\n", uae_last_error()); return 1; }
    uae_tensor_read(uae_ad_grad(vc), g);
    for (int i = 0; i < 6; i++) if (g[i] != 1.0f) fails++;
    uae_tensor_read(uae_ad_grad(va), g);
    for (int i = 0; i < 6; i++) if (g[i] != 4.0f) fails++;
    uae_tensor_read(uae_ad_grad(vb), g);
    for (int i = 0; i < 6; i++) if (g[i] != 1.0f) fails++;
    /* The same when the later contribution comes from an op that adds into its destination (a
     * GEMM with beta = 1): with m = a w (w all 2, (3, 2)) before c = a + b, and
     * L = sum(c) + sum(m), dL/dc = 1 and dL/da = 1 + 2 * 2 = 5. */
    uae_tensor w;
    uae_arena_tensor2(h->params, 3, 2, &w);
    uae_fill(&w, 2.0f);
    uae_tape_reset(h->tape);
    va = uae_ad_leaf(h->tape, &a, NULL);
    vb = uae_ad_leaf(h->tape, &b, NULL);
    uae_var *vm = uae_ad_matmul(h->tape, va, uae_ad_const(h->tape, &w), false, false);
    vc = uae_ad_add(h->tape, va, vb);
    l = uae_ad_add(h->tape, uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3, vc),
                   uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3, vm));
    if (uae_ad_backward(h->tape, l) != UAE_OK) { printf("FAIL semantics: %s\n", uae_last_error()); return 1; }
    uae_tensor_read(uae_ad_grad(vc), g);
    for (int i = 0; i < 6; i++) if (g[i] != 1.0f) fails++;
    uae_tensor_read(uae_ad_grad(va), g);
    for (int i = 0; i < 6; i++) if (g[i] != 5.0f) fails++;
    /* And through a reshape, whose input shares the output's gradient: with p = 3c before
     * r = reshape(c), L = sum(r) + sum(p): dL/dr = 1, dL/dc = 4. */
    uae_tape_reset(h->tape);
    vc = uae_ad_leaf(h->tape, &a, NULL);
    vp = uae_ad_affine(h->tape, vc, 3.0f, 0.0f);
    uae_var *vr = uae_ad_reshape(h->tape, vc, 2, (int64_t[]){3, 2});
    l = uae_ad_add(h->tape, uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3, vr),
                   uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3, vp));
    if (uae_ad_backward(h->tape, l) != UAE_OK) { printf("FAIL semantics: %s\n", uae_last_error()); return 1; }
    uae_tensor_read(uae_ad_grad(vr), g);
    for (int i = 0; i < 6; i++) if (g[i] != 1.0f) fails++;
    uae_tensor_read(uae_ad_grad(vc), g);
    for (int i = 0; i < 6; i++) if (g[i] != 4.0f) fails++;
    /* A reshape of a leaf with a gradient tensor of the caller's: written straight into it when
     * the reshape is the leaf's one use, summed with the others' when it is not. a = 1:
     * L = sum(square(reshape(a))) gives 2; L = sum(reshape(a)) + sum(3a) gives 4. */
    for (int twice = 0; twice < 2; twice++) {
        uae_fill(&ga, 123.0f);
        uae_tape_reset(h->tape);
        va = uae_ad_leaf(h->tape, &a, &ga);
        uae_var *vr = uae_ad_reshape(h->tape, va, 2, (int64_t[]){3, 2});
        l = twice ? uae_ad_add(h->tape, uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3, vr),
                               uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3,
                                             uae_ad_affine(h->tape, va, 3.0f, 0.0f)))
                  : uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3,
                                  uae_ad_unary(h->tape, UAE_UNARY_SQUARE, 0, 0, vr));
        if (uae_ad_backward(h->tape, l) != UAE_OK) { printf("FAIL semantics: %s\n", uae_last_error()); return 1; }
        uae_tensor_read(&ga, g);
        for (int i = 0; i < 6; i++) if (g[i] != (twice ? 4.0f : 2.0f)) fails++;
    }
    /* sticky error: a shape mismatch, then further ops return NULL and the status stays */
    uae_tape_reset(h->tape);
    uae_tensor c;
    uae_arena_tensor2(h->params, 3, 2, &c);
    uae_var *bad = uae_ad_add(h->tape, uae_ad_const(h->tape, &a), uae_ad_const(h->tape, &c));
    uae_var *after = uae_ad_unary(h->tape, UAE_UNARY_EXP, 0, 0, bad);
    if (bad || after || uae_tape_status(h->tape) != UAE_ERR_SHAPE) fails++;
    if (!strstr(uae_last_error(), "binary")) fails++;
    /* A pass starts from a clean tape (the error above is forgotten), gives back every tensor of
     * the arena it took, and leaves recording as it found it: a pass that evaluates (recording
     * off) inside training code must not leave the next step without gradients. */
    size_t used0 = uae_arena_used(h->scratch);
    uae_pass p = uae_pass_begin(h->tape, false);
    if (uae_tape_status(h->tape) != UAE_OK) fails++;
    uae_ad_unary(h->tape, UAE_UNARY_SQUARE, 0, 0, uae_ad_const(h->tape, &a));
    if (uae_arena_used(h->scratch) <= used0) fails++;
    uae_pass_end(&p);
    if (uae_arena_used(h->scratch) != used0) fails++;
    va = uae_ad_leaf(h->tape, &a, &ga);
    l = uae_ad_reduce(h->tape, UAE_REDUCE_SUM, 0x3, uae_ad_unary(h->tape, UAE_UNARY_SQUARE, 0, 0, va));
    if (uae_ad_backward(h->tape, l) != UAE_OK) fails++; /* recording is on again */
    uae_tensor_read(&ga, g);
    for (int i = 0; i < 6; i++) if (g[i] != 2.0f) fails++;
    uae_tape_reset(h->tape);
    printf("%s semantics (unreached leaf zeroed, exact square gradient, own intermediate gradients, sticky errors, passes) %s\n",
           fails ? "FAIL" : "ok  ", uae_backend_name(h->be));
    return fails ? 1 : 0;
}

int main(void) {
    int failed = 0, ran = 0;
    bool small = test_small();
    FOR_EACH_DEVICE(dev, TEST_ALL_DEVICES) {
        harness h = {0};
        if (uae_backend_open(dev->spec, &h.be) != UAE_OK) {
            printf("FAIL cannot open device %s: %s\n", dev->spec, uae_last_error());
            failed++;
            continue;
        }
        if (uae_arena_create(h.be, 1 << 16, &h.params) || uae_arena_create(h.be, 1 << 16, &h.scratch) ||
            uae_tape_create(h.scratch, &h.tape)) {
            printf("FAIL setup on %s: %s\n", uae_backend_name(h.be), uae_last_error());
            return 1;
        }
        size_t ncases = sizeof cases / sizeof cases[0];
        for (size_t i = 0; i < ncases; i++) {
            if (small && i % 3 != 0) continue;
            failed += check_case(&h, &cases[i], (unsigned)i);
            ran++;
        }
        failed += check_semantics(&h);
        uae_tape_free(h.tape);
        uae_arena_free(h.scratch);
        uae_arena_free(h.params);
        uae_backend_free(h.be);
    }
    printf("%d gradient checks, %d failed\n", ran, failed);
    return failed ? 1 : 0;
}
