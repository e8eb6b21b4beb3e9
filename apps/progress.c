/* apps/progress.c — the terminal progress bar and the duration/rate formats (see apps/progress.h).
 * Plain stdio only: no colours, no cursor movement beyond "\r" and "erase line", no threads.
 * The formatting functions are pure so that tests can check them with an injected clock. */
#include "progress.h"

#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "uae/status.h"

/* Erases the current terminal line: carriage return, then ANSI "erase in line" (every terminal
 * emulator in use understands it; it is only sent to terminals). */
#define ERASE_LINE "\r\033[K"

/* ---- Number formatting -------------------------------------------------------------------- */

const char *uae_format_duration(double seconds, char *buf, size_t cap) {
    /* 99:59:59 is the widest value we print; beyond it the exact figure tells nobody anything. */
    const double max_shown = 99.0 * 3600 + 59 * 60 + 59;
    if (!isfinite(seconds) || seconds < 0) {
        snprintf(buf, cap, "--:--");
        return buf;
    }
    if (seconds > max_shown + 0.5) {
        snprintf(buf, cap, ">99h");
        return buf;
    }
    long long t = llround(seconds);
    long long h = t / 3600, m = t / 60 % 60, s = t % 60;
    if (h > 0)
        snprintf(buf, cap, "%lld:%02lld:%02lld", h, m, s);
    else
        snprintf(buf, cap, "%lld:%02lld", m, s);
    return buf;
}

const char *uae_format_rate(double per_second, char *buf, size_t cap) {
    static const char *const units[] = {"", "k", "M", "G", "T"};
    enum { N_UNITS = sizeof units / sizeof units[0] };
    if (!isfinite(per_second) || per_second < 0) {
        snprintf(buf, cap, "-");
        return buf;
    }
    double v = per_second;
    int u = 0;
    /* 999.5 and up would print as "1000" with three digits: move to the next unit first. */
    while (v >= 999.5 && u < N_UNITS - 1) {
        v /= 1000.0;
        u++;
    }
    /* Three significant digits; the thresholds are where rounding would add a fourth digit. */
    int decimals = v < 0.9995 && u == 0 ? 3 : v < 9.995 ? 2 : v < 99.95 ? 1 : 0;
    snprintf(buf, cap, "%.*f%s", decimals, v, units[u]);
    return buf;
}

/* ---- Progress bar ------------------------------------------------------------------------- */

static double monotonic_seconds(void *ctx) {
    (void)ctx;
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int default_width(void) {
    const char *cols = getenv("COLUMNS");
    int w = cols ? atoi(cols) : 0;
    return w >= 20 && w <= 1000 ? w : 80;
}

void uae_progress_begin_opts(uae_progress *p, const char *label, int64_t total, bool quiet,
                             const uae_progress_opts *opts) {
    UAE_ASSERT(p && label);
    uae_progress_opts o = {.out = NULL, .tty = -1};
    if (opts) o = *opts;
    memset(p, 0, sizeof *p);
    snprintf(p->label, sizeof p->label, "%s", label);
    p->total = total;
    p->quiet = quiet;
    p->out = o.out ? o.out : stderr;
    bool tty = o.tty < 0 ? isatty(fileno(p->out)) == 1 : o.tty != 0;
    p->draw = tty && !quiet;
    p->clock = o.clock ? o.clock : monotonic_seconds;
    p->clock_ctx = o.clock_ctx;
    p->width = o.width > 0 ? o.width : default_width();
    p->t_start = p->clock(p->clock_ctx);
    p->t_last_draw = p->t_start;
    p->first = o.first;
    p->done = (int64_t)o.first;
    p->exact = o.first;
    p->mark[0] = (uae_progress_mark){p->t_start, o.first};
    p->marks = 1;
}

/* Keeps (now, done) if the newest mark is at least a ring slot's span old; the oldest goes when
 * the ring is full. */
static void add_mark(uae_progress *p, double now) {
    const double span = (double)UAE_PROGRESS_WINDOW / (UAE_PROGRESS_MARKS - 2);
    const uae_progress_mark *newest = &p->mark[(p->mark_head + p->marks - 1) % UAE_PROGRESS_MARKS];
    if (now - newest->t < span) return;
    if (p->marks == UAE_PROGRESS_MARKS) p->mark_head = (p->mark_head + 1) % UAE_PROGRESS_MARKS;
    else p->marks++;
    p->mark[(p->mark_head + p->marks - 1) % UAE_PROGRESS_MARKS] = (uae_progress_mark){now, p->exact};
}

double uae_progress_rate(const uae_progress *p, double now) {
    /* From the oldest mark inside the window; if none is (the updates stopped for longer than
     * the window), from the newest mark before it. The ring spans more than the window, so the
     * start of the window is always there. */
    const uae_progress_mark *from = NULL;
    for (int i = 0; i < p->marks; i++) {
        const uae_progress_mark *m = &p->mark[(p->mark_head + i) % UAE_PROGRESS_MARKS];
        if (m->t >= now) break;
        from = m;
        if (now - m->t <= UAE_PROGRESS_WINDOW) break;
    }
    if (!from) return NAN;
    return (p->exact - from->done) / (now - from->t);
}

void uae_progress_begin(uae_progress *p, const char *label, int64_t total, bool quiet) {
    uae_progress_begin_opts(p, label, total, quiet, NULL);
}

/* Appends formatted text at *len, never past cap; keeps buf NUL-terminated. */
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...) UAE_PRINTF_LIKE(4, 5);
static void append(char *buf, size_t cap, size_t *len, const char *fmt, ...) {
    if (*len + 1 >= cap) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *len, cap - *len, fmt, ap);
    va_end(ap);
    if (n > 0) *len = *len + (size_t)n < cap ? *len + (size_t)n : cap - 1;
}

const char *uae_progress_format(const uae_progress *p, double now, char *buf, size_t cap) {
    enum { BAR = 20 };  /* bar cells: 5% each */
    double elapsed = now - p->t_start;
    double rate = uae_progress_rate(p, now);
    char rate_s[32], time_s[32];
    uae_format_rate(rate, rate_s, sizeof rate_s);
    size_t len = 0;
    buf[0] = '\0';
    append(buf, cap, &len, "%s", p->label);
    if (p->total > 0) {
        int64_t done = p->done < 0 ? 0 : p->done > p->total ? p->total : p->done;
        /* ETA: remaining items / (items per second, recent). Unknown until an item is done. */
        double eta = rate > 0 ? (double)(p->total - done) / rate : NAN;
        uae_format_duration(eta, time_s, sizeof time_s);
        char tail[320];
        size_t tlen = 0;
        tail[0] = '\0';
        append(tail, sizeof tail, &tlen, " %lld/%lld %3d%%  %s items/s  ETA %s", (long long)p->done,
               (long long)p->total, (int)(done * 100 / p->total), rate_s, time_s);
        if (p->extra[0]) append(tail, sizeof tail, &tlen, "  %s", p->extra);
        /* The bar gives up cells (down to MIN_BAR) before the numbers and the text are cut. */
        enum { MIN_BAR = 8 };
        long room = (long)(p->width > 1 ? p->width - 1 : 1) - (long)strlen(p->label) - 3 - (long)tlen;
        int cells = room >= BAR ? BAR : room <= MIN_BAR ? MIN_BAR : (int)room;
        int filled = (int)(done * cells / p->total);
        char bar[BAR + 1];
        for (int i = 0; i < cells; i++) bar[i] = i < filled ? '#' : '.';
        bar[cells] = '\0';
        append(buf, cap, &len, " [%s]%s", bar, tail);
    } else {
        uae_format_duration(elapsed, time_s, sizeof time_s);
        append(buf, cap, &len, "  %lld  %s items/s  elapsed %s", (long long)p->done, rate_s, time_s);
        if (p->extra[0]) append(buf, cap, &len, "  %s", p->extra);
    }
    /* Never wider than the terminal: a wrapped line cannot be redrawn in place with "\r". */
    size_t max_visible = p->width > 1 ? (size_t)p->width - 1 : 1;
    if (len > max_visible) buf[max_visible] = '\0';
    return buf;
}

const char *uae_progress_summary(const uae_progress *p, double now, char *buf, size_t cap) {
    double elapsed = now - p->t_start;
    double rate = elapsed > 0 ? (p->exact - p->first) / elapsed : NAN;
    char rate_s[32], time_s[32];
    uae_format_rate(rate, rate_s, sizeof rate_s);
    if (elapsed < 60)
        snprintf(time_s, sizeof time_s, "%.1f s", elapsed < 0 ? 0.0 : elapsed);
    else
        uae_format_duration(elapsed, time_s, sizeof time_s);
    size_t len = 0;
    buf[0] = '\0';
    if (p->total > 0)
        append(buf, cap, &len, "%s: %lld/%lld", p->label, (long long)p->done, (long long)p->total);
    else
        append(buf, cap, &len, "%s: %lld", p->label, (long long)p->done);
    /* A resumed run: its rate counts this run's items, and says how many were done before. */
    if (p->first > 0 && p->exact <= p->first)
        append(buf, cap, &len, ", all done before (in %s)", time_s);
    else if (p->first > 0)
        append(buf, cap, &len, " in %s (%s items/s; %lld done before)", time_s, rate_s,
               (long long)p->first);
    else
        append(buf, cap, &len, " in %s (%s items/s)", time_s, rate_s);
    if (p->extra[0]) append(buf, cap, &len, "  %s", p->extra);
    return buf;
}

static void redraw(uae_progress *p, double now) {
    char line[512];
    uae_progress_format(p, now, line, sizeof line);
    fprintf(p->out, ERASE_LINE "%s", line);
    fflush(p->out);
    p->drawn = true;
    p->t_last_draw = now;
}

/* Records done (whole and partial items) and redraws if due. */
static void advance(uae_progress *p, double done_exact) {
    int64_t done = (int64_t)done_exact;
    p->done = done;
    p->exact = done_exact;
    if (p->quiet) return;
    double now = p->clock(p->clock_ctx);
    add_mark(p, now);
    if (!p->draw) return;
    /* At most ten redraws a second: more is invisible and, on a slow terminal or over ssh, costs
     * more than the loop it reports on. The first and the last state are always drawn. */
    if (!p->drawn || now - p->t_last_draw >= 0.1 || (p->total > 0 && done >= p->total))
        redraw(p, now);
}

void uae_progress_update(uae_progress *p, int64_t done, const char *fmt, ...) {
    if (fmt) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(p->extra, sizeof p->extra, fmt, ap);
        va_end(ap);
    }
    advance(p, (double)done);
}

void uae_progress_set(uae_progress *p, double done) { advance(p, done); }

void uae_progress_end(uae_progress *p) {
    if (p->quiet) return;
    char line[512];
    uae_progress_summary(p, p->clock(p->clock_ctx), line, sizeof line);
    if (p->drawn) fputs(ERASE_LINE, p->out);
    fprintf(p->out, "%s\n", line);
    fflush(p->out);
    p->drawn = false;
}
