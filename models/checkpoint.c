/* models/checkpoint.c — saving and loading a model's training state as .safetensors (see
 * uae/checkpoint.h) and its configuration as JSON. The file format itself (header, checksum,
 * atomic writes) is core/io_safetensors.c's; this file decides what goes into it. */
#include "uae/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "model_impl.h"
#include "uae/io.h"
#include "uae_config.h"

/* ---- The configuration as JSON ------------------------------------------------------------
 * One table drives both directions, so a field added to uae_model_config is one line here. */

typedef enum field_type { F_INT, F_I64, F_FLOAT, F_BOOL } field_type;

typedef struct config_field {
    const char *key;
    field_type type;
    size_t offset; /* into uae_model_config */
} config_field;

#define FIELD(key, type, member) {key, type, offsetof(uae_model_config, member)}
static const config_field fields[] = {
    FIELD("channels", F_INT, channels),
    FIELD("height", F_INT, height),
    FIELD("width", F_INT, width),
    FIELD("classes", F_INT, classes),
    FIELD("hidden", F_INT, hidden),
    FIELD("latent", F_INT, latent),
    FIELD("select_k", F_INT, select_k),
    FIELD("temp_start", F_FLOAT, temp_start),
    FIELD("temp_end", F_FLOAT, temp_end),
    FIELD("total_steps", F_I64, total_steps),
    FIELD("l1", F_FLOAT, l1),
    FIELD("kl_weight", F_FLOAT, kl_weight),
    FIELD("kl_rho", F_FLOAT, kl_rho),
    FIELD("dropout", F_FLOAT, dropout),
    FIELD("tau", F_FLOAT, tau),
    FIELD("lr", F_FLOAT, opt.p.lr),
    FIELD("momentum", F_FLOAT, opt.p.momentum),
    FIELD("nesterov", F_BOOL, opt.p.nesterov),
    FIELD("weight_decay", F_FLOAT, opt.p.weight_decay),
    FIELD("beta1", F_FLOAT, opt.p.beta1),
    FIELD("beta2", F_FLOAT, opt.p.beta2),
    FIELD("rho", F_FLOAT, opt.p.rho),
    FIELD("eps", F_FLOAT, opt.p.eps),
    FIELD("epochs", F_INT, epochs),
    FIELD("batch", F_INT, batch),
};
#undef FIELD
enum { N_FIELDS = sizeof fields / sizeof fields[0] };

static const char *const kind_names[] = {"autoencoder", "classifier", "contrastive"};
_Static_assert(sizeof kind_names / sizeof kind_names[0] == UAE_MODEL_KIND_COUNT,
               "one name per model kind");

/* jansson prints reals with 17 significant digits unless told otherwise; 9 are enough to give
 * back every float32 exactly and keep the text readable (0.0025f prints as 0.00249999994). */
#define JSON_FLAGS (JSON_COMPACT | JSON_REAL_PRECISION(9))

/* Where field f lives in cfg. */
static void *field_ptr(const uae_model_config *cfg, const config_field *f) {
    return (char *)cfg + f->offset;
}

static json_t *config_to_object(const uae_model_config *cfg) {
    json_t *o = json_object();
    if (!o) return NULL;
    int bad = json_object_set_new(o, "preset", json_string(cfg->preset));
    bad |= json_object_set_new(o, "kind", json_string(cfg->kind >= 0 &&
                                                      cfg->kind < UAE_MODEL_KIND_COUNT
                                                          ? kind_names[cfg->kind] : "?"));
    bad |= json_object_set_new(o, "optimizer", json_string(uae_optimizer_name(cfg->opt.p.fn)));
    for (int i = 0; i < N_FIELDS; i++) {
        const void *p = field_ptr(cfg, &fields[i]);
        const int *pi = p;
        const int64_t *pl = p;
        const float *pf = p;
        const bool *pb = p;
        json_t *v = NULL;
        switch (fields[i].type) {
        case F_INT: v = json_integer(*pi); break;
        case F_I64: v = json_integer(*pl); break;
        case F_FLOAT: v = json_real(*pf); break;
        case F_BOOL: v = json_boolean(*pb); break;
        }
        bad |= json_object_set_new(o, fields[i].key, v);
    }
    if (bad) {
        json_decref(o);
        return NULL;
    }
    return o;
}

char *uae_model_config_to_json(const uae_model_config *cfg) {
    json_t *o = config_to_object(cfg);
    char *s = o ? json_dumps(o, JSON_FLAGS) : NULL;
    json_decref(o);
    return s;
}

static uae_status bad_key(const char *key, const char *expected) {
    return uae_fail(UAE_ERR_FORMAT, "model configuration: \"%s\" %s", key, expected);
}

/* An int field of the JSON object that must be present (the shape and class count). */
static uae_status required_int(const json_t *o, const char *key, int *out) {
    json_t *v = json_object_get(o, key);
    if (!json_is_integer(v) || json_integer_value(v) < 0 || json_integer_value(v) > INT32_MAX)
        return bad_key(key, "is missing or not a non-negative integer");
    *out = (int)json_integer_value(v);
    return UAE_OK;
}

static uae_status set_field(const config_field *f, const json_t *v, uae_model_config *cfg) {
    void *p = field_ptr(cfg, f);
    int *pi = p;
    int64_t *pl = p;
    float *pf = p;
    bool *pb = p;
    switch (f->type) {
    case F_INT:
        if (!json_is_integer(v) || json_integer_value(v) < INT32_MIN ||
            json_integer_value(v) > INT32_MAX)
            return bad_key(f->key, "is not a 32-bit integer");
        *pi = (int)json_integer_value(v);
        return UAE_OK;
    case F_I64:
        if (!json_is_integer(v)) return bad_key(f->key, "is not an integer");
        *pl = (int64_t)json_integer_value(v);
        return UAE_OK;
    case F_FLOAT:
        if (!json_is_number(v)) return bad_key(f->key, "is not a number");
        *pf = (float)json_number_value(v);
        return UAE_OK;
    case F_BOOL:
        if (!json_is_boolean(v)) return bad_key(f->key, "is not true or false");
        *pb = json_is_true(v);
        return UAE_OK;
    }
    return bad_key(f->key, "has an unknown type");
}

static uae_status config_from_object(const json_t *o, uae_model_config *cfg) {
    if (!json_is_object(o))
        return uae_fail(UAE_ERR_FORMAT, "model configuration: not a JSON object");
    const char *preset = json_string_value(json_object_get(o, "preset"));
    if (!preset) return bad_key("preset", "is missing or not a string");
    int c = 0, h = 0, w = 0, k = 0;
    UAE_TRY(required_int(o, "channels", &c));
    UAE_TRY(required_int(o, "height", &h));
    UAE_TRY(required_int(o, "width", &w));
    UAE_TRY(required_int(o, "classes", &k));
    uae_model_config out;
    UAE_TRY(uae_model_defaults(preset, c, h, w, k, &out));
    const char *key;
    json_t *v;
    json_object_foreach((json_t *)o, key, v) {
        if (strcmp(key, "preset") == 0) continue;
        if (strcmp(key, "kind") == 0) {
            const char *s = json_string_value(v);
            if (!s || strcmp(s, kind_names[out.kind]) != 0)
                return bad_key(key, "does not match the preset's kind");
            continue;
        }
        if (strcmp(key, "optimizer") == 0) {
            const char *s = json_string_value(v);
            if (!s) return bad_key(key, "is not a string");
            uae_optim_fn fn;
            if (uae_optimizer_parse(s, &fn) != UAE_OK) return bad_key(key, "names no optimizer");
            out.opt.p.fn = fn;
            continue;
        }
        int i = 0;
        while (i < N_FIELDS && strcmp(fields[i].key, key) != 0) i++;
        if (i == N_FIELDS) return bad_key(key, "is not a configuration field of this version");
        UAE_TRY(set_field(&fields[i], v, &out));
    }
    out.opt.p.step = 0;
    *cfg = out;
    return UAE_OK;
}

uae_status uae_model_config_from_json(const char *json, uae_model_config *cfg) {
    json_error_t err;
    json_t *o = json_loads(json, 0, &err);
    if (!o)
        return uae_fail(UAE_ERR_FORMAT, "model configuration: invalid JSON at line %d column "
                        "%d: %s", err.line, err.column, err.text);
    uae_status st = config_from_object(o, cfg);
    json_decref(o);
    return st;
}

/* ---- Saving ---------------------------------------------------------------------------------- */

enum { NAME_MAX_LEN = 96, MAX_EXTRA = 8 };

/* The view of optimizer state k that belongs to parameter i: the same place in the state tensor as
 * the parameter has in the flat value tensor. */
static uae_tensor state_view(const uae_params *P, int k, int i) {
    const uae_tensor *v = uae_params_value(P, i);
    uae_tensor s = *uae_params_state(P, k);
    s.ndim = v->ndim;
    memcpy(s.shape, v->shape, sizeof s.shape);
    s.offset += v->offset - uae_params_flat(P)->offset;
    return s;
}

/* The model's training state outside its store (model_impl.h: extra_state). */
static int model_extras(uae_model *m, uae_model_extra *out) {
    if (!m->fam->extra_state) return 0;
    int n = m->fam->extra_state(m, out, MAX_EXTRA);
    UAE_ASSERT(n >= 0 && n <= MAX_EXTRA);
    return n;
}

/* What a checkpoint holds for model m: names, device tensors and their place in one host buffer. */
typedef struct ckpt_layout {
    int n;
    char (*names)[NAME_MAX_LEN];  /* (n) */
    uae_tensor *dev;              /* (n) the device tensors (views) */
    int64_t *offset;              /* (n) floats into the host buffer */
    int64_t total;                /* floats */
} ckpt_layout;

static void layout_free(ckpt_layout *L) {
    free(L->names);
    free(L->dev);
    free(L->offset);
    memset(L, 0, sizeof *L);
}

static void layout_add(ckpt_layout *L, const char *name, const uae_tensor *t) {
    snprintf(L->names[L->n], NAME_MAX_LEN, "%s", name);
    L->dev[L->n] = *t;
    L->offset[L->n] = L->total;
    L->total += uae_tensor_numel(t);
    L->n++;
}

/* Parameters first (the file reads like the model), then state 0 and state 1 of each, then the
 * model's extra state. */
static uae_status layout_make(uae_model *m, ckpt_layout *L) {
    uae_params *P = uae_model_params(m);
    int np = uae_params_count(P);
    uae_model_extra ex[MAX_EXTRA];
    int ne = model_extras(m, ex);
    int cap = 3 * np + 2 * ne;
    memset(L, 0, sizeof *L);
    L->names = calloc((size_t)cap, sizeof *L->names);
    L->dev = calloc((size_t)cap, sizeof *L->dev);
    L->offset = calloc((size_t)cap, sizeof *L->offset);
    if (!L->names || !L->dev || !L->offset) {
        layout_free(L);
        return uae_fail(UAE_ERR_NOMEM, "checkpoint: out of host memory");
    }
    char name[NAME_MAX_LEN];
    for (int i = 0; i < np; i++) layout_add(L, uae_params_name(P, i), uae_params_value(P, i));
    for (int k = 0; k < 2; k++)
        for (int i = 0; i < np; i++) {
            snprintf(name, sizeof name, "optim.state%d.%s", k, uae_params_name(P, i));
            uae_tensor s = state_view(P, k, i);
            layout_add(L, name, &s);
        }
    for (int e = 0; e < ne; e++)
        for (int k = 0; k < 2 && ex[e].state; k++) {
            snprintf(name, sizeof name, "optim.%s.state%d", ex[e].name, k);
            layout_add(L, name, &ex[e].state[k]);
        }
    return UAE_OK;
}

/* The other optimizers' step counts as a JSON object {"disc": 120, ...}; NULL if there are none. */
static char *extra_steps_json(uae_model *m) {
    uae_model_extra ex[MAX_EXTRA];
    int ne = model_extras(m, ex);
    if (ne == 0) return NULL;
    json_t *o = json_object();
    for (int e = 0; e < ne && o; e++)
        json_object_set_new(o, ex[e].name, json_integer(ex[e].opt->p.step));
    char *s = o ? json_dumps(o, JSON_FLAGS) : NULL;
    json_decref(o);
    return s;
}

uae_status uae_checkpoint_save(const char *path, uae_model *m, const uae_checkpoint_info *info) {
    uae_checkpoint_info none = {0};
    if (!info) info = &none;
    if (info->run[0]) {
        json_t *run = json_loads(info->run, 0, NULL);
        bool ok = json_is_object(run);
        json_decref(run);
        if (!ok) return uae_fail(UAE_ERR_INVALID, "checkpoint %s: the run settings are not a JSON "
                                 "object: %.80s", path, info->run);
    }
    ckpt_layout L;
    UAE_TRY(layout_make(m, &L));
    uae_status st = UAE_OK;
    float *host = malloc((size_t)(L.total > 0 ? L.total : 1) * sizeof *host);
    uae_st_tensor *ts = calloc((size_t)L.n, sizeof *ts);
    char *config = uae_model_config_to_json(uae_model_config_of(m));
    uae_model_extra ex[MAX_EXTRA];
    char *steps = extra_steps_json(m);
    if (!host || !ts || !config || (model_extras(m, ex) > 0 && !steps))
        st = uae_fail(UAE_ERR_NOMEM, "checkpoint %s: out of host memory", path);
    for (int i = 0; i < L.n && st == UAE_OK; i++) {
        st = uae_tensor_read(&L.dev[i], host + L.offset[i]);
        ts[i].name = L.names[i];
        ts[i].ndim = L.dev[i].ndim;
        for (int d = 0; d < L.dev[i].ndim; d++) ts[i].shape[d] = L.dev[i].shape[d];
        ts[i].data = host + L.offset[i];
    }
    if (st == UAE_OK) {
        char epoch[24], step[24], seed[24], ostep[24], estep[24], eloss[32];
        snprintf(epoch, sizeof epoch, "%" PRId64, info->epoch);
        snprintf(step, sizeof step, "%" PRId64, info->step);
        snprintf(estep, sizeof estep, "%" PRId64, info->epoch_step);
        /* 17 significant digits give back every double exactly. */
        snprintf(eloss, sizeof eloss, "%.17g", info->epoch_loss);
        snprintf(seed, sizeof seed, "%" PRIu64, info->seed);
        snprintf(ostep, sizeof ostep, "%" PRId64, m->opt.p.step);
        uae_st_meta meta[] = {
            {"uae.format", UAE_CHECKPOINT_FORMAT},
            {"uae.version", UAE_VERSION},
            {"uae.model", uae_model_config_of(m)->preset},
            {"uae.config", config},
            {"uae.epoch", epoch},
            {"uae.step", step},
            {"uae.epoch_step", estep},
            {"uae.epoch_loss", eloss},
            {"uae.seed", seed},
            {"uae.optimizer", uae_optimizer_name(m->opt.p.fn)},
            {"uae.optimizer.step", ostep},
            {"uae.run", info->run[0] ? info->run : "{}"},
            {"uae.optimizer.steps", steps ? steps : "{}"},
        };
        size_t n_meta = sizeof meta / sizeof meta[0] - (steps ? 0 : 1);
        st = uae_safetensors_write(path, ts, (size_t)L.n, meta, n_meta);
    }
    free(steps);
    free(config);
    free(ts);
    free(host);
    layout_free(&L);
    return st == UAE_OK ? UAE_OK : uae_fail_context(st, "saving checkpoint %s", path);
}

/* ---- Loading --------------------------------------------------------------------------------- */

/* A metadata value that must be a whole decimal number: signed (meta_i64) or not (meta_u64). */
static uae_status bad_number(const char *path, const char *key, const char *v) {
    if (!v) return uae_fail(UAE_ERR_FORMAT, "%s: metadata key %s is missing", path, key);
    return uae_fail(UAE_ERR_FORMAT, "%s: metadata %s = '%s' is not a whole number", path, key, v);
}

static uae_status meta_i64(const uae_safetensors *st, const char *path, const char *key,
                           int64_t *out) {
    const char *v = uae_safetensors_meta(st, key);
    char *end = NULL;
    errno = 0;
    long long x = v ? strtoll(v, &end, 10) : 0;
    if (!v || end == v || *end != '\0' || errno == ERANGE) return bad_number(path, key, v);
    *out = x;
    return UAE_OK;
}

static uae_status meta_u64(const uae_safetensors *st, const char *path, const char *key,
                           uint64_t *out) {
    const char *v = uae_safetensors_meta(st, key);
    char *end = NULL;
    errno = 0;
    /* strtoull would take "-1" as 2^64 - 1: only digits. */
    unsigned long long x = v && *v >= '0' && *v <= '9' ? strtoull(v, &end, 10) : 0;
    if (!v || !end || *end != '\0' || errno == ERANGE) return bad_number(path, key, v);
    *out = x;
    return UAE_OK;
}

/* Checks the format key and reads config and info from an open file. */
static uae_status read_meta(const uae_safetensors *st, const char *path, uae_model_config *cfg,
                            uae_checkpoint_info *info) {
    const char *format = uae_safetensors_meta(st, "uae.format");
    if (!format)
        return uae_fail(UAE_ERR_FORMAT, "%s: not a uaekit checkpoint (no uae.format metadata; a "
                        "safetensors file from another program has no model configuration)", path);
    if (strcmp(format, UAE_CHECKPOINT_FORMAT) != 0)
        return uae_fail(UAE_ERR_FORMAT, "%s: checkpoint format '%s', this version reads '%s'", path,
                        format, UAE_CHECKPOINT_FORMAT);
    const char *config = uae_safetensors_meta(st, "uae.config");
    if (!config) return uae_fail(UAE_ERR_FORMAT, "%s: metadata key uae.config is missing", path);
    uae_model_config c;
    uae_status s = uae_model_config_from_json(config, &c);
    if (s != UAE_OK) return uae_fail_context(s, "%s", path);
    const char *model = uae_safetensors_meta(st, "uae.model");
    if (!model || strcmp(model, c.preset) != 0)
        return uae_fail(UAE_ERR_FORMAT, "%s: uae.model '%s' disagrees with the configuration's "
                        "preset '%s'", path, model ? model : "(missing)", c.preset);
    uae_checkpoint_info in = {0};
    UAE_TRY(meta_i64(st, path, "uae.epoch", &in.epoch));
    UAE_TRY(meta_i64(st, path, "uae.step", &in.step));
    UAE_TRY(meta_u64(st, path, "uae.seed", &in.seed));
    /* Only a checkpoint written within an epoch needs these two; absent means 0. */
    if (uae_safetensors_meta(st, "uae.epoch_step"))
        UAE_TRY(meta_i64(st, path, "uae.epoch_step", &in.epoch_step));
    const char *eloss = uae_safetensors_meta(st, "uae.epoch_loss");
    char *end = NULL;
    in.epoch_loss = eloss ? strtod(eloss, &end) : 0.0;
    if (eloss && (end == eloss || *end != '\0' || !isfinite(in.epoch_loss)))
        return uae_fail(UAE_ERR_FORMAT, "%s: metadata uae.epoch_loss = '%s' is not a finite number",
                        path, eloss);
    const char *run = uae_safetensors_meta(st, "uae.run");
    if (run && strlen(run) >= sizeof in.run)
        return uae_fail(UAE_ERR_FORMAT, "%s: uae.run is longer than %d bytes", path,
                        UAE_CHECKPOINT_RUN_MAX - 1);
    if (run) { /* the run settings are compared key by key on resume: a JSON object */
        json_error_t jerr;
        json_t *o = json_loads(run, 0, &jerr);
        bool object = json_is_object(o);
        json_decref(o);
        if (!object)
            return uae_fail(UAE_ERR_FORMAT, "%s: metadata uae.run (the run settings) is not a JSON "
                            "object: %.80s", path, run);
    }
    snprintf(in.run, sizeof in.run, "%s", run && strcmp(run, "{}") != 0 ? run : "");
    if (cfg) *cfg = c;
    if (info) *info = in;
    return UAE_OK;
}

uae_status uae_checkpoint_read_config(const char *path, uae_model_config *cfg,
                                      uae_checkpoint_info *info) {
    uae_safetensors *st;
    UAE_TRY(uae_safetensors_open(path, &st));
    uae_status s = read_meta(st, path, cfg, info);
    uae_safetensors_close(st);
    return s;
}

/* The index of name among the file's tensors, or -1. */
static long find_tensor(const uae_safetensors *st, const char *name) {
    for (size_t i = 0; i < uae_safetensors_count(st); i++)
        if (strcmp(uae_safetensors_info(st, i, NULL).name, name) == 0) return (long)i;
    return -1;
}

/* Reads every tensor of the layout into host, checking names, dtypes and shapes, and that the file
 * has no tensor the model does not know. */
static uae_status read_tensors(const uae_safetensors *st, const char *path, const char *preset,
                               const ckpt_layout *L, float *host) {
    for (int i = 0; i < L->n; i++) {
        if (find_tensor(st, L->names[i]) < 0)
            return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s' of model '%s' is missing", path,
                            L->names[i], preset);
        int64_t shape[UAE_MAX_DIMS];
        for (int d = 0; d < L->dev[i].ndim; d++) shape[d] = L->dev[i].shape[d];
        uae_status s = uae_safetensors_read(st, L->names[i], L->dev[i].ndim, shape,
                                            host + L->offset[i]);
        if (s != UAE_OK) return uae_fail_context(s, "loading model '%s'", preset);
    }
    for (size_t j = 0; j < uae_safetensors_count(st); j++) {
        const char *name = uae_safetensors_info(st, j, NULL).name;
        int i = 0;
        while (i < L->n && strcmp(L->names[i], name) != 0) i++;
        if (i == L->n)
            return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s' is not a tensor of model '%s' (a "
                            "checkpoint of another configuration?)", path, name, preset);
    }
    return UAE_OK;
}

/* The optimizer name and step counts of the file, checked against m. */
static uae_status read_steps(const uae_safetensors *st, const char *path, uae_model *m,
                             int64_t *main_step, int64_t *extra_steps) {
    const char *opt = uae_safetensors_meta(st, "uae.optimizer");
    const char *want = uae_optimizer_name(m->opt.p.fn);
    if (!opt || strcmp(opt, want) != 0)
        return uae_fail(UAE_ERR_INVALID, "%s: optimizer state of '%s', the model uses '%s'", path,
                        opt ? opt : "(missing)", want);
    UAE_TRY(meta_i64(st, path, "uae.optimizer.step", main_step));
    uae_model_extra ex[MAX_EXTRA];
    int ne = model_extras(m, ex);
    if (ne == 0) return UAE_OK;
    const char *steps = uae_safetensors_meta(st, "uae.optimizer.steps");
    json_t *o = steps ? json_loads(steps, 0, NULL) : NULL;
    uae_status s = UAE_OK;
    for (int e = 0; e < ne && s == UAE_OK; e++) {
        json_t *v = json_object_get(o, ex[e].name);
        if (!json_is_integer(v))
            s = uae_fail(UAE_ERR_FORMAT, "%s: uae.optimizer.steps lacks the step count of '%s'",
                         path, ex[e].name);
        else
            extra_steps[e] = (int64_t)json_integer_value(v);
    }
    json_decref(o);
    return s;
}

static uae_status load_open(const uae_safetensors *st, const char *path, uae_model *m,
                            uae_checkpoint_info *info) {
    uae_model_config cfg;
    uae_checkpoint_info in;
    UAE_TRY(read_meta(st, path, &cfg, &in));
    const char *preset = uae_model_config_of(m)->preset;
    if (strcmp(cfg.preset, preset) != 0)
        return uae_fail(UAE_ERR_INVALID, "%s: a checkpoint of model '%s', not '%s'", path,
                        cfg.preset, preset);
    int64_t main_step, extra_steps[MAX_EXTRA];
    UAE_TRY(read_steps(st, path, m, &main_step, extra_steps));
    ckpt_layout L;
    UAE_TRY(layout_make(m, &L));
    float *host = malloc((size_t)(L.total > 0 ? L.total : 1) * sizeof *host);
    uae_status s = host ? read_tensors(st, path, preset, &L, host)
                        : uae_fail(UAE_ERR_NOMEM, "%s: out of host memory", path);
    /* Everything is checked: only now does the model change. */
    for (int i = 0; i < L.n && s == UAE_OK; i++)
        s = uae_tensor_write(&L.dev[i], host + L.offset[i]);
    if (s == UAE_OK) {
        m->opt.p.step = main_step;
        uae_model_extra ex[MAX_EXTRA];
        int ne = model_extras(m, ex);
        for (int e = 0; e < ne; e++) ex[e].opt->p.step = extra_steps[e];
        if (info) *info = in;
    }
    free(host);
    layout_free(&L);
    return s;
}

uae_status uae_checkpoint_load(const char *path, uae_model *m, uae_checkpoint_info *info) {
    uae_safetensors *st;
    UAE_TRY(uae_safetensors_open(path, &st));
    uae_status s = load_open(st, path, m, info);
    uae_safetensors_close(st);
    return s;
}

uae_status uae_checkpoint_load_model(const char *path, uae_backend *be, uae_model **out,
                                     uae_checkpoint_info *info) {
    uae_model_config cfg;
    UAE_TRY(uae_checkpoint_read_config(path, &cfg, NULL));
    uae_model *m;
    uae_status s = uae_model_create(be, &cfg, 0, &m);
    if (s != UAE_OK) return uae_fail_context(s, "%s", path);
    s = uae_checkpoint_load(path, m, info);
    if (s != UAE_OK) {
        uae_model_free(m);
        return s;
    }
    *out = m;
    return UAE_OK;
}
