/* apps/cli_devices.c — `uae devices`: the flat device list of uae_device_list as a table or as JSON,
 * with the device that --device / $UAE_DEVICE / the default selects marked.
 * It lists and opens devices; it runs nothing on them (that is `uae selftest`). */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static const char *or_dash(const char *s) { return s && *s ? s : "-"; }

static void print_table(const uae_device_info *d, int n, int selected) {
    /* The name column is as wide as the longest name, within reason; longer names are cut. */
    int name_w = 6;
    for (int i = 0; i < n; i++) {
        int len = (int)strlen(d[i].name);
        if (len > name_w) name_w = len;
    }
    if (name_w > 40) name_w = 40;
    printf("   #  %-7s  %-11s  %-*s  %4s  %10s  %9s  %9s\n", "backend", "type", name_w, "device",
           "CUs", "global mem", "local mem", "max alloc");
    for (int i = 0; i < n; i++) {
        char g[32], l[32], m[32];
        printf(" %c%2d  %-7s  %-11s  %-*.*s  %4d  %10s  %9s  %9s\n", i == selected ? '*' : ' ',
               d[i].index, d[i].backend, d[i].type, name_w, name_w, d[i].name, d[i].compute_units,
               cli_format_bytes(d[i].global_mem_bytes, g, sizeof g),
               cli_format_bytes(d[i].local_mem_bytes, l, sizeof l),
               cli_format_bytes(d[i].max_alloc_bytes, m, sizeof m));
        printf("      vendor: %s; platform: %s; driver: %s; OpenCL: %s\n", or_dash(d[i].vendor),
               or_dash(d[i].platform), or_dash(d[i].driver_version), or_dash(d[i].api_version));
    }
    if (selected >= 0)
        printf("\n* = the device commands use now (--device, else $UAE_DEVICE, else cpu)\n");
}

static int print_json(const uae_device_info *d, int n, int selected) {
    json_t *list = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = json_object();
        json_object_set_new(o, "index", json_integer(d[i].index));
        json_object_set_new(o, "backend", json_string(d[i].backend));
        json_object_set_new(o, "platform", json_string(d[i].platform));
        json_object_set_new(o, "name", json_string(d[i].name));
        json_object_set_new(o, "type", json_string(d[i].type));
        json_object_set_new(o, "vendor", json_string(d[i].vendor));
        json_object_set_new(o, "driver_version", json_string(d[i].driver_version));
        json_object_set_new(o, "opencl_version", json_string(d[i].api_version));
        json_object_set_new(o, "compute_units", json_integer(d[i].compute_units));
        /* json_integer is signed 64-bit: every real memory size fits. */
        json_object_set_new(o, "global_mem_bytes", json_integer((json_int_t)d[i].global_mem_bytes));
        json_object_set_new(o, "local_mem_bytes", json_integer((json_int_t)d[i].local_mem_bytes));
        json_object_set_new(o, "max_alloc_bytes", json_integer((json_int_t)d[i].max_alloc_bytes));
        json_object_set_new(o, "selected", json_boolean(i == selected));
        json_array_append_new(list, o);
    }
    json_t *root = json_pack("{s:o}", "devices", list);
    char *text = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER) : NULL;
    json_decref(root);
    if (!text) {
        fprintf(stderr, "uae devices: cannot format JSON (out of memory)\n");
        return CLI_EXIT_FAILURE;
    }
    puts(text);
    free(text);
    return CLI_EXIT_OK;
}

static int run_devices(const cli_command *cmd, cli_globals *g, int argc, char **argv) {
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
    bool json = false;
    cli_parser p;
    cli_parser_init(&p, cmd, g, argc, argv, opts);
    for (int c; (c = cli_next(&p)) != -1;) {
        if (c == CLI_STOP) return p.exit_code;
        if (c == 'j') json = true;
    }
    if (cli_check_positional(&p, 0) != CLI_EXIT_OK) return CLI_EXIT_USAGE;

    /* Resolve the selected device by opening it: that is the only way to learn which entry a
     * name or "gpu" picks, and it reports an unknown device with the list, as every command does. */
    uae_backend *be = NULL;
    int rc = cli_agree(cmd, g, cli_open_device(cmd, g, &be));
    if (rc != CLI_EXIT_OK) {
        uae_backend_free(be);
        return rc;
    }
    uae_device_info sel;
    uae_backend_info(be, &sel);
    /* Under mpirun: which device each rank took, one line per rank, printed by rank 0. */
    char line[256];
    snprintf(line, sizeof line, "rank %d (rank %d on its node): %s", uae_dist_rank(g->dist),
             uae_dist_local_rank(g->dist), uae_backend_name(be));
    uae_backend_free(be);
    const int ranks = uae_dist_size(g->dist);
    char *lines = NULL;
    size_t *sizes = ranks > 1 ? calloc((size_t)ranks, sizeof *sizes) : NULL;
    if (ranks > 1 && (!sizes || uae_dist_gather(g->dist, line, sizeof line, (void **)&lines,
                                                sizes) != UAE_OK)) {
        fprintf(stderr, "uae devices: %s\n", sizes ? uae_last_error() : "out of memory");
        free(sizes);
        return CLI_EXIT_FAILURE;
    }
    free(sizes);
    if (!cli_root(g)) return CLI_EXIT_OK;

    int n = 0;
    uae_device_list(NULL, 0, &n);
    uae_device_info *infos = calloc((size_t)(n > 0 ? n : 1), sizeof *infos);
    if (!infos) {
        fprintf(stderr, "uae devices: out of memory\n");
        free(lines);
        return CLI_EXIT_FAILURE;
    }
    int got = 0;
    if (uae_device_list(infos, n, &got) != UAE_OK) {
        fprintf(stderr, "uae devices: %s\n", uae_last_error());
        free(infos);
        free(lines);
        return CLI_EXIT_FAILURE;
    }
    if (got < n) n = got;
    /* The host backends are one entry each; OpenCL devices are told apart by their index (the
     * registry sets it on OpenCL handles only, so it is not compared for host ones). */
    int selected = -1;
    for (int i = 0; i < n; i++)
        if (strcmp(infos[i].backend, sel.backend) == 0 &&
            (strcmp(sel.backend, "opencl") != 0 || infos[i].index == sel.index))
            selected = i;
    if (json)
        rc = print_json(infos, n, selected);
    else
        print_table(infos, n, selected);
    for (int r = 0; lines && !json && r < ranks; r++)
        printf("%s%s\n", r == 0 ? "\nDevices of the job's ranks:\n" : "", lines + r * sizeof line);
    free(lines);
    free(infos);
    return rc;
}

const cli_command cli_cmd_devices = {
    .name = "devices",
    .summary = "list the devices uaekit can compute on",
    .usage = "devices [--json]",
    .help = "Lists every device of every backend compiled in: the host backends \"cpu\" (OpenMP)\n"
            "and \"ref\" (the scalar reference), then each OpenCL device of each platform. The\n"
            "index in the first column is what --device N selects; '*' marks the device that\n"
            "commands use now. Lists the devices and opens the selected one; runs nothing.\n"
            "Under mpirun, rank 0 also lists the device each rank took (docs/cluster.md).\n\n"
            "Options:\n"
            "  --json          print the list as JSON: {\"devices\": [{\"index\", \"backend\",\n"
            "                  \"platform\", \"name\", \"type\", \"vendor\", \"driver_version\",\n"
            "                  \"opencl_version\", \"compute_units\", \"global_mem_bytes\",\n"
            "                  \"local_mem_bytes\", \"max_alloc_bytes\", \"selected\"}, ...]}\n",
    .run = run_devices,
    .distributed = true,
};
