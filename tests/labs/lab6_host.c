/* tests/labs/lab6_host.c — the host program of lab 6 (docs/labs/lab6-opencl.md): builds the
 * kernels of a .cl file (argument 1) on the first OpenCL device, runs `silu` and `sum_groups` on
 * n = 1000 values (not a multiple of the work-group size 64) and compares with the C reference.
 * A teaching program that calls OpenCL directly, so that the student sees every call; uaekit's
 * own OpenCL backend (backends/opencl/) wraps the same calls with a kernel cache and error names.
 * Exit status: 0 the results agree, 1 they do not or an OpenCL call failed, 77 no OpenCL device. */
#define CL_TARGET_OPENCL_VERSION 120
#include <CL/cl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

enum { N = 1000, WG = 64 };

#define CHECK(call)                                                                               \
    do {                                                                                          \
        cl_int e_ = (call);                                                                       \
        if (e_ != CL_SUCCESS) {                                                                   \
            fprintf(stderr, "lab6_host: %s failed: OpenCL error %d\n", #call, (int)e_);         \
            return 1;                                                                             \
        }                                                                                         \
    } while (0)

static char *read_text(const char *path) {
    FILE *f = fopen(path, "rb");
    if (!f) return NULL;
    fseek(f, 0, SEEK_END);
    long len = ftell(f);
    fseek(f, 0, SEEK_SET);
    char *s = malloc((size_t)len + 1);
    if (s && fread(s, 1, (size_t)len, f) != (size_t)len) {
        free(s);
        s = NULL;
    }
    if (s) s[len] = '\0';
    fclose(f);
    return s;
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: lab6_host KERNELS.cl\n");
        return 2;
    }
    char *src = read_text(argv[1]);
    if (!src) {
        fprintf(stderr, "lab6_host: cannot read %s\n", argv[1]);
        return 1;
    }
    cl_platform_id plat;
    cl_device_id dev;
    cl_uint np = 0;
    if (clGetPlatformIDs(1, &plat, &np) != CL_SUCCESS || np == 0 ||
        clGetDeviceIDs(plat, CL_DEVICE_TYPE_ALL, 1, &dev, NULL) != CL_SUCCESS) {
        fprintf(stderr, "lab6_host: no OpenCL device: skipped\n");
        free(src);
        return 77;
    }
    char name[256] = "";
    clGetDeviceInfo(dev, CL_DEVICE_NAME, sizeof name, name, NULL);
    printf("device: %s\n", name);
    cl_int err;
    cl_context ctx = clCreateContext(NULL, 1, &dev, NULL, NULL, &err);
    CHECK(err);
    cl_command_queue q = clCreateCommandQueue(ctx, dev, 0, &err);
    CHECK(err);
    const char *srcs[] = {src};
    cl_program prog = clCreateProgramWithSource(ctx, 1, srcs, NULL, &err);
    CHECK(err);
    if (clBuildProgram(prog, 1, &dev, "-cl-std=CL1.2", NULL, NULL) != CL_SUCCESS) {
        char log[8192] = "";
        clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, sizeof log, log, NULL);
        fprintf(stderr, "lab6_host: %s does not build:\n%s\n", argv[1], log);
        return 1;
    }
    free(src);
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = -6.0f + 12.0f * (float)i / N;
    size_t global = (N + WG - 1) / WG * WG, local = WG, groups = global / WG;
    /* exactly n floats: a work-item that reads or writes past n is out of bounds */
    cl_mem bx = clCreateBuffer(ctx, CL_MEM_READ_ONLY | CL_MEM_COPY_HOST_PTR, sizeof x, x, &err);
    CHECK(err);
    cl_mem by = clCreateBuffer(ctx, CL_MEM_READ_WRITE, sizeof y, NULL, &err);
    CHECK(err);
    cl_mem bp = clCreateBuffer(ctx, CL_MEM_WRITE_ONLY, groups * sizeof(float), NULL, &err);
    CHECK(err);
    cl_int n = N;
    cl_kernel k1 = clCreateKernel(prog, "silu", &err);
    CHECK(err);
    CHECK(clSetKernelArg(k1, 0, sizeof bx, &bx));
    CHECK(clSetKernelArg(k1, 1, sizeof by, &by));
    CHECK(clSetKernelArg(k1, 2, sizeof n, &n));
    CHECK(clEnqueueNDRangeKernel(q, k1, 1, NULL, &global, &local, 0, NULL, NULL));
    cl_kernel k2 = clCreateKernel(prog, "sum_groups", &err);
    CHECK(err);
    CHECK(clSetKernelArg(k2, 0, sizeof by, &by));
    CHECK(clSetKernelArg(k2, 1, sizeof bp, &bp));
    CHECK(clSetKernelArg(k2, 2, sizeof n, &n));
    CHECK(clSetKernelArg(k2, 3, WG * sizeof(float), NULL));
    CHECK(clEnqueueNDRangeKernel(q, k2, 1, NULL, &global, &local, 0, NULL, NULL));
    float partial[(N + WG - 1) / WG];
    CHECK(clEnqueueReadBuffer(q, by, CL_TRUE, 0, sizeof y, y, 0, NULL, NULL));
    CHECK(clEnqueueReadBuffer(q, bp, CL_TRUE, 0, sizeof partial, partial, 0, NULL, NULL));

    int bad = 0;
    for (int i = 0; i < N; i++) {
        double want = x[i] / (1.0 + exp(-(double)x[i]));
        /* 1e-5 relative: exp within a few ulp (OpenCL allows 3) and one division */
        if (fabs(y[i] - want) > 1e-5 * (1.0 + fabs(want))) {
            if (bad++ < 5) printf("silu: y[%d] = %.8g, expected %.8g\n", i, y[i], want);
        }
    }
    for (size_t g = 0; g < groups; g++) {
        double want = 0, mag = 0;
        for (size_t i = g * WG; i < (g + 1) * WG && i < N; i++) want += y[i], mag += fabs(y[i]);
        /* a sum of 64 floats in another order: within 64 * 2^-24 of the sum of magnitudes */
        if (fabs(partial[g] - want) > 64 * 6e-8 * mag + 1e-6) {
            if (bad++ < 10) printf("sum_groups: group %zu: %.8g, expected %.8g\n", g, partial[g], want);
        }
    }
    printf("%s: %d wrong value(s)\n", bad ? "FAIL" : "OK", bad);
    clReleaseKernel(k1);
    clReleaseKernel(k2);
    clReleaseMemObject(bx);
    clReleaseMemObject(by);
    clReleaseMemObject(bp);
    clReleaseProgram(prog);
    clReleaseCommandQueue(q);
    clReleaseContext(ctx);
    return bad ? 1 : 0;
}
