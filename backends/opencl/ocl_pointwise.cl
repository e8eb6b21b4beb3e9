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
    y[yoff + i] = uae_clampf_nan(x[xoff + i], lo, hi);
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
    y[yoff + i] = uae_binary_f((uae_binary_fn)fn, a[aoff + i], b[boff + j]);
}

__kernel void uae_unary(__global const float *x, int xoff, __global float *y, int yoff, int n,
                        int fn, float alpha, float beta) {
    int i = (int)get_global_id(0);
    if (i < n) y[yoff + i] = uae_unary_f((uae_unary_fn)fn, x[xoff + i], alpha, beta);
}

__kernel void uae_unary_bwd(__global const float *x, int xoff, __global const float *y, int yoff,
                            __global const float *dy, int dyoff, __global float *dx, int dxoff,
                            int n, int fn, float alpha) {
    int i = (int)get_global_id(0);
    if (i < n)
        dx[dxoff + i] =
            uae_unary_bwd_f((uae_unary_fn)fn, x[xoff + i], y[yoff + i], dy[dyoff + i], alpha);
}

/* One optimizer step per element (formulas in uae/ops.h). s1/s2 are the state tensors (NULL
 * where the optimizer has none); h = (lr, momentum, weight_decay, beta1), h2 = (beta2, rho, eps,
 * unused); bc = (1 - beta1^t, 1 - beta2^t) for Adam, computed on the host. */
__kernel void uae_optim(__global const float *g, int goff, __global float *p, int poff,
                        __global float *s1, int s1off, __global float *s2, int s2off, int n,
                        int fn, int nesterov, float4 h, float4 h2, float2 bc) {
    int i = (int)get_global_id(0);
    if (i >= n) return;
    uae_optim_consts c = {h.x, h.y, h.z, h.w, h2.x, h2.y, h2.z, bc.x, bc.y, nesterov};
    uae_optim_elem e = {p[poff + i], s1 ? s1[s1off + i] : 0.0f, s2 ? s2[s2off + i] : 0.0f};
    e = uae_optim_f((uae_optim_fn)fn, s1 != 0, c, g[goff + i], e);
    p[poff + i] = e.p;
    if (s1) s1[s1off + i] = e.s1;
    if (s2) s2[s2off + i] = e.s2;
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
    float xi = x[xoff + i];
    float v = uae_attack_f(use_sign != 0, lr, a.y, a.z, a.w, xi, g[goff + i], delta[doff + i]);
    delta[doff + i] = v;
    if (xadv) xadv[aoff + i] = xi + v;
}

/* dst[b, i, :] = src[b, idx[b, i], :]; out-of-range indices give zeros. One item per dst float. */
__kernel void uae_gather_rows(__global const float *src, int soff, __global const float *idx,
                              int ioff, __global float *dst, int doff, int nb, int nsrc, int m,
                              int d) {
    int t = (int)get_global_id(0);
    if (t >= nb * m * d) return;
    int col = t % d, row = t / d, b = row / m;
    int r = (int)uae_row_index(idx[ioff + row], (long)nsrc);
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
    int r = (int)uae_row_index(idx[ioff + row], (long)ndst);
    if (r >= 0) dst[doff + (b * ndst + r) * d + col] = src[soff + t];
}
