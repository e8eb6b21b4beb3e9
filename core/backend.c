/* core/backend.c — the generic parts of a backend handle: wrapping a table and a context,
 * names, device info, sync, the host backend for fallbacks. Device-specific code lives in
 * backends/cpu and backends/opencl; which backends exist, in backends/registry.c. */
#include <stdlib.h>
#include <string.h>

#include "backend_impl.h"

/* be->numerics (uae_backend_numerics) from its device info and host backend. */
static void format_numerics(uae_backend *be) {
    if (strcmp(be->dev.platform, "host") == 0)
        snprintf(be->numerics, sizeof be->numerics, "%s %s", be->dev.backend, be->dev.kernels);
    else
        snprintf(be->numerics, sizeof be->numerics, "%s %.128s / %.128s%s%.64s", be->iface->kind,
                 be->dev.name, be->dev.driver_version, be->host ? ", host " : "",
                 be->host ? be->host->numerics : "");
}

uae_status uae_backend_wrap(const uae_backend_iface *iface, void *ctx, uae_backend **out) {
    uae_backend *be = calloc(1, sizeof *be);
    if (!be) {
        iface->free(ctx);
        return uae_fail(UAE_ERR_NOMEM, "backend: out of host memory");
    }
    be->iface = iface;
    be->ctx = ctx;
    iface->info(ctx, &be->dev);
    uae_backend_set_index(be, be->dev.index);
    format_numerics(be);
    *out = be;
    return UAE_OK;
}

void uae_backend_set_index(uae_backend *be, int index) {
    be->dev.index = index;
    /* A device (platform other than "host") by its index and name: "opencl:2 gfx1030". */
    if (strcmp(be->dev.platform, "host") != 0)
        snprintf(be->name, sizeof be->name, "%s:%d %s", be->iface->kind, index, be->dev.name);
    else
        snprintf(be->name, sizeof be->name, "%s (%d thread%s)", be->iface->kind,
                 be->dev.compute_units, be->dev.compute_units == 1 ? "" : "s");
}

void uae_backend_set_host(uae_backend *be, uae_backend *host) {
    uae_backend_free(be->host);
    be->host = host;
    format_numerics(be);
}

void uae_backend_free(uae_backend *be) {
    if (!be) return;
    uae_backend_free(be->host);
    be->iface->free(be->ctx);
    free(be);
}

const char *uae_backend_name(const uae_backend *be) { return be->name; }
const char *uae_backend_kind(const uae_backend *be) { return be->iface->kind; }

const char *uae_backend_numerics(const uae_backend *be) { return be->numerics; }
void uae_backend_info(const uae_backend *be, uae_device_info *info) { *info = be->dev; }
uint64_t uae_backend_fallback_count(const uae_backend *be) { return be->fallbacks; }

void uae_backend_counters_get(const uae_backend *be, uae_backend_counters *out) {
    uae_backend_counters *n = be->iface->counters ? be->iface->counters(be->ctx) : NULL;
    if (n) *out = *n;
    else memset(out, 0, sizeof *out);
}

void uae_backend_counters_reset(uae_backend *be) {
    uae_backend_counters *n = be->iface->counters ? be->iface->counters(be->ctx) : NULL;
    if (n) memset(n, 0, sizeof *n);
}

uae_status uae_backend_sync(uae_backend *be) {
    return be->iface->sync ? be->iface->sync(be->ctx) : UAE_OK;
}
