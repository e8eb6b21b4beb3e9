/* core/io_npy.c — NumPy .npy files of float32: whole-array write and read, and an appender that
 * streams rows to disk (see uae/io.h). Not here: other dtypes, Fortran order, .npz archives.
 *
 * The format (numpy/lib/format.py): the 6 bytes "\x93NUMPY", a version (1, 0), a little-endian
 * uint16 header length, then a Python dict literal such as
 *     {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
 * padded with spaces and ended by '\n' so that the data starts at a multiple of 64 bytes. */
#include "uae/io.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io_internal.h"

#define NPY_MAGIC "\x93NUMPY"
#define NPY_MAGIC_LEN 6
#define NPY_ALIGN 64
/* Our headers are a few hundred bytes; 1 MiB bounds what a damaged version 2/3 header may ask. */
#define NPY_MAX_HEADER (1u << 20)
/* Digits reserved for the first dimension by the appender: numpy's own choice
 * (growth_axis_max_digits in numpy/lib/format.py), enough for any int64. */
#define NPY_COUNT_DIGITS 21

/* ---- Header text --------------------------------------------------------------------------- */

/* Writes a complete version 1.0 preamble (magic, version, length, dict, padding, '\n') into out
 * (cap bytes) and returns its size, or 0 if it does not fit. Its size is total if total > 0, else
 * the next multiple of 64 that leaves at least `spare` padding spaces; the appender reserves
 * NPY_COUNT_DIGITS spare spaces so that a longer count can later be written in the same room. */
static size_t npy_preamble(char *out, size_t cap, int ndim, const int64_t *shape, size_t spare,
                           size_t total) {
    char dict[512];
    size_t len = (size_t)snprintf(dict, sizeof dict,
                                  "{'descr': '<f4', 'fortran_order': False, 'shape': (");
    for (int d = 0; d < ndim; d++)
        len += (size_t)snprintf(dict + len, sizeof dict - len, d ? ", %lld" : "%lld",
                                (long long)shape[d]);
    len += (size_t)snprintf(dict + len, sizeof dict - len, ndim == 1 ? ",), }" : "), }");
    if (len >= sizeof dict) return 0;

    size_t need = NPY_MAGIC_LEN + 4 + len + 1;  // + '\n'
    if (total == 0) total = (need + spare + NPY_ALIGN - 1) / NPY_ALIGN * NPY_ALIGN;
    if (need > total || total > cap || total - 10 > 0xffff) return 0;
    size_t header_len = total - 10;
    memcpy(out, NPY_MAGIC, NPY_MAGIC_LEN);
    out[6] = 1;  // version 1.0
    out[7] = 0;
    out[8] = (char)(header_len & 0xff);
    out[9] = (char)(header_len >> 8);
    memcpy(out + 10, dict, len);
    memset(out + 10 + len, ' ', total - 10 - len - 1);
    out[total - 1] = '\n';
    return total;
}

/* A tiny reader for the one kind of dict numpy writes: string keys, and values that are a string,
 * True/False, or a tuple of integers. Unknown keys are an error, as in numpy. */
typedef struct header_info {
    int ndim;
    int64_t shape[UAE_IO_MAX_DIMS];
    size_t data_start;      /* bytes before the data */
    int major;              /* format version */
} header_info;

static void skip_space(const char **p) {
    while (**p == ' ' || **p == '\t' || **p == '\n' || **p == '\r') (*p)++;
}

/* Parses a quoted Python string into buf; false if malformed or longer than cap - 1. */
static bool parse_str(const char **p, char *buf, size_t cap) {
    char q = **p;
    if (q != '\'' && q != '"') return false;
    const char *s = *p + 1, *e = strchr(s, q);
    if (!e || (size_t)(e - s) >= cap) return false;
    memcpy(buf, s, (size_t)(e - s));
    buf[e - s] = '\0';
    *p = e + 1;
    return true;
}

static bool parse_shape(const char **p, header_info *h) {
    if (**p != '(') return false;
    (*p)++;
    h->ndim = 0;
    for (;;) {
        skip_space(p);
        if (**p == ')') break;
        if (!isdigit((unsigned char)**p) || h->ndim == UAE_IO_MAX_DIMS) return false;
        int64_t v = 0;
        while (isdigit((unsigned char)**p)) {
            if (v > (UAE_IO_MAX_NUMEL - 9) / 10) return false;  // no overflow on absurd digits
            v = v * 10 + (**p - '0');
            (*p)++;
        }
        if (**p == 'L') (*p)++;  // Python 2's long suffix, seen in old files
        h->shape[h->ndim++] = v;
        skip_space(p);
        if (**p == ',') (*p)++;
        else if (**p != ')') return false;
    }
    (*p)++;
    return true;
}

/* Reads and checks the preamble from fp (positioned at 0). */
static uae_status read_header(const char *path, FILE *fp, header_info *h) {
    unsigned char pre[12];
    if (fread(pre, 1, 10, fp) != 10 || memcmp(pre, NPY_MAGIC, NPY_MAGIC_LEN) != 0)
        return uae_fail(UAE_ERR_FORMAT, "%s: not a .npy file (expected the magic \\x93NUMPY)", path);
    h->major = pre[6];
    size_t header_len;
    if (h->major == 1) {
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8;
        h->data_start = 10 + header_len;
    } else if (h->major == 2 || h->major == 3) {
        if (fread(pre + 10, 1, 2, fp) != 2)
            return uae_fail(UAE_ERR_FORMAT, "%s: truncated .npy header", path);
        header_len = (size_t)pre[8] | (size_t)pre[9] << 8 | (size_t)pre[10] << 16 |
                     (size_t)pre[11] << 24;
        h->data_start = 12 + header_len;
    } else {
        return uae_fail(UAE_ERR_UNSUPPORTED, "%s: .npy format version %d.%d, expected 1.0 to 3.0",
                        path, pre[6], pre[7]);
    }
    if (header_len > NPY_MAX_HEADER)
        return uae_fail(UAE_ERR_FORMAT, "%s: .npy header length %zu is beyond the limit of %u",
                        path, header_len, NPY_MAX_HEADER);
    char *text = malloc(header_len + 1);
    if (!text) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory for the .npy header", path);
    if (fread(text, 1, header_len, fp) != header_len) {
        free(text);
        return uae_fail(UAE_ERR_FORMAT, "%s: truncated .npy header (%zu bytes expected)", path,
                        header_len);
    }
    text[header_len] = '\0';

    // {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), }
    uae_status st = UAE_OK;
    bool have_descr = false, have_order = false, have_shape = false;
    const char *p = text;
    char key[32], descr[32];
    skip_space(&p);
    /* p never steps over the terminating NUL (an empty header: tests/fuzz/corpus/npy/crash-*). */
    bool ok = *p == '{';
    if (ok) p++;
    while (ok) {
        skip_space(&p);
        if (*p == '}') break;
        ok = parse_str(&p, key, sizeof key);
        skip_space(&p);
        ok = ok && *p == ':';
        if (ok) p++;
        skip_space(&p);
        if (!ok) break;
        if (strcmp(key, "descr") == 0) {
            ok = have_descr = parse_str(&p, descr, sizeof descr);
        } else if (strcmp(key, "fortran_order") == 0) {
            have_order = true;
            if (strncmp(p, "False", 5) == 0) {
                p += 5;
            } else if (strncmp(p, "True", 4) == 0) {
                st = uae_fail(UAE_ERR_UNSUPPORTED, "%s: array is in Fortran order, uaekit reads "
                              "C order only (save it with numpy.ascontiguousarray)", path);
                break;
            } else {
                ok = false;
            }
        } else if (strcmp(key, "shape") == 0) {
            ok = have_shape = parse_shape(&p, h);
        } else {
            ok = false;
        }
        skip_space(&p);
        if (*p == ',') p++;
        else if (*p != '}') ok = false;
    }
    if (ok) {  // after the closing brace: only the padding
        p++;
        skip_space(&p);
        ok = *p == '\0';
    }
    if (st == UAE_OK && (!ok || !have_descr || !have_order || !have_shape))
        st = uae_fail(UAE_ERR_FORMAT, "%s: .npy header is not the expected dict with 'descr', "
                      "'fortran_order' and 'shape': %.200s", path, text);
    else if (st == UAE_OK && strcmp(descr, "<f4") != 0)
        st = uae_fail(UAE_ERR_UNSUPPORTED, "%s: array has dtype '%s', uaekit reads only '<f4' "
                      "(float32; convert with a.astype(numpy.float32))", path, descr);
    int64_t numel;
    if (st == UAE_OK && !uae_io_numel(h->ndim, h->shape, &numel))
        st = uae_fail(UAE_ERR_FORMAT, "%s: .npy shape has over 2^60 elements", path);
    free(text);
    return st;
}

static uae_status check_shape_arg(const char *path, int ndim, const int64_t *shape,
                                  int64_t *numel) {
    if (ndim < 0 || ndim > UAE_IO_MAX_DIMS || !uae_io_numel(ndim, shape, numel))
        return uae_fail(UAE_ERR_INVALID, "%s: bad shape (ndim %d; expected 0 to %d dimensions, "
                        "each >= 0)", path, ndim, UAE_IO_MAX_DIMS);
    return UAE_OK;
}

/* ---- Whole arrays -------------------------------------------------------------------------- */

uae_status uae_npy_write(const char *path, int ndim, const int64_t *shape, const float *data) {
    UAE_ASSERT(path && (shape || ndim == 0));
    int64_t numel;
    UAE_TRY(check_shape_arg(path, ndim, shape, &numel));
    UAE_ASSERT(data || numel == 0);
    char pre[1024];
    size_t pre_len = npy_preamble(pre, sizeof pre, ndim, shape, 0, 0);
    UAE_ASSERT(pre_len > 0);  // 8 dimensions of 19 digits always fit

    uae_atomic_file *f;
    UAE_TRY(uae_atomic_file_open(path, &f));
    FILE *fp = uae_atomic_file_stream(f);
    if (fwrite(pre, 1, pre_len, fp) != pre_len ||
        (numel > 0 && fwrite(data, sizeof(float), (size_t)numel, fp) != (size_t)numel)) {
        uae_status st = uae_fail(UAE_ERR_IO, "%s: write failed: %s", path, strerror(errno));
        uae_atomic_file_abort(f);
        return st;
    }
    return uae_atomic_file_commit(f);
}

static uae_status read_data(const char *path, FILE *fp, uae_npy_array *out) {
    header_info h;
    UAE_TRY(read_header(path, fp, &h));
    int64_t numel;
    uae_io_numel(h.ndim, h.shape, &numel);  // checked in read_header
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0)
        return uae_fail(UAE_ERR_IO, "%s: cannot stat: %s", path, strerror(errno));
    // The header's shape is authoritative: extra bytes are ignored, missing bytes are an error,
    // and the size is checked before allocating.
    uint64_t have = (uint64_t)sb.st_size > h.data_start ? (uint64_t)sb.st_size - h.data_start : 0;
    uint64_t need = (uint64_t)numel * sizeof(float);
    if (have < need) {
        char sh[200];
        return uae_fail(UAE_ERR_FORMAT, "%s: shape %s needs %llu bytes of data, the file has %llu "
                        "(truncated?)", path, uae_io_shape_str(h.ndim, h.shape, sh, sizeof sh),
                        (unsigned long long)need, (unsigned long long)have);
    }
    float *data = malloc(need ? (size_t)need : 1);
    if (!data)
        return uae_fail(UAE_ERR_NOMEM, "%s: out of memory for %llu bytes", path,
                        (unsigned long long)need);
    if (fread(data, sizeof(float), (size_t)numel, fp) != (size_t)numel) {
        free(data);
        return uae_fail(UAE_ERR_IO, "%s: read failed: %s", path, strerror(errno));
    }
    out->ndim = h.ndim;
    memcpy(out->shape, h.shape, sizeof out->shape);
    out->data = data;
    return UAE_OK;
}

uae_status uae_npy_read(const char *path, uae_npy_array *out) {
    UAE_ASSERT(path && out);
    memset(out, 0, sizeof *out);
    FILE *fp;
    UAE_TRY(uae_file_open(path, "rb", &fp));
    uae_status st = read_data(path, fp, out);
    fclose(fp);
    return st;
}

void uae_npy_array_free(uae_npy_array *a) {
    if (!a) return;
    free(a->data);
    memset(a, 0, sizeof *a);
}

/* ---- Appender ------------------------------------------------------------------------------ */

struct uae_npy_appender {
    char *path;                         /* owned copy, for messages */
    FILE *fp;                           /* open for update, positioned at the end of the data */
    int ndim;                           /* 1 + the row's ndim */
    int64_t shape[UAE_IO_MAX_DIMS];     /* shape[0]: rows so far */
    int64_t row_floats;                 /* product of the row shape */
    size_t preamble;                    /* bytes before the data; fixed for the file's life */
    bool broken;                        /* a write failed: the file position is unknown */
    char cause[160];                    /* the first failure's message: later calls repeat it */
};

/* Marks the appender broken and fails with st and the message made from fmt, which later calls
 * repeat: a full disk's "No space left on device" stays the reason given, whichever call the
 * caller reports (the close after a failed append, typically). */
static uae_status broken(uae_npy_appender *app, uae_status st, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static uae_status broken(uae_npy_appender *app, uae_status st, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    if (!app->broken) vsnprintf(app->cause, sizeof app->cause, fmt, ap);
    va_end(ap);
    app->broken = true;
    return uae_fail(st, "%s: %s", app->path, app->cause);
}

static uae_status earlier_failure(const uae_npy_appender *app) {
    return uae_fail(UAE_ERR_IO, "%s: an earlier write failed (%s); reopen with resume", app->path,
                    app->cause);
}

/* Rewrites the header with the current count, in the space reserved for it, and returns to the
 * end of the data. */
static uae_status write_count(uae_npy_appender *app) {
    char pre[1024];
    if (npy_preamble(pre, sizeof pre, app->ndim, app->shape, 0, app->preamble) != app->preamble)
        return broken(app, UAE_ERR_FORMAT, "the .npy header has no room for the row count");
    if (fseek(app->fp, 0, SEEK_SET) != 0 || fwrite(pre, 1, app->preamble, app->fp) != app->preamble ||
        fseek(app->fp, 0, SEEK_END) != 0)
        return broken(app, UAE_ERR_IO, "cannot rewrite the header: %s", strerror(errno));
    return UAE_OK;
}

/* Opens an existing file for resuming: checks its row shape and header room, and cuts off
 * whatever follows the rows its header counts. */
static uae_status resume_file(uae_npy_appender *app) {
    header_info h;
    UAE_TRY(read_header(app->path, app->fp, &h));
    bool same = h.ndim == app->ndim;
    for (int d = 1; d < app->ndim && same; d++) same = h.shape[d] == app->shape[d];
    if (!same) {
        char want[200], have[200];
        int64_t w[UAE_IO_MAX_DIMS];
        memcpy(w, app->shape, sizeof w);
        w[0] = h.ndim > 0 ? h.shape[0] : 0;
        return uae_fail(UAE_ERR_SHAPE, "%s: cannot resume: the file has shape %s, expected rows of "
                        "shape %s", app->path, uae_io_shape_str(h.ndim, h.shape, have, sizeof have),
                        uae_io_shape_str(app->ndim, w, want, sizeof want));
    }
    // The count must be rewritable in place: a version 1.0 header with room for 21 digits (any
    // int64), which is the room a count of 0 plus NPY_COUNT_DIGITS spare spaces needs.
    char pre[1024];
    int64_t zero[UAE_IO_MAX_DIMS];
    memcpy(zero, h.shape, sizeof zero);
    zero[0] = 0;
    size_t room = npy_preamble(pre, sizeof pre, h.ndim, zero, NPY_COUNT_DIGITS, 0);
    if (h.major != 1 || room > h.data_start)
        return uae_fail(UAE_ERR_FORMAT, "%s: cannot resume: the header has no room to grow the row "
                        "count (not written by uae_npy_appender?)", app->path);
    app->preamble = h.data_start;
    app->shape[0] = h.shape[0];

    struct stat sb;
    uint64_t end = (uint64_t)app->preamble + (uint64_t)h.shape[0] * (uint64_t)app->row_floats * 4;
    if (fstat(fileno(app->fp), &sb) != 0)
        return uae_fail(UAE_ERR_IO, "%s: cannot stat: %s", app->path, strerror(errno));
    if ((uint64_t)sb.st_size < end)
        return uae_fail(UAE_ERR_FORMAT, "%s: cannot resume: the header counts %lld rows but the file "
                        "holds fewer (truncated?)", app->path, (long long)h.shape[0]);
    // Rows written after the last sync, and a partial row from a crash, are not counted: drop them.
    if (ftruncate(fileno(app->fp), (off_t)end) != 0 || fseek(app->fp, 0, SEEK_END) != 0)
        return uae_fail(UAE_ERR_IO, "%s: cannot cut the file to its counted rows: %s", app->path,
                        strerror(errno));
    return UAE_OK;
}

static void appender_free(uae_npy_appender *app) {
    if (app->fp) fclose(app->fp);
    free(app->path);
    free(app);
}

uae_status uae_npy_appender_open(const char *path, int row_ndim, const int64_t *row_shape,
                                 bool resume, uae_npy_appender **out) {
    UAE_ASSERT(path && out && (row_shape || row_ndim == 0));
    *out = NULL;
    int64_t row_floats;
    if (row_ndim < 0 || row_ndim >= UAE_IO_MAX_DIMS ||
        !uae_io_numel(row_ndim, row_shape, &row_floats))
        return uae_fail(UAE_ERR_INVALID, "%s: bad row shape (ndim %d; expected 0 to %d dimensions, "
                        "each >= 0)", path, row_ndim, UAE_IO_MAX_DIMS - 1);
    uae_npy_appender *app = calloc(1, sizeof *app);
    if (app) app->path = strdup(path);
    if (!app || !app->path) {
        free(app);
        return uae_fail(UAE_ERR_NOMEM, "%s: out of memory opening the appender", path);
    }
    app->ndim = row_ndim + 1;
    app->shape[0] = 0;
    for (int d = 0; d < row_ndim; d++) app->shape[1 + d] = row_shape[d];
    app->row_floats = row_floats;

    uae_status st = UAE_OK;
    if (resume && uae_file_open(path, "rb+", &app->fp) != UAE_OK && errno != ENOENT) {
        st = uae_fail_context(UAE_ERR_IO, "cannot resume");
        appender_free(app);
        return st;
    }
    struct stat sb;
    if (app->fp && fstat(fileno(app->fp), &sb) == 0 && sb.st_size == 0) {
        // A crash right after creating the file, before its header: start it afresh.
        fclose(app->fp);
        app->fp = NULL;
        errno = ENOENT;
    }
    if (app->fp) {
        st = resume_file(app);
    } else if ((st = uae_file_open(path, "wb+", &app->fp)) != UAE_OK) {
        st = uae_fail_context(st, "creating the .npy");
    } else {
        // A new file: the header with a count of 0, padded for 21 digits.
        char pre[1024];
        app->preamble = npy_preamble(pre, sizeof pre, app->ndim, app->shape, NPY_COUNT_DIGITS, 0);
        UAE_ASSERT(app->preamble > 0);
        if (fwrite(pre, 1, app->preamble, app->fp) != app->preamble || fflush(app->fp) != 0)
            st = uae_fail(UAE_ERR_IO, "%s: cannot write the header: %s", path, strerror(errno));
    }
    if (st != UAE_OK) {
        appender_free(app);
        return st;
    }
    *out = app;
    return UAE_OK;
}

uae_status uae_npy_appender_append(uae_npy_appender *app, int64_t n_rows, const float *rows) {
    UAE_ASSERT(app && n_rows >= 0 && (rows || n_rows == 0));
    if (app->broken) return earlier_failure(app);
    int64_t total;
    if (!uae_io_numel(2, (int64_t[]){app->shape[0] + n_rows, app->row_floats}, &total))
        return uae_fail(UAE_ERR_INVALID, "%s: appending %lld rows would exceed 2^60 floats",
                        app->path, (long long)n_rows);
    size_t n = (size_t)(n_rows * app->row_floats);
    if (n > 0 && fwrite(rows, sizeof(float), n, app->fp) != n)
        return broken(app, UAE_ERR_IO, "write failed: %s", strerror(errno));
    app->shape[0] += n_rows;
    return UAE_OK;
}

int64_t uae_npy_appender_rows(const uae_npy_appender *app) {
    UAE_ASSERT(app);
    return app->shape[0];
}

uae_status uae_npy_appender_sync(uae_npy_appender *app) {
    UAE_ASSERT(app);
    if (app->broken) return earlier_failure(app);
    // Data first, header second: a crash in between leaves a header that counts fewer rows than
    // the file holds, which the reader handles, never one that counts rows that are not there.
    if (fflush(app->fp) != 0 || fsync(fileno(app->fp)) != 0)
        return broken(app, UAE_ERR_IO, "flushing rows failed: %s", strerror(errno));
    uae_io_test_pause(app->path, "rows written, header not yet");
    UAE_TRY(write_count(app));
    if (fflush(app->fp) != 0 || fsync(fileno(app->fp)) != 0)
        return broken(app, UAE_ERR_IO, "flushing the header failed: %s", strerror(errno));
    return UAE_OK;
}

uae_status uae_npy_appender_close(uae_npy_appender *app) {
    if (!app) return UAE_OK;
    uae_status st = uae_npy_appender_sync(app);
    if (fclose(app->fp) != 0 && st == UAE_OK)
        st = uae_fail(UAE_ERR_IO, "%s: close failed: %s", app->path, strerror(errno));
    app->fp = NULL;
    appender_free(app);
    return st;
}
