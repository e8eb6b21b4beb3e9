/* models/augment_generate.c — streamed, resumable generation of adversarial examples into an
 * .npy and a statistics file (uae_augment_generate, see uae/augment.h). Not here: the experiment
 * that uses them (augment_experiment.c) and its reports (augment_report.c); printing (apps/). */
#include "uae/augment.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "augment_impl.h"
#include "model_impl.h"
#include "uae/io.h"

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
    double t0 = uae_augment_now();
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
    sum->seconds = uae_augment_now() - t0;
    sum->mi_mean = mi_n ? mi_sum / (double)mi_n : NAN;
    free(xadv);
    free(res);
    uae_status cst = uae_jsonl_close(log);
    if (st == UAE_OK) st = cst;
    cst = uae_npy_appender_close(app);
    if (st == UAE_OK) st = cst;
    return st;
}
