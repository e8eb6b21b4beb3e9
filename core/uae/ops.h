/* uae/ops.h — the operations every backend implements, and how to run them.
 *
 * An op is a uae_op value: a kind, up to four source tensors, up to three destination tensors and
 * a parameter block. uae_op_run() checks the shapes, then hands the op to the tensors' backend; a
 * backend that does not support an op (see uae_op_supported) has it run on the host instead, never
 * crashes. The convenience functions at the bottom build and run one op each; the autodiff
 * (uae/autodiff.h) and the models are written with them.
 *
 * Conventions, for every op:
 *  - all tensors of one op live on the same backend;
 *  - destinations are overwritten unless a `beta` parameter says to accumulate;
 *  - a destination may alias a source only where the op's comment says "in place is allowed";
 *  - a NULL tensor slot is written as NULL in src[]/dst[];
 *  - results are deterministic: the same inputs give the same bits on every run, whatever the
 *    number of threads (fixed partitions, fixed order of every sum);
 *  - NaN: max, min, clamp, relu and the MAX reduction propagate NaN (as PyTorch does, unlike
 *    fmaxf); a comparison that selects a branch treats NaN as false (step(NaN) = 0, the gradients
 *    of relu/leaky/abs at NaN select 0 / alpha*dy / 0); sign(NaN) = NaN, sign(+-0) = +0.
 *
 * The semantics below are those of the scalar reference backend ("ref"), which is the oracle.
 */
#ifndef UAE_OPS_H
#define UAE_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "uae/op_enums.h"
#include "uae/tensor.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum uae_op_kind {
    /* C[b] = alpha * op(A[b]) @ op(B[b]) + beta * C[b], for b = 0 .. batch-1.
     * src0 A, src1 B, dst0 C. Params: gemm. op(X) is X or X^T. Matrices are row-major with leading
     * dimensions lda/ldb/ldc (0 = tight); batch b starts stride_x floats after batch b-1. With
     * beta == 0, C is not read (NaNs in it do not propagate). */
    UAE_OP_GEMM,

    /* 2-D cross-correlation (what deep-learning frameworks call convolution).
     * src0 x (N, C, H, W), src1 w (G*K, C, R, S), src2 bias (G*K) or NULL; dst0 y (N, K, P, Q) with
     * P = (H + 2*pad_h - R) / stride_h + 1, Q likewise. Params: conv.
     * G = wsets is the number of independent weight sets (per-sample networks, as in MINE): the N
     * images are split into G equal consecutive groups (N % G == 0) and group g uses filters
     * [g*K, (g+1)*K) and biases [g*K, (g+1)*K). G = 1 is an ordinary convolution. */
    UAE_OP_CONV2D,

    /* dx = beta*dx + conv2d^T(dy, w): the gradient of UAE_OP_CONV2D with respect to x.
     * src0 dy (N, K, P, Q), src1 w; dst0 dx (N, C, H, W). Params: conv (same as forward; H and W
     * are taken from dx). */
    UAE_OP_CONV2D_BWD_DATA,

    /* dw = beta*dw + sum over images of x (*) dy; db = beta*db + sum of dy over (n, p, q).
     * src0 x, src1 dy; dst0 dw (G*K, C, R, S), dst1 db (G*K) or NULL. Params: conv. */
    UAE_OP_CONV2D_BWD_WEIGHT,

    /* y = max over each 2x2 window, stride 2: src0 x (N, C, H, W); dst0 y (N, C, H/2, W/2)
     * (odd trailing rows/columns are dropped, as in Keras "valid" pooling). */
    UAE_OP_MAXPOOL2,

    /* dx = gradient of MAXPOOL2: src0 x, src1 dy; dst0 dx (shape of x). Within a window the first
     * maximum in row-major order gets the gradient; dropped rows/columns get 0. */
    UAE_OP_MAXPOOL2_BWD,

    /* Nearest-neighbour upsampling by 2: src0 x (N, C, H, W); dst0 y (N, C, 2H, 2W). */
    UAE_OP_UPSAMPLE2,

    /* dx = sum of dy over each 2x2 block: src0 dy (N, C, 2H, 2W); dst0 dx (N, C, H, W). */
    UAE_OP_UPSAMPLE2_BWD,

    /* dst = a <fn> b, with b broadcast to a's shape: b has a's ndim and each of its dimensions is
     * either a's or 1. src0 a, src1 b; dst0 (shape of a). Params: binary. In place (dst = a) is
     * allowed. */
    UAE_OP_BINARY,

    /* dst = f(src) elementwise. src0 x; dst0 (shape of x). Params: unary. In place allowed. */
    UAE_OP_UNARY,

    /* dx = dy * f'(x) elementwise: src0 x (the forward input), src1 y (the forward output),
     * src2 dy; dst0 dx. Params: unary (the same as the forward op). In place (dx = dy) allowed. */
    UAE_OP_UNARY_BWD,

    /* Reduction over a set of dimensions: dst has src's ndim with every reduced dimension set to 1.
     * src0 x; dst0. Params: reduce (axes is a bit mask over x's dimensions, bit d = dimension d). */
    UAE_OP_REDUCE,

    /* Softmax (or log-softmax) along the last dimension: src0 x; dst0 (shape of x). Params:
     * softmax. Stable: max is subtracted first. */
    UAE_OP_SOFTMAX,

    /* dst = value everywhere: dst0. Params: fill. */
    UAE_OP_FILL,

    /* dst = min(max(x, lo), hi): src0 x; dst0. Params: clamp. In place allowed. */
    UAE_OP_CLAMP,

    /* Optimizer updates on flat tensors (all of a model's parameters can be one tensor).
     * src0 g (gradient); dst0 param, dst1/dst2 state (zero-initialised by the caller), all of one
     * numel. Params: optim. Formulas (PyTorch's conventions, t = step counted from 1):
     *  SGD:      v = momentum*v + g + wd*p;  p -= lr * (nesterov ? g + wd*p + momentum*v : v)
     *  ADAM:     m = b1*m + (1-b1)*g;  v = b2*v + (1-b2)*g^2;
     *            p -= lr * (m / (1-b1^t)) / (sqrt(v / (1-b2^t)) + eps)
     *  RMSPROP:  v = rho*v + (1-rho)*g^2;  p -= lr * g / (sqrt(v) + eps)
     *  ADADELTA: v = rho*v + (1-rho)*g^2;  d = sqrt(u + eps) / sqrt(v + eps) * g;
     *            u = rho*u + (1-rho)*d^2;  p -= lr * d        (dst1 = v, dst2 = u)
     * SGD uses dst1 = v (NULL if momentum == 0); ADAM dst1 = m, dst2 = v; RMSPROP dst1 = v. */
    UAE_OP_OPTIM,

    /* Counter-based random numbers (Philox-4x32-10, see uae/rng.h): element i of dst0 is a
     * function of (seed, stream, counter + i) only, identical on every backend.
     * Params: rng. UNIFORM: lo + (hi - lo) * u, u in [0, 1). NORMAL: mean + std * z. */
    UAE_OP_RNG,

    /* Random permutations: dst0 (R, n) receives R independent permutations of 0 .. n-1, stored as
     * floats (exact up to 2^24). Row r uses the RNG stream (stream + r). Params: rng. */
    UAE_OP_PERMUTATION,

    /* Row gather: dst[b, i, :] = src[b, idx[b, i], :]. src0 src (B, n, d), src1 idx (B, m) (float
     * indices); dst0 (B, m, d). Out-of-range indices are UAE_ERR_INVALID on the reference backend
     * and give zeros elsewhere. */
    UAE_OP_GATHER_ROWS,

    /* Row scatter, the inverse of a permutation gather: dst[b, idx[b, i], :] = src[b, i, :].
     * src0 src (B, m, d), src1 idx (B, m) with distinct entries per b; dst0 (B, n, d): rows not
     * named in idx are left unchanged. */
    UAE_OP_SCATTER_ROWS,

    /* The mutual-information lower bound of MINE, batched over B independent estimators.
     * src0 t_joint (B, n), src1 t_marg (B, m), src2 upstream gradient (B) or NULL (= ones);
     * dst0 bound (B), dst1 d bound / d t_joint (B, n) or NULL, dst2 d bound / d t_marg (B, m) or NULL.
     * Params: mine. The Donsker-Varadhan bound, computed stably:
     *     I = mean_i tj_i - log mean_j exp(tm_j)
     *       = mean_i tj_i - (M + log( (1/m) sum_j exp(tm_j - M) )),   M = max_j tm_j
     *     dI/dtj_i = 1/n,   dI/dtm_j = -exp(tm_j - M) / sum_k exp(tm_k - M)
     * The Jensen-Shannon bound (f-GAN): I = mean(-softplus(-tj)) - mean(softplus(tm)). Gradients
     * are multiplied by the upstream gradient of their estimator. */
    UAE_OP_MINE_BOUND,

    /* One projected step of an L-infinity attack, batched over samples:
     *     delta <- clamp(delta - lr * s(g), -eps, eps),  then  delta <- clamp(delta, lo - x, hi - x)
     * so that x + delta stays in [lo, hi]; s(g) = g, or sign(g) when params.attack.sign is set
     * (PGD). src0 x (B, D), src1 g (B, D); dst0 delta (B, D) (read and written), dst1 x_adv = x + delta
     * or NULL. Params: attack. lr may differ per sample: src2 lr (B) overrides params.attack.lr if
     * non-NULL. */
    UAE_OP_ATTACK_STEP,

    /* An optimizer step whose gradient is one matrix product (a dense layer's weight gradient
     * dy^T x), computed as UAE_OP_GEMM with beta = 0 into a gradient g and then UAE_OP_OPTIM with
     * that g, but without storing g: src0 A, src1 B; dst0 param (the GEMM's C: its shape, leading
     * dimension and batch stride), dst1/dst2 the optimizer's states (laid out like dst0; as in
     * UAE_OP_OPTIM, NULL where the optimizer has none). Params: gemm_optim (gemm.beta must be 0).
     * Each element's product and update are those of the two ops, bit for bit (elements of the
     * destinations outside the product, in gaps of ldc and stride_c, are left alone); a backend may
     * apply the update to each tile of the product while it is in registers (the CPU backend),
     * or not run the op at all (uae_op_supported: then run the two ops; uae_gemm_optim_op). */
    UAE_OP_GEMM_OPTIM,

    UAE_OP_COUNT
} uae_op_kind;

/* The function enums of the binary, unary, reduce, optimizer, RNG and MINE ops (uae_binary_fn,
 * uae_unary_fn, ...) are in uae/op_enums.h, which the OpenCL kernels share. */

typedef struct uae_gemm_params {
    bool trans_a, trans_b;
    int64_t m, n, k;                       /* C is (m, n); op(A) is (m, k); op(B) is (k, n) */
    float alpha, beta;
    int64_t lda, ldb, ldc;                 /* row-major leading dimensions; 0 = tight */
    int64_t batch;                         /* >= 1 */
    int64_t stride_a, stride_b, stride_c;  /* floats between batches; 0 = tight (rows * ld) */
} uae_gemm_params;

typedef struct uae_conv_params {
    int stride_h, stride_w;   /* >= 1 */
    int pad_h, pad_w;         /* zero padding on each side */
    int wsets;                /* G >= 1: independent weight sets (per-sample networks) */
    float beta;               /* backward ops: 0 overwrites, 1 accumulates */
} uae_conv_params;

typedef struct uae_binary_params { uae_binary_fn fn; } uae_binary_params;
typedef struct uae_unary_params { uae_unary_fn fn; float alpha, beta; } uae_unary_params;
typedef struct uae_reduce_params { uae_reduce_fn fn; unsigned axes; } uae_reduce_params;
typedef struct uae_softmax_params { bool log; } uae_softmax_params;
typedef struct uae_fill_params { float value; } uae_fill_params;
typedef struct uae_clamp_params { float lo, hi; } uae_clamp_params;

typedef struct uae_optim_params {
    uae_optim_fn fn;
    float lr;
    float momentum;      /* SGD */
    bool nesterov;       /* SGD */
    float weight_decay;  /* SGD */
    float beta1, beta2;  /* ADAM */
    float rho;           /* RMSPROP, ADADELTA */
    float eps;           /* ADAM, RMSPROP, ADADELTA */
    int64_t step;        /* ADAM: t >= 1, for bias correction */
} uae_optim_params;

typedef struct uae_rng_params {
    uae_rng_dist dist;
    uint64_t seed;
    uint64_t stream;
    uint64_t counter;    /* index of the first element in the stream */
    float a, b;          /* UNIFORM: lo, hi; NORMAL: mean, std */
} uae_rng_params;

typedef struct uae_gemm_optim_params {
    uae_gemm_params gemm;    /* the product; its C is the parameter tensor */
    uae_optim_params optim;  /* the step */
} uae_gemm_optim_params;

typedef struct uae_mine_params { uae_mine_kind kind; } uae_mine_params;

typedef struct uae_attack_params {
    float lr, eps, lo, hi;
    bool sign;
} uae_attack_params;

typedef union uae_op_params {
    uae_gemm_params gemm;
    uae_conv_params conv;
    uae_binary_params binary;
    uae_unary_params unary;
    uae_reduce_params reduce;
    uae_softmax_params softmax;
    uae_fill_params fill;
    uae_clamp_params clamp;
    uae_optim_params optim;
    uae_rng_params rng;
    uae_mine_params mine;
    uae_attack_params attack;
    uae_gemm_optim_params gemm_optim;
} uae_op_params;

#define UAE_OP_MAX_SRC 4
#define UAE_OP_MAX_DST 3

typedef struct uae_op {
    uae_op_kind kind;
    const uae_tensor *src[UAE_OP_MAX_SRC];  /* not owned */
    const uae_tensor *dst[UAE_OP_MAX_DST];  /* not owned; the data they point to is written */
    uae_op_params p;
} uae_op;

/* "gemm", "conv2d", ...; never NULL. */
const char *uae_op_name(uae_op_kind kind);

/* Checks the op's shapes and parameters against its contract (UAE_ERR_SHAPE / UAE_ERR_INVALID with
 * a message naming the op, the tensor and what was expected). Does not run it. */
uae_status uae_op_check(const uae_op *op);

/* Whether the tensors' backend runs this op natively (false: uae_op_run runs it on the host). */
bool uae_op_supported(const uae_op *op);

/* Checks and runs one op on the backend of its tensors (asynchronously on devices; reads and
 * uae_backend_sync wait). */
uae_status uae_op_run(const uae_op *op);

/* ---- Convenience wrappers: each builds one uae_op and runs it. ---------------------------- */

uae_status uae_gemm(bool trans_a, bool trans_b, float alpha, const uae_tensor *a,
                    const uae_tensor *b, float beta, const uae_tensor *c);
/* Builds (does not run) the UAE_OP_GEMM_OPTIM op that steps p, s1, s2 (laid out as uae_gemm's C)
 * with the gradient alpha * op(a) @ op(b), its sizes and batches found as uae_gemm finds them.
 * UAE_ERR_SHAPE when the product is not one op (an operand shared by every batch, which uae_gemm
 * splits or folds): then compute the gradient with uae_gemm and step with UAE_OP_OPTIM. */
uae_status uae_gemm_optim_op(bool trans_a, bool trans_b, float alpha, const uae_tensor *a,
                             const uae_tensor *b, const uae_optim_params *o, const uae_tensor *p,
                             const uae_tensor *s1, const uae_tensor *s2, uae_op *out);
uae_status uae_binary(uae_binary_fn fn, const uae_tensor *a, const uae_tensor *b,
                      const uae_tensor *dst);
uae_status uae_unary(uae_unary_fn fn, float alpha, float beta, const uae_tensor *x,
                     const uae_tensor *dst);
uae_status uae_reduce(uae_reduce_fn fn, unsigned axes, const uae_tensor *x, const uae_tensor *dst);
uae_status uae_fill(const uae_tensor *dst, float value);
uae_status uae_clamp(const uae_tensor *x, float lo, float hi, const uae_tensor *dst);
uae_status uae_rng_fill(uae_rng_dist dist, uint64_t seed, uint64_t stream, uint64_t counter,
                        float a, float b, const uae_tensor *dst);

#ifdef __cplusplus
}
#endif
#endif /* UAE_OPS_H */
