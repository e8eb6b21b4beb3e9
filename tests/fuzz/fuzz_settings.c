/* tests/fuzz/fuzz_settings.c — libFuzzer target: an attack folder's settings.json as `uae attack`
 * reads it on a rerun (uae_file_read_text, then a byte comparison with this run's settings; it is
 * not otherwise parsed), and as JSON, which is what a user's tools read it as. */
#include <jansson.h>

#include "fuzz_util.h"
#include "uae/io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const char *path = fuzz_path("settings.json");
    fuzz_write(path, data, size);
    char buf[8192];
    bool exists;
    if (uae_file_read_text(path, buf, sizeof buf, &exists) == UAE_OK && exists) {
        if (strlen(buf) >= sizeof buf) abort();
        json_t *o = json_loads(buf, 0, NULL);
        json_decref(o);
    }
    return 0;
}
