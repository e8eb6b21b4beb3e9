/* apps/bench_host.c — the host-side knobs of uae-bench: the number of CPU threads, and the CBLAS
 * (OpenBLAS) SGEMM that the GEMM cases show as a reference column. The only #ifs of the bench
 * live here; the library never links a CBLAS (meson gives it to this executable alone). */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "bench_config.h"

#ifdef _OPENMP
#include <omp.h>
#endif

#if UAE_BENCH_CBLAS
#include <cblas.h>
#endif

void bench_set_threads(int n) {
    /* OpenMP's default on this (the main) thread: what a "cpu" device opened without a count
     * ("cpu", not "cpu:N") uses in the parallel regions it starts from here. */
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
#if UAE_BENCH_OPENBLAS
    openblas_set_num_threads(n);
#endif
}

int bench_threads(void) {
#ifdef _OPENMP
    return omp_get_max_threads();
#else
    return 1;
#endif
}

const char *bench_cblas_name(void) {
#if UAE_BENCH_OPENBLAS
    /* openblas_get_config(): "OpenBLAS 0.3.21 DYNAMIC_ARCH NO_AFFINITY Zen MAX_THREADS=64". */
    return openblas_get_config();
#elif UAE_BENCH_CBLAS
    return "CBLAS (" UAE_BENCH_CBLAS_VERSION ")";
#else
    return NULL;
#endif
}

struct bench_cblas {
    uae_gemm_params g;
    float *a, *b, *c;
};

void bench_cblas_free(bench_cblas *bc) {
    if (!bc) return;
    free(bc->a);
    free(bc->b);
    free(bc->c);
    free(bc);
}

uae_status bench_cblas_create(const bench_case *c, uint64_t seed, bench_cblas **out) {
    *out = NULL;
    if (!bench_cblas_name()) return uae_fail(UAE_ERR_UNSUPPORTED, "bench: built without a CBLAS");
    if (c->op != BENCH_OP_GEMM && c->op != BENCH_OP_GEMM_BATCHED)
        return uae_fail(UAE_ERR_UNSUPPORTED, "bench: the CBLAS reference is for GEMM cases only");
    bench_cblas *bc = calloc(1, sizeof *bc);
    if (!bc) return uae_fail(UAE_ERR_NOMEM, "bench: out of host memory");
    bc->g = c->u.gemm;
    const uae_gemm_params *g = &bc->g;
    size_t na = (size_t)(g->batch * g->m * g->k), nb = (size_t)(g->batch * g->k * g->n),
           ncc = (size_t)(g->batch * g->m * g->n);
    /* 64-byte alignment, like the CPU backend's buffers, so that neither side is favoured. */
    bc->a = aligned_alloc(64, (na * sizeof(float) + 63) / 64 * 64);
    bc->b = aligned_alloc(64, (nb * sizeof(float) + 63) / 64 * 64);
    bc->c = aligned_alloc(64, (ncc * sizeof(float) + 63) / 64 * 64);
    if (!bc->a || !bc->b || !bc->c) {
        bench_cblas_free(bc);
        return uae_fail(UAE_ERR_NOMEM, "bench: out of host memory for the CBLAS reference");
    }
    uint64_t s = seed;
    for (size_t i = 0; i < na; i++) bc->a[i] = bench_uniform(&s, -1, 1);
    for (size_t i = 0; i < nb; i++) bc->b[i] = bench_uniform(&s, -1, 1);
    memset(bc->c, 0, ncc * sizeof(float));
    *out = bc;
    return UAE_OK;
}

uae_status bench_cblas_run(bench_cblas *bc) {
#if UAE_BENCH_CBLAS
    const uae_gemm_params *g = &bc->g;
    /* Tight row-major operands, as bench_cases.c makes them for the backends. */
    int m = (int)g->m, n = (int)g->n, k = (int)g->k;
    int lda = g->trans_a ? m : k, ldb = g->trans_b ? k : n, ldc = n;
    for (int64_t i = 0; i < g->batch; i++)
        cblas_sgemm(CblasRowMajor, g->trans_a ? CblasTrans : CblasNoTrans,
                    g->trans_b ? CblasTrans : CblasNoTrans, m, n, k, g->alpha,
                    bc->a + i * g->m * g->k, lda, bc->b + i * g->k * g->n, ldb, g->beta,
                    bc->c + i * g->m * g->n, ldc);
    return UAE_OK;
#else
    (void)bc;
    return uae_fail(UAE_ERR_UNSUPPORTED, "bench: built without a CBLAS");
#endif
}
