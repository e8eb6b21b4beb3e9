/* uae/op_enums.h — the enums that cross into kernels: the functions of the binary, unary, reduce,
 * optimizer, RNG and MINE ops. Written in the common subset of C11 and OpenCL C 1.2 (no includes,
 * nothing but enums), so that the C library includes it (through uae/ops.h) and the OpenCL backend
 * pastes the same text into its program: a kernel's `case UAE_UNARY_TANH:` is the host's value by
 * construction. The ops themselves are documented in uae/ops.h. */
#ifndef UAE_OP_ENUMS_H
#define UAE_OP_ENUMS_H

typedef enum uae_binary_fn {
    UAE_BINARY_ADD, UAE_BINARY_SUB, UAE_BINARY_MUL, UAE_BINARY_DIV,
    UAE_BINARY_MAX, UAE_BINARY_MIN,
    UAE_BINARY_COUNT
} uae_binary_fn;

typedef enum uae_unary_fn {
    UAE_UNARY_RELU,     /* max(x, 0); f'(0) = 0 */
    UAE_UNARY_LEAKY,    /* x > 0 ? x : alpha*x */
    UAE_UNARY_SIGMOID,  /* 1 / (1 + exp(-x)), computed without overflow */
    UAE_UNARY_TANH,
    UAE_UNARY_SOFTPLUS, /* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)) */
    UAE_UNARY_EXP,
    UAE_UNARY_LOG,      /* log(x); -inf at 0, NaN below */
    UAE_UNARY_SQUARE,   /* x*x */
    UAE_UNARY_SQRT,
    UAE_UNARY_ABS,      /* f'(0) = 0 */
    UAE_UNARY_AFFINE,   /* alpha*x + beta */
    UAE_UNARY_STEP,     /* x > alpha ? 1 : 0 (no gradient: f' = 0) */
    UAE_UNARY_RECIP,    /* 1/x */
    UAE_UNARY_COUNT
} uae_unary_fn;

typedef enum uae_reduce_fn {
    UAE_REDUCE_SUM, UAE_REDUCE_MEAN, UAE_REDUCE_MAX,
    UAE_REDUCE_LSE,     /* log sum exp, stable (max subtracted) */
    UAE_REDUCE_LME,     /* log mean exp = LSE - log(count) */
    UAE_REDUCE_COUNT
} uae_reduce_fn;

typedef enum uae_optim_fn {
    UAE_OPTIM_SGD, UAE_OPTIM_ADAM, UAE_OPTIM_RMSPROP, UAE_OPTIM_ADADELTA,
    UAE_OPTIM_COUNT
} uae_optim_fn;

typedef enum uae_rng_dist { UAE_RNG_UNIFORM, UAE_RNG_NORMAL, UAE_RNG_COUNT } uae_rng_dist;

typedef enum uae_mine_kind { UAE_MINE_DV, UAE_MINE_JS, UAE_MINE_COUNT } uae_mine_kind;

#endif /* UAE_OP_ENUMS_H */
