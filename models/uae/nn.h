/* uae/nn.h — the building blocks models are written with: a parameter store, initialisers,
 * layers, losses and optimizers, all on top of the autodiff tape (uae/autodiff.h).
 *
 * Parameters of a model are one allocation carved into named tensors (llm.c's layout), with the
 * gradients in a second allocation of the same layout, so an optimizer step is one op over the
 * flat tensors and a checkpoint is a walk over the names.
 *
 *     uae_params *P;
 *     uae_params_create(be, &P);
 *     int w = uae_params_add(P, "enc.weight", 2, (int64_t[]){128, 784}, UAE_INIT_GLOROT_UNIFORM);
 *     int b = uae_params_add(P, "enc.bias", 1, (int64_t[]){128}, UAE_INIT_ZEROS);
 *     uae_params_finalize(P, seed);                  // allocates and initialises
 *     ... per step:
 *     uae_var *pv[64];
 *     uae_params_leaves(P, tape, true, pv);          // leaves whose gradients land in P's grads
 *     uae_var *h = uae_nn_dense(tape, x, pv[w], pv[b], UAE_ACT_SIGMOID);
 *
 * Layouts follow PyTorch, so checkpoints load into torch.nn modules as they are: a dense weight is
 * (out, in) and y = x W^T + b; a conv weight is (out_channels, in_channels, kh, kw).
 */
#ifndef UAE_NN_H
#define UAE_NN_H

#include "uae/autodiff.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- Parameters ---------------------------------------------------------------------------- */

typedef enum uae_init {
    UAE_INIT_ZEROS,
    UAE_INIT_ONES,
    UAE_INIT_GLOROT_UNIFORM, /* U(-l, l), l = sqrt(6 / (fan_in + fan_out)) — Keras' default */
    UAE_INIT_HE_UNIFORM,     /* U(-l, l), l = sqrt(6 / fan_in) */
    UAE_INIT_NORMAL_001,     /* N(0, 0.01^2) */
    UAE_INIT_COUNT
} uae_init;

typedef struct uae_params uae_params;

/* Creates an empty store on be. The caller owns *out (uae_params_free). */
uae_status uae_params_create(uae_backend *be, uae_params **out);
void uae_params_free(uae_params *p); /* NULL is a no-op */

/* Declares a tensor; returns its index (>= 0), or -1 with the error recorded in the store
 * (reported by uae_params_finalize). Only before finalize. Names are unique, at most 63 chars.
 * Fans for the initialisers: a 2-D (out, in) weight has fan_in = in, fan_out = out; a 4-D
 * (out, in, kh, kw) weight fan_in = in*kh*kw, fan_out = out*kh*kw; 3-D (sets, out, in) per set. */
int uae_params_add(uae_params *p, const char *name, int ndim, const int64_t *shape, uae_init init);

/* As uae_params_add, but stored right after the previous parameter (no alignment padding between
 * them), so that parameters of the same shape beyond the first dimension can be seen as one tensor
 * (uae_params_span): MINE's x and y branches, computed by one set of ops. */
int uae_params_add_next(uae_params *p, const char *name, int ndim, const int64_t *shape,
                        uae_init init);

/* Views of the values and gradients of parameters first .. first + count - 1 as one tensor each,
 * stacked along the first dimension; they must have been declared one after another with
 * uae_params_add_next and have the same shape beyond the first dimension (else UAE_ERR_INVALID).
 * Only after finalize. Not owned. */
uae_status uae_params_span(const uae_params *p, int first, int count, uae_tensor *value,
                           uae_tensor *grad);

/* Allocates values, gradients and two optimizer-state tensors (all zero but the values) and
 * initialises the values from (seed, stream = parameter index). */
uae_status uae_params_finalize(uae_params *p, uint64_t seed);

/* Re-initialises every value from seed (as finalize did) and zeroes the optimizer state. */
uae_status uae_params_reinit(uae_params *p, uint64_t seed);

int uae_params_count(const uae_params *p);
int64_t uae_params_numel(const uae_params *p);      /* total floats over all tensors */
const char *uae_params_name(const uae_params *p, int i);
int uae_params_find(const uae_params *p, const char *name); /* -1 if absent */
const uae_tensor *uae_params_value(const uae_params *p, int i);
const uae_tensor *uae_params_grad(const uae_params *p, int i);
const uae_tensor *uae_params_flat(const uae_params *p);       /* every value, one tensor */
const uae_tensor *uae_params_flat_grad(const uae_params *p);
const uae_tensor *uae_params_state(const uae_params *p, int k); /* optimizer state k = 0, 1 */
uae_backend *uae_params_backend(const uae_params *p);

/* Puts every parameter on the tape: as leaves whose gradients are written into the store's
 * gradient tensors (trainable), or as constants. out[i] is parameter i. */
uae_status uae_params_leaves(uae_params *p, uae_tape *t, bool trainable, uae_var **out);

/* Copies all values (and optimizer state, if with_state) from src, which must have the same
 * names and shapes; src may be on another backend. */
uae_status uae_params_copy(uae_params *dst, const uae_params *src, bool with_state);

/* ---- Optimizers ---------------------------------------------------------------------------- */

typedef struct uae_optimizer {
    uae_optim_params p;   /* fn, lr, momentum, betas, rho, eps ...; p.step counts steps taken */
} uae_optimizer;

/* The defaults used by the paper's code (Keras 2 / TF 1 defaults, except where a preset
 * overrides): SGD lr 0.01; Adam lr 1e-3, betas 0.9/0.999, eps 1e-7; RMSprop lr 1e-3, rho 0.9,
 * eps 1e-7; Adadelta lr 1.0, rho 0.95, eps 1e-7. */
uae_optimizer uae_optimizer_default(uae_optim_fn fn);

/* Parses "sgd", "adam", "rmsprop", "adadelta". */
uae_status uae_optimizer_parse(const char *name, uae_optim_fn *out);
const char *uae_optimizer_name(uae_optim_fn fn);

/* One update of every parameter of p from its gradient (one op over the flat tensors). */
uae_status uae_optimizer_step(uae_optimizer *o, uae_params *p);

/* Backward from scale * sum(loss) on t, then one update of every parameter of p: the same bits as
 * uae_ad_backward_scaled then uae_optimizer_step, with less memory traffic. The gradient of a
 * weight that is one matrix product (uae_ad_backward_deferred: a dense layer's weight used once)
 * goes straight into the update where the backend fuses the two (UAE_OP_GEMM_OPTIM: the CPU
 * backend, tile by tile), and is then not written into p's gradients (they keep what they
 * held); use the two calls where the gradients are read. */
uae_status uae_optimizer_backward_step(uae_optimizer *o, uae_params *p, uae_tape *t,
                                       uae_var *loss, float scale);

/* ---- Layers -------------------------------------------------------------------------------- */

typedef enum uae_act {
    UAE_ACT_NONE, UAE_ACT_RELU, UAE_ACT_LEAKY_RELU, UAE_ACT_SIGMOID, UAE_ACT_TANH,
    UAE_ACT_SOFTPLUS, UAE_ACT_COUNT
} uae_act;

/* act(x) (leaky slope 0.2, as in the concrete autoencoder). */
uae_var *uae_nn_act(uae_tape *t, uae_var *x, uae_act act);

/* y = act(x W^T + b) over the last dimension of x: x (..., in), w (out, in), b (out) or NULL. */
uae_var *uae_nn_dense(uae_tape *t, uae_var *x, uae_var *w, uae_var *b, uae_act act);

/* A dense layer with a separate weight set per sample (per-sample MINE networks):
 * x (S, n, in), w (S, out, in), b (S, out) or NULL -> (S, n, out). */
uae_var *uae_nn_dense_sets(uae_tape *t, uae_var *x, uae_var *w, uae_var *b, uae_act act);

/* y = act(conv2d(x, w) + b), "same" (pad = k/2, stride 1) or "valid" (pad 0) padding. */
uae_var *uae_nn_conv2d(uae_tape *t, uae_var *x, uae_var *w, uae_var *b, bool same, uae_act act);

/* Inverted dropout: in training, zeroes each element with probability rate and scales the rest by
 * 1/(1 - rate); mask from the counter RNG at (seed, stream, counter). Identity when !training. */
uae_var *uae_nn_dropout(uae_tape *t, uae_var *x, float rate, bool training, uint64_t seed,
                        uint64_t stream, uint64_t counter);

/* ---- Losses: each returns one value per sample, shape (B); average them for a batch loss. ---- */

/* mean over features of (y - target)^2, per sample: y and target (B, ...). */
uae_var *uae_loss_mse(uae_tape *t, uae_var *y, uae_var *target);

/* binary cross-entropy with predictions clipped to [1e-7, 1 - 1e-7] (Keras), mean over features:
 * y in (0, 1), target in [0, 1]. */
uae_var *uae_loss_bce(uae_tape *t, uae_var *y, uae_var *target);

/* softmax cross-entropy from logits (B, K) and one-hot targets (B, K). */
uae_var *uae_loss_softmax_ce(uae_tape *t, uae_var *logits, uae_var *onehot);

/* KL(rho || rho_hat) summed over hidden units, rho_hat = mean activation over the batch:
 * returns a (1) tensor (a batch quantity, not per sample). */
uae_var *uae_loss_kl_sparsity(uae_tape *t, uae_var *hidden, float rho);

/* Sum of |x| over features, per sample (L1 activity regulariser). */
uae_var *uae_loss_l1(uae_tape *t, uae_var *x);

/* The Carlini-Wagner margin per sample: untargeted max(z_y - max_{j != y} z_j, -kappa);
 * targeted max(max_{j != t} z_j - z_t, -kappa). onehot (B, K) marks y (or t). */
uae_var *uae_loss_cw_margin(uae_tape *t, uae_var *logits, const uae_tensor *onehot, bool targeted,
                            float kappa);

/* NT-Xent (SimCLR) at temperature tau for 2N embeddings z (2N, d) where rows i and i+N are the
 * two views of one sample; per-row loss (2N). Rows are L2-normalised inside. */
uae_var *uae_loss_nt_xent(uae_tape *t, uae_var *z, float tau);

#ifdef __cplusplus
}
#endif
#endif /* UAE_NN_H */
