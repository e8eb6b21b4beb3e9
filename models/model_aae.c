/* models/model_aae.c — the adversarial autoencoder of the official keras-aae.py: an autoencoder
 * whose code distribution is pushed towards a N(0, I) prior by a discriminator. Its training step
 * makes the three updates of the Keras script; its per-sample loss (the attack's) is the
 * reconstruction MSE. Not here: the generic step (models.c).
 *
 *   encoder:       Dense(1000, ReLU) -> Dense(1000, ReLU) -> Dense(latent, sigmoid)
 *   decoder:       Dense(1000, ReLU) -> Dense(1000, ReLU) -> Dense(d, sigmoid)
 *   discriminator: Dense(1000, ReLU) -> Dense(1000, ReLU) -> Dense(1, sigmoid)
 * Adam lr 1e-4 for each of the three Keras models (autoencoder, discriminator, generator), 50 epochs
 * of 100, latent 2.
 *
 * Parameters, in this order in the one store: enc1, enc2, enc3, dec1, dec2, dec3, disc1, disc2,
 * disc3 (".weight" (out, in) and ".bias" each). The autoencoder update steps the range enc1..dec3
 * with the store's optimizer state, the discriminator update disc1..disc3 with the store's state,
 * and the generator update enc1..enc3 with optimizer state of its own (Keras compiles the
 * generator as a separate model, so its Adam moments are separate from the autoencoder's). */
#include "model_impl.h"

#include <stdlib.h>

enum { ENC1, ENC2, ENC3, DEC1, DEC2, DEC3, DISC1, DISC2, DISC3 };

typedef struct aae_state {
    uae_optimizer disc_opt, gen_opt;
    uae_arena *arena;      /* owns gen_state */
    uae_tensor gen_state[2]; /* the generator's Adam moments over the encoder's range */
} aae_state;

static void aae_defaults(uae_model_config *cfg) {
    cfg->latent = 2;
    cfg->opt = uae_optimizer_default(UAE_OPTIM_ADAM);
    cfg->opt.p.lr = 1e-4f;
    cfg->epochs = 50;
    cfg->batch = 100;
}

static uae_status aae_declare(uae_model *m) {
    int64_t d = (int64_t)m->cfg.channels * m->cfg.height * m->cfg.width, z = m->cfg.latent;
    if (z < 1) return uae_fail(UAE_ERR_INVALID, "aae: latent size %lld", (long long)z);
    uae_model_add_dense(m, "enc1", 1000, d);
    uae_model_add_dense(m, "enc2", 1000, 1000);
    uae_model_add_dense(m, "enc3", z, 1000);
    uae_model_add_dense(m, "dec1", 1000, z);
    uae_model_add_dense(m, "dec2", 1000, 1000);
    uae_model_add_dense(m, "dec3", d, 1000);
    uae_model_add_dense(m, "disc1", 1000, z);
    uae_model_add_dense(m, "disc2", 1000, 1000);
    uae_model_add_dense(m, "disc3", 1, 1000);
    return UAE_OK;
}

/* The index in the store of layer k's first parameter (its weight). */
static int first_param(const uae_model *m, int k) { return m->layer[k]; }

/* Floats [first, end) of the flat tensors that parameters [lo, hi) occupy. */
static void param_range(const uae_model *m, int lo, int hi, int64_t *first, int64_t *count) {
    const uae_tensor *flat = uae_params_flat(m->P);
    size_t base = flat->offset;
    int64_t a = (int64_t)(uae_params_value(m->P, lo)->offset - base);
    int64_t b = hi < uae_params_count(m->P) ? (int64_t)(uae_params_value(m->P, hi)->offset - base)
                                            : uae_tensor_numel(flat);
    *first = a;
    *count = b - a;
}

static uae_status aae_setup(uae_model *m) {
    aae_state *s = calloc(1, sizeof *s);
    if (!s) return uae_fail(UAE_ERR_NOMEM, "aae: out of host memory");
    m->priv = s;
    s->disc_opt = m->opt;
    s->gen_opt = m->opt;
    int64_t first, count;
    param_range(m, first_param(m, ENC1), first_param(m, DEC1), &first, &count);
    UAE_TRY(uae_arena_create(m->be, (size_t)(2 * count + 64), &s->arena));
    for (int k = 0; k < 2; k++) {
        UAE_TRY(uae_arena_tensor1(s->arena, count, &s->gen_state[k]));
        UAE_TRY(uae_fill(&s->gen_state[k], 0.0f));
    }
    return UAE_OK;
}

static void aae_cleanup(uae_model *m) {
    aae_state *s = m->priv;
    if (!s) return;
    uae_arena_free(s->arena);
    free(s);
    m->priv = NULL;
}

static uae_var *encode(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x) {
    uae_var *h = uae_model_dense(m, t, pv, ENC1, uae_model_flatten(t, x), UAE_ACT_RELU);
    h = uae_model_dense(m, t, pv, ENC2, h, UAE_ACT_RELU);
    return uae_model_dense(m, t, pv, ENC3, h, UAE_ACT_SIGMOID);
}

static uae_var *decode(uae_model *m, uae_tape *t, uae_var **pv, uae_var *z) {
    uae_var *h = uae_model_dense(m, t, pv, DEC1, z, UAE_ACT_RELU);
    h = uae_model_dense(m, t, pv, DEC2, h, UAE_ACT_RELU);
    return uae_model_dense(m, t, pv, DEC3, h, UAE_ACT_SIGMOID);
}

/* The probability (B, 1) that z is a sample of the prior. */
static uae_var *discriminate(uae_model *m, uae_tape *t, uae_var **pv, uae_var *z) {
    uae_var *h = uae_model_dense(m, t, pv, DISC1, z, UAE_ACT_RELU);
    h = uae_model_dense(m, t, pv, DISC2, h, UAE_ACT_RELU);
    return uae_model_dense(m, t, pv, DISC3, h, UAE_ACT_SIGMOID);
}

static uae_var *aae_forward(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                            const uae_batch *b) {
    (void)b;
    uae_var *y = decode(m, t, pv, encode(m, t, pv, x));
    if (!y) return NULL;
    const uae_tensor *X = uae_ad_value(x);
    return uae_ad_reshape(t, y, X->ndim, X->shape);
}

static uae_var *aae_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x, const uae_batch *b) {
    uae_var *y = decode(m, t, pv, encode(m, t, pv, x));
    return uae_loss_mse(t, y, uae_model_target(t, x, b));
}

/* One optimizer update of parameters [lo, hi): the OPTIM op on views of the flat tensors. The
 * optimizer state is the store's (state == NULL) or the two given tensors of the range's size. */
static uae_status step_range(uae_model *m, uae_optimizer *o, int lo, int hi,
                             const uae_tensor *state) {
    int64_t first, count;
    param_range(m, lo, hi, &first, &count);
    uae_tensor p, g, s0, s1;
    UAE_TRY(uae_tensor_slice(uae_params_flat(m->P), first, count, &p));
    UAE_TRY(uae_tensor_slice(uae_params_flat_grad(m->P), first, count, &g));
    if (state) {
        s0 = state[0];
        s1 = state[1];
    } else {
        UAE_TRY(uae_tensor_slice(uae_params_state(m->P, 0), first, count, &s0));
        UAE_TRY(uae_tensor_slice(uae_params_state(m->P, 1), first, count, &s1));
    }
    o->p.step++;
    bool two_states = o->p.fn == UAE_OPTIM_ADAM || o->p.fn == UAE_OPTIM_ADADELTA;
    bool one_state = o->p.fn != UAE_OPTIM_SGD || o->p.momentum != 0.0f;
    uae_op op = {.kind = UAE_OP_OPTIM, .src = {&g},
                 .dst = {&p, one_state ? &s0 : NULL, two_states ? &s1 : NULL}};
    op.p.optim = o->p;
    return uae_op_run(&op);
}

/* The mean binary cross-entropy of probabilities p (B, 1) against the constant label. */
static uae_var *bce_to(uae_tape *t, uae_var *p, float label) {
    if (!p) return NULL;
    uae_var *target = uae_model_const_fill(t, 2, uae_ad_value(p)->shape, label);
    return uae_model_batch_mean(t, uae_loss_bce(t, p, target));
}

/* keras-aae.py, per batch:
 *   1. autoencoder.fit(x, x):      encoder + decoder step on the reconstruction MSE;
 *   2. discriminator.fit(...):     codes of x labelled 0, prior samples labelled 1; one step on the
 *                                  mean BCE over the 2B inputs (Keras splits those 2B rows into two
 *                                  shuffled batches of B; one step on all of them is our choice);
 *   3. generator.fit(x, ones):     encoder step so that the (frozen) discriminator calls the codes
 *                                  prior samples.
 * *loss receives the reconstruction loss of update 1. */
static uae_status aae_train_step(uae_model *m, uae_tape *t, const uae_batch *b, float *loss) {
    aae_state *s = m->priv;
    int enc = first_param(m, ENC1), dec = first_param(m, DEC1), disc = first_param(m, DISC1);
    int end = uae_params_count(m->P);
    uae_var *pv[UAE_MODEL_MAX_PARAMS];

    /* 1. reconstruction */
    UAE_TRY(uae_model_bind_range(m, t, enc, disc, pv));
    uae_var *x = uae_ad_const(t, b->x);
    uae_var *l = uae_model_batch_mean(t, aae_loss(m, t, pv, x, b));
    UAE_TRY(uae_ad_backward(t, l));
    UAE_TRY(uae_model_read_scalar(l, loss));
    UAE_TRY(step_range(m, &m->opt, enc, disc, NULL));
    uae_tape_reset(t);

    /* 2. discriminator: prior samples z ~ N(0, I) from (seed, PRIOR stream, step) */
    UAE_TRY(uae_model_bind_range(m, t, disc, end, pv));
    x = uae_ad_const(t, b->x);
    int64_t n = b->x->shape[0], zdim = m->cfg.latent;
    uae_var *prior = uae_ad_new_const(t, 2, (int64_t[]){n, zdim});
    if (!prior) return uae_tape_status(t);
    UAE_TRY(uae_rng_fill(UAE_RNG_NORMAL, b->seed, UAE_STREAM_PRIOR, b->step * (uint64_t)(n * zdim),
                         0.0f, 1.0f, uae_ad_value(prior)));
    uae_var *real = bce_to(t, discriminate(m, t, pv, prior), 1.0f);
    uae_var *fake = bce_to(t, discriminate(m, t, pv, encode(m, t, pv, x)), 0.0f);
    l = uae_ad_affine(t, uae_ad_add(t, real, fake), 0.5f, 0.0f);
    UAE_TRY(uae_ad_backward(t, l));
    UAE_TRY(step_range(m, &s->disc_opt, disc, end, NULL));
    uae_tape_reset(t);

    /* 3. generator: the encoder learns to fool the discriminator */
    UAE_TRY(uae_model_bind_range(m, t, enc, dec, pv));
    x = uae_ad_const(t, b->x);
    l = bce_to(t, discriminate(m, t, pv, encode(m, t, pv, x)), 1.0f);
    UAE_TRY(uae_ad_backward(t, l));
    return step_range(m, &s->gen_opt, enc, dec, s->gen_state);
}

/* For checkpoints: the discriminator's optimizer (its state is in the store) and the generator's
 * (with its own moments). */
static int aae_extra_state(uae_model *m, uae_model_extra *out, int cap) {
    aae_state *s = m->priv;
    if (cap < 2) return 0;
    out[0] = (uae_model_extra){"disc", &s->disc_opt, NULL};
    out[1] = (uae_model_extra){"gen", &s->gen_opt, s->gen_state};
    return 2;
}

const uae_model_family uae_family_aae = {
    .name = "aae", .kind = UAE_MODEL_AUTOENCODER, .defaults = aae_defaults,
    .declare = aae_declare, .setup = aae_setup, .cleanup = aae_cleanup, .forward = aae_forward,
    .loss = aae_loss, .train_step = aae_train_step, .extra_state = aae_extra_state,
    .coupled_rows = "its step updates three networks in turn, each after the previous update, on "
                    "the whole batch",
};
