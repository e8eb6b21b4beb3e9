/* apps/cli_data.c — the data-set options of every command that reads data, their record in a
 * checkpoint (uae.run), finding a checkpoint's data set again from another folder, and the
 * scaling of tables. Parsing and loading only; the formats are the library's (uae/data.h). */
#include "cli_data.h"

#include "uae/io.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    OPT_LABEL_COLUMN = CLI_OPT_DATA_FIRST,
    OPT_FEATURE_COLUMNS,
    OPT_DROP_COLUMNS,
    OPT_CATEGORICAL,
    OPT_MISSING,
    OPT_SCALE,
};

const struct option cli_data_options[] = {
    {"label-column", required_argument, NULL, OPT_LABEL_COLUMN},
    {"feature-columns", required_argument, NULL, OPT_FEATURE_COLUMNS},
    {"drop-columns", required_argument, NULL, OPT_DROP_COLUMNS},
    {"categorical", required_argument, NULL, OPT_CATEGORICAL},
    {"missing", required_argument, NULL, OPT_MISSING},
    {"scale", required_argument, NULL, OPT_SCALE},
    {0},
};

/* Names as the options and the record spell them, indexed by the enums. */
static const char *const categorical_names[] = {"reject", "onehot", "ordinal"};
static const char *const missing_names[] = {"error", "drop", "mean"};
static const char *const scale_names[] = {"auto", "none", "minmax", "standard"};
_Static_assert(sizeof categorical_names / sizeof *categorical_names == UAE_CSV_CAT_COUNT,
               "one name per uae_csv_categorical");
_Static_assert(sizeof missing_names / sizeof *missing_names == UAE_CSV_MISSING_COUNT,
               "one name per uae_csv_missing");
_Static_assert(sizeof scale_names / sizeof *scale_names == CLI_SCALE_COUNT,
               "one name per cli_scale_kind");

/* The index of s in names[0 .. n), or -1. */
static int find_name(const char *const *names, int n, const char *s) {
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0) return i;
    return -1;
}

const char *cli_scale_name(cli_scale_kind k) {
    return (unsigned)k < CLI_SCALE_COUNT ? scale_names[k] : "?";
}

void cli_data_args_init(cli_data_args *a) {
    *a = (cli_data_args){.categorical = -1, .missing = -1, .scale = CLI_SCALE_AUTO};
}

void cli_data_args_free(cli_data_args *a) {
    json_decref(a->owned);
    a->owned = NULL;
}

void cli_data_options_append(struct option *opts) {
    int k = 0;
    while (opts[k].name) k++;
    int own = k;
    for (int i = 0; cli_data_options[i].name; i++) {
        bool taken = false; /* the command's own option of that name wins (reconstruct --scale) */
        for (int j = 0; j < own; j++) taken = taken || strcmp(opts[j].name, cli_data_options[i].name) == 0;
        if (taken) continue;
        UAE_ASSERT(k < CLI_MAX_OPTIONS - 1);
        opts[k++] = cli_data_options[i];
    }
    opts[k] = (struct option){0};
}

int cli_data_option(const cli_command *cmd, cli_data_args *a, int c, const char *v) {
    int k;
    switch (c) {
    case OPT_LABEL_COLUMN: a->label_column = v; return CLI_EXIT_OK;
    case OPT_FEATURE_COLUMNS: a->feature_columns = v; return CLI_EXIT_OK;
    case OPT_DROP_COLUMNS: a->drop_columns = v; return CLI_EXIT_OK;
    case OPT_CATEGORICAL:
        /* "reject" is the default's name in the record, not an option value. */
        if ((k = find_name(categorical_names, UAE_CSV_CAT_COUNT, v)) < 1)
            return cli_usage_error(cmd, "--categorical: '%s' is not onehot or ordinal", v);
        a->categorical = k;
        return CLI_EXIT_OK;
    case OPT_MISSING:
        if ((k = find_name(missing_names, UAE_CSV_MISSING_COUNT, v)) < 1)
            return cli_usage_error(cmd, "--missing: '%s' is not drop or mean", v);
        a->missing = k;
        return CLI_EXIT_OK;
    case OPT_SCALE:
        if ((k = find_name(scale_names, CLI_SCALE_COUNT, v)) < 1)
            return cli_usage_error(cmd, "--scale: '%s' is not none, minmax or standard", v);
        a->scale = (cli_scale_kind)k;
        return CLI_EXIT_OK;
    default: return -1;
    }
}

static bool path_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* The folder of path, absolute and resolved, into buf (PATH_MAX); false if it cannot be
 * resolved. */
static bool folder_of(const char *path, char *buf) {
    char dir[PATH_MAX];
    const char *slash = strrchr(path, '/');
    if (!slash) snprintf(dir, sizeof dir, ".");
    else if (slash == path) snprintf(dir, sizeof dir, "/");
    else snprintf(dir, sizeof dir, "%.*s", (int)(slash - path), path);
    return realpath(dir, buf) != NULL;
}

/* The path of target relative to the folder from, both absolute and resolved ("../d/t.csv"). */
static void relative_path(const char *from, const char *target, char *buf, size_t cap) {
    /* The longest common prefix that ends at a path component. */
    size_t common = 0;
    for (size_t i = 0; from[i] && from[i] == target[i]; i++)
        if (from[i] == '/') common = i + 1;
    size_t flen = strlen(from);
    if (strncmp(from, target, flen) == 0 && (target[flen] == '/' || flen == 1)) common = flen;
    size_t len = 0;
    buf[0] = '\0';
    /* One ".." for every component of from below the common prefix. */
    for (size_t i = common; i < flen; i++)
        if ((i == common || from[i - 1] == '/') && from[i] != '/' && len + 3 < cap)
            len += (size_t)snprintf(buf + len, cap - len, "../");
    const char *rest = target + common;
    if (*rest == '/') rest++;
    snprintf(buf + len, cap - len, "%s", *rest ? rest : ".");
}

int cli_data_args_record(const cli_data_args *a, const cli_scaling *sc, const char *checkpoint,
                         json_t *o) {
    char abs[PATH_MAX], dir[PATH_MAX], rel[PATH_MAX];
    if (a->path && realpath(a->path, abs)) {
        json_object_set_new(o, "data", json_string(abs));
        if (folder_of(checkpoint, dir)) {
            relative_path(dir, abs, rel, sizeof rel);
            json_object_set_new(o, "data_from_checkpoint", json_string(rel));
        }
    } else {
        json_object_set_new(o, "data", a->path ? json_string(a->path) : json_null());
    }
    json_t *t = json_pack("{s:s?, s:s?, s:s?, s:s, s:s, s:s}", "label_column", a->label_column,
                          "feature_columns", a->feature_columns, "drop_columns", a->drop_columns,
                          "categorical", categorical_names[a->categorical < 0 ? 0 : a->categorical],
                          "missing", missing_names[a->missing < 0 ? 0 : a->missing], "scale",
                          cli_scale_name(sc->kind));
    if (!t) return CLI_EXIT_FAILURE;
    json_object_set_new(o, "table", t);
    return CLI_EXIT_OK;
}

/* A string of the record kept alive in a->owned. */
static const char *keep(cli_data_args *a, const char *key, const char *s) {
    json_object_set_new(a->owned, key, json_string(s));
    return json_string_value(json_object_get(a->owned, key));
}

int cli_data_args_merge_run(const cli_command *cmd, cli_data_args *a, const char *run,
                            const char *checkpoint) {
    json_t *o = run && run[0] ? json_loads(run, 0, NULL) : NULL;
    if (!a->owned) a->owned = json_object();
    if (!a->owned) {
        json_decref(o);
        return CLI_EXIT_FAILURE;
    }
    int rc = CLI_EXIT_OK;
    const char *recorded = json_string_value(json_object_get(o, "data"));
    if (!a->path && recorded) {
        /* Absolute as recorded (or as typed, by older versions), else relative to the
         * checkpoint's folder (the two moved together). */
        const char *rel = json_string_value(json_object_get(o, "data_from_checkpoint"));
        char dir[PATH_MAX], other[PATH_MAX + 1024] = "";
        if (rel && folder_of(checkpoint, dir)) snprintf(other, sizeof other, "%s/%s", dir, rel);
        if (strcmp(other, recorded) == 0) other[0] = '\0'; /* the checkpoint did not move */
        if (path_exists(recorded)) {
            a->path = keep(a, "data", recorded);
        } else if (other[0] && path_exists(other)) {
            a->path = keep(a, "data", other);
        } else {
            fprintf(stderr, "uae %s: %s was trained on the data set %s, which is not there%s%s%s; "
                    "--data PATH says where it is now\n", cmd->name, checkpoint, recorded,
                    other[0] ? " (nor at " : "", other, other[0] ? ", relative to the checkpoint)"
                                                                 : "");
            rc = CLI_EXIT_FAILURE;
        }
    }
    json_t *t = json_object_get(o, "table");
    if (rc == CLI_EXIT_OK && json_is_object(t)) {
        const char *keys[3] = {"label_column", "feature_columns", "drop_columns"};
        const char **dst[3] = {&a->label_column, &a->feature_columns, &a->drop_columns};
        for (int i = 0; i < 3; i++) {
            const char *s = json_string_value(json_object_get(t, keys[i]));
            if (!*dst[i] && s) *dst[i] = keep(a, keys[i], s);
        }
        const char *s = json_string_value(json_object_get(t, "categorical"));
        if (a->categorical < 0) a->categorical = find_name(categorical_names, UAE_CSV_CAT_COUNT, s);
        s = json_string_value(json_object_get(t, "missing"));
        if (a->missing < 0) a->missing = find_name(missing_names, UAE_CSV_MISSING_COUNT, s);
        s = json_string_value(json_object_get(t, "scale"));
        int k = find_name(scale_names, CLI_SCALE_COUNT, s);
        if (a->scale == CLI_SCALE_AUTO && k > 0) a->scale = (cli_scale_kind)k;
    } else if (rc == CLI_EXIT_OK && a->scale == CLI_SCALE_AUTO) {
        a->scale = CLI_SCALE_NONE; /* recorded before scaling existed: trained unscaled */
    }
    json_decref(o);
    return rc;
}

void cli_scaling_free(cli_scaling *sc) {
    free(sc->a);
    free(sc->b);
    *sc = (cli_scaling){0};
}

int cli_data_load(const cli_command *cmd, const cli_globals *g, const cli_data_args *a,
                  uae_dataset *train, uae_dataset *test, cli_scaling *sc) {
    *sc = (cli_scaling){.kind = CLI_SCALE_NONE};
    uae_data_options opt = uae_data_options_default();
    opt.label_column = a->label_column;
    opt.feature_columns = a->feature_columns;
    opt.drop_columns = a->drop_columns;
    if (a->categorical >= 0) opt.categorical = (uae_csv_categorical)a->categorical;
    if (a->missing >= 0) opt.missing = (uae_csv_missing)a->missing;
    uae_logf(&g->log, UAE_LOG_DEBUG, "loading %s", a->path ? a->path : UAE_DATA_DEFAULT_PATH);
    uae_status st = uae_data_load(a->path, &opt, train, test);
    cli_scale_kind kind = a->scale;
    if (kind == CLI_SCALE_AUTO) kind = train->feature_names ? CLI_SCALE_MINMAX : CLI_SCALE_NONE;
    sc->kind = kind;
    if (st == UAE_OK && kind != CLI_SCALE_NONE) {
        sc->d = train->d;
        sc->a = malloc((size_t)train->d * sizeof *sc->a);
        sc->b = malloc((size_t)train->d * sizeof *sc->b);
        uae_dataset *ts = test->n ? test : NULL;
        if (!sc->a || !sc->b)
            st = uae_fail(UAE_ERR_NOMEM, "scaling the data: out of memory");
        else if (kind == CLI_SCALE_MINMAX)
            st = uae_data_scale01(train, ts, sc->a, sc->b);
        else
            st = uae_data_standardize(train, ts, sc->a, sc->b);
    }
    if (st != UAE_OK) {
        fprintf(stderr, "uae %s: %s\n", cmd->name, uae_last_error());
        uae_dataset_free(train);
        uae_dataset_free(test);
        cli_scaling_free(sc);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

static json_t *float_array(const float *v, int64_t n) {
    json_t *arr = json_array();
    for (int64_t i = 0; arr && i < n; i++) json_array_append_new(arr, json_real((double)v[i]));
    return arr;
}

json_t *cli_data_describe(const uae_dataset *train, const cli_scaling *sc) {
    if (!train->feature_names) return NULL;
    json_t *names = json_array();
    for (int64_t j = 0; names && j < train->d; j++)
        json_array_append_new(names, json_string(train->feature_names[j]));
    json_t *o = json_pack("{s:o, s:s}", "features", names, "scale", cli_scale_name(sc->kind));
    if (o && sc->kind == CLI_SCALE_MINMAX) {
        json_object_set_new(o, "min", float_array(sc->a, sc->d));
        json_object_set_new(o, "max", float_array(sc->b, sc->d));
        json_object_set_new(o, "unscale", json_string("x * (max - min) + min"));
    } else if (o && sc->kind == CLI_SCALE_STANDARD) {
        json_object_set_new(o, "mean", float_array(sc->a, sc->d));
        json_object_set_new(o, "std", float_array(sc->b, sc->d));
        json_object_set_new(o, "unscale", json_string("x * std + mean"));
    }
    return o;
}

uae_status cli_write_json(const char *path, const json_t *o) {
    uae_atomic_file *af;
    UAE_TRY(uae_atomic_file_open(path, &af));
    FILE *f = uae_atomic_file_stream(af);
    if (json_dumpf(o, f, JSON_INDENT(1)) != 0 || fputc('\n', f) == EOF) {
        uae_atomic_file_abort(af);
        return uae_fail(UAE_ERR_IO, "%s: cannot write", path);
    }
    return uae_atomic_file_commit(af);
}
