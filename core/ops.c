/* core/ops.c — op names, shape checks, normalisation, dispatch to the backend, and the host
 * fallback. What each op computes is defined in uae/ops.h and implemented in backends/; this file
 * only decides whether an op is well-formed, what its defaults mean, and who runs it. */
#include "uae/ops.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "backend_impl.h"

static const char *const op_names[] = {
    "gemm",      "conv2d",      "conv2d_bwd_data", "conv2d_bwd_weight", "maxpool2",
    "maxpool2_bwd", "upsample2", "upsample2_bwd",   "binary",            "unary",
    "unary_bwd", "reduce",      "softmax",         "fill",              "clamp",
    "optim",     "rng",         "permutation",     "gather_rows",       "scatter_rows",
    "mine_bound", "attack_step", "gemm_optim",
};
_Static_assert(sizeof op_names / sizeof op_names[0] == UAE_OP_COUNT, "one name per op");

const char *uae_op_name(uae_op_kind kind) {
    return (unsigned)kind < UAE_OP_COUNT ? op_names[kind] : "(unknown op)";
}

/* ---- Shape checks -------------------------------------------------------------------------- */

#define SHAPE_ERR(op, ...) uae_fail_context(uae_fail(UAE_ERR_SHAPE, __VA_ARGS__), "%s", uae_op_name((op)->kind))

static const char *sh(const uae_tensor *t, char *buf) {
    return t ? uae_tensor_shape_str(t, buf, 64) : "(null)";
}

/* Requires tensor `t` (named `what`) to exist and have exactly ndim dimensions. */
static uae_status need(const uae_op *op, const uae_tensor *t, const char *what, int ndim) {
    if (!t) return SHAPE_ERR(op, "%s is missing", what);
    if (ndim && t->ndim != ndim) {
        char b[64];
        return SHAPE_ERR(op, "%s has shape %s, expected %d dimensions", what, sh(t, b), ndim);
    }
    return UAE_OK;
}

static uae_status need_numel(const uae_op *op, const uae_tensor *t, const char *what, int64_t n) {
    if (!t) return SHAPE_ERR(op, "%s is missing", what);
    if (uae_tensor_numel(t) != n) {
        char b[64];
        return SHAPE_ERR(op, "%s has shape %s (%lld elements), expected %lld elements", what,
                         sh(t, b), (long long)uae_tensor_numel(t), (long long)n);
    }
    return UAE_OK;
}

static uae_status need_shape(const uae_op *op, const uae_tensor *t, const char *what,
                             const uae_tensor *like) {
    if (!t) return SHAPE_ERR(op, "%s is missing", what);
    if (!uae_tensor_same_shape(t, like)) {
        char a[64], b[64];
        return SHAPE_ERR(op, "%s has shape %s, expected %s", what, sh(t, a), sh(like, b));
    }
    return UAE_OK;
}

static uae_status need_dims(const uae_op *op, const uae_tensor *t, const char *what, int ndim,
                            const int64_t *dims) {
    UAE_TRY(need(op, t, what, ndim));
    for (int d = 0; d < ndim; d++)
        if (t->shape[d] != dims[d]) {
            uae_tensor want = *t;
            for (int e = 0; e < ndim; e++) want.shape[e] = dims[e];
            char a[64], b[64];
            return SHAPE_ERR(op, "%s has shape %s, expected %s", what, sh(t, a), sh(&want, b));
        }
    return UAE_OK;
}

/* The GEMM's parameters with every "0 = tight" leading dimension and batch stride replaced by its
 * value: the one place that decodes those defaults. op(A) is (m, k), so A itself is (m, k), or
 * (k, m) when transposed; likewise B. */
static uae_gemm_params gemm_explicit(const uae_gemm_params *g) {
    uae_gemm_params e = *g;
    int64_t ar = g->trans_a ? g->k : g->m, ac = g->trans_a ? g->m : g->k;
    int64_t br = g->trans_b ? g->n : g->k, bc = g->trans_b ? g->k : g->n;
    if (!e.lda) e.lda = ac;
    if (!e.ldb) e.ldb = bc;
    if (!e.ldc) e.ldc = g->n;
    if (!e.stride_a) e.stride_a = ar * e.lda;
    if (!e.stride_b) e.stride_b = br * e.ldb;
    if (!e.stride_c) e.stride_c = g->m * e.ldc;
    return e;
}

/* The product's sizes against src0 A, src1 B and dst0 C (for GEMM_OPTIM, the parameters). */
static uae_status check_gemm(const uae_op *op, const uae_gemm_params *params) {
    const uae_gemm_params e = gemm_explicit(params), *g = &e;
    if (g->m < 1 || g->n < 1 || g->k < 1 || g->batch < 1)
        return SHAPE_ERR(op, "m=%lld n=%lld k=%lld batch=%lld, expected all >= 1", (long long)g->m,
                         (long long)g->n, (long long)g->k, (long long)g->batch);
    int64_t ar = g->trans_a ? g->k : g->m, ac = g->trans_a ? g->m : g->k;
    int64_t br = g->trans_b ? g->n : g->k, bc = g->trans_b ? g->k : g->n;
    int64_t lda = g->lda, ldb = g->ldb, ldc = g->ldc;
    if (lda < ac || ldb < bc || ldc < g->n)
        return SHAPE_ERR(op, "leading dimensions lda=%lld ldb=%lld ldc=%lld below the row lengths "
                         "%lld, %lld, %lld", (long long)lda, (long long)ldb, (long long)ldc,
                         (long long)ac, (long long)bc, (long long)g->n);
    int64_t sa = g->stride_a, sb = g->stride_b, sc = g->stride_c;
    const char *names[3] = {"A", "B", "C"};
    const uae_tensor *ts[3] = {op->src[0], op->src[1], op->dst[0]};
    int64_t need_n[3] = {(g->batch - 1) * sa + (ar - 1) * lda + ac,
                         (g->batch - 1) * sb + (br - 1) * ldb + bc,
                         (g->batch - 1) * sc + (g->m - 1) * ldc + g->n};
    for (int i = 0; i < 3; i++) {
        if (!ts[i]) return SHAPE_ERR(op, "%s is missing", names[i]);
        if (uae_tensor_numel(ts[i]) < need_n[i]) {
            char b[64];
            return SHAPE_ERR(op, "%s has shape %s (%lld elements); m=%lld n=%lld k=%lld batch=%lld "
                             "need %lld", names[i], sh(ts[i], b), (long long)uae_tensor_numel(ts[i]),
                             (long long)g->m, (long long)g->n, (long long)g->k,
                             (long long)g->batch, (long long)need_n[i]);
        }
    }
    return UAE_OK;
}

/* Output size of a convolution along one axis, or -1 if it does not fit. */
static int64_t conv_out(int64_t in, int64_t k, int pad, int stride) {
    int64_t span = in + 2 * (int64_t)pad - k;
    return span < 0 ? -1 : span / stride + 1;
}

static uae_status check_conv(const uae_op *op) {
    const uae_conv_params *c = &op->p.conv;
    if (c->stride_h < 1 || c->stride_w < 1 || c->pad_h < 0 || c->pad_w < 0 || c->wsets < 1)
        return SHAPE_ERR(op, "stride %dx%d pad %dx%d wsets %d: expected stride >= 1, pad >= 0, "
                         "wsets >= 1", c->stride_h, c->stride_w, c->pad_h, c->pad_w, c->wsets);
    const uae_tensor *x, *w, *y;
    if (op->kind == UAE_OP_CONV2D) { x = op->src[0]; w = op->src[1]; y = op->dst[0]; }
    else if (op->kind == UAE_OP_CONV2D_BWD_DATA) { y = op->src[0]; w = op->src[1]; x = op->dst[0]; }
    else { x = op->src[0]; y = op->src[1]; w = op->dst[0]; }
    UAE_TRY(need(op, x, "x", 4));
    UAE_TRY(need(op, w, "w", 4));
    UAE_TRY(need(op, y, "y", 4));
    int64_t n = x->shape[0], ch = x->shape[1], g = c->wsets;
    if (w->shape[0] % g || n % g)
        return SHAPE_ERR(op, "%lld filters and %lld images do not split into %lld weight sets",
                         (long long)w->shape[0], (long long)n, (long long)g);
    int64_t k = w->shape[0] / g;
    int64_t p = conv_out(x->shape[2], w->shape[2], c->pad_h, c->stride_h);
    int64_t q = conv_out(x->shape[3], w->shape[3], c->pad_w, c->stride_w);
    if (w->shape[1] != ch) {
        char a[64], b[64];
        return SHAPE_ERR(op, "w %s has %lld input channels, x %s has %lld", sh(w, a),
                         (long long)w->shape[1], sh(x, b), (long long)ch);
    }
    if (p < 1 || q < 1) return SHAPE_ERR(op, "the filter does not fit the padded input");
    UAE_TRY(need_dims(op, y, "y", 4, (int64_t[]){n, k, p, q}));
    const uae_tensor *bias = op->kind == UAE_OP_CONV2D ? op->src[2]
                             : op->kind == UAE_OP_CONV2D_BWD_WEIGHT ? op->dst[1] : NULL;
    if (bias) UAE_TRY(need_numel(op, bias, "bias", w->shape[0]));
    return UAE_OK;
}

static uae_status check_pool(const uae_op *op) {
    bool up = op->kind == UAE_OP_UPSAMPLE2 || op->kind == UAE_OP_UPSAMPLE2_BWD;
    bool bwd = op->kind == UAE_OP_MAXPOOL2_BWD || op->kind == UAE_OP_UPSAMPLE2_BWD;
    /* big: the (N, C, H, W) side; small: the halved side. */
    const uae_tensor *big, *small;
    if (op->kind == UAE_OP_MAXPOOL2) { big = op->src[0]; small = op->dst[0]; }
    else if (op->kind == UAE_OP_MAXPOOL2_BWD) { big = op->src[0]; small = op->src[1]; }
    else if (op->kind == UAE_OP_UPSAMPLE2) { small = op->src[0]; big = op->dst[0]; }
    else { big = op->src[0]; small = op->dst[0]; }
    UAE_TRY(need(op, big, up ? "y" : "x", 4));
    UAE_TRY(need(op, small, up ? "x" : "y", 4));
    int64_t want[4] = {big->shape[0], big->shape[1], big->shape[2] / 2, big->shape[3] / 2};
    if (want[2] < 1 || want[3] < 1) return SHAPE_ERR(op, "input smaller than 2x2");
    if (up) {
        int64_t wb[4] = {small->shape[0], small->shape[1], 2 * small->shape[2], 2 * small->shape[3]};
        UAE_TRY(need_dims(op, big, "y", 4, wb));
    } else {
        UAE_TRY(need_dims(op, small, bwd ? "dy" : "y", 4, want));
    }
    if (op->kind == UAE_OP_MAXPOOL2_BWD) UAE_TRY(need_shape(op, op->dst[0], "dx", big));
    return UAE_OK;
}

static uae_status check_broadcast(const uae_op *op, const uae_tensor *a, const uae_tensor *b) {
    if (b->ndim != a->ndim) goto bad;
    for (int d = 0; d < a->ndim; d++)
        if (b->shape[d] != a->shape[d] && b->shape[d] != 1) goto bad;
    return UAE_OK;
bad:;
    char x[64], y[64];
    return SHAPE_ERR(op, "b %s does not broadcast to a %s (same number of dimensions, each equal "
                     "or 1)", sh(b, x), sh(a, y));
}

static uae_status check_mine(const uae_op *op) {
    UAE_TRY(need(op, op->src[0], "t_joint", 2));
    UAE_TRY(need(op, op->src[1], "t_marg", 2));
    int64_t b = op->src[0]->shape[0];
    if (op->src[1]->shape[0] != b)
        return SHAPE_ERR(op, "t_joint has %lld estimators, t_marg %lld", (long long)b,
                         (long long)op->src[1]->shape[0]);
    if (op->src[2]) UAE_TRY(need_numel(op, op->src[2], "upstream gradient", b));
    UAE_TRY(need_numel(op, op->dst[0], "bound", b));
    if (op->dst[1]) UAE_TRY(need_shape(op, op->dst[1], "d t_joint", op->src[0]));
    if (op->dst[2]) UAE_TRY(need_shape(op, op->dst[2], "d t_marg", op->src[1]));
    if ((unsigned)op->p.mine.kind >= UAE_MINE_COUNT) return SHAPE_ERR(op, "unknown bound kind");
    return UAE_OK;
}

/* An optimizer step's parameters and the states it needs, each of dst0's size. */
static uae_status check_optim(const uae_op *op, const uae_optim_params *o) {
    int64_t n = uae_tensor_numel(op->dst[0]);
    bool need1 = o->fn != UAE_OPTIM_SGD || o->momentum != 0.0f;
    bool need2 = o->fn == UAE_OPTIM_ADAM || o->fn == UAE_OPTIM_ADADELTA;
    if (need1) UAE_TRY(need_numel(op, op->dst[1], "state 1", n));
    if (need2) UAE_TRY(need_numel(op, op->dst[2], "state 2", n));
    if ((unsigned)o->fn >= UAE_OPTIM_COUNT) return SHAPE_ERR(op, "unknown optimizer");
    if (o->fn == UAE_OPTIM_ADAM && o->step < 1) return SHAPE_ERR(op, "Adam step must be >= 1");
    return UAE_OK;
}

uae_status uae_op_check(const uae_op *op) {
    const uae_tensor *s0 = op->src[0], *s1 = op->src[1], *d0 = op->dst[0];
    switch (op->kind) {
    case UAE_OP_GEMM: return check_gemm(op, &op->p.gemm);
    case UAE_OP_CONV2D:
    case UAE_OP_CONV2D_BWD_DATA:
    case UAE_OP_CONV2D_BWD_WEIGHT: return check_conv(op);
    case UAE_OP_MAXPOOL2:
    case UAE_OP_MAXPOOL2_BWD:
    case UAE_OP_UPSAMPLE2:
    case UAE_OP_UPSAMPLE2_BWD: return check_pool(op);
    case UAE_OP_BINARY:
        UAE_TRY(need(op, s0, "a", 0));
        UAE_TRY(need(op, s1, "b", 0));
        UAE_TRY(check_broadcast(op, s0, s1));
        if ((unsigned)op->p.binary.fn >= UAE_BINARY_COUNT) return SHAPE_ERR(op, "unknown function");
        return need_shape(op, d0, "dst", s0);
    case UAE_OP_UNARY:
        UAE_TRY(need(op, s0, "x", 0));
        if ((unsigned)op->p.unary.fn >= UAE_UNARY_COUNT) return SHAPE_ERR(op, "unknown function");
        return need_shape(op, d0, "dst", s0);
    case UAE_OP_UNARY_BWD:
        UAE_TRY(need(op, s0, "x", 0));
        UAE_TRY(need_shape(op, s1, "y", s0));
        UAE_TRY(need_shape(op, op->src[2], "dy", s0));
        if ((unsigned)op->p.unary.fn >= UAE_UNARY_COUNT) return SHAPE_ERR(op, "unknown function");
        return need_shape(op, d0, "dx", s0);
    case UAE_OP_REDUCE: {
        UAE_TRY(need(op, s0, "x", 0));
        if ((unsigned)op->p.reduce.fn >= UAE_REDUCE_COUNT) return SHAPE_ERR(op, "unknown function");
        if (op->p.reduce.axes == 0 || (op->p.reduce.axes >> s0->ndim) != 0)
            return SHAPE_ERR(op, "axes mask 0x%x for a %d-dimensional tensor", op->p.reduce.axes,
                             s0->ndim);
        uae_tensor want = *s0;
        for (int d = 0; d < s0->ndim; d++)
            if (op->p.reduce.axes >> d & 1) want.shape[d] = 1;
        return need_dims(op, d0, "dst", s0->ndim, want.shape);
    }
    case UAE_OP_SOFTMAX:
        UAE_TRY(need(op, s0, "x", 0));
        return need_shape(op, d0, "dst", s0);
    case UAE_OP_FILL: return need(op, d0, "dst", 0);
    case UAE_OP_CLAMP:
        UAE_TRY(need(op, s0, "x", 0));
        return need_shape(op, d0, "dst", s0);
    case UAE_OP_OPTIM:
        UAE_TRY(need(op, s0, "gradient", 0));
        UAE_TRY(need_numel(op, d0, "parameters", uae_tensor_numel(s0)));
        return check_optim(op, &op->p.optim);
    case UAE_OP_GEMM_OPTIM:
        if (op->p.gemm_optim.gemm.beta != 0.0f)
            return SHAPE_ERR(op, "beta = %g, expected 0 (the gradient is the product alone)",
                             (double)op->p.gemm_optim.gemm.beta);
        UAE_TRY(check_gemm(op, &op->p.gemm_optim.gemm));
        return check_optim(op, &op->p.gemm_optim.optim);
    case UAE_OP_RNG:
        if ((unsigned)op->p.rng.dist >= UAE_RNG_COUNT) return SHAPE_ERR(op, "unknown distribution");
        return need(op, d0, "dst", 0);
    case UAE_OP_PERMUTATION:
        UAE_TRY(need(op, d0, "dst", 2));
        if (d0->shape[1] > (1 << 24)) return SHAPE_ERR(op, "permutations above 2^24 elements");
        return UAE_OK;
    case UAE_OP_GATHER_ROWS:
    case UAE_OP_SCATTER_ROWS: {
        bool gather = op->kind == UAE_OP_GATHER_ROWS;
        const uae_tensor *big = gather ? s0 : d0, *small = gather ? d0 : s0;
        UAE_TRY(need(op, big, gather ? "src" : "dst", 3));
        UAE_TRY(need(op, s1, "idx", 2));
        int64_t b = big->shape[0], m = s1->shape[1], d = big->shape[2];
        if (s1->shape[0] != b) return SHAPE_ERR(op, "idx has %lld rows, expected %lld",
                                                (long long)s1->shape[0], (long long)b);
        return need_dims(op, small, gather ? "dst" : "src", 3, (int64_t[]){b, m, d});
    }
    case UAE_OP_MINE_BOUND: return check_mine(op);
    case UAE_OP_ATTACK_STEP:
        UAE_TRY(need(op, s0, "x", 2));
        UAE_TRY(need_shape(op, s1, "g", s0));
        UAE_TRY(need_shape(op, d0, "delta", s0));
        if (op->dst[1]) UAE_TRY(need_shape(op, op->dst[1], "x_adv", s0));
        if (op->src[2]) UAE_TRY(need_numel(op, op->src[2], "lr", s0->shape[0]));
        return UAE_OK;
    case UAE_OP_COUNT: break;
    }
    return uae_fail(UAE_ERR_INVALID, "op kind %d is not a valid uae_op_kind", (int)op->kind);
}

/* ---- Normalisation and dispatch ------------------------------------------------------------ */

void uae_op_normalise(uae_op *op) {
    if (op->kind == UAE_OP_GEMM) op->p.gemm = gemm_explicit(&op->p.gemm);
    if (op->kind == UAE_OP_GEMM_OPTIM) op->p.gemm_optim.gemm = gemm_explicit(&op->p.gemm_optim.gemm);
}

static uae_backend *op_backend(const uae_op *op, uae_status *st) {
    uae_backend *be = NULL;
    const uae_tensor *all[UAE_OP_MAX_SRC + UAE_OP_MAX_DST];
    int n = 0;
    for (int i = 0; i < UAE_OP_MAX_SRC; i++) all[n++] = op->src[i];
    for (int i = 0; i < UAE_OP_MAX_DST; i++) all[n++] = op->dst[i];
    for (int i = 0; i < n; i++) {
        if (!all[i]) continue;
        if (!be) be = all[i]->backend;
        else if (all[i]->backend != be) {
            *st = uae_fail(UAE_ERR_INVALID, "%s: tensors on different backends (%s and %s); copy "
                           "them with uae_tensor_copy first", uae_op_name(op->kind),
                           uae_backend_name(be), uae_backend_name(all[i]->backend));
            return NULL;
        }
    }
    if (!be) *st = uae_fail(UAE_ERR_INVALID, "%s: no tensors", uae_op_name(op->kind));
    return be;
}

static bool backend_supports(const uae_backend *be, const uae_op *op) {
    return !be->iface->supports || be->iface->supports(be->ctx, op);
}

bool uae_op_supported(const uae_op *op) {
    uae_status st;
    uae_backend *be = op_backend(op, &st);
    if (!be) return false;
    uae_op n = *op;
    uae_op_normalise(&n);
    return backend_supports(be, &n);
}

/* Runs an op the device does not support on its host backend (be->host): copies every tensor into
 * host memory, runs the op there, copies the destinations back. Slow, but never a crash. */
static uae_status run_on_host(uae_backend *be, const uae_op *op) {
    uae_backend *host = be->host;
    if (!host)
        return uae_fail(UAE_ERR_UNSUPPORTED, "%s: %s does not run this op and has no host backend "
                        "to run it instead", uae_op_name(op->kind), uae_backend_name(be));
    uae_op h = *op;
    uae_tensor ts[UAE_OP_MAX_SRC + UAE_OP_MAX_DST];
    float *mem[UAE_OP_MAX_SRC + UAE_OP_MAX_DST] = {0};
    uae_status st = uae_backend_sync(be);
    int n = 0;
    for (int i = 0; i < UAE_OP_MAX_SRC + UAE_OP_MAX_DST && st == UAE_OK; i++) {
        const uae_tensor *t = i < UAE_OP_MAX_SRC ? op->src[i] : op->dst[i - UAE_OP_MAX_SRC];
        if (!t) continue;
        size_t numel = (size_t)uae_tensor_numel(t);
        mem[n] = malloc(numel * sizeof(float));
        if (!mem[n]) { st = uae_fail(UAE_ERR_NOMEM, "host fallback: out of memory"); break; }
        st = uae_tensor_read(t, mem[n]);
        ts[n] = *t;
        ts[n].buf = mem[n];
        ts[n].offset = 0;
        ts[n].backend = host;
        if (i < UAE_OP_MAX_SRC) h.src[i] = &ts[n]; else h.dst[i - UAE_OP_MAX_SRC] = &ts[n];
        n++;
    }
    if (st == UAE_OK) st = host->iface->compute(host->ctx, &h);
    for (int i = 0; i < UAE_OP_MAX_DST && st == UAE_OK; i++)
        if (op->dst[i]) st = uae_tensor_write(op->dst[i], (const float *)h.dst[i]->buf);
    for (int i = 0; i < n; i++) free(mem[i]);
    be->fallbacks++;
    return st;
}

/* Finds the backend, checks the op, makes the normalised copy that the backend sees, and runs it
 * where it is supported: the one dispatch point of the library. */
uae_status uae_op_run(const uae_op *op) {
    uae_status st = UAE_OK;
    uae_backend *be = op_backend(op, &st);
    if (!be) return st;
    UAE_TRY(uae_op_check(op));
    uae_op n = *op;
    uae_op_normalise(&n);
    if (!backend_supports(be, &n)) return run_on_host(be, &n);
    return be->iface->compute(be->ctx, &n);
}

/* ---- Convenience wrappers ------------------------------------------------------------------ */

/* How uae_gemm runs a product: one op, one op with the batch folded into the rows, or one op per
 * batch (an operand shared by every batch). */
typedef enum gemm_plan { GEMM_ONE, GEMM_FOLD, GEMM_SPLIT } gemm_plan;

/* The product's parameters from the tensors (the matrices are the last two dimensions of a, b
 * and c; leading dimensions are batch), and how it runs. */
static uae_status gemm_params_of(bool trans_a, bool trans_b, float alpha, const uae_tensor *a,
                                 const uae_tensor *b, float beta, const uae_tensor *c,
                                 uae_gemm_params *g, gemm_plan *plan) {
    if (a->ndim < 2 || b->ndim < 2 || c->ndim < 2)
        return uae_fail(UAE_ERR_SHAPE, "gemm: operands need at least 2 dimensions");
    int64_t ar = a->shape[a->ndim - 2], ac = a->shape[a->ndim - 1];
    int64_t br = b->shape[b->ndim - 2], bc = b->shape[b->ndim - 1];
    memset(g, 0, sizeof *g);
    g->trans_a = trans_a;
    g->trans_b = trans_b;
    g->m = trans_a ? ac : ar;
    g->k = trans_a ? ar : ac;
    g->n = trans_b ? br : bc;
    int64_t kb = trans_b ? bc : br;
    if (kb != g->k) {
        char x[64], y[64];
        return uae_fail(UAE_ERR_SHAPE, "gemm: inner dimensions differ: a %s%s, b %s%s",
                        sh(a, x), trans_a ? "^T" : "", sh(b, y), trans_b ? "^T" : "");
    }
    g->alpha = alpha;
    g->beta = beta;
    g->batch = uae_tensor_numel(c) / (c->shape[c->ndim - 2] * c->shape[c->ndim - 1]);
    int64_t batch_a = uae_tensor_numel(a) / (ar * ac), batch_b = uae_tensor_numel(b) / (br * bc);
    /* An operand with a batch of 1 is shared by every batch of the other. */
    if ((batch_a != g->batch && batch_a != 1) || (batch_b != g->batch && batch_b != 1))
        return uae_fail(UAE_ERR_SHAPE, "gemm: batch sizes %lld, %lld and %lld differ",
                        (long long)batch_a, (long long)batch_b, (long long)g->batch);
    *plan = GEMM_ONE;
    if (g->batch > 1 && batch_b == 1 && !trans_a && batch_a == g->batch) {
        /* (batch, m, k) @ (k, n): fold the batch into the rows. */
        g->m *= g->batch;
        g->batch = 1;
        *plan = GEMM_FOLD;
    } else if (g->batch > 1 && (batch_a == 1 || batch_b == 1)) {
        *plan = GEMM_SPLIT;
    }
    return UAE_OK;
}

uae_status uae_gemm(bool trans_a, bool trans_b, float alpha, const uae_tensor *a,
                    const uae_tensor *b, float beta, const uae_tensor *c) {
    uae_op op = {.kind = UAE_OP_GEMM, .src = {a, b}, .dst = {c}};
    uae_gemm_params *g = &op.p.gemm;
    gemm_plan plan = GEMM_ONE;
    UAE_TRY(gemm_params_of(trans_a, trans_b, alpha, a, b, beta, c, g, &plan));
    if (plan == GEMM_SPLIT) {
        int64_t ar = a->shape[a->ndim - 2], ac = a->shape[a->ndim - 1];
        int64_t br = b->shape[b->ndim - 2], bc = b->shape[b->ndim - 1];
        int64_t batch_a = uae_tensor_numel(a) / (ar * ac), batch_b = uae_tensor_numel(b) / (br * bc);
        uae_status st = UAE_OK;
        int64_t nb = g->batch;
        g->batch = 1;
        for (int64_t i = 0; i < nb && st == UAE_OK; i++) {
            uae_tensor ai = *a, bi = *b, ci = *c;
            if (batch_a != 1) ai.offset += (size_t)(i * ar * ac);
            if (batch_b != 1) bi.offset += (size_t)(i * br * bc);
            ci.offset += (size_t)(i * g->m * g->n);
            ai.ndim = bi.ndim = ci.ndim = 2;
            ai.shape[0] = ar; ai.shape[1] = ac;
            bi.shape[0] = br; bi.shape[1] = bc;
            ci.shape[0] = g->m; ci.shape[1] = g->n;
            op.src[0] = &ai; op.src[1] = &bi; op.dst[0] = &ci;
            st = uae_op_run(&op);
        }
        return st;
    }
    return uae_op_run(&op);
}

uae_status uae_gemm_optim_op(bool trans_a, bool trans_b, float alpha, const uae_tensor *a,
                             const uae_tensor *b, const uae_optim_params *o, const uae_tensor *p,
                             const uae_tensor *s1, const uae_tensor *s2, uae_op *out) {
    *out = (uae_op){.kind = UAE_OP_GEMM_OPTIM, .src = {a, b}, .dst = {p, s1, s2}};
    gemm_plan plan = GEMM_ONE;
    UAE_TRY(gemm_params_of(trans_a, trans_b, alpha, a, b, 0.0f, p, &out->p.gemm_optim.gemm, &plan));
    if (plan != GEMM_ONE)
        return uae_fail(UAE_ERR_SHAPE, "gemm_optim: an operand is shared by every batch (not one "
                        "op); compute the gradient with uae_gemm and step with the optim op");
    out->p.gemm_optim.optim = *o;
    return UAE_OK;
}

uae_status uae_binary(uae_binary_fn fn, const uae_tensor *a, const uae_tensor *b,
                      const uae_tensor *dst) {
    uae_op op = {.kind = UAE_OP_BINARY, .src = {a, b}, .dst = {dst}};
    op.p.binary.fn = fn;
    return uae_op_run(&op);
}

uae_status uae_unary(uae_unary_fn fn, float alpha, float beta, const uae_tensor *x,
                     const uae_tensor *dst) {
    uae_op op = {.kind = UAE_OP_UNARY, .src = {x}, .dst = {dst}};
    op.p.unary = (uae_unary_params){fn, alpha, beta};
    return uae_op_run(&op);
}

uae_status uae_reduce(uae_reduce_fn fn, unsigned axes, const uae_tensor *x, const uae_tensor *dst) {
    uae_op op = {.kind = UAE_OP_REDUCE, .src = {x}, .dst = {dst}};
    op.p.reduce = (uae_reduce_params){fn, axes};
    return uae_op_run(&op);
}

uae_status uae_fill(const uae_tensor *dst, float value) {
    uae_op op = {.kind = UAE_OP_FILL, .dst = {dst}};
    op.p.fill.value = value;
    return uae_op_run(&op);
}

uae_status uae_clamp(const uae_tensor *x, float lo, float hi, const uae_tensor *dst) {
    uae_op op = {.kind = UAE_OP_CLAMP, .src = {x}, .dst = {dst}};
    op.p.clamp = (uae_clamp_params){lo, hi};
    return uae_op_run(&op);
}

uae_status uae_rng_fill(uae_rng_dist dist, uint64_t seed, uint64_t stream, uint64_t counter,
                        float a, float b, const uae_tensor *dst) {
    uae_op op = {.kind = UAE_OP_RNG, .dst = {dst}};
    op.p.rng = (uae_rng_params){dist, seed, stream, counter, a, b};
    return uae_op_run(&op);
}
