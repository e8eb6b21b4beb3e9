/* tests/fuzz/fuzz_npy.c — libFuzzer target: .npy files, read whole (uae_npy_read) and reopened
 * for resuming by the appender (uae_npy_appender_open with resume, which checks the header's room
 * and cuts the file to its counted rows). The first byte picks the appender's row shape. */
#include "fuzz_util.h"
#include "uae/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 1) return 0;
    const char *path = fuzz_path("a.npy");
    fuzz_write(path, data + 1, size - 1);
    uae_npy_array a;
    if (uae_npy_read(path, &a) == UAE_OK) uae_npy_array_free(&a);
    int64_t row[3] = {1 + data[0] % 3, 2, 2};
    uae_npy_appender *app;
    if (uae_npy_appender_open(path, 1 + data[0] / 3 % 3, row, true, &app) == UAE_OK) {
        float x[12] = {0};
        (void)uae_npy_appender_append(app, 1, x);
        (void)uae_npy_appender_close(app);
    }
    return 0;
}
