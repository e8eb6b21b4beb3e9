/* STUB: to be replaced. */
#include "backends/cpu/cpu_ops.h"

uae_status uae_gemm_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "gemm_ref: not implemented yet");
}

uae_status uae_conv2d_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "conv2d_ref: not implemented yet");
}

uae_status uae_conv2d_bwd_data_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "conv2d_bwd_data_ref: not implemented yet");
}

uae_status uae_conv2d_bwd_weight_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "conv2d_bwd_weight_ref: not implemented yet");
}

uae_status uae_maxpool2_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "maxpool2_ref: not implemented yet");
}

uae_status uae_maxpool2_bwd_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "maxpool2_bwd_ref: not implemented yet");
}

uae_status uae_upsample2_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "upsample2_ref: not implemented yet");
}

uae_status uae_upsample2_bwd_ref(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "upsample2_bwd_ref: not implemented yet");
}

