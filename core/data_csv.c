/* core/data_csv.c — CSV tables with a header row: parsing (commas, "quoted" fields with ""
 * escapes, CRLF), choosing feature and label columns, encoding categorical columns and applying the
 * missing-value policy. Standardisation and mean imputation happen in data.c, on the train split. */
#include <errno.h>
#include <float.h>
#include <math.h>
#include <string.h>
#include <strings.h>

#include "data_impl.h"
#include "data_util.h"

/* Largest CSV file we read into memory; the parsed table takes about 4 times its size. */
#define CSV_MAX_BYTES ((int64_t)1 << 30)
/* Most columns a header may have. */
#define CSV_MAX_COLS ((int64_t)1 << 20)
/* One-hot encoding of a column with more categories than this is refused (use ordinal). */
#define CSV_MAX_ONEHOT 1000

/* ---- parsing ---- */

typedef struct csv_table {
    const char *path;
    char *text;     /* the file, cut in place into NUL-terminated fields */
    int64_t ncols;  /* from the header */
    int64_t nrows;  /* data rows, without the header */
    char **cells;   /* (nrows + 1, ncols); row 0 is the header; pointers into text */
    int64_t *lines; /* (nrows + 1) the file line on which each row starts (1-based) */
} csv_table;

static void csv_free(csv_table *t) {
    free(t->text);
    free(t->cells);
    free(t->lines);
    memset(t, 0, sizeof *t);
}

static const char *cell(const csv_table *t, int64_t row, int64_t col) {
    return t->cells[row * t->ncols + col]; /* row 0: the header, rows 1..nrows: data */
}

/* Appends to a growing array of n elements of size sz (capacity *cap). */
static bool grow(void **arr, int64_t n, int64_t *cap, size_t sz) {
    if (n < *cap) return true;
    int64_t c = *cap ? 2 * *cap : 1024;
    void *p = realloc(*arr, (size_t)c * sz);
    if (!p) return false;
    *arr = p;
    *cap = c;
    return true;
}

static uae_status csv_read(const char *path, csv_table *t) {
    memset(t, 0, sizeof *t);
    t->path = path;
    int64_t size;
    UAE_TRY(data_file_size(path, &size));
    if (size > CSV_MAX_BYTES)
        return uae_fail(UAE_ERR_NOMEM, "%s: %lld bytes, above the CSV limit of %lld", path,
                        (long long)size, (long long)CSV_MAX_BYTES);
    FILE *f = fopen(path, "rb");
    if (!f) return uae_fail(UAE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    t->text = malloc((size_t)size + 1);
    size_t got = t->text ? fread(t->text, 1, (size_t)size, f) : 0;
    fclose(f);
    if (!t->text) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", path);
    if ((int64_t)got != size) {
        csv_free(t);
        return uae_fail(UAE_ERR_IO, "%s: read %lld of %lld bytes", path, (long long)got, (long long)size);
    }
    t->text[size] = '\0';
    /* Fields become C strings: a NUL byte would cut one short without a word. Text has none; a
     * file that has one is binary, or UTF-16 (which is half NULs). */
    const char *nul = memchr(t->text, '\0', (size_t)size);
    if (nul) {
        int64_t nl = 1, col = 1;
        for (const char *q = t->text; q < nul; q++) {
            if (*q == '\n') nl++, col = 1;
            else if (*q == ',') col++;
        }
        int64_t off = (int64_t)(nul - t->text);
        csv_free(t);
        return uae_fail(UAE_ERR_FORMAT, "%s: line %lld, field %lld (byte offset %lld): a NUL byte; "
                        "CSV text has none (a binary file, or text in UTF-16? save it as UTF-8)",
                        path, (long long)nl, (long long)col, (long long)off);
    }

    /* One pass over the text. Fields are moved left in place (quotes removed) and terminated. */
    char *p = t->text, *end = t->text + size;
    if (size >= 3 && memcmp(p, "\xEF\xBB\xBF", 3) == 0) p += 3; /* a UTF-8 byte-order mark */
    int64_t ncells = 0, cap_cells = 0, cap_lines = 0, line = 1, row_fields = 0, row = 0;
    uae_status st = UAE_OK;
    /* (p == end with a row still open happens after a trailing comma: one more, empty, field.) */
    while ((p < end || row_fields > 0) && st == UAE_OK) {
        if (row_fields == 0) {
            /* Skip blank lines between rows. */
            if (*p == '\n' || (*p == '\r' && p + 1 < end && p[1] == '\n')) {
                p += *p == '\r' ? 2 : 1;
                line++;
                continue;
            }
            if (!grow((void **)&t->lines, row, &cap_lines, sizeof *t->lines)) {
                st = uae_fail(UAE_ERR_NOMEM, "%s: out of memory", path);
                break;
            }
            t->lines[row] = line;
        }
        char *field = p, *w = p;
        if (*p == '"') {
            int64_t start_line = line;
            p++;
            for (;;) {
                if (p >= end) {
                    st = uae_fail(UAE_ERR_FORMAT, "%s: row %lld (line %lld), column %lld: quoted field "
                                  "not closed before the end of the file", path, (long long)row,
                                  (long long)start_line, (long long)row_fields + 1);
                    break;
                }
                if (*p == '"') {
                    if (p + 1 < end && p[1] == '"') { /* "" inside quotes is one quote */
                        *w++ = '"';
                        p += 2;
                        continue;
                    }
                    p++;
                    break;
                }
                if (*p == '\n') line++;
                *w++ = *p++;
            }
            if (st != UAE_OK) break;
            if (p < end && *p != ',' && *p != '\n' && *p != '\r') {
                st = uae_fail(UAE_ERR_FORMAT, "%s: row %lld (line %lld), column %lld: '%c' after a "
                              "closing quote, expected a comma or the end of the line", path,
                              (long long)row, (long long)line, (long long)row_fields + 1, *p);
                break;
            }
        } else {
            while (p < end && *p != ',' && *p != '\n' && *p != '\r') *w++ = *p++;
            while (w > field && (w[-1] == ' ' || w[-1] == '\t')) w--; /* trailing blanks */
            while (field < w && (*field == ' ' || *field == '\t')) field++;
        }
        /* p is at ',', '\r', '\n' or the end; w at the end of the field's text (w <= p). */
        char sep = p < end ? *p : '\n';
        if (sep == '\r' && p + 1 < end && p[1] == '\n') p++;
        *w = '\0';
        if (p < end) p++;
        if (!grow((void **)&t->cells, ncells, &cap_cells, sizeof *t->cells)) {
            st = uae_fail(UAE_ERR_NOMEM, "%s: out of memory", path);
            break;
        }
        t->cells[ncells++] = field;
        row_fields++;
        if (row == 0 && row_fields > CSV_MAX_COLS) {
            st = uae_fail(UAE_ERR_FORMAT, "%s: line %lld: the header has more than %lld columns", path,
                          (long long)line, (long long)CSV_MAX_COLS);
            break;
        }
        if (row > 0 && row_fields > t->ncols) sep = '\n'; /* too many fields: report it now */
        if (sep == ',') continue;
        /* The end of a row. */
        if (row == 0) {
            t->ncols = row_fields;
        } else if (row_fields > t->ncols) {
            st = uae_fail(UAE_ERR_FORMAT, "%s: row %lld (line %lld) has more than %lld fields, expected "
                          "%lld as in the header", path, (long long)row, (long long)t->lines[row],
                          (long long)t->ncols, (long long)t->ncols);
            break;
        } else if (row_fields < t->ncols) {
            st = uae_fail(UAE_ERR_FORMAT, "%s: row %lld (line %lld) has %lld fields, expected %lld as "
                          "in the header", path, (long long)row, (long long)t->lines[row],
                          (long long)row_fields, (long long)t->ncols);
            break;
        }
        if (sep == '\n' || sep == '\r') line++;
        row++;
        row_fields = 0;
    }
    if (st == UAE_OK && row == 0) st = uae_fail(UAE_ERR_FORMAT, "%s: empty file, expected a header row", path);
    if (st != UAE_OK) {
        csv_free(t);
        return st;
    }
    t->nrows = row - 1;
    return UAE_OK;
}

/* ---- values ---- */

static bool is_missing(const char *s) {
    return s[0] == '\0' || strcasecmp(s, "NA") == 0 || strcasecmp(s, "N/A") == 0 ||
           strcasecmp(s, "NaN") == 0 || strcmp(s, "?") == 0 || strcasecmp(s, "null") == 0;
}

/* A finite number that is the whole of s and fits a float32: |v| <= FLT_MAX (3.4e38). Values
 * closer to 0 than the smallest float round to the nearest float, as any conversion does: 1e-40
 * becomes a float subnormal, 1e-310 (a double subnormal, which strtod reports as an underflow)
 * becomes 0. So underflow is accepted and overflow is not: a feature of 1e39 would be Inf. */
static bool parse_number(const char *s, double *v) {
    char *e;
    errno = 0;
    *v = strtod(s, &e);
    if (e == s || *e != '\0' || !isfinite(*v)) return false;
    return errno != ERANGE || fabs(*v) <= DBL_MIN; /* ERANGE with a tiny value: an underflow */
}

/* A number in the text, whatever its size (out-of-range values are an error of their own, not a
 * sign that the column is categorical). */
static bool looks_numeric(const char *s) {
    double v;
    if (parse_number(s, &v)) return true;
    char *e;
    errno = 0;
    v = strtod(s, &e);
    return e != s && *e == '\0' && errno == ERANGE && fabs(v) > 1.0; /* an overflow */
}

static bool in_float_range(double v) { return fabs(v) <= FLT_MAX; }

static int cmp_cstr(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* ---- the schema: which columns, how encoded (decided on the train table) ---- */

typedef struct csv_col {
    int64_t src;        /* column in the table */
    bool categorical;
    bool onehot;        /* categorical and one-hot (else ordinal) */
    char **cats;        /* (ncats) sorted distinct values; pointers into the train table */
    int64_t ncats;
} csv_col;

typedef struct csv_schema {
    csv_col *cols;      /* (ncols) feature columns */
    int64_t ncols;
    int64_t d;          /* encoded features */
    int64_t label;      /* label column, or -1 */
    bool label_int;     /* integer labels 0..65535 used as they are */
    char **label_cats;  /* else: sorted distinct label strings */
    int64_t nlabel_cats;
} csv_schema;

static void schema_free(csv_schema *s) {
    for (int64_t i = 0; i < s->ncols; i++) free(s->cols[i].cats);
    free(s->cols);
    free(s->label_cats);
    memset(s, 0, sizeof *s);
}

/* The column a token names: a header name, else a 0-based index. */
static uae_status resolve_column(const csv_table *t, const char *tok, size_t len, int64_t *col) {
    while (len > 0 && (*tok == ' ' || *tok == '\t')) { /* "a, b" means "a,b" */
        tok++;
        len--;
    }
    while (len > 0 && (tok[len - 1] == ' ' || tok[len - 1] == '\t')) len--;
    for (int64_t j = 0; j < t->ncols; j++)
        if (strlen(cell(t, 0, j)) == len && strncmp(cell(t, 0, j), tok, len) == 0) {
            *col = j;
            return UAE_OK;
        }
    bool digits = len > 0 && len < 10;
    for (size_t i = 0; i < len; i++) digits = digits && tok[i] >= '0' && tok[i] <= '9';
    if (digits) {
        *col = strtoll(tok, NULL, 10);
        if (*col < t->ncols) return UAE_OK;
    }
    return uae_fail(UAE_ERR_INVALID, "%s: no column named '%.*s' and no column with that index "
                    "(the header has %lld columns: first '%s', last '%s')", t->path, (int)len, tok,
                    (long long)t->ncols, cell(t, 0, 0), cell(t, 0, t->ncols - 1));
}

/* The sorted distinct non-missing values of column col (pointers into the table). */
static uae_status distinct(const csv_table *t, int64_t col, char ***out, int64_t *n) {
    char **v = malloc((size_t)(t->nrows > 0 ? t->nrows : 1) * sizeof *v);
    if (!v) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", t->path);
    int64_t m = 0;
    for (int64_t r = 1; r <= t->nrows; r++)
        if (!is_missing(cell(t, r, col))) v[m++] = (char *)cell(t, r, col);
    if (m > 0) qsort(v, (size_t)m, sizeof *v, cmp_cstr);
    int64_t k = 0;
    for (int64_t i = 0; i < m; i++)
        if (k == 0 || strcmp(v[k - 1], v[i]) != 0) v[k++] = v[i];
    *out = v;
    *n = k;
    return UAE_OK;
}

/* The first non-numeric, non-missing value of a column: its row, or 0 if there is none. */
static int64_t first_non_numeric(const csv_table *t, int64_t col) {
    double v;
    for (int64_t r = 1; r <= t->nrows; r++)
        if (!is_missing(cell(t, r, col)) && !parse_number(cell(t, r, col), &v) &&
            !looks_numeric(cell(t, r, col)))
            return r;
    return 0;
}

static uae_status schema_build(const csv_table *t, const uae_data_options *opt, csv_schema *s) {
    memset(s, 0, sizeof *s);
    s->label = -1;
    const char *lab = opt->label_column;
    if (!lab) s->label = t->ncols - 1;
    else if (lab[0] != '\0') UAE_TRY(resolve_column(t, lab, strlen(lab), &s->label));

    /* Feature columns: the list given, or all but the label. */
    s->cols = calloc((size_t)t->ncols, sizeof *s->cols);
    if (!s->cols) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", t->path);
    uae_status st = UAE_OK;
    if (opt->feature_columns) {
        const char *p = opt->feature_columns;
        while (st == UAE_OK) {
            size_t len = strcspn(p, ",");
            int64_t col = -1;
            st = resolve_column(t, p, len, &col);
            for (int64_t i = 0; st == UAE_OK && i < s->ncols; i++)
                if (s->cols[i].src == col)
                    st = uae_fail(UAE_ERR_INVALID, "%s: column '%s' is listed twice in the features",
                                  t->path, cell(t, 0, col));
            if (st == UAE_OK && col == s->label)
                st = uae_fail(UAE_ERR_INVALID, "%s: column '%s' is both the label and a feature",
                              t->path, cell(t, 0, col));
            if (st == UAE_OK) s->cols[s->ncols++].src = col;
            if (p[len] == '\0') break;
            p += len + 1;
        }
    } else {
        for (int64_t j = 0; j < t->ncols; j++)
            if (j != s->label) s->cols[s->ncols++].src = j;
    }
    /* Dropped columns: removed from the list above (the default's or the one given); dropping
     * the label or a column not in the list changes nothing. */
    for (const char *p = opt->drop_columns; p && st == UAE_OK;) {
        size_t len = strcspn(p, ",");
        int64_t col = -1, k = 0;
        st = resolve_column(t, p, len, &col);
        for (int64_t i = 0; st == UAE_OK && i < s->ncols; i++)
            if (s->cols[i].src != col) s->cols[k++] = s->cols[i];
        if (st == UAE_OK) s->ncols = k;
        p = p[len] ? p + len + 1 : NULL;
    }
    if (st == UAE_OK && s->ncols == 0)
        st = uae_fail(UAE_ERR_INVALID, "%s: no feature columns (the label is column %lld of %lld)",
                      t->path, (long long)s->label, (long long)t->ncols);

    /* Numeric or categorical, decided on the values of this (the train) table. */
    for (int64_t i = 0; st == UAE_OK && i < s->ncols; i++) {
        csv_col *c = &s->cols[i];
        int64_t bad = first_non_numeric(t, c->src);
        if (bad == 0) {
            s->d += 1;
            continue;
        }
        if (opt->categorical == UAE_CSV_CAT_REJECT) {
            st = uae_fail(UAE_ERR_FORMAT, "%s: row %lld (line %lld), column '%s' (index %lld): '%s' is "
                          "not a number; this column is categorical: choose one-hot or ordinal "
                          "encoding (--categorical onehot|ordinal), or leave the column out "
                          "(--drop-columns '%s')", t->path, (long long)bad,
                          (long long)t->lines[bad], cell(t, 0, c->src), (long long)c->src,
                          cell(t, bad, c->src), cell(t, 0, c->src));
            break;
        }
        c->categorical = true;
        c->onehot = opt->categorical == UAE_CSV_CAT_ONEHOT;
        st = distinct(t, c->src, &c->cats, &c->ncats);
        if (st == UAE_OK && c->onehot && c->ncats > CSV_MAX_ONEHOT)
            st = uae_fail(UAE_ERR_INVALID, "%s: column '%s' has %lld distinct values, more than %d for "
                          "one-hot encoding; use ordinal encoding (--categorical ordinal) or leave the "
                          "column out (--drop-columns '%s')", t->path, cell(t, 0, c->src),
                          (long long)c->ncats, CSV_MAX_ONEHOT, cell(t, 0, c->src));
        s->d += c->onehot ? c->ncats : 1;
    }

    /* Labels: small non-negative integers as they are; anything else by sorted name. */
    if (st == UAE_OK && s->label >= 0) {
        s->label_int = true;
        for (int64_t r = 1; r <= t->nrows && s->label_int; r++) {
            double v;
            const char *x = cell(t, r, s->label);
            if (!is_missing(x))
                s->label_int = parse_number(x, &v) && v >= 0 && v <= 65535 && v == floor(v);
        }
        if (!s->label_int) st = distinct(t, s->label, &s->label_cats, &s->nlabel_cats);
    }
    if (st != UAE_OK) schema_free(s);
    return st;
}

/* The index of value in the sorted cats, or -1. */
static int64_t find_cat(char **cats, int64_t n, const char *value) {
    char **hit = bsearch(&value, cats, (size_t)n, sizeof *cats, cmp_cstr);
    return hit ? hit - cats : -1;
}

/* ---- encoding a table with a schema ---- */

/* NULL if the (non-missing) value x fits feature column i of the schema (i = -1: the label),
 * else what was expected there. */
static const char *invalid_value(const csv_schema *s, int64_t i, const char *x) {
    double v;
    if (i < 0 && s->label_int)
        return parse_number(x, &v) && v >= 0 && v <= 65535 && v == floor(v) ? NULL
                                                                              : "an integer label 0..65535";
    if (i < 0) return find_cat(s->label_cats, s->nlabel_cats, x) >= 0 ? NULL : "a label of the train set";
    if (s->cols[i].categorical)
        return find_cat(s->cols[i].cats, s->cols[i].ncats, x) >= 0 ? NULL : "a category of the train set";
    if (!parse_number(x, &v)) return looks_numeric(x) ? "within the float32 range (magnitude at most "
                                                        "3.4e38)" : "a finite number";
    return in_float_range(v) ? NULL : "within the float32 range (magnitude at most 3.4e38)";
}

static uae_status missing_error(const csv_table *t, int64_t r, int64_t col, bool is_label) {
    return uae_fail(UAE_ERR_FORMAT, "%s: row %lld (line %lld), column '%s' (index %lld): missing %s; "
                    "choose a missing-value policy (--missing drop: drop the row%s)", t->path,
                    (long long)r, (long long)t->lines[r], cell(t, 0, col), (long long)col,
                    is_label ? "label" : "value",
                    is_label ? "" : "; --missing mean: the column mean");
}

static uae_status encode(const csv_table *t, const csv_schema *s, const uae_data_options *opt,
                         uae_dataset *ds) {
    memset(ds, 0, sizeof *ds);
    /* Pass 1: which rows are kept, and every error the policy does not allow. */
    bool *keep = malloc((size_t)(t->nrows > 0 ? t->nrows : 1));
    if (!keep) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", t->path);
    int64_t n = 0;
    uae_status st = UAE_OK;
    for (int64_t r = 1; r <= t->nrows && st == UAE_OK; r++) {
        bool ok = true;
        for (int64_t i = -1; i < s->ncols && st == UAE_OK; i++) {
            int64_t col = i < 0 ? s->label : s->cols[i].src;
            if (col < 0) continue;
            const char *x = cell(t, r, col);
            const char *expected;
            if (is_missing(x)) {
                if (opt->missing == UAE_CSV_MISSING_DROP) ok = false;
                else if (i < 0 || opt->missing == UAE_CSV_MISSING_ERROR) st = missing_error(t, r, col, i < 0);
            } else if ((expected = invalid_value(s, i, x)) != NULL) {
                st = uae_fail(UAE_ERR_FORMAT, "%s: row %lld (line %lld), column '%s' (index %lld): '%s' "
                              "is not %s", t->path, (long long)r, (long long)t->lines[r],
                              cell(t, 0, col), (long long)col, x, expected);
            }
        }
        keep[r - 1] = ok;
        n += ok;
    }
    if (st == UAE_OK && s->d > INT32_MAX) st = uae_fail(UAE_ERR_INVALID, "%s: too many features", t->path);
    if (st == UAE_OK) st = data_alloc(ds, n, 1, 1, (int)s->d, s->label >= 0);

    /* Pass 2: the numbers. Missing features (MEAN policy) are NaN until data.c imputes them. */
    int64_t i_out = 0;
    int max_label = -1;
    for (int64_t r = 1; r <= t->nrows && st == UAE_OK; r++) {
        if (!keep[r - 1]) continue;
        float *row = ds->x + i_out * s->d;
        int64_t j = 0;
        for (int64_t i = 0; i < s->ncols; i++) {
            const csv_col *c = &s->cols[i];
            const char *x = cell(t, r, c->src);
            bool miss = is_missing(x);
            if (!c->categorical) {
                double v = 0;
                if (!miss) parse_number(x, &v);
                row[j++] = miss ? NAN : (float)v;
            } else if (!c->onehot) {
                row[j++] = miss ? NAN : (float)find_cat(c->cats, c->ncats, x);
            } else {
                int64_t k = miss ? -1 : find_cat(c->cats, c->ncats, x);
                for (int64_t q = 0; q < c->ncats; q++) row[j++] = miss ? NAN : (float)(q == k);
            }
        }
        if (s->label >= 0) {
            const char *x = cell(t, r, s->label);
            double v = 0;
            if (s->label_int) parse_number(x, &v);
            int y = s->label_int ? (int)v : (int)find_cat(s->label_cats, s->nlabel_cats, x);
            ds->y[i_out] = y;
            if (y > max_label) max_label = y;
        }
        i_out++;
    }
    free(keep);
    if (st != UAE_OK) {
        uae_dataset_free(ds);
        return st;
    }
    if (s->label >= 0) ds->num_classes = s->label_int ? max_label + 1 : (int)s->nlabel_cats;

    /* Names of the features and the classes. */
    ds->feature_names = calloc((size_t)(s->d > 0 ? s->d : 1), sizeof(char *));
    if (!ds->feature_names) st = uae_fail(UAE_ERR_NOMEM, "%s: out of memory", t->path);
    for (int64_t i = 0, j = 0; st == UAE_OK && i < s->ncols; i++) {
        const csv_col *c = &s->cols[i];
        const char *name = cell(t, 0, c->src);
        for (int64_t q = 0; q < (c->onehot ? c->ncats : 1) && st == UAE_OK; q++, j++) {
            size_t len = strlen(name) + (c->onehot ? strlen(c->cats[q]) + 1 : 0) + 1;
            if (!(ds->feature_names[j] = malloc(len))) st = uae_fail(UAE_ERR_NOMEM, "out of memory");
            else if (c->onehot) snprintf(ds->feature_names[j], len, "%s=%s", name, c->cats[q]);
            else snprintf(ds->feature_names[j], len, "%s", name);
        }
    }
    if (st == UAE_OK && s->label >= 0 && !s->label_int)
        st = data_copy_names(s->label_cats, s->nlabel_cats, &ds->class_names);
    if (st != UAE_OK) uae_dataset_free(ds);
    return st;
}

uae_status data_load_csv_pair(const char *train_path, const char *test_path,
                              const uae_data_options *opt, uae_dataset *train, uae_dataset *test) {
    memset(train, 0, sizeof *train);
    if (test) memset(test, 0, sizeof *test);
    csv_table tr, te;
    memset(&te, 0, sizeof te);
    csv_schema s;
    UAE_TRY(csv_read(train_path, &tr));
    uae_status st = schema_build(&tr, opt, &s);
    if (st != UAE_OK) {
        csv_free(&tr);
        return st;
    }
    st = encode(&tr, &s, opt, train);
    if (st == UAE_OK && test_path) {
        st = csv_read(test_path, &te);
        /* The test file must have the same columns, so that the schema means the same there. */
        if (st == UAE_OK && te.ncols != tr.ncols)
            st = uae_fail(UAE_ERR_FORMAT, "%s: line 1: the header has %lld columns, expected %lld as in %s",
                          test_path, (long long)te.ncols, (long long)tr.ncols, train_path);
        for (int64_t j = 0; st == UAE_OK && j < tr.ncols; j++)
            if (strcmp(cell(&te, 0, j), cell(&tr, 0, j)) != 0)
                st = uae_fail(UAE_ERR_FORMAT, "%s: line 1, column %lld: header '%s', expected '%s' as in %s",
                              test_path, (long long)j, cell(&te, 0, j), cell(&tr, 0, j), train_path);
        if (st == UAE_OK) st = encode(&te, &s, opt, test);
        if (st == UAE_OK && test->num_classes != train->num_classes) {
            /* Integer labels: the class count is the largest label seen in either file, plus one. */
            int k = train->num_classes > test->num_classes ? train->num_classes : test->num_classes;
            train->num_classes = test->num_classes = k;
        }
    }
    schema_free(&s);
    csv_free(&tr);
    csv_free(&te);
    if (st != UAE_OK) {
        uae_dataset_free(train);
        if (test) uae_dataset_free(test);
    }
    return st;
}

uae_status uae_data_load_csv(const char *path, const uae_data_options *opt, uae_dataset *out) {
    uae_data_options defaults = uae_data_options_default();
    return data_load_csv_pair(path, NULL, opt ? opt : &defaults, out, NULL);
}
