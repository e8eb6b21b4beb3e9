/* tests/fuzz/fuzz_util.h — what the libFuzzer targets share: the input as a file. The parsers take
 * paths, so each input is written to a file in a private folder on /dev/shm (memory; /tmp if there
 * is none) and parsed from there. Not a test by itself; see tests/fuzz/meson.build. */
#ifndef UAE_FUZZ_UTIL_H
#define UAE_FUZZ_UTIL_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* The fuzzer's private folder, made once per process and removed at exit. */
static const char *fuzz_dir(void);

static char fuzz_dir_buf[64];

static void fuzz_dir_remove(void) {
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", fuzz_dir_buf);
    if (system(cmd) != 0) fprintf(stderr, "fuzz: cannot remove %s\n", fuzz_dir_buf);
}

static const char *fuzz_dir(void) {
    if (fuzz_dir_buf[0]) return fuzz_dir_buf;
    struct stat sb;
    const char *base = stat("/dev/shm", &sb) == 0 && S_ISDIR(sb.st_mode) ? "/dev/shm" : "/tmp";
    snprintf(fuzz_dir_buf, sizeof fuzz_dir_buf, "%s/uae_fuzz_XXXXXX", base);
    if (!mkdtemp(fuzz_dir_buf)) {
        perror("fuzz: mkdtemp");
        abort();
    }
    atexit(fuzz_dir_remove);
    return fuzz_dir_buf;
}

/* A path in the folder (a static buffer per name slot: 4 slots). */
static inline const char *fuzz_path(const char *name) {
    static char buf[4][128];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", fuzz_dir(), name);
    return buf[k];
}

/* Writes n bytes to path (replacing it). A failure here is the harness's, not the parser's. */
static inline void fuzz_write(const char *path, const uint8_t *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || (n > 0 && fwrite(data, 1, n, f) != n) || fclose(f) != 0) {
        perror(path);
        abort();
    }
}

#endif /* UAE_FUZZ_UTIL_H */
