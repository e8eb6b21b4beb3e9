/* core/io_jsonl.c — JSON-lines logs: one jansson object per line, flushed per line (see uae/io.h).
 * Not here: reading logs back (any JSON library or `jq` does that), fsync per line (too slow for
 * a log written every step). */
#include "uae/io.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

struct uae_jsonl {
    char *path;  /* owned copy, for messages */
    FILE *fp;
};

uae_status uae_jsonl_open(const char *path, bool append, uae_jsonl **out) {
    UAE_ASSERT(path && out);
    *out = NULL;
    uae_jsonl *log = calloc(1, sizeof *log);
    if (log) log->path = strdup(path);
    if (!log || !log->path) {
        free(log);
        return uae_fail(UAE_ERR_NOMEM, "%s: out of memory opening the log", path);
    }
    uae_status st = uae_file_open(path, append ? "ab" : "wb", &log->fp);
    if (st != UAE_OK) {
        free(log->path);
        free(log);
        return st;
    }
    *out = log;
    return UAE_OK;
}

uae_status uae_jsonl_write(uae_jsonl *log, const struct json_t *obj) {
    UAE_ASSERT(log && obj);
    if (!json_is_object(obj))
        return uae_fail(UAE_ERR_INVALID, "%s: a JSON-lines record must be a JSON object", log->path);
    // JSON_COMPACT never emits a newline (newlines inside strings are escaped), so one record is
    // one line. 9 significant digits print every float32 exactly and keep logs readable
    // (0.1f prints as 0.100000001, not 0.10000000149011612).
    char *line = json_dumps(obj, JSON_COMPACT | JSON_REAL_PRECISION(9));
    if (!line) return uae_fail(UAE_ERR_NOMEM, "%s: cannot format a record", log->path);
    bool ok = fputs(line, log->fp) >= 0 && fputc('\n', log->fp) != EOF && fflush(log->fp) == 0;
    free(line);
    if (!ok) return uae_fail(UAE_ERR_IO, "%s: write failed: %s", log->path, strerror(errno));
    return UAE_OK;
}

uae_status uae_jsonl_writef(uae_jsonl *log, const char *fmt, ...) {
    UAE_ASSERT(log && fmt);
    json_error_t err;
    va_list ap;
    va_start(ap, fmt);
    json_t *obj = json_vpack_ex(&err, 0, fmt, ap);
    va_end(ap);
    if (!obj) {
        // jansson refuses NaN and Inf, which JSON cannot represent; say so in our own words.
        bool numeric = json_error_code(&err) == json_error_numeric_overflow;
        return uae_fail(numeric ? UAE_ERR_NUMERIC : UAE_ERR_INVALID,
                        "%s: cannot build a record from \"%s\": %s%s", log->path, fmt, err.text,
                        numeric ? " (JSON has no NaN or Inf)" : "");
    }
    uae_status st = uae_jsonl_write(log, obj);
    json_decref(obj);
    return st;
}

void uae_digest_f32(const float *v, int64_t n, char out[17]) {
    uint64_t h = 14695981039346656037ull; /* FNV-1a 64: offset basis, then xor and multiply */
    const unsigned char *p = (const unsigned char *)v;
    for (size_t i = 0; i < (size_t)n * sizeof *v; i++) h = (h ^ p[i]) * 1099511628211ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

uae_status uae_jsonl_close(uae_jsonl *log) {
    if (!log) return UAE_OK;
    uae_status st = UAE_OK;
    if (fclose(log->fp) != 0)
        st = uae_fail(UAE_ERR_IO, "%s: close failed: %s", log->path, strerror(errno));
    free(log->path);
    free(log);
    return st;
}
