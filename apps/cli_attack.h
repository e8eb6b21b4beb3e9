/* apps/cli_attack.h — what `uae attack`, `uae augment` and `uae demo` share: the attack options
 * (--attack, --iterations, --mine-hidden, ...) and a progress bar for generation. Private to
 * apps/. */
#ifndef UAE_CLI_ATTACK_H
#define UAE_CLI_ATTACK_H

#include "cli.h"
#include "uae/attack.h"

/* Option ids of the attack options (above those the commands use themselves). */
enum { CLI_OPT_ATTACK_FIRST = CLI_OPT_FIRST_COMMAND + 0x100 };

/* The attack options as getopt_long entries, terminated by a zero entry. */
extern const struct option cli_attack_options[];

/* What the attack options set; apply them with cli_attack_apply once the model kind is known. */
typedef struct cli_attack_args {
    const char *method, *samples;
    long long iterations, mine_steps, mine_hidden, mine_filters, mine_warmup, proj_count, proj_dim,
        target_class;
    double eps, kappa, lr, mine_lr;
    bool targeted;
} cli_attack_args;

void cli_attack_args_init(cli_attack_args *a);

/* Writes a command's own options (n of them) followed by cli_attack_options and the terminating
 * zero entry into opts, which has room for CLI_MAX_OPTIONS entries. */
void cli_attack_options_join(const struct option *own, size_t n, struct option *opts);

/* If c is an attack option, stores its value (v) and returns CLI_EXIT_OK or CLI_EXIT_USAGE;
 * returns -1 if c is not one of them. */
int cli_attack_option(const cli_command *cmd, cli_attack_args *a, int c, const char *v);

/* Overrides cfg (already filled with the model kind's defaults) with what was given. */
int cli_attack_apply(const cli_command *cmd, const cli_attack_args *a, uae_attack_config *cfg);

/* The help text of the attack options. */
#define CLI_ATTACK_OPTIONS_HELP \
    "Attack options (defaults: the paper's, from the official code):\n" \
    "  --attack NAME      minmax (the paper's), binary-search (fixed c, binary search over it)\n" \
    "                     or pgd (no mutual information) (default: minmax)\n" \
    "  --samples MODE     MINE samples: conv (the model's first conv layer) or random\n" \
    "                     (Gaussian projections; for tables and vector data)\n" \
    "  --iterations N     attack iterations (autoencoders 40, contrastive 20, classifiers 1000)\n" \
    "  --mine-steps N     MINE training steps per iteration (20)\n" \
    "  --mine-hidden N    MINE hidden width (512)\n" \
    "  --mine-filters N   MINE conv filters (16)\n" \
    "  --mine-warmup N    MINE steps before the first step on delta (0, as the official code;\n" \
    "                     a fresh MINE's estimate is noise, so the first iterates are judged\n" \
    "                     by it)\n" \
    "  --mine-lr X        MINE's Adam learning rate (1.5e-5)\n" \
    "  --proj-count N     random mode (models without a first conv layer, vector data): N\n" \
    "                     Gaussian projections (500) to --proj-dim dimensions (128), drawn\n" \
    "                     anew every iteration; they set much of the attack's time\n" \
    "  --proj-dim P       see --proj-count\n" \
    "  --eps X            L-infinity radius of delta (1.0)\n" \
    "  --lr X             step size on delta (0.01)\n" \
    "  --targeted --target-class K   classifiers: targeted attack towards class K\n" \
    "  --kappa X          classifiers: C&W confidence (0)\n"

/* The demo's attack scale-down (`uae demo`, `uae attack --preset demo`), chosen by measuring the
 * attack's time per sample on 2 CPU cores (docs/results.md): 20 iterations of 4 MINE steps, MINE
 * hidden width 32 with 4 filters, where the official code has 40, 20, 512 and 16. */
#define CLI_DEMO_ITERATIONS 20
#define CLI_DEMO_MINE_STEPS 4
#define CLI_DEMO_MINE_HIDDEN 32
#define CLI_DEMO_MINE_FILTERS 4
void cli_attack_preset_demo(uae_attack_config *cfg);

/* A progress bar over generated samples (uae_generate_progress_fn). Where stderr is not a
 * terminal (a log file, a pipe), the bar cannot redraw: it writes a line at every tenth of the
 * run and at least every CLI_GEN_LINE_SECONDS instead. With log set, it also says, once an
 * attack iteration after the first (which includes the set-up) has been timed, how long the whole
 * run is expected to take. */
enum { CLI_GEN_LINE_SECONDS = 30 };
typedef struct cli_gen_bar {
    uae_progress bar;
    bool started, quiet;
    const char *label;
    const uae_log *log;  /* NULL: no expected-time line */
    /* set up by the first update */
    bool lines;          /* stderr is not a terminal: steady lines instead of a bar */
    bool estimated;      /* the expected time was printed */
    double t0, first;    /* when, and at how many samples, the run (this process) started */
    double t1, d1;       /* when, and at how many samples, the first progress after the start
                          * came (0: not yet): the rate is measured from there, after set-up */
    double last_line;    /* when the last steady line was written */
    int64_t last_tenth;  /* the tenth of the run of the last steady line */
} cli_gen_bar;

void cli_gen_bar_update(void *user, double done, int64_t total);
void cli_gen_bar_end(cli_gen_bar *b);

#endif /* UAE_CLI_ATTACK_H */
