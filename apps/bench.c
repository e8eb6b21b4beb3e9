/* apps/bench.c — `uae-bench`: times uaekit's ops (and, as they land, whole training epochs and
 * UAE generation) on every backend and device, and reports median and spread per case and device.
 * This file holds the options, the device list and the timing loop; the cases are in
 * bench_cases.c and the output formats in bench_report.c. It never judges the numbers. */
#define _GNU_SOURCE /* nftw's FTW_PHYS */
#include <errno.h>
#include <ftw.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "cli.h"
#include "bench_config.h"
#include "uae_config.h"

/* A sample should outlast the clock's resolution and the cost of reading it by far: runs shorter
 * than this are repeated within one sample ("inner" runs). */
#define BENCH_MIN_SAMPLE_S 1e-3
#define BENCH_MAX_INNER 10000

typedef struct bench_opts {
    int op;                    /* bench_op or -1 */
    int64_t sizes[BENCH_MAX_SIZES];
    int nsizes;
    long long batch, iterations;
    long long reps, warmup, threads;
    double max_seconds;
    bool all, json, csv, quick, scaling, no_cblas;
    const char *svg;
    const char *compare_a, *compare_b;
    char compare_a_buf[64];    /* A of "--compare A,B" */
    bool stop;                 /* the options said all there was to do (--help) */
} bench_opts;

/* ---- Clocks ----------------------------------------------------------------------------------- */

static double clock_s(clockid_t id) {
    struct timespec ts;
    clock_gettime(id, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}
static double wall_now(void) { return clock_s(CLOCK_MONOTONIC); }
/* CPU time of every thread of the process: the CPU backend's workers, a CPU OpenCL driver's
 * threads, and the host thread spinning or sleeping in a device wait. */
static double cpu_now(void) { return clock_s(CLOCK_PROCESS_CPUTIME_ID); }

/* ---- Timing ----------------------------------------------------------------------------------- */

typedef uae_status (*bench_fn)(void *ctx);

static uae_status call_instance(void *ctx) { return bench_instance_run(ctx); }
static uae_status call_cblas(void *ctx) { return bench_cblas_run(ctx); }

/* n runs, then a sync: the clock stops only when the device is done. */
static uae_status run_n(bench_fn fn, void *ctx, uae_backend *be, int n) {
    for (int i = 0; i < n; i++) UAE_TRY(fn(ctx));
    return be ? uae_backend_sync(be) : UAE_OK;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* The q-quantile of n sorted values, interpolated linearly between neighbours. */
static double quantile(const double *v, int n, double q) {
    double pos = q * (n - 1);
    int i = (int)pos;
    if (i >= n - 1) return v[n - 1];
    return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

/* Warm-up runs (which also tell how many runs a sample needs), then up to o->reps timed samples,
 * stopping early once o->max_seconds have passed (at least one sample is always taken). */
static uae_status measure(const bench_opts *o, bench_fn fn, void *ctx, uae_backend *be,
                          bench_stats *s) {
    memset(s, 0, sizeof *s);
    double start = wall_now(), fastest = INFINITY, first = 0;
    uae_backend_counters calls = {0};
    for (long long w = 0; w < o->warmup && wall_now() - start < o->max_seconds; w++) {
        if (w == 0 && be) uae_backend_counters_reset(be);
        double t0 = wall_now();
        UAE_TRY(run_n(fn, ctx, be, 1));
        double t = wall_now() - t0;
        if (w == 0) first = t;
        if (w == 0 && be) uae_backend_counters_get(be, &calls);
        if (t < fastest) fastest = t;
    }
    int inner = 1;
    if (isfinite(fastest) && fastest < BENCH_MIN_SAMPLE_S)
        inner = fastest <= BENCH_MIN_SAMPLE_S / BENCH_MAX_INNER
                    ? BENCH_MAX_INNER
                    : (int)ceil(BENCH_MIN_SAMPLE_S / fastest);
    double *samples = malloc((size_t)o->reps * sizeof *samples);
    if (!samples) return uae_fail(UAE_ERR_NOMEM, "bench: out of host memory");
    double cpu = 0, wall = 0;
    int k = 0;
    start = wall_now();
    uae_status st = UAE_OK;
    while (k < o->reps && (k == 0 || wall_now() - start < o->max_seconds)) {
        double c0 = cpu_now(), t0 = wall_now();
        st = run_n(fn, ctx, be, inner);
        double t1 = wall_now(), c1 = cpu_now();
        if (st != UAE_OK) break;
        samples[k++] = (t1 - t0) / inner;
        wall += t1 - t0;
        cpu += c1 - c0;
    }
    if (st == UAE_OK) {
        qsort(samples, (size_t)k, sizeof *samples, cmp_double);
        s->reps = k;
        s->inner = inner;
        s->min = samples[0];
        s->max = samples[k - 1];
        s->median = quantile(samples, k, 0.5);
        s->q1 = quantile(samples, k, 0.25);
        s->q3 = quantile(samples, k, 0.75);
        s->cpu_per_wall = wall > 0 ? cpu / wall : 0;
        s->first = first;
        s->has_calls = be && o->warmup > 0;
        s->calls = calls;
    }
    free(samples);
    return st;
}

/* ---- Devices and their start-up time ---------------------------------------------------------- */

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

/* Opens spec twice under a fresh, empty kernel cache (UAE_CACHE_DIR): the first open is the cold
 * start-up, the second (which finds the cache the first filled) the warm one. Keeps the second
 * backend in *out. On host backends both are just the open time. */
static uae_status open_timed(const char *spec, bench_device *d, uae_backend **out) {
    *out = NULL;
    const char *tmp = getenv("TMPDIR");
    char dir[512];
    snprintf(dir, sizeof dir, "%s/uae-bench-cache-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return uae_fail(UAE_ERR_IO, "bench: cannot create a temporary cache folder %s: %s", dir,
                        strerror(errno));
    const char *old_env = getenv("UAE_CACHE_DIR");
    char *old = old_env ? strdup(old_env) : NULL;
    setenv("UAE_CACHE_DIR", dir, 1);

    uae_backend *be = NULL;
    double t0 = wall_now();
    uae_status st = uae_backend_open(spec, &be);
    d->startup_cold_s = wall_now() - t0;
    uae_backend_free(be);
    be = NULL;
    if (st == UAE_OK) {
        t0 = wall_now();
        st = uae_backend_open(spec, &be);
        d->startup_warm_s = wall_now() - t0;
    }
    if (old) setenv("UAE_CACHE_DIR", old, 1);
    else unsetenv("UAE_CACHE_DIR");
    free(old);
    nftw(dir, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (st != UAE_OK) return st;
    snprintf(d->id, sizeof d->id, "%.63s", spec);
    snprintf(d->name, sizeof d->name, "%.191s", uae_backend_name(be));
    uae_backend_info(be, &d->info);
    *out = be;
    return UAE_OK;
}

/* The device specs to measure: --compare's two, --device's (or $UAE_DEVICE's) one, --all's every
 * device, or by default cpu and every OpenCL device. --scaling measures the CPU backend only. */
static int device_specs(const bench_opts *o, const cli_globals *g, char specs[][64], int cap) {
    int n = 0;
    if (o->scaling) {
        snprintf(specs[n++], 64, "cpu");
        return n;
    }
    if (o->compare_a && !g->device && !o->all) {
        snprintf(specs[n++], 64, "%s", o->compare_a);
        snprintf(specs[n++], 64, "%s", o->compare_b);
        return n;
    }
    /* --device, else $UAE_DEVICE (as every uae command), else the default list below. */
    const char *one = g->device ? g->device : getenv("UAE_DEVICE");
    if (one && *one && !o->all) {
        snprintf(specs[n++], 64, "%s", one);
        return n;
    }
    enum { CAP = 64 };
    uae_device_info all[CAP];
    int count = 0;
    uae_device_list(all, CAP, &count);
    if (count > CAP) count = CAP;
    for (int i = 0; i < count && n < cap; i++) {
        bool host = strcmp(all[i].backend, "cpu") == 0 || strcmp(all[i].backend, "ref") == 0;
        if (!o->all && strcmp(all[i].backend, "ref") == 0) continue; /* the scalar oracle: slow */
        if (host)
            snprintf(specs[n++], 64, "%s", all[i].backend);
        else
            snprintf(specs[n++], 64, "%d", all[i].index);
    }
    return n;
}

/* ---- Options ---------------------------------------------------------------------------------- */

enum {
    OPT_OP = CLI_OPT_FIRST_COMMAND, OPT_SIZE, OPT_REPS, OPT_WARMUP, OPT_MAX_SECONDS, OPT_ALL,
    OPT_JSON, OPT_CSV, OPT_SVG, OPT_COMPARE, OPT_THREADS, OPT_SCALING, OPT_QUICK, OPT_NO_CBLAS,
    OPT_BATCH, OPT_ITERATIONS,
};

static const struct option bench_options[] = {
    {"op", required_argument, NULL, OPT_OP},
    {"size", required_argument, NULL, OPT_SIZE},
    {"reps", required_argument, NULL, OPT_REPS},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"max-seconds", required_argument, NULL, OPT_MAX_SECONDS},
    {"all", no_argument, NULL, OPT_ALL},
    {"json", no_argument, NULL, OPT_JSON},
    {"csv", no_argument, NULL, OPT_CSV},
    {"svg", required_argument, NULL, OPT_SVG},
    {"compare", required_argument, NULL, OPT_COMPARE},
    {"threads", required_argument, NULL, OPT_THREADS},
    {"scaling", no_argument, NULL, OPT_SCALING},
    {"quick", no_argument, NULL, OPT_QUICK},
    {"no-cblas", no_argument, NULL, OPT_NO_CBLAS},
    {"batch", required_argument, NULL, OPT_BATCH},
    {"iterations", required_argument, NULL, OPT_ITERATIONS},
    {0},
};

static int run_bench(const cli_command *cmd, cli_globals *g, int argc, char **argv);

static const cli_command bench_command = {
    .name = "bench",
    .program = "uae-bench",
    .summary = "compare backends and devices, op by op",
    .usage = "uae-bench [--device SPEC | --all] [--op NAME] [--size N[,N...]] [OPTIONS]",
    .help =
        "Times uaekit's ops with the shapes of the paper's models on every backend and device,\n"
        "and prints the median time over repeated runs after warm-up, the spread, GFLOP/s or\n"
        "GB/s, the host CPU time per wall second, the start-up time of each device and the peak\n"
        "memory. GEMM cases also show a CBLAS (OpenBLAS) SGEMM as a reference when the bench\n"
        "was built with one. Devices: --device SPEC, else $UAE_DEVICE, else cpu and every OpenCL\n"
        "device.\n\n"
        "Options:\n"
        "  --all             every device, the scalar reference \"ref\" included (slow)\n"
        "  --op NAME         only the cases of one op: gemm, gemm-batched, conv, conv-bwd-data,\n"
        "                    conv-bwd-weight, mine_bound, attack_step, optim, bandwidth (STREAM\n"
        "                    add over 3 x 64 MiB, GB/s), or end to end:\n"
        "                    train-conv-ae (an epoch of 1000 synthetic images, images/s),\n"
        "                    uae-gen (UAE-iterations/s, i.e. images x attack iterations per\n"
        "                    second, at B = 1, 16, 64 against conv-ae; a full UAE is 40 of\n"
        "                    them; only when asked for, minutes per run on a CPU, or with\n"
        "                    --quick at B = 1 and 1 MINE step; with the bandwidth case and\n"
        "                    gemm 1024, and the attack's floor printed)\n"
        "  --size N[,N...]   only the square GEMMs of these sizes (implies --op gemm)\n"
        "  --batch N         the batch of the conv, dense-layer GEMM, mine_bound, attack_step,\n"
        "                    train-conv-ae and uae-gen cases (default 100 for conv, GEMM and\n"
        "                    training, 64 for mine_bound and attack_step, 1/16/64 for uae-gen)\n"
        "  --iterations N    attack iterations of a uae-gen run (default 1; the official attack\n"
        "                    runs 40, each costing about the same)\n"
        "  --reps N          timed samples per case and device (default 10)\n"
        "  --warmup N        untimed runs first (default 2)\n"
        "  --max-seconds S   stop sampling a case after S seconds (default 10; one sample at least)\n"
        "  --threads N       CPU threads of the cpu backend and of the CBLAS (default: all)\n"
        "  --scaling         the cpu backend and the CBLAS with 1 thread, then with --threads\n"
        "                    (default 2), and the speed-up per case\n"
        "  --no-cblas        leave out the CBLAS reference column\n"
        "  --compare A B     how much faster device A is than device B, per case (also A,B)\n"
        "  --quick           tiny shapes, 3 samples, 1 warm-up run, every op (uae-gen too;\n"
        "                    for tests; the SVG says so)\n"
        "  --json            the results as JSON on standard output (instead of the table)\n"
        "  --csv             the results as CSV with a header line (instead of the table)\n"
        "  --svg FILE        also write a bar chart of GFLOP/s (or time) per case and device\n\n"
        "Time is measured with the device synchronised before the clock stops; runs shorter than\n"
        "1 ms are repeated within a sample. Numbers vary with what else the machine does.\n\n"
        "Exit status: 0 measured (some cases may be n/a on a device), 1 a case failed,\n"
        "2 usage error, 3 nothing could be measured (no op available yet).\n",
    .run = run_bench,
};

/* --size N[,N...]: up to BENCH_MAX_SIZES sizes, each 1 .. 16384. */
static int parse_sizes(const cli_command *cmd, const char *arg, bench_opts *o) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", arg);
    o->nsizes = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        if (o->nsizes == BENCH_MAX_SIZES)
            return cli_usage_error(cmd, "--size: at most %d sizes", BENCH_MAX_SIZES);
        long long v;
        int rc = cli_parse_int(cmd, "--size", tok, 1, 16384, &v);
        if (rc != CLI_EXIT_OK) return rc;
        o->sizes[o->nsizes++] = v;
    }
    if (o->nsizes == 0) return cli_usage_error(cmd, "--size: no size given");
    return CLI_EXIT_OK;
}

static int parse_options(const cli_command *cmd, cli_globals *g, int argc, char **argv,
                         bench_opts *o) {
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, bench_options);
    bool reps_given = false, warmup_given = false, seconds_given = false;
    for (int c; (c = cli_next(&p)) != -1;) {
        int rc = CLI_EXIT_OK;
        switch (c) {
        case CLI_STOP:
            o->stop = true; /* after --help (exit code 0) or a usage error */
            return p.exit_code;
        case OPT_OP:
            o->op = -1;
            for (int i = 0; i < BENCH_OP_COUNT; i++)
                if (strcmp(p.arg, bench_op_names[i]) == 0) o->op = i;
            if (o->op < 0)
                return cli_usage_error(cmd, "--op: unknown op '%s' (expected gemm, gemm-batched, "
                                       "conv, conv-bwd-data, conv-bwd-weight, mine_bound, "
                                       "attack_step, optim, bandwidth, train-conv-ae or uae-gen)", p.arg);
            break;
        case OPT_SIZE:
            rc = parse_sizes(cmd, p.arg, o);
            break;
        case OPT_REPS:
            rc = cli_parse_int(cmd, "--reps", p.arg, 1, 100000, &o->reps);
            reps_given = true;
            break;
        case OPT_WARMUP:
            rc = cli_parse_int(cmd, "--warmup", p.arg, 0, 100000, &o->warmup);
            warmup_given = true;
            break;
        case OPT_MAX_SECONDS:
            rc = cli_parse_float(cmd, "--max-seconds", p.arg, 0, 1e6, &o->max_seconds);
            seconds_given = true;
            break;
        case OPT_THREADS: rc = cli_parse_int(cmd, "--threads", p.arg, 1, 1024, &o->threads); break;
        case OPT_ALL: o->all = true; break;
        case OPT_JSON: o->json = true; break;
        case OPT_CSV: o->csv = true; break;
        case OPT_SVG: o->svg = p.arg; break;
        case OPT_SCALING: o->scaling = true; break;
        case OPT_QUICK: o->quick = true; break;
        case OPT_NO_CBLAS: o->no_cblas = true; break;
        case OPT_BATCH: rc = cli_parse_int(cmd, "--batch", p.arg, 1, 65536, &o->batch); break;
        case OPT_ITERATIONS:
            rc = cli_parse_int(cmd, "--iterations", p.arg, 1, 100000, &o->iterations);
            break;
        case OPT_COMPARE: o->compare_a = p.arg; break;
        default: return cli_usage_error(cmd, "internal: unhandled option %d", c);
        }
        if (rc != CLI_EXIT_OK) return rc;
    }
    int positional = 0;
    if (o->compare_a) {
        /* "--compare A,B" or "--compare A B" (B is then the one positional argument). */
        const char *comma = strchr(o->compare_a, ',');
        if (comma) {
            snprintf(o->compare_a_buf, sizeof o->compare_a_buf, "%.*s",
                     (int)(comma - o->compare_a), o->compare_a);
            o->compare_b = comma + 1;
            o->compare_a = o->compare_a_buf;
        } else if (p.nrest >= 1) {
            o->compare_b = p.rest[0];
            positional = 1;
        }
        if (!o->compare_b || !*o->compare_b || !*o->compare_a)
            return cli_usage_error(cmd, "--compare needs two devices: --compare A B");
    }
    if (p.nrest > positional) return cli_usage_error(cmd, "unexpected argument '%s'", p.rest[positional]);
    if (o->json && o->csv) return cli_usage_error(cmd, "--json and --csv exclude each other");
    if (o->nsizes > 0 && o->op >= 0 && o->op != BENCH_OP_GEMM)
        return cli_usage_error(cmd, "--size is for the square GEMM: it cannot go with --op %s",
                               bench_op_names[o->op]);
    if (o->scaling && (o->all || o->compare_a))
        return cli_usage_error(cmd, "--scaling measures the cpu backend alone: no --all or --compare");
    if (o->quick) {
        if (!reps_given) o->reps = 3;
        if (!warmup_given) o->warmup = 1;
        if (!seconds_given) o->max_seconds = 0.5;
    }
    return CLI_EXIT_OK;
}

/* OpenMP and OpenBLAS read their thread count when they first start threads: set it in the
 * environment before anything can, from --threads N / --threads=N if given (the option parser
 * checks the value later; a bad one is a usage error then). */
static void early_threads(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *v = NULL;
        if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc) v = argv[i + 1];
        else if (strncmp(argv[i], "--threads=", 10) == 0) v = argv[i] + 10;
        if (v && atoi(v) > 0) {
            setenv("OMP_NUM_THREADS", v, 1);
            setenv("OPENBLAS_NUM_THREADS", v, 1);
        }
    }
}

/* ---- The measurement loop ---------------------------------------------------------------------- */

static bench_status status_of(uae_status st) {
    return st == UAE_OK ? BENCH_OK : st == UAE_ERR_UNSUPPORTED ? BENCH_NA : BENCH_FAILED;
}

static uint64_t maxrss_bytes(void) {
    struct rusage ru;
    if (getrusage(RUSAGE_SELF, &ru) != 0) return 0;
    return (uint64_t)ru.ru_maxrss * 1024u; /* Linux: kilobytes */
}

/* Measures case c on one device into r. */
static void measure_case(const bench_opts *o, const cli_globals *g, const bench_case *c,
                         uae_backend *be, bench_result *r) {
    bench_instance *in = NULL;
    uint64_t fb0 = uae_backend_fallback_count(be);
    uae_status st = bench_instance_create(c, be, g->seed, &in);
    if (st == UAE_OK) st = measure(o, call_instance, in, be, &r->t);
    r->status = status_of(st);
    if (st != UAE_OK) snprintf(r->message, sizeof r->message, "%s", uae_last_error());
    if (in) r->arena_peak_bytes = bench_instance_arena_peak(in);
    bench_instance_free(in);
    r->fallbacks = uae_backend_fallback_count(be) - fb0;
    r->maxrss_bytes = maxrss_bytes();
}

/* The 1-minute load average (Linux /proc/loadavg), or -1: how busy the machine was. */
static double load_average(void) {
    double v = -1;
    FILE *f = fopen("/proc/loadavg", "r");
    if (f) {
        if (fscanf(f, "%lf", &v) != 1) v = -1;
        fclose(f);
    }
    return v;
}

/* The environment variables that change how the CPU code runs its threads, "NAME=value ...". */
static void thread_env(char *buf, size_t cap) {
    static const char *const names[] = {"OMP_NUM_THREADS", "OMP_WAIT_POLICY", "OMP_PROC_BIND",
                                        "OMP_PLACES", "GOMP_SPINCOUNT", "OPENBLAS_NUM_THREADS"};
    size_t len = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof names / sizeof names[0] && len < cap; i++) {
        const char *v = getenv(names[i]);
        if (v) len += (size_t)snprintf(buf + len, cap - len, "%s%s=%s", len ? " " : "", names[i], v);
    }
}

static void format_utc(char *buf, size_t cap) {
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(buf, cap, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* The cases to measure; --scaling without --op or --size: the GEMM and convolution cases.
 * Returns their number, or -1 when out of memory. */
static int build_cases(const bench_opts *o, bench_case **out) {
    bench_selection sel = {.op = o->op, .nsizes = o->nsizes, .batch = o->batch,
                           .iterations = (int)o->iterations, .quick = o->quick};
    memcpy(sel.sizes, o->sizes, sizeof sel.sizes);
    if (!o->scaling || o->op >= 0 || o->nsizes > 0) return bench_cases_build(&sel, out);
    static const bench_op scaled[] = {BENCH_OP_GEMM, BENCH_OP_CONV, BENCH_OP_CONV_BWD_DATA,
                                      BENCH_OP_CONV_BWD_WEIGHT};
    bench_case *cases = NULL;
    int n = 0;
    for (size_t i = 0; i < sizeof scaled / sizeof scaled[0]; i++) {
        sel.op = (int)scaled[i];
        bench_case *part = NULL;
        int np = bench_cases_build(&sel, &part);
        bench_case *grown = np >= 0 ? realloc(cases, (size_t)(n + np) * sizeof *cases) : NULL;
        if (!grown) {
            free(part);
            free(cases);
            return -1;
        }
        cases = grown;
        memcpy(cases + n, part, (size_t)np * sizeof *part);
        n += np;
        free(part);
    }
    *out = cases;
    return n;
}

/* Measures every (thread count, case, device) into r->results, which has room for all. The CBLAS
 * reference runs in a pass of its own after the devices: OpenBLAS's threads keep spinning for a
 * while after a call, and would take cores from the next measurement. */
static void measure_all(const bench_opts *o, const cli_globals *g, bench_report *r,
                        uae_backend **bes, const int *thread_counts, int nthreads) {
    uae_progress prog;
    uae_progress_begin(&prog, "uae-bench", (int64_t)nthreads * r->ncases * r->ndevices, g->quiet);
    for (int t = 0; t < nthreads; t++) {
        bench_set_threads(thread_counts[t]);
        int first = r->nresults;
        for (int c = 0; c < r->ncases; c++)
            for (int d = 0; d < r->ndevices; d++) {
                bench_result *x = &r->results[r->nresults++];
                x->case_index = c;
                x->device_index = d;
                /* Only the CPU backend runs threads of its own (ref is scalar; a device's
                 * driver has its own): 0 = "not applicable". */
                x->threads = strcmp(r->devices[d].info.backend, "cpu") != 0 ? 0
                             : strchr(r->devices[d].id, ':') ? r->devices[d].info.compute_units
                                                             : thread_counts[t]; /* cpu:N: N */
                measure_case(o, g, &r->cases[c], bes[d], x);
                if (x->status == BENCH_FAILED)
                    uae_logf(&g->log, UAE_LOG_WARN, "%s on %s: %s", r->cases[c].name,
                             r->devices[d].id, x->message);
                uae_progress_update(&prog, r->nresults, "%s on %s", r->cases[c].name,
                                    r->devices[d].id);
            }
        for (int c = 0; c < r->ncases && r->cblas_name; c++) {
            bench_cblas *bc = NULL;
            bench_stats ref;
            bool has_ref = bench_cblas_create(&r->cases[c], g->seed, &bc) == UAE_OK &&
                           measure(o, call_cblas, bc, NULL, &ref) == UAE_OK;
            bench_cblas_free(bc);
            for (int i = first; i < r->nresults && has_ref; i++)
                if (r->results[i].case_index == c) {
                    r->results[i].has_cblas = true;
                    r->results[i].cblas = ref;
                    r->results[i].cblas_threads = thread_counts[t];
                }
        }
    }
    uae_progress_end(&prog);
}

/* Prints the chosen format and the summaries; returns the exit status of the whole run. */
static int report(const bench_opts *o, const bench_report *r) {
    int n_ok = 0, n_failed = 0;
    for (int i = 0; i < r->nresults; i++) {
        n_ok += r->results[i].status == BENCH_OK;
        n_failed += r->results[i].status == BENCH_FAILED;
    }
    int rc = CLI_EXIT_OK;
    FILE *notes = o->json || o->csv ? stderr : stdout; /* keep stdout machine-readable */
    if (o->json) rc = bench_write_json(r, stdout);
    else if (o->csv) rc = bench_write_csv(r, stdout);
    else bench_print_table(r, stdout);
    if (rc == CLI_EXIT_OK && o->scaling) bench_print_scaling(r, notes);
    if (rc == CLI_EXIT_OK) bench_print_floor(r, notes);
    if (rc == CLI_EXIT_OK && o->compare_a) rc = bench_print_compare(r, o->compare_a, o->compare_b, notes);
    if (rc == CLI_EXIT_OK && o->svg && bench_write_svg(r, o->svg) != UAE_OK) {
        fprintf(stderr, "uae-bench: %s\n", uae_last_error());
        rc = CLI_EXIT_FAILURE;
    }
    if (rc != CLI_EXIT_OK) return rc;
    return n_failed ? CLI_EXIT_FAILURE : n_ok == 0 ? CLI_EXIT_UNAVAILABLE : CLI_EXIT_OK;
}

static int run_bench(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    /* The command line as given, before getopt_long permutes argv. */
    char command[512];
    size_t len = 0;
    command[0] = '\0';
    for (int i = 0; i < argc && len < sizeof command; i++)
        len += (size_t)snprintf(command + len, sizeof command - len, "%s%s", i ? " " : "",
                                i ? argv[i] : "uae-bench");

    bench_opts o = {.op = -1, .reps = 10, .warmup = 2, .max_seconds = 10};
    int rc = parse_options(cmd, g, argc, argv, &o);
    if (rc != CLI_EXIT_OK || o.stop) return rc;
    if (o.threads > 0) bench_set_threads((int)o.threads);

    bench_report rep = {.uaekit_version = UAE_VERSION, .reps = (int)o.reps,
                        .warmup = (int)o.warmup, .max_seconds = o.max_seconds, .quick = o.quick,
                        .scaling = o.scaling};
    /* meson's CLBlast version; empty in a build without OpenCL */
    rep.clblast_version = *UAE_BENCH_CLBLAST_VERSION ? UAE_BENCH_CLBLAST_VERSION : NULL;
    rep.cblas_name = o.no_cblas ? NULL : bench_cblas_name();
    rep.host_threads = bench_threads();
    uae_device_info host[2];
    int nhost = 0;
    uae_device_list(host, 2, &nhost);
    if (nhost > 0) snprintf(rep.host_cpu, sizeof rep.host_cpu, "%s", host[0].name);
    format_utc(rep.date, sizeof rep.date);
    thread_env(rep.env, sizeof rep.env);
    rep.load_start = load_average();
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    if (cpus > 0 && rep.load_start > (double)cpus)
        uae_logf(&g->log, UAE_LOG_WARN, "load average %.2f on %ld CPUs: other processes compete "
                 "for the cores, so the times will be noisy (recorded in the output)",
                 rep.load_start, cpus);
    snprintf(rep.command, sizeof rep.command, "%s", command);

    /* --scaling: 1 thread, then --threads or all (at least 2). */
    int thread_counts[2] = {rep.host_threads, 0}, nthreads = 1;
    if (o.scaling) {
        thread_counts[0] = 1;
        thread_counts[1] = o.threads > 1 ? (int)o.threads : rep.host_threads > 1 ? rep.host_threads : 2;
        nthreads = 2;
    }
    char specs[64][64];
    int nspecs = device_specs(&o, g, specs, 64);
    rep.ncases = build_cases(&o, &rep.cases);
    rep.devices = calloc((size_t)nspecs + 1, sizeof *rep.devices);
    uae_backend **bes = calloc((size_t)nspecs + 1, sizeof *bes);
    if (rep.ncases >= 0)
        rep.results = calloc((size_t)(nspecs * rep.ncases * nthreads) + 1, sizeof *rep.results);
    if (rep.ncases < 0 || !rep.devices || !bes || !rep.results) {
        fprintf(stderr, "uae-bench: out of memory\n");
        rc = CLI_EXIT_FAILURE;
    }
    /* The devices, opened once each (timing the start-up). */
    for (int d = 0; d < nspecs && rc == CLI_EXIT_OK; d++, rep.ndevices++) {
        uae_status st = open_timed(specs[d], &rep.devices[d], &bes[d]);
        if (st != UAE_OK) {
            fprintf(stderr, "uae-bench: %s\n", uae_last_error());
            rc = st == UAE_ERR_INVALID ? CLI_EXIT_USAGE
                 : st == UAE_ERR_UNSUPPORTED ? CLI_EXIT_UNAVAILABLE : CLI_EXIT_FAILURE;
        }
    }
    if (rc == CLI_EXIT_OK) {
        measure_all(&o, g, &rep, bes, thread_counts, nthreads);
        rep.load_end = load_average();
        bench_set_threads(rep.host_threads);
    }
    for (int d = 0; d < nspecs && bes; d++) uae_backend_free(bes[d]);
    free(bes);
    if (rc == CLI_EXIT_OK) rc = report(&o, &rep);
    free(rep.results);
    free(rep.devices);
    free(rep.cases);
    return rc;
}

int main(int argc, char **argv) {
    early_threads(argc, argv);
    cli_globals g = {.seed = 1};
    return bench_command.run(&bench_command, &g, argc, argv);
}
