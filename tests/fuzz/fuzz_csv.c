/* tests/fuzz/fuzz_csv.c — libFuzzer target: CSV tables (uae_data_load_csv). The first byte picks
 * the options (categorical encoding, missing-value policy, whether there is a label); the rest is
 * the file. */
#include "fuzz_util.h"
#include "uae/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    uae_data_options opt = uae_data_options_default();
    opt.categorical = (uae_csv_categorical)(data[0] % UAE_CSV_CAT_COUNT);
    opt.missing = (uae_csv_missing)(data[0] / 4 % UAE_CSV_MISSING_COUNT);
    if (data[0] & 0x40) opt.label_column = "";
    if (data[0] & 0x80) opt.feature_columns = "0,1";
    const char *path = fuzz_path("t.csv");
    fuzz_write(path, data + 1, size - 1);
    uae_dataset ds;
    if (uae_data_load_csv(path, &opt, &ds) == UAE_OK) uae_dataset_free(&ds);
    return 0;
}
