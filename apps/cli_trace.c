/* apps/cli_trace.c — the attack trace as JSON lines (see apps/cli_trace.h and docs/user-guide.md).
 * The records come from the library (models/attack_run.c); this file only formats and writes them,
 * and keeps a resumed trace consistent with the examples already saved. */
#include "cli_trace.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/io.h"

struct cli_trace {
    char *path;
    bool resume;          /* the old lines are still to be cut (at the first record) */
    uae_jsonl *log;       /* NULL until the first record */
    json_t *pending;      /* lines of examples whose end record has not come yet, in order */
    bool full_delta;      /* each line holds delta_t ("delta") */
};

void cli_trace_set_delta(cli_trace *t, bool full) { t->full_delta = full; }

uae_status cli_trace_open(const char *path, bool resume, cli_trace **out) {
    *out = NULL;
    cli_trace *t = calloc(1, sizeof *t);
    if (t) t->path = strdup(path);
    if (t) t->pending = json_array();
    if (!t || !t->path || !t->pending) {
        if (t) free(t->path);
        if (t) json_decref(t->pending);
        free(t);
        return uae_fail(UAE_ERR_NOMEM, "%s: out of memory opening the trace", path);
    }
    t->resume = resume;
    if (!resume) {
        uae_status st = uae_jsonl_open(path, false, &t->log);
        if (st != UAE_OK) {
            cli_trace_close(t);
            return st;
        }
    }
    *out = t;
    return UAE_OK;
}

/* Resuming: rewrites the file (atomically) with the lines of examples before `first` only, then
 * opens it for appending. */
static uae_status cut_before(cli_trace *t, uint64_t first) {
    FILE *in = fopen(t->path, "r");
    if (in) {
        uae_atomic_file *af = NULL;
        uae_status st = uae_atomic_file_open(t->path, &af);
        char *line = NULL;
        size_t cap = 0;
        while (st == UAE_OK && getline(&line, &cap, in) > 0) {
            json_t *o = json_loads(line, 0, NULL);
            json_t *idx = o ? json_object_get(o, "index") : NULL;
            size_t len = strlen(line);
            /* a partial last line (no newline) is dropped with the rest of its example */
            if (json_is_integer(idx) && (uint64_t)json_integer_value(idx) < first && len > 0 &&
                line[len - 1] == '\n')
                fputs(line, uae_atomic_file_stream(af));
            json_decref(o);
        }
        free(line);
        fclose(in);
        if (st != UAE_OK) return st;
        UAE_TRY(uae_atomic_file_commit(af));
    } else if (errno != ENOENT) {
        return uae_fail(UAE_ERR_IO, "%s: cannot open the trace to continue it (%s)", t->path,
                        strerror(errno));
    }
    t->resume = false;
    return uae_jsonl_open(t->path, true, &t->log);
}

static json_t *number_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

static json_t *iterate_line(const uae_attack_trace *r, bool full_delta) {
    double linf = 0.0, sum = 0.0, g2 = 0.0;
    for (int64_t i = 0; i < r->d; i++) {
        linf = fmax(linf, fabs((double)r->delta[i]));
        sum += r->delta[i];
        g2 += (double)r->grad[i] * r->grad[i];
    }
    char hex[17];
    uae_digest_f32(r->delta, r->d, hex);
    json_t *mine = json_array();
    for (int i = 0; i < r->mine_steps; i++) json_array_append_new(mine, number_or_null(r->mine_mi[i]));
    json_t *o = json_object();
    json_object_set_new(o, "index", json_integer((json_int_t)r->index));
    json_object_set_new(o, "t", json_integer(r->iter));
    json_object_set_new(o, "search_step", json_integer(r->search_step));
    json_object_set_new(o, "c", number_or_null(r->c));
    json_object_set_new(o, "loss_clean", number_or_null(r->loss_clean));
    json_object_set_new(o, "loss_adv", number_or_null(r->loss_adv));
    json_object_set_new(o, "violation", number_or_null(r->violation));
    json_object_set_new(o, "I", number_or_null(r->mi));
    json_object_set_new(o, "success", json_boolean(r->success));
    json_object_set_new(o, "mine_I", mine);
    json_object_set_new(o, "delta_linf", json_real(linf));
    json_object_set_new(o, "delta_mean", json_real(r->d > 0 ? sum / (double)r->d : 0.0));
    json_object_set_new(o, "delta_fnv1a64", json_string(hex));
    json_object_set_new(o, "grad_l2", json_real(sqrt(g2)));
    if (full_delta) {
        json_t *d = json_array();
        for (int64_t i = 0; i < r->d; i++) json_array_append_new(d, json_real(r->delta[i]));
        json_object_set_new(o, "delta", d);
    }
    return o;
}

uae_status cli_trace_record(void *user, const uae_attack_trace *rec) {
    cli_trace *t = user;
    if (t->resume) UAE_TRY(cut_before(t, rec->index));
    if (!rec->end) {
        json_t *o = iterate_line(rec, t->full_delta);
        if (!o || json_array_append_new(t->pending, o) != 0)
            return uae_fail(UAE_ERR_NOMEM, "%s: out of memory for the trace", t->path);
        return UAE_OK;
    }
    /* The example is done: its lines, each marked selected or not, in the order they came. */
    json_t *keep = json_array();
    if (!keep) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory for the trace", t->path);
    uae_status st = UAE_OK;
    size_t i;
    json_t *o;
    json_array_foreach(t->pending, i, o) {
        if ((uint64_t)json_integer_value(json_object_get(o, "index")) != rec->index) {
            json_array_append(keep, o);
            continue;
        }
        int it = (int)json_integer_value(json_object_get(o, "t"));
        json_object_set_new(o, "selected", json_boolean(it == rec->iter));
        if (st == UAE_OK) st = uae_jsonl_write(t->log, o);
    }
    json_decref(t->pending);
    t->pending = keep;
    return st;
}

uae_status cli_trace_close(cli_trace *t) {
    if (!t) return UAE_OK;
    uae_status st = uae_jsonl_close(t->log);
    json_decref(t->pending);
    free(t->path);
    free(t);
    return st;
}
