/* tests/fuzz/fuzz_idx_gz.c — libFuzzer target: IDX inside gzip. The input is an IDX images file
 * that the harness compresses first, so that mutations reach the IDX header and payload behind
 * the gzip layer (fuzz_idx mutates the gzip bytes themselves). */
#include <zlib.h>

#include "fuzz_util.h"
#include "uae/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path("images.idx.gz");
    gzFile gz = gzopen(path, "wb1");
    if (!gz || (size > 0 && gzwrite(gz, data, (unsigned)size) != (int)size) || gzclose(gz) != Z_OK)
        abort();
    uae_dataset ds;
    if (uae_data_load_idx(path, NULL, &ds) == UAE_OK) uae_dataset_free(&ds);
    return 0;
}
