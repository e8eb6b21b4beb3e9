/* models/augment_experiment.c — the experiment of uae/augment.h: per seed, a base model, its
 * adversarial examples (augment_generate.c), and retraining with them, with Gaussian noise, with
 * duplicated data and with no extra data, then the evaluation of every arm. Written against
 * uae/attack.h, uae/train.h and uae/checkpoint.h; nothing here knows the device. Not here: the
 * files it writes for people (augment_report.c) and printing (apps/). */
#include "uae/augment.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "augment_impl.h"
#include "enum_names.h"
#include "model_impl.h"
#include "uae/checkpoint.h"
#include "uae/io.h"
#include "uae/rng.h"

double uae_augment_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- Names ----------------------------------------------------------------------------------- */

static const char *const task_names[] = {"reconstruction", "representation", "contrastive"};
_Static_assert(sizeof task_names / sizeof task_names[0] == UAE_TASK_COUNT, "task names");

static const char *const arm_names[] = {"base", "original", "duplicate", "noise", "uae"};
_Static_assert(sizeof arm_names / sizeof arm_names[0] == UAE_ARM_COUNT, "arm names");

/* What each arm is, for the table. */
const char *const uae_augment_arm_text[UAE_ARM_COUNT] = {
    "base model (no retraining)",
    "retrained on the originals only (no augmentation)",
    "retrained on originals + duplicates (control: more training only)",
    "retrained on originals + Gaussian-noise copies",
    "retrained on originals + UAEs",
};
_Static_assert(sizeof uae_augment_arm_text / sizeof uae_augment_arm_text[0] == UAE_ARM_COUNT, "arm descriptions");

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
    if (uae_dist_rank(o->dist) != 0) return; /* rank 0 tells the run's stages */
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
 * the training loop (ds, targets; NULL targets: each row reconstructs itself), whose digests are
 * xd and td. */
static uae_status record_arm(uae_jsonl *log, const seed_run *s, int a, const uae_dataset *ds,
                             const float *targets, float sigma, const char xd[17],
                             const char td[17]) {
    static const char *const extra_what[] = {
        [UAE_ARM_ORIGINAL] = "none",
        [UAE_ARM_DUPLICATE] = "subset rows 0..n-1 again",
        [UAE_ARM_NOISE] = "subset rows 0..n-1 + N(0, sigma^2), clipped to [0, 1]",
        [UAE_ARM_UAE] = "uae.npy rows 0..n-1 (the UAEs of subset rows 0..n-1)",
    };
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
    to.on_batch = uae_dist_rank(o->dist) == 0 ? o->on_batch : NULL;
    to.user = o->user;
    to.log = o->log;
    if (st == UAE_OK) st = uae_train_run(m, ds, &to, NULL);
    if (st == UAE_OK) st = evaluate(be, o, s, m, test, batch, v);
    uae_model_free(m);
    free(info);
    return st;
}

/* ---- Saved arm results: a rerun skips the arms it finished before -----------------------------
 * seed-S/arm-NAME.json (written atomically as soon as the arm's metrics are known) holds the
 * arm's metrics and a key of what they came from: the digests of the rows and targets it trained
 * on (those of arms.jsonl), of the test set and its labels, the base and retraining epochs, the
 * batch and the probe's options. Everything else that makes the rows is in seed-S/settings.json,
 * whose change removes these files with the rest of the seed. A rerun takes the metrics of a file
 * whose key equals its own and retrains an arm whose file is missing, of another key or
 * unreadable (and says which). */
typedef struct arm_digests {
    char x[17], targets[17], test[17], test_labels[17];
} arm_digests;

static json_t *arm_key(const uae_augment_options *o, int a, const arm_digests *dg,
                       const uae_dataset *test, int base_epochs, int repochs, int64_t batch) {
    return json_pack("{s:s, s:i, s:i, s:I, s:s, s:s, s:I, s:s, s:s, s:{s:i, s:I, s:f}}", "arm",
                     arm_names[a], "base_epochs", base_epochs, "retrain_epochs", repochs,
                     "batch", (json_int_t)batch, "x_fnv1a64", dg->x, "targets_fnv1a64",
                     dg->targets, "test_rows", (json_int_t)test->n, "test_fnv1a64", dg->test,
                     "test_labels_fnv1a64", dg->test_labels, "probe", "epochs", o->probe.epochs,
                     "batch", (json_int_t)o->probe.batch, "lr", (double)o->probe.lr);
}

static void arm_path(const seed_run *s, int a, char path[320]) {
    snprintf(path, 320, "%s/arm-%s.json", s->dir, arm_names[a]);
}

/* Fills v[0 .. nmetrics) from seed-S/arm-NAME.json if its key equals `key`; false otherwise
 * (why in *why: "" for a missing file). */
static bool arm_load(const char *path, const json_t *key, const uae_augment_report *rep,
                     double v[UAE_AUGMENT_MAX_METRICS], char why[160]) {
    why[0] = '\0';
    if (access(path, F_OK) != 0) return false;
    json_error_t err;
    json_t *j = json_load_file(path, 0, &err);
    if (!j) {
        snprintf(why, 160, "unreadable (line %d: %.100s)", err.line, err.text);
        return false;
    }
    json_t *metrics = json_incref(json_object_get(j, "metrics"));
    json_object_del(j, "metrics");
    bool ok = json_is_object(metrics) && json_equal(j, key);
    if (!ok) snprintf(why, 160, "from other settings");
    for (int m = 0; ok && m < rep->nmetrics; m++) {
        json_t *x = json_object_get(metrics, rep->metric[m].name);
        if (json_is_number(x))
            v[m] = json_number_value(x);
        else if (json_is_null(x))
            v[m] = NAN; /* n/a: no labels */
        else {
            ok = false;
            snprintf(why, 160, "without the metric %s", rep->metric[m].name);
        }
    }
    json_decref(metrics);
    json_decref(j);
    return ok;
}

static uae_status arm_save(const char *path, const json_t *key, const uae_augment_report *rep,
                           const double v[UAE_AUGMENT_MAX_METRICS]) {
    json_t *j = json_deep_copy(key), *metrics = json_object();
    uae_status st = j && metrics ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    for (int m = 0; st == UAE_OK && m < rep->nmetrics; m++)
        if (json_object_set_new(metrics, rep->metric[m].name,
                                isfinite(v[m]) ? json_real(v[m]) : json_null()) != 0)
            st = uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    if (st == UAE_OK && json_object_set(j, "metrics", metrics) != 0)
        st = uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    uae_atomic_file *af = NULL;
    if (st == UAE_OK) st = uae_atomic_file_open(path, &af);
    if (st == UAE_OK) {
        FILE *f = uae_atomic_file_stream(af);
        if (json_dumpf(j, f, JSON_REAL_PRECISION(17)) != 0 || fputc('\n', f) == EOF) {
            uae_atomic_file_abort(af);
            st = uae_fail(UAE_ERR_IO, "%s: write failed", path);
        } else {
            st = uae_atomic_file_commit(af);
        }
    }
    json_decref(metrics);
    json_decref(j);
    return st;
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
    const uae_attack_samples samples = uae_augment_effective_samples(o, &s->cfg);
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
        for (int a = UAE_ARM_ORIGINAL; a < UAE_ARM_COUNT; a++) {
            char p[320];
            arm_path(s, a, p);
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

/* Several ranks: rank 0's file at `path` becomes a private copy on every other rank, in
 * $TMPDIR (else /tmp); there `copy` receives its name (remove it when done), on rank 0 `path`.
 * Rank 0 reads it whole: a base model's checkpoint, megabytes. */
static uae_status share_file(uae_dist *d, const char *path, char *copy, size_t cap) {
    snprintf(copy, cap, "%s", path);
    if (uae_dist_size(d) == 1) return UAE_OK;
    const bool root = uae_dist_rank(d) == 0;
    uae_status st = UAE_OK;
    int64_t size = -1;
    char *bytes = NULL;
    if (root) {
        FILE *f = NULL;
        st = uae_file_open(path, "rb", &f);
        if (st == UAE_OK && fseek(f, 0, SEEK_END) == 0) size = ftell(f);
        if (st == UAE_OK && size >= 0 && fseek(f, 0, SEEK_SET) == 0)
            bytes = malloc((size_t)size + 1);
        if (st == UAE_OK && (!bytes || fread(bytes, 1, (size_t)size, f) != (size_t)size))
            st = uae_fail(UAE_ERR_IO, "%s: cannot read it to share with the other ranks", path);
        if (f) fclose(f);
    }
    st = uae_dist_agree(d, st);
    if (st == UAE_OK) st = uae_dist_broadcast(d, &size, sizeof size, 0);
    if (st == UAE_OK && !root) {
        bytes = malloc((size_t)size + 1);
        if (!bytes) st = uae_fail(UAE_ERR_NOMEM, "out of memory for a copy of %s", path);
    }
    st = uae_dist_agree(d, st);
    if (st == UAE_OK) st = uae_dist_broadcast(d, bytes, (size_t)size, 0);
    if (st == UAE_OK && !root) {
        const char *dir = getenv("TMPDIR");
        snprintf(copy, cap, "%s/uae-rank%d-XXXXXX", dir && *dir ? dir : "/tmp", uae_dist_rank(d));
        int fd = mkstemp(copy);
        FILE *f = fd >= 0 ? fdopen(fd, "wb") : NULL;
        if (!f || fwrite(bytes, 1, (size_t)size, f) != (size_t)size)
            st = uae_fail(UAE_ERR_IO, "%s: cannot write rank %d's copy of %s (%s)", copy,
                          uae_dist_rank(d), path, strerror(errno));
        if (f && fclose(f) != 0 && st == UAE_OK)
            st = uae_fail(UAE_ERR_IO, "%s: cannot write (%s)", copy, strerror(errno));
        if (!f && fd >= 0) close(fd);
        if (st != UAE_OK && fd >= 0) remove(copy);
    }
    free(bytes);
    return uae_dist_agree(d, st);
}

/* The arms that retrain (original .. uae) are spread over the ranks in turn: arm a's rank. */
static int arm_rank(const uae_augment_options *o, int a) {
    return (a - UAE_ARM_ORIGINAL) % uae_dist_size(o->dist);
}

/* Arm a on this rank? */
static bool arm_is_mine(const uae_augment_options *o, int a) {
    return arm_rank(o, a) == uae_dist_rank(o->dist);
}

static uae_status run_seed_rest(uae_backend *be, const uae_dataset *test,
                                const uae_dataset *train, const uae_augment_options *o, int k,
                                seed_run *s, uae_augment_report *rep, const uae_attack_config *acp,
                                int epochs, int64_t batch, int repochs);

/* With several ranks, rank 0 tells up front which rank retrains which arm (it cannot see when
 * another rank's arm starts): "seed 3: retraining 'original' and 'noise' on rank 0, 'duplicate'
 * and 'uae' on rank 1 (20 epochs each)". Arms in done[] are left out. */
static void tell_arm_ranks(const uae_augment_options *o, uint64_t seed,
                           const unsigned char done[UAE_ARM_COUNT], int repochs) {
    char buf[200] = "";
    size_t len = 0;
    for (int r = 0; r < uae_dist_size(o->dist); r++) {
        int mine[UAE_ARM_COUNT], n = 0;
        for (int a = UAE_ARM_ORIGINAL; a < UAE_ARM_COUNT; a++)
            if (!done[a] && arm_rank(o, a) == r) mine[n++] = a;
        for (int i = 0; i < n && len < sizeof buf; i++)
            len += (size_t)snprintf(buf + len, sizeof buf - len, "%s'%s'",
                                    i == 0 ? (len ? ", " : "") : i == n - 1 ? " and " : ", ",
                                    arm_names[mine[i]]);
        if (n > 0 && len < sizeof buf)
            len += (size_t)snprintf(buf + len, sizeof buf - len, " on rank %d", r);
    }
    if (len > 0)
        stage(o, "seed %llu: retraining %s (%d epoch%s each)", (unsigned long long)seed, buf,
              repochs, PLURAL(repochs));
}

/* One seed of the experiment: fills every metric's value[*][k] (on rank 0). */
static uae_status run_seed(uae_backend *be, const uae_dataset *train, const uae_dataset *test,
                           const uae_augment_options *o, int k, seed_run *s,
                           uae_augment_report *rep) {
    const uint64_t seed = o->seeds[k];
    uae_dist *dist = o->dist;
    const bool root = uae_dist_rank(dist) == 0;
    s->seed = seed;
    snprintf(s->dir, sizeof s->dir, "%s/seed-%llu", o->out_dir, (unsigned long long)seed);
    snprintf(s->base_path, sizeof s->base_path, "%s/base.safetensors", s->dir);
    UAE_TRY(uae_dist_agree(dist, root ? make_dir(s->dir) : UAE_OK));
    /* One process per seed folder: a second run on it would write the same files. */
    UAE_TRY(uae_dist_agree(dist, root ? uae_folder_lock_take(s->dir, &s->lock) : UAE_OK));
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
    ac.samples = uae_augment_effective_samples(o, &s->cfg);
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

    /* Rank 0 keeps the folder and trains the base model; the others get a copy of it. */
    double v[UAE_AUGMENT_MAX_METRICS] = {NAN, NAN};
    UAE_TRY(uae_dist_agree(dist, root ? check_seed_settings(o, s, epochs, batch) : UAE_OK));
    UAE_TRY(uae_dist_agree(dist, root ? base_model(be, o, s, test, epochs, batch, v) : UAE_OK));
    for (int j = 0; j < rep->nmetrics; j++) rep->metric[j].value[UAE_ARM_BASE][k] = v[j];
    char base[sizeof s->base_path];
    snprintf(base, sizeof base, "%s", s->base_path);
    UAE_TRY(share_file(dist, base, s->base_path, sizeof s->base_path));
    uae_status st = run_seed_rest(be, test, train, o, k, s, rep, &ac, epochs, batch, repochs);
    if (!root) remove(s->base_path); /* this rank's copy */
    return st;
}

/* run_seed after the base model: the adversarial examples, the files of the seed, the arms. */
static uae_status run_seed_rest(uae_backend *be, const uae_dataset *test,
                                const uae_dataset *train, const uae_augment_options *o, int k,
                                seed_run *s, uae_augment_report *rep, const uae_attack_config *acp,
                                int epochs, int64_t batch, int repochs) {
    uae_dist *dist = o->dist;
    const bool root = uae_dist_rank(dist) == 0;
    const uint64_t seed = s->seed;
    uae_attack_config ac = *acp;

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
    uae_status st = uae_dist_agree(dist, uae_checkpoint_load_model(s->base_path, be, &m, NULL));
    uae_generate_options go = {.npy_path = npy, .stats_path = stats, .batch = o->attack_batch,
                               .resume = true, .progress = o->on_generate, .user = o->user,
                               .dist = dist, .log = o->log};
    uae_generate_summary gs;
    if (st == UAE_OK) st = uae_augment_generate(m, &ac, s->sub.x, NULL, s->n, 0, &go, &gs);
    uae_model_free(m);
    UAE_TRY(st);
    if (root) rep->success_rate[k] = (double)gs.success / (double)gs.n;
    /* The examples, read by rank 0 and sent to the others (the uae arm trains on them). */
    if (root) {
        uae_npy_array arr;
        st = uae_npy_read(npy, &arr);
        if (st == UAE_OK && arr.shape[0] != s->n) {
            uae_npy_array_free(&arr);
            st = uae_fail(UAE_ERR_FORMAT, "%s: %lld examples, expected %lld", npy,
                          (long long)arr.shape[0], (long long)s->n);
        }
        if (st == UAE_OK) s->xadv = arr.data; /* now owned by s */
    } else {
        s->xadv = malloc((size_t)(s->n * s->d) * sizeof *s->xadv);
        if (!s->xadv) st = uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    }
    UAE_TRY(uae_dist_agree(dist, st));
    UAE_TRY(uae_dist_broadcast(dist, s->xadv, (size_t)(s->n * s->d) * sizeof *s->xadv, 0));

    /* A picture of images; a table's rows are numbers, which a picture of 1-pixel rows hides. */
    bool table = s->sub.c == 1 && s->sub.h == 1;
    char png[320];
    snprintf(png, sizeof png, "%s/examples.%s", s->dir, table ? "csv" : "png");
    if (root) {
        st = uae_augment_write_pairs(s, train);
        if (st == UAE_OK)
            st = table ? uae_augment_write_examples_csv(png, s) : uae_augment_write_grid(png, s);
        if (k == 0) snprintf(rep->grid_png, sizeof rep->grid_png, "%s", png);
    }
    UAE_TRY(uae_dist_agree(dist, st));

    /* The noise arm's copies: x + N(0, sigma^2) per pixel, clipped to [0, 1], from the counter
     * RNG at (seed, a stream of its own), so they do not depend on anything else in the run. */
    float *noisy = malloc((size_t)(s->n * s->d) * sizeof *noisy);
    UAE_TRY(uae_dist_agree(dist, noisy ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "augment: out of memory")));
    for (int64_t i = 0; i < s->n * s->d; i++) {
        float x = s->sub.x[i] + o->noise_sigma * uae_rng_normal01(seed, 0x4E4F495345ull,
                                                                  (uint64_t)i);
        noisy[i] = x < 0.0f ? 0.0f : x > 1.0f ? 1.0f : x;
    }
    /* seed-S/arms.jsonl (rank 0): a record of each retrained arm's training rows, for users and
     * tests. The arms retrain on their ranks (arm_is_mine); rank 0 gathers their metrics. An arm
     * that an earlier run finished (seed-S/arm-NAME.json with this run's key, see arm_load) is
     * not retrained: rank 0 reads its metrics and sends them to the others with the flags. */
    char arms_path[320];
    snprintf(arms_path, sizeof arms_path, "%s/arms.jsonl", s->dir);
    uae_jsonl *arms_log = NULL;
    st = root ? uae_jsonl_open(arms_path, false, &arms_log) : UAE_OK;
    double vals[UAE_ARM_COUNT][UAE_AUGMENT_MAX_METRICS];
    for (int a = 0; a < UAE_ARM_COUNT; a++)
        for (int j = 0; j < UAE_AUGMENT_MAX_METRICS; j++) vals[a][j] = NAN;
    unsigned char done[UAE_ARM_COUNT] = {0};
    json_t *keys[UAE_ARM_COUNT] = {NULL};
    arm_digests dg;
    if (root) {
        uae_digest_f32(test->x, test->n * test->d, dg.test);
        uae_digest_f32((const float *)test->y, test->y ? test->n : 0, dg.test_labels);
    }
    /* An arm's training rows and targets: the subset, then its extra rows (NULL: none). */
    const float *extra_of[UAE_ARM_COUNT] = {[UAE_ARM_DUPLICATE] = s->sub.x,
                                            [UAE_ARM_NOISE] = noisy, [UAE_ARM_UAE] = s->xadv};
    /* SimCLR trains on two views of each row itself: there is no target to choose. */
    bool clean_of[UAE_ARM_COUNT];
    for (int a = 0; a < UAE_ARM_COUNT; a++)
        clean_of[a] = o->task != UAE_TASK_CONTRASTIVE && o->target == UAE_TARGET_CLEAN &&
                      (a == UAE_ARM_NOISE || a == UAE_ARM_UAE);
    for (int a = UAE_ARM_ORIGINAL; root && a < UAE_ARM_COUNT && st == UAE_OK; a++) {
        uae_dataset ds;
        float *targets;
        st = arm_data(s, extra_of[a], clean_of[a], &ds, &targets);
        if (st == UAE_OK) {
            uae_digest_f32(ds.x, ds.n * ds.d, dg.x);
            uae_digest_f32(targets ? targets : ds.x, ds.n * ds.d, dg.targets);
            st = record_arm(arms_log, s, a, &ds, targets, o->noise_sigma, dg.x, dg.targets);
        }
        uae_dataset_free(&ds);
        free(targets);
        if (st == UAE_OK && !(keys[a] = arm_key(o, a, &dg, test, epochs, repochs, batch)))
            st = uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
        char path[320], why[160];
        arm_path(s, a, path);
        if (st == UAE_OK && (done[a] = arm_load(path, keys[a], rep, vals[a], why)))
            stage(o, "seed %llu: '%s' was retrained by an earlier run: its results taken from %s",
                  (unsigned long long)seed, arm_names[a], path);
        else if (st == UAE_OK && why[0])
            stage(o, "seed %llu: %s is %s: retraining '%s' again", (unsigned long long)seed, path,
                  why, arm_names[a]);
    }
    uae_status cst = uae_jsonl_close(arms_log);
    if (st == UAE_OK) st = cst;
    st = uae_dist_agree(dist, st);
    if (st == UAE_OK) st = uae_dist_broadcast(dist, done, sizeof done, 0);
    if (st == UAE_OK) st = uae_dist_broadcast(dist, vals, sizeof vals, 0);
    const int size = uae_dist_size(dist);
    if (size > 1 && st == UAE_OK) tell_arm_ranks(o, seed, done, repochs);
    for (int a = UAE_ARM_ORIGINAL; a < UAE_ARM_COUNT && st == UAE_OK; a++) {
        if (done[a] || !arm_is_mine(o, a)) continue;
        stage(o, "seed %llu: retraining '%s' (%d epoch%s)", (unsigned long long)seed,
              arm_names[a], repochs, PLURAL(repochs)); /* rank 0: the start of its own arms */
        uae_dataset ds;
        float *targets;
        st = arm_data(s, extra_of[a], clean_of[a], &ds, &targets);
        if (st == UAE_OK)
            st = retrain(be, o, s, &ds, targets, test, epochs, repochs, batch, vals[a]);
        uae_dataset_free(&ds);
        free(targets);
        char path[320];
        arm_path(s, a, path);
        if (st == UAE_OK && root) st = arm_save(path, keys[a], rep, vals[a]);
    }
    free(noisy);
    st = uae_dist_agree(dist, st);
    if (st != UAE_OK) {
        for (int a = 0; a < UAE_ARM_COUNT; a++) json_decref(keys[a]);
        return st;
    }
    /* Rank 0 takes arm a's metrics from the rank that retrained it. */
    size_t *sizes = malloc((size_t)size * sizeof *sizes);
    void *all = NULL;
    st = sizes ? uae_dist_gather(dist, vals, sizeof vals, &all, sizes)
               : uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    for (int a = UAE_ARM_ORIGINAL; root && all && a < UAE_ARM_COUNT; a++) {
        const double(*theirs)[UAE_AUGMENT_MAX_METRICS] =
            (const void *)((const char *)all + (size_t)arm_rank(o, a) * sizeof vals);
        for (int j = 0; j < rep->nmetrics; j++) rep->metric[j].value[a][k] = theirs[a][j];
        char path[320];
        arm_path(s, a, path);
        if (st == UAE_OK && !done[a] && !arm_is_mine(o, a))
            st = arm_save(path, keys[a], rep, theirs[a]);
    }
    for (int a = 0; a < UAE_ARM_COUNT; a++) json_decref(keys[a]);
    free(all);
    free(sizes);
    return uae_dist_agree(dist, st);
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
    const bool root = uae_dist_rank(o->dist) == 0;
    UAE_TRY(uae_dist_agree(o->dist, root ? make_dir(o->out_dir) : UAE_OK));
    double t0 = uae_augment_now();
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
        uae_folder_lock_release(s.lock);
    }
    if (st != UAE_OK) return st;
    for (int j = 0; j < rep->nmetrics; j++)
        for (int a = 0; a < UAE_ARM_COUNT; a++)
            uae_augment_mean_std(rep->metric[j].value[a], rep->nseeds, &rep->metric[j].mean[a],
                     &rep->metric[j].std[a]);
    rep->seconds = uae_augment_now() - t0;
    snprintf(rep->table_md, sizeof rep->table_md, "%s/results.md", o->out_dir);
    snprintf(rep->table_json, sizeof rep->table_json, "%s/results.json", o->out_dir);
    if (root) st = uae_augment_write_md(rep->table_md, o, &cfg, rep, n_train, n, test->n);
    if (root && st == UAE_OK)
        st = uae_augment_write_json(rep->table_json, o, &cfg, rep, n_train, n, test->n,
                                    negatives_n);
    return uae_dist_agree(o->dist, st);
}
