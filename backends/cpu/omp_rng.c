/* backends/cpu/omp_rng.c — OpenMP versions of UAE_OP_RNG and UAE_OP_PERMUTATION. Every element is a
 * function of its index alone, so any split of the work gives the reference's bits; the speed-ups
 * are threads, the vectorised normal fill of the kernel table (kernel_loops.h) and computing each
 * Philox block once for its four uniforms. */
#include "backends/cpu/cpu_ops.h"
#include "core/philox.h"

/* Elements per parallel task: large enough to amortise scheduling, small enough to balance. */
#define RNG_CHUNK 4096

uae_status uae_rng_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_rng_params *p = &op->p.rng;
    float *y = uae_cpu_data(op->dst[0]); /* (numel) */
    int64_t n = uae_tensor_numel(op->dst[0]);
    int64_t chunks = (n + RNG_CHUNK - 1) / RNG_CHUNK;
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
#endif
    for (int64_t c = 0; c < chunks; c++) {
        int64_t end = (c + 1) * RNG_CHUNK < n ? (c + 1) * RNG_CHUNK : n;
        if (p->dist == UAE_RNG_NORMAL) { /* the kernel table's loop, vectorised (cpu_ctx.h) */
            ctx->k->rng_normal(y, c * RNG_CHUNK, end, p);
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

uae_status uae_permutation_omp(cpu_ctx *ctx, const uae_op *op) {
    const uae_rng_params *p = &op->p.rng;
    const uae_tensor *dst = op->dst[0];
    int64_t rows = dst->shape[0], n = dst->shape[1];
    /* Rows are independent (stream + r each); within a row Fisher-Yates is sequential. */
#ifdef _OPENMP
#pragma omp parallel for schedule(static) num_threads(uae_cpu_ctx_threads_for(ctx, op))
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
