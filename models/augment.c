/* models/augment.c — adversarial examples as data augmentation (see uae/augment.h): streamed,
 * resumable generation, and the experiment that compares retraining with adversarial examples,
 * with Gaussian noise, with duplicated data and with no extra data. Written against uae/attack.h,
 * uae/train.h and uae/checkpoint.h; nothing here knows the device. Not here: printing (apps/). */
#include "uae/augment.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "enum_names.h"
#include "model_impl.h"
#include "uae/checkpoint.h"
#include "uae/image.h"
#include "uae/io.h"
#include "uae/rng.h"

/* "s" after a count other than 1: "1 epoch", "2 epochs". */
#define PLURAL(n) ((n) == 1 ? "" : "s")

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- Generation ------------------------------------------------------------------------------ */

/* Adds one sample's statistics to the running summary. */
static void summary_add(uae_generate_summary *s, bool success, double mi, int selected,
                        double *mi_sum, int64_t *mi_n) {
    s->n++;
    s->success += success;
    s->selected0 += selected == 0;
    if (isfinite(mi)) {
        *mi_sum += mi;
        ++*mi_n;
    }
}

/* On resume (declared in model_impl.h for tests/fuzz/fuzz_stats.c): keeps the first `rows` statistics lines of path whose indices run first_index,
 * first_index + 1, ... (a crash may have left lines for rows the .npy never counted, or a partial
 * last line), rewrites the file atomically with them and adds them to *s. */
uae_status uae_augment_cut_stats(const char *path, uint64_t first_index, int64_t rows,
                                uae_generate_summary *s, double *mi_sum, int64_t *mi_n) {
    FILE *in;
    if (uae_file_open(path, "r", &in) != UAE_OK) {
        if (rows > 0 || errno != ENOENT)
            return uae_fail_context(UAE_ERR_IO, "resuming: it should hold the statistics of the "
                                    "%lld examples already generated", (long long)rows);
        return UAE_OK;
    }
    uae_atomic_file *af = NULL;
    uae_status st = uae_atomic_file_open(path, &af);
    char *line = NULL;
    size_t cap = 0;
    int64_t kept = 0;
    while (st == UAE_OK && kept < rows && getline(&line, &cap, in) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        json_t *idx = o ? json_object_get(o, "index") : NULL;
        if (idx && json_integer_value(idx) == (json_int_t)(first_index + (uint64_t)kept)) {
            json_t *mi = json_object_get(o, "I");
            summary_add(s, json_is_true(json_object_get(o, "success")),
                        json_is_number(mi) ? json_number_value(mi) : NAN,
                        (int)json_integer_value(json_object_get(o, "selected_iter")), mi_sum, mi_n);
            fputs(line, uae_atomic_file_stream(af));
            if (line[strlen(line) - 1] != '\n') fputc('\n', uae_atomic_file_stream(af));
            kept++;
        }
        json_decref(o);
    }
    free(line);
    fclose(in);
    if (st == UAE_OK && kept < rows)
        st = uae_fail(UAE_ERR_FORMAT, "%s: statistics for %lld examples, the .npy holds %lld: "
                      "cannot resume (start afresh in another folder)", path, (long long)kept,
                      (long long)rows);
    if (st != UAE_OK) {
        uae_atomic_file_abort(af);
        return st;
    }
    return uae_atomic_file_commit(af);
}

typedef struct gen_progress {
    const uae_generate_options *o;
    double base;     /* samples done before this batch */
    int64_t count;   /* samples in this batch */
    int64_t total;
} gen_progress;

static void on_attack_progress(void *user, int64_t done, int64_t total) {
    gen_progress *g = user;
    double frac = total > 0 ? (double)done / (double)total : 0.0;
    g->o->progress(g->o->user, g->base + frac * (double)g->count, g->total);
}

/* Writes one batch's statistics lines. */
static uae_status write_stats(uae_jsonl *log, uint64_t first, const uae_attack_result *r,
                              int64_t count) {
    for (int64_t i = 0; i < count && log; i++) {
        json_t *o = json_pack("{s:I, s:b, s:o, s:f, s:f, s:i, s:i, s:f}", "index",
                              (json_int_t)(first + (uint64_t)i), "success", r[i].success, "I",
                              isfinite(r[i].mi) ? json_real(r[i].mi) : json_null(), "loss_clean",
                              (double)r[i].loss_clean, "loss_adv", (double)r[i].loss_adv,
                              "selected_iter", r[i].selected_iter, "iterations", r[i].iterations,
                              "seconds", r[i].seconds);
        if (!o) return uae_fail(UAE_ERR_NUMERIC, "attack statistics of sample %llu: a loss is "
                                "not finite", (unsigned long long)(first + (uint64_t)i));
        uae_status st = uae_jsonl_write(log, o);
        json_decref(o);
        UAE_TRY(st);
    }
    return UAE_OK;
}

uae_status uae_augment_generate(uae_model *m, const uae_attack_config *ac, const float *x,
                                const int32_t *labels, int64_t n, uint64_t first_index,
                                const uae_generate_options *o, uae_generate_summary *sum) {
    uae_generate_summary dummy;
    if (!sum) sum = &dummy;
    memset(sum, 0, sizeof *sum);
    sum->mi_mean = NAN;
    if (n < 1 || o->batch < 1 || !o->npy_path)
        return uae_fail(UAE_ERR_INVALID, "generate: %lld examples in batches of %lld into %s",
                        (long long)n, (long long)o->batch, o->npy_path ? o->npy_path : "(none)");
    const uae_model_config *mc = uae_model_config_of(m);
    const int64_t d = (int64_t)mc->channels * mc->height * mc->width;
    const int64_t row_shape[3] = {mc->channels, mc->height, mc->width};
    uae_npy_appender *app = NULL;
    UAE_TRY(uae_npy_appender_open(o->npy_path, 3, row_shape, o->resume, &app));
    int64_t rows = uae_npy_appender_rows(app);
    double mi_sum = 0.0;
    int64_t mi_n = 0;
    uae_status st = UAE_OK;
    if (rows > n)
        st = uae_fail(UAE_ERR_INVALID, "%s already holds %lld examples, more than the %lld asked "
                      "for", o->npy_path, (long long)rows, (long long)n);
    if (st == UAE_OK && o->stats_path && o->resume)
        st = uae_augment_cut_stats(o->stats_path, first_index, rows, sum, &mi_sum, &mi_n);
    else if (st == UAE_OK && rows > 0)
        st = uae_fail(UAE_ERR_INVALID, "generate: resuming without a statistics file");
    sum->resumed = rows;
    uae_jsonl *log = NULL;
    if (st == UAE_OK && o->stats_path) st = uae_jsonl_open(o->stats_path, o->resume, &log);
    float *xadv = malloc((size_t)(o->batch * d) * sizeof *xadv);
    uae_attack_result *res = malloc((size_t)o->batch * sizeof *res);
    if (st == UAE_OK && (!xadv || !res)) st = uae_fail(UAE_ERR_NOMEM, "generate: out of memory");
    uae_attack_config cfg = *ac;
    gen_progress gp = {.o = o, .total = n};
    if (o->progress) {
        cfg.progress = on_attack_progress;
        cfg.progress_user = &gp;
        o->progress(o->user, (double)rows, n);
    }
    double t0 = now_seconds();
    for (int64_t first = rows; first < n && st == UAE_OK; first += o->batch) {
        int64_t count = n - first < o->batch ? n - first : o->batch;
        gp.base = (double)first;
        gp.count = count;
        st = uae_attack_run(m, &cfg, x + first * d, labels ? labels + first : NULL,
                            first_index + (uint64_t)first, count, xadv, res);
        /* Statistics first, then the rows: a crash between the two leaves extra statistics lines,
         * which a resume cuts (never rows without statistics). */
        if (st == UAE_OK) st = write_stats(log, first_index + (uint64_t)first, res, count);
        if (st == UAE_OK) st = uae_npy_appender_append(app, count, xadv);
        if (st == UAE_OK) st = uae_npy_appender_sync(app);
        for (int64_t i = 0; i < count && st == UAE_OK; i++)
            summary_add(sum, res[i].success, res[i].mi, res[i].selected_iter, &mi_sum, &mi_n);
        if (st == UAE_OK) sum->attacked += count;
    }
    sum->seconds = now_seconds() - t0;
    sum->mi_mean = mi_n ? mi_sum / (double)mi_n : NAN;
    free(xadv);
    free(res);
    uae_status cst = uae_jsonl_close(log);
    if (st == UAE_OK) st = cst;
    cst = uae_npy_appender_close(app);
    if (st == UAE_OK) st = cst;
    return st;
}

/* ---- Names ----------------------------------------------------------------------------------- */

static const char *const task_names[] = {"reconstruction", "representation", "contrastive"};
_Static_assert(sizeof task_names / sizeof task_names[0] == UAE_TASK_COUNT, "task names");

static const char *const arm_names[] = {"base", "original", "duplicate", "noise", "uae"};
_Static_assert(sizeof arm_names / sizeof arm_names[0] == UAE_ARM_COUNT, "arm names");

/* What each arm is, for the table. */
static const char *const arm_text[] = {
    "base model (no retraining)",
    "retrained on the originals only (no augmentation)",
    "retrained on originals + duplicates (control: more training only)",
    "retrained on originals + Gaussian-noise copies",
    "retrained on originals + UAEs",
};
_Static_assert(sizeof arm_text / sizeof arm_text[0] == UAE_ARM_COUNT, "arm descriptions");

const char *uae_augment_task_name(uae_augment_task t) {
    return (unsigned)t < UAE_TASK_COUNT ? task_names[t] : "?";
}

uae_status uae_augment_task_parse(const char *name, uae_augment_task *out) {
    int v;
    UAE_TRY(uae_enum_parse("task", task_names, UAE_TASK_COUNT, name, &v));
    *out = (uae_augment_task)v;
    return UAE_OK;
}

/* Each task's default preset and the kind of model its attack is set up for. */
static const char *const task_presets[] = {"conv-ae", "concrete-ae", "simclr-small"};
_Static_assert(sizeof task_presets / sizeof task_presets[0] == UAE_TASK_COUNT, "task presets");
static const uae_model_kind task_kinds[] = {UAE_MODEL_AUTOENCODER, UAE_MODEL_AUTOENCODER,
                                            UAE_MODEL_CONTRASTIVE};
_Static_assert(sizeof task_kinds / sizeof task_kinds[0] == UAE_TASK_COUNT, "task kinds");

const char *uae_augment_task_preset(uae_augment_task t) {
    return (unsigned)t < UAE_TASK_COUNT ? task_presets[t] : "?";
}

uae_model_kind uae_augment_task_kind(uae_augment_task t) {
    return (unsigned)t < UAE_TASK_COUNT ? task_kinds[t] : UAE_MODEL_AUTOENCODER;
}

const char *uae_augment_arm_name(uae_augment_arm a) {
    return (unsigned)a < UAE_ARM_COUNT ? arm_names[a] : "?";
}

uae_augment_options uae_augment_options_default(void) {
    uae_augment_options o;
    memset(&o, 0, sizeof o);
    o.task = UAE_TASK_RECONSTRUCTION;
    o.seeds[0] = 1;
    o.nseeds = 1;
    o.noise_sigma = 0.1f;
    o.target = UAE_TARGET_CLEAN;
    o.attack_batch = 16;
    o.probe = uae_probe_options_default();
    uae_attack_defaults(UAE_MODEL_AUTOENCODER, &o.attack);
    return o;
}

/* ---- The experiment ------------------------------------------------------------------------ */

static void stage(const uae_augment_options *o, const char *fmt, ...) UAE_PRINTF_LIKE(2, 3);
static void stage(const uae_augment_options *o, const char *fmt, ...) {
    char buf[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    if (o->on_stage)
        o->on_stage(o->user, buf);
    else
        uae_logf(o->log, UAE_LOG_DEBUG, "%s", buf);
}

static uae_status make_dir(const char *path) {
    if (mkdir(path, 0777) == 0 || errno == EEXIST) return UAE_OK;
    return uae_fail(UAE_ERR_IO, "%s: cannot create the folder (%s)", path, strerror(errno));
}

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The test MSE of a reconstruction does not depend on the batch size (only the sparse AE's KL
 * term and SimCLR's loss do, and SimCLR's is evaluated with the training batch): larger batches
 * evaluate faster. */
static int64_t eval_batch(int64_t train_batch) {
    return train_batch > 500 ? train_batch : 500;
}

/* Per seed: what the arms share. */
typedef struct seed_run {
    uint64_t seed;
    char dir[256], base_path[300];
    uae_model_config cfg;
    uae_dataset sub;        /* the seeded training subset (owned) */
    float *xadv;            /* (n, d) the adversarial examples (owned) */
    float *negatives;       /* contrastive: (negatives_n, d) the attack's negatives (owned) */
    int64_t negatives_n;
    int64_t n, d;
    int classes;            /* labels for the probes; 0: none (accuracies are NaN) */
} seed_run;

/* The model's representation (uae_model_embed) of x (n, d) (host, not owned), in batches of
 * `batch`; *out (caller frees) receives (n, *dim) floats. Forward only, on the model's backend. */
static uae_status embed_all(uae_model *m, const float *x, int64_t n, int64_t batch, float **out,
                            int64_t *dim) {
    *out = NULL;
    *dim = 0;
    const uae_model_config *c = uae_model_config_of(m);
    const int64_t d = (int64_t)c->channels * c->height * c->width;
    const bool images = !(c->channels == 1 && c->height == 1);
    const int64_t cap = n < batch ? n : batch;
    uae_backend *be = uae_params_backend(uae_model_params(m));
    uae_var **pv = calloc((size_t)uae_params_count(uae_model_params(m)), sizeof *pv);
    uae_arena *arena = NULL;
    uae_tape *t = NULL;
    uae_tensor xt;
    uae_status st = pv ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "embedding: out of memory");
    if (st == UAE_OK) st = uae_arena_create(be, 1 << 22, &arena);
    if (st == UAE_OK) st = uae_tape_create(arena, &t);
    if (st == UAE_OK && images)
        st = uae_arena_tensor4(arena, cap, c->channels, c->height, c->width, &xt);
    else if (st == UAE_OK)
        st = uae_arena_tensor2(arena, cap, d, &xt);
    size_t mark = st == UAE_OK ? uae_arena_mark(arena) : 0;
    float *y = NULL;
    for (int64_t first = 0; first < n && st == UAE_OK; first += cap) {
        int64_t count = n - first < cap ? n - first : cap;
        uae_tensor xv;
        st = uae_tensor_slice(&xt, 0, count, &xv);
        if (st == UAE_OK) st = uae_tensor_write(&xv, x + first * d);
        uae_tape_reset(t);
        uae_tape_set_recording(t, false);
        if (st == UAE_OK) st = uae_model_bind(m, t, false, pv);
        uae_var *e = st == UAE_OK ? uae_model_embed(m, t, pv, uae_ad_const(t, &xv)) : NULL;
        if (st == UAE_OK) st = uae_tape_status(t);
        if (st == UAE_OK && !e)
            st = uae_fail(UAE_ERR_INVALID, "model '%s' has no representation to probe",
                          c->preset);
        const uae_tensor *ev = st == UAE_OK ? uae_ad_value(e) : NULL;
        if (st == UAE_OK && !y) { /* the first batch tells the representation's size */
            *dim = uae_tensor_numel(ev) / count;
            y = malloc((size_t)(n * *dim) * sizeof *y);
            if (!y) st = uae_fail(UAE_ERR_NOMEM, "embedding: out of memory");
        }
        if (st == UAE_OK && uae_tensor_numel(ev) != count * *dim)
            st = uae_fail(UAE_ERR_SHAPE, "embedding: %lld values for %lld examples",
                          (long long)uae_tensor_numel(ev), (long long)count);
        if (st == UAE_OK) st = uae_tensor_read(ev, y + first * *dim);
        uae_tape_reset(t);
        uae_arena_reset(arena, mark);
    }
    uae_tape_free(t);
    uae_arena_free(arena);
    free(pv);
    if (st != UAE_OK) {
        free(y);
        *dim = 0;
        return st;
    }
    *out = y;
    return UAE_OK;
}

/* SEED/uae.safetensors: what a NumPy user needs beside uae.npy to pair each adversarial example
 * with its original: x (the clean rows), x_adv (= uae.npy) and index (int64, the rows in the
 * training split given to uae_augment_run). */
static uae_status write_pairs(const seed_run *s, const uae_dataset *train) {
    int64_t *index = malloc((size_t)(s->sub.n > 0 ? s->sub.n : 1) * sizeof *index);
    if (!index) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    uae_status st = uae_data_subset_indices(train->n, s->sub.n, s->seed, index);
    char path[320];
    snprintf(path, sizeof path, "%s/uae.safetensors", s->dir);
    const int64_t n = s->n;
    uae_st_tensor t[3] = {
        {.name = "x", .ndim = 4, .shape = {n, s->sub.c, s->sub.h, s->sub.w}, .data = s->sub.x},
        {.name = "x_adv", .ndim = 4, .shape = {n, s->sub.c, s->sub.h, s->sub.w}, .data = s->xadv},
        {.name = "index", .ndim = 1, .shape = {n}, .data = index, .dtype = UAE_ST_I64},
    };
    uae_st_meta meta[1] = {{"uae.index", "rows of the training split"}};
    if (st == UAE_OK) st = uae_safetensors_write(path, t, 3, meta, 1);
    free(index);
    return st;
}

/* A linear probe on features (rows of f_train for the seed's subset, f_test for the test set) of
 * dim values: the test accuracy, or NaN without labels. */
static uae_status probe_accuracy(uae_backend *be, const uae_augment_options *o,
                                 const seed_run *s, const uae_dataset *test, const float *f_train,
                                 const float *f_test, int64_t dim, double *acc) {
    *acc = NAN;
    if (s->classes < 2) return UAE_OK;
    uae_probe_options po = o->probe;
    po.seed = s->seed;
    uae_probe_result r;
    UAE_TRY(uae_probe_run(be, f_train, s->sub.y, s->sub.n, f_test, test->y, test->n, dim,
                          s->classes, &po, &r));
    *acc = r.accuracy;
    return UAE_OK;
}

/* representation: the linear accuracy on the k input features concrete-ae selects. */
static uae_status selected_accuracy(uae_backend *be, const uae_augment_options *o,
                                    const seed_run *s, uae_model *m, const uae_dataset *test,
                                    double *acc) {
    *acc = NAN;
    if (s->classes < 2) return UAE_OK;
    const int k = uae_model_config_of(m)->select_k;
    int *idx = malloc((size_t)k * sizeof *idx);
    float *ftr = malloc((size_t)(s->sub.n * k) * sizeof *ftr);
    float *fte = malloc((size_t)(test->n * k) * sizeof *fte);
    uae_status st = idx && ftr && fte ? UAE_OK
                                      : uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    if (st == UAE_OK) st = uae_model_selected_features(m, idx, k);
    for (int64_t i = 0; i < s->sub.n && st == UAE_OK; i++)
        for (int j = 0; j < k; j++) ftr[i * k + j] = s->sub.x[i * s->d + idx[j]];
    for (int64_t i = 0; i < test->n && st == UAE_OK; i++)
        for (int j = 0; j < k; j++) fte[i * k + j] = test->x[i * s->d + idx[j]];
    if (st == UAE_OK) st = probe_accuracy(be, o, s, test, ftr, fte, k, acc);
    free(idx);
    free(ftr);
    free(fte);
    return st;
}

/* contrastive: the linear-probe accuracy on the frozen encoder's representation. */
static uae_status embedding_accuracy(uae_backend *be, const uae_augment_options *o,
                                     const seed_run *s, uae_model *m, const uae_dataset *test,
                                     int64_t batch, double *acc) {
    *acc = NAN;
    if (s->classes < 2) return UAE_OK;
    float *etr = NULL, *ete = NULL;
    int64_t dim = 0, dim2 = 0;
    uae_status st = embed_all(m, s->sub.x, s->sub.n, batch, &etr, &dim);
    if (st == UAE_OK) st = embed_all(m, test->x, test->n, batch, &ete, &dim2);
    if (st == UAE_OK) st = probe_accuracy(be, o, s, test, etr, ete, dim, acc);
    free(etr);
    free(ete);
    return st;
}

/* Every metric of the task (see uae_augment_metric) for model m on the test set, into v[]. */
static uae_status evaluate(uae_backend *be, const uae_augment_options *o, const seed_run *s,
                           uae_model *m, const uae_dataset *test, int64_t batch,
                           double v[UAE_AUGMENT_MAX_METRICS]) {
    uae_eval_stats es;
    switch (o->task) {
    case UAE_TASK_RECONSTRUCTION:
        UAE_TRY(uae_train_evaluate(m, test, eval_batch(batch), s->seed, &es));
        v[0] = es.mse;
        return UAE_OK;
    case UAE_TASK_REPRESENTATION:
        UAE_TRY(uae_train_evaluate(m, test, eval_batch(batch), s->seed, &es));
        v[0] = es.mse;
        return selected_accuracy(be, o, s, m, test, &v[1]);
    case UAE_TASK_CONTRASTIVE:
        UAE_TRY(embedding_accuracy(be, o, s, m, test, eval_batch(batch), &v[0]));
        UAE_TRY(uae_train_evaluate(m, test, batch, s->seed, &es));
        v[1] = es.loss;
        return UAE_OK;
    case UAE_TASK_COUNT: break;
    }
    return uae_fail(UAE_ERR_INVALID, "augment: unknown task %d", (int)o->task);
}

/* Trains the base model of this seed, or loads it if a previous run saved it complete; evaluates
 * it into v[]. */
static uae_status base_model(uae_backend *be, const uae_augment_options *o, seed_run *s,
                             const uae_dataset *test, int epochs, int64_t batch,
                             double v[UAE_AUGMENT_MAX_METRICS]) {
    uae_model *m = NULL;
    uae_checkpoint_info *info = calloc(1, sizeof *info);
    if (!info) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    uae_status st = UAE_OK;
    bool have = false;
    if (file_exists(s->base_path) &&
        uae_checkpoint_load_model(s->base_path, be, &m, info) == UAE_OK) {
        const uae_model_config *c = uae_model_config_of(m);
        have = info->epoch == epochs && info->seed == s->seed &&
               strcmp(c->preset, s->cfg.preset) == 0;
        if (!have) {
            uae_model_free(m);
            m = NULL;
        }
    }
    if (have) {
        stage(o, "seed %llu: base model loaded from %s", (unsigned long long)s->seed,
              s->base_path);
    } else {
        stage(o, "seed %llu: training the base model (%s, %lld example%s, %d epoch%s)",
              (unsigned long long)s->seed, s->cfg.preset, (long long)s->sub.n,
              PLURAL(s->sub.n), epochs, PLURAL(epochs));
        st = uae_model_create(be, &s->cfg, s->seed, &m);
        uae_train_options to = uae_train_options_default();
        to.epochs = epochs;
        to.batch = batch;
        to.seed = s->seed;
        to.checkpoint = s->base_path;
        to.on_batch = o->on_batch;
        to.user = o->user;
        to.log = o->log;
        if (st == UAE_OK) st = uae_train_run(m, &s->sub, &to, NULL);
    }
    if (st == UAE_OK) {
        stage(o, "seed %llu: evaluating the base model on %lld test examples",
              (unsigned long long)s->seed, (long long)test->n);
        st = evaluate(be, o, s, m, test, batch, v);
    }
    free(info);
    uae_model_free(m);
    return st;
}

/* The training set of an arm: the subset's examples, then `extra` (n, d) rows (NULL: none);
 * *targets (caller frees) is what each row reconstructs, or NULL for the rows themselves. */
static uae_status arm_data(const seed_run *s, const float *extra, bool clean_targets,
                           uae_dataset *ds, float **targets) {
    memset(ds, 0, sizeof *ds);
    *targets = NULL;
    int64_t n = s->sub.n + (extra ? s->n : 0);
    ds->n = n;
    ds->d = s->d;
    ds->c = s->sub.c;
    ds->h = s->sub.h;
    ds->w = s->sub.w;
    ds->x = malloc((size_t)(n * s->d) * sizeof *ds->x);
    if (!ds->x) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory for %lld examples",
                                (long long)n);
    size_t sub_bytes = (size_t)(s->sub.n * s->d) * sizeof(float);
    memcpy(ds->x, s->sub.x, sub_bytes);
    if (!extra) return UAE_OK;
    size_t extra_bytes = (size_t)(s->n * s->d) * sizeof(float);
    memcpy(ds->x + s->sub.n * s->d, extra, extra_bytes);
    if (!clean_targets) return UAE_OK;
    *targets = malloc(sub_bytes + extra_bytes);
    if (!*targets) {
        uae_dataset_free(ds);
        return uae_fail(UAE_ERR_NOMEM, "augment: out of memory for the targets");
    }
    memcpy(*targets, s->sub.x, sub_bytes);
    memcpy(*targets + s->sub.n * s->d, s->sub.x, extra_bytes); /* extra row i targets original i */
    return UAE_OK;
}

/* One line of seed-S/arms.jsonl: what arm a trains on, exactly the rows and targets handed to
 * the training loop (ds, targets; NULL targets: each row reconstructs itself). */
static uae_status record_arm(uae_jsonl *log, const seed_run *s, int a, const uae_dataset *ds,
                             const float *targets, float sigma) {
    static const char *const extra_what[] = {
        [UAE_ARM_ORIGINAL] = "none",
        [UAE_ARM_DUPLICATE] = "subset rows 0..n-1 again",
        [UAE_ARM_NOISE] = "subset rows 0..n-1 + N(0, sigma^2), clipped to [0, 1]",
        [UAE_ARM_UAE] = "uae.npy rows 0..n-1 (the UAEs of subset rows 0..n-1)",
    };
    char xd[17], td[17];
    uae_digest_f32(ds->x, ds->n * ds->d, xd);
    uae_digest_f32(targets ? targets : ds->x, ds->n * ds->d, td);
    return uae_jsonl_writef(log, "{s:s, s:I, s:I, s:I, s:s, s:f, s:s, s:s, s:s}", "arm",
                            arm_names[a], "rows", (json_int_t)ds->n, "subset_rows",
                            (json_int_t)s->sub.n, "extra_rows", (json_int_t)(ds->n - s->sub.n),
                            "extra", extra_what[a], "noise_sigma",
                            a == UAE_ARM_NOISE ? (double)sigma : 0.0, "targets",
                            targets ? "clean originals" : "the rows themselves", "x_fnv1a64", xd,
                            "targets_fnv1a64", td);
}

/* Retrains a copy of the base model (weights and optimizer state from its checkpoint) for
 * `epochs` more epochs on ds and evaluates it on test into v[]. */
static uae_status retrain(uae_backend *be, const uae_augment_options *o, const seed_run *s,
                          const uae_dataset *ds, const float *targets, const uae_dataset *test,
                          int base_epochs, int epochs, int64_t batch,
                          double v[UAE_AUGMENT_MAX_METRICS]) {
    uae_checkpoint_info *info = calloc(1, sizeof *info);
    if (!info) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    uae_model *m = NULL;
    uae_status st = uae_checkpoint_load_model(s->base_path, be, &m, info);
    uae_train_options to = uae_train_options_default();
    to.epochs = base_epochs + epochs;
    to.batch = batch;
    to.seed = s->seed;
    to.resume = info; /* continue the base run: its step count and optimizer state */
    to.targets = targets;
    to.on_batch = o->on_batch;
    to.user = o->user;
    to.log = o->log;
    if (st == UAE_OK) st = uae_train_run(m, ds, &to, NULL);
    if (st == UAE_OK) st = evaluate(be, o, s, m, test, batch, v);
    uae_model_free(m);
    free(info);
    return st;
}

/* x, x' and |x' - x| (a heat map) of the first few examples, as one PNG. */
static uae_status write_grid(const char *path, const seed_run *s) {
    int k = s->n < 10 ? (int)s->n : 10;
    const int64_t d = s->d, plane = (int64_t)s->sub.h * s->sub.w;
    float *delta = malloc((size_t)(2 * k * d) * sizeof *delta);
    if (!delta) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    float *scale = delta + k * d; /* (k, c, h, w) the colour scale: 0 at the left to hi */
    for (int64_t i = 0; i < k * d; i++) delta[i] = fabsf(s->xadv[i] - s->sub.x[i]);
    /* The heat map's range, 0 .. the largest |delta| of a pixel (its mean over the channels, as
     * the colour map takes it), shared with the scale row. */
    float hi = 0.0f;
    for (int64_t i = 0; i < k; i++)
        for (int64_t p = 0; p < plane; p++) {
            float v = 0.0f;
            for (int ch = 0; ch < s->sub.c; ch++) v += delta[i * d + ch * plane + p];
            v /= (float)s->sub.c;
            if (v > hi) hi = v;
        }
    const int64_t span = (int64_t)k * s->sub.w - 1;
    for (int64_t i = 0; i < k; i++)
        for (int ch = 0; ch < s->sub.c; ch++)
            for (int64_t y = 0; y < s->sub.h; y++)
                for (int64_t x = 0; x < s->sub.w; x++)
                    scale[i * d + ch * plane + y * s->sub.w + x] =
                        span > 0 ? hi * (float)(i * s->sub.w + x) / (float)span : hi;
    float top = hi > 0.0f ? hi : 1.0f; /* no perturbation: all dark, not a division by 0 */
    uae_image_row rows[4] = {
        {s->sub.x, k, UAE_CMAP_NONE, 0, 0},
        {s->xadv, k, UAE_CMAP_NONE, 0, 0},
        {delta, k, UAE_CMAP_VIRIDIS, 0.0f, top},
        {scale, k, UAE_CMAP_VIRIDIS, 0.0f, top},
    };
    char range[48];
    snprintf(range, sizeof range, "0..%.3g", (double)hi);
    const char *labels[4] = {"x", "x'", "|\xce\xb4|", range};
    uae_status st = uae_image_write_grid_labelled(path, rows, labels, 4, s->sub.c, s->sub.h,
                                                  s->sub.w, 2, 3);
    free(delta);
    return st;
}

/* A table's first (up to) 10 examples as CSV: per example its x, x' and |x' - x| rows, labelled,
 * the features named as in the data set (the values are the scaled ones the model saw). */
static uae_status write_examples_csv(const char *path, const seed_run *s) {
    int k = s->n < 10 ? (int)s->n : 10;
    uae_atomic_file *af;
    UAE_TRY(uae_atomic_file_open(path, &af));
    FILE *f = uae_atomic_file_stream(af);
    fputs("example,row", f);
    for (int64_t j = 0; j < s->d; j++) {
        /* a name with a comma or a quote is quoted, its quotes doubled */
        const char *name = s->sub.feature_names ? s->sub.feature_names[j] : NULL;
        if (!name) {
            fprintf(f, ",f%lld", (long long)j);
            continue;
        }
        fputs(",\"", f);
        for (const char *c = name; *c; c++) {
            if (*c == '"') fputc('"', f);
            fputc(*c, f);
        }
        fputc('"', f);
    }
    fputc('\n', f);
    static const char *const what[3] = {"x", "x_adv", "abs_delta"};
    for (int i = 0; i < k; i++)
        for (int r = 0; r < 3; r++) {
            fprintf(f, "%d,%s", i, what[r]);
            for (int64_t j = 0; j < s->d; j++) {
                float x = s->sub.x[i * s->d + j], xa = s->xadv[i * s->d + j];
                fprintf(f, ",%.9g", (double)(r == 0 ? x : r == 1 ? xa : fabsf(xa - x)));
            }
            fputc('\n', f);
        }
    return uae_atomic_file_commit(af);
}

/* The MINE samples the attack will use: concrete-ae has no first convolution, so its attack always
 * falls back to random projections (said so in the tables rather than the "conv" asked for). */
/* The MINE samples the attack really uses: random projections for a model without a first conv
 * layer (dense-ae, sparse-ae, aae, concrete-ae), whatever was asked. */
static uae_attack_samples effective_samples(const uae_augment_options *o,
                                            const uae_model_config *cfg) {
    return uae_model_has_first_layer(cfg) ? o->attack.samples : UAE_ATTACK_SAMPLES_RANDOM;
}

/* A rerun into the same folder reuses a seed's base model and continues its examples only if the
 * settings that made them are the same: seed-S/settings.json records them, and if they differ the
 * seed's files are removed and it starts afresh (never a mix of two settings in one .npy). The
 * reconstruction task's record (with conv samples) is the one of the versions before the other
 * tasks existed; random projections add their count and size. */
static uae_status check_seed_settings(const uae_augment_options *o, const seed_run *s, int epochs,
                                      int64_t batch) {
    const uae_attack_config *a = &o->attack;
    char now[1024], old[1024] = "", path[320], extra[256] = "";
    if (o->task != UAE_TASK_RECONSTRUCTION)
        snprintf(extra, sizeof extra, ",\"task\":\"%s\",\"select_k\":%d,\"total_steps\":%lld,"
                 "\"negatives_n\":%lld", task_names[o->task], s->cfg.select_k,
                 (long long)s->cfg.total_steps, (long long)s->negatives_n);
    const uae_attack_samples samples = effective_samples(o, &s->cfg);
    if (samples == UAE_ATTACK_SAMPLES_RANDOM) {
        size_t len = strlen(extra);
        snprintf(extra + len, sizeof extra - len, ",\"proj_count\":%d,\"proj_dim\":%d",
                 a->proj_count, a->proj_dim);
    }
    size_t len = strlen(extra); /* only when not the defaults: earlier folders still continue */
    if (a->mine_warmup > 0)
        len += (size_t)snprintf(extra + len, sizeof extra - len, ",\"mine_warmup\":%d",
                                a->mine_warmup);
    if (a->mine.opt.p.lr != 1.5e-5f)
        snprintf(extra + len, sizeof extra - len, ",\"mine_lr\":%.9g", (double)a->mine.opt.p.lr);
    snprintf(now, sizeof now,
             "{\"preset\":\"%s\",\"n_train\":%lld,\"n\":%lld,\"epochs\":%d,\"batch\":%lld,"
             "\"attack\":\"%s\",\"samples\":\"%s\",\"iterations\":%d,\"mine_steps\":%d,"
             "\"mine_hidden\":%d,\"mine_filters\":%d,\"eps\":%.9g,\"lr\":%.9g,\"seed\":%llu%s}\n",
             s->cfg.preset, (long long)s->sub.n, (long long)s->n, epochs, (long long)batch,
             uae_attack_method_name(a->method), uae_attack_samples_name(samples),
             a->iterations, a->mine_steps, a->mine.hidden, a->mine.conv_filters, (double)a->eps,
             (double)a->lr, (unsigned long long)s->seed, extra);
    snprintf(path, sizeof path, "%s/settings.json", s->dir);
    FILE *f;
    if (uae_file_open(path, "r", &f) != UAE_OK && errno != ENOENT) return UAE_ERR_IO;
    if (f) {
        size_t len = fread(old, 1, sizeof old - 1, f);
        old[len] = '\0';
        fclose(f);
    }
    if (strcmp(old, now) == 0) return UAE_OK;
    if (old[0]) {
        stage(o, "seed %llu: other settings than in %s: starting this seed afresh",
              (unsigned long long)s->seed, path);
        const char *names[] = {"base.safetensors", "uae.npy", "uae.jsonl", "uae.safetensors"};
        for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
            char p[320];
            snprintf(p, sizeof p, "%s/%s", s->dir, names[i]);
            remove(p);
        }
    }
    uae_atomic_file *af;
    UAE_TRY(uae_atomic_file_open(path, &af));
    fputs(now, uae_atomic_file_stream(af));
    return uae_atomic_file_commit(af);
}

/* The model configuration of a seed: the preset's defaults, checked against the task, with the
 * run's epochs and batch (0: the preset's); representation: k and the temperature schedule over
 * the base run of n_train examples. */
static uae_status seed_config(const uae_augment_options *o, const uae_dataset *train,
                              int64_t n_train, uae_model_config *cfg) {
    const char *preset = o->preset ? o->preset : task_presets[o->task];
    UAE_TRY(uae_model_defaults(preset, train->c, train->h, train->w, train->num_classes, cfg));
    if (o->task == UAE_TASK_RECONSTRUCTION && cfg->kind != UAE_MODEL_AUTOENCODER)
        return uae_fail(UAE_ERR_INVALID, "the reconstruction task needs an autoencoder; '%s' "
                        "is not one", preset);
    if (o->task == UAE_TASK_REPRESENTATION && strcmp(cfg->preset, "concrete-ae") != 0)
        return uae_fail(UAE_ERR_INVALID, "the representation task needs concrete-ae (a model "
                        "that selects input features); '%s' is not it", preset);
    if (o->task == UAE_TASK_CONTRASTIVE && cfg->kind != UAE_MODEL_CONTRASTIVE)
        return uae_fail(UAE_ERR_INVALID, "the contrastive task needs a contrastive model "
                        "(simclr-small); '%s' is not one", preset);
    if (o->epochs > 0) cfg->epochs = o->epochs;
    if (o->batch > 0) cfg->batch = (int)o->batch;
    if (o->task == UAE_TASK_REPRESENTATION) {
        const int64_t d = train->d;
        int64_t k = o->select_k > 0 ? o->select_k : d / 2 < cfg->select_k ? d / 2 : cfg->select_k;
        if (k < 1) k = 1;
        if (k > d)
            return uae_fail(UAE_ERR_INVALID, "representation: %lld features to select of %lld",
                            (long long)k, (long long)d);
        cfg->select_k = (int)k;
        /* Anneal over the base run, so that a short run ends at the final (hard) temperature;
         * the retrained arms continue past total_steps, at T_end. */
        cfg->total_steps = (int64_t)cfg->epochs * ((n_train + cfg->batch - 1) / cfg->batch);
    }
    return UAE_OK;
}

/* Whether every training value lies in the attack's box [lo, hi]; the message names the first
 * that does not. */
static uae_status check_range(const uae_dataset *train, const uae_attack_config *a) {
    for (int64_t i = 0; i < train->n * train->d; i++)
        if (!(train->x[i] >= a->lo && train->x[i] <= a->hi))
            return uae_fail(UAE_ERR_INVALID, "augment: training example %lld, feature %lld is %g, "
                            "outside the attack's box [%g, %g]; scale the data into it (tables: "
                            "uae_data_scale01)", (long long)(i / train->d),
                            (long long)(i % train->d), (double)train->x[i], (double)a->lo,
                            (double)a->hi);
    return UAE_OK;
}

/* One seed of the experiment: fills every metric's value[*][k]. */
static uae_status run_seed(uae_backend *be, const uae_dataset *train, const uae_dataset *test,
                           const uae_augment_options *o, int k, seed_run *s,
                           uae_augment_report *rep) {
    const uint64_t seed = o->seeds[k];
    s->seed = seed;
    snprintf(s->dir, sizeof s->dir, "%s/seed-%llu", o->out_dir, (unsigned long long)seed);
    snprintf(s->base_path, sizeof s->base_path, "%s/base.safetensors", s->dir);
    UAE_TRY(make_dir(s->dir));
    UAE_TRY(uae_data_subset(train, o->n_train > 0 ? o->n_train : train->n, seed, &s->sub));
    s->d = s->sub.d;
    s->n = o->n > 0 && o->n < s->sub.n ? o->n : s->sub.n;
    s->classes = rep->labels ? train->num_classes : 0;
    UAE_TRY(seed_config(o, train, s->sub.n, &s->cfg));
    const int epochs = s->cfg.epochs;
    const int64_t batch = s->cfg.batch;
    const int repochs = o->retrain_epochs > 0 ? o->retrain_epochs : epochs;

    uae_attack_config ac = o->attack;
    ac.seed = seed;
    ac.samples = effective_samples(o, &s->cfg);
    if (o->task == UAE_TASK_CONTRASTIVE) {
        /* The contrastive loss's negatives: a fixed, seeded set of the subset's examples. */
        s->negatives_n = ac.negatives_n > 0 ? ac.negatives_n : 254;
        if (s->negatives_n > s->sub.n) s->negatives_n = s->sub.n;
        s->negatives = malloc((size_t)(s->negatives_n * s->d) * sizeof *s->negatives);
        if (!s->negatives) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
        UAE_TRY(uae_attack_pick_negatives(s->sub.x, s->sub.n, s->d, seed, s->negatives_n,
                                          s->negatives));
        ac.negatives = s->negatives;
        ac.negatives_n = s->negatives_n;
    }

    double v[UAE_AUGMENT_MAX_METRICS] = {NAN, NAN};
    UAE_TRY(check_seed_settings(o, s, epochs, batch));
    UAE_TRY(base_model(be, o, s, test, epochs, batch, v));
    for (int j = 0; j < rep->nmetrics; j++) rep->metric[j].value[UAE_ARM_BASE][k] = v[j];

    /* The adversarial examples of the first n subset examples, resumed if a run stopped. */
    char npy[320], stats[320];
    snprintf(npy, sizeof npy, "%s/uae.npy", s->dir);
    snprintf(stats, sizeof stats, "%s/uae.jsonl", s->dir);
    stage(o, "seed %llu: generating %lld adversarial example%s (%s, %d iteration%s, MINE hidden "
          "%d, %d MINE step%s)", (unsigned long long)seed, (long long)s->n, PLURAL(s->n),
          uae_attack_method_name(o->attack.method), o->attack.iterations,
          PLURAL(o->attack.iterations), o->attack.mine.hidden, o->attack.mine_steps,
          PLURAL(o->attack.mine_steps));
    uae_model *m = NULL;
    UAE_TRY(uae_checkpoint_load_model(s->base_path, be, &m, NULL));
    uae_generate_options go = {.npy_path = npy, .stats_path = stats, .batch = o->attack_batch,
                               .resume = true, .progress = o->on_generate, .user = o->user};
    uae_generate_summary gs;
    uae_status st = uae_augment_generate(m, &ac, s->sub.x, NULL, s->n, 0, &go, &gs);
    uae_model_free(m);
    UAE_TRY(st);
    rep->success_rate[k] = (double)gs.success / (double)gs.n;
    uae_npy_array arr;
    UAE_TRY(uae_npy_read(npy, &arr));
    if (arr.shape[0] != s->n) {
        uae_npy_array_free(&arr);
        return uae_fail(UAE_ERR_FORMAT, "%s: %lld examples, expected %lld", npy,
                        (long long)arr.shape[0], (long long)s->n);
    }
    s->xadv = arr.data; /* now owned by s */
    UAE_TRY(write_pairs(s, train));

    /* A picture of images; a table's rows are numbers, which a picture of 1-pixel rows hides. */
    bool table = s->sub.c == 1 && s->sub.h == 1;
    char png[320];
    snprintf(png, sizeof png, "%s/examples.%s", s->dir, table ? "csv" : "png");
    UAE_TRY(table ? write_examples_csv(png, s) : write_grid(png, s));
    if (k == 0) snprintf(rep->grid_png, sizeof rep->grid_png, "%s", png);

    /* The noise arm's copies: x + N(0, sigma^2) per pixel, clipped to [0, 1], from the counter
     * RNG at (seed, a stream of its own), so they do not depend on anything else in the run. */
    float *noisy = malloc((size_t)(s->n * s->d) * sizeof *noisy);
    if (!noisy) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    for (int64_t i = 0; i < s->n * s->d; i++) {
        float x = s->sub.x[i] + o->noise_sigma * uae_rng_normal01(seed, 0x4E4F495345ull,
                                                                  (uint64_t)i);
        noisy[i] = x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
    }
    /* seed-S/arms.jsonl: a record of each retrained arm's training rows, for users and tests */
    char arms_path[320];
    snprintf(arms_path, sizeof arms_path, "%s/arms.jsonl", s->dir);
    uae_jsonl *arms_log = NULL;
    st = uae_jsonl_open(arms_path, false, &arms_log);
    for (int a = UAE_ARM_ORIGINAL; a < UAE_ARM_COUNT && st == UAE_OK; a++) {
        const float *extra = a == UAE_ARM_DUPLICATE ? s->sub.x
                             : a == UAE_ARM_NOISE   ? noisy
                             : a == UAE_ARM_UAE     ? s->xadv
                                                    : NULL;
        /* SimCLR trains on two views of each row itself: there is no target to choose. */
        bool clean = o->task != UAE_TASK_CONTRASTIVE && o->target == UAE_TARGET_CLEAN &&
                     (a == UAE_ARM_NOISE || a == UAE_ARM_UAE);
        uae_dataset ds;
        float *targets;
        stage(o, "seed %llu: retraining '%s' (%d epoch%s)", (unsigned long long)seed,
              arm_names[a], repochs, PLURAL(repochs));
        st = arm_data(s, extra, clean, &ds, &targets);
        if (st == UAE_OK) st = record_arm(arms_log, s, a, &ds, targets, o->noise_sigma);
        double va[UAE_AUGMENT_MAX_METRICS] = {NAN, NAN};
        if (st == UAE_OK)
            st = retrain(be, o, s, &ds, targets, test, epochs, repochs, batch, va);
        for (int j = 0; j < rep->nmetrics; j++) rep->metric[j].value[a][k] = va[j];
        uae_dataset_free(&ds);
        free(targets);
    }
    uae_status cst = uae_jsonl_close(arms_log);
    if (st == UAE_OK) st = cst;
    free(noisy);
    return st;
}

static void mean_std(const double *v, int n, double *mean, double *std) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    double q = 0.0;
    for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *std = !isfinite(*mean) ? NAN : n > 1 ? sqrt(q / (n - 1)) : 0.0;
}

/* A number for JSON: null where it is NaN (JSON has no NaN; jansson refuses it). */
static json_t *json_number_or_null(double v) {
    return isfinite(v) ? json_real(v) : json_null();
}

/* results.json: the settings, the metrics, per-seed values, means and standard deviations. */
static uae_status write_json(const char *path, const uae_augment_options *o,
                             const uae_model_config *cfg, const uae_augment_report *rep,
                             int64_t n_train, int64_t n, int64_t n_test, int64_t negatives_n) {
    json_t *root = json_object();
    json_t *settings = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:I, s:f, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:s}",
        "task", task_names[o->task], "preset", cfg->preset, "n_train", (json_int_t)n_train, "n",
        (json_int_t)n, "n_test", (json_int_t)n_test, "epochs", cfg->epochs, "retrain_epochs",
        o->retrain_epochs > 0 ? o->retrain_epochs : cfg->epochs, "batch", (json_int_t)cfg->batch,
        "noise_sigma", (double)o->noise_sigma, "target",
        o->task == UAE_TASK_CONTRASTIVE       ? "n/a"
        : o->target == UAE_TARGET_CLEAN       ? "clean"
                                              : "self",
        "attack", uae_attack_method_name(o->attack.method), "iterations", o->attack.iterations,
        "mine_steps", o->attack.mine_steps, "mine_hidden", o->attack.mine.hidden,
        "mine_conv_filters", o->attack.mine.conv_filters, "eps", (double)o->attack.eps,
        "samples", uae_attack_samples_name(effective_samples(o, cfg)));
    json_t *seeds = json_array();
    for (int k = 0; k < rep->nseeds; k++) json_array_append_new(seeds, json_integer((json_int_t)o->seeds[k]));
    json_object_set_new(settings, "seeds", seeds);
    json_object_set_new(settings, "mine_warmup", json_integer(o->attack.mine_warmup));
    json_object_set_new(settings, "mine_lr", json_real(o->attack.mine.opt.p.lr));
    if (effective_samples(o, cfg) == UAE_ATTACK_SAMPLES_RANDOM) {
        json_object_set_new(settings, "proj_count", json_integer(o->attack.proj_count));
        json_object_set_new(settings, "proj_dim", json_integer(o->attack.proj_dim));
    }
    if (o->task == UAE_TASK_REPRESENTATION) {
        json_object_set_new(settings, "select_k", json_integer(cfg->select_k));
        json_object_set_new(settings, "total_steps", json_integer((json_int_t)cfg->total_steps));
    }
    if (o->task == UAE_TASK_CONTRASTIVE)
        json_object_set_new(settings, "negatives_n", json_integer((json_int_t)negatives_n));
    if (o->task != UAE_TASK_RECONSTRUCTION)
        json_object_set_new(settings, "probe",
                            json_pack("{s:i, s:I, s:f}", "epochs", o->probe.epochs, "batch",
                                      (json_int_t)o->probe.batch, "lr", (double)o->probe.lr));
    json_object_set_new(root, "settings", settings);
    json_object_set_new(root, "labels", json_boolean(rep->labels));
    json_t *metrics = json_array();
    for (int j = 0; j < rep->nmetrics; j++) {
        const uae_augment_metric *mt = &rep->metric[j];
        json_array_append_new(
            metrics, json_pack("{s:s, s:s, s:s, s:b}", "name", mt->name, "text", mt->text,
                               "better", mt->higher_is_better ? "higher" : "lower", "available",
                               !mt->needs_labels || rep->labels));
    }
    json_object_set_new(root, "metrics", metrics);
    json_t *arms = json_object();
    for (int a = 0; a < UAE_ARM_COUNT; a++) {
        json_t *arm = json_pack("{s:s}", "what", arm_text[a]);
        for (int j = 0; j < rep->nmetrics; j++) {
            const uae_augment_metric *mt = &rep->metric[j];
            json_t *vals = json_array();
            for (int k = 0; k < rep->nseeds; k++)
                json_array_append_new(vals, json_number_or_null(mt->value[a][k]));
            json_object_set_new(arm, mt->name,
                                json_pack("{s:o, s:o, s:o}", "values", vals, "mean",
                                          json_number_or_null(mt->mean[a]), "std",
                                          json_number_or_null(mt->std[a])));
        }
        json_object_set_new(arms, arm_names[a], arm);
    }
    json_object_set_new(root, "arms", arms);
    json_t *succ = json_array();
    for (int k = 0; k < rep->nseeds; k++) json_array_append_new(succ, json_real(rep->success_rate[k]));
    json_object_set_new(root, "attack_success_rate", succ);
    json_object_set_new(root, "seconds", json_real(rep->seconds));
    uae_atomic_file *f;
    uae_status st = uae_atomic_file_open(path, &f);
    if (st == UAE_OK) {
        if (json_dumpf(root, uae_atomic_file_stream(f), JSON_INDENT(2)) != 0) {
            uae_atomic_file_abort(f);
            st = uae_fail(UAE_ERR_IO, "%s: cannot write", path);
        } else {
            fputc('\n', uae_atomic_file_stream(f));
            st = uae_atomic_file_commit(f);
        }
    }
    json_decref(root);
    return st;
}

/* A value for the tables: "0.01234", or "n/a" where it is NaN. */
static void put_value(FILE *out, double v) {
    if (isfinite(v))
        fprintf(out, "%.5f", v);
    else
        fprintf(out, "n/a");
}

/* results.md: the table, mean ± std over seeds, one column pair per metric. */
static uae_status write_md(const char *path, const uae_augment_options *o,
                           const uae_model_config *cfg, const uae_augment_report *rep,
                           int64_t n_train, int64_t n, int64_t n_test) {
    uae_atomic_file *f;
    UAE_TRY(uae_atomic_file_open(path, &f));
    FILE *out = uae_atomic_file_stream(f);
    fprintf(out, "# uae augment: %s with %s\n\n", task_names[o->task], cfg->preset);
    const bool random = effective_samples(o, cfg) == UAE_ATTACK_SAMPLES_RANDOM;
    fprintf(out, "%lld training examples per seed, %lld adversarial examples (%s, %d iterations, "
            "MINE hidden %d, %d MINE steps, %s MINE samples", (long long)n_train, (long long)n,
            uae_attack_method_name(o->attack.method), o->attack.iterations, o->attack.mine.hidden,
            o->attack.mine_steps,
            uae_attack_samples_name(random ? UAE_ATTACK_SAMPLES_RANDOM : o->attack.samples));
    if (random)
        fprintf(out, " (%d projections to %d dimensions)", o->attack.proj_count,
                o->attack.proj_dim);
    const int repochs = o->retrain_epochs > 0 ? o->retrain_epochs : cfg->epochs;
    fprintf(out, ", eps %g), base %d epoch%s, retraining %d epoch%s, noise sigma %g",
            (double)o->attack.eps, cfg->epochs, PLURAL(cfg->epochs), repochs, PLURAL(repochs),
            (double)o->noise_sigma);
    if (o->attack.mine_warmup > 0 || o->attack.mine.opt.p.lr != 1.5e-5f)
        fprintf(out, ", MINE warm-up %d steps, MINE lr %g", o->attack.mine_warmup,
                (double)o->attack.mine.opt.p.lr);
    if (o->task != UAE_TASK_CONTRASTIVE)
        fprintf(out, ", augmented inputs target %s",
                o->target == UAE_TARGET_CLEAN ? "their clean original" : "themselves");
    if (o->task == UAE_TASK_REPRESENTATION)
        fprintf(out, ", %d features selected (temperature annealed over %lld steps)",
                cfg->select_k, (long long)cfg->total_steps);
    if (o->task != UAE_TASK_RECONSTRUCTION)
        fprintf(out, ", linear probes: %d epochs of Adam (lr %g, batch %lld) on the training "
                "subset", o->probe.epochs, (double)o->probe.lr, (long long)o->probe.batch);
    fprintf(out, ". Test set: %lld examples. Seeds:", (long long)n_test);
    for (int k = 0; k < rep->nseeds; k++)
        fprintf(out, " %llu", (unsigned long long)o->seeds[k]);
    fprintf(out, ".\n\n| arm | what |");
    for (int j = 0; j < rep->nmetrics; j++)
        fprintf(out, " %s, %s is better (mean ± std) | per seed |", rep->metric[j].text,
                rep->metric[j].higher_is_better ? "higher" : "lower");
    fprintf(out, "\n|---|---|");
    for (int j = 0; j < rep->nmetrics; j++) fprintf(out, "---|---|");
    fprintf(out, "\n");
    for (int a = 0; a < UAE_ARM_COUNT; a++) {
        fprintf(out, "| %s | %s |", arm_names[a], arm_text[a]);
        for (int j = 0; j < rep->nmetrics; j++) {
            const uae_augment_metric *mt = &rep->metric[j];
            if (mt->needs_labels && !rep->labels) {
                fprintf(out, " n/a (no labels) | |");
                continue;
            }
            fprintf(out, " ");
            put_value(out, mt->mean[a]);
            fprintf(out, " ± ");
            put_value(out, mt->std[a]);
            fprintf(out, " |");
            for (int k = 0; k < rep->nseeds; k++) {
                fprintf(out, " ");
                put_value(out, mt->value[a][k]);
            }
            fprintf(out, " |");
        }
        fprintf(out, "\n");
    }
    fprintf(out, "\nAttack success rate per seed:");
    for (int k = 0; k < rep->nseeds; k++) fprintf(out, " %.3f", rep->success_rate[k]);
    fprintf(out, ". Wall time: %.0f s.\n", rep->seconds);
    return uae_atomic_file_commit(f);
}

/* The metrics of each task, in table order (see uae_augment_metric). */
typedef struct metric_def {
    const char *name, *text;
    bool higher_is_better, needs_labels;
} metric_def;

static const metric_def task_metrics[][UAE_AUGMENT_MAX_METRICS] = {
    [UAE_TASK_RECONSTRUCTION] = {{"test_mse", "test MSE", false, false}, {NULL, NULL, 0, 0}},
    [UAE_TASK_REPRESENTATION] = {{"test_mse", "test MSE from the selected features", false, false},
                                 {"linear_accuracy", "linear accuracy on the selected features",
                                  true, true}},
    [UAE_TASK_CONTRASTIVE] = {{"probe_accuracy", "linear-probe accuracy", true, true},
                              {"test_nt_xent", "test NT-Xent", false, false}},
};
_Static_assert(sizeof task_metrics / sizeof task_metrics[0] == UAE_TASK_COUNT, "task metrics");

uae_status uae_augment_run(uae_backend *be, const uae_dataset *train, const uae_dataset *test,
                           const uae_augment_options *o, uae_augment_report *rep) {
    memset(rep, 0, sizeof *rep);
    if ((unsigned)o->task >= UAE_TASK_COUNT)
        return uae_fail(UAE_ERR_INVALID, "augment: unknown task %d", (int)o->task);
    for (int j = 0; j < UAE_AUGMENT_MAX_METRICS && task_metrics[o->task][j].name; j++) {
        const metric_def *md = &task_metrics[o->task][j];
        uae_augment_metric *mt = &rep->metric[rep->nmetrics++];
        mt->name = md->name;
        mt->text = md->text;
        mt->higher_is_better = md->higher_is_better;
        mt->needs_labels = md->needs_labels;
    }
    if (!o->out_dir || o->nseeds < 1 || o->nseeds > UAE_AUGMENT_MAX_SEEDS || o->n < 0 ||
        o->n_train < 0 || o->attack_batch < 1 || !(o->noise_sigma >= 0.0f) || o->select_k < 0)
        return uae_fail(UAE_ERR_INVALID, "augment: out folder %s, %d seeds (1 to %d), n %lld, "
                        "n_train %lld, attack batch %lld, noise sigma %g, select_k %d",
                        o->out_dir ? o->out_dir : "(none)", o->nseeds, UAE_AUGMENT_MAX_SEEDS,
                        (long long)o->n, (long long)o->n_train, (long long)o->attack_batch,
                        (double)o->noise_sigma, o->select_k);
    if (train->d != test->d || train->c != test->c || train->h != test->h || train->w != test->w)
        return uae_fail(UAE_ERR_SHAPE, "augment: training examples of %d x %d x %d, test "
                        "examples of %d x %d x %d", train->c, train->h, train->w, test->c,
                        test->h, test->w);
    if ((o->task == UAE_TASK_CONTRASTIVE && o->attack.loss != UAE_ATTACK_LOSS_MODEL) ||
        o->attack.loss == UAE_ATTACK_LOSS_CW)
        return uae_fail(UAE_ERR_INVALID, "augment: the %s task's attack needs the %s loss; set "
                        "o.attack with uae_attack_defaults(uae_augment_task_kind(task))",
                        task_names[o->task],
                        o->task == UAE_TASK_CONTRASTIVE ? "model's (NT-Xent)" : "SSE or model's");
    UAE_TRY(check_range(train, &o->attack));
    /* The accuracies need labels on both sides (a CSV without a label column has none). */
    rep->labels = train->y && test->y && train->num_classes >= 2;
    UAE_TRY(make_dir(o->out_dir));
    double t0 = now_seconds();
    rep->nseeds = o->nseeds;
    uae_status st = UAE_OK;
    seed_run s;
    uae_model_config cfg = {0};
    int64_t n_train = 0, n = 0, negatives_n = 0;
    for (int k = 0; k < o->nseeds && st == UAE_OK; k++) {
        memset(&s, 0, sizeof s);
        st = run_seed(be, train, test, o, k, &s, rep);
        cfg = s.cfg;
        n_train = s.sub.n;
        n = s.n;
        negatives_n = s.negatives_n;
        uae_dataset_free(&s.sub);
        free(s.xadv);
        free(s.negatives);
    }
    if (st != UAE_OK) return st;
    for (int j = 0; j < rep->nmetrics; j++)
        for (int a = 0; a < UAE_ARM_COUNT; a++)
            mean_std(rep->metric[j].value[a], rep->nseeds, &rep->metric[j].mean[a],
                     &rep->metric[j].std[a]);
    rep->seconds = now_seconds() - t0;
    snprintf(rep->table_md, sizeof rep->table_md, "%s/results.md", o->out_dir);
    snprintf(rep->table_json, sizeof rep->table_json, "%s/results.json", o->out_dir);
    UAE_TRY(write_md(rep->table_md, o, &cfg, rep, n_train, n, test->n));
    return write_json(rep->table_json, o, &cfg, rep, n_train, n, test->n, negatives_n);
}

