/* uae/log.h — leveled log messages, for the library and the apps.
 *
 * This is not an error channel: failures are reported by uae_status and uae_last_error(). Logging
 * is for what a person watching a long run wants to see (an epoch's loss, a fallback to the host).
 *
 * There is no process-wide log level. The application owns a uae_log and passes a pointer to it to
 * the library functions that log (a training loop, an attack), the way it passes a backend:
 *
 *     uae_log log;
 *     uae_log_init(&log, verbose ? UAE_LOG_DEBUG : UAE_LOG_INFO);
 *     uae_logf(&log, UAE_LOG_INFO, "epoch %d: loss %.4f", epoch, loss);
 *
 * A NULL uae_log pointer is valid everywhere and logs nothing, so library code never writes to
 * stderr unless its caller asked for it. An application that wants messages elsewhere (a GUI, a
 * file, a test) sets log.sink.
 *
 * The library reports the progress of long loops through callbacks (uae_train_batch_fn,
 * uae_attack_progress_fn, uae_generate_progress_fn); the terminal bar that draws it is the apps'
 * (apps/progress.h).
 *
 * A uae_log is not safe to use from two threads at once.
 */
#ifndef UAE_LOG_H
#define UAE_LOG_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#ifdef __cplusplus
extern "C" {
#endif

#if defined(__GNUC__)
#define UAE_PRINTF_LIKE(fmt_index, first_arg) __attribute__((format(printf, fmt_index, first_arg)))
#else
#define UAE_PRINTF_LIKE(fmt_index, first_arg)
#endif

/* ---- Log messages ------------------------------------------------------------------------- */

/* Levels in order of decreasing importance: a log with level L shows every message whose level is
 * L or more important. */
typedef enum uae_log_level {
    UAE_LOG_ERROR,  /* the run cannot go on as asked */
    UAE_LOG_WARN,   /* something the user should know about (a host fallback, a clipped value) */
    UAE_LOG_INFO,   /* normal progress: epochs, losses, files written */
    UAE_LOG_DEBUG,  /* details for developers: sizes, timings, kernel options */
    UAE_LOG_LEVEL_COUNT
} uae_log_level;

/* Receives each message that passes the threshold: msg has no trailing newline. */
typedef void (*uae_log_sink_fn)(void *user, uae_log_level level, const char *msg);

typedef struct uae_log {
    uae_log_level level;   /* threshold: messages less important than this are dropped */
    uae_log_sink_fn sink;  /* NULL: write to `stream` (see uae_log_init) */
    void *user;            /* passed to sink, not owned */
    FILE *stream;          /* where the default sink writes; not owned */
    bool stream_is_tty;    /* the default sink erases the line (a progress bar's) first */
    const char *program;   /* the default sink's prefix of errors, warnings and debug messages;
                            * NULL: "uae" (not owned) */
} uae_log;

/* Sets up a log that writes to stderr: errors as "uae: error: ...", warnings as
 * "uae: warning: ...", info as the plain message, debug as "uae: debug: ...". */
void uae_log_init(uae_log *log, uae_log_level level);

/* Whether a message of this level would be shown (false for a NULL log); use it to skip costly
 * work that only feeds a debug message. */
bool uae_log_enabled(const uae_log *log, uae_log_level level);

/* Formats and emits one message if it passes the threshold. log may be NULL (nothing happens). */
void uae_logf(const uae_log *log, uae_log_level level, const char *fmt, ...) UAE_PRINTF_LIKE(3, 4);
void uae_logv(const uae_log *log, uae_log_level level, const char *fmt, va_list ap)
    UAE_PRINTF_LIKE(3, 0);

/* "error", "warning", "info", "debug"; "?" for a value out of range. */
const char *uae_log_level_name(uae_log_level level);

#ifdef __cplusplus
}
#endif
#endif /* UAE_LOG_H */
