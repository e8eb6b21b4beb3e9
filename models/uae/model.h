/* uae/model.h — the paper's models as named presets, written once against the op interface.
 *
 * A model is a preset (its architecture and training defaults, from the official code), a
 * parameter store (uae/nn.h) and the functions that compute its outputs and its per-sample loss on
 * an autodiff tape. Training, the attacks and the augmentation pipeline use only this interface.
 *
 *     uae_model_config cfg;
 *     uae_model_defaults("conv-ae", 1, 28, 28, 10, &cfg);   // channels, height, width, classes
 *     cfg.epochs = 5;                                       // any default may be overridden
 *     uae_model *m;
 *     uae_model_create(be, &cfg, seed, &m);
 *     ... per batch:  uae_model_train_step(m, tape, &batch);
 *     uae_model_free(m);
 *
 * Presets: dense-ae, sparse-ae, conv-ae, aae, concrete-ae, simclr-small, classifier, and mine /
 * mine-dense (the statistics networks of the attack; see uae/mine.h).
 */
#ifndef UAE_MODEL_H
#define UAE_MODEL_H

#include "uae/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum uae_model_kind {
    UAE_MODEL_AUTOENCODER,  /* output is a reconstruction of the input; loss compares them */
    UAE_MODEL_CLASSIFIER,   /* output is logits (B, classes); loss needs labels */
    UAE_MODEL_CONTRASTIVE,  /* output is an embedding; loss is NT-Xent over augmented views */
    UAE_MODEL_KIND_COUNT
} uae_model_kind;

typedef struct uae_model_config {
    char preset[32];
    uae_model_kind kind;
    int channels, height, width;  /* input shape; vector data: 1 x 1 x d */
    int classes;                  /* labels (classifier, linear probes); 0 if none */
    int hidden;                   /* dense-ae / sparse-ae code size (128) */
    int latent;                   /* aae latent size (2) */
    int select_k;                 /* concrete-ae: features selected (50) */
    float temp_start, temp_end;   /* concrete-ae temperature schedule (10 -> 0.01) */
    int64_t total_steps;          /* concrete-ae: steps the temperature is annealed over
                                     (0: epochs * ceil(60000 / batch), an MNIST-sized run) */
    float l1, kl_weight, kl_rho;  /* sparse-ae regularisers (1e-7, 3, 0.1) */
    float dropout;                /* classifier 0.5, concrete-ae decoder 0.1 */
    float tau;                    /* simclr NT-Xent temperature (0.5) */
    uae_optimizer opt;            /* optimizer and its hyper-parameters */
    int epochs, batch;            /* training defaults of the preset */
} uae_model_config;

/* The most input features (channels x height x width) a model may have: 2^28, above any image
 * uaekit reads (UAE_IMAGE_MAX_PIXELS x 3) and any table. A checkpoint's configuration is checked
 * against it before anything is computed from it, so that no size derived from a file overflows. */
#define UAE_MODEL_MAX_FEATURES ((int64_t)1 << 28)

/* Fills cfg with the preset's official defaults for inputs of the given shape. UAE_ERR_INVALID
 * with the list of presets for an unknown name, or for a shape of more than UAE_MODEL_MAX_FEATURES
 * features. */
uae_status uae_model_defaults(const char *preset, int channels, int height, int width, int classes,
                              uae_model_config *cfg);

/* The preset names, NULL-terminated (for --help). */
const char *const *uae_model_presets(void);

typedef struct uae_model uae_model;

/* Builds the model on be with parameters initialised from seed. The caller owns *out. */
uae_status uae_model_create(uae_backend *be, const uae_model_config *cfg, uint64_t seed,
                            uae_model **out);
void uae_model_free(uae_model *m); /* NULL is a no-op */

const uae_model_config *uae_model_config_of(const uae_model *m);

/* Every parameter of the model, in one store (not owned). For the AAE that is the encoder
 * ("enc*"), the decoder ("dec*") and the discriminator ("disc*"), in this order; each of the
 * three updates of its train step works on its own range of the store. */
uae_params *uae_model_params(uae_model *m);

/* What one step sees. x is (B, C, H, W) (or (B, d) for vector models) in [0, 1]; target is what an
 * autoencoder reconstructs (NULL: x itself); onehot (B, classes) for classifiers; step numbers the
 * optimizer step (dropout masks, augmentations and the concrete temperature derive from it);
 * training switches dropout on.
 * negatives and first_index serve the contrastive loss of the attack (training false): negatives
 * (M, E) are the normalised embeddings of the negatives' views (uae_model_negatives), and sample i
 * of x is example first_index + i of its dataset, whose two views derive from (seed, first_index +
 * i) alone, so that its loss does not depend on the rest of the batch. NULL: evaluation as below. */
typedef struct uae_batch {
    const uae_tensor *x;
    const uae_tensor *target;
    const uae_tensor *onehot;
    uint64_t seed;
    uint64_t step;
    bool training;
    const uae_tensor *negatives; /* (M, E), contrastive attack only; else NULL */
    uint64_t first_index;        /* dataset index of x's sample 0, with negatives */
    /* A micro-batch (uae_model_micro_gradient): x is rows [row0, row0 + B) of a training batch of
     * batch_rows examples, and per-row randomness (dropout masks) is drawn at each row's place in
     * that batch, as the whole batch would draw it. 0 and 0: x is the whole batch. */
    int64_t row0, batch_rows;
} uae_batch;

/* Puts the parameters on the tape (trainable leaves or constants); pv receives one variable per
 * parameter and must have room for uae_params_count(uae_model_params(m)) entries. */
uae_status uae_model_bind(uae_model *m, uae_tape *t, bool trainable, uae_var **pv);

/* The model's output for x: the reconstruction (autoencoders), logits (classifier) or the
 * projection-head embedding (contrastive). */
uae_var *uae_model_forward(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x, const uae_batch *b);

/* The per-sample training loss (B) of x against b (reconstruction error plus the preset's
 * regularisers, cross-entropy, or NT-Xent of two augmented views). With b->training false (the
 * attack, evaluation) dropout is off and the concrete selection is hard. Contrastive models with
 * b->negatives (the attack): NT-Xent of two fixed random views of each x_i against the negatives,
 * differentiable with respect to x (docs/method.md); without (evaluation): the pair is x itself
 * with an augmented view of b->target (of x if NULL) and the batch's other samples are the
 * negatives. */
uae_var *uae_model_loss(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x, const uae_batch *b);

/* Contrastive models: the L2-normalised embeddings (M, E) of one augmented view of each of the M
 * images x (M, C, H, W) (the attack's negatives; the view of image j derives from (seed, j)), as a
 * variable on t (compute it once, copy its value, pass it as batch.negatives). NULL with
 * UAE_ERR_INVALID on the tape for models that are not contrastive. */
uae_var *uae_model_negatives(uae_model *m, uae_tape *t, uae_var **pv, const uae_tensor *x,
                             uint64_t seed);

/* The first layer's output for x (B, K, H', W'), the "samples" of per-sample MINE in conv mode;
 * NULL (and no error) when the model does not start with a convolution. */
uae_var *uae_model_first_layer(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x);

/* Whether models of this preset start with a convolution (uae_model_first_layer gives samples),
 * so that the attack can take its MINE samples in conv mode; otherwise it uses random projections. */
bool uae_model_has_first_layer(const uae_model_config *cfg);

/* The representation of the contrastive model (simclr-small: the encoder's (B, 128) output before
 * the projection head), for linear probes on a frozen encoder; NULL (and no error) for models
 * without one. */
uae_var *uae_model_embed(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x);

/* concrete-ae: the input feature chosen by each of the k = select_k selector rows (the argmax of
 * its logits), into idx[0 .. k-1]. UAE_ERR_INVALID for other presets or another k. */
uae_status uae_model_selected_features(const uae_model *m, int *idx, int k);

/* One optimizer step on a batch; *loss receives the batch mean loss (the AAE's: of its
 * reconstruction update). The tape is reset and its
 * arena rewound to where it was on entry. (The AAE's three-network update is handled inside.) */
uae_status uae_model_train_step(uae_model *m, uae_tape *t, const uae_batch *b, float *loss);

/* Micro-batches: a batch's gradient as the sum of its parts' gradients, for the models whose loss
 * is a mean over the batch's rows (uae/train.h's micro_batch, data-parallel training).
 *
 * uae_model_check_micro_batches: UAE_OK if m's preset trains that way; UAE_ERR_UNSUPPORTED, with
 * the reason, for the presets whose loss couples the rows of a batch (sparse-ae's KL term of the
 * batch's mean activation, the AAE's three updates, simclr-small's NT-Xent over the batch).
 *
 * uae_model_micro_gradient: b->x is rows [b->row0, b->row0 + B) of a batch of b->batch_rows; the
 * gradient of (the sum of those rows' losses) / batch_rows goes into the store's gradients
 * (uae_params_flat_grad, overwritten), and *loss_part receives that quantity. With B =
 * batch_rows it is exactly uae_model_train_step's gradient and loss, bit for bit. Nothing is
 * updated; the tape is reset and its arena rewound as in uae_model_train_step.
 *
 * uae_model_apply_gradient: one optimizer step with the gradients in the store (the caller put
 * there the micro-batches' sum). */
uae_status uae_model_check_micro_batches(const uae_model *m);
uae_status uae_model_micro_gradient(uae_model *m, uae_tape *t, const uae_batch *b,
                                    float *loss_part);
uae_status uae_model_apply_gradient(uae_model *m);

#ifdef __cplusplus
}
#endif
#endif /* UAE_MODEL_H */
