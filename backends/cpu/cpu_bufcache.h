/* backends/cpu/cpu_bufcache.h — large host buffers kept for reuse after they are freed.
 *
 * The attack makes its MINE anew for every run (every batch of examples): at the official size
 * 191 MB of parameters, gradients and moments per image, 3 GB at a batch of 16, allocated, touched,
 * and freed again. Freed, such a buffer goes back to the system (glibc unmaps large blocks), and the
 * next run's buffer is fresh memory that the kernel must fault in and zero; with transparent huge
 * pages it may first compact memory, which took 0.5 to 7 s of system time per batch of 16 on the
 * 2-core machine (docs/performance.md). A freed large buffer therefore stays here, mapped, and the
 * next allocation of the same size takes it back without a single page fault.
 *
 *     cpu_bufcache bc = {0};
 *     uae_cpu_bufcache_init(&bc);
 *     float *p = uae_cpu_bufcache_alloc(&bc, bytes);   // like uae_cpu_host_alloc
 *     uae_cpu_bufcache_free(&bc, p);                    // kept (large) or freed (small)
 *     uae_cpu_bufcache_release(&bc);                    // frees what is kept
 *
 * Only buffers of at least UAE_CPU_HUGE_MIN_BYTES are tracked (the allocator serves small ones
 * well); reuse needs the same size in 2 MiB steps. What is kept is at most cap_bytes (a quarter of
 * the machine's memory); when an allocation fails, everything kept is freed and it is tried again,
 * so the cache never makes a run fail that would have fit without it. A reused buffer holds its
 * old contents, as any malloc'd memory may; with MALLOC_PERTURB_ set (the test suite sets it) it is
 * filled with that byte's complement, as glibc does, so that code that reads memory before writing
 * it shows in the tests. Not thread-safe: one backend runs one op at a time. */
#ifndef UAE_CPU_BUFCACHE_H
#define UAE_CPU_BUFCACHE_H
#include <stdbool.h>
#include <stddef.h>

enum { UAE_CPU_BUFCACHE_SLOTS = 64 };

typedef struct cpu_bufcache {
    struct {
        void *p;        /* NULL: a free slot */
        size_t bytes;   /* as allocated (2 MiB steps) */
        bool live;      /* handed out; else kept for reuse */
    } slot[UAE_CPU_BUFCACHE_SLOTS];
    size_t kept_bytes;  /* of the slots not live */
    size_t cap_bytes;   /* the most kept at once */
    int perturb;        /* MALLOC_PERTURB_'s byte, or 0 */
    /* Counts, for tests and the bench: allocations served from the cache, and fresh ones. */
    unsigned long long reused, fresh;
} cpu_bufcache;

/* An empty cache with the cap from the machine's memory and $MALLOC_PERTURB_. */
void uae_cpu_bufcache_init(cpu_bufcache *bc);

/* uae_cpu_host_alloc, served from the kept buffers when one of the same size is there. */
void *uae_cpu_bufcache_alloc(cpu_bufcache *bc, size_t bytes);

/* Frees p (from uae_cpu_bufcache_alloc), or keeps it if it is large and the cap allows. */
void uae_cpu_bufcache_free(cpu_bufcache *bc, void *p);

/* Frees every kept buffer (live ones stay their owners'). */
void uae_cpu_bufcache_release(cpu_bufcache *bc);

#endif
