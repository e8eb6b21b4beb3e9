/* tests/test_util.h — the harness every C test shares: checks that count failures, calls that
 * must succeed, the skip status, the small-size switch and a loop over the devices. Header-only
 * (each test is one program of one file); not part of the library.
 *
 *     #include "tests/test_util.h"
 *     CHECK(x == 3);                          // on failure: file, line and the condition
 *     CHECK(fabs(a - b) < 1e-6, "a %g b %g", a, b);   // ... and the message
 *     TRY(uae_backend_open("cpu", &be));      // must succeed, else the test stops (exit 1)
 *     CHECK_OK(uae_tensor_write(&t, h));      // must succeed, else one failure and go on
 *     CHECK_FAILS(uae_load(p), UAE_ERR_FORMAT, "offset", "expected");  // status and message words
 *     if (test_small()) n = 10;               // UAE_TEST_SMALL=1: sanitizers, oclgrind
 *     FOR_EACH_DEVICE(dev, TEST_OPENCL) { ... dev->spec, dev->info.name ... }
 *     return test_exit();                     // 0, or 1 after any failure
 *
 * Exit statuses follow meson: 0 passed, 1 failed, 77 skipped (test_skip). */
#ifndef UAE_TEST_UTIL_H
#define UAE_TEST_UTIL_H

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/backend.h"
#include "uae/status.h"

#if defined(__GNUC__)
#define TEST_UNUSED __attribute__((unused))
#define TEST_PRINTF(f, a) __attribute__((format(printf, f, a)))
#else
#define TEST_UNUSED
#define TEST_PRINTF(f, a)
#endif

/* Checks that failed so far; a test may read it (to report per section) but only the macros add. */
static int failures TEST_UNUSED = 0;

/* Reports one failed check. fmt starts with a space (the macros prepend one so that a check
 * without a message still has a format); a lone space means no message. */
static TEST_UNUSED TEST_PRINTF(4, 5) void test_fail_(const char *file, int line, const char *cond,
                                                     const char *fmt, ...) {
    fprintf(stderr, "FAIL %s:%d: %s", file, line, cond);
    if (fmt[0] && fmt[1]) {
        va_list ap;
        va_start(ap, fmt);
        fputs(":", stderr);
        vfprintf(stderr, fmt, ap);
        va_end(ap);
    }
    fputs("\n", stderr);
    fflush(stderr);
    failures++;
}

/* CHECK(cond) or CHECK(cond, fmt, ...): counts a failure and goes on. */
#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) test_fail_(__FILE__, __LINE__, #cond, " " __VA_ARGS__);                      \
    } while (0)

/* A call returning uae_status that must succeed; the test cannot go on without it (exit 1). */
#define TRY(expr)                                                                                 \
    do {                                                                                          \
        uae_status st_ = (expr);                                                                  \
        if (st_ != UAE_OK) {                                                                      \
            fprintf(stderr, "FAIL %s:%d: %s gave %s: %s\n", __FILE__, __LINE__, #expr,            \
                    uae_status_name(st_), uae_last_error());                                      \
            exit(1);                                                                              \
        }                                                                                         \
    } while (0)

/* A call returning uae_status that must succeed; a failure is counted and the test goes on. */
#define CHECK_OK(expr)                                                                            \
    do {                                                                                          \
        uae_status st_ = (expr);                                                                  \
        if (st_ != UAE_OK)                                                                        \
            test_fail_(__FILE__, __LINE__, #expr, " gave %s: %s", uae_status_name(st_),           \
                       uae_last_error());                                                         \
    } while (0)

/* st must be `want`, and uae_last_error() must contain each of the words (the list ends at the
 * first NULL). Returns whether it did. */
static TEST_UNUSED bool test_fails_(const char *file, int line, const char *expr, uae_status st,
                                    uae_status want, ...) {
    const char *msg = uae_last_error();
    bool ok = st == want;
    char words[512] = "";
    size_t len = 0;
    va_list ap;
    va_start(ap, want);
    for (const char *w; (w = va_arg(ap, const char *)) != NULL;) {
        if (!strstr(msg, w)) ok = false;
        int n = snprintf(words + len, sizeof words - len, "%s\"%s\"", len ? ", " : "", w);
        if (n > 0) len = len + (size_t)n < sizeof words ? len + (size_t)n : sizeof words - 1;
    }
    va_end(ap);
    if (!ok)
        test_fail_(file, line, expr, " gave %s \"%s\"; expected %s with %s", uae_status_name(st),
                   msg, uae_status_name(want), words[0] ? words : "any message");
    return ok;
}

/* CHECK_FAILS(expr, want, "word", ...): expr must return status `want` with a message that contains
 * every word given (none: any message). */
#define CHECK_FAILS(expr, ...) test_fails_(__FILE__, __LINE__, #expr, (expr), __VA_ARGS__, NULL)

/* Ends the test as skipped (exit 77) with the reason on stdout. */
static TEST_UNUSED TEST_PRINTF(1, 2) void test_skip(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("SKIP: ", stdout);
    vprintf(fmt, ap);
    va_end(ap);
    fputs("\n", stdout);
    exit(77);
}

/* The exit status of a test that ran: 0, or 1 after any failed check (counted on stderr). */
static TEST_UNUSED int test_exit(void) {
    if (failures) fprintf(stderr, "%d check(s) failed\n", failures);
    return failures ? 1 : 0;
}

/* UAE_TEST_SMALL set and not "0": run the small variant (the sanitizer build and oclgrind set it:
 * they look at every code path, not at large sizes). */
static TEST_UNUSED bool test_small(void) {
    const char *v = getenv("UAE_TEST_SMALL");
    return v && *v && strcmp(v, "0") != 0;
}

/* ---- Devices ------------------------------------------------------------------------------- */

/* Which kinds of device a loop visits (uae_device_info.backend). */
enum { TEST_REF = 1, TEST_CPU = 2, TEST_OPENCL = 4, TEST_ALL_DEVICES = 7 };
enum { TEST_MAX_DEVICES = 32 };

typedef struct test_device {
    char spec[16];          /* for uae_backend_open: the device's index in the list */
    uae_device_info info;
} test_device;

typedef struct test_device_set {
    int n;
    test_device d[TEST_MAX_DEVICES];
} test_device_set;

/* The devices of the given kinds, in uae_device_list's order. */
static TEST_UNUSED test_device_set test_device_list(unsigned kinds) {
    test_device_set out = {0};
    static uae_device_info infos[TEST_MAX_DEVICES];
    int n = 0;
    if (uae_device_list(infos, TEST_MAX_DEVICES, &n) != UAE_OK) n = 0;
    for (int i = 0; i < n && i < TEST_MAX_DEVICES; i++) {
        const char *b = infos[i].backend;
        unsigned kind = strcmp(b, "ref") == 0 ? TEST_REF : strcmp(b, "cpu") == 0 ? TEST_CPU
                                                                                 : TEST_OPENCL;
        if (!(kinds & kind)) continue;
        test_device *d = &out.d[out.n++];
        snprintf(d->spec, sizeof d->spec, "%d", infos[i].index);
        d->info = infos[i];
    }
    return out;
}

/* FOR_EACH_DEVICE(dev, kinds) { ... }: dev is a const test_device * for each device of the kinds
 * (TEST_REF | TEST_CPU | TEST_OPENCL). `break` leaves the loop. */
#define FOR_EACH_DEVICE(dev, kinds)                                                               \
    for (test_device_set test_list_ = test_device_list(kinds), *test_once_ = &test_list_;         \
         test_once_; test_once_ = NULL)                                                           \
        for (const test_device *dev = test_list_.d; dev < test_list_.d + test_list_.n; dev++)

#endif /* UAE_TEST_UTIL_H */
