/* models/mine.c — S per-sample MINE estimators evaluated and trained at once (see uae/mine.h).
 * Written against uae/nn.h and the op interface only; how an image becomes a batch of MINE samples
 * is the attack's business (models/attack.c), not this file's. */
#include "uae/mine.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "enum_names.h"
#include "mine_streams.h"

/* Parameter slots (the numbering names each tensor's RNG stream). Conv slots are -1 for the dense
 * net. A layer's x and y tensors are declared one right after the other (uae_params_add_next), so
 * that one (2S, ...) view spans both and one set of ops computes both branches (branches()). */
enum { XCW, XCB, X1W, X1B, X2W, X2B, YCW, YCB, Y1W, Y1B, Y2W, Y2B, OUTW, SLOT_COUNT };

struct uae_mine {
    uae_mine_config cfg;
    int64_t S, n;
    int C, H, W;
    int64_t flat_in;        /* input width of the first dense layer */
    uae_params *P;
    int slot[SLOT_COUNT];   /* parameter index of each slot, -1 if absent */
    uae_optimizer opt;
    uint64_t seed, first;
    uint64_t draws;         /* permutations drawn since the last reset */
    float *ema;             /* (S) moving average of mean exp(T_marg); < 0: not started */
    bool has_init;          /* weights and permutations from init, not from the seed */
    uae_mine_init init;
};

static const char *const estimator_names[] = {"dv", "js", "infonce"};
_Static_assert(sizeof estimator_names / sizeof estimator_names[0] == UAE_MINE_EST_COUNT,
               "one name per estimator");

const char *uae_mine_estimator_name(uae_mine_estimator e) {
    return (unsigned)e < UAE_MINE_EST_COUNT ? estimator_names[e] : "(unknown)";
}

uae_status uae_mine_estimator_parse(const char *name, uae_mine_estimator *out) {
    int v;
    UAE_TRY(uae_enum_parse("MINE estimator", estimator_names, UAE_MINE_EST_COUNT, name, &v));
    *out = (uae_mine_estimator)v;
    return UAE_OK;
}

static const char *const net_names[] = {"mine", "mine-dense"};
_Static_assert(sizeof net_names / sizeof net_names[0] == UAE_MINE_NET_COUNT, "one name per net");

const char *uae_mine_net_name(uae_mine_net net) {
    return (unsigned)net < UAE_MINE_NET_COUNT ? net_names[net] : "(unknown)";
}

uae_status uae_mine_net_parse(const char *name, uae_mine_net *out) {
    int v;
    UAE_TRY(uae_enum_parse("MINE network", net_names, UAE_MINE_NET_COUNT, name, &v));
    *out = (uae_mine_net)v;
    return UAE_OK;
}

void uae_mine_config_default(uae_mine_net net, uae_mine_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    cfg->net = net;
    cfg->head = UAE_MINE_HEAD_SUM;
    cfg->estimator = UAE_MINE_EST_DV;
    cfg->conv_filters = 16;
    cfg->conv_kernel = 2;
    cfg->hidden = 512;
    cfg->out = 10;
    cfg->branch_act = UAE_ACT_NONE;
    cfg->ema = false;
    cfg->ema_rate = 0.01f;
    cfg->all_pairs = false;
    cfg->lr_half_life = 0;
    cfg->opt = uae_optimizer_default(UAE_OPTIM_ADAM);
    cfg->opt.p.lr = 1.5e-5f; /* tf.train.AdamOptimizer(0.000015) in the official attack */
    cfg->opt.p.eps = 1e-8f;  /* TF 1's AdamOptimizer default (Keras' is 1e-7) */
}

uae_status uae_mine_create(uae_backend *be, const uae_mine_config *cfg, int64_t S, int64_t n, int C,
                           int H, int W, uae_mine **out) {
    *out = NULL;
    if (cfg->lr_half_life < 0)
        return uae_fail(UAE_ERR_INVALID, "mine: lr_half_life %d must be >= 0 (0: constant lr)",
                        cfg->lr_half_life);
    if (S < 1 || n < 1 || C < 1 || H < 1 || W < 1 || cfg->hidden < 1 || cfg->out < 1)
        return uae_fail(UAE_ERR_INVALID, "mine: sizes S=%lld n=%lld C=%d H=%d W=%d hidden=%d out=%d "
                        "must all be >= 1", (long long)S, (long long)n, C, H, W, cfg->hidden, cfg->out);
    if ((unsigned)cfg->net >= UAE_MINE_NET_COUNT || (unsigned)cfg->head >= UAE_MINE_HEAD_COUNT || (unsigned)cfg->estimator >= UAE_MINE_EST_COUNT)
        return uae_fail(UAE_ERR_INVALID, "mine: unknown network or estimator");
    /* all pairs: n (n - 1) >= 1 marginal pairs, and every index i*n + j exact as a float */
    if (cfg->all_pairs && cfg->estimator != UAE_MINE_EST_INFONCE && (n < 2 || n > 4096))
        return uae_fail(UAE_ERR_INVALID, "mine: all_pairs needs 2 <= n <= 4096 samples, got %lld",
                        (long long)n);
    bool conv = cfg->net == UAE_MINE_NET_CONV;
    int k = cfg->conv_kernel, F = cfg->conv_filters;
    if (conv && (k < 1 || F < 1 || H < k || W < k))
        return uae_fail(UAE_ERR_INVALID, "mine: conv net needs samples of at least %dx%d, got %dx%d",
                        k, k, H, W);
    uae_mine *m = calloc(1, sizeof *m);
    if (!m) return uae_fail(UAE_ERR_NOMEM, "mine: out of host memory");
    m->ema = malloc((size_t)S * sizeof *m->ema);
    if (!m->ema) {
        free(m);
        return uae_fail(UAE_ERR_NOMEM, "mine: out of host memory");
    }
    m->cfg = *cfg;
    m->S = S;
    m->n = n;
    m->C = C;
    m->H = H;
    m->W = W;
    m->flat_in = conv ? (int64_t)F * (H - k + 1) * (W - k + 1) : (int64_t)C * H * W;
    uae_status st = uae_params_create(be, &m->P);
    if (st != UAE_OK) {
        uae_mine_free(m);
        return st;
    }
    for (int i = 0; i < SLOT_COUNT; i++) m->slot[i] = -1;
    /* The initialisers named here are replaced by per-estimator ones in uae_mine_reset. */
    const int64_t hid = cfg->hidden, o = cfg->out;
    static const char *const layer[] = {"conv.weight", "conv.bias", "fc1.weight", "fc1.bias",
                                        "fc2.weight", "fc2.bias"};
    const struct { int ndim; int64_t shape[4]; } dims[] = {
        {4, {S * F, C, k, k}}, {1, {S * F}}, {3, {S, hid, m->flat_in}}, {2, {S, hid}},
        {3, {S, o, hid}}, {2, {S, o}}};
    for (int l = conv ? 0 : 2; l < 6; l++) {
        char name[32];
        snprintf(name, sizeof name, "x.%s", layer[l]);
        m->slot[XCW + l] = uae_params_add(m->P, name, dims[l].ndim, dims[l].shape, UAE_INIT_ZEROS);
        snprintf(name, sizeof name, "y.%s", layer[l]);
        m->slot[YCW + l] = uae_params_add_next(m->P, name, dims[l].ndim, dims[l].shape,
                                               UAE_INIT_ZEROS);
    }
    m->slot[OUTW] = uae_params_add(m->P, "out.weight", 3, (int64_t[]){S, 1, o}, UAE_INIT_ZEROS);
    st = uae_params_finalize(m->P, 0);
    if (st != UAE_OK) {
        uae_mine_free(m);
        return uae_fail_context(st, "mine");
    }
    m->opt.p = cfg->opt.p;
    *out = m;
    return UAE_OK;
}

void uae_mine_free(uae_mine *m) {
    if (!m) return;
    uae_params_free(m->P);
    free(m->ema);
    free(m);
}

uae_params *uae_mine_store(uae_mine *m) { return m->P; }
const uae_mine_config *uae_mine_config_of(const uae_mine *m) { return &m->cfg; }
int64_t uae_mine_estimators(const uae_mine *m) { return m->S; }
int64_t uae_mine_samples(const uae_mine *m) { return m->n; }

void uae_mine_set_init(uae_mine *m, const uae_mine_init *init) {
    m->has_init = init != NULL;
    if (init) m->init = *init;
}

/* Writes the weights of every estimator from m->init's rows (row0 .. row0 + S). */
static uae_status reset_from_init(uae_mine *m) {
    for (int i = 0; i < uae_params_count(m->P); i++) {
        const uae_tensor *v = uae_params_value(m->P, i);
        int64_t per = uae_tensor_numel(v) / m->S;
        UAE_TRY(uae_tensor_write(v, m->init.w[i] + m->init.row0 * per));
    }
    return UAE_OK;
}

uae_status uae_mine_reset(uae_mine *m, uint64_t seed, uint64_t first_index) {
    /* Zeroes every value and both Adam states (the values are drawn below). */
    UAE_TRY(uae_params_reinit(m->P, 0));
    if (m->has_init) UAE_TRY(reset_from_init(m));
    const int64_t F = m->cfg.conv_filters, k = m->cfg.conv_kernel;
    for (int slot = 0; slot < SLOT_COUNT; slot++) {
        int i = m->slot[slot];
        if (i < 0 || m->has_init || slot == XCB || slot == YCB || slot == X1B || slot == Y1B || slot == X2B ||
            slot == Y2B)
            continue; /* absent, or a bias: zero, as Keras/TF initialise them */
        const uae_tensor *v = uae_params_value(m->P, i);
        bool conv = v->ndim == 4;
        /* Glorot-uniform per estimator, TF's fans: conv (kh*kw*in, kh*kw*out); dense (in, out). */
        double fan_in = conv ? (double)(v->shape[1] * k * k) : (double)v->shape[2];
        double fan_out = conv ? (double)(F * k * k) : (double)v->shape[1];
        float lim = (float)sqrt(6.0 / (fan_in + fan_out));
        for (int64_t s = 0; s < m->S; s++) {
            uae_tensor sl;
            UAE_TRY(uae_tensor_slice(v, conv ? s * F : s, conv ? F : 1, &sl));
            uint64_t stream = uae_stream_sub(UAE_STREAM_MINE_WEIGHTS, first_index + (uint64_t)s,
                                             (unsigned)slot);
            UAE_TRY(uae_rng_fill(UAE_RNG_UNIFORM, seed, stream, 0, -lim, lim, &sl));
        }
    }
    m->opt.p = m->cfg.opt.p;
    m->opt.p.step = 0;
    m->seed = seed;
    m->first = first_index;
    m->draws = 0;
    for (int64_t s = 0; s < m->S; s++) m->ema[s] = -1.0f;
    return UAE_OK;
}

/* The network on the tape, by slot: a layer's x slot holds its x and y tensors as one (2S, ...)
 * variable (uae_params_span), the y slots are NULL; OUTW is the head's weight. */
static uae_status leaves(uae_mine *m, uae_tape *t, bool trainable, uae_var **pv) {
    for (int slot = 0; slot < SLOT_COUNT; slot++) {
        int i = m->slot[slot];
        pv[slot] = NULL;
        if (i < 0 || (slot >= YCW && slot <= Y2B)) continue;
        uae_tensor v, g;
        UAE_TRY(uae_params_span(m->P, i, slot == OUTW ? 1 : 2, &v, &g));
        pv[slot] = trainable ? uae_ad_leaf(t, &v, &g) : uae_ad_const(t, &v);
        if (!pv[slot]) return uae_tape_status(t);
    }
    return UAE_OK;
}

/* Both branches, [conv -> flatten ->] dense(hidden, act) -> dense(out), at once: 2S weight sets
 * (x's, then y's) on xy, x's samples then y's, give fx and fy (S, n, out). Each set's numbers
 * are computed as a branch of its own would compute them; one launch serves both branches. */
static bool branches(uae_mine *m, uae_tape *t, uae_var **pv, uae_var *xy, uae_var **fx,
                     uae_var **fy) {
    uae_var *h = xy;
    if (m->cfg.net == UAE_MINE_NET_CONV) {
        uae_conv_params cp = {.stride_h = 1, .stride_w = 1, .wsets = (int)(2 * m->S)};
        h = uae_ad_conv2d(t, xy, pv[XCW], pv[XCB], &cp);
    }
    h = uae_ad_reshape(t, h, 3, (int64_t[]){2 * m->S, m->n, m->flat_in});
    h = uae_nn_dense_sets(t, h, pv[X1W], pv[X1B], m->cfg.branch_act);
    h = uae_nn_dense_sets(t, h, pv[X2W], pv[X2B], UAE_ACT_NONE);
    uae_var *f[2];
    if (!h || uae_ad_split(t, h, 2, f) != UAE_OK) return false;
    *fx = f[0];
    *fy = f[1];
    return true;
}

/* T per row from the branch outputs fx, fy (S, rows, out) -> (S, rows):
 * SUM: w . relu(fx + fy);  DOT: fx . fy. */
static uae_var *head(uae_mine *m, uae_tape *t, uae_var **pv, uae_var *fx, uae_var *fy) {
    uae_var *h;
    if (m->cfg.head == UAE_MINE_HEAD_DOT) {
        h = uae_ad_reduce(t, UAE_REDUCE_SUM, 0x4, uae_ad_mul(t, fx, fy));
    } else {
        h = uae_ad_unary(t, UAE_UNARY_RELU, 0, 0, uae_ad_add(t, fx, fy));
        h = uae_nn_dense_sets(t, h, pv[OUTW], NULL, UAE_ACT_NONE);
    }
    if (!h) return NULL;
    return uae_ad_reshape(t, h, 2, (int64_t[]){m->S, uae_ad_value(h)->shape[1]});
}

/* Permutation number draw (S, n) of the estimators first .. first + S - 1 into dst: row s from
 * the stream of estimator first + s. */
static uae_status seed_permutation(uint64_t seed, uint64_t first, uint64_t draw, int64_t n,
                                   const uae_tensor *dst) {
    uae_op op = {.kind = UAE_OP_PERMUTATION, .dst = {dst}};
    op.p.rng.seed = seed;
    op.p.rng.stream = uae_stream_row(UAE_STREAM_MINE_PERM, first);
    /* a permutation of n uses n - 1 words; n per draw keeps the draws disjoint */
    op.p.rng.counter = draw * (uint64_t)n;
    return uae_op_run(&op);
}

/* Permutation number m->draws of every estimator, (S, n) from m->init's rows. */
static uae_status init_permutation(const uae_mine *m, const uae_tensor *dst) {
    if ((int64_t)m->draws >= m->init.draws)
        return uae_fail(UAE_ERR_INVALID, "mine: the initial state holds %lld permutations per "
                        "estimator, this run needs more (permutation %llu): it was written for "
                        "fewer iterations, MINE steps or warm-up steps than this run's",
                        (long long)m->init.draws, (unsigned long long)m->draws + 1);
    float *h = malloc((size_t)(m->S * m->n) * sizeof *h);
    if (!h) return uae_fail(UAE_ERR_NOMEM, "mine: out of host memory");
    for (int64_t s = 0; s < m->S; s++)
        memcpy(h + s * m->n,
               m->init.perm + ((m->init.row0 + s) * m->init.draws + (int64_t)m->draws) * m->n,
               (size_t)m->n * sizeof *h);
    uae_status st = uae_tensor_write(dst, h);
    free(h);
    return st;
}

/* Fresh marginal permutations (S, n): from the seed, or from the initial state (uae_mine_init). */
static uae_var *draw_permutation(uae_mine *m, uae_tape *t) {
    uae_var *perm = uae_ad_new_const(t, 2, (int64_t[]){m->S, m->n});
    if (!perm) return NULL;
    uae_status st = m->has_init ? init_permutation(m, uae_ad_value(perm))
                                : seed_permutation(m->seed, m->first, m->draws, m->n,
                                                   uae_ad_value(perm));
    m->draws++;
    if (st != UAE_OK) return uae_tape_fail(t, st);
    return perm;
}

uae_status uae_mine_seed_permutations(const uae_mine *m, uint64_t seed, uint64_t first_index,
                                      int64_t draws, float *out) {
    uae_tensor dev;
    uae_arena *ar = NULL;
    float *row = malloc((size_t)(m->S * m->n) * sizeof *row);
    if (!row) return uae_fail(UAE_ERR_NOMEM, "mine: out of host memory");
    uae_status st = uae_arena_create(uae_params_backend(m->P), (size_t)(m->S * m->n + 64), &ar);
    if (st == UAE_OK) st = uae_arena_tensor2(ar, m->S, m->n, &dev);
    for (int64_t d = 0; d < draws && st == UAE_OK; d++) {
        st = seed_permutation(seed, first_index, (uint64_t)d, m->n, &dev);
        if (st == UAE_OK) st = uae_tensor_read(&dev, row);
        for (int64_t s = 0; s < m->S && st == UAE_OK; s++)
            memcpy(out + (s * draws + d) * m->n, row + s * m->n, (size_t)m->n * sizeof *row);
    }
    uae_arena_free(ar);
    free(row);
    return st;
}

/* Writes the identity into eye (1, n, n). */
static uae_status set_eye(const uae_tensor *eye, int64_t n) {
    float *h = calloc((size_t)(n * n), sizeof *h);
    if (!h) return uae_fail(UAE_ERR_NOMEM, "mine infonce: out of host memory");
    for (int64_t i = 0; i < n; i++) h[i * n + i] = 1.0f;
    uae_status st = uae_tensor_write(eye, h);
    free(h);
    return st;
}

/* The scores s_ij = T(x_i, y_j) of every pair (S, n, n) from the branch outputs fx, fy (S, n, out).
 * DOT head: fx fy^T, one batched matrix product. SUM head: w . relu(fx_i + fy_j) for every (i, j),
 * through a pair tensor (S, n, n, out): O(S n^2 out) memory. */
static uae_var *score_matrix(uae_mine *m, uae_tape *t, uae_var **pv, uae_var *fx, uae_var *fy) {
    const int64_t S = m->S, n = m->n, o = m->cfg.out;
    if (m->cfg.head == UAE_MINE_HEAD_DOT) return uae_ad_matmul(t, fx, fy, false, true);
    uae_var *full = uae_ad_new_const(t, 4, (int64_t[]){S, n, n, o});
    if (!full) return NULL;
    uae_status st = uae_fill(uae_ad_value(full), 0.0f);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    /* pairs[s, i, j, :] = fx[s, i, :] + fy[s, j, :], broadcast onto a zero tensor of full shape */
    uae_var *pairs = uae_ad_add(t, full, uae_ad_reshape(t, fx, 4, (int64_t[]){S, n, 1, o}));
    pairs = uae_ad_add(t, pairs, uae_ad_reshape(t, fy, 4, (int64_t[]){S, 1, n, o}));
    /* relu(pairs) then the output layer: the SUM head on every pair */
    uae_var *h = uae_ad_unary(t, UAE_UNARY_RELU, 0, 0, uae_ad_reshape(t, pairs, 3, (int64_t[]){S, n * n, o}));
    h = uae_nn_dense_sets(t, h, pv[OUTW], NULL, UAE_ACT_NONE);
    return uae_ad_reshape(t, h, 3, (int64_t[]){S, n, n});
}

/* InfoNCE from the score matrix sc (S, n, n):
 *     I = mean_i [ s_ii - log mean_j exp s_ij ] = mean_i log_softmax_j(s_i.)_i + log n,
 * a lower bound on I(X; Y) that cannot exceed log n. */
static uae_var *infonce(uae_mine *m, uae_tape *t, uae_var *sc) {
    const int64_t S = m->S, n = m->n;
    uae_var *eye = uae_ad_new_const(t, 3, (int64_t[]){1, n, n});
    if (!sc || !eye) return NULL;
    uae_status st = set_eye(uae_ad_value(eye), n);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    uae_var *diag = uae_ad_mul(t, uae_ad_softmax(t, sc, true), eye);
    uae_var *sum = uae_ad_reduce(t, UAE_REDUCE_SUM, 0x6, diag); /* (S, 1, 1) */
    uae_var *I = uae_ad_affine(t, sum, 1.0f / (float)n, logf((float)n));
    return uae_ad_reshape(t, I, 1, (int64_t[]){S});
}

/* Picks entries of the score matrix sc (S, n, n): the diagonal (off = false: the n joint scores
 * s_ii, in order) or the n (n - 1) off-diagonal ones (off = true: the marginal scores s_ij,
 * i != j, row by row), as (S, count). A row gather on sc seen as (S, n*n, 1); the indices are
 * distinct, as the gather's exact backward needs. */
static uae_var *pick_scores(uae_mine *m, uae_tape *t, uae_var *sc, bool off) {
    const int64_t S = m->S, n = m->n, count = off ? n * (n - 1) : n;
    uae_var *idx = uae_ad_new_const(t, 2, (int64_t[]){S, count});
    if (!sc || !idx) return NULL;
    float *h = malloc((size_t)(S * count) * sizeof *h);
    if (!h) return uae_tape_fail(t, uae_fail(UAE_ERR_NOMEM, "mine all_pairs: out of host memory"));
    int64_t k = 0;
    for (int64_t s = 0; s < S; s++)
        for (int64_t i = 0; i < n; i++)
            for (int64_t j = 0; j < n; j++)
                if ((i != j) == off) h[k++] = (float)(i * n + j); /* exact: n * n <= 2^24 */
    uae_status st = uae_tensor_write(uae_ad_value(idx), h);
    free(h);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    uae_var *flat = uae_ad_reshape(t, sc, 3, (int64_t[]){S, n * n, 1});
    return uae_ad_reshape(t, uae_ad_gather_rows(t, flat, uae_ad_value(idx)), 2,
                          (int64_t[]){S, count});
}

/* T on the joint pairs (S, n) and on the marginal pairs (S, n), or (S, n (n - 1)) with all pairs;
 * or (InfoNCE) only the bound itself. */
typedef struct scores {
    uae_var *tj, *tm, *bound;
} scores;

/* all_pairs: marginal scores from every pair i != j (else from one fresh permutation). */
static scores forward(uae_mine *m, uae_tape *t, uae_var **pv, uae_var *xy, bool all_pairs) {
    scores r = {NULL, NULL, NULL};
    uae_var *fx, *fy;
    if (!branches(m, t, pv, xy, &fx, &fy)) return r;
    if (m->cfg.estimator == UAE_MINE_EST_INFONCE) {
        r.bound = infonce(m, t, score_matrix(m, t, pv, fx, fy));
        return r;
    }
    if (all_pairs) {
        /* Every (x_i, y_j) with i != j is a sample of the product of the marginals: n (n - 1)
         * marginal scores instead of one permutation's n (see all_pairs in uae/mine.h). */
        uae_var *sc = score_matrix(m, t, pv, fx, fy);
        r.tj = pick_scores(m, t, sc, false);
        r.tm = pick_scores(m, t, sc, true);
    } else {
        /* The branches act row by row, so the marginal pairs (x_k, y_perm(k)) reuse the y-branch
         * outputs: gather their rows instead of running the branch a second time. */
        uae_var *perm = draw_permutation(m, t);
        if (!perm) return r;
        r.tj = head(m, t, pv, fx, fy);
        r.tm = head(m, t, pv, fx, uae_ad_gather_rows(t, fy, uae_ad_value(perm)));
    }
    if (r.tj && r.tm)
        r.bound = uae_ad_mine_bound(t, m->cfg.estimator == UAE_MINE_EST_JS ? UAE_MINE_JS : UAE_MINE_DV,
                                    r.tj, r.tm);
    return r;
}

/* sets = 1: x's or y's samples; 2: both, x's first (uae_mine_bound_xy). */
static uae_status check_samples(const uae_mine *m, const uae_tensor *v, const char *what,
                                int sets) {
    bool conv = m->cfg.net == UAE_MINE_NET_CONV;
    bool ok = conv ? (v->ndim == 4 && v->shape[0] == sets * m->S * m->n && v->shape[1] == m->C &&
                      v->shape[2] == m->H && v->shape[3] == m->W)
                   : (uae_tensor_numel(v) == sets * m->S * m->n * m->C * m->H * m->W &&
                      v->ndim == 3 && v->shape[0] == sets * m->S && v->shape[1] == m->n);
    if (ok) return UAE_OK;
    char buf[64];
    return uae_fail(UAE_ERR_SHAPE, "mine: %s samples are %s, expected (%lld, %d, %d, %d) for the "
                    "conv net or (%lld, %lld, %d) for the dense net", what,
                    uae_tensor_shape_str(v, buf, sizeof buf), (long long)(sets * m->S * m->n),
                    m->C, m->H, m->W, (long long)(sets * m->S), (long long)m->n,
                    m->C * m->H * m->W);
}

/* The constant samples xs and ys as one variable, x's first: a view if ys follows xs in memory,
 * else a concatenation (two copies). */
static uae_var *stack_consts(uae_tape *t, const uae_tensor *xs, const uae_tensor *ys) {
    if (xs->buf == ys->buf && xs->backend == ys->backend && uae_tensor_same_shape(xs, ys) &&
        ys->offset == xs->offset + (size_t)uae_tensor_numel(xs)) {
        uae_tensor both = *xs;
        both.shape[0] *= 2;
        return uae_ad_const(t, &both);
    }
    return uae_ad_concat(t, uae_ad_const(t, xs), uae_ad_const(t, ys));
}

uae_var *uae_mine_bound_xy(uae_mine *m, uae_tape *t, uae_var *xy, bool trainable) {
    if (!xy || uae_tape_status(t) != UAE_OK) return NULL;
    uae_status st = check_samples(m, uae_ad_value(xy), "x and y", 2);
    uae_var *pv[SLOT_COUNT];
    if (st == UAE_OK) st = leaves(m, t, trainable, pv);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    return forward(m, t, pv, xy, m->cfg.all_pairs).bound;
}

uae_var *uae_mine_bound(uae_mine *m, uae_tape *t, uae_var *xs, uae_var *ys, bool trainable) {
    if (!xs || !ys || uae_tape_status(t) != UAE_OK) return NULL;
    uae_status st = check_samples(m, uae_ad_value(xs), "x", 1);
    if (st == UAE_OK) st = check_samples(m, uae_ad_value(ys), "y", 1);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    return uae_mine_bound_xy(m, t, uae_ad_concat(t, xs, ys), trainable);
}

/* The EMA-corrected DV gradient (Belghazi et al. 2018, section 3.2). The gradient of
 *     log mean_j exp T_j   is   sum_j exp(T_j) grad T_j / sum_j exp(T_j),
 * a ratio whose denominator, estimated from one mini-batch, makes the gradient biased. MINE
 * replaces the denominator's batch mean by a moving average a of mean_j exp(T_j) over steps:
 *     surrogate = mean_i T_joint_i - mean_j exp(T_marg_j) / a,   a held constant,
 * whose gradient is the corrected one. a is updated before it is used (so the first step has
 * a = the first batch's mean, never zero). Returns the surrogate (S); *mean_exp_out is scratch. */
static uae_var *ema_surrogate(uae_mine *m, uae_tape *t, scores sc) {
    uae_var *mexp = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x2, uae_ad_unary(t, UAE_UNARY_EXP, 0, 0, sc.tm));
    uae_var *inv = uae_ad_new_const(t, 2, (int64_t[]){m->S, 1});
    if (!mexp || !inv) return NULL;
    float *h = malloc((size_t)m->S * sizeof *h);
    if (!h) return uae_tape_fail(t, uae_fail(UAE_ERR_NOMEM, "mine ema: out of host memory"));
    uae_status st = uae_tensor_read(uae_ad_value(mexp), h);
    if (st == UAE_OK) {
        for (int64_t s = 0; s < m->S; s++) {
            float r = m->cfg.ema_rate;
            m->ema[s] = m->ema[s] < 0.0f ? h[s] : (1.0f - r) * m->ema[s] + r * h[s];
            h[s] = 1.0f / m->ema[s];
        }
        st = uae_tensor_write(uae_ad_value(inv), h);
    }
    free(h);
    if (st != UAE_OK) return uae_tape_fail(t, st);
    uae_var *jmean = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x2, sc.tj);           /* (S, 1) */
    uae_var *sur = uae_ad_sub(t, jmean, uae_ad_mul(t, mexp, inv));
    return uae_ad_reshape(t, sur, 1, (int64_t[]){m->S});
}

/* The learning rate and epsilon of the next Adam step (m->opt.p.step steps taken so far). */
static void set_step_params(uae_mine *m) {
    /* Step decay of the learning rate: lr * 0.5^(steps taken / half life); off if 0. */
    if (m->cfg.lr_half_life > 0)
        m->opt.p.lr = m->cfg.opt.p.lr * powf(0.5f, (float)m->opt.p.step / (float)m->cfg.lr_half_life);
    /* TF 1's AdamOptimizer (the official MINE's) adds epsilon to sqrt(v), the op adds it to
     * sqrt(v / (1 - beta2^t)) (PyTorch's form): the same update with epsilon divided by
     * sqrt(1 - beta2^t) at step t (3.2e-7 instead of 1e-8 at t = 1, 1.0e-8 after some thousand
     * steps). It matters while |gradient| is within a few orders of that: without it
     * tests/test_conformance.sh saw MINE's bounds drift 5% from the official algorithm's within
     * 10 iterations. */
    if (m->opt.p.fn == UAE_OPTIM_ADAM)
        m->opt.p.eps = (float)((double)m->cfg.opt.p.eps /
                               sqrt(1.0 - pow((double)m->opt.p.beta2, (double)(m->opt.p.step + 1))));
}

uae_status uae_mine_train_step(uae_mine *m, uae_tape *t, const uae_tensor *xs,
                               const uae_tensor *ys, float *bounds) {
    UAE_TRY(check_samples(m, xs, "x", 1));
    UAE_TRY(check_samples(m, ys, "y", 1));
    /* A training step records, whatever the caller's tape was doing; test_attack's
     * test_mine_learns checks that the steps raise the estimate. */
    uae_pass pass = uae_pass_begin(t, true);
    uae_var *pv[SLOT_COUNT];
    uae_status st = leaves(m, t, true, pv);
    if (st == UAE_OK) {
        scores sc = forward(m, t, pv, stack_consts(t, xs, ys), m->cfg.all_pairs);
        uae_var *objective = sc.bound;
        bool dv = m->cfg.estimator == UAE_MINE_EST_DV;
        /* The JS bound's maximiser is also T* = log dP/dQ (f-GAN, Nowozin et al. 2016), where
         * the DV bound is tight; its gradient has no log-mean-exp ratio, hence much less noise. */
        if (sc.bound && dv && m->cfg.train_js)
            objective = uae_ad_mine_bound(t, UAE_MINE_JS, sc.tj, sc.tm);
        else if (sc.bound && dv && m->cfg.ema)
            objective = ema_surrogate(m, t, sc);
        /* Adam minimises: descend on minus the sum of the S bounds (each estimator's weights
         * only see their own bound, so the sum trains them independently). */
        set_step_params(m);
        if (m->cfg.keep_gradients) {
            st = uae_ad_backward_scaled(t, objective, -1.0f);
            if (st == UAE_OK) st = uae_optimizer_step(&m->opt, m->P);
        } else {
            st = uae_optimizer_backward_step(&m->opt, m->P, t, objective, -1.0f);
        }
        if (st == UAE_OK && bounds) st = uae_tensor_read(uae_ad_value(sc.bound), bounds);
    }
    uae_pass_end(&pass);
    return st;
}

uae_status uae_mine_evaluate(uae_mine *m, uae_tape *t, const uae_tensor *xs, const uae_tensor *ys,
                             float *bounds) {
    UAE_TRY(check_samples(m, xs, "x", 1));
    UAE_TRY(check_samples(m, ys, "y", 1));
    if (m->cfg.estimator != UAE_MINE_EST_INFONCE && (m->n < 2 || m->n > 4096))
        return uae_fail(UAE_ERR_INVALID, "mine evaluate: needs 2 <= n <= 4096 samples, got %lld",
                        (long long)m->n);
    uae_pass pass = uae_pass_begin(t, false); /* no gradient wanted: nothing kept for backward */
    uae_var *pv[SLOT_COUNT];
    uae_status st = leaves(m, t, false, pv);
    if (st == UAE_OK) {
        scores sc = forward(m, t, pv, stack_consts(t, xs, ys), true);
        st = uae_tape_status(t);
        if (st == UAE_OK) st = uae_tensor_read(uae_ad_value(sc.bound), bounds);
    }
    uae_pass_end(&pass);
    return st;
}
