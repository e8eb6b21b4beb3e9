/* backends/cpu/cpu_ops.h — the host implementations of every op, in two versions: _ref, the plain
 * scalar reference (the oracle, kept forever), and _omp, the optimised OpenMP version, which also
 * takes the CPU backend's context (instruction set, kernels, threads, scratch: cpu_ctx.h). Tensors handed to these functions hold host pointers: the data of t starts at
 * (float *)t->buf + t->offset (uae_cpu_data). Ops have been checked (uae_op_check) and
 * normalised (uae_op_normalise: no "0 = tight" left) already. */
#ifndef UAE_CPU_OPS_H
#define UAE_CPU_OPS_H

#include "backends/cpu/cpu_ctx.h"
#include "core/pointwise_math.h"
#include "uae/ops.h"

typedef uae_status (*uae_cpu_op_fn)(const uae_op *op);
typedef uae_status (*uae_cpu_omp_fn)(cpu_ctx *ctx, const uae_op *op);

static inline float *uae_cpu_data(const uae_tensor *t) { return (float *)t->buf + t->offset; }

/* The states an optimizer step (UAE_OP_OPTIM, UAE_OP_GEMM_OPTIM) updates, from dst1 and dst2:
 * NULL where the optimizer has none (SGD without momentum none, SGD and RMSprop no second). */
static inline void uae_cpu_optim_states(const uae_op *op, const uae_optim_params *o, float **s1,
                                        float **s2) {
    *s1 = op->dst[1] && !(o->fn == UAE_OPTIM_SGD && o->momentum == 0.0f) ? uae_cpu_data(op->dst[1])
                                                                         : NULL;
    *s2 = op->dst[2] && o->fn != UAE_OPTIM_SGD && o->fn != UAE_OPTIM_RMSPROP
              ? uae_cpu_data(op->dst[2]) : NULL;
}

/* The scalar references' update of element i from its gradient g (uae_optim_f). */
static inline void uae_cpu_optim_at(uae_optim_fn fn, const uae_optim_consts *c, float g, float *p,
                                    float *s1, float *s2, int64_t i) {
    uae_optim_elem e = {p[i], s1 ? s1[i] : 0.0f, s2 ? s2[i] : 0.0f};
    e = uae_optim_f(fn, s1 != NULL, *c, g, e);
    p[i] = e.p;
    if (s1) s1[i] = e.s1;
    if (s2) s2[i] = e.s2;
}

/* One line per op kind, in uae_op_kind order: X(kind, function stem). */
#define UAE_CPU_OP_LIST(X)                                   \
    X(UAE_OP_GEMM, gemm)                                     \
    X(UAE_OP_CONV2D, conv2d)                                 \
    X(UAE_OP_CONV2D_BWD_DATA, conv2d_bwd_data)               \
    X(UAE_OP_CONV2D_BWD_WEIGHT, conv2d_bwd_weight)           \
    X(UAE_OP_MAXPOOL2, maxpool2)                             \
    X(UAE_OP_MAXPOOL2_BWD, maxpool2_bwd)                     \
    X(UAE_OP_UPSAMPLE2, upsample2)                           \
    X(UAE_OP_UPSAMPLE2_BWD, upsample2_bwd)                   \
    X(UAE_OP_BINARY, binary)                                 \
    X(UAE_OP_UNARY, unary)                                   \
    X(UAE_OP_UNARY_BWD, unary_bwd)                           \
    X(UAE_OP_REDUCE, reduce)                                 \
    X(UAE_OP_SOFTMAX, softmax)                               \
    X(UAE_OP_FILL, fill)                                     \
    X(UAE_OP_CLAMP, clamp)                                   \
    X(UAE_OP_OPTIM, optim)                                   \
    X(UAE_OP_RNG, rng)                                       \
    X(UAE_OP_PERMUTATION, permutation)                       \
    X(UAE_OP_GATHER_ROWS, gather_rows)                       \
    X(UAE_OP_SCATTER_ROWS, scatter_rows)                     \
    X(UAE_OP_MINE_BOUND, mine_bound)                         \
    X(UAE_OP_ATTACK_STEP, attack_step)                       \
    X(UAE_OP_GEMM_OPTIM, gemm_optim)

#define UAE_CPU_DECLARE(kind, stem)                          \
    uae_status uae_##stem##_ref(const uae_op *op);           \
    uae_status uae_##stem##_omp(cpu_ctx *ctx, const uae_op *op);
UAE_CPU_OP_LIST(UAE_CPU_DECLARE)
#undef UAE_CPU_DECLARE

#endif
