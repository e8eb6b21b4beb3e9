/* models/models.c — the registry of model presets and the uae_model_* functions (uae/model.h):
 * defaults, creation, binding, dispatch to the preset's functions and the generic training step.
 * The networks themselves are in model_ae.c, model_aae.c, model_concrete.c, model_simclr.c and
 * model_classifier.c; MINE's statistics networks are not here (models/mine.c). */
#include "model_impl.h"

#include <stdlib.h>
#include <string.h>

#include "checked.h"

static const uae_model_family *const families[] = {
    &uae_family_dense_ae, &uae_family_sparse_ae, &uae_family_conv_ae,   &uae_family_aae,
    &uae_family_concrete_ae, &uae_family_simclr_small, &uae_family_classifier,
};
#define NFAMILIES ((int)(sizeof families / sizeof families[0]))

static const char *const preset_names[] = {
    "dense-ae", "sparse-ae", "conv-ae", "aae", "concrete-ae", "simclr-small", "classifier", NULL,
};
_Static_assert(sizeof preset_names / sizeof preset_names[0] == NFAMILIES + 1,
               "one name per family, then NULL");

const char *const *uae_model_presets(void) { return preset_names; }

static const uae_model_family *find_family(const char *name) {
    for (int i = 0; i < NFAMILIES; i++)
        if (strcmp(families[i]->name, name) == 0) return families[i];
    return NULL;
}

/* channels x height x width within UAE_MODEL_MAX_FEATURES, computed without overflow. */
static uae_status check_features(const char *preset, int channels, int height, int width) {
    int64_t d;
    if (channels < 1 || height < 1 || width < 1 ||
        !uae_checked_mul3(channels, height, width, &d) || d > UAE_MODEL_MAX_FEATURES)
        return uae_fail(UAE_ERR_INVALID, "model '%s': input %d x %d x %d (channels x height x "
                        "width), expected each >= 1 and at most %lld features in all", preset,
                        channels, height, width, (long long)UAE_MODEL_MAX_FEATURES);
    return UAE_OK;
}

uae_status uae_model_defaults(const char *preset, int channels, int height, int width, int classes,
                              uae_model_config *cfg) {
    const uae_model_family *f = preset ? find_family(preset) : NULL;
    if (!f) {
        char list[256] = "";
        for (int i = 0; i < NFAMILIES; i++) {
            strcat(list, i ? ", " : "");
            strcat(list, families[i]->name);
        }
        return uae_fail(UAE_ERR_INVALID, "model preset '%s': expected one of %s (mine and "
                        "mine-dense are the attack's networks, see uae/mine.h)",
                        preset ? preset : "(null)", list);
    }
    if (channels < 1 || height < 1 || width < 1 || classes < 0)
        return uae_fail(UAE_ERR_INVALID, "model '%s': input %d x %d x %d with %d classes",
                        preset, channels, height, width, classes);
    UAE_TRY(check_features(preset, channels, height, width));
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->preset, sizeof cfg->preset, "%s", f->name);
    cfg->kind = f->kind;
    cfg->channels = channels;
    cfg->height = height;
    cfg->width = width;
    cfg->classes = classes;
    f->defaults(cfg);
    return UAE_OK;
}

uae_status uae_model_create(uae_backend *be, const uae_model_config *cfg, uint64_t seed,
                            uae_model **out) {
    const uae_model_family *f = find_family(cfg->preset);
    if (!f) return uae_fail(UAE_ERR_INVALID, "model preset '%s' is unknown (uae_model_presets "
                            "lists them)", cfg->preset);
    /* The configuration may come from a file (a checkpoint's metadata, which the checksum does
     * not cover): every size computed from it below must fit. */
    UAE_TRY(check_features(cfg->preset, cfg->channels, cfg->height, cfg->width));
    uae_model *m = calloc(1, sizeof *m);
    if (!m) return uae_fail(UAE_ERR_NOMEM, "model: out of host memory");
    m->cfg = *cfg;
    m->cfg.kind = f->kind;
    m->fam = f;
    m->be = be;
    m->opt.p = cfg->opt.p;
    m->opt.p.step = 0;
    uae_status st = uae_params_create(be, &m->P);
    if (st == UAE_OK) st = f->declare(m);
    if (st == UAE_OK && uae_params_count(m->P) > UAE_MODEL_MAX_PARAMS)
        st = uae_fail(UAE_ERR_INVALID, "model '%s': %d parameter tensors, at most %d", f->name,
                      uae_params_count(m->P), UAE_MODEL_MAX_PARAMS);
    if (st == UAE_OK) st = uae_params_finalize(m->P, seed);
    if (st == UAE_OK && f->setup) st = f->setup(m);
    if (st != UAE_OK) {
        uae_model_free(m);
        return uae_fail_context(st, "creating model '%s'", cfg->preset);
    }
    *out = m;
    return UAE_OK;
}

void uae_model_free(uae_model *m) {
    if (!m) return;
    if (m->fam && m->fam->cleanup) m->fam->cleanup(m);
    uae_params_free(m->P);
    free(m);
}

const uae_model_config *uae_model_config_of(const uae_model *m) { return &m->cfg; }
uae_params *uae_model_params(uae_model *m) { return m->P; }

uae_status uae_model_bind(uae_model *m, uae_tape *t, bool trainable, uae_var **pv) {
    return uae_params_leaves(m->P, t, trainable, pv);
}

uae_var *uae_model_forward(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x, const uae_batch *b) {
    if (!x) return uae_tape_fail(t, uae_fail(UAE_ERR_INVALID, "model forward: x is NULL"));
    return m->fam->forward(m, t, pv, x, b);
}

uae_var *uae_model_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x, const uae_batch *b) {
    if (!x) return uae_tape_fail(t, uae_fail(UAE_ERR_INVALID, "model loss: x is NULL"));
    if (m->cfg.kind == UAE_MODEL_CLASSIFIER && (!b || !b->onehot))
        return uae_tape_fail(t, uae_fail(UAE_ERR_INVALID, "model '%s': the loss needs one-hot "
                                         "labels (batch.onehot)", m->cfg.preset));
    return m->fam->loss(m, t, pv, x, b);
}

bool uae_model_has_first_layer(const uae_model_config *cfg) {
    const uae_model_family *f = find_family(cfg->preset);
    return f && f->first_layer;
}

uae_var *uae_model_negatives(uae_model *m, uae_tape *t, uae_var **pv, const uae_tensor *x,
                             uint64_t seed) {
    if (!m->fam->negatives)
        return uae_tape_fail(t, uae_fail(UAE_ERR_INVALID, "model '%s' has no contrastive "
                                         "negatives (not a contrastive model)", m->cfg.preset));
    return m->fam->negatives(m, t, pv, x, seed);
}

uae_var *uae_model_first_layer(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x) {
    return m->fam->first_layer ? m->fam->first_layer(m, t, pv, x) : NULL;
}

uae_var *uae_model_embed(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x) {
    return m->fam->embed ? m->fam->embed(m, t, pv, x) : NULL;
}

uae_status uae_model_check_micro_batches(const uae_model *m) {
    const char *why = m->fam->coupled_rows;
    if (!why && !m->fam->train_step) return UAE_OK;
    return uae_fail(UAE_ERR_UNSUPPORTED, "model '%s' cannot train in micro-batches or on several "
                    "ranks: %s, so a part of a batch does not give its part of the gradient (train "
                    "it as one process without --micro-batch; dense-ae, conv-ae, concrete-ae and "
                    "classifier train in micro-batches)", m->cfg.preset,
                    why ? why : "its training step is not one mean loss over the batch");
}

/* The micro-batch's share of the batch mean: its per-sample losses summed and divided by the
 * batch's rows. A whole batch takes today's mean (uae_model_batch_mean), so that one micro-batch
 * per batch is the generic step bit for bit. */
static uae_status micro_gradient(uae_model *m, uae_tape *t, const uae_batch *b, float *loss) {
    uae_var *pv[UAE_MODEL_MAX_PARAMS];
    UAE_TRY(uae_model_bind(m, t, true, pv));
    uae_var *per = uae_model_loss(m, t, pv, uae_ad_const(t, b->x), b);
    int64_t rows = b->x->shape[0];
    uae_var *l;
    if (b->batch_rows == 0 || (b->row0 == 0 && b->batch_rows == rows)) {
        l = uae_model_batch_mean(t, per);
    } else {
        uae_var *sum = per ? uae_ad_reduce(t, UAE_REDUCE_SUM, 0x1, per) : NULL;
        l = uae_ad_affine(t, uae_ad_reshape(t, sum, 1, (int64_t[]){1}),
                          1.0f / (float)b->batch_rows, 0.0f);
    }
    UAE_TRY(uae_ad_backward(t, l));
    return uae_model_read_scalar(l, loss);
}

uae_status uae_model_micro_gradient(uae_model *m, uae_tape *t, const uae_batch *b,
                                    float *loss_part) {
    UAE_TRY(uae_model_check_micro_batches(m));
    if (b->batch_rows < 0 || b->row0 < 0 || (b->batch_rows > 0 &&
                                             b->row0 + b->x->shape[0] > b->batch_rows))
        return uae_fail(UAE_ERR_INVALID, "micro-batch: rows %lld .. %lld of a batch of %lld",
                        (long long)b->row0, (long long)(b->row0 + b->x->shape[0]),
                        (long long)b->batch_rows);
    float l = 0.0f;
    uae_pass pass = uae_pass_begin(t, true);
    uae_status st = micro_gradient(m, t, b, &l);
    uae_pass_end(&pass);
    if (st != UAE_OK) return uae_fail_context(st, "training step %llu of '%s', rows %lld ..",
                                              (unsigned long long)b->step, m->cfg.preset,
                                              (long long)b->row0);
    *loss_part = l;
    return UAE_OK;
}

uae_status uae_model_apply_gradient(uae_model *m) { return uae_optimizer_step(&m->opt, m->P); }

uint64_t uae_model_row_counter(const uae_batch *b, const uae_tensor *h) {
    uint64_t rows = (uint64_t)h->shape[0], per_row = (uint64_t)uae_tensor_numel(h) / rows;
    uint64_t batch = b->batch_rows > 0 ? (uint64_t)b->batch_rows : rows;
    return (b->step * batch + (uint64_t)b->row0) * per_row;
}

/* The generic step: batch mean of the per-sample loss, backward into the store's gradients, one
 * update of every parameter. */
static uae_status generic_step(uae_model *m, uae_tape *t, const uae_batch *b, float *loss) {
    uae_var *pv[UAE_MODEL_MAX_PARAMS];
    UAE_TRY(uae_model_bind(m, t, true, pv));
    uae_var *l = uae_model_batch_mean(t, uae_model_loss(m, t, pv, uae_ad_const(t, b->x), b));
    UAE_TRY(uae_ad_backward(t, l));
    UAE_TRY(uae_model_read_scalar(l, loss));
    return uae_optimizer_step(&m->opt, m->P);
}

uae_status uae_model_train_step(uae_model *m, uae_tape *t, const uae_batch *b, float *loss) {
    float l = 0.0f;
    uae_pass pass = uae_pass_begin(t, true);
    uae_status st = m->fam->train_step ? m->fam->train_step(m, t, b, &l) : generic_step(m, t, b, &l);
    uae_pass_end(&pass);
    if (st != UAE_OK) return uae_fail_context(st, "training step %llu of '%s'",
                                              (unsigned long long)b->step, m->cfg.preset);
    if (loss) *loss = l;
    return UAE_OK;
}

/* ---- Helpers shared by the model files ---------------------------------------------------- */

static int add_layer(uae_model *m, const char *name, int ndim, const int64_t *wshape) {
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    int w = uae_params_add(m->P, wn, ndim, wshape, UAE_INIT_GLOROT_UNIFORM);
    int b = uae_params_add(m->P, bn, 1, wshape, UAE_INIT_ZEROS);
    UAE_ASSERT(m->nlayers < UAE_MODEL_MAX_LAYERS);
    if (w < 0 || b < 0) return -1;
    m->layer[m->nlayers] = w;
    return m->nlayers++;
}

int uae_model_add_dense(uae_model *m, const char *name, int64_t out, int64_t in) {
    return add_layer(m, name, 2, (int64_t[]){out, in});
}

int uae_model_add_conv(uae_model *m, const char *name, int64_t out, int64_t in, int k) {
    return add_layer(m, name, 4, (int64_t[]){out, in, k, k});
}

uae_var *uae_model_dense(uae_model *m, uae_tape *t, uae_var **pv, int k, uae_var *x, uae_act act) {
    int w = m->layer[k];
    return uae_nn_dense(t, x, pv[w], pv[w + 1], act);
}

uae_var *uae_model_conv(uae_model *m, uae_tape *t, uae_var **pv, int k, uae_var *x, bool same,
                        uae_act act) {
    int w = m->layer[k];
    return uae_nn_conv2d(t, x, pv[w], pv[w + 1], same, act);
}

uae_var *uae_model_flatten(uae_tape *t, uae_var *x) {
    if (!x) return NULL;
    const uae_tensor *X = uae_ad_value(x);
    if (X->ndim == 2) return x;
    int64_t b = X->shape[0];
    return uae_ad_reshape(t, x, 2, (int64_t[]){b, uae_tensor_numel(X) / b});
}

uae_var *uae_model_as_images(uae_model *m, uae_tape *t, uae_var *x) {
    if (!x) return NULL;
    const uae_tensor *X = uae_ad_value(x);
    if (X->ndim == 4) return x;
    int64_t d = (int64_t)m->cfg.channels * m->cfg.height * m->cfg.width;
    return uae_ad_reshape(t, x, 4, (int64_t[]){uae_tensor_numel(X) / d, m->cfg.channels,
                                               m->cfg.height, m->cfg.width});
}

uae_var *uae_model_target(uae_tape *t, uae_var *x, const uae_batch *b) {
    return uae_model_flatten(t, b && b->target ? uae_ad_const(t, b->target) : x);
}

uae_var *uae_model_batch_mean(uae_tape *t, uae_var *per_sample) {
    if (!per_sample) return NULL;
    uae_var *mean = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x1, per_sample);
    return uae_ad_reshape(t, mean, 1, (int64_t[]){1});
}

uae_var *uae_model_const_fill(uae_tape *t, int ndim, const int64_t *shape, float value) {
    uae_var *c = uae_ad_new_const(t, ndim, shape);
    if (!c) return NULL;
    uae_status st = uae_fill(uae_ad_value(c), value);
    return st == UAE_OK ? c : uae_tape_fail(t, st);
}

uae_status uae_model_bind_range(uae_model *m, uae_tape *t, int lo, int hi, uae_var **pv) {
    for (int i = 0; i < uae_params_count(m->P); i++) {
        bool train = i >= lo && i < hi;
        pv[i] = train ? uae_ad_leaf(t, uae_params_value(m->P, i), uae_params_grad(m->P, i))
                      : uae_ad_const(t, uae_params_value(m->P, i));
        if (!pv[i]) return uae_tape_status(t);
    }
    return UAE_OK;
}

uae_status uae_model_read_scalar(uae_var *v, float *out) {
    return uae_tensor_read(uae_ad_value(v), out);
}

uae_status uae_model_selected_features(const uae_model *m, int *idx, int k) {
    if (m->fam != &uae_family_concrete_ae || k != m->cfg.select_k)
        return uae_fail(UAE_ERR_INVALID, "selected features: model '%s' with %d rows asked; only "
                        "concrete-ae has a selector (%d rows)", m->cfg.preset, k, m->cfg.select_k);
    const uae_tensor *L = uae_params_value(m->P, 0); /* sel.logits (K, d) */
    int64_t d = L->shape[1];
    float *h = malloc((size_t)uae_tensor_numel(L) * sizeof *h);
    if (!h) return uae_fail(UAE_ERR_NOMEM, "selected features: out of host memory");
    uae_status st = uae_tensor_read(L, h);
    for (int r = 0; r < k && st == UAE_OK; r++) {
        int best = 0; /* first maximum, as argmax does */
        for (int64_t j = 1; j < d; j++)
            if (h[r * d + j] > h[r * d + best]) best = (int)j;
        idx[r] = best;
    }
    free(h);
    return st;
}
