/* apps/cli_plot.c — `uae plot`: a line or bar chart, as SVG or PNG, of fields of JSON records: the
 * lines of a trace (uae attack --trace, uae mine --trace, uae train --log) or an array inside one
 * JSON document (uae-bench --json's "results", an augment results.json). It draws axes with ticks,
 * labels and a legend; it is not a plotting library (no log axes, no subplots). */
#include <ctype.h>
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "uae/image.h"
#include "uae/io.h"

extern const uint8_t cli_plot_font[95][7]; /* apps/cli_plot_font.c */

enum { MAX_Y = 8, MAX_WHERE = 8, MAX_OUT = 2, MAX_SERIES = 256, LEGEND_ROWS = 12 };

typedef struct plot_args {
    const char *x;                 /* --x FIELD, or NULL: the record's number */
    const char *y[MAX_Y];          /* --y FIELD[,FIELD...] */
    int ny;
    char *y_list;                  /* the --y argument, split in place */
    const char *where[MAX_WHERE];  /* --where FIELD=VALUE */
    int nwhere;
    const char *by;                /* --by FIELD: one series per value */
    const char *records;           /* --records PATH: the array of a JSON document */
    const char *out[MAX_OUT];      /* --out FILE.svg / FILE.png */
    int nout;
    const char *title, *xlabel, *ylabel;
    bool bar;
    char **files;
    int nfiles;
    bool stop;          /* --help was answered: nothing to run */
} plot_args;

/* ---- the data: series of (x, y) points, or of one value per category for bars ---- */

typedef struct series {
    char name[128];
    double *x, *y;  /* (n): for bars x is the category's number */
    int n, cap;
} series;

typedef struct chart {
    series s[MAX_SERIES];
    int ns;
    char **cats;    /* bar charts: category labels in the order they first appear */
    int ncats;
} chart;

static void chart_free(chart *c) {
    for (int i = 0; i < c->ns; i++) {
        free(c->s[i].x);
        free(c->s[i].y);
    }
    for (int i = 0; i < c->ncats; i++) free(c->cats[i]);
    free(c->cats);
}

static series *series_get(chart *c, const char *name) {
    for (int i = 0; i < c->ns; i++)
        if (strcmp(c->s[i].name, name) == 0) return &c->s[i];
    if (c->ns == MAX_SERIES) return NULL;
    series *s = &c->s[c->ns++];
    snprintf(s->name, sizeof s->name, "%s", name);
    return s;
}

static int series_add(series *s, double x, double y) {
    if (s->n == s->cap) {
        int cap = s->cap ? 2 * s->cap : 64;
        double *nx = realloc(s->x, (size_t)cap * sizeof *nx);
        if (nx) s->x = nx;
        double *ny = nx ? realloc(s->y, (size_t)cap * sizeof *ny) : NULL;
        if (!ny) return -1;
        s->y = ny;
        s->cap = cap;
    }
    s->x[s->n] = x;
    s->y[s->n++] = y;
    return 0;
}

/* The number of a category label, added if new; -1 when out of memory. */
static int category(chart *c, const char *label) {
    for (int i = 0; i < c->ncats; i++)
        if (strcmp(c->cats[i], label) == 0) return i;
    char **nc = realloc(c->cats, (size_t)(c->ncats + 1) * sizeof *nc);
    if (!nc) return -1;
    c->cats = nc;
    if (!(c->cats[c->ncats] = strdup(label))) return -1;
    return c->ncats++;
}

/* The value at a dotted path ("a.b", "mine_I.3": a number indexes an array), or NULL. */
static json_t *field(json_t *o, const char *path) {
    char buf[256];
    snprintf(buf, sizeof buf, "%s", path);
    for (char *part = strtok(buf, "."); part && o; part = strtok(NULL, ".")) {
        char *end;
        long k = strtol(part, &end, 10);
        if (json_is_array(o) && *end == '\0' && end != part) o = json_array_get(o, (size_t)k);
        else o = json_object_get(o, part);
    }
    return o;
}

/* A number from a JSON number or boolean; false for anything else (null, strings, missing). */
static bool number_of(json_t *v, double *out) {
    if (json_is_number(v)) *out = json_number_value(v);
    else if (json_is_boolean(v)) *out = json_is_true(v) ? 1.0 : 0.0;
    else return false;
    return isfinite(*out);
}

/* A value as text, for --where, --by and bar categories. */
static void text_of(json_t *v, char *buf, size_t cap) {
    if (json_is_string(v)) snprintf(buf, cap, "%s", json_string_value(v));
    else if (json_is_integer(v)) snprintf(buf, cap, "%lld", (long long)json_integer_value(v));
    else if (json_is_real(v)) snprintf(buf, cap, "%g", json_real_value(v));
    else if (json_is_boolean(v)) snprintf(buf, cap, "%s", json_is_true(v) ? "true" : "false");
    else if (json_is_null(v)) snprintf(buf, cap, "null");
    else snprintf(buf, cap, "?");
}

/* Whether record o passes every --where FIELD=VALUE: numbers compare as numbers (1 == 1.0). */
static bool passes(const plot_args *a, json_t *o) {
    for (int i = 0; i < a->nwhere; i++) {
        const char *eq = strchr(a->where[i], '=');
        char name[256], text[256];
        snprintf(name, sizeof name, "%.*s", (int)(eq - a->where[i]), a->where[i]);
        json_t *v = field(o, name);
        if (!v) return false;
        char *end;
        double want = strtod(eq + 1, &end), got;
        if (*end == '\0' && end != eq + 1 && number_of(v, &got)) {
            if (got != want) return false;
            continue;
        }
        text_of(v, text, sizeof text);
        if (strcmp(text, eq + 1) != 0) return false;
    }
    return true;
}

/* Adds one record's points to the chart. file_tag: "" or "name: " when several files are drawn. */
static int add_record(const plot_args *a, chart *c, json_t *o, long number, const char *file_tag) {
    if (!json_is_object(o) || !passes(a, o)) return 0;
    double x = (double)number;
    char xtext[128];
    snprintf(xtext, sizeof xtext, "%ld", number);
    if (a->x) {
        json_t *xv = field(o, a->x);
        if (!xv) return 0;
        if (a->bar) text_of(xv, xtext, sizeof xtext);
        else if (!number_of(xv, &x)) return 0;
    }
    char group[128] = "";
    if (a->by) {
        json_t *bv = field(o, a->by);
        if (!bv) return 0;
        char t[96];
        text_of(bv, t, sizeof t);
        snprintf(group, sizeof group, "%s%s=%s", a->ny > 1 ? ", " : "", a->by, t);
    }
    for (int k = 0; k < a->ny; k++) {
        double y;
        if (!number_of(field(o, a->y[k]), &y)) continue;
        if (a->bar) {
            int cat = category(c, xtext);
            if (cat < 0) return -1;
            x = cat;
        }
        char name[128];
        snprintf(name, sizeof name, "%s%s%s", file_tag, a->ny > 1 || !a->by ? a->y[k] : "", group);
        series *s = series_get(c, name);
        if (!s) return -2;
        if (series_add(s, x, y) != 0) return -1;
    }
    return 0;
}

/* Whether some object of the array has the field. */
static bool array_has(json_t *arr, const char *name) {
    size_t i;
    json_t *o;
    json_array_foreach(arr, i, o) if (json_is_object(o) && field(o, name)) return true;
    return false;
}

/* The array of records of a JSON document: --records PATH, else the document if it is an array,
 * else its first member that is an array of objects with the first --y field ("results" of
 * uae-bench, not its "devices"). */
static json_t *records_of(const plot_args *a, json_t *doc) {
    if (a->records) return field(doc, a->records);
    if (json_is_array(doc)) return doc;
    const char *key;
    json_t *v;
    json_object_foreach(doc, key, v) if (json_is_array(v) && array_has(v, a->y[0])) return v;
    return NULL;
}

static int report_add(int rc, const char *path) {
    if (rc == -2)
        fprintf(stderr, "uae plot: %s: more than %d series: choose fewer with --where\n", path,
                MAX_SERIES);
    else if (rc < 0)
        fprintf(stderr, "uae plot: %s: out of memory\n", path);
    return rc < 0 ? CLI_EXIT_FAILURE : CLI_EXIT_OK;
}

static const char *base_name(const char *path) {
    const char *slash = strrchr(path, '/');
    return slash ? slash + 1 : path;
}

/* Reads one file: a JSON document, or JSON lines (one object per line; blank lines skipped). */
static int read_file(const plot_args *a, chart *c, const char *path) {
    /* Several files: each series is named after its file, without the extension; by its base name
     * unless another file has the same one ("a/stats.jsonl", "b/stats.jsonl": by the path). */
    char tag[96] = "";
    if (a->nfiles > 1) {
        const char *name = base_name(path);
        for (int i = 0; i < a->nfiles; i++)
            if (a->files[i] != path && strcmp(base_name(a->files[i]), name) == 0) name = path;
        const char *dot = strrchr(name, '.');
        if (dot && (dot == name || dot[-1] == '/')) dot = NULL;
        snprintf(tag, sizeof tag, "%.*s: ", (int)(dot ? dot - name : (long)strlen(name)), name);
    }
    json_error_t err;
    json_t *doc = json_load_file(path, JSON_DECODE_ANY, &err);
    if (doc) {
        json_t *recs = records_of(a, doc);
        if (!json_is_array(recs)) {
            fprintf(stderr, "uae plot: %s: %s is not an array of records%s\n", path,
                    a->records ? a->records : "the document",
                    a->records ? "" : " and has no member that is an array of records with the --y field:"
                    " name it with --records PATH");
            json_decref(doc);
            return CLI_EXIT_FAILURE;
        }
        size_t i;
        json_t *o;
        int rc = 0;
        json_array_foreach(recs, i, o) if (rc == 0) rc = add_record(a, c, o, (long)i, tag);
        json_decref(doc);
        return report_add(rc, path);
    }
    FILE *f = fopen(path, "r");
    if (!f) {
        fprintf(stderr, "uae plot: %s: cannot open (%s)\n", path, strerror(errno));
        return CLI_EXIT_FAILURE;
    }
    if (a->records) {
        fprintf(stderr, "uae plot: %s: --records needs one JSON document, this is not one (%s, "
                "line %d)\n", path, err.text, err.line);
        fclose(f);
        return CLI_EXIT_FAILURE;
    }
    char *line = NULL;
    size_t cap = 0;
    long lineno = 0, number = 0;
    int rc = CLI_EXIT_OK;
    while (rc == CLI_EXIT_OK && getline(&line, &cap, f) > 0) {
        lineno++;
        const char *p = line;
        while (isspace((unsigned char)*p)) p++;
        if (*p == '\0') continue;
        json_t *o = json_loads(line, 0, &err);
        if (!o) {
            fprintf(stderr, "uae plot: %s:%ld: neither one JSON document nor JSON lines: %s\n",
                    path, lineno, err.text);
            rc = CLI_EXIT_FAILURE;
            break;
        }
        rc = report_add(add_record(a, c, o, number++, tag), path);
        json_decref(o);
    }
    free(line);
    fclose(f);
    return rc;
}

/* ---- drawing: one set of primitives, written as SVG or into an RGB raster ---- */

/* The picture: WIDTH wide, HEIGHT high plus room for vertical category labels; the legend to the
 * right of the plot area. GLYPH: screen pixels per font pixel of the PNG's text. */
enum { WIDTH = 880, HEIGHT = 520, LEFT = 90, RIGHT = 20, TOP = 48, BOTTOM = 70, GLYPH = 2,
       MAX_LABEL = 28 };

typedef struct canvas {
    FILE *svg;      /* SVG output, or NULL */
    uint8_t *rgb;   /* (h, WIDTH, 3) raster, or NULL */
    int h;          /* the picture's height */
} canvas;

/* Colours of the series, in order: readable on white and told apart in print. */
static const uint32_t palette[] = {0x1f77b4, 0xd62728, 0x2ca02c, 0xff7f0e, 0x9467bd,
                                   0x8c564b, 0xe377c2, 0x17becf, 0x7f7f7f, 0xbcbd22};
enum { N_COLOURS = sizeof palette / sizeof palette[0] };

static void put_pixel(canvas *cv, int x, int y, uint32_t rgb) {
    if (x < 0 || y < 0 || x >= WIDTH || y >= cv->h) return;
    uint8_t *p = cv->rgb + ((size_t)y * WIDTH + (size_t)x) * 3;
    p[0] = (uint8_t)(rgb >> 16);
    p[1] = (uint8_t)(rgb >> 8);
    p[2] = (uint8_t)rgb;
}

static void fill_rect(canvas *cv, double x, double y, double w, double h, uint32_t rgb) {
    if (cv->svg) {
        fprintf(cv->svg, "<rect x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\" fill=\"#%06x\"/>\n",
                x, y, w, h, (unsigned)rgb);
        return;
    }
    for (int py = (int)lround(y); py < (int)lround(y + h); py++)
        for (int px = (int)lround(x); px < (int)lround(x + w); px++) put_pixel(cv, px, py, rgb);
}

/* A straight line of the given width; dash > 0: dashes and gaps of that length. */
static void line(canvas *cv, double x0, double y0, double x1, double y1, uint32_t rgb,
                 double width, double dash) {
    if (cv->svg) {
        fprintf(cv->svg, "<line x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" y2=\"%.1f\" stroke=\"#%06x\" "
                "stroke-width=\"%.1f\"", x0, y0, x1, y1, (unsigned)rgb, width);
        if (dash > 0) fprintf(cv->svg, " stroke-dasharray=\"%.0f,%.0f\"", dash, dash);
        fputs("/>\n", cv->svg);
        return;
    }
    double len = hypot(x1 - x0, y1 - y0);
    int steps = (int)ceil(len * 2) + 1;
    int r0 = (int)floor((width - 1) / 2), r1 = (int)ceil((width - 1) / 2);
    for (int i = 0; i <= steps; i++) {
        double f = (double)i / steps;
        if (dash > 0 && fmod(f * len, 2 * dash) >= dash) continue;
        int cx = (int)lround(x0 + f * (x1 - x0)), cy = (int)lround(y0 + f * (y1 - y0));
        for (int dy = -r0; dy <= r1; dy++)
            for (int dx = -r0; dx <= r1; dx++) put_pixel(cv, cx + dx, cy + dy, rgb);
    }
}

static double text_width(const char *s, int scale) { return (double)strlen(s) * 6 * scale; }

/* Text centred across its line on (x, y); anchor -1: it starts at (x, y), 0: it is centred there,
 * 1: it ends there. vertical: it reads upwards. scale 1 normal, 2 the title. */
static void text(canvas *cv, double x, double y, const char *s, int anchor, bool vertical,
                 int scale) {
    if (cv->svg) {
        static const char *const anchors[] = {"start", "middle", "end"};
        fprintf(cv->svg, "<text x=\"%.1f\" y=\"%.1f\" font-family=\"DejaVu Sans, Arial, sans-serif\" "
                "font-size=\"%d\" text-anchor=\"%s\" dominant-baseline=\"middle\"", x, y,
                scale > 1 ? 17 : 13, anchors[anchor + 1]);
        if (vertical) fprintf(cv->svg, " transform=\"rotate(-90 %.1f %.1f)\"", x, y);
        fputc('>', cv->svg);
        for (const char *p = s; *p; p++) {
            if (*p == '&') fputs("&amp;", cv->svg);
            else if (*p == '<') fputs("&lt;", cv->svg);
            else if (*p == '>') fputs("&gt;", cv->svg);
            else if ((unsigned char)*p >= 0x20) fputc(*p, cv->svg);
        }
        fputs("</text>\n", cv->svg);
        return;
    }
    int g = scale > 1 ? GLYPH + 1 : GLYPH; /* pixels per font pixel */
    double w = text_width(s, g);
    double u0 = anchor == 0 ? -w / 2 : anchor < 0 ? 0 : -w; /* along the text */
    double v0 = -3.5 * g;                                                /* across it */
    for (size_t i = 0; s[i]; i++) {
        unsigned ch = (unsigned char)s[i];
        if (ch < 32 || ch > 126) ch = '?';
        const uint8_t *rows = cli_plot_font[ch - 32];
        for (int r = 0; r < 7; r++)
            for (int b = 0; b < 5; b++) {
                if (!(rows[r] >> (4 - b) & 1)) continue;
                for (int dy = 0; dy < g; dy++)
                    for (int dx = 0; dx < g; dx++) {
                        double u = u0 + (double)i * 6 * g + b * g + dx, v = v0 + r * g + dy;
                        if (vertical) put_pixel(cv, (int)lround(x + v), (int)lround(y - u), 0);
                        else put_pixel(cv, (int)lround(x + u), (int)lround(y + v), 0);
                    }
            }
    }
}

/* "Nice" ticks for [lo, hi]: steps of 1, 2 or 5 times a power of ten, about 6 of them. */
static double tick_step(double lo, double hi) {
    double raw = (hi - lo) / 6, p = pow(10, floor(log10(raw))), m = raw / p;
    return (m < 1.5 ? 1 : m < 3.5 ? 2 : m < 7.5 ? 5 : 10) * p;
}

static void format_tick(double v, double step, char *buf, size_t cap) {
    if (fabs(v) < step * 1e-9) v = 0; /* -0 and rounding dust at zero */
    snprintf(buf, cap, "%.4g", v);
}

typedef struct frame {
    double xlo, xhi, ylo, yhi; /* data ranges */
    double px0, py0, px1, py1; /* the plot area in pixels (py0 at the top) */
} frame;

static double px(const frame *f, double x) { return f->px0 + (x - f->xlo) / (f->xhi - f->xlo) * (f->px1 - f->px0); }
static double py(const frame *f, double y) { return f->py1 - (y - f->ylo) / (f->yhi - f->ylo) * (f->py1 - f->py0); }

/* Widens [*lo, *hi] to whole tick steps (and to a non-empty range). */
static void nice_range(double *lo, double *hi, bool from_zero) {
    if (from_zero && *lo > 0) *lo = 0;
    if (from_zero && *hi < 0) *hi = 0;
    if (*hi - *lo < 1e-12 * fmax(1.0, fabs(*hi))) {
        *lo -= fmax(0.5, fabs(*lo) * 0.1);
        *hi += fmax(0.5, fabs(*hi) * 0.1);
    }
    double s = tick_step(*lo, *hi);
    *lo = floor(*lo / s + 1e-9) * s;
    *hi = ceil(*hi / s - 1e-9) * s;
}

/* A category label cut to MAX_LABEL characters. */
static void short_label(const char *s, char *buf, size_t cap) {
    if (strlen(s) <= MAX_LABEL) snprintf(buf, cap, "%s", s);
    else snprintf(buf, cap, "%.*s...", MAX_LABEL - 3, s);
}

typedef struct layout {
    frame f;
    bool vertical_labels;  /* bar categories written downwards (they would overlap) */
    int legend_rows;       /* legend entries shown; the last says how many more when cut */
    double legend_w;
    int h;                 /* the picture's height */
} layout;

static layout lay_out(const plot_args *a, const chart *c) {
    layout L = {.f = {INFINITY, -INFINITY, INFINITY, -INFINITY, LEFT, TOP, 0, 0}, .h = HEIGHT};
    frame *f = &L.f;
    for (int i = 0; i < c->ns; i++)
        for (int k = 0; k < c->s[i].n; k++) {
            f->xlo = fmin(f->xlo, c->s[i].x[k]);
            f->xhi = fmax(f->xhi, c->s[i].x[k]);
            f->ylo = fmin(f->ylo, c->s[i].y[k]);
            f->yhi = fmax(f->yhi, c->s[i].y[k]);
        }
    if (a->bar) {
        f->xlo = -0.5;
        f->xhi = c->ncats - 0.5;
    } else {
        nice_range(&f->xlo, &f->xhi, false);
    }
    nice_range(&f->ylo, &f->yhi, a->bar);
    /* Room left of the plot for the y label (rotated, at x = 22) and the widest tick label. */
    double ys = tick_step(f->ylo, f->yhi), widest_tick = 0;
    for (double v = f->ylo; v <= f->yhi + ys * 1e-6; v += ys) {
        char t[32];
        format_tick(v, ys, t, sizeof t);
        widest_tick = fmax(widest_tick, text_width(t, GLYPH));
    }
    f->px0 = fmax(LEFT, 36 + widest_tick + 12);
    /* The legend, right of the plot area: at most LEGEND_ROWS rows. */
    L.legend_rows = c->ns > LEGEND_ROWS ? LEGEND_ROWS : c->ns;
    L.legend_w = c->ns > LEGEND_ROWS ? text_width("... and 999 more", GLYPH) : 0;
    for (int i = 0; i < L.legend_rows; i++) L.legend_w = fmax(L.legend_w, text_width(c->s[i].name, GLYPH));
    L.legend_w = fmin(L.legend_w + 46, WIDTH / 3.0);
    f->px1 = WIDTH - RIGHT - L.legend_w - 12;
    /* Bar categories: horizontal when they fit, else written downwards below the axis. */
    double widest = 0;
    for (int i = 0; a->bar && i < c->ncats; i++) {
        char t[MAX_LABEL + 1];
        short_label(c->cats[i], t, sizeof t);
        widest = fmax(widest, text_width(t, GLYPH));
    }
    L.vertical_labels = a->bar && widest + 8 > (f->px1 - f->px0) / c->ncats;
    if (L.vertical_labels) L.h += (int)widest - 16;
    f->py1 = L.h - BOTTOM - (L.vertical_labels ? widest - 16 : 0);
    return L;
}

static void draw(canvas *cv, const plot_args *a, const chart *c, const layout *L) {
    const frame fr = L->f, *f = &fr;
    fill_rect(cv, 0, 0, WIDTH, L->h, 0xffffff);
    /* Grid and y ticks. */
    double ys = tick_step(f->ylo, f->yhi);
    for (double v = f->ylo; v <= f->yhi + ys * 1e-6; v += ys) {
        char t[32];
        format_tick(v, ys, t, sizeof t);
        line(cv, f->px0, py(f, v), f->px1, py(f, v), 0xe4e4e4, 1, 0);
        line(cv, f->px0 - 5, py(f, v), f->px0, py(f, v), 0, 1, 0);
        text(cv, f->px0 - 9, py(f, v), t, 1, false, 1);
    }
    /* x ticks: numbers, or the category labels. */
    if (a->bar) {
        for (int i = 0; i < c->ncats; i++) {
            char t[MAX_LABEL + 1];
            short_label(c->cats[i], t, sizeof t);
            line(cv, px(f, i), f->py1, px(f, i), f->py1 + 5, 0, 1, 0);
            if (L->vertical_labels) text(cv, px(f, i), f->py1 + 9, t, 1, true, 1);
            else text(cv, px(f, i), f->py1 + 16, t, 0, false, 1);
        }
    } else {
        double xs = tick_step(f->xlo, f->xhi);
        for (double v = f->xlo; v <= f->xhi + xs * 1e-6; v += xs) {
            char t[32];
            format_tick(v, xs, t, sizeof t);
            line(cv, px(f, v), f->py0, px(f, v), f->py1, 0xe4e4e4, 1, 0);
            line(cv, px(f, v), f->py1, px(f, v), f->py1 + 5, 0, 1, 0);
            text(cv, px(f, v), f->py1 + 16, t, 0, false, 1);
        }
    }
    /* The data. */
    for (int i = 0; i < c->ns; i++) {
        const series *s = &c->s[i];
        uint32_t col = palette[i % N_COLOURS];
        if (a->bar) {
            double slot = 0.8 / c->ns; /* the bars of a category fill 80% of its width */
            for (int k = 0; k < s->n; k++) {
                double x0 = px(f, s->x[k] - 0.4 + slot * i), x1 = px(f, s->x[k] - 0.4 + slot * (i + 1));
                double y0 = py(f, fmax(s->y[k], 0)), y1 = py(f, fmin(s->y[k], 0));
                fill_rect(cv, x0, y0, fmax(1, x1 - x0 - 1), fmax(1, y1 - y0), col);
            }
        } else {
            for (int k = 0; k + 1 < s->n; k++)
                line(cv, px(f, s->x[k]), py(f, s->y[k]), px(f, s->x[k + 1]), py(f, s->y[k + 1]),
                     col, 2, 0);
            if (s->n == 1) fill_rect(cv, px(f, s->x[0]) - 3, py(f, s->y[0]) - 3, 6, 6, col);
        }
    }
    /* Axes, labels, title. */
    line(cv, f->px0, f->py1, f->px1, f->py1, 0, 1, 0);
    line(cv, f->px0, f->py0, f->px0, f->py1, 0, 1, 0);
    if (a->bar && f->ylo < 0) line(cv, f->px0, py(f, 0), f->px1, py(f, 0), 0, 1, 0);
    const char *xlabel = a->xlabel ? a->xlabel : a->x ? a->x : "record";
    char ydefault[256] = "";
    for (int k = 0; k < a->ny; k++)
        snprintf(ydefault + strlen(ydefault), sizeof ydefault - strlen(ydefault), "%s%s",
                 k ? ", " : "", a->y[k]);
    text(cv, (f->px0 + f->px1) / 2, L->h - 22, xlabel, 0, false, 1);
    text(cv, 22, (f->py0 + f->py1) / 2, a->ylabel ? a->ylabel : ydefault, 0, true, 1);
    if (a->title) text(cv, WIDTH / 2.0, 22, a->title, 0, false, 2);
    /* The legend. */
    int rows = L->legend_rows;
    double bw = L->legend_w, bh = rows * 20 + 10, bx = WIDTH - RIGHT - bw, by = f->py0;
    fill_rect(cv, bx, by, bw, bh, 0x888888);
    fill_rect(cv, bx + 1, by + 1, bw - 2, bh - 2, 0xffffff);
    for (int i = 0; i < rows; i++) {
        double ry = by + 15 + 20 * i;
        bool last_more = c->ns > LEGEND_ROWS && i == rows - 1;
        char name[160];
        if (last_more) snprintf(name, sizeof name, "... and %d more", c->ns - (LEGEND_ROWS - 1));
        else snprintf(name, sizeof name, "%.*s", (int)((bw - 46) / (6 * GLYPH)), c->s[i].name);
        if (!last_more) {
            if (a->bar) fill_rect(cv, bx + 8, ry - 6, 22, 12, palette[i % N_COLOURS]);
            else line(cv, bx + 8, ry, bx + 30, ry, palette[i % N_COLOURS], 3, 0);
        }
        text(cv, bx + 38, ry, name, -1, false, 1);
    }
}

static int write_svg(const char *path, const plot_args *a, const chart *c) {
    uae_atomic_file *af;
    if (uae_atomic_file_open(path, &af) != UAE_OK) {
        fprintf(stderr, "uae plot: %s\n", uae_last_error());
        return CLI_EXIT_FAILURE;
    }
    layout L = lay_out(a, c);
    canvas cv = {.svg = uae_atomic_file_stream(af), .h = L.h};
    fprintf(cv.svg, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" viewBox=\"0 0 %d %d\">\n",
            WIDTH, L.h, WIDTH, L.h);
    draw(&cv, a, c, &L);
    fputs("</svg>\n", cv.svg);
    if (uae_atomic_file_commit(af) != UAE_OK) {
        fprintf(stderr, "uae plot: %s\n", uae_last_error());
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static int write_png(const char *path, const plot_args *a, const chart *c) {
    layout L = lay_out(a, c);
    size_t npix = (size_t)WIDTH * (size_t)L.h;
    canvas cv = {.rgb = malloc(npix * 3), .h = L.h};
    float *pix = malloc(npix * 3 * sizeof *pix);
    if (!cv.rgb || !pix) {
        free(cv.rgb);
        free(pix);
        fprintf(stderr, "uae plot: %s: out of memory\n", path);
        return CLI_EXIT_FAILURE;
    }
    draw(&cv, a, c, &L);
    /* (H, W, 3) bytes -> (3, H, W) floats in [0, 1], uae_image_write_png's layout */
    for (size_t i = 0; i < npix; i++)
        for (int ch = 0; ch < 3; ch++) pix[(size_t)ch * npix + i] = cv.rgb[i * 3 + (size_t)ch] / 255.0f;
    uae_status st = uae_image_write_png(path, pix, 3, L.h, WIDTH);
    free(cv.rgb);
    free(pix);
    if (st != UAE_OK) {
        fprintf(stderr, "uae plot: %s\n", uae_last_error());
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static bool ends_with(const char *s, const char *suffix) {
    size_t n = strlen(s), k = strlen(suffix);
    return n >= k && strcasecmp(s + n - k, suffix) == 0;
}

enum { OPT_X = CLI_OPT_FIRST_COMMAND, OPT_Y, OPT_WHERE, OPT_BY, OPT_RECORDS, OPT_OUT, OPT_TITLE,
       OPT_XLABEL, OPT_YLABEL, OPT_BAR };

static int parse_args(const cli_command *cmd, cli_globals *g, int argc, char **argv, plot_args *a) {
    static const struct option opts[] = {
        {"x", required_argument, NULL, OPT_X},           {"y", required_argument, NULL, OPT_Y},
        {"where", required_argument, NULL, OPT_WHERE},   {"by", required_argument, NULL, OPT_BY},
        {"records", required_argument, NULL, OPT_RECORDS}, {"out", required_argument, NULL, OPT_OUT},
        {"title", required_argument, NULL, OPT_TITLE},   {"xlabel", required_argument, NULL, OPT_XLABEL},
        {"ylabel", required_argument, NULL, OPT_YLABEL}, {"bar", no_argument, NULL, OPT_BAR},
        {0},
    };
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, opts);
    for (int c; (c = cli_next(&p)) != -1;) {
        const char *v = p.arg;
        switch (c) {
        case CLI_STOP: a->stop = true; return p.exit_code;
        case OPT_X: a->x = v; break;
        case OPT_Y:
            free(a->y_list);
            if (!(a->y_list = strdup(v))) return cli_usage_error(cmd, "out of memory");
            a->ny = 0;
            for (char *t = strtok(a->y_list, ","); t; t = strtok(NULL, ",")) {
                if (a->ny == MAX_Y) return cli_usage_error(cmd, "--y: at most %d fields", MAX_Y);
                a->y[a->ny++] = t;
            }
            break;
        case OPT_WHERE:
            if (!strchr(v, '=') || v[0] == '=')
                return cli_usage_error(cmd, "--where '%s': expected FIELD=VALUE", v);
            if (a->nwhere == MAX_WHERE) return cli_usage_error(cmd, "at most %d --where", MAX_WHERE);
            a->where[a->nwhere++] = v;
            break;
        case OPT_BY: a->by = v; break;
        case OPT_RECORDS: a->records = v; break;
        case OPT_OUT:
            if (!ends_with(v, ".svg") && !ends_with(v, ".png"))
                return cli_usage_error(cmd, "--out '%s': the name must end in .svg or .png", v);
            if (a->nout == MAX_OUT) return cli_usage_error(cmd, "at most %d --out", MAX_OUT);
            a->out[a->nout++] = v;
            break;
        case OPT_TITLE: a->title = v; break;
        case OPT_XLABEL: a->xlabel = v; break;
        case OPT_YLABEL: a->ylabel = v; break;
        case OPT_BAR: a->bar = true; break;
        default: return CLI_EXIT_USAGE;
        }
    }
    if (a->ny == 0) return cli_usage_error(cmd, "--y FIELD is required (the values to plot)");
    if (a->nout == 0) return cli_usage_error(cmd, "--out FILE.svg or FILE.png is required");
    if (p.nrest == 0) return cli_usage_error(cmd, "no input: give one or more JSON or JSON-lines files");
    a->files = p.rest;
    a->nfiles = p.nrest;
    return CLI_EXIT_OK;
}

static int run_plot(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    plot_args a = {0};
    chart *c = calloc(1, sizeof *c);
    if (!c) return CLI_EXIT_FAILURE;
    int rc = parse_args(cmd, g, argc, argv, &a);
    if (a.stop) {
        free(c);
        free(a.y_list);
        return rc;
    }
    for (int i = 0; rc == CLI_EXIT_OK && i < a.nfiles; i++) rc = read_file(&a, c, a.files[i]);
    if (rc == CLI_EXIT_OK && c->ns == 0) {
        fprintf(stderr, "uae plot: no record has a number at --y %s%s%s (after --where): check the "
                "field names against the file\n", a.y[0], a.x ? " and a value at --x " : "",
                a.x ? a.x : "");
        rc = CLI_EXIT_FAILURE;
    }
    for (int i = 0; rc == CLI_EXIT_OK && i < a.nout; i++)
        rc = ends_with(a.out[i], ".svg") ? write_svg(a.out[i], &a, c) : write_png(a.out[i], &a, c);
    if (rc == CLI_EXIT_OK && !g->quiet) {
        int points = 0;
        for (int i = 0; i < c->ns; i++) points += c->s[i].n;
        for (int i = 0; i < a.nout; i++)
            printf("uae plot: %s: %d series, %d points\n", a.out[i], c->ns, points);
    }
    chart_free(c);
    free(c);
    free(a.y_list);
    return rc;
}

const cli_command cli_cmd_plot = {
    .name = "plot",
    .summary = "draw a line or bar chart (SVG, PNG) of a trace or a results JSON",
    .usage = "plot --y FIELD[,FIELD...] --out FILE.svg|FILE.png [OPTIONS] FILE...",
    .help =
        "Reads records from each FILE: the lines of a JSON-lines file (uae attack --trace,\n"
        "uae mine --trace, uae train --log, stats.jsonl), or the array of records inside one\n"
        "JSON document (uae-bench --json: \"results\"; the first array of objects with the\n"
        "--y field unless --records names one). Draws one series per --y field (and per --by value, and per\n"
        "file when there are several), with axes, ticks, labels and a legend.\n"
        "Records without a number at a field are skipped (booleans count as 0 and 1).\n\n"
        "Options:\n"
        "  --y FIELD[,FIELD]  the values (required); a dotted path: \"a.b\", \"mine_I.3\"\n"
        "  --x FIELD          the x value (line) or the category (--bar); default: the\n"
        "                     record's number\n"
        "  --where FIELD=V    only records whose FIELD is V (numbers compare as numbers);\n"
        "                     repeatable, all must hold: --where index=3\n"
        "  --by FIELD         one series per value of FIELD: --by index (one line per example)\n"
        "  --records PATH     the array of records in a JSON document (\"results\")\n"
        "  --bar              a bar chart: one group of bars per --x value\n"
        "  --out FILE         FILE.svg or FILE.png (required; give it twice for both)\n"
        "  --title T, --xlabel T, --ylabel T   the texts (defaults: the field names)\n",
    .run = run_plot,
};
