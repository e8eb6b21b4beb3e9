/* uae/backend.h — choosing where computation runs: the registry of backends and devices.
 *
 * A backend is an opaque handle to one device: the scalar reference ("ref"), the OpenMP CPU
 * backend ("cpu"), or one OpenCL device. Every tensor lives on exactly one backend; every op runs
 * on the backend of its tensors. What a backend is made of (its table of operations) is private
 * to backends/; nothing here depends on OpenCL or OpenMP.
 *
 *     uae_backend *be;
 *     if (uae_backend_open("cpu", &be) != UAE_OK) { puts(uae_last_error()); return 1; }
 *     ...
 *     uae_backend_free(be);
 *
 * Device specs accepted by uae_backend_open (also the CLI's --device and $UAE_DEVICE):
 *   "ref"            the scalar reference backend (slow; the oracle in tests)
 *   "cpu"            the OpenMP CPU backend (the default)
 *   "opencl" / "gpu" the first OpenCL GPU, else the first OpenCL device of any type
 *   "<index>"        entry <index> of uae_device_list (as printed by `uae devices`)
 *   "<substring>"    the one device whose name, vendor or platform contains it (case-insensitive)
 * An unknown or ambiguous spec is UAE_ERR_INVALID, with the candidates in the message.
 */
#ifndef UAE_BACKEND_H
#define UAE_BACKEND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uae_backend uae_backend;

/* What `uae devices` prints about one device. Strings are NUL-terminated and truncated to fit. */
typedef struct uae_device_info {
    int index;                 /* position in the flat list, stable for one machine and build */
    char backend[16];          /* "ref", "cpu", "opencl" */
    char platform[128];        /* OpenCL platform name, or "host" */
    char name[128];            /* device name */
    char vendor[128];
    char type[16];             /* "cpu", "gpu", "accelerator", "other" */
    char driver_version[256];
    char api_version[256];     /* e.g. "OpenCL 3.0 PoCL ..."; "" for host backends */
    int compute_units;         /* cores / threads / compute units */
    uint64_t global_mem_bytes;
    uint64_t local_mem_bytes;
    uint64_t max_alloc_bytes;
    char kernels[32];          /* host backends: the kernel path ("avx512", "avx2", "generic";
                                  "scalar" for ref); "" for devices */
} uae_device_info;

/* Fills *count with the number of devices over all backends compiled in and present at run time
 * (never fails for lack of OpenCL: then only the host backends are listed). If infos is non-NULL it
 * receives up to cap entries. */
uae_status uae_device_list(uae_device_info *infos, int cap, int *count);

/* Whether this build has what name says compiled in: "ref" and "cpu" (always), "opencl" (meson
 * found an OpenCL loader and CLBlast), "openmp" (the CPU backend runs threads). Any other name:
 * false. Whether a device is present is uae_device_list's business. */
bool uae_backend_compiled(const char *name);

/* Opens the device named by spec (see the top of this file); NULL or "" means $UAE_DEVICE if set,
 * else "cpu". The caller owns *out and frees it with uae_backend_free. */
uae_status uae_backend_open(const char *spec, uae_backend **out);

/* Frees a backend and everything it allocated. NULL is a no-op. All tensors, arenas and tapes made
 * on it must be freed first. */
void uae_backend_free(uae_backend *be);

/* Short human-readable name, e.g. "cpu (2 threads)" or "opencl:0 NVIDIA H200". Owned by be. */
const char *uae_backend_name(const uae_backend *be);

/* The kind of backend: "ref", "cpu" or "opencl". Owned by be. */
const char *uae_backend_kind(const uae_backend *be);

/* What decides the bits of be's results: two backends with the same string compute every op to
 * the same bits, whatever their thread counts. "cpu avx512", "cpu avx2", "ref scalar", or for a
 * device "opencl NAME / DRIVER VERSION" (with ", host cpu avx512" for the ops it runs on the
 * host). Files that keep results (an attack's statistics lines) record it, so that a run resumed
 * on another path can say that its rows differ in rounding from an uninterrupted run's. Owned by
 * be. */
const char *uae_backend_numerics(const uae_backend *be);
enum { UAE_BACKEND_NUMERICS_MAX = 448 }; /* its longest length + 1 */

/* Device properties of this backend. */
void uae_backend_info(const uae_backend *be, uae_device_info *info);

/* Waits until all work queued on be has finished (a no-op on host backends). */
uae_status uae_backend_sync(uae_backend *be);

/* Number of ops that this backend did not support and ran on the host instead (see
 * uae_op_supported); a performance hint, reported by the bench. */
uint64_t uae_backend_fallback_count(const uae_backend *be);

/* What a backend has asked of its device since it opened or since the last
 * uae_backend_counters_reset: the host's side of the work, which decides the speed of small ops on
 * a GPU (each launch costs microseconds, each blocking read a round trip). Counts, not times: the
 * same program gives the same counts on any run. Host backends (ref, cpu) count nothing and report
 * zeros; the OpenCL backend counts every call it makes:
 *
 *     uae_backend_counters_reset(be);
 *     ... ops ...
 *     uae_backend_counters n;
 *     uae_backend_counters_get(be, &n);   // n.launches kernels were enqueued, ...
 */
typedef struct uae_backend_counters {
    uint64_t launches;    /* kernels of the backend's own enqueued (not those of a BLAS library) */
    uint64_t blas_calls;  /* calls into a device BLAS library (CLBlast), one each, whatever it
                             launches inside */
    uint64_t copies;      /* device-to-device buffer copies */
    uint64_t writes;      /* host-to-device transfers (blocking) */
    uint64_t write_bytes;
    uint64_t reads;       /* device-to-host transfers (blocking: each waits for the queue) */
    uint64_t read_bytes;
    uint64_t syncs;       /* explicit waits for the queue (uae_backend_sync and the like) */
} uae_backend_counters;

/* Fills *out with be's counters (all zero on backends that count nothing). */
void uae_backend_counters_get(const uae_backend *be, uae_backend_counters *out);

/* Sets be's counters to zero. */
void uae_backend_counters_reset(uae_backend *be);

#ifdef __cplusplus
}
#endif
#endif /* UAE_BACKEND_H */
