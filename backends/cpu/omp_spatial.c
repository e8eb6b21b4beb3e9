/* STUB: to be replaced. */
#include "backends/cpu/cpu_ops.h"

uae_status uae_gemm_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "gemm_omp: not implemented yet");
}

uae_status uae_conv2d_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "conv2d_omp: not implemented yet");
}

uae_status uae_conv2d_bwd_data_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "conv2d_bwd_data_omp: not implemented yet");
}

uae_status uae_conv2d_bwd_weight_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "conv2d_bwd_weight_omp: not implemented yet");
}

uae_status uae_maxpool2_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "maxpool2_omp: not implemented yet");
}

uae_status uae_maxpool2_bwd_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "maxpool2_bwd_omp: not implemented yet");
}

uae_status uae_upsample2_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "upsample2_omp: not implemented yet");
}

uae_status uae_upsample2_bwd_omp(const uae_op *op) {
    (void)op;
    return uae_fail(UAE_ERR_UNSUPPORTED, "upsample2_bwd_omp: not implemented yet");
}

