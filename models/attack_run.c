/* models/attack_run.c — runs an attack on a batch: the MinMax loop of Hsu et al. (primal step on
 * delta, MINE steps, dual update of c), the penalty method with a binary search over c, and PGD.
 * Written against uae/model.h, uae/mine.h and the op interface: nothing here knows the device.
 * The rules it applies (dual update, success, selection) are the pure functions of models/attack.c.
 *
 * What crosses to the host per iteration: one read of the (3, B) floats the rules need (violation,
 * loss, I) and one write of the (3, B) floats they decide (c, and which kept iterates x' replaces).
 * x' and the kept iterates stay on the device and are read once, at the end. */
#include "uae/attack.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "attack_init.h"
#include "attack_track.h"
#include "mine_streams.h"

/* The rows of the (3, B) tensors exchanged with the host once per iteration. */
enum { STAT_VIOL, STAT_LOSS, STAT_MI, STAT_COUNT };           /* read: the iterate's values */
enum { CTL_C, CTL_KEEP, CTL_COUNT = CTL_KEEP + UAE_TRACK_SLOT_COUNT }; /* written: c, keep rows */
/* The row of `keep` that takes the writes of samples whose slot x' does not replace. */
#define KEEP_DISCARD UAE_TRACK_SLOT_COUNT

typedef struct run {
    uae_model *model;
    const uae_attack_config *cfg;
    uae_backend *be;
    int64_t B, D;                /* samples, floats per sample */
    int C, H, W;
    uint64_t first;              /* global index of sample 0 */
    uae_arena *ar;               /* tensors that live for the whole attack */
    uae_arena *scratch;          /* the passes' */
    uae_tape *t;                 /* the attack's passes */
    uae_tape *mt;                /* MINE's steps, which run while an objective pass is open */
    uae_var **pv;                /* the model's parameters on the tape (constants) */
    uae_tensor x, delta, g;      /* (B, D) */
    uae_tensor ximg;             /* x viewed as (B, C, H, W) */
    uae_tensor onehot;           /* (B, classes), CW loss only */
    uae_tensor lclean;           /* (B): l(x) */
    uae_tensor negz;             /* contrastive loss: the negatives' unit embeddings (M, E) */
    uae_tensor keep;             /* (B, UAE_TRACK_SLOT_COUNT + 1, D): each slot's x', a discard row */
    uae_tensor stats, ctl;       /* (STAT_COUNT, B), (CTL_COUNT, B): see above */
    uae_tensor stat[STAT_COUNT]; /* ctl's rows, (B) */
    uae_tensor cvec;             /* ctl's row CTL_C, (B) */
    uae_tensor keep_idx[UAE_TRACK_SLOT_COUNT]; /* ctl's keep rows, (B, 1) */
    bool conv_samples;           /* MINE samples from the first conv layer (else projections) */
    int64_t n;                   /* MINE samples per image */
    int sc, sh, sw;              /* shape of one MINE sample */
    uae_tensor xs_clean, ys_cur; /* samples of x (conv: fixed) and, random mode, of the current
                                  * x' ((B, M, p), x's recomputed with every new P; the two
                                  * halves of one tensor, which MINE then uses in place) */
    uae_mine *mine;              /* NULL for PGD */
    uae_arena *proj_ar;          /* random mode: P, xs_clean, ys_cur (P alone is D*M*p floats) */
    uae_tensor P;                /* random mode: the current projection matrix (D, M*p) */
    uint64_t proj_draws;         /* projection matrices drawn so far */
    /* the objective pass at the current delta, open from its start (x', conv mode: x''s samples,
     * which the MINE steps before it train on) to its end (objective_finish) */
    uae_pass obj;
    bool obj_open;
    uae_var *obj_xflat, *obj_loss, *obj_viol, *obj_ys;
    uae_var *obj_xy;             /* x's samples then x''s, as MINE's one input (uae_mine_bound_xy) */
    /* host */
    float *stats_h;                         /* (STAT_COUNT, B) */
    float *viol, *loss, *mi;                /* its rows */
    float *ctl_h;                           /* (CTL_COUNT, B) */
    float *c;                               /* its row CTL_C */
    float *lclean_h;                        /* (B) */
    bool *step_ok;                          /* (B): success within the current search step */
    uae_attack_track *tr;                   /* (B) */
    int64_t done, total;
    /* cfg->trace only: the current iterate's c, delta and gradient, and the bounds of the MINE
     * steps that follow it (host) */
    float *tr_c;                            /* (B) */
    float *tr_delta, *tr_grad;              /* (B, D) */
    float *tr_mine;                         /* (mine_steps, B) */
    int search_step;                        /* PENALTY: the current run over c */
} run;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Starts a pass on the attack's tape with the model on it (constants). */
static uae_status pass_begin(run *r, bool recording, uae_pass *p) {
    *p = uae_pass_begin(r->t, recording);
    return uae_model_bind(r->model, r->t, false, r->pv);
}

static uae_var *as_image(run *r, uae_var *flat) {
    return uae_ad_reshape(r->t, flat, 4, (int64_t[]){r->B, r->C, r->H, r->W});
}

/* l per sample (B): SSE of x against AE(img), the model's loss, or the CW margin max(f, -kappa).
 * A contrastive model's loss sees the negatives and the samples' global indices (its views). */
static uae_var *loss_of(run *r, uae_var *img) {
    uae_tape *t = r->t;
    uae_batch b = {.x = &r->ximg, .target = &r->ximg, .onehot = r->onehot.ndim ? &r->onehot : NULL,
                   .seed = r->cfg->seed, .step = 0, .training = false,
                   .negatives = r->negz.ndim ? &r->negz : NULL, .first_index = r->first};
    switch (r->cfg->loss) {
    case UAE_ATTACK_LOSS_SSE: {
        /* the official l: reduce_sum(square(timg - model.predict(newimg)), pixels) */
        uae_var *out = uae_model_forward(r->model, t, r->pv, img, &b);
        if (!out) return NULL;
        uae_var *x = as_image(r, uae_ad_const(t, &r->x));
        uae_var *d = uae_ad_unary(t, UAE_UNARY_SQUARE, 0, 0, uae_ad_sub(t, out, x));
        d = uae_ad_reshape(t, d, 2, (int64_t[]){r->B, r->D});
        return uae_ad_reshape(t, uae_ad_reduce(t, UAE_REDUCE_SUM, 0x2, d), 1, (int64_t[]){r->B});
    }
    case UAE_ATTACK_LOSS_MODEL: return uae_model_loss(r->model, t, r->pv, img, &b);
    case UAE_ATTACK_LOSS_CW:
        return uae_loss_cw_margin(t, uae_model_forward(r->model, t, r->pv, img, &b), &r->onehot,
                                  r->cfg->targeted, r->cfg->kappa);
    case UAE_ATTACK_LOSS_COUNT: break;
    }
    return uae_tape_fail(t, uae_fail(UAE_ERR_INVALID, "attack: unknown loss %d", (int)r->cfg->loss));
}

/* The constraint violation (B), >= 0: unsupervised max(0, l(x') - l(x)); CW: max(0, f + kappa)
 * (= the margin max(f, -kappa) shifted by kappa; the official loss1). */
static uae_var *violation_of(run *r, uae_var *loss) {
    if (r->cfg->loss == UAE_ATTACK_LOSS_CW) return uae_ad_affine(r->t, loss, 1.0f, r->cfg->kappa);
    uae_var *gap = uae_ad_sub(r->t, loss, uae_ad_const(r->t, &r->lclean));
    return uae_ad_unary(r->t, UAE_UNARY_RELU, 0, 0, gap);
}

/* Standardises each row of v (B, M, p) over its p entries: (v - mean) / std (tf.nn.moments'
 * population variance, as the official `standardized`; 1e-12 guards a constant row). */
static uae_var *standardise(uae_tape *t, uae_var *v) {
    uae_var *d = uae_ad_sub(t, v, uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x4, v));
    uae_var *var = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x4, uae_ad_unary(t, UAE_UNARY_SQUARE, 0, 0, d));
    uae_var *inv = uae_ad_unary(t, UAE_UNARY_RECIP, 0, 0,
                                uae_ad_unary(t, UAE_UNARY_SQRT, 0, 0, uae_ad_affine(t, var, 1.0f, 1e-12f)));
    return uae_ad_mul(t, d, inv);
}

/* The MINE samples of the images img (B, C, H, W) on the attack's tape. Conv mode: the first
 * layer's channel maps, (B*K, 1, H', W'). Random mode: each image gives M standardised p-vectors,
 * standardise(image . P), (B, M, p), with the iteration's projection matrix P (draw_projection). */
static uae_var *samples_of(run *r, uae_var *img) {
    uae_tape *t = r->t;
    if (r->conv_samples) {
        uae_var *f = uae_model_first_layer(r->model, t, r->pv, img);
        return uae_ad_reshape(t, f, 4, (int64_t[]){r->B * r->n, 1, r->sh, r->sw});
    }
    uae_var *flat = uae_ad_reshape(t, img, 2, (int64_t[]){r->B, r->D});
    return standardise(t, uae_ad_reshape(t, uae_ad_matmul(t, flat, uae_ad_const(t, &r->P), false, false),
                                         3, (int64_t[]){r->B, r->n, r->sw}));
}

/* Random mode: draws the next projection matrix P, N(0, 1) entries (D, M*p), and puts x's samples
 * under it into xs_clean. P is shared by x and x' and by every sample of the batch; its numbers
 * depend only on (seed, draw number), and the draws happen at the same points for every batch
 * size, so a sample's x' does not depend on the batch. One draw per attack iteration, used by the
 * iteration's delta step and its MINE steps (docs/method.md: the official code draws one per
 * sess.run, 21 per iteration, which made the draws nearly all of the attack's time). */
static uae_status draw_projection(run *r) {
    if (r->conv_samples) return UAE_OK;
    const uae_attack_init *in = r->cfg->init;
    if (in && (int64_t)r->proj_draws >= in->proj_draws)
        return uae_fail(UAE_ERR_INVALID, "attack: the initial state holds %lld projection matrices, "
                        "this run needs more", (long long)in->proj_draws);
    UAE_TRY(uae_attack_init_projection(in, r->cfg->seed, r->proj_draws++, &r->P));
    uae_pass p;
    uae_status st = pass_begin(r, false, &p);
    uae_var *s = samples_of(r, as_image(r, uae_ad_const(r->t, &r->x)));
    if (st == UAE_OK) st = uae_tape_status(r->t);
    if (st == UAE_OK) st = uae_tensor_copy(&r->xs_clean, uae_ad_value(s));
    uae_pass_end(&p);
    return st;
}

/* Starts the objective's pass at the current delta: x' = x + delta with delta a leaf whose
 * gradient goes to r->g, l(x'), the violation and, with MINE, x''s samples. None of them depends
 * on MINE's weights or c, so in conv mode the MINE steps before the rest of the pass
 * (objective_finish) train on these samples: the first layer runs once per delta for them. The
 * tape's order is the one a pass run in one go would have (a gradient's bits depend on the order
 * its contributions are added in). */
static uae_status objective_open(run *r) {
    uae_status st = pass_begin(r, true, &r->obj);
    r->obj_open = true;
    uae_tape *t = r->t;
    r->obj_xflat = uae_ad_add(t, uae_ad_const(t, &r->x), uae_ad_leaf(t, &r->delta, &r->g));
    uae_var *img = as_image(r, r->obj_xflat);
    r->obj_loss = loss_of(r, img);
    r->obj_viol = violation_of(r, r->obj_loss);
    r->obj_ys = r->mine ? samples_of(r, img) : NULL;
    r->obj_xy = r->mine ? uae_ad_concat(t, uae_ad_const(t, &r->xs_clean), r->obj_ys) : NULL;
    return st == UAE_OK ? uae_tape_status(t) : st;
}

static void objective_close(run *r) {
    if (r->obj_open) uae_pass_end(&r->obj);
    r->obj_open = false;
}

/* The samples of the current x' that MINE trains on: conv mode, those of the open objective
 * pass; random mode, recomputed under the iteration's P into ys_cur. */
static uae_status current_samples(run *r, uae_tensor *xs, uae_tensor *ys) {
    if (r->conv_samples) {
        if (!r->obj_open) UAE_TRY(objective_open(r));
        /* the halves of obj_xy: MINE uses them in place */
        const uae_tensor *xy = uae_ad_value(r->obj_xy);
        UAE_TRY(uae_tensor_slice(xy, 0, xy->shape[0] / 2, xs));
        return uae_tensor_slice(xy, xy->shape[0] / 2, xy->shape[0] / 2, ys);
    }
    *xs = r->xs_clean;
    uae_pass p;
    uae_status st = pass_begin(r, false, &p);
    uae_var *x = uae_ad_add(r->t, uae_ad_const(r->t, &r->x), uae_ad_const(r->t, &r->delta));
    uae_var *y = samples_of(r, as_image(r, x));
    if (st == UAE_OK) st = uae_tape_status(r->t);
    if (st == UAE_OK) st = uae_tensor_copy(&r->ys_cur, uae_ad_value(y));
    uae_pass_end(&p);
    *ys = r->ys_cur;
    return st;
}

/* k MINE Adam steps on the samples of (x, current x'). Both stay fixed during the k steps (x'
 * does not move; random mode: P neither), so they are computed once, not once per step.
 * bounds: (k, B) host floats receiving each step's bounds, or NULL. */
static uae_status mine_steps(run *r, int k, float *bounds) {
    if (k == 0) return UAE_OK;
    uae_tensor xs, ys;
    UAE_TRY(current_samples(r, &xs, &ys));
    for (int i = 0; i < k; i++)
        UAE_TRY(uae_mine_train_step(r->mine, r->mt, &xs, &ys,
                                    bounds ? bounds + (int64_t)i * r->B : NULL));
    return UAE_OK;
}

static bool iterate_success(const run *r, int64_t b) {
    return uae_attack_success(r->cfg, r->viol[b], r->mi[b], r->loss[b], r->lclean_h[b]);
}

/* Hands iterate it of every sample to cfg->trace (the values of the last objective pass, the
 * bounds of the mine_done MINE steps since). */
static uae_status trace_iterates(run *r, int it, int mine_done) {
    if (!r->cfg->trace) return UAE_OK;
    float *mm = malloc((size_t)(mine_done > 0 ? mine_done : 1) * sizeof *mm);
    if (!mm) return uae_fail(UAE_ERR_NOMEM, "attack trace: out of host memory");
    uae_status st = UAE_OK;
    for (int64_t b = 0; b < r->B && st == UAE_OK; b++) {
        for (int i = 0; i < mine_done; i++) mm[i] = r->tr_mine[(int64_t)i * r->B + b];
        uae_attack_trace rec = {
            .index = r->first + (uint64_t)b, .sample = b, .iter = it,
            .search_step = r->search_step,
            .c = r->cfg->method == UAE_ATTACK_PGD ? NAN : r->tr_c[b],
            .loss_clean = r->lclean_h[b], .loss_adv = r->loss[b], .violation = r->viol[b],
            .mi = r->mi[b], .success = iterate_success(r, b), .mine_steps = mine_done,
            .mine_mi = mm, .d = r->D, .delta = r->tr_delta + b * r->D,
            .grad = r->tr_grad + b * r->D};
        st = r->cfg->trace(r->cfg->trace_user, &rec);
    }
    free(mm);
    return st;
}

/* Writes c and the keep rows (ctl_h) to the device, in one write. */
static uae_status write_ctl(run *r) { return uae_tensor_write(&r->ctl, r->ctl_h); }

/* Offers the iterate just evaluated (number it, values in stats_h) to every sample's track and
 * puts, on the host, the keep row x' goes to for each slot (KEEP_DISCARD where it replaces
 * nothing); returns the bits of the slots some sample's x' fills. */
static unsigned offer(run *r, int it) {
    bool pgd = r->cfg->method == UAE_ATTACK_PGD;
    unsigned any = 0;
    for (int64_t b = 0; b < r->B; b++) {
        /* PGD keeps the iterate with the largest loss (smallest margin): offer -l as the
         * "violation" (supervised: the margin's violation) to the smallest-violation slot. */
        float v = pgd && !r->cfg->supervised ? -r->loss[b] : r->viol[b];
        unsigned bits = uae_attack_track_offer(&r->tr[b], it, v, r->mi[b], r->loss[b]);
        for (int s = 0; s < UAE_TRACK_SLOT_COUNT; s++)
            r->ctl_h[(CTL_KEEP + s) * r->B + b] = (float)(bits >> s & 1u ? s : KEEP_DISCARD);
        any |= bits;
        if (!pgd && iterate_success(r, b)) r->step_ok[b] = true;
    }
    return any;
}

/* The rest of the objective's pass at the current delta (opened by objective_open if it is not
 * yet): writes d objective / d delta into r->g, reads the iterate's violation, loss and I,
 * offers it to the tracks, lets `decide` (if not NULL) set the next c on the host, writes c and
 * the keep rows, and copies x' into the rows of `keep` its slots take. Objective, summed over
 * samples:
 *     MinMax / penalty:  c * violation + I   (supervised: c * violation - I)
 *     PGD:               -l(x')               (supervised: the CW margin) */
static uae_status objective_finish(run *r, int it, void (*decide)(run *, int), int it_local) {
    uae_status st = r->obj_open ? UAE_OK : objective_open(r);
    uae_tape *t = r->t;
    bool pgd = r->cfg->method == UAE_ATTACK_PGD;
    uae_var *loss = r->obj_loss, *viol = r->obj_viol;
    uae_var *I = NULL, *obj = NULL;
    if (pgd) {
        obj = r->cfg->supervised ? loss : uae_ad_affine(t, loss, -1.0f, 0.0f);
    } else {
        I = uae_mine_bound_xy(r->mine, t, r->obj_xy, false);
        uae_var *pen = uae_ad_mul(t, uae_ad_const(t, &r->cvec), viol);
        obj = r->cfg->supervised ? uae_ad_sub(t, pen, I) : uae_ad_add(t, pen, I);
    }
    if (st == UAE_OK) st = uae_ad_backward(t, obj);
    /* the values the rules need, to the host in one read */
    int nstat = I ? STAT_COUNT : STAT_MI;
    uae_tensor stats;
    if (st == UAE_OK) st = uae_tensor_copy(&r->stat[STAT_VIOL], uae_ad_value(viol));
    if (st == UAE_OK) st = uae_tensor_copy(&r->stat[STAT_LOSS], uae_ad_value(loss));
    if (st == UAE_OK && I) st = uae_tensor_copy(&r->stat[STAT_MI], uae_ad_value(I));
    if (st == UAE_OK) st = uae_tensor_slice(&r->stats, 0, nstat, &stats);
    if (st == UAE_OK) st = uae_tensor_read(&stats, r->stats_h);
    if (st == UAE_OK && !I)
        for (int64_t b = 0; b < r->B; b++) r->mi[b] = NAN;
    if (st == UAE_OK && r->cfg->trace) {
        memcpy(r->tr_c, r->c, (size_t)r->B * sizeof *r->c);
        st = uae_tensor_read(&r->delta, r->tr_delta);
        if (st == UAE_OK) st = uae_tensor_read(&r->g, r->tr_grad);
    }
    unsigned fill = 0;
    if (st == UAE_OK) {
        fill = offer(r, it);
        if (decide) decide(r, it_local);
        st = write_ctl(r);
    }
    /* x' into the rows of its slots (the others' writes go to the discard row) */
    uae_tensor src;
    if (st == UAE_OK) st = uae_tensor_reshape(uae_ad_value(r->obj_xflat), 3,
                                              (int64_t[]){r->B, 1, r->D}, &src);
    for (int s = 0; s < UAE_TRACK_SLOT_COUNT && st == UAE_OK; s++) {
        if (!(fill >> s & 1u)) continue;
        uae_op op = {.kind = UAE_OP_SCATTER_ROWS, .src = {&src, &r->keep_idx[s]}, .dst = {&r->keep}};
        st = uae_op_run(&op);
    }
    objective_close(r);
    return st;
}

/* delta <- clamp(delta - lr * s(g), -eps, eps), then x + delta kept in [lo, hi] (the op). */
static uae_status step_delta(run *r, float lr, float eps, bool sign) {
    uae_op op = {.kind = UAE_OP_ATTACK_STEP, .src = {&r->x, &r->g}, .dst = {&r->delta}};
    op.p.attack = (uae_attack_params){.lr = lr, .eps = eps, .lo = r->cfg->lo, .hi = r->cfg->hi,
                                      .sign = sign};
    return uae_op_run(&op);
}

/* delta_0 ~ U(-l, l) per sample from its own stream (or cfg->init's), then projected (a step
 * with g = 0). */
static uae_status init_delta(run *r, float l, float eps) {
    UAE_TRY(uae_attack_init_delta0(r->cfg->init, r->cfg->seed, r->first, r->B, l, &r->delta));
    UAE_TRY(uae_fill(&r->g, 0.0f));
    return step_delta(r, 0.0f, eps, false);
}

static void progress(run *r) {
    r->done++;
    if (r->cfg->progress) r->cfg->progress(r->cfg->progress_user, r->done, r->total);
}

/* The dual ascent on c after iteration it (counted from 0 in this run). */
static void dual_update(run *r, int it) {
    const uae_attack_config *cfg = r->cfg;
    for (int64_t b = 0; b < r->B; b++)
        r->c[b] = uae_attack_dual_update(r->c[b], r->viol[b], it, cfg->dual_rate, cfg->dual_power);
}

/* One run of the MinMax loop (dual = true) or of the penalty method at fixed c (dual = false),
 * from a fresh delta and fresh MINE networks; iterates are numbered from it0. */
static uae_status minmax_run(run *r, int it0, bool dual) {
    const uae_attack_config *cfg = r->cfg;
    UAE_TRY(init_delta(r, uae_attack_delta0_limit(r->C, r->H, r->W), cfg->eps));
    UAE_TRY(uae_mine_reset(r->mine, cfg->seed, r->first));
    UAE_TRY(write_ctl(r)); /* this run's c (the penalty method changes it between runs) */
    UAE_TRY(draw_projection(r)); /* random mode: the P of the warm-up and of iteration 0 */
    uae_status st = mine_steps(r, cfg->mine_warmup, NULL);
    for (int it = 0; it < cfg->iterations && st == UAE_OK; it++) {
        if (it > 0) st = draw_projection(r); /* a new P per iteration */
        /* primal: one plain gradient step on delta (GradientDescentOptimizer(0.01) officially) */
        if (st == UAE_OK) st = objective_finish(r, it0 + it, dual ? dual_update : NULL, it);
        if (st == UAE_OK) st = step_delta(r, cfg->lr, cfg->eps, false);
        /* MINE catches up with the new x' */
        if (st == UAE_OK) st = mine_steps(r, cfg->mine_steps, cfg->trace ? r->tr_mine : NULL);
        if (st == UAE_OK) st = trace_iterates(r, it0 + it, cfg->mine_steps);
        if (st == UAE_OK) progress(r);
    }
    objective_close(r); /* the last MINE steps' pass */
    return st;
}

/* PGD: random start in the eps-ball, sign steps on the objective; iterates 0 .. iterations
 * are evaluated (the last one after the last step). */
static uae_status pgd_run(run *r) {
    const uae_attack_config *cfg = r->cfg;
    UAE_TRY(init_delta(r, cfg->pgd_eps, cfg->pgd_eps));
    for (int it = 0; it <= cfg->iterations; it++) {
        UAE_TRY(objective_finish(r, it, NULL, it));
        UAE_TRY(trace_iterates(r, it, 0));
        if (it == cfg->iterations) break;
        UAE_TRY(step_delta(r, cfg->pgd_step, cfg->pgd_eps, true));
        progress(r);
    }
    return UAE_OK;
}

/* The penalty method: search_steps runs at fixed c; after each, a sample that succeeded lowers
 * its upper bound on c, one that failed raises its lower bound (x10 while no upper bound is
 * known), as in Carlini and Wagner's L2 attack. The tracks keep the best iterate of all runs. */
static uae_status penalty_run(run *r) {
    const uae_attack_config *cfg = r->cfg;
    double *lo = malloc((size_t)r->B * sizeof *lo), *hi = malloc((size_t)r->B * sizeof *hi);
    if (!lo || !hi) {
        free(lo);
        free(hi);
        return uae_fail(UAE_ERR_NOMEM, "attack: out of host memory");
    }
    for (int64_t b = 0; b < r->B; b++) {
        lo[b] = 0.0;
        hi[b] = 1e10;
    }
    uae_status st = UAE_OK;
    for (int s = 0; s < cfg->search_steps && st == UAE_OK; s++) {
        for (int64_t b = 0; b < r->B; b++) r->step_ok[b] = false;
        r->search_step = s;
        st = minmax_run(r, s * cfg->iterations, false);
        for (int64_t b = 0; b < r->B && st == UAE_OK; b++) {
            double c = r->c[b];
            if (r->step_ok[b]) {
                hi[b] = c < hi[b] ? c : hi[b];
                c = 0.5 * (lo[b] + hi[b]);
            } else {
                lo[b] = c > lo[b] ? c : lo[b];
                c = hi[b] < 1e9 ? 0.5 * (lo[b] + hi[b]) : 10.0 * c;
            }
            r->c[b] = (float)c;
        }
    }
    free(lo);
    free(hi);
    return st;
}

/* Sets up the MINE samples: conv mode if asked for and the model starts with a convolution (the
 * clean samples are computed once here), else random projections. Creates the MINE networks. */
static uae_status setup_mine(run *r) {
    const uae_attack_config *cfg = r->cfg;
    uae_mine_config mc = cfg->mine;
    r->conv_samples = false;
    if (cfg->samples == UAE_ATTACK_SAMPLES_CONV) {
        uae_pass p;
        uae_status st = pass_begin(r, false, &p);
        uae_var *f = uae_model_first_layer(r->model, r->t, r->pv, as_image(r, uae_ad_const(r->t, &r->x)));
        if (st == UAE_OK) st = uae_tape_status(r->t);
        if (st == UAE_OK && f) {
            const uae_tensor *F = uae_ad_value(f);
            r->conv_samples = true;
            r->n = F->shape[1];
            r->sc = 1;
            r->sh = (int)F->shape[2];
            r->sw = (int)F->shape[3];
            st = uae_arena_tensor4(r->ar, r->B * r->n, 1, r->sh, r->sw, &r->xs_clean);
            if (st == UAE_OK) st = uae_tensor_copy(&r->xs_clean, F);
        }
        uae_pass_end(&p);
        UAE_TRY(st);
    }
    if (r->conv_samples) {
        mc.net = UAE_MINE_NET_CONV;
    } else {
        if (cfg->proj_count < 1 || cfg->proj_dim < 2)
            return uae_fail(UAE_ERR_INVALID, "attack: %d projections to %d dimensions; need >= 1 "
                            "and >= 2", cfg->proj_count, cfg->proj_dim);
        mc.net = UAE_MINE_NET_DENSE;
        r->n = cfg->proj_count;
        r->sc = 1;
        r->sh = 1;
        r->sw = cfg->proj_dim;
        /* P (D, M*p) and the samples (B, M, p) of x and x', for the whole attack */
        int64_t Mp = r->n * r->sw;
        UAE_TRY(uae_arena_create(r->be, (size_t)(r->D * Mp + 2 * r->B * Mp + 64), &r->proj_ar));
        UAE_TRY(uae_arena_tensor2(r->proj_ar, r->D, Mp, &r->P));
        uae_tensor xy;
        UAE_TRY(uae_arena_tensor(r->proj_ar, 3, (int64_t[]){2 * r->B, r->n, r->sw}, &xy));
        UAE_TRY(uae_tensor_slice(&xy, 0, r->B, &r->xs_clean));
        UAE_TRY(uae_tensor_slice(&xy, r->B, r->B, &r->ys_cur));
    }
    UAE_TRY(uae_mine_create(r->be, &mc, r->B, r->n, r->sc, r->sh, r->sw, &r->mine));
    const uae_attack_init *in = cfg->init;
    if (!in) return UAE_OK;
    /* the initial state must be this run's: conv samples of the same shape, every sample's row */
    if (in->conv != r->conv_samples || in->samples != r->n || in->sh != r->sh || in->sw != r->sw ||
        in->D != r->D || (!in->conv && in->proj_cols != r->n * r->sw))
        return uae_fail(UAE_ERR_INVALID, "attack: the initial state is for %s, %lld samples of "
                        "%dx%d per example of %lld floats; this run has %s, %lld of %dx%d",
                        in->conv ? "conv mode" : "random mode", (long long)in->samples, in->sh,
                        in->sw, (long long)in->D, r->conv_samples ? "conv mode" : "random mode",
                        (long long)r->n, r->sh, r->sw);
    if (r->first < in->first || r->first + (uint64_t)r->B > in->first + (uint64_t)in->n)
        return uae_fail(UAE_ERR_INVALID, "attack: the initial state covers examples %llu .. %llu, "
                        "this batch %llu .. %llu", (unsigned long long)in->first,
                        (unsigned long long)(in->first + (uint64_t)in->n - 1),
                        (unsigned long long)r->first,
                        (unsigned long long)(r->first + (uint64_t)r->B - 1));
    if (in->draws < uae_attack_init_draws(cfg))
        return uae_fail(UAE_ERR_INVALID, "attack: the initial state holds %lld permutations per "
                        "example, this run draws %lld (other --iterations, --mine-steps or "
                        "--mine-warmup)", (long long)in->draws, (long long)uae_attack_init_draws(cfg));
    uae_mine_set_init(r->mine, &(uae_mine_init){.w = (const float *const *)in->w, .perm = in->perm,
                                                .draws = in->draws,
                                                .row0 = (int64_t)(r->first - in->first)});
    return UAE_OK;
}

static uae_status check_config(const uae_attack_config *cfg, const uae_model_config *mc,
                               const int32_t *labels, int64_t B) {
    if (B < 1) return uae_fail(UAE_ERR_INVALID, "attack: batch of %lld samples", (long long)B);
    if ((unsigned)cfg->method >= UAE_ATTACK_METHOD_COUNT || (unsigned)cfg->loss >= UAE_ATTACK_LOSS_COUNT ||
        (unsigned)cfg->samples >= UAE_ATTACK_SAMPLES_COUNT)
        return uae_fail(UAE_ERR_INVALID, "attack: unknown method, loss or sample mode");
    if (cfg->iterations < 1 || cfg->mine_steps < 0 || cfg->mine_warmup < 0 || !(cfg->eps > 0.0f) ||
        !(cfg->hi > cfg->lo) || !(cfg->lr >= 0.0f) || cfg->c0 < 0.0f)
        return uae_fail(UAE_ERR_INVALID, "attack: iterations %d (>= 1), mine steps %d and warm-up %d "
                        "(>= 0), eps %g (> 0), box [%g, %g], lr %g, c0 %g (>= 0)", cfg->iterations,
                        cfg->mine_steps, cfg->mine_warmup, cfg->eps, cfg->lo, cfg->hi, cfg->lr, cfg->c0);
    if (cfg->method == UAE_ATTACK_PENALTY && cfg->search_steps < 1)
        return uae_fail(UAE_ERR_INVALID, "attack: penalty method with %d search steps", cfg->search_steps);
    if (cfg->init && cfg->method == UAE_ATTACK_PGD)
        return uae_fail(UAE_ERR_INVALID, "attack: PGD takes no initial state (cfg.init)");
    if (cfg->method == UAE_ATTACK_PGD && !(cfg->pgd_eps > 0.0f && cfg->pgd_step > 0.0f))
        return uae_fail(UAE_ERR_INVALID, "attack: PGD eps %g and step %g must be > 0", cfg->pgd_eps,
                        cfg->pgd_step);
    if (cfg->loss == UAE_ATTACK_LOSS_MODEL && mc->kind == UAE_MODEL_CONTRASTIVE &&
        (!cfg->negatives || cfg->negatives_n < 1))
        return uae_fail(UAE_ERR_INVALID, "attack: the contrastive loss of '%s' needs negatives: set "
                        "cfg.negatives to cfg.negatives_n (now %lld) training examples, e.g. from "
                        "uae_attack_pick_negatives", mc->preset, (long long)cfg->negatives_n);
    if (cfg->loss == UAE_ATTACK_LOSS_CW) {
        if (!labels) return uae_fail(UAE_ERR_INVALID, "attack: the CW loss needs labels");
        if (mc->classes < 2)
            return uae_fail(UAE_ERR_INVALID, "attack: the CW loss needs a classifier, model '%s' has "
                            "%d classes", mc->preset, mc->classes);
        for (int64_t b = 0; b < B; b++)
            if (labels[b] < 0 || labels[b] >= mc->classes)
                return uae_fail(UAE_ERR_INVALID, "attack: label %d of sample %lld outside [0, %d)",
                                (int)labels[b], (long long)b, mc->classes);
    }
    return UAE_OK;
}

static void run_free(run *r) {
    uae_mine_free(r->mine);
    uae_arena_free(r->proj_ar);
    uae_tape_free(r->mt);
    uae_tape_free(r->t);
    uae_arena_free(r->scratch);
    uae_arena_free(r->ar);
    free(r->pv);
    free(r->stats_h);
    free(r->ctl_h);
    free(r->lclean_h);
    free(r->step_ok);
    free(r->tr);
    free(r->tr_c);
    free(r->tr_delta);
    free(r->tr_grad);
    free(r->tr_mine);
}

/* The contrastive loss's negatives: their views' unit embeddings, computed once (they do not
 * change during the attack) into r->negz. */
static uae_status setup_negatives(run *r) {
    const int64_t M = r->cfg->negatives_n;
    uae_pass p;
    uae_status st = pass_begin(r, false, &p);
    uae_tensor imgs;
    if (st == UAE_OK) st = uae_arena_tensor4(r->scratch, M, r->C, r->H, r->W, &imgs);
    if (st == UAE_OK) st = uae_tensor_write(&imgs, r->cfg->negatives);
    uae_var *z = NULL;
    if (st == UAE_OK) z = uae_model_negatives(r->model, r->t, r->pv, &imgs, r->cfg->seed);
    if (st == UAE_OK) st = uae_tape_status(r->t);
    if (st == UAE_OK) {
        const uae_tensor *Z = uae_ad_value(z);
        st = uae_arena_tensor2(r->ar, M, Z->shape[1], &r->negz);
        if (st == UAE_OK) st = uae_tensor_copy(&r->negz, Z);
    }
    uae_pass_end(&p);
    return st;
}

static uae_status run_setup(run *r, const float *x, const int32_t *labels) {
    const uae_model_config *mc = uae_model_config_of(r->model);
    size_t B = (size_t)r->B, BD = (size_t)(r->B * r->D);
    r->pv = calloc((size_t)uae_params_count(uae_model_params(r->model)) + 1, sizeof *r->pv);
    r->stats_h = malloc(STAT_COUNT * B * sizeof *r->stats_h);
    r->ctl_h = malloc(CTL_COUNT * B * sizeof *r->ctl_h);
    r->lclean_h = malloc(B * sizeof *r->lclean_h);
    r->step_ok = calloc(B, sizeof *r->step_ok);
    r->tr = malloc(B * sizeof *r->tr);
    if (!r->pv || !r->stats_h || !r->ctl_h || !r->lclean_h || !r->step_ok || !r->tr)
        return uae_fail(UAE_ERR_NOMEM, "attack: out of host memory for %lld samples", (long long)B);
    r->viol = r->stats_h + STAT_VIOL * B;
    r->loss = r->stats_h + STAT_LOSS * B;
    r->mi = r->stats_h + STAT_MI * B;
    r->c = r->ctl_h + CTL_C * B;
    if (r->cfg->trace) {
        size_t ms = (size_t)(r->cfg->mine_steps > 0 ? r->cfg->mine_steps : 1);
        r->tr_c = malloc(B * sizeof *r->tr_c);
        r->tr_delta = malloc(BD * sizeof *r->tr_delta);
        r->tr_grad = malloc(BD * sizeof *r->tr_grad);
        r->tr_mine = malloc(ms * B * sizeof *r->tr_mine);
        if (!r->tr_c || !r->tr_delta || !r->tr_grad || !r->tr_mine)
            return uae_fail(UAE_ERR_NOMEM, "attack trace: out of host memory for %lld samples",
                            (long long)B);
    }
    UAE_TRY(uae_arena_create(r->be, (4 + KEEP_DISCARD) * BD + (2 + STAT_COUNT + CTL_COUNT) * B + 1024,
                             &r->ar));
    UAE_TRY(uae_arena_create(r->be, (size_t)1 << 22, &r->scratch));
    UAE_TRY(uae_tape_create(r->scratch, &r->t));
    UAE_TRY(uae_tape_create(r->scratch, &r->mt));
    UAE_TRY(uae_arena_tensor2(r->ar, r->B, r->D, &r->x));
    UAE_TRY(uae_arena_tensor2(r->ar, r->B, r->D, &r->delta));
    UAE_TRY(uae_arena_tensor2(r->ar, r->B, r->D, &r->g));
    UAE_TRY(uae_arena_tensor1(r->ar, r->B, &r->lclean));
    /* keep: rows start as zeros (a slot no iterate fills returns zeros) */
    UAE_TRY(uae_arena_tensor(r->ar, 3, (int64_t[]){r->B, KEEP_DISCARD + 1, r->D}, &r->keep));
    UAE_TRY(uae_fill(&r->keep, 0.0f));
    UAE_TRY(uae_arena_tensor2(r->ar, STAT_COUNT, r->B, &r->stats));
    for (int i = 0; i < STAT_COUNT; i++) {
        UAE_TRY(uae_tensor_slice(&r->stats, i, 1, &r->stat[i]));
        UAE_TRY(uae_tensor_reshape(&r->stat[i], 1, (int64_t[]){r->B}, &r->stat[i]));
    }
    UAE_TRY(uae_arena_tensor2(r->ar, CTL_COUNT, r->B, &r->ctl));
    UAE_TRY(uae_tensor_slice(&r->ctl, CTL_C, 1, &r->cvec));
    UAE_TRY(uae_tensor_reshape(&r->cvec, 1, (int64_t[]){r->B}, &r->cvec));
    for (int s = 0; s < UAE_TRACK_SLOT_COUNT; s++) {
        UAE_TRY(uae_tensor_slice(&r->ctl, CTL_KEEP + s, 1, &r->keep_idx[s]));
        UAE_TRY(uae_tensor_reshape(&r->keep_idx[s], 2, (int64_t[]){r->B, 1}, &r->keep_idx[s]));
    }
    UAE_TRY(uae_tensor_write(&r->x, x));
    UAE_TRY(uae_tensor_reshape(&r->x, 4, (int64_t[]){r->B, r->C, r->H, r->W}, &r->ximg));
    if (r->cfg->loss == UAE_ATTACK_LOSS_CW) {
        float *oh = calloc(B * (size_t)mc->classes, sizeof *oh);
        if (!oh) return uae_fail(UAE_ERR_NOMEM, "attack: out of host memory");
        for (int64_t b = 0; b < r->B; b++) oh[b * mc->classes + labels[b]] = 1.0f;
        uae_status st = uae_arena_tensor2(r->ar, r->B, mc->classes, &r->onehot);
        if (st == UAE_OK) st = uae_tensor_write(&r->onehot, oh);
        free(oh);
        UAE_TRY(st);
    }
    if (r->cfg->loss == UAE_ATTACK_LOSS_MODEL && mc->kind == UAE_MODEL_CONTRASTIVE)
        UAE_TRY(setup_negatives(r));
    /* l(x), once */
    uae_pass p;
    uae_status st = pass_begin(r, false, &p);
    uae_var *l = loss_of(r, as_image(r, uae_ad_const(r->t, &r->x)));
    if (st == UAE_OK) st = uae_tape_status(r->t);
    if (st == UAE_OK) st = uae_tensor_copy(&r->lclean, uae_ad_value(l));
    if (st == UAE_OK) st = uae_tensor_read(&r->lclean, r->lclean_h);
    uae_pass_end(&p);
    UAE_TRY(st);
    for (int64_t b = 0; b < r->B; b++) {
        r->c[b] = r->cfg->c0;
        uae_attack_track_init(&r->tr[b], r->cfg->supervised);
    }
    if (r->cfg->method != UAE_ATTACK_PGD) UAE_TRY(setup_mine(r));
    return UAE_OK;
}

uae_status uae_attack_run(uae_model *model, const uae_attack_config *cfg, const float *x,
                          const int32_t *labels, uint64_t first_global_index, int64_t B,
                          float *x_adv, uae_attack_result *results) {
    const uae_model_config *mc = uae_model_config_of(model);
    UAE_TRY(check_config(cfg, mc, labels, B));
    double t0 = now_seconds();
    run r;
    memset(&r, 0, sizeof r);
    r.model = model;
    r.cfg = cfg;
    r.be = uae_params_backend(uae_model_params(model));
    r.B = B;
    r.C = mc->channels;
    r.H = mc->height;
    r.W = mc->width;
    r.D = (int64_t)r.C * r.H * r.W;
    r.first = first_global_index;
    r.total = (int64_t)cfg->iterations * (cfg->method == UAE_ATTACK_PENALTY ? cfg->search_steps : 1);
    uae_status st = run_setup(&r, x, labels);
    if (st == UAE_OK) {
        switch (cfg->method) {
        case UAE_ATTACK_MINMAX: st = minmax_run(&r, 0, true); break;
        case UAE_ATTACK_PENALTY: st = penalty_run(&r); break;
        case UAE_ATTACK_PGD: st = pgd_run(&r); break;
        case UAE_ATTACK_METHOD_COUNT: break;
        }
    }
    if (st == UAE_OK) {
        double per = (now_seconds() - t0) / (double)B;
        int iters = (int)r.total + (cfg->method == UAE_ATTACK_PGD ? 1 : 0);
        /* the kept iterates, read once */
        float *kept = malloc((size_t)(B * (KEEP_DISCARD + 1) * r.D) * sizeof *kept);
        if (!kept) st = uae_fail(UAE_ERR_NOMEM, "attack: out of host memory for the result");
        if (st == UAE_OK) st = uae_tensor_read(&r.keep, kept);
        for (int64_t b = 0; b < B && st == UAE_OK; b++) {
            uae_track_slot s = uae_attack_track_selected(&r.tr[b]);
            const uae_attack_iterate *sel = &r.tr[b].slot[s];
            uae_attack_result *res = &results[b];
            memcpy(x_adv + b * r.D, kept + (b * (KEEP_DISCARD + 1) + s) * r.D,
                   (size_t)r.D * sizeof(float));
            res->selected_iter = sel->iter;
            res->mi = sel->mi;
            res->loss_adv = sel->loss;
            res->loss_clean = r.lclean_h[b];
            /* the selected iterate meets the rule exactly when some iterate did */
            res->success = uae_attack_success(cfg, sel->violation, sel->mi, sel->loss,
                                              res->loss_clean);
            res->iterations = iters;
            res->seconds = per;
        }
        free(kept);
        /* The trace's end records: which iterate each sample returns. */
        for (int64_t b = 0; b < B && cfg->trace && st == UAE_OK; b++) {
            uae_attack_trace rec = {.end = true, .index = r.first + (uint64_t)b, .sample = b,
                                    .iter = results[b].selected_iter, .c = NAN,
                                    .loss_clean = results[b].loss_clean,
                                    .loss_adv = results[b].loss_adv, .violation = NAN,
                                    .mi = results[b].mi, .success = results[b].success, .d = r.D};
            st = cfg->trace(cfg->trace_user, &rec);
        }
    }
    run_free(&r);
    return st;
}
