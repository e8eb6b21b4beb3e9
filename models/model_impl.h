/* models/model_impl.h — what a preset family is made of (private to models/): the small table of
 * functions each model file fills in, the uae_model struct, and the layer helpers they share.
 * Not a public header: callers see only uae/model.h. */
#ifndef UAE_MODEL_IMPL_H
#define UAE_MODEL_IMPL_H

#include "uae/model.h"

#include "uae/augment.h"

#define UAE_MODEL_MAX_PARAMS 64 /* parameter tensors of one model (the AAE has 18) */
#define UAE_MODEL_MAX_LAYERS 16

/* Training state a model keeps outside its parameter store and m->opt (uae/checkpoint.h saves and
 * restores it): another optimizer, whose step count is saved, and optionally its own two state
 * tensors (NULL: it works on the store's state). */
typedef struct uae_model_extra {
    const char *name;          /* unique within the model: "disc", "gen" */
    uae_optimizer *opt;        /* not owned */
    const uae_tensor *state;   /* state[0], state[1], or NULL; not owned */
} uae_model_extra;

/* One preset: its name and kind, its defaults, and how to declare, run and train it. Optional
 * slots may be NULL; the comment says what happens then. */
typedef struct uae_model_family {
    const char *name;
    uae_model_kind kind;
    /* Fills the preset's defaults into cfg (the shape, classes and preset name are set already). */
    void (*defaults)(uae_model_config *cfg);
    /* Checks the input shape and declares the parameters (uae_model_add_dense / _conv). */
    uae_status (*declare)(uae_model *m);
    /* Optional: state beyond the parameter store, after the parameters are initialised. */
    uae_status (*setup)(uae_model *m);
    void (*cleanup)(uae_model *m); /* optional: frees what setup made */
    uae_var *(*forward)(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x, const uae_batch *b);
    uae_var *(*loss)(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x, const uae_batch *b);
    /* Optional (NULL: the model has no first convolution / no representation). */
    uae_var *(*first_layer)(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x);
    uae_var *(*embed)(uae_model *m, uae_tape *t, uae_var **pv, uae_var *x);
    /* Optional (NULL: the model has no contrastive negatives; uae_model_negatives fails). */
    uae_var *(*negatives)(uae_model *m, uae_tape *t, uae_var **pv, const uae_tensor *x,
                          uint64_t seed);
    /* Optional (NULL: the generic step — mean loss, backward, one optimizer step). */
    uae_status (*train_step)(uae_model *m, uae_tape *t, const uae_batch *b, float *loss);
    /* NULL: the loss is a mean over the batch's rows, so a batch may be cut into micro-batches
     * (uae_model_micro_gradient); else why not ("its KL term ..."), for the error message. */
    const char *coupled_rows;
    /* Optional (NULL: none): fills out[0 .. cap) with the model's extra training state and returns
     * how many entries it filled. */
    int (*extra_state)(uae_model *m, uae_model_extra *out, int cap);
} uae_model_family;

struct uae_model {
    uae_model_config cfg;
    const uae_model_family *fam;
    uae_backend *be;
    uae_params *P;
    uae_optimizer opt;                 /* the optimizer of cfg, with its step count */
    int layer[UAE_MODEL_MAX_LAYERS];   /* layer k's weight index in P (its bias is the next one) */
    int nlayers;
    void *priv;                        /* family state made by setup (owned, freed by cleanup) */
};

/* The families, one per model file. */
extern const uae_model_family uae_family_dense_ae, uae_family_sparse_ae, uae_family_conv_ae,
    uae_family_aae, uae_family_concrete_ae, uae_family_simclr_small, uae_family_classifier;

/* Declares "<name>.weight" (out, in) Glorot-uniform and "<name>.bias" (out) zeros; returns the
 * layer number (0, 1, ... in declaration order), or -1 (the error is kept by the store). */
int uae_model_add_dense(uae_model *m, const char *name, int64_t out, int64_t in);

/* Declares "<name>.weight" (out, in, k, k) Glorot-uniform and "<name>.bias" (out) zeros. */
int uae_model_add_conv(uae_model *m, const char *name, int64_t out, int64_t in, int k);

/* act(x W^T + b) / act(conv(x, W) + b) with layer k's parameters. */
uae_var *uae_model_dense(uae_model *m, uae_tape *t, uae_var **pv, int k, uae_var *x, uae_act act);
uae_var *uae_model_conv(uae_model *m, uae_tape *t, uae_var **pv, int k, uae_var *x, bool same,
                        uae_act act);

/* x viewed as (B, features), and as (B, C, H, W) of the configured input shape. */
uae_var *uae_model_flatten(uae_tape *t, uae_var *x);
uae_var *uae_model_as_images(uae_model *m, uae_tape *t, uae_var *x);

/* What an autoencoder reconstructs, flattened to (B, features): b->target, or x itself. */
uae_var *uae_model_target(uae_tape *t, uae_var *x, const uae_batch *b);

/* The (B) per-sample loss reduced to its batch mean, a (1) variable. */
uae_var *uae_model_batch_mean(uae_tape *t, uae_var *per_sample);

/* The RNG counter of the first element of h (B, ...), a per-row tensor of a training step (a
 * dropout mask): row i of the step's batch draws the elements from (step * batch_rows + i) *
 * per_row on, so that a micro-batch (b->row0, b->batch_rows) draws what the whole batch would.
 * For a whole batch it is step * numel(h), the counter of earlier versions. */
uint64_t uae_model_row_counter(const uae_batch *b, const uae_tensor *h);

/* A (n) constant filled with value (targets of the AAE's discriminator, ...). */
uae_var *uae_model_const_fill(uae_tape *t, int ndim, const int64_t *shape, float value);

/* Puts parameters [lo, hi) on the tape as trainable leaves and all others as constants (a
 * network whose neighbour must stay frozen, as in the AAE). */
uae_status uae_model_bind_range(uae_model *m, uae_tape *t, int lo, int hi, uae_var **pv);

/* Reads a (1) loss variable to the host. */
uae_status uae_model_read_scalar(uae_var *v, float *out);

/* RNG streams of the models (dropout masks, noise, augmentations), one per purpose and layer;
 * parameters use streams 0 .. count-1 (their index), so these start high. */
enum {
    UAE_STREAM_DROPOUT = 1000,   /* + layer number */
    UAE_STREAM_PRIOR = 1100,     /* AAE: samples of the N(0, I) prior */
    UAE_STREAM_GUMBEL = 1200,    /* concrete-ae: Gumbel noise of the selector */
    UAE_STREAM_AUGMENT = 1300,   /* simclr: augmentation parameters (training, evaluation) */
    UAE_STREAM_VIEWS = 1301,     /* simclr, the attack: the two fixed views of each sample */
    UAE_STREAM_NEG_VIEWS = 1302, /* simclr, the attack: the view of each negative */
};

/* models/augment_generate.c: on resume, keeps the statistics lines of path that belong to the `rows`
 * examples already generated (indices first_index, first_index + 1, ...), rewrites the file
 * atomically with them and adds them to *s, *mi_sum and *mi_n; last_numerics (NULL: not wanted)
 * gets the last kept line's "numerics" ("" if none). Internal; also the entry point of the
 * stats.jsonl fuzzer (tests/fuzz/fuzz_stats.c). */
uae_status uae_augment_cut_stats(const char *path, uint64_t first_index, int64_t rows,
                                 uae_generate_summary *s, double *mi_sum, int64_t *mi_n,
                                 char last_numerics[UAE_BACKEND_NUMERICS_MAX]);

#endif /* UAE_MODEL_IMPL_H */
