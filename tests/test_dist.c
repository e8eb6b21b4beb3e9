/* tests/test_dist.c — the distributed layer (uae/dist.h) in whatever job runs it: one process
 * (every build; the MPI build then never starts MPI), or mpirun -n R (tests/test_mpi.sh). Checks
 * what callers rely on: ranks, broadcast from rank 0, a gather of blobs of different sizes in
 * rank order, an ordered sum that is the same bits on every rank, and an agreement in which the
 * lowest failing rank's message reaches every rank, naming it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/dist.h"

static int failures;
#define CHECK(cond)                                                                               \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: rank %d: CHECK failed: %s\n", __FILE__, __LINE__, rank, #cond); \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

int main(int argc, char **argv) {
    int rank = 0;
    uae_dist *d;
    if (uae_dist_init(&argc, &argv, &d) != UAE_OK) {
        fprintf(stderr, "%s\n", uae_last_error());
        return 1;
    }
    rank = uae_dist_rank(d);
    const int size = uae_dist_size(d);
    CHECK(size >= 1 && rank >= 0 && rank < size);
    CHECK(uae_dist_local_rank(d) >= 0 && uae_dist_local_rank(d) <= rank);
    CHECK(uae_dist_rank(NULL) == 0 && uae_dist_size(NULL) == 1);
    CHECK(uae_dist_barrier(d) == UAE_OK);

    uint64_t v = rank == 0 ? 0x1234567890abcdefull : 0;
    CHECK(uae_dist_broadcast(d, &v, sizeof v, 0) == UAE_OK && v == 0x1234567890abcdefull);

    /* Rank r sends r + 1 bytes of value r: rank 0 gets 0, 1 1, 2 2 2, ... */
    char mine[64];
    memset(mine, rank, (size_t)rank + 1);
    void *all = NULL;
    size_t *sizes = calloc((size_t)size, sizeof *sizes);
    CHECK(uae_dist_gather(d, mine, (size_t)rank + 1, &all, sizes) == UAE_OK);
    if (rank == 0) {
        const char *p = all;
        for (int r = 0; r < size && all; r++) {
            CHECK(sizes[r] == (size_t)r + 1);
            for (int i = 0; i <= r; i++) CHECK(*p++ == r);
        }
    } else {
        CHECK(all == NULL);
    }
    free(all);
    free(sizes);

    /* The sums, the same on every rank (1e8 + 1 == 1e8 in float: rank 0's value comes first). */
    float f[3] = {rank == 0 ? 1e8f : 1.0f, (float)rank, 0.5f};
    double g[2] = {(double)rank, 0.25};
    CHECK(uae_dist_sum_f32(d, f, 3) == UAE_OK && uae_dist_sum_f64(d, g, 2) == UAE_OK);
    CHECK(f[0] == 1e8f);
    CHECK(f[1] == (float)(size * (size - 1) / 2) && f[2] == 0.5f * (float)size);
    CHECK(g[0] == (double)(size * (size - 1) / 2) && g[1] == 0.25 * size);

    /* Agreement: all well; then the last rank fails, and every rank hears its message. */
    CHECK(uae_dist_agree(d, UAE_OK) == UAE_OK);
    uae_status mst = rank == size - 1 ? uae_fail(UAE_ERR_DEVICE, "no device here") : UAE_OK;
    uae_status st = uae_dist_agree(d, mst);
    CHECK(st == UAE_ERR_DEVICE);
    char want[64];
    if (size > 1)
        snprintf(want, sizeof want, "rank %d: no device here", size - 1);
    else
        snprintf(want, sizeof want, "no device here");
    CHECK(strstr(uae_last_error(), want) != NULL);

    if (rank == 0)
        printf("%s: %d rank%s (%s)\n", failures ? "FAILED" : "ok", size, size == 1 ? "" : "s",
               uae_dist_compiled() ? uae_dist_library() : "no MPI in this build");
    uae_dist_finalize(d);
    return failures ? 1 : 0;
}
