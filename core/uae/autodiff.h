/* uae/autodiff.h — reverse-mode automatic differentiation on a tape of backend ops.
 *
 * Every uae_ad_* function runs its op at once (eager execution, on the backend of its inputs) and
 * records on the tape how to run it backwards. uae_ad_backward then walks the tape from the end
 * and issues the backward ops. Gradients come out for parameters *and* for inputs: the attack
 * needs d loss / d delta through the attacked model and through the MINE network.
 *
 *     uae_tape *t;
 *     uae_tape_create(scratch_arena, &t);          // values and gradients live in the arena
 *     uae_var *x = uae_ad_leaf(t, &delta, &grad_delta);     // gradient written into grad_delta
 *     uae_var *w = uae_ad_leaf(t, &W, &dW);
 *     uae_var *h = uae_ad_unary(t, UAE_UNARY_RELU, 0, 0, uae_ad_matmul(t, x, w, false, true));
 *     uae_var *loss = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x3, h);
 *     if (uae_ad_backward(t, loss) != UAE_OK) ... uae_last_error() ...
 *     uae_tape_reset(t);  uae_arena_reset(scratch_arena, mark);   // next step
 *
 * A step is usually written as a pass, which does that bookkeeping and cannot forget any of it:
 *
 *     uae_pass p = uae_pass_begin(t, true);        // fresh tape, arena marked, recording on
 *     ... uae_ad_* ..., uae_ad_backward(t, loss) ...
 *     uae_pass_end(&p);                            // arena rewound, recording as it was
 *
 * Errors are sticky: the first failing op puts the tape into an error state, later ops return
 * NULL and do nothing, and uae_tape_status / uae_ad_backward report the first error. A model can
 * therefore be written as straight-line code and checked once at the end.
 *
 * Gradient destinations given to uae_ad_leaf are overwritten by uae_ad_backward (zeroed if the loss
 * does not depend on them), so they never need clearing between steps.
 */
#ifndef UAE_AUTODIFF_H
#define UAE_AUTODIFF_H

#include "uae/ops.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uae_tape uae_tape;
typedef struct uae_var uae_var;

/* Creates a tape whose intermediate values and gradients are carved from `scratch` (not owned;
 * the caller resets it together with the tape). The caller owns *out. */
uae_status uae_tape_create(uae_arena *scratch, uae_tape **out);
void uae_tape_free(uae_tape *t);        /* NULL is a no-op */

/* Forgets every node and variable (their tensors stay in the arena until the caller resets it)
 * and clears the error state. Host memory of the tape is kept for reuse. */
void uae_tape_reset(uae_tape *t);

/* The first error since the last reset, UAE_OK if none. */
uae_status uae_tape_status(const uae_tape *t);

/* Whether uae_ad_* ops are recorded for backward (default true). With false they only compute:
 * for evaluation, where no gradient is wanted. */
void uae_tape_set_recording(uae_tape *t, bool on);

/* A pass: one forward (and backward) on a tape, from a clean tape to a rewound arena. */
typedef struct uae_pass {
    uae_tape *tape;
    size_t mark;         /* the tape's arena before the pass */
    bool was_recording;  /* the tape's recording flag before the pass */
} uae_pass;

/* Starts a pass on t: forgets the tape's nodes (and its error state), marks its arena and sets
 * recording. Passes on tapes that share an arena nest: a pass begun inside another must end
 * first. */
uae_pass uae_pass_begin(uae_tape *t, bool recording);

/* Ends the pass: forgets the tape's nodes, rewinds the arena to the mark (every tensor of the pass
 * is gone) and puts the recording flag back as it was at uae_pass_begin. Check the tape's status
 * before: the end clears it. */
void uae_pass_end(uae_pass *p);

/* The arena the tape allocates from (not owned), for constants a step needs (masks, targets). */
uae_arena *uae_tape_arena(uae_tape *t);

/* A new constant of the given shape, allocated in the tape's arena, contents undefined. */
uae_var *uae_ad_new_const(uae_tape *t, int ndim, const int64_t *shape);

/* Puts the tape into the error state with st (keeping the thread's current message, see
 * uae_fail) unless it already has an error; returns NULL, for `return uae_tape_fail(t, st);`. */
uae_var *uae_tape_fail(uae_tape *t, uae_status st);

/* A constant input (no gradient). The tensor is not copied and must outlive the step. */
uae_var *uae_ad_const(uae_tape *t, const uae_tensor *value);

/* A differentiable leaf. `grad`, if not NULL, is where backward writes d loss / d value (same
 * shape, not owned); if NULL the gradient is allocated in the scratch arena (uae_ad_grad). */
uae_var *uae_ad_leaf(uae_tape *t, const uae_tensor *value, const uae_tensor *grad);

/* The value of a variable (owned by the tape/arena), and its gradient after backward (NULL if it
 * has none). */
const uae_tensor *uae_ad_value(const uae_var *v);
const uae_tensor *uae_ad_grad(const uae_var *v);

/* Runs backward from `loss`. A loss with more than one element is treated as its sum (every
 * element's upstream gradient is 1). Returns the tape's first error, if any. */
uae_status uae_ad_backward(uae_tape *t, uae_var *loss);

/* Runs backward from scale * sum(loss): every element's upstream gradient is `scale`. What
 * backward from uae_ad_affine(t, loss, scale, 0) gives (its gradient is exactly scale), without the
 * two ops (MINE descends on minus its bound: scale -1). */
uae_status uae_ad_backward_scaled(uae_tape *t, uae_var *loss, float scale);

/* A leaf's gradient left as a product by uae_ad_backward_deferred: grad = op(a) @ op(b) (what
 * uae_gemm(trans_a, trans_b, 1, a, b, 0, grad) writes). a and b are views of the tape's values
 * and gradients: valid until the tape is reset. */
typedef struct uae_ad_product {
    uae_tensor grad;         /* the leaf's gradient tensor, not written */
    bool trans_a, trans_b;
    uae_tensor a, b;
} uae_ad_product;

/* uae_ad_backward_scaled, except that the gradient of a leaf whose only use is as the second
 * operand of one uae_ad_matmul (a dense layer's weight; it then gets no other contribution) is
 * not written: *products receives the *count such products (an array the tape owns, valid until
 * it is reset), which the caller must write or use in their place before the tape is reset: an
 * optimizer can fuse them into its step (UAE_OP_GEMM_OPTIM, uae_optimizer_backward_step). Every
 * other gradient is as uae_ad_backward_scaled writes it. */
uae_status uae_ad_backward_deferred(uae_tape *t, uae_var *loss, float scale,
                                    const uae_ad_product **products, int *count);

/* ---- Differentiable ops (NULL if the tape is in an error state) --------------------------- */

/* op(a) @ op(b) over the last two dimensions; leading dimensions are a batch (b may have a batch
 * of 1, shared by every batch of a, when a is not transposed). */
uae_var *uae_ad_matmul(uae_tape *t, uae_var *a, uae_var *b, bool trans_a, bool trans_b);

/* a <fn> b with b broadcast to a's shape (see UAE_OP_BINARY). */
uae_var *uae_ad_binary(uae_tape *t, uae_binary_fn fn, uae_var *a, uae_var *b);
uae_var *uae_ad_add(uae_tape *t, uae_var *a, uae_var *b);
uae_var *uae_ad_sub(uae_tape *t, uae_var *a, uae_var *b);
uae_var *uae_ad_mul(uae_tape *t, uae_var *a, uae_var *b);

/* f(x) elementwise (see uae_unary_fn; alpha/beta as there). */
uae_var *uae_ad_unary(uae_tape *t, uae_unary_fn fn, float alpha, float beta, uae_var *x);
/* alpha * x + beta. */
uae_var *uae_ad_affine(uae_tape *t, uae_var *x, float alpha, float beta);

/* Conv2d with optional bias (NULL). */
uae_var *uae_ad_conv2d(uae_tape *t, uae_var *x, uae_var *w, uae_var *bias,
                       const uae_conv_params *p);
uae_var *uae_ad_maxpool2(uae_tape *t, uae_var *x);
uae_var *uae_ad_upsample2(uae_tape *t, uae_var *x);

/* SUM, MEAN, MAX, LSE or LME over the dimensions in the `axes` bit mask. MAX passes the gradient
 * to every element equal to the maximum (all of them, if tied). */
uae_var *uae_ad_reduce(uae_tape *t, uae_reduce_fn fn, unsigned axes, uae_var *x);

/* min(max(x, lo), hi); the gradient is passed where lo < x < hi, zero elsewhere. */
uae_var *uae_ad_clamp(uae_tape *t, uae_var *x, float lo, float hi);

/* Softmax or log-softmax along the last dimension. */
uae_var *uae_ad_softmax(uae_tape *t, uae_var *x, bool log);

/* A view with another shape (no copy). */
uae_var *uae_ad_reshape(uae_tape *t, uae_var *x, int ndim, const int64_t *shape);

/* Stacks a and b (same shape but the first dimension) along the first dimension: (a0 + b0, ...),
 * a's rows first. Copies both (two copies); the gradients are views of the output's. */
uae_var *uae_ad_concat(uae_tape *t, uae_var *a, uae_var *b);

/* Splits x along its first dimension into `parts` equal views out[0 .. parts) (no copy): what one
 * op computed for several independent sets at once (MINE's x and y branches), handed to code
 * that treats them apart. x must have no other use on the tape. The parts' gradients are written
 * into x's gradient where they can be (a part whose gradient is another variable's is copied
 * there; a part that gets none, zeros), so the op that made x gets them as one tensor. */
uae_status uae_ad_split(uae_tape *t, uae_var *x, int parts, uae_var **out);

/* Row gather dst[b, i, :] = x[b, idx[b, i], :]; idx (B, m) is a constant whose entries must be
 * distinct within each b (a permutation, say), so that the backward scatter is exact. */
uae_var *uae_ad_gather_rows(uae_tape *t, uae_var *x, const uae_tensor *idx);

/* The MINE lower bound of each of B estimators: (B) from t_joint (B, n) and t_marg (B, m). */
uae_var *uae_ad_mine_bound(uae_tape *t, uae_mine_kind kind, uae_var *t_joint, uae_var *t_marg);

#ifdef __cplusplus
}
#endif
#endif /* UAE_AUTODIFF_H */
