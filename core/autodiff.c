/* core/autodiff.c — the tape: eager forward ops that record their backward (see uae/autodiff.h).
 *
 * Why a tape and not a graph: the models here are straight-line code run once per step, and the
 * attack differentiates the same code with respect to other leaves; a tape records exactly what
 * ran, needs no graph building or scheduling, and its backward is one loop over an array.
 * Each node stores its inputs, output and the few parameters its backward rule needs. */
#include "uae/autodiff.h"

#include <stdlib.h>
#include <string.h>

typedef enum ad_kind {
    AD_LEAF, AD_MATMUL, AD_BINARY, AD_UNARY, AD_CONV, AD_MAXPOOL, AD_UPSAMPLE, AD_REDUCE,
    AD_SOFTMAX, AD_RESHAPE, AD_GATHER, AD_MINE, AD_CLAMP, AD_CONCAT, AD_SLICE,
} ad_kind;

struct uae_var {
    uae_tensor val;
    uae_tensor grad;     /* valid when has_grad */
    bool requires_grad;  /* some leaf below it wants a gradient */
    bool has_grad;       /* grad holds a (partial) gradient */
    bool external;       /* grad is the caller's tensor (a leaf's destination) */
    bool borrowed;       /* grad is a view of another variable's gradient: never written; a
                          * later contribution makes the sum in a tensor of the variable's own */
    int uses;            /* recorded nodes that take it as an input */
    struct uae_var *reshape_of; /* a reshape's input (recorded reshapes only) */
    bool in_leaf_grad;   /* grad is a view of reshape_of's external gradient (writes_leaf_grad) */
    struct uae_var *slice_of;   /* a part of uae_ad_split: the split variable */
    int64_t slice_first;        /* its first row in slice_of */
    bool in_slice_grad;  /* grad is the view of slice_of's gradient at the part's rows */
    int split_parts;     /* split variables: their parts (each one use) */
};

typedef struct node {
    ad_kind kind;
    uae_var *in[3];
    uae_var *out;
    union {
        struct { bool ta, tb; } mm;
        uae_binary_fn bin;
        uae_unary_params un;
        uae_conv_params conv;
        uae_reduce_params red;
        bool log;
        uae_mine_kind mine;
        uae_clamp_params clamp;
    } p;
    uae_tensor aux;      /* gather: the index tensor */
} node;

#define VARS_PER_BLOCK 256

typedef struct var_block {
    struct var_block *next;
    uae_var vars[VARS_PER_BLOCK];
} var_block;

struct uae_tape {
    uae_arena *arena;
    node *nodes;
    int nnodes, cap_nodes;
    var_block *blocks;   /* vars live in fixed blocks so that pointers stay valid */
    var_block *cur_block;
    int used_in_block;
    uae_var **leaves;    /* leaves with external gradients, zeroed if unreached */
    int nleaves, cap_leaves;
    uae_status status;
    char errmsg[512];
    bool recording;
    bool defer;              /* in uae_ad_backward_deferred: leaf products are left pending */
    uae_ad_product *pending; /* the products left so far */
    int npending, cap_pending;
};

uae_status uae_tape_create(uae_arena *scratch, uae_tape **out) {
    uae_tape *t = calloc(1, sizeof *t);
    if (!t) return uae_fail(UAE_ERR_NOMEM, "tape: out of host memory");
    t->arena = scratch;
    t->recording = true;
    *out = t;
    return UAE_OK;
}

void uae_tape_free(uae_tape *t) {
    if (!t) return;
    for (var_block *b = t->blocks, *n; b; b = n) {
        n = b->next;
        free(b);
    }
    free(t->nodes);
    free(t->leaves);
    free(t->pending);
    free(t);
}

void uae_tape_reset(uae_tape *t) {
    t->nnodes = 0;
    t->nleaves = 0;
    t->npending = 0;
    t->defer = false;
    t->cur_block = t->blocks;
    t->used_in_block = 0;
    t->status = UAE_OK;
    t->errmsg[0] = '\0';
}

uae_status uae_tape_status(const uae_tape *t) {
    if (t->status != UAE_OK) uae_fail(t->status, "%s", t->errmsg);
    return t->status;
}

void uae_tape_set_recording(uae_tape *t, bool on) { t->recording = on; }

uae_pass uae_pass_begin(uae_tape *t, bool recording) {
    uae_pass p = {.tape = t, .mark = uae_arena_mark(t->arena), .was_recording = t->recording};
    uae_tape_reset(t);
    t->recording = recording;
    return p;
}

void uae_pass_end(uae_pass *p) {
    uae_tape_reset(p->tape);
    uae_arena_reset(p->tape->arena, p->mark);
    p->tape->recording = p->was_recording;
}

const uae_tensor *uae_ad_value(const uae_var *v) { return &v->val; }
const uae_tensor *uae_ad_grad(const uae_var *v) { return v->has_grad ? &v->grad : NULL; }

/* Records the first error; returns NULL so that ops can `return fail(t, st)`. */
static uae_var *fail(uae_tape *t, uae_status st) {
    if (t->status == UAE_OK) {
        t->status = st;
        snprintf(t->errmsg, sizeof t->errmsg, "%s", uae_last_error());
    }
    return NULL;
}

/* Checks that the tape is healthy and every input is present. */
static bool ok(uae_tape *t, const uae_var *a, const uae_var *b) {
    if (t->status != UAE_OK) return false;
    if (!a || !b) {
        fail(t, uae_fail(UAE_ERR_INVALID, "autodiff: an input variable is NULL"));
        return false;
    }
    return true;
}

static uae_var *new_var(uae_tape *t) {
    if (!t->cur_block || t->used_in_block == VARS_PER_BLOCK) {
        var_block *next = t->cur_block ? t->cur_block->next : t->blocks;
        if (!next) {
            next = calloc(1, sizeof *next);
            if (!next) return fail(t, uae_fail(UAE_ERR_NOMEM, "autodiff: out of host memory"));
            if (t->cur_block) t->cur_block->next = next; else t->blocks = next;
        }
        t->cur_block = next;
        t->used_in_block = 0;
    }
    uae_var *v = &t->cur_block->vars[t->used_in_block++];
    memset(v, 0, sizeof *v);
    return v;
}

/* A new variable with a freshly allocated value of the given shape. */
static uae_var *new_output(uae_tape *t, int ndim, const int64_t *shape) {
    uae_var *v = new_var(t);
    if (!v) return NULL;
    uae_status st = uae_arena_tensor(t->arena, ndim, shape, &v->val);
    if (st != UAE_OK) return fail(t, st);
    return v;
}

static uae_var *new_output_like(uae_tape *t, const uae_tensor *like) {
    return new_output(t, like->ndim, like->shape);
}

/* Appends a node for out = kind(in...) if anything needs a gradient; returns out. */
static uae_var *record(uae_tape *t, ad_kind kind, uae_var *out, uae_var *a, uae_var *b, uae_var *c,
                       node **pn) {
    out->requires_grad = (a && a->requires_grad) || (b && b->requires_grad) || (c && c->requires_grad);
    if (pn) *pn = NULL;
    if (!out->requires_grad || !t->recording) return out;
    if (t->nnodes == t->cap_nodes) {
        int nc = t->cap_nodes ? 2 * t->cap_nodes : 64;
        node *ns = realloc(t->nodes, (size_t)nc * sizeof *ns);
        if (!ns) return fail(t, uae_fail(UAE_ERR_NOMEM, "autodiff: out of host memory"));
        t->nodes = ns;
        t->cap_nodes = nc;
    }
    node *n = &t->nodes[t->nnodes++];
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->in[0] = a;
    n->in[1] = b;
    n->in[2] = c;
    n->out = out;
    for (int i = 0; i < 3; i++)
        if (n->in[i]) n->in[i]->uses++;
    if (pn) *pn = n;
    return out;
}

uae_arena *uae_tape_arena(uae_tape *t) { return t->arena; }

uae_var *uae_tape_fail(uae_tape *t, uae_status st) { return fail(t, st); }

uae_var *uae_ad_new_const(uae_tape *t, int ndim, const int64_t *shape) {
    if (t->status != UAE_OK) return NULL;
    return new_output(t, ndim, shape);
}

/* ---- Leaves -------------------------------------------------------------------------------- */

uae_var *uae_ad_const(uae_tape *t, const uae_tensor *value) {
    if (t->status != UAE_OK) return NULL;
    uae_var *v = new_var(t);
    if (!v) return NULL;
    v->val = *value;
    return v;
}

uae_var *uae_ad_leaf(uae_tape *t, const uae_tensor *value, const uae_tensor *grad) {
    if (t->status != UAE_OK) return NULL;
    if (grad && uae_tensor_numel(grad) != uae_tensor_numel(value))
        return fail(t, uae_fail(UAE_ERR_SHAPE, "autodiff leaf: gradient has %lld elements, value %lld",
                                (long long)uae_tensor_numel(grad), (long long)uae_tensor_numel(value)));
    uae_var *v = new_var(t);
    if (!v) return NULL;
    v->val = *value;
    v->requires_grad = true;
    if (grad) {
        v->external = true;
        v->grad = *grad;
        v->grad.ndim = value->ndim;
        memcpy(v->grad.shape, value->shape, sizeof v->grad.shape);
        if (t->nleaves == t->cap_leaves) {
            int nc = t->cap_leaves ? 2 * t->cap_leaves : 32;
            uae_var **ls = realloc(t->leaves, (size_t)nc * sizeof *ls);
            if (!ls) return fail(t, uae_fail(UAE_ERR_NOMEM, "autodiff: out of host memory"));
            t->leaves = ls;
            t->cap_leaves = nc;
        }
        t->leaves[t->nleaves++] = v;
    }
    return v;
}

/* ---- Forward ops --------------------------------------------------------------------------- */

uae_var *uae_ad_matmul(uae_tape *t, uae_var *a, uae_var *b, bool trans_a, bool trans_b) {
    if (!ok(t, a, b)) return NULL;
    const uae_tensor *A = &a->val, *B = &b->val;
    if (A->ndim < 2 || B->ndim < 2)
        return fail(t, uae_fail(UAE_ERR_SHAPE, "matmul: operands need at least 2 dimensions"));
    int64_t bat_b = uae_tensor_numel(B) / (B->shape[B->ndim - 2] * B->shape[B->ndim - 1]);
    int64_t bat_a = uae_tensor_numel(A) / (A->shape[A->ndim - 2] * A->shape[A->ndim - 1]);
    if (bat_a != bat_b && !(bat_b == 1 && !trans_a))
        return fail(t, uae_fail(UAE_ERR_SHAPE, "matmul: batches %lld and %lld: b may be shared "
                                "(batch 1) only when a is not transposed", (long long)bat_a,
                                (long long)bat_b));
    int64_t shape[UAE_MAX_DIMS];
    memcpy(shape, A->shape, sizeof shape);
    int nd = A->ndim;
    shape[nd - 2] = trans_a ? A->shape[nd - 1] : A->shape[nd - 2];
    shape[nd - 1] = trans_b ? B->shape[B->ndim - 2] : B->shape[B->ndim - 1];
    uae_var *y = new_output(t, nd, shape);
    if (!y) return NULL;
    uae_status st = uae_gemm(trans_a, trans_b, 1.0f, A, B, 0.0f, &y->val);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_MATMUL, y, a, b, NULL, &n);
    if (n) {
        n->p.mm.ta = trans_a;
        n->p.mm.tb = trans_b;
    }
    return y;
}

uae_var *uae_ad_binary(uae_tape *t, uae_binary_fn fn, uae_var *a, uae_var *b) {
    if (!ok(t, a, b)) return NULL;
    uae_var *y = new_output_like(t, &a->val);
    if (!y) return NULL;
    uae_status st = uae_binary(fn, &a->val, &b->val, &y->val);
    if (st != UAE_OK) return fail(t, st);
    if (fn == UAE_BINARY_MAX || fn == UAE_BINARY_MIN) {
        if (a->requires_grad || b->requires_grad)
            return fail(t, uae_fail(UAE_ERR_UNSUPPORTED, "autodiff: max/min have no gradient here"));
        return y;
    }
    node *n;
    y = record(t, AD_BINARY, y, a, b, NULL, &n);
    if (n) n->p.bin = fn;
    return y;
}

uae_var *uae_ad_add(uae_tape *t, uae_var *a, uae_var *b) { return uae_ad_binary(t, UAE_BINARY_ADD, a, b); }
uae_var *uae_ad_sub(uae_tape *t, uae_var *a, uae_var *b) { return uae_ad_binary(t, UAE_BINARY_SUB, a, b); }
uae_var *uae_ad_mul(uae_tape *t, uae_var *a, uae_var *b) { return uae_ad_binary(t, UAE_BINARY_MUL, a, b); }

uae_var *uae_ad_unary(uae_tape *t, uae_unary_fn fn, float alpha, float beta, uae_var *x) {
    if (!ok(t, x, x)) return NULL;
    uae_var *y = new_output_like(t, &x->val);
    if (!y) return NULL;
    uae_status st = uae_unary(fn, alpha, beta, &x->val, &y->val);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_UNARY, y, x, NULL, NULL, &n);
    if (n) n->p.un = (uae_unary_params){fn, alpha, beta};
    return y;
}

uae_var *uae_ad_affine(uae_tape *t, uae_var *x, float alpha, float beta) {
    return uae_ad_unary(t, UAE_UNARY_AFFINE, alpha, beta, x);
}

uae_var *uae_ad_conv2d(uae_tape *t, uae_var *x, uae_var *w, uae_var *bias,
                       const uae_conv_params *p) {
    if (!ok(t, x, w)) return NULL;
    const uae_tensor *X = &x->val, *W = &w->val;
    if (X->ndim != 4 || W->ndim != 4)
        return fail(t, uae_fail(UAE_ERR_SHAPE, "conv2d: x and w need 4 dimensions"));
    int g = p->wsets < 1 ? 1 : p->wsets;
    int64_t oh = (X->shape[2] + 2 * p->pad_h - W->shape[2]) / p->stride_h + 1;
    int64_t ow = (X->shape[3] + 2 * p->pad_w - W->shape[3]) / p->stride_w + 1;
    uae_var *y = new_output(t, 4, (int64_t[]){X->shape[0], W->shape[0] / g, oh, ow});
    if (!y) return NULL;
    uae_op op = {.kind = UAE_OP_CONV2D, .src = {X, W, bias ? &bias->val : NULL}, .dst = {&y->val}};
    op.p.conv = *p;
    op.p.conv.wsets = g;
    uae_status st = uae_op_run(&op);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_CONV, y, x, w, bias, &n);
    if (n) n->p.conv = op.p.conv;
    return y;
}

static uae_var *pool_like(uae_tape *t, uae_var *x, uae_op_kind kind, ad_kind ak) {
    if (!ok(t, x, x)) return NULL;
    const uae_tensor *X = &x->val;
    if (X->ndim != 4) return fail(t, uae_fail(UAE_ERR_SHAPE, "%s: x needs 4 dimensions", uae_op_name(kind)));
    bool up = kind == UAE_OP_UPSAMPLE2;
    int64_t h = up ? 2 * X->shape[2] : X->shape[2] / 2, w = up ? 2 * X->shape[3] : X->shape[3] / 2;
    uae_var *y = new_output(t, 4, (int64_t[]){X->shape[0], X->shape[1], h, w});
    if (!y) return NULL;
    uae_op op = {.kind = kind, .src = {X}, .dst = {&y->val}};
    uae_status st = uae_op_run(&op);
    if (st != UAE_OK) return fail(t, st);
    return record(t, ak, y, x, NULL, NULL, NULL);
}

uae_var *uae_ad_maxpool2(uae_tape *t, uae_var *x) { return pool_like(t, x, UAE_OP_MAXPOOL2, AD_MAXPOOL); }
uae_var *uae_ad_upsample2(uae_tape *t, uae_var *x) { return pool_like(t, x, UAE_OP_UPSAMPLE2, AD_UPSAMPLE); }

uae_var *uae_ad_reduce(uae_tape *t, uae_reduce_fn fn, unsigned axes, uae_var *x) {
    if (!ok(t, x, x)) return NULL;
    uae_tensor shape = x->val;
    for (int d = 0; d < shape.ndim; d++)
        if (axes >> d & 1) shape.shape[d] = 1;
    uae_var *y = new_output_like(t, &shape);
    if (!y) return NULL;
    uae_status st = uae_reduce(fn, axes, &x->val, &y->val);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_REDUCE, y, x, NULL, NULL, &n);
    if (n) n->p.red = (uae_reduce_params){fn, axes};
    return y;
}

uae_var *uae_ad_clamp(uae_tape *t, uae_var *x, float lo, float hi) {
    if (!ok(t, x, x)) return NULL;
    uae_var *y = new_output_like(t, &x->val);
    if (!y) return NULL;
    uae_status st = uae_clamp(&x->val, lo, hi, &y->val);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_CLAMP, y, x, NULL, NULL, &n);
    if (n) n->p.clamp = (uae_clamp_params){lo, hi};
    return y;
}

uae_var *uae_ad_softmax(uae_tape *t, uae_var *x, bool log) {
    if (!ok(t, x, x)) return NULL;
    uae_var *y = new_output_like(t, &x->val);
    if (!y) return NULL;
    uae_op op = {.kind = UAE_OP_SOFTMAX, .src = {&x->val}, .dst = {&y->val}};
    op.p.softmax.log = log;
    uae_status st = uae_op_run(&op);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_SOFTMAX, y, x, NULL, NULL, &n);
    if (n) n->p.log = log;
    return y;
}

uae_var *uae_ad_reshape(uae_tape *t, uae_var *x, int ndim, const int64_t *shape) {
    if (!ok(t, x, x)) return NULL;
    uae_var *y = new_var(t);
    if (!y) return NULL;
    uae_status st = uae_tensor_reshape(&x->val, ndim, shape, &y->val);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_RESHAPE, y, x, NULL, NULL, &n);
    if (n) y->reshape_of = x;
    return y;
}

uae_var *uae_ad_concat(uae_tape *t, uae_var *a, uae_var *b) {
    if (!ok(t, a, b)) return NULL;
    const uae_tensor *A = &a->val, *B = &b->val;
    bool same = A->ndim == B->ndim;
    for (int d = 1; d < A->ndim && same; d++) same = A->shape[d] == B->shape[d];
    if (!same) {
        char sa[64], sb[64];
        return fail(t, uae_fail(UAE_ERR_SHAPE, "concat: %s and %s differ beyond the first dimension",
                                uae_tensor_shape_str(A, sa, sizeof sa),
                                uae_tensor_shape_str(B, sb, sizeof sb)));
    }
    int64_t shape[UAE_MAX_DIMS];
    memcpy(shape, A->shape, sizeof shape);
    shape[0] = A->shape[0] + B->shape[0];
    uae_var *y = new_output(t, A->ndim, shape);
    if (!y) return NULL;
    uae_tensor ya, yb;
    uae_status st = uae_tensor_slice(&y->val, 0, A->shape[0], &ya);
    if (st == UAE_OK) st = uae_tensor_slice(&y->val, A->shape[0], B->shape[0], &yb);
    if (st == UAE_OK) st = uae_tensor_copy(&ya, A);
    if (st == UAE_OK) st = uae_tensor_copy(&yb, B);
    if (st != UAE_OK) return fail(t, st);
    return record(t, AD_CONCAT, y, a, b, NULL, NULL);
}

uae_status uae_ad_split(uae_tape *t, uae_var *x, int parts, uae_var **out) {
    if (!ok(t, x, x)) return uae_tape_status(t);
    int64_t rows = x->val.shape[0];
    if (parts < 1 || rows % parts != 0) {
        fail(t, uae_fail(UAE_ERR_SHAPE, "split: %lld rows into %d equal parts", (long long)rows,
                         parts));
        return uae_tape_status(t);
    }
    for (int k = 0; k < parts; k++) {
        uae_var *y = new_var(t);
        if (!y) return uae_tape_status(t);
        uae_status st = uae_tensor_slice(&x->val, k * (rows / parts), rows / parts, &y->val);
        if (st != UAE_OK) {
            fail(t, st);
            return st;
        }
        node *n;
        x->split_parts++;
        out[k] = y = record(t, AD_SLICE, y, x, NULL, NULL, &n);
        if (n) {
            y->slice_of = x;
            y->slice_first = k * (rows / parts);
        }
    }
    return UAE_OK;
}

uae_var *uae_ad_gather_rows(uae_tape *t, uae_var *x, const uae_tensor *idx) {
    if (!ok(t, x, x)) return NULL;
    const uae_tensor *X = &x->val;
    if (X->ndim != 3 || idx->ndim != 2)
        return fail(t, uae_fail(UAE_ERR_SHAPE, "gather_rows: x needs 3 dimensions, idx 2"));
    uae_var *y = new_output(t, 3, (int64_t[]){X->shape[0], idx->shape[1], X->shape[2]});
    if (!y) return NULL;
    uae_op op = {.kind = UAE_OP_GATHER_ROWS, .src = {X, idx}, .dst = {&y->val}};
    uae_status st = uae_op_run(&op);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_GATHER, y, x, NULL, NULL, &n);
    if (n) n->aux = *idx;
    return y;
}

uae_var *uae_ad_mine_bound(uae_tape *t, uae_mine_kind kind, uae_var *t_joint, uae_var *t_marg) {
    if (!ok(t, t_joint, t_marg)) return NULL;
    uae_var *y = new_output(t, 1, (int64_t[]){t_joint->val.shape[0]});
    if (!y) return NULL;
    uae_op op = {.kind = UAE_OP_MINE_BOUND, .src = {&t_joint->val, &t_marg->val}, .dst = {&y->val}};
    op.p.mine.kind = kind;
    uae_status st = uae_op_run(&op);
    if (st != UAE_OK) return fail(t, st);
    node *n;
    y = record(t, AD_MINE, y, t_joint, t_marg, NULL, &n);
    if (n) n->p.mine = kind;
    return y;
}

/* ---- Backward ------------------------------------------------------------------------------
 * Gradients accumulate: the first contribution to a variable's gradient is written, later ones
 * are added. grad_dst() hands out the tensor a backward op should write: the gradient itself
 * (with *beta = 1 to accumulate, for ops that can) or a scratch tensor that add_into() adds. */

typedef struct gslot {
    uae_tensor dst;   /* where to write this contribution */
    bool add_after;   /* dst is scratch: add it into v->grad afterwards */
    float beta;       /* for ops that accumulate themselves: 0 first time, 1 after */
} gslot;

/* Whether v is a reshape of a leaf with an external gradient that takes no other input's
 * contributions (its one use is this reshape) and has none yet: then v's gradient can be a view of
 * the leaf's tensor, and the reshape's backward has nothing to copy. (A model's parameters, kept
 * flat, are reshaped like that: a bias (S, k) to (S, 1, k).) */
static bool writes_leaf_grad(const uae_var *v) {
    const uae_var *x = v->reshape_of;
    return !v->has_grad && x && x->external && !x->has_grad && x->uses == 1;
}

/* A part of uae_ad_split: makes sure the split variable's gradient exists (the parts write it;
 * its producer reads it only after every part's node ran backward). */
static uae_status split_grad(uae_tape *t, uae_var *x) {
    if (x->uses != x->split_parts)
        return uae_fail(UAE_ERR_INVALID, "autodiff split: the split variable has %d uses besides "
                        "its %d parts", x->uses - x->split_parts, x->split_parts);
    if (!x->has_grad && !x->external) UAE_TRY(uae_arena_tensor(t->arena, x->val.ndim, x->val.shape, &x->grad));
    x->has_grad = true;
    return UAE_OK;
}

/* The view of a part's rows in the split variable's gradient. */
static uae_status slice_view(uae_var *v, uae_tensor *out) {
    uae_tensor rows;
    UAE_TRY(uae_tensor_slice(&v->slice_of->grad, v->slice_first, v->val.shape[0], &rows));
    return uae_tensor_reshape(&rows, v->val.ndim, v->val.shape, out);
}

/* A tensor of v's shape for v's own gradient: for a part of a split, the first time, its rows of
 * the split variable's gradient (which then need no copy there); else scratch. */
static uae_status own_tensor(uae_tape *t, uae_var *v, uae_tensor *out) {
    if (v->slice_of && !v->in_slice_grad) {
        UAE_TRY(split_grad(t, v->slice_of));
        UAE_TRY(slice_view(v, out));
        v->in_slice_grad = true;
        return UAE_OK;
    }
    return uae_arena_tensor(t->arena, v->val.ndim, v->val.shape, out);
}

static uae_status grad_dst(uae_tape *t, uae_var *v, bool op_can_accumulate, gslot *s) {
    memset(s, 0, sizeof *s);
    if (writes_leaf_grad(v)) {
        UAE_TRY(uae_tensor_reshape(&v->reshape_of->grad, v->val.ndim, v->val.shape, &v->grad));
        v->has_grad = v->in_leaf_grad = v->reshape_of->has_grad = true;
        s->dst = v->grad;
        return UAE_OK;
    }
    if (!v->has_grad) {
        if (!v->external) UAE_TRY(own_tensor(t, v, &v->grad));
        v->has_grad = true;
        s->dst = v->grad;
        return UAE_OK;
    }
    if (v->borrowed && op_can_accumulate) {
        /* An op that adds into its destination (beta = 1) adds in its own order: it gets a copy
         * to add into, which gives the bits it would have given had the gradient been copied
         * when it was borrowed. */
        uae_tensor own;
        UAE_TRY(own_tensor(t, v, &own));
        UAE_TRY(uae_tensor_copy(&own, &v->grad));
        v->grad = own;
        v->borrowed = false;
    }
    if (op_can_accumulate) {
        s->dst = v->grad;
        s->beta = 1.0f;
        return UAE_OK;
    }
    s->add_after = true;
    return uae_arena_tensor(t->arena, v->val.ndim, v->val.shape, &s->dst);
}

static uae_status add_into(uae_tape *t, uae_var *v, const gslot *s) {
    if (!s->add_after) return UAE_OK;
    if (!v->borrowed) return uae_binary(UAE_BINARY_ADD, &v->grad, &s->dst, &v->grad);
    /* out of place: the sum goes into the contribution's scratch, which becomes v's own (a
     * split's part: into its rows of the split variable's gradient) */
    uae_tensor own = s->dst;
    if (v->slice_of && !v->in_slice_grad) UAE_TRY(own_tensor(t, v, &own));
    UAE_TRY(uae_binary(UAE_BINARY_ADD, &v->grad, &s->dst, &own));
    v->grad = own;
    v->borrowed = false;
    return UAE_OK;
}

/* The mask of dimensions along which b was broadcast to a's shape. */
static unsigned broadcast_axes(const uae_tensor *a, const uae_tensor *b) {
    unsigned axes = 0;
    for (int d = 0; d < a->ndim; d++)
        if (b->shape[d] == 1 && a->shape[d] != 1) axes |= 1u << d;
    return axes;
}

/* Makes `src` v's gradient, as a view, when it is v's first contribution and v's gradient is the
 * tape's own (not a leaf's external tensor): what grad_dst and a copy would give, without the
 * copy. owned: src is a scratch result no one else reads, which becomes v's own; else src is
 * borrowed (another variable's gradient, which v then never writes). Returns whether it did. */
static bool take_as_grad(uae_var *v, const uae_tensor *src, bool owned) {
    if (v->has_grad || v->external || writes_leaf_grad(v)) return false;
    uae_tensor view;
    if (uae_tensor_reshape(src, v->val.ndim, v->val.shape, &view) != UAE_OK) return false;
    v->grad = view;
    v->has_grad = true;
    v->borrowed = !owned;
    return true;
}

/* Adds `full` (shape of the output) into v's gradient, summing over the dimensions along which v
 * was broadcast. A first contribution that needs no sum is taken as v's gradient (take_as_grad;
 * owned: full is a scratch result no one else reads). */
static uae_status accumulate_reduced(uae_tape *t, uae_var *v, const uae_tensor *full,
                                     bool owned) {
    unsigned axes = broadcast_axes(full, &v->val);
    if (!axes && take_as_grad(v, full, owned)) return UAE_OK;
    if (!axes && v->has_grad) {
        /* grad + full: one op (out of place if the gradient is borrowed) */
        if (!v->borrowed) return uae_binary(UAE_BINARY_ADD, &v->grad, full, &v->grad);
        uae_tensor own;
        UAE_TRY(own_tensor(t, v, &own));
        UAE_TRY(uae_binary(UAE_BINARY_ADD, &v->grad, full, &own));
        v->grad = own;
        v->borrowed = false;
        return UAE_OK;
    }
    gslot s;
    UAE_TRY(grad_dst(t, v, false, &s));
    if (axes) UAE_TRY(uae_reduce(UAE_REDUCE_SUM, axes, full, &s.dst));
    else UAE_TRY(uae_tensor_copy(&s.dst, full));
    return add_into(t, v, &s);
}

static uae_status scratch_like(uae_tape *t, const uae_tensor *like, uae_tensor *out) {
    return uae_arena_tensor(t->arena, like->ndim, like->shape, out);
}

/* Whether the gradient of b, a matrix product's second operand, is left pending: in a deferred
 * backward, a leaf with the caller's gradient tensor whose only use is this product, so that the
 * product is its whole gradient. */
static bool defers(const uae_tape *t, const uae_var *b) {
    return t->defer && b->external && !b->has_grad && b->uses == 1;
}

/* Keeps b's gradient as the product pr (uae_ad_backward_deferred). */
static uae_status pend(uae_tape *t, uae_var *b, uae_ad_product *pr) {
    if (t->npending == t->cap_pending) {
        int nc = t->cap_pending ? 2 * t->cap_pending : 8;
        uae_ad_product *ps = realloc(t->pending, (size_t)nc * sizeof *ps);
        if (!ps) return uae_fail(UAE_ERR_NOMEM, "autodiff: out of host memory");
        t->pending = ps;
        t->cap_pending = nc;
    }
    pr->grad = b->grad;
    t->pending[t->npending++] = *pr;
    b->has_grad = true; /* it has one, as a product: not zeroed as unreached */
    return UAE_OK;
}

static uae_status back_matmul(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *a = n->in[0], *b = n->in[1];
    bool ta = n->p.mm.ta, tb = n->p.mm.tb;
    const uae_tensor *A = &a->val, *B = &b->val;
    if (a->requires_grad) {
        /* C = op(A) op(B). dA = dC op(B)^T, or its transpose when A was transposed:
         *   ta=0: dA = dC op(B)^T      ta=1: dA = op(B) dC^T */
        gslot s;
        UAE_TRY(grad_dst(t, a, true, &s));
        if (!ta) UAE_TRY(uae_gemm(false, !tb, 1.0f, dy, B, s.beta, &s.dst));
        else UAE_TRY(uae_gemm(tb, true, 1.0f, B, dy, s.beta, &s.dst));
        UAE_TRY(add_into(t, a, &s));
    }
    if (b->requires_grad) {
        /*   tb=0: dB = op(A)^T dC      tb=1: dB = dC^T op(A)
         * A shared B (batch 1) is the sum over a's batches: fold the batch into the rows. */
        const uae_tensor *AA = A, *DY = dy;
        uae_tensor a2, dy2;
        int64_t bat_b = uae_tensor_numel(B) / (B->shape[B->ndim - 2] * B->shape[B->ndim - 1]);
        if (bat_b == 1 && A->ndim > 2) {
            int64_t k = A->shape[A->ndim - 1], nn = dy->shape[dy->ndim - 1];
            UAE_TRY(uae_tensor_reshape(A, 2, (int64_t[]){uae_tensor_numel(A) / k, k}, &a2));
            UAE_TRY(uae_tensor_reshape(dy, 2, (int64_t[]){uae_tensor_numel(dy) / nn, nn}, &dy2));
            AA = &a2;
            DY = &dy2;
        }
        /* the product, as (trans_a, trans_b, a, b) of uae_gemm */
        uae_ad_product pr = {.trans_a = !tb ? !ta : true, .trans_b = !tb ? false : ta,
                             .a = !tb ? *AA : *DY, .b = !tb ? *DY : *AA};
        if (defers(t, b)) return pend(t, b, &pr);
        gslot s;
        UAE_TRY(grad_dst(t, b, true, &s));
        UAE_TRY(uae_gemm(pr.trans_a, pr.trans_b, 1.0f, &pr.a, &pr.b, s.beta, &s.dst));
        UAE_TRY(add_into(t, b, &s));
    }
    return UAE_OK;
}

static uae_status back_binary(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *a = n->in[0], *b = n->in[1];
    uae_tensor tmp;
    switch (n->p.bin) {
    case UAE_BINARY_ADD:
    case UAE_BINARY_SUB:
        /* dy is the output's gradient, which uae_ad_grad still shows after backward: the inputs
         * borrow it (a later contribution to them is summed out of place); a negated copy of
         * it is b's own. */
        if (a->requires_grad) UAE_TRY(accumulate_reduced(t, a, dy, false));
        if (b->requires_grad) {
            bool own = false;
            if (n->p.bin == UAE_BINARY_SUB) {
                UAE_TRY(scratch_like(t, dy, &tmp));
                UAE_TRY(uae_unary(UAE_UNARY_AFFINE, -1.0f, 0.0f, dy, &tmp));
                dy = &tmp;
                own = true;
            }
            UAE_TRY(accumulate_reduced(t, b, dy, own));
        }
        return UAE_OK;
    case UAE_BINARY_MUL:
        /* d(a*b) = b da + a db */
        if (a->requires_grad) {
            UAE_TRY(scratch_like(t, dy, &tmp));
            UAE_TRY(uae_binary(UAE_BINARY_MUL, dy, &b->val, &tmp));
            UAE_TRY(accumulate_reduced(t, a, &tmp, true));
        }
        if (b->requires_grad) {
            UAE_TRY(scratch_like(t, dy, &tmp));
            UAE_TRY(uae_binary(UAE_BINARY_MUL, dy, &a->val, &tmp)); /* a has dy's shape */
            UAE_TRY(accumulate_reduced(t, b, &tmp, true));
        }
        return UAE_OK;
    case UAE_BINARY_DIV:
        /* y = a/b: da = dy/b, db = -dy*a/b^2 = -dy*y/b */
        if (a->requires_grad) {
            UAE_TRY(scratch_like(t, dy, &tmp));
            UAE_TRY(uae_binary(UAE_BINARY_DIV, dy, &b->val, &tmp));
            UAE_TRY(accumulate_reduced(t, a, &tmp, true));
        }
        if (b->requires_grad) {
            UAE_TRY(scratch_like(t, dy, &tmp));
            UAE_TRY(uae_binary(UAE_BINARY_MUL, dy, &n->out->val, &tmp));
            UAE_TRY(uae_binary(UAE_BINARY_DIV, &tmp, &b->val, &tmp));
            UAE_TRY(uae_unary(UAE_UNARY_AFFINE, -1.0f, 0.0f, &tmp, &tmp));
            UAE_TRY(accumulate_reduced(t, b, &tmp, true));
        }
        return UAE_OK;
    default: return uae_fail(UAE_ERR_UNSUPPORTED, "autodiff: no gradient for this binary op");
    }
}

static uae_status back_unary(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *x = n->in[0];
    gslot s;
    UAE_TRY(grad_dst(t, x, false, &s));
    uae_op op = {.kind = UAE_OP_UNARY_BWD, .src = {&x->val, &n->out->val, dy}, .dst = {&s.dst}};
    op.p.unary = n->p.un;
    UAE_TRY(uae_op_run(&op));
    return add_into(t, x, &s);
}

static uae_status back_conv(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *x = n->in[0], *w = n->in[1], *bias = n->in[2];
    if (x->requires_grad) {
        gslot s;
        UAE_TRY(grad_dst(t, x, true, &s));
        uae_op op = {.kind = UAE_OP_CONV2D_BWD_DATA, .src = {dy, &w->val}, .dst = {&s.dst}};
        op.p.conv = n->p.conv;
        op.p.conv.beta = s.beta;
        UAE_TRY(uae_op_run(&op));
        UAE_TRY(add_into(t, x, &s));
    }
    bool want_b = bias && bias->requires_grad;
    if (w->requires_grad || want_b) {
        /* The op computes dw and db together with one beta; keep them in step by giving each the
         * same treatment (scratch if either already holds a gradient). */
        gslot sw, sb;
        uae_tensor wtmp;
        bool w_new = w->requires_grad && !w->has_grad, b_new = want_b && !bias->has_grad;
        if (w->requires_grad) UAE_TRY(grad_dst(t, w, true, &sw));
        else { UAE_TRY(scratch_like(t, &w->val, &wtmp)); sw = (gslot){wtmp, false, 0.0f}; }
        if (want_b) UAE_TRY(grad_dst(t, bias, true, &sb));
        float beta = 0.0f;
        if (w->requires_grad && want_b && (w_new != b_new)) {
            /* one is fresh, the other accumulates: use scratch for the accumulating one */
            if (!w_new) { UAE_TRY(scratch_like(t, &w->val, &sw.dst)); sw.add_after = true; }
            if (!b_new) { UAE_TRY(scratch_like(t, &bias->val, &sb.dst)); sb.add_after = true; }
        } else {
            beta = w->requires_grad ? sw.beta : sb.beta;
        }
        uae_op op = {.kind = UAE_OP_CONV2D_BWD_WEIGHT, .src = {&x->val, dy},
                     .dst = {&sw.dst, want_b ? &sb.dst : NULL}};
        op.p.conv = n->p.conv;
        op.p.conv.beta = beta;
        UAE_TRY(uae_op_run(&op));
        if (w->requires_grad) UAE_TRY(add_into(t, w, &sw));
        if (want_b) UAE_TRY(add_into(t, bias, &sb));
    }
    return UAE_OK;
}

static uae_status back_pool(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *x = n->in[0];
    gslot s;
    UAE_TRY(grad_dst(t, x, false, &s));
    uae_op op;
    if (n->kind == AD_MAXPOOL)
        op = (uae_op){.kind = UAE_OP_MAXPOOL2_BWD, .src = {&x->val, dy}, .dst = {&s.dst}};
    else
        op = (uae_op){.kind = UAE_OP_UPSAMPLE2_BWD, .src = {dy}, .dst = {&s.dst}};
    UAE_TRY(uae_op_run(&op));
    return add_into(t, x, &s);
}

/* Number of elements reduced into each output element. */
static int64_t reduced_count(const uae_tensor *x, unsigned axes) {
    int64_t c = 1;
    for (int d = 0; d < x->ndim; d++)
        if (axes >> d & 1) c *= x->shape[d];
    return c;
}

static uae_status back_reduce(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *x = n->in[0];
    const uae_tensor *X = &x->val, *Y = &n->out->val;
    uae_tensor tmp;
    UAE_TRY(scratch_like(t, X, &tmp));
    switch (n->p.red.fn) {
    case UAE_REDUCE_SUM:
    case UAE_REDUCE_MEAN:
        /* every input element gets dy (divided by the count for the mean): broadcast by adding
         * dy to zeros. */
        UAE_TRY(uae_fill(&tmp, 0.0f));
        UAE_TRY(uae_binary(UAE_BINARY_ADD, &tmp, dy, &tmp));
        if (n->p.red.fn == UAE_REDUCE_MEAN)
            UAE_TRY(uae_unary(UAE_UNARY_AFFINE, 1.0f / (float)reduced_count(X, n->p.red.axes), 0.0f,
                              &tmp, &tmp));
        break;
    case UAE_REDUCE_MAX:
        /* The gradient goes to the elements equal to the maximum: x - max is exactly 0 there and
         * negative elsewhere, so STEP(x - max > -1e-30) is the mask. */
        UAE_TRY(uae_binary(UAE_BINARY_SUB, X, Y, &tmp));
        UAE_TRY(uae_unary(UAE_UNARY_STEP, -1e-30f, 0, &tmp, &tmp));
        UAE_TRY(uae_binary(UAE_BINARY_MUL, &tmp, dy, &tmp));
        break;
    case UAE_REDUCE_LSE:
    case UAE_REDUCE_LME:
        /* d lse / dx = exp(x - lse) (a softmax); lme = lse - log(count), so exp(x - lme)/count. */
        UAE_TRY(uae_binary(UAE_BINARY_SUB, X, Y, &tmp));
        UAE_TRY(uae_unary(UAE_UNARY_EXP, 0, 0, &tmp, &tmp));
        if (n->p.red.fn == UAE_REDUCE_LME)
            UAE_TRY(uae_unary(UAE_UNARY_AFFINE, 1.0f / (float)reduced_count(X, n->p.red.axes), 0.0f,
                              &tmp, &tmp));
        UAE_TRY(uae_binary(UAE_BINARY_MUL, &tmp, dy, &tmp));
        break;
    default: return uae_fail(UAE_ERR_UNSUPPORTED, "autodiff: no gradient for this reduction");
    }
    if (take_as_grad(x, &tmp, true)) return UAE_OK; /* tmp is this node's scratch */
    gslot s;
    UAE_TRY(grad_dst(t, x, false, &s));
    UAE_TRY(uae_tensor_copy(&s.dst, &tmp));
    return add_into(t, x, &s);
}

static uae_status back_softmax(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *x = n->in[0];
    const uae_tensor *Y = &n->out->val;
    int last = 1u << (Y->ndim - 1);
    uae_tensor rowshape = *Y, sum, tmp;
    rowshape.shape[Y->ndim - 1] = 1;
    UAE_TRY(scratch_like(t, &rowshape, &sum));
    UAE_TRY(scratch_like(t, Y, &tmp));
    gslot s;
    UAE_TRY(grad_dst(t, x, false, &s));
    if (n->p.log) {
        /* y = x - lse(x): dx = dy - softmax(x) * sum(dy), softmax(x) = exp(y) */
        UAE_TRY(uae_reduce(UAE_REDUCE_SUM, (unsigned)last, dy, &sum));
        UAE_TRY(uae_unary(UAE_UNARY_EXP, 0, 0, Y, &tmp));
        UAE_TRY(uae_binary(UAE_BINARY_MUL, &tmp, &sum, &tmp));
        UAE_TRY(uae_binary(UAE_BINARY_SUB, dy, &tmp, &s.dst));
    } else {
        /* y = softmax(x): dx = y * (dy - sum(dy * y)) */
        UAE_TRY(uae_binary(UAE_BINARY_MUL, dy, Y, &tmp));
        UAE_TRY(uae_reduce(UAE_REDUCE_SUM, (unsigned)last, &tmp, &sum));
        UAE_TRY(uae_binary(UAE_BINARY_SUB, dy, &sum, &tmp));
        UAE_TRY(uae_binary(UAE_BINARY_MUL, &tmp, Y, &s.dst));
    }
    return add_into(t, x, &s);
}

static uae_status back_clamp(uae_tape *t, node *n, const uae_tensor *dy) {
    /* dx = dy where lo < x < hi: two step masks, (x > lo) and (-x > -hi). */
    uae_var *x = n->in[0];
    uae_tensor m1, m2;
    UAE_TRY(scratch_like(t, dy, &m1));
    UAE_TRY(scratch_like(t, dy, &m2));
    UAE_TRY(uae_unary(UAE_UNARY_STEP, n->p.clamp.lo, 0, &x->val, &m1));
    UAE_TRY(uae_unary(UAE_UNARY_AFFINE, -1.0f, 0, &x->val, &m2));
    UAE_TRY(uae_unary(UAE_UNARY_STEP, -n->p.clamp.hi, 0, &m2, &m2));
    UAE_TRY(uae_binary(UAE_BINARY_MUL, &m1, &m2, &m1));
    gslot s;
    UAE_TRY(grad_dst(t, x, false, &s));
    UAE_TRY(uae_binary(UAE_BINARY_MUL, dy, &m1, &s.dst));
    return add_into(t, x, &s);
}

static uae_status back_reshape(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *x = n->in[0];
    if (n->out->in_leaf_grad) return UAE_OK; /* the gradient is already the leaf's */
    uae_tensor view;
    UAE_TRY(uae_tensor_reshape(dy, x->val.ndim, x->val.shape, &view));
    if (take_as_grad(x, &view, false)) return UAE_OK; /* dy is the output's: borrowed */
    gslot s;
    UAE_TRY(grad_dst(t, x, false, &s));
    UAE_TRY(uae_tensor_copy(&s.dst, &view));
    return add_into(t, x, &s);
}

static uae_status back_gather(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *x = n->in[0];
    gslot s;
    UAE_TRY(grad_dst(t, x, false, &s));
    /* Distinct indices (the op's contract), as many as x has rows: a permutation, whose scatter
     * writes every row. Fewer: the rows no index names get zeros. */
    if (n->aux.shape[1] != x->val.shape[1]) UAE_TRY(uae_fill(&s.dst, 0.0f));
    uae_op op = {.kind = UAE_OP_SCATTER_ROWS, .src = {dy, &n->aux}, .dst = {&s.dst}};
    UAE_TRY(uae_op_run(&op));
    return add_into(t, x, &s);
}

static uae_status back_mine(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *tj = n->in[0], *tm = n->in[1];
    gslot sj = {0}, sm = {0};
    uae_tensor junk;
    UAE_TRY(uae_arena_tensor(t->arena, 1, n->out->val.shape, &junk));
    if (tj->requires_grad) UAE_TRY(grad_dst(t, tj, false, &sj));
    if (tm->requires_grad) UAE_TRY(grad_dst(t, tm, false, &sm));
    uae_op op = {.kind = UAE_OP_MINE_BOUND, .src = {&tj->val, &tm->val, dy},
                 .dst = {&junk, tj->requires_grad ? &sj.dst : NULL, tm->requires_grad ? &sm.dst : NULL}};
    op.p.mine.kind = n->p.mine;
    UAE_TRY(uae_op_run(&op));
    if (tj->requires_grad) UAE_TRY(add_into(t, tj, &sj));
    if (tm->requires_grad) UAE_TRY(add_into(t, tm, &sm));
    return UAE_OK;
}

static uae_status back_concat(uae_tape *t, node *n, const uae_tensor *dy) {
    uae_var *a = n->in[0], *b = n->in[1];
    uae_tensor part;
    if (a->requires_grad) {
        UAE_TRY(uae_tensor_slice(dy, 0, a->val.shape[0], &part));
        UAE_TRY(accumulate_reduced(t, a, &part, false)); /* borrowed: a view of dy */
    }
    if (b->requires_grad) {
        UAE_TRY(uae_tensor_slice(dy, a->val.shape[0], b->val.shape[0], &part));
        UAE_TRY(accumulate_reduced(t, b, &part, false));
    }
    return UAE_OK;
}

/* A part of a split: its gradient into its rows of the split variable's (nothing to do if it was
 * written there; zeros if the part got none while another part did). Runs after every
 * contribution to the part, since they come from nodes recorded after it. */
static uae_status back_slice(uae_tape *t, node *n) {
    uae_var *v = n->out, *x = n->in[0];
    if (v->in_slice_grad) return UAE_OK;
    if (!v->has_grad && !x->has_grad) return UAE_OK; /* no part got a gradient (yet) */
    UAE_TRY(split_grad(t, x));
    uae_tensor rows;
    UAE_TRY(slice_view(v, &rows));
    if (!v->has_grad) return uae_fill(&rows, 0.0f);
    return uae_tensor_copy(&rows, &v->grad);
}

static uae_status backward_node(uae_tape *t, node *n) {
    const uae_tensor *dy = &n->out->grad;
    switch (n->kind) {
    case AD_MATMUL: return back_matmul(t, n, dy);
    case AD_BINARY: return back_binary(t, n, dy);
    case AD_UNARY: return back_unary(t, n, dy);
    case AD_CONV: return back_conv(t, n, dy);
    case AD_MAXPOOL:
    case AD_UPSAMPLE: return back_pool(t, n, dy);
    case AD_REDUCE: return back_reduce(t, n, dy);
    case AD_SOFTMAX: return back_softmax(t, n, dy);
    case AD_RESHAPE: return back_reshape(t, n, dy);
    case AD_GATHER: return back_gather(t, n, dy);
    case AD_MINE: return back_mine(t, n, dy);
    case AD_CLAMP: return back_clamp(t, n, dy);
    case AD_CONCAT: return back_concat(t, n, dy);
    case AD_SLICE: return back_slice(t, n);
    case AD_LEAF: break;
    }
    return UAE_OK;
}

uae_status uae_ad_backward(uae_tape *t, uae_var *loss) { return uae_ad_backward_scaled(t, loss, 1.0f); }

uae_status uae_ad_backward_deferred(uae_tape *t, uae_var *loss, float scale,
                                    const uae_ad_product **products, int *count) {
    t->defer = true;
    t->npending = 0;
    uae_status st = uae_ad_backward_scaled(t, loss, scale);
    t->defer = false;
    *products = t->pending;
    *count = st == UAE_OK ? t->npending : 0;
    return st;
}

uae_status uae_ad_backward_scaled(uae_tape *t, uae_var *loss, float scale) {
    if (t->status != UAE_OK) return uae_tape_status(t);
    if (!loss) return uae_fail(UAE_ERR_INVALID, "autodiff backward: loss is NULL");
    if (!loss->requires_grad)
        return uae_fail(UAE_ERR_INVALID, "autodiff backward: the loss does not depend on any leaf");
    gslot s;
    uae_status st = grad_dst(t, loss, false, &s);
    if (st == UAE_OK) st = uae_fill(&s.dst, scale);
    for (int i = t->nnodes - 1; i >= 0 && st == UAE_OK; i--) {
        node *n = &t->nodes[i];
        /* the loss does not depend on this node (a split's part may still owe zeros) */
        if (!n->out->has_grad && n->kind != AD_SLICE) continue;
        st = backward_node(t, n);
        if (st != UAE_OK) st = uae_fail_context(st, "autodiff backward");
    }
    /* leaves the loss does not reach get a zero gradient, never a stale one */
    for (int i = 0; i < t->nleaves && st == UAE_OK; i++)
        if (!t->leaves[i]->has_grad) st = uae_fill(&t->leaves[i]->grad, 0.0f);
    if (st != UAE_OK) fail(t, st);
    return st;
}
