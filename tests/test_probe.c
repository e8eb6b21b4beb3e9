/* tests/test_probe.c — the linear probe (uae/probe.h) on the "cpu" backend: linearly separable
 * synthetic data is learnt (test accuracy >= 0.99), random labels stay near chance on the test set,
 * the same seed gives the same bits, features on wildly different scales are standardised, and bad
 * inputs (a label out of range, no examples, one class, a NaN feature) are clear errors. The
 * separable case runs on the "ref" backend too. */
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/probe.h"
#include "uae/rng.h"
#include "tests/test_util.h"

#define D 20
#define K 4

/* n examples of D features: class y = i % K is a Gaussian cluster N(6 e_y, I) (e_y: unit vector
 * y), so the classes are linearly separable up to tails: the boundary between two clusters is
 * 6 / sqrt(2) = 4.2 standard deviations from each mean, P(error) < 3 * 1.3e-5 per example. With
 * random_labels the features are N(0, I) and the labels uniform (stream 3), unrelated to them.
 * Feature j is then multiplied by scale^j (scale 1: unscaled). Streams 1 and 3 of seed. */
static void make_data(int64_t n, uint64_t seed, bool random_labels, float scale, float *x,
                      int32_t *y) {
    for (int64_t i = 0; i < n; i++) {
        float *row = x + i * D;
        y[i] = random_labels ? (int32_t)(uae_rng_uniform01(seed, 3, (uint64_t)i) * K) % K
                             : (int32_t)(i % K);
        float s = 1.0f;
        for (int j = 0; j < D; j++, s *= scale) {
            float shift = !random_labels && j == y[i] ? 6.0f : 0.0f;
            row[j] = s * (shift + uae_rng_normal01(seed, 1, (uint64_t)(i * D + j)));
        }
    }
}

typedef struct problem {
    int64_t n_train, n_test;
    float *xtr, *xte;
    int32_t *ytr, *yte;
} problem;

static problem make_problem(int64_t n_train, int64_t n_test, bool random_labels, float scale) {
    problem p = {n_train, n_test, malloc((size_t)(n_train * D) * sizeof(float)),
                 malloc((size_t)(n_test * D) * sizeof(float)),
                 malloc((size_t)n_train * sizeof(int32_t)),
                 malloc((size_t)n_test * sizeof(int32_t))};
    if (!p.xtr || !p.xte || !p.ytr || !p.yte) {
        fprintf(stderr, "out of memory\n");
        exit(1);
    }
    make_data(n_train, 1, random_labels, scale, p.xtr, p.ytr);
    make_data(n_test, 2, random_labels, scale, p.xte, p.yte);
    return p;
}

static void free_problem(problem *p) {
    free(p->xtr);
    free(p->xte);
    free(p->ytr);
    free(p->yte);
}

static uae_status run(uae_backend *be, const problem *p, const uae_probe_options *o,
                      uae_probe_result *r) {
    return uae_probe_run(be, p->xtr, p->ytr, p->n_train, p->xte, p->yte, p->n_test, D, K, o, r);
}

static void test_separable(uae_backend *be) {
    problem p = make_problem(2000, 1000, false, 1.0f);
    uae_probe_options o = uae_probe_options_default();
    uae_probe_result r;
    uae_status st = run(be, &p, &o, &r);
    CHECK(st == UAE_OK, "separable: %s", uae_last_error());
    /* The classes are the argmax of a linear map, so a linear probe can be exact; 0.99 leaves room
     * for test points very close to a boundary the probe has not yet placed exactly. */
    CHECK(r.accuracy >= 0.99, "separable: test accuracy %.4f, expected >= 0.99", r.accuracy);
    CHECK(r.train_accuracy >= 0.99, "separable: train accuracy %.4f", r.train_accuracy);
    CHECK(isfinite(r.loss) && r.loss < 0.2, "separable: test cross-entropy %g", r.loss);
    /* 2000 examples in batches of 256: 8 steps per epoch. */
    CHECK(r.steps == (int64_t)o.epochs * 8, "steps %lld", (long long)r.steps);
    printf("separable: test accuracy %.4f, cross-entropy %.4f, train accuracy %.4f\n", r.accuracy,
           r.loss, r.train_accuracy);

    /* Same seed, same bits; the probe does not change its inputs. */
    float first = p.xtr[0];
    uae_probe_result r2;
    CHECK(run(be, &p, &o, &r2) == UAE_OK, "rerun: %s", uae_last_error());
    CHECK(r2.accuracy == r.accuracy && r2.loss == r.loss, "rerun: %.17g %.17g vs %.17g %.17g",
          r2.accuracy, r2.loss, r.accuracy, r.loss);
    CHECK(p.xtr[0] == first, "the training features were changed");
    free_problem(&p);

    /* Features scaled by 1 .. 10^6 over the columns (2.07^19): standardisation makes it the same
     * problem, so the same accuracy bound holds. */
    problem q = make_problem(2000, 1000, false, 2.07f);
    CHECK(run(be, &q, &o, &r) == UAE_OK, "scaled: %s", uae_last_error());
    CHECK(r.accuracy >= 0.99, "scaled features: test accuracy %.4f, expected >= 0.99", r.accuracy);
    free_problem(&q);
}

static void test_random_labels(uae_backend *be) {
    problem p = make_problem(500, 2000, true, 1.0f);
    uae_probe_options o = uae_probe_options_default();
    uae_probe_result r;
    CHECK(run(be, &p, &o, &r) == UAE_OK, "random labels: %s", uae_last_error());
    /* Chance is 1/K = 0.25. With 2000 test examples the standard deviation of a chance accuracy is
     * sqrt(0.25 * 0.75 / 2000) = 0.0097; 0.32 is 7 of them above chance. The probe may memorise
     * some of its 500 training examples (21 parameters per class), but that must not carry over. */
    CHECK(r.accuracy < 0.32, "random labels: test accuracy %.4f, expected near 0.25", r.accuracy);
    CHECK(r.accuracy > 0.18, "random labels: test accuracy %.4f, expected near 0.25", r.accuracy);
    printf("random labels: test accuracy %.4f, train accuracy %.4f\n", r.accuracy,
           r.train_accuracy);
    free_problem(&p);
}

static void test_errors(uae_backend *be) {
    problem p = make_problem(10, 10, false, 1.0f);
    uae_probe_options o = uae_probe_options_default();
    o.epochs = 1;
    uae_probe_result r;

    p.ytr[3] = K; /* out of range */
    uae_status st = run(be, &p, &o, &r);
    CHECK(st == UAE_ERR_INVALID, "label out of range: status %d", st);
    CHECK(strstr(uae_last_error(), "training example 3 has label 4"), "message: %s",
          uae_last_error());
    CHECK(isnan(r.accuracy), "a failed run leaves NaN accuracy");
    p.ytr[3] = -1;
    CHECK(run(be, &p, &o, &r) == UAE_ERR_INVALID, "negative label accepted");
    p.ytr[3] = 0;
    p.yte[9] = 7;
    CHECK(run(be, &p, &o, &r) == UAE_ERR_INVALID && strstr(uae_last_error(), "test example 9"),
          "test label out of range: %s", uae_last_error());
    p.yte[9] = 0;

    st = uae_probe_run(be, p.xtr, p.ytr, 0, p.xte, p.yte, 10, D, K, &o, &r);
    CHECK(st == UAE_ERR_INVALID && strstr(uae_last_error(), "0 training"), "n = 0: %d %s", st,
          uae_last_error());
    st = uae_probe_run(be, p.xtr, p.ytr, 10, p.xte, p.yte, 0, D, K, &o, &r);
    CHECK(st == UAE_ERR_INVALID, "no test examples: %d", st);
    st = uae_probe_run(be, p.xtr, p.ytr, 10, p.xte, p.yte, 10, D, 1, &o, &r);
    CHECK(st == UAE_ERR_INVALID, "one class: %d", st);
    st = uae_probe_run(be, p.xtr, NULL, 10, p.xte, p.yte, 10, D, K, &o, &r);
    CHECK(st == UAE_ERR_INVALID, "no labels: %d", st);

    p.xtr[2 * D + 5] = NAN;
    st = run(be, &p, &o, &r);
    CHECK(st == UAE_ERR_INVALID && strstr(uae_last_error(), "feature 5 of example 2"),
          "NaN feature: %d %s", st, uae_last_error());
    p.xtr[2 * D + 5] = 0.0f;

    o.epochs = 0;
    CHECK(run(be, &p, &o, &r) == UAE_ERR_INVALID, "0 epochs accepted");
    o.epochs = 1;
    CHECK(run(be, &p, &o, &r) == UAE_OK, "a valid run after the errors: %s", uae_last_error());
    free_problem(&p);
}

int main(void) {
    uae_backend *be = NULL;
    if (uae_backend_open("cpu", &be) != UAE_OK) {
        fprintf(stderr, "cpu backend: %s\n", uae_last_error());
        return 1;
    }
    test_separable(be);
    test_random_labels(be);
    test_errors(be);
    uae_backend_free(be);
    /* The probe is written against the ops: the scalar reference backend learns it too. */
    if (uae_backend_open("ref", &be) != UAE_OK) {
        fprintf(stderr, "ref backend: %s\n", uae_last_error());
        return 1;
    }
    printf("on ref: ");
    test_separable(be);
    uae_backend_free(be);
    if (failures) {
        fprintf(stderr, "%d failure(s)\n", failures);
        return 1;
    }
    printf("all passed\n");
    return 0;
}
