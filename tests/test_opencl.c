/* tests/test_opencl.c — the OpenCL backend's own checks: the program cache (hit, miss on other
 * options, corrupt entries rebuilt), error names, the allocation limit, GEMM with NaN in C, a few
 * ops against the reference backend, run-to-run determinism, the RNG streams, and a kernel build
 * failure reported with its log.
 * The table-driven comparison of every op is tests/test_ops.c. Exits 77 without an OpenCL device.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backends/opencl/opencl_internal.h"
#include "uae/autodiff.h"
#include "uae/ops.h"
#include "tests/test_util.h"

static double now_s(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static uae_backend *open_index(int index, double *seconds) {
    char spec[16];
    snprintf(spec, sizeof spec, "%d", index);
    uae_backend *be;
    double t0 = now_s();
    TRY(uae_backend_open(spec, &be));
    if (seconds) *seconds = now_s() - t0;
    return be;
}

/* The only cache entry in dir, or false. */
static bool cache_entry(const char *dir, char *path, size_t cap) {
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "ls %s/*.clbin 2>/dev/null", dir);
    FILE *p = popen(cmd, "r");
    if (!p) return false;
    bool ok = fgets(path, (int)cap, p) != NULL;
    pclose(p);
    if (ok) path[strcspn(path, "\n")] = '\0';
    return ok;
}

static void test_cache(int dev) {
    char dir[] = "/tmp/uae_cache_test_XXXXXX";
    if (!mkdtemp(dir)) {
        CHECK(0, "mkdtemp failed");
        return;
    }
    setenv("UAE_CACHE_DIR", dir, 1);
    unsetenv("UAE_OPENCL_OPTIONS");
    double cold, warm;
    uae_backend *be = open_index(dev, &cold);
    CHECK(uae_ocl_backend_cache_result(be) == OCL_CACHE_MISS, "first open: expected a miss");
    uae_backend_free(be);
    be = open_index(dev, &warm);
    CHECK(uae_ocl_backend_cache_result(be) == OCL_CACHE_HIT, "second open: expected a hit");
    uae_backend_free(be);
    printf("backend open: cold %.3f s, warm %.3f s (%.0f%%)\n", cold, warm, 100.0 * warm / cold);

    /* Other build options are another key: a miss, then a hit again with the old options. */
    setenv("UAE_OPENCL_OPTIONS", "-DUAE_TEST_OPTION=1", 1);
    be = open_index(dev, NULL);
    CHECK(uae_ocl_backend_cache_result(be) == OCL_CACHE_MISS, "changed options: expected a miss");
    uae_backend_free(be);
    unsetenv("UAE_OPENCL_OPTIONS");

    /* A flipped byte in the payload fails the checksum: rebuilt, replaced, then a hit. */
    char path[1200];
    be = open_index(dev, NULL);
    uae_backend_free(be);
    char cmd[1400];
    snprintf(cmd, sizeof cmd, "rm -f %s/*.clbin", dir);
    CHECK(system(cmd) == 0, "rm");
    be = open_index(dev, NULL); /* exactly one entry again: for the default options */
    uae_backend_free(be);
    CHECK(cache_entry(dir, path, sizeof path), "no cache entry in %s", dir);
    FILE *f = fopen(path, "r+b");
    CHECK(f != NULL, "cannot open %s", path);
    if (f) {
        fseek(f, 60, SEEK_SET); /* inside the payload, past the 40-byte header */
        int ch = fgetc(f);
        fseek(f, 60, SEEK_SET);
        fputc(ch ^ 0x5a, f);
        fclose(f);
    }
    be = open_index(dev, NULL);
    CHECK(uae_ocl_backend_cache_result(be) == OCL_CACHE_REJECTED,
          "corrupt entry: expected rejected");
    uae_backend_free(be);
    be = open_index(dev, NULL);
    CHECK(uae_ocl_backend_cache_result(be) == OCL_CACHE_HIT, "after rebuild: expected a hit");
    uae_backend_free(be);

    /* A truncated entry (a crash mid-write without the rename) is rejected too. */
    CHECK(truncate(path, 20) == 0, "truncate");
    be = open_index(dev, NULL);
    CHECK(uae_ocl_backend_cache_result(be) == OCL_CACHE_REJECTED, "truncated: expected rejected");
    uae_backend_free(be);

    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    CHECK(system(cmd) == 0, "rm -rf");
    setenv("UAE_CACHE_DIR", "off", 1);
    be = open_index(dev, NULL);
    CHECK(uae_ocl_backend_cache_result(be) == OCL_CACHE_OFF, "UAE_CACHE_DIR=off: expected off");
    uae_backend_free(be);
}

static void test_error_names(void) {
    CHECK(strcmp(uae_ocl_error_name(CL_SUCCESS), "CL_SUCCESS") == 0, "CL_SUCCESS");
    CHECK(strcmp(uae_ocl_error_name(-5), "CL_OUT_OF_RESOURCES") == 0, "-5");
    CHECK(strcmp(uae_ocl_error_name(-54), "CL_INVALID_WORK_GROUP_SIZE") == 0, "-54");
    CHECK(strcmp(uae_ocl_error_name(-1001), "CL_PLATFORM_NOT_FOUND_KHR") == 0, "-1001");
    CHECK(strcmp(uae_ocl_error_name(-9999), "CL_(unknown error)") == 0, "unknown");
    CHECK(strcmp(uae_clblast_error_name(-2041), "CLBlastDatabaseError") == 0, "CLBlast");
    uae_status st =
        uae_ocl_fail(CL_INVALID_KERNEL_ARGS, "clEnqueueNDRangeKernel", "kernel %s", "k");
    CHECK(st == UAE_ERR_DEVICE, "status");
    CHECK(strstr(uae_last_error(), "clEnqueueNDRangeKernel") &&
              strstr(uae_last_error(), "CL_INVALID_KERNEL_ARGS"),
          "message: %s", uae_last_error());
    CHECK(uae_ocl_fail(CL_MEM_OBJECT_ALLOCATION_FAILURE, "clCreateBuffer", NULL) == UAE_ERR_NOMEM,
          "allocation failure is NOMEM");
}

/* A program that does not compile is UAE_ERR_BUILD, and the message carries the build log. The
 * extra option redefines a tunable as a syntax error. */
static void test_build_error(int dev) {
    fprintf(stderr, "(a deliberate kernel compile error follows; the driver may print its log)\n");
    setenv("UAE_OPENCL_OPTIONS", "-DUAE_REDUCE_WG=(", 1);
    char spec[16];
    snprintf(spec, sizeof spec, "%d", dev);
    uae_backend *be = NULL;
    uae_status st = uae_backend_open(spec, &be);
    unsetenv("UAE_OPENCL_OPTIONS");
    CHECK(st == UAE_ERR_BUILD && be == NULL, "broken build: got %s", uae_status_name(st));
    CHECK(strstr(uae_last_error(), "clBuildProgram") && strstr(uae_last_error(), "build log"),
          "message: %.300s", uae_last_error());
    uae_backend_free(be);
}

static void test_max_alloc(uae_backend *be) {
    uae_device_info info;
    uae_backend_info(be, &info);
    uae_arena *a;
    TRY(uae_arena_create(be, 1024, &a));
    uae_tensor t;
    int64_t floats = (int64_t)(info.max_alloc_bytes / sizeof(float)) + 1024;
    uae_status st = uae_arena_tensor1(a, floats, &t);
    CHECK(st == UAE_ERR_NOMEM, "allocation above the maximum: got %s", uae_status_name(st));
    CHECK(strstr(uae_last_error(), "CL_DEVICE_MAX_MEM_ALLOC_SIZE") != NULL, "message: %s",
          uae_last_error());
    uae_arena_free(a);
}

/* Deterministic test data in [-1, 1). */
static void fill_data(float *x, size_t n, unsigned seed) {
    for (size_t i = 0; i < n; i++) {
        seed = seed * 1664525u + 1013904223u;
        x[i] = (float)(seed >> 8) * (2.0f / 16777216.0f) - 1.0f;
    }
}

/* GEMM with beta = 0 must not read C: NaN there must not come through. */
static void test_gemm_nan(uae_backend *be) {
    uae_arena *a;
    TRY(uae_arena_create(be, 1 << 16, &a));
    uae_tensor ta, tb2, tc;
    TRY(uae_arena_tensor2(a, 7, 5, &ta));
    TRY(uae_arena_tensor2(a, 5, 9, &tb2));
    TRY(uae_arena_tensor2(a, 7, 9, &tc));
    float ha[35], hb[45], hc[63];
    fill_data(ha, 35, 1);
    fill_data(hb, 45, 2);
    for (int i = 0; i < 63; i++) hc[i] = NAN;
    TRY(uae_tensor_write(&ta, ha));
    TRY(uae_tensor_write(&tb2, hb));
    TRY(uae_tensor_write(&tc, hc));
    TRY(uae_gemm(false, false, 1.0f, &ta, &tb2, 0.0f, &tc));
    TRY(uae_tensor_read(&tc, hc));
    int nans = 0;
    for (int i = 0; i < 63; i++) nans += isnan(hc[i]) != 0;
    CHECK(nans == 0, "beta = 0: %d NaNs came through from C", nans);
    /* And the values: sums of 5 products of numbers below 1 in size; float rounding of a 5-term
     * dot product is below 5 * 2^-24 relative to the sum of |terms| (<= 5). */
    for (int i = 0; i < 7; i++)
        for (int j = 0; j < 9; j++) {
            float s = 0.0f;
            for (int k = 0; k < 5; k++) s += ha[i * 5 + k] * hb[k * 9 + j];
            CHECK(fabsf(s - hc[i * 9 + j]) <= 1e-5f, "C[%d,%d] = %g, expected %g", i, j,
                  hc[i * 9 + j], s);
        }
    uae_arena_free(a);
}

/* The counters of uae/backend.h are exact for a known sequence of calls: a write of N floats is
 * one write of 4N bytes, a GEMM one CLBlast call (or one launch of the builtin kernel), a fill one
 * launch, a read one read, a sync one sync; reset zeroes them. Host backends report zeros. */
static void test_counters(uae_backend *be, uae_backend *host) {
    uae_arena *a;
    TRY(uae_arena_create(be, 1 << 12, &a));
    uae_tensor ta, tb2, tc, td;
    TRY(uae_arena_tensor2(a, 7, 5, &ta));
    TRY(uae_arena_tensor2(a, 5, 9, &tb2));
    TRY(uae_arena_tensor2(a, 7, 9, &tc));
    TRY(uae_arena_tensor2(a, 7, 9, &td));
    float h[63];
    fill_data(h, 63, 3);
    TRY(uae_backend_sync(be));
    uae_backend_counters_reset(be);
    uae_backend_counters n;
    uae_backend_counters_get(be, &n);
    CHECK(n.launches == 0 && n.blas_calls == 0 && n.copies == 0 && n.writes == 0 &&
              n.reads == 0 && n.syncs == 0 && n.write_bytes == 0 && n.read_bytes == 0,
          "after reset: %llu launches, %llu writes", (unsigned long long)n.launches,
          (unsigned long long)n.writes);
    TRY(uae_tensor_write(&ta, h));   /* 1 write, 35 floats */
    TRY(uae_tensor_write(&tb2, h));  /* 1 write, 45 floats */
    TRY(uae_gemm(false, false, 1.0f, &ta, &tb2, 0.0f, &tc)); /* 1 BLAS call or 1 launch */
    TRY(uae_fill(&td, 2.0f));        /* 1 launch */
    TRY(uae_tensor_copy(&td, &tc));  /* 1 copy */
    TRY(uae_backend_sync(be));       /* 1 sync */
    TRY(uae_tensor_read(&td, h));    /* 1 read, 63 floats */
    uae_backend_counters_get(be, &n);
    bool builtin = ((ocl_ctx *)be->ctx)->gemm_builtin;
    CHECK(n.launches == (builtin ? 2u : 1u), "launches %llu, expected %d",
          (unsigned long long)n.launches, builtin ? 2 : 1);
    CHECK(n.blas_calls == (builtin ? 0u : 1u), "BLAS calls %llu, expected %d",
          (unsigned long long)n.blas_calls, builtin ? 0 : 1);
    CHECK(n.copies == 1, "copies %llu, expected 1", (unsigned long long)n.copies);
    CHECK(n.writes == 2 && n.write_bytes == (35 + 45) * sizeof(float),
          "writes %llu of %llu bytes, expected 2 of %zu", (unsigned long long)n.writes,
          (unsigned long long)n.write_bytes, (35 + 45) * sizeof(float));
    CHECK(n.reads == 1 && n.read_bytes == 63 * sizeof(float),
          "reads %llu of %llu bytes, expected 1 of %zu", (unsigned long long)n.reads,
          (unsigned long long)n.read_bytes, 63 * sizeof(float));
    CHECK(n.syncs == 1, "syncs %llu, expected 1", (unsigned long long)n.syncs);
    uae_arena_free(a);
    /* A host backend counts nothing. */
    TRY(uae_arena_create(host, 64, &a));
    TRY(uae_arena_tensor1(a, 63, &td));
    TRY(uae_tensor_write(&td, h));
    TRY(uae_fill(&td, 1.0f));
    uae_backend_counters_get(host, &n);
    CHECK(n.launches == 0 && n.writes == 0 && n.write_bytes == 0,
          "%s counted %llu launches, %llu writes", uae_backend_kind(host),
          (unsigned long long)n.launches, (unsigned long long)n.writes);
    uae_arena_free(a);
}

/* The launches of a convolution do not grow with its weight sets (MINE's estimators) while the
 * sets fit in the scratch: 1 set of 2 images and 6 sets of 2 images take the same number of
 * kernel launches and GEMM calls, forward and both gradients. */
static void conv_calls(uae_backend *be, int sets, uae_backend_counters out[3]) {
    uae_arena *a;
    TRY(uae_arena_create(be, 1 << 14, &a));
    int64_t n = 2 * sets;
    uae_tensor x, w, bias, y, dx, dw, db;
    TRY(uae_arena_tensor4(a, n, 2, 6, 6, &x));
    TRY(uae_arena_tensor4(a, 3 * sets, 2, 3, 3, &w));
    TRY(uae_arena_tensor1(a, 3 * sets, &bias));
    TRY(uae_arena_tensor4(a, n, 3, 4, 4, &y));
    TRY(uae_arena_tensor4(a, n, 2, 6, 6, &dx));
    TRY(uae_arena_tensor4(a, 3 * sets, 2, 3, 3, &dw));
    TRY(uae_arena_tensor1(a, 3 * sets, &db));
    TRY(uae_fill(&x, 0.5f));
    TRY(uae_fill(&w, 0.25f));
    TRY(uae_fill(&bias, 1.0f));
    uae_conv_params p = {.stride_h = 1, .stride_w = 1, .wsets = sets};
    uae_op ops[3] = {
        {.kind = UAE_OP_CONV2D, .src = {&x, &w, &bias}, .dst = {&y}},
        {.kind = UAE_OP_CONV2D_BWD_DATA, .src = {&y, &w}, .dst = {&dx}},
        {.kind = UAE_OP_CONV2D_BWD_WEIGHT, .src = {&x, &y}, .dst = {&dw, &db}},
    };
    for (int i = 0; i < 3; i++) {
        ops[i].p.conv = p;
        uae_backend_counters_reset(be);
        TRY(uae_op_run(&ops[i]));
        uae_backend_counters_get(be, &out[i]);
    }
    uae_arena_free(a);
}

static void test_conv_sets_calls(uae_backend *be) {
    static const char *const names[3] = {"conv2d", "conv2d_bwd_data", "conv2d_bwd_weight"};
    uae_backend_counters one[3], six[3];
    conv_calls(be, 1, one);
    conv_calls(be, 6, six);
    for (int i = 0; i < 3; i++)
        CHECK(six[i].launches == one[i].launches && six[i].blas_calls == one[i].blas_calls,
              "%s: 6 weight sets take %llu launches and %llu GEMM calls, 1 set %llu and %llu",
              names[i], (unsigned long long)six[i].launches,
              (unsigned long long)six[i].blas_calls, (unsigned long long)one[i].launches,
              (unsigned long long)one[i].blas_calls);
}

/* The backward pass hands scratch results to the gradients they are (a view, no copy): for
 * loss = sum(a * b) with a, b leaves, the only copies left are the two into the leaves' own
 * gradient tensors (before: a third one, the reduction's scratch into a * b's gradient). */
static void test_backward_copies(uae_backend *be) {
    uae_arena *a, *scratch;
    TRY(uae_arena_create(be, 1 << 12, &a));
    TRY(uae_arena_create(be, 1 << 12, &scratch));
    uae_tensor x, y, dx, dy;
    TRY(uae_arena_tensor2(a, 3, 5, &x));
    TRY(uae_arena_tensor2(a, 3, 5, &y));
    TRY(uae_arena_tensor2(a, 3, 5, &dx));
    TRY(uae_arena_tensor2(a, 3, 5, &dy));
    TRY(uae_fill(&x, 2.0f));
    TRY(uae_fill(&y, 3.0f));
    uae_tape *t;
    TRY(uae_tape_create(scratch, &t));
    uae_var *vx = uae_ad_leaf(t, &x, &dx), *vy = uae_ad_leaf(t, &y, &dy);
    uae_var *loss = uae_ad_reduce(t, UAE_REDUCE_SUM, 0x3, uae_ad_mul(t, vx, vy));
    uae_backend_counters_reset(be);
    TRY(uae_ad_backward(t, loss));
    uae_backend_counters n;
    uae_backend_counters_get(be, &n);
    CHECK(n.copies == 2, "backward of sum(a * b): %llu copies, expected 2 (one per leaf)",
          (unsigned long long)n.copies);
    float h[15];
    TRY(uae_tensor_read(&dx, h));
    CHECK(h[0] == 3.0f && h[14] == 3.0f, "d/da sum(a * b) = b = 3, got %g and %g", h[0], h[14]);
    uae_tape_free(t);
    uae_arena_free(scratch);
    uae_arena_free(a);
}

/* Runs op (built by make_op on backend be's tensors) and returns the destination values. */
typedef struct case_tensors {
    int nsrc, ndst;
    int64_t shapes[7][4];
    int ndims[7];
} case_tensors;

/* Runs the same op on the OpenCL backend and on ref with the same inputs; compares dst0. The
 * tolerance is relative to the size of the values: GEMM-based ops sum in another order than the
 * reference (CLBlast tiles), so up to ~k * 2^-24 relative error per output, k <= 200 here. */
static void compare_with_ref(uae_backend *ocl, uae_backend *ref, const uae_op *op_template,
                             const case_tensors *ct, const char *what, float tol, bool twice_same) {
    uae_backend *bes[2] = {ocl, ref};
    float *out[3] = {NULL, NULL, NULL};
    size_t outn = 0;
    for (int run = 0; run < (twice_same ? 3 : 2); run++) {
        uae_backend *be = bes[run == 1];
        uae_arena *a;
        TRY(uae_arena_create(be, 1 << 20, &a));
        uae_tensor t[7];
        uae_op op = *op_template;
        for (int i = 0; i < ct->nsrc + ct->ndst; i++) {
            TRY(uae_arena_tensor(a, ct->ndims[i], ct->shapes[i], &t[i]));
            size_t n = (size_t)uae_tensor_numel(&t[i]);
            float *h = malloc(n * sizeof *h);
            fill_data(h, n, 100u + (unsigned)i);
            TRY(uae_tensor_write(&t[i], h));
            free(h);
            if (i < ct->nsrc) op.src[i] = &t[i];
            else op.dst[i - ct->nsrc] = &t[i];
        }
        uae_status st = uae_op_run(&op);
        if (st != UAE_OK) {
            CHECK(0, "%s on %s: %s", what, uae_backend_name(be), uae_last_error());
            uae_arena_free(a);
            break;
        }
        outn = (size_t)uae_tensor_numel(op.dst[0]);
        out[run] = malloc(outn * sizeof(float));
        TRY(uae_tensor_read(op.dst[0], out[run]));
        uae_arena_free(a);
    }
    if (out[0] && out[1]) {
        float scale = 0.0f;
        for (size_t i = 0; i < outn; i++) scale = fmaxf(scale, fabsf(out[1][i]));
        int bad = 0;
        for (size_t i = 0; i < outn; i++)
            if (!(fabsf(out[0][i] - out[1][i]) <= tol * fmaxf(scale, 1.0f)) && bad++ < 3)
                fprintf(stderr, "  %s[%zu]: opencl %g, ref %g\n", what, i, out[0][i], out[1][i]);
        CHECK(bad == 0, "%s: %d of %zu values differ from the reference", what, bad, outn);
    }
    if (out[0] && out[2])
        CHECK(memcmp(out[0], out[2], outn * sizeof(float)) == 0, "%s: two runs differ in bits",
              what);
    for (int i = 0; i < 3; i++) free(out[i]);
}

static void test_ops(uae_backend *ocl, uae_backend *ref) {
    /* Batched GEMM with A transposed, a padded B (ldb > n) and beta: sums of 33 products. */
    uae_op gemm = {.kind = UAE_OP_GEMM};
    gemm.p.gemm = (uae_gemm_params){.trans_a = true, .m = 7, .n = 9, .k = 33, .alpha = 0.5f,
                                    .beta = 2.0f, .ldb = 11, .batch = 3};
    case_tensors gt = {.nsrc = 2, .ndst = 1, .ndims = {3, 3, 3},
                       .shapes = {{3, 33, 7}, {3, 33, 11}, {3, 7, 9}}};
    compare_with_ref(ocl, ref, &gemm, &gt, "gemm", 1e-5f, true);

    /* Convolution with two weight sets, stride 2 and padding: forward and both gradients. */
    uae_op op = {.kind = UAE_OP_CONV2D};
    op.p.conv = (uae_conv_params){.stride_h = 2, .stride_w = 1, .pad_h = 1, .pad_w = 2, .wsets = 2};
    case_tensors conv = {.nsrc = 3, .ndst = 1, .ndims = {4, 4, 1, 4},
                         .shapes = {{4, 3, 9, 7}, {2 * 5, 3, 3, 4}, {2 * 5}, {4, 5, 5, 8}}};
    compare_with_ref(ocl, ref, &op, &conv, "conv2d", 1e-5f, true);
    op.kind = UAE_OP_CONV2D_BWD_DATA;
    op.p.conv.beta = 1.0f;
    case_tensors bd = {.nsrc = 2, .ndst = 1, .ndims = {4, 4, 4},
                       .shapes = {{4, 5, 5, 8}, {10, 3, 3, 4}, {4, 3, 9, 7}}};
    compare_with_ref(ocl, ref, &op, &bd, "conv2d_bwd_data", 1e-5f, true);
    op.kind = UAE_OP_CONV2D_BWD_WEIGHT;
    case_tensors bw = {.nsrc = 2, .ndst = 2, .ndims = {4, 4, 4, 1},
                       .shapes = {{4, 3, 9, 7}, {4, 5, 5, 8}, {10, 3, 3, 4}, {10}}};
    compare_with_ref(ocl, ref, &op, &bw, "conv2d_bwd_weight", 1e-5f, true);

    /* Reductions and softmax: tree sums of up to 129 terms in another order than the reference. */
    op = (uae_op){.kind = UAE_OP_REDUCE, .p.reduce = {UAE_REDUCE_LSE, 0x5u}};
    case_tensors red = {.nsrc = 1, .ndst = 1, .ndims = {3, 3}, .shapes = {{17, 3, 129}, {1, 3, 1}}};
    compare_with_ref(ocl, ref, &op, &red, "reduce lse", 1e-5f, true);
    op = (uae_op){.kind = UAE_OP_SOFTMAX, .p.softmax = {true}};
    case_tensors sm = {.nsrc = 1, .ndst = 1, .ndims = {2, 2}, .shapes = {{3, 129}, {3, 129}}};
    compare_with_ref(ocl, ref, &op, &sm, "log-softmax", 1e-5f, true);
    /* Broadcasting binary op: elementwise, so exact. */
    op = (uae_op){.kind = UAE_OP_BINARY, .p.binary = {UAE_BINARY_DIV}};
    case_tensors bin = {.nsrc = 2, .ndst = 1, .ndims = {3, 3, 3},
                        .shapes = {{3, 17, 5}, {3, 1, 5}, {3, 17, 5}}};
    compare_with_ref(ocl, ref, &op, &bin, "binary div", 0.0f, false);
}

/* Fills a tensor of n floats on be with the op and returns its FNV-1a hash (bits). */
static uint64_t rng_hash(uae_backend *be, uae_op_kind kind, uae_rng_params p, int64_t rows,
                         int64_t n) {
    uae_arena *a;
    TRY(uae_arena_create(be, 1 << 16, &a));
    uae_tensor t;
    TRY(uae_arena_tensor2(a, rows, n, &t));
    uae_op op = {.kind = kind, .dst = {&t}, .p.rng = p};
    TRY(uae_op_run(&op));
    size_t count = (size_t)(rows * n);
    float *h = malloc(count * sizeof *h);
    TRY(uae_tensor_read(&t, h));
    uint64_t hash = uae_fnv1a64(UAE_FNV_OFFSET, h, count * sizeof *h);
    free(h);
    uae_arena_free(a);
    return hash;
}

/* The RNG is the same arithmetic on every backend (core/philox.h): the same bits, not close. */
static void test_rng_streams(uae_backend *ocl, uae_backend *ref, uae_backend *cpu) {
    const struct {
        uae_op_kind kind;
        uae_rng_params p;
        int64_t rows, n;
        const char *what;
    } cases[] = {
        {UAE_OP_RNG, {UAE_RNG_UNIFORM, 42, 7, 0, -1.0f, 3.0f}, 17, 129, "uniform"},
        {UAE_OP_RNG, {UAE_RNG_UNIFORM, 0xfedcba9876543210ull, 1ull << 40, 3, 0.0f, 1.0f}, 1, 1001,
         "uniform, odd counter"},
        {UAE_OP_RNG, {UAE_RNG_NORMAL, 42, 7, 0, 0.5f, 2.0f}, 13, 77, "normal"},
        {UAE_OP_RNG, {UAE_RNG_NORMAL, 1, 2, UINT64_MAX - 5, 0.0f, 1.0f}, 1, 17,
         "normal, counter wrapping"},
        {UAE_OP_PERMUTATION, {UAE_RNG_UNIFORM, 9, 100, 5, 0.0f, 0.0f}, 5, 129, "permutation"},
        {UAE_OP_PERMUTATION, {UAE_RNG_UNIFORM, 3, 0, 0, 0.0f, 0.0f}, 3, 1, "permutation n = 1"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        uint64_t h_ocl = rng_hash(ocl, cases[i].kind, cases[i].p, cases[i].rows, cases[i].n);
        uint64_t h_ref = rng_hash(ref, cases[i].kind, cases[i].p, cases[i].rows, cases[i].n);
        uint64_t h_cpu = rng_hash(cpu, cases[i].kind, cases[i].p, cases[i].rows, cases[i].n);
        CHECK(h_ocl == h_ref && h_cpu == h_ref,
              "%s: hash OpenCL %016llx, cpu %016llx, reference %016llx", cases[i].what,
              (unsigned long long)h_ocl, (unsigned long long)h_cpu, (unsigned long long)h_ref);
    }
}

int main(void) {
    test_device_set ocls = test_device_list(TEST_OPENCL);
    if (ocls.n == 0) test_skip("no OpenCL device");
    int dev = ocls.d[0].info.index; /* the first OpenCL device */
    test_error_names();
    const char *cache_env = getenv("UAE_CACHE_DIR");
    bool cache_off = cache_env && strcmp(cache_env, "off") == 0;
    if (!cache_off && !test_small()) test_cache(dev);
    setenv("UAE_CACHE_DIR", "off", 1);
    if (!test_small()) test_build_error(dev);
    uae_backend *ocl = open_index(dev, NULL), *ref;
    TRY(uae_backend_open("ref", &ref));
    printf("device: %s\n", uae_backend_name(ocl));
    test_max_alloc(ocl);
    test_gemm_nan(ocl);
    test_counters(ocl, ref);
    test_conv_sets_calls(ocl);
    test_backward_copies(ocl);
    uae_backend *cpu;
    TRY(uae_backend_open("cpu", &cpu));
    test_rng_streams(ocl, ref, cpu);
    uae_backend_free(cpu);
    test_ops(ocl, ref);
    /* The builtin GEMM kernel, used where CLBlast cannot run: the same checks. */
    setenv("UAE_OPENCL_GEMM", "builtin", 1);
    uae_backend *ocl_builtin = open_index(dev, NULL);
    unsetenv("UAE_OPENCL_GEMM");
    test_gemm_nan(ocl_builtin);
    test_counters(ocl_builtin, ref);
    test_conv_sets_calls(ocl_builtin);
    test_ops(ocl_builtin, ref);
    uae_backend_free(ocl_builtin);
    uae_backend_free(ref);
    uae_backend_free(ocl);
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    else puts("ok");
    return failures ? 1 : 0;
}
