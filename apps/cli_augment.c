/* apps/cli_augment.c — `uae augment` (the paper's augmentation experiment, uae_augment_run) and
 * `uae demo` (the same, scaled down to finish in minutes on a laptop's CPU). Options, presets of
 * settings, progress and the printed table live here; the experiment is models/augment_experiment.c. */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli_attack.h"
#include "cli_data.h"
#include "uae/augment.h"
#include "uae/data.h"

enum {
    OPT_TASK = CLI_OPT_FIRST_COMMAND,
    OPT_MODEL,
    OPT_DATA,
    OPT_N_TRAIN,
    OPT_N,
    OPT_N_TEST,
    OPT_SEEDS,
    OPT_EPOCHS,
    OPT_RETRAIN_EPOCHS,
    OPT_BATCH,
    OPT_NOISE_SIGMA,
    OPT_TARGET,
    OPT_OUT,
    OPT_PRESET,
    OPT_ATTACK_BATCH,
    OPT_SELECT_K,
    OPT_PROBE_EPOCHS,
};

/* The demo's scale-down, chosen by measuring the attack's time per sample on 2 CPU cores (see
 * docs/results.md): the official settings are n = 60000, 3 seeds, the preset's epochs; the
 * attack's are cli_attack_preset_demo's. */
#define DEMO_N_TRAIN 500
#define DEMO_N 500
#define DEMO_BATCH 32
#define DEMO_EPOCHS 20
#define DEMO_RETRAIN_EPOCHS 10
#define DEMO_SEEDS "1,2,3"

typedef struct augment_args {
    const char *task, *model, *seeds, *target, *out, *preset;
    cli_data_args data; /* --data and the table options */
    long long n_train, n, n_test, epochs, retrain_epochs, batch, attack_batch, select_k,
        probe_epochs;
    double noise_sigma;
    cli_attack_args at;
} augment_args;

/* Parses "1,2,3" into o->seeds. */
static int parse_seeds(const cli_command *cmd, const char *s, uae_augment_options *o) {
    char buf[512];
    snprintf(buf, sizeof buf, "%s", s);
    o->nseeds = 0;
    for (char *save = NULL, *tok = strtok_r(buf, ",", &save); tok;
         tok = strtok_r(NULL, ",", &save)) {
        if (o->nseeds == UAE_AUGMENT_MAX_SEEDS)
            return cli_usage_error(cmd, "--seeds: at most %d seeds", UAE_AUGMENT_MAX_SEEDS);
        int rc = cli_parse_u64(cmd, "--seeds", tok, &o->seeds[o->nseeds]);
        if (rc != CLI_EXIT_OK) return rc;
        o->nseeds++;
    }
    if (o->nseeds == 0) return cli_usage_error(cmd, "--seeds: no seed in '%s'", s);
    return CLI_EXIT_OK;
}

static int parse_augment(const cli_command *cmd, cli_globals *g, int argc, char **argv,
                         augment_args *a, bool *stop) {
    static const struct option own[] = {
        {"task", required_argument, NULL, OPT_TASK},
        {"model", required_argument, NULL, OPT_MODEL},
        {"data", required_argument, NULL, OPT_DATA},
        {"n-train", required_argument, NULL, OPT_N_TRAIN},
        {"n", required_argument, NULL, OPT_N},
        {"n-test", required_argument, NULL, OPT_N_TEST},
        {"seeds", required_argument, NULL, OPT_SEEDS},
        {"epochs", required_argument, NULL, OPT_EPOCHS},
        {"retrain-epochs", required_argument, NULL, OPT_RETRAIN_EPOCHS},
        {"batch", required_argument, NULL, OPT_BATCH},
        {"noise-sigma", required_argument, NULL, OPT_NOISE_SIGMA},
        {"target", required_argument, NULL, OPT_TARGET},
        {"out", required_argument, NULL, OPT_OUT},
        {"preset", required_argument, NULL, OPT_PRESET},
        {"attack-batch", required_argument, NULL, OPT_ATTACK_BATCH},
        {"select-k", required_argument, NULL, OPT_SELECT_K},
        {"probe-epochs", required_argument, NULL, OPT_PROBE_EPOCHS},
    };
    struct option opts[CLI_MAX_OPTIONS];
    cli_attack_options_join(own, sizeof own / sizeof own[0], opts);
    cli_data_options_append(opts);
    *a = (augment_args){.noise_sigma = NAN};
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
        case OPT_TASK: a->task = v; break;
        case OPT_MODEL: a->model = v; break;
        case OPT_DATA: a->data.path = v; break;
        case OPT_SEEDS: a->seeds = v; break;
        case OPT_TARGET: a->target = v; break;
        case OPT_OUT: a->out = v; break;
        case OPT_PRESET: a->preset = v; break;
        case OPT_SELECT_K:
            rc = cli_parse_int(cmd, "--select-k", v, 1, 1 << 20, &a->select_k);
            break;
        case OPT_PROBE_EPOCHS:
            rc = cli_parse_int(cmd, "--probe-epochs", v, 1, 100000, &a->probe_epochs);
            break;
        case OPT_N_TRAIN: rc = cli_parse_int(cmd, "--n-train", v, 1, INT64_MAX, &a->n_train); break;
        case OPT_N: rc = cli_parse_int(cmd, "--n", v, 1, INT64_MAX, &a->n); break;
        case OPT_N_TEST: rc = cli_parse_int(cmd, "--n-test", v, 1, INT64_MAX, &a->n_test); break;
        case OPT_EPOCHS: rc = cli_parse_int(cmd, "--epochs", v, 1, 100000, &a->epochs); break;
        case OPT_RETRAIN_EPOCHS:
            rc = cli_parse_int(cmd, "--retrain-epochs", v, 1, 100000, &a->retrain_epochs);
            break;
        case OPT_BATCH: rc = cli_parse_int(cmd, "--batch", v, 1, 1 << 20, &a->batch); break;
        case OPT_ATTACK_BATCH:
            rc = cli_parse_int(cmd, "--attack-batch", v, 1, 1 << 16, &a->attack_batch);
            break;
        case OPT_NOISE_SIGMA:
            rc = cli_parse_float(cmd, "--noise-sigma", v, 0.0, 10.0, &a->noise_sigma);
            break;
        default:
            rc = cli_attack_option(cmd, &a->at, c, v);
            if (rc < 0) rc = cli_data_option(cmd, &a->data, c, v);
            if (rc < 0) return cli_usage_error(cmd, "unhandled option");
        }
        if (rc != CLI_EXIT_OK) return rc;
    }
    /* The attack's box and the noise arm's clipping are [0, 1]: a table is scaled into it. */
    if (a->data.scale != CLI_SCALE_AUTO && a->data.scale != CLI_SCALE_MINMAX)
        return cli_usage_error(cmd, "--scale %s: augment works in the box [0, 1], so tables are "
                               "min-max scaled (leave --scale out, or give --scale minmax)",
                               cli_scale_name(a->data.scale));
    return cli_check_positional(&p, 0);
}

/* Whether preset suits the task (uae_augment_run checks it too, but only after loading the data):
 * a usage error (exit 2) naming the presets that do. */
static int check_preset(const cli_command *cmd, uae_augment_task task, const char *preset) {
    uae_model_config cfg;
    if (uae_model_defaults(preset, 1, 28, 28, 10, &cfg) != UAE_OK)
        return cli_usage_error(cmd, "--model: %s", uae_last_error());
    bool ok = task == UAE_TASK_RECONSTRUCTION   ? cfg.kind == UAE_MODEL_AUTOENCODER
              : task == UAE_TASK_REPRESENTATION ? strcmp(cfg.preset, "concrete-ae") == 0
                                                : cfg.kind == UAE_MODEL_CONTRASTIVE;
    if (ok) return CLI_EXIT_OK;
    return cli_usage_error(cmd, "--model %s does not suit the %s task (%s)", preset,
                           uae_augment_task_name(task),
                           task == UAE_TASK_RECONSTRUCTION
                               ? "an autoencoder: dense-ae, sparse-ae, conv-ae, aae, concrete-ae"
                           : task == UAE_TASK_REPRESENTATION ? "concrete-ae"
                                                             : "simclr-small");
}

/* The options of the library call: the settings preset first, then what was given. */
static int make_options(const cli_command *cmd, const augment_args *a, uae_augment_options *o) {
    *o = uae_augment_options_default();
    if (a->task && uae_augment_task_parse(a->task, &o->task) != UAE_OK)
        return cli_usage_error(cmd, "--task: '%s' is not reconstruction, representation or "
                               "contrastive", a->task);
    /* The attack's official defaults for the kind of model the task attacks. */
    uae_attack_defaults(uae_augment_task_kind(o->task), &o->attack);
    const char *preset = a->preset ? a->preset : "paper";
    const char *seeds = "1,2,3";
    if (strcmp(preset, "demo") == 0) {
        o->n_train = DEMO_N_TRAIN;
        o->n = DEMO_N;
        o->epochs = DEMO_EPOCHS;
        o->batch = DEMO_BATCH;
        o->retrain_epochs = DEMO_RETRAIN_EPOCHS;
        cli_attack_preset_demo(&o->attack);
        seeds = DEMO_SEEDS;
    } else if (strcmp(preset, "paper") != 0) {
        return cli_usage_error(cmd, "--preset: '%s' is not demo or paper", preset);
    }
    if (a->model) {
        int rc = check_preset(cmd, o->task, a->model);
        if (rc != CLI_EXIT_OK) return rc;
        o->preset = a->model;
    }
    if (a->n_train > 0) o->n_train = a->n_train;
    if (a->n > 0) o->n = a->n;
    if (a->epochs > 0) o->epochs = (int)a->epochs;
    if (a->retrain_epochs > 0) o->retrain_epochs = (int)a->retrain_epochs;
    if (a->batch > 0) o->batch = a->batch;
    if (a->attack_batch > 0) o->attack_batch = a->attack_batch;
    if (a->probe_epochs > 0) o->probe.epochs = (int)a->probe_epochs;
    if (a->select_k > 0) {
        if (o->task != UAE_TASK_REPRESENTATION)
            return cli_usage_error(cmd, "--select-k is for the representation task");
        o->select_k = (int)a->select_k;
    }
    if (isfinite(a->noise_sigma)) o->noise_sigma = (float)a->noise_sigma;
    if (a->target) {
        if (o->task == UAE_TASK_CONTRASTIVE)
            return cli_usage_error(cmd, "--target does not apply to the contrastive task: SimCLR "
                                   "trains on two augmented views of each row itself");
        if (strcmp(a->target, "clean") == 0)
            o->target = UAE_TARGET_CLEAN;
        else if (strcmp(a->target, "self") == 0)
            o->target = UAE_TARGET_SELF;
        else
            return cli_usage_error(cmd, "--target: '%s' is not clean or self", a->target);
    }
    int rc = parse_seeds(cmd, a->seeds ? a->seeds : seeds, o);
    if (rc != CLI_EXIT_OK) return rc;
    rc = cli_attack_apply(cmd, &a->at, &o->attack);
    if (rc != CLI_EXIT_OK) return rc;
    if (o->n_train > 0 && o->n > o->n_train)
        return cli_usage_error(cmd, "--n %lld is more than --n-train %lld", (long long)o->n,
                               (long long)o->n_train);
    o->out_dir = a->out ? a->out : strcmp(preset, "demo") == 0 ? "demo-out" : "augment-out";
    return CLI_EXIT_OK;
}

/* Loads --data with the table options. Tables are min-max scaled into [0, 1] with the training
 * split's per-feature range (the test split clipped to it): the box the attack and the noise arm
 * work in, as images already are. Prints the error and returns CLI_EXIT_FAILURE. */
static int load_data(const cli_command *cmd, const cli_globals *g, const augment_args *a,
                     uae_dataset *train, uae_dataset *test, cli_scaling *sc) {
    int rc = cli_data_load(cmd, g, &a->data, train, test, sc);
    if (rc != CLI_EXIT_OK) return rc;
    if (sc->kind == CLI_SCALE_MINMAX)
        uae_logf(&g->log, UAE_LOG_INFO, "a table of %lld features: each scaled to [0, 1] with "
                 "the training split's minimum and maximum", (long long)train->d);
    if (a->n_test > 0 && a->n_test < test->n) {
        uae_dataset sub;
        if (uae_data_subset(test, a->n_test, 0, &sub) != UAE_OK) {
            fprintf(stderr, "uae %s: %s\n", cmd->name, uae_last_error());
            return CLI_EXIT_FAILURE;
        }
        uae_dataset_free(test);
        *test = sub;
    }
    return CLI_EXIT_OK;
}

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* Progress: a line per stage, a bar per training epoch and one for the attacks. */
typedef struct view {
    cli_gen_bar gen;  /* first: the generation callback gets the view as its cli_gen_bar */
    const cli_globals *g;
    double t0;        /* when the run started (uae_progress's clock) */
    uae_progress bar;
    bool bar_on;
} view;

static void on_stage(void *user, const char *stage) {
    view *v = user;
    cli_gen_bar_end(&v->gen);
    char when[16];
    uae_logf(&v->g->log, UAE_LOG_INFO, "[%s] %s",
             uae_format_duration(now_seconds() - v->t0, when, sizeof when), stage);
}

static void on_batch(void *user, int epoch, int64_t done, int64_t n, float loss) {
    view *v = user;
    if (done == 0) {
        char label[32];
        snprintf(label, sizeof label, "epoch %d", epoch);
        uae_progress_begin(&v->bar, label, n, v->g->quiet);
        v->bar_on = true;
        return;
    }
    uae_progress_update(&v->bar, done, "loss=%.4f", (double)loss);
    if (done == n) {
        uae_progress_end(&v->bar);
        v->bar_on = false;
    }
}

/* Every metric's table (mean ± std over seeds) and how the UAE arm compares with the others. */
static void print_report(const uae_augment_options *o, const uae_augment_report *r,
                         int64_t n_test, bool subset) {
    for (int j = 0; j < r->nmetrics; j++) {
        const uae_augment_metric *mt = &r->metric[j];
        const bool higher = mt->higher_is_better;
        printf("\n%s on %s test set (%lld examples), mean ± std over %d seed%s (%s is better):\n",
               mt->text, subset ? "a seeded subset of the" : "the whole", (long long)n_test,
               r->nseeds, r->nseeds == 1 ? "" : "s", higher ? "higher" : "lower");
        if (mt->needs_labels && !r->labels) {
            printf("  n/a (no labels)\n");
            continue;
        }
        for (int a = 0; a < UAE_ARM_COUNT; a++)
            printf("  %-10s %.5f ± %.5f\n", uae_augment_arm_name((uae_augment_arm)a),
                   mt->mean[a], mt->std[a]);
        /* The claim under test: UAEs beat no augmentation and noise, and more than duplicated
         * data (which is only more training) does. Paired per seed: the arms of one seed share
         * its base model, whose spread the means' stds mostly are. */
        const uae_augment_arm others[] = {UAE_ARM_ORIGINAL, UAE_ARM_NOISE, UAE_ARM_DUPLICATE};
        for (size_t i = 0; i < sizeof others / sizeof others[0]; i++) {
            uae_augment_paired p = uae_augment_pair(mt, r->nseeds, others[i]);
            printf("  uae vs %-9s: %+.5f", uae_augment_arm_name(others[i]), p.mean);
            if (p.seeds > 1)
                printf(" ± %.5f paired, uae better on %d of %d seeds (%s)\n", p.std,
                       p.uae_better, p.seeds,
                       fabs(p.mean) > p.std ? "the mean beyond one std of the differences"
                                            : "within one std of the differences");
            else
                printf(" (%s; one seed: no spread)\n", p.uae_better ? "uae better" : "uae not better");
        }
    }
    double mean_succ = 0.0;
    for (int k = 0; k < r->nseeds; k++) mean_succ += r->success_rate[k] / r->nseeds;
    printf("\nattack success rate %.3f\n", mean_succ);
    printf("wrote %s, %s and %s (x, x', |delta|); per seed: %s/seed-N/\n", r->table_md,
           r->table_json, r->grid_png, o->out_dir);
    printf("total wall time %.0f s\n", r->seconds);
}

static int run_with(const cli_command *cmd, cli_globals *g, int argc, char **argv, bool demo) {
    augment_args a;
    bool stop;
    int rc = parse_augment(cmd, g, argc, argv, &a, &stop);
    if (stop || rc != CLI_EXIT_OK) return rc;
    if (demo && !a.preset) a.preset = "demo";
    uae_augment_options o;
    rc = make_options(cmd, &a, &o);
    if (rc != CLI_EXIT_OK) return rc;
    uae_backend *be = NULL;
    rc = cli_agree(cmd, g, cli_open_device(cmd, g, &be));
    if (rc != CLI_EXIT_OK) {
        uae_backend_free(be);
        return rc;
    }
    uae_dataset train = {0}, test = {0};
    cli_scaling sc = {0};
    rc = load_data(cmd, g, &a, &train, &test, &sc);
    if (rc == CLI_EXIT_OK && a.n_train > train.n) { /* as given; a preset's takes what there is */
        fprintf(stderr, "uae %s: --n-train %lld: the training split has only %lld examples (leave "
                "--n-train out to use them all)\n", cmd->name, (long long)o.n_train,
                (long long)train.n);
        rc = CLI_EXIT_FAILURE;
    }
    rc = cli_agree(cmd, g, rc); /* every rank has its data, or none goes on */
    const bool root = cli_root(g);
    uae_status st = rc == CLI_EXIT_OK ? UAE_OK : UAE_ERR_INVALID;
    view v = {.g = g, .gen = {.quiet = g->quiet, .label = "attack", .log = &g->log}, .t0 = now_seconds()};
    o.on_batch = on_batch;
    o.on_generate = cli_gen_bar_update;
    o.on_stage = on_stage;
    o.user = &v;
    o.log = &g->log;
    o.dist = g->dist;
    uae_augment_report rep;
    if (st == UAE_OK && root) {
        uae_logf(&g->log, UAE_LOG_INFO, "%s: %s task, %s, %lld training examples per seed, %lld "
                 "adversarial examples, seeds %s, test set %lld examples; output in %s",
                 cmd->name, uae_augment_task_name(o.task),
                 o.preset ? o.preset : uae_augment_task_preset(o.task),
                 (long long)(o.n_train ? o.n_train : train.n),
                 (long long)(o.n ? o.n : o.n_train ? o.n_train : train.n),
                 a.seeds ? a.seeds : demo ? DEMO_SEEDS : "1,2,3", (long long)test.n, o.out_dir);
        if (uae_dist_size(g->dist) > 1)
            uae_logf(&g->log, UAE_LOG_INFO, "%s: %d ranks share the examples and the arms",
                     cmd->name, uae_dist_size(g->dist));
    }
    if (st == UAE_OK) st = uae_augment_run(be, &train, &test, &o, &rep);
    cli_gen_bar_end(&v.gen);
    if (v.bar_on) uae_progress_end(&v.bar);
    /* A table's feature names and scaling beside the examples, to map them back to its units. */
    json_t *table = st == UAE_OK && root ? cli_data_describe(&train, &sc) : NULL;
    if (table) {
        char path[1024];
        snprintf(path, sizeof path, "%s/features.json", o.out_dir);
        st = cli_write_json(path, table);
        json_decref(table);
    }
    if (st == UAE_OK && root) {
        print_report(&o, &rep, test.n, a.n_test > 0 && test.n == a.n_test);
    } else if (st != UAE_OK && rc == CLI_EXIT_OK) {
        /* A failure on any rank is every rank's, named by rank: rank 0 says it. */
        if (root) fprintf(stderr, "uae %s: %s\n", cmd->name, uae_last_error());
        rc = st == UAE_ERR_UNSUPPORTED ? CLI_EXIT_UNAVAILABLE : CLI_EXIT_FAILURE;
    }
    rc = cli_agree(cmd, g, rc); /* rank 0's features.json */
    uae_dataset_free(&train);
    uae_dataset_free(&test);
    cli_scaling_free(&sc);
    cli_data_args_free(&a.data);
    uae_backend_free(be);
    return rc;
}

static int run_augment(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    return run_with(cmd, g, argc, argv, false);
}

static int run_demo(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    return run_with(cmd, g, argc, argv, true);
}

#define AUGMENT_OPTIONS_HELP \
    "Options:\n" \
    "  --task NAME        reconstruction (default; metric: test MSE), representation\n" \
    "                     (concrete-ae; test MSE from the selected features and a linear\n" \
    "                     probe's accuracy on them) or contrastive (simclr-small; a linear\n" \
    "                     probe's accuracy on the frozen encoder, and the test NT-Xent)\n" \
    "  --model PRESET     the model: an autoencoder for reconstruction (default conv-ae),\n" \
    "                     concrete-ae for representation, simclr-small for contrastive\n" \
    "  --data PATH        the data set, any format of `uae train` (default: Fashion-MNIST);\n" \
    "                     a table (CSV) is min-max scaled to [0, 1] per feature with the\n" \
    "                     training split's range (the test split clipped to it); without\n" \
    "                     labels (--label-column \"\") the accuracies are n/a\n" \
"  --n-train N        seeded training subset per seed (paper: all)\n" \
    "  --n N              adversarial examples per seed, of the first N subset examples\n" \
    "                     (default: all of the subset)\n" \
    "  --n-test N         evaluate on a subset of the test set (quick checks only)\n" \
    "  --seeds LIST       comma-separated seeds (paper: 1,2,3)\n" \
    "  --epochs E         base training epochs (default: the preset's)\n" \
    "  --retrain-epochs R retraining epochs of every arm (default: E)\n" \
    "  --batch B          training batch (default: the preset's)\n" \
    "  --noise-sigma X    the noise arm's Gaussian sigma (0.1)\n" \
    "  --target MODE      what an augmented input reconstructs: clean (its original, default)\n" \
    "                     or self; not for contrastive (SimCLR trains on two views of each\n" \
    "                     row itself)\n" \
    "  --select-k K       representation: features concrete-ae selects (default 50, or d/2\n" \
    "                     for inputs of fewer than 100 features)\n" \
    "  --probe-epochs E   epochs of the linear probes (50; Adam lr 1e-2, batch 256, on the\n" \
    "                     seed's training subset, features standardised)\n" \
    "  --attack-batch B   examples attacked at once (16)\n" \
    "  --out DIR          the output folder (augment-out; demo: demo-out)\n" \
    "  --preset NAME      paper (the official settings; long) or demo (the scaled-down ones)\n" \
    "\n" CLI_ATTACK_OPTIONS_HELP "\n" CLI_DATA_OPTIONS_HELP

#define ARMS_HELP \
    "With --preset paper the attack has the official defaults of the task's model\n" \
    "(autoencoders: 40 iterations; contrastive: 20, its negatives a fixed seeded set of\n" \
    "training examples), and the dual update of its constraint weight c fades its\n" \
    "regulariser as (t+1)^-p over the iterations t, p = 0.25 (contrastive: 0.5; see\n" \
    "docs/method.md).\n" \
    "For each seed: train the base model on a seeded subset; make adversarial examples\n" \
    "(UAEs) of N training examples (written as they are made); retrain copies\n" \
    "of the base model (weights and optimizer state) on the originals + the UAEs (1:1 when\n" \
    "N = n-train), on the originals + Gaussian-noise copies, on the originals + duplicates\n" \
    "(the control: same steps, no new data) and on the originals alone; evaluate every arm\n" \
    "and the base model on the test set (all of it unless --n-test). Writes results.md,\n" \
    "results.json and per seed seed-S/examples.png (rows x, x', |delta| as a heat map and its\n" \
    "colour scale from 0 to the largest |delta|, labelled; a table:\n" \
    "examples.csv, the same rows as numbers), uae.npy,\n" \
    "uae.jsonl, uae.safetensors (x, x_adv and the rows' index), base.safetensors and\n" \
    "arm-NAME.json (an arm's metrics, saved as it finishes). A rerun of the same command\n" \
    "resumes: it takes the base model, the examples made and the arms finished. Seeds may\n" \
    "run as separate processes on one --out (--seeds 2 and --seeds 3); one seed's folder\n" \
    "takes one process at a time (seed-S/.lock): a second stops with an error.\n\n"

const cli_command cli_cmd_augment = {
    .name = "augment",
    .summary = "the augmentation experiment: UAEs vs noise vs no augmentation",
    .usage = "augment [--task reconstruction|representation|contrastive] [OPTIONS]",
    .help = "Runs the experiment of Hsu et al. (AAAI 2022) that asks whether unsupervised\n"
            "adversarial examples are effective data augmentation.\n" ARMS_HELP
            AUGMENT_OPTIONS_HELP,
    .run = run_augment,
    .distributed = true,
};

#define STR(x) #x
#define XSTR(x) STR(x)

const cli_command cli_cmd_demo = {
    .name = "demo",
    .summary = "the end-to-end demonstration (conv-ae on Fashion-MNIST, a few minutes)",
    .usage = "demo [OPTIONS]",
    .help = "`uae augment --preset demo`: the reconstruction experiment with conv-ae on\n"
            "Fashion-MNIST, scaled down to finish in about 10 minutes on 2 CPU cores:\n"
            "  " XSTR(DEMO_N_TRAIN) " training examples per seed, " XSTR(DEMO_N)
            " UAEs (1:1), seeds " DEMO_SEEDS ",\n"
            "  base training " XSTR(DEMO_EPOCHS) " epochs, retraining " XSTR(DEMO_RETRAIN_EPOCHS)
            " epochs, batches of " XSTR(DEMO_BATCH) ",\n"
            "  MinMax with " XSTR(CLI_DEMO_ITERATIONS) " iterations (paper 40), " XSTR(CLI_DEMO_MINE_STEPS)
            " MINE steps per iteration (paper 20),\n"
            "  MINE hidden width " XSTR(CLI_DEMO_MINE_HIDDEN) " (paper 512) and " XSTR(CLI_DEMO_MINE_FILTERS)
            " conv filters (paper 16).\n"
            "The test set is the whole Fashion-MNIST test set (10000 images). At this scale the\n"
            "result is a demonstration of the pipeline, not a reproduction (docs/results.md).\n"
            ARMS_HELP "Every option of `uae augment` is accepted and overrides the demo's.\n\n"
            AUGMENT_OPTIONS_HELP,
    .run = run_demo,
    .distributed = true,
};
