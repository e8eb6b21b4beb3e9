/* tests/test_log.c — the library's log levels, and the apps' duration/rate formatters and progress
 * bar (apps/progress.c), with a fake clock and a temporary file standing in for the terminal.
 * Exact string comparisons: these are the texts users read. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "apps/progress.h"
#include "uae/log.h"
#include "tests/test_util.h"

static void check_str(const char *got, const char *want, int line) {
    if (strcmp(got, want) != 0) {
        fprintf(stderr, "%s:%d: got \"%s\", want \"%s\"\n", __FILE__, line, got, want);
        failures++;
    }
}
#define CHECK_STR(got, want) check_str((got), (want), __LINE__)

static void test_duration(void) {
    char b[32];
    CHECK_STR(uae_format_duration(0, b, sizeof b), "0:00");
    CHECK_STR(uae_format_duration(7.4, b, sizeof b), "0:07");
    CHECK_STR(uae_format_duration(7.6, b, sizeof b), "0:08");
    CHECK_STR(uae_format_duration(59.6, b, sizeof b), "1:00");
    CHECK_STR(uae_format_duration(725, b, sizeof b), "12:05");
    CHECK_STR(uae_format_duration(3723, b, sizeof b), "1:02:03");
    CHECK_STR(uae_format_duration(99 * 3600 + 59 * 60 + 59, b, sizeof b), "99:59:59");
    CHECK_STR(uae_format_duration(4e5, b, sizeof b), ">99h");
    CHECK_STR(uae_format_duration(-1, b, sizeof b), "--:--");
    CHECK_STR(uae_format_duration(NAN, b, sizeof b), "--:--");
    CHECK_STR(uae_format_duration(INFINITY, b, sizeof b), "--:--");
}

static void test_rate(void) {
    char b[32];
    CHECK_STR(uae_format_rate(0, b, sizeof b), "0.000");
    CHECK_STR(uae_format_rate(0.5, b, sizeof b), "0.500");
    CHECK_STR(uae_format_rate(1.234, b, sizeof b), "1.23");
    CHECK_STR(uae_format_rate(9.996, b, sizeof b), "10.0");
    CHECK_STR(uae_format_rate(12.34, b, sizeof b), "12.3");
    CHECK_STR(uae_format_rate(812, b, sizeof b), "812");
    CHECK_STR(uae_format_rate(999.6, b, sizeof b), "1.00k");
    CHECK_STR(uae_format_rate(8120, b, sizeof b), "8.12k");
    CHECK_STR(uae_format_rate(81234, b, sizeof b), "81.2k");
    CHECK_STR(uae_format_rate(1234567, b, sizeof b), "1.23M");
    CHECK_STR(uae_format_rate(-1, b, sizeof b), "-");
    CHECK_STR(uae_format_rate(NAN, b, sizeof b), "-");
    /* A buffer too small truncates, never overflows. */
    char tiny[3];
    CHECK_STR(uae_format_rate(81234, tiny, sizeof tiny), "81");
}

typedef struct fake_clock { double t; } fake_clock;
static double fake_now(void *ctx) { return ((fake_clock *)ctx)->t; }

/* Reads everything written to f so far into buf. */
static const char *slurp(FILE *f, char *buf, size_t cap) {
    fflush(f);
    long end = ftell(f);
    rewind(f);
    size_t n = fread(buf, 1, cap - 1, f);
    buf[n] = '\0';
    fseek(f, end, SEEK_SET);
    return buf;
}

static int count(const char *hay, const char *needle) {
    int n = 0;
    for (const char *s = strstr(hay, needle); s; s = strstr(s + 1, needle)) n++;
    return n;
}

static void test_progress_format(void) {
    fake_clock clk = {100.0};
    uae_progress_opts o = {.out = stderr, .tty = 0, .clock = fake_now, .clock_ctx = &clk, .width = 200};
    uae_progress p;
    uae_progress_begin_opts(&p, "training", 1000, false, &o);
    char b[512];
    /* No item done yet: the rate is 0 and the ETA unknown. */
    CHECK_STR(uae_progress_format(&p, 100.0, b, sizeof b),
              "training [....................] 0/1000   0%  - items/s  ETA --:--");
    uae_progress_update(&p, 350, "loss=%.4f", 0.1234);
    /* 350 items in 4.31 s = 81.2/s; 650 left / 81.2 = 8.0 s. */
    CHECK_STR(uae_progress_format(&p, 104.31, b, sizeof b),
              "training [#######.............] 350/1000  35%  81.2 items/s  ETA 0:08  loss=0.1234");
    CHECK_STR(uae_progress_summary(&p, 104.31, b, sizeof b),
              "training: 350/1000 in 4.3 s (81.2 items/s)  loss=0.1234");
    CHECK_STR(uae_progress_summary(&p, 100.0 + 125, b, sizeof b),
              "training: 350/1000 in 2:05 (2.80 items/s)  loss=0.1234");
    /* A narrower line: the bar gives up cells first, so that the numbers and the text fit 80
     * columns (a training epoch's line with its loss)... */
    p.width = 80;
    uae_progress_format(&p, 104.31, b, sizeof b);
    CHECK_STR(b, "training [#####............] 350/1000  35%  81.2 items/s  ETA 0:08  loss=0.1234");
    uae_progress_begin_opts(&p, "epoch 12", 60000, false, &o);
    p.width = 80;
    uae_progress_update(&p, 60000, "loss=%.4f", 0.0849);
    uae_progress_format(&p, 100.0 + 60000 / 63100.0, b, sizeof b);
    CHECK(strlen(b) <= 79);
    CHECK(strstr(b, "loss=0.0849") != NULL);
    /* ...and the line is cut to width - 1 when even a bar of 8 cells leaves too little room, so
     * that the terminal never wraps it. */
    uae_progress_begin_opts(&p, "training", 1000, false, &o);
    uae_progress_update(&p, 350, "loss=%.4f", 0.1234);
    p.width = 30;
    uae_progress_format(&p, 104.31, b, sizeof b);
    CHECK(strlen(b) == 29);
    CHECK(strncmp(b, "training [##......] 350/1000", 28) == 0);

    /* Unknown total: no bar, no ETA, the elapsed time instead. */
    uae_progress_begin_opts(&p, "reading", 0, false, &o);
    uae_progress_update(&p, 1500, NULL);
    CHECK_STR(uae_progress_format(&p, 102.0, b, sizeof b), "reading  1500  750 items/s  elapsed 0:02");
    CHECK_STR(uae_progress_summary(&p, 102.0, b, sizeof b), "reading: 1500 in 2.0 s (750 items/s)");
}

/* The rate and ETA of a long run that was stopped for 40 minutes (SIGSTOP, a busy machine) and
 * then ran on at its old speed: from the last UAE_PROGRESS_WINDOW seconds, not from the start
 * (the mean since the start, 0.226 items/s, said 11 h 26 min left where 2 h 35 min were). A
 * resumed run's items done before it started count in the bar, not in its rates. */
static void test_progress_window(void) {
    fake_clock clk = {0.0};
    uae_progress_opts o = {.out = stderr, .tty = 0, .clock = fake_now, .clock_ctx = &clk, .width = 200};
    uae_progress p;
    uae_progress_begin_opts(&p, "attack", 10000, false, &o);
    char b[512];
    for (int t = 1; t <= 600; t++) { /* 1 item/s for 10 minutes */
        clk.t = t;
        uae_progress_update(&p, t, NULL);
    }
    CHECK(fabs(uae_progress_rate(&p, 600.0) - 1.0) < 1e-9, "rate %g", uae_progress_rate(&p, 600.0));
    /* stopped for 40 minutes, then 1 item/s for 100 s: 700 done at t = 3100, 9300 left */
    for (int i = 1; i <= 100; i++) {
        clk.t = 3000 + i;
        uae_progress_update(&p, 600 + i, NULL);
    }
    double r = uae_progress_rate(&p, 3100.0);
    CHECK(fabs(r - 1.0) < 1e-9, "rate after the pause %g, want 1 item/s", r);
    CHECK_STR(uae_progress_format(&p, 3100.0, b, sizeof b),
              "attack [#...................] 700/10000   7%  1.00 items/s  ETA 2:35:00");
    /* just after the pause no mark is in the window: the rate from the last one before it */
    clk.t = 0;
    uae_progress_begin_opts(&p, "attack", 10000, false, &o);
    for (int t = 1; t <= 600; t++) {
        clk.t = t;
        uae_progress_update(&p, t, NULL);
    }
    clk.t = 3000;
    uae_progress_update(&p, 601, NULL);
    r = uae_progress_rate(&p, 3000.0);
    CHECK(r > 0.0 && r < 0.01, "rate at the end of the pause %g (slow: the pause is recent)", r);
    /* the summary keeps the mean since the start */
    CHECK_STR(uae_progress_summary(&p, 3000.0, b, sizeof b), "attack: 601/10000 in 50:00 (0.200 items/s)");

    /* a resumed run: 5000.5 done before it, 2 items/s since */
    clk.t = 10.0;
    o.first = 5000.5;
    uae_progress_begin_opts(&p, "attack", 10000, false, &o);
    CHECK(p.done == 5000);
    clk.t = 20.0;
    uae_progress_set(&p, 5020.5);
    CHECK(fabs(uae_progress_rate(&p, 20.0) - 2.0) < 1e-9, "resumed rate %g", uae_progress_rate(&p, 20.0));
    CHECK_STR(uae_progress_summary(&p, 20.0, b, sizeof b),
              "attack: 5020/10000 in 10.0 s (2.00 items/s; 5000 done before)");

    /* a rerun with nothing left: no rate of 0 items/s, but what was done before */
    o.first = 10000;
    uae_progress_begin_opts(&p, "attack", 10000, false, &o);
    clk.t = 27.7;
    uae_progress_set(&p, 10000);
    CHECK_STR(uae_progress_summary(&p, 27.7, b, sizeof b),
              "attack: 10000/10000, all done before (in 7.7 s)");
}

static void test_progress_drawing(void) {
    char out[4096];
    fake_clock clk = {0.0};
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    uae_progress_opts o = {.out = f, .tty = 1, .clock = fake_now, .clock_ctx = &clk, .width = 120};
    uae_progress p;
    uae_progress_begin_opts(&p, "attack", 10, false, &o);
    /* Updates at these times; a redraw needs 0.1 s since the last one, except the first and the
     * final (done == total) state. Expected redraws: t=0.00, 0.10, 0.21, and the last. */
    const double times[] = {0.00, 0.05, 0.10, 0.15, 0.21, 0.25, 0.26, 0.27, 0.28, 0.29};
    for (int i = 0; i < 10; i++) {
        clk.t = times[i];
        uae_progress_update(&p, i + 1, "step %d", i + 1);
    }
    CHECK(count(slurp(f, out, sizeof out), "\r\033[K") == 4);
    CHECK(strstr(out, "10/10 100%") != NULL);
    uae_progress_end(&p);
    slurp(f, out, sizeof out);
    CHECK(count(out, "\r\033[K") == 5);
    const char *last = strrchr(out, '\r');
    CHECK(last && strcmp(last, "\r\033[Kattack: 10/10 in 0.3 s (34.5 items/s)  step 10\n") == 0);
    fclose(f);

    /* Not a terminal: nothing while running, one summary line at the end. */
    f = tmpfile();
    o.out = f;
    o.tty = 0;
    uae_progress_begin_opts(&p, "attack", 10, false, &o);
    for (int i = 0; i < 10; i++) uae_progress_update(&p, i + 1, NULL);
    CHECK_STR(slurp(f, out, sizeof out), "");
    clk.t = 2.29;
    uae_progress_end(&p);
    CHECK_STR(slurp(f, out, sizeof out), "attack: 10/10 in 2.0 s (5.00 items/s)\n");
    fclose(f);

    /* Quiet: nothing at all, even on a terminal. */
    f = tmpfile();
    o.out = f;
    o.tty = 1;
    uae_progress_begin_opts(&p, "attack", 10, true, &o);
    for (int i = 0; i < 10; i++) uae_progress_update(&p, i + 1, NULL);
    uae_progress_end(&p);
    CHECK_STR(slurp(f, out, sizeof out), "");
    fclose(f);
}

typedef struct captured { int n; uae_log_level level; char msg[256]; } captured;
static void capture(void *user, uae_log_level level, const char *msg) {
    captured *c = user;
    c->n++;
    c->level = level;
    snprintf(c->msg, sizeof c->msg, "%s", msg);
}

static void test_log(void) {
    uae_log log;
    uae_log_init(&log, UAE_LOG_INFO);
    captured c = {0};
    log.sink = capture;
    log.user = &c;
    uae_logf(&log, UAE_LOG_DEBUG, "hidden %d", 1);
    CHECK(c.n == 0);
    uae_logf(&log, UAE_LOG_WARN, "shown %d", 2);
    CHECK(c.n == 1 && c.level == UAE_LOG_WARN);
    CHECK_STR(c.msg, "shown 2");
    uae_logf(&log, UAE_LOG_INFO, "also shown");
    CHECK(c.n == 2);
    CHECK(uae_log_enabled(&log, UAE_LOG_ERROR) && !uae_log_enabled(&log, UAE_LOG_DEBUG));
    /* A NULL log is valid and silent. */
    uae_logf(NULL, UAE_LOG_ERROR, "nowhere");
    CHECK(!uae_log_enabled(NULL, UAE_LOG_ERROR));
    CHECK_STR(uae_log_level_name(UAE_LOG_WARN), "warning");
    CHECK_STR(uae_log_level_name(UAE_LOG_LEVEL_COUNT), "?");

    /* The default sink's format, written to a file. */
    char out[512];
    FILE *f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    uae_log_init(&log, UAE_LOG_DEBUG);
    log.stream = f;
    log.stream_is_tty = false;
    uae_logf(&log, UAE_LOG_ERROR, "disk %s", "full");
    uae_logf(&log, UAE_LOG_INFO, "epoch %d", 3);
    uae_logf(&log, UAE_LOG_DEBUG, "x");
    CHECK_STR(slurp(f, out, sizeof out), "uae: error: disk full\nepoch 3\nuae: debug: x\n");
    fclose(f);
    /* Another program (uae-bench) names itself. */
    f = tmpfile();
    CHECK(f != NULL);
    if (!f) return;
    log.stream = f;
    log.program = "uae-bench";
    uae_logf(&log, UAE_LOG_WARN, "load %d", 7);
    CHECK_STR(slurp(f, out, sizeof out), "uae-bench: warning: load 7\n");
    fclose(f);
}

int main(void) {
    test_duration();
    test_rate();
    test_progress_format();
    test_progress_window();
    test_progress_drawing();
    test_log();
    if (failures) {
        fprintf(stderr, "test_log: %d check(s) failed\n", failures);
        return 1;
    }
    puts("test_log: ok");
    return 0;
}
