/* tests/fuzz/fuzz_stats.c — libFuzzer target: an attack folder's stats.jsonl as a resume reads it
 * (uae_augment_cut_stats: keeps the lines of the examples already generated and rewrites the file
 * atomically). The first two bytes pick the first index and the row count. */
#include "fuzz_util.h"
#include "model_impl.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 2) return 0;
    const char *path = fuzz_path("stats.jsonl");
    fuzz_write(path, data + 2, size - 2);
    uae_generate_summary s;
    memset(&s, 0, sizeof s);
    double mi_sum = 0;
    int64_t mi_n = 0;
    (void)uae_augment_cut_stats(path, data[0] % 8, data[1] % 16, &s, &mi_sum, &mi_n, NULL);
    return 0;
}
