/* apps/bench_cases.c — the benchmark cases of uae-bench: which shapes (those of the paper's
 * models), how much work one run is (the FLOP and byte formulas, below), and how a case builds its
 * tensors and its uae_op on a backend. It times nothing; bench.c does. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "uae/attack.h"
#include "uae/tensor.h"

const char *const bench_op_names[BENCH_OP_COUNT] = {
    "gemm", "gemm-batched", "conv", "conv-bwd-data", "conv-bwd-weight",
    "mine_bound", "attack_step", "optim", "bandwidth", "train-conv-ae", "uae-gen",
};
_Static_assert(sizeof bench_op_names / sizeof bench_op_names[0] == BENCH_OP_COUNT, "one name each");

float bench_uniform(uint64_t *state, float lo, float hi) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* ---- The work of one run ----------------------------------------------------------------------
 * GEMM: 2*m*n*k FLOP per matrix (one multiply and one add per term; beta = 0, so C is not read),
 *       bytes 4*(m*k + k*n + m*n): A and B read once, C written once (the least any GEMM moves).
 * conv2d, both backward ops: 2*N*K*P*Q*C*R*S FLOP: every output (n, k, p, q) is a sum of C*R*S
 *       products; the backward ops compute the same products in another order. The bias (N*K*P*Q
 *       adds, under 1/(2*C*R*S) of the rest) is not counted.
 * mine_bound, attack_step, optim: memory-bound, so bytes only:
 *       mine_bound  4*(4*B*n + B): t_joint and t_marg read, both gradients written, one bound each;
 *       attack_step 4*5*B*D: x, g, delta read, delta and x_adv written;
 *       optim       4*7*n: g, p and two state tensors read, p and the two states written.
 * bandwidth: STREAM's add c = a + b over arrays of n floats, far larger than the last-level cache:
 *       4*3*n bytes (a and b read, c written; as STREAM, the write-allocate read of c is not
 *       counted). Same traffic per element as STREAM's triad.
 * uae-gen (the floor): see gen_floor. */

/* The least bytes and FLOP of one run of the official attack (conv-ae, MinMax, the MINE of
 * uae/mine.h with conv samples) on B images, `iterations` iterations of `steps` MINE steps. Per
 * image, the MINE has two branches (x and x'), each a conv (1 -> F filters, k x k, valid) on the n
 * = 16 channel maps (28 x 28) of conv-ae's first layer, then dense flat -> hidden (flat =
 * F*(29-k)^2 = 11664), dense hidden -> out; P parameters in all (11.95 M at the defaults). Only the
 * two flat -> hidden layers count (the rest is < 0.1 % of either sum):
 *   MINE step: FLOP 3 * 2 * (2*n*flat*hidden): per branch the forward product, dW = dy^T x and
 *              dx = dy W (the conv weights below need it); bytes 4 * 8 * P: W read by the
 *              forward and by dx, Adam fused into dW (UAE_OP_GEMM_OPTIM) reads p, m, v and
 *              writes p, m, v (the gradient itself is not stored).
 *   delta step (the objective's pass): FLOP 3 * 2*n*flat*hidden (both branches forward, dx of
 *              the x' branch); bytes 4 * 1.5 * P (W of both branches read, W of the x' branch
 *              again).
 *   once per run (uae_mine_reset): the values, m and v zeroed and the values drawn: 4 * 4 * P
 *              bytes.
 * Each tensor counted once per pass that needs it; what stays in cache between passes (nothing
 * of the 48 MB per image here) is not subtracted. */
static void gen_floor(bench_case *c) {
    uae_attack_config ac;
    if (uae_attack_defaults(UAE_MODEL_AUTOENCODER, &ac) != UAE_OK) return;
    const double n = 16, F = ac.mine.conv_filters, k = ac.mine.conv_kernel;
    const double hid = ac.mine.hidden, out = ac.mine.out, side = 28 - k + 1;
    const double flat = F * side * side;
    const double P = 2 * (F * k * k + F + flat * hid + hid + hid * out + out) + out;
    const double gemm = 2 * n * flat * hid; /* one branch's forward product */
    const double B = (double)c->u.gen.b, it = c->u.gen.iterations, steps = c->u.gen.mine_steps;
    c->floor_flop = B * it * (steps * 6 * gemm + 3 * gemm);
    c->floor_bytes = B * (it * (steps * 32 * P + 6 * P) + 16 * P);
}

static void add_gemm(bench_case *c, const char *name, bool ta, bool tb, int64_t batch, int64_t m,
                     int64_t k, int64_t n) {
    memset(c, 0, sizeof *c);
    c->op = batch > 1 ? BENCH_OP_GEMM_BATCHED : BENCH_OP_GEMM;
    snprintf(c->name, sizeof c->name, "%s %s", bench_op_names[c->op], name);
    if (batch > 1)
        snprintf(c->shape, sizeof c->shape, "%lld x (%lldx%lldx%lld)%s%s", (long long)batch,
                 (long long)m, (long long)k, (long long)n, ta ? " A^T" : "", tb ? " B^T" : "");
    else
        snprintf(c->shape, sizeof c->shape, "%lldx%lldx%lld%s%s", (long long)m, (long long)k,
                 (long long)n, ta ? " A^T" : "", tb ? " B^T" : "");
    uae_gemm_params *g = &c->u.gemm;
    g->trans_a = ta;
    g->trans_b = tb;
    g->m = m;
    g->n = n;
    g->k = k;
    g->alpha = 1.0f;
    g->beta = 0.0f;
    g->batch = batch;
    c->flop = 2.0 * (double)batch * (double)m * (double)n * (double)k;
    c->bytes = 4.0 * (double)batch * (double)(m * k + k * n + m * n);
}

static int64_t conv_out(const bench_conv_shape *s, int64_t in) { return in + 2 * s->pad - s->r + 1; }

static void add_conv(bench_case *c, bench_op op, const char *name, bench_conv_shape s) {
    memset(c, 0, sizeof *c);
    c->op = op;
    c->u.conv = s;
    snprintf(c->name, sizeof c->name, "%s %s", bench_op_names[op], name);
    int64_t p = conv_out(&s, s.h), q = conv_out(&s, s.w);
    snprintf(c->shape, sizeof c->shape, "%lldx%lldx%lldx%lld * %lldx%lldx%lldx%lld%s",
             (long long)s.n, (long long)s.c, (long long)s.h, (long long)s.w, (long long)s.k,
             (long long)s.c, (long long)s.r, (long long)s.r, s.pad ? " same" : " valid");
    c->flop = 2.0 * (double)s.n * (double)s.k * (double)p * (double)q * (double)s.c * (double)s.r *
              (double)s.r;
}

/* The convolutions of two of the paper's models (uae/model.h), batch n.
 * conv-ae: 5x5 "same" convolutions on 28x28 MNIST, 1->16, pool, 16->8, pool, 8->8 at 7x7, then
 * upsampling back: 8->16 at 14x14, 16->1 at 28x28. classifier (the Keras MNIST CNN): 3x3 "valid",
 * 1->32 (28 -> 26), 32->32 (-> 24), pool to 12, 32->64 (-> 10), 64->64 (-> 8). */
static int conv_shapes(int64_t n, const char **names, bench_conv_shape *s) {
    static const char *const nm[] = {"conv-ae.1", "conv-ae.2", "conv-ae.3", "conv-ae.4",
                                     "conv-ae.5", "classifier.1", "classifier.2", "classifier.3",
                                     "classifier.4"};
    static const int64_t dims[][4] = {/* c, h (= w), k, r */
                                      {1, 28, 16, 5}, {16, 14, 8, 5}, {8, 7, 8, 5}, {8, 14, 16, 5},
                                      {16, 28, 1, 5}, {1, 28, 32, 3}, {32, 26, 32, 3},
                                      {32, 12, 64, 3}, {64, 10, 64, 3}};
    enum { N_SHAPES = sizeof nm / sizeof nm[0] };
    _Static_assert(sizeof dims / sizeof dims[0] == N_SHAPES, "one shape per name");
    for (int i = 0; i < N_SHAPES; i++) {
        names[i] = nm[i];
        s[i] = (bench_conv_shape){.n = n, .c = dims[i][0], .h = dims[i][1], .w = dims[i][1],
                                  .k = dims[i][2], .r = dims[i][3], .pad = dims[i][3] == 5 ? 2 : 0};
    }
    return N_SHAPES;
}

int bench_cases_build(const bench_selection *sel, bench_case **out) {
    enum { MAX_CASES = 64 };
    bench_case *cs = calloc(MAX_CASES, sizeof *cs);
    if (!cs) return -1;
    int n = 0;
    bool all = sel->op < 0;
    bool quick = sel->quick;

    if (sel->nsizes > 0) {
        for (int i = 0; i < sel->nsizes; i++) {
            char name[32];
            snprintf(name, sizeof name, "%lld", (long long)sel->sizes[i]);
            add_gemm(&cs[n++], name, false, false, 1, sel->sizes[i], sel->sizes[i], sel->sizes[i]);
        }
        *out = cs;
        return n;
    }
    if (all || sel->op == BENCH_OP_GEMM) {
        static const int64_t square[] = {128, 256, 512, 1024, 2048};
        static const int64_t square_quick[] = {32, 64};
        const int64_t *sq = quick ? square_quick : square;
        int nsq = quick ? 2 : 5;
        for (int i = 0; i < nsq; i++) {
            char name[32];
            snprintf(name, sizeof name, "%lld", (long long)sq[i]);
            add_gemm(&cs[n++], name, false, false, 1, sq[i], sq[i], sq[i]);
        }
        /* The dense layers of dense-ae (784 -> 128 -> 784, batch 100): forward, and the two
         * products of the backward pass (dW = x^T dy, dx = dy W^T). */
        int64_t b = sel->batch > 0 ? sel->batch : 100;
        add_gemm(&cs[n++], "fc 784>128", false, false, 1, b, 784, 128);
        add_gemm(&cs[n++], "fc 128>784", false, false, 1, b, 128, 784);
        add_gemm(&cs[n++], "fc dW", true, false, 1, 784, b, 128);
        add_gemm(&cs[n++], "fc dx", false, true, 1, b, 128, 784);
        /* Convolutions as im2col products, one image: filters (K, C*R*S) @ columns (C*R*S, P*Q):
         * conv-ae's first layer (16 x 25*1 x 784) and its second (8 x 25*16 x 196). */
        add_gemm(&cs[n++], "im2col conv-ae.1", false, false, 1, 16, 25, 784);
        add_gemm(&cs[n++], "im2col conv-ae.2", false, false, 1, 8, 400, 196);
    }
    if (all || sel->op == BENCH_OP_GEMM_BATCHED) {
        /* 64 independent products of a per-sample network's first layer (16 filters over
         * 512-long columns, 27x27 positions); quick: 4 x (16x64x81). */
        if (quick)
            add_gemm(&cs[n++], "4x16x64x81", false, false, 4, 16, 64, 81);
        else
            add_gemm(&cs[n++], "64x16x512x729", false, false, 64, 16, 512, 729);
        /* The per-sample MINE networks of the attack (uae/mine.h, conv samples of conv-ae): each
         * of S estimators has a dense layer from 16 x 27 x 27 = 11664 conv outputs to 512, applied
         * to its n = 16 samples: forward x W^T, and the two backward products dx = dy W and
         * dW = dy^T x, whose inner dimension is only 16. S = 8 here (the attack uses one per
         * image: 64 at B = 64, 191 MB of weights per 8). */
        int64_t s = quick ? 2 : 8, in = quick ? 100 : 11664, out = quick ? 32 : 512;
        add_gemm(&cs[n++], "mine fwd", false, true, s, 16, in, out);
        add_gemm(&cs[n++], "mine dx", false, false, s, 16, out, in);
        add_gemm(&cs[n++], "mine dW", true, false, s, out, 16, in);
    }
    static const bench_op conv_ops[] = {BENCH_OP_CONV, BENCH_OP_CONV_BWD_DATA,
                                        BENCH_OP_CONV_BWD_WEIGHT};
    for (int o = 0; o < 3; o++) {
        if (!all && sel->op != (int)conv_ops[o]) continue;
        const char *names[16];
        bench_conv_shape shapes[16];
        int ns = conv_shapes(sel->batch > 0 ? sel->batch : quick ? 4 : 100, names, shapes);
        for (int i = 0; i < ns; i++) add_conv(&cs[n++], conv_ops[o], names[i], shapes[i]);
    }
    if (all || sel->op == BENCH_OP_MINE_BOUND) {
        /* 64 estimators (one per sample of a batch) of 16 and of 500 samples each. */
        static const int64_t samples[] = {16, 500};
        for (int i = 0; i < 2; i++) {
            bench_case *c = &cs[n++];
            c->op = BENCH_OP_MINE_BOUND;
            c->u.mine.b = sel->batch > 0 ? sel->batch : quick ? 8 : 64;
            c->u.mine.n = samples[i];
            snprintf(c->name, sizeof c->name, "mine_bound %lldx%lld", (long long)c->u.mine.b,
                     (long long)samples[i]);
            snprintf(c->shape, sizeof c->shape, "%lld estimators x %lld samples, DV",
                     (long long)c->u.mine.b, (long long)samples[i]);
            c->bytes = 4.0 * (4.0 * (double)c->u.mine.b * (double)samples[i] + (double)c->u.mine.b);
        }
    }
    if (all || sel->op == BENCH_OP_ATTACK_STEP) {
        bench_case *c = &cs[n++];
        c->op = BENCH_OP_ATTACK_STEP;
        c->u.attack.b = sel->batch > 0 ? sel->batch : quick ? 8 : 64;
        c->u.attack.d = 784;
        snprintf(c->name, sizeof c->name, "attack_step %lldx784", (long long)c->u.attack.b);
        snprintf(c->shape, sizeof c->shape, "%lld x 784, sign step", (long long)c->u.attack.b);
        c->bytes = 4.0 * 5.0 * (double)c->u.attack.b * 784.0;
    }
    if (all || sel->op == BENCH_OP_OPTIM) {
        static const uae_optim_fn fns[] = {UAE_OPTIM_ADAM, UAE_OPTIM_ADADELTA};
        static const char *const fn_names[] = {"adam", "adadelta"};
        int64_t np = quick ? 1 << 16 : 1 << 20;
        for (int i = 0; i < 2; i++) {
            bench_case *c = &cs[n++];
            c->op = BENCH_OP_OPTIM;
            c->u.optim.fn = fns[i];
            c->u.optim.n = np;
            snprintf(c->name, sizeof c->name, "optim %s %s", fn_names[i], quick ? "64Ki" : "1Mi");
            snprintf(c->shape, sizeof c->shape, "%lld parameters", (long long)np);
            c->bytes = 4.0 * 7.0 * (double)np;
        }
    }
    if (all || sel->op == BENCH_OP_BANDWIDTH || sel->op == BENCH_OP_UAE_GEN) {
        /* 3 arrays of 64 MiB (quick: 256 KiB), twice the largest L3 of the machines at hand. */
        bench_case *c = &cs[n++];
        memset(c, 0, sizeof *c);
        c->op = BENCH_OP_BANDWIDTH;
        c->u.stream.n = quick ? 1 << 16 : 1 << 24;
        snprintf(c->name, sizeof c->name, "bandwidth add %s", quick ? "256KiB" : "64MiB");
        snprintf(c->shape, sizeof c->shape, "c = a + b, 3 x %lld floats", (long long)c->u.stream.n);
        c->bytes = 4.0 * 3.0 * (double)c->u.stream.n;
    }
    if (sel->op == BENCH_OP_UAE_GEN && !quick) {
        /* The GEMM peak of the floor: a square product (the fastest shape). */
        add_gemm(&cs[n++], "1024", false, false, 1, 1024, 1024, 1024);
    }
    if (all || sel->op == BENCH_OP_TRAIN_CONV_AE) {
        /* An epoch of 1000 images (quick: 8) in batches of the preset's 100 (or --batch). */
        bench_case *c = &cs[n++];
        c->op = BENCH_OP_TRAIN_CONV_AE;
        c->u.train.images = quick ? 8 : 1000;
        c->u.train.batch = sel->batch > 0 ? sel->batch : quick ? 4 : 100;
        if (c->u.train.batch > c->u.train.images) c->u.train.images = c->u.train.batch;
        snprintf(c->name, sizeof c->name, "train-conv-ae B=%lld", (long long)c->u.train.batch);
        snprintf(c->shape, sizeof c->shape, "epoch of %lld 28x28 images",
                 (long long)(c->u.train.images / c->u.train.batch * c->u.train.batch));
        c->items = (double)(c->u.train.images / c->u.train.batch * c->u.train.batch);
        snprintf(c->item_unit, sizeof c->item_unit, "images");
    }
    if (sel->op == BENCH_OP_UAE_GEN || (all && quick)) {
        /* One attack of B images on conv-ae (random weights: the work does not depend on them).
         * The official attack runs 40 iterations of 20 MINE steps; the bench runs --iterations
         * (default 1) of 20 steps, each iteration costing about the same. Not in the default
         * list: on a 2-core CPU one iteration at B = 1 takes tens of seconds. */
        static const int64_t batches[] = {1, 16, 64};
        int nb = sel->batch > 0 || quick ? 1 : 3;
        for (int i = 0; i < nb; i++) {
            bench_case *c = &cs[n++];
            c->op = BENCH_OP_UAE_GEN;
            c->u.gen.b = sel->batch > 0 ? sel->batch : quick ? 1 : batches[i];
            c->u.gen.iterations = sel->iterations > 0 ? sel->iterations : 1;
            c->u.gen.mine_steps = quick ? 1 : 20;
            snprintf(c->name, sizeof c->name, "uae-gen B=%lld", (long long)c->u.gen.b);
            snprintf(c->shape, sizeof c->shape, "%d it x %d MINE steps (official 40 x 20)",
                     c->u.gen.iterations, c->u.gen.mine_steps);
            /* UAE-iterations (an image through one iteration): a full UAE is 40 of them */
            c->items = (double)c->u.gen.b * c->u.gen.iterations;
            snprintf(c->item_unit, sizeof c->item_unit, "UAE-its");
            gen_floor(c);
        }
    }
    UAE_ASSERT(n <= MAX_CASES);
    *out = cs;
    return n;
}

/* ---- Instances: tensors and the op on one backend --------------------------------------------- */

enum { MAX_TENSORS = 7 };

struct bench_instance {
    bench_e2e *e2e;              /* the end-to-end cases; NULL for single ops */
    uae_arena *arena;
    uae_tensor t[MAX_TENSORS];
    uae_op op;
};

/* Carves a tensor and fills it with uniform values in [lo, hi) (lo == hi: that constant). */
static uae_status make(bench_instance *in, int i, int ndim, const int64_t *shape, uint64_t *seed,
                       float lo, float hi) {
    UAE_TRY(uae_arena_tensor(in->arena, ndim, shape, &in->t[i]));
    int64_t numel = uae_tensor_numel(&in->t[i]);
    float *host = malloc((size_t)numel * sizeof *host);
    if (!host) return uae_fail(UAE_ERR_NOMEM, "bench: no host memory for %lld floats", (long long)numel);
    for (int64_t j = 0; j < numel; j++) host[j] = lo == hi ? lo : bench_uniform(seed, lo, hi);
    uae_status st = uae_tensor_write(&in->t[i], host);
    free(host);
    return st;
}

static uae_status setup_gemm(const bench_case *c, bench_instance *in, uint64_t *seed) {
    const uae_gemm_params *g = &c->u.gemm;
    /* Tight batches: A is batch x (rows, cols) as stored, whatever the transposition. */
    int64_t ar = g->trans_a ? g->k : g->m, ac = g->trans_a ? g->m : g->k;
    int64_t br = g->trans_b ? g->n : g->k, bc = g->trans_b ? g->k : g->n;
    UAE_TRY(make(in, 0, 3, (int64_t[]){g->batch, ar, ac}, seed, -1, 1));
    UAE_TRY(make(in, 1, 3, (int64_t[]){g->batch, br, bc}, seed, -1, 1));
    UAE_TRY(make(in, 2, 3, (int64_t[]){g->batch, g->m, g->n}, seed, 0, 0));
    in->op = (uae_op){.kind = UAE_OP_GEMM, .src = {&in->t[0], &in->t[1]}, .dst = {&in->t[2]}};
    in->op.p.gemm = *g;
    return UAE_OK;
}

static uae_status setup_conv(const bench_case *c, bench_instance *in, uint64_t *seed) {
    const bench_conv_shape *s = &c->u.conv;
    int64_t p = conv_out(s, s->h), q = conv_out(s, s->w);
    const int64_t xs[] = {s->n, s->c, s->h, s->w}, ws[] = {s->k, s->c, s->r, s->r},
                  ys[] = {s->n, s->k, p, q};
    UAE_TRY(make(in, 0, 4, xs, seed, 0, 1));   /* x: pixels */
    UAE_TRY(make(in, 1, 4, ws, seed, -0.2f, 0.2f));
    UAE_TRY(make(in, 2, 1, &s->k, seed, -0.1f, 0.1f));
    UAE_TRY(make(in, 3, 4, ys, seed, -1, 1));  /* y, or dy for the backward ops */
    uae_op *op = &in->op;
    *op = (uae_op){.kind = UAE_OP_CONV2D};
    op->p.conv = (uae_conv_params){.stride_h = 1, .stride_w = 1, .pad_h = s->pad, .pad_w = s->pad,
                                   .wsets = 1, .beta = 0.0f};
    uae_tensor *x = &in->t[0], *w = &in->t[1], *b = &in->t[2], *y = &in->t[3];
    switch (c->op) {
    case BENCH_OP_CONV:
        op->src[0] = x; op->src[1] = w; op->src[2] = b; op->dst[0] = y;
        break;
    case BENCH_OP_CONV_BWD_DATA:
        op->kind = UAE_OP_CONV2D_BWD_DATA;
        op->src[0] = y; op->src[1] = w; op->dst[0] = x;
        break;
    default:
        op->kind = UAE_OP_CONV2D_BWD_WEIGHT;
        op->src[0] = x; op->src[1] = y; op->dst[0] = w; op->dst[1] = b;
        break;
    }
    return UAE_OK;
}

static uae_status setup_mine(const bench_case *c, bench_instance *in, uint64_t *seed) {
    int64_t b = c->u.mine.b, n = c->u.mine.n;
    UAE_TRY(make(in, 0, 2, (int64_t[]){b, n}, seed, -2, 2)); /* t_joint */
    UAE_TRY(make(in, 1, 2, (int64_t[]){b, n}, seed, -2, 2)); /* t_marg */
    UAE_TRY(make(in, 2, 1, &b, seed, 0, 0));                 /* bound */
    UAE_TRY(make(in, 3, 2, (int64_t[]){b, n}, seed, 0, 0));  /* d t_joint */
    UAE_TRY(make(in, 4, 2, (int64_t[]){b, n}, seed, 0, 0));  /* d t_marg */
    in->op = (uae_op){.kind = UAE_OP_MINE_BOUND, .src = {&in->t[0], &in->t[1]},
                      .dst = {&in->t[2], &in->t[3], &in->t[4]}};
    in->op.p.mine.kind = UAE_MINE_DV;
    return UAE_OK;
}

static uae_status setup_attack(const bench_case *c, bench_instance *in, uint64_t *seed) {
    const int64_t shape[] = {c->u.attack.b, c->u.attack.d};
    UAE_TRY(make(in, 0, 2, shape, seed, 0, 1));   /* x: pixels */
    UAE_TRY(make(in, 1, 2, shape, seed, -1, 1));  /* g */
    UAE_TRY(make(in, 2, 2, shape, seed, 0, 0));   /* delta */
    UAE_TRY(make(in, 3, 2, shape, seed, 0, 0));   /* x_adv */
    in->op = (uae_op){.kind = UAE_OP_ATTACK_STEP, .src = {&in->t[0], &in->t[1]},
                      .dst = {&in->t[2], &in->t[3]}};
    in->op.p.attack = (uae_attack_params){.lr = 0.01f, .eps = 0.1f, .lo = 0, .hi = 1, .sign = true};
    return UAE_OK;
}

static uae_status setup_bandwidth(const bench_case *c, bench_instance *in, uint64_t *seed) {
    const int64_t n = c->u.stream.n;
    UAE_TRY(make(in, 0, 1, &n, seed, -1, 1)); /* a */
    UAE_TRY(make(in, 1, 1, &n, seed, -1, 1)); /* b */
    UAE_TRY(make(in, 2, 1, &n, seed, 0, 0));  /* c */
    in->op = (uae_op){.kind = UAE_OP_BINARY, .src = {&in->t[0], &in->t[1]}, .dst = {&in->t[2]}};
    in->op.p.binary.fn = UAE_BINARY_ADD;
    return UAE_OK;
}

static uae_status setup_optim(const bench_case *c, bench_instance *in, uint64_t *seed) {
    const int64_t n = c->u.optim.n;
    UAE_TRY(make(in, 0, 1, &n, seed, -1, 1));  /* g */
    UAE_TRY(make(in, 1, 1, &n, seed, -1, 1));  /* p */
    UAE_TRY(make(in, 2, 1, &n, seed, 0, 0));   /* state 1, zero as the contract asks */
    UAE_TRY(make(in, 3, 1, &n, seed, 0, 0));   /* state 2 */
    in->op = (uae_op){.kind = UAE_OP_OPTIM, .src = {&in->t[0]},
                      .dst = {&in->t[1], &in->t[2], &in->t[3]}};
    uae_optim_params *o = &in->op.p.optim;
    o->fn = c->u.optim.fn;
    /* PyTorch's defaults. The step stays 1: every run is the same amount of work. */
    if (o->fn == UAE_OPTIM_ADAM) {
        o->lr = 1e-3f; o->beta1 = 0.9f; o->beta2 = 0.999f; o->eps = 1e-8f; o->step = 1;
    } else {
        o->lr = 1.0f; o->rho = 0.9f; o->eps = 1e-6f;
    }
    return UAE_OK;
}

uae_status bench_instance_create(const bench_case *c, uae_backend *be, uint64_t seed,
                                 bench_instance **out) {
    *out = NULL;
    bench_instance *in = calloc(1, sizeof *in);
    if (!in) return uae_fail(UAE_ERR_NOMEM, "bench: out of host memory");
    if (c->op == BENCH_OP_TRAIN_CONV_AE || c->op == BENCH_OP_UAE_GEN) {
        uae_status st = bench_e2e_create(c, be, seed, &in->e2e);
        if (st == UAE_OK) st = uae_backend_sync(be);
        if (st != UAE_OK) {
            bench_instance_free(in);
            return st;
        }
        *out = in;
        return UAE_OK;
    }
    /* 4 Mi floats per chunk: the small cases share one chunk; a larger tensor gets its own. */
    uae_status st = uae_arena_create(be, (size_t)1 << 22, &in->arena);
    uint64_t s = seed;
    if (st == UAE_OK) {
        switch (c->op) {
        case BENCH_OP_GEMM:
        case BENCH_OP_GEMM_BATCHED: st = setup_gemm(c, in, &s); break;
        case BENCH_OP_CONV:
        case BENCH_OP_CONV_BWD_DATA:
        case BENCH_OP_CONV_BWD_WEIGHT: st = setup_conv(c, in, &s); break;
        case BENCH_OP_MINE_BOUND: st = setup_mine(c, in, &s); break;
        case BENCH_OP_ATTACK_STEP: st = setup_attack(c, in, &s); break;
        case BENCH_OP_OPTIM: st = setup_optim(c, in, &s); break;
        case BENCH_OP_BANDWIDTH: st = setup_bandwidth(c, in, &s); break;
        case BENCH_OP_TRAIN_CONV_AE:
        case BENCH_OP_UAE_GEN:
        case BENCH_OP_COUNT: UAE_ASSERT(!"not a single-op case"); break;
        }
    }
    if (st == UAE_OK) st = uae_backend_sync(be);
    if (st != UAE_OK) {
        bench_instance_free(in);
        return st;
    }
    *out = in;
    return UAE_OK;
}

uae_status bench_instance_run(bench_instance *in) {
    return in->e2e ? bench_e2e_run(in->e2e) : uae_op_run(&in->op);
}

size_t bench_instance_arena_peak(const bench_instance *in) {
    return in->e2e ? bench_e2e_arena_peak(in->e2e) : uae_arena_peak(in->arena) * sizeof(float);
}

void bench_instance_free(bench_instance *in) {
    if (!in) return;
    bench_e2e_free(in->e2e);
    uae_arena_free(in->arena);
    free(in);
}
