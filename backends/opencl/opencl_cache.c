/* backends/opencl/opencl_cache.c — the on-disk cache of compiled OpenCL programs.
 * One file per key: a fixed header (magic, format version, key, size, checksum of the payload)
 * followed by the program binary. Anything that does not check out is reported as rejected and
 * rebuilt by the caller, never trusted. It does not decide what goes into the key (the backend
 * hashes source, options, device, driver, platform and uaekit version). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "backends/opencl/opencl_internal.h"

#define CACHE_MAGIC "UAECLBIN"
#define CACHE_FORMAT 1u

typedef struct cache_header {
    char magic[8];
    uint32_t format;
    uint32_t reserved; /* 0: keeps the 64-bit fields 8-byte aligned */
    uint64_t key;
    uint64_t size;     /* bytes of binary after the header */
    uint64_t checksum; /* FNV-1a 64 of those bytes */
} cache_header;

uint64_t uae_fnv1a64(uint64_t h, const void *data, size_t n) {
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ull;
    }
    return h;
}

bool uae_ocl_cache_dir(char *out, size_t cap) {
    const char *env = getenv("UAE_CACHE_DIR");
    if (env && strcmp(env, "off") == 0) return false;
    if (env && *env) return snprintf(out, cap, "%s", env) < (int)cap;
    const char *xdg = getenv("XDG_CACHE_HOME");
    if (xdg && *xdg) return snprintf(out, cap, "%s/uae", xdg) < (int)cap;
    const char *home = getenv("HOME");
    if (home && *home) return snprintf(out, cap, "%s/.cache/uae", home) < (int)cap;
    return false;
}

void uae_ocl_cache_path(const char *dir, uint64_t key, char *out, size_t cap) {
    snprintf(out, cap, "%s/%016llx.clbin", dir, (unsigned long long)key);
}

ocl_cache_result uae_ocl_cache_load(const char *dir, uint64_t key, unsigned char **bin,
                                    size_t *size) {
    char path[1200];
    uae_ocl_cache_path(dir, key, path, sizeof path);
    *bin = NULL;
    *size = 0;
    FILE *f = fopen(path, "rb");
    if (!f) return errno == ENOENT ? OCL_CACHE_MISS : OCL_CACHE_REJECTED;
    cache_header h;
    ocl_cache_result res = OCL_CACHE_REJECTED;
    unsigned char *data = NULL;
    /* Each check is one reason to distrust the entry: short file, foreign file, another format
     * version, another key (a hash collision of file names), an absurd size, a flipped bit. */
    if (fread(&h, sizeof h, 1, f) != 1) goto done;
    if (memcmp(h.magic, CACHE_MAGIC, 8) != 0 || h.format != CACHE_FORMAT || h.key != key) goto done;
    if (h.size == 0 || h.size > ((uint64_t)1 << 30)) goto done;
    data = malloc((size_t)h.size);
    if (!data) goto done;
    if (fread(data, 1, (size_t)h.size, f) != (size_t)h.size) goto done;
    if (fgetc(f) != EOF) goto done; /* trailing bytes: not a file we wrote */
    if (uae_fnv1a64(UAE_FNV_OFFSET, data, (size_t)h.size) != h.checksum) goto done;
    *bin = data;
    *size = (size_t)h.size;
    data = NULL;
    res = OCL_CACHE_HIT;
done:
    free(data);
    fclose(f);
    return res;
}

/* mkdir -p for the cache folder (it may be ~/.cache/uae on a fresh account). */
static bool make_dirs(const char *dir) {
    char tmp[1024];
    if (snprintf(tmp, sizeof tmp, "%s", dir) >= (int)sizeof tmp) return false;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0755) != 0 && errno != EEXIST) return false;
        *p = '/';
    }
    return mkdir(tmp, 0755) == 0 || errno == EEXIST;
}

bool uae_ocl_cache_store(const char *dir, uint64_t key, const unsigned char *bin, size_t size) {
    if (!make_dirs(dir)) return false;
    char path[1200], tmp[1300];
    uae_ocl_cache_path(dir, key, path, sizeof path);
    /* The temporary name is unique per process, so two programs filling the cache at once never
     * write into the same file; the rename makes the entry appear whole or not at all. */
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) return false;
    cache_header h;
    memset(&h, 0, sizeof h);
    memcpy(h.magic, CACHE_MAGIC, 8);
    h.format = CACHE_FORMAT;
    h.key = key;
    h.size = size;
    h.checksum = uae_fnv1a64(UAE_FNV_OFFSET, bin, size);
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        close(fd);
        unlink(tmp);
        return false;
    }
    bool ok = fwrite(&h, sizeof h, 1, f) == 1 && fwrite(bin, 1, size, f) == size &&
              fflush(f) == 0 && fsync(fileno(f)) == 0;
    ok = fclose(f) == 0 && ok;
    if (ok) ok = rename(tmp, path) == 0;
    if (!ok) unlink(tmp);
    return ok;
}
