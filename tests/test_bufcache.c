/* tests/test_bufcache.c — the CPU backend's cache of large freed buffers (backends/cpu/
 * cpu_bufcache.h): a freed large buffer comes back for the next request of its size (2 MiB steps),
 * small ones are not kept, what is kept stays under the cap (others dropped first), a reused
 * buffer is filled with MALLOC_PERTURB_'s complement when that is set, buffers beyond the slots
 * are freed plainly, and the "cpu" backend's buffers go through the cache. ASan (the sanitizer
 * build runs this too) checks that nothing is freed twice or used after it is freed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_bufcache.h"
#include "backends/cpu/cpu_ctx.h"
#include "core/backend_impl.h"
#include "test_util.h"
#include "uae/backend.h"

#define MiB ((size_t)1 << 20)

static void test_reuse(void) {
    cpu_bufcache bc;
    uae_cpu_bufcache_init(&bc);
    bc.perturb = 0;
    CHECK(bc.cap_bytes >= 64 * MiB, "cap %zu from the machine's memory", bc.cap_bytes);
    char *a = uae_cpu_bufcache_alloc(&bc, 8 * MiB + 1); /* 10 MiB in 2 MiB steps */
    CHECK(a && bc.fresh == 1 && bc.reused == 0, "fresh %llu reused %llu", bc.fresh, bc.reused);
    a[0] = 1;
    uae_cpu_bufcache_free(&bc, a);
    CHECK(bc.kept_bytes == 10 * MiB, "kept %zu after freeing 8 MiB + 1", bc.kept_bytes);
    char *b = uae_cpu_bufcache_alloc(&bc, 9 * MiB); /* also 10 MiB */
    CHECK(b == a && bc.reused == 1 && bc.kept_bytes == 0, "the same size is served from the cache "
          "(%p %p, reused %llu, kept %zu)", (void *)a, (void *)b, bc.reused, bc.kept_bytes);
    char *c = uae_cpu_bufcache_alloc(&bc, 6 * MiB); /* another size: fresh */
    CHECK(c && c != b && bc.fresh == 2, "another size is allocated (fresh %llu)", bc.fresh);
    char *s = uae_cpu_bufcache_alloc(&bc, 4096); /* small: not tracked, freed plainly */
    uae_cpu_bufcache_free(&bc, s);
    CHECK(bc.kept_bytes == 0, "a small buffer is not kept (kept %zu)", bc.kept_bytes);
    uae_cpu_bufcache_free(&bc, b);
    uae_cpu_bufcache_free(&bc, c);
    CHECK(bc.kept_bytes == 16 * MiB, "kept %zu", bc.kept_bytes);
    uae_cpu_bufcache_release(&bc);
    CHECK(bc.kept_bytes == 0, "release frees what is kept (%zu)", bc.kept_bytes);
}

static void test_perturb(void) {
    cpu_bufcache bc;
    uae_cpu_bufcache_init(&bc);
    bc.perturb = 0x5a;
    unsigned char *a = uae_cpu_bufcache_alloc(&bc, 4 * MiB);
    memset(a, 7, 4 * MiB);
    uae_cpu_bufcache_free(&bc, a);
    unsigned char *b = uae_cpu_bufcache_alloc(&bc, 4 * MiB);
    CHECK(b == a, "reused");
    size_t bad = 0;
    for (size_t i = 0; i < 4 * MiB; i++) bad += b[i] != (0x5a ^ 0xff);
    CHECK(bad == 0, "%zu bytes of the reused buffer keep old contents under MALLOC_PERTURB_", bad);
    uae_cpu_bufcache_free(&bc, b);
    uae_cpu_bufcache_release(&bc);
}

static void test_cap_and_slots(void) {
    cpu_bufcache bc;
    uae_cpu_bufcache_init(&bc);
    bc.perturb = 0;
    bc.cap_bytes = 12 * MiB;
    void *a = uae_cpu_bufcache_alloc(&bc, 10 * MiB), *b = uae_cpu_bufcache_alloc(&bc, 10 * MiB);
    uae_cpu_bufcache_free(&bc, a);
    CHECK(bc.kept_bytes == 10 * MiB, "kept %zu", bc.kept_bytes);
    uae_cpu_bufcache_free(&bc, b); /* 20 MiB > cap: a (the other kept one) is dropped */
    CHECK(bc.kept_bytes == 10 * MiB, "over the cap: kept %zu, want 10 MiB", bc.kept_bytes);
    void *c = uae_cpu_bufcache_alloc(&bc, 10 * MiB);
    CHECK(c == b, "the buffer freed last is the one kept");
    uae_cpu_bufcache_free(&bc, c);
    uae_cpu_bufcache_release(&bc);

    /* More live buffers than slots: the extra ones are untracked and freed plainly. */
    bc.cap_bytes = (size_t)1 << 40;
    enum { N = UAE_CPU_BUFCACHE_SLOTS + 3 };
    void *p[N];
    for (int i = 0; i < N; i++) p[i] = uae_cpu_bufcache_alloc(&bc, 4 * MiB);
    for (int i = 0; i < N; i++) uae_cpu_bufcache_free(&bc, p[i]);
    CHECK(bc.kept_bytes == (size_t)UAE_CPU_BUFCACHE_SLOTS * 4 * MiB, "kept %zu: one per slot",
          bc.kept_bytes);
    uae_cpu_bufcache_release(&bc);
}

static void test_backend(void) {
    uae_backend *be = NULL;
    if (uae_backend_open("cpu", &be) != UAE_OK) {
        CHECK(0, "cpu backend: %s", uae_last_error());
        return;
    }
    cpu_ctx *c = be->ctx;
    unsigned long long before = c->bufs.reused;
    void *a = NULL, *b = NULL;
    CHECK(be->iface->buf_alloc(be->ctx, 32 * MiB, &a) == UAE_OK, "alloc");
    be->iface->buf_free(be->ctx, a);
    CHECK(be->iface->buf_alloc(be->ctx, 32 * MiB, &b) == UAE_OK, "alloc again");
    CHECK(b == a && c->bufs.reused == before + 1, "the cpu backend's buffers go through the cache");
    be->iface->buf_free(be->ctx, b);
    uae_backend_free(be); /* frees the kept buffer */
}

int main(void) {
    test_reuse();
    test_perturb();
    test_cap_and_slots();
    test_backend();
    if (!failures) printf("test_bufcache: all passed\n");
    return test_exit();
}
