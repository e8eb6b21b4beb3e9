/* core/backend_impl.h — what a backend is made of (private to the library).
 *
 * A backend is a const table of functions (uae_backend_iface) plus a private context, wrapped in a
 * handle (struct uae_backend). core/ calls a backend only through this table and the handle; a new
 * backend is new files under backends/ plus one entry in backends/registry.c, never an edit in
 * core/ or models/. Optional slots may be NULL; each comment says what NULL means.
 *
 * The ops that supports() and compute() receive have been checked (uae_op_check) and normalised
 * (uae_op_normalise): a backend never decodes a default again.
 */
#ifndef UAE_BACKEND_IMPL_H
#define UAE_BACKEND_IMPL_H

#include <stdbool.h>
#include <stddef.h>

#include "uae/backend.h"
#include "uae/ops.h"

typedef struct uae_backend_iface {
    const char *kind; /* "ref", "cpu", "opencl" */

    /* Frees ctx and everything it owns. */
    void (*free)(void *ctx);

    /* Device memory. Sizes and offsets are in bytes. buf_alloc returns UAE_ERR_NOMEM with a message
     * (including when bytes exceeds the device's largest allocation). */
    uae_status (*buf_alloc)(void *ctx, size_t bytes, void **buf);
    void (*buf_free)(void *ctx, void *buf);
    uae_status (*buf_write)(void *ctx, void *buf, size_t offset, size_t bytes, const void *src);
    uae_status (*buf_read)(void *ctx, void *buf, size_t offset, size_t bytes, void *dst);
    uae_status (*buf_copy)(void *ctx, void *dst, size_t dst_offset, void *src, size_t src_offset,
                           size_t bytes);

    /* Host address of a buffer, for backends whose memory is host memory. NULL slot: never. */
    float *(*host_ptr)(void *ctx, void *buf);

    /* Whether compute() handles this (checked, normalised) op. NULL slot: every op. An op it
     * declines runs on the handle's host backend (uae_backend_set_host). */
    bool (*supports)(void *ctx, const uae_op *op);

    /* Runs one checked, normalised op that supports() accepted; it does not ask again. The one
     * dispatch point of the backend. */
    uae_status (*compute)(void *ctx, const uae_op *op);

    /* Waits for queued work. NULL slot: nothing to wait for. */
    uae_status (*sync)(void *ctx);

    /* Fills the device description. */
    void (*info)(void *ctx, uae_device_info *info);

    /* The backend's counters of device calls (uae_backend_counters), owned by ctx; the caller may
     * read and zero them. NULL slot: the backend counts nothing (all zeros). */
    uae_backend_counters *(*counters)(void *ctx);
} uae_backend_iface;

struct uae_backend {
    const uae_backend_iface *iface;
    void *ctx;             /* owned; freed by iface->free */
    char name[192];
    char numerics[UAE_BACKEND_NUMERICS_MAX];    /* uae_backend_numerics: set by uae_backend_wrap and _set_host */
    uae_device_info dev;
    uint64_t fallbacks;    /* ops run on the host because supports() said no */
    uae_backend *host;     /* owned; runs the ops supports() declines; NULL: supports is NULL */
};

/* Creates a backend handle around iface and ctx (ownership of ctx passes to it). */
uae_status uae_backend_wrap(const uae_backend_iface *iface, void *ctx, uae_backend **out);

/* Sets the device's index in the registry's flat list, and the name that shows it. */
void uae_backend_set_index(uae_backend *be, int index);

/* Gives be a host backend (ownership passes to be) that runs, on host copies of the tensors, the
 * ops be's supports() declines. The registry sets it for every backend that has supports(). */
void uae_backend_set_host(uae_backend *be, uae_backend *host);

/* Replaces every default of the op's parameters by its explicit value: the GEMM's leading
 * dimensions and batch strides ("0 = tight"). uae_op_run hands backends only normalised ops. */
void uae_op_normalise(uae_op *op);

#endif /* UAE_BACKEND_IMPL_H */
