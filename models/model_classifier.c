/* models/model_classifier.c — the supervised classifier of the paper's MNIST experiments (the
 * Carlini-Wagner MNIST network of the official train_models.py). Forward returns logits; the loss
 * is softmax cross-entropy against batch.onehot. Not here: the attacks on it (models/attack*.c).
 *
 *   Conv(32, 3x3) -> Conv(32, 3x3) -> MaxPool 2 -> Conv(64, 3x3) -> Conv(64, 3x3) -> MaxPool 2
 *   -> Flatten -> Dense(200) -> Dropout(0.5) -> Dense(200) -> Dense(classes)
 * ReLU after every layer but the last, "valid" convolutions; SGD lr 0.01 with Nesterov momentum
 * 0.9 (the script's lr decay of 1e-6 per step is left out); 50 epochs of 128. For 3-channel inputs
 * (CIFAR) the script's wider network: 64, 64, 128, 128, 256, 256. The flatten is in (C, H, W)
 * order, PyTorch's.
 * Parameters (MNIST widths): conv1 (32, C, 3, 3), conv2 (32, 32, 3, 3), conv3 (64, 32, 3, 3),
 * conv4 (64, 64, 3, 3), fc1 (200, 64 * H' * W'), fc2 (200, 200), logits (classes, 200), each with
 * its bias; H' = ((H - 4) / 2 - 4) / 2. */
#include "model_impl.h"

enum { CLS_CONV1, CLS_CONV2, CLS_CONV3, CLS_CONV4, CLS_FC1, CLS_FC2, CLS_LOGITS };

static void classifier_defaults(uae_model_config *cfg) {
    if (cfg->classes == 0) cfg->classes = 10;
    cfg->dropout = 0.5f;
    cfg->opt = uae_optimizer_default(UAE_OPTIM_SGD);
    cfg->opt.p.lr = 0.01f;
    cfg->opt.p.momentum = 0.9f;
    cfg->opt.p.nesterov = true;
    cfg->epochs = 50;
    cfg->batch = 128;
}

/* Side of the feature map after the four valid 3x3 convolutions and two poolings. */
static int final_side(int s) { return ((s - 4) / 2 - 4) / 2; }

static uae_status classifier_declare(uae_model *m) {
    int c = m->cfg.channels, h = final_side(m->cfg.height), w = final_side(m->cfg.width);
    if (h < 1 || w < 1)
        return uae_fail(UAE_ERR_SHAPE, "classifier: input %d x %d is too small (at least 16 x 16)",
                        m->cfg.height, m->cfg.width);
    if (m->cfg.classes < 2)
        return uae_fail(UAE_ERR_INVALID, "classifier: %d classes, expected at least 2",
                        m->cfg.classes);
    static const int mnist[6] = {32, 32, 64, 64, 200, 200}, cifar[6] = {64, 64, 128, 128, 256, 256};
    const int *k = c == 3 ? cifar : mnist;
    uae_model_add_conv(m, "conv1", k[0], c, 3);
    uae_model_add_conv(m, "conv2", k[1], k[0], 3);
    uae_model_add_conv(m, "conv3", k[2], k[1], 3);
    uae_model_add_conv(m, "conv4", k[3], k[2], 3);
    uae_model_add_dense(m, "fc1", k[4], (int64_t)k[3] * h * w);
    uae_model_add_dense(m, "fc2", k[5], k[4]);
    uae_model_add_dense(m, "logits", m->cfg.classes, k[5]);
    return UAE_OK;
}

static uae_var *classifier_first(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x) {
    return uae_model_conv(m, t, pv, CLS_CONV1, uae_model_as_images(m, t, x), false, UAE_ACT_RELU);
}

static uae_var *classifier_forward(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                                   const uae_batch *b) {
    uae_var *h = classifier_first(m, t, pv, x);
    h = uae_ad_maxpool2(t, uae_model_conv(m, t, pv, CLS_CONV2, h, false, UAE_ACT_RELU));
    h = uae_model_conv(m, t, pv, CLS_CONV3, h, false, UAE_ACT_RELU);
    h = uae_ad_maxpool2(t, uae_model_conv(m, t, pv, CLS_CONV4, h, false, UAE_ACT_RELU));
    h = uae_model_dense(m, t, pv, CLS_FC1, uae_model_flatten(t, h), UAE_ACT_RELU);
    if (h && b && b->training) /* a fresh mask per step, drawn per row of the batch */
        h = uae_nn_dropout(t, h, m->cfg.dropout, true, b->seed, UAE_STREAM_DROPOUT + CLS_FC1,
                           uae_model_row_counter(b, uae_ad_value(h)));
    h = uae_model_dense(m, t, pv, CLS_FC2, h, UAE_ACT_RELU);
    return uae_model_dense(m, t, pv, CLS_LOGITS, h, UAE_ACT_NONE);
}

static uae_var *classifier_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x,
                                const uae_batch *b) {
    return uae_loss_softmax_ce(t, classifier_forward(m, t, pv, x, b), uae_ad_const(t, b->onehot));
}

const uae_model_family uae_family_classifier = {
    .name = "classifier", .kind = UAE_MODEL_CLASSIFIER, .defaults = classifier_defaults,
    .declare = classifier_declare, .forward = classifier_forward, .loss = classifier_loss,
    .first_layer = classifier_first,
};
