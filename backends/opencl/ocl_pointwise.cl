/* ocl_pointwise.cl — elementwise kernels: fill, clamp, binary (with broadcasting), unary and its
 * gradient, the optimizers, the attack step, row gather/scatter. One work-item per element; the
 * global size is rounded up to the work-group size, so every kernel checks i < n. */

__kernel void uae_fill(__global float *y, int yoff, int n, float value) {
    int i = (int)get_global_id(0);
    if (i < n) y[yoff + i] = value;
}

__kernel void uae_clamp(__global const float *x, int xoff, __global float *y, int yoff, int n,
                        float lo, float hi) {
    int i = (int)get_global_id(0);
    if (i >= n) return;
    y[yoff + i] = uae_clamp_nan(x[xoff + i], lo, hi);
}

/* Binary functions; the numbering is uae_binary_fn's. */
float uae_binop(int fn, float a, float b) {
    switch (fn) {
    case 0: return a + b;
    case 1: return a - b;
    case 2: return a * b;
    case 3: return a / b;
    case 4: return uae_max_nan(a, b);
    default: return uae_min_nan(a, b);
    }
}

/* y = a fn b. a and y have shape `shape` (4 dims, outer ones 1 when a has fewer); bstride holds
 * b's strides, 0 where b is broadcast. */
__kernel void uae_binary(__global const float *a, int aoff, __global const float *b, int boff,
                         __global float *y, int yoff, int n, int fn, int4 shape, int4 bstride) {
    int i = (int)get_global_id(0);
    if (i >= n) return;
    int i3 = i % shape.w, t = i / shape.w;
    int i2 = t % shape.z;
    t /= shape.z;
    int i1 = t % shape.y, i0 = t / shape.y;
    int j = i0 * bstride.x + i1 * bstride.y + i2 * bstride.z + i3 * bstride.w;
    y[yoff + i] = uae_binop(fn, a[aoff + i], b[boff + j]);
}

/* Unary functions; the numbering is uae_unary_fn's. */
float uae_unop(int fn, float x, float alpha, float beta) {
    switch (fn) {
    case 0: return x < 0.0f ? 0.0f : x; /* keeps NaN */
    case 1: return x > 0.0f ? x : alpha * x;
    case 2: return uae_sigmoid(x);
    case 3: return tanh(x);
    case 4: return uae_softplus(x);
    case 5: return exp(x);
    case 6: return log(x);
    case 7: return x * x;
    case 8: return sqrt(x);
    case 9: return fabs(x);
    case 10: return alpha * x + beta;
    case 11: return x > alpha ? 1.0f : 0.0f;
    default: return 1.0f / x;
    }
}

/* dy * f'(x), with y = f(x) where that is the cheaper form; the same grouping of the products as
 * the reference (backends/cpu/pointwise_math.h), so the bits agree. Piecewise-linear functions
 * select dy or 0 rather than multiply. */
float uae_unop_grad(int fn, float x, float y, float dy, float alpha) {
    switch (fn) {
    case 0: return x > 0.0f ? dy : 0.0f;
    case 1: return x > 0.0f ? dy : alpha * dy;
    case 2: return dy * (y * (1.0f - y));
    case 3: return dy * (1.0f - y * y);
    case 4: return dy * uae_sigmoid(x);
    case 5: return dy * y;
    case 6: return dy / x;
    case 7: return dy * (2.0f * x);
    case 8: return dy * (0.5f / y);
    case 9: return x > 0.0f ? dy : (x < 0.0f ? -dy : 0.0f);
    case 10: return alpha * dy;
    case 11: return 0.0f;
    default: return -dy * (y * y);
    }
}

__kernel void uae_unary(__global const float *x, int xoff, __global float *y, int yoff, int n,
                        int fn, float alpha, float beta) {
    int i = (int)get_global_id(0);
    if (i < n) y[yoff + i] = uae_unop(fn, x[xoff + i], alpha, beta);
}

__kernel void uae_unary_bwd(__global const float *x, int xoff, __global const float *y, int yoff,
                            __global const float *dy, int dyoff, __global float *dx, int dxoff,
                            int n, int fn, float alpha) {
    int i = (int)get_global_id(0);
    if (i < n) dx[dxoff + i] = uae_unop_grad(fn, x[xoff + i], y[yoff + i], dy[dyoff + i], alpha);
}

/* One optimizer step per element (formulas in uae/ops.h). s1/s2 are the state tensors (NULL
 * where the optimizer has none); h = (lr, momentum, weight_decay, beta1), h2 = (beta2, rho, eps,
 * unused); bc = (1 - beta1^t, 1 - beta2^t) for Adam, computed on the host. */
__kernel void uae_optim(__global const float *g, int goff, __global float *p, int poff,
                        __global float *s1, int s1off, __global float *s2, int s2off, int n,
                        int fn, int nesterov, float4 h, float4 h2, float2 bc) {
    int i = (int)get_global_id(0);
    if (i >= n) return;
    float lr = h.x, momentum = h.y, wd = h.z, b1 = h.w, b2 = h2.x, rho = h2.y, eps = h2.z;
    float gi = g[goff + i], pi = p[poff + i];
    if (fn == 0) { /* SGD */
        float d = gi + wd * pi;
        float step = d;
        if (s1) { /* NULL without momentum */
            float v = momentum * s1[s1off + i] + d;
            s1[s1off + i] = v;
            step = nesterov ? d + momentum * v : v;
        }
        p[poff + i] = pi - lr * step;
    } else if (fn == 1) { /* Adam */
        float m = b1 * s1[s1off + i] + (1.0f - b1) * gi;
        float v = b2 * s2[s2off + i] + (1.0f - b2) * (gi * gi);
        s1[s1off + i] = m;
        s2[s2off + i] = v;
        p[poff + i] = pi - lr * (m / bc.x) / (sqrt(v / bc.y) + eps);
    } else if (fn == 2) { /* RMSprop */
        float v = rho * s1[s1off + i] + (1.0f - rho) * (gi * gi);
        s1[s1off + i] = v;
        p[poff + i] = pi - lr * gi / (sqrt(v) + eps);
    } else { /* Adadelta */
        float v = rho * s1[s1off + i] + (1.0f - rho) * (gi * gi);
        float u = s2[s2off + i];
        float d = sqrt(u + eps) / sqrt(v + eps) * gi;
        s1[s1off + i] = v;
        s2[s2off + i] = rho * u + (1.0f - rho) * (d * d);
        p[poff + i] = pi - lr * d;
    }
}

/* delta <- clamp(delta - lr * s(g), -eps, eps), then clamp(delta, lo - x, hi - x); x_adv = x +
 * delta. lrs (per sample, may be NULL) overrides lr. a = (lr, eps, lo, hi). */
__kernel void uae_attack_step(__global const float *x, int xoff, __global const float *g, int goff,
                              __global const float *lrs, int lroff, __global float *delta,
                              int doff, __global float *xadv, int aoff, int n, int d, float4 a,
                              int use_sign) {
    int i = (int)get_global_id(0);
    if (i >= n) return;
    float lr = lrs ? lrs[lroff + i / d] : a.x;
    float gi = g[goff + i], xi = x[xoff + i];
    /* sign(0) = 0, sign(NaN) = NaN */
    float s = use_sign ? (gi > 0.0f ? 1.0f : (gi < 0.0f ? -1.0f : (gi == 0.0f ? 0.0f : gi))) : gi;
    float v = uae_clamp_nan(delta[doff + i] - lr * s, -a.y, a.y);
    v = uae_clamp_nan(v, a.z - xi, a.w - xi);
    delta[doff + i] = v;
    if (xadv) xadv[aoff + i] = xi + v;
}

/* Row index idx as an int, or -1 when it is not an integer in [0, n) (NaN included). */
int uae_row_index(float idx, int n) {
    if (!(idx >= 0.0f) || idx >= (float)n) return -1;
    int i = (int)idx;
    return (float)i == idx && i < n ? i : -1;
}

/* dst[b, i, :] = src[b, idx[b, i], :]; out-of-range indices give zeros. One item per dst float. */
__kernel void uae_gather_rows(__global const float *src, int soff, __global const float *idx,
                              int ioff, __global float *dst, int doff, int nb, int nsrc, int m,
                              int d) {
    int t = (int)get_global_id(0);
    if (t >= nb * m * d) return;
    int col = t % d, row = t / d, b = row / m;
    int r = uae_row_index(idx[ioff + row], nsrc);
    dst[doff + t] = r >= 0 ? src[soff + (b * nsrc + r) * d + col] : 0.0f;
}

/* dst[b, idx[b, i], :] = src[b, i, :]; entries are distinct per b, so no two items write the same
 * float; indices out of range are skipped. */
__kernel void uae_scatter_rows(__global const float *src, int soff, __global const float *idx,
                               int ioff, __global float *dst, int doff, int nb, int ndst, int m,
                               int d) {
    int t = (int)get_global_id(0);
    if (t >= nb * m * d) return;
    int col = t % d, row = t / d, b = row / m;
    int r = uae_row_index(idx[ioff + row], ndst);
    if (r >= 0) dst[doff + (b * ndst + r) * d + col] = src[soff + t];
}
