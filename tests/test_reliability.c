/* tests/test_reliability.c — hostile but possible inputs reach the library and come back as a
 * status with a message, never an abort, a hang or a silent wrong value (docs/reliability.md):
 * palette and gray PNGs with transparency (made here with libpng), a checkpoint configuration
 * whose sizes overflow, run settings that are not JSON, a model that cannot be created from a
 * checkpoint, evaluation data of another shape, FIFOs where files are expected, stale temporary
 * files of a killed writer, the first cause of a failed .npy write, and CSV numbers out of float
 * range, below it, or with a NUL byte. Each case failed before its fix. The command-line side is
 * tests/test_cli_hostile.sh, test_crash.sh and test_full_disk.sh. */
#include <errno.h>
#include <math.h>
#include <png.h>
#include <signal.h>
#include <stdbool.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "uae/backend.h"
#include "uae/checkpoint.h"
#include "uae/data.h"
#include "uae/image.h"
#include "uae/io.h"
#include "uae/model.h"
#include "uae/train.h"
#include "tests/test_util.h"

static char dir[64];

/* A path in the test's folder; valid until 8 more calls. */
static const char *at(const char *name) {
    static char buf[8][160];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

static void write_file(const char *path, const void *data, size_t n) {
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", path);
        exit(1);
    }
}

/* ---- PNG with transparency ------------------------------------------------------------------ */

/* Writes a w x h PNG of the given colour type and depth with libpng; rows holds the packed
 * samples. palette/npal and trans/ntrans (palette: alpha per entry) or trans_color (gray, RGB) as
 * the type needs. */
static void write_png(const char *path, int w, int h, int type, int depth, png_bytep *rows,
                      const png_color *palette, int npal, const png_byte *trans, int ntrans,
                      const png_color_16 *trans_color) {
    FILE *f = fopen(path, "wb");
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!f || !png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "cannot write the test PNG %s\n", path);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, type, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    if (palette) png_set_PLTE(png, info, palette, npal);
    if (trans || trans_color) png_set_tRNS(png, info, trans, ntrans, trans_color);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

static void test_png_transparency(void) {
    /* An 8-bit palette image with a tRNS chunk: 4 x 2 pixels, entries 0..3. */
    const png_color pal[4] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {10, 20, 30}};
    const png_byte alpha[2] = {0, 128}; /* entry 0 transparent, 1 half */
    png_byte r0[4] = {0, 1, 2, 3}, r1[4] = {3, 2, 1, 0};
    png_bytep rows[2] = {r0, r1};
    write_png(at("pal.png"), 4, 2, PNG_COLOR_TYPE_PALETTE, 8, rows, pal, 4, alpha, 2, NULL);
    float *pix = NULL;
    int c = 0, h = 0, w = 0;
    CHECK_OK(uae_image_read_png(at("pal.png"), 0, &pix, &c, &h, &w));
    CHECK(c == 3 && h == 2 && w == 4, "palette + tRNS: %d x %d x %d, expected 3 x 2 x 4", c, h, w);
    if (pix && c == 3) {
        /* The colours as stored, transparency dropped: pixel (0, 3) is entry 3. */
        CHECK(pix[0] == 1.0f && pix[8] == 0.0f && pix[16] == 0.0f, "pixel 0 is not red");
        CHECK(pix[3] == 10 / 255.0f && pix[8 + 3] == 20 / 255.0f && pix[16 + 3] == 30 / 255.0f,
              "pixel 3 is not (10, 20, 30)");
    }
    free(pix);
    pix = NULL;
    CHECK_OK(uae_image_read_png(at("pal.png"), 1, &pix, &c, &h, &w));
    CHECK(c == 1, "palette + tRNS as gray: %d channels", c);
    free(pix);

    /* Gray with a transparent value, at 8 and at 2 bits; RGB with a transparent colour. */
    png_color_16 tgray = {.gray = 7}, trgb = {.red = 1, .green = 2, .blue = 3};
    png_byte g0[4] = {0, 7, 100, 255}, g1[4] = {255, 100, 7, 0};
    png_bytep grows[2] = {g0, g1};
    write_png(at("gray.png"), 4, 2, PNG_COLOR_TYPE_GRAY, 8, grows, NULL, 0, NULL, 0, &tgray);
    pix = NULL;
    CHECK_OK(uae_image_read_png(at("gray.png"), 0, &pix, &c, &h, &w));
    CHECK(c == 1 && pix && pix[1] == 7 / 255.0f, "gray + tRNS: %d channels", c);
    free(pix);
    tgray.gray = 1;
    png_byte p0[1] = {0x1B}, p1[1] = {0xE4}; /* 2-bit samples 0 1 2 3 / 3 2 1 0 */
    png_bytep prow[2] = {p0, p1};
    write_png(at("gray2.png"), 4, 2, PNG_COLOR_TYPE_GRAY, 2, prow, NULL, 0, NULL, 0, &tgray);
    pix = NULL;
    CHECK_OK(uae_image_read_png(at("gray2.png"), 0, &pix, &c, &h, &w));
    CHECK(c == 1 && pix && pix[3] == 1.0f, "2-bit gray + tRNS: %d channels", c);
    free(pix);
    png_byte c0[12] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12}, c1[12] = {0};
    png_bytep crow[2] = {c0, c1};
    write_png(at("rgb.png"), 4, 2, PNG_COLOR_TYPE_RGB, 8, crow, NULL, 0, NULL, 0, &trgb);
    pix = NULL;
    CHECK_OK(uae_image_read_png(at("rgb.png"), 0, &pix, &c, &h, &w));
    CHECK(c == 3 && pix && pix[0] == 1 / 255.0f, "RGB + tRNS: %d channels", c);
    free(pix);

    /* In a class folder, as users have them. */
    write_png(at("pf/a/1.png"), 4, 2, PNG_COLOR_TYPE_PALETTE, 8, rows, pal, 4, alpha, 2, NULL);
    uae_dataset ds;
    CHECK_OK(uae_data_load_png_folder(at("pf"), 0, &ds));
    uae_dataset_free(&ds);
}

/* ---- Sizes and messages from a checkpoint ----------------------------------------------------- */

static void test_config_sizes(void) {
    uae_model_config cfg;
    /* channels x height x width overflows int64 when multiplied: refused when read. */
    CHECK_FAILS(uae_model_config_from_json("{\"preset\":\"dense-ae\",\"channels\":2147483647,"
                                           "\"height\":2147483647,\"width\":2147483647,"
                                           "\"classes\":0}", &cfg),
                UAE_ERR_INVALID, "2147483647 x 2147483647 x 2147483647", "at most");
    CHECK_FAILS(uae_model_defaults("conv-ae", 3, 65536, 65536, 0, &cfg), UAE_ERR_INVALID,
                "features");
    /* A configuration changed after defaults: uae_model_create checks again. */
    uae_backend *be;
    CHECK_OK(uae_backend_open("cpu", &be));
    CHECK_OK(uae_model_defaults("dense-ae", 1, 4, 4, 0, &cfg));
    cfg.height = cfg.width = 1 << 30;
    uae_model *m = NULL;
    CHECK_FAILS(uae_model_create(be, &cfg, 1, &m), UAE_ERR_INVALID, "features");
    /* A hidden size whose weight does not fit the parameter store. */
    CHECK_OK(uae_model_defaults("dense-ae", 1, 1 << 14, 1 << 14, 0, &cfg));
    cfg.hidden = 1 << 30;
    CHECK_FAILS(uae_model_create(be, &cfg, 1, &m), UAE_ERR_NOMEM, "enc.weight", "floats");

    /* Evaluation data of another shape than the model's: a shape error, not a memory error
     * (conv-ae's parameters do not grow with the image, its batches do: 64 x 2^28 floats). */
    CHECK_OK(uae_model_defaults("conv-ae", 1, 1 << 14, 1 << 14, 0, &cfg));
    if (uae_model_create(be, &cfg, 1, &m) == UAE_OK) {
        uae_dataset ds = {.n = 64, .d = 784, .c = 1, .h = 28, .w = 28};
        ds.x = calloc(64 * 784, sizeof *ds.x);
        uae_eval_stats e;
        CHECK_FAILS(uae_train_evaluate(m, &ds, 64, 1, &e), UAE_ERR_SHAPE, "28 x 28",
                    "expects 1 x 16384 x 16384");
        free(ds.x);
        uae_model_free(m);
    } else {
        CHECK(false, "conv-ae on 16384 x 16384 images: %s", uae_last_error());
    }
    uae_backend_free(be);
}

/* Replaces the first occurrence of from by to (the same length) in the file: the metadata is
 * outside the checksum, so the file still opens. */
static bool patch_file(const char *path, const char *from, const char *to) {
    FILE *f = fopen(path, "rb");
    static char buf[1 << 20];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    size_t len = strlen(from);
    for (size_t i = 0; i + len <= n; i++)
        if (memcmp(buf + i, from, len) == 0) {
            memcpy(buf + i, to, len);
            write_file(path, buf, n);
            return true;
        }
    return false;
}

static void test_checkpoint_messages(void) {
    uae_backend *be;
    CHECK_OK(uae_backend_open("cpu", &be));
    uae_model_config cfg;
    CHECK_OK(uae_model_defaults("dense-ae", 1, 4, 4, 0, &cfg));
    uae_model *m = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 1, &m));
    CHECK_OK(uae_checkpoint_save(at("m.safetensors"), m, NULL));
    uae_model_free(m);

    /* Run settings that are not a JSON object: said when the checkpoint is read. */
    char path[160];
    snprintf(path, sizeof path, "%s", at("run.safetensors"));
    CHECK_OK(uae_checkpoint_save(path, (uae_model_create(be, &cfg, 1, &m), m), NULL));
    uae_model_free(m);
    CHECK(patch_file(path, "\"uae.run\":\"{}\"", "\"uae.run\":\"[]\""), "uae.run not found");
    uae_checkpoint_info info;
    CHECK_FAILS(uae_checkpoint_read_config(path, &cfg, &info), UAE_ERR_FORMAT, "run.safetensors",
                "uae.run", "not a JSON object");

    /* A configuration the model cannot be built from: the message names the file. */
    snprintf(path, sizeof path, "%s", at("hidden.safetensors"));
    CHECK_OK(uae_model_defaults("dense-ae", 1, 4, 4, 0, &cfg));
    CHECK_OK(uae_model_create(be, &cfg, 1, &m));
    CHECK_OK(uae_checkpoint_save(path, m, NULL));
    uae_model_free(m);
    CHECK(patch_file(path, "hidden\\\":128", "hidden\\\":  0"), "hidden not found");
    m = NULL;
    CHECK_FAILS(uae_checkpoint_load_model(path, be, &m, NULL), UAE_ERR_INVALID,
                "hidden.safetensors", "hidden size 0");
    CHECK(m == NULL, "a model was returned");
    uae_backend_free(be);
}

/* ---- FIFOs where files are expected ------------------------------------------------------------ */

static void on_alarm(int sig) {
    (void)sig;
    static const char msg[] = "FAIL: blocked on a FIFO for 20 s\n";
    (void)!write(2, msg, sizeof msg - 1);
    _exit(1);
}

static void test_fifos(void) {
    /* A loader that opened a FIFO without checking the file type first would block in open()
     * forever: the alarm ends the test then. */
    signal(SIGALRM, on_alarm);
    alarm(20);
    const char *names[] = {"f.safetensors", "f.png", "f.npy", "f.jsonl", "pf/a/2.png"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        CHECK(mkfifo(at(names[i]), 0644) == 0, "mkfifo %s: %s", names[i], strerror(errno));
    uae_model_config cfg;
    CHECK_FAILS(uae_checkpoint_read_config(at("f.safetensors"), &cfg, NULL), UAE_ERR_IO,
                "f.safetensors", "not a regular file", "FIFO");
    float *pix;
    int c, h, w;
    CHECK_FAILS(uae_image_read_png(at("f.png"), 0, &pix, &c, &h, &w), UAE_ERR_IO, "f.png",
                "not a regular file");
    uae_dataset ds;
    CHECK_FAILS(uae_data_load_png_folder(at("pf"), 0, &ds), UAE_ERR_IO, "2.png",
                "not a regular file");
    uae_npy_array a;
    CHECK_FAILS(uae_npy_read(at("f.npy"), &a), UAE_ERR_IO, "f.npy", "not a regular file");
    uae_npy_appender *app;
    CHECK_FAILS(uae_npy_appender_open(at("f.npy"), 1, (int64_t[]){4}, true, &app), UAE_ERR_IO,
                "not a regular file");
    CHECK_FAILS(uae_npy_appender_open(at("f.npy"), 1, (int64_t[]){4}, false, &app), UAE_ERR_IO,
                "not a regular file");
    uae_jsonl *log;
    CHECK_FAILS(uae_jsonl_open(at("f.jsonl"), true, &log), UAE_ERR_IO, "not a regular file");
    CHECK_FAILS(uae_jsonl_open(at("f.jsonl"), false, &log), UAE_ERR_IO, "not a regular file");
    FILE *f;
    CHECK_FAILS(uae_file_open(at("."), "r", &f), UAE_ERR_IO, "a folder");
    CHECK_FAILS(uae_file_open(at("missing"), "r", &f), UAE_ERR_IO, "missing");
    CHECK(errno == ENOENT, "errno %d after a missing file, expected ENOENT", errno);
    alarm(0);
    unlink(at("pf/a/2.png"));
}

/* ---- Stale temporaries ---------------------------------------------------------------------- */

static bool exists(const char *path) { return access(path, F_OK) == 0; }

static void test_stale_temporaries(void) {
    /* What a writer killed between open and commit leaves: "<target>.tmp.XXXXXX". */
    const char *stale[] = {"t.safetensors.tmp.AbC123", "t.safetensors.tmp.zzzzzz"};
    const char *kept[] = {"u.safetensors.tmp.AbC123", "t.safetensors.tmp.AbC12",
                          "t.safetensors.tmp.AbC1234", "t.safetensors"};
    for (int i = 0; i < 2; i++) write_file(at(stale[i]), "x", 1);
    for (int i = 0; i < 3; i++) write_file(at(kept[i]), "x", 1);
    mkdir(at("t.safetensors.tmp.dir123"), 0755); /* not a regular file: left alone */
    float v[2] = {1, 2};
    uae_st_tensor t = {"v", 1, {2}, v, UAE_ST_F32};
    CHECK_OK(uae_safetensors_write(at("t.safetensors"), &t, 1, NULL, 0));
    for (int i = 0; i < 2; i++) CHECK(!exists(at(stale[i])), "%s was not removed", stale[i]);
    for (int i = 0; i < 4; i++) CHECK(exists(at(kept[i])), "%s was removed", kept[i]);
    CHECK(exists(at("t.safetensors.tmp.dir123")), "a folder was removed");
    rmdir(at("t.safetensors.tmp.dir123"));
}

/* ---- The first cause of a failed write -------------------------------------------------------- */

static void test_npy_first_error(void) {
    /* A file-size limit makes writes fail with EFBIG, as a full disk does with ENOSPC: the close
     * that follows must still say why, not only "an earlier write failed". In a child, since the
     * limit is per process. */
    pid_t pid = fork();
    if (pid == 0) {
        signal(SIGXFSZ, SIG_IGN);
        struct rlimit rl = {16384, 16384};
        setrlimit(RLIMIT_FSIZE, &rl);
        uae_npy_appender *app;
        if (uae_npy_appender_open(at("full.npy"), 1, (int64_t[]){1024}, false, &app) != UAE_OK)
            _exit(2);
        static float rows[64 * 1024];
        uae_status st = UAE_OK;
        for (int i = 0; i < 4 && st == UAE_OK; i++) st = uae_npy_appender_append(app, 64, rows);
        if (st == UAE_OK) st = uae_npy_appender_sync(app);
        uae_status cst = uae_npy_appender_close(app);
        fprintf(stderr, "  close after a failed write: %s\n", uae_last_error());
        _exit(st != UAE_OK && cst != UAE_OK && strstr(uae_last_error(), strerror(EFBIG)) ? 0 : 3);
    }
    int status = 0;
    waitpid(pid, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
          "the close after a failed write lost its cause (child status %d)", status);
}

/* ---- CSV numbers ------------------------------------------------------------------------------ */

static void test_csv_numbers(void) {
    uae_data_options opt = uae_data_options_default();
    uae_dataset ds;
    const char *big = "a,b,label\n1,2,0\n3,1e39,1\n";
    write_file(at("big.csv"), big, strlen(big));
    CHECK_FAILS(uae_data_load_csv(at("big.csv"), &opt, &ds), UAE_ERR_FORMAT, "row 2",
                "column 'b'", "1e39", "float32 range");
    const char *huge = "a,b,label\n1,2,0\n3,-1e400,1\n";
    write_file(at("huge.csv"), huge, strlen(huge));
    CHECK_FAILS(uae_data_load_csv(at("huge.csv"), &opt, &ds), UAE_ERR_FORMAT, "row 2",
                "column 'b'", "float32 range");
    /* Below float range: rounded to the nearest float, as documented (0 or a subnormal). */
    const char *tiny = "a,b,label\n1,1e-310,0\n3,1e-40,1\n";
    write_file(at("tiny.csv"), tiny, strlen(tiny));
    if (uae_data_load_csv(at("tiny.csv"), &opt, &ds) == UAE_OK) {
        CHECK(ds.n == 2 && ds.d == 2, "tiny.csv: %lld x %lld", (long long)ds.n, (long long)ds.d);
        CHECK(ds.x[1] == 0.0f && ds.x[3] == 1e-40f && ds.x[3] != 0.0f,
              "tiny values read as %g and %g", (double)ds.x[1], (double)ds.x[3]);
        uae_dataset_free(&ds);
    } else {
        CHECK(false, "tiny.csv: %s", uae_last_error());
    }
    const char nul[] = "a,b,label\n1,2,0\n3,4\0005,1\n";
    write_file(at("nul.csv"), nul, sizeof nul - 1);
    CHECK_FAILS(uae_data_load_csv(at("nul.csv"), &opt, &ds), UAE_ERR_FORMAT, "line 3", "field 2",
                "NUL");
}

static int remove_tree(const char *path) {
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", path);
    return system(cmd);
}

/* With arguments, only the named cases run (test_reliability fifos csv_numbers). */
static const struct {
    const char *name;
    void (*fn)(void);
} cases[] = {
    {"png_transparency", test_png_transparency}, {"config_sizes", test_config_sizes},
    {"checkpoint_messages", test_checkpoint_messages}, {"fifos", test_fifos},
    {"stale_temporaries", test_stale_temporaries}, {"npy_first_error", test_npy_first_error},
    {"csv_numbers", test_csv_numbers},
};

int main(int argc, char **argv) {
    snprintf(dir, sizeof dir, "/tmp/uae_test_rel_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    mkdir(at("pf"), 0755);
    mkdir(at("pf/a"), 0755);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        bool run = argc < 2;
        for (int k = 1; k < argc; k++) run |= strcmp(argv[k], cases[i].name) == 0;
        if (run) cases[i].fn();
    }
    remove_tree(dir);
    if (failures) fprintf(stderr, "%d failure(s)\n", failures);
    else printf("reliability: all checks passed\n");
    return failures ? 1 : 0;
}
