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

#include "uae/checkpoint.h"
#include "uae/image.h"
#include "uae/io.h"
#include "uae/rng.h"

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

/* On resume: keeps the first `rows` statistics lines of path whose indices run first_index,
 * first_index + 1, ... (a crash may have left lines for rows the .npy never counted, or a partial
 * last line), rewrites the file atomically with them and adds them to *s. */
static uae_status cut_stats(const char *path, uint64_t first_index, int64_t rows,
                            uae_generate_summary *s, double *mi_sum, int64_t *mi_n) {
    FILE *in = fopen(path, "r");
    if (!in) {
        if (rows > 0)
            return uae_fail(UAE_ERR_IO, "%s: cannot open (%s) to resume; it should hold the "
                            "statistics of the %lld examples already generated", path,
                            strerror(errno), (long long)rows);
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
        st = cut_stats(o->stats_path, first_index, rows, sum, &mi_sum, &mi_n);
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
    for (int i = 0; i < UAE_TASK_COUNT; i++)
        if (strcmp(name, task_names[i]) == 0) {
            *out = (uae_augment_task)i;
            return UAE_OK;
        }
    return uae_fail(UAE_ERR_INVALID, "unknown task '%s' (reconstruction, representation, "
                    "contrastive)", name);
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
 * term and SimCLR's loss do, and those are not reported here): larger batches evaluate faster. */
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
    int64_t n, d;
} seed_run;

/* Trains the base model of this seed, or loads it if a previous run saved it complete. */
static uae_status base_model(uae_backend *be, const uae_augment_options *o, seed_run *s,
                             const uae_dataset *test, int epochs, int64_t batch, double *mse) {
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
        stage(o, "seed %llu: training the base model (%s, %lld examples, %d epochs)",
              (unsigned long long)s->seed, s->cfg.preset, (long long)s->sub.n, epochs);
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
    uae_eval_stats es;
    if (st == UAE_OK) {
        stage(o, "seed %llu: evaluating the base model on %lld test examples",
              (unsigned long long)s->seed, (long long)test->n);
        st = uae_train_evaluate(m, test, eval_batch(batch), s->seed, &es);
    }
    if (st == UAE_OK) *mse = es.mse;
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

/* Retrains a copy of the base model (weights and optimizer state from its checkpoint) for
 * `epochs` more epochs on ds and evaluates it on test. */
static uae_status retrain(uae_backend *be, const uae_augment_options *o, const seed_run *s,
                          const uae_dataset *ds, const float *targets, const uae_dataset *test,
                          int base_epochs, int epochs, int64_t batch, double *mse) {
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
    uae_eval_stats es;
    if (st == UAE_OK) st = uae_train_evaluate(m, test, eval_batch(batch), s->seed, &es);
    if (st == UAE_OK) *mse = es.mse;
    uae_model_free(m);
    free(info);
    return st;
}

/* x, x' and |x' - x| (a heat map) of the first few examples, as one PNG. */
static uae_status write_grid(const char *path, const seed_run *s) {
    int k = s->n < 10 ? (int)s->n : 10;
    float *delta = malloc((size_t)(k * s->d) * sizeof *delta);
    if (!delta) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    for (int64_t i = 0; i < k * s->d; i++) delta[i] = fabsf(s->xadv[i] - s->sub.x[i]);
    uae_image_row rows[3] = {
        {s->sub.x, k, UAE_CMAP_NONE, 0, 0},
        {s->xadv, k, UAE_CMAP_NONE, 0, 0},
        {delta, k, UAE_CMAP_VIRIDIS, 0, 0},
    };
    uae_status st = uae_image_write_grid(path, rows, 3, s->sub.c, s->sub.h, s->sub.w, 2, 3);
    free(delta);
    return st;
}

/* A rerun into the same folder reuses a seed's base model and continues its examples only if the
 * settings that made them are the same: seed-S/settings.json records them, and if they differ the
 * seed's files are removed and it starts afresh (never a mix of two settings in one .npy). */
static uae_status check_seed_settings(const uae_augment_options *o, const seed_run *s, int epochs,
                                      int64_t batch) {
    const uae_attack_config *a = &o->attack;
    char now[1024], old[1024] = "", path[320];
    snprintf(now, sizeof now,
             "{\"preset\":\"%s\",\"n_train\":%lld,\"n\":%lld,\"epochs\":%d,\"batch\":%lld,"
             "\"attack\":\"%s\",\"samples\":\"%s\",\"iterations\":%d,\"mine_steps\":%d,"
             "\"mine_hidden\":%d,\"mine_filters\":%d,\"eps\":%.9g,\"lr\":%.9g,\"seed\":%llu}\n",
             s->cfg.preset, (long long)s->sub.n, (long long)s->n, epochs, (long long)batch,
             uae_attack_method_name(a->method), uae_attack_samples_name(a->samples),
             a->iterations, a->mine_steps, a->mine.hidden, a->mine.conv_filters, (double)a->eps,
             (double)a->lr, (unsigned long long)s->seed);
    snprintf(path, sizeof path, "%s/settings.json", s->dir);
    FILE *f = fopen(path, "r");
    if (f) {
        size_t len = fread(old, 1, sizeof old - 1, f);
        old[len] = '\0';
        fclose(f);
    }
    if (strcmp(old, now) == 0) return UAE_OK;
    if (old[0]) {
        stage(o, "seed %llu: other settings than in %s: starting this seed afresh",
              (unsigned long long)s->seed, path);
        const char *names[] = {"base.safetensors", "uae.npy", "uae.jsonl"};
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

/* One seed of the experiment: fills rep->value[*][k]. */
static uae_status run_seed(uae_backend *be, const uae_dataset *train, const uae_dataset *test,
                           const uae_augment_options *o, int k, seed_run *s,
                           uae_augment_report *rep) {
    const uint64_t seed = o->seeds[k];
    s->seed = seed;
    snprintf(s->dir, sizeof s->dir, "%s/seed-%llu", o->out_dir, (unsigned long long)seed);
    snprintf(s->base_path, sizeof s->base_path, "%s/base.safetensors", s->dir);
    UAE_TRY(make_dir(s->dir));
    const char *preset = o->preset ? o->preset : "conv-ae";
    UAE_TRY(uae_model_defaults(preset, train->c, train->h, train->w, train->num_classes, &s->cfg));
    if (s->cfg.kind != UAE_MODEL_AUTOENCODER)
        return uae_fail(UAE_ERR_INVALID, "the reconstruction task needs an autoencoder; '%s' "
                        "is not one", preset);
    int epochs = o->epochs > 0 ? o->epochs : s->cfg.epochs;
    int repochs = o->retrain_epochs > 0 ? o->retrain_epochs : epochs;
    int64_t batch = o->batch > 0 ? o->batch : s->cfg.batch;
    s->cfg.epochs = epochs;
    s->cfg.batch = (int)batch;

    UAE_TRY(uae_data_subset(train, o->n_train > 0 ? o->n_train : train->n, seed, &s->sub));
    s->d = s->sub.d;
    s->n = o->n > 0 && o->n < s->sub.n ? o->n : s->sub.n;

    UAE_TRY(check_seed_settings(o, s, epochs, batch));
    UAE_TRY(base_model(be, o, s, test, epochs, batch, &rep->value[UAE_ARM_BASE][k]));

    /* The adversarial examples of the first n subset examples, resumed if a run stopped. */
    char npy[320], stats[320];
    snprintf(npy, sizeof npy, "%s/uae.npy", s->dir);
    snprintf(stats, sizeof stats, "%s/uae.jsonl", s->dir);
    stage(o, "seed %llu: generating %lld adversarial examples (%s, %d iterations, MINE hidden "
          "%d, %d MINE steps)", (unsigned long long)seed, (long long)s->n,
          uae_attack_method_name(o->attack.method), o->attack.iterations, o->attack.mine.hidden,
          o->attack.mine_steps);
    uae_model *m = NULL;
    UAE_TRY(uae_checkpoint_load_model(s->base_path, be, &m, NULL));
    uae_attack_config ac = o->attack;
    ac.seed = seed;
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

    char png[320];
    snprintf(png, sizeof png, "%s/examples.png", s->dir);
    UAE_TRY(write_grid(png, s));
    if (k == 0) snprintf(rep->grid_png, sizeof rep->grid_png, "%s", png);

    /* The noise arm's copies: x + N(0, sigma^2) per pixel, clipped to [0, 1], from the counter
     * RNG at (seed, a stream of its own), so they do not depend on anything else in the run. */
    float *noisy = malloc((size_t)(s->n * s->d) * sizeof *noisy);
    if (!noisy) return uae_fail(UAE_ERR_NOMEM, "augment: out of memory");
    for (int64_t i = 0; i < s->n * s->d; i++) {
        float v = s->sub.x[i] + o->noise_sigma * uae_rng_normal01(seed, 0x4E4F495345ull,
                                                                  (uint64_t)i);
        noisy[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
    }
    for (int a = UAE_ARM_ORIGINAL; a < UAE_ARM_COUNT && st == UAE_OK; a++) {
        const float *extra = a == UAE_ARM_DUPLICATE ? s->sub.x
                             : a == UAE_ARM_NOISE   ? noisy
                             : a == UAE_ARM_UAE     ? s->xadv
                                                    : NULL;
        bool clean = o->target == UAE_TARGET_CLEAN && (a == UAE_ARM_NOISE || a == UAE_ARM_UAE);
        uae_dataset ds;
        float *targets;
        stage(o, "seed %llu: retraining '%s' (%d epochs)", (unsigned long long)seed,
              arm_names[a], repochs);
        st = arm_data(s, extra, clean, &ds, &targets);
        if (st == UAE_OK)
            st = retrain(be, o, s, &ds, targets, test, epochs, repochs, batch, &rep->value[a][k]);
        uae_dataset_free(&ds);
        free(targets);
    }
    free(noisy);
    return st;
}

static void mean_std(const double *v, int n, double *mean, double *std) {
    double s = 0.0;
    for (int i = 0; i < n; i++) s += v[i];
    *mean = s / n;
    double q = 0.0;
    for (int i = 0; i < n; i++) q += (v[i] - *mean) * (v[i] - *mean);
    *std = n > 1 ? sqrt(q / (n - 1)) : 0.0;
}

/* results.json: the settings, per-seed values, means and standard deviations. */
static uae_status write_json(const char *path, const uae_augment_options *o,
                             const uae_model_config *cfg, const uae_augment_report *rep,
                             int64_t n_train, int64_t n, int64_t n_test) {
    json_t *root = json_object();
    json_t *settings = json_pack(
        "{s:s, s:s, s:I, s:I, s:I, s:i, s:i, s:I, s:f, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:s}",
        "task", task_names[o->task], "preset", cfg->preset, "n_train", (json_int_t)n_train, "n",
        (json_int_t)n, "n_test", (json_int_t)n_test, "epochs", cfg->epochs, "retrain_epochs",
        o->retrain_epochs > 0 ? o->retrain_epochs : cfg->epochs, "batch", (json_int_t)cfg->batch,
        "noise_sigma", (double)o->noise_sigma, "target",
        o->target == UAE_TARGET_CLEAN ? "clean" : "self", "attack",
        uae_attack_method_name(o->attack.method), "iterations", o->attack.iterations,
        "mine_steps", o->attack.mine_steps, "mine_hidden", o->attack.mine.hidden,
        "mine_conv_filters", o->attack.mine.conv_filters, "eps", (double)o->attack.eps,
        "samples", uae_attack_samples_name(o->attack.samples));
    json_t *seeds = json_array();
    for (int k = 0; k < rep->nseeds; k++) json_array_append_new(seeds, json_integer((json_int_t)o->seeds[k]));
    json_object_set_new(settings, "seeds", seeds);
    json_object_set_new(root, "settings", settings);
    json_object_set_new(root, "metric", json_string(rep->metric));
    json_t *arms = json_object();
    for (int a = 0; a < UAE_ARM_COUNT; a++) {
        json_t *vals = json_array();
        for (int k = 0; k < rep->nseeds; k++) json_array_append_new(vals, json_real(rep->value[a][k]));
        json_object_set_new(arms, arm_names[a],
                            json_pack("{s:s, s:o, s:f, s:f}", "what", arm_text[a], "values", vals,
                                      "mean", rep->mean[a], "std", rep->std[a]));
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

/* results.md: the table, mean ± std over seeds. */
static uae_status write_md(const char *path, const uae_augment_options *o,
                           const uae_model_config *cfg, const uae_augment_report *rep,
                           int64_t n_train, int64_t n, int64_t n_test) {
    uae_atomic_file *f;
    UAE_TRY(uae_atomic_file_open(path, &f));
    FILE *out = uae_atomic_file_stream(f);
    fprintf(out, "# uae augment: %s with %s\n\n", task_names[o->task], cfg->preset);
    fprintf(out, "%lld training examples per seed, %lld adversarial examples (%s, %d iterations, "
            "MINE hidden %d, %d MINE steps, eps %g), base %d epochs, retraining %d epochs, "
            "noise sigma %g, augmented inputs target %s. Test set: %lld examples. Seeds:",
            (long long)n_train, (long long)n, uae_attack_method_name(o->attack.method),
            o->attack.iterations, o->attack.mine.hidden, o->attack.mine_steps,
            (double)o->attack.eps, cfg->epochs,
            o->retrain_epochs > 0 ? o->retrain_epochs : cfg->epochs, (double)o->noise_sigma,
            o->target == UAE_TARGET_CLEAN ? "their clean original" : "themselves",
            (long long)n_test);
    for (int k = 0; k < rep->nseeds; k++)
        fprintf(out, " %llu", (unsigned long long)o->seeds[k]);
    fprintf(out, ".\n\n| arm | what | test MSE (mean ± std) | per seed |\n|---|---|---|---|\n");
    for (int a = 0; a < UAE_ARM_COUNT; a++) {
        fprintf(out, "| %s | %s | %.5f ± %.5f |", arm_names[a], arm_text[a], rep->mean[a],
                rep->std[a]);
        for (int k = 0; k < rep->nseeds; k++) fprintf(out, " %.5f", rep->value[a][k]);
        fprintf(out, " |\n");
    }
    fprintf(out, "\nAttack success rate per seed:");
    for (int k = 0; k < rep->nseeds; k++) fprintf(out, " %.3f", rep->success_rate[k]);
    fprintf(out, ". Wall time: %.0f s.\n", rep->seconds);
    return uae_atomic_file_commit(f);
}

uae_status uae_augment_run(uae_backend *be, const uae_dataset *train, const uae_dataset *test,
                           const uae_augment_options *o, uae_augment_report *rep) {
    memset(rep, 0, sizeof *rep);
    rep->metric = "test_mse";
    if (o->task != UAE_TASK_RECONSTRUCTION)
        return uae_fail(UAE_ERR_UNSUPPORTED, "augment: the %s task is not implemented yet (only "
                        "reconstruction)", uae_augment_task_name(o->task));
    if (!o->out_dir || o->nseeds < 1 || o->nseeds > UAE_AUGMENT_MAX_SEEDS || o->n < 0 ||
        o->n_train < 0 || o->attack_batch < 1 || !(o->noise_sigma >= 0.0f))
        return uae_fail(UAE_ERR_INVALID, "augment: out folder %s, %d seeds (1 to %d), n %lld, "
                        "n_train %lld, attack batch %lld, noise sigma %g",
                        o->out_dir ? o->out_dir : "(none)", o->nseeds, UAE_AUGMENT_MAX_SEEDS,
                        (long long)o->n, (long long)o->n_train, (long long)o->attack_batch,
                        (double)o->noise_sigma);
    UAE_TRY(make_dir(o->out_dir));
    double t0 = now_seconds();
    rep->nseeds = o->nseeds;
    uae_status st = UAE_OK;
    seed_run s;
    uae_model_config cfg = {0};
    int64_t n_train = 0, n = 0;
    for (int k = 0; k < o->nseeds && st == UAE_OK; k++) {
        memset(&s, 0, sizeof s);
        st = run_seed(be, train, test, o, k, &s, rep);
        cfg = s.cfg;
        n_train = s.sub.n;
        n = s.n;
        uae_dataset_free(&s.sub);
        free(s.xadv);
    }
    if (st != UAE_OK) return st;
    for (int a = 0; a < UAE_ARM_COUNT; a++)
        mean_std(rep->value[a], rep->nseeds, &rep->mean[a], &rep->std[a]);
    rep->seconds = now_seconds() - t0;
    snprintf(rep->table_md, sizeof rep->table_md, "%s/results.md", o->out_dir);
    snprintf(rep->table_json, sizeof rep->table_json, "%s/results.json", o->out_dir);
    UAE_TRY(write_md(rep->table_md, o, &cfg, rep, n_train, n, test->n));
    return write_json(rep->table_json, o, &cfg, rep, n_train, n, test->n);
}
