/* tests/labs/check_mine_nwj.c — the check of lab 3's exercise (docs/labs/lab3-mine.md): MINE has
 * an estimator "nwj", the bound of Nguyen, Wainwright and Jordan (2010; "MINE-f"),
 *     I(X; Y) >= E_P[T] - E_Q[exp(T - 1)],
 * which (1) is below the DV bound of the same network, E_P[T] - log E_Q[exp T] (log u <= u / e
 * for u > 0, equal only where E_Q[exp T] = e; at initialisation it is near 1, and the gap near
 * 1/e - 0 for T ~ 0) and (2) after training estimates a known MI: correlated Gaussians, rho 0.8
 * in 2 dimensions, I = 1.02 nats.
 * Fails on the unmodified repository (no estimator "nwj"); a lab check, in the 'labs' suite, not
 * in the default test run (tests/labs/meson.build). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "uae/mine.h"
#include "uae/rng.h"

enum { N = 128, D = 2, STEPS = 800, EVALS = 8 };
static const double RHO = 0.8;

static void draw(uint64_t stream, uint64_t batch, float *xs, float *ys) {
    for (int k = 0; k < N * D; k++) {
        uint64_t idx = batch * N * D + (uint64_t)k;
        float a = uae_rng_normal01(5, stream, idx), b = uae_rng_normal01(5, stream + 1, idx);
        xs[k] = a;
        ys[k] = (float)(RHO * a + sqrt(1.0 - RHO * RHO) * b);
    }
}

typedef struct est {
    uae_mine *m;
    uae_arena *ar;
    uae_tape *t;
    uae_tensor xs, ys;
} est;

static uae_status est_open(uae_backend *be, uae_mine_estimator e, est *o) {
    uae_mine_config mc;
    uae_mine_config_default(UAE_MINE_NET_DENSE, &mc);
    mc.estimator = e;
    mc.hidden = 32;
    mc.opt.p.lr = 1e-3f;
    UAE_TRY(uae_mine_create(be, &mc, 1, N, 1, 1, D, &o->m));
    UAE_TRY(uae_mine_reset(o->m, 3, 0)); /* the same seed: the same initial weights for both */
    UAE_TRY(uae_arena_create(be, 1 << 18, &o->ar));
    UAE_TRY(uae_tape_create(o->ar, &o->t));
    UAE_TRY(uae_arena_tensor(o->ar, 3, (int64_t[]){1, N, D}, &o->xs));
    return uae_arena_tensor(o->ar, 3, (int64_t[]){1, N, D}, &o->ys);
}

static void est_close(est *o) {
    uae_tape_free(o->t);
    uae_arena_free(o->ar);
    uae_mine_free(o->m);
}

/* The evaluated bound (all pairs) on fresh batches from stream 10, averaged. */
static uae_status evaluate(est *o, float *hx, float *hy, double *out) {
    *out = 0;
    for (int e = 0; e < EVALS; e++) {
        draw(10, (uint64_t)e, hx, hy);
        UAE_TRY(uae_tensor_write(&o->xs, hx));
        UAE_TRY(uae_tensor_write(&o->ys, hy));
        float b;
        UAE_TRY(uae_mine_evaluate(o->m, o->t, &o->xs, &o->ys, &b));
        *out += b / EVALS;
    }
    return UAE_OK;
}

int main(void) {
    uae_mine_estimator nwj;
    if (uae_mine_estimator_parse("nwj", &nwj) != UAE_OK) {
        printf("FAIL: %s\n      lab 3's exercise is not done yet: add the NWJ estimator "
               "(docs/labs/lab3-mine.md)\n", uae_last_error());
        return 1;
    }
    uae_backend *be;
    if (uae_backend_open("cpu", &be) != UAE_OK) {
        printf("FAIL: %s\n", uae_last_error());
        return 1;
    }
    float hx[N * D], hy[N * D];
    est a = {0}, b = {0};
    double dv0 = NAN, nwj0 = NAN, nwj1 = NAN;
    uae_status st = est_open(be, UAE_MINE_EST_DV, &a);
    if (st == UAE_OK) st = est_open(be, nwj, &b);
    if (st == UAE_OK) st = evaluate(&a, hx, hy, &dv0);
    if (st == UAE_OK) st = evaluate(&b, hx, hy, &nwj0);
    for (int s = 0; st == UAE_OK && s < STEPS; s++) {
        draw(0, (uint64_t)s, hx, hy);
        st = uae_tensor_write(&b.xs, hx);
        if (st == UAE_OK) st = uae_tensor_write(&b.ys, hy);
        if (st == UAE_OK) st = uae_mine_train_step(b.m, b.t, &b.xs, &b.ys, NULL);
    }
    if (st == UAE_OK) st = evaluate(&b, hx, hy, &nwj1);
    est_close(&a);
    est_close(&b);
    uae_backend_free(be);
    if (st != UAE_OK) {
        printf("FAIL: %s\n", uae_last_error());
        return 1;
    }
    double truth = -0.5 * D * log(1.0 - RHO * RHO);
    printf("at initialisation: DV %.4f, NWJ %.4f nats; after %d steps NWJ %.4f nats, truth %.4f\n",
           dv0, nwj0, STEPS, nwj1, truth);
    int failures = 0;
    /* 0.01: the initial network's E_Q[exp T] is near 1, where the gap u/e - log u is near 0.37
     * (measured: 0.16); a gap of 0 means the DV bound under another name */
    if (!(dv0 - nwj0 > 0.01)) {
        printf("FAIL: at initialisation NWJ should be below DV (u/e >= log u), is %.4f below: is it "
               "E_P[T] - E_Q[exp(T - 1)]?\n", dv0 - nwj0);
        failures++;
    }
    /* 0.2 nats: measured with `uae mine --estimator nwj` at this scale, 800 steps gave 0.91 to
     * 0.99 for weight seeds 1..3; the mean of 8 fresh batches has a standard deviation ~0.05 */
    if (!(fabs(nwj1 - truth) < 0.2)) {
        printf("FAIL: after training NWJ estimates %.4f nats, the truth is %.4f (tolerance 0.2)\n",
               nwj1, truth);
        failures++;
    }
    if (!failures) printf("lab 3: the NWJ estimator checked\n");
    return failures ? 1 : 0;
}
