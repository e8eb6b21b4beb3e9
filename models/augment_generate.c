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
#include "uae/dist.h"
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
                                uae_generate_summary *s, double *mi_sum, int64_t *mi_n,
                                char last_numerics[UAE_BACKEND_NUMERICS_MAX]) {
    if (last_numerics) last_numerics[0] = '\0';
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
            const char *num = json_string_value(json_object_get(o, "numerics"));
            if (last_numerics) snprintf(last_numerics, UAE_BACKEND_NUMERICS_MAX, "%s", num ? num : "");
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

/* Writes one batch's statistics lines; `numerics` is what computed them
 * (uae_backend_numerics). */
static uae_status write_stats(uae_jsonl *log, uint64_t first, const uae_attack_result *r,
                              int64_t count, const char *numerics) {
    for (int64_t i = 0; i < count && log; i++) {
        json_t *o = json_pack("{s:I, s:b, s:o, s:f, s:f, s:i, s:i, s:f, s:s}", "index",
                              (json_int_t)(first + (uint64_t)i), "success", r[i].success, "I",
                              isfinite(r[i].mi) ? json_real(r[i].mi) : json_null(), "loss_clean",
                              (double)r[i].loss_clean, "loss_adv", (double)r[i].loss_adv,
                              "selected_iter", r[i].selected_iter, "iterations", r[i].iterations,
                              "seconds", r[i].seconds, "numerics", numerics);
        if (!o) return uae_fail(UAE_ERR_NUMERIC, "attack statistics of sample %llu: a loss is "
                                "not finite", (unsigned long long)(first + (uint64_t)i));
        uae_status st = uae_jsonl_write(log, o);
        json_decref(o);
        UAE_TRY(st);
    }
    return UAE_OK;
}

/* One rank's part of a round, as gathered to rank 0: this header, then `count` results, then
 * count * d floats of x_adv. */
typedef struct part_header {
    int32_t status;   /* uae_status of the rank's attack */
    int64_t count;
    char message[2048]; /* its error message when status is not UAE_OK */
    char numerics[UAE_BACKEND_NUMERICS_MAX]; /* the rank's uae_backend_numerics */
} part_header;

/* Rank `rank` of `size`: its contiguous part [*lo, *lo + *count) of the round [first, first +
 * round), the parts as equal as can be and in rank order, so that rank order is sample order. */
static void round_part(int64_t first, int64_t round, int rank, int size, int64_t *lo,
                       int64_t *count) {
    const int64_t per = round / size, rem = round % size;
    *lo = first + rank * per + (rank < rem ? rank : rem);
    *count = per + (rank < rem);
}

/* Attacks this rank's part of a round into a blob for rank 0 (caller frees *blob). */
static uae_status attack_part(uae_model *m, const uae_attack_config *cfg, const float *x,
                              const int32_t *labels, uint64_t first_index, int64_t lo,
                              int64_t count, int64_t d, void **blob, size_t *bytes) {
    /* A multiple of 16 bytes, so that the next rank's header and results stay aligned on rank 0. */
    *bytes = (sizeof(part_header) +
              (size_t)count * (sizeof(uae_attack_result) + (size_t)d * sizeof(float)) + 15) &
             ~(size_t)15;
    char *b = calloc(1, *bytes);
    *blob = b;
    if (!b) return uae_fail(UAE_ERR_NOMEM, "generate: out of memory");
    part_header *h = (part_header *)b;
    uae_attack_result *res = (uae_attack_result *)(b + sizeof *h);
    float *xadv = (float *)(res + count);
    uae_status st = count > 0 ? uae_attack_run(m, cfg, x + lo * d, labels ? labels + lo : NULL,
                                               first_index + (uint64_t)lo, count, xadv, res)
                              : UAE_OK;
    snprintf(h->numerics, sizeof h->numerics, "%s", uae_backend_numerics(m->be));
    h->status = (int32_t)st;
    h->count = st == UAE_OK ? count : 0;
    if (st != UAE_OK) snprintf(h->message, sizeof h->message, "%s", uae_last_error());
    return st;
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
    uae_dist *dist = o->dist;
    const int rank = uae_dist_rank(dist), size = uae_dist_size(dist);
    const bool root = rank == 0;
    const uae_model_config *mc = uae_model_config_of(m);
    const int64_t d = (int64_t)mc->channels * mc->height * mc->width;
    const int64_t row_shape[3] = {mc->channels, mc->height, mc->width};
    /* Rank 0 alone opens the files and knows how many rows they hold; the others learn it. */
    uae_npy_appender *app = NULL;
    uae_status st = root ? uae_npy_appender_open(o->npy_path, 3, row_shape, o->resume, &app)
                         : UAE_OK;
    int64_t rows = app ? uae_npy_appender_rows(app) : 0;
    double mi_sum = 0.0;
    int64_t mi_n = 0;
    char before[UAE_BACKEND_NUMERICS_MAX] = "";
    if (st == UAE_OK && rows > n)
        st = uae_fail(UAE_ERR_INVALID, "%s already holds %lld examples, more than the %lld asked "
                      "for", o->npy_path, (long long)rows, (long long)n);
    if (root && st == UAE_OK && o->stats_path && o->resume)
        st = uae_augment_cut_stats(o->stats_path, first_index, rows, sum, &mi_sum, &mi_n, before);
    else if (st == UAE_OK && rows > 0)
        st = uae_fail(UAE_ERR_INVALID, "generate: resuming without a statistics file");
    /* Rows made on another kernel path are the same method with other rounding: a resumed
     * file then holds rows that an uninterrupted run would not give bit for bit. Say so. */
    const char *now = uae_backend_numerics(m->be);
    if (root && st == UAE_OK && rows > 0 && before[0] && strcmp(before, now) != 0)
        uae_logf(o->log, UAE_LOG_WARN,
                 "%s: its %lld rows so far were made with %s, this run computes with %s: the rows "
                 "it adds will not be the bits of a run that never stopped (the same method, "
                 "other rounding); resume where the path is the same to keep one (a CPU path can "
                 "be forced with UAE_CPU_ISA)", o->npy_path, (long long)rows, before, now);
    sum->resumed = rows;
    uae_jsonl *log = NULL;
    if (root && st == UAE_OK && o->stats_path) st = uae_jsonl_open(o->stats_path, o->resume, &log);
    st = uae_dist_agree(dist, st);
    if (st == UAE_OK) st = uae_dist_broadcast(dist, &rows, sizeof rows, 0);
    size_t *sizes = malloc((size_t)size * sizeof *sizes);
    if (st == UAE_OK && !sizes) st = uae_fail(UAE_ERR_NOMEM, "generate: out of memory");
    st = uae_dist_agree(dist, st);
    uae_attack_config cfg = *ac;
    /* Progress from rank 0's part, scaled to the whole round: the parts take about as long. */
    gen_progress gp = {.o = o, .total = n};
    if (o->progress && root) {
        cfg.progress = on_attack_progress;
        cfg.progress_user = &gp;
        o->progress(o->user, (double)rows, n);
    }
    double t0 = uae_augment_now();
    bool mixed = false; /* warned that the ranks compute on different paths */
    for (int64_t first = rows; first < n && st == UAE_OK;) {
        /* One round: up to batch samples per rank; with one rank, the batches of old. */
        const int64_t round = n - first < size * o->batch ? n - first : size * o->batch;
        int64_t lo, count;
        round_part(first, round, rank, size, &lo, &count);
        gp.base = (double)first;
        gp.count = round;
        void *blob = NULL, *all = NULL;
        size_t bytes = 0;
        (void)attack_part(m, &cfg, x, labels, first_index, lo, count, d, &blob, &bytes);
        /* Every rank takes part in the gather, failed or not: rank 0 sees every failure. */
        part_header nomem = {.status = UAE_ERR_NOMEM, .message = "generate: out of memory"};
        st = uae_dist_gather(dist, blob ? blob : (void *)&nomem, blob ? bytes : sizeof nomem,
                             &all, sizes);
        free(blob);
        size_t off = 0;
        for (int r = 0; root && r < size && st == UAE_OK; r++) {
            const part_header *h = (const part_header *)((const char *)all + off);
            const uae_attack_result *res = (const uae_attack_result *)(h + 1);
            const float *xadv = (const float *)(res + h->count);
            int64_t rlo, rcount;
            round_part(first, round, r, size, &rlo, &rcount);
            off += sizes[r];
            if (h->status != UAE_OK) {
                /* One process: the attack's own message is still the last error, in full. */
                st = size > 1 ? uae_fail((uae_status)h->status, "rank %d: %s", r, h->message)
                              : (uae_status)h->status;
                break;
            }
            /* Statistics first, then the rows: a crash between the two leaves extra statistics
             * lines, which a resume cuts (never rows without statistics). */
            if (!mixed && strcmp(h->numerics, now) != 0) {
                mixed = true;
                uae_logf(o->log, UAE_LOG_WARN, "generate: rank %d computes with %s, rank 0 with "
                         "%s: their rows differ in rounding from a one-process run's", r,
                         h->numerics, now);
            }
            st = write_stats(log, first_index + (uint64_t)rlo, res, rcount, h->numerics);
            if (st == UAE_OK) st = uae_npy_appender_append(app, rcount, xadv);
            for (int64_t i = 0; i < rcount && st == UAE_OK; i++)
                summary_add(sum, res[i].success, res[i].mi, res[i].selected_iter, &mi_sum, &mi_n);
            if (st == UAE_OK) sum->attacked += rcount;
        }
        if (root && st == UAE_OK) st = uae_npy_appender_sync(app);
        free(all);
        /* Rank 0's verdict on the round (written, or the first failure) goes to every rank. */
        st = uae_dist_agree(dist, st);
        first += round;
    }
    sum->seconds = uae_augment_now() - t0;
    sum->mi_mean = mi_n ? mi_sum / (double)mi_n : NAN;
    free(sizes);
    uae_status cst = uae_jsonl_close(log);
    if (st == UAE_OK) st = cst;
    cst = uae_npy_appender_close(app);
    if (st == UAE_OK) st = cst;
    return st;
}
