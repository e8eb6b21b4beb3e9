/* backends/opencl/opencl_backend.c — the OpenCL backend's device list, context, queue, buffers,
 * program (built once per device, through the disk cache) and its table of kernels.
 * What each op does on the device is in ocl_ops.c and the .cl files; this file only sets up. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/opencl/ocl_kernels_src.h" /* generated: uae_ocl_sources[], UAE_OCL_NSOURCES */
#include "backends/opencl/opencl_backend.h"
#include "backends/opencl/opencl_internal.h" /* first: it sets CL_TARGET_OPENCL_VERSION */

#include <clblast_c.h>

#include "uae_config.h"

#define KERNEL_NAME(id, name) [id] = name,
static const char *const kernel_names[] = {UAE_OCL_KERNEL_LIST(KERNEL_NAME)};
#undef KERNEL_NAME
_Static_assert(sizeof kernel_names / sizeof kernel_names[0] == OCL_K_COUNT, "one name per kernel");

const char *uae_ocl_kernel_name(ocl_kernel_id k) { return kernel_names[k]; }

/* Per-device tunables: the first row whose vendor substring matches, the last row (vendor "") is
 * the default. Rows are added when a device is measured to prefer other values. */
static const struct {
    const char *vendor;
    ocl_tuning tune;
} tuning_table[] = {
    {"", {.pointwise_wg = 64, .reduce_wg = 256, .scratch_floats = (size_t)16 << 20}},
};

/* ---- The flat device list ------------------------------------------------------------------ */

enum { MAX_PLATFORMS = 16, MAX_DEVICES = 64 };

/* Collects every device of every platform, in platform order then device order. A missing ICD
 * loader or a platform without devices simply contributes nothing. */
static int all_devices(cl_platform_id *plats, cl_device_id *devs, int cap) {
    cl_platform_id pl[MAX_PLATFORMS];
    cl_uint npl = 0;
    if (clGetPlatformIDs(MAX_PLATFORMS, pl, &npl) != CL_SUCCESS) return 0;
    if (npl > MAX_PLATFORMS) npl = MAX_PLATFORMS;
    int n = 0;
    for (cl_uint p = 0; p < npl; p++) {
        cl_device_id d[MAX_DEVICES];
        cl_uint nd = 0;
        if (clGetDeviceIDs(pl[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES, d, &nd) != CL_SUCCESS) continue;
        if (nd > MAX_DEVICES) nd = MAX_DEVICES;
        for (cl_uint i = 0; i < nd && n < cap; i++, n++) {
            plats[n] = pl[p];
            devs[n] = d[i];
        }
    }
    return n;
}

/* A platform string, truncated to cap (read whole first: a short buffer is an error in OpenCL). */
static void platform_str(cl_platform_id p, cl_platform_info what, char *out, size_t cap) {
    size_t len = 0;
    out[0] = '\0';
    if (clGetPlatformInfo(p, what, 0, NULL, &len) != CL_SUCCESS || len == 0) return;
    char *tmp = malloc(len + 1);
    if (!tmp) return;
    if (clGetPlatformInfo(p, what, len, tmp, NULL) == CL_SUCCESS) {
        tmp[len] = '\0';
        snprintf(out, cap, "%s", tmp);
    }
    free(tmp);
}

static void device_str(cl_device_id d, cl_device_info what, char *out, size_t cap) {
    /* A string longer than cap is an error for clGetDeviceInfo; read it whole, then truncate. */
    size_t len = 0;
    out[0] = '\0';
    if (clGetDeviceInfo(d, what, 0, NULL, &len) != CL_SUCCESS || len == 0) return;
    char *tmp = malloc(len + 1);
    if (!tmp) return;
    if (clGetDeviceInfo(d, what, len, tmp, NULL) == CL_SUCCESS) {
        tmp[len] = '\0';
        snprintf(out, cap, "%s", tmp);
    }
    free(tmp);
}

static void fill_info(cl_platform_id p, cl_device_id d, uae_device_info *info) {
    memset(info, 0, sizeof *info);
    snprintf(info->backend, sizeof info->backend, "opencl");
    platform_str(p, CL_PLATFORM_NAME, info->platform, sizeof info->platform);
    device_str(d, CL_DEVICE_NAME, info->name, sizeof info->name);
    device_str(d, CL_DEVICE_VENDOR, info->vendor, sizeof info->vendor);
    device_str(d, CL_DRIVER_VERSION, info->driver_version, sizeof info->driver_version);
    device_str(d, CL_DEVICE_VERSION, info->api_version, sizeof info->api_version);
    cl_device_type type = 0;
    clGetDeviceInfo(d, CL_DEVICE_TYPE, sizeof type, &type, NULL);
    snprintf(info->type, sizeof info->type, "%s",
             type & CL_DEVICE_TYPE_GPU           ? "gpu"
             : type & CL_DEVICE_TYPE_CPU         ? "cpu"
             : type & CL_DEVICE_TYPE_ACCELERATOR ? "accelerator"
                                                 : "other");
    cl_uint cu = 0;
    cl_ulong gmem = 0, lmem = 0, maxalloc = 0;
    clGetDeviceInfo(d, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof cu, &cu, NULL);
    clGetDeviceInfo(d, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof gmem, &gmem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_LOCAL_MEM_SIZE, sizeof lmem, &lmem, NULL);
    clGetDeviceInfo(d, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof maxalloc, &maxalloc, NULL);
    info->compute_units = (int)cu;
    info->global_mem_bytes = gmem;
    info->local_mem_bytes = lmem;
    info->max_alloc_bytes = maxalloc;
}

uae_status uae_opencl_device_list(uae_device_info *infos, int cap, int *count) {
    cl_platform_id plats[MAX_DEVICES];
    cl_device_id devs[MAX_DEVICES];
    int n = all_devices(plats, devs, MAX_DEVICES);
    for (int i = 0; infos && i < n && i < cap; i++) fill_info(plats[i], devs[i], &infos[i]);
    *count = n;
    return UAE_OK;
}

/* ---- Building the program (through the cache) ---------------------------------------------- */

/* The build options: OpenCL C 1.2, no fast-math flags (IEEE results), the tunables, and any
 * extra options the user gives in $UAE_OPENCL_OPTIONS (they are part of the cache key). */
static void build_options(const ocl_ctx *c, char *out, size_t cap) {
    const char *extra = getenv("UAE_OPENCL_OPTIONS");
    snprintf(out, cap, "-cl-std=CL1.2 -DUAE_REDUCE_WG=%zu%s%s", c->tune.reduce_wg,
             extra && *extra ? " " : "", extra ? extra : "");
}

/* The cache key: everything that can change the binary. Each field is followed by a 0 byte so
 * that ("ab", "c") and ("a", "bc") hash differently. */
static uint64_t cache_key(const ocl_ctx *c, const char *options) {
    char plat_version[256];
    platform_str(c->platform, CL_PLATFORM_VERSION, plat_version, sizeof plat_version);
    const char *fields[] = {options,           c->info.name,   c->info.driver_version,
                            c->info.api_version, plat_version, UAE_VERSION};
    uint64_t h = UAE_FNV_OFFSET;
    for (int i = 0; i < UAE_OCL_NSOURCES; i++)
        h = uae_fnv1a64(h, uae_ocl_sources[i], strlen(uae_ocl_sources[i]) + 1);
    for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++)
        h = uae_fnv1a64(h, fields[i], strlen(fields[i]) + 1);
    return h;
}

/* The build log of the program for our device, into a malloc'd string (NULL if unavailable). */
static char *build_log(const ocl_ctx *c, cl_program prog) {
    size_t len = 0;
    if (clGetProgramBuildInfo(prog, c->device, CL_PROGRAM_BUILD_LOG, 0, NULL, &len) != CL_SUCCESS)
        return NULL;
    char *log = malloc(len + 1);
    if (!log) return NULL;
    if (clGetProgramBuildInfo(prog, c->device, CL_PROGRAM_BUILD_LOG, len, log, NULL) != CL_SUCCESS)
        len = 0;
    log[len] = '\0';
    return log;
}

static uae_status build_from_source(ocl_ctx *c, const char *options) {
    cl_int err;
    if (c->fault.kind == OCL_FAULT_BUILD)
        return uae_fail(UAE_ERR_BUILD, "opencl: clBuildProgram failed with %s (%d) on %s, options "
                        "\"%s\"; build log:\n(a build failure injected by UAE_OPENCL_FAULT=build)",
                        uae_ocl_error_name(CL_BUILD_PROGRAM_FAILURE), (int)CL_BUILD_PROGRAM_FAILURE,
                        c->info.name, options);
    /* The cast only drops the array's own const: OpenCL 1.2 declares `const char **` but does not
     * write through it. */
    c->program = clCreateProgramWithSource(c->context, UAE_OCL_NSOURCES,
                                           (const char **)uae_ocl_sources, NULL, &err);
    if (err != CL_SUCCESS) return uae_ocl_fail(err, "clCreateProgramWithSource", NULL);
    err = clBuildProgram(c->program, 1, &c->device, options, NULL, NULL);
    if (err != CL_SUCCESS) {
        char *log = build_log(c, c->program);
        uae_status st = uae_fail(
            UAE_ERR_BUILD,
            "opencl: clBuildProgram failed with %s (%d) on %s, options \"%s\"; "
            "build log:\n%s",
            uae_ocl_error_name(err), (int)err, c->info.name, options, log ? log : "(no log)");
        free(log);
        return st;
    }
    return UAE_OK;
}

/* Tries the binary from the cache; false (and no program) if the driver does not take it. */
static bool build_from_binary(ocl_ctx *c, const char *options, const unsigned char *bin,
                              size_t size) {
    cl_int err, bin_status;
    c->program = clCreateProgramWithBinary(c->context, 1, &c->device, &size, &bin, &bin_status,
                                           &err);
    if (err == CL_SUCCESS && bin_status == CL_SUCCESS)
        err = clBuildProgram(c->program, 1, &c->device, options, NULL, NULL);
    if (err == CL_SUCCESS && bin_status == CL_SUCCESS) return true;
    if (c->program) clReleaseProgram(c->program);
    c->program = NULL;
    return false;
}

/* Stores the built program's binary; a failure only costs the next start-up a rebuild. */
static void store_binary(const ocl_ctx *c, const char *dir, uint64_t key) {
    size_t size = 0;
    if (clGetProgramInfo(c->program, CL_PROGRAM_BINARY_SIZES, sizeof size, &size, NULL) !=
            CL_SUCCESS || size == 0)
        return;
    unsigned char *bin = malloc(size);
    if (!bin) return;
    if (clGetProgramInfo(c->program, CL_PROGRAM_BINARIES, sizeof bin, &bin, NULL) == CL_SUCCESS)
        uae_ocl_cache_store(dir, key, bin, size);
    free(bin);
}

static uae_status build_program(ocl_ctx *c) {
    char options[1024], dir[1024];
    build_options(c, options, sizeof options);
    if (!uae_ocl_cache_dir(dir, sizeof dir)) {
        c->cache = OCL_CACHE_OFF;
        return build_from_source(c, options);
    }
    uint64_t key = cache_key(c, options);
    unsigned char *bin = NULL;
    size_t size = 0;
    if (c->fault.kind == OCL_FAULT_BUILD) return build_from_source(c, options); /* no cache */
    c->cache = uae_ocl_cache_load(dir, key, &bin, &size);
    if (c->cache == OCL_CACHE_HIT && !build_from_binary(c, options, bin, size))
        c->cache = OCL_CACHE_REJECTED; /* the driver refused it (e.g. changed underneath) */
    free(bin);
    if (c->cache == OCL_CACHE_HIT) return UAE_OK;
    UAE_TRY(build_from_source(c, options));
    store_binary(c, dir, key);
    return UAE_OK;
}

static uae_status create_kernels(ocl_ctx *c) {
    for (int k = 0; k < OCL_K_COUNT; k++) {
        cl_int err;
        c->kernels[k] = clCreateKernel(c->program, kernel_names[k], &err);
        if (err != CL_SUCCESS) return uae_ocl_fail(err, "clCreateKernel", "%s", kernel_names[k]);
        err = clGetKernelWorkGroupInfo(c->kernels[k], c->device, CL_KERNEL_WORK_GROUP_SIZE,
                                       sizeof c->kernel_wg[k], &c->kernel_wg[k], NULL);
        if (err != CL_SUCCESS)
            return uae_ocl_fail(err, "clGetKernelWorkGroupInfo", "%s", kernel_names[k]);
    }
    return UAE_OK;
}

/* ---- The backend table ---------------------------------------------------------------------- */

static void ocl_free(void *ctx) {
    ocl_ctx *c = ctx;
    if (!c) return;
    if (c->queue) clFinish(c->queue);
    /* CLBlast keeps compiled GEMM programs of every context in a process-wide cache, released only
     * by its static destructors at exit, after some drivers (Oclgrind) are gone: clear it while
     * the context is alive. Another open OpenCL backend only recompiles its GEMM kernels. */
    CLBlastClearCache();
    for (int i = 0; i < 2; i++)
        if (c->scratch[i]) clReleaseMemObject(c->scratch[i]);
    for (int k = 0; k < OCL_K_COUNT; k++)
        if (c->kernels[k]) clReleaseKernel(c->kernels[k]);
    if (c->program) clReleaseProgram(c->program);
    if (c->queue) clReleaseCommandQueue(c->queue);
    if (c->context) clReleaseContext(c->context);
    free(c);
}

static uae_status ocl_alloc(void *ctx, size_t bytes, void **buf) {
    ocl_ctx *c = ctx;
    *buf = NULL;
    if (bytes > c->max_alloc)
        return uae_fail(UAE_ERR_NOMEM,
                        "opencl: cannot allocate %zu bytes on %s: above the device's largest "
                        "allocation CL_DEVICE_MAX_MEM_ALLOC_SIZE = %llu bytes",
                        bytes, c->info.name, (unsigned long long)c->max_alloc);
    cl_int err;
    cl_mem m = NULL;
    if (uae_ocl_fault_hit(&c->fault, OCL_FAULT_ALLOC, -1)) err = CL_MEM_OBJECT_ALLOCATION_FAILURE;
    else m = clCreateBuffer(c->context, CL_MEM_READ_WRITE, bytes ? bytes : 64, NULL, &err);
    if (err != CL_SUCCESS)
        return uae_ocl_fail(err, "clCreateBuffer", "%zu bytes on %s", bytes, c->info.name);
    *buf = m;
    return UAE_OK;
}

static void ocl_buf_free(void *ctx, void *buf) {
    (void)ctx;
    if (buf) clReleaseMemObject((cl_mem)buf);
}

/* Host copies block: the host memory may be reused as soon as the call returns. */
static uae_status ocl_write(void *ctx, void *buf, size_t off, size_t bytes, const void *src) {
    ocl_ctx *c = ctx;
    if (bytes == 0) return UAE_OK;
    cl_int err =
        clEnqueueWriteBuffer(c->queue, (cl_mem)buf, CL_TRUE, off, bytes, src, 0, NULL, NULL);
    if (err != CL_SUCCESS) return uae_ocl_fail(err, "clEnqueueWriteBuffer", "%zu bytes", bytes);
    c->counters.writes++;
    c->counters.write_bytes += bytes;
    return UAE_OK;
}

static uae_status ocl_read(void *ctx, void *buf, size_t off, size_t bytes, void *dst) {
    ocl_ctx *c = ctx;
    if (bytes == 0) return UAE_OK;
    cl_int err =
        clEnqueueReadBuffer(c->queue, (cl_mem)buf, CL_TRUE, off, bytes, dst, 0, NULL, NULL);
    if (err != CL_SUCCESS) return uae_ocl_fail(err, "clEnqueueReadBuffer", "%zu bytes", bytes);
    c->counters.reads++;
    c->counters.read_bytes += bytes;
    return UAE_OK;
}

static uae_status ocl_copy(void *ctx, void *dst, size_t doff, void *src, size_t soff,
                           size_t bytes) {
    ocl_ctx *c = ctx;
    if (bytes == 0 || (dst == src && doff == soff)) return UAE_OK;
    if (dst == src && doff < soff + bytes && soff < doff + bytes) {
        /* clEnqueueCopyBuffer refuses overlapping regions (CL_MEM_COPY_OVERLAP): go through the
         * host, which is rare and simple. */
        void *tmp = malloc(bytes);
        if (!tmp) return uae_fail(UAE_ERR_NOMEM, "opencl: overlapping copy: out of host memory");
        uae_status st = ocl_read(c, src, soff, bytes, tmp);
        if (st == UAE_OK) st = ocl_write(c, dst, doff, bytes, tmp);
        free(tmp);
        return st;
    }
    cl_int err = clEnqueueCopyBuffer(c->queue, (cl_mem)src, (cl_mem)dst, soff, doff, bytes, 0, NULL,
                                     NULL);
    if (err != CL_SUCCESS) return uae_ocl_fail(err, "clEnqueueCopyBuffer", "%zu bytes", bytes);
    c->counters.copies++;
    return UAE_OK;
}

static uae_status ocl_sync(void *ctx) {
    ocl_ctx *c = ctx;
    cl_int err = clFinish(c->queue);
    if (err != CL_SUCCESS) return uae_ocl_fail(err, "clFinish", NULL);
    c->counters.syncs++;
    return UAE_OK;
}

static void ocl_info(void *ctx, uae_device_info *info) { *info = ((ocl_ctx *)ctx)->info; }

static uae_backend_counters *ocl_counters(void *ctx) { return &((ocl_ctx *)ctx)->counters; }

uae_status uae_ocl_scratch(ocl_ctx *c, int which, size_t bytes, cl_mem *out) {
    if (c->scratch_bytes[which] < bytes) {
        if (c->scratch[which]) clReleaseMemObject(c->scratch[which]);
        c->scratch[which] = NULL;
        c->scratch_bytes[which] = 0;
        void *buf;
        UAE_TRY(ocl_alloc(c, bytes, &buf));
        c->scratch[which] = buf;
        c->scratch_bytes[which] = bytes;
    }
    *out = c->scratch[which];
    return UAE_OK;
}

static const uae_backend_iface ocl_iface = {
    .kind = "opencl",
    .free = ocl_free,
    .buf_alloc = ocl_alloc,
    .buf_free = ocl_buf_free,
    .buf_write = ocl_write,
    .buf_read = ocl_read,
    .buf_copy = ocl_copy,
    .host_ptr = NULL, /* device memory is never host memory here */
    .supports = uae_ocl_supports,
    .compute = uae_ocl_compute,
    .sync = ocl_sync,
    .info = ocl_info,
    .counters = ocl_counters,
};

ocl_cache_result uae_ocl_backend_cache_result(const uae_backend *be) {
    UAE_ASSERT(be->iface == &ocl_iface);
    return ((const ocl_ctx *)be->ctx)->cache;
}

bool uae_ocl_fault_hit(ocl_fault *f, ocl_fault_kind kind, int k) {
    if (f->kind != kind || (kind == OCL_FAULT_LAUNCH && f->kernel >= 0 && f->kernel != k))
        return false;
    return ++f->count >= f->n;
}

/* Parses UAE_OPENCL_FAULT: launch:<kernel>:<n> (a kernel name with or without its "uae_" prefix,
 * or "any"), alloc:<n> or build. */
static uae_status parse_fault(const char *spec, ocl_fault *f) {
    memset(f, 0, sizeof *f);
    f->kernel = -1;
    if (!spec || !*spec) return UAE_OK;
    char name[64] = "";
    long n = 0;
    int used = 0;
    if (strcmp(spec, "build") == 0) {
        f->kind = OCL_FAULT_BUILD;
        return UAE_OK;
    }
    if (sscanf(spec, "alloc:%ld%n", &n, &used) == 1 && spec[used] == '\0' && n >= 1) {
        f->kind = OCL_FAULT_ALLOC;
        f->n = n;
        return UAE_OK;
    }
    if (sscanf(spec, "launch:%63[^:]:%ld%n", name, &n, &used) == 2 && spec[used] == '\0' && n >= 1) {
        f->kind = OCL_FAULT_LAUNCH;
        f->n = n;
        if (strcmp(name, "any") == 0) return UAE_OK;
        for (int k = 0; k < OCL_K_COUNT; k++)
            if (strcmp(kernel_names[k], name) == 0 ||
                (strncmp(kernel_names[k], "uae_", 4) == 0 && strcmp(kernel_names[k] + 4, name) == 0))
                f->kernel = k;
        if (f->kernel >= 0) return UAE_OK;
    }
    return uae_fail(UAE_ERR_INVALID, "opencl: UAE_OPENCL_FAULT='%s': expected launch:<kernel>:<n> "
                    "(a kernel such as optim or uae_optim, or any), alloc:<n> or build", spec);
}

static uae_status open_device(ocl_ctx *c) {
    cl_int err;
    /* Fault injection for tests (docs/reliability.md); read once, here. */
    UAE_TRY(parse_fault(getenv("UAE_OPENCL_FAULT"), &c->fault));
    fill_info(c->platform, c->device, &c->info);
    clGetDeviceInfo(c->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof c->max_wg, &c->max_wg, NULL);
    c->max_alloc = c->info.max_alloc_bytes;
    for (size_t i = 0; i < sizeof tuning_table / sizeof tuning_table[0]; i++)
        if (strstr(c->info.vendor, tuning_table[i].vendor)) {
            c->tune = tuning_table[i].tune;
            break;
        }
    /* Whole weight sets may share a scratch this large (a sixteenth of the device's memory, within
     * one allocation): MINE's 2S sets at large B in one chunk (ocl_ops.c, conv_geometry). */
    uint64_t set_bytes = c->info.global_mem_bytes / 16;
    if (set_bytes > c->max_alloc) set_bytes = c->max_alloc;
    c->set_scratch_floats = (size_t)(set_bytes / sizeof(float));
    if (c->set_scratch_floats < c->tune.scratch_floats) c->set_scratch_floats = c->tune.scratch_floats;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)c->platform, 0};
    c->context = clCreateContext(props, 1, &c->device, NULL, NULL, &err);
    if (err != CL_SUCCESS) return uae_ocl_fail(err, "clCreateContext", "%s", c->info.name);
    c->queue = clCreateCommandQueue(c->context, c->device, 0, &err);
    if (err != CL_SUCCESS) return uae_ocl_fail(err, "clCreateCommandQueue", "%s", c->info.name);
    /* $UAE_OPENCL_GEMM=builtin: GEMM by the plain kernel of ocl_gemm.cl instead of CLBlast (for
     * tests, and for devices where CLBlast misbehaves; see ocl_ops.c). */
    const char *gemm = getenv("UAE_OPENCL_GEMM");
    c->gemm_builtin = gemm && strcmp(gemm, "builtin") == 0;
    UAE_TRY(build_program(c));
    return create_kernels(c);
}

uae_status uae_opencl_backend_create(int which, uae_backend **out) {
    *out = NULL;
    cl_platform_id plats[MAX_DEVICES];
    cl_device_id devs[MAX_DEVICES];
    int n = all_devices(plats, devs, MAX_DEVICES);
    if (which < 0 || which >= n)
        return uae_fail(UAE_ERR_INVALID, "opencl: no device %d (there are %d)", which, n);
    ocl_ctx *c = calloc(1, sizeof *c);
    if (!c) return uae_fail(UAE_ERR_NOMEM, "opencl: out of host memory");
    c->platform = plats[which];
    c->device = devs[which];
    uae_status st = open_device(c);
    if (st != UAE_OK) {
        ocl_free(c);
        return st;
    }
    /* Position among the OpenCL devices: uae_backend_wrap names the handle "opencl:<which> ..."
     * with it; the registry then sets the flat index in the handle's device info. */
    c->info.index = which;
    return uae_backend_wrap(&ocl_iface, c, out);
}
