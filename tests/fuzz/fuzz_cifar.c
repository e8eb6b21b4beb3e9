/* tests/fuzz/fuzz_cifar.c — libFuzzer target: CIFAR-10 / CIFAR-100 binary batches
 * (uae_data_load_cifar). The first byte picks the variant; the rest is the file. */
#include "fuzz_util.h"
#include "uae/data.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *path = fuzz_path("batch.bin");
    fuzz_write(path, data + 1, size - 1);
    const char *paths[1] = {path};
    uae_dataset ds;
    if (uae_data_load_cifar(paths, 1, data[0] & 1, &ds) == UAE_OK) uae_dataset_free(&ds);
    return 0;
}
