/* uae/log.h — leveled log messages and a terminal progress bar, for the library and the apps.
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
 * The progress bar redraws one line of stderr at most ten times a second, and only when stderr is a
 * terminal; otherwise (a log file, CI) it stays silent and prints one summary line at the end:
 *
 *     uae_progress p;
 *     uae_progress_begin(&p, "training", n_batches, quiet);
 *     for (int64_t i = 0; i < n_batches; i++) {
 *         ...
 *         uae_progress_update(&p, i + 1, "loss=%.4f", loss);
 *     }
 *     uae_progress_end(&p);
 *
 * Neither a uae_log nor a uae_progress is safe to use from two threads at once.
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
    bool stream_is_tty;    /* the default sink clears a progress bar line before writing */
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

/* ---- Progress bar ------------------------------------------------------------------------- */

/* Where a progress bar draws and which clock it reads; tests fill this in, applications use
 * uae_progress_begin, which takes the defaults. */
typedef struct uae_progress_opts {
    FILE *out;                    /* NULL: stderr */
    int tty;                      /* -1: ask isatty(out); 0: not a terminal; 1: a terminal */
    double (*clock)(void *ctx);   /* seconds from any fixed origin; NULL: CLOCK_MONOTONIC */
    void *clock_ctx;
    int width;                    /* line width in columns; 0: $COLUMNS, else 80 */
} uae_progress_opts;

typedef struct uae_progress {
    char label[48];
    int64_t total;          /* number of items; <= 0 means unknown (no bar, no ETA) */
    int64_t done;
    char extra[160];        /* the text of the last update */
    bool draw;              /* redraw the line as we go (a terminal, not quiet) */
    bool quiet;             /* print nothing at all */
    bool drawn;             /* a line is on the screen now */
    FILE *out;
    double (*clock)(void *ctx);
    void *clock_ctx;
    int width;
    double t_start;         /* clock() at begin */
    double t_last_draw;     /* clock() at the last redraw */
} uae_progress;

/* Starts a progress display for a loop over total items (total <= 0: unknown). quiet: print
 * nothing, not even the summary (the CLI's --quiet). */
void uae_progress_begin(uae_progress *p, const char *label, int64_t total, bool quiet);

/* The same with an explicit output, terminal flag and clock (opts may be NULL = defaults). */
void uae_progress_begin_opts(uae_progress *p, const char *label, int64_t total, bool quiet,
                             const uae_progress_opts *opts);

/* Records that `done` items are finished and, optionally (fmt may be NULL), a short text shown
 * after the numbers ("loss=0.1234"). Redraws if drawing and at least 0.1 s passed since the last
 * redraw, or if done == total. Cheap enough to call on every item. */
void uae_progress_update(uae_progress *p, int64_t done, const char *fmt, ...) UAE_PRINTF_LIKE(3, 4);

/* Ends the display: replaces the bar (or, when not drawing, adds) one summary line
 * "label: done/total in 12.3 s (81.2 items/s) extra", unless quiet. */
void uae_progress_end(uae_progress *p);

/* Formats the current progress line as of time `now` (same clock as p->clock) into buf (at most
 * cap bytes including the NUL, and at most p->width - 1 visible characters); returns buf.
 * Example: "training [#######.............]  350/1000  35%  81.2 items/s  ETA 0:08  loss=0.1234" */
const char *uae_progress_format(const uae_progress *p, double now, char *buf, size_t cap);

/* Formats the summary line that uae_progress_end prints, as of time `now`; returns buf. */
const char *uae_progress_summary(const uae_progress *p, double now, char *buf, size_t cap);

/* A duration for humans: "0:07", "12:05", "1:02:03" (rounded to whole seconds); "--:--" for a
 * negative or non-finite value. Returns buf. */
const char *uae_format_duration(double seconds, char *buf, size_t cap);

/* A rate for humans with three significant digits: "0.500", "12.3", "812", "8.12k", "81.2k",
 * "1.23M"; "-" for a negative or non-finite value. Returns buf. */
const char *uae_format_rate(double per_second, char *buf, size_t cap);

#ifdef __cplusplus
}
#endif
#endif /* UAE_LOG_H */
