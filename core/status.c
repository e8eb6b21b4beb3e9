/* core/status.c — status names and the per-thread error message (see uae/status.h). */
#include "uae/status.h"

#include <stdarg.h>
#include <string.h>

#define UAE_ERRMSG_CAP 4096

static _Thread_local char errmsg[UAE_ERRMSG_CAP];

static const char *const status_names[] = {
    "UAE_OK",          "UAE_ERR_INVALID", "UAE_ERR_SHAPE", "UAE_ERR_NOMEM",
    "UAE_ERR_IO",      "UAE_ERR_FORMAT",  "UAE_ERR_DEVICE", "UAE_ERR_BUILD",
    "UAE_ERR_UNSUPPORTED", "UAE_ERR_NUMERIC",
};
_Static_assert(sizeof status_names / sizeof status_names[0] == UAE_STATUS_COUNT,
               "one name per status");

const char *uae_status_name(uae_status st) {
    if ((unsigned)st >= UAE_STATUS_COUNT) return "UAE_ERR_(unknown)";
    return status_names[st];
}

const char *uae_last_error(void) { return errmsg; }

uae_status uae_fail(uae_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    return st;
}

uae_status uae_fail_context(uae_status st, const char *fmt, ...) {
    char old[UAE_ERRMSG_CAP];
    memcpy(old, errmsg, sizeof old);
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(errmsg, sizeof errmsg, fmt, ap);
    va_end(ap);
    if (n >= 0 && (size_t)n < sizeof errmsg)
        snprintf(errmsg + n, sizeof errmsg - (size_t)n, ": %s", old);
    return st;
}
