/* apps/cli_common.c — the option parser, value parsers, device opening and help printing that all
 * `uae` commands share (see apps/cli.h). Messages go to stderr, prefixed "uae <command>:".
 * No command logic lives here. */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const struct option global_opts[] = {
    {"help", no_argument, NULL, CLI_OPT_HELP},
    {"quiet", no_argument, NULL, CLI_OPT_QUIET},
    {"verbose", no_argument, NULL, CLI_OPT_VERBOSE},
    {"device", required_argument, NULL, CLI_OPT_DEVICE},
    {"seed", required_argument, NULL, CLI_OPT_SEED},
};
enum { N_GLOBAL_OPTS = sizeof global_opts / sizeof global_opts[0] };

void cli_print_global_options(FILE *f) {
    fputs("Global options (accepted before or after the command name):\n"
          "  --device SPEC   where to compute: cpu (default), cpu:N (N threads), ref, opencl,\n"
          "                  gpu, an index from `uae devices`, or a unique part of a device's\n"
          "                  name, vendor or platform; the default comes from $UAE_DEVICE if it\n"
          "                  is set ($UAE_CPU_ISA=generic|avx2|avx512 forces the cpu kernels)\n"
          "  --seed N        seed of the random number generators, 0 .. 2^64-1 (default 1)\n"
          "  -q, --quiet     no progress bars; only warnings and errors\n"
          "  -v, --verbose   also print debug messages\n"
          "  -h, --help      show the help of the command and exit\n",
          f);
}

void cli_print_command_help(const cli_command *cmd, FILE *f) {
    if (cmd->program)
        fprintf(f, "Usage: %s\n\n%s\n", cmd->usage, cmd->help);
    else
        fprintf(f, "Usage: uae %s\n\n%s\n", cmd->usage, cmd->help);
    cli_print_global_options(f);
}

static const char *cmd_name(const cli_command *cmd) { return cmd ? cmd->name : NULL; }

/* "uae devices: ", "uae-bench: " or "uae: " */
static void print_prefix(const cli_command *cmd) {
    if (cmd && cmd->program)
        fprintf(stderr, "%s: ", cmd->program);
    else if (cmd_name(cmd))
        fprintf(stderr, "uae %s: ", cmd->name);
    else
        fputs("uae: ", stderr);
}

int cli_usage_error(const cli_command *cmd, const char *fmt, ...) {
    print_prefix(cmd);
    va_list ap;
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    if (cmd && cmd->program)
        fprintf(stderr, "\nTry '%s --help'.\n", cmd->program);
    else if (cmd)
        fprintf(stderr, "\nTry 'uae %s --help'.\n", cmd->name);
    else
        fputs("\nTry 'uae --help'.\n", stderr);
    return CLI_EXIT_USAGE;
}

void cli_parser_init(cli_parser *p, const cli_command *cmd, cli_globals *g, int argc, char **argv,
                     const struct option *cmd_opts) {
    memset(p, 0, sizeof *p);
    p->cmd = cmd;
    p->g = g;
    p->argc = argc;
    p->argv = argv;
    p->in_order = cmd == NULL;
    int n = 0;
    for (int i = 0; i < N_GLOBAL_OPTS; i++) p->opts[n++] = global_opts[i];
    for (int i = 0; cmd_opts && cmd_opts[i].name; i++) {
        UAE_ASSERT(n < CLI_MAX_OPTIONS - 1);
        p->opts[n++] = cmd_opts[i];
    }
    /* p->opts[n] stays zero: the terminator getopt_long needs. */
    /* 0 (not 1) makes glibc's getopt start afresh: the first command's parse left state behind. */
    optind = 0;
    opterr = 0;
}

/* Checks the global options once all are parsed and sets up the log. */
static int finish_globals(cli_parser *p) {
    cli_globals *g = p->g;
    if (g->quiet && g->verbose) return cli_usage_error(p->cmd, "--quiet and --verbose exclude each other");
    uae_log_init(&g->log, g->quiet ? UAE_LOG_WARN : g->verbose ? UAE_LOG_DEBUG : UAE_LOG_INFO);
    if (p->cmd && p->cmd->program) g->log.program = p->cmd->program; /* "uae-bench: warning: ..." */
    return CLI_EXIT_OK;
}

static int stop(cli_parser *p, int code) {
    p->exit_code = code;
    return CLI_STOP;
}

int cli_next(cli_parser *p) {
    /* "+" stops at the first positional argument (the command name, before a command);
     * ":" makes getopt report a missing argument as ':' rather than '?'. */
    const char *shortopts = p->in_order ? "+:hqv" : ":hqv";
    for (;;) {
        int c = getopt_long(p->argc, p->argv, shortopts, p->opts, NULL);
        p->arg = optarg;
        const char *opt_text = optind > 0 && optind <= p->argc ? p->argv[optind - 1] : "?";
        switch (c) {
        case -1:
            p->rest = p->argv + optind;
            p->nrest = p->argc - optind;
            if (p->cmd && finish_globals(p) != CLI_EXIT_OK) return stop(p, CLI_EXIT_USAGE);
            return -1;
        case '?':
            /* A known long option given a value it does not take ("--json=1"): getopt reports
             * it like an unknown one, with optopt set to the option's id. */
            if (strncmp(opt_text, "--", 2) == 0 && strchr(opt_text, '=') && optopt)
                return stop(p, cli_usage_error(p->cmd, "option '%.*s' takes no value",
                                               (int)strcspn(opt_text, "="), opt_text));
            if (strncmp(opt_text, "--", 2) != 0 && optopt > 0 && optopt < 0x100)
                return stop(p, cli_usage_error(p->cmd, "unknown option '-%c'", optopt));
            return stop(p, cli_usage_error(p->cmd, "unknown option '%s'", opt_text));
        case ':':
            return stop(p, cli_usage_error(p->cmd, "option '%s' needs a value", opt_text));
        case CLI_OPT_HELP:
            if (!p->cmd) return c; /* the main help lists the commands: apps/uae.c prints it */
            cli_print_command_help(p->cmd, stdout);
            return stop(p, CLI_EXIT_OK);
        case CLI_OPT_QUIET:
            p->g->quiet = true;
            break;
        case CLI_OPT_VERBOSE:
            p->g->verbose = true;
            break;
        case CLI_OPT_DEVICE:
            if (!*optarg) return stop(p, cli_usage_error(p->cmd, "--device: empty device name"));
            p->g->device = optarg;
            break;
        case CLI_OPT_SEED:
            if (cli_parse_u64(p->cmd, "--seed", optarg, &p->g->seed) != CLI_EXIT_OK)
                return stop(p, CLI_EXIT_USAGE);
            p->g->seed_given = true;
            break;
        default:
            return c;
        }
    }
}

int cli_check_positional(const cli_parser *p, int max) {
    if (p->nrest > max)
        return cli_usage_error(p->cmd, "unexpected argument '%s'", p->rest[max]);
    return CLI_EXIT_OK;
}

/* ---- Value parsers ---------------------------------------------------------------------------- */

static int bad_value(const cli_command *cmd, const char *what, const char *s, const char *why) {
    return cli_usage_error(cmd, "%s: '%s' %s", what, s, why);
}

int cli_parse_int(const cli_command *cmd, const char *what, const char *s, long long lo,
                  long long hi, long long *out) {
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (end == s || *end != '\0') return bad_value(cmd, what, s, "is not an integer");
    if (errno == ERANGE || v < lo || v > hi)
        return cli_usage_error(cmd, "%s: %s is out of range (expected %lld .. %lld)", what, s, lo, hi);
    *out = v;
    return CLI_EXIT_OK;
}

int cli_parse_u64(const cli_command *cmd, const char *what, const char *s, uint64_t *out) {
    /* strtoull accepts "-1" (as 2^64-1) and leading spaces: refuse anything but digits. */
    if (*s < '0' || *s > '9') return bad_value(cmd, what, s, "is not a non-negative integer");
    char *end;
    errno = 0;
    unsigned long long v = strtoull(s, &end, 10);
    if (*end != '\0') return bad_value(cmd, what, s, "is not a non-negative integer");
    if (errno == ERANGE) return bad_value(cmd, what, s, "is too large (at most 2^64-1)");
    *out = (uint64_t)v;
    return CLI_EXIT_OK;
}

int cli_parse_float(const cli_command *cmd, const char *what, const char *s, double lo, double hi,
                    double *out) {
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || *end != '\0' || !isfinite(v)) return bad_value(cmd, what, s, "is not a number");
    if (v < lo || v > hi)
        return cli_usage_error(cmd, "%s: %s is out of range (expected %g .. %g)", what, s, lo, hi);
    *out = v;
    return CLI_EXIT_OK;
}

/* ---- Devices ---------------------------------------------------------------------------------- */

/* In a job of several ranks, "gpu" / "opencl" name the GPU (else OpenCL device) number (local
 * rank mod their count) on this node, as its index in buf; any other spec is left as it is. */
static const char *rank_device(const cli_globals *g, char *buf, size_t cap) {
    const char *env = getenv("UAE_DEVICE");
    const char *spec = g->device ? g->device : env && *env ? env : NULL;
    if (uae_dist_size(g->dist) == 1 || !spec ||
        (strcmp(spec, "gpu") != 0 && strcmp(spec, "opencl") != 0))
        return g->device;
    int n = 0;
    uae_device_list(NULL, 0, &n);
    uae_device_info *d = calloc((size_t)(n > 0 ? n : 1), sizeof *d);
    if (!d || uae_device_list(d, n, &n) != UAE_OK) {
        free(d);
        return g->device;
    }
    int gpus = 0, ocl = 0;
    for (int i = 0; i < n; i++) {
        gpus += strcmp(d[i].backend, "opencl") == 0 && strcmp(d[i].type, "gpu") == 0;
        ocl += strcmp(d[i].backend, "opencl") == 0;
    }
    const int count = gpus > 0 ? gpus : ocl;
    for (int i = 0, k = 0; count > 0 && i < n; i++) {
        if (strcmp(d[i].backend, "opencl") != 0 || (gpus > 0 && strcmp(d[i].type, "gpu") != 0))
            continue;
        if (k++ == uae_dist_local_rank(g->dist) % count) {
            snprintf(buf, cap, "%d", d[i].index);
            free(d);
            return buf;
        }
    }
    free(d);
    return g->device;
}

int cli_open_device(const cli_command *cmd, const cli_globals *g, uae_backend **out) {
    char spec[16];
    uae_status st = uae_backend_open(rank_device(g, spec, sizeof spec), out);
    if (st == UAE_OK) {
        uae_logf(&g->log, UAE_LOG_DEBUG, "using device %s", uae_backend_name(*out));
        return CLI_EXIT_OK;
    }
    print_prefix(cmd);
    fprintf(stderr, "%s\n", uae_last_error());
    const char *env = getenv("UAE_DEVICE");
    if (!g->device && env && *env)
        fprintf(stderr, "(the device was chosen by the environment: UAE_DEVICE=%s)\n", env);
    if (st == UAE_ERR_INVALID) return CLI_EXIT_USAGE;
    if (st == UAE_ERR_UNSUPPORTED) return CLI_EXIT_UNAVAILABLE;
    return CLI_EXIT_FAILURE;
}

const char *cli_format_bytes(uint64_t bytes, char *buf, size_t cap) {
    static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB"};
    enum { N_UNITS = sizeof units / sizeof units[0] };
    double v = (double)bytes;
    int u = 0;
    while (v >= 1024.0 && u < N_UNITS - 1) {
        v /= 1024.0;
        u++;
    }
    if (u == 0)
        snprintf(buf, cap, "%llu B", (unsigned long long)bytes);
    else if (v < 9.95) /* one decimal while it says something: "7.6 GiB", but "32 KiB" */
        snprintf(buf, cap, "%.1f %s", v, units[u]);
    else
        snprintf(buf, cap, "%.0f %s", v, units[u]);
    return buf;
}

int cli_agree(const cli_command *cmd, const cli_globals *g, int rc) {
    const int size = uae_dist_size(g->dist);
    if (size == 1) return rc;
    int32_t mine = rc, verdict[2] = {0, 0}; /* the lowest failing rank and its exit code */
    void *all = NULL;
    size_t *sizes = malloc((size_t)size * sizeof *sizes);
    uae_status st = sizes ? uae_dist_gather(g->dist, &mine, sizeof mine, &all, sizes)
                          : uae_fail(UAE_ERR_NOMEM, "out of memory");
    for (int r = 0; all && r < size; r++) {
        int32_t code = ((const int32_t *)all)[r];
        if (code != CLI_EXIT_OK) {
            verdict[0] = r;
            verdict[1] = code;
            break;
        }
    }
    free(all);
    free(sizes);
    if (st == UAE_OK) st = uae_dist_broadcast(g->dist, verdict, sizeof verdict, 0);
    if (st != UAE_OK) {
        print_prefix(cmd);
        fprintf(stderr, "%s\n", uae_last_error());
        return CLI_EXIT_FAILURE;
    }
    if (verdict[1] != CLI_EXIT_OK && verdict[0] != 0 && cli_root(g)) {
        print_prefix(cmd);
        fprintf(stderr, "rank %d of %d failed (exit status %d); its own message is above\n",
                verdict[0], size, verdict[1]);
    }
    return verdict[1];
}
