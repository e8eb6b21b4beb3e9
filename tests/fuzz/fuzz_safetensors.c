/* tests/fuzz/fuzz_safetensors.c — libFuzzer target: .safetensors files (uae_safetensors_open,
 * which checks the header, the offsets and the checksum), then every tensor read back and a few
 * metadata keys looked up. */
#include "fuzz_util.h"
#include "uae/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path("t.safetensors");
    fuzz_write(path, data, size);
    uae_safetensors *st;
    if (uae_safetensors_open(path, &st) != UAE_OK) return 0;
    for (size_t i = 0; i < uae_safetensors_count(st); i++) {
        uae_st_tensor t = uae_safetensors_info(st, i, NULL);
        int64_t numel = 1;
        for (int d = 0; d < t.ndim; d++) numel *= t.shape[d];
        /* Opened means checked: the shape's product fits the file (other dtypes than F32 may
         * still be refused by the read, with a status). */
        float *buf = malloc((size_t)(numel > 0 ? numel : 1) * sizeof *buf);
        if (buf) (void)uae_safetensors_read(st, t.name, t.ndim, t.shape, buf);
        free(buf);
    }
    (void)uae_safetensors_meta(st, "uae.format");
    (void)uae_safetensors_meta(st, "uae.config");
    uae_safetensors_close(st);
    return 0;
}
