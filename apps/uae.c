/* apps/uae.c — the `uae` command-line tool: global options, the table of commands, `uae --help`,
 * `uae --version` and `uae help <command>`. Each command lives in apps/cli_<name>.c; this file
 * only finds it and runs it. Exit codes: see enum cli_exit in apps/cli.h. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "uae_config.h"

static int run_help(const cli_command *cmd, cli_globals *g, int argc, char **argv);

static const cli_command cli_cmd_help = {
    .name = "help",
    .summary = "show the help of a command",
    .usage = "help [COMMAND]",
    .help = "Prints the help of COMMAND, or without COMMAND the list of commands.\n",
    .run = run_help,
};

/* The commands in the order `uae --help` lists them. A new command is one file and one line here. */
static const cli_command *const commands[] = {
    &cli_cmd_devices, &cli_cmd_selftest, &cli_cmd_demo,   &cli_cmd_train, &cli_cmd_eval,
    &cli_cmd_reconstruct, &cli_cmd_attack, &cli_cmd_augment, &cli_cmd_mine,  &cli_cmd_plot,
    &cli_cmd_help,
};
enum { N_COMMANDS = sizeof commands / sizeof commands[0] };

static const cli_command *find_command(const char *name) {
    for (int i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i]->name, name) == 0) return commands[i];
    return NULL;
}

static void print_main_help(FILE *f) {
    fprintf(f,
            "uae %s - unsupervised adversarial examples as data augmentation (uaekit)\n\n"
            "Usage: uae [GLOBAL OPTIONS] COMMAND [OPTIONS] [ARGUMENTS]\n"
            "       uae help COMMAND     the help of one command (or: uae COMMAND --help)\n"
            "       uae --version        the version and the backends compiled in\n\n"
            "Commands:\n",
            UAE_VERSION);
    for (int i = 0; i < N_COMMANDS; i++)
        fprintf(f, "  %-12s %s\n", commands[i]->name, commands[i]->summary);
    fputc('\n', f);
    cli_print_global_options(f);
    fputs("      --version   show the version and exit (before a command only)\n\n"
          "Environment:\n"
          "  UAE_DEVICE      the device used when --device is not given\n\n"
          "Exit status:\n"
          "  0  success\n"
          "  1  runtime failure (a file, the device, a failed check)\n"
          "  2  usage error (unknown option, bad value, unknown or ambiguous device)\n"
          "  3  not available in this build or on this device\n\n"
          "Documentation: " UAE_DOCDIR "/docs/user-guide.md (docs/ in the source tree)\n",
          f);
}

static void print_version(void) {
    /* Whether the build has each backend (the registry knows). */
    printf("uae (uaekit) %s\n", UAE_VERSION);
    printf("OpenCL backend: %s\n", uae_backend_compiled("opencl") ? "compiled in" : "not compiled in");
    printf("OpenMP threads: %s\n", uae_backend_compiled("openmp") ? "compiled in" : "not compiled in");
    if (uae_dist_compiled())
        printf("MPI: compiled in (%s)\n", uae_dist_library());
    else
        printf("MPI: not compiled in\n");
}

static int run_help(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, NULL);
    for (int c; (c = cli_next(&p)) != -1;)
        if (c == CLI_STOP) return p.exit_code;
    if (cli_check_positional(&p, 1) != CLI_EXIT_OK) return CLI_EXIT_USAGE;
    if (p.nrest == 0) {
        print_main_help(stdout);
        return CLI_EXIT_OK;
    }
    const cli_command *which = find_command(p.rest[0]);
    if (!which) return cli_usage_error(cmd, "unknown command '%s'", p.rest[0]);
    cli_print_command_help(which, stdout);
    return CLI_EXIT_OK;
}

/* Every rank of a job must run the same command line: rank 0's digest (FNV-1a 64 of the
 * arguments) goes to every rank, and a rank whose own differs fails the job, named by rank 0. */
static int check_same_arguments(cli_globals *g, int argc, char **argv) {
    uint64_t h = 1469598103934665603ull, root;
    for (int i = 1; i < argc; i++)
        for (const char *c = argv[i];; c++) { /* the terminating NUL too: "a b" is not "ab" */
            h = (h ^ (unsigned char)*c) * 1099511628211ull;
            if (!*c) break;
        }
    root = h;
    uae_status st = uae_dist_broadcast(g->dist, &root, sizeof root, 0);
    if (st == UAE_OK && root != h)
        st = uae_fail(UAE_ERR_INVALID, "was started with other arguments than rank 0 (every rank "
                      "of a job must run the same command line)");
    st = uae_dist_agree(g->dist, st);
    if (st == UAE_OK) return CLI_EXIT_OK;
    if (cli_root(g)) fprintf(stderr, "uae: %s\n", uae_last_error());
    return CLI_EXIT_USAGE;
}

static int run_command(cli_globals *g, int argc, char **argv) {
    static const struct option main_opts[] = {{"version", no_argument, NULL, CLI_OPT_VERSION}, {0}};

    /* Global options before the command name; the parse stops at the first positional argument. */
    cli_parser p;
    cli_parser_init(&p, NULL, g, argc, argv, main_opts);
    for (int c; (c = cli_next(&p)) != -1;) {
        if (c == CLI_STOP) return p.exit_code;
        if (c == CLI_OPT_HELP) {
            print_main_help(stdout);
            return CLI_EXIT_OK;
        }
        if (c == CLI_OPT_VERSION) {
            print_version();
            return CLI_EXIT_OK;
        }
    }
    if (p.nrest == 0) {
        print_main_help(stderr);
        return CLI_EXIT_USAGE;
    }
    const cli_command *cmd = find_command(p.rest[0]);
    if (!cmd) return cli_usage_error(NULL, "unknown command '%s'", p.rest[0]);
    const int size = uae_dist_size(g->dist);
    if (size > 1 && !cmd->distributed) {
        if (cli_root(g))
            fprintf(stderr, "uae %s: does not share its work over the %d ranks of an MPI job; run "
                    "it as one process (the commands that do: attack, augment, demo, devices, train; "
                    "docs/cluster.md)\n",
                    cmd->name, size);
        return CLI_EXIT_UNAVAILABLE;
    }
    /* The command parses its own argv (from its name on), global options included. */
    return cmd->run(cmd, g, p.nrest, p.rest);
}

int main(int argc, char **argv) {
    cli_globals g = {.seed = 1};
    /* Without a launcher (mpirun, srun) this is a job of one rank and MPI is not started. */
    uae_status st = uae_dist_init(&argc, &argv, &g.dist);
    if (st != UAE_OK) {
        fprintf(stderr, "uae: %s\n", uae_last_error());
        return st == UAE_ERR_UNSUPPORTED ? CLI_EXIT_UNAVAILABLE : CLI_EXIT_FAILURE;
    }
    int rc = check_same_arguments(&g, argc, argv);
    if (rc == CLI_EXIT_OK) rc = run_command(&g, argc, argv);
    uae_dist_finalize(g.dist);
    return rc;
}
