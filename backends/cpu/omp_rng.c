/* backends/cpu/omp_rng.c — OpenMP versions of UAE_OP_RNG and UAE_OP_PERMUTATION. Every element is a
 * function of its index alone, so any split of the work gives the reference's bits; the speed-ups
 * are threads and computing each Philox block once for its four uniforms. */
#if defined(__GNUC__) && !defined(__clang__)
/* GCC vectorises the NORMAL loop below only without trapping math (clang's default): the branches
 * of the portable log and cos then become selects, which evaluate both sides. That changes no
 * result: no float operation here can trap, no flag is read, and the operations and their order
 * stay as written (no reassociation, no contraction). It must precede the includes, as
 * functions with different optimisation settings are not inlined into each other. */
#pragma GCC optimize("no-trapping-math")
#endif
#include "backends/cpu/cpu_ops.h"
#include "backends/cpu/omp_gemm.h"
#include "core/philox.h"

/* Elements per parallel task: large enough to amortise scheduling, small enough to balance. */
#define RNG_CHUNK 4096

/* NORMAL elements [i0, i1): y[i] = uae_philox_normal(.., counter + i, ..). GCC vectorises the
 * loop (SSE2: 4 lanes); element by element it costs about 100 cycles (Philox's 10 rounds, log,
 * sqrt, cos). */
static void normal_run(float *restrict y, int64_t i0, int64_t i1, const uae_rng_params *p) {
    for (int64_t i = i0; i < i1; i++)
        y[i] = uae_philox_normal(p->seed, p->stream, p->counter + (uint64_t)i, p->a, p->b);
}

#if defined(__GNUC__) && !defined(__clang__) && (defined(__x86_64__) || defined(__i386__))
/* The same loop in AVX2 registers (8 lanes). Each lane does the same +, -, * and integer
 * operations in the same order, so the bits are the scalar code's (no FMA: -ffp-contract=off, and
 * the target is "avx2" without "fma"); tests/test_rng.c compares the op with the reference
 * backend bit for bit. */
#define RNG_NORMAL_AVX2 1
__attribute__((target("avx2"))) static void
normal_run_avx2(float *restrict y, int64_t i0, int64_t i1, const uae_rng_params *p) {
    const uint64_t seed = p->seed, stream = p->stream, counter = p->counter;
    const float mean = p->a, std = p->b;
    UAE_OMP(omp simd)
    for (int64_t i = i0; i < i1; i++)
        y[i] = uae_philox_normal(seed, stream, counter + (uint64_t)i, mean, std);
}
#else
#define RNG_NORMAL_AVX2 0
#endif

uae_status uae_rng_omp(const uae_op *op) {
    const uae_rng_params *p = &op->p.rng;
    float *y = uae_cpu_data(op->dst[0]); /* (numel) */
    int64_t n = uae_tensor_numel(op->dst[0]);
    int64_t chunks = (n + RNG_CHUNK - 1) / RNG_CHUNK;
    bool avx2 = RNG_NORMAL_AVX2 && p->dist == UAE_RNG_NORMAL && uae_cpu_use_avx2();
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t c = 0; c < chunks; c++) {
        int64_t end = (c + 1) * RNG_CHUNK < n ? (c + 1) * RNG_CHUNK : n;
        if (p->dist == UAE_RNG_NORMAL) {
#if RNG_NORMAL_AVX2
            if (avx2) {
                normal_run_avx2(y, c * RNG_CHUNK, end, p);
                continue;
            }
#endif
            normal_run(y, c * RNG_CHUNK, end, p);
            continue;
        }
        /* UNIFORM: element j is word j & 3 of block j >> 2; a new block is needed at the start of
         * the chunk and whenever j crosses a multiple of 4. */
        float scale = p->b - p->a;
        uae_philox4 block = {{0, 0, 0, 0}};
        for (int64_t i = c * RNG_CHUNK; i < end; i++) {
            uint64_t j = p->counter + (uint64_t)i;
            if (i == c * RNG_CHUNK || (j & 3) == 0)
                block = uae_philox_stream_block(p->seed, p->stream, j >> 2);
            y[i] = p->a + scale * uae_philox_unit(block.v[j & 3]); /* = uae_philox_uniform */
        }
    }
    return UAE_OK;
}

uae_status uae_permutation_omp(const uae_op *op) {
    const uae_rng_params *p = &op->p.rng;
    const uae_tensor *dst = op->dst[0];
    int64_t rows = dst->shape[0], n = dst->shape[1];
    /* Rows are independent (stream + r each); within a row Fisher-Yates is sequential. */
#ifdef _OPENMP
#pragma omp parallel for schedule(static)
#endif
    for (int64_t r = 0; r < rows; r++) {
        float *perm = uae_cpu_data(dst) + r * n; /* (n) */
        uint64_t stream = p->stream + (uint64_t)r;
        for (int64_t i = 0; i < n; i++) perm[i] = (float)i;
        uae_philox4 block = {{0, 0, 0, 0}};
        for (int64_t i = n - 1; i >= 1; i--) {
            uint64_t j = p->counter + (uint64_t)(n - 1 - i); /* word k = n-1-i of the row */
            if (i == n - 1 || (j & 3) == 0) block = uae_philox_stream_block(p->seed, stream, j >> 2);
            int64_t k = uae_philox_below(block.v[j & 3], (uint32_t)(i + 1));
            float tmp = perm[i];
            perm[i] = perm[k];
            perm[k] = tmp;
        }
    }
    return UAE_OK;
}
