/* models/model_concrete.c — the concrete autoencoder (Abid, Balin and Zou, ICML 2019) of the
 * official concreteAE.py: a selector that learns which K of the d input features to keep, and a
 * decoder that reconstructs all d from them. Not here: the generic training step (models.c).
 *
 * Selector: logits L (K, d). In training each row is a Gumbel-softmax sample
 *     S = softmax((L + g) / T),   g = -log(-log u),  u ~ U(1e-7, 1)  (one (K, d) draw per step)
 * with the temperature annealed exponentially over the training steps,
 *     T(step) = T_start * (T_end / T_start) ^ (step / total_steps)     (10 -> 0.01 by default);
 * in evaluation S is hard: row k is the one-hot of argmax L_k. The selected features are x S^T
 * (B, K). Decoder: Dense(320) -> LeakyReLU(0.2) -> Dropout(0.1) -> Dense(320) -> LeakyReLU(0.2)
 * -> Dropout(0.1) -> Dense(d), linear output; MSE; Adam lr 1e-3.
 * Parameters: sel.logits (K, d) (Glorot-uniform; the Keras layer draws Glorot-normal), dec1
 * (320, K), dec2 (320, 320), dec3 (d, 320), each dec with its bias. */
#include "model_impl.h"

#include <math.h>
#include <stdlib.h>

enum { CAE_DEC1, CAE_DEC2, CAE_DEC3 }; /* layer numbers; the logits are parameter 0 */
#define LOGITS 0

static void concrete_defaults(uae_model_config *cfg) {
    cfg->select_k = 50;
    cfg->temp_start = 10.0f;
    cfg->temp_end = 0.01f;
    cfg->total_steps = 0;
    cfg->dropout = 0.1f;
    cfg->opt = uae_optimizer_default(UAE_OPTIM_ADAM);
    /* concreteAE.py: num_epochs = 800; the selector class's batch size is max(n / 256, 16),
     * 234 for MNIST's 60000 training images */
    cfg->epochs = 800;
    cfg->batch = 234;
}

static int64_t input_dim(const uae_model *m) {
    return (int64_t)m->cfg.channels * m->cfg.height * m->cfg.width;
}

static uae_status concrete_declare(uae_model *m) {
    int64_t d = input_dim(m), k = m->cfg.select_k;
    if (k < 1 || k > d)
        return uae_fail(UAE_ERR_INVALID, "concrete-ae: %lld features selected of %lld", (long long)k,
                        (long long)d);
    if (!(m->cfg.temp_start > 0.0f && m->cfg.temp_end > 0.0f))
        return uae_fail(UAE_ERR_INVALID, "concrete-ae: temperatures %g -> %g, expected > 0",
                        (double)m->cfg.temp_start, (double)m->cfg.temp_end);
    int li = uae_params_add(m->P, "sel.logits", 2, (int64_t[]){k, d}, UAE_INIT_GLOROT_UNIFORM);
    UAE_ASSERT(li == LOGITS || li < 0);
    uae_model_add_dense(m, "dec1", 320, k);
    uae_model_add_dense(m, "dec2", 320, 320);
    uae_model_add_dense(m, "dec3", d, 320);
    return UAE_OK;
}

/* T(step), held at T_end after total_steps. */
static float temperature(const uae_model *m, uint64_t step) {
    double total = (double)m->cfg.total_steps;
    if (total <= 0) total = (double)m->cfg.epochs * ceil(60000.0 / (m->cfg.batch > 0 ? m->cfg.batch : 100));
    double f = fmin((double)step / total, 1.0);
    return (float)(m->cfg.temp_start * pow(m->cfg.temp_end / m->cfg.temp_start, f));
}

/* The soft selection matrix of a training step (K, d). */
static uae_var *soft_selection(uae_model *m, uae_tape *t, uae_var *logits, const uae_batch *b) {
    const uae_tensor *L = uae_ad_value(logits);
    uae_var *g = uae_ad_new_const(t, 2, L->shape);
    if (!g) return NULL;
    const uae_tensor *G = uae_ad_value(g);
    /* u in [1e-7, 1) as Keras' random_uniform(epsilon, 1); g = -log(-log u) */
    uae_status st = uae_rng_fill(UAE_RNG_UNIFORM, b->seed, UAE_STREAM_GUMBEL,
                                 b->step * (uint64_t)uae_tensor_numel(L), 1e-7f, 1.0f, G);
    if (st == UAE_OK) st = uae_unary(UAE_UNARY_LOG, 0, 0, G, G);
    if (st == UAE_OK) st = uae_unary(UAE_UNARY_AFFINE, -1.0f, 0.0f, G, G);
    if (st == UAE_OK) st = uae_unary(UAE_UNARY_LOG, 0, 0, G, G);
    if (st == UAE_OK) st = uae_unary(UAE_UNARY_AFFINE, -1.0f, 0.0f, G, G);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    float inv_t = 1.0f / temperature(m, b->step);
    return uae_ad_softmax(t, uae_ad_affine(t, uae_ad_add(t, logits, g), inv_t, 0.0f), false);
}

/* The hard selection matrix (K, d): one-hot rows at the argmax of each logits row. */
static uae_var *hard_selection(uae_model *m, uae_tape *t) {
    int64_t k = m->cfg.select_k, d = input_dim(m);
    uae_var *s = uae_ad_new_const(t, 2, (int64_t[]){k, d});
    if (!s) return NULL;
    int *idx = malloc((size_t)k * sizeof *idx);
    float *h = calloc((size_t)(k * d), sizeof *h);
    uae_status st = idx && h ? uae_model_selected_features(m, idx, (int)k)
                             : uae_fail(UAE_ERR_NOMEM, "concrete-ae: out of host memory");
    for (int64_t r = 0; r < k && st == UAE_OK; r++) h[r * d + idx[r]] = 1.0f;
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(s), h);
    free(idx);
    free(h);
    return st == UAE_OK ? s : uae_tape_fail(t, st);
}

static uae_var *concrete_run(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                             const uae_batch *b) {
    bool training = b && b->training;
    uae_var *sel = training ? soft_selection(m, t, pv[LOGITS], b) : hard_selection(m, t);
    uae_var *h = uae_ad_matmul(t, uae_model_flatten(t, x), sel, false, true); /* (B, K) */
    for (int k = CAE_DEC1; k <= CAE_DEC2; k++) {
        h = uae_model_dense(m, t, pv, k, h, UAE_ACT_LEAKY_RELU);
        if (h && training)
            h = uae_nn_dropout(t, h, m->cfg.dropout, true, b->seed, UAE_STREAM_DROPOUT + (uint64_t)k,
                               uae_model_row_counter(b, uae_ad_value(h)));
    }
    return uae_model_dense(m, t, pv, CAE_DEC3, h, UAE_ACT_NONE);
}

static uae_var *concrete_forward(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                                 const uae_batch *b) {
    uae_var *y = concrete_run(m, t, pv, x, b);
    if (!y) return NULL;
    const uae_tensor *X = uae_ad_value(x);
    return uae_ad_reshape(t, y, X->ndim, X->shape);
}

static uae_var *concrete_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                              const uae_batch *b) {
    return uae_loss_mse(t, concrete_run(m, t, pv, x, b), uae_model_target(t, x, b));
}

const uae_model_family uae_family_concrete_ae = {
    .name = "concrete-ae", .kind = UAE_MODEL_AUTOENCODER, .defaults = concrete_defaults,
    .declare = concrete_declare, .forward = concrete_forward, .loss = concrete_loss,
};
