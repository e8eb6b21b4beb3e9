/* core/dist_single.c — uae/dist.h for a build without MPI: a job of one rank. meson compiles it
 * instead of core/dist_mpi.c; callers are the same either way. */
#include "uae/dist.h"

#include <stdlib.h>
#include <string.h>

struct uae_dist {
    int unused;
};

bool uae_dist_compiled(void) {
    return false;
}

const char *uae_dist_library(void) {
    return "none";
}

uae_status uae_dist_init(int *argc, char ***argv, uae_dist **out) {
    (void)argc;
    (void)argv;
    *out = NULL;
    /* Started by a launcher as one of several ranks, each process would do the whole job and
     * write the same files: refused. */
    static const char *const sizes[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE",
                                        "SLURM_STEP_NUM_TASKS"};
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        const char *v = getenv(sizes[i]);
        if (v && atoi(v) > 1)
            return uae_fail(UAE_ERR_UNSUPPORTED, "started as one of %s ranks (%s), but this build "
                            "has no MPI: rebuild with meson -Dmpi=enabled (docs/cluster.md), or "
                            "run one process", v, sizes[i]);
    }
    *out = calloc(1, sizeof **out);
    return *out ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "dist: out of memory");
}

void uae_dist_finalize(uae_dist *d) {
    free(d);
}

int uae_dist_rank(const uae_dist *d) {
    (void)d;
    return 0;
}

int uae_dist_size(const uae_dist *d) {
    (void)d;
    return 1;
}

int uae_dist_local_rank(const uae_dist *d) {
    (void)d;
    return 0;
}

uae_status uae_dist_barrier(uae_dist *d) {
    (void)d;
    return UAE_OK;
}

uae_status uae_dist_broadcast(uae_dist *d, void *buf, size_t bytes, int root) {
    (void)d;
    (void)buf;
    (void)bytes;
    (void)root;
    return UAE_OK;
}

uae_status uae_dist_gather(uae_dist *d, const void *mine, size_t bytes, void **all,
                           size_t *sizes) {
    (void)d;
    *all = malloc(bytes ? bytes : 1);
    if (!*all) return uae_fail(UAE_ERR_NOMEM, "dist: out of memory for %zu bytes", bytes);
    if (bytes) memcpy(*all, mine, bytes);
    sizes[0] = bytes;
    return UAE_OK;
}

uae_status uae_dist_sum_f32(uae_dist *d, float *buf, int64_t n) {
    (void)d;
    (void)buf;
    (void)n;
    return UAE_OK;
}

uae_status uae_dist_sum_f64(uae_dist *d, double *buf, int64_t n) {
    (void)d;
    (void)buf;
    (void)n;
    return UAE_OK;
}

uae_status uae_dist_agree(uae_dist *d, uae_status st) {
    (void)d;
    return st;
}
