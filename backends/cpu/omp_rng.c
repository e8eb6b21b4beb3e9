/* STUB: to be replaced. */
#include "backends/cpu/cpu_ops.h"

uae_status uae_rng_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "rng_omp: not implemented yet");
}

uae_status uae_permutation_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "permutation_omp: not implemented yet");
}

