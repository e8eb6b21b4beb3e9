/* apps/cli_data.h — the data-set options that every command reading data shares (--label-column,
 * --feature-columns, --drop-columns, --categorical, --missing, --scale), their record in a
 * checkpoint's uae.run, where a checkpoint's data set is found again, and the scaling of tables.
 * Private to apps/; the library's side is uae_data_options and uae_data_scale01/standardize. */
#ifndef UAE_CLI_DATA_H
#define UAE_CLI_DATA_H

#include <jansson.h>

#include "cli.h"
#include "uae/data.h"

/* Option ids of the data options (above the command's own and below the attack options'). */
enum { CLI_OPT_DATA_FIRST = CLI_OPT_FIRST_COMMAND + 0x80 };

/* How a table's features are scaled: with the train split's numbers, the test split too. */
typedef enum cli_scale_kind {
    CLI_SCALE_AUTO,     /* tables min-max, images as they are (resolved by cli_data_load) */
    CLI_SCALE_NONE,
    CLI_SCALE_MINMAX,   /* (x - min) / (max - min) into [0, 1]; the test split clipped */
    CLI_SCALE_STANDARD, /* (x - mean) / std */
    CLI_SCALE_COUNT
} cli_scale_kind;

/* What the data options set. NULL / AUTO / -1: not given (a checkpoint's record, else the
 * defaults). Strings are not owned unless they come from cli_data_args_merge_run, which keeps
 * them in `owned`. */
typedef struct cli_data_args {
    const char *path;          /* --data (the command's own option); NULL: not given */
    const char *label_column, *feature_columns, *drop_columns;
    int categorical;           /* uae_csv_categorical, -1: not given */
    int missing;               /* uae_csv_missing, -1: not given */
    cli_scale_kind scale;
    json_t *owned;             /* the checkpoint record that merged strings point into */
} cli_data_args;

/* The scaling that was applied: kind and, for tables, the (d) numbers (min and max, or mean and
 * std) and the feature names (not owned: the train set's). */
typedef struct cli_scaling {
    cli_scale_kind kind;
    int64_t d;
    float *a, *b;              /* (d) min / mean and max / std; owned; NULL for NONE */
} cli_scaling;

extern const struct option cli_data_options[];

void cli_data_args_init(cli_data_args *a);
void cli_data_args_free(cli_data_args *a);

/* Appends cli_data_options to opts, a zero-terminated array of CLI_MAX_OPTIONS entries, except
 * those whose name the command already uses for an option of its own. */
void cli_data_options_append(struct option *opts);

/* If c is a data option, stores its value and returns CLI_EXIT_OK or CLI_EXIT_USAGE; returns -1
 * if c is not one of them. */
int cli_data_option(const cli_command *cmd, cli_data_args *a, int c, const char *v);

/* Fills what the command line left unset from a checkpoint's uae.run (JSON text, may be "" or
 * NULL) and the checkpoint's path: the data set (absolute as recorded, else relative to the
 * checkpoint's folder) and the table options. A checkpoint from before these were recorded
 * gets scale NONE, as it was trained. Returns CLI_EXIT_OK, or prints why not (a data set that is
 * no longer where it was, with the paths tried and that --data overrides them). */
int cli_data_args_merge_run(const cli_command *cmd, cli_data_args *a, const char *run,
                            const char *checkpoint);

/* Adds the data set (as an absolute path, and relative to the folder of checkpoint) and the
 * resolved table options and scaling to the JSON object o (a checkpoint's uae.run). */
int cli_data_args_record(const cli_data_args *a, const cli_scaling *sc, const char *checkpoint,
                         json_t *o);

/* Loads a->path (NULL: Fashion-MNIST) with the table options and scales it as a->scale says
 * (AUTO: tables min-max, images none), recording what was done in *sc (free with
 * cli_scaling_free). On failure prints the error and returns CLI_EXIT_FAILURE. */
int cli_data_load(const cli_command *cmd, const cli_globals *g, const cli_data_args *a,
                  uae_dataset *train, uae_dataset *test, cli_scaling *sc);

void cli_scaling_free(cli_scaling *sc);

const char *cli_scale_name(cli_scale_kind k);

/* {"features": [...], "scale": "minmax", "min": [...], "max": [...]} (or mean/std; without the
 * numbers for none): what a NumPy user needs to map a table's scaled rows back to its units.
 * NULL for data without feature names (images). The caller json_decrefs it. */
json_t *cli_data_describe(const uae_dataset *train, const cli_scaling *sc);

/* Writes o as indented JSON to path, atomically. */
uae_status cli_write_json(const char *path, const json_t *o);

/* The help text of the data options. */
#define CLI_DATA_OPTIONS_HELP \
    "Table options (CSV; a checkpoint records them, so later commands read it the same way):\n" \
    "  --label-column C   the label column, a name or 0-based index (default: the last;\n" \
    "                     \"\" for none)\n" \
    "  --feature-columns LIST  the feature columns, comma-separated (default: all others)\n" \
    "  --drop-columns LIST     columns to leave out (an ID column, say)\n" \
    "  --categorical MODE onehot or ordinal encoding of non-numeric columns (default: an\n" \
    "                     error naming the column)\n" \
    "  --missing MODE     drop (the row) or mean (the train split's column mean) for empty\n" \
    "                     cells, NA, NaN, ? (default: an error naming the cell)\n" \
    "  --scale MODE       none, minmax ([0, 1]) or standard (mean 0, std 1), with the train\n" \
    "                     split's numbers (default: minmax for tables, none for images)\n"

#endif /* UAE_CLI_DATA_H */
