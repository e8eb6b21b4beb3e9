/* ocl_reduce.cl — kernels that reduce: reduce over axes, softmax along the last dimension, and the
 * MINE bound. One work-group per output; each work-item folds a strided slice serially, then the
 * work-group combines the partial values in a fixed tree (uae_wg_reduce). No atomics, so the bits
 * are the same on every run. UAE_REDUCE_WG (a power of two) is set by the host with -D. */
#ifndef UAE_REDUCE_WG
#define UAE_REDUCE_WG 256
#endif

/* Offset of the element with linear index i over the 4-dim `shape` with `stride`s. */
int uae_offset4(int i, int4 shape, int4 stride) {
    int i3 = i % shape.w, t = i / shape.w;
    int i2 = t % shape.z;
    t /= shape.z;
    int i1 = t % shape.y, i0 = t / shape.y;
    return i0 * stride.x + i1 * stride.y + i2 * stride.z + i3 * stride.w;
}

/* Work-group o computes output o. The kept dimensions (kshape, kstride) enumerate outputs, the
 * reduced ones (rshape, rstride) the m elements of each. y = beta * y + result when beta != 0
 * (used for bias gradients). */
__kernel void uae_reduce(__global const float *x, int xoff, __global float *y, int yoff, int fn,
                         int m, int4 kshape, int4 kstride, int4 rshape, int4 rstride, float beta) {
    __local float buf[UAE_REDUCE_WG];
    int o = (int)get_group_id(0), lid = (int)get_local_id(0), size = (int)get_local_size(0);
    __global const float *base = x + xoff + uae_offset4(o, kshape, kstride);
    int comb = (fn == UAE_REDUCE_SUM || fn == UAE_REDUCE_MEAN) ? UAE_COMB_SUM : UAE_COMB_MAX;
    float acc = comb == UAE_COMB_SUM ? 0.0f : -INFINITY;
    for (int r = lid; r < m; r += size)
        acc = uae_combine(acc, base[uae_offset4(r, rshape, rstride)], comb);
    float res = uae_wg_reduce(buf, acc, comb);
    if (fn == UAE_REDUCE_LSE || fn == UAE_REDUCE_LME) {
        float mx = res;
        float s = 0.0f;
        /* exp(x - max); an all -inf input (mx = -inf) would give NaN, so it is handled apart. */
        if (isfinite(mx))
            for (int r = lid; r < m; r += size)
                s += exp(base[uae_offset4(r, rshape, rstride)] - mx);
        s = uae_wg_reduce(buf, s, UAE_COMB_SUM);
        res = isfinite(mx) ? mx + log(s) : mx;
        if (fn == UAE_REDUCE_LME) res = res - log((float)m);
    } else if (fn == UAE_REDUCE_MEAN) {
        res = res / (float)m;
    }
    if (lid == 0) y[yoff + o] = beta == 0.0f ? res : beta * y[yoff + o] + res;
}

/* Softmax or log-softmax of row o (length n): max first, then the sum of exp(x - max). */
__kernel void uae_softmax(__global const float *x, int xoff, __global float *y, int yoff, int n,
                          int logsm) {
    __local float buf[UAE_REDUCE_WG];
    int o = (int)get_group_id(0), lid = (int)get_local_id(0), size = (int)get_local_size(0);
    __global const float *row = x + xoff + o * n;
    __global float *out = y + yoff + o * n;
    float mx = -INFINITY;
    for (int i = lid; i < n; i += size) mx = uae_combine(mx, row[i], UAE_COMB_MAX);
    mx = uae_wg_reduce(buf, mx, UAE_COMB_MAX);
    float s = 0.0f;
    for (int i = lid; i < n; i += size) s += exp(row[i] - mx);
    s = uae_wg_reduce(buf, s, UAE_COMB_SUM);
    float ls = log(s);
    for (int i = lid; i < n; i += size) out[i] = logsm ? row[i] - mx - ls : exp(row[i] - mx) / s;
}

/* The MINE bound of estimator b (formulas in uae/ops.h). tj (B, n), tm (B, m), up (B) or NULL;
 * bound (B), dtj (B, n) or NULL, dtm (B, m) or NULL. kind: uae_mine_kind. */
__kernel void uae_mine_bound(__global const float *tj, int tjoff, __global const float *tm,
                             int tmoff, __global const float *up, int upoff, __global float *bound,
                             int boff, __global float *dtj, int dtjoff, __global float *dtm,
                             int dtmoff, int n, int m, int kind) {
    __local float buf[UAE_REDUCE_WG];
    int b = (int)get_group_id(0), lid = (int)get_local_id(0), size = (int)get_local_size(0);
    __global const float *pj = tj + tjoff + b * n;
    __global const float *pm = tm + tmoff + b * m;
    float u = up ? up[upoff + b] : 1.0f;
    if (kind == UAE_MINE_DV) {
        float sj = 0.0f;
        for (int i = lid; i < n; i += size) sj += pj[i];
        sj = uae_wg_reduce(buf, sj, UAE_COMB_SUM);
        float mx = -INFINITY;
        for (int i = lid; i < m; i += size) mx = uae_combine(mx, pm[i], UAE_COMB_MAX);
        mx = uae_wg_reduce(buf, mx, UAE_COMB_MAX);
        float se = 0.0f;
        for (int i = lid; i < m; i += size) se += exp(pm[i] - mx);
        se = uae_wg_reduce(buf, se, UAE_COMB_SUM);
        if (lid == 0) bound[boff + b] = sj / (float)n - (mx + log(se / (float)m));
        if (dtj)
            for (int i = lid; i < n; i += size) dtj[dtjoff + b * n + i] = u / (float)n;
        if (dtm)
            for (int i = lid; i < m; i += size)
                dtm[dtmoff + b * m + i] = -u * (exp(pm[i] - mx) / se);
    } else { /* UAE_MINE_JS */
        float sj = 0.0f, sm = 0.0f;
        for (int i = lid; i < n; i += size) sj += -uae_softplusf(-pj[i]);
        sj = uae_wg_reduce(buf, sj, UAE_COMB_SUM);
        for (int i = lid; i < m; i += size) sm += uae_softplusf(pm[i]);
        sm = uae_wg_reduce(buf, sm, UAE_COMB_SUM);
        if (lid == 0) bound[boff + b] = sj / (float)n - sm / (float)m;
        if (dtj)
            for (int i = lid; i < n; i += size)
                dtj[dtjoff + b * n + i] = u * (uae_sigmoidf(-pj[i]) / (float)n);
        if (dtm)
            for (int i = lid; i < m; i += size)
                dtm[dtmoff + b * m + i] = -u * (uae_sigmoidf(pm[i]) / (float)m);
    }
}
