/* apps/cli_trace.h — `uae attack --trace FILE`: the attack's per-iteration trace (uae/attack.h,
 * uae_attack_trace) written as JSON lines, one per example and iterate. Private to apps/; the
 * format is documented in docs/user-guide.md ("Attack traces"). */
#ifndef UAE_CLI_TRACE_H
#define UAE_CLI_TRACE_H

#include <stdbool.h>

#include "uae/attack.h"

typedef struct cli_trace cli_trace;

/* Opens path for a trace. resume = false: the file is started afresh. resume = true (the attack
 * continues a folder): lines of examples at or after the first example traced by this run are
 * dropped when it starts (a run stopped mid-batch may have traced examples it never saved), the
 * others kept. The caller frees with cli_trace_close. */
uae_status cli_trace_open(const char *path, bool resume, cli_trace **out);

/* full = true: every iterate line also holds delta_t itself, "delta": the example's floats in
 * (C, H, W) order (uae attack --trace-delta; for comparing with another implementation). */
void cli_trace_set_delta(cli_trace *t, bool full);

/* The uae_attack_trace_fn to put into uae_attack_config.trace, with the cli_trace as user. An
 * example's lines are written when its end record arrives, each saying whether it is the
 * selected iterate. */
uae_status cli_trace_record(void *user, const uae_attack_trace *rec);

/* Closes the file (NULL: nothing). Lines of examples without an end record are not written. */
uae_status cli_trace_close(cli_trace *t);

#endif /* UAE_CLI_TRACE_H */
