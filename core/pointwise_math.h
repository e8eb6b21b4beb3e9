/* core/pointwise_math.h — the scalar formulas of the elementwise ops (binary, unary and its
 * derivative, clamp, the optimizer updates, the attack step, the row index of gather/scatter),
 * written once in the common subset of C11 and OpenCL C 1.2, as core/philox.h is. The CPU backend
 * includes this file (reference, OpenMP and per-instruction-set loops); the OpenCL backend pastes
 * the same text into its program after uae/op_enums.h, so every backend evaluates the same
 * expressions in the same order. Not the loops, and not a public header.
 *
 * NaN rules (what every backend must reproduce): max/min/clamp/relu propagate NaN (as PyTorch
 * does, unlike C's fmaxf); a comparison that selects a branch (step, the derivatives of relu,
 * leaky and abs) treats NaN as "not greater than", so relu'(NaN) = 0 and step(NaN) = 0.
 *
 * Rules for the code below (see core/philox.h for why): functions declared with UAE_FN; no
 * pointers (OpenCL would need address spaces: state goes in and out by value); float literals with
 * an f suffix, no double; libm only through the UAE_*F macros (expf in C, exp in OpenCL: the same
 * function, each language's name); no fused multiply-add (-ffp-contract=off on the host, the
 * FP_CONTRACT pragma in OpenCL). The elementwise functions of libm (exp, log, tanh, ...) are each
 * platform's own, correctly rounded or not, which is why the tests compare devices with a
 * tolerance; everything else here is exact IEEE-754 arithmetic and gives the same bits. */
#ifndef UAE_POINTWISE_MATH_H
#define UAE_POINTWISE_MATH_H

#if defined(__OPENCL_VERSION__) || defined(__OPENCL_C_VERSION__)
#pragma OPENCL FP_CONTRACT OFF
#ifndef UAE_FN
#define UAE_FN
#endif
#define UAE_I64 long
#define UAE_EXPF(x) exp(x)
#define UAE_LOGF(x) log(x)
#define UAE_LOG1PF(x) log1p(x)
#define UAE_TANHF(x) tanh(x)
#define UAE_SQRTF(x) sqrt(x)
#define UAE_FABSF(x) fabs(x)
#else
#include <math.h>
#include <stdbool.h>
#include <stdint.h>

#include "uae/op_enums.h"
#if defined(__clang__)
#pragma STDC FP_CONTRACT OFF
#endif
#ifndef UAE_FN
#define UAE_FN static inline
#endif
#define UAE_I64 int64_t
#define UAE_EXPF(x) expf(x)
#define UAE_LOGF(x) logf(x)
#define UAE_LOG1PF(x) log1pf(x)
#define UAE_TANHF(x) tanhf(x)
#define UAE_SQRTF(x) sqrtf(x)
#define UAE_FABSF(x) fabsf(x)
#endif

/* max and min that return NaN when either argument is NaN (x != x only for NaN). */
UAE_FN float uae_maxf_nan(float a, float b) { return (a > b || a != a) ? a : b; }
UAE_FN float uae_minf_nan(float a, float b) { return (a < b || a != a) ? a : b; }

UAE_FN float uae_clampf_nan(float x, float lo, float hi) {
    return uae_minf_nan(uae_maxf_nan(x, lo), hi);
}

UAE_FN float uae_binary_f(uae_binary_fn fn, float a, float b) {
    switch (fn) {
    case UAE_BINARY_ADD: return a + b;
    case UAE_BINARY_SUB: return a - b;
    case UAE_BINARY_MUL: return a * b;
    case UAE_BINARY_DIV: return a / b;
    case UAE_BINARY_MAX: return uae_maxf_nan(a, b);
    case UAE_BINARY_MIN: return uae_minf_nan(a, b);
    case UAE_BINARY_COUNT: break;
    }
    return NAN;
}

/* 1 / (1 + exp(-x)) without overflow: for x < 0, exp(-x) could overflow, so use the equivalent
 * e / (1 + e) with e = exp(x) <= 1. */
UAE_FN float uae_sigmoidf(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + UAE_EXPF(-x));
    float e = UAE_EXPF(x);
    return e / (1.0f + e);
}

/* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exp never overflows, and for large |x| the
 * correction term vanishes smoothly. NaN propagates through the second term. */
UAE_FN float uae_softplusf(float x) {
    return (x > 0.0f ? x : 0.0f) + UAE_LOG1PF(UAE_EXPF(-UAE_FABSF(x)));
}

UAE_FN float uae_unary_f(uae_unary_fn fn, float x, float alpha, float beta) {
    switch (fn) {
    case UAE_UNARY_RELU: return x < 0.0f ? 0.0f : x; /* keeps NaN */
    case UAE_UNARY_LEAKY: return x > 0.0f ? x : alpha * x;
    case UAE_UNARY_SIGMOID: return uae_sigmoidf(x);
    case UAE_UNARY_TANH: return UAE_TANHF(x);
    case UAE_UNARY_SOFTPLUS: return uae_softplusf(x);
    case UAE_UNARY_EXP: return UAE_EXPF(x);
    case UAE_UNARY_LOG: return UAE_LOGF(x);
    case UAE_UNARY_SQUARE: return x * x;
    case UAE_UNARY_SQRT: return UAE_SQRTF(x);
    case UAE_UNARY_ABS: return UAE_FABSF(x);
    case UAE_UNARY_AFFINE: return alpha * x + beta;
    case UAE_UNARY_STEP: return x > alpha ? 1.0f : 0.0f;
    case UAE_UNARY_RECIP: return 1.0f / x;
    case UAE_UNARY_COUNT: break;
    }
    return NAN;
}

/* dx = dy * f'(x), given the forward input x and output y = f(x). Piecewise-linear functions
 * select dy (or 0) instead of multiplying, as PyTorch does: relu'(x) * Inf is 0 where x <= 0. */
UAE_FN float uae_unary_bwd_f(uae_unary_fn fn, float x, float y, float dy, float alpha) {
    switch (fn) {
    case UAE_UNARY_RELU: return x > 0.0f ? dy : 0.0f;
    case UAE_UNARY_LEAKY: return x > 0.0f ? dy : alpha * dy;
    case UAE_UNARY_SIGMOID: return dy * (y * (1.0f - y));
    case UAE_UNARY_TANH: return dy * (1.0f - y * y);
    case UAE_UNARY_SOFTPLUS: return dy * uae_sigmoidf(x); /* d/dx log(1 + e^x) = sigmoid(x) */
    case UAE_UNARY_EXP: return dy * y;
    case UAE_UNARY_LOG: return dy / x;
    case UAE_UNARY_SQUARE: return dy * (2.0f * x);
    case UAE_UNARY_SQRT: return dy * (0.5f / y);  /* d sqrt(x) = 1 / (2 sqrt(x)) */
    case UAE_UNARY_ABS: return x > 0.0f ? dy : (x < 0.0f ? -dy : 0.0f);
    case UAE_UNARY_AFFINE: return alpha * dy;
    case UAE_UNARY_STEP: return 0.0f;
    case UAE_UNARY_RECIP: return -dy * (y * y);   /* d(1/x) = -1/x^2 = -y^2 */
    case UAE_UNARY_COUNT: break;
    }
    return NAN;
}

/* The constants of one optimizer step: the hyperparameters, and Adam's bias corrections
 * bc1 = 1 - beta1^t, bc2 = 1 - beta2^t, which the host computes (uae_optim_consts_of). */
typedef struct uae_optim_consts {
    float lr, momentum, weight_decay, beta1, beta2, rho, eps;
    float bc1, bc2;
    int nesterov;
} uae_optim_consts;

/* One element's parameter and state (s1, s2: the optimizer's states, 0 where it has none). */
typedef struct uae_optim_elem { float p, s1, s2; } uae_optim_elem;

/* One element of an optimizer step (formulas in uae/ops.h): returns the new parameter and state.
 * has1: SGD has a momentum buffer (s1); the other optimizers ignore it. */
UAE_FN uae_optim_elem uae_optim_f(uae_optim_fn fn, bool has1, uae_optim_consts c, float g,
                                  uae_optim_elem e) {
    switch (fn) {
    case UAE_OPTIM_SGD: {
        /* PyTorch: the weight decay joins the gradient before the momentum buffer. */
        float gd = g + c.weight_decay * e.p;
        float step = gd;
        if (has1) {
            float v = c.momentum * e.s1 + gd;
            e.s1 = v;
            step = c.nesterov ? gd + c.momentum * v : v;
        }
        e.p = e.p - c.lr * step;
        break;
    }
    case UAE_OPTIM_ADAM: {
        float m = c.beta1 * e.s1 + (1.0f - c.beta1) * g;
        float v = c.beta2 * e.s2 + (1.0f - c.beta2) * (g * g);
        e.s1 = m;
        e.s2 = v;
        e.p = e.p - c.lr * (m / c.bc1) / (UAE_SQRTF(v / c.bc2) + c.eps);
        break;
    }
    case UAE_OPTIM_RMSPROP: {
        float v = c.rho * e.s1 + (1.0f - c.rho) * (g * g);
        e.s1 = v;
        e.p = e.p - c.lr * g / (UAE_SQRTF(v) + c.eps);
        break;
    }
    case UAE_OPTIM_ADADELTA: {
        float v = c.rho * e.s1 + (1.0f - c.rho) * (g * g);
        float d = UAE_SQRTF(e.s2 + c.eps) / UAE_SQRTF(v + c.eps) * g;
        e.s1 = v;
        e.s2 = c.rho * e.s2 + (1.0f - c.rho) * (d * d);
        e.p = e.p - c.lr * d;
        break;
    }
    case UAE_OPTIM_COUNT: break;
    }
    return e;
}

/* sign(g) with sign(+-0) = +0 and sign(NaN) = NaN; three independent selects, so that loops over
 * it vectorise. */
UAE_FN float uae_signf(float g) {
    float s = g > 0.0f ? 1.0f : g;
    s = g < 0.0f ? -1.0f : s;
    return g == 0.0f ? 0.0f : s;
}

/* One element of the projected attack step (uae/ops.h): returns the new delta. */
UAE_FN float uae_attack_f(bool sign, float lr, float eps, float lo, float hi, float x, float g,
                          float delta) {
    float s = sign ? uae_signf(g) : g;
    float d = uae_clampf_nan(delta - lr * s, -eps, eps);
    return uae_clampf_nan(d, lo - x, hi - x);
}

/* Index of a gather/scatter row as an integer, or -1 when idx is not an integer in [0, n). */
UAE_FN UAE_I64 uae_row_index(float idx, UAE_I64 n) {
    if (!(idx >= 0.0f) || idx >= (float)n) return -1; /* also catches NaN */
    UAE_I64 i = (UAE_I64)idx;
    return (float)i == idx && i < n ? i : -1;
}

#if !defined(__OPENCL_VERSION__) && !defined(__OPENCL_C_VERSION__)
#include "uae/ops.h"

/* The constants of an optimizer step from its parameters (host only). Adam's powers in double:
 * beta2^t for t in the thousands must not lose its digits. */
static inline uae_optim_consts uae_optim_consts_of(const uae_optim_params *o) {
    uae_optim_consts c = {o->lr, o->momentum, o->weight_decay, o->beta1, o->beta2, o->rho, o->eps,
                          1.0f, 1.0f, o->nesterov};
    if (o->fn == UAE_OPTIM_ADAM) {
        c.bc1 = (float)(1.0 - pow((double)o->beta1, (double)o->step));
        c.bc2 = (float)(1.0 - pow((double)o->beta2, (double)o->step));
    }
    return c;
}
#endif

#endif /* UAE_POINTWISE_MATH_H */
