/* apps/bench.h — what the parts of `uae-bench` share: the benchmark cases, the measurements and
 * the report they make up. Private to apps/bench*.c. The bench measures and reports; it asserts
 * nothing about speed (tests/test_bench.sh checks only that it runs and writes valid output).
 *
 * Parts: bench.c (options, devices, the timing loop), bench_cases.c (the cases and how each one
 * builds its tensors and ops), bench_report.c (table, CSV, JSON, SVG, --compare, --scaling),
 * bench_host.c (thread count and the optional CBLAS reference: the only #ifs of the bench). */
#ifndef UAE_BENCH_H
#define UAE_BENCH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "uae/backend.h"
#include "uae/ops.h"

/* What a case measures; one name per --op value. */
typedef enum bench_op {
    BENCH_OP_GEMM,              /* square and model-shaped matrix products */
    BENCH_OP_GEMM_BATCHED,      /* strided-batched matrix products */
    BENCH_OP_CONV,              /* conv2d forward */
    BENCH_OP_CONV_BWD_DATA,
    BENCH_OP_CONV_BWD_WEIGHT,
    BENCH_OP_MINE_BOUND,
    BENCH_OP_ATTACK_STEP,
    BENCH_OP_OPTIM,
    BENCH_OP_BANDWIDTH,         /* memory bandwidth: STREAM's add, c = a + b, far beyond the caches */
    BENCH_OP_TRAIN_CONV_AE,     /* end to end: a conv-ae training epoch (uae/model.h) */
    BENCH_OP_UAE_GEN,           /* end to end: UAE generation (uae/attack.h) */
    BENCH_OP_COUNT
} bench_op;

/* "gemm", "gemm-batched", "conv", ...: the --op names, indexed by bench_op. */
extern const char *const bench_op_names[BENCH_OP_COUNT];

/* The shape of a convolution case: x (n, c, h, w) * w (k, c, r, r), zero padding pad, stride 1. */
typedef struct bench_conv_shape {
    int64_t n, c, h, w, k, r;
    int pad;
} bench_conv_shape;

/* One benchmark case: an op with its shapes, and the work one run of it does. */
typedef struct bench_case {
    char name[64];         /* unique, e.g. "gemm 1024", "conv conv-ae.2" */
    bench_op op;
    char shape[96];        /* for people: "1024x1024x1024 (MxKxN)" */
    union {
        uae_gemm_params gemm;        /* GEMM, GEMM_BATCHED */
        bench_conv_shape conv;       /* CONV* */
        struct { int64_t b, n; } mine;       /* B estimators of n joint and n marginal samples */
        struct { int64_t b, d; } attack;     /* B samples of D features */
        struct { uae_optim_fn fn; int64_t n; } optim;
        struct { int64_t images, batch; } train;     /* an epoch of images in batches */
        struct { int64_t b; int iterations, mine_steps; } gen; /* one attack of B images */
        struct { int64_t n; } stream;                 /* floats per array */
    } u;
    double flop;           /* floating-point operations per run; 0 where not meaningful */
    double bytes;          /* least bytes read + written per run; 0 where not meaningful */
    double items;          /* end-to-end cases: images or UAEs per run; 0 for single ops */
    char item_unit[16];    /* "images", "UAE-its" (images x attack iterations) */
    double floor_bytes;    /* uae-gen: bytes and FLOP the attack cannot avoid per run (the floor: */
    double floor_flop;     /* bench_cases.c), 0 elsewhere */
} bench_case;

enum { BENCH_MAX_SIZES = 16 };

/* Which cases to build. */
typedef struct bench_selection {
    int op;                /* a bench_op, or -1 for all */
    int64_t sizes[BENCH_MAX_SIZES]; /* nsizes > 0: only the square GEMMs of these sizes */
    int nsizes;
    int64_t batch;         /* > 0: the batch of the conv, dense-layer GEMM, mine_bound and
                              attack_step cases (default 100, 100, 64, 64) */
    int iterations;        /* > 0: attack iterations of the uae-gen cases (default 1) */
    bool quick;            /* tiny shapes, for tests */
} bench_selection;

/* Builds the list of cases; the caller frees *out. Returns the number of cases, or -1 when out
 * of memory. */
int bench_cases_build(const bench_selection *sel, bench_case **out);

/* A case made ready on one backend: its tensors (one arena) and its op. */
typedef struct bench_instance bench_instance;

/* Allocates and fills the case's tensors on be with inputs from seed. The caller owns *out
 * (bench_instance_free). */
uae_status bench_instance_create(const bench_case *c, uae_backend *be, uint64_t seed,
                                 bench_instance **out);

/* One run of the case (asynchronous on devices: the caller syncs). */
uae_status bench_instance_run(bench_instance *in);

/* Most bytes the instance's arena held. */
size_t bench_instance_arena_peak(const bench_instance *in);

/* NULL is a no-op. */
void bench_instance_free(bench_instance *in);

/* The end-to-end cases (bench_e2e.c): a model, its data and its scratch memory on a backend. */
typedef struct bench_e2e bench_e2e;
uae_status bench_e2e_create(const bench_case *c, uae_backend *be, uint64_t seed, bench_e2e **out);
uae_status bench_e2e_run(bench_e2e *e);
size_t bench_e2e_arena_peak(const bench_e2e *e);
void bench_e2e_free(bench_e2e *e); /* NULL is a no-op */

/* ---- Host: threads and the CBLAS reference (bench_host.c) ------------------------------------ */

/* Sets the number of threads of the CPU backend (OpenMP) and of the CBLAS, if any. */
void bench_set_threads(int n);

/* The number of threads the CPU backend uses now (1 without OpenMP). */
int bench_threads(void);

/* "OpenBLAS 0.3.21 (...)" or NULL when the bench was built without a CBLAS. */
const char *bench_cblas_name(void);

/* One CBLAS SGEMM of the case's shape on host arrays made by bench_cblas_create: the reference
 * column. UAE_ERR_UNSUPPORTED without a CBLAS or for a case that is not a GEMM. */
typedef struct bench_cblas bench_cblas;
uae_status bench_cblas_create(const bench_case *c, uint64_t seed, bench_cblas **out);
uae_status bench_cblas_run(bench_cblas *bc);
void bench_cblas_free(bench_cblas *bc);

/* splitmix64 uniform in [lo, hi): the inputs of every case (host side, backend-independent). */
float bench_uniform(uint64_t *state, float lo, float hi);

/* ---- Measurements and the report ------------------------------------------------------------- */

/* Timing of one thing over repeated runs after warm-up. Times are seconds per run. */
typedef struct bench_stats {
    int reps;              /* timed samples */
    int inner;             /* runs per sample (tiny ops are repeated to outlast the clock) */
    double median, min, max, q1, q3;
    double cpu_per_wall;   /* process CPU time / wall time during the samples */
    double first;          /* the very first run, untimed otherwise: includes lazy set-up such as
                              a device library compiling its kernels (0 without warm-up) */
    bool has_calls;        /* calls holds the first run's counts (a device backend, warm-up >= 1) */
    uae_backend_counters calls; /* what the first run asked of the device (uae/backend.h), the
                                   sync that ends it included; zeros on host backends */
} bench_stats;

typedef enum bench_status { BENCH_OK, BENCH_NA, BENCH_FAILED, BENCH_STATUS_COUNT } bench_status;
extern const char *const bench_status_names[BENCH_STATUS_COUNT]; /* "ok", "n/a", "failed" */

typedef struct bench_device {
    char id[64];           /* what selects it: "cpu", "ref", or the index of an OpenCL device */
    char name[192];        /* uae_backend_name */
    uae_device_info info;
    double startup_cold_s; /* uae_backend_open with an empty kernel cache */
    double startup_warm_s; /* uae_backend_open again, with the cache the first open filled */
} bench_device;

typedef struct bench_result {
    int case_index, device_index;
    int threads;           /* CPU backend threads (and the CBLAS's) during the measurement;
                              0 for other backends */
    bench_status status;
    char message[256];     /* why n/a or failed */
    bench_stats t;
    bool has_cblas;
    bench_stats cblas;     /* the CBLAS reference of the same GEMM */
    int cblas_threads;     /* the CBLAS's threads */
    uint64_t fallbacks;    /* ops run on the host instead of the device during the case */
    uint64_t maxrss_bytes; /* peak resident memory of the process so far (getrusage) */
    uint64_t arena_peak_bytes;
} bench_result;

typedef struct bench_report {
    const char *uaekit_version, *clblast_version, *cblas_name; /* NULL: none */
    char host_cpu[128];
    int host_threads;      /* threads the CPU backend used by default */
    char date[32];         /* UTC, ISO 8601 */
    char command[512];
    char env[256];         /* the thread-related environment: "OMP_NUM_THREADS=2 ..." or "" */
    double load_start, load_end; /* 1-minute load average before and after (-1: unknown) */
    int reps, warmup;
    double max_seconds;
    bool quick, scaling;
    bench_device *devices;
    int ndevices;
    bench_case *cases;
    int ncases;
    bench_result *results;
    int nresults;
} bench_report;

/* Output formats. Each writes the versions, the devices and every result. */
void bench_print_table(const bench_report *r, FILE *f);
int bench_write_csv(const bench_report *r, FILE *f);          /* CLI exit code */
int bench_write_json(const bench_report *r, FILE *f);         /* CLI exit code */
uae_status bench_write_svg(const bench_report *r, const char *path);

/* --compare A B: per case, how much faster device A is than device B (time B / time A). Returns a
 * CLI exit code (2 when A or B is not among the devices measured). */
int bench_print_compare(const bench_report *r, const char *a, const char *b, FILE *f);

/* --scaling: per case, 1 thread against n threads, for the CPU backend and the CBLAS. */
void bench_print_scaling(const bench_report *r, FILE *f);

/* The floor of each uae-gen result: its floor_bytes over the memory bandwidth of the bandwidth
 * case (same device and threads, same run) plus its floor_flop over the fastest GEMM case of the
 * run, beside the measured time and their ratio. Nothing when the run lacks those cases. */
void bench_print_floor(const bench_report *r, FILE *f);

/* Derived numbers of a result (0 when not meaningful). */
double bench_gflops(const bench_case *c, const bench_stats *s);
double bench_gbps(const bench_case *c, const bench_stats *s);
double bench_items_per_s(const bench_case *c, const bench_stats *s);
/* What the device counters of a run are divided by: attack iterations (uae-gen), optimizer steps
 * (training), else 1; *unit names it ("iteration", "step", "run"). */
double bench_call_units(const bench_case *c, const char **unit);

/* The case's headline rate for people: "93.0 GFLOP/s", "1.47 GB/s", "812 images/s". */
const char *bench_format_rate(const bench_case *c, const bench_stats *s, char *buf, size_t cap);

/* "812 us", "23.1 ms", "1.20 s". Returns buf. */
const char *bench_format_time(double seconds, char *buf, size_t cap);

#endif /* UAE_BENCH_H */
