/* backends/cpu/cpu_ctx.h — the CPU backend's context (BLIS's cntx): the instruction set chosen once
 * when the backend opens, the table of kernels written for it, the thread count, and a grow-only
 * scratch area. Every optimised op takes it: uae_<op>_omp(cpu_ctx *, const uae_op *).
 *
 * The kernel tables live in one file per instruction set, compiled with that set's flags (meson):
 * cpu_ctx.c (generic: plain C, what every processor runs), x86_avx2.c (-mavx2 -mfma),
 * x86_avx512.c (-mavx512f/bw/vl/dq -mfma). The omp_*.c files keep the partitioning of the work
 * into threads and fixed blocks and call the table for the inner loops.
 *
 * Results: on one path, the same bits for any thread count. Elementwise kernels (optimizer step,
 * attack step, normal fill) are the same C loops built for each instruction set, with no
 * contraction into FMAs (-ffp-contract=off), so they give the reference's bits on every path. The
 * GEMM and convolution kernels use FMAs and differ from the reference and from each other in
 * rounding only (checked with the NMSE table of tests/test_ops.c). */
#ifndef UAE_CPU_CTX_H
#define UAE_CPU_CTX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "backends/cpu/cpu_bufcache.h"
#include "uae/ops.h"
#include "uae/status.h"

typedef enum uae_cpu_isa {
    UAE_CPU_ISA_GENERIC, /* plain C (the compiler's baseline vectors, SSE2 on x86-64) */
    UAE_CPU_ISA_AVX2,    /* AVX2 + FMA: 16 ymm registers */
    UAE_CPU_ISA_AVX512,  /* AVX-512 F/BW/VL/DQ + FMA: 32 zmm registers */
    UAE_CPU_ISA_COUNT
} uae_cpu_isa;

/* "generic", "avx2", "avx512". */
const char *uae_cpu_isa_name(uae_cpu_isa isa);

/* Whether this processor and its operating system run the instruction set (cpuid for the
 * instructions, xgetbv for the OS saving the ymm/zmm registers) and this build has its kernels. */
bool uae_cpu_isa_supported(uae_cpu_isa isa);

/* The widest supported instruction set. */
uae_cpu_isa uae_cpu_isa_best(void);

/* Flat outputs per chunk of the direct convolution (omp_spatial.c), kept in registers across all
 * taps. */
enum { UAE_DIRECT_CHUNK = 64 };

/* An optimizer step's constants (core/pointwise_math.h). */
struct uae_optim_consts;

/* One product's operands, row-major: C = alpha * op(A) @ op(B) + beta * C (omp_gemm.h). */
typedef struct uae_sgemm_args uae_sgemm_args;

/* The kernels of one instruction set. Every slot is filled (a set without its own version of a
 * kernel points at the next narrower set's), except those whose comment says what NULL means. */
typedef struct uae_cpu_kernels {
    uae_cpu_isa isa;
    /* GEMM: register block mr x nr of the micro-kernel; cache blocks kc (the k block), mc (rows of
     * a packed A block, a multiple of mr), nc (columns of a packed B block, a multiple of nr). */
    int mr, nr, kc, mc, nc;
    /* C[0:mr_, 0:nr_] = alpha * (A sliver @ B sliver) + beta * C over kc steps (beta == 0: C not
     * read). a: kc x mr floats (k-major, packed); b: kc rows of nr floats, ldb apart (nr for a
     * packed sliver, B's own row length when the kernel reads B in place). */
    void (*gemm_ukernel)(int64_t kc, const float *restrict a, const float *restrict b,
                         int64_t ldb, float *restrict c, int64_t ldc, int mr_, int nr_,
                         float alpha, float beta);
    /* The same products as gemm_ukernel, for a large C written once and not read again soon (the
     * MINE's 24 MB weight gradients): with beta == 0, full tiles whose rows are 64-byte aligned
     * go to memory with non-temporal stores, which saves reading C's lines in first (the
     * read-for-ownership of an ordinary store) and keeps C out of the caches; other tiles as
     * gemm_ukernel. The caller (omp_gemm.c) fences the stores (sfence) before C is read. NULL:
     * gemm_ukernel. */
    void (*gemm_ukernel_stream)(int64_t kc, const float *restrict a, const float *restrict b,
                                int64_t ldb, float *restrict c, int64_t ldc, int mr_, int nr_,
                                float alpha, float beta);
    /* C = alpha * A @ B^T + beta * C for A (m, k) and B (n, k) both row-major, as dot products
     * along k (no packing): for few rows of A and long k, where packing the transpose of B would
     * cost as much as the product. NULL: the packed path does these too. Each element's sum has a
     * fixed order (independent of m, n and the threads). */
    void (*gemm_dot)(const uae_sgemm_args *g);
    /* Packs k-range [p0, p0+kc) and columns [j0, j0+nr_) of op(B) as one nr-column sliver,
     * columns past nr_ zero. */
    void (*gemm_pack_b)(const uae_sgemm_args *g, int64_t p0, int64_t kc, int64_t j0, int nr_,
                        float *restrict dst);
    /* Direct convolution (omp_spatial.c): y (nout, P, Q) = [beta*y +] bias + correlation of xp (row
     * length wp) with wt (nout, ntaps) at tap offsets off; and, for nd rows of d (nd, len),
     * out[i][t] (+)= dot(d[i], xp + off[t]) over len (a multiple of 32), out (nd, ntaps). Each
     * output's sum has a fixed order, whatever rows and taps a kernel computes together. */
    /* Stride-1 convolutions with at most this many filters run direct (conv_correlate,
     * conv_dots), others as im2col + GEMM (omp_spatial.c). */
    int conv_direct_max_k;
    void (*conv_correlate)(const float *xp, int64_t wp, int64_t nout, const float *wt,
                           int64_t ntaps, const int64_t *off, const float *bias, float beta,
                           float *y, int64_t P, int64_t Q);
    void (*conv_dots)(const float *d, int64_t nd, int64_t len, const float *xp,
                      const int64_t *off, int64_t ntaps, bool accumulate, float *out);
    /* Elementwise: y[i] = normal (Philox) for i in [i0, i1); one optimizer update of rows x n
     * parameters with the constants c (uae_optim_consts_of), the gradient's rows ldg apart and
     * the parameters' and states' ldp apart (s1/s2 NULL when the optimizer has no such state;
     * a flat tensor is one row, a GEMM tile fused with the step MR rows); one attack step of n
     * elements with the learning rate lr (xadv may be NULL). */
    void (*rng_normal)(float *restrict y, int64_t i0, int64_t i1, const uae_rng_params *p);
    void (*optim)(uae_optim_fn fn, const struct uae_optim_consts *c, int64_t rows, int64_t n,
                  const float *g, int64_t ldg, float *p, float *s1, float *s2, int64_t ldp);
    void (*attack)(const uae_attack_params *a, float lr, const float *x, const float *g,
                   float *delta, float *xadv, int64_t n);
} uae_cpu_kernels;

/* The tables (NULL-free); the x86 ones exist only in builds with UAE_CPU_X86_KERNELS. */
extern const uae_cpu_kernels uae_cpu_kernels_generic;
extern const uae_cpu_kernels uae_cpu_kernels_avx2;
extern const uae_cpu_kernels uae_cpu_kernels_avx512;

typedef struct cpu_ctx {
    bool reference;             /* the "ref" backend: every op by its scalar reference */
    uae_cpu_isa isa;
    const uae_cpu_kernels *k;
    int threads;                /* 0: OpenMP's default at each call (omp_get_max_threads) */
    float *scratch;             /* grow-only, 64-byte aligned; owned */
    size_t scratch_bytes;
    cpu_bufcache bufs;          /* the backend's buffers: large ones kept for reuse when freed */
    struct uae_cpu_opstats *stats; /* per-op timing ($UAE_CPU_OPSTATS, cpu_opstats.h); NULL: off.
                                    * Owned by the backend (cpu_backend.c) */
} cpu_ctx;

/* Fills ctx for the instruction set `isa` (must be supported) and `threads` (0: OpenMP's
 * default). No scratch yet. For tests that run an op on every path; the backend uses
 * uae_cpu_ctx_open. */
void uae_cpu_ctx_init(cpu_ctx *ctx, uae_cpu_isa isa, int threads);

/* Fills ctx as the backend opens: the instruction set from $UAE_CPU_ISA (generic|avx2|avx512;
 * unset, empty or "auto": the widest supported; the older UAE_CPU_NOSIMD=1 means generic).
 * UAE_ERR_UNSUPPORTED when the named set is not supported here, UAE_ERR_INVALID for an unknown
 * name. */
uae_status uae_cpu_ctx_open(cpu_ctx *ctx, int threads);

/* Frees the scratch and the kept buffers (not ctx itself). */
void uae_cpu_ctx_release(cpu_ctx *ctx);

/* Threads for the next parallel region. */
int uae_cpu_ctx_threads(const cpu_ctx *ctx);

/* Threads for the parallel loops of one elementwise, reduction or pooling op: 1 when its tensors
 * hold fewer than UAE_CPU_PAR_MIN_FLOATS floats in all, else uae_cpu_ctx_threads. A parallel
 * region costs microseconds on idle cores and, on a busy machine, up to a time slice whenever
 * one of its threads is descheduled: the attack runs hundreds of tiny ops (biases, per-sample
 * scores) per MINE step. Which thread computes an element never changes its bits. */
int uae_cpu_ctx_threads_for(const cpu_ctx *ctx, const uae_op *op);
enum { UAE_CPU_PAR_MIN_FLOATS = 1 << 15 };

/* A host buffer of `bytes` (rounded up), 64-byte aligned; free() frees it. NULL when out of
 * memory. Buffers of at least UAE_CPU_HUGE_MIN_BYTES are aligned to 2 MiB, sized in 2 MiB steps
 * and advised as transparent huge pages (Linux: madvise MADV_HUGEPAGE; a hint, ignored where the
 * system does not do it): the MINE's parameters, gradients and moments (hundreds of MB per image,
 * new for every attack run) are then touched first in 2 MiB faults instead of 4 KiB ones, and
 * their streams miss the TLB 512 times less often. */
void *uae_cpu_host_alloc(size_t bytes);
enum { UAE_CPU_HUGE_MIN_BYTES = 4 << 20 };

/* At least `bytes` of 64-byte aligned scratch, owned by ctx, valid until the next call on ctx
 * (its contents are not kept). Grows, never shrinks. UAE_ERR_NOMEM when it cannot grow. Not for
 * use by two ops at once: one backend runs one op at a time. */
uae_status uae_cpu_scratch(cpu_ctx *ctx, size_t bytes, float **out);

#endif
