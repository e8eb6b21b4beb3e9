/* apps/bench_report.c — the outputs of uae-bench: the terminal table, CSV, JSON, the SVG bar chart,
 * and the --compare and --scaling summaries. Every output names the uaekit, CLBlast and CBLAS
 * versions and each device with its driver. It measures nothing (bench.c does). */
#include <ctype.h>
#include <jansson.h>
#include <math.h>
#include <string.h>

#include "bench.h"
#include "cli.h"
#include "uae/io.h"

const char *const bench_status_names[BENCH_STATUS_COUNT] = {"ok", "n/a", "failed"};
_Static_assert(sizeof bench_status_names / sizeof bench_status_names[0] == BENCH_STATUS_COUNT,
               "one name per status");

double bench_call_units(const bench_case *c, const char **unit) {
    if (c->op == BENCH_OP_UAE_GEN) {
        *unit = "iteration";
        return c->u.gen.iterations;
    }
    if (c->op == BENCH_OP_TRAIN_CONV_AE) {
        *unit = "step";
        return (double)(c->u.train.images / c->u.train.batch);
    }
    *unit = "run";
    return 1;
}

static bool any_calls(const uae_backend_counters *n) {
    return n->launches || n->blas_calls || n->copies || n->writes || n->reads || n->syncs;
}

/* The device calls of each case's first run that asked the device for anything (OpenCL), per
 * attack iteration, training step or run: what decides the speed of small work on a GPU. */
static void print_calls(const bench_report *r, FILE *f) {
    bool header = false;
    for (int i = 0; i < r->nresults; i++) {
        const bench_result *x = &r->results[i];
        if (x->status != BENCH_OK || !x->t.has_calls || !any_calls(&x->t.calls)) continue;
        const bench_case *c = &r->cases[x->case_index];
        const uae_backend_counters *n = &x->t.calls;
        const char *unit;
        double u = bench_call_units(c, &unit);
        if (!header) {
            fprintf(f, "\ndevice calls per iteration (uae-gen), step (training) or run (the first "
                       "run, set-up and final sync included):\n");
            fprintf(f, "%-28s %-8s %-9s %9s %8s %8s %8s %12s %8s %12s %7s\n", "case", "device",
                    "per", "launches", "BLAS", "copies", "writes", "written", "reads", "read",
                    "syncs");
            header = true;
        }
        char wb[32], rb[32];
        fprintf(f, "%-28s %-8s %-9s %9.1f %8.1f %8.1f %8.1f %12s %8.1f %12s %7.1f\n", c->name,
                r->devices[x->device_index].id, unit, (double)n->launches / u,
                (double)n->blas_calls / u, (double)n->copies / u, (double)n->writes / u,
                cli_format_bytes((uint64_t)((double)n->write_bytes / u), wb, sizeof wb),
                (double)n->reads / u,
                cli_format_bytes((uint64_t)((double)n->read_bytes / u), rb, sizeof rb),
                (double)n->syncs / u);
    }
}

static json_t *calls_json(const bench_case *c, const uae_backend_counters *n) {
    const char *unit;
    double u = bench_call_units(c, &unit);
    return json_pack("{s:s, s:f, s:f, s:f, s:f, s:f, s:f, s:f, s:f}", "per", unit, "launches",
                     (double)n->launches / u, "blas_calls", (double)n->blas_calls / u, "copies",
                     (double)n->copies / u, "writes", (double)n->writes / u, "write_bytes",
                     (double)n->write_bytes / u, "reads", (double)n->reads / u, "read_bytes",
                     (double)n->read_bytes / u, "syncs", (double)n->syncs / u);
}

double bench_gflops(const bench_case *c, const bench_stats *s) {
    return c->flop > 0 && s->median > 0 ? c->flop / s->median * 1e-9 : 0;
}

double bench_gbps(const bench_case *c, const bench_stats *s) {
    return c->bytes > 0 && s->median > 0 ? c->bytes / s->median * 1e-9 : 0;
}

double bench_items_per_s(const bench_case *c, const bench_stats *s) {
    return c->items > 0 && s->median > 0 ? c->items / s->median : 0;
}

const char *bench_format_rate(const bench_case *c, const bench_stats *s, char *buf, size_t cap) {
    if (c->flop > 0) snprintf(buf, cap, "%.1f GFLOP/s", bench_gflops(c, s));
    else if (c->items > 0) {
        double v = bench_items_per_s(c, s);
        snprintf(buf, cap, v >= 100 ? "%.0f %s/s" : "%.3g %s/s", v, c->item_unit);
    }
    else if (c->bytes > 0) snprintf(buf, cap, "%.2f GB/s", bench_gbps(c, s));
    else snprintf(buf, cap, "-");
    return buf;
}

const char *bench_format_time(double t, char *buf, size_t cap) {
    if (!(t >= 0) || !isfinite(t)) snprintf(buf, cap, "-");
    else if (t < 1e-3) snprintf(buf, cap, "%.3g us", t * 1e6);
    else if (t < 1.0) snprintf(buf, cap, "%.3g ms", t * 1e3);
    else snprintf(buf, cap, "%.3g s", t);
    return buf;
}

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

/* ---- Terminal table --------------------------------------------------------------------------- */

static void print_header(const bench_report *r, FILE *f) {
    fprintf(f, "uae-bench, %s: uaekit %s; CLBlast %s; CBLAS reference: %s\n", r->date,
            r->uaekit_version, r->clblast_version ? r->clblast_version : "(no OpenCL backend)",
            r->cblas_name ? r->cblas_name : "none (built without)");
    fprintf(f, "command: %s\n", r->command);
    fprintf(f, "machine: %s; load average %.2f before, %.2f after; environment: %s\n",
            r->host_cpu, r->load_start, r->load_end, *r->env ? r->env : "(no thread settings)");
    fprintf(f, "median of up to %d samples after %d warm-up runs (at most %g s per case); "
               "CPU backend threads: %d\n",
            r->reps, r->warmup, r->max_seconds, r->host_threads);
    fprintf(f, "devices:\n");
    for (int d = 0; d < r->ndevices; d++) {
        const bench_device *v = &r->devices[d];
        char cold[32], warm[32];
        fprintf(f, "  %-8s %s — %s, %s, %d CUs; driver %s; %s\n", v->id, v->name, v->info.name,
                v->info.platform, v->info.compute_units, or_dash(v->info.driver_version),
                or_dash(v->info.api_version));
        fprintf(f, "           start-up (uae_backend_open): cold cache %s, warm cache %s\n",
                bench_format_time(v->startup_cold_s, cold, sizeof cold),
                bench_format_time(v->startup_warm_s, warm, sizeof warm));
    }
}

void bench_print_table(const bench_report *r, FILE *f) {
    print_header(r, f);
    fprintf(f, "\nshapes: GEMM MxKxN (C = A B, M rows, inner K); conv x NxCxHxW * w KxCxRxS\n");
    fprintf(f, "%-28s %-32s %-8s %3s %9s %21s %15s %6s %9s %7s %s\n", "case", "shape",
            "device", "thr", "median", "min .. max", "throughput", "cpu/s", "CBLAS GF", "xCBLAS",
            "status");
    uint64_t fallbacks = 0, arena_peak = 0, rss = 0;
    for (int i = 0; i < r->nresults; i++) {
        const bench_result *x = &r->results[i];
        const bench_case *c = &r->cases[x->case_index];
        fallbacks += x->fallbacks;
        if (x->arena_peak_bytes > arena_peak) arena_peak = x->arena_peak_bytes;
        if (x->maxrss_bytes > rss) rss = x->maxrss_bytes;
        char thr[16] = "-";
        if (x->threads > 0) snprintf(thr, sizeof thr, "%d", x->threads);
        fprintf(f, "%-28s %-32s %-8s %3s ", c->name, c->shape, r->devices[x->device_index].id, thr);
        if (x->status != BENCH_OK) {
            fprintf(f, "%9s %21s %15s %6s %9s %7s %s: %.60s\n", "-", "-", "-", "-", "-", "-",
                    bench_status_names[x->status], x->message);
            continue;
        }
        char med[32], lo[32], hi[32], range[80], rate[48], ref[32] = "-", rel[32] = "-";
        snprintf(range, sizeof range, "%s .. %s", bench_format_time(x->t.min, lo, sizeof lo),
                 bench_format_time(x->t.max, hi, sizeof hi));
        if (x->has_cblas) {
            snprintf(ref, sizeof ref, "%.1f", bench_gflops(c, &x->cblas));
            snprintf(rel, sizeof rel, "%.2f", x->cblas.median / x->t.median);
        }
        fprintf(f, "%9s %21s %15s %6.2f %9s %7s ok\n",
                bench_format_time(x->t.median, med, sizeof med), range,
                bench_format_rate(c, &x->t, rate, sizeof rate), x->t.cpu_per_wall, ref, rel);
    }
    char a[32], b[32];
    fprintf(f, "\ncpu/s: process CPU seconds per wall second while timing (all threads; ~0 for a "
               "device that computes while the host sleeps)\n");
    if (r->cblas_name)
        fprintf(f, "CBLAS GF: the CBLAS SGEMM of the same shape, same threads; xCBLAS: its time / "
                   "this time (above 1: faster than the CBLAS)\n");
    fprintf(f, "peak memory: process %s (ru_maxrss), largest case arena %s\n",
            cli_format_bytes(rss, a, sizeof a), cli_format_bytes(arena_peak, b, sizeof b));
    print_calls(r, f);
    if (fallbacks)
        fprintf(f, "note: %llu op runs fell back to the host (the device lacks the op): see "
                   "\"fallbacks\" in --json\n", (unsigned long long)fallbacks);
}

/* ---- CSV -------------------------------------------------------------------------------------- */

/* A CSV field, quoted when it holds a comma, a quote or a line break (RFC 4180). */
static void csv_field(FILE *f, const char *s, bool last) {
    s = s ? s : "";
    if (strpbrk(s, ",\"\n\r")) {
        fputc('"', f);
        for (; *s; s++) {
            if (*s == '"') fputc('"', f);
            fputc(*s, f);
        }
        fputc('"', f);
    } else {
        fputs(s, f);
    }
    fputc(last ? '\n' : ',', f);
}

static void csv_num(FILE *f, double v, bool meaningful) {
    if (meaningful) fprintf(f, "%.6g,", v);
    else fputc(',', f);
}

int bench_write_csv(const bench_report *r, FILE *f) {
    fputs("case,op,shape,device,device_name,backend,platform,driver,threads,status,reps,inner,"
          "median_s,min_s,max_s,q1_s,q3_s,first_run_s,flop,bytes,gflops,gbps,items_per_s,"
          "host_cpu_per_wall,"
          "cblas_median_s,cblas_gflops,startup_cold_s,startup_warm_s,fallbacks,maxrss_bytes,"
          "arena_peak_bytes,uaekit_version,clblast_version,cblas,date,message\n",
          f);
    for (int i = 0; i < r->nresults; i++) {
        const bench_result *x = &r->results[i];
        const bench_case *c = &r->cases[x->case_index];
        const bench_device *d = &r->devices[x->device_index];
        bool ok = x->status == BENCH_OK;
        csv_field(f, c->name, false);
        csv_field(f, bench_op_names[c->op], false);
        csv_field(f, c->shape, false);
        csv_field(f, d->id, false);
        csv_field(f, d->info.name, false);
        csv_field(f, d->info.backend, false);
        csv_field(f, d->info.platform, false);
        csv_field(f, d->info.driver_version, false);
        if (x->threads > 0) fprintf(f, "%d,", x->threads);
        else fputc(',', f);
        csv_field(f, bench_status_names[x->status], false);
        fprintf(f, "%d,%d,", x->t.reps, x->t.inner);
        csv_num(f, x->t.median, ok);
        csv_num(f, x->t.min, ok);
        csv_num(f, x->t.max, ok);
        csv_num(f, x->t.q1, ok);
        csv_num(f, x->t.q3, ok);
        csv_num(f, x->t.first, ok);
        csv_num(f, c->flop, c->flop > 0);
        csv_num(f, c->bytes, c->bytes > 0);
        csv_num(f, bench_gflops(c, &x->t), ok && c->flop > 0);
        csv_num(f, bench_gbps(c, &x->t), ok && c->bytes > 0);
        csv_num(f, bench_items_per_s(c, &x->t), ok && c->items > 0);
        csv_num(f, x->t.cpu_per_wall, ok);
        csv_num(f, x->cblas.median, x->has_cblas);
        csv_num(f, bench_gflops(c, &x->cblas), x->has_cblas);
        csv_num(f, d->startup_cold_s, true);
        csv_num(f, d->startup_warm_s, true);
        fprintf(f, "%llu,%llu,%llu,", (unsigned long long)x->fallbacks,
                (unsigned long long)x->maxrss_bytes, (unsigned long long)x->arena_peak_bytes);
        csv_field(f, r->uaekit_version, false);
        csv_field(f, r->clblast_version, false);
        csv_field(f, r->cblas_name, false);
        csv_field(f, r->date, false);
        csv_field(f, x->message, true);
    }
    return ferror(f) ? 1 : 0;
}

/* ---- JSON ------------------------------------------------------------------------------------- */

static json_t *str_or_null(const char *s) { return s ? json_string(s) : json_null(); }

/* JSON has no NaN or Inf: a number that is not meaningful (or not finite) is null. */
static json_t *num_or_null(double v, bool meaningful) {
    return meaningful && isfinite(v) ? json_real(v) : json_null();
}

static json_t *stats_json(const bench_stats *s) {
    return json_pack("{s:i, s:i, s:o, s:o, s:o, s:o, s:o, s:o}", "reps", s->reps, "inner",
                     s->inner, "median_s", json_real(s->median), "min_s", json_real(s->min),
                     "max_s", json_real(s->max), "q1_s", json_real(s->q1), "q3_s",
                     json_real(s->q3), "first_run_s", json_real(s->first));
}

int bench_write_json(const bench_report *r, FILE *f) {
    json_t *devices = json_array();
    for (int d = 0; d < r->ndevices; d++) {
        const bench_device *v = &r->devices[d];
        json_array_append_new(devices, json_pack(
            "{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i, s:I, s:o, s:o}", "id", v->id, "name",
            v->name, "device", v->info.name, "backend", v->info.backend, "platform",
            v->info.platform, "vendor", v->info.vendor, "driver_version", v->info.driver_version,
            "api_version", v->info.api_version, "compute_units", v->info.compute_units,
            "global_mem_bytes", (json_int_t)v->info.global_mem_bytes, "startup_cold_s",
            json_real(v->startup_cold_s), "startup_warm_s", json_real(v->startup_warm_s)));
    }
    json_t *results = json_array();
    for (int i = 0; i < r->nresults; i++) {
        const bench_result *x = &r->results[i];
        const bench_case *c = &r->cases[x->case_index];
        bool ok = x->status == BENCH_OK;
        json_t *o = json_pack(
            "{s:s, s:s, s:s, s:s, s:o, s:s, s:o, s:o}", "case", c->name, "op",
            bench_op_names[c->op], "shape", c->shape, "device", r->devices[x->device_index].id,
            "threads", x->threads > 0 ? json_integer(x->threads) : json_null(), "status", bench_status_names[x->status], "flop",
            num_or_null(c->flop, c->flop > 0), "bytes", num_or_null(c->bytes, c->bytes > 0));
        if (ok) {
            json_object_set_new(o, "time", stats_json(&x->t));
            json_object_set_new(o, "median_s", json_real(x->t.median));
        } else {
            json_object_set_new(o, "message", json_string(x->message));
        }
        json_object_set_new(o, "gflops", num_or_null(bench_gflops(c, &x->t), ok && c->flop > 0));
        json_object_set_new(o, "gbps", num_or_null(bench_gbps(c, &x->t), ok && c->bytes > 0));
        if (c->items > 0) {
            json_object_set_new(o, "items", json_real(c->items));
            json_object_set_new(o, "item_unit", json_string(c->item_unit));
            json_object_set_new(o, "items_per_s", num_or_null(bench_items_per_s(c, &x->t), ok));
        }
        if (c->floor_bytes > 0) { /* uae-gen: the counts of the floor (bench_print_floor) */
            json_object_set_new(o, "floor_bytes", json_real(c->floor_bytes));
            json_object_set_new(o, "floor_flop", json_real(c->floor_flop));
        }
        json_object_set_new(o, "host_cpu_per_wall", num_or_null(x->t.cpu_per_wall, ok));
        if (x->has_cblas) {
            json_object_set_new(o, "cblas", stats_json(&x->cblas));
            json_object_set_new(o, "cblas_gflops", num_or_null(bench_gflops(c, &x->cblas), true));
        }
        if (ok && x->t.has_calls) /* device calls per iteration / step / run (uae/backend.h) */
            json_object_set_new(o, "device_calls", calls_json(c, &x->t.calls));
        json_object_set_new(o, "fallbacks", json_integer((json_int_t)x->fallbacks));
        json_object_set_new(o, "maxrss_bytes", json_integer((json_int_t)x->maxrss_bytes));
        json_object_set_new(o, "arena_peak_bytes", json_integer((json_int_t)x->arena_peak_bytes));
        json_array_append_new(results, o);
    }
    json_t *root = json_pack(
        "{s:s, s:s, s:o, s:o, s:s, s:{s:s, s:i, s:s, s:o, s:o}, s:{s:i, s:i, s:f, s:b, s:b}, "
        "s:o, s:o}",
        "uaekit_version", r->uaekit_version, "date", r->date, "clblast_version",
        str_or_null(r->clblast_version), "cblas", str_or_null(r->cblas_name), "command",
        r->command, "host", "cpu", r->host_cpu, "threads", r->host_threads, "environment", r->env,
        "load_average_start", num_or_null(r->load_start, r->load_start >= 0), "load_average_end",
        num_or_null(r->load_end, r->load_end >= 0), "settings", "reps",
        r->reps, "warmup", r->warmup, "max_seconds", r->max_seconds, "quick", r->quick,
        "scaling", r->scaling, "devices", devices, "results", results);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) {
        fprintf(stderr, "uae-bench: cannot format JSON (out of memory)\n");
        return 1;
    }
    fputs(text, f);
    fputc('\n', f);
    free(text);
    return ferror(f) ? 1 : 0;
}

/* ---- SVG bar chart ------------------------------------------------------------------------------
 * Panels of horizontal bars: GFLOP/s for the cases that compute (GEMM, convolutions), GB/s for the
 * memory-bound ones, items/s for the end-to-end ones; one group of bars per case, one bar per
 * device (and thread count), plus the CBLAS reference. Hand-written: rectangles and labels. */

/* One unit per panel (and so per axis): images/s and UAE-iterations/s are not comparable. */
typedef enum svg_panel_kind {
    PANEL_FLOPS, PANEL_BYTES, PANEL_IMAGES, PANEL_UAE_ITS, PANEL_COUNT
} svg_panel_kind;
static const char *const panel_titles[] = {"GFLOP/s", "GB/s", "images per second",
                                           "UAE-iterations per second (images x attack iterations)"};
_Static_assert(sizeof panel_titles / sizeof panel_titles[0] == PANEL_COUNT, "one title each");

/* The panel a case is drawn in: by its headline rate, as in bench_format_rate. */
static svg_panel_kind panel_of(const bench_case *c) {
    if (c->flop > 0) return PANEL_FLOPS;
    if (c->items > 0) return strcmp(c->item_unit, "UAE-its") == 0 ? PANEL_UAE_ITS : PANEL_IMAGES;
    return c->bytes > 0 ? PANEL_BYTES : PANEL_COUNT;
}

enum { SVG_MAX_SERIES = 16 };

typedef struct svg_series {
    char label[96];
    int device;            /* -1: the CBLAS */
    int threads;
} svg_series;

static void xml_text(FILE *f, const char *s) {
    for (; *s; s++) {
        if (*s == '&') fputs("&amp;", f);
        else if (*s == '<') fputs("&lt;", f);
        else if (*s == '>') fputs("&gt;", f);
        else if (*s == '"') fputs("&quot;", f);
        else fputc(*s, f);
    }
}

/* The value a bar shows (0: no bar) for series s of case c, in the panel's unit. */
static double svg_value(const bench_report *r, const svg_series *s, int c, svg_panel_kind kind) {
    for (int i = 0; i < r->nresults; i++) {
        const bench_result *x = &r->results[i];
        if (x->case_index != c) continue;
        const bench_case *bc = &r->cases[c];
        if (s->device < 0) {
            if (x->has_cblas && x->cblas_threads == s->threads) return bench_gflops(bc, &x->cblas);
        } else if (x->device_index == s->device && x->threads == s->threads &&
                   x->status == BENCH_OK) {
            return kind == PANEL_FLOPS ? bench_gflops(bc, &x->t)
                   : kind == PANEL_BYTES ? bench_gbps(bc, &x->t)
                                         : bench_items_per_s(bc, &x->t);
        }
    }
    return 0;
}

static int svg_series_list(const bench_report *r, svg_series *out) {
    /* Thread counts go into the labels only when the CPU backend ran with more than one. */
    bool several_threads = false;
    for (int i = 0; i < r->nresults; i++)
        for (int j = 0; j < i; j++)
            several_threads |= r->results[i].threads > 0 && r->results[j].threads > 0 &&
                               r->results[i].threads != r->results[j].threads;
    int n = 0;
    for (int pass = 0; pass < 2; pass++) /* devices first, then the CBLAS */
        for (int i = 0; i < r->nresults && n < SVG_MAX_SERIES; i++) {
            const bench_result *x = &r->results[i];
            if (pass == 1 && !x->has_cblas) continue;
            int dev = pass == 0 ? x->device_index : -1;
            int threads = pass == 0 ? x->threads : x->cblas_threads;
            bool seen = false;
            for (int j = 0; j < n; j++) seen |= out[j].device == dev && out[j].threads == threads;
            if (seen) continue;
            svg_series *s = &out[n++];
            s->device = dev;
            s->threads = threads;
            const char *name = dev >= 0 ? r->devices[dev].id : "CBLAS";
            if (several_threads && threads > 0)
                snprintf(s->label, sizeof s->label, "%s, %d thr", name, threads);
            else
                snprintf(s->label, sizeof s->label, "%s", name);
        }
    return n;
}

/* Draws one panel from y on; returns the y below it. */
static int svg_panel(FILE *f, const bench_report *r, const svg_series *series, int ns,
                     svg_panel_kind kind, int y) {
    static const char *const colors[] = {"#4c72b0", "#dd8452", "#55a868", "#c44e52",
                                         "#8172b3", "#937860", "#da8bc3", "#8c8c8c"};
    enum { LABEL_W = 330, BAR_W = 520, BAR_H = 12, GAP = 10 };
    double vmax = 0;
    int ncases = 0;
    for (int c = 0; c < r->ncases; c++) {
        if (panel_of(&r->cases[c]) != kind) continue;
        ncases++;
        for (int s = 0; s < ns; s++) {
            if (kind != PANEL_FLOPS && series[s].device < 0) continue;
            double v = svg_value(r, &series[s], c, kind);
            if (v > vmax) vmax = v;
        }
    }
    if (ncases == 0 || vmax <= 0) return y;
    fprintf(f, "<text x=\"10\" y=\"%d\" font-weight=\"bold\">%s (higher is better)</text>\n",
            y + 14, panel_titles[kind]);
    y += 26;
    for (int c = 0; c < r->ncases; c++) {
        const bench_case *bc = &r->cases[c];
        if (panel_of(bc) != kind) continue;
        int y0 = y;
        for (int s = 0; s < ns; s++) {
            if (kind != PANEL_FLOPS && series[s].device < 0) continue;
            double v = svg_value(r, &series[s], c, kind);
            int w = (int)lround(v / vmax * BAR_W);
            fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" fill=\"%s\"/>", LABEL_W,
                    y, w, BAR_H - 2, colors[s % 8]);
            if (v > 0)
                fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">%.3g</text>\n",
                        LABEL_W + w + 4, y + BAR_H - 3, v);
            else
                fprintf(f, "<text x=\"%d\" y=\"%d\" font-size=\"10\">n/a</text>\n",
                        LABEL_W + 4, y + BAR_H - 3);
            y += BAR_H;
        }
        fprintf(f, "<text x=\"%d\" y=\"%d\" text-anchor=\"end\" font-size=\"11\">", LABEL_W - 6,
                (y0 + y) / 2 + 4);
        xml_text(f, bc->name);
        fputs("</text>\n", f);
        y += GAP;
    }
    return y + 10;
}

uae_status bench_write_svg(const bench_report *r, const char *path) {
    svg_series series[SVG_MAX_SERIES];
    int ns = svg_series_list(r, series);
    /* Height: the header, the legend, and at most one bar per series per case, plus gaps. */
    int height = 90 + 18 * ns + r->ncases * (12 * ns + 10) + 80;
    uae_atomic_file *af;
    UAE_TRY(uae_atomic_file_open(path, &af));
    FILE *f = uae_atomic_file_stream(af);
    fprintf(f, "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"960\" height=\"%d\" "
               "font-family=\"sans-serif\" font-size=\"12\">\n", height);
    fprintf(f, "<rect width=\"100%%\" height=\"100%%\" fill=\"white\"/>\n");
    fprintf(f, "<text x=\"10\" y=\"20\" font-size=\"14\" font-weight=\"bold\">uae-bench, ");
    xml_text(f, r->date);
    fprintf(f, "</text>\n<text x=\"10\" y=\"38\" font-size=\"11\">uaekit %s; CLBlast %s; CBLAS ",
            r->uaekit_version, r->clblast_version ? r->clblast_version : "-");
    xml_text(f, r->cblas_name ? r->cblas_name : "-");
    fputs("; median of repeated runs", f);
    if (r->quick) fputs("; --quick: tiny shapes and 3 samples, a test run, not a measurement", f);
    fputs("</text>\n", f);
    static const char *const colors[] = {"#4c72b0", "#dd8452", "#55a868", "#c44e52",
                                         "#8172b3", "#937860", "#da8bc3", "#8c8c8c"};
    int y = 56;
    for (int s = 0; s < ns; s++) {
        fprintf(f, "<rect x=\"10\" y=\"%d\" width=\"12\" height=\"12\" fill=\"%s\"/>", y,
                colors[s % 8]);
        fprintf(f, "<text x=\"28\" y=\"%d\" font-size=\"11\">", y + 10);
        xml_text(f, series[s].label);
        if (series[s].device >= 0) {
            const bench_device *d = &r->devices[series[s].device];
            fputs(": ", f);
            xml_text(f, d->name);
            if (d->info.driver_version[0]) {
                fputs(", driver ", f);
                xml_text(f, d->info.driver_version);
            }
        }
        fputs("</text>\n", f);
        y += 18;
    }
    y += 8;
    for (int k = 0; k < PANEL_COUNT; k++) y = svg_panel(f, r, series, ns, (svg_panel_kind)k, y);
    fputs("</svg>\n", f);
    return uae_atomic_file_commit(af);
}

/* ---- --compare and --scaling ------------------------------------------------------------------- */

static bool matches(const bench_device *d, const char *spec) {
    if (strcmp(d->id, spec) == 0) return true;
    size_t n = strlen(spec);
    for (const char *h = d->name; *h; h++) {
        size_t i = 0;
        while (i < n && h[i] && tolower((unsigned char)h[i]) == tolower((unsigned char)spec[i])) i++;
        if (i == n) return true;
    }
    return false;
}

static const bench_result *find(const bench_report *r, int c, int d, int threads) {
    for (int i = 0; i < r->nresults; i++) {
        const bench_result *x = &r->results[i];
        if (x->case_index == c && x->device_index == d && (threads <= 0 || x->threads == threads))
            return x->status == BENCH_OK ? x : NULL;
    }
    return NULL;
}

int bench_print_compare(const bench_report *r, const char *a, const char *b, FILE *f) {
    int da = -1, db = -1;
    for (int d = 0; d < r->ndevices; d++) {
        if (da < 0 && matches(&r->devices[d], a)) da = d;
        else if (db < 0 && matches(&r->devices[d], b)) db = d;
    }
    if (da < 0 || db < 0) {
        fprintf(stderr, "uae-bench: --compare: '%s' is not among the devices measured\n",
                da < 0 ? a : b);
        return 2;
    }
    fprintf(f, "\n%s (%s) relative to %s (%s): speed-up = time on %s / time on %s\n",
            r->devices[da].id, r->devices[da].name, r->devices[db].id, r->devices[db].name,
            r->devices[db].id, r->devices[da].id);
    fprintf(f, "%-28s %10s %10s %9s\n", "case", r->devices[da].id, r->devices[db].id, "speed-up");
    double log_sum = 0;
    int n = 0;
    for (int c = 0; c < r->ncases; c++) {
        const bench_result *xa = find(r, c, da, 0), *xb = find(r, c, db, 0);
        char ta[32], tb[32];
        if (!xa || !xb) {
            fprintf(f, "%-28s %10s %10s %9s\n", r->cases[c].name,
                    xa ? bench_format_time(xa->t.median, ta, sizeof ta) : "n/a",
                    xb ? bench_format_time(xb->t.median, tb, sizeof tb) : "n/a", "-");
            continue;
        }
        double s = xb->t.median / xa->t.median;
        log_sum += log(s);
        n++;
        fprintf(f, "%-28s %10s %10s %8.2fx\n", r->cases[c].name,
                bench_format_time(xa->t.median, ta, sizeof ta),
                bench_format_time(xb->t.median, tb, sizeof tb), s);
    }
    if (n) fprintf(f, "geometric mean over %d cases: %.2fx\n", n, exp(log_sum / n));
    return 0;
}

void bench_print_scaling(const bench_report *r, FILE *f) {
    int t1 = 0, t2 = 0;
    for (int i = 0; i < r->nresults; i++) {
        int t = r->results[i].threads;
        if (!t1) t1 = t;
        else if (t != t1 && !t2) t2 = t;
    }
    if (!t2) return;
    fprintf(f, "\nthread scaling of the cpu backend%s: speed-up = time with %d / time with %d\n",
            r->cblas_name ? " and of the CBLAS" : "", t1, t2);
    char h1[32], h2[32];
    snprintf(h1, sizeof h1, "%d thr", t1);
    snprintf(h2, sizeof h2, "%d thr", t2);
    fprintf(f, "%-28s %10s %10s %9s", "case", h1, h2, "speed-up");
    if (r->cblas_name) fprintf(f, " %10s %10s %9s", "CBLAS", "CBLAS", "speed-up");
    fputc('\n', f);
    for (int c = 0; c < r->ncases; c++) {
        const bench_result *x1 = find(r, c, 0, t1), *x2 = find(r, c, 0, t2);
        if (!x1 || !x2) continue;
        char a[32], b[32], ca[32], cb[32];
        fprintf(f, "%-28s %10s %10s %8.2fx", r->cases[c].name,
                bench_format_time(x1->t.median, a, sizeof a),
                bench_format_time(x2->t.median, b, sizeof b), x1->t.median / x2->t.median);
        if (x1->has_cblas && x2->has_cblas)
            fprintf(f, " %10s %10s %8.2fx", bench_format_time(x1->cblas.median, ca, sizeof ca),
                    bench_format_time(x2->cblas.median, cb, sizeof cb),
                    x1->cblas.median / x2->cblas.median);
        fputc('\n', f);
    }
}

void bench_print_floor(const bench_report *r, FILE *f) {
    bool header = false;
    for (int i = 0; i < r->nresults; i++) {
        const bench_result *x = &r->results[i];
        const bench_case *c = &r->cases[x->case_index];
        if (c->op != BENCH_OP_UAE_GEN || x->status != BENCH_OK || c->floor_bytes <= 0) continue;
        /* The bandwidth and the fastest GEMM of the same device and thread count. */
        double gbps = 0, gflops = 0;
        for (int j = 0; j < r->nresults; j++) {
            const bench_result *y = &r->results[j];
            const bench_case *d = &r->cases[y->case_index];
            if (y->device_index != x->device_index || y->threads != x->threads ||
                y->status != BENCH_OK)
                continue;
            /* The best sample: what the machine can do (the floor is a bound). */
            if (d->op == BENCH_OP_BANDWIDTH && d->bytes / y->t.min / 1e9 > gbps)
                gbps = d->bytes / y->t.min / 1e9;
            if ((d->op == BENCH_OP_GEMM || d->op == BENCH_OP_GEMM_BATCHED) && d->flop > 0 &&
                d->flop / y->t.min / 1e9 > gflops)
                gflops = d->flop / y->t.min / 1e9;
        }
        if (gbps <= 0 || gflops <= 0) continue;
        double t_mem = c->floor_bytes / (gbps * 1e9), t_flop = c->floor_flop / (gflops * 1e9);
        if (!header) {
            fprintf(f, "\nfloor of the attack (docs/performance.md): least bytes / best measured bandwidth "
                       "+ FLOP / best measured GEMM (fastest sample of each)\n");
            fprintf(f, "%-16s %-8s %4s %10s %10s %10s %8s %14s %14s %8s\n", "case", "device", "thr",
                    "measured", "floor", "=bytes", "+FLOP", "bytes", "FLOP", "ratio");
            header = true;
        }
        char a[32], b[32], m[32], fl[32];
        fprintf(f, "%-16s %-8s %4d %10s %10s %10s %8s %11.2f GB %10.1f GFLOP %7.2fx\n", c->name,
                r->devices[x->device_index].id, x->threads,
                bench_format_time(x->t.median, a, sizeof a),
                bench_format_time(t_mem + t_flop, b, sizeof b),
                bench_format_time(t_mem, m, sizeof m), bench_format_time(t_flop, fl, sizeof fl),
                c->floor_bytes / 1e9, c->floor_flop / 1e9, x->t.median / (t_mem + t_flop));
        fprintf(f, "%-16s %-8s %4s   at %.1f GB/s and %.1f GFLOP/s; per UAE (40 iterations, "
                   "reset amortised): measured %.2f s, floor %.2f s\n",
                "", "", "", gbps, gflops,
                x->t.median / (c->items) * 40, (t_mem + t_flop) / c->items * 40);
    }
}
