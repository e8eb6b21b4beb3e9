/* tests/fuzz/fuzz_idx.c — libFuzzer target: IDX files, raw or gzip (uae_data_load_idx). The input
 * is an images file, optionally followed by a labels file: if it holds the 4-byte separator
 * "\n--\n", the part after it is the labels file. */
#include "fuzz_util.h"
#include "uae/data.h"

/* The first "\n--\n" in data, or NULL (memmem is a GNU extension). */
static const uint8_t *find_separator(const uint8_t *data, size_t size) {
    for (size_t i = 0; i + 4 <= size; i++)
        if (memcmp(data + i, "\n--\n", 4) == 0) return data + i;
    return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const uint8_t *sep = find_separator(data, size);
    size_t n_images = sep ? (size_t)(sep - data) : size;
    const char *images = fuzz_path("images.idx"), *labels = fuzz_path("labels.idx");
    fuzz_write(images, data, n_images);
    if (sep) fuzz_write(labels, sep + 4, size - n_images - 4);
    uae_dataset ds;
    if (uae_data_load_idx(images, sep ? labels : NULL, &ds) == UAE_OK) uae_dataset_free(&ds);
    return 0;
}
