/* backends/cpu/pointwise_math.h — the scalar formulas of the elementwise ops (binary, unary and
 * its derivative, clamp, the optimizer updates, the attack step), shared by the reference and the
 * OpenMP versions so that both give the same bits. Not the loops: those live in ref_pointwise.c
 * and omp_pointwise.c.
 *
 * NaN rules (what every backend must reproduce): max/min/clamp/relu propagate NaN (as PyTorch
 * does, unlike C's fmaxf); a comparison that selects a branch (step, the derivatives of relu,
 * leaky and abs) treats NaN as "not greater than", so relu'(NaN) = 0 and step(NaN) = 0. */
#ifndef UAE_CPU_POINTWISE_MATH_H
#define UAE_CPU_POINTWISE_MATH_H

#include <math.h>

#include "uae/ops.h"

/* max and min that return NaN when either argument is NaN. */
static inline float uae_maxf_nan(float a, float b) { return (a > b || a != a) ? a : b; }
static inline float uae_minf_nan(float a, float b) { return (a < b || a != a) ? a : b; }

static inline float uae_clampf_nan(float x, float lo, float hi) {
    return uae_minf_nan(uae_maxf_nan(x, lo), hi);
}

static inline float uae_binary_f(uae_binary_fn fn, float a, float b) {
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
static inline float uae_sigmoidf(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + expf(-x));
    float e = expf(x);
    return e / (1.0f + e);
}

/* log(1 + exp(x)) = max(x, 0) + log1p(exp(-|x|)): exp never overflows, and for large |x| the
 * correction term vanishes smoothly. NaN propagates through the second term. */
static inline float uae_softplusf(float x) {
    return (x > 0.0f ? x : 0.0f) + log1pf(expf(-fabsf(x)));
}

static inline float uae_unary_f(uae_unary_fn fn, float x, float alpha, float beta) {
    switch (fn) {
    case UAE_UNARY_RELU: return x < 0.0f ? 0.0f : x; /* keeps NaN */
    case UAE_UNARY_LEAKY: return x > 0.0f ? x : alpha * x;
    case UAE_UNARY_SIGMOID: return uae_sigmoidf(x);
    case UAE_UNARY_TANH: return tanhf(x);
    case UAE_UNARY_SOFTPLUS: return uae_softplusf(x);
    case UAE_UNARY_EXP: return expf(x);
    case UAE_UNARY_LOG: return logf(x);
    case UAE_UNARY_SQUARE: return x * x;
    case UAE_UNARY_SQRT: return sqrtf(x);
    case UAE_UNARY_ABS: return fabsf(x);
    case UAE_UNARY_AFFINE: return alpha * x + beta;
    case UAE_UNARY_STEP: return x > alpha ? 1.0f : 0.0f;
    case UAE_UNARY_RECIP: return 1.0f / x;
    case UAE_UNARY_COUNT: break;
    }
    return NAN;
}

/* dx = dy * f'(x), given the forward input x and output y = f(x). Piecewise-linear functions
 * select dy (or 0) instead of multiplying, as PyTorch does: relu'(x) * Inf is 0 where x <= 0. */
static inline float uae_unary_bwd_f(uae_unary_fn fn, float x, float y, float dy, float alpha) {
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

/* Per-call constants of an optimizer step that do not depend on the element. */
typedef struct uae_optim_consts {
    float bc1, bc2; /* ADAM bias corrections 1 - beta1^t, 1 - beta2^t */
} uae_optim_consts;

static inline uae_optim_consts uae_optim_prepare(const uae_optim_params *o) {
    uae_optim_consts c = {1.0f, 1.0f};
    if (o->fn == UAE_OPTIM_ADAM) {
        /* Powers in double: beta2^t for t in the thousands must not lose its digits. */
        c.bc1 = (float)(1.0 - pow((double)o->beta1, (double)o->step));
        c.bc2 = (float)(1.0 - pow((double)o->beta2, (double)o->step));
    }
    return c;
}

/* One element of an optimizer step (formulas in uae/ops.h). s1, s2 point to the element's state
 * (NULL where the optimizer has none). fn is o->fn, passed on its own so that callers can make it
 * a constant. */
static inline void uae_optim_f(uae_optim_fn fn, const uae_optim_params *o, uae_optim_consts c,
                               float g, float *p, float *s1, float *s2) {
    switch (fn) {
    case UAE_OPTIM_SGD: {
        /* PyTorch: the weight decay joins the gradient before the momentum buffer. */
        float gd = g + o->weight_decay * *p;
        float step = gd;
        if (s1) {
            float v = o->momentum * *s1 + gd;
            *s1 = v;
            step = o->nesterov ? gd + o->momentum * v : v;
        }
        *p = *p - o->lr * step;
        return;
    }
    case UAE_OPTIM_ADAM: {
        float m = o->beta1 * *s1 + (1.0f - o->beta1) * g;
        float v = o->beta2 * *s2 + (1.0f - o->beta2) * (g * g);
        *s1 = m;
        *s2 = v;
        *p = *p - o->lr * (m / c.bc1) / (sqrtf(v / c.bc2) + o->eps);
        return;
    }
    case UAE_OPTIM_RMSPROP: {
        float v = o->rho * *s1 + (1.0f - o->rho) * (g * g);
        *s1 = v;
        *p = *p - o->lr * g / (sqrtf(v) + o->eps);
        return;
    }
    case UAE_OPTIM_ADADELTA: {
        float v = o->rho * *s1 + (1.0f - o->rho) * (g * g);
        float d = sqrtf(*s2 + o->eps) / sqrtf(v + o->eps) * g;
        *s1 = v;
        *s2 = o->rho * *s2 + (1.0f - o->rho) * (d * d);
        *p = *p - o->lr * d;
        return;
    }
    case UAE_OPTIM_COUNT: break;
    }
}

/* sign(g) with sign(+-0) = +0 and sign(NaN) = NaN; three independent selects, so that loops over
 * it vectorise. */
static inline float uae_signf(float g) {
    float s = g > 0.0f ? 1.0f : g;
    s = g < 0.0f ? -1.0f : s;
    return g == 0.0f ? 0.0f : s;
}

/* One element of the projected attack step (uae/ops.h): returns the new delta. `sign` is
 * a->sign, passed on its own so that callers can make it a constant. */
static inline float uae_attack_f(const uae_attack_params *a, bool sign, float lr, float x,
                                 float g, float delta) {
    float s = sign ? uae_signf(g) : g;
    float d = uae_clampf_nan(delta - lr * s, -a->eps, a->eps);
    return uae_clampf_nan(d, a->lo - x, a->hi - x);
}

/* Index of a gather/scatter row as an integer, or -1 when idx is not an integer in [0, n). */
static inline int64_t uae_row_index(float idx, int64_t n) {
    if (!(idx >= 0.0f) || idx >= (float)n) return -1; /* also catches NaN */
    int64_t i = (int64_t)idx;
    return (float)i == idx && i < n ? i : -1;
}

#endif /* UAE_CPU_POINTWISE_MATH_H */
