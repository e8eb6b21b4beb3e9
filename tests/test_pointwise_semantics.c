/* tests/test_pointwise_semantics.c — checks the pointwise ops of the host backends ("ref" and
 * "cpu") against the definitions in uae/ops.h, recomputed here independently in double precision
 * (naive, unstabilised formulas where double has the range, PyTorch's update rules for the
 * optimizers, central differences for the MINE gradients). test_ops.c compares backends with each
 * other; this test is what makes the reference itself trustworthy. Not gemm/conv/pool/rng. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/ops.h"
#include "tests/test_util.h"

static const char *cur_backend = "";

/* A host array with a shape: the input or output of one op slot. */
typedef struct hbuf {
    int ndim;
    int64_t d[4];
    float *h;
} hbuf;

/* Runs one op on be: writes every slot's host data (destinations too), runs, reads the
 * destinations back into their host arrays. */
static uae_status run_op(uae_backend *be, uae_op_kind kind, uae_op_params p, hbuf *const *src,
                         int nsrc, hbuf *const *dst, int ndst) {
    uae_arena *a;
    UAE_TRY(uae_arena_create(be, 0, &a));
    uae_tensor ts[UAE_OP_MAX_SRC + UAE_OP_MAX_DST];
    uae_op op = {.kind = kind, .p = p};
    uae_status st = UAE_OK;
    for (int i = 0; i < nsrc + ndst && st == UAE_OK; i++) {
        hbuf *b = i < nsrc ? src[i] : dst[i - nsrc];
        if (!b) continue;
        st = uae_arena_tensor(a, b->ndim, b->d, &ts[i]);
        if (st == UAE_OK) st = uae_tensor_write(&ts[i], b->h);
        if (i < nsrc) op.src[i] = &ts[i];
        else op.dst[i - nsrc] = &ts[i];
    }
    if (st == UAE_OK) st = uae_op_run(&op);
    for (int i = 0; i < ndst && st == UAE_OK; i++)
        if (dst[i]) st = uae_tensor_read(&ts[nsrc + i], dst[i]->h);
    uae_arena_free(a);
    return st;
}

/* got must equal want within abs_tol + rel_tol * |want|; NaN must match NaN, Inf the same Inf. */
static void check_close(const char *what, int64_t i, float got, double want, double rel_tol,
                        double abs_tol) {
    bool ok;
    if (isnan(want)) ok = isnan(got);
    else if (isinf(want) || isinf((double)(float)want)) ok = got == (float)want;
    else ok = fabs((double)got - want) <= abs_tol + rel_tol * fabs(want);
    if (!ok) {
        fprintf(stderr, "%s: %s[%lld] = %.9g, expected %.9g\n", cur_backend, what, (long long)i,
                (double)got, want);
        failures++;
    }
}

static void check_status(const char *what, uae_status st) {
    if (st != UAE_OK) {
        fprintf(stderr, "%s: %s: %s\n", cur_backend, what, uae_last_error());
        failures++;
    }
}

static uint64_t rng_state = 12345;
static float urand(float lo, float hi) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return lo + (hi - lo) * (float)(rng_state >> 40) * 0x1p-24f;
}

/* ---- unary and its derivative ------------------------------------------------------------- */

static double sigmoid_d(double x) { return 1.0 / (1.0 + exp(-x)); }

static double unary_d(uae_unary_fn fn, double x, double al, double be) {
    switch (fn) {
    case UAE_UNARY_RELU: return isnan(x) ? x : x > 0 ? x : 0.0;
    case UAE_UNARY_LEAKY: return x > 0 ? x : al * x;
    case UAE_UNARY_SIGMOID: return sigmoid_d(x);
    case UAE_UNARY_TANH: return tanh(x);
    case UAE_UNARY_SOFTPLUS: return x > 700 ? x : log1p(exp(x));
    case UAE_UNARY_EXP: return exp(x);
    case UAE_UNARY_LOG: return log(x);
    case UAE_UNARY_SQUARE: return x * x;
    case UAE_UNARY_SQRT: return sqrt(x);
    case UAE_UNARY_ABS: return fabs(x);
    case UAE_UNARY_AFFINE: return al * x + be;
    case UAE_UNARY_STEP: return x > al ? 1.0 : 0.0;
    case UAE_UNARY_RECIP: return 1.0 / x;
    default: return NAN;
    }
}

static double unary_deriv_d(uae_unary_fn fn, double x, double al) {
    switch (fn) {
    case UAE_UNARY_RELU: return x > 0 ? 1.0 : 0.0;
    case UAE_UNARY_LEAKY: return x > 0 ? 1.0 : al;
    case UAE_UNARY_SIGMOID: return sigmoid_d(x) * (1.0 - sigmoid_d(x));
    case UAE_UNARY_TANH: return 1.0 - tanh(x) * tanh(x);
    case UAE_UNARY_SOFTPLUS: return sigmoid_d(x);
    case UAE_UNARY_EXP: return exp(x);
    case UAE_UNARY_LOG: return 1.0 / x;
    case UAE_UNARY_SQUARE: return 2.0 * x;
    case UAE_UNARY_SQRT: return 0.5 / sqrt(x);
    case UAE_UNARY_ABS: return x > 0 ? 1.0 : x < 0 ? -1.0 : 0.0;
    case UAE_UNARY_AFFINE: return al;
    case UAE_UNARY_STEP: return 0.0;
    case UAE_UNARY_RECIP: return -1.0 / (x * x);
    default: return NAN;
    }
}

static void test_unary(uae_backend *be) {
    static const float xs[] = {-100.0f, -20.0f, -3.0f, -0.5f, -0.0f, 0.0f, 0.25f, 0.5f, 3.0f,
                               20.0f, 100.0f, NAN, INFINITY, -INFINITY};
    enum { N = sizeof xs / sizeof xs[0] };
    const float al = 0.1f, bt = -1.0f;
    for (int fn = 0; fn < UAE_UNARY_COUNT; fn++) {
        float x[N], y[N];
        memcpy(x, xs, sizeof x);
        hbuf hx = {1, {N}, x}, hy = {1, {N}, y};
        uae_op_params p = {.unary = {(uae_unary_fn)fn, al, bt}};
        check_status("unary", run_op(be, UAE_OP_UNARY, p, (hbuf *[]){&hx}, 1, (hbuf *[]){&hy}, 1));
        char what[32];
        snprintf(what, sizeof what, "unary fn %d", fn);
        /* expf/logf/tanhf are within a few ulp; denormal results (sigmoid(-100)) are absolute. */
        for (int i = 0; i < N; i++)
            check_close(what, i, y[i], unary_d((uae_unary_fn)fn, x[i], al, bt), 1e-6, 1e-37);

        /* Derivatives at points away from kinks, with y = f(x) from the forward op. */
        static const float xb[] = {-3.0f, -0.5f, 0.25f, 0.5f, 3.0f};
        enum { NB = sizeof xb / sizeof xb[0] };
        float bx[NB], by[NB], dy[NB], dx[NB];
        memcpy(bx, xb, sizeof bx);
        for (int i = 0; i < NB; i++) dy[i] = 1.5f;
        hbuf hbx = {1, {NB}, bx}, hby = {1, {NB}, by}, hdy = {1, {NB}, dy}, hdx = {1, {NB}, dx};
        check_status("unary", run_op(be, UAE_OP_UNARY, p, (hbuf *[]){&hbx}, 1, (hbuf *[]){&hby}, 1));
        check_status("unary_bwd", run_op(be, UAE_OP_UNARY_BWD, p, (hbuf *[]){&hbx, &hby, &hdy}, 3,
                                         (hbuf *[]){&hdx}, 1));
        snprintf(what, sizeof what, "unary_bwd fn %d", fn);
        for (int i = 0; i < NB; i++)
            check_close(what, i, dx[i], 1.5 * unary_deriv_d((uae_unary_fn)fn, bx[i], al), 1e-5,
                        1e-30);

        /* At the kinks (x = +0 and -0), the documented one-sided values (uae/op_enums.h: relu'(0)
         * = 0, abs'(0) = 0, leaky'(0) = alpha from "x > 0 ? x : alpha*x"), to float rounding. Every backend computes them from the same
         * shared formula (core/pointwise_math.h), so only a check against the definition sees a
         * wrong convention there. */
        if (fn != UAE_UNARY_RELU && fn != UAE_UNARY_LEAKY && fn != UAE_UNARY_ABS) continue;
        float kx[2] = {0.0f, -0.0f}, ky[2], kdy[2] = {1.5f, 1.5f}, kdx[2];
        hbuf hkx = {1, {2}, kx}, hky = {1, {2}, ky}, hkdy = {1, {2}, kdy}, hkdx = {1, {2}, kdx};
        check_status("unary", run_op(be, UAE_OP_UNARY, p, (hbuf *[]){&hkx}, 1, (hbuf *[]){&hky}, 1));
        check_status("unary_bwd", run_op(be, UAE_OP_UNARY_BWD, p, (hbuf *[]){&hkx, &hky, &hkdy}, 3,
                                         (hbuf *[]){&hkdx}, 1));
        snprintf(what, sizeof what, "unary_bwd fn %d at 0", fn);
        for (int i = 0; i < 2; i++)
            check_close(what, i, kdx[i], 1.5 * unary_deriv_d((uae_unary_fn)fn, kx[i], al), 1e-6, 0);
    }
}

/* ---- binary with broadcasting, clamp ------------------------------------------------------- */

static void test_binary_clamp(uae_backend *be) {
    float a[6] = {1, 2, 3, 4, 5, 6}, b[3] = {10, 20, 30}, y[6];
    hbuf ha = {2, {2, 3}, a}, hb = {2, {1, 3}, b}, hy = {2, {2, 3}, y};
    check_status("binary", run_op(be, UAE_OP_BINARY, (uae_op_params){.binary = {UAE_BINARY_SUB}},
                                  (hbuf *[]){&ha, &hb}, 2, (hbuf *[]){&hy}, 1));
    for (int i = 0; i < 6; i++) check_close("binary sub (2,3)-(1,3)", i, y[i], a[i] - b[i % 3], 0, 0);
    float c[2] = {2, 4};
    hbuf hc = {2, {2, 1}, c};
    check_status("binary", run_op(be, UAE_OP_BINARY, (uae_op_params){.binary = {UAE_BINARY_DIV}},
                                  (hbuf *[]){&ha, &hc}, 2, (hbuf *[]){&hy}, 1));
    for (int i = 0; i < 6; i++)
        check_close("binary div (2,3)/(2,1)", i, y[i], (double)a[i] / c[i / 3], 1e-7, 0);

    float p[4] = {NAN, 1.0f, 1.0f, -0.0f}, q[4] = {1.0f, NAN, 0.0f, 0.0f}, r[4];
    hbuf hp = {1, {4}, p}, hq = {1, {4}, q}, hr = {1, {4}, r};
    const double want[3][4] = {{NAN, NAN, 1.0, 0.0}, {NAN, NAN, 0.0, -0.0}, {NAN, NAN, INFINITY, NAN}};
    const uae_binary_fn fns[3] = {UAE_BINARY_MAX, UAE_BINARY_MIN, UAE_BINARY_DIV};
    for (int f = 0; f < 3; f++) {
        check_status("binary", run_op(be, UAE_OP_BINARY, (uae_op_params){.binary = {fns[f]}},
                                      (hbuf *[]){&hp, &hq}, 2, (hbuf *[]){&hr}, 1));
        for (int i = 0; i < 4; i++) check_close("binary max/min/div NaN", i, r[i], want[f][i], 0, 0);
    }
    float x[4] = {NAN, -2.0f, 0.5f, INFINITY}, z[4];
    hbuf hx = {1, {4}, x}, hz = {1, {4}, z};
    check_status("clamp", run_op(be, UAE_OP_CLAMP, (uae_op_params){.clamp = {0.0f, 1.0f}},
                                 (hbuf *[]){&hx}, 1, (hbuf *[]){&hz}, 1));
    const double wz[4] = {NAN, 0.0, 0.5, 1.0};
    for (int i = 0; i < 4; i++) check_close("clamp", i, z[i], wz[i], 0, 0);
}

/* ---- reduce and softmax --------------------------------------------------------------------- */

static void test_reduce(uae_backend *be) {
    enum { A = 3, B = 4, C = 1100 }; /* C > 1024: several partial sums per output on "cpu" */
    static float x[A * B * C];
    for (int i = 0; i < A * B * C; i++) x[i] = urand(-30.0f, 30.0f);
    for (unsigned axes = 1; axes < 8; axes++)
        for (int fn = 0; fn < UAE_REDUCE_COUNT; fn++) {
            int64_t dims[3] = {axes & 1 ? 1 : A, axes & 2 ? 1 : B, axes & 4 ? 1 : C};
            int64_t nout = dims[0] * dims[1] * dims[2], count = A * B * C / nout;
            static float y[A * B * C];
            static double sum[A * B * C], sabs[A * B * C], mx[A * B * C], se[A * B * C];
            hbuf hx = {3, {A, B, C}, x}, hy = {3, {dims[0], dims[1], dims[2]}, y};
            check_status("reduce", run_op(be, UAE_OP_REDUCE,
                                          (uae_op_params){.reduce = {(uae_reduce_fn)fn, axes}},
                                          (hbuf *[]){&hx}, 1, (hbuf *[]){&hy}, 1));
            for (int64_t o = 0; o < nout; o++) sum[o] = sabs[o] = se[o] = 0.0, mx[o] = -INFINITY;
            /* Brute force: every element adds into the output with its reduced coordinates 0. */
            for (int i = 0; i < A; i++)
                for (int j = 0; j < B; j++)
                    for (int k = 0; k < C; k++) {
                        int64_t o = ((axes & 1 ? 0 : i) * dims[1] + (axes & 2 ? 0 : j)) * dims[2] +
                                    (axes & 4 ? 0 : k);
                        double v = x[(i * B + j) * C + k];
                        sum[o] += v;
                        sabs[o] += fabs(v);
                        se[o] += exp(v);
                        if (v > mx[o]) mx[o] = v;
                    }
            char what[32];
            snprintf(what, sizeof what, "reduce fn %d axes %u", fn, axes);
            for (int64_t o = 0; o < nout; o++) {
                switch ((uae_reduce_fn)fn) {
                case UAE_REDUCE_SUM: check_close(what, o, y[o], sum[o], 0, 1e-6 * sabs[o]); break;
                case UAE_REDUCE_MEAN:
                    check_close(what, o, y[o], sum[o] / count, 0, 1e-6 * sabs[o] / count);
                    break;
                case UAE_REDUCE_MAX: check_close(what, o, y[o], mx[o], 0, 0); break;
                case UAE_REDUCE_LSE: check_close(what, o, y[o], log(se[o]), 1e-6, 1e-6); break;
                case UAE_REDUCE_LME:
                    check_close(what, o, y[o], log(se[o] / count), 1e-6, 1e-6);
                    break;
                default: break;
                }
            }
        }
    /* NaN wins the maximum; log-sum-exp of -inf and of +inf. */
    float v[6] = {1.0f, NAN, 3.0f, -INFINITY, -INFINITY, -INFINITY}, m[2];
    hbuf hv = {2, {2, 3}, v}, hm = {2, {2, 1}, m};
    check_status("reduce", run_op(be, UAE_OP_REDUCE, (uae_op_params){.reduce = {UAE_REDUCE_MAX, 2}},
                                  (hbuf *[]){&hv}, 1, (hbuf *[]){&hm}, 1));
    check_close("reduce max NaN", 0, m[0], NAN, 0, 0);
    check_close("reduce max -inf", 1, m[1], -INFINITY, 0, 0);
    check_status("reduce", run_op(be, UAE_OP_REDUCE, (uae_op_params){.reduce = {UAE_REDUCE_LSE, 2}},
                                  (hbuf *[]){&hv}, 1, (hbuf *[]){&hm}, 1));
    check_close("reduce lse all -inf", 1, m[1], -INFINITY, 0, 0);
}

static void test_softmax(uae_backend *be) {
    enum { R = 4, L = 7 };
    float x[R * L], y[R * L];
    for (int i = 0; i < R * L; i++) x[i] = urand(-20.0f, 20.0f);
    x[L] = 1000.0f; /* exp(1000) overflows: the max must be subtracted first */
    x[2 * L + 3] = -INFINITY; /* a masked entry */
    for (int lg = 0; lg < 2; lg++) {
        hbuf hx = {2, {R, L}, x}, hy = {2, {R, L}, y};
        check_status("softmax", run_op(be, UAE_OP_SOFTMAX, (uae_op_params){.softmax = {lg}},
                                       (hbuf *[]){&hx}, 1, (hbuf *[]){&hy}, 1));
        for (int r = 0; r < R; r++) {
            double m = -INFINITY, s = 0.0;
            for (int j = 0; j < L; j++) m = fmax(m, x[r * L + j]);
            for (int j = 0; j < L; j++) s += exp(x[r * L + j] - m);
            for (int j = 0; j < L; j++) {
                double p = exp(x[r * L + j] - m) / s, lp = x[r * L + j] - m - log(s);
                check_close(lg ? "log_softmax" : "softmax", r * L + j, y[r * L + j], lg ? lp : p,
                            1e-6, 1e-7);
            }
        }
    }
}

/* ---- optimizers: three steps against PyTorch's algorithms, in double ----------------------- */

static void test_optim(uae_backend *be) {
    enum { N = 5, STEPS = 3 };
    const uae_optim_params cfg[] = {
        {.fn = UAE_OPTIM_SGD, .lr = 0.1f, .weight_decay = 0.01f},
        {.fn = UAE_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f},
        {.fn = UAE_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f, .nesterov = true},
        {.fn = UAE_OPTIM_ADAM, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f},
        {.fn = UAE_OPTIM_RMSPROP, .lr = 0.01f, .rho = 0.99f, .eps = 1e-8f},
        {.fn = UAE_OPTIM_ADADELTA, .lr = 1.0f, .rho = 0.9f, .eps = 1e-6f},
    };
    for (size_t c = 0; c < sizeof cfg / sizeof cfg[0]; c++) {
        float p[N], s1[N] = {0}, s2[N] = {0}, g[N];
        double dp[N], d1[N] = {0}, d2[N] = {0};
        for (int i = 0; i < N; i++) dp[i] = p[i] = urand(-1.0f, 1.0f);
        for (int t = 1; t <= STEPS; t++) {
            uae_optim_params o = cfg[c];
            o.step = t;
            for (int i = 0; i < N; i++) g[i] = urand(-1.0f, 1.0f);
            hbuf hg = {1, {N}, g}, hp = {1, {N}, p}, h1 = {1, {N}, s1}, h2 = {1, {N}, s2};
            bool has1 = o.fn != UAE_OPTIM_SGD || o.momentum != 0.0f;
            bool has2 = o.fn == UAE_OPTIM_ADAM || o.fn == UAE_OPTIM_ADADELTA;
            check_status("optim", run_op(be, UAE_OP_OPTIM, (uae_op_params){.optim = o},
                                         (hbuf *[]){&hg}, 1,
                                         (hbuf *[]){&hp, has1 ? &h1 : NULL, has2 ? &h2 : NULL}, 3));
            for (int i = 0; i < N; i++) {
                double gi = g[i];
                switch (o.fn) { /* torch.optim's update rules, written as in its documentation */
                case UAE_OPTIM_SGD: {
                    double d = gi + (double)o.weight_decay * dp[i];
                    if (o.momentum != 0.0f) {
                        d1[i] = t == 1 ? d : o.momentum * d1[i] + d;
                        d = o.nesterov ? d + o.momentum * d1[i] : d1[i];
                    }
                    dp[i] -= o.lr * d;
                    break;
                }
                case UAE_OPTIM_ADAM: {
                    d1[i] = o.beta1 * d1[i] + (1 - (double)o.beta1) * gi;
                    d2[i] = o.beta2 * d2[i] + (1 - (double)o.beta2) * gi * gi;
                    double bc1 = 1 - pow(o.beta1, t), bc2 = 1 - pow(o.beta2, t);
                    double denom = sqrt(d2[i]) / sqrt(bc2) + o.eps;
                    dp[i] -= o.lr / bc1 * d1[i] / denom;
                    break;
                }
                case UAE_OPTIM_RMSPROP:
                    d1[i] = o.rho * d1[i] + (1 - (double)o.rho) * gi * gi;
                    dp[i] -= o.lr * gi / (sqrt(d1[i]) + o.eps);
                    break;
                case UAE_OPTIM_ADADELTA: {
                    d1[i] = o.rho * d1[i] + (1 - (double)o.rho) * gi * gi;
                    double delta = sqrt(d2[i] + o.eps) / sqrt(d1[i] + o.eps) * gi;
                    d2[i] = o.rho * d2[i] + (1 - (double)o.rho) * delta * delta;
                    dp[i] -= o.lr * delta;
                    break;
                }
                default: break;
                }
            }
        }
        char what[32];
        snprintf(what, sizeof what, "optim config %zu", c);
        for (int i = 0; i < N; i++) check_close(what, i, p[i], dp[i], 1e-5, 1e-6);
    }
}

/* ---- MINE bounds: values by the unstabilised definition, gradients by central differences --- */

static double mine_def(uae_mine_kind kind, const double *tj, int n, const double *tm, int m) {
    double a = 0.0, b = 0.0;
    if (kind == UAE_MINE_DV) {
        for (int i = 0; i < n; i++) a += tj[i];
        for (int k = 0; k < m; k++) b += exp(tm[k]);
        return a / n - log(b / m);
    }
    for (int i = 0; i < n; i++) a += -log1p(exp(-tj[i]));
    for (int k = 0; k < m; k++) b += log1p(exp(tm[k]));
    return a / n - b / m;
}

static void test_mine(uae_backend *be) {
    enum { B = 2, NJ = 5, NM = 7 };
    for (int kind = 0; kind < UAE_MINE_COUNT; kind++) {
        float tj[B * NJ], tm[B * NM], up[B] = {1.0f, -2.0f}, bound[B], gj[B * NJ], gm[B * NM];
        for (int i = 0; i < B * NJ; i++) tj[i] = urand(-3.0f, 3.0f);
        for (int i = 0; i < B * NM; i++) tm[i] = urand(-3.0f, 3.0f);
        if (kind == UAE_MINE_DV) tm[NM] = 80.0f; /* exp(80) overflows float: needs the max shift */
        hbuf hj = {2, {B, NJ}, tj}, hm = {2, {B, NM}, tm}, hu = {1, {B}, up}, hb = {1, {B}, bound},
             hgj = {2, {B, NJ}, gj}, hgm = {2, {B, NM}, gm};
        check_status("mine_bound",
                     run_op(be, UAE_OP_MINE_BOUND, (uae_op_params){.mine = {(uae_mine_kind)kind}},
                            (hbuf *[]){&hj, &hm, &hu}, 3, (hbuf *[]){&hb, &hgj, &hgm}, 3));
        for (int b = 0; b < B; b++) {
            double dj[NJ], dm[NM];
            for (int i = 0; i < NJ; i++) dj[i] = tj[b * NJ + i];
            for (int k = 0; k < NM; k++) dm[k] = tm[b * NM + k];
            const char *name = kind == UAE_MINE_DV ? "mine dv" : "mine js";
            check_close(name, b, bound[b], mine_def(kind, dj, NJ, dm, NM), 1e-6, 1e-6);
            const double h = 1e-5; /* central differences in double: error ~h^2, far below 1e-6 */
            for (int i = 0; i < NJ + NM; i++) {
                double *t = i < NJ ? &dj[i] : &dm[i - NJ], t0 = *t;
                *t = t0 + h;
                double fp = mine_def(kind, dj, NJ, dm, NM);
                *t = t0 - h;
                double fm = mine_def(kind, dj, NJ, dm, NM);
                *t = t0;
                double want = up[b] * (fp - fm) / (2 * h);
                float got = i < NJ ? gj[b * NJ + i] : gm[b * NM + i - NJ];
                check_close(i < NJ ? "mine d t_joint" : "mine d t_marg", b * 100 + i, got, want,
                            1e-4, 1e-6);
            }
        }
    }
}

/* ---- attack step, gather and scatter: small examples worked by hand ------------------------ */

static void test_attack_rows(uae_backend *be) {
    float x[4] = {0.05f, 0.5f, 0.95f, 0.5f}, g[4] = {1, -1, -2, 0}, d[4] = {0, 0, 0.08f, 0.2f};
    float xa[4];
    hbuf hx = {2, {1, 4}, x}, hg = {2, {1, 4}, g}, hd = {2, {1, 4}, d}, ha = {2, {1, 4}, xa};
    uae_op_params p = {.attack = {.lr = 0.05f, .eps = 0.1f, .lo = 0.0f, .hi = 1.0f, .sign = true}};
    check_status("attack_step", run_op(be, UAE_OP_ATTACK_STEP, p, (hbuf *[]){&hx, &hg}, 2,
                                       (hbuf *[]){&hd, &ha}, 2));
    /* 0 - 0.05 = -0.05 (x + delta = 0); +0.05; 0.13 -> eps 0.1 -> hi - x = 0.05; sign(0) = 0:
     * 0.2 -> 0.1. */
    const double wd[4] = {-0.05, 0.05, 0.05, 0.1};
    for (int i = 0; i < 4; i++) {
        check_close("attack delta", i, d[i], wd[i], 1e-6, 1e-7);
        check_close("attack x_adv", i, xa[i], (float)(x[i] + d[i]), 0, 0);
    }
    /* Gradient (not sign) steps with a per-sample lr. */
    float lr[2] = {0.1f, 1.0f}, g2[4] = {0.5f, -0.5f, 0.5f, -0.05f}, d2[4] = {0, 0, 0, 0};
    hbuf hl = {1, {2}, lr}, hg2 = {2, {2, 2}, g2}, hd2 = {2, {2, 2}, d2}, hx2 = {2, {2, 2}, x};
    p.attack.sign = false;
    check_status("attack_step", run_op(be, UAE_OP_ATTACK_STEP, p, (hbuf *[]){&hx2, &hg2, &hl}, 3,
                                       (hbuf *[]){&hd2}, 1));
    const double wd2[4] = {-0.05, 0.05, -0.1, 0.05};
    for (int i = 0; i < 4; i++) check_close("attack lr delta", i, d2[i], wd2[i], 1e-6, 1e-7);

    float src[8] = {0, 1, 2, 3, 4, 5, 6, 7}, idx[2] = {3, 0}, out[4];
    hbuf hs = {3, {1, 4, 2}, src}, hi = {2, {1, 2}, idx}, ho = {3, {1, 2, 2}, out};
    check_status("gather_rows", run_op(be, UAE_OP_GATHER_ROWS, (uae_op_params){0},
                                       (hbuf *[]){&hs, &hi}, 2, (hbuf *[]){&ho}, 1));
    const double wg[4] = {6, 7, 0, 1};
    for (int i = 0; i < 4; i++) check_close("gather_rows", i, out[i], wg[i], 0, 0);
    float s2[4] = {10, 11, 12, 13}, i2[2] = {2, 0}, o2[6] = {-1, -1, -1, -1, -1, -1};
    hbuf hs2 = {3, {1, 2, 2}, s2}, hi2 = {2, {1, 2}, i2}, ho2 = {3, {1, 3, 2}, o2};
    check_status("scatter_rows", run_op(be, UAE_OP_SCATTER_ROWS, (uae_op_params){0},
                                        (hbuf *[]){&hs2, &hi2}, 2, (hbuf *[]){&ho2}, 1));
    const double ws[6] = {12, 13, -1, -1, 10, 11};
    for (int i = 0; i < 6; i++) check_close("scatter_rows", i, o2[i], ws[i], 0, 0);
}

int main(void) {
    FOR_EACH_DEVICE(dev, TEST_REF | TEST_CPU) {
        uae_backend *be;
        TRY(uae_backend_open(dev->info.backend, &be));
        cur_backend = dev->info.backend;
        int before = failures;
        test_unary(be);
        test_binary_clamp(be);
        test_reduce(be);
        test_softmax(be);
        test_optim(be);
        test_mine(be);
        test_attack_rows(be);
        printf("%s: %d failure(s)\n", cur_backend, failures - before);
        uae_backend_free(be);
    }
    return failures ? 1 : 0;
}
