// docs/labs/lab6/silu.cl — lab 6's kernels (docs/labs/lab6-opencl.md): SiLU, y = x sigmoid(x),
// and the sum of y by a work-group reduction in local memory. OpenCL C 1.2, fp32.
// THIS FILE HAS TWO PLANTED BUGS. The results on PoCL may well look right anyway: find them with
// Oclgrind (tests/labs/check_lab6.sh), fix them, and the lab's check passes.

// y[i] = x[i] / (1 + exp(-x[i])) for i < n. The host rounds the global size up to a multiple of
// the work-group size, so some work-items have i >= n.
__kernel void silu(__global const float *x, __global float *y, const int n) {
    int i = get_global_id(0);
    float v = x[i];
    y[i] = v / (1.0f + exp(-v));
}

// partial[g] = the sum of y over work-group g's elements (0 beyond n). The work-group size is a
// power of two, `scratch` has one float per work-item.
__kernel void sum_groups(__global const float *y, __global float *partial, const int n,
                         __local float *scratch) {
    int i = get_global_id(0), l = get_local_id(0);
    scratch[l] = i < n ? y[i] : 0.0f;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int s = (int)get_local_size(0) / 2; s > 0; s /= 2) {
        if (l < s) scratch[l] += scratch[l + s];
    }
    if (l == 0) partial[get_group_id(0)] = scratch[0];
}
