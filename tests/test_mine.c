/* tests/test_mine.c — per-sample MINE against a known answer: correlated Gaussians.
 *
 * X, Y in R^d with independent pairs (x_i, y_i) of correlation rho have
 *     I(X; Y) = -(d/2) log(1 - rho^2)   nats.
 * Two estimators are trained at once (S = 2, one network each: the per-sample batching the attack
 * uses), estimator 0 on data with I = 2 nats and estimator 1 with I = 4 nats, N fresh pairs per
 * step from the counter RNG. The DV estimate of the trained networks, evaluated with all pairs on
 * fresh batches (uae_mine_evaluate), must be within 10% of the truth at 2 and 4 nats (see the
 * comment at the check). Also: the bound of an estimator does not depend on its batch (S = 1 vs
 * S = 2 give the same initial bound), cfg.all_pairs in training gives the evaluated bound, and the
 * official head trains with the EMA gradient, InfoNCE and JS, each staying in its range.
 * UAE_TEST_SMALL=1 runs fewer steps and only checks that the estimates are rising.
 * UAE_TEST_SEED=k (default 0) shifts the weight and data seeds, to check robustness by hand. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/mine.h"
#include "uae/rng.h"
#include "tests/test_util.h"

#define D 20

static double rho_for(double nats) { return sqrt(1.0 - exp(-2.0 * nats / D)); }

/* N pairs for each of S estimators (estimator s has correlation rho[s]) into xs, ys (S, N, D),
 * from the RNG at step `step` (host-side numbers: the same on every backend). */
static uint64_t seed_shift = 0; /* UAE_TEST_SEED: set once in main, before any training */

static void make_pairs(int64_t S, int64_t N, const double *rho, uint64_t step, float *xs, float *ys) {
    for (int64_t s = 0; s < S; s++)
        for (int64_t k = 0; k < N * D; k++) {
            uint64_t idx = (step * (uint64_t)N * D + (uint64_t)k);
            float a = uae_rng_normal01(99 + seed_shift, 2 * (uint64_t)s, idx);
            float b = uae_rng_normal01(99 + seed_shift, 2 * (uint64_t)s + 1, idx);
            xs[s * N * D + k] = a;
            ys[s * N * D + k] = (float)(rho[s] * a + sqrt(1.0 - rho[s] * rho[s]) * b);
        }
}

/* Trains S estimators for `steps` steps; avg[s] receives the mean bound over the last `last`. */
static void train(uae_backend *be, const uae_mine_config *mc, int64_t S, int64_t N, const double *rho,
                  int steps, int last, double *avg, double *first, int evals, double *est) {
    uae_mine *m;
    TRY(uae_mine_create(be, mc, S, N, 1, 1, D, &m));
    TRY(uae_mine_reset(m, 7 + seed_shift, 0));
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 20, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor xs, ys;
    TRY(uae_arena_tensor(ar, 3, (int64_t[]){S, N, D}, &xs));
    TRY(uae_arena_tensor(ar, 3, (int64_t[]){S, N, D}, &ys));
    float *hx = malloc((size_t)(S * N * D) * sizeof *hx), *hy = malloc((size_t)(S * N * D) * sizeof *hy);
    float bounds[4];
    for (int64_t s = 0; s < S; s++) avg[s] = 0.0;
    for (int step = 0; step < steps; step++) {
        make_pairs(S, N, rho, (uint64_t)step, hx, hy);
        TRY(uae_tensor_write(&xs, hx));
        TRY(uae_tensor_write(&ys, hy));
        TRY(uae_mine_train_step(m, t, &xs, &ys, bounds));
        for (int64_t s = 0; s < S; s++) {
            if (step == 0 && first) first[s] = bounds[s];
            if (step >= steps - last) avg[s] += bounds[s] / last;
        }
    }
    for (int64_t s = 0; s < S && est; s++) est[s] = 0.0;
    for (int e = 0; e < evals; e++) {
        make_pairs(S, N, rho, (uint64_t)(steps + e), hx, hy); /* fresh: after every training step */
        TRY(uae_tensor_write(&xs, hx));
        TRY(uae_tensor_write(&ys, hy));
        TRY(uae_mine_evaluate(m, t, &xs, &ys, bounds));
        for (int64_t s = 0; s < S; s++) est[s] += bounds[s] / evals;
    }
    free(hx);
    free(hy);
    uae_tape_free(t);
    uae_arena_free(ar);
    uae_mine_free(m);
}

/* With cfg.all_pairs, train_step's bound before the step is the bound uae_mine_evaluate gives
 * for the same weights and samples: the same forward pass, recorded or not, so the same bits
 * (checked to 1e-6 relative). */
static void check_all_pairs(uae_backend *be, uae_mine_config mc, int64_t N, const double *rho) {
    mc.all_pairs = true;
    uae_mine *m;
    TRY(uae_mine_create(be, &mc, 2, N, 1, 1, D, &m));
    TRY(uae_mine_reset(m, 7 + seed_shift, 0));
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 20, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor xs, ys;
    TRY(uae_arena_tensor(ar, 3, (int64_t[]){2, N, D}, &xs));
    TRY(uae_arena_tensor(ar, 3, (int64_t[]){2, N, D}, &ys));
    float *hx = malloc((size_t)(2 * N * D) * sizeof *hx), *hy = malloc((size_t)(2 * N * D) * sizeof *hy);
    make_pairs(2, N, rho, 0, hx, hy);
    TRY(uae_tensor_write(&xs, hx));
    TRY(uae_tensor_write(&ys, hy));
    float ev[2], tr[2];
    TRY(uae_mine_evaluate(m, t, &xs, &ys, ev));
    TRY(uae_mine_train_step(m, t, &xs, &ys, tr));
    for (int s = 0; s < 2; s++)
        CHECK(fabsf(ev[s] - tr[s]) <= 1e-6f * (1.0f + fabsf(ev[s])),
              "all_pairs (%s head): evaluate %.7f vs train_step %.7f",
              mc.head == UAE_MINE_HEAD_DOT ? "dot" : "sum", ev[s], tr[s]);
    free(hx);
    free(hy);
    uae_tape_free(t);
    uae_arena_free(ar);
    uae_mine_free(m);
}

/* uae_params_add_next puts a tensor right after the previous one (MINE's x and y tensors of a
 * layer), so that uae_params_span sees them as one; tensors declared with uae_params_add are
 * aligned (not adjacent after an odd size), and span refuses them. */
static void test_params_span(uae_backend *be) {
    uae_params *P;
    TRY(uae_params_create(be, &P));
    int a = uae_params_add(P, "a", 2, (int64_t[]){3, 5}, UAE_INIT_ZEROS);
    int b = uae_params_add_next(P, "b", 2, (int64_t[]){2, 5}, UAE_INIT_ZEROS);
    int c = uae_params_add(P, "c", 2, (int64_t[]){1, 5}, UAE_INIT_ZEROS);
    TRY(uae_params_finalize(P, 0));
    uae_tensor v, g;
    TRY(uae_params_span(P, a, 2, &v, &g));
    CHECK(v.shape[0] == 5 && v.shape[1] == 5 && g.shape[0] == 5 &&
          v.offset == uae_params_value(P, a)->offset &&
          uae_params_value(P, b)->offset == v.offset + 15, "span of a and b: (%lld, %lld) at %zu",
          (long long)v.shape[0], (long long)v.shape[1], v.offset);
    float h[25];
    for (int i = 0; i < 25; i++) h[i] = (float)i;
    TRY(uae_tensor_write(&v, h));
    float hb[10];
    TRY(uae_tensor_read(uae_params_value(P, b), hb));
    CHECK(hb[0] == 15.0f && hb[9] == 24.0f, "b holds the span's last rows: %g .. %g", hb[0], hb[9]);
    CHECK(uae_params_span(P, b, 2, &v, &g) == UAE_ERR_INVALID, "b and c are not adjacent");
    (void)c;
    uae_params_free(P);
}

int main(void) {
    bool small = test_small();
    if (getenv("UAE_TEST_SEED")) seed_shift = (uint64_t)atoi(getenv("UAE_TEST_SEED"));
    uae_backend *be;
    TRY(uae_backend_open("cpu", &be));
    test_params_span(be);

    /* The estimator for the accuracy check. The official network (linear branches, ReLU after
     * their sum, out = 10) learns the Gaussian log-density ratio (a quadratic in 40 variables)
     * far too slowly for a test: after 5000 steps it is still 15-25% low. The separable critic
     * T = fx . fy with ReLU branches contains the bilinear x.y term directly, and training it on
     * the JS bound (same optimum T* = log p/q, no log-mean-exp ratio in the gradient) converges
     * in ~2000 steps. lr 2e-3 halving every 1000 steps (lr_half_life): fast at first, settled
     * at the end; hidden 256: the |x|^2 and |y|^2 terms of T* are built from ReLU pieces.
     * Evaluated at 4 nats, seed 0: hidden 128 with a constant lr 1e-3 gives 3.59, with the
     * schedule 3.69, hidden 256 3.75. Estimator code tested either way: the DV op,
     * per-sample weights, permutations, gradients, Adam. The official head is exercised in 3 and
     * 4 below. */
    uae_mine_config mc;
    uae_mine_config_default(UAE_MINE_NET_DENSE, &mc);
    mc.head = UAE_MINE_HEAD_DOT;
    mc.train_js = true;
    mc.hidden = 256;
    mc.out = 64;
    mc.branch_act = UAE_ACT_RELU;
    mc.opt.p.lr = 2e-3f;
    mc.lr_half_life = 1000;
    const int64_t N = 512;
    const double truth[2] = {2.0, 4.0};
    const double rho[2] = {rho_for(truth[0]), rho_for(truth[1])};
    int steps = small ? 200 : 3000, last = small ? 50 : 200, evals = 20;

    /* 1. The two estimators, trained batched (S = 2) for 3000 steps on N = 512 fresh pairs per
     * step, then evaluated (uae_mine_evaluate) on 20 fresh batches of 512 pairs never trained
     * on; the estimate is the mean of those 20 DV bounds. Tolerance 10% of the truth at 2 and
     * 4 nats (the issue's).
     * Why evaluate with all pairs: the DV bound's log-mean-exp over the marginal samples is
     * biased low (Jensen), and e^T* = p/q is heavy-tailed under the marginals (its variance is
     * e^{2I} - 1 ~ 3000 at 4 nats). With one permutation (n = 512 marginal samples, what
     * train_step reports) the bound of the *exact* T* is 3.44 +- 1.11 per batch at 4 nats, 14%
     * low (numpy, 40 batches); with all n(n-1) = 261632 pairs i != j it is 3.98 +- 0.11. (The
     * pairs share x's and y's, but E[e^T*(x, y) | x] = 1 for every x, so the sharing adds no
     * first-order variance: they count nearly as independent samples.) What is left is the
     * learned critic's distance from T*. The average of the train-time (one-permutation) bounds
     * over the last 200 steps is printed for comparison, not checked.
     * Measured (cpu, UAE_TEST_SEED=0..4): see docs/method.md; seed 0: 1.935 and 3.748.
     * Deterministic (counter RNG, fixed reduction orders): these numbers repeat exactly. */
    double avg[2], first2[2], est[2];
    train(be, &mc, 2, N, rho, steps, last, avg, first2, evals, est);
    for (int s = 0; s < 2; s++) {
        printf("DV  estimator %d: truth %.2f nats, estimate %.3f (first step %.3f; train-time "
               "average %.3f)\n", s, truth[s], est[s], first2[s], avg[s]);
        if (small)
            CHECK(est[s] > first2[s] + 0.2, "estimate %.3f did not rise", est[s]);
        else
            CHECK(fabs(est[s] - truth[s]) <= 0.10 * truth[s], "estimate %.3f vs truth %.2f",
                  est[s], truth[s]);
    }

    /* 2. Batch independence: estimator 0 alone (S = 1) starts from the same weights and sees the
     * same data and permutations as estimator 0 of the pair, so its first bound agrees to float
     * rounding (different GEMM shapes may sum in another order: 1e-4 relative). */
    double avg1[1], first1[1];
    train(be, &mc, 1, N, rho, 1, 1, avg1, first1, 0, NULL);
    CHECK(fabs(first1[0] - first2[0]) <= 1e-4 * (1.0 + fabs(first2[0])),
          "S = 1 first bound %.6f vs S = 2 %.6f", first1[0], first2[0]);

    /* 2b. all_pairs in train_step is the same bound as uae_mine_evaluate, for both heads (the
     * SUM head goes through the (S, n, n, out) pair tensor; n = 64 keeps it small). */
    check_all_pairs(be, mc, N, rho);

    /* 3. The official head, with the EMA-corrected gradient, trains too (its estimate rises above the untrained start). */
    uae_mine_config official;
    uae_mine_config_default(UAE_MINE_NET_DENSE, &official);
    official.hidden = 64;
    official.out = 64;
    official.branch_act = UAE_ACT_RELU;
    official.opt.p.lr = 2e-3f;
    check_all_pairs(be, official, 64, rho);
    uae_mine_config me = official;
    me.ema = true;
    double avge[2], firste[2];
    train(be, &me, 2, N, rho, small ? 100 : 400, 50, avge, firste, 0, NULL);
    for (int s = 0; s < 2; s++) {
        printf("DV+EMA estimator %d: truth %.2f, estimate %.3f\n", s, truth[s], avge[s]);
        CHECK(avge[s] > firste[s] + 0.2 && avge[s] < truth[s] * 1.2, "EMA estimate %.3f", avge[s]);
    }

    /* 4. InfoNCE (n = 64: at most log 64 = 4.16 nats) and JS: they train and stay in range. */
    uae_mine_config mi = official;
    mi.estimator = UAE_MINE_EST_INFONCE;
    double avgi[2], firsti[2];
    train(be, &mi, 2, 64, rho, small ? 60 : 300, 30, avgi, firsti, 0, NULL);
    for (int s = 0; s < 2; s++) {
        printf("InfoNCE estimator %d: truth %.2f, estimate %.3f (log n = %.2f)\n", s, truth[s],
               avgi[s], log(64.0));
        CHECK(avgi[s] > firsti[s] + 0.2 && avgi[s] <= log(64.0) + 1e-3, "InfoNCE %.3f", avgi[s]);
    }
    uae_mine_config mj = official;
    mj.estimator = UAE_MINE_EST_JS;
    double avgj[2], firstj[2];
    train(be, &mj, 2, N, rho, small ? 60 : 300, 30, avgj, firstj, 0, NULL);
    for (int s = 0; s < 2; s++) {
        printf("JS estimator %d: %.3f (from %.3f)\n", s, avgj[s], firstj[s]);
        /* the JS bound is -2 log 2 for an uninformative T and rises toward 0 */
        CHECK(avgj[s] > firstj[s] && avgj[s] < 0.0, "JS %.3f", avgj[s]);
    }

    uae_backend_free(be);
    if (failures) printf("%d failure(s)\n", failures);
    else printf("mine: all passed\n");
    return failures ? 1 : 0;
}
