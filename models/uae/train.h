/* uae/train.h — the training loop of every model preset, as a library function (the CLI's
 * `uae train` and the augmentation pipeline both call it), and the evaluation of a model on a data
 * set. Not here: the models (uae/model.h), the file format of checkpoints (uae/checkpoint.h),
 * progress bars (the caller draws them from the callbacks).
 *
 *     uae_train_options o = uae_train_options_default();
 *     o.epochs = cfg.epochs;  o.batch = cfg.batch;  o.seed = 1;
 *     o.test = &test;                          // evaluated after every epoch
 *     o.checkpoint = "ae.safetensors";         // written after every epoch
 *     o.log_path = "ae.jsonl";                 // one JSON line per epoch and a final one
 *     uae_train_stats last;
 *     if (uae_train_run(model, &train, &o, &last) != UAE_OK) ... uae_last_error() ...
 *
 * Determinism: the order of the examples in epoch e is a function of (seed, e) only
 * (uae_data_shuffle), and the model's own randomness (dropout, noise, augmentations) a function of
 * (seed, step), where step counts the training steps from the start of the run. A run resumed from
 * a checkpoint (options.resume, from uae_checkpoint_load; at the end of an epoch or within one)
 * therefore ends with the same bits as one that was never interrupted, on the same backend.
 *
 * Micro-batches and ranks (options.micro_batch, options.dist): a step's gradient may be computed
 * as the sum, in a fixed order, of the gradients of the batch's micro-batches, each on its own;
 * the ranks of an MPI job share the micro-batches, so the result is the same bits for any number
 * of ranks (docs/cluster.md).
 */
#ifndef UAE_TRAIN_H
#define UAE_TRAIN_H

#include "uae/checkpoint.h"
#include "uae/data.h"
#include "uae/dist.h"
#include "uae/log.h"
#include "uae/model.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Metrics of a model on a data set; a metric that does not apply is NaN. */
typedef struct uae_eval_stats {
    int64_t n;        /* examples evaluated */
    double loss;      /* mean per-example training loss (the preset's: MSE, BCE, cross-entropy) */
    double mse;       /* autoencoders: mean squared error of the reconstruction per feature */
    double accuracy;  /* classifiers: fraction of examples whose largest logit is the label */
} uae_eval_stats;

/* What one epoch did. */
typedef struct uae_train_stats {
    int epoch;             /* 1-based: the epoch just completed */
    int epochs;            /* of the run */
    int64_t step;          /* training steps completed since the start of the run */
    double train_loss;     /* mean over the epoch's examples of the batch losses */
    double seconds;        /* wall time of the epoch's training steps (no evaluation) */
    double images_per_s;   /* training examples per second */
    double comm_seconds;   /* several ranks: wall time of the steps' exchanges (gathering the
                              parts' gradients on rank 0, adding them, sending the sum); NaN on
                              one process */
    double wait_seconds;   /* several ranks: wall time spent waiting for the slowest rank's parts
                              before the exchanges; NaN on one process */
    uae_eval_stats val;    /* on options.val (n = 0 and NaNs if none) */
    uae_eval_stats test;   /* on options.test (n = 0 and NaNs if none) */
} uae_train_stats;

/* Called when an epoch starts (done = 0, loss NaN) and after every training step: examples done in
 * this epoch out of n, and the step's mean loss. */
typedef void (*uae_train_batch_fn)(void *user, int epoch, int64_t done, int64_t n, float loss);
/* Progress of an evaluation after an epoch: set is "val" or "test"; called with done = 0 before
 * the first batch and after every batch (done = n after the last). */
typedef void (*uae_train_eval_fn)(void *user, const char *set, int64_t done, int64_t n);

/* Called after every epoch (after its evaluation and checkpoint). */
typedef void (*uae_train_epoch_fn)(void *user, const uae_train_stats *s);

typedef struct uae_train_options {
    int epochs;                     /* the run ends when this many epochs are completed */
    int64_t batch;                  /* examples per step (an epoch's last may have fewer) */
    uint64_t seed;                  /* data order and the model's per-step randomness */
    const uae_checkpoint_info *resume; /* where to continue (from uae_checkpoint_load), or NULL */
    const uae_dataset *val;         /* held-out set evaluated after every epoch, or NULL */
    const uae_dataset *test;        /* test set evaluated after every epoch, or NULL */
    int64_t eval_batch;             /* batch size of the evaluations; 0: batch (the losses of
                                       sparse-ae and simclr-small depend on it) */
    const char *checkpoint;         /* written (atomically) after every epoch, or NULL */
    int64_t checkpoint_every;       /* also every this many steps within an epoch; 0: never */
    const char *run_json;           /* the caller's settings, saved in the checkpoint (uae.run) */
    const char *log_path;           /* JSON-lines log, or NULL */
    bool log_append;                /* append to log_path (resuming) instead of truncating it */
    uae_train_batch_fn on_batch;    /* optional */
    uae_train_epoch_fn on_epoch;    /* optional */
    void *user;                     /* passed to the callbacks (not owned) */
    const uae_log *log;             /* debug messages; NULL: none */
    const float *targets;           /* autoencoders: (train->n, d) what example i is trained to
                                       reconstruct (an adversarial or noisy input targets its clean
                                       original); NULL: the example itself. Not owned. */
    uae_train_eval_fn on_eval;      /* optional */
    int64_t micro_batch;            /* 0 (or batch): a step's gradient is the whole batch's, as
                                       ever. M < batch (M divides it): the sum, in micro-batch
                                       order, of the gradients of the batch's parts of M rows
                                       (the epoch's last batch: the last part may be shorter),
                                       each computed on its own (uae_model_micro_gradient), then
                                       one update. UAE_ERR_UNSUPPORTED for the presets whose loss
                                       couples a batch's rows (sparse-ae, aae, simclr-small) */
    uae_dist *dist;                 /* the job's ranks (not owned), or NULL: one process. With
                                       several, each step's micro-batches are shared among the
                                       ranks in contiguous runs and their gradients summed on
                                       rank 0 in micro-batch order, then sent to every rank: the
                                       bits do not depend on the number of ranks. Rank 0 alone
                                       evaluates, writes the checkpoint and the log and calls the
                                       callbacks; every rank must read the same resume point */
} uae_train_options;

/* Everything zero or NULL, but epochs 1, batch 100, seed 1. */
uae_train_options uae_train_options_default(void);

/* Trains m on train until epoch `epochs` is complete, from the start or from o->resume (whose
 * checkpoint the caller has loaded into m). The data must have the model's input shape (and labels
 * for a classifier). *last (may be NULL) receives the last epoch's statistics. A loss that becomes
 * NaN or infinite stops the run with UAE_ERR_NUMERIC (the checkpoint on disk is the last good one).
 * The log's lines:
 *   {"event":"start", "model":..., "config":{...}, "epochs":..., "start_epoch":..., "n_train":...}
 *   {"event":"epoch", "epoch":1, "step":600, "train_loss":..., "seconds":..., "images_per_s":...,
 *    "test_loss":..., "test_mse":..., "test_accuracy":..., "val_loss":... (those that apply)}
 *   {"event":"final", "epochs":..., "step":..., "seconds":..., "test_loss":..., ...} */
uae_status uae_train_run(uae_model *m, const uae_dataset *train, const uae_train_options *o,
                         uae_train_stats *last);

/* Evaluates m on ds in batches of `batch` (training = false: no dropout); seed feeds models whose
 * loss is random (SimCLR's augmented view). Use the training batch size for a loss comparable with
 * the training loss: the sparse AE's KL term and SimCLR's negatives are batch quantities. */
uae_status uae_train_evaluate(uae_model *m, const uae_dataset *ds, int64_t batch, uint64_t seed,
                              uae_eval_stats *out);

/* The model's output (reconstruction, logits or embedding) for n examples x (n, d), in batches.
 * *y (caller frees with free()) receives (n, *dim) floats. */
uae_status uae_train_predict(uae_model *m, const float *x, int64_t n, int64_t batch, float **y,
                             int64_t *dim);

#ifdef __cplusplus
}
#endif
#endif /* UAE_TRAIN_H */
