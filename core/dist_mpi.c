/* core/dist_mpi.c — uae/dist.h over MPI (the MPI standard only: Open MPI and MPICH). Chosen by
 * meson when MPI is found (-Dmpi); core/dist_single.c is the build without it. Not here: what the
 * ranks compute or which rank does what (models/, apps/). */
#include "uae/dist.h"

#include <limits.h>
#include <mpi.h>
#include <stdlib.h>
#include <string.h>

struct uae_dist {
    int rank, size, local_rank;
    bool finalize; /* this handle initialised MPI and finalises it */
};

/* An MPI error as a status with the library's message: "MPI_Gather: MPI_ERR_COUNT: ...". */
static uae_status mpi_fail(int err, const char *call) {
    char msg[MPI_MAX_ERROR_STRING];
    int len = 0;
    if (MPI_Error_string(err, msg, &len) != MPI_SUCCESS) snprintf(msg, sizeof msg, "error %d", err);
    return uae_fail(UAE_ERR_IO, "%s failed between the ranks: %s", call, msg);
}

#define MPI_TRY(call, name)                                                                        \
    do {                                                                                           \
        int err_ = (call);                                                                         \
        if (err_ != MPI_SUCCESS) return mpi_fail(err_, name);                                      \
    } while (0)

bool uae_dist_compiled(void) {
    return true;
}

const char *uae_dist_library(void) {
    static char name[MPI_MAX_LIBRARY_VERSION_STRING];
    int len = 0;
    if (!name[0] && MPI_Get_library_version(name, &len) == MPI_SUCCESS) {
        name[strcspn(name, "\n")] = '\0'; /* the first line: name and version */
    }
    return name[0] ? name : "MPI";
}

uae_status uae_dist_init(int *argc, char ***argv, uae_dist **out) {
    *out = NULL;
    uae_dist *d = calloc(1, sizeof *d);
    if (!d) return uae_fail(UAE_ERR_NOMEM, "dist: out of memory");
    d->size = 1;
    /* Started without a launcher (no mpirun, srun or hydra in the environment), the process is a
     * job of one rank and MPI is left alone: a singleton MPI_Init costs time, and on machines
     * without a network it can fail, for a run that needs no other rank. */
    static const char *const launchers[] = {"OMPI_COMM_WORLD_SIZE", "PMI_SIZE", "PMI_RANK",
                                            "PMIX_RANK", "MPI_LOCALNRANKS"};
    bool launched = false;
    for (size_t i = 0; i < sizeof launchers / sizeof launchers[0]; i++)
        launched = launched || getenv(launchers[i]);
    if (!launched) {
        *out = d;
        return UAE_OK;
    }
    int inited = 0, provided = 0;
    MPI_Initialized(&inited);
    if (!inited) {
        int err = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        if (err != MPI_SUCCESS) {
            free(d);
            return mpi_fail(err, "MPI_Init_thread");
        }
        d->finalize = true;
    }
    /* Errors come back as codes (turned into statuses), not as the default abort. */
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    MPI_Comm_rank(MPI_COMM_WORLD, &d->rank);
    MPI_Comm_size(MPI_COMM_WORLD, &d->size);
    MPI_Comm node;
    if (MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, d->rank, MPI_INFO_NULL, &node) ==
        MPI_SUCCESS) {
        MPI_Comm_rank(node, &d->local_rank);
        MPI_Comm_free(&node);
    }
    *out = d;
    return UAE_OK;
}

void uae_dist_finalize(uae_dist *d) {
    if (!d) return;
    if (d->finalize) MPI_Finalize();
    free(d);
}

int uae_dist_rank(const uae_dist *d) {
    return d ? d->rank : 0;
}

int uae_dist_size(const uae_dist *d) {
    return d ? d->size : 1;
}

int uae_dist_local_rank(const uae_dist *d) {
    return d ? d->local_rank : 0;
}

uae_status uae_dist_barrier(uae_dist *d) {
    if (!d || d->size == 1) return UAE_OK;
    MPI_TRY(MPI_Barrier(MPI_COMM_WORLD), "MPI_Barrier");
    return UAE_OK;
}

uae_status uae_dist_broadcast(uae_dist *d, void *buf, size_t bytes, int root) {
    if (!d || d->size == 1 || bytes == 0) return UAE_OK;
    /* In pieces below INT_MAX bytes: MPI counts are ints. */
    for (size_t off = 0; off < bytes;) {
        size_t part = bytes - off < (size_t)INT_MAX ? bytes - off : (size_t)INT_MAX;
        MPI_TRY(MPI_Bcast((char *)buf + off, (int)part, MPI_BYTE, root, MPI_COMM_WORLD),
                "MPI_Bcast");
        off += part;
    }
    return UAE_OK;
}

uae_status uae_dist_gather(uae_dist *d, const void *mine, size_t bytes, void **all,
                           size_t *sizes) {
    *all = NULL;
    const int size = uae_dist_size(d), rank = uae_dist_rank(d);
    if (size == 1) {
        *all = malloc(bytes ? bytes : 1);
        if (!*all) return uae_fail(UAE_ERR_NOMEM, "dist: out of memory for %zu bytes", bytes);
        if (bytes) memcpy(*all, mine, bytes);
        sizes[0] = bytes;
        return UAE_OK;
    }
    if (bytes > (size_t)INT_MAX)
        return uae_fail(UAE_ERR_INVALID, "dist: rank %d gathers %zu bytes at once, more than MPI's "
                        "%d; gather in smaller steps", rank, bytes, INT_MAX);
    unsigned long long b = bytes;
    unsigned long long *counts = rank == 0 ? malloc((size_t)size * sizeof *counts) : NULL;
    int *icounts = rank == 0 ? malloc((size_t)size * sizeof *icounts) : NULL;
    int *displs = rank == 0 ? malloc((size_t)size * sizeof *displs) : NULL;
    uae_status st = rank == 0 && (!counts || !icounts || !displs)
                        ? uae_fail(UAE_ERR_NOMEM, "dist: out of memory")
                        : UAE_OK;
    /* Every rank takes part in the collectives even after a local failure (else the others
     * would wait for ever); the counts go first. */
    int err = MPI_Gather(&b, 1, MPI_UNSIGNED_LONG_LONG, counts, 1, MPI_UNSIGNED_LONG_LONG, 0,
                         MPI_COMM_WORLD);
    if (err != MPI_SUCCESS && st == UAE_OK) st = mpi_fail(err, "MPI_Gather");
    unsigned long long total = 0;
    char *buf = NULL;
    if (rank == 0 && st == UAE_OK) {
        for (int r = 0; r < size; r++) {
            icounts[r] = (int)counts[r];
            sizes[r] = (size_t)counts[r];
            total += counts[r];
        }
        for (int r = 0, off = 0; r < size; r++) {
            displs[r] = off;
            /* The sum must fit an int too; rank 0 cannot say so before the gather. */
            off = total > (unsigned long long)INT_MAX ? 0 : off + icounts[r];
        }
        buf = malloc(total ? (size_t)total : 1);
        if (total > (unsigned long long)INT_MAX || !buf) {
            free(buf);
            buf = NULL;
            st = uae_fail(UAE_ERR_NOMEM, "dist: cannot gather %llu bytes on rank 0 at once", total);
            for (int r = 0; r < size; r++) icounts[r] = displs[r] = 0;
        }
    }
    err = MPI_Gatherv(mine, (int)bytes, MPI_BYTE, buf, icounts, displs, MPI_BYTE, 0,
                      MPI_COMM_WORLD);
    if (err != MPI_SUCCESS && st == UAE_OK) st = mpi_fail(err, "MPI_Gatherv");
    free(counts);
    free(icounts);
    free(displs);
    if (st != UAE_OK) {
        free(buf);
        return st;
    }
    *all = buf;
    return UAE_OK;
}

/* Gathers n values of elem bytes per rank to rank 0, adds them there in rank order with add(),
 * and broadcasts the sum. */
static uae_status ordered_sum(uae_dist *d, void *buf, int64_t n, size_t elem,
                              void (*add)(void *acc, const void *x, int64_t n)) {
    if (!d || d->size == 1 || n == 0) return UAE_OK;
    void *all = NULL;
    size_t *sizes = malloc((size_t)d->size * sizeof *sizes);
    if (!sizes) return uae_fail(UAE_ERR_NOMEM, "dist: out of memory");
    uae_status st = uae_dist_gather(d, buf, (size_t)n * elem, &all, sizes);
    if (st == UAE_OK && d->rank == 0) {
        memcpy(buf, all, (size_t)n * elem);
        for (int r = 1; r < d->size; r++) add(buf, (const char *)all + (size_t)r * (size_t)n * elem, n);
    }
    free(all);
    free(sizes);
    uae_status agreed = uae_dist_agree(d, st);
    if (agreed != UAE_OK) return agreed;
    return uae_dist_broadcast(d, buf, (size_t)n * elem, 0);
}

static void add_f32(void *acc, const void *x, int64_t n) {
    float *a = acc;
    const float *b = x;
    for (int64_t i = 0; i < n; i++) a[i] += b[i];
}

static void add_f64(void *acc, const void *x, int64_t n) {
    double *a = acc;
    const double *b = x;
    for (int64_t i = 0; i < n; i++) a[i] += b[i];
}

uae_status uae_dist_sum_f32(uae_dist *d, float *buf, int64_t n) {
    return ordered_sum(d, buf, n, sizeof(float), add_f32);
}

uae_status uae_dist_sum_f64(uae_dist *d, double *buf, int64_t n) {
    return ordered_sum(d, buf, n, sizeof(double), add_f64);
}

uae_status uae_dist_agree(uae_dist *d, uae_status st) {
    if (!d || d->size == 1) return st;
    /* The lowest failing rank: a MIN over (failed ? rank : size). */
    int mine = st != UAE_OK ? d->rank : d->size, first = d->size;
    MPI_TRY(MPI_Allreduce(&mine, &first, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD), "MPI_Allreduce");
    if (first == d->size) return UAE_OK;
    struct {
        int status;
        char msg[1024];
    } what = {0};
    if (d->rank == first) {
        what.status = (int)st;
        snprintf(what.msg, sizeof what.msg, "%s", uae_last_error());
    }
    MPI_TRY(MPI_Bcast(&what, (int)sizeof what, MPI_BYTE, first, MPI_COMM_WORLD), "MPI_Bcast");
    if (strncmp(what.msg, "rank ", 5) == 0) /* agreed before: already names its rank */
        return uae_fail((uae_status)what.status, "%s", what.msg);
    return uae_fail((uae_status)what.status, "rank %d: %s", first, what.msg);
}
