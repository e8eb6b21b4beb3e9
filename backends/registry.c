/* backends/registry.c — the list of backends and devices, and opening one by name.
 * This is the one file (with meson) that knows which backends the build has: the only
 * `#if UAE_HAVE_OPENCL` in the code; apps ask uae_backend_compiled. The flat device list is: 0 "cpu", 1 "ref", then every
 * OpenCL device of every platform. "cpu:N" opens the CPU backend with N threads. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_backend.h"
#include "core/backend_impl.h"
#include "uae_config.h"

#if UAE_HAVE_OPENCL
#include "backends/opencl/opencl_backend.h"
#endif

#define N_HOST 2

static void host_info(int index, uae_device_info *info) {
    uae_backend *be;
    if (uae_cpu_backend_create(index == 1, 0, &be) != UAE_OK) {
        memset(info, 0, sizeof *info);
        return;
    }
    uae_backend_info(be, info);
    uae_backend_free(be);
    info->index = index;
}

static int opencl_list(uae_device_info *infos, int cap) {
    int n = 0;
#if UAE_HAVE_OPENCL
    if (uae_opencl_device_list(infos, cap, &n) != UAE_OK) n = 0;
#else
    (void)infos;
    (void)cap;
#endif
    return n;
}

bool uae_backend_compiled(const char *name) {
    if (!name) return false;
    if (!strcmp(name, "ref") || !strcmp(name, "cpu")) return true;
    if (!strcmp(name, "opencl")) return UAE_HAVE_OPENCL;
    if (!strcmp(name, "openmp")) return UAE_HAVE_OPENMP;
    return false;
}

uae_status uae_device_list(uae_device_info *infos, int cap, int *count) {
    int n = 0;
    for (int i = 0; i < N_HOST; i++, n++)
        if (infos && n < cap) host_info(i, &infos[n]);
    int ncl = opencl_list(infos && cap > n ? infos + n : NULL, infos && cap > n ? cap - n : 0);
    for (int i = 0; i < ncl; i++)
        if (infos && n + i < cap) infos[n + i].index = n + i;
    *count = n + ncl;
    return UAE_OK;
}

/* threads: for the CPU backend ("cpu:N"), 0 for OpenMP's default. */
static uae_status open_index(int index, int threads, uae_backend **out) {
    if (index < N_HOST) {
        uae_status st = uae_cpu_backend_create(index == 1, threads, out);
        if (st == UAE_OK) uae_backend_set_index(*out, index);
        return st;
    }
#if UAE_HAVE_OPENCL
    /* The ops the device declines run on the scalar reference, on host copies of the tensors. */
    uae_backend *host;
    UAE_TRY(uae_cpu_backend_create(true, 0, &host));
    uae_status st = uae_opencl_backend_create(index - N_HOST, out);
    if (st != UAE_OK) {
        uae_backend_free(host);
        return st;
    }
    uae_backend_set_index(*out, index);
    uae_backend_set_host(*out, host);
    return UAE_OK;
#else
    return uae_fail(UAE_ERR_UNSUPPORTED, "device %d: this build has no OpenCL backend", index);
#endif
}

static bool contains_nocase(const char *hay, const char *needle) {
    size_t n = strlen(needle);
    for (; *hay; hay++) {
        size_t i = 0;
        while (i < n && hay[i] && tolower((unsigned char)hay[i]) == tolower((unsigned char)needle[i]))
            i++;
        if (i == n) return true;
    }
    return n == 0;
}

/* Writes the device list into the error message, after a one-line reason. */
static uae_status fail_with_list(const char *spec, const char *why, uae_device_info *all, int n) {
    char list[3000];
    size_t len = 0;
    for (int i = 0; i < n && len < sizeof list; i++)
        len += (size_t)snprintf(list + len, sizeof list - len, "\n  %d  %-7s %s (%s, %s)", i,
                                all[i].backend, all[i].name, all[i].platform, all[i].type);
    return uae_fail(UAE_ERR_INVALID, "device '%s': %s; the devices are:%s", spec, why, list);
}

uae_status uae_backend_open(const char *spec, uae_backend **out) {
    *out = NULL;
    if (!spec || !*spec) spec = getenv("UAE_DEVICE");
    if (!spec || !*spec) spec = "cpu";
    enum { CAP = 64 };
    uae_device_info all[CAP];
    int n = 0;
    uae_device_list(all, CAP, &n);
    if (n > CAP) n = CAP;

    if (strcmp(spec, "cpu") == 0) return open_index(0, 0, out);
    if (strncmp(spec, "cpu:", 4) == 0) {
        char *end;
        long threads = strtol(spec + 4, &end, 10);
        if (end == spec + 4 || *end != '\0' || threads < 1 || threads > 4096)
            return uae_fail(UAE_ERR_INVALID,
                            "device '%s': expected cpu:N with N threads, 1 <= N <= 4096 (e.g. "
                            "cpu:1), or cpu for OpenMP's default (OMP_NUM_THREADS)",
                            spec);
        return open_index(0, (int)threads, out);
    }
    if (strcmp(spec, "ref") == 0) return open_index(1, 0, out);
    if (strcmp(spec, "opencl") == 0 || strcmp(spec, "gpu") == 0) {
        int first = -1, first_gpu = -1;
        for (int i = N_HOST; i < n; i++) {
            if (first < 0) first = i;
            if (first_gpu < 0 && strcmp(all[i].type, "gpu") == 0) first_gpu = i;
        }
        int pick = first_gpu >= 0 ? first_gpu : (strcmp(spec, "opencl") == 0 ? first : -1);
        if (pick < 0)
            return fail_with_list(spec, strcmp(spec, "gpu") == 0 ? "no OpenCL GPU found"
                                                                 : "no OpenCL device found",
                                  all, n);
        return open_index(pick, 0, out);
    }
    char *end;
    long idx = strtol(spec, &end, 10);
    if (*end == '\0' && end != spec) {
        if (idx < 0 || idx >= n) return fail_with_list(spec, "no device with that index", all, n);
        return open_index((int)idx, 0, out);
    }
    int match = -1, nmatch = 0;
    for (int i = 0; i < n; i++)
        /* The OpenCL version too: Debian's PoCL says "PoCL" only there. */
        if (contains_nocase(all[i].name, spec) || contains_nocase(all[i].vendor, spec) ||
            contains_nocase(all[i].platform, spec) || contains_nocase(all[i].api_version, spec)) {
            match = i;
            nmatch++;
        }
    if (nmatch == 0) return fail_with_list(spec, "no device matches", all, n);
    if (nmatch > 1) return fail_with_list(spec, "more than one device matches (use an index)", all, n);
    return open_index(match, 0, out);
}
