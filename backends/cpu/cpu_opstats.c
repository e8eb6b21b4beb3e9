/* backends/cpu/cpu_opstats.c — where the CPU backend's time goes, op by op (cpu_opstats.h). */
#include "backends/cpu/cpu_opstats.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define OP_NAME(kind, stem) [kind] = #stem,
static const char *const op_names[] = {UAE_CPU_OP_LIST(OP_NAME)};
_Static_assert(sizeof op_names / sizeof op_names[0] == UAE_OP_COUNT, "one name per op");

/* Size classes by the floats an op's tensors hold: under UAE_CPU_PAR_MIN_FLOATS (elementwise ops
 * then run on one thread), under 2^20, and more. GEMMs also by form. */
enum { SIZE_SMALL, SIZE_MID, SIZE_LARGE, SIZE_COUNT };
static const char *const size_names[] = {"small", "mid", "large"};
_Static_assert(sizeof size_names / sizeof size_names[0] == SIZE_COUNT, "one name per size");
enum { GEMM_AB, GEMM_ABT, GEMM_ATB, GEMM_ATBT, GEMM_FORM_COUNT };
static const char *const form_names[] = {"A.B", "A.B^T", "A^T.B", "A^T.B^T"};
_Static_assert(sizeof form_names / sizeof form_names[0] == GEMM_FORM_COUNT, "one name per form");

typedef struct cell {
    int64_t calls;
    double wall, cpu; /* seconds: elapsed, and CPU time of the whole process (all threads) */
} cell;

/* One table per thread count (uae-bench --scaling runs one backend with 1, then 2 threads);
 * counts above MAX_THREADS share the last. */
enum { MAX_THREADS = 16 };

typedef struct table {
    cell op[UAE_OP_COUNT][SIZE_COUNT];
    cell gemm[GEMM_FORM_COUNT][SIZE_COUNT];
} table;

struct uae_cpu_opstats {
    char *path;
    table t[MAX_THREADS];
};

uae_cpu_opstats *uae_cpu_opstats_open(void) {
    const char *path = getenv("UAE_CPU_OPSTATS");
    if (!path || !*path) return NULL;
    uae_cpu_opstats *s = calloc(1, sizeof *s);
    size_t len = strlen(path) + 1;
    char *copy = malloc(len);
    if (!s || !copy) { /* statistics are optional: without memory, none */
        free(s);
        free(copy);
        return NULL;
    }
    memcpy(copy, path, len);
    s->path = copy;
    return s;
}

static double seconds(clockid_t clock) {
    struct timespec ts;
    clock_gettime(clock, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

uae_status uae_cpu_opstats_run(uae_cpu_opstats *s, cpu_ctx *ctx, const uae_op *op,
                               uae_cpu_omp_fn fn) {
    int64_t floats = 0;
    for (int i = 0; i < UAE_OP_MAX_SRC; i++)
        if (op->src[i]) floats += uae_tensor_numel(op->src[i]);
    for (int i = 0; i < UAE_OP_MAX_DST; i++)
        if (op->dst[i]) floats += uae_tensor_numel(op->dst[i]);
    int size = floats < UAE_CPU_PAR_MIN_FLOATS ? SIZE_SMALL
               : floats < ((int64_t)1 << 20)   ? SIZE_MID
                                               : SIZE_LARGE;
    double w0 = seconds(CLOCK_MONOTONIC), c0 = seconds(CLOCK_PROCESS_CPUTIME_ID);
    uae_status st = fn(ctx, op);
    double wall = seconds(CLOCK_MONOTONIC) - w0, cpu = seconds(CLOCK_PROCESS_CPUTIME_ID) - c0;
    int threads = uae_cpu_ctx_threads(ctx);
    table *t = &s->t[(threads < MAX_THREADS ? threads : MAX_THREADS) - 1];
    cell *c = &t->op[op->kind][size];
    c->calls++;
    c->wall += wall;
    c->cpu += cpu;
    if (op->kind == UAE_OP_GEMM) {
        c = &t->gemm[(op->p.gemm.trans_a ? 2 : 0) + (op->p.gemm.trans_b ? 1 : 0)][size];
        c->calls++;
        c->wall += wall;
        c->cpu += cpu;
    }
    return st;
}

void uae_cpu_opstats_close(uae_cpu_opstats *s, const cpu_ctx *ctx) {
    if (!s) return;
    FILE *f = fopen(s->path, "a");
    for (int n = 0; f && n < MAX_THREADS; n++) {
        const table *t = &s->t[n];
        double total = 0.0;
        int64_t calls = 0;
        for (int k = 0; k < UAE_OP_COUNT; k++)
            for (int z = 0; z < SIZE_COUNT; z++) {
                total += t->op[k][z].wall;
                calls += t->op[k][z].calls;
            }
        if (!calls) continue;
        fprintf(f, "# uaekit cpu backend, %s kernels, %s%d threads: %.3f s in ops\n",
                uae_cpu_isa_name(ctx->isa), n + 1 == MAX_THREADS ? ">= " : "", n + 1, total);
        fprintf(f, "%-18s %-6s %9s %10s %10s %6s\n", "op", "size", "calls", "wall s", "cpu s",
                "wall %");
        for (int k = 0; k < UAE_OP_COUNT; k++)
            for (int z = 0; z < SIZE_COUNT; z++) {
                const cell *c = &t->op[k][z];
                if (!c->calls) continue;
                fprintf(f, "%-18s %-6s %9lld %10.4f %10.4f %6.1f\n", op_names[k], size_names[z],
                        (long long)c->calls, c->wall, c->cpu, 100.0 * c->wall / total);
            }
        for (int g = 0; g < GEMM_FORM_COUNT; g++)
            for (int z = 0; z < SIZE_COUNT; z++) {
                const cell *c = &t->gemm[g][z];
                if (!c->calls) continue;
                fprintf(f, "gemm %-13s %-6s %9lld %10.4f %10.4f %6.1f\n", form_names[g],
                        size_names[z], (long long)c->calls, c->wall, c->cpu,
                        100.0 * c->wall / total);
            }
    }
    if (f) fclose(f);
    free(s->path);
    free(s);
}
