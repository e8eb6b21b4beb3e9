/* tests/fuzz/fuzz_checkpoint.c — libFuzzer target: a checkpoint's metadata (the uae.* keys of a
 * .safetensors header: format, configuration, epoch, step, seed, run settings), read by
 * uae_checkpoint_read_config. The metadata is outside the checksum, so a file edited by hand
 * reaches this code. */
#include "fuzz_util.h"
#include "uae/checkpoint.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path("c.safetensors");
    fuzz_write(path, data, size);
    uae_model_config cfg;
    uae_checkpoint_info info;
    (void)uae_checkpoint_read_config(path, &cfg, &info);
    return 0;
}
