/* models/augment_impl.h — what the three files of the augmentation experiment share
 * (augment_generate.c, augment_experiment.c, augment_report.c): the per-seed state and the
 * report writers. Private to models/; callers see only uae/augment.h. */
#ifndef UAE_AUGMENT_IMPL_H
#define UAE_AUGMENT_IMPL_H

#include "uae/augment.h"
#include "uae/data.h"
#include "uae/io.h"

/* "s" after a count other than 1: "1 epoch", "2 epochs". */
#define PLURAL(n) ((n) == 1 ? "" : "s")

/* Per seed: what the arms share. */
typedef struct seed_run {
    uint64_t seed;
    char dir[256], base_path[300];
    uae_model_config cfg;
    uae_dataset sub;        /* the seeded training subset (owned) */
    float *xadv;            /* (n, d) the adversarial examples (owned) */
    float *negatives;       /* contrastive: (negatives_n, d) the attack's negatives (owned) */
    int64_t negatives_n;
    int64_t n, d;
    int classes;            /* labels for the probes; 0: none (accuracies are NaN) */
    uae_folder_lock *lock;  /* rank 0: dir's lock while the seed runs (owned) */
} seed_run;

/* Seconds on a monotonic clock. */
double uae_augment_now(void);

/* What each arm is, for the tables (indexed by uae_augment_arm). */
extern const char *const uae_augment_arm_text[UAE_ARM_COUNT];

/* The MINE samples the attack really uses: random projections for a model without a first conv
 * layer (dense-ae, sparse-ae, aae, concrete-ae), whatever was asked. */
uae_attack_samples uae_augment_effective_samples(const uae_augment_options *o,
                                                 const uae_model_config *cfg);

/* The files of one seed (augment_report.c): SEED/uae.safetensors (x, x_adv, index),
 * SEED/examples.png (images) and SEED/examples.csv (table rows). */
uae_status uae_augment_write_pairs(const seed_run *s, const uae_dataset *train);
uae_status uae_augment_write_grid(const char *path, const seed_run *s);
uae_status uae_augment_write_examples_csv(const char *path, const seed_run *s);

/* Mean and sample standard deviation of v[0..n) (std 0 for n = 1; NaN if the mean is not
 * finite). */
void uae_augment_mean_std(const double *v, int n, double *mean, double *std);

/* The run's tables (augment_report.c): results.json and results.md, written atomically. */
uae_status uae_augment_write_json(const char *path, const uae_augment_options *o,
                                  const uae_model_config *cfg, const uae_augment_report *rep,
                                  int64_t n_train, int64_t n, int64_t n_test, int64_t negatives_n);
uae_status uae_augment_write_md(const char *path, const uae_augment_options *o,
                                const uae_model_config *cfg, const uae_augment_report *rep,
                                int64_t n_train, int64_t n, int64_t n_test);

#endif /* UAE_AUGMENT_IMPL_H */
