/* backends/cpu/ref_pointwise.c — the scalar reference of the elementwise, reduction, optimizer,
 * row-gather and MINE/attack ops: plain loops in the order of the definition in uae/ops.h, sums in
 * double. This is the oracle of the tests; it is written to be obviously right, not fast.
 * Not here: gemm/conv/pool (ref_spatial.c), rng/permutation (ref_rng.c). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_ops.h"
#include "core/pointwise_math.h"

/* Row-major strides of a shape padded to UAE_MAX_DIMS (entries past ndim are 1). */
static void strides4(const int64_t *shape, int64_t *stride) {
    stride[UAE_MAX_DIMS - 1] = 1;
    for (int d = UAE_MAX_DIMS - 2; d >= 0; d--) stride[d] = stride[d + 1] * shape[d + 1];
}

uae_status uae_binary_ref(const uae_op *op) {
    const uae_tensor *ta = op->src[0], *tb = op->src[1];
    const float *a = uae_cpu_data(ta), *b = uae_cpu_data(tb);
    float *dst = uae_cpu_data(op->dst[0]);
    const int64_t *n = ta->shape;
    int64_t sa[4], sb[4];
    strides4(ta->shape, sa);
    strides4(tb->shape, sb);
    /* A broadcast dimension of b (size 1) repeats its one element: stride 0. */
    for (int d = 0; d < 4; d++)
        if (tb->shape[d] == 1) sb[d] = 0;
    for (int64_t i0 = 0; i0 < n[0]; i0++)
        for (int64_t i1 = 0; i1 < n[1]; i1++)
            for (int64_t i2 = 0; i2 < n[2]; i2++)
                for (int64_t i3 = 0; i3 < n[3]; i3++) {
                    int64_t ia = i0 * sa[0] + i1 * sa[1] + i2 * sa[2] + i3 * sa[3];
                    int64_t ib = i0 * sb[0] + i1 * sb[1] + i2 * sb[2] + i3 * sb[3];
                    dst[ia] = uae_binary_f(op->p.binary.fn, a[ia], b[ib]);
                }
    return UAE_OK;
}

uae_status uae_unary_ref(const uae_op *op) {
    const uae_unary_params *u = &op->p.unary;
    const float *x = uae_cpu_data(op->src[0]);
    float *y = uae_cpu_data(op->dst[0]);
    int64_t n = uae_tensor_numel(op->src[0]);
    for (int64_t i = 0; i < n; i++) y[i] = uae_unary_f(u->fn, x[i], u->alpha, u->beta);
    return UAE_OK;
}

uae_status uae_unary_bwd_ref(const uae_op *op) {
    const uae_unary_params *u = &op->p.unary;
    const float *x = uae_cpu_data(op->src[0]), *y = uae_cpu_data(op->src[1]);
    const float *dy = uae_cpu_data(op->src[2]);
    float *dx = uae_cpu_data(op->dst[0]);
    int64_t n = uae_tensor_numel(op->src[0]);
    for (int64_t i = 0; i < n; i++) dx[i] = uae_unary_bwd_f(u->fn, x[i], y[i], dy[i], u->alpha);
    return UAE_OK;
}

/* ---- Reduce ------------------------------------------------------------------------------- */

/* The reduction of one output element: the elements of x whose kept coordinates are those of the
 * output and whose reduced coordinates run over everything, in row-major order. */
typedef struct reduce_view {
    const float *x;
    int64_t shape[4], stride[4];
    unsigned axes;
    int64_t count;      /* elements per output */
} reduce_view;

/* Offset in x of reduced element r (0 <= r < count) of the output whose coordinates are out[]. */
static int64_t reduce_offset(const reduce_view *v, const int64_t *out, int64_t r) {
    int64_t off = 0;
    for (int d = 3; d >= 0; d--) {
        int64_t i = out[d];
        if (v->axes >> d & 1) {
            i = r % v->shape[d];
            r /= v->shape[d];
        }
        off += i * v->stride[d];
    }
    return off;
}

uae_status uae_reduce_ref(const uae_op *op) {
    const uae_tensor *tx = op->src[0];
    reduce_view v = {.x = uae_cpu_data(tx), .axes = op->p.reduce.axes, .count = 1};
    memcpy(v.shape, tx->shape, sizeof v.shape);
    strides4(v.shape, v.stride);
    for (int d = 0; d < 4; d++)
        if (v.axes >> d & 1) v.count *= v.shape[d];
    float *dst = uae_cpu_data(op->dst[0]);
    int64_t nout = uae_tensor_numel(op->dst[0]);
    const int64_t *os = op->dst[0]->shape;
    for (int64_t o = 0; o < nout; o++) {
        int64_t out[4] = {o / (os[1] * os[2] * os[3]), o / (os[2] * os[3]) % os[1],
                          o / os[3] % os[2], o % os[3]};
        float m = v.x[reduce_offset(&v, out, 0)];
        for (int64_t r = 1; r < v.count; r++) m = uae_maxf_nan(m, v.x[reduce_offset(&v, out, r)]);
        double sum = 0.0;
        switch (op->p.reduce.fn) {
        case UAE_REDUCE_SUM:
        case UAE_REDUCE_MEAN:
            for (int64_t r = 0; r < v.count; r++) sum += v.x[reduce_offset(&v, out, r)];
            dst[o] = (float)(op->p.reduce.fn == UAE_REDUCE_SUM ? sum : sum / (double)v.count);
            break;
        case UAE_REDUCE_MAX: dst[o] = m; break;
        case UAE_REDUCE_LSE:
        case UAE_REDUCE_LME:
            /* log sum exp(x) = M + log sum exp(x - M), M = max: no overflow. An infinite or NaN
             * maximum is the answer itself (all -inf gives -inf; any +inf gives +inf). */
            if (!isfinite(m)) {
                dst[o] = m;
                break;
            }
            for (int64_t r = 0; r < v.count; r++) sum += expf(v.x[reduce_offset(&v, out, r)] - m);
            if (op->p.reduce.fn == UAE_REDUCE_LME) sum /= (double)v.count;
            dst[o] = (float)((double)m + log(sum));
            break;
        case UAE_REDUCE_COUNT: break;
        }
    }
    return UAE_OK;
}

/* ---- Softmax ------------------------------------------------------------------------------ */

uae_status uae_softmax_ref(const uae_op *op) {
    const uae_tensor *tx = op->src[0];
    int64_t len = tx->shape[tx->ndim - 1], rows = uae_tensor_numel(tx) / len;
    const float *x = uae_cpu_data(tx);
    float *y = uae_cpu_data(op->dst[0]);
    for (int64_t r = 0; r < rows; r++) {
        const float *xr = x + r * len;
        float *yr = y + r * len;
        float m = xr[0];
        for (int64_t j = 1; j < len; j++) m = uae_maxf_nan(m, xr[j]);
        double sum = 0.0;
        for (int64_t j = 0; j < len; j++) sum += expf(xr[j] - m);
        for (int64_t j = 0; j < len; j++)
            yr[j] = op->p.softmax.log ? (float)((double)(xr[j] - m) - log(sum))
                                      : (float)((double)expf(xr[j] - m) / sum);
    }
    return UAE_OK;
}

/* ---- Fill, clamp, optimizers --------------------------------------------------------------- */

uae_status uae_fill_ref(const uae_op *op) {
    float *y = uae_cpu_data(op->dst[0]);
    int64_t n = uae_tensor_numel(op->dst[0]);
    for (int64_t i = 0; i < n; i++) y[i] = op->p.fill.value;
    return UAE_OK;
}

uae_status uae_clamp_ref(const uae_op *op) {
    const float *x = uae_cpu_data(op->src[0]);
    float *y = uae_cpu_data(op->dst[0]);
    int64_t n = uae_tensor_numel(op->src[0]);
    for (int64_t i = 0; i < n; i++) y[i] = uae_clampf_nan(x[i], op->p.clamp.lo, op->p.clamp.hi);
    return UAE_OK;
}

uae_status uae_optim_ref(const uae_op *op) {
    const uae_optim_params *o = &op->p.optim;
    uae_optim_consts c = uae_optim_consts_of(o);
    const float *g = uae_cpu_data(op->src[0]);
    float *p = uae_cpu_data(op->dst[0]);
    float *s1, *s2;
    uae_cpu_optim_states(op, o, &s1, &s2);
    int64_t n = uae_tensor_numel(op->src[0]);
    for (int64_t i = 0; i < n; i++) uae_cpu_optim_at(o->fn, &c, g[i], p, s1, s2, i);
    return UAE_OK;
}

/* ---- Row gather and scatter ---------------------------------------------------------------- */

uae_status uae_gather_rows_ref(const uae_op *op) {
    const uae_tensor *ts = op->src[0], *ti = op->src[1];
    int64_t nb = ts->shape[0], n = ts->shape[1], d = ts->shape[2], m = ti->shape[1];
    const float *src = uae_cpu_data(ts), *idx = uae_cpu_data(ti);
    float *dst = uae_cpu_data(op->dst[0]);
    /* Validate every index first, so that a bad one leaves dst untouched. */
    for (int64_t k = 0; k < nb * m; k++)
        if (uae_row_index(idx[k], n) < 0)
            return uae_fail(UAE_ERR_INVALID, "gather_rows: idx[%lld, %lld] = %g is not a row "
                            "index in [0, %lld)", (long long)(k / m), (long long)(k % m),
                            (double)idx[k], (long long)n);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t i = 0; i < m; i++) {
            int64_t r = uae_row_index(idx[b * m + i], n);
            for (int64_t j = 0; j < d; j++) dst[(b * m + i) * d + j] = src[(b * n + r) * d + j];
        }
    return UAE_OK;
}

uae_status uae_scatter_rows_ref(const uae_op *op) {
    const uae_tensor *ts = op->src[0], *ti = op->src[1], *td = op->dst[0];
    int64_t nb = td->shape[0], n = td->shape[1], d = td->shape[2], m = ti->shape[1];
    const float *src = uae_cpu_data(ts), *idx = uae_cpu_data(ti);
    float *dst = uae_cpu_data(td);
    /* Validate first: every index in range and distinct within its row of idx. */
    unsigned char *seen = calloc((size_t)n, 1);
    if (!seen) return uae_fail(UAE_ERR_NOMEM, "scatter_rows: out of host memory");
    for (int64_t b = 0; b < nb; b++) {
        memset(seen, 0, (size_t)n);
        for (int64_t i = 0; i < m; i++) {
            int64_t r = uae_row_index(idx[b * m + i], n);
            if (r < 0 || seen[r]) {
                free(seen);
                return uae_fail(UAE_ERR_INVALID, "scatter_rows: idx[%lld, %lld] = %g is %s", (long long)b,
                                (long long)i, (double)idx[b * m + i],
                                r < 0 ? "not a row index of dst" : "repeated in its row");
            }
            seen[r] = 1;
        }
    }
    free(seen);
    for (int64_t b = 0; b < nb; b++)
        for (int64_t i = 0; i < m; i++) {
            int64_t r = uae_row_index(idx[b * m + i], n);
            for (int64_t j = 0; j < d; j++) dst[(b * n + r) * d + j] = src[(b * m + i) * d + j];
        }
    return UAE_OK;
}

/* ---- MINE bounds ---------------------------------------------------------------------------- */

uae_status uae_mine_bound_ref(const uae_op *op) {
    const uae_tensor *tj = op->src[0], *tm = op->src[1];
    int64_t nb = tj->shape[0], n = tj->shape[1], m = tm->shape[1];
    const float *xj = uae_cpu_data(tj), *xm = uae_cpu_data(tm);
    const float *up = op->src[2] ? uae_cpu_data(op->src[2]) : NULL;
    float *bound = uae_cpu_data(op->dst[0]);
    float *gj = op->dst[1] ? uae_cpu_data(op->dst[1]) : NULL;
    float *gm = op->dst[2] ? uae_cpu_data(op->dst[2]) : NULL;
    for (int64_t b = 0; b < nb; b++) {
        const float *j_ = xj + b * n, *m_ = xm + b * m;
        float u = up ? up[b] : 1.0f;
        if (op->p.mine.kind == UAE_MINE_DV) {
            double sj = 0.0;
            for (int64_t i = 0; i < n; i++) sj += j_[i];
            float mx = m_[0];
            for (int64_t k = 1; k < m; k++) mx = uae_maxf_nan(mx, m_[k]);
            double se = 0.0; /* sum exp(tm - M) >= 1: the maximum contributes exp(0) */
            for (int64_t k = 0; k < m; k++) se += expf(m_[k] - mx);
            bound[b] = (float)(sj / (double)n - ((double)mx + log(se / (double)m)));
            if (gj)
                for (int64_t i = 0; i < n; i++) gj[b * n + i] = u / (float)n;
            if (gm)
                for (int64_t k = 0; k < m; k++)
                    gm[b * m + k] = -u * (float)((double)expf(m_[k] - mx) / se);
        } else {
            /* I = mean(-softplus(-tj)) - mean(softplus(tm));
             * d/dt -softplus(-t) = sigmoid(-t),  d/dt softplus(t) = sigmoid(t). */
            double sj = 0.0, sm = 0.0;
            for (int64_t i = 0; i < n; i++) sj -= uae_softplusf(-j_[i]);
            for (int64_t k = 0; k < m; k++) sm += uae_softplusf(m_[k]);
            bound[b] = (float)(sj / (double)n - sm / (double)m);
            if (gj)
                for (int64_t i = 0; i < n; i++)
                    gj[b * n + i] = u * (uae_sigmoidf(-j_[i]) / (float)n);
            if (gm)
                for (int64_t k = 0; k < m; k++)
                    gm[b * m + k] = -u * (uae_sigmoidf(m_[k]) / (float)m);
        }
    }
    return UAE_OK;
}

/* ---- Attack step ----------------------------------------------------------------------------- */

uae_status uae_attack_step_ref(const uae_op *op) {
    const uae_attack_params *a = &op->p.attack;
    int64_t nb = op->src[0]->shape[0], d = op->src[0]->shape[1];
    const float *x = uae_cpu_data(op->src[0]), *g = uae_cpu_data(op->src[1]);
    const float *lr = op->src[2] ? uae_cpu_data(op->src[2]) : NULL;
    float *delta = uae_cpu_data(op->dst[0]);
    float *xadv = op->dst[1] ? uae_cpu_data(op->dst[1]) : NULL;
    for (int64_t b = 0; b < nb; b++)
        for (int64_t i = b * d; i < (b + 1) * d; i++) {
            delta[i] = uae_attack_f(a->sign, lr ? lr[b] : a->lr, a->eps, a->lo, a->hi, x[i], g[i],
                                    delta[i]);
            if (xadv) xadv[i] = x[i] + delta[i];
        }
    return UAE_OK;
}
