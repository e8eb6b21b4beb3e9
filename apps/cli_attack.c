/* apps/cli_attack.c — `uae attack`: adversarial examples for N samples of a trained model's data,
 * streamed to a resumable .npy with per-sample statistics (uae_augment_generate), then gathered into
 * one .safetensors file. Also the attack options that `uae augment` and `uae demo` share. The
 * attack itself is models/attack_run.c; the streaming is models/augment_generate.c. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli_attack.h"
#include "cli_data.h"
#include "cli_trace.h"
#include "uae/augment.h"
#include "uae/checkpoint.h"
#include "uae/data.h"
#include "uae/io.h"

/* ---- The shared attack options ------------------------------------------------------------------ */

enum {
    OPT_ATTACK = CLI_OPT_ATTACK_FIRST,
    OPT_SAMPLES,
    OPT_ITERATIONS,
    OPT_MINE_STEPS,
    OPT_MINE_HIDDEN,
    OPT_MINE_FILTERS,
    OPT_MINE_WARMUP,
    OPT_MINE_LR,
    OPT_PROJ_COUNT,
    OPT_PROJ_DIM,
    OPT_EPS,
    OPT_LR,
    OPT_TARGETED,
    OPT_TARGET_CLASS,
    OPT_KAPPA,
};

const struct option cli_attack_options[] = {
    {"attack", required_argument, NULL, OPT_ATTACK},
    {"samples", required_argument, NULL, OPT_SAMPLES},
    {"iterations", required_argument, NULL, OPT_ITERATIONS},
    {"mine-steps", required_argument, NULL, OPT_MINE_STEPS},
    {"mine-hidden", required_argument, NULL, OPT_MINE_HIDDEN},
    {"mine-filters", required_argument, NULL, OPT_MINE_FILTERS},
    {"mine-warmup", required_argument, NULL, OPT_MINE_WARMUP},
    {"mine-lr", required_argument, NULL, OPT_MINE_LR},
    {"proj-count", required_argument, NULL, OPT_PROJ_COUNT},
    {"proj-dim", required_argument, NULL, OPT_PROJ_DIM},
    {"eps", required_argument, NULL, OPT_EPS},
    {"lr", required_argument, NULL, OPT_LR},
    {"targeted", no_argument, NULL, OPT_TARGETED},
    {"target-class", required_argument, NULL, OPT_TARGET_CLASS},
    {"kappa", required_argument, NULL, OPT_KAPPA},
    {0},
};

void cli_attack_options_join(const struct option *own, size_t n, struct option *opts) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) opts[k++] = own[i];
    for (int i = 0; cli_attack_options[i].name; i++) opts[k++] = cli_attack_options[i];
    UAE_ASSERT(k < CLI_MAX_OPTIONS);
    opts[k] = (struct option){0};
}

void cli_attack_args_init(cli_attack_args *a) {
    *a = (cli_attack_args){.iterations = -1, .mine_steps = -1, .mine_hidden = -1,
                           .mine_filters = -1, .mine_warmup = -1, .proj_count = -1,
                           .proj_dim = -1, .target_class = -1, .eps = NAN, .kappa = NAN,
                           .lr = NAN, .mine_lr = NAN};
}

int cli_attack_option(const cli_command *cmd, cli_attack_args *a, int c, const char *v) {
    switch (c) {
    case OPT_ATTACK: a->method = v; return CLI_EXIT_OK;
    case OPT_SAMPLES: a->samples = v; return CLI_EXIT_OK;
    case OPT_TARGETED: a->targeted = true; return CLI_EXIT_OK;
    case OPT_ITERATIONS: return cli_parse_int(cmd, "--iterations", v, 1, 1000000, &a->iterations);
    case OPT_MINE_STEPS: return cli_parse_int(cmd, "--mine-steps", v, 0, 1000000, &a->mine_steps);
    case OPT_MINE_HIDDEN: return cli_parse_int(cmd, "--mine-hidden", v, 1, 1 << 20, &a->mine_hidden);
    case OPT_MINE_FILTERS:
        return cli_parse_int(cmd, "--mine-filters", v, 1, 4096, &a->mine_filters);
    case OPT_MINE_WARMUP:
        return cli_parse_int(cmd, "--mine-warmup", v, 0, 1000000, &a->mine_warmup);
    case OPT_MINE_LR: return cli_parse_float(cmd, "--mine-lr", v, 1e-12, 1e3, &a->mine_lr);
    case OPT_PROJ_COUNT: return cli_parse_int(cmd, "--proj-count", v, 1, 100000, &a->proj_count);
    case OPT_PROJ_DIM: return cli_parse_int(cmd, "--proj-dim", v, 2, 100000, &a->proj_dim);
    case OPT_TARGET_CLASS:
        return cli_parse_int(cmd, "--target-class", v, 0, 1 << 20, &a->target_class);
    case OPT_EPS: return cli_parse_float(cmd, "--eps", v, 1e-9, 1e6, &a->eps);
    case OPT_LR: return cli_parse_float(cmd, "--lr", v, 1e-12, 1e6, &a->lr);
    case OPT_KAPPA: return cli_parse_float(cmd, "--kappa", v, 0.0, 1e6, &a->kappa);
    default: return -1;
    }
}

int cli_attack_apply(const cli_command *cmd, const cli_attack_args *a, uae_attack_config *cfg) {
    if (a->method) {
        /* "binary-search" is the CLI's name of the penalty method with its search over c. */
        const char *name = strcmp(a->method, "binary-search") == 0 ? "penalty" : a->method;
        if (uae_attack_method_parse(name, &cfg->method) != UAE_OK)
            return cli_usage_error(cmd, "--attack: '%s' is not minmax, binary-search or pgd",
                                   a->method);
    }
    if (a->samples && uae_attack_samples_parse(a->samples, &cfg->samples) != UAE_OK)
        return cli_usage_error(cmd, "--samples: '%s' is not conv or random", a->samples);
    if (a->iterations > 0) cfg->iterations = (int)a->iterations;
    if (a->mine_steps >= 0) cfg->mine_steps = (int)a->mine_steps;
    if (a->mine_hidden > 0) cfg->mine.hidden = (int)a->mine_hidden;
    if (a->mine_filters > 0) cfg->mine.conv_filters = (int)a->mine_filters;
    if (a->mine_warmup >= 0) cfg->mine_warmup = (int)a->mine_warmup;
    if (isfinite(a->mine_lr)) cfg->mine.opt.p.lr = (float)a->mine_lr;
    if (a->proj_count > 0) cfg->proj_count = (int)a->proj_count;
    if (a->proj_dim > 0) cfg->proj_dim = (int)a->proj_dim;
    if (isfinite(a->eps)) cfg->eps = (float)a->eps;
    if (isfinite(a->lr)) cfg->lr = (float)a->lr;
    if (isfinite(a->kappa)) cfg->kappa = (float)a->kappa;
    if (a->targeted != (a->target_class >= 0))
        return cli_usage_error(cmd, "--targeted and --target-class K go together");
    cfg->targeted = a->targeted;
    return CLI_EXIT_OK;
}

void cli_attack_preset_demo(uae_attack_config *cfg) {
    cfg->iterations = CLI_DEMO_ITERATIONS;
    cfg->mine_steps = CLI_DEMO_MINE_STEPS;
    cfg->mine.hidden = CLI_DEMO_MINE_HIDDEN;
    cfg->mine.conv_filters = CLI_DEMO_MINE_FILTERS;
}

static double gen_now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

void cli_gen_bar_update(void *user, double done, int64_t total) {
    cli_gen_bar *b = user;
    const char *label = b->label ? b->label : "attack";
    double now = gen_now();
    if (!b->started) {
        /* A resumed run starts at done: its rates count this process's examples only. */
        uae_progress_begin_opts(&b->bar, label, total, b->quiet,
                                &(uae_progress_opts){.tty = -1, .first = done});
        b->started = true;
        b->lines = !b->quiet && !isatty(fileno(stderr));
        b->t0 = b->last_line = now;
        b->first = done;
        b->t1 = b->d1 = 0;
        b->last_tenth = total > 0 ? (int64_t)(10.0 * done / (double)total) : 0;
        b->estimated = false;
    }
    uae_progress_set(&b->bar, done);
    /* The expected time: the remaining samples at the rate between the first progress report
     * of this process (after the first attack iteration, which includes the set-up) and the
     * next one. */
    if (done > b->first && b->t1 == 0) {
        b->t1 = now;
        b->d1 = done;
    } else if (b->log && !b->estimated && b->t1 > 0 && done > b->d1 && total > 0) {
        double per = (now - b->t1) / (done - b->d1);
        char all[32];
        uae_logf(b->log, UAE_LOG_INFO, "%s: about %.3g s per example here: expected %s for the "
                 "%lld examples of this run", label, per,
                 uae_format_duration(now - b->t0 + per * ((double)total - done), all, sizeof all),
                 (long long)((double)total - b->first + 0.5));
        b->estimated = true;
    }
    if (!b->lines || total <= 0) return;
    int64_t tenth = (int64_t)(10.0 * done / (double)total);
    if (tenth > b->last_tenth || now - b->last_line >= CLI_GEN_LINE_SECONDS) {
        /* Not the bar's line: that counts whole examples, and a batch reports tenths of them.
         * The rate of the last minutes (uae_progress_rate): a run that was paused or shared
         * the machine for a while gives a useful estimate again soon after. */
        char el[32], eta[32];
        double rate = uae_progress_rate(&b->bar, now);
        fprintf(stderr, "%s: %.0f%% (%.1f of %lld examples) after %s, about %s left\n", label,
                100.0 * done / (double)total, done, (long long)total,
                uae_format_duration(now - b->t0, el, sizeof el),
                uae_format_duration(rate > 0 ? ((double)total - done) / rate : NAN, eta, sizeof eta));
        fflush(stderr);
        b->last_tenth = tenth;
        b->last_line = now;
    }
}

void cli_gen_bar_end(cli_gen_bar *b) {
    if (b->started) uae_progress_end(&b->bar);
    b->started = false;
}

/* ---- uae attack ----------------------------------------------------------------------------------- */

enum {
    OPT_MODEL = CLI_OPT_FIRST_COMMAND,
    OPT_DATA,
    OPT_SPLIT,
    OPT_N,
    OPT_BATCH,
    OPT_FIRST,
    OPT_OUT,
    OPT_NEGATIVES,
    OPT_PRESET,
    OPT_TRACE,
    OPT_INIT,
    OPT_DUMP_INIT,
    OPT_TRACE_DELTA,
};

static int fail(const cli_command *cmd) {
    fprintf(stderr, "uae %s: %s\n", cmd->name, uae_last_error());
    return CLI_EXIT_FAILURE;
}

/* The settings of a run as one JSON line: a rerun into the same folder must have the same ones to
 * continue (else its examples would mix two settings). contrastive: whether the negatives count. */
static char *settings_json(const char *model, const char *data, const char *split, long long first,
                           long long n, uint64_t seed, const uae_attack_config *ac,
                           bool contrastive, const char *init) {
    json_t *o = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:s, s:s, s:i, s:i, s:i, s:i, s:f, s:f,"
                          " s:b, s:f}",
                          "model", model, "data", data ? data : UAE_DATA_DEFAULT_PATH, "split",
                          split, "first", (json_int_t)first, "n", (json_int_t)n, "seed",
                          (json_int_t)seed, "attack", uae_attack_method_name(ac->method),
                          "samples", uae_attack_samples_name(ac->samples), "iterations",
                          ac->iterations, "mine_steps", ac->mine_steps, "mine_hidden",
                          ac->mine.hidden, "mine_filters", ac->mine.conv_filters, "eps",
                          (double)ac->eps, "lr", (double)ac->lr, "targeted", ac->targeted,
                          "kappa", (double)ac->kappa);
    if (o && contrastive) json_object_set_new(o, "negatives", json_integer(ac->negatives_n));
    /* Recorded only where they matter or differ from the defaults, so that folders of earlier
     * versions still continue. */
    if (o && ac->samples == UAE_ATTACK_SAMPLES_RANDOM) {
        json_object_set_new(o, "proj_count", json_integer(ac->proj_count));
        json_object_set_new(o, "proj_dim", json_integer(ac->proj_dim));
    }
    if (o && init) json_object_set_new(o, "init", json_string(init));
    if (o && ac->mine_warmup > 0) json_object_set_new(o, "mine_warmup", json_integer(ac->mine_warmup));
    if (o && ac->mine.opt.p.lr != 1.5e-5f)
        json_object_set_new(o, "mine_lr", json_real(ac->mine.opt.p.lr));
    char *s = o ? json_dumps(o, JSON_SORT_KEYS | JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* The first setting in which the run recorded in old differs from this one's (new), except n,
 * which may grow; NULL if none. Keys of either side count (a setting one of them lacks). */
static const char *first_difference(json_t *old, json_t *new) {
    json_t *sides[2] = {new, old};
    for (int k = 0; k < 2; k++) {
        const char *key;
        json_t *v;
        json_object_foreach(sides[k], key, v) {
            if (strcmp(key, "n") == 0) continue;
            json_t *w = json_object_get(sides[1 - k], key);
            if (!w || !json_equal(v, w)) return key;
        }
    }
    return NULL;
}

/* Compares the settings with DIR/settings.json (a rerun) or writes them there (a new run or a
 * larger --n). *resume tells whether there is something to continue. */
static int check_settings(const cli_command *cmd, const char *path, const char *settings,
                          bool *resume) {
    char buf[8192]; /* settings_json holds two paths of up to 4096 bytes */
    bool exists;
    json_t *old = NULL;
    *resume = false;
    /* uae_file_read_text: a FIFO or other special file is refused, not waited on */
    if (uae_file_read_text(path, buf, sizeof buf, &exists) != UAE_OK) return fail(cmd);
    if (exists) {
        json_error_t err;
        old = json_loads(buf, 0, &err);
        json_t *new = json_loads(settings, 0, NULL);
        const char *key = old && new ? first_difference(old, new) : "?";
        if (!old) {
            fprintf(stderr, "uae %s: %s: not the settings of a run (%s); use another --out "
                    "folder, or remove that one\n", cmd->name, path, err.text);
        } else if (key) {
            char *a = json_dumps(json_object_get(old, key), JSON_ENCODE_ANY | JSON_REAL_PRECISION(7));
            char *b = json_dumps(json_object_get(new, key), JSON_ENCODE_ANY | JSON_REAL_PRECISION(7));
            fprintf(stderr, "uae %s: %s was made with %s = %s, this run has %s = %s (its other "
                    "settings may differ too); rerun with the same options to continue, or use "
                    "another --out folder\n", cmd->name, path, key, a ? a : "(nothing)", key,
                    b ? b : "(nothing)");
            free(a);
            free(b);
        }
        bool same = old && !key;
        bool grows = same && !json_equal(json_object_get(old, "n"), json_object_get(new, "n"));
        json_decref(old);
        json_decref(new);
        if (!same) return CLI_EXIT_FAILURE;
        *resume = true;
        if (!grows) return CLI_EXIT_OK;
        /* Another --n: the examples already made are those of the run so far (its first ones);
         * the record says the new count. (Fewer than there are is refused when generating.) */
    }
    uae_atomic_file *af;
    if (uae_atomic_file_open(path, &af) != UAE_OK) return fail(cmd);
    fprintf(uae_atomic_file_stream(af), "%s\n", settings);
    if (uae_atomic_file_commit(af) != UAE_OK) return fail(cmd);
    return CLI_EXIT_OK;
}

/* Reads the "success" of each statistics line into success[0 .. n) (0 or 1). */
static uae_status read_success(const char *path, int64_t n, uint8_t *success) {
    FILE *f;
    UAE_TRY(uae_file_open(path, "r", &f));
    char *line = NULL;
    size_t cap = 0;
    int64_t i = 0;
    while (i < n && getline(&line, &cap, f) > 0) {
        json_t *o = json_loads(line, 0, NULL);
        success[i++] = json_is_true(json_object_get(o, "success")) ? 1 : 0;
        json_decref(o);
    }
    free(line);
    fclose(f);
    if (i < n) return uae_fail(UAE_ERR_FORMAT, "%s: %lld lines, expected %lld", path,
                               (long long)i, (long long)n);
    return UAE_OK;
}

typedef struct attack_args {
    const char *model, *split, *out, *preset;
    cli_data_args data; /* default: the checkpoint's data set, table options and scaling */
    const char *trace; /* --trace FILE, or NULL */
    const char *init, *dump_init; /* --init FILE, --dump-init FILE, or NULL */
    bool trace_delta;             /* --trace-delta */
    long long n, batch, first;
    long long negatives; /* 0: the default */
    cli_attack_args at;
} attack_args;

static int parse_attack(const cli_command *cmd, cli_globals *g, int argc, char **argv,
                        attack_args *a, bool *stop) {
    struct option opts[CLI_MAX_OPTIONS];
    static const struct option own[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"data", required_argument, NULL, OPT_DATA},
        {"split", required_argument, NULL, OPT_SPLIT},
        {"n", required_argument, NULL, OPT_N},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"first", required_argument, NULL, OPT_FIRST},
        {"out", required_argument, NULL, OPT_OUT},
        {"negatives", required_argument, NULL, OPT_NEGATIVES},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"trace", required_argument, NULL, OPT_TRACE},
        {"init", required_argument, NULL, OPT_INIT},
        {"dump-init", required_argument, NULL, OPT_DUMP_INIT},
        {"trace-delta", no_argument, NULL, OPT_TRACE_DELTA},
    };
    cli_attack_options_join(own, sizeof own / sizeof own[0], opts);
    cli_data_options_append(opts);
    *a = (attack_args){.split = "train", .n = 100, .batch = 16};
    cli_attack_args_init(&a->at);
    cli_data_args_init(&a->data);
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, opts);
    *stop = false;
    for (int c; (c = cli_next(&p)) != -1;) {
        const char *v = p.arg;
        int rc = CLI_EXIT_OK;
        switch (c) {
        case CLI_STOP: *stop = true; return p.exit_code;
        case OPT_MODEL: a->model = v; break;
        case OPT_DATA: a->data.path = v; break;
        case OPT_SPLIT: a->split = v; break;
        case OPT_PRESET: a->preset = v; break;
        case OPT_OUT: a->out = v; break;
        case OPT_TRACE: a->trace = v; break;
        case OPT_INIT: a->init = v; break;
        case OPT_DUMP_INIT: a->dump_init = v; break;
        case OPT_TRACE_DELTA: a->trace_delta = true; break;
        case OPT_N: rc = cli_parse_int(cmd, "--n", v, 1, INT64_MAX, &a->n); break;
        case OPT_BATCH: rc = cli_parse_int(cmd, "--batch", v, 1, 1 << 16, &a->batch); break;
        case OPT_FIRST: rc = cli_parse_int(cmd, "--first", v, 0, INT64_MAX, &a->first); break;
        case OPT_NEGATIVES:
            rc = cli_parse_int(cmd, "--negatives", v, 1, 1 << 20, &a->negatives);
            break;
        default:
            rc = cli_attack_option(cmd, &a->at, c, v);
            if (rc < 0) rc = cli_data_option(cmd, &a->data, c, v);
            if (rc < 0) return cli_usage_error(cmd, "unhandled option");
        }
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (cli_check_positional(&p, 0) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
    if (!a->model) return cli_usage_error(cmd, "--model CKPT is required (from `uae train`)");
    if (!a->out) return cli_usage_error(cmd, "--out DIR is required");
    if (a->trace_delta && !a->trace) return cli_usage_error(cmd, "--trace-delta needs --trace FILE");
    if (uae_dist_size(g->dist) > 1 && (a->trace || a->init || a->dump_init))
        return cli_usage_error(cmd, "--trace, --init and --dump-init need a run of one process "
                               "(this is rank %d of %d)", uae_dist_rank(g->dist),
                               uae_dist_size(g->dist));
    if (strcmp(a->split, "train") != 0 && strcmp(a->split, "test") != 0)
        return cli_usage_error(cmd, "--split: '%s' is not train or test", a->split);
    if (a->preset && strcmp(a->preset, "demo") != 0 && strcmp(a->preset, "paper") != 0)
        return cli_usage_error(cmd, "--preset: '%s' is not demo or paper", a->preset);
    uae_attack_config check; /* the attack options' names, checked before anything is loaded */
    uae_attack_defaults(UAE_MODEL_AUTOENCODER, &check);
    return cli_attack_apply(cmd, &a->at, &check);
}

/* Attacks, then writes the safetensors file and prints the summary. train: where a contrastive
 * model's negatives come from (whichever split is attacked); sc: the table's scaling. */
static int attack_with(const cli_command *cmd, cli_globals *g, const attack_args *a,
                       uae_model *m, const uae_dataset *ds, const uae_dataset *train,
                       const cli_scaling *sc) {
    const uae_model_config *mc = uae_model_config_of(m);
    if (ds->c != mc->channels || ds->h != mc->height || ds->w != mc->width) {
        fprintf(stderr, "uae %s: the data's examples are %d x %d x %d, the model expects %d x %d "
                "x %d\n", cmd->name, ds->c, ds->h, ds->w, mc->channels, mc->height, mc->width);
        return CLI_EXIT_FAILURE;
    }
    if (a->first >= ds->n) {
        fprintf(stderr, "uae %s: --first %lld: the %s split has %lld examples\n", cmd->name,
                a->first, a->split, (long long)ds->n);
        return CLI_EXIT_USAGE;
    }
    int64_t n = ds->n - a->first < a->n ? ds->n - a->first : a->n;
    uae_attack_config ac;
    if (uae_attack_defaults(mc->kind, &ac) != UAE_OK) return fail(cmd);
    if (a->preset && strcmp(a->preset, "demo") == 0) cli_attack_preset_demo(&ac);
    int rc = cli_attack_apply(cmd, &a->at, &ac);
    if (rc != CLI_EXIT_OK) return rc;
    ac.seed = g->seed;
    const float *x = ds->x + a->first * ds->d;
    /* The contrastive loss's negatives: a seeded set of training examples, the same for every
     * attacked example (so that its result does not depend on its batch). */
    bool contrastive = ac.loss == UAE_ATTACK_LOSS_MODEL && mc->kind == UAE_MODEL_CONTRASTIVE;
    float *negatives = NULL;
    if (contrastive) {
        if (a->negatives > 0) ac.negatives_n = a->negatives;
        negatives = malloc((size_t)(ac.negatives_n * train->d) * sizeof *negatives);
        if (!negatives) return CLI_EXIT_FAILURE;
        if (uae_attack_pick_negatives(train->x, train->n, train->d, ac.seed, ac.negatives_n,
                                      negatives) != UAE_OK) {
            free(negatives);
            return fail(cmd);
        }
        ac.negatives = negatives;
    }
    /* Labels: the CW loss of classifiers needs the true class, or the target class. */
    int32_t *labels = NULL;
    if (ac.loss == UAE_ATTACK_LOSS_CW) {
        if (!ds->y && !ac.targeted) {
            fprintf(stderr, "uae %s: attacking a classifier needs labels\n", cmd->name);
            free(negatives);
            return CLI_EXIT_FAILURE;
        }
        labels = malloc((size_t)n * sizeof *labels);
        if (!labels) {
            free(negatives);
            return CLI_EXIT_FAILURE;
        }
        for (int64_t i = 0; i < n; i++)
            labels[i] = ac.targeted ? (int32_t)a->at.target_class : ds->y[a->first + i];
    }
    /* Rank 0 alone writes the folder; the other ranks only attack (docs/cluster.md). */
    const bool root = cli_root(g);
    int dir_rc = CLI_EXIT_OK; /* agreed with the settings below, so that no rank waits alone */
    if (root && mkdir(a->out, 0777) != 0 && errno != EEXIST) {
        fprintf(stderr, "uae %s: %s: cannot create the folder (%s)\n", cmd->name, a->out,
                strerror(errno));
        dir_rc = CLI_EXIT_FAILURE;
    }
    char spath[1024], npy[1024], stats[1024], stpath[1024];
    snprintf(spath, sizeof spath, "%s/settings.json", a->out);
    snprintf(npy, sizeof npy, "%s/adversarial.npy", a->out);
    snprintf(stats, sizeof stats, "%s/stats.jsonl", a->out);
    snprintf(stpath, sizeof stpath, "%s/adversarial.safetensors", a->out);
    /* The initial state: written for another program (--dump-init), or taken from a file
     * instead of the seed (--init; recorded in the settings, as it changes the results). */
    uae_attack_init *init = NULL;
    uae_status ist = UAE_OK;
    if (a->dump_init) {
        ist = uae_attack_init_draw(m, &ac, (uint64_t)a->first, n, &init);
        if (ist == UAE_OK) ist = uae_attack_init_save(init, a->dump_init);
        uae_attack_init_free(init);
        init = NULL;
    }
    if (ist == UAE_OK && a->init) ist = uae_attack_init_load(a->init, m, &ac, (uint64_t)a->first, n, &init);
    if (ist != UAE_OK) {
        fprintf(stderr, "uae %s: %s\n", cmd->name, uae_last_error());
        free(labels);
        free(negatives);
        return CLI_EXIT_FAILURE;
    }
    ac.init = init;
    char *settings = settings_json(a->model, a->data.path, a->split, a->first, (long long)n, g->seed,
                                   &ac, contrastive, a->init);
    bool resume = false;
    rc = !settings || dir_rc != CLI_EXIT_OK ? CLI_EXIT_FAILURE
         : root                             ? check_settings(cmd, spath, settings, &resume)
                                            : CLI_EXIT_OK;
    free(settings);
    rc = cli_agree(cmd, g, rc);
    if (rc != CLI_EXIT_OK) {
        uae_attack_init_free(init);
        free(labels);
        free(negatives);
        return rc;
    }
    cli_gen_bar bar = {.quiet = g->quiet, .label = "attack", .log = &g->log};
    uae_generate_options go = {.npy_path = npy, .stats_path = stats, .batch = a->batch,
                               .resume = resume, .progress = cli_gen_bar_update, .user = &bar,
                               .dist = g->dist, .log = &g->log};
    uae_generate_summary s;
    cli_trace *trace = NULL;
    uae_status st = a->trace ? cli_trace_open(a->trace, resume, &trace) : UAE_OK;
    if (trace) cli_trace_set_delta(trace, a->trace_delta);
    ac.trace = trace ? cli_trace_record : NULL;
    ac.trace_user = trace;
    if (st == UAE_OK) st = uae_augment_generate(m, &ac, x, labels, n, (uint64_t)a->first, &go, &s);
    uae_status tst = cli_trace_close(trace);
    if (st == UAE_OK) st = tst;
    cli_gen_bar_end(&bar);
    uae_attack_init_free(init);
    free(labels);
    free(negatives);
    if (st != UAE_OK) return root ? fail(cmd) : CLI_EXIT_FAILURE; /* the message names the rank */
    if (!root) return cli_agree(cmd, g, CLI_EXIT_OK);

    /* The whole result in one file: x, x_adv, the rows' indices in the split and success; for a
     * table also its feature names and scaling (metadata, and features.json beside it). */
    uae_npy_array adv = {0};
    uint8_t *success = malloc((size_t)n * sizeof *success);
    int64_t *index = malloc((size_t)n * sizeof *index);
    st = success && index ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "out of memory for %lld rows",
                                              (long long)n);
    for (int64_t i = 0; st == UAE_OK && i < n; i++) index[i] = a->first + i;
    if (st == UAE_OK) st = uae_npy_read(npy, &adv);
    if (st == UAE_OK) st = read_success(stats, n, success);
    json_t *table = cli_data_describe(train, sc);
    char *table_s = table ? json_dumps(table, JSON_COMPACT) : NULL;
    if (st == UAE_OK) {
        uae_st_tensor t[4] = {
            {.name = "x", .ndim = 4, .shape = {n, ds->c, ds->h, ds->w}, .data = x},
            {.name = "x_adv", .ndim = 4, .shape = {n, ds->c, ds->h, ds->w}, .data = adv.data},
            {.name = "index", .ndim = 1, .shape = {n}, .data = index, .dtype = UAE_ST_I64},
            {.name = "success", .ndim = 1, .shape = {n}, .data = success, .dtype = UAE_ST_U8},
        };
        uae_st_meta meta[3] = {{"uae.attack", uae_attack_method_name(ac.method)},
                               {"uae.split", a->split},
                               {"uae.table", table_s}};
        st = uae_safetensors_write(stpath, t, 4, meta, table_s ? 3 : 2);
    }
    if (st == UAE_OK && table) {
        char fpath[1024];
        snprintf(fpath, sizeof fpath, "%s/features.json", a->out);
        st = cli_write_json(fpath, table);
    }
    json_decref(table);
    free(table_s);
    uae_npy_array_free(&adv);
    free(success);
    free(index);
    rc = cli_agree(cmd, g, st != UAE_OK ? fail(cmd) : CLI_EXIT_OK);
    if (rc != CLI_EXIT_OK) return rc;
    if (s.resumed > 0)
        printf("resumed after %lld examples already in %s\n", (long long)s.resumed, npy);
    printf("%lld example%s (%s): success rate %.3f, mean I %.4f, selected iterate 0 in %.3f of "
           "them; %lld attacked in %.1f s (%.3f UAEs/s)\n",
           (long long)s.n, s.n == 1 ? "" : "s", uae_attack_method_name(ac.method),
           (double)s.success / (double)s.n,
           s.mi_mean, (double)s.selected0 / (double)s.n, (long long)s.attacked, s.seconds,
           s.seconds > 0 ? (double)s.attacked / s.seconds : 0.0);
    printf("wrote %s, %s, %s%s%s\n", npy, stats, stpath, ds->feature_names ? ", " : "",
           ds->feature_names ? "features.json" : "");
    return CLI_EXIT_OK;
}

static int run_attack(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    attack_args a;
    bool stop;
    int rc = parse_attack(cmd, g, argc, argv, &a, &stop);
    if (stop || rc != CLI_EXIT_OK) return rc;
    uae_backend *be = NULL;
    rc = cli_agree(cmd, g, cli_open_device(cmd, g, &be));
    if (rc != CLI_EXIT_OK) {
        uae_backend_free(be);
        return rc;
    }
    uae_model *m = NULL;
    uae_dataset train = {0}, test = {0};
    uae_checkpoint_info info;
    cli_scaling sc = {0};
    if (uae_checkpoint_load_model(a.model, be, &m, &info) != UAE_OK) rc = fail(cmd);
    /* The data set, table options and scaling the model was trained with, unless given. */
    if (rc == CLI_EXIT_OK) rc = cli_data_args_merge_run(cmd, &a.data, info.run, a.model);
    if (rc == CLI_EXIT_OK) rc = cli_data_load(cmd, g, &a.data, &train, &test, &sc);
    rc = cli_agree(cmd, g, rc);
    if (rc == CLI_EXIT_OK)
        rc = attack_with(cmd, g, &a, m, strcmp(a.split, "test") == 0 ? &test : &train, &train,
                         &sc);
    uae_dataset_free(&train);
    uae_dataset_free(&test);
    cli_scaling_free(&sc);
    cli_data_args_free(&a.data);
    uae_model_free(m);
    uae_backend_free(be);
    return rc;
}

const cli_command cli_cmd_attack = {
    .name = "attack",
    .summary = "make unsupervised adversarial examples for a trained model",
    .usage = "attack --model CKPT --out DIR [OPTIONS]",
    .help =
        "Runs the MinMax attack (or a baseline) on N examples of a trained model's data and\n"
        "writes, into DIR: adversarial.npy (the examples, streamed batch by batch, so memory\n"
        "does not grow with N), stats.jsonl (per example: index, success, I, loss_clean,\n"
        "loss_adv, selected_iter, iterations, seconds: its share of its batch's wall time),\n"
        "adversarial.safetensors (at the end: x, x_adv, index (int64, the rows in the split),\n"
        "success (uint8)), settings.json, and for a table features.json (feature names and\n"
        "the scaling, to map rows back to the table's units). Rerunning the same command\n"
        "continues where adversarial.npy ends, with the same results as a run that never\n"
        "stopped; a larger --n extends the folder; other settings are refused, naming the\n"
        "first that differs.\n\n"
        "At the paper's settings an example takes about 40 s on 2 CPU cores (conv-ae); the run\n"
        "says its expected time once its first iterations are timed. --preset demo does about\n"
        "a tenth of the work (20 iterations of 4 small MINE steps, not 40 of 20). When stderr\n"
        "is not a terminal, a progress line is written at every tenth of the run and at least\n"
        "every 30 s.\n\n"
        "Options:\n"
        "  --model CKPT       a checkpoint from `uae train` (required)\n"
        "  --out DIR          the output folder (required)\n"
        "  --preset NAME      paper (the official attack settings, the default) or demo (20\n"
        "                     iterations of 4 MINE steps, MINE width 32 with 4 filters: the\n"
        "                     settings of `uae demo`); the attack options below override it\n"
        "  --data PATH        the data set (default: the one the model was trained on, read\n"
        "                     with the same table options and scaling)\n"
        "  --split NAME       train (default) or test\n"
        "  --n N              examples to attack (default 100)\n"
        "  --first I          start at example I of the split (default 0)\n"
        "  --batch B          examples attacked at once (default 16; results do not depend on it)\n"
        "  --negatives M      contrastive models: the loss's negatives, M training examples\n"
        "                     chosen by the seed (default 254)\n"
        "  --trace FILE       every iterate of every example as JSON lines (t, c, losses,\n"
        "                     violation, I, each MINE step's I, |delta|, selected; see the\n"
        "                     user guide)\n"
        "  --trace-delta      the trace's lines also hold delta_t in full (\"delta\")\n"
        "  --dump-init FILE   write the attack's initial state (delta_0, every MINE permutation,\n"
        "                     MINE's initial weights, random mode's projections) as\n"
        "                     safetensors, then attack\n"
        "  --init FILE        start from such a state instead of the seed (docs/method.md)\n"
        "\n" CLI_ATTACK_OPTIONS_HELP "\n" CLI_DATA_OPTIONS_HELP,
    .run = run_attack,
    .distributed = true,
};
