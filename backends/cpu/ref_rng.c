/* backends/cpu/ref_rng.c — scalar references of UAE_OP_RNG and UAE_OP_PERMUTATION: one element (or
 * one swap) at a time, straight from the specification in uae/rng.h. The oracle for omp_rng.c and the OpenCL kernels;
 * written for clarity, not speed (each uniform recomputes its whole Philox block). */
#include "backends/cpu/cpu_ops.h"
#include "core/philox.h"
#include "uae/rng.h"

uae_status uae_rng_ref(const uae_op *op) {
    const uae_rng_params *p = &op->p.rng;
    float *y = uae_cpu_data(op->dst[0]); /* (numel) */
    int64_t n = uae_tensor_numel(op->dst[0]);
    for (int64_t i = 0; i < n; i++) {
        uint64_t j = p->counter + (uint64_t)i; /* wraps modulo 2^64, like the counter itself */
        if (p->dist == UAE_RNG_UNIFORM)
            y[i] = uae_philox_uniform(p->seed, p->stream, j, p->a, p->b);
        else
            y[i] = uae_philox_normal(p->seed, p->stream, j, p->a, p->b);
    }
    return UAE_OK;
}

uae_status uae_permutation_ref(const uae_op *op) {
    const uae_rng_params *p = &op->p.rng;
    const uae_tensor *dst = op->dst[0];
    int64_t rows = dst->shape[0], n = dst->shape[1];
    for (int64_t r = 0; r < rows; r++) {
        float *perm = uae_cpu_data(dst) + r * n; /* (n) */
        for (int64_t i = 0; i < n; i++) perm[i] = (float)i; /* exact: n <= 2^24 (uae_op_check) */
        /* Fisher-Yates from the back; swap number k = n-1-i uses word k of stream (stream + r). */
        for (int64_t i = n - 1; i >= 1; i--) {
            uint32_t w = uae_rng_word(p->seed, p->stream + (uint64_t)r,
                                      p->counter + (uint64_t)(n - 1 - i));
            int64_t k = uae_philox_below(w, (uint32_t)(i + 1)); /* uniform in [0, i] */
            float tmp = perm[i];
            perm[i] = perm[k];
            perm[k] = tmp;
        }
    }
    return UAE_OK;
}
