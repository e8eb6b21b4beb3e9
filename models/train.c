/* models/train.c — the training loop and the evaluation of a model (see uae/train.h), written only
 * against uae/model.h: the same loop trains every preset. Not here: how a model computes its loss
 * (models/model_*.c), what a checkpoint holds (models/checkpoint.c), drawing progress (the
 * caller). */
#include "uae/train.h"

#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "checked.h"
#include "uae/checkpoint.h"
#include "uae/io.h"

uae_train_options uae_train_options_default(void) {
    uae_train_options o;
    memset(&o, 0, sizeof o);
    o.epochs = 1;
    o.batch = 100;
    o.seed = 1;
    return o;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- A batch runner: the device tensors one batch needs, and a tape ----------------------------
 * The arena holds the batch inputs at its start; everything a step or an evaluation allocates
 * after them is rewound at the end of that step, so an epoch allocates nothing new on the
 * device. */

typedef struct runner {
    uae_model *m;
    const uae_model_config *cfg;
    int64_t d;          /* features per example */
    int64_t cap;        /* examples per batch at most */
    bool images;        /* x is (B, C, H, W); else (B, d) */
    bool need_onehot;   /* classifiers: the loss needs one-hot labels */
    uae_arena *arena;
    uae_tape *tape;
    uae_tensor x;       /* (cap, C, H, W) or (cap, d) */
    uae_tensor onehot;  /* (cap, classes), if need_onehot */
    uae_tensor target;  /* like x, if the training set has separate targets */
    const float *targets; /* (n, d) of the data set being trained on, or NULL (not owned) */
    float *ht;          /* (cap, d) host copy of the batch's targets, if targets */
    uae_var **pv;       /* (parameter count) */
    float *hx;          /* (cap, d) host copy of the batch */
    int32_t *hy;        /* (cap) labels, or NULL */
    float *hoh;         /* (cap, classes) one-hot, or NULL */
    float *hout;        /* host scratch for outputs */
    int64_t hout_cap;   /* floats */
    int64_t *idx;       /* (cap) indices of a batch in its data set */
} runner;

static void runner_free(runner *r) {
    uae_tape_free(r->tape);
    uae_arena_free(r->arena);
    free(r->pv);
    free(r->hx);
    free(r->hy);
    free(r->hoh);
    free(r->ht);
    free(r->hout);
    free(r->idx);
    memset(r, 0, sizeof *r);
}

/* Arena chunks of 4 Mi floats (16 MiB): a conv-ae step of 100 images fits in one or two; a single
 * larger tensor gets a chunk of its own. */
enum { ARENA_CHUNK_FLOATS = 1 << 22 };

/* The model's input shape, without allocating anything: enough for check_data. The model was
 * created, so channels x height x width is within UAE_MODEL_MAX_FEATURES. */
static void runner_shape(runner *r, uae_model *m) {
    memset(r, 0, sizeof *r);
    r->m = m;
    r->cfg = uae_model_config_of(m);
    r->d = (int64_t)r->cfg->channels * r->cfg->height * r->cfg->width;
    r->images = !(r->cfg->channels == 1 && r->cfg->height == 1);
    r->need_onehot = r->cfg->kind == UAE_MODEL_CLASSIFIER;
}

static uae_status runner_init(runner *r, uae_model *m, int64_t cap, const float *targets) {
    runner_shape(r, m);
    r->cap = cap;
    if (r->need_onehot && r->cfg->classes < 1)
        return uae_fail(UAE_ERR_INVALID, "model '%s': a classifier with %d classes",
                        r->cfg->preset, r->cfg->classes);
    uae_backend *be = uae_params_backend(uae_model_params(m));
    int np = uae_params_count(uae_model_params(m));
    size_t xbytes, ohbytes = 0, capbytes;
    int64_t xn, ohn;
    if (!uae_checked_bytes(cap, sizeof(int64_t), &capbytes) || !uae_checked_mul(cap, r->d, &xn) ||
        !uae_checked_bytes(xn, sizeof *r->hx, &xbytes) ||
        (r->need_onehot && (!uae_checked_mul(cap, r->cfg->classes, &ohn) ||
                            !uae_checked_bytes(ohn, sizeof *r->hoh, &ohbytes))))
        return uae_fail(UAE_ERR_NOMEM, "model '%s': batches of %lld examples of %lld features "
                        "do not fit in memory (use a smaller --batch)", r->cfg->preset,
                        (long long)cap, (long long)r->d);
    r->pv = calloc((size_t)np, sizeof *r->pv);
    r->hx = malloc(xbytes);
    r->hy = malloc(capbytes);
    r->idx = malloc(capbytes);
    if (r->need_onehot) r->hoh = malloc(ohbytes);
    r->targets = targets;
    if (targets) r->ht = malloc(xbytes);
    if (!r->pv || !r->hx || !r->hy || !r->idx || (r->need_onehot && !r->hoh) ||
        (targets && !r->ht)) {
        uae_status st = uae_fail(UAE_ERR_NOMEM, "model '%s': out of host memory for batches of "
                                 "%lld examples of %lld features (use a smaller --batch)",
                                 r->cfg->preset, (long long)cap, (long long)r->d);
        runner_free(r);
        return st;
    }
    uae_status st = uae_arena_create(be, ARENA_CHUNK_FLOATS, &r->arena);
    if (st == UAE_OK) st = uae_tape_create(r->arena, &r->tape);
    if (st == UAE_OK && r->images)
        st = uae_arena_tensor4(r->arena, cap, r->cfg->channels, r->cfg->height, r->cfg->width,
                               &r->x);
    else if (st == UAE_OK)
        st = uae_arena_tensor2(r->arena, cap, r->d, &r->x);
    if (st == UAE_OK && r->need_onehot)
        st = uae_arena_tensor2(r->arena, cap, r->cfg->classes, &r->onehot);
    if (st == UAE_OK && targets && r->images)
        st = uae_arena_tensor4(r->arena, cap, r->cfg->channels, r->cfg->height, r->cfg->width,
                               &r->target);
    else if (st == UAE_OK && targets)
        st = uae_arena_tensor2(r->arena, cap, r->d, &r->target);
    if (st != UAE_OK) {
        runner_free(r);
        return st;
    }
    return UAE_OK;
}

/* Checks that ds fits the model: its shape, and labels in range where the loss needs them. */
static uae_status check_data(const runner *r, const uae_dataset *ds, const char *what) {
    const uae_model_config *c = r->cfg;
    if (ds->d != r->d || (r->images && (ds->c != c->channels || ds->h != c->height ||
                                        ds->w != c->width)))
        return uae_fail(UAE_ERR_SHAPE, "%s set: examples of %d x %d x %d, model '%s' expects "
                        "%d x %d x %d", what, ds->c, ds->h, ds->w, c->preset, c->channels,
                        c->height, c->width);
    if (ds->n < 1) return uae_fail(UAE_ERR_INVALID, "%s set: no examples", what);
    if (r->need_onehot) {
        if (!ds->y)
            return uae_fail(UAE_ERR_INVALID, "%s set: model '%s' needs labels and the data has "
                            "none", what, c->preset);
        for (int64_t i = 0; i < ds->n; i++)
            if (ds->y[i] < 0 || ds->y[i] >= c->classes)
                return uae_fail(UAE_ERR_INVALID, "%s set: example %lld has label %d, model '%s' "
                                "has %d classes", what, (long long)i, ds->y[i], c->preset,
                                c->classes);
    }
    return UAE_OK;
}

/* Copies examples idx[0 .. count) of ds to the device; xv (and ov) receive views of that size.
 * tv, if not NULL, receives the view of their targets (r->targets must be set). */
static uae_status runner_load(runner *r, const uae_dataset *ds, int64_t count, uae_tensor *xv,
                              uae_tensor *ov, uae_tensor *tv) {
    UAE_TRY(uae_data_gather(ds, r->idx, count, r->hx, ds->y ? r->hy : NULL));
    UAE_TRY(uae_tensor_slice(&r->x, 0, count, xv));
    UAE_TRY(uae_tensor_write(xv, r->hx));
    if (tv) {
        for (int64_t i = 0; i < count; i++)
            memcpy(r->ht + i * r->d, r->targets + r->idx[i] * r->d, (size_t)r->d * sizeof *r->ht);
        UAE_TRY(uae_tensor_slice(&r->target, 0, count, tv));
        UAE_TRY(uae_tensor_write(tv, r->ht));
    }
    if (!r->need_onehot) return UAE_OK;
    int64_t k = r->cfg->classes;
    memset(r->hoh, 0, (size_t)(count * k) * sizeof *r->hoh);
    for (int64_t i = 0; i < count; i++) r->hoh[i * k + r->hy[i]] = 1.0f;
    UAE_TRY(uae_tensor_slice(&r->onehot, 0, count, ov));
    return uae_tensor_write(ov, r->hoh);
}

/* Reads a variable's value into r->hout (grown as needed); *n receives its element count. */
static uae_status read_out(runner *r, uae_var *v, int64_t *n) {
    if (!v) return uae_tape_status(r->tape);
    const uae_tensor *t = uae_ad_value(v);
    *n = uae_tensor_numel(t);
    if (*n > r->hout_cap) {
        float *p = realloc(r->hout, (size_t)*n * sizeof *p);
        if (!p) return uae_fail(UAE_ERR_NOMEM, "evaluation: out of host memory");
        r->hout = p;
        r->hout_cap = *n;
    }
    return uae_tensor_read(t, r->hout);
}

/* Sums over one batch of count examples (already loaded): per-example losses, squared
 * reconstruction errors, correct predictions. Forward only, nothing recorded. */
typedef struct eval_sums {
    double loss, sq;
    int64_t n, loss_n, correct;
} eval_sums;

static uae_status eval_batch(runner *r, const uae_tensor *xv, const uae_tensor *ov, int64_t count,
                             uint64_t seed, eval_sums *s) {
    uae_tape *t = r->tape;
    uae_pass pass = uae_pass_begin(t, false);
    uae_batch b = {.x = xv, .onehot = r->need_onehot ? ov : NULL, .seed = seed, .step = 0,
                   .training = false};
    uae_status st = uae_model_bind(r->m, t, false, r->pv);
    uae_var *x = st == UAE_OK ? uae_ad_const(t, xv) : NULL;
    int64_t n = 0;
    if (st == UAE_OK) st = read_out(r, uae_model_loss(r->m, t, r->pv, x, &b), &n);
    /* Summed in double in example order, so the total does not depend on the batch size. */
    for (int64_t i = 0; i < n && st == UAE_OK; i++) s->loss += r->hout[i];
    s->loss_n += n;
    if (st == UAE_OK && r->cfg->kind != UAE_MODEL_CONTRASTIVE)
        st = read_out(r, uae_model_forward(r->m, t, r->pv, x, &b), &n);
    if (st == UAE_OK && r->cfg->kind == UAE_MODEL_AUTOENCODER) {
        if (n != count * r->d)
            st = uae_fail(UAE_ERR_SHAPE, "evaluation: the reconstruction has %lld values for %lld "
                          "examples of %lld", (long long)n, (long long)count, (long long)r->d);
        for (int64_t i = 0; i < n && st == UAE_OK; i++) {
            double e = (double)r->hout[i] - (double)r->hx[i];
            s->sq += e * e;
        }
    } else if (st == UAE_OK && r->cfg->kind == UAE_MODEL_CLASSIFIER) {
        int64_t k = r->cfg->classes;
        if (n != count * k)
            st = uae_fail(UAE_ERR_SHAPE, "evaluation: %lld logits for %lld examples of %lld "
                          "classes", (long long)n, (long long)count, (long long)k);
        for (int64_t i = 0; i < count && st == UAE_OK; i++) {
            int64_t best = 0; /* the first largest logit, as argmax does */
            for (int64_t j = 1; j < k; j++)
                if (r->hout[i * k + j] > r->hout[i * k + best]) best = j;
            s->correct += best == r->hy[i];
        }
    }
    s->n += count;
    if (st == UAE_OK) st = uae_tape_status(t);
    uae_pass_end(&pass);
    return st;
}

/* Evaluates ds in batches of `batch` (at most r->cap) examples, telling o->on_eval (o may be
 * NULL) how far it is. */
static uae_status evaluate_with(runner *r, const uae_dataset *ds, int64_t batch, uint64_t seed,
                                const uae_train_options *o, const char *set, uae_eval_stats *out) {
    eval_sums s = {0};
    if (batch > r->cap) batch = r->cap;
    uae_train_eval_fn progress = o ? o->on_eval : NULL;
    if (progress) progress(o->user, set, 0, ds->n);
    for (int64_t first = 0; first < ds->n; first += batch) {
        int64_t count = ds->n - first < batch ? ds->n - first : batch;
        for (int64_t i = 0; i < count; i++) r->idx[i] = first + i;
        uae_tensor xv, ov;
        UAE_TRY(runner_load(r, ds, count, &xv, &ov, NULL));
        UAE_TRY(eval_batch(r, &xv, &ov, count, seed, &s));
        if (progress) progress(o->user, set, first + count, ds->n);
    }
    out->n = s.n;
    out->loss = s.loss_n ? s.loss / (double)s.loss_n : NAN;
    out->mse = r->cfg->kind == UAE_MODEL_AUTOENCODER ? s.sq / (double)(s.n * r->d) : NAN;
    out->accuracy = r->cfg->kind == UAE_MODEL_CLASSIFIER ? (double)s.correct / (double)s.n : NAN;
    return UAE_OK;
}

static const uae_eval_stats no_stats = {0, NAN, NAN, NAN};

uae_status uae_train_evaluate(uae_model *m, const uae_dataset *ds, int64_t batch, uint64_t seed,
                              uae_eval_stats *out) {
    *out = no_stats;
    if (batch < 1)
        return uae_fail(UAE_ERR_INVALID, "evaluation: batch size %lld", (long long)batch);
    runner r;
    runner_shape(&r, m); /* the data's shape first: a mismatch is not a memory problem */
    UAE_TRY(check_data(&r, ds, "evaluation"));
    UAE_TRY(runner_init(&r, m, ds->n < batch ? ds->n : batch, NULL));
    uae_status st = evaluate_with(&r, ds, batch, seed, NULL, "test", out);
    runner_free(&r);
    return st;
}

uae_status uae_train_predict(uae_model *m, const float *x, int64_t n, int64_t batch, float **y,
                             int64_t *dim) {
    *y = NULL;
    *dim = 0;
    if (n < 1 || batch < 1)
        return uae_fail(UAE_ERR_INVALID, "predict: %lld examples in batches of %lld", (long long)n,
                        (long long)batch);
    runner r;
    UAE_TRY(runner_init(&r, m, n < batch ? n : batch, NULL));
    uae_status st = UAE_OK;
    float *out = NULL;
    for (int64_t first = 0; first < n && st == UAE_OK; first += r.cap) {
        int64_t count = n - first < r.cap ? n - first : r.cap;
        uae_tensor xv;
        st = uae_tensor_slice(&r.x, 0, count, &xv);
        if (st == UAE_OK) st = uae_tensor_write(&xv, x + first * r.d);
        uae_pass pass = uae_pass_begin(r.tape, false);
        uae_batch b = {.x = &xv, .training = false};
        if (st == UAE_OK) st = uae_model_bind(m, r.tape, false, r.pv);
        int64_t got = 0;
        if (st == UAE_OK)
            st = read_out(&r, uae_model_forward(m, r.tape, r.pv, uae_ad_const(r.tape, &xv), &b),
                          &got);
        if (st == UAE_OK && !out) { /* the first batch tells the output size */
            *dim = got / count;
            out = malloc((size_t)(n * *dim) * sizeof *out);
            if (!out) st = uae_fail(UAE_ERR_NOMEM, "predict: out of host memory");
        }
        if (st == UAE_OK && got != count * *dim)
            st = uae_fail(UAE_ERR_SHAPE, "predict: %lld outputs for %lld examples",
                          (long long)got, (long long)count);
        if (st == UAE_OK) memcpy(out + first * *dim, r.hout, (size_t)got * sizeof *out);
        uae_pass_end(&pass);
    }
    runner_free(&r);
    if (st != UAE_OK) {
        free(out);
        *dim = 0;
        return st;
    }
    *y = out;
    return UAE_OK;
}

/* ---- The log ------------------------------------------------------------------------------- */

/* Adds key: value to o unless value is NaN (JSON has no NaN; a metric that does not apply is
 * left out). */
static void put_real(json_t *o, const char *key, double value) {
    if (isfinite(value)) json_object_set_new(o, key, json_real(value));
}

static void put_eval(json_t *o, const char *prefix, const uae_eval_stats *e) {
    if (e->n == 0) return;
    char key[48];
    snprintf(key, sizeof key, "%s_loss", prefix);
    put_real(o, key, e->loss);
    snprintf(key, sizeof key, "%s_mse", prefix);
    put_real(o, key, e->mse);
    snprintf(key, sizeof key, "%s_accuracy", prefix);
    put_real(o, key, e->accuracy);
}

/* Writes o (stolen) as one line, if there is a log. */
static uae_status log_line(uae_jsonl *log, json_t *o) {
    if (!o) return log ? uae_fail(UAE_ERR_NOMEM, "training log: out of memory") : UAE_OK;
    uae_status st = log ? uae_jsonl_write(log, o) : UAE_OK;
    json_decref(o);
    return st;
}

static json_t *start_line(uae_model *m, const uae_dataset *train, const uae_train_options *o) {
    const uae_model_config *cfg = uae_model_config_of(m);
    char *cj = uae_model_config_to_json(cfg);
    json_t *config = cj ? json_loads(cj, 0, NULL) : NULL;
    free(cj);
    json_t *run = o->run_json ? json_loads(o->run_json, 0, NULL) : NULL;
    json_t *line = json_pack("{s:s, s:s, s:o*, s:i, s:i, s:I, s:I, s:I, s:I, s:I, s:o*}", "event",
                             "start", "model", cfg->preset, "config", config, "epochs", o->epochs,
                             "start_epoch", o->resume ? (int)o->resume->epoch : 0,
                             "start_step", (json_int_t)(o->resume ? o->resume->step : 0),
                             "batch", (json_int_t)o->batch,
                             "n_train", (json_int_t)train->n, "n_val",
                             (json_int_t)(o->val ? o->val->n : 0), "n_test",
                             (json_int_t)(o->test ? o->test->n : 0), "run", run);
    return line;
}

static json_t *epoch_line(const char *event, const uae_train_stats *s, double total_seconds) {
    json_t *o = json_pack("{s:s, s:i, s:I}", "event", event, "epoch", s->epoch, "step",
                          (json_int_t)s->step);
    if (!o) return NULL;
    put_real(o, "train_loss", s->train_loss);
    put_real(o, "seconds", s->seconds);
    put_real(o, "images_per_s", s->images_per_s);
    put_real(o, "comm_seconds", s->comm_seconds); /* NaN (left out) on one process */
    put_real(o, "wait_seconds", s->wait_seconds);
    if (total_seconds >= 0) put_real(o, "total_seconds", total_seconds);
    put_eval(o, "val", &s->val);
    put_eval(o, "test", &s->test);
    return o;
}

/* ---- Micro-batches and ranks ------------------------------------------------------------------
 * A step in micro-batches: the batch's parts of m rows are numbered 0 .. k-1 and rank r computes
 * the contiguous run [k r / R, k (r + 1) / R) of them, each part's gradient (and its share of the
 * loss) on its own, into one row of `send`. Rank 0 gathers the rows (rank order is part order),
 * adds them in part order (((g0 + g1) + g2) + ...) and sends the sum to every rank, which writes
 * it into the store's gradients and takes the optimizer step. Nothing here depends on R, so the
 * parameters are the same bits for any R; with one rank the gather is skipped, not the order. */

typedef struct micro {
    uae_dist *dist;     /* not owned; NULL: one process */
    int rank, size;
    int64_t m;          /* rows per part */
    int64_t gn;         /* floats of the flat gradient; a row has gn + 1 (the loss share last) */
    float *send;        /* (parts of this rank at most, gn + 1) */
    float *sum;         /* (gn + 1) */
    size_t *sizes;      /* (size) */
    double comm_seconds, wait_seconds; /* of the epoch so far */
} micro;

static void micro_free(micro *mc) {
    free(mc->send);
    free(mc->sum);
    free(mc->sizes);
}

static uae_status micro_init(micro *mc, uae_model *m, const uae_train_options *o) {
    memset(mc, 0, sizeof *mc);
    mc->dist = o->dist;
    mc->rank = uae_dist_rank(o->dist);
    mc->size = uae_dist_size(o->dist);
    mc->m = o->micro_batch > 0 ? o->micro_batch : o->batch;
    mc->gn = uae_tensor_numel(uae_params_flat_grad(uae_model_params(m)));
    int64_t parts = (o->batch + mc->m - 1) / mc->m;
    int64_t mine = (parts + mc->size - 1) / mc->size, floats;
    size_t bytes;
    if (!uae_checked_mul(mine > 0 ? mine : 1, mc->gn + 1, &floats) ||
        !uae_checked_bytes(floats, sizeof *mc->send, &bytes))
        return uae_fail(UAE_ERR_NOMEM, "training: the gradients of %lld micro-batches do not fit "
                        "in memory (use a larger --micro-batch)", (long long)mine);
    mc->send = malloc(bytes);
    mc->sum = malloc((size_t)(mc->gn + 1) * sizeof *mc->sum);
    mc->sizes = malloc((size_t)mc->size * sizeof *mc->sizes);
    if (!mc->send || !mc->sum || !mc->sizes) {
        micro_free(mc);
        return uae_fail(UAE_ERR_NOMEM, "training: out of host memory for the micro-batches' "
                        "gradients");
    }
    return UAE_OK;
}

static int64_t min64(int64_t a, int64_t b) { return a < b ? a : b; }

/* This rank's parts of the batch of `count` examples rows[0 .. count): gradients into mc->send. */
static uae_status micro_parts(runner *r, micro *mc, const uae_dataset *train,
                              const uae_train_options *o, const int64_t *rows, int64_t count,
                              uint64_t step, int64_t k0, int64_t k1) {
    if (k1 <= k0) return UAE_OK;
    int64_t lo = k0 * mc->m, hi = min64(k1 * mc->m, count);
    memcpy(r->idx, rows + lo, (size_t)(hi - lo) * sizeof *r->idx);
    uae_tensor xv, ov, tv;
    UAE_TRY(runner_load(r, train, hi - lo, &xv, &ov, o->targets ? &tv : NULL));
    const uae_tensor *grad = uae_params_flat_grad(uae_model_params(r->m));
    for (int64_t j = k0; j < k1; j++) {
        int64_t first = j * mc->m, n = min64(mc->m, count - first);
        uae_tensor xs, os, ts;
        UAE_TRY(uae_tensor_slice(&xv, first - lo, n, &xs));
        if (r->need_onehot) UAE_TRY(uae_tensor_slice(&ov, first - lo, n, &os));
        if (o->targets) UAE_TRY(uae_tensor_slice(&tv, first - lo, n, &ts));
        uae_batch b = {.x = &xs, .target = o->targets ? &ts : NULL,
                       .onehot = r->need_onehot ? &os : NULL, .seed = o->seed, .step = step,
                       .training = true, .row0 = first, .batch_rows = count};
        float *row = mc->send + (j - k0) * (mc->gn + 1);
        UAE_TRY(uae_model_micro_gradient(r->m, r->tape, &b, &row[mc->gn]));
        UAE_TRY(uae_tensor_read(grad, row));
    }
    return UAE_OK;
}

/* One step in micro-batches over the ranks; *loss receives the batch mean loss. */
static uae_status micro_step(runner *r, micro *mc, const uae_dataset *train,
                             const uae_train_options *o, const int64_t *rows, int64_t count,
                             uint64_t step, float *loss) {
    int64_t k = (count + mc->m - 1) / mc->m, w = mc->gn + 1;
    int64_t k0 = k * mc->rank / mc->size, k1 = k * (mc->rank + 1) / mc->size;
    uae_status st = micro_parts(r, mc, train, o, rows, count, step, k0, k1);
    double t0 = now_seconds();
    bool many = mc->size > 1;
    if (many) st = uae_dist_agree(mc->dist, st); /* a failed part fails every rank here */
    double t1 = now_seconds();
    mc->wait_seconds += t1 - t0;
    if (st != UAE_OK) return st;
    void *got = NULL;
    if (many)
        st = uae_dist_gather(mc->dist, mc->send, (size_t)((k1 - k0) * w) * sizeof *mc->send, &got,
                             mc->sizes);
    const float *all = many ? got : mc->send;
    if (st == UAE_OK && mc->rank == 0) {
        memcpy(mc->sum, all, (size_t)w * sizeof *mc->sum);
        for (int64_t j = 1; j < k; j++) {
            const float *g = all + j * w;
            for (int64_t i = 0; i < w; i++) mc->sum[i] += g[i];
        }
    }
    free(got);
    if (many && st == UAE_OK)
        st = uae_dist_broadcast(mc->dist, mc->sum, (size_t)w * sizeof *mc->sum, 0);
    mc->comm_seconds += now_seconds() - t1;
    if (st != UAE_OK) return st;
    st = uae_tensor_write(uae_params_flat_grad(uae_model_params(r->m)), mc->sum);
    if (st == UAE_OK) st = uae_model_apply_gradient(r->m);
    if (many) st = uae_dist_agree(mc->dist, st);
    *loss = mc->sum[mc->gn];
    return st;
}

/* Rank 0's status after work that only rank 0 did (a checkpoint, an evaluation), on every rank. */
static uae_status agree(const uae_train_options *o, uae_status st) {
    return uae_dist_size(o->dist) > 1 ? uae_dist_agree(o->dist, st) : st;
}

static bool is_root(const uae_train_options *o) { return uae_dist_rank(o->dist) == 0; }

/* ---- The loop -------------------------------------------------------------------------------- */

static uae_status check_options(const uae_train_options *o, const uae_dataset *train) {
    if (o->epochs < 1 || o->batch < 1 || o->eval_batch < 0 || o->checkpoint_every < 0)
        return uae_fail(UAE_ERR_INVALID, "training: %d epochs in batches of %lld (evaluation "
                        "%lld, checkpoint every %lld steps)", o->epochs, (long long)o->batch,
                        (long long)o->eval_batch, (long long)o->checkpoint_every);
    const uae_checkpoint_info *r = o->resume;
    /* Within an epoch, the checkpoint's steps must leave some of the epoch to do. */
    bool bad_step = r && (r->epoch_step < 0 || (r->epoch_step > 0 &&
                                                 (r->epoch_step * o->batch >= train->n ||
                                                  r->epoch == o->epochs)));
    if (r && (r->epoch < 0 || r->epoch > o->epochs || r->step < 0 || bad_step))
        return uae_fail(UAE_ERR_INVALID, "training: cannot resume %d epochs of %lld examples in "
                        "batches of %lld after epoch %lld and %lld steps of the next",
                        o->epochs, (long long)train->n, (long long)o->batch, (long long)r->epoch,
                        (long long)r->epoch_step);
    if (o->run_json && strlen(o->run_json) >= UAE_CHECKPOINT_RUN_MAX)
        return uae_fail(UAE_ERR_INVALID, "training: the run settings are longer than %d bytes",
                        UAE_CHECKPOINT_RUN_MAX - 1);
    if (train->n < 1) return uae_fail(UAE_ERR_INVALID, "training set: no examples");
    if (o->micro_batch < 0 || (o->micro_batch > 0 && o->batch % o->micro_batch != 0))
        return uae_fail(UAE_ERR_INVALID, "training: micro-batches of %lld examples, expected a "
                        "divisor of the batch (%lld) (--micro-batch)", (long long)o->micro_batch,
                        (long long)o->batch);
    return UAE_OK;
}

/* One epoch of training steps in the order of (seed, epoch), from step `skip` of the epoch on;
 * sum is the loss sum of the steps before it (resuming within an epoch; else 0 and 0).
 * info, if not NULL, is the checkpoint to write every o->checkpoint_every steps. */
static uae_status train_epoch(runner *r, micro *mc, const uae_dataset *train,
                              const uae_train_options *o, int epoch, int64_t skip, double sum,
                              int64_t *perm, int64_t *step, uae_checkpoint_info *info,
                              uae_train_stats *s) {
    uae_data_shuffle(train->n, o->seed, (uint64_t)epoch, perm);
    uae_train_batch_fn on_batch = is_root(o) ? o->on_batch : NULL;
    if (on_batch) on_batch(o->user, epoch + 1, 0, train->n, NAN);
    double t0 = now_seconds();
    int64_t begin = skip * o->batch;
    for (int64_t first = begin; first < train->n; first += o->batch) {
        int64_t count = train->n - first < o->batch ? train->n - first : o->batch;
        float loss = 0.0f;
        if (mc) {
            UAE_TRY(micro_step(r, mc, train, o, perm + first, count, (uint64_t)*step, &loss));
        } else {
            memcpy(r->idx, perm + first, (size_t)count * sizeof *r->idx);
            uae_tensor xv, ov, tv;
            UAE_TRY(runner_load(r, train, count, &xv, &ov, o->targets ? &tv : NULL));
            uae_batch b = {.x = &xv, .target = o->targets ? &tv : NULL,
                           .onehot = r->need_onehot ? &ov : NULL, .seed = o->seed,
                           .step = (uint64_t)*step, .training = true};
            UAE_TRY(uae_model_train_step(r->m, r->tape, &b, &loss));
        }
        if (!isfinite(loss))
            return uae_fail(UAE_ERR_NUMERIC, "training: the loss is %g at epoch %d, step %lld "
                            "(try a smaller learning rate)", (double)loss, epoch + 1, (long long)*step);
        ++*step;
        sum += (double)loss * (double)count;
        int64_t done_steps = (first + count + o->batch - 1) / o->batch;
        if (info && o->checkpoint_every > 0 && first + count < train->n &&
            done_steps % o->checkpoint_every == 0) {
            *info = (uae_checkpoint_info){.epoch = epoch, .step = *step, .epoch_step = done_steps,
                                          .epoch_loss = sum, .seed = o->seed};
            if (o->run_json) snprintf(info->run, sizeof info->run, "%s", o->run_json);
            UAE_TRY(agree(o, is_root(o) ? uae_checkpoint_save(o->checkpoint, r->m, info) : UAE_OK));
        }
        if (on_batch) on_batch(o->user, epoch + 1, first + count, train->n, loss);
    }
    s->seconds = now_seconds() - t0;
    s->train_loss = sum / (double)train->n;
    s->images_per_s = s->seconds > 0 ? (double)(train->n - begin) / s->seconds : NAN;
    s->comm_seconds = mc && mc->size > 1 ? mc->comm_seconds : NAN;
    s->wait_seconds = mc && mc->size > 1 ? mc->wait_seconds : NAN;
    if (mc) mc->comm_seconds = mc->wait_seconds = 0;
    return UAE_OK;
}

static uae_status run_epochs(runner *r, micro *mc, uae_model *m, const uae_dataset *train,
                             const uae_train_options *o, uae_jsonl *log, int64_t *perm,
                             uae_train_stats *last) {
    const uae_checkpoint_info *from = o->resume;
    int64_t step = from ? from->step : 0;
    double t_run = now_seconds();
    /* Large (the run settings): on the heap rather than the stack. */
    uae_checkpoint_info *info = o->checkpoint ? malloc(sizeof *info) : NULL;
    if (o->checkpoint && !info) return uae_fail(UAE_ERR_NOMEM, "training: out of host memory");
    uae_status st = UAE_OK;
    for (int epoch = from ? (int)from->epoch : 0; epoch < o->epochs && st == UAE_OK; epoch++) {
        uae_train_stats s = {.epoch = epoch + 1, .epochs = o->epochs, .comm_seconds = NAN,
                             .wait_seconds = NAN, .val = no_stats, .test = no_stats};
        bool resumed = from && epoch == from->epoch;
        st = train_epoch(r, mc, train, o, epoch, resumed ? from->epoch_step : 0,
                         resumed ? from->epoch_loss : 0.0, perm, &step, info, &s);
        s.step = step;
        if (st != UAE_OK) break; /* every rank has it (the steps agree) */
        /* Rank 0 alone evaluates and writes; the others wait for its status. */
        bool root = is_root(o);
        int64_t eb = o->eval_batch ? o->eval_batch : o->batch;
        if (root && o->val) st = evaluate_with(r, o->val, eb, o->seed, o, "val", &s.val);
        if (root && st == UAE_OK && o->test)
            st = evaluate_with(r, o->test, eb, o->seed, o, "test", &s.test);
        if (root && st == UAE_OK && info) {
            *info = (uae_checkpoint_info){.epoch = epoch + 1, .step = step, .seed = o->seed};
            if (o->run_json) snprintf(info->run, sizeof info->run, "%s", o->run_json);
            st = uae_checkpoint_save(o->checkpoint, m, info);
        }
        if (st == UAE_OK) st = log_line(log, epoch_line("epoch", &s, -1.0));
        st = agree(o, st);
        if (st != UAE_OK) break;
        uae_logf(o->log, UAE_LOG_DEBUG, "epoch %d: %lld steps, %.1f s", epoch + 1,
                 (long long)step, s.seconds);
        if (isfinite(s.comm_seconds))
            uae_logf(o->log, UAE_LOG_DEBUG, "epoch %d: of %.3f s, %.3f s waiting for the slowest "
                     "rank and %.3f s in the exchanges", epoch + 1, s.seconds, s.wait_seconds,
                     s.comm_seconds);
        if (o->on_epoch && root) o->on_epoch(o->user, &s);
        *last = s;
    }
    free(info);
    if (st != UAE_OK) return st;
    return log_line(log, epoch_line("final", last, now_seconds() - t_run));
}

/* Every rank must start from rank 0's resume point (the same checkpoint): a rank that read
 * another (or none) would train other steps and hang or garble the job. */
static uae_status same_start(const uae_train_options *o) {
    const uae_checkpoint_info *r = o->resume;
    int64_t mine[3] = {r ? r->epoch : -1, r ? r->step : -1, r ? r->epoch_step : -1}, root[3];
    memcpy(root, mine, sizeof root);
    uae_status st = uae_dist_broadcast(o->dist, root, sizeof root, 0);
    if (st == UAE_OK && memcmp(root, mine, sizeof root) != 0)
        st = uae_fail(UAE_ERR_INVALID, "training: this rank resumes after epoch %lld, step %lld, "
                      "rank 0 after epoch %lld, step %lld (-1: from the start): every rank must "
                      "read the same checkpoint (a file system that every rank sees)",
                      (long long)mine[0], (long long)mine[1], (long long)root[0],
                      (long long)root[1]);
    return st;
}

uae_status uae_train_run(uae_model *m, const uae_dataset *train, const uae_train_options *o,
                         uae_train_stats *last) {
    uae_train_stats dummy;
    if (!last) last = &dummy;
    *last = (uae_train_stats){.epoch = o->resume ? (int)o->resume->epoch : 0,
                              .epochs = o->epochs, .step = o->resume ? o->resume->step : 0,
                              .train_loss = NAN, .seconds = NAN, .images_per_s = NAN,
                              .comm_seconds = NAN, .wait_seconds = NAN, .val = no_stats,
                              .test = no_stats};
    /* Several ranks: every failure below reaches every rank through agree() before the loop. */
    uae_status st = uae_dist_size(o->dist) > 1 ? agree(o, same_start(o)) : UAE_OK;
    if (st != UAE_OK) return st;
    st = check_options(o, train);
    int64_t eval_n = o->eval_batch ? o->eval_batch : o->batch;
    runner r;
    runner_shape(&r, m); /* the data's shape first: a mismatch is not a memory problem */
    if (st == UAE_OK) st = check_data(&r, train, "training");
    if (st == UAE_OK) st = runner_init(&r, m, o->batch > eval_n ? o->batch : eval_n, o->targets);
    if (st == UAE_OK && o->val) st = check_data(&r, o->val, "validation");
    if (st == UAE_OK && o->test) st = check_data(&r, o->test, "test");
    int64_t *perm = st == UAE_OK ? malloc((size_t)train->n * sizeof *perm) : NULL;
    if (st == UAE_OK && !perm) st = uae_fail(UAE_ERR_NOMEM, "training: out of host memory");
    /* Micro-batches (or several ranks): a model whose loss couples the rows refuses. */
    bool parts = (o->micro_batch > 0 && o->micro_batch < o->batch) || uae_dist_size(o->dist) > 1;
    micro mc = {0};
    if (st == UAE_OK && parts) st = uae_model_check_micro_batches(m);
    if (st == UAE_OK && parts) st = micro_init(&mc, m, o);
    uae_jsonl *log = NULL;
    if (st == UAE_OK && o->log_path && is_root(o))
        st = uae_jsonl_open(o->log_path, o->log_append, &log);
    if (st == UAE_OK) st = log_line(log, start_line(m, train, o));
    st = agree(o, st);
    if (st == UAE_OK) st = run_epochs(&r, parts ? &mc : NULL, m, train, o, log, perm, last);
    uae_status cst = uae_jsonl_close(log);
    if (st == UAE_OK) st = cst;
    micro_free(&mc);
    free(perm);
    runner_free(&r);
    return st;
}
