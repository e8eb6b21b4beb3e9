/* apps/cli.h — what the subcommands of the `uae` tool share: exit codes, global options, the
 * command table entry, an option parser around getopt_long, and value parsers with range checks.
 * Private to apps/; the library knows nothing of it. Only apps/ calls exit(), and only in main. */
#ifndef UAE_CLI_H
#define UAE_CLI_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "uae/backend.h"
#include "uae/dist.h"
#include "progress.h"
#include "uae/log.h"

/* Exit status of every command (documented in `uae --help` and docs/user-guide.md). */
enum cli_exit {
    CLI_EXIT_OK = 0,          /* the command did what was asked */
    CLI_EXIT_FAILURE = 1,     /* a runtime failure: a file, the device, a failed check */
    CLI_EXIT_USAGE = 2,       /* a usage error: unknown option, bad value, unknown device */
    CLI_EXIT_UNAVAILABLE = 3, /* the command or feature is not available in this version/build */
};

/* The options every command accepts, before or after its name. */
typedef struct cli_globals {
    const char *device;   /* --device SPEC; NULL: $UAE_DEVICE, else "cpu" (see uae/backend.h) */
    bool quiet;           /* --quiet: no progress bars, only warnings and errors */
    bool verbose;         /* --verbose: debug messages too */
    uint64_t seed;        /* --seed N (default 1) */
    bool seed_given;
    uae_log log;          /* set up from quiet/verbose once the options are parsed */
    uae_dist *dist;       /* the job's ranks (uae/dist.h): one without mpirun */
} cli_globals;

typedef struct cli_command cli_command;

/* One entry of the command table (apps/uae.c). */
struct cli_command {
    const char *name;     /* "devices" */
    const char *summary;  /* one line for `uae --help` */
    const char *usage;    /* what follows "uae " in the usage line: "devices [--json]" */
    const char *help;     /* description and the command's own options, for `uae help <name>` */
    /* Runs the command; argv[0] is the command's name. Returns an enum cli_exit value. */
    int (*run)(const cli_command *cmd, cli_globals *g, int argc, char **argv);
    /* The program name in messages and help when the command is an executable of its own
     * ("uae-bench"); NULL: "uae <name>". */
    const char *program;
    /* Whether the command shares its work over the ranks of an MPI job (docs/cluster.md); the
     * others refuse to run with more than one rank. */
    bool distributed;
};

/* The commands, defined in apps/cli_*.c; the table that lists them is in apps/uae.c. */
extern const cli_command cli_cmd_devices, cli_cmd_selftest, cli_cmd_train, cli_cmd_eval,
    cli_cmd_reconstruct, cli_cmd_attack, cli_cmd_augment, cli_cmd_demo;
extern const cli_command cli_cmd_mine, cli_cmd_plot; /* the lab course's tools (docs/labs/) */

/* Option ids (getopt_long's val) of the global options. A command's own long options use letters
 * or values from CLI_OPT_FIRST_COMMAND up, so that they never collide with these. */
enum {
    CLI_OPT_HELP = 'h',
    CLI_OPT_QUIET = 'q',
    CLI_OPT_VERBOSE = 'v',
    CLI_OPT_DEVICE = 0x1000,
    CLI_OPT_SEED,
    CLI_OPT_VERSION,          /* only before a command: `uae --version` */
    CLI_OPT_FIRST_COMMAND = 0x2000,
};

/* Stops the option loop: the command returns parser.exit_code (0 after --help, 2 after a usage
 * error, which has been printed). */
#define CLI_STOP (-2)

enum { CLI_MAX_OPTIONS = 64 };

/* Parses one command's argv: global options are handled here, the command's own are returned one
 * by one. Typical use:
 *
 *     static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
 *     cli_parser p;
 *     cli_parser_init(&p, cmd, g, argc, argv, opts);
 *     for (int c; (c = cli_next(&p)) != -1;) {
 *         if (c == CLI_STOP) return p.exit_code;
 *         if (c == 'j') json = true;
 *     }
 *     // positional arguments: p.rest[0 .. p.nrest-1]
 */
typedef struct cli_parser {
    const cli_command *cmd;   /* NULL while parsing the options before the command's name */
    cli_globals *g;
    int argc;
    char **argv;
    bool in_order;            /* stop at the first positional argument (before a command name) */
    struct option opts[CLI_MAX_OPTIONS];
    const char *arg;          /* the current option's argument, or NULL */
    int exit_code;            /* valid after CLI_STOP */
    char **rest;              /* positional arguments, valid after cli_next returned -1 */
    int nrest;
} cli_parser;

/* Sets up parsing of argv[1..argc-1] (argv[0] is the program or command name). cmd_opts: the
 * command's own options, terminated by a zero entry, or NULL. */
void cli_parser_init(cli_parser *p, const cli_command *cmd, cli_globals *g, int argc, char **argv,
                     const struct option *cmd_opts);

/* The next command-specific option (its val; its argument in p->arg), -1 after the last option,
 * or CLI_STOP. At -1 the global options are checked and g->log is set up. */
int cli_next(cli_parser *p);

/* Prints "uae <cmd>: <message>" and a hint to --help on stderr; returns CLI_EXIT_USAGE. */
int cli_usage_error(const cli_command *cmd, const char *fmt, ...) UAE_PRINTF_LIKE(2, 3);

/* Returns CLI_EXIT_OK if the command got at most max positional arguments, else reports a usage
 * error. */
int cli_check_positional(const cli_parser *p, int max);

/* Value parsers: on success store the value and return CLI_EXIT_OK; otherwise print what was
 * wrong ("uae train: --epochs: 'abc' is not an integer") and return CLI_EXIT_USAGE. `what` names
 * the option for the message. The whole string must be the number; no silent truncation. */
int cli_parse_int(const cli_command *cmd, const char *what, const char *s, long long lo,
                  long long hi, long long *out);
int cli_parse_u64(const cli_command *cmd, const char *what, const char *s, uint64_t *out);
int cli_parse_float(const cli_command *cmd, const char *what, const char *s, double lo, double hi,
                    double *out);

/* Opens the device chosen by --device / $UAE_DEVICE / the default; in a job of several ranks,
 * "gpu" / "opencl" mean GPU (local rank mod the node's GPU count) (docs/cluster.md). On failure prints the library's
 * message (which lists the devices when the spec is unknown or ambiguous) and returns
 * CLI_EXIT_USAGE for a bad spec, CLI_EXIT_UNAVAILABLE when the build lacks the backend,
 * CLI_EXIT_FAILURE otherwise. The caller frees *out. */
int cli_open_device(const cli_command *cmd, const cli_globals *g, uae_backend **out);

/* Whether this process is rank 0 (prints, writes the outputs). */
static inline bool cli_root(const cli_globals *g) { return uae_dist_rank(g->dist) == 0; }

/* Agreement of the ranks after a step that may fail on some (uae_dist_agree for exit codes):
 * returns, on every rank, CLI_EXIT_OK or the exit code of the lowest failing rank; rank 0 prints
 * "uae CMD: rank K failed: MESSAGE" for a failure on another rank (that rank printed its own
 * message too). With one rank it returns rc. */
int cli_agree(const cli_command *cmd, const cli_globals *g, int rc);

/* Prints a command's help (usage, description, global options) to f. */
void cli_print_command_help(const cli_command *cmd, FILE *f);

/* The global options block of every help text. */
void cli_print_global_options(FILE *f);

/* Formats a byte count for people: "512 B", "32 KiB", "7.6 GiB". Returns buf. */
const char *cli_format_bytes(uint64_t bytes, char *buf, size_t cap);

#endif /* UAE_CLI_H */
