/* apps/progress.h — the terminal progress bar of `uae` and `uae-bench`, and the duration and rate
 * formats it shares with their log lines. Not part of libuae: the library reports progress
 * through callbacks (uae_train_batch_fn, uae_attack_progress_fn, uae_generate_progress_fn) and
 * the apps draw it here.
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
 * A uae_progress is not safe to use from two threads at once.
 */
#ifndef UAE_APPS_PROGRESS_H
#define UAE_APPS_PROGRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "uae/log.h"

/* Where a progress bar draws and which clock it reads; tests fill this in, applications use
 * uae_progress_begin, which takes the defaults. */
typedef struct uae_progress_opts {
    FILE *out;                    /* NULL: stderr */
    int tty;                      /* -1: ask isatty(out); 0: not a terminal; 1: a terminal */
    double (*clock)(void *ctx);   /* seconds from any fixed origin; NULL: CLOCK_MONOTONIC */
    void *clock_ctx;
    int width;                    /* line width in columns; 0: $COLUMNS, else 80 */
    double first;                 /* items already done before this loop (a resumed run; may
                                   * have a fraction): the rates count the items done from here */
} uae_progress_opts;

/* The rate and ETA come from the last UAE_PROGRESS_WINDOW seconds, not from the start: a long run
 * whose machine was busy, or that was stopped for a while (SIGSTOP, a suspended laptop), shows
 * its current speed again within minutes. The bar keeps the (time, done) pairs of its updates
 * UAE_PROGRESS_WINDOW / (UAE_PROGRESS_MARKS - 2) seconds apart, in a ring. */
enum { UAE_PROGRESS_WINDOW = 300, UAE_PROGRESS_MARKS = 12 };
typedef struct uae_progress_mark {
    double t;
    double done;
} uae_progress_mark;

typedef struct uae_progress {
    char label[48];
    int64_t total;          /* number of items; <= 0 means unknown (no bar, no ETA) */
    int64_t done;
    double exact;           /* done, with the fraction of a partly done item (uae_progress_set) */
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
    double first;           /* items done before begin (opts.first) */
    uae_progress_mark mark[UAE_PROGRESS_MARKS]; /* ring of (time, done), oldest at mark_head */
    int mark_head, marks;
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

/* uae_progress_update without text, for loops that finish items in parts (a batch of examples
 * reports tenths of its examples): the bar shows whole items, the rate counts the parts. */
void uae_progress_set(uae_progress *p, double done);

/* Ends the display: replaces the bar (or, when not drawing, adds) one summary line
 * "label: done/total in 12.3 s (81.2 items/s) extra", unless quiet. */
void uae_progress_end(uae_progress *p);

/* Items per second as of time `now` (same clock as p->clock): over the last UAE_PROGRESS_WINDOW
 * seconds of updates, or since begin if the loop is younger; NAN before any time has passed. */
double uae_progress_rate(const uae_progress *p, double now);

/* Formats the current progress line as of time `now` (same clock as p->clock) into buf (at most
 * cap bytes including the NUL, and at most p->width - 1 visible characters); returns buf.
 * Example: "training [#######.............]  350/1000  35%  81.2 items/s  ETA 0:08  loss=0.1234"
 * (the rate and the ETA from uae_progress_rate). */
const char *uae_progress_format(const uae_progress *p, double now, char *buf, size_t cap);

/* Formats the summary line that uae_progress_end prints, as of time `now`; returns buf. Its rate
 * is the mean since begin. */
const char *uae_progress_summary(const uae_progress *p, double now, char *buf, size_t cap);

/* A duration for humans: "0:07", "12:05", "1:02:03" (rounded to whole seconds); "--:--" for a
 * negative or non-finite value. Returns buf. */
const char *uae_format_duration(double seconds, char *buf, size_t cap);

/* A rate for humans with three significant digits: "0.500", "12.3", "812", "8.12k", "81.2k",
 * "1.23M"; "-" for a negative or non-finite value. Returns buf. */
const char *uae_format_rate(double per_second, char *buf, size_t cap);

#endif /* UAE_APPS_PROGRESS_H */
