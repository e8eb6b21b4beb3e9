/* ocl_gemm.cl — a plain GEMM kernel, used only where CLBlast cannot run on the device (its kernels
 * need work-groups of 64 or more and some local memory; a device with smaller limits gets
 * CL_INVALID_WORK_GROUP_SIZE from CLBlast), or when $UAE_OPENCL_GEMM=builtin asks for it.
 * One work-item per element of C, the k products summed in order, exactly as the reference: slow
 * (no tiling), but correct on any device. */
__kernel void uae_gemm_builtin(__global const float *a, int aoff, int lda, int sa,
                               __global const float *b, int boff, int ldb, int sb,
                               __global float *c, int coff, int ldc, int sc, int batch, int m,
                               int n, int k, int ta, int tb, float alpha, float beta) {
    int t = (int)get_global_id(0);
    if (t >= batch * m * n) return;
    int j = t % n, i = (t / n) % m, bi = t / (n * m);
    __global const float *ab = a + aoff + bi * sa;
    __global const float *bb = b + boff + bi * sb;
    float sum = 0.0f;
    for (int p = 0; p < k; p++) {
        float x = ta ? ab[p * lda + i] : ab[i * lda + p];
        float y = tb ? bb[j * ldb + p] : bb[p * ldb + j];
        sum += x * y;
    }
    __global float *out = c + coff + bi * sc + i * ldc + j;
    /* beta == 0: C is not read, so NaNs in it do not propagate. */
    *out = beta == 0.0f ? alpha * sum : alpha * sum + beta * *out;
}
