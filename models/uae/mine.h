/* uae/mine.h — per-sample MINE: S independent mutual-information estimators trained at once.
 *
 * MINE (Belghazi et al. 2018) estimates I(X; Y) from n paired samples (x_k, y_k) with a statistics
 * network T: the joint pairs (x_k, y_k) against the marginal pairs (x_k, y_perm(k)), through the
 * Donsker-Varadhan bound  I >= mean_k T(x_k, y_k) - log mean_k exp T(x_k, y_perm(k)).  The attack
 * needs one estimate per attacked image, so this module holds S networks at once (per-estimator
 * weights: convolutions with weight sets, uae_nn_dense_sets) and evaluates all S bounds in one pass;
 * the x and y branches of all S networks are 2S weight sets of one set of ops.
 * It does not know where the samples come from (see uae/attack.h for how an image becomes samples).
 *
 *     uae_mine_config mc;
 *     uae_mine_config_default(UAE_MINE_NET_DENSE, &mc);
 *     uae_mine *m;
 *     uae_mine_create(be, &mc, S, n, 1, 1, d, &m);   // S estimators, n samples of d floats each
 *     uae_mine_reset(m, seed, first_index);           // estimator s: weights from (seed, first+s)
 *     for (...) uae_mine_train_step(m, tape, xs, ys, bounds);   // xs, ys (S, n, d); bounds (S)
 *     uae_mine_evaluate(m, tape, xs2, ys2, bounds);  // the estimate, on fresh samples xs2, ys2
 *     uae_mine_free(m);
 *
 * The network (the official code's, "mine" / "mine-dense"): two branches, one for x-samples and
 * one for y-samples, each [Conv(16, 2x2, valid) -> Flatten ->] Dense(hidden) -> Dense(out), with no
 * activation inside a branch; the branch outputs are summed, ReLU, Dense(1, no bias) -> T.
 * (Optionally T = fx . fy, the separable critic, which learns high MI much faster.)
 * Conv nets take samples (S*n, C, H, W) (estimator s owns rows [s*n, (s+1)*n)); dense nets take
 * (S, n, C*H*W).
 */
#ifndef UAE_MINE_H
#define UAE_MINE_H

#include "uae/nn.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum uae_mine_net {
    UAE_MINE_NET_CONV,   /* "mine": Conv(16, 2x2) -> Flatten -> Dense(hidden) -> Dense(out) */
    UAE_MINE_NET_DENSE,  /* "mine-dense": Dense(hidden) -> Dense(out), for vector samples */
    UAE_MINE_NET_COUNT
} uae_mine_net;

typedef enum uae_mine_estimator {
    UAE_MINE_EST_DV,        /* Donsker-Varadhan (MINE), in nats; the official choice */
    UAE_MINE_EST_JS,        /* Jensen-Shannon (f-GAN): a stable training signal, not in nats */
    UAE_MINE_EST_INFONCE,   /* InfoNCE over the n x n score matrix: in nats, at most log n */
    UAE_MINE_EST_COUNT
} uae_mine_estimator;

typedef enum uae_mine_head {
    UAE_MINE_HEAD_SUM,   /* T = w . relu(fx + fy): the official network */
    UAE_MINE_HEAD_DOT,   /* T = fx . fy: a "separable" critic (Poole et al. 2019) */
    UAE_MINE_HEAD_COUNT
} uae_mine_head;

typedef struct uae_mine_config {
    uae_mine_net net;
    uae_mine_head head;     /* SUM (official) */
    uae_mine_estimator estimator;
    int conv_filters;       /* 16 */
    int conv_kernel;        /* 2 (valid padding, stride 1) */
    int hidden;             /* 512 */
    int out;                /* 10: width of the branch outputs (the official code's H) */
    uae_act branch_act;     /* activation after Dense(hidden) in each branch (NONE, official) */
    bool ema;               /* DV only: the bias-corrected gradient of the MINE paper */
    bool train_js;          /* DV only: train T on the JS bound (same optimum T = log p/q, far
                             * less gradient noise), report the DV bound of that T */
    float ema_rate;         /* 0.01 */
    bool all_pairs;         /* DV and JS: the marginal samples are all n (n - 1) pairs (x_i, y_j),
                             * i != j, of the batch, not one random permutation's n pairs (off,
                             * official). With one permutation the log-mean-exp of the DV bound
                             * sees n samples of the heavy-tailed e^T and the bound is biased low:
                             * by ~14% at 4 nats on 20-d Gaussians with n = 512, even with the
                             * exact T; all pairs remove nearly all of it (tests/test_mine.c).
                             * Costs an (S, n, n) score matrix: one matrix product with the DOT
                             * head, an (S, n, n, out) pair tensor with the SUM head. n <= 4096. */
    int lr_half_life;       /* 0 (official): constant opt.p.lr. > 0: the lr halves every
                             * lr_half_life steps since the last reset, so the network settles
                             * near the optimum instead of jittering around it at the end */
    uae_optimizer opt;      /* Adam, lr 1.5e-5, betas 0.9/0.999, eps 1e-8 (tf.train.AdamOptimizer);
                             * Adam's eps is applied in TF 1's form (added to sqrt(v), not to the
                             * bias-corrected sqrt(v_hat): docs/method.md section 6) */
    bool keep_gradients;    /* false (default): a train step's dense weights take their gradient
                             * straight into Adam where the backend fuses the two
                             * (uae_optimizer_backward_step; the same bits, less memory traffic),
                             * and the store's gradients of those weights are not written. true:
                             * every gradient is written, then Adam steps */
} uae_mine_config;

/* The official defaults for a network kind; UAE_MINE_NET_DENSE has the same widths. */
void uae_mine_config_default(uae_mine_net net, uae_mine_config *cfg);

/* "dv", "js", "infonce" <-> the enum; "mine", "mine-dense" <-> uae_mine_net. */
const char *uae_mine_estimator_name(uae_mine_estimator e);
uae_status uae_mine_estimator_parse(const char *name, uae_mine_estimator *out);
const char *uae_mine_net_name(uae_mine_net net);
uae_status uae_mine_net_parse(const char *name, uae_mine_net *out);

typedef struct uae_mine uae_mine;

/* Creates S estimators for n samples each; one sample is (C, H, W) (dense nets: C*H*W floats).
 * Parameters, gradients and Adam state live on be. Weights are undefined until uae_mine_reset.
 * UAE_ERR_INVALID for sizes < 1 or a conv net on samples smaller than the kernel. The caller owns
 * *out. */
uae_status uae_mine_create(uae_backend *be, const uae_mine_config *cfg, int64_t S, int64_t n, int C,
                           int H, int W, uae_mine **out);
void uae_mine_free(uae_mine *m); /* NULL is a no-op */

/* Re-initialises every estimator: weights of estimator s Glorot-uniform (biases zero) from the
 * counter RNG at (seed, a stream derived from first_index + s and the tensor), so an estimator's
 * numbers do not depend on S or on its position in the batch; Adam state, the EMA and the
 * permutation counter are zeroed. */
uae_status uae_mine_reset(uae_mine *m, uint64_t seed, uint64_t first_index);

/* The bounds (S) of the estimators for samples xs and ys (shapes as uae_mine_create says), as a
 * tape variable differentiable in xs, ys and (if trainable) in the network weights, whose
 * gradients land in the store's gradient tensors. Each call draws fresh marginal permutations
 * (estimator s: RNG stream derived from first_index + s; the counter advances per call; none with
 * cfg.all_pairs or InfoNCE, which use every pair of the batch). NULL on error (the tape holds the
 * status). */
uae_var *uae_mine_bound(uae_mine *m, uae_tape *t, uae_var *xs, uae_var *ys, bool trainable);

/* uae_mine_bound on xy, x's samples then y's stacked along the first dimension ((2 S n, C, H, W)
 * for the conv net, (2 S, n, C H W) for the dense net): what the estimators compute anyway (one
 * set of ops serves the x and the y branch), so the samples are not copied together first. */
uae_var *uae_mine_bound_xy(uae_mine *m, uae_tape *t, uae_var *xy, bool trainable);

/* One Adam step of every estimator, maximising its bound on the constant samples xs, ys (with
 * the EMA-corrected gradient if cfg.ema). bounds (S floats, host) receives the bounds before the
 * step, or NULL. The step is a pass on t (uae_pass_begin): the tape is reset, its arena rewound
 * to where it was on entry and its recording flag left as it was. When ys follows xs in memory (one
 * tensor's two halves), they are used in place; else they are copied together first. */
uae_status uae_mine_train_step(uae_mine *m, uae_tape *t, const uae_tensor *xs,
                               const uae_tensor *ys, float *bounds);

/* The bounds (S floats, host) of the current networks on samples xs, ys (as for train_step), with
 * every pair (x_i, y_j), i != j, as a marginal sample, whatever cfg.all_pairs says; no training,
 * no gradient, no permutation drawn. The estimate to report after training: evaluated on fresh
 * samples the networks were not trained on, it is a lower bound of I (in expectation, for DV)
 * nearly free of the one-permutation bias (see all_pairs). InfoNCE: the usual bound. Needs
 * 2 <= n <= 4096. A pass on t, as for train_step. */
uae_status uae_mine_evaluate(uae_mine *m, uae_tape *t, const uae_tensor *xs, const uae_tensor *ys,
                             float *bounds);

/* A fixed initial state instead of the seed (uae attack --init; docs/method.md "The attack's
 * initial state"): estimator s takes its weights from row (row0 + s) of the host arrays w[i], one
 * per parameter of the store in store order, each (rows, that parameter's floats per estimator),
 * and its k-th permutation since the last reset from perm[((row0 + s) * draws + k) * n ...], n
 * float indices. Not owned: the arrays must outlive the estimators' use of them. */
typedef struct uae_mine_init {
    const float *const *w;  /* (params) pointers, each (rows, per-estimator floats) */
    const float *perm;      /* (rows, draws, n) */
    int64_t draws;          /* permutations per estimator the arrays hold */
    int64_t row0;           /* the row of estimator 0 */
} uae_mine_init;

/* Takes the weights (at the next uae_mine_reset) and the permutations from init instead of the
 * seed; NULL goes back to the seed. init is copied, the arrays it points to are not. */
void uae_mine_set_init(uae_mine *m, const uae_mine_init *init);

/* Writes the permutations that uae_mine_bound would draw from the seed after
 * uae_mine_reset(m, seed, first_index): draws of them per estimator, into out (S, draws, n) host
 * floats. Does not change m. */
uae_status uae_mine_seed_permutations(const uae_mine *m, uint64_t seed, uint64_t first_index,
                                      int64_t draws, float *out);

/* The parameter store (for inspection and tests), the config, and the sizes. */
uae_params *uae_mine_store(uae_mine *m);
const uae_mine_config *uae_mine_config_of(const uae_mine *m);
int64_t uae_mine_estimators(const uae_mine *m);
int64_t uae_mine_samples(const uae_mine *m);

#ifdef __cplusplus
}
#endif
#endif /* UAE_MINE_H */
