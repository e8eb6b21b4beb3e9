/* ocl_spatial.cl — image kernels: 2x2 max pooling and nearest upsampling with their gradients,
 * and the data movement around the convolution GEMMs (im2col, col2im, two layout changes).
 * The convolution arithmetic itself is CLBlast's GEMM (see ocl_ops.c). */

/* Index (0..3, row-major) of the first maximum of the 2x2 window at p, rows w apart. Shared by
 * forward and backward so that they agree on ties; comparisons with `>` as in the reference (a NaN
 * is taken only in the first position). */
int uae_argmax2x2(__global const float *p, int w) {
    float cand[4] = {p[0], p[1], p[w], p[w + 1]};
    int best = 0;
    for (int k = 1; k < 4; k++)
        if (cand[k] > cand[best]) best = k;
    return best;
}

/* One item per output (n, c, i, j) of y (N, C, H/2, W/2). */
__kernel void uae_maxpool2(__global const float *x, int xoff, __global float *y, int yoff, int nc,
                           int h, int w) {
    int ho = h / 2, wo = w / 2;
    int t = (int)get_global_id(0);
    if (t >= nc * ho * wo) return;
    int j = t % wo, i = (t / wo) % ho, plane = t / (wo * ho);
    __global const float *p = x + xoff + (plane * h + 2 * i) * w + 2 * j;
    int a = uae_argmax2x2(p, w);
    y[yoff + t] = p[(a / 2) * w + a % 2];
}

/* One item per element of dx (N, C, H, W): the first maximum of its window (row-major) gets dy,
 * every other element and the dropped odd row/column get 0. */
__kernel void uae_maxpool2_bwd(__global const float *x, int xoff, __global const float *dy,
                               int dyoff, __global float *dx, int dxoff, int nc, int h, int w) {
    int t = (int)get_global_id(0);
    if (t >= nc * h * w) return;
    int col = t % w, row = (t / w) % h, plane = t / (w * h);
    int ho = h / 2, wo = w / 2, i = row / 2, j = col / 2;
    float out = 0.0f;
    if (i < ho && j < wo) {
        int a = uae_argmax2x2(x + xoff + (plane * h + 2 * i) * w + 2 * j, w);
        if (a == (row - 2 * i) * 2 + (col - 2 * j)) out = dy[dyoff + (plane * ho + i) * wo + j];
    }
    dx[dxoff + t] = out;
}

/* One item per element of y (N, C, 2H, 2W). */
__kernel void uae_upsample2(__global const float *x, int xoff, __global float *y, int yoff, int nc,
                            int h, int w) {
    int t = (int)get_global_id(0);
    if (t >= nc * 4 * h * w) return;
    int col = t % (2 * w), row = (t / (2 * w)) % (2 * h), plane = t / (4 * h * w);
    y[yoff + t] = x[xoff + (plane * h + row / 2) * w + col / 2];
}

/* One item per element of dx (N, C, H, W): the sum of its 2x2 block of dy, in row-major order. */
__kernel void uae_upsample2_bwd(__global const float *dy, int dyoff, __global float *dx, int dxoff,
                                int nc, int h, int w) {
    int t = (int)get_global_id(0);
    if (t >= nc * h * w) return;
    int j = t % w, i = (t / w) % h, plane = t / (w * h);
    __global const float *p = dy + dyoff + (plane * 2 * h + 2 * i) * 2 * w + 2 * j;
    dx[dxoff + t] = p[0] + p[1] + p[2 * w] + p[2 * w + 1];
}

/* Convolution geometry: g = (C, H, W, R), g2 = (S, P, Q, nb), st = (stride_h, stride_w, pad_h,
 * pad_w). nb images are handled at once; their columns sit side by side. */

/* col (C*R*S, nb*P*Q): col[(c*R + r)*S + s, img*P*Q + p*Q + q] = x[img, c, p*sh - ph + r,
 * q*sw - pw + s], 0 in the padding. One item per element of col. */
__kernel void uae_im2col(__global const float *x, int xoff, __global float *col, int4 g, int4 g2,
                         int4 st) {
    int C = g.x, H = g.y, W = g.z, R = g.w, S = g2.x, P = g2.y, Q = g2.z, nb = g2.w;
    int ncols = nb * P * Q;
    int t = (int)get_global_id(0);
    if (t >= C * R * S * ncols) return;
    int cidx = t % ncols, ridx = t / ncols;
    int q = cidx % Q, p = (cidx / Q) % P, img = cidx / (P * Q);
    int s = ridx % S, r = (ridx / S) % R, c = ridx / (R * S);
    int hh = p * st.x - st.z + r, ww = q * st.y - st.w + s;
    bool inside = hh >= 0 && hh < H && ww >= 0 && ww < W;
    col[t] = inside ? x[xoff + ((img * C + c) * H + hh) * W + ww] : 0.0f;
}

/* dx[img, c, h, w] = beta * dx + sum over (r, s) of the col entries that came from (h, w), in
 * (r, s) order; dx is not read when beta == 0. One item per element of dx: no atomics. */
__kernel void uae_col2im(__global const float *col, __global float *dx, int dxoff, int4 g, int4 g2,
                         int4 st, float beta) {
    int C = g.x, H = g.y, W = g.z, R = g.w, S = g2.x, P = g2.y, Q = g2.z, nb = g2.w;
    int ncols = nb * P * Q;
    int t = (int)get_global_id(0);
    if (t >= nb * C * H * W) return;
    int w = t % W, h = (t / W) % H, c = (t / (W * H)) % C, img = t / (W * H * C);
    float sum = 0.0f;
    for (int r = 0; r < R; r++) {
        int hp = h + st.z - r;
        if (hp < 0 || hp % st.x != 0 || hp / st.x >= P) continue;
        for (int s = 0; s < S; s++) {
            int wp = w + st.w - s;
            if (wp < 0 || wp % st.y != 0 || wp / st.y >= Q) continue;
            sum += col[((c * R + r) * S + s) * ncols + img * P * Q + (hp / st.x) * Q + wp / st.y];
        }
    }
    dx[dxoff + t] = beta == 0.0f ? sum : beta * dx[dxoff + t] + sum;
}

/* (nb, K, PQ) -> (K, nb*PQ): dyw[k, img*PQ + i] = dy[img, k, i]. One item per element. */
__kernel void uae_pack_nkq(__global const float *dy, int dyoff, __global float *dyw, int nb, int k,
                           int pq) {
    int t = (int)get_global_id(0);
    if (t >= nb * k * pq) return;
    int i = t % pq, kk = (t / pq) % k, img = t / (pq * k);
    dyw[kk * nb * pq + img * pq + i] = dy[dyoff + t];
}

/* (K, nb*PQ) -> (nb, K, PQ), adding bias[(img / per_set) * K + k] (bias may be NULL; one bias
 * vector per weight set of per_set images). One item per element of y. */
__kernel void uae_unpack_knq(__global const float *tmp, __global const float *bias, int boff,
                             __global float *y, int yoff, int nb, int k, int pq, int per_set) {
    int t = (int)get_global_id(0);
    if (t >= nb * k * pq) return;
    int i = t % pq, kk = (t / pq) % k, img = t / (pq * k);
    float v = tmp[kk * nb * pq + img * pq + i];
    y[yoff + t] = bias ? v + bias[boff + (img / per_set) * k + kk] : v;
}
