/* models/model_ae.c — the three plain autoencoders of the paper's official code: dense-ae,
 * sparse-ae (the dense one with activity regularisers) and conv-ae. Each reads like its Keras
 * definition; the training step is the generic one of models.c. Not here: the AAE (model_aae.c). */
#include "model_impl.h"

/* ---- dense-ae ------------------------------------------------------------------------------
 * 784 -> Dense(128, sigmoid) -> Dense(784, sigmoid); MSE; RMSprop lr 0.0025; 20 epochs of 100.
 * Parameters: enc.weight (128, d), enc.bias (128), dec.weight (d, 128), dec.bias (d). */

enum { AE_ENC, AE_DEC };

static int64_t input_dim(const uae_model *m) {
    return (int64_t)m->cfg.channels * m->cfg.height * m->cfg.width;
}

static void dense_ae_defaults(uae_model_config *cfg) {
    cfg->hidden = 128;
    cfg->opt = uae_optimizer_default(UAE_OPTIM_RMSPROP);
    cfg->opt.p.lr = 0.0025f;
    cfg->epochs = 20;
    cfg->batch = 100;
}

static uae_status dense_ae_declare(uae_model *m) {
    if (m->cfg.hidden < 1) return uae_fail(UAE_ERR_INVALID, "%s: hidden size %d", m->cfg.preset,
                                           m->cfg.hidden);
    uae_model_add_dense(m, "enc", m->cfg.hidden, input_dim(m));
    uae_model_add_dense(m, "dec", input_dim(m), m->cfg.hidden);
    return UAE_OK; /* declaration errors are reported by finalize */
}

/* The code h and the reconstruction y (both flat) of x. */
static uae_var *dense_ae_run(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x, uae_var **h) {
    *h = uae_model_dense(m, t, pv, AE_ENC, uae_model_flatten(t, x), UAE_ACT_SIGMOID);
    return uae_model_dense(m, t, pv, AE_DEC, *h, UAE_ACT_SIGMOID);
}

/* The reconstruction in x's shape. */
static uae_var *like_input(uae_tape *t, uae_var *y, uae_var *x) {
    if (!y) return NULL;
    const uae_tensor *X = uae_ad_value(x);
    return uae_ad_reshape(t, y, X->ndim, X->shape);
}

static uae_var *dense_ae_forward(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                                 const uae_batch *b) {
    (void)b;
    uae_var *h;
    return like_input(t, dense_ae_run(m, t, pv, x, &h), x);
}

static uae_var *dense_ae_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                              const uae_batch *b) {
    uae_var *h;
    uae_var *y = dense_ae_run(m, t, pv, x, &h);
    return uae_loss_mse(t, y, uae_model_target(t, x, b));
}

const uae_model_family uae_family_dense_ae = {
    .name = "dense-ae", .kind = UAE_MODEL_AUTOENCODER, .defaults = dense_ae_defaults,
    .declare = dense_ae_declare, .forward = dense_ae_forward, .loss = dense_ae_loss,
};

/* ---- sparse-ae -----------------------------------------------------------------------------
 * The dense AE, trained with Adam for 50 epochs, with the sparsity penalties of sparseAE.py:
 *     loss_i = mse_i + l1 * (|h_i|_1 + |y_i|_1) + kl_weight * mean_j KL(rho || mean_batch h_j)
 * (L1 activity regularisation 1e-7 on both layers' outputs; KL weight 3, rho 0.1, averaged over
 * the 128 hidden units as the script's K.mean does). The KL term is a batch quantity; it is added
 * to every sample's loss, so the batch mean carries it once. The L1 term is per sample, so the
 * batch mean carries l1 * sum / B: tf.keras divides activity penalties by the batch size like
 * this, while standalone Keras 2.2 adds the batch sum (B times more). */

static void sparse_ae_defaults(uae_model_config *cfg) {
    dense_ae_defaults(cfg);
    cfg->opt = uae_optimizer_default(UAE_OPTIM_ADAM);
    cfg->epochs = 50;
    cfg->l1 = 1e-7f;
    cfg->kl_weight = 3.0f;
    cfg->kl_rho = 0.1f;
}

static uae_var *sparse_ae_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                               const uae_batch *b) {
    uae_var *h;
    uae_var *y = dense_ae_run(m, t, pv, x, &h);
    uae_var *loss = uae_loss_mse(t, y, uae_model_target(t, x, b));
    uae_var *l1 = uae_ad_add(t, uae_loss_l1(t, h), uae_loss_l1(t, y));
    loss = uae_ad_add(t, loss, uae_ad_affine(t, l1, m->cfg.l1, 0.0f));
    uae_var *kl = uae_loss_kl_sparsity(t, h, m->cfg.kl_rho);
    float per_unit = m->cfg.kl_weight / (float)m->cfg.hidden; /* sum over units -> mean */
    return uae_ad_add(t, loss, uae_ad_affine(t, kl, per_unit, 0.0f));
}

const uae_model_family uae_family_sparse_ae = {
    .name = "sparse-ae", .kind = UAE_MODEL_AUTOENCODER, .defaults = sparse_ae_defaults,
    .declare = dense_ae_declare, .forward = dense_ae_forward, .loss = sparse_ae_loss,
    .coupled_rows = "its KL sparsity term is computed from the mean activation of the whole batch",
};

/* ---- conv-ae -------------------------------------------------------------------------------
 * convAE.py, all convolutions 5x5 "same":
 *   Conv(16, ReLU) -> MaxPool 2 -> Conv(8, ReLU) -> MaxPool 2            (encoder, H/4 x W/4 x 8)
 *   Conv(8, ReLU) -> Upsample 2 -> Conv(16, ReLU) -> Upsample 2 -> Conv(C, sigmoid)   (decoder)
 * Binary cross-entropy; Adadelta (lr 1, rho 0.95, eps 1e-7); 20 epochs of 100.
 * Parameters: conv1 (16, C, 5, 5), conv2 (8, 16, 5, 5), conv3 (8, 8, 5, 5), conv4 (16, 8, 5, 5),
 * conv5 (C, 16, 5, 5), each with its bias. */

enum { CAE_CONV1, CAE_CONV2, CAE_CONV3, CAE_CONV4, CAE_CONV5 };

static void conv_ae_defaults(uae_model_config *cfg) {
    cfg->opt = uae_optimizer_default(UAE_OPTIM_ADADELTA);
    cfg->epochs = 20;
    cfg->batch = 100;
}

static uae_status conv_ae_declare(uae_model *m) {
    int c = m->cfg.channels;
    if (m->cfg.height % 4 || m->cfg.width % 4)
        return uae_fail(UAE_ERR_SHAPE, "conv-ae: input %d x %d, expected sides divisible by 4 (two "
                        "poolings, two upsamplings)", m->cfg.height, m->cfg.width);
    uae_model_add_conv(m, "conv1", 16, c, 5);
    uae_model_add_conv(m, "conv2", 8, 16, 5);
    uae_model_add_conv(m, "conv3", 8, 8, 5);
    uae_model_add_conv(m, "conv4", 16, 8, 5);
    uae_model_add_conv(m, "conv5", c, 16, 5);
    return UAE_OK;
}

static uae_var *conv_ae_first(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x) {
    return uae_model_conv(m, t, pv, CAE_CONV1, uae_model_as_images(m, t, x), true, UAE_ACT_RELU);
}

static uae_var *conv_ae_run(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x) {
    uae_var *h = uae_ad_maxpool2(t, conv_ae_first(m, t, pv, x));
    h = uae_ad_maxpool2(t, uae_model_conv(m, t, pv, CAE_CONV2, h, true, UAE_ACT_RELU));
    h = uae_ad_upsample2(t, uae_model_conv(m, t, pv, CAE_CONV3, h, true, UAE_ACT_RELU));
    h = uae_ad_upsample2(t, uae_model_conv(m, t, pv, CAE_CONV4, h, true, UAE_ACT_RELU));
    return uae_model_conv(m, t, pv, CAE_CONV5, h, true, UAE_ACT_SIGMOID);
}

static uae_var *conv_ae_forward(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                                const uae_batch *b) {
    (void)b;
    return like_input(t, conv_ae_run(m, t, pv, x), x);
}

static uae_var *conv_ae_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                             const uae_batch *b) {
    uae_var *y = uae_model_flatten(t, conv_ae_run(m, t, pv, x));
    return uae_loss_bce(t, y, uae_model_target(t, x, b));
}

const uae_model_family uae_family_conv_ae = {
    .name = "conv-ae", .kind = UAE_MODEL_AUTOENCODER, .defaults = conv_ae_defaults,
    .declare = conv_ae_declare, .forward = conv_ae_forward, .loss = conv_ae_loss,
    .first_layer = conv_ae_first,
};
