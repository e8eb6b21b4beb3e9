/* apps/cli_pending.c — the commands that have a name, a help text and option parsing but no
 * implementation yet: they exit with status 3 (CLI_EXIT_UNAVAILABLE). When one is implemented it
 * moves to its own apps/cli_<name>.c with its options, as apps/cli_devices.c shows. */
#include "apps/cli.h"

/* Parses the options like any command (so that --help, bad values and unknown options behave as
 * everywhere), then says the command is not there yet. */
static int run_not_available(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, NULL);
    for (int c; (c = cli_next(&p)) != -1;)
        if (c == CLI_STOP) return p.exit_code;
    fprintf(stderr, "uae %s: not available in this version yet\n", cmd->name);
    return CLI_EXIT_UNAVAILABLE;
}

#define NOT_YET "Not available in this version yet: exits with status 3.\n"

const cli_command cli_cmd_attack = {
    .name = "attack",
    .summary = "make unsupervised adversarial examples (not available yet)",
    .usage = "attack [OPTIONS]",
    .help = "Will generate unsupervised adversarial examples with the MinMax attack on the\n"
            "MINE mutual-information bound.\n" NOT_YET,
    .run = run_not_available,
};

const cli_command cli_cmd_augment = {
    .name = "augment",
    .summary = "augment a data set with adversarial examples (not available yet)",
    .usage = "augment [OPTIONS]",
    .help = "Will add unsupervised adversarial examples to a training set.\n" NOT_YET,
    .run = run_not_available,
};

const cli_command cli_cmd_demo = {
    .name = "demo",
    .summary = "the end-to-end demonstration (not available yet)",
    .usage = "demo [OPTIONS]",
    .help = "Will run the whole method end to end on Fashion-MNIST. Until it exists, `./run demo`\n"
            "runs `uae devices` and `uae selftest` instead.\n" NOT_YET,
    .run = run_not_available,
};
