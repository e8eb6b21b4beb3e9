/* apps/cli_selftest.c — `uae selftest`: runs a few ops (fill, gemm, tanh, uniform random numbers)
 * on the chosen device and on the scalar reference backend, and compares the results.
 * A quick "does this device compute correctly" check for users; the full op test is tests/. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "uae/ops.h"

enum { N_ELEMS = 1031 };                 /* odd, so that vectorised code has a tail */
enum { GEMM_M = 17, GEMM_K = 29, GEMM_N = 13 };

/* Host inputs: splitmix64, uniform in [lo, hi). Only the inputs come from here; what is compared
 * is computed by the backends. */
static float host_uniform(uint64_t *state, float lo, float hi) {
    uint64_t z = (*state += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    return lo + (hi - lo) * (float)(z >> 40) * (1.0f / 16777216.0f);
}

/* One check: builds its inputs from the seed on arena a's backend, runs the op, and reads n
 * results into out. */
typedef uae_status (*case_run_fn)(uae_arena *a, uint64_t seed, float *out);

/* Tolerance for each of the n results, from the same seed (NULL tolerance function: exact). */
typedef void (*case_tol_fn)(uint64_t seed, float *tol);

typedef struct selftest_case {
    const char *name;
    const char *shape;
    int64_t n;
    case_run_fn run;
    case_tol_fn tol;  /* NULL: the results must be bit-identical */
    float abs_tol;    /* used when tol is NULL and abs_tol > 0 */
} selftest_case;

static uae_status run_fill(uae_arena *a, uint64_t seed, float *out) {
    (void)seed;
    uae_tensor t;
    UAE_TRY(uae_arena_tensor1(a, N_ELEMS, &t));
    UAE_TRY(uae_fill(&t, 0.375f));
    return uae_tensor_read(&t, out);
}

static void gemm_inputs(uint64_t seed, float *a, float *b) {
    uint64_t s = seed;
    for (int i = 0; i < GEMM_M * GEMM_K; i++) a[i] = host_uniform(&s, -1, 1);
    for (int i = 0; i < GEMM_K * GEMM_N; i++) b[i] = host_uniform(&s, -1, 1);
}

static uae_status run_gemm(uae_arena *ar, uint64_t seed, float *out) {
    float a[GEMM_M * GEMM_K], b[GEMM_K * GEMM_N];
    gemm_inputs(seed, a, b);
    uae_tensor ta, tb, tc;
    UAE_TRY(uae_arena_tensor2(ar, GEMM_M, GEMM_K, &ta));
    UAE_TRY(uae_arena_tensor2(ar, GEMM_K, GEMM_N, &tb));
    UAE_TRY(uae_arena_tensor2(ar, GEMM_M, GEMM_N, &tc));
    UAE_TRY(uae_tensor_write(&ta, a));
    UAE_TRY(uae_tensor_write(&tb, b));
    UAE_TRY(uae_gemm(false, false, 1.0f, &ta, &tb, 0.0f, &tc));
    return uae_tensor_read(&tc, out);
}

/* A sum of k products computed in two different orders (or with and without FMA) can differ by
 * up to about 2 * k * u * sum |a_il * b_lj|, u = 2^-24 the unit roundoff of float (the standard
 * bound for recursive summation, once for each side). Per element, from the actual inputs. */
static void gemm_tol(uint64_t seed, float *tol) {
    float a[GEMM_M * GEMM_K], b[GEMM_K * GEMM_N];
    gemm_inputs(seed, a, b);
    const double u = ldexp(1.0, -24);
    for (int i = 0; i < GEMM_M; i++)
        for (int j = 0; j < GEMM_N; j++) {
            double s = 0;
            for (int l = 0; l < GEMM_K; l++) s += fabs((double)a[i * GEMM_K + l] * b[l * GEMM_N + j]);
            tol[i * GEMM_N + j] = (float)(2.0 * GEMM_K * u * s);
        }
}

static uae_status run_tanh(uae_arena *a, uint64_t seed, float *out) {
    float x[N_ELEMS];
    uint64_t s = seed;
    for (int i = 0; i < N_ELEMS; i++) x[i] = host_uniform(&s, -4, 4);
    uae_tensor tx, ty;
    UAE_TRY(uae_arena_tensor1(a, N_ELEMS, &tx));
    UAE_TRY(uae_arena_tensor1(a, N_ELEMS, &ty));
    UAE_TRY(uae_tensor_write(&tx, x));
    UAE_TRY(uae_unary(UAE_UNARY_TANH, 0, 0, &tx, &ty));
    return uae_tensor_read(&ty, out);
}

static uae_status run_rng(uae_arena *a, uint64_t seed, float *out) {
    uae_tensor t;
    UAE_TRY(uae_arena_tensor1(a, N_ELEMS, &t));
    UAE_TRY(uae_rng_fill(UAE_RNG_UNIFORM, seed, 0, 0, 0.0f, 1.0f, &t));
    return uae_tensor_read(&t, out);
}

static const selftest_case cases[] = {
    /* A constant is a constant: exact. */
    {"fill", "1031", N_ELEMS, run_fill, NULL, 0},
    {"gemm", "17x29 * 29x13", GEMM_M * GEMM_N, run_gemm, gemm_tol, 0},
    /* |tanh| < 1, so one ulp is at most 2^-24 ~ 6e-8; OpenCL allows 5 ulp for tanh and glibc's
     * tanhf is within 2: 1e-6 (about 16 ulp) leaves margin without hiding a wrong formula. */
    {"tanh", "1031", N_ELEMS, run_tanh, NULL, 1e-6f},
    /* The counter-based RNG gives identical streams on every backend (uae/ops.h): exact. */
    {"rng", "1031 uniform", N_ELEMS, run_rng, NULL, 0},
};

enum outcome { OUTCOME_OK, OUTCOME_FAIL, OUTCOME_NA, OUTCOME_COUNT };
static const char *const outcome_names[] = {"OK", "FAIL", "N/A"};
_Static_assert(sizeof outcome_names / sizeof outcome_names[0] == OUTCOME_COUNT, "one name each");

/* Runs one case on be into out; "N/A" when the backend does not have the op yet. */
static enum outcome run_on(const selftest_case *c, uae_backend *be, uint64_t seed, float *out,
                           char *msg, size_t cap) {
    uae_arena *a = NULL;
    /* Room for the largest case (gemm: 17*29 + 29*13 + 17*13 floats) with plenty to spare. */
    uae_status st = uae_arena_create(be, 1 << 14, &a);
    if (st == UAE_OK) st = c->run(a, seed, out);
    if (st == UAE_OK) st = uae_backend_sync(be);
    uae_arena_free(a);
    if (st == UAE_OK) return OUTCOME_OK;
    snprintf(msg, cap, "%s: %s", uae_backend_kind(be), uae_last_error());
    return st == UAE_ERR_UNSUPPORTED ? OUTCOME_NA : OUTCOME_FAIL;
}

static enum outcome compare(const selftest_case *c, uint64_t seed, const float *got,
                            const float *want, char *msg, size_t cap) {
    float *tol = calloc((size_t)c->n, sizeof *tol);
    if (!tol) {
        snprintf(msg, cap, "out of memory");
        return OUTCOME_FAIL;
    }
    if (c->tol) c->tol(seed, tol);
    else
        for (int64_t i = 0; i < c->n; i++) tol[i] = c->abs_tol;
    double max_diff = 0, max_ratio = 0; /* largest |diff|, and largest |diff| / tolerance */
    int64_t bad = -1;
    for (int64_t i = 0; i < c->n; i++) {
        bool nan_g = isnan(got[i]), nan_w = isnan(want[i]);
        if (nan_g || nan_w) {
            if (nan_g != nan_w && bad < 0) bad = i;
            continue;
        }
        double d = fabs((double)got[i] - (double)want[i]);
        if (d > max_diff) max_diff = d;
        if (tol[i] > 0 && d / tol[i] > max_ratio) max_ratio = d / tol[i];
        if (d > tol[i] && bad < 0) bad = i;
    }
    if (bad >= 0)
        snprintf(msg, cap, "element %lld: %.9g, reference %.9g (tolerance %.3g)", (long long)bad,
                 got[bad], want[bad], tol[bad]);
    else if (c->tol || c->abs_tol > 0)
        snprintf(msg, cap, "max |diff| %.3g, at most %.0f%% of the tolerance", max_diff,
                 100 * max_ratio);
    else
        snprintf(msg, cap, "bit-identical");
    free(tol);
    return bad >= 0 ? OUTCOME_FAIL : OUTCOME_OK;
}

static int run_selftest(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, NULL);
    for (int c; (c = cli_next(&p)) != -1;)
        if (c == CLI_STOP) return p.exit_code;
    if (cli_check_positional(&p, 0) != CLI_EXIT_OK) return CLI_EXIT_USAGE;

    uae_backend *dev = NULL, *ref = NULL;
    int rc = cli_open_device(cmd, g, &dev);
    if (rc != CLI_EXIT_OK) return rc;
    if (uae_backend_open("ref", &ref) != UAE_OK) {
        fprintf(stderr, "uae selftest: %s\n", uae_last_error());
        uae_backend_free(dev);
        return CLI_EXIT_FAILURE;
    }
    if (!g->quiet)
        printf("uae selftest: %s against the reference, seed %llu\n", uae_backend_name(dev),
               (unsigned long long)g->seed);

    int counts[OUTCOME_COUNT] = {0};
    enum { N_CASES = sizeof cases / sizeof cases[0] };
    for (int i = 0; i < N_CASES; i++) {
        const selftest_case *c = &cases[i];
        float *got = calloc((size_t)c->n, sizeof *got), *want = calloc((size_t)c->n, sizeof *want);
        char msg[1024] = "out of memory";
        enum outcome o = OUTCOME_FAIL;
        if (got && want) {
            o = run_on(c, ref, g->seed, want, msg, sizeof msg);
            if (o == OUTCOME_OK) o = run_on(c, dev, g->seed, got, msg, sizeof msg);
            if (o == OUTCOME_OK) o = compare(c, g->seed, got, want, msg, sizeof msg);
        }
        counts[o]++;
        if (!g->quiet || o == OUTCOME_FAIL)
            printf("  %-5s %-14s %-4s  %s\n", c->name, c->shape, outcome_names[o], msg);
        free(got);
        free(want);
    }
    uae_backend_free(ref);
    uae_backend_free(dev);

    printf("selftest: %d OK, %d FAIL, %d not available\n", counts[OUTCOME_OK],
           counts[OUTCOME_FAIL], counts[OUTCOME_NA]);
    if (counts[OUTCOME_FAIL]) return CLI_EXIT_FAILURE;
    if (counts[OUTCOME_NA]) return CLI_EXIT_UNAVAILABLE;
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_selftest = {
    .name = "selftest",
    .summary = "check a few ops on a device against the reference backend",
    .usage = "selftest [--device SPEC] [--seed N]",
    .help = "Runs fill, a small matrix product (17x29 * 29x13), tanh and uniform random numbers\n"
            "on the chosen device and on the scalar reference backend \"ref\", and compares the\n"
            "results: exactly for fill and the random numbers, within a rounding bound for the\n"
            "others. Prints one line per op (OK, FAIL or N/A) and a summary.\n\n"
            "Exit status: 0 all OK, 1 an op failed or gave a wrong result, 3 an op is not\n"
            "available yet on this device or on the reference (and none failed).\n\n"
            "Options: only the global ones.\n",
    .run = run_selftest,
};
