/* apps/cli_train.c — `uae train`, `uae eval` and `uae reconstruct`: the command-line front of the
 * training loop (uae/train.h) and of checkpoints (uae/checkpoint.h). Options, data loading,
 * progress and messages live here; the loop and the file format do not. */
#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"
#include "cli_data.h"
#include "uae/checkpoint.h"
#include "uae/image.h"
#include "uae/io.h"
#include "uae/train.h"

enum {
    OPT_MODEL = CLI_OPT_FIRST_COMMAND,
    OPT_DATA,
    OPT_EPOCHS,
    OPT_BATCH,
    OPT_LR,
    OPT_OPTIMIZER,
    OPT_N_TRAIN,
    OPT_N_TEST,
    OPT_VAL,
    OPT_OUT,
    OPT_RESUME,
    OPT_LOG,
    OPT_HIDDEN,
    OPT_LATENT,
    OPT_SELECT_K,
    OPT_DROPOUT,
    OPT_TAU,
    OPT_N,
    OPT_SCALE,
    OPT_JSON,
    OPT_CHECKPOINT_EVERY,
    OPT_MICRO_BATCH,
};

/* ---- Shared by the three commands ------------------------------------------------------------ */

/* The data sets a command works on: the train and test splits of --data, cut down as asked. */
typedef struct cli_data {
    uae_dataset train, val, test;
    cli_scaling scaling; /* of the table's features (tables: minmax by default) */
} cli_data;

static void cli_data_free(cli_data *d) {
    uae_dataset_free(&d->train);
    uae_dataset_free(&d->val);
    uae_dataset_free(&d->test);
    cli_scaling_free(&d->scaling);
}

/* Replaces *ds by its seeded subset of n examples (n = 0: all). */
static uae_status keep_subset(uae_dataset *ds, int64_t n, uint64_t seed) {
    if (n <= 0 || n >= ds->n) return UAE_OK;
    uae_dataset sub;
    UAE_TRY(uae_data_subset(ds, n, seed, &sub));
    uae_dataset_free(ds);
    *ds = sub;
    return UAE_OK;
}

/* Loads da->path (NULL: Fashion-MNIST) with its table options and scaling (computed on the whole
 * train split), keeps n_train / n_test seeded examples (0: all) and holds n_val training examples
 * out for validation. Prints the error and returns CLI_EXIT_FAILURE. */
static int load_data(const cli_command *cmd, const cli_globals *g, const cli_data_args *da,
                     int64_t n_train, int64_t n_val, int64_t n_test, uint64_t seed, cli_data *d) {
    memset(d, 0, sizeof *d);
    int rc = cli_data_load(cmd, g, da, &d->train, &d->test, &d->scaling);
    if (rc != CLI_EXIT_OK) return rc;
    uae_status st = UAE_OK;
    if (n_train > d->train.n)
        st = uae_fail(UAE_ERR_INVALID, "--n-train %lld: the training split has only %lld "
                      "examples (leave --n-train out to use them all)", (long long)n_train,
                      (long long)d->train.n);
    if (st == UAE_OK) st = keep_subset(&d->train, n_train, seed);
    if (st == UAE_OK) st = keep_subset(&d->test, n_test, seed);
    if (st == UAE_OK && n_val > 0) {
        if (n_val >= d->train.n)
            st = uae_fail(UAE_ERR_INVALID, "--val %lld leaves no training examples (of %lld)",
                          (long long)n_val, (long long)d->train.n);
        uae_dataset rest;
        if (st == UAE_OK) st = uae_data_split(&d->train, n_val, seed, &rest, &d->val);
        if (st == UAE_OK) {
            uae_dataset_free(&d->train);
            d->train = rest;
        }
    }
    if (st != UAE_OK) {
        fprintf(stderr, "uae %s: %s\n", cmd->name, uae_last_error());
        cli_data_free(d);
        return CLI_EXIT_FAILURE;
    }
    return CLI_EXIT_OK;
}

/* Prints the library's last error as the command's and returns CLI_EXIT_FAILURE. */
static int runtime_error(const cli_command *cmd) {
    fprintf(stderr, "uae %s: %s\n", cmd->name, uae_last_error());
    return CLI_EXIT_FAILURE;
}

static bool file_exists(const char *path) {
    struct stat sb;
    return stat(path, &sb) == 0;
}

/* "0.0123" or "-" for a metric that does not apply. */
static const char *metric(double v, char *buf, size_t cap) {
    if (isfinite(v))
        snprintf(buf, cap, "%.4f", v);
    else
        snprintf(buf, cap, "-");
    return buf;
}

/* " | test loss 0.0390 mse 0.0390 acc 0.8812" for the metrics that apply. */
static void format_eval(const char *what, const uae_eval_stats *e, char *buf, size_t cap) {
    buf[0] = '\0';
    if (e->n == 0) return;
    size_t len = (size_t)snprintf(buf, cap, " | %s loss %.4f", what, e->loss);
    if (isfinite(e->mse) && len < cap)
        len += (size_t)snprintf(buf + len, cap - len, " mse %.4f", e->mse);
    if (isfinite(e->accuracy) && len < cap)
        snprintf(buf + len, cap - len, " accuracy %.4f", e->accuracy);
}

/* ---- uae train ------------------------------------------------------------------------------- */

typedef struct train_args {
    const char *model, *out, *log, *optimizer;
    cli_data_args data;
    long long epochs, batch, n_train, n_test, n_val, hidden, latent, select_k, checkpoint_every;
    long long micro_batch; /* 0: the batch */
    double lr, dropout, tau;
    bool resume;
    bool stop;  /* parsing ended the command (--help, a usage error): return its exit code */
} train_args;

static int parse_train(const cli_command *cmd, cli_globals *g, int argc, char **argv,
                       train_args *a) {
    static const struct option opts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"data", required_argument, NULL, OPT_DATA},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"lr", required_argument, NULL, OPT_LR},
        {"optimizer", required_argument, NULL, OPT_OPTIMIZER},
        {"n-train", required_argument, NULL, OPT_N_TRAIN},
        {"n-test", required_argument, NULL, OPT_N_TEST},
        {"val", required_argument, NULL, OPT_VAL},
        {"out", required_argument, NULL, OPT_OUT},
        {"resume", no_argument, NULL, OPT_RESUME},
        {"checkpoint-every", required_argument, NULL, OPT_CHECKPOINT_EVERY},
        {"micro-batch", required_argument, NULL, OPT_MICRO_BATCH},
        {"log", required_argument, NULL, OPT_LOG},
        {"hidden", required_argument, NULL, OPT_HIDDEN},
        {"latent", required_argument, NULL, OPT_LATENT},
        {"select-k", required_argument, NULL, OPT_SELECT_K},
        {"dropout", required_argument, NULL, OPT_DROPOUT},
        {"tau", required_argument, NULL, OPT_TAU},
        {0},
    };
    struct option all[CLI_MAX_OPTIONS];
    memcpy(all, opts, sizeof opts);
    cli_data_options_append(all);
    *a = (train_args){.epochs = -1, .batch = -1, .hidden = -1, .latent = -1, .select_k = -1,
                      .lr = NAN, .dropout = NAN, .tau = NAN};
    cli_data_args_init(&a->data);
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, all);
    for (int c; (c = cli_next(&p)) != -1;) {
        int rc = CLI_EXIT_OK;
        const char *v = p.arg;
        switch (c) {
        case CLI_STOP: a->stop = true; return p.exit_code;
        case OPT_MODEL: a->model = v; break;
        case OPT_DATA: a->data.path = v; break;
        case OPT_OUT: a->out = v; break;
        case OPT_LOG: a->log = v; break;
        case OPT_OPTIMIZER: a->optimizer = v; break;
        case OPT_RESUME: a->resume = true; break;
        case OPT_EPOCHS: rc = cli_parse_int(cmd, "--epochs", v, 1, 1000000, &a->epochs); break;
        case OPT_BATCH: rc = cli_parse_int(cmd, "--batch", v, 1, 1 << 20, &a->batch); break;
        case OPT_N_TRAIN: rc = cli_parse_int(cmd, "--n-train", v, 1, INT64_MAX, &a->n_train); break;
        case OPT_N_TEST: rc = cli_parse_int(cmd, "--n-test", v, 1, INT64_MAX, &a->n_test); break;
        case OPT_VAL: rc = cli_parse_int(cmd, "--val", v, 1, INT64_MAX, &a->n_val); break;
        case OPT_HIDDEN: rc = cli_parse_int(cmd, "--hidden", v, 1, 1 << 20, &a->hidden); break;
        case OPT_LATENT: rc = cli_parse_int(cmd, "--latent", v, 1, 1 << 20, &a->latent); break;
        case OPT_SELECT_K:
            rc = cli_parse_int(cmd, "--select-k", v, 1, 1 << 20, &a->select_k);
            break;
        case OPT_MICRO_BATCH:
            rc = cli_parse_int(cmd, "--micro-batch", v, 1, 1 << 20, &a->micro_batch);
            break;
        case OPT_CHECKPOINT_EVERY:
            rc = cli_parse_int(cmd, "--checkpoint-every", v, 1, INT64_MAX, &a->checkpoint_every);
            break;
        case OPT_LR: rc = cli_parse_float(cmd, "--lr", v, 1e-12, 1e6, &a->lr); break;
        case OPT_DROPOUT: rc = cli_parse_float(cmd, "--dropout", v, 0.0, 0.99, &a->dropout); break;
        case OPT_TAU: rc = cli_parse_float(cmd, "--tau", v, 1e-6, 1e6, &a->tau); break;
        default:
            rc = cli_data_option(cmd, &a->data, c, v);
            if (rc < 0) return cli_usage_error(cmd, "unhandled option");
        }
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (cli_check_positional(&p, 0) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
    if (!a->model) return cli_usage_error(cmd, "--model NAME is required (one of the presets)");
    if (!a->out) return cli_usage_error(cmd, "--out FILE is required (the checkpoint)");
    return CLI_EXIT_OK;
}

/* The preset's defaults for the data's shape, with the command line's overrides. */
static int make_config(const cli_command *cmd, const train_args *a, const uae_dataset *train,
                       uae_model_config *cfg) {
    if (uae_model_defaults(a->model, train->c, train->h, train->w, train->num_classes, cfg) !=
        UAE_OK)
        return cli_usage_error(cmd, "--model: %s", uae_last_error());
    if (a->optimizer) {
        uae_optim_fn fn;
        if (uae_optimizer_parse(a->optimizer, &fn) != UAE_OK)
            return cli_usage_error(cmd, "--optimizer: %s", uae_last_error());
        if (fn != cfg->opt.p.fn) cfg->opt = uae_optimizer_default(fn);
    }
    /* The model-specific options, each rejected where the preset has no such setting. */
    const struct {
        const char *option, *presets;
        bool given, applies;
    } specific[] = {
        {"--hidden", "dense-ae and sparse-ae", a->hidden > 0,
         strcmp(cfg->preset, "dense-ae") == 0 || strcmp(cfg->preset, "sparse-ae") == 0},
        {"--latent", "aae", a->latent > 0, strcmp(cfg->preset, "aae") == 0},
        {"--select-k", "concrete-ae", a->select_k > 0, strcmp(cfg->preset, "concrete-ae") == 0},
        {"--dropout", "classifier and concrete-ae", !isnan(a->dropout),
         strcmp(cfg->preset, "classifier") == 0 || strcmp(cfg->preset, "concrete-ae") == 0},
        {"--tau", "simclr-small", !isnan(a->tau), strcmp(cfg->preset, "simclr-small") == 0},
    };
    for (size_t i = 0; i < sizeof specific / sizeof specific[0]; i++)
        if (specific[i].given && !specific[i].applies)
            return cli_usage_error(cmd, "%s does not apply to %s (only to %s)", specific[i].option,
                                   cfg->preset, specific[i].presets);
    if (a->epochs > 0) cfg->epochs = (int)a->epochs;
    if (a->batch > 0) cfg->batch = (int)a->batch;
    if (!isnan(a->lr)) cfg->opt.p.lr = (float)a->lr;
    if (a->hidden > 0) cfg->hidden = (int)a->hidden;
    if (a->latent > 0) cfg->latent = (int)a->latent;
    if (a->select_k > 0) cfg->select_k = (int)a->select_k;
    if (!isnan(a->dropout)) cfg->dropout = (float)a->dropout;
    if (!isnan(a->tau)) cfg->tau = (float)a->tau;
    return CLI_EXIT_OK;
}

/* The settings that choose the data, saved in the checkpoint (uae.run) for eval, attack and
 * resume: the data set (absolute, and relative to the checkpoint), the table options and the
 * scaling with its numbers. */
static char *run_json(const train_args *a, const cli_data *d) {
    json_t *o = json_pack("{s:I, s:I, s:I, s:I}", "n_train", (json_int_t)a->n_train, "n_val",
                          (json_int_t)a->n_val, "n_test", (json_int_t)a->n_test, "train_examples",
                          (json_int_t)d->train.n);
    if (o && cli_data_args_record(&a->data, &d->scaling, a->out, o) != CLI_EXIT_OK) {
        json_decref(o);
        o = NULL;
    }
    char *s = o ? json_dumps(o, JSON_COMPACT) : NULL;
    json_decref(o);
    return s;
}

/* --resume continues a run only with the same settings: compares the checkpoint's configuration
 * (except the number of epochs, which may grow), data settings and seed with this command's. */
static int check_resume(const cli_command *cmd, const char *path, const uae_model_config *cfg,
                        const char *run, uint64_t seed, const uae_model_config *ccfg,
                        const uae_checkpoint_info *info) {
    char *mine = uae_model_config_to_json(cfg), *theirs = uae_model_config_to_json(ccfg);
    json_t *a = mine ? json_loads(mine, 0, NULL) : NULL;
    json_t *b = theirs ? json_loads(theirs, 0, NULL) : NULL;
    json_t *ra = json_loads(run, 0, NULL);
    json_t *rb = json_loads(info->run[0] ? info->run : "{}", 0, NULL);
    free(mine);
    free(theirs);
    int rc = CLI_EXIT_OK;
    if (!a || !b || !ra || !rb) {
        /* The checkpoint's settings were checked when it was read; this run's are ours. */
        fprintf(stderr, "uae %s: --resume: cannot compare the settings of %s with this command's "
                "(%s)\n", cmd->name, path, !rb ? "the checkpoint's run settings are not JSON"
                                               : "out of memory");
        rc = CLI_EXIT_FAILURE;
    }
    const json_t *pairs[2][2] = {{a, b}, {ra, rb}};
    for (int k = 0; k < 2 && rc == CLI_EXIT_OK; k++) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)pairs[k][0], key, v) {
            json_t *w = json_object_get(pairs[k][1], key);
            /* epochs may grow; the test subset is only evaluated, it does not change training;
             * a data set that moved with its checkpoint is the same (train_examples compares) */
            if (strcmp(key, "epochs") == 0 || strcmp(key, "n_test") == 0 ||
                strcmp(key, "data") == 0 || strcmp(key, "data_from_checkpoint") == 0 ||
                (w && json_equal(v, w)))
                continue;
            /* A checkpoint of a version before table options: read as it was (merged: none). */
            if (!w && strcmp(key, "table") == 0) continue;
            /* float32 settings read back as doubles: 7 digits print them as typed (0.001) */
            char *vs = json_dumps(v, JSON_ENCODE_ANY | JSON_REAL_PRECISION(7));
            char *ws = w ? json_dumps(w, JSON_ENCODE_ANY | JSON_REAL_PRECISION(7)) : NULL;
            rc = cli_usage_error(cmd, "--resume: %s was made with %s = %s, this command asks for "
                                 "%s (resume with the same options, or train afresh without "
                                 "--resume)", path, key, ws ? ws : "(nothing)", vs ? vs : "?");
            free(vs);
            free(ws);
            break;
        }
    }
    if (rc == CLI_EXIT_OK && info->seed != seed)
        rc = cli_usage_error(cmd, "--resume: %s was made with --seed %llu, this command has "
                             "--seed %llu", path, (unsigned long long)info->seed,
                             (unsigned long long)seed);
    json_decref(a);
    json_decref(b);
    json_decref(ra);
    json_decref(rb);
    return rc;
}

/* Progress: a bar per epoch (examples done, images/s, the step's loss) and a line per epoch. */
typedef struct train_view {
    const cli_globals *g;
    uae_progress bar;
    int bar_epoch;       /* the epoch the bar shows; 0: none open */
    int bar_epoch_done;  /* the last epoch whose steps ended (the one being evaluated) */
    uae_progress eval_bar;
    bool eval_open;
} train_view;

/* The bar counts images, so its rate is the throughput in images/s; it ends with the epoch's last
 * step, before the evaluation. */
static void on_batch(void *user, int epoch, int64_t done, int64_t n, float loss) {
    train_view *v = user;
    if (done == 0) {
        char label[32];
        snprintf(label, sizeof label, "epoch %d", epoch);
        uae_progress_begin(&v->bar, label, n, v->g->quiet);
        v->bar_epoch = epoch;
        return;
    }
    uae_progress_update(&v->bar, done, "loss=%.4f", (double)loss);
    if (done == n) {
        uae_progress_end(&v->bar);
        v->bar_epoch_done = epoch;
        v->bar_epoch = 0;
    }
}

/* The evaluation after an epoch: a bar over its examples (a large test set takes a while). */
static void on_eval(void *user, const char *set, int64_t done, int64_t n) {
    train_view *v = user;
    if (done == 0) {
        char label[32];
        snprintf(label, sizeof label, "epoch %d %s", v->bar_epoch_done, set);
        /* On a terminal only: in a log, the epoch's line with the metrics follows at once. */
        uae_progress_begin(&v->eval_bar, label, n, v->g->quiet || !isatty(fileno(stderr)));
        v->eval_open = true;
        return;
    }
    uae_progress_update(&v->eval_bar, done, NULL);
    if (done == n) {
        uae_progress_end(&v->eval_bar);
        v->eval_open = false;
    }
}

static void on_epoch(void *user, const uae_train_stats *s) {
    train_view *v = user;
    char val[96], test[96], rate[16];
    format_eval("val", &s->val, val, sizeof val);
    format_eval("test", &s->test, test, sizeof test);
    uae_logf(&v->g->log, UAE_LOG_INFO, "epoch %d/%d: train loss %.4f%s%s | %.1f s, %s images/s",
             s->epoch, s->epochs, s->train_loss, val, test, s->seconds,
             uae_format_rate(s->images_per_s, rate, sizeof rate));
}

/* --resume: checks the settings of the checkpoint at --out against this command's and loads it into
 * m; *info receives where the run continues. *done is set if there is nothing left to train. */
static int load_for_resume(const cli_command *cmd, const cli_globals *g, const train_args *a,
                           const uae_model_config *cfg, const char *run, uae_model *m,
                           uae_checkpoint_info *info, bool *done) {
    uae_model_config ccfg;
    *done = false;
    if (uae_checkpoint_read_config(a->out, &ccfg, info) != UAE_OK) return runtime_error(cmd);
    int rc = check_resume(cmd, a->out, cfg, run, g->seed, &ccfg, info);
    if (rc != CLI_EXIT_OK) return rc;
    if (uae_checkpoint_load(a->out, m, info) != UAE_OK) return runtime_error(cmd);
    if (info->epoch > cfg->epochs)
        return cli_usage_error(cmd, "--resume: %s has %lld epoch%s already, more than --epochs %d",
                               a->out, (long long)info->epoch, info->epoch == 1 ? "" : "s",
                               cfg->epochs);
    if (info->epoch == cfg->epochs) {
        uae_logf(&g->log, UAE_LOG_INFO, "%s has all %d epoch%s already: nothing to do (--epochs N "
                 "trains it further)", a->out, cfg->epochs, cfg->epochs == 1 ? "" : "s");
        *done = true;
    } else if (info->epoch_step) {
        uae_logf(&g->log, UAE_LOG_INFO, "resuming %s in epoch %lld after its step %lld (step %lld "
                 "of the run)", a->out, (long long)info->epoch + 1, (long long)info->epoch_step,
                 (long long)info->step);
    } else {
        uae_logf(&g->log, UAE_LOG_INFO, "resuming %s after epoch %lld (step %lld)", a->out,
                 (long long)info->epoch, (long long)info->step);
    }
    return CLI_EXIT_OK;
}

static int train_with(const cli_command *cmd, cli_globals *g, const train_args *a, cli_data *d,
                      uae_backend *be) {
    uae_model_config cfg;
    int rc = make_config(cmd, a, &d->train, &cfg);
    if (rc != CLI_EXIT_OK) return rc;
    char *run = run_json(a, d);
    if (!run) return runtime_error(cmd);
    uae_train_options o = uae_train_options_default();
    o.epochs = cfg.epochs;
    o.batch = cfg.batch;
    o.seed = g->seed;
    o.val = d->val.n ? &d->val : NULL;
    o.test = d->test.n ? &d->test : NULL;
    o.checkpoint = a->out;
    o.checkpoint_every = a->checkpoint_every;
    o.run_json = run;
    o.log_path = a->log;
    o.log = &g->log;
    o.dist = g->dist;
    if (a->micro_batch > 0 && cfg.batch % a->micro_batch != 0)
        rc = cli_usage_error(cmd, "--micro-batch %lld does not divide the batch (%d): the batch is "
                             "cut into micro-batches of equal size", a->micro_batch, cfg.batch);
    o.micro_batch = a->micro_batch;
    uae_model *m = NULL;
    uae_checkpoint_info info; /* where a resumed run continues (o.resume) */
    bool done = false;
    if (rc == CLI_EXIT_OK && uae_model_create(be, &cfg, g->seed, &m) != UAE_OK)
        rc = runtime_error(cmd);
    /* A preset whose loss couples the batch's rows cannot be cut: say so before any data moves. */
    bool parts = (o.micro_batch > 0 && o.micro_batch < cfg.batch) || uae_dist_size(g->dist) > 1;
    if (rc == CLI_EXIT_OK && parts && uae_model_check_micro_batches(m) != UAE_OK)
        rc = cli_usage_error(cmd, "%s", uae_last_error());
    if (rc == CLI_EXIT_OK && a->resume && !file_exists(a->out)) {
        uae_logf(&g->log, UAE_LOG_INFO, "--resume: no checkpoint %s yet, starting afresh", a->out);
    } else if (rc == CLI_EXIT_OK && a->resume) {
        rc = load_for_resume(cmd, g, a, &cfg, run, m, &info, &done);
        o.resume = &info;
        o.log_append = true;
    }
    /* A checkpoint that cannot be written is better known now than after the first epoch. */
    uae_atomic_file *probe = NULL;
    if (rc == CLI_EXIT_OK && !done && cli_root(g) && uae_atomic_file_open(a->out, &probe) != UAE_OK)
        rc = runtime_error(cmd);
    uae_atomic_file_abort(probe);
    /* Under mpirun the ranks train together or not at all: a rank that failed so far (its
     * checkpoint unreadable, rank 0's --out not writable), or that found the run finished where
     * rank 0 did not, fails the job here rather than leave the others waiting. */
    if (uae_dist_size(g->dist) > 1) {
        rc = cli_agree(cmd, g, rc);
        bool root_done = done;
        if (rc == CLI_EXIT_OK &&
            uae_dist_broadcast(g->dist, &root_done, sizeof root_done, 0) != UAE_OK)
            rc = runtime_error(cmd);
        if (rc == CLI_EXIT_OK && root_done != done) {
            fprintf(stderr, "uae %s: rank %d: --resume: %s %s, on rank 0 it %s (every rank must "
                    "see the same --out)\n", cmd->name, uae_dist_rank(g->dist), a->out,
                    done ? "is finished" : "is not finished", root_done ? "is" : "is not");
            rc = CLI_EXIT_USAGE;
        }
        rc = cli_agree(cmd, g, rc);
    }
    if (rc == CLI_EXIT_OK && !done) {
        uae_logf(&g->log, UAE_LOG_INFO, "training %s on %lld examples (%lld test) for %d epoch%s "
                 "of batches of %d with %s, lr %g, on %s", cfg.preset, (long long)d->train.n,
                 (long long)d->test.n, cfg.epochs, cfg.epochs == 1 ? "" : "s", cfg.batch,
                 uae_optimizer_name(cfg.opt.p.fn), (double)cfg.opt.p.lr, uae_backend_name(be));
        train_view view = {.g = g};
        o.on_batch = on_batch;
        o.on_epoch = on_epoch;
        o.on_eval = on_eval;
        o.user = &view;
        uae_train_stats last;
        uae_status st = uae_train_run(m, &d->train, &o, &last);
        if (view.bar_epoch) uae_progress_end(&view.bar);
        if (view.eval_open) uae_progress_end(&view.eval_bar);
        if (st != UAE_OK)
            rc = cli_root(g) ? runtime_error(cmd) : CLI_EXIT_FAILURE; /* rank 0 says which rank */
        else if (cli_root(g)) /* the result: on stdout, as every command's (notes: stderr) */
            printf("saved %s (epoch %d, step %lld)\n", a->out, last.epoch, (long long)last.step);
    }
    uae_model_free(m);
    free(run);
    return rc;
}

static int run_train(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    train_args a;
    int rc = parse_train(cmd, g, argc, argv, &a);
    if (rc != CLI_EXIT_OK || a.stop) return rc;
    if (!cli_root(g)) { /* under mpirun: rank 0 speaks for the job */
        g->quiet = true;
        if (g->log.level > UAE_LOG_WARN) g->log.level = UAE_LOG_WARN;
    }
    uae_backend *be;
    rc = cli_open_device(cmd, g, &be);
    if (rc != CLI_EXIT_OK) return rc;
    /* --resume: the data set and table options default to the checkpoint's. */
    uae_model_config ccfg;
    uae_checkpoint_info cinfo;
    if (a.resume && file_exists(a.out)) {
        if (uae_checkpoint_read_config(a.out, &ccfg, &cinfo) != UAE_OK) rc = runtime_error(cmd);
        else rc = cli_data_args_merge_run(cmd, &a.data, cinfo.run, a.out);
    }
    cli_data d;
    if (rc == CLI_EXIT_OK) rc = load_data(cmd, g, &a.data, a.n_train, a.n_val, a.n_test, g->seed, &d);
    if (rc == CLI_EXIT_OK) {
        rc = train_with(cmd, g, &a, &d, be);
        cli_data_free(&d);
    }
    cli_data_args_free(&a.data);
    uae_backend_free(be);
    return rc;
}

const cli_command cli_cmd_train = {
    .name = "train",
    .summary = "train a model preset and save it as a checkpoint",
    .usage = "train --model NAME --out FILE [OPTIONS]",
    .help =
        "Trains a model preset (dense-ae, sparse-ae, conv-ae, aae, concrete-ae, simclr-small,\n"
        "classifier) on a data set with the preset's defaults from the paper's code, showing a\n"
        "progress bar and each epoch's train and test metrics. After every epoch the checkpoint\n"
        "(a .safetensors file: parameters, optimizer state, configuration) is written atomically\n"
        "to --out, so an interrupted run continues with --resume to the same final weights.\n"
        "The global --seed chooses the initialisation, the subsets and the data order.\n\n"
        "Options:\n"
        "  --model NAME       the preset (required)\n"
        "  --out FILE         the checkpoint to write (required)\n"
        "  --data PATH        the data set: IDX, CIFAR, CSV or PNG folders (docs/user-guide.md;\n"
        "                     default: Fashion-MNIST in " UAE_DATA_DEFAULT_PATH ")\n"
        "  --epochs N         epochs (default: the preset's)\n"
        "  --batch N          examples per step (default: the preset's)\n"
        "  --optimizer NAME   sgd, adam, rmsprop or adadelta with its defaults (default: the\n"
        "                     preset's)\n"
        "  --lr X             learning rate (default: the preset's)\n"
        "  --hidden N         dense-ae / sparse-ae code size\n"
        "  --latent N         aae latent size\n"
        "  --select-k N       concrete-ae: features to select\n"
        "  --dropout X        classifier / concrete-ae dropout rate\n"
        "  --tau X            simclr-small NT-Xent temperature\n"
        "  --n-train N        train on a seeded subset of N examples (quick runs)\n"
        "  --n-test N         evaluate on a seeded subset of N test examples\n"
        "  --val N            hold out N training examples, evaluated after every epoch\n"
        "  --log FILE         JSON-lines log: one line per epoch and a final one\n"
        "  --resume           continue the run saved in --out (same options; --epochs may grow)\n"
        "  --checkpoint-every N  also write the checkpoint every N steps within an epoch (long\n"
        "                     epochs: --resume then continues from that step)\n"
        "  --micro-batch M    compute each batch's gradient as the ordered sum of its parts of M\n"
        "                     examples (M divides --batch; default: the batch, one part). Under\n"
        "                     mpirun the ranks share the parts: the checkpoint is the same bits\n"
        "                     for any number of ranks (dense-ae, conv-ae, concrete-ae,\n"
        "                     classifier; docs/cluster.md)\n\n"
        CLI_DATA_OPTIONS_HELP,
    .run = run_train,
    .distributed = true,
};

/* ---- uae eval and uae reconstruct ------------------------------------------------------------ */

/* A checkpoint, its model on the device and the test data it was trained with (or --data). */
typedef struct loaded {
    uae_backend *be;
    uae_model *m;
    uae_checkpoint_info info;
    cli_data d;
    bool have_data;
} loaded;

static void loaded_free(loaded *l) {
    if (l->have_data) cli_data_free(&l->d);
    uae_model_free(l->m);
    uae_backend_free(l->be);
}

/* Loads the checkpoint model and the test split of its data set, read with its table options
 * and scaling (what the command line gives in da overrides them). */
static int load_checkpoint_and_data(const cli_command *cmd, cli_globals *g, const char *model,
                                    cli_data_args *da, int64_t n_test, loaded *l) {
    memset(l, 0, sizeof *l);
    int rc = cli_open_device(cmd, g, &l->be);
    if (rc != CLI_EXIT_OK) return rc;
    if (uae_checkpoint_load_model(model, l->be, &l->m, &l->info) != UAE_OK) {
        rc = runtime_error(cmd);
        loaded_free(l);
        return rc;
    }
    rc = cli_data_args_merge_run(cmd, da, l->info.run, model);
    /* Only the test split is used; the training split is loaded with it and dropped. */
    if (rc == CLI_EXIT_OK) rc = load_data(cmd, g, da, 0, 0, n_test, l->info.seed, &l->d);
    if (rc != CLI_EXIT_OK) {
        loaded_free(l);
        return rc;
    }
    l->have_data = true;
    uae_dataset_free(&l->d.train);
    return CLI_EXIT_OK;
}

static int run_eval(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"data", required_argument, NULL, OPT_DATA},
        {"n-test", required_argument, NULL, OPT_N_TEST},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"json", no_argument, NULL, OPT_JSON},
        {0},
    };
    struct option all[CLI_MAX_OPTIONS];
    memcpy(all, opts, sizeof opts);
    cli_data_options_append(all);
    const char *model = NULL;
    cli_data_args da;
    cli_data_args_init(&da);
    long long n_test = 0, batch = 0; /* 0: the batch size of the training */
    bool json = false;
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, all);
    for (int c; (c = cli_next(&p)) != -1;) {
        int rc = CLI_EXIT_OK;
        if (c == CLI_STOP) return p.exit_code;
        else if (c == OPT_MODEL) model = p.arg;
        else if (c == OPT_DATA) da.path = p.arg;
        else if (c == OPT_JSON) json = true;
        else if (c == OPT_N_TEST) rc = cli_parse_int(cmd, "--n-test", p.arg, 1, INT64_MAX, &n_test);
        else if (c == OPT_BATCH) rc = cli_parse_int(cmd, "--batch", p.arg, 1, 1 << 20, &batch);
        else rc = cli_data_option(cmd, &da, c, p.arg);
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (cli_check_positional(&p, 0) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
    if (!model) return cli_usage_error(cmd, "--model FILE is required (a checkpoint of uae train)");
    loaded l;
    int rc = load_checkpoint_and_data(cmd, g, model, &da, n_test, &l);
    cli_data_args_free(&da);
    if (rc != CLI_EXIT_OK) return rc;
    uae_eval_stats e;
    if (batch == 0) batch = uae_model_config_of(l.m)->batch;
    if (uae_train_evaluate(l.m, &l.d.test, batch, l.info.seed, &e) != UAE_OK) {
        rc = runtime_error(cmd);
        loaded_free(&l);
        return rc;
    }
    const uae_model_config *cfg = uae_model_config_of(l.m);
    if (json) {
        json_t *o = json_pack("{s:s, s:s, s:I, s:I, s:I}", "checkpoint", model, "model",
                              cfg->preset, "epoch", (json_int_t)l.info.epoch, "step",
                              (json_int_t)l.info.step, "n", (json_int_t)e.n);
        if (o && isfinite(e.loss)) json_object_set_new(o, "loss", json_real(e.loss));
        if (o && isfinite(e.mse)) json_object_set_new(o, "mse", json_real(e.mse));
        if (o && isfinite(e.accuracy)) json_object_set_new(o, "accuracy", json_real(e.accuracy));
        char *s = o ? json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(9)) : NULL;
        if (s) puts(s);
        free(s);
        json_decref(o);
    } else {
        char b1[32], b2[32], b3[32];
        printf("checkpoint: %s\nmodel:      %s (epoch %lld, step %lld)\ntest set:   %lld examples\n"
               "loss:       %s\nmse:        %s\naccuracy:   %s\n",
               model, cfg->preset, (long long)l.info.epoch, (long long)l.info.step,
               (long long)e.n, metric(e.loss, b1, sizeof b1), metric(e.mse, b2, sizeof b2),
               metric(e.accuracy, b3, sizeof b3));
    }
    loaded_free(&l);
    return CLI_EXIT_OK;
}

const cli_command cli_cmd_eval = {
    .name = "eval",
    .summary = "print the test metrics of a trained model",
    .usage = "eval --model FILE [OPTIONS]",
    .help = "Evaluates a checkpoint of `uae train` on the test split of its data set: the mean\n"
            "loss of the preset, the reconstruction MSE (autoencoders) and the accuracy\n"
            "(classifiers). The checkpoint says which preset and configuration it holds.\n\n"
            "Options:\n"
            "  --model FILE   the checkpoint (required)\n"
            "  --data PATH    the data set (default: the one it was trained on)\n"
            "  --n-test N     a seeded subset of N test examples (default: all)\n"
            "  --batch N      examples per evaluation step (default: the training's)\n"
            "  --json         print one JSON object instead of text\n\n" CLI_DATA_OPTIONS_HELP,
    .run = run_eval,
};

enum { GRID_COLUMNS = 16 };

static int run_reconstruct(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    static const struct option opts[] = {
        {"model", required_argument, NULL, OPT_MODEL},
        {"data", required_argument, NULL, OPT_DATA},
        {"n", required_argument, NULL, OPT_N},
        {"scale", required_argument, NULL, OPT_SCALE},
        {"out", required_argument, NULL, OPT_OUT},
        {0},
    };
    struct option all[CLI_MAX_OPTIONS];
    memcpy(all, opts, sizeof opts);
    cli_data_options_append(all); /* all but --scale, which is the picture's here */
    const char *model = NULL, *out = NULL;
    cli_data_args da;
    cli_data_args_init(&da);
    long long n = 16, scale = 2;
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, all);
    for (int c; (c = cli_next(&p)) != -1;) {
        int rc = CLI_EXIT_OK;
        if (c == CLI_STOP) return p.exit_code;
        else if (c == OPT_MODEL) model = p.arg;
        else if (c == OPT_DATA) da.path = p.arg;
        else if (c == OPT_OUT) out = p.arg;
        else if (c == OPT_N) rc = cli_parse_int(cmd, "--n", p.arg, 1, 1024, &n);
        else if (c == OPT_SCALE) rc = cli_parse_int(cmd, "--scale", p.arg, 1, 16, &scale);
        else rc = cli_data_option(cmd, &da, c, p.arg);
        if (rc != CLI_EXIT_OK) return rc;
    }
    if (cli_check_positional(&p, 0) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
    if (!model) return cli_usage_error(cmd, "--model FILE is required (a checkpoint of uae train)");
    if (!out) return cli_usage_error(cmd, "--out FILE is required (.png, .npy or .safetensors)");
    const char *dot = strrchr(out, '.');
    bool png = dot && strcmp(dot, ".png") == 0, npy = dot && strcmp(dot, ".npy") == 0;
    bool st_out = dot && strcmp(dot, ".safetensors") == 0;
    if (!png && !npy && !st_out)
        return cli_usage_error(cmd, "--out %s: write FILE.png (a picture of the originals over "
                               "their reconstructions), FILE.npy (the reconstructions) or "
                               "FILE.safetensors (x, y and the rows' index)", out);
    loaded l;
    int rc = load_checkpoint_and_data(cmd, g, model, &da, 0, &l);
    cli_data_args_free(&da);
    if (rc != CLI_EXIT_OK) return rc;
    const uae_model_config *cfg = uae_model_config_of(l.m);
    const uae_dataset *ts = &l.d.test;
    float *y = NULL;
    int64_t dim = 0;
    if (cfg->kind != UAE_MODEL_AUTOENCODER) {
        fprintf(stderr, "uae %s: %s is a %s, not an autoencoder: nothing to reconstruct\n",
                cmd->name, model, cfg->preset);
        rc = CLI_EXIT_FAILURE;
    } else if (ts->c != cfg->channels || ts->h != cfg->height || ts->w != cfg->width) {
        fprintf(stderr, "uae %s: the data has %d x %d x %d images, %s expects %d x %d x %d\n",
                cmd->name, ts->c, ts->h, ts->w, model, cfg->channels, cfg->height, cfg->width);
        rc = CLI_EXIT_FAILURE;
    }
    if (n > ts->n) n = ts->n;
    if (rc == CLI_EXIT_OK && uae_train_predict(l.m, ts->x, n, 100, &y, &dim) != UAE_OK)
        rc = runtime_error(cmd);
    if (rc == CLI_EXIT_OK && dim != ts->d) {
        fprintf(stderr, "uae %s: the model gives %lld values per image, expected %lld\n",
                cmd->name, (long long)dim, (long long)ts->d);
        rc = CLI_EXIT_FAILURE;
    }
    if (rc == CLI_EXIT_OK && !png) {
        /* The numbers: y alone, or with the originals and their rows in the test split. */
        int64_t *index = malloc((size_t)n * sizeof *index);
        uae_status st = index ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "out of memory");
        for (int64_t i = 0; index && i < n; i++) index[i] = i;
        int64_t shape[4] = {n, ts->c, ts->h, ts->w};
        if (st == UAE_OK && npy) st = uae_npy_write(out, 4, shape, y);
        uae_st_tensor t[3] = {
            {.name = "x", .ndim = 4, .shape = {n, ts->c, ts->h, ts->w}, .data = ts->x},
            {.name = "y", .ndim = 4, .shape = {n, ts->c, ts->h, ts->w}, .data = y},
            {.name = "index", .ndim = 1, .shape = {n}, .data = index, .dtype = UAE_ST_I64},
        };
        uae_st_meta meta[2] = {{"uae.model", cfg->preset}, {"uae.index", "rows of the test split"}};
        if (st == UAE_OK && st_out) st = uae_safetensors_write(out, t, 3, meta, 2);
        free(index);
        if (st != UAE_OK) rc = runtime_error(cmd);
        else printf("wrote %s: the reconstructions of %lld test examples by %s\n", out, n,
                    cfg->preset);
        free(y);
        loaded_free(&l);
        return rc;
    }
    /* Originals above their reconstructions, GRID_COLUMNS per row pair. */
    int npairs = (int)((n + GRID_COLUMNS - 1) / GRID_COLUMNS);
    uae_image_row *rows = rc == CLI_EXIT_OK ? calloc((size_t)(2 * npairs), sizeof *rows) : NULL;
    if (rc == CLI_EXIT_OK && !rows) rc = CLI_EXIT_FAILURE;
    for (int r = 0; r < npairs && rows; r++) {
        int64_t first = (int64_t)r * GRID_COLUMNS;
        int count = (int)(n - first < GRID_COLUMNS ? n - first : GRID_COLUMNS);
        rows[2 * r] = (uae_image_row){ts->x + first * ts->d, count, UAE_CMAP_NONE, 0, 0};
        rows[2 * r + 1] = (uae_image_row){y + first * ts->d, count, UAE_CMAP_NONE, 0, 0};
    }
    if (rows && uae_image_write_grid(out, rows, 2 * npairs, ts->c, ts->h, ts->w, 2, (int)scale) !=
                    UAE_OK)
        rc = runtime_error(cmd);
    else if (rows)
        printf("wrote %s: %lld test images (rows 1, 3, ...) and their reconstructions by %s\n",
               out, n, cfg->preset);
    free(rows);
    free(y);
    loaded_free(&l);
    return rc;
}

const cli_command cli_cmd_reconstruct = {
    .name = "reconstruct",
    .summary = "write a PNG of test images and their reconstructions by an autoencoder",
    .usage = "reconstruct --model FILE --out FILE.png|FILE.npy|FILE.safetensors [OPTIONS]",
    .help = "Runs the first N test examples through a trained autoencoder and writes, as --out's\n"
            "name says, a PNG grid (the originals above their reconstructions, 16 per row), a\n"
            ".npy of the reconstructions (N, C, H, W), or a .safetensors file with x (the\n"
            "originals, as the model saw them: scaled, for a table), y (the reconstructions)\n"
            "and index (int64, the rows of the test split).\n\n"
            "Options:\n"
            "  --model FILE   the checkpoint of an autoencoder (required)\n"
            "  --out FILE     FILE.png, FILE.npy or FILE.safetensors (required)\n"
            "  --data PATH    the data set (default: the one it was trained on)\n"
            "  --n N          examples (default 16; at most 1024)\n"
            "  --scale N      pixels per image pixel (default 2)\n\n"
            CLI_DATA_OPTIONS_HELP "(here --scale is the picture's: a table is scaled as its checkpoint says)\n",
    .run = run_reconstruct,
};
