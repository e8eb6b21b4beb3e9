/* tests/fuzz/fuzz_png.c — libFuzzer target: PNG images (uae_image_read_png, libpng behind it).
 * The whole input is the file; it is read as stored, as gray and as RGB. */
#include "fuzz_util.h"
#include "uae/image.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path("i.png");
    fuzz_write(path, data, size);
    static const int want[3] = {0, 1, 3};
    for (int k = 0; k < 3; k++) {
        float *pix = NULL;
        int c, h, w;
        if (uae_image_read_png(path, want[k], &pix, &c, &h, &w) != UAE_OK) break;
        free(pix);
    }
    return 0;
}
