/* uae/status.h — status codes, error messages and the always-on assertion.
 *
 * Every library function that the environment can make fail (a bad file, no memory, no device, a
 * kernel that does not build, an unsupported op) returns a uae_status; UAE_OK is 0. The message that
 * goes with the most recent failure on this thread says what failed, where, and what was expected:
 *
 *     uae_status st = uae_data_load_idx("train-images.idx", "train-labels.idx", &ds);
 *     if (st != UAE_OK) fprintf(stderr, "uae: %s\n", uae_last_error());
 *
 * The message lives in thread-local storage, like errno: it is the only state that is not hung off
 * a caller's handle, and it is never read by the library itself. The library never ends the process.
 */
#ifndef UAE_STATUS_H
#define UAE_STATUS_H

#include <stdio.h>
#include <stdlib.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum uae_status {
    UAE_OK = 0,
    UAE_ERR_INVALID,     /* a bad argument or value from the caller (a negative size, an unknown name) */
    UAE_ERR_SHAPE,       /* tensor shapes that do not fit the op */
    UAE_ERR_NOMEM,       /* host or device allocation failed, or a size above a device limit */
    UAE_ERR_IO,          /* a file could not be opened, read or written */
    UAE_ERR_FORMAT,      /* a file's contents are not what its format requires */
    UAE_ERR_DEVICE,      /* a device or driver call failed (OpenCL errors) */
    UAE_ERR_BUILD,       /* a kernel failed to compile; the message carries the build log */
    UAE_ERR_UNSUPPORTED, /* the op or option is not available on this backend or build */
    UAE_ERR_NUMERIC,     /* NaN or Inf where a finite value was required */
    UAE_STATUS_COUNT
} uae_status;

/* A short constant name for a status ("UAE_ERR_SHAPE"); never NULL. */
const char *uae_status_name(uae_status st);

/* The message of the last failure reported on this thread ("" if none). Valid until the next
 * failure on this thread. */
const char *uae_last_error(void);

/* Records a formatted message for the current thread and returns st, so that a failing function
 * can end with `return uae_fail(UAE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));`. */
uae_status uae_fail(uae_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Prepends context to the current thread's message ("loading checkpoint: <old message>") and
 * returns st unchanged. */
uae_status uae_fail_context(uae_status st, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;

/* Programmer errors (a broken invariant, a NULL where the contract forbids it) are caught by this
 * always-on assertion, which prints the file, line and condition and aborts. It is never used for
 * anything a user's input or the machine can cause. */
#define UAE_ASSERT(cond)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: uaekit internal error: assertion failed: %s\n", __FILE__,     \
                    __LINE__, #cond);                                                             \
            abort();                                                                              \
        }                                                                                         \
    } while (0)

/* Propagates a non-OK status to the caller. */
#define UAE_TRY(expr)                                                                             \
    do {                                                                                          \
        uae_status uae_try_st_ = (expr);                                                          \
        if (uae_try_st_ != UAE_OK) return uae_try_st_;                                            \
    } while (0)

#ifdef __cplusplus
}
#endif
#endif /* UAE_STATUS_H */
