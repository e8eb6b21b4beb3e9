/* backends/cpu/omp_gemm.h — the CPU backend's single-precision GEMM, for use by other host kernels
 * (the convolutions in omp_conv.c). Private to backends/cpu; the op-level entry point is
 * uae_gemm_omp in cpu_ops.h.
 *
 * The result bits depend only on the operands, never on the number of threads or on which of the
 * two entry points below computed them: every element of C is produced by one micro-kernel that
 * sums over k in blocks of a fixed size, in a fixed order. */
#ifndef UAE_OMP_GEMM_H
#define UAE_OMP_GEMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uae/status.h"

/* An OpenMP directive that disappears (without an unknown-pragma warning) in builds without
 * OpenMP: UAE_OMP(omp parallel for schedule(static)). */
#ifdef _OPENMP
#define UAE_OMP(...) _Pragma(#__VA_ARGS__)
#else
#define UAE_OMP(...)
#endif

/* Whether the host kernels may use their AVX2+FMA versions: the processor has both, and the
 * environment variable UAE_CPU_NOSIMD is unset, empty or "0" (set it to test or debug the plain C
 * versions, which every processor runs). Read on every call; results differ in rounding between the
 * two versions, never between runs or thread counts. */
bool uae_cpu_use_avx2(void);

/* C = alpha * op(A) @ op(B) + beta * C for one row-major matrix product. C is (m, n), op(A) is
 * (m, k), op(B) is (k, n); lda/ldb/ldc are the actual row lengths of the stored A, B, C (never 0).
 * With beta == 0, C is not read. */
typedef struct uae_sgemm_args {
    bool trans_a, trans_b;
    int64_t m, n, k;
    float alpha;
    const float *a;
    int64_t lda;
    const float *b;
    int64_t ldb;
    float beta;
    float *c;
    int64_t ldc;
} uae_sgemm_args;

/* Floats of scratch that uae_sgemm_serial needs for these sizes (the packed panels of A and B). */
size_t uae_sgemm_scratch_floats(int64_t m, int64_t n, int64_t k);

/* Computes one product on the calling thread. scratch holds uae_sgemm_scratch_floats(m, n, k)
 * floats, 32-byte aligned (not owned; its contents on return are unspecified). Safe to call from
 * inside an OpenMP parallel region, one product per thread. */
void uae_sgemm_serial(const uae_sgemm_args *g, float *scratch);

/* Computes one product with up to `threads` OpenMP threads (fewer for small products). Call it
 * from outside any parallel region. Allocates its scratch: UAE_ERR_NOMEM if that fails. */
uae_status uae_sgemm_parallel(const uae_sgemm_args *g, int threads);

#endif
