/* backends/cpu/cpu_bufcache.c — see cpu_bufcache.h. */
#include "backends/cpu/cpu_bufcache.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backends/cpu/cpu_ctx.h"

void uae_cpu_bufcache_init(cpu_bufcache *bc) {
    memset(bc, 0, sizeof *bc);
    long pages = sysconf(_SC_PHYS_PAGES), page = sysconf(_SC_PAGESIZE);
    bc->cap_bytes = pages > 0 && page > 0 ? (size_t)pages * (size_t)page / 4 : (size_t)1 << 30;
    const char *s = getenv("MALLOC_PERTURB_");
    bc->perturb = s ? atoi(s) & 0xff : 0;
}

/* Frees the kept buffer in slot i. */
static void drop(cpu_bufcache *bc, int i) {
    free(bc->slot[i].p);
    bc->kept_bytes -= bc->slot[i].bytes;
    bc->slot[i].p = NULL;
}

void uae_cpu_bufcache_release(cpu_bufcache *bc) {
    for (int i = 0; i < UAE_CPU_BUFCACHE_SLOTS; i++)
        if (bc->slot[i].p && !bc->slot[i].live) drop(bc, i);
}

/* The size uae_cpu_host_alloc gives a large request: 2 MiB steps. */
static size_t rounded(size_t bytes) {
    const size_t huge = (size_t)2 << 20;
    return (bytes + huge - 1) / huge * huge;
}

void *uae_cpu_bufcache_alloc(cpu_bufcache *bc, size_t bytes) {
    if (bytes < UAE_CPU_HUGE_MIN_BYTES) return uae_cpu_host_alloc(bytes);
    const size_t want = rounded(bytes);
    for (int i = 0; i < UAE_CPU_BUFCACHE_SLOTS; i++) {
        if (bc->slot[i].p && !bc->slot[i].live && bc->slot[i].bytes == want) {
            bc->slot[i].live = true;
            bc->kept_bytes -= want;
            bc->reused++;
            if (bc->perturb) memset(bc->slot[i].p, bc->perturb ^ 0xff, want);
            return bc->slot[i].p;
        }
    }
    void *p = uae_cpu_host_alloc(bytes);
    if (!p && bc->kept_bytes > 0) { /* the kept buffers must not make a run fail */
        uae_cpu_bufcache_release(bc);
        p = uae_cpu_host_alloc(bytes);
    }
    if (!p) return NULL;
    bc->fresh++;
    /* Track it in a free slot, or in the slot of a kept buffer of another size (freed); with
     * every slot live it stays untracked, and uae_cpu_bufcache_free frees it. */
    int use = -1;
    for (int i = 0; i < UAE_CPU_BUFCACHE_SLOTS && use < 0; i++)
        if (!bc->slot[i].p) use = i;
    for (int i = 0; i < UAE_CPU_BUFCACHE_SLOTS && use < 0; i++)
        if (!bc->slot[i].live) {
            drop(bc, i);
            use = i;
        }
    if (use >= 0) {
        bc->slot[use].p = p;
        bc->slot[use].bytes = want;
        bc->slot[use].live = true;
    }
    return p;
}

void uae_cpu_bufcache_free(cpu_bufcache *bc, void *p) {
    if (!p) return;
    for (int i = 0; i < UAE_CPU_BUFCACHE_SLOTS; i++) {
        if (bc->slot[i].p != p) continue;
        bc->slot[i].live = false;
        bc->kept_bytes += bc->slot[i].bytes;
        /* Over the cap: free other kept buffers first (the oldest slots), then this one. */
        for (int j = 0; j < UAE_CPU_BUFCACHE_SLOTS && bc->kept_bytes > bc->cap_bytes; j++)
            if (j != i && bc->slot[j].p && !bc->slot[j].live) drop(bc, j);
        if (bc->kept_bytes > bc->cap_bytes) drop(bc, i);
        return;
    }
    free(p); /* small, or untracked */
}
