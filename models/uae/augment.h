/* uae/augment.h — unsupervised adversarial examples as data augmentation (Hsu et al., AAAI 2022)
 * as library functions: generating examples for many inputs, streamed to disk and resumable, and
 * the whole experiment (train a base model, attack its training data, retrain with the examples
 * and with the baselines, evaluate every arm on the test set) for the paper's three tasks. Not
 * here: the attack itself (uae/attack.h), the training loop (uae/train.h), the linear probe
 * (uae/probe.h), option parsing and printing (apps/).
 *
 *     uae_augment_options o = uae_augment_options_default();
 *     o.task = UAE_TASK_REPRESENTATION;  // concrete-ae; attack: uae_attack_defaults(the task's)
 *     uae_attack_defaults(uae_augment_task_kind(o.task), &o.attack);
 *     o.out_dir = "aug";  o.n_train = 256;  o.n = 256;  o.epochs = 5;  o.retrain_epochs = 3;
 *     uae_augment_report rep;
 *     if (uae_augment_run(be, &train, &test, &o, &rep) != UAE_OK) ... uae_last_error() ...
 *     // rep.metric[0].mean[UAE_ARM_UAE], rep.metric[1].std[...] (rep.nmetrics of them);
 *     // o.out_dir holds results.md, results.json, PNGs
 */
#ifndef UAE_AUGMENT_H
#define UAE_AUGMENT_H

#include "uae/attack.h"
#include "uae/dist.h"
#include "uae/data.h"
#include "uae/log.h"
#include "uae/probe.h"
#include "uae/train.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Generating adversarial examples for a data set ------------------------------------------ */

/* Called while generating: samples finished (fractional within a batch, from the attack's
 * iterations) out of total, counting those found on disk when resuming. */
typedef void (*uae_generate_progress_fn)(void *user, double done, int64_t total);

typedef struct uae_generate_options {
    const char *npy_path;       /* x_adv rows (n, C, H, W), streamed (required) */
    const char *stats_path;     /* per-sample statistics as JSON lines, or NULL */
    int64_t batch;              /* samples attacked at once (results do not depend on it) */
    bool resume;                /* continue the rows already in npy_path (else start afresh) */
    uae_generate_progress_fn progress; /* NULL: none; called on rank 0 only */
    void *user;
    uae_dist *dist;             /* the ranks that share the work (uae/dist.h); NULL: this process */
    const uae_log *log;         /* warnings (a resume on another kernel path); NULL: none */
} uae_generate_options;

/* Totals over every sample in the files (resumed ones included). */
typedef struct uae_generate_summary {
    int64_t n;            /* samples in the file */
    int64_t resumed;      /* of them, found on disk at the start */
    int64_t success;      /* l(x') <= l(x) and I > 0 (see uae_attack_result) */
    int64_t selected0;    /* the selected iterate was the starting point x + delta_0 */
    double mi_mean;       /* mean I over the samples with a finite estimate (NaN if none) */
    double seconds;       /* wall time of this call's attacks */
    int64_t attacked;     /* samples attacked by this call */
} uae_generate_summary;

/* Attacks x[0 .. n) (n, d) (host, not owned; labels as uae_attack_run wants them, or NULL),
 * sample i as global index first_index + i, in batches of o->batch, appending each batch to
 * o->npy_path (synced per batch, so memory does not grow with n and a killed run loses at most
 * one batch) and its statistics to o->stats_path: one line per sample {"index", "success", "I"
 * (null for PGD), "loss_clean", "loss_adv", "selected_iter", "iterations", "seconds",
 * "numerics": uae_backend_numerics of the backend that made the row}. With o->resume, continues
 * after the rows already in the .npy (the statistics file is cut to match), so a resumed run
 * writes the same bytes as one that never stopped if it computes on the same path (o->log gets a
 * warning when the last row kept was made on another); resuming needs the statistics file
 * (UAE_ERR_INVALID without one when there are rows to continue). *sum may be NULL.
 *
 * With o->dist of R ranks, every rank calls it with the same arguments (x and labels included);
 * each round of up to R * o->batch samples is split into R contiguous parts, one per rank, and
 * gathered to rank 0, which alone opens and writes the files and fills *sum; the files are the
 * same bytes as with one process (a sample's attack depends only on its global index), and a
 * resume may use another R. A failure on any rank is returned on every rank as "rank K: ...",
 * after the rounds already written. */
uae_status uae_augment_generate(uae_model *m, const uae_attack_config *ac, const float *x,
                                const int32_t *labels, int64_t n, uint64_t first_index,
                                const uae_generate_options *o, uae_generate_summary *sum);

/* ---- The experiment ---------------------------------------------------------------------------- */

typedef enum uae_augment_task {
    UAE_TASK_RECONSTRUCTION,  /* autoencoders; metric: test MSE (lower is better) */
    UAE_TASK_REPRESENTATION,  /* concrete-ae: MSE from the selected features + linear accuracy */
    UAE_TASK_CONTRASTIVE,     /* simclr-small: linear-probe accuracy on the frozen encoder */
    UAE_TASK_COUNT
} uae_augment_task;

/* "reconstruction", "representation", "contrastive" <-> the enum. */
const char *uae_augment_task_name(uae_augment_task t);
uae_status uae_augment_task_parse(const char *name, uae_augment_task *out);

/* The task's default model preset ("conv-ae", "concrete-ae", "simclr-small") and the kind of model
 * it attacks (for uae_attack_defaults: autoencoder, autoencoder, contrastive). */
const char *uae_augment_task_preset(uae_augment_task t);
uae_model_kind uae_augment_task_kind(uae_augment_task t);

/* What an augmented input is trained to reconstruct (reconstruction and representation tasks; the
 * contrastive task ignores it: SimCLR trains on two augmented views of each row itself). */
typedef enum uae_augment_target {
    UAE_TARGET_CLEAN,  /* its clean original (default) */
    UAE_TARGET_SELF,   /* itself */
    UAE_TARGET_COUNT
} uae_augment_target;

/* The arms of the experiment. All retrained arms start from the base model's weights and
 * optimizer state and get retrain_epochs epochs; the three augmented ones (and the control) train
 * on the same number of examples, so they take the same optimizer steps. */
typedef enum uae_augment_arm {
    UAE_ARM_BASE,       /* the base model, trained `epochs` epochs on the originals */
    UAE_ARM_ORIGINAL,   /* + retraining on the originals only (no augmentation) */
    UAE_ARM_DUPLICATE,  /* + retraining on the originals and n duplicates (more training only) */
    UAE_ARM_NOISE,      /* + retraining on the originals and n Gaussian-noise copies */
    UAE_ARM_UAE,        /* + retraining on the originals and n adversarial examples */
    UAE_ARM_COUNT
} uae_augment_arm;

const char *uae_augment_arm_name(uae_augment_arm a);

enum { UAE_AUGMENT_MAX_SEEDS = 16 };

/* Called when a stage starts: "seed 1: training the base model", ... */
typedef void (*uae_augment_stage_fn)(void *user, const char *stage);

typedef struct uae_augment_options {
    uae_augment_task task;
    const char *preset;         /* NULL: the task's (conv-ae, concrete-ae, simclr-small);
                                   reconstruction: any autoencoder; representation: concrete-ae;
                                   contrastive: a contrastive model */
    int64_t n_train;            /* seeded subset of the training set per seed (0: all) */
    int64_t n;                  /* adversarial examples per seed (<= n_train; 0: n_train) */
    uint64_t seeds[UAE_AUGMENT_MAX_SEEDS];
    int nseeds;
    int epochs;                 /* base training (0: the preset's) */
    int retrain_epochs;         /* every retrained arm (0: epochs) */
    int64_t batch;              /* training batch (0: the preset's) */
    float noise_sigma;          /* the noise arm's Gaussian sigma (0.1), clipped to [0, 1] */
    uae_augment_target target;
    int select_k;               /* representation: features selected (0: the preset's 50, or
                                   d / 2 for inputs of fewer than 100 features) */
    uae_probe_options probe;    /* the linear probes (their seed is replaced by each run's) */
    const char *out_dir;        /* created if missing (required) */
    uae_attack_config attack;   /* its seed is replaced by each run's seed; representation: its
                                   samples by random projections (concrete-ae has no conv layer);
                                   contrastive: its negatives by negatives_n (at most n_train)
                                   training examples of the seed's subset
                                   (uae_attack_pick_negatives) */
    int64_t attack_batch;       /* samples attacked at once (16) */
    uae_train_batch_fn on_batch;          /* training progress, optional */
    uae_generate_progress_fn on_generate; /* attack progress, optional */
    uae_augment_stage_fn on_stage;        /* optional */
    void *user;
    const uae_log *log;
    /* The ranks that share the run (uae/dist.h; NULL: this process). Every rank calls
     * uae_augment_run with the same arguments; rank 0 trains the base models, writes every file
     * and fills the report; every rank takes a part of each seed's generation (see
     * uae_augment_generate) and the retraining arms (arm k on rank k mod R), whose results rank
     * 0 gathers: the same files and report as one process. The callbacks are called on rank 0
     * only. The other ranks need the data, not the output folder (they get the base model from
     * rank 0 and keep a copy in $TMPDIR while a seed runs). */
    uae_dist *dist;
} uae_augment_options;

/* task reconstruction, seeds {1}, noise 0.1, target clean, attack_batch 16, the probe's defaults;
 * attack is the autoencoder defaults (set the contrastive ones for that task); the rest zero (the
 * presets' defaults). */
uae_augment_options uae_augment_options_default(void);

enum { UAE_AUGMENT_MAX_METRICS = 2 };

/* One number measured for every arm and seed. Per task:
 *   reconstruction  test_mse (lower is better);
 *   representation  test_mse of the reconstruction from the selected features (the concrete
 *                   selection made hard), linear_accuracy: a linear probe on the k selected input
 *                   features, x[:, selected], trained on the seed's training subset;
 *   contrastive     probe_accuracy: a linear probe on the frozen encoder's representation
 *                   (uae_model_embed), trained on the seed's training subset; test_nt_xent, the
 *                   NT-Xent loss on the test set (random views of the seed; batches of the
 *                   training batch size, as the loss depends on the batch).
 * Accuracies are on the whole test set; without labels they are NaN (needs_labels). */
typedef struct uae_augment_metric {
    const char *name;       /* "test_mse", "linear_accuracy", "probe_accuracy", "test_nt_xent" */
    const char *text;       /* for tables: "test MSE", "linear accuracy", ... */
    bool higher_is_better;
    bool needs_labels;
    double value[UAE_ARM_COUNT][UAE_AUGMENT_MAX_SEEDS]; /* per arm and seed (NaN: n/a) */
    double mean[UAE_ARM_COUNT], std[UAE_ARM_COUNT];     /* over seeds (std: sample, 0 for one) */
} uae_augment_metric;

typedef struct uae_augment_report {
    int nseeds;
    int nmetrics;                                   /* 1 or 2 */
    uae_augment_metric metric[UAE_AUGMENT_MAX_METRICS];
    bool labels;                                    /* the data had labels (accuracies apply) */
    double success_rate[UAE_AUGMENT_MAX_SEEDS];     /* of the attacks, per seed */
    double seconds;                                 /* wall time of the whole run */
    char table_md[320], table_json[320], grid_png[320]; /* the files written */
} uae_augment_report;

/* The paired comparison of the uae arm with arm `other` on one metric, over the seeds where both
 * values are finite: d_k = uae_k - other_k, their mean and sample std, and the number of seeds
 * where the uae arm is better (d_k < 0 for a lower-is-better metric, > 0 otherwise). */
typedef struct uae_augment_paired {
    double d[UAE_AUGMENT_MAX_SEEDS]; /* per seed (NaN where a value is missing) */
    double mean, std;
    int seeds, uae_better;
} uae_augment_paired;
uae_augment_paired uae_augment_pair(const uae_augment_metric *mt, int nseeds,
                                    uae_augment_arm other);

/* Runs the experiment for every seed: subset -> base model (saved as seed-S/base.safetensors) ->
 * n adversarial examples of the first n subset examples (seed-S/uae.npy, uae.jsonl; resumed if
 * present) -> the retrained arms -> each evaluated on the whole test set (the task's metrics, see
 * uae_augment_metric). Writes results.md, results.json and seed-S/examples.png (x, x', |delta| as
 * a heat map) into out_dir, and seed-S/arms.jsonl: per retrained arm, the rows and targets handed
 * to the training loop (counts and FNV-1a digests, uae_digest_f32; docs/user-guide.md), and
 * seed-S/arm-NAME.json: each retrained arm's metrics, written as the arm finishes, which a rerun
 * takes instead of retraining when their key (the rows' digests, the test set, the epochs, the
 * batch, the probe) is its own. The training inputs must lie in the attack's box [lo, hi] (images in
 * [0, 1]; scale tables with uae_data_scale01): UAE_ERR_INVALID naming the first value outside.
 * The representation task anneals the concrete temperature over the base run (total_steps =
 * epochs * ceil(n_train / batch)); the retrained arms continue at the final temperature. */
uae_status uae_augment_run(uae_backend *be, const uae_dataset *train, const uae_dataset *test,
                           const uae_augment_options *o, uae_augment_report *rep);


#ifdef __cplusplus
}
#endif
#endif /* UAE_AUGMENT_H */
