/* STUB: to be replaced. */
#include "backends/cpu/cpu_ops.h"

uae_status uae_binary_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "binary_ref: not implemented yet");
}

uae_status uae_unary_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "unary_ref: not implemented yet");
}

uae_status uae_unary_bwd_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "unary_bwd_ref: not implemented yet");
}

uae_status uae_reduce_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "reduce_ref: not implemented yet");
}

uae_status uae_softmax_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "softmax_ref: not implemented yet");
}

uae_status uae_fill_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "fill_ref: not implemented yet");
}

uae_status uae_clamp_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "clamp_ref: not implemented yet");
}

uae_status uae_optim_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "optim_ref: not implemented yet");
}

uae_status uae_gather_rows_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "gather_rows_ref: not implemented yet");
}

uae_status uae_scatter_rows_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "scatter_rows_ref: not implemented yet");
}

uae_status uae_mine_bound_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "mine_bound_ref: not implemented yet");
}

uae_status uae_attack_step_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "attack_step_ref: not implemented yet");
}

