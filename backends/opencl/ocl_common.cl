/* ocl_common.cl — helpers shared by every kernel of the uaekit OpenCL program.
 * The program is one source made of core/philox.h, core/uae/op_enums.h, core/pointwise_math.h
 * (the enums and formulas the host shares: NaN-propagating max/min/clamp, sigmoid, softplus, ...)
 * and the .cl files in backends/opencl/ (embedded at build time, in the order given in
 * meson.build). OpenCL C 1.2, float32 only, no extensions required. */
#pragma OPENCL FP_CONTRACT OFF

/* Offsets, sizes and indices are ints: the host refuses (supports() = false) tensors whose
 * element count or offset does not fit. */

/* Combiners for the reductions. */
#define UAE_COMB_SUM 0
#define UAE_COMB_MAX 1

float uae_combine(float a, float b, int comb) {
    return comb == UAE_COMB_SUM ? a + b : uae_maxf_nan(a, b);
}

/* A fixed-order tree reduction over one work-group (size a power of two, at most UAE_REDUCE_WG):
 * every work-item passes its partial value v; every work-item gets the result. The order of the
 * additions depends only on the work-group size, so the bits are the same on every run. */
float uae_wg_reduce(__local float *buf, float v, int comb) {
    int lid = (int)get_local_id(0), size = (int)get_local_size(0);
    buf[lid] = v;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = size / 2; s > 0; s >>= 1) {
        if (lid < s) buf[lid] = uae_combine(buf[lid], buf[lid + s], comb);
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float r = buf[0];
    barrier(CLK_LOCAL_MEM_FENCE); /* buf is reused by the next call */
    return r;
}
