/* backends/cpu/cpu_opstats.h — where the CPU backend's time goes, op by op: a profiling aid, off
 * unless asked for. With UAE_CPU_OPSTATS=FILE set when the backend opens, every op's elapsed time
 * and the process's CPU time during it are summed per op kind and size class (and per GEMM form),
 * and the table is appended to FILE when the backend closes (one table per backend: uae-bench
 * --scaling opens one with 1 thread and one with 2). Comparing the 1- and 2-thread tables of the
 * same run shows which phases lose the second thread (docs/performance.md). The timing adds two
 * clock reads per op; the results are unchanged. */
#ifndef UAE_CPU_OPSTATS_H
#define UAE_CPU_OPSTATS_H

#include "backends/cpu/cpu_ops.h"

typedef struct uae_cpu_opstats uae_cpu_opstats;

/* NULL when $UAE_CPU_OPSTATS is unset or empty (or without memory for the table: statistics are
 * optional and never fail the backend). Owned by the caller: uae_cpu_opstats_close frees it. */
uae_cpu_opstats *uae_cpu_opstats_open(void);

/* Runs fn(ctx, op), timed, and returns its status. s not NULL. */
uae_status uae_cpu_opstats_run(uae_cpu_opstats *s, cpu_ctx *ctx, const uae_op *op,
                               uae_cpu_omp_fn fn);

/* Appends the table to the file (nothing when it cannot be opened) and frees s. NULL: no-op. */
void uae_cpu_opstats_close(uae_cpu_opstats *s, const cpu_ctx *ctx);

#endif
