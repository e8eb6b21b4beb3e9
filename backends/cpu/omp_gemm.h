/* backends/cpu/omp_gemm.h — the CPU backend's single-precision GEMM, for use by other host kernels
 * (the convolutions in omp_spatial.c). Private to backends/cpu; the op-level entry point is
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

#include "backends/cpu/cpu_ctx.h"
#include "uae/status.h"

/* An OpenMP directive that disappears (without an unknown-pragma warning) in builds without
 * OpenMP: UAE_OMP(omp parallel for schedule(static)). */
#ifdef _OPENMP
#define UAE_OMP(...) _Pragma(#__VA_ARGS__)
#else
#define UAE_OMP(...)
#endif

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
    /* C is large and written once (set by the drivers in omp_gemm.c): with beta == 0 and k in
     * one block, its tiles go to memory with non-temporal stores (gemm_ukernel_stream); the
     * same bits. */
    bool stream_c;
    /* An optimizer step fused into the product (UAE_OP_GEMM_OPTIM), or NULL: the product is the
     * gradient of the parameters at c, with states s1 and s2 laid out like c (NULL where the
     * optimizer has none); the product goes from the micro-kernel through the step (the kernel
     * table's optim) in cache-sized bands, and is never stored. Needs beta == 0, k in one block
     * and no gemm_dot (uae_sgemm_fuses), and more scratch than uae_sgemm_scratch_floats says: only
     * the op's drivers in omp_gemm.c set it. */
    const struct uae_optim_consts *optim;
    uae_optim_fn optim_fn;
    float *s1, *s2;
} uae_sgemm_args;

/* Whether the kernels k compute the product g with an optimizer step fused into its tiles (the
 * blocked path with one k block): else it must be computed whole first. */
bool uae_sgemm_fuses(const uae_cpu_kernels *k, const uae_sgemm_args *g);

/* Floats of scratch that uae_sgemm_serial needs for these sizes with these kernels (the packed
 * panels of A and B). */
size_t uae_sgemm_scratch_floats(const uae_cpu_kernels *k, int64_t m, int64_t n, int64_t kk);

/* Computes one product on the calling thread with the kernels k. scratch holds
 * uae_sgemm_scratch_floats(k, m, n, k) floats, 64-byte aligned (not owned; its contents on return
 * are unspecified). Safe to call from inside an OpenMP parallel region, one product per thread. */
void uae_sgemm_serial(const uae_cpu_kernels *k, const uae_sgemm_args *g, float *scratch);

/* Computes one product with up to `threads` OpenMP threads (fewer for small products). Call it
 * from outside any parallel region. Its scratch is ctx's (uae_cpu_scratch), or, with ctx NULL, an
 * allocation of its own. UAE_ERR_NOMEM if that fails. */
uae_status uae_sgemm_parallel(cpu_ctx *ctx, const uae_cpu_kernels *k, const uae_sgemm_args *g,
                              int threads);

/* The plain C parts the instruction-set files fall back on: packing of a B sliver NR columns wide
 * (columns past nr zero), and the write of an MR x NR tile of products ab (row length NR) into C
 * for partial tiles: c = alpha*ab [+ beta*c], separately rounded, as every micro-kernel does. */
void uae_gemm_pack_b_c(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr,
                       int NR, float *restrict dst);
void uae_gemm_tile_update(const float *ab, int NR, float *c, int64_t ldc, int mr, int nr,
                          float alpha, float beta);

#endif
