/* STUB: to be replaced. */
#include "backends/cpu/cpu_ops.h"

uae_status uae_binary_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "binary_omp: not implemented yet");
}

uae_status uae_unary_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "unary_omp: not implemented yet");
}

uae_status uae_unary_bwd_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "unary_bwd_omp: not implemented yet");
}

uae_status uae_reduce_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "reduce_omp: not implemented yet");
}

uae_status uae_softmax_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "softmax_omp: not implemented yet");
}

uae_status uae_fill_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "fill_omp: not implemented yet");
}

uae_status uae_clamp_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "clamp_omp: not implemented yet");
}

uae_status uae_optim_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "optim_omp: not implemented yet");
}

uae_status uae_gather_rows_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "gather_rows_omp: not implemented yet");
}

uae_status uae_scatter_rows_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "scatter_rows_omp: not implemented yet");
}

uae_status uae_mine_bound_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "mine_bound_omp: not implemented yet");
}

uae_status uae_attack_step_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "attack_step_omp: not implemented yet");
}

