/* models/nn.c — parameter store, optimizers, layers and losses (see uae/nn.h).
 * Written only against uae/ops.h and uae/autodiff.h: nothing here knows which device runs it. */
#include "uae/nn.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "checked.h"
#include "enum_names.h"

/* ---- Parameters ---------------------------------------------------------------------------- */

#define NAME_CAP 64
/* The most floats in one parameter store (2^40: 4 TiB per copy), far above any device. */
#define PARAMS_MAX_FLOATS ((int64_t)1 << 40)

typedef struct pentry {
    char name[NAME_CAP];
    int ndim;
    int64_t shape[UAE_MAX_DIMS];
    uae_init init;
    size_t offset;          /* into the flat tensors, in floats (16-float aligned, except after
                             * uae_params_add_next: right after the previous one) */
    uae_tensor value, grad; /* views into the flat tensors */
} pentry;

struct uae_params {
    uae_backend *be;
    pentry *items;
    int n, cap;
    size_t total;           /* floats, including alignment padding */
    uae_arena *arena;       /* owns the four flat tensors */
    uae_tensor flat, flat_grad, state[2];
    bool finalized;
    uae_status err;         /* first error from uae_params_add */
    char errmsg[256];
};

uae_status uae_params_create(uae_backend *be, uae_params **out) {
    uae_params *p = calloc(1, sizeof *p);
    if (!p) return uae_fail(UAE_ERR_NOMEM, "params: out of host memory");
    p->be = be;
    *out = p;
    return UAE_OK;
}

void uae_params_free(uae_params *p) {
    if (!p) return;
    uae_arena_free(p->arena);
    free(p->items);
    free(p);
}

static int add_error(uae_params *p, uae_status st) {
    if (p->err == UAE_OK) {
        p->err = st;
        snprintf(p->errmsg, sizeof p->errmsg, "%s", uae_last_error());
    }
    return -1;
}

static int add_entry(uae_params *p, const char *name, int ndim, const int64_t *shape,
                     uae_init init, bool next) {
    if (next && p->n == 0)
        return add_error(p, uae_fail(UAE_ERR_INVALID, "params: '%s' placed after no parameter", name));
    if (p->finalized)
        return add_error(p, uae_fail(UAE_ERR_INVALID, "params: '%s' added after finalize", name));
    if (strlen(name) >= NAME_CAP)
        return add_error(p, uae_fail(UAE_ERR_INVALID, "params: name '%s' longer than %d", name,
                                     NAME_CAP - 1));
    if (uae_params_find(p, name) >= 0)
        return add_error(p, uae_fail(UAE_ERR_INVALID, "params: '%s' declared twice", name));
    if (ndim < 1 || ndim > UAE_MAX_DIMS)
        return add_error(p, uae_fail(UAE_ERR_SHAPE, "params: '%s' has %d dimensions", name, ndim));
    if (p->n == p->cap) {
        int nc = p->cap ? 2 * p->cap : 16;
        pentry *it = realloc(p->items, (size_t)nc * sizeof *it);
        if (!it) return add_error(p, uae_fail(UAE_ERR_NOMEM, "params: out of host memory"));
        p->items = it;
        p->cap = nc;
    }
    pentry *e = &p->items[p->n];
    memset(e, 0, sizeof *e);
    snprintf(e->name, sizeof e->name, "%s", name);
    e->ndim = ndim;
    int64_t numel = 1, padded, total;
    for (int d = 0; d < UAE_MAX_DIMS; d++) {
        e->shape[d] = d < ndim ? shape[d] : 1;
        if (e->shape[d] < 1)
            return add_error(p, uae_fail(UAE_ERR_SHAPE, "params: '%s' dimension %d is %lld", name, d,
                                         (long long)e->shape[d]));
        if (!uae_checked_mul(numel, e->shape[d], &numel))
            return add_error(p, uae_fail(UAE_ERR_NOMEM, "params: '%s' has more than 2^63 elements",
                                         name));
    }
    /* Sizes come from a configuration that may come from a file: checked, and bounded so that
     * every later byte count (4 per float, 4 tensors of the store) fits too. */
    /* next: right after the previous parameter's last element, not at the aligned end */
    int64_t start = (int64_t)p->total;
    if (next) {
        const pentry *prev = &p->items[p->n - 1];
        start = (int64_t)prev->offset;
        int64_t prev_numel = 1;
        for (int d = 0; d < UAE_MAX_DIMS; d++) prev_numel *= prev->shape[d];
        start += prev_numel;
    }
    if (!uae_checked_add(numel, 15, &padded) ||
        !uae_checked_add(start, padded / 16 * 16, &total) || total > PARAMS_MAX_FLOATS)
        return add_error(p, uae_fail(UAE_ERR_NOMEM, "params: '%s' (%lld elements) takes the "
                                     "store above %lld floats", name, (long long)numel,
                                     (long long)PARAMS_MAX_FLOATS));
    e->init = init;
    e->offset = (size_t)start;
    p->total = (size_t)total;
    return p->n++;
}

int uae_params_add(uae_params *p, const char *name, int ndim, const int64_t *shape, uae_init init) {
    return add_entry(p, name, ndim, shape, init, false);
}

int uae_params_add_next(uae_params *p, const char *name, int ndim, const int64_t *shape,
                        uae_init init) {
    return add_entry(p, name, ndim, shape, init, true);
}

uae_status uae_params_span(const uae_params *p, int first, int count, uae_tensor *value,
                           uae_tensor *grad) {
    if (!p->finalized || first < 0 || count < 1 || first + count > p->n)
        return uae_fail(UAE_ERR_INVALID, "params span: tensors %d .. %d of %d (finalized: %d)",
                        first, first + count - 1, p->n, p->finalized);
    const pentry *a = &p->items[first];
    int64_t rows = 0;
    for (int i = first; i < first + count; i++) {
        const pentry *e = &p->items[i];
        bool same = e->ndim == a->ndim;
        for (int d = 1; d < UAE_MAX_DIMS && same; d++) same = e->shape[d] == a->shape[d];
        size_t row_floats = (size_t)(uae_tensor_numel(&a->value) / a->shape[0]);
        if (!same || e->offset != a->offset + (size_t)rows * row_floats)
            return uae_fail(UAE_ERR_INVALID, "params span: '%s' does not follow '%s' directly "
                            "with the same shape beyond the first dimension (declare it with "
                            "uae_params_add_next)", e->name, p->items[i - (i > first)].name);
        rows += e->shape[0];
    }
    *value = a->value;
    *grad = a->grad;
    value->shape[0] = grad->shape[0] = rows;
    return UAE_OK;
}

/* Fan-in and fan-out of a weight for the Glorot/He initialisers (see uae_params_add). */
static void fans(const pentry *e, double *fan_in, double *fan_out) {
    if (e->ndim == 4) {
        double rf = (double)(e->shape[2] * e->shape[3]);
        *fan_in = (double)e->shape[1] * rf;
        *fan_out = (double)e->shape[0] * rf;
    } else if (e->ndim >= 2) {
        *fan_in = (double)e->shape[e->ndim - 1];
        *fan_out = (double)e->shape[e->ndim - 2];
    } else {
        *fan_in = *fan_out = (double)e->shape[0];
    }
}

static uae_status init_one(const pentry *e, int index, uint64_t seed) {
    double fi, fo;
    fans(e, &fi, &fo);
    float l;
    switch (e->init) {
    case UAE_INIT_ZEROS: return uae_fill(&e->value, 0.0f);
    case UAE_INIT_ONES: return uae_fill(&e->value, 1.0f);
    case UAE_INIT_GLOROT_UNIFORM:
        l = (float)sqrt(6.0 / (fi + fo));
        return uae_rng_fill(UAE_RNG_UNIFORM, seed, (uint64_t)index, 0, -l, l, &e->value);
    case UAE_INIT_HE_UNIFORM:
        l = (float)sqrt(6.0 / fi);
        return uae_rng_fill(UAE_RNG_UNIFORM, seed, (uint64_t)index, 0, -l, l, &e->value);
    case UAE_INIT_NORMAL_001:
        return uae_rng_fill(UAE_RNG_NORMAL, seed, (uint64_t)index, 0, 0.0f, 0.01f, &e->value);
    case UAE_INIT_COUNT: break;
    }
    return uae_fail(UAE_ERR_INVALID, "params: '%s' has an unknown initialiser", e->name);
}

uae_status uae_params_reinit(uae_params *p, uint64_t seed) {
    UAE_TRY(uae_fill(&p->flat, 0.0f)); /* the alignment padding too */
    for (int i = 0; i < p->n; i++) UAE_TRY(init_one(&p->items[i], i, seed));
    UAE_TRY(uae_fill(&p->state[0], 0.0f));
    return uae_fill(&p->state[1], 0.0f);
}

uae_status uae_params_finalize(uae_params *p, uint64_t seed) {
    if (p->err != UAE_OK) return uae_fail(p->err, "%s", p->errmsg);
    if (p->finalized) return uae_fail(UAE_ERR_INVALID, "params: finalized twice");
    if (p->n == 0) return uae_fail(UAE_ERR_INVALID, "params: no parameters declared");
    UAE_TRY(uae_arena_create(p->be, p->total, &p->arena));
    int64_t total = (int64_t)p->total;
    UAE_TRY(uae_arena_tensor1(p->arena, total, &p->flat));
    UAE_TRY(uae_arena_tensor1(p->arena, total, &p->flat_grad));
    UAE_TRY(uae_arena_tensor1(p->arena, total, &p->state[0]));
    UAE_TRY(uae_arena_tensor1(p->arena, total, &p->state[1]));
    for (int i = 0; i < p->n; i++) {
        pentry *e = &p->items[i];
        e->value = p->flat;
        e->value.ndim = e->ndim;
        memcpy(e->value.shape, e->shape, sizeof e->shape);
        e->value.offset += e->offset;
        e->grad = p->flat_grad;
        e->grad.ndim = e->ndim;
        memcpy(e->grad.shape, e->shape, sizeof e->shape);
        e->grad.offset += e->offset;
    }
    p->finalized = true;
    UAE_TRY(uae_fill(&p->flat_grad, 0.0f));
    return uae_params_reinit(p, seed);
}

int uae_params_count(const uae_params *p) { return p->n; }

int64_t uae_params_numel(const uae_params *p) {
    int64_t n = 0;
    for (int i = 0; i < p->n; i++) n += uae_tensor_numel(&p->items[i].value);
    return n;
}

const char *uae_params_name(const uae_params *p, int i) { return p->items[i].name; }

int uae_params_find(const uae_params *p, const char *name) {
    for (int i = 0; i < p->n; i++)
        if (strcmp(p->items[i].name, name) == 0) return i;
    return -1;
}

const uae_tensor *uae_params_value(const uae_params *p, int i) { return &p->items[i].value; }
const uae_tensor *uae_params_grad(const uae_params *p, int i) { return &p->items[i].grad; }
const uae_tensor *uae_params_flat(const uae_params *p) { return &p->flat; }
const uae_tensor *uae_params_flat_grad(const uae_params *p) { return &p->flat_grad; }
const uae_tensor *uae_params_state(const uae_params *p, int k) { return &p->state[k]; }
uae_backend *uae_params_backend(const uae_params *p) { return p->be; }

uae_status uae_params_leaves(uae_params *p, uae_tape *t, bool trainable, uae_var **out) {
    for (int i = 0; i < p->n; i++) {
        out[i] = trainable ? uae_ad_leaf(t, &p->items[i].value, &p->items[i].grad)
                           : uae_ad_const(t, &p->items[i].value);
        if (!out[i]) return uae_tape_status(t);
    }
    return UAE_OK;
}

uae_status uae_params_copy(uae_params *dst, const uae_params *src, bool with_state) {
    if (dst->n != src->n || dst->total != src->total)
        return uae_fail(UAE_ERR_SHAPE, "params copy: %d tensors (%zu floats) into %d (%zu floats)",
                        src->n, src->total, dst->n, dst->total);
    for (int i = 0; i < src->n; i++)
        if (strcmp(dst->items[i].name, src->items[i].name) != 0 ||
            !uae_tensor_same_shape(&dst->items[i].value, &src->items[i].value))
            return uae_fail(UAE_ERR_SHAPE, "params copy: tensor %d is '%s' here and '%s' there", i,
                            dst->items[i].name, src->items[i].name);
    UAE_TRY(uae_tensor_copy(&dst->flat, &src->flat));
    if (with_state) {
        UAE_TRY(uae_tensor_copy(&dst->state[0], &src->state[0]));
        UAE_TRY(uae_tensor_copy(&dst->state[1], &src->state[1]));
    }
    return UAE_OK;
}

/* ---- Optimizers ---------------------------------------------------------------------------- */

uae_optimizer uae_optimizer_default(uae_optim_fn fn) {
    uae_optimizer o;
    memset(&o, 0, sizeof o);
    o.p.fn = fn;
    switch (fn) {
    case UAE_OPTIM_SGD: o.p.lr = 0.01f; break;
    case UAE_OPTIM_ADAM: o.p.lr = 1e-3f; o.p.beta1 = 0.9f; o.p.beta2 = 0.999f; o.p.eps = 1e-7f; break;
    case UAE_OPTIM_RMSPROP: o.p.lr = 1e-3f; o.p.rho = 0.9f; o.p.eps = 1e-7f; break;
    case UAE_OPTIM_ADADELTA: o.p.lr = 1.0f; o.p.rho = 0.95f; o.p.eps = 1e-7f; break;
    case UAE_OPTIM_COUNT: break;
    }
    return o;
}

static const char *const optim_names[] = {"sgd", "adam", "rmsprop", "adadelta"};
_Static_assert(sizeof optim_names / sizeof optim_names[0] == UAE_OPTIM_COUNT, "one name each");

const char *uae_optimizer_name(uae_optim_fn fn) {
    return (unsigned)fn < UAE_OPTIM_COUNT ? optim_names[fn] : "(unknown)";
}

uae_status uae_optimizer_parse(const char *name, uae_optim_fn *out) {
    int v;
    UAE_TRY(uae_enum_parse("optimizer", optim_names, UAE_OPTIM_COUNT, name, &v));
    *out = (uae_optim_fn)v;
    return UAE_OK;
}

/* The states optimizer o keeps: none, the first, or both (NULL for those it has not). */
static void used_states(const uae_optimizer *o, const uae_tensor *s0, const uae_tensor *s1,
                        const uae_tensor **out0, const uae_tensor **out1) {
    *out0 = o->p.fn != UAE_OPTIM_SGD || o->p.momentum != 0.0f ? s0 : NULL;
    *out1 = o->p.fn == UAE_OPTIM_ADAM || o->p.fn == UAE_OPTIM_ADADELTA ? s1 : NULL;
}

/* The optimizer op on floats [first, first + count) of p's flat tensors (the step taken). */
static uae_status step_range(const uae_optimizer *o, uae_params *p, int64_t first, int64_t count) {
    uae_tensor g, v, s[2];
    UAE_TRY(uae_tensor_slice(&p->flat_grad, first, count, &g));
    UAE_TRY(uae_tensor_slice(&p->flat, first, count, &v));
    for (int k = 0; k < 2; k++) UAE_TRY(uae_tensor_slice(&p->state[k], first, count, &s[k]));
    uae_op op = {.kind = UAE_OP_OPTIM, .src = {&g}, .dst = {&v}};
    used_states(o, &s[0], &s[1], &op.dst[1], &op.dst[2]);
    op.p.optim = o->p;
    return uae_op_run(&op);
}

uae_status uae_optimizer_step(uae_optimizer *o, uae_params *p) {
    o->p.step++;
    return step_range(o, p, 0, uae_tensor_numel(&p->flat));
}

/* Whether tensors t and u share elements. */
static bool overlaps(const uae_tensor *t, const uae_tensor *u) {
    return t->buf == u->buf && t->backend == u->backend &&
           t->offset < u->offset + (size_t)uae_tensor_numel(u) &&
           u->offset < t->offset + (size_t)uae_tensor_numel(t);
}

/* The most products one step fuses (MINE has two: its two dense weights). */
#define FUSED_MAX 16

/* A product fused into the step: its op, the views of p's tensors it steps, and their range. */
typedef struct fused_step {
    uae_op op;
    uae_tensor v, s[2];
    int64_t first, count;
} fused_step;

/* Builds in f the fused step of product pr if it is safe and the backend runs it: its gradient is
 * a range of p's gradients, its operands are none of p's values or states (the step changes
 * them), no other fused step has that range, and the backend supports UAE_OP_GEMM_OPTIM. */
static bool fusable(const uae_optimizer *o, const uae_params *p, const uae_ad_product *pr,
                    const fused_step *done, int ndone, fused_step *f) {
    const uae_tensor *g = &pr->grad, *fg = &p->flat_grad;
    if (ndone == FUSED_MAX || g->buf != fg->buf || g->backend != fg->backend ||
        g->offset < fg->offset ||
        g->offset + (size_t)uae_tensor_numel(g) > fg->offset + (size_t)uae_tensor_numel(fg))
        return false;
    const uae_tensor *own[3] = {&p->flat, &p->state[0], &p->state[1]};
    for (int k = 0; k < 3; k++)
        if (overlaps(&pr->a, own[k]) || overlaps(&pr->b, own[k])) return false;
    f->first = (int64_t)(g->offset - fg->offset);
    f->count = uae_tensor_numel(g);
    for (int i = 0; i < ndone; i++)
        if (f->first < done[i].first + done[i].count && done[i].first < f->first + f->count)
            return false;
    /* views of the values and states at the gradient's place, in its shape */
    f->v = *g;
    f->v.buf = p->flat.buf;
    f->v.offset = p->flat.offset + (size_t)f->first;
    for (int k = 0; k < 2; k++) {
        f->s[k] = *g;
        f->s[k].buf = p->state[k].buf;
        f->s[k].offset = p->state[k].offset + (size_t)f->first;
    }
    const uae_tensor *s0, *s1;
    used_states(o, &f->s[0], &f->s[1], &s0, &s1);
    return uae_gemm_optim_op(pr->trans_a, pr->trans_b, 1.0f, &pr->a, &pr->b, &o->p, &f->v, s0, s1,
                             &f->op) == UAE_OK && uae_op_supported(&f->op);
}

uae_status uae_optimizer_backward_step(uae_optimizer *o, uae_params *p, uae_tape *t,
                                       uae_var *loss, float scale) {
    const uae_ad_product *pr;
    int np;
    UAE_TRY(uae_ad_backward_deferred(t, loss, scale, &pr, &np));
    o->p.step++;
    fused_step f[FUSED_MAX];
    int nf = 0;
    /* Products that are not fused are written first, before the step changes anything. */
    for (int i = 0; i < np; i++) {
        if (fusable(o, p, &pr[i], f, nf, &f[nf])) nf++;
        else UAE_TRY(uae_gemm(pr[i].trans_a, pr[i].trans_b, 1.0f, &pr[i].a, &pr[i].b, 0.0f,
                              &pr[i].grad));
    }
    for (int i = 0; i < nf; i++) UAE_TRY(uae_op_run(&f[i].op));
    /* The rest of the parameters, between the fused ranges in increasing order: the same update
     * per element as one op over the flat tensors. */
    int64_t at = 0, n = uae_tensor_numel(&p->flat);
    while (at < n) {
        int64_t next = n, skip = 0;
        for (int i = 0; i < nf; i++)
            if (f[i].first >= at && f[i].first < next) {
                next = f[i].first;
                skip = f[i].count;
            }
        if (next > at) UAE_TRY(step_range(o, p, at, next - at));
        at = next + skip;
    }
    return UAE_OK;
}

/* ---- Layers -------------------------------------------------------------------------------- */

uae_var *uae_nn_act(uae_tape *t, uae_var *x, uae_act act) {
    switch (act) {
    case UAE_ACT_NONE: return x;
    case UAE_ACT_RELU: return uae_ad_unary(t, UAE_UNARY_RELU, 0, 0, x);
    case UAE_ACT_LEAKY_RELU: return uae_ad_unary(t, UAE_UNARY_LEAKY, 0.2f, 0, x);
    case UAE_ACT_SIGMOID: return uae_ad_unary(t, UAE_UNARY_SIGMOID, 0, 0, x);
    case UAE_ACT_TANH: return uae_ad_unary(t, UAE_UNARY_TANH, 0, 0, x);
    case UAE_ACT_SOFTPLUS: return uae_ad_unary(t, UAE_UNARY_SOFTPLUS, 0, 0, x);
    case UAE_ACT_COUNT: break;
    }
    return x;
}

/* A (n) bias viewed with x's rank, so that it broadcasts over every leading dimension. */
static uae_var *bias_view(uae_tape *t, uae_var *b, int ndim, int channel_dim) {
    int64_t shape[UAE_MAX_DIMS] = {1, 1, 1, 1};
    shape[channel_dim] = uae_tensor_numel(uae_ad_value(b));
    return uae_ad_reshape(t, b, ndim, shape);
}

uae_var *uae_nn_dense(uae_tape *t, uae_var *x, uae_var *w, uae_var *b, uae_act act) {
    uae_var *y = uae_ad_matmul(t, x, w, false, true);
    if (b && y) y = uae_ad_add(t, y, bias_view(t, b, uae_ad_value(y)->ndim, uae_ad_value(y)->ndim - 1));
    return uae_nn_act(t, y, act);
}

uae_var *uae_nn_dense_sets(uae_tape *t, uae_var *x, uae_var *w, uae_var *b, uae_act act) {
    uae_var *y = uae_ad_matmul(t, x, w, false, true); /* (S, n, in) @ (S, out, in)^T */
    if (b && y) {
        const uae_tensor *B = uae_ad_value(b);
        int64_t s = B->shape[0], o = uae_tensor_numel(B) / s;
        y = uae_ad_add(t, y, uae_ad_reshape(t, b, 3, (int64_t[]){s, 1, o}));
    }
    return uae_nn_act(t, y, act);
}

uae_var *uae_nn_conv2d(uae_tape *t, uae_var *x, uae_var *w, uae_var *b, bool same, uae_act act) {
    if (!w) return uae_ad_conv2d(t, x, w, b, NULL);
    const uae_tensor *W = uae_ad_value(w);
    uae_conv_params p = {.stride_h = 1, .stride_w = 1, .wsets = 1,
                         .pad_h = same ? (int)(W->shape[2] / 2) : 0,
                         .pad_w = same ? (int)(W->shape[3] / 2) : 0};
    return uae_nn_act(t, uae_ad_conv2d(t, x, w, b, &p), act);
}

uae_var *uae_nn_dropout(uae_tape *t, uae_var *x, float rate, bool training, uint64_t seed,
                        uint64_t stream, uint64_t counter) {
    if (!training || rate <= 0.0f || !x) return x;
    const uae_tensor *X = uae_ad_value(x);
    uae_var *mask = uae_ad_new_const(t, X->ndim, X->shape);
    if (!mask) return NULL;
    /* A constant of the step: u ~ U[0, 1), keep = (u > rate) / (1 - rate). */
    const uae_tensor *M = uae_ad_value(mask);
    uae_status st = uae_rng_fill(UAE_RNG_UNIFORM, seed, stream, counter, 0.0f, 1.0f, M);
    if (st == UAE_OK) st = uae_unary(UAE_UNARY_STEP, rate, 0.0f, M, M);
    if (st == UAE_OK) st = uae_unary(UAE_UNARY_AFFINE, 1.0f / (1.0f - rate), 0.0f, M, M);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    return uae_ad_mul(t, x, mask);
}

/* ---- Losses -------------------------------------------------------------------------------- */

/* Collapses a (B, ...) per-element tensor to a (B) per-sample one with fn over the features. */
static uae_var *per_sample(uae_tape *t, uae_var *x, uae_reduce_fn fn) {
    if (!x) return NULL;
    const uae_tensor *X = uae_ad_value(x);
    int64_t b = X->shape[0];
    uae_var *flat = uae_ad_reshape(t, x, 2, (int64_t[]){b, uae_tensor_numel(X) / b});
    return uae_ad_reshape(t, uae_ad_reduce(t, fn, 0x2, flat), 1, (int64_t[]){b});
}

uae_var *uae_loss_mse(uae_tape *t, uae_var *y, uae_var *target) {
    uae_var *d = uae_ad_sub(t, y, target);
    return per_sample(t, uae_ad_unary(t, UAE_UNARY_SQUARE, 0, 0, d), UAE_REDUCE_MEAN);
}

uae_var *uae_loss_bce(uae_tape *t, uae_var *y, uae_var *target) {
    /* -(t log p + (1 - t) log(1 - p)), p clipped to [1e-7, 1 - 1e-7] as Keras does */
    const float eps = 1e-7f;
    uae_var *p = uae_ad_clamp(t, y, eps, 1.0f - eps);
    uae_var *logp = uae_ad_unary(t, UAE_UNARY_LOG, 0, 0, p);
    uae_var *log1mp = uae_ad_unary(t, UAE_UNARY_LOG, 0, 0, uae_ad_affine(t, p, -1.0f, 1.0f));
    uae_var *one_m_t = uae_ad_affine(t, target, -1.0f, 1.0f);
    uae_var *sum = uae_ad_add(t, uae_ad_mul(t, target, logp), uae_ad_mul(t, one_m_t, log1mp));
    return per_sample(t, uae_ad_affine(t, sum, -1.0f, 0.0f), UAE_REDUCE_MEAN);
}

uae_var *uae_loss_softmax_ce(uae_tape *t, uae_var *logits, uae_var *onehot) {
    uae_var *lsm = uae_ad_softmax(t, logits, true);
    return per_sample(t, uae_ad_affine(t, uae_ad_mul(t, lsm, onehot), -1.0f, 0.0f), UAE_REDUCE_SUM);
}

uae_var *uae_loss_kl_sparsity(uae_tape *t, uae_var *hidden, float rho) {
    /* KL(rho || q) = rho log(rho/q) + (1-rho) log((1-rho)/(1-q)), q = mean activation per unit,
     * summed over units. The constant parts rho log rho + (1-rho) log(1-rho) are added so the
     * value is the true KL (zero when q = rho). */
    const uae_tensor *H = uae_ad_value(hidden);
    if (!H) return NULL;
    uae_var *q = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x1, hidden);            /* (1, units) */
    q = uae_ad_clamp(t, q, 1e-7f, 1.0f - 1e-7f);
    uae_var *a = uae_ad_affine(t, uae_ad_unary(t, UAE_UNARY_LOG, 0, 0, q), -rho, 0.0f);
    uae_var *b = uae_ad_affine(t, uae_ad_unary(t, UAE_UNARY_LOG, 0, 0, uae_ad_affine(t, q, -1.0f, 1.0f)),
                               -(1.0f - rho), 0.0f);
    float c = rho * logf(rho) + (1.0f - rho) * logf(1.0f - rho);
    uae_var *kl = uae_ad_affine(t, uae_ad_add(t, a, b), 1.0f, c);
    return uae_ad_reshape(t, uae_ad_reduce(t, UAE_REDUCE_SUM, 0x3, kl), 1, (int64_t[]){1});
}

uae_var *uae_loss_l1(uae_tape *t, uae_var *x) {
    return per_sample(t, uae_ad_unary(t, UAE_UNARY_ABS, 0, 0, x), UAE_REDUCE_SUM);
}

uae_var *uae_loss_cw_margin(uae_tape *t, uae_var *logits, const uae_tensor *onehot, bool targeted,
                            float kappa) {
    /* z_y = sum(z * onehot); the best other class = max(z - 1e9 * onehot) (the marked class is
     * pushed far below every other). */
    uae_var *oh = uae_ad_const(t, onehot);
    uae_var *zy = uae_ad_reduce(t, UAE_REDUCE_SUM, 0x2, uae_ad_mul(t, logits, oh));     /* (B,1) */
    uae_var *masked = uae_ad_sub(t, logits, uae_ad_affine(t, oh, 1e9f, 0.0f));
    uae_var *other = uae_ad_reduce(t, UAE_REDUCE_MAX, 0x2, masked);                     /* (B,1) */
    uae_var *f = targeted ? uae_ad_sub(t, other, zy) : uae_ad_sub(t, zy, other);
    /* max(f, -kappa) = relu(f + kappa) - kappa */
    uae_var *m = uae_ad_affine(t, uae_ad_unary(t, UAE_UNARY_RELU, 0, 0, uae_ad_affine(t, f, 1.0f, kappa)),
                               1.0f, -kappa);
    if (!m) return NULL;
    return uae_ad_reshape(t, m, 1, (int64_t[]){uae_ad_value(m)->shape[0]});
}

uae_var *uae_loss_nt_xent(uae_tape *t, uae_var *z, float tau) {
    /* z_i <- z_i / |z_i|; s_ij = z_i . z_j / tau with s_ii masked out; the loss of row i is the
     * cross-entropy of its row softmax against its positive partner (i + N mod 2N). */
    const uae_tensor *Z = uae_ad_value(z);
    if (!Z) return NULL;
    int64_t n2 = Z->shape[0];
    if (n2 % 2) return uae_tape_fail(t, uae_fail(UAE_ERR_SHAPE, "nt-xent: %lld rows, expected 2N",
                                                 (long long)n2));
    uae_var *norm2 = uae_ad_reduce(t, UAE_REDUCE_SUM, 0x2, uae_ad_unary(t, UAE_UNARY_SQUARE, 0, 0, z));
    uae_var *inv = uae_ad_unary(t, UAE_UNARY_RECIP, 0, 0,
                                uae_ad_unary(t, UAE_UNARY_SQRT, 0, 0, uae_ad_affine(t, norm2, 1.0f, 1e-12f)));
    uae_var *zn = uae_ad_mul(t, z, inv);
    uae_var *sim = uae_ad_affine(t, uae_ad_matmul(t, zn, zn, false, true), 1.0f / tau, 0.0f);
    /* constants: -1e9 on the diagonal; one-hot of the positive partner */
    uae_var *diag = uae_ad_new_const(t, 2, (int64_t[]){n2, n2});
    uae_var *pos = uae_ad_new_const(t, 2, (int64_t[]){n2, n2});
    if (!diag || !pos) return NULL;
    float *hd = calloc((size_t)(n2 * n2), sizeof(float)), *hp = calloc((size_t)(n2 * n2), sizeof(float));
    if (!hd || !hp) {
        free(hd);
        free(hp);
        return uae_tape_fail(t, uae_fail(UAE_ERR_NOMEM, "nt-xent: out of host memory"));
    }
    for (int64_t i = 0; i < n2; i++) {
        hd[i * n2 + i] = -1e9f;
        hp[i * n2 + (i + n2 / 2) % n2] = 1.0f;
    }
    uae_status st = uae_tensor_write(uae_ad_value(diag), hd);
    if (st == UAE_OK) st = uae_tensor_write(uae_ad_value(pos), hp);
    free(hd);
    free(hp);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    uae_var *lsm = uae_ad_softmax(t, uae_ad_add(t, sim, diag), true);
    return per_sample(t, uae_ad_affine(t, uae_ad_mul(t, lsm, pos), -1.0f, 0.0f), UAE_REDUCE_SUM);
}
