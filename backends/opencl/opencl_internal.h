/* backends/opencl/opencl_internal.h — what the files of the OpenCL backend share: the device
 * context, the table of kernels, the error helpers, the program cache and the op launchers.
 * Private to backends/opencl/ (and to tests/test_opencl.c, which checks the cache and errors). */
#ifndef UAE_OPENCL_INTERNAL_H
#define UAE_OPENCL_INTERNAL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdbool.h>
#include <stdint.h>

#include "core/backend_impl.h"

/* Every kernel of the program, one line each: X(id, kernel function name in the .cl files).
 * The context builds them all in one loop (ocl_ctx.kernels[id]). */
#define UAE_OCL_KERNEL_LIST(X)                  \
    X(OCL_K_FILL, "uae_fill")                   \
    X(OCL_K_CLAMP, "uae_clamp")                 \
    X(OCL_K_BINARY, "uae_binary")               \
    X(OCL_K_UNARY, "uae_unary")                 \
    X(OCL_K_UNARY_BWD, "uae_unary_bwd")         \
    X(OCL_K_OPTIM, "uae_optim")                 \
    X(OCL_K_ATTACK_STEP, "uae_attack_step")     \
    X(OCL_K_GATHER_ROWS, "uae_gather_rows")     \
    X(OCL_K_SCATTER_ROWS, "uae_scatter_rows")   \
    X(OCL_K_MAXPOOL2, "uae_maxpool2")           \
    X(OCL_K_MAXPOOL2_BWD, "uae_maxpool2_bwd")   \
    X(OCL_K_UPSAMPLE2, "uae_upsample2")         \
    X(OCL_K_UPSAMPLE2_BWD, "uae_upsample2_bwd") \
    X(OCL_K_IM2COL, "uae_im2col")               \
    X(OCL_K_COL2IM, "uae_col2im")               \
    X(OCL_K_PACK_NKQ, "uae_pack_nkq")           \
    X(OCL_K_UNPACK_KNQ, "uae_unpack_knq")       \
    X(OCL_K_REDUCE, "uae_reduce")               \
    X(OCL_K_SOFTMAX, "uae_softmax")             \
    X(OCL_K_MINE_BOUND, "uae_mine_bound")       \
    X(OCL_K_RNG, "uae_rng")                     \
    X(OCL_K_PERMUTATION, "uae_permutation")     \
    X(OCL_K_GEMM_BUILTIN, "uae_gemm_builtin")

#define UAE_OCL_KERNEL_ENUM(id, name) id,
typedef enum ocl_kernel_id { UAE_OCL_KERNEL_LIST(UAE_OCL_KERNEL_ENUM) OCL_K_COUNT } ocl_kernel_id;
#undef UAE_OCL_KERNEL_ENUM

/* How the program was obtained when the backend opened (for tests and the docs' timings). */
typedef enum ocl_cache_result {
    OCL_CACHE_OFF,      /* UAE_CACHE_DIR=off, or no usable cache folder */
    OCL_CACHE_MISS,     /* built from source, then stored */
    OCL_CACHE_HIT,      /* loaded from a valid cache entry */
    OCL_CACHE_REJECTED, /* an entry existed but was corrupt or did not match: rebuilt and replaced
                         */
    OCL_CACHE_RESULT_COUNT
} ocl_cache_result;

/* Tunables chosen per device (a row of a small table in opencl_backend.c). */
typedef struct ocl_tuning {
    size_t pointwise_wg;   /* work-group size for one-item-per-element kernels */
    size_t reduce_wg;      /* work-group size for tree reductions (a power of two) */
    size_t scratch_floats; /* conv2d im2col scratch size (per buffer) */
} ocl_tuning;

/* Fault injection (UAE_OPENCL_FAULT, read once when the backend opens; docs/reliability.md): the
 * n-th kernel launch (of one kernel, or of any) and every later one fails with
 * CL_OUT_OF_RESOURCES, or the n-th buffer allocation and every later one with
 * CL_MEM_OBJECT_ALLOCATION_FAILURE, or the program build fails, as a driver would. */
typedef enum ocl_fault_kind { OCL_FAULT_NONE, OCL_FAULT_LAUNCH, OCL_FAULT_ALLOC, OCL_FAULT_BUILD }
    ocl_fault_kind;
typedef struct ocl_fault {
    ocl_fault_kind kind;
    int kernel;     /* OCL_FAULT_LAUNCH: an ocl_kernel_id, or -1 for any kernel */
    long n;         /* the first failing call, counting from 1 */
    long count;     /* calls of the kind (and kernel) so far */
} ocl_fault;

/* True if this call (a launch of kernel k, or an allocation) is to fail; counts it. */
bool uae_ocl_fault_hit(ocl_fault *f, ocl_fault_kind kind, int k);

typedef struct ocl_ctx {
    cl_platform_id platform;
    cl_device_id device;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernels[OCL_K_COUNT];
    size_t kernel_wg[OCL_K_COUNT]; /* CL_KERNEL_WORK_GROUP_SIZE of each kernel */
    size_t max_wg;                 /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    cl_ulong max_alloc;            /* CL_DEVICE_MAX_MEM_ALLOC_SIZE */
    uae_device_info info;
    ocl_tuning tune;
    size_t set_scratch_floats;     /* conv2d scratch for whole weight sets (conv_geometry): the
                                    * larger of tune.scratch_floats and min(max alloc, global
                                    * memory / 16) */
    ocl_cache_result cache;
    bool gemm_builtin;             /* GEMM by our own kernel: CLBlast failed here, or asked for */
    cl_mem scratch[2];             /* grow-only scratch buffers for conv2d (owned) */
    size_t scratch_bytes[2];
    ocl_fault fault;               /* UAE_OPENCL_FAULT, or kind NONE */
    uae_backend_counters counters; /* every enqueue, transfer and wait (uae/backend.h) */
} ocl_ctx;

/* ---- opencl_errors.c ---- */

/* "CL_OUT_OF_RESOURCES" for -5; never NULL. */
const char *uae_ocl_error_name(cl_int err);
/* The same for CLBlast's status codes (the OpenCL ones, plus CLBlast's own below -1000). */
const char *uae_clblast_error_name(int err);
/* Records "opencl: <call> failed with <NAME> (<code>): <what>" and returns UAE_ERR_NOMEM for
 * out-of-memory codes, UAE_ERR_DEVICE otherwise. fmt may be NULL. */
uae_status uae_ocl_fail(cl_int err, const char *call, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* ---- opencl_cache.c ---- */

/* FNV-1a 64-bit hash, continued from h (start with UAE_FNV_OFFSET). */
#define UAE_FNV_OFFSET 14695981039346656037ull
uint64_t uae_fnv1a64(uint64_t h, const void *data, size_t n);

/* The cache folder: $UAE_CACHE_DIR, else $XDG_CACHE_HOME/uae, else $HOME/.cache/uae. Returns
 * false when the cache is off (UAE_CACHE_DIR=off) or no folder can be named. */
bool uae_ocl_cache_dir(char *out, size_t cap);

/* Reads the entry for key from dir. On success *bin (malloc'd, caller frees) and *size hold the
 * program binary and the result is OCL_CACHE_HIT; OCL_CACHE_MISS if there is no entry;
 * OCL_CACHE_REJECTED if one exists but its header, key, size or checksum is wrong. */
ocl_cache_result uae_ocl_cache_load(const char *dir, uint64_t key, unsigned char **bin,
                                    size_t *size);

/* Writes the entry atomically (temporary file in dir, fsync, rename). Failure is not an error
 * for the caller (the cache is an optimisation): it returns false and leaves no partial file. */
bool uae_ocl_cache_store(const char *dir, uint64_t key, const unsigned char *bin, size_t size);

/* The path of key's entry in dir ("<dir>/<16 hex digits>.clbin"). */
void uae_ocl_cache_path(const char *dir, uint64_t key, char *out, size_t cap);

/* ---- opencl_backend.c ---- */

/* Scratch buffer `which` (0 or 1) of at least bytes bytes, grown when needed (owned by ctx). */
uae_status uae_ocl_scratch(ocl_ctx *c, int which, size_t bytes, cl_mem *out);

/* "uae_fill" for OCL_K_FILL: the kernel's function name. */
const char *uae_ocl_kernel_name(ocl_kernel_id k);

/* How the backend's program was obtained (tests). be must be an OpenCL backend. */
ocl_cache_result uae_ocl_backend_cache_result(const uae_backend *be);

/* ---- ocl_ops.c ---- */

bool uae_ocl_supports(void *ctx, const uae_op *op);
uae_status uae_ocl_compute(void *ctx, const uae_op *op);

#endif
