/* uae/attack.h — adversarial examples against a trained model: the MinMax attack of Hsu et al.
 * (AAAI 2022) with per-sample MINE, its supervised variant, and two baselines.
 *
 * The unsupervised attack looks, for each input x, for x' = x + delta (|delta| <= eps, x' in
 * [0, 1]) whose loss is no worse than x's, l(x') <= l(x), while the mutual information I(x, x')
 * is as small as possible:  min_delta  c * max(0, l(x') - l(x)) + I(x, x'),  with c adapted by
 * dual ascent. Every sample of a batch has its own MINE network, delta, c and RNG stream (the
 * sample's global index in the dataset), so a sample's result does not depend on the batch size.
 * docs/method.md explains the method with its formulas. This file does not read datasets or
 * write files; the CLI and the augmentation pipeline do.
 *
 *     uae_attack_config ac;
 *     uae_attack_defaults(UAE_MODEL_AUTOENCODER, &ac);     // the official defaults
 *     ac.seed = 1;
 *     uae_attack_result res[16];
 *     uae_attack_run(model, &ac, x, NULL, first, 16, x_adv, res);   // x, x_adv: (16, C, H, W)
 *     if (res[0].success) ...
 */
#ifndef UAE_ATTACK_H
#define UAE_ATTACK_H

#include "uae/mine.h"
#include "uae/model.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum uae_attack_method {
    UAE_ATTACK_MINMAX,   /* the paper's attack: c updated by dual ascent every iteration */
    UAE_ATTACK_PENALTY,  /* baseline: fixed c per run, binary search over c (C&W-style) */
    UAE_ATTACK_PGD,      /* baseline: L-infinity PGD on the loss, no mutual information */
    UAE_ATTACK_METHOD_COUNT
} uae_attack_method;

/* How one image becomes a batch of MINE samples. */
typedef enum uae_attack_samples {
    UAE_ATTACK_SAMPLES_CONV,    /* the model's first conv layer: each channel's map is a sample */
    UAE_ATTACK_SAMPLES_RANDOM,  /* proj_count Gaussian projections to proj_dim, standardised;
                                 * one matrix per iteration, shared by its delta step and MINE
                                 * steps (the official code redraws it at every step:
                                 * docs/method.md) and by the batch */
    UAE_ATTACK_SAMPLES_COUNT
} uae_attack_samples;

/* The loss l whose increase the attack constrains (unsupervised) or causes (supervised). */
typedef enum uae_attack_loss {
    UAE_ATTACK_LOSS_SSE,    /* autoencoders: sum over pixels of (x - AE(x'))^2 (the official l) */
    UAE_ATTACK_LOSS_MODEL,  /* uae_model_loss of x' with target x (e.g. contrastive NT-Xent) */
    UAE_ATTACK_LOSS_CW,     /* classifiers: C&W margin, untargeted or targeted, confidence kappa */
    UAE_ATTACK_LOSS_COUNT
} uae_attack_loss;

/* The attack's initial state for a range of examples: everything it otherwise draws from the seed
 * (delta_0, every MINE permutation, MINE's initial weights, random mode's projection matrices),
 * in host memory. MinMax and penalty only. The layout of its file is docs/method.md's "The attack's initial state". */
typedef struct uae_attack_init uae_attack_init;

/* Called after every iteration with (done, total) iterations of this uae_attack_run call. */
typedef void (*uae_attack_progress_fn)(void *user, int64_t done, int64_t total);

/* One record of an attack's trace (cfg.trace). For every sample and every iterate t, in the order
 * they happen (iteration by iteration, sample by sample within one), an iterate record (end =
 * false); after a sample's last iterate, one end record (end = true) naming the iterate returned.
 * Iterate t of the MinMax loop: the objective pass at delta_t (with c_t and MINE as trained so
 * far), the delta step to delta_{t+1}, the dual update, then the MINE steps on (x, x'_{t+1}),
 * whose bounds are mine_mi. Pointers are valid during the call only. */
typedef struct uae_attack_trace {
    bool end;              /* false: iterate t of this sample; true: its result (below) */
    uint64_t index;        /* the sample's global index (first_global_index + b) */
    int64_t sample;        /* b, its position in the batch */
    int iter;              /* t, numbered as uae_attack_result.selected_iter; end: the selected */
    int search_step;       /* PENALTY: the run over c it belongs to (0 otherwise) */
    float c;               /* c_t, the multiplier in the objective at delta_t (NaN for PGD) */
    float loss_clean;      /* l(x) (CW: the margin of x) */
    float loss_adv;        /* l(x'_t); end: of the selected iterate */
    float violation;       /* max(0, l(x'_t) - l(x)) (CW: max(0, margin + kappa)) */
    float mi;              /* I_t, MINE's estimate at x'_t: the I of the selection rule (NaN: PGD);
                            * end: of the selected iterate */
    bool success;          /* iterate: it meets the success rule (violation 0 and, unsupervised,
                            * I > 0; supervised, I not NaN); end: the sample's result */
    int mine_steps;        /* MINE steps after this iterate's delta step (0 for PGD and on end) */
    const float *mine_mi;  /* (mine_steps) each step's bound, before its Adam update */
    int64_t d;             /* floats per sample */
    const float *delta;    /* (d) delta_t = x'_t - x (NULL on end records) */
    const float *grad;     /* (d) d objective / d delta at delta_t (NULL on end records) */
} uae_attack_trace;

/* Receives trace records; a status other than UAE_OK stops the attack, which returns it. */
typedef uae_status (*uae_attack_trace_fn)(void *user, const uae_attack_trace *rec);

typedef struct uae_attack_config {
    uae_attack_method method;
    bool supervised;            /* objective c*loss - I (keep I large) instead of c*loss + I */
    uae_attack_loss loss;
    bool targeted;              /* CW loss: labels are target classes */
    float kappa;                /* CW confidence (0) */
    int iterations;             /* 40 autoencoders, 20 contrastive, 1000 classifiers */
    float lr;                   /* plain gradient step on delta (0.01) */
    float eps;                  /* |delta| <= eps (1.0) */
    float lo, hi;               /* x' in [lo, hi] (0, 1) */
    float c0;                   /* initial c (1e-3) */
    float dual_rate;            /* alpha of the dual update (0.1) */
    float dual_power;           /* p of the decaying regulariser (t+1)^-p: 0.25, contrastive 0.5 */
    int mine_steps;             /* MINE Adam steps per iteration (20; supervised 1) */
    int mine_warmup;            /* MINE steps before the first delta step (0, as the official) */
    uae_attack_samples samples; /* CONV for images (falls back to RANDOM without a conv layer) */
    int proj_count, proj_dim;   /* RANDOM: 500 projections to 128 dimensions */
    uae_mine_config mine;       /* the statistics network and its optimizer */
    int search_steps;           /* PENALTY: binary-search steps over c (9) */
    float pgd_eps, pgd_step;    /* PGD: radius (0.1) and step (0.01) */
    uint64_t seed;              /* every random number derives from (seed, sample index) */
    /* Contrastive loss: the negatives are one augmented view of each of these training examples,
     * (negatives_n, C, H, W) floats (host, not owned; from uae_attack_pick_negatives), the same
     * set for every sample, so a sample's loss does not depend on which samples share its batch.
     * Required for the contrastive loss (UAE_ERR_INVALID without it); ignored otherwise. */
    const float *negatives;
    int64_t negatives_n;        /* contrastive defaults: 254, the negatives one anchor sees in a
                                   SimCLR training batch of 128 */
    uae_attack_progress_fn progress;  /* NULL: none */
    void *progress_user;
    uae_attack_trace_fn trace;        /* every iterate of every sample (NULL: none; costs a copy
                                       * of delta and its gradient to the host per iteration) */
    void *trace_user;
    /* NULL: delta_0, MINE's weights and permutations from the seed. Else from this state (not
     * owned), which must cover every attacked sample's global index and have been made for this
     * model and these settings (UAE_ERR_INVALID, saying what differs, otherwise). */
    const uae_attack_init *init;
} uae_attack_config;

/* The official defaults for attacking a model of the given kind (see docs/method.md):
 * autoencoder: MinMax, SSE loss, 40 iterations, p = 0.25; contrastive: model loss, 20 iterations,
 * p = 0.5; classifier: supervised, CW loss, 1000 iterations, 1 MINE step. UAE_ERR_INVALID for an
 * unknown kind. */
uae_status uae_attack_defaults(uae_model_kind kind, uae_attack_config *cfg);

/* Copies cfg->negatives_n examples of a training set x (n, d) (host, not owned), chosen without
 * repetition by a permutation drawn from seed, into out (negatives_n, d) (caller-owned).
 * UAE_ERR_INVALID if negatives_n > n. */
uae_status uae_attack_pick_negatives(const float *x, int64_t n, int64_t d, uint64_t seed,
                                     int64_t negatives_n, float *out);

/* "minmax", "penalty", "pgd" and "conv", "random" <-> the enums. */
const char *uae_attack_method_name(uae_attack_method m);
uae_status uae_attack_method_parse(const char *name, uae_attack_method *out);
const char *uae_attack_samples_name(uae_attack_samples s);
uae_status uae_attack_samples_parse(const char *name, uae_attack_samples *out);

typedef struct uae_attack_result {
    bool success;       /* unsupervised: l(x') <= l(x) and I > 0; supervised: the label changed */
    float mi;           /* MINE's estimate of I(x, x') at the selected iterate (NaN for PGD) */
    float loss_clean;   /* l(x) (CW: the margin of x) */
    float loss_adv;     /* l(x') at the selected iterate */
    int selected_iter;  /* the iterate returned (0 = the starting point x + delta_0) */
    int iterations;     /* iterations run for this sample (all search steps together) */
    double seconds;     /* wall time of the batch divided by its size */
} uae_attack_result;

/* Attacks B samples at once. x: (B, C, H, W) floats in [lo, hi] (host, not owned) with the model's
 * input shape; labels: B class indices (the true class, or the target if cfg.targeted), required
 * for the CW loss, else NULL; first_global_index: the dataset index of sample 0 (sample b uses
 * the RNG streams of first_global_index + b). Writes x_adv (B, C, H, W) (host, caller-owned) and
 * results[B]. The model's parameters are not changed. Scratch memory is allocated on the model's
 * backend and freed before returning. */
uae_status uae_attack_run(uae_model *model, const uae_attack_config *cfg, const float *x,
                          const int32_t *labels, uint64_t first_global_index, int64_t B,
                          float *x_adv, uae_attack_result *results);

/* Draws the initial state a run with cfg (its seed) uses for the samples with global indices
 * first .. first + n - 1, as uae_attack_run would draw it. MINE's weights of all n examples are
 * held at once (n times one MINE network), and in random mode every projection matrix (refused
 * above 1 GiB). UAE_ERR_UNSUPPORTED for PGD. The caller owns *out. */
uae_status uae_attack_init_draw(uae_model *model, const uae_attack_config *cfg, uint64_t first,
                                int64_t n, uae_attack_init **out);

/* Writes init to a safetensors file (atomically), in the layout of docs/method.md. */
uae_status uae_attack_init_save(const uae_attack_init *init, const char *path);

/* Reads the initial state for samples first .. first + n - 1 of a run with cfg on model from
 * path, checking every tensor's presence, shape, finiteness and (permutations) validity, and the
 * example count, with a message naming the tensor and the option that fixes it. The caller owns
 * *out. */
uae_status uae_attack_init_load(const char *path, uae_model *model, const uae_attack_config *cfg,
                                uint64_t first, int64_t n, uae_attack_init **out);

void uae_attack_init_free(uae_attack_init *init); /* NULL is a no-op */

/* ---- The rules of the attack, as pure functions (unit-tested on their own) ---------------- */

/* The dual update of c after iteration t (counted from 0) with constraint violation v >= 0:
 *     c <- max(0, (1 - rate * (t+1)^-power) * c + rate * v). */
float uae_attack_dual_update(float c, float violation, int t, float rate, float power);

/* The scale of the initial perturbation: delta_0 ~ U(-l, l) with TF's Glorot-uniform limit for a
 * (1, H, W, C) variable, l = sqrt(6 / (H*W + C*H)) (the official code's tf.get_variable). */
float uae_attack_delta0_limit(int C, int H, int W);

#ifdef __cplusplus
}
#endif
#endif /* UAE_ATTACK_H */
