/* core/log.c — leveled log messages (see uae/log.h). Plain stdio only: no colours, no cursor
 * movement beyond "\r" and "erase line" (apps/progress.c draws the bar), no threads. */
#include "uae/log.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uae/status.h"

/* Erases the current terminal line: carriage return, then ANSI "erase in line" (every terminal
 * emulator in use understands it; it is only sent to terminals). */
#define ERASE_LINE "\r\033[K"

/* ---- Log messages ------------------------------------------------------------------------- */

static const char *const level_names[] = {"error", "warning", "info", "debug"};
_Static_assert(sizeof level_names / sizeof level_names[0] == UAE_LOG_LEVEL_COUNT,
               "one name per log level");

const char *uae_log_level_name(uae_log_level level) {
    return (unsigned)level < UAE_LOG_LEVEL_COUNT ? level_names[level] : "?";
}

void uae_log_init(uae_log *log, uae_log_level level) {
    UAE_ASSERT(log);
    memset(log, 0, sizeof *log);
    log->level = level;
    log->stream = stderr;
    log->stream_is_tty = isatty(fileno(stderr)) == 1;
}

bool uae_log_enabled(const uae_log *log, uae_log_level level) {
    return log != NULL && level <= log->level;
}

void uae_logv(const uae_log *log, uae_log_level level, const char *fmt, va_list ap) {
    if (!uae_log_enabled(log, level)) return;
    char msg[2048];
    vsnprintf(msg, sizeof msg, fmt, ap);
    if (log->sink) {
        log->sink(log->user, level, msg);
        return;
    }
    FILE *f = log->stream ? log->stream : stderr;
    /* A progress bar may be drawn on this line without a newline; erase it first so that the
     * message starts at column 0. The bar redraws itself at its next update. */
    if (log->stream_is_tty) fputs(ERASE_LINE, f);
    if (level == UAE_LOG_INFO)
        fprintf(f, "%s\n", msg);
    else
        fprintf(f, "%s: %s: %s\n", log->program ? log->program : "uae", uae_log_level_name(level),
                msg);
    fflush(f);
}

void uae_logf(const uae_log *log, uae_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    uae_logv(log, level, fmt, ap);
    va_end(ap);
}
