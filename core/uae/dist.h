/* uae/dist.h — the distributed layer: several processes (ranks) of one job working together, for
 * the MPI runs of `uae attack`, `uae augment` and `uae demo` (docs/cluster.md).
 *
 * Built with MPI (meson -Dmpi=auto|enabled) it is a thin layer over the MPI standard; built without
 * it, the same functions describe a job of one rank, so that callers never test for MPI. This is
 * the one place of the library that knows about MPI. Every collective call must be made by every
 * rank, in the same order; a failure on one rank is shared by uae_dist_agree, never by a rank that
 * stops answering. Results never depend on the number of ranks by the way this layer combines
 * numbers: gathers and sums go to rank 0 in rank order.
 *
 *     uae_dist *d;
 *     if (uae_dist_init(&argc, &argv, &d) != UAE_OK) { puts(uae_last_error()); return 1; }
 *     int rank = uae_dist_rank(d), size = uae_dist_size(d);
 *     ...
 *     uae_dist_finalize(d);
 */
#ifndef UAE_DIST_H
#define UAE_DIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct uae_dist uae_dist;

/* Whether this build has MPI; and its name and version ("Open MPI v4.1.4, ..."; "none"). */
bool uae_dist_compiled(void);
const char *uae_dist_library(void);

/* Joins the job: once per process, before any other call here (MPI_Init_thread, funneled: only
 * the thread that called it talks to the other ranks). argc/argv may be NULL. The caller owns *out
 * and ends with uae_dist_finalize. Started without a launcher (mpirun, srun), a job of one rank
 * and MPI is not started. Without MPI in the build: a job of one rank, and UAE_ERR_UNSUPPORTED
 * when a launcher started several. */
uae_status uae_dist_init(int *argc, char ***argv, uae_dist **out);

/* Leaves the job (MPI_Finalize) and frees d. NULL is a no-op. */
void uae_dist_finalize(uae_dist *d);

/* This process's rank (0 .. size-1), the number of ranks, and the rank among those on the same
 * node (for choosing a device). d may be NULL: rank 0 of 1. */
int uae_dist_rank(const uae_dist *d);
int uae_dist_size(const uae_dist *d);
int uae_dist_local_rank(const uae_dist *d);

/* Waits until every rank has called it. */
uae_status uae_dist_barrier(uae_dist *d);

/* Copies `bytes` bytes at buf on rank root to buf on every rank. */
uae_status uae_dist_broadcast(uae_dist *d, void *buf, size_t bytes, int root);

/* Gathers each rank's blob (mine, bytes; sizes may differ) to rank 0: there *all (caller frees)
 * receives them one after the other in rank order and sizes[r] (sizes has uae_dist_size entries)
 * the size of rank r's; on the other ranks *all is NULL and sizes is not touched. */
uae_status uae_dist_gather(uae_dist *d, const void *mine, size_t bytes, void **all,
                           size_t *sizes);

/* Ordered sums: buf (n values) becomes, on every rank, the sum over the ranks of their buf,
 * added on rank 0 in rank order (((b0 + b1) + b2) + ...), so that the bits depend on the number of
 * ranks but not on timing. Callers that need bits independent of the number of ranks gather the
 * fixed parts themselves (uae_dist_gather) and add them in a fixed order. */
uae_status uae_dist_sum_f32(uae_dist *d, float *buf, int64_t n);
uae_status uae_dist_sum_f64(uae_dist *d, double *buf, int64_t n);

/* Agreement after a step that may fail on some ranks: every rank passes its own status (and, if
 * not UAE_OK, its last error message is taken). Returns, on every rank, UAE_OK if all succeeded,
 * else the status of the lowest failing rank, whose message "rank R: ..." becomes the last error
 * on every rank. Use it before any collective step that a failed rank would not reach. */
uae_status uae_dist_agree(uae_dist *d, uae_status st);

#ifdef __cplusplus
}
#endif

#endif /* UAE_DIST_H */
