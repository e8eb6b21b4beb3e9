/* uae/probe.h — a linear probe: multinomial logistic regression (one dense layer, softmax
 * cross-entropy, Adam) trained on frozen features and scored on test features. It measures how
 * much of the labels a representation makes linearly readable (SimCLR's linear evaluation, the
 * concrete autoencoder's classifier on the selected features). Not here: computing the features
 * (uae/model.h's uae_model_embed, uae_model_selected_features).
 *
 *     uae_probe_options po = uae_probe_options_default();
 *     po.seed = 1;
 *     uae_probe_result r;
 *     if (uae_probe_run(be, f_train, y_train, n_train, f_test, y_test, n_test, d, 10, &po, &r)
 *         != UAE_OK) ... uae_last_error() ...
 *     // r.accuracy, r.loss on the test features
 *
 * Written against the autodiff tape and the ops, so it runs on any backend. The features are
 * standardised with the training features' per-feature mean and standard deviation (a feature
 * with standard deviation 0 is only centred) before both training and testing. Deterministic: the
 * weights start at zero, the example order of epoch e is uae_data_shuffle(n, seed, e), so the same
 * seed on the same backend gives the same bits.
 */
#ifndef UAE_PROBE_H
#define UAE_PROBE_H

#include <stdint.h>

#include "uae/backend.h"
#include "uae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uae_probe_options {
    int epochs;      /* passes over the training features (50) */
    int64_t batch;   /* examples per Adam step (256) */
    float lr;        /* Adam's learning rate (1e-2; betas 0.9 / 0.999, eps 1e-7) */
    uint64_t seed;   /* the example order (1) */
} uae_probe_options;

/* epochs 50, batch 256, lr 1e-2, seed 1 (chosen by measurement, see models/probe.c). */
uae_probe_options uae_probe_options_default(void);

typedef struct uae_probe_result {
    double accuracy;        /* fraction of test examples whose largest logit is their label */
    double loss;            /* mean softmax cross-entropy (nats) on the test examples */
    double train_accuracy;  /* the same accuracy on the training features */
    int64_t steps;          /* Adam steps taken */
} uae_probe_result;

/* Trains a probe with `classes` outputs on x_train (n_train, d) with labels y_train (n_train) in
 * [0, classes) and scores it on x_test (n_test, d), y_test (n_test). All arrays are host memory,
 * not owned, and not changed. Needs n_train >= 1, n_test >= 1, d >= 1, classes >= 2, every label
 * in range and every feature finite (UAE_ERR_INVALID naming the first offender otherwise).
 * Device memory is allocated on be and freed before returning. */
uae_status uae_probe_run(uae_backend *be, const float *x_train, const int32_t *y_train,
                         int64_t n_train, const float *x_test, const int32_t *y_test,
                         int64_t n_test, int64_t d, int classes, const uae_probe_options *o,
                         uae_probe_result *out);

#ifdef __cplusplus
}
#endif
#endif /* UAE_PROBE_H */
