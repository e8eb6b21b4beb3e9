/* ocl_common.cl — helpers shared by every kernel of the uaekit OpenCL program.
 * The program is one source made of the .cl files in backends/opencl/ (embedded at build time, in
 * the order given in meson.build). OpenCL C 1.2, float32 only, no extensions required. */
#pragma OPENCL FP_CONTRACT OFF

/* Offsets, sizes and indices are ints: the host refuses (supports() = false) tensors whose
 * element count or offset does not fit. */

/* max and min that return NaN when either argument is NaN (the reference's rule; OpenCL's fmax
 * would drop it), and the clamp made of them. */
float uae_max_nan(float a, float b) { return (a > b || isnan(a)) ? a : b; }
float uae_min_nan(float a, float b) { return (a < b || isnan(a)) ? a : b; }
float uae_clamp_nan(float x, float lo, float hi) { return uae_min_nan(uae_max_nan(x, lo), hi); }

/* Combiners for the reductions. */
#define UAE_COMB_SUM 0
#define UAE_COMB_MAX 1

float uae_combine(float a, float b, int comb) {
    return comb == UAE_COMB_SUM ? a + b : uae_max_nan(a, b);
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

/* Overflow-free logistic function and softplus, as in the reference. */
float uae_sigmoid(float x) {
    if (x >= 0.0f) return 1.0f / (1.0f + exp(-x));
    float e = exp(x);
    return e / (1.0f + e);
}

float uae_softplus(float x) { return (x > 0.0f ? x : 0.0f) + log1p(exp(-fabs(x))); }
