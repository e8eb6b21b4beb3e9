/* tests/test_data.c — dataset loading (IDX raw and gzip, CIFAR-10/100, CSV, PNG folders), every
 * malformed-input case we promise to report, PNG writing, shuffles, splits and subsets. The test
 * writes its own small fixtures into a fresh temporary directory. If Debian's Fashion-MNIST is
 * installed, it is loaded too. */
#define _XOPEN_SOURCE 700 /* nftw */
#include <ftw.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "uae/data.h"
#include "uae/image.h"
#include "tests/test_util.h"

static char root[64];

/* root/name, in a static buffer (one at a time is enough here). */
static const char *at(const char *name) {
    static char buf[4][512];
    static int k;
    k = (k + 1) % 4;
    snprintf(buf[k], sizeof buf[k], "%s/%s", root, name);
    return buf[k];
}

static void write_bytes(const char *path, const void *data, size_t n, bool gz) {
    if (gz) {
        gzFile f = gzopen(path, "wb");
        CHECK(f && gzwrite(f, data, (unsigned)n) == (int)n);
        if (f) gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        CHECK(f && fwrite(data, 1, n, f) == n);
        if (f) fclose(f);
    }
}

static void write_text(const char *path, const char *text) { write_bytes(path, text, strlen(text), false); }

static void put_be32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)(v >> 24);
    p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8);
    p[3] = (unsigned char)v;
}

/* An IDX file: the header for dims (ndim of them) and then `payload` bytes of i * 7 % 256 (or of
 * labels i % 3 when ndim == 1). declared_only: the header only says so; `payload` is what is written. */
static void write_idx(const char *path, bool gz, int ndim, const uint32_t *dims, size_t payload) {
    size_t n = 4 + 4 * (size_t)ndim + payload;
    unsigned char *b = malloc(n);
    b[0] = b[1] = 0;
    b[2] = 0x08;
    b[3] = (unsigned char)ndim;
    for (int i = 0; i < ndim; i++) put_be32(b + 4 + 4 * i, dims[i]);
    for (size_t i = 0; i < payload; i++)
        b[4 + 4 * ndim + i] = (unsigned char)(ndim == 1 ? i % 3 : i * 7 % 256);
    write_bytes(path, b, n, gz);
    free(b);
}

/* ---- IDX ---- */

static void test_idx(void) {
    mkdir(at("idx"), 0700);
    const uint32_t img[3] = {5, 4, 3}, lab[1] = {5}, timg[3] = {2, 4, 3}, tlab[1] = {2};
    /* Train files gzip, test files raw: both must load. */
    write_idx(at("idx/train-images-idx3-ubyte.gz"), true, 3, img, 60);
    write_idx(at("idx/train-labels-idx1-ubyte.gz"), true, 1, lab, 5);
    write_idx(at("idx/t10k-images-idx3-ubyte"), false, 3, timg, 24);
    write_idx(at("idx/t10k-labels-idx1-ubyte"), false, 1, tlab, 2);
    uae_dataset tr, te;
    CHECK_OK(uae_data_load(at("idx"), NULL, &tr, &te));
    CHECK(tr.n == 5 && tr.c == 1 && tr.h == 4 && tr.w == 3 && tr.d == 12 && te.n == 2);
    CHECK(tr.num_classes == 3 && te.num_classes == 3 && tr.y[4] == 1 && te.y[1] == 1);
    /* Pixel i of the file is i * 7 % 256, scaled by 1/255: compare to the same float expression. */
    CHECK(tr.x && tr.x[13] == (float)(13 * 7 % 256) / 255.0f);
    CHECK(te.x && te.x[23] == (float)(23 * 7 % 256) / 255.0f);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);

    /* Malformed files: one file each, loaded with uae_data_load_idx. */
    uae_dataset ds;
    const char *p = at("bad-trunc-raw");
    write_idx(p, false, 3, img, 50); /* 10 bytes short */
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-trunc-raw", "byte offset 16", "60 bytes");
    p = at("bad-trunc.gz");
    write_idx(p, true, 3, img, 50);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-trunc.gz", "byte offset 66", "truncated");
    p = at("bad-trailing.gz");
    write_idx(p, true, 3, img, 61);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-trailing.gz", "byte offset 76", "60 bytes");
    p = at("bad-magic");
    unsigned char magic[16] = {0, 0, 0x0D, 3};
    write_bytes(p, magic, sizeof magic, false);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-magic", "byte offset 0", "0x00000803");
    p = at("bad-header");
    write_bytes(p, magic, 2, false);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-header", "byte offset 2", "magic");
    p = at("bad-dims");
    unsigned char dims[10] = {0, 0, 8, 3, 0, 0, 0, 9, 0, 0};
    write_bytes(p, dims, sizeof dims, false);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-dims", "byte offset 10", "dimension 2");
    /* Billions of declared images: refused before allocating, whatever the compression. */
    const uint32_t huge[3] = {2000000000u, 28, 28}, big[3] = {1000000, 28, 28};
    p = at("bad-huge-raw");
    write_idx(p, false, 3, huge, 100);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-huge-raw", "2000000000", "limit");
    p = at("bad-huge.gz");
    write_idx(p, true, 3, huge, 100);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-huge.gz", "2000000000", "limit");
    /* 784 MB declared, 100 bytes present: the gzip reader grows its buffer only as data arrives. */
    p = at("bad-big.gz");
    write_idx(p, true, 3, big, 100);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-big.gz", "byte offset 116", "784000000 bytes");
    p = at("bad-big-raw");
    write_idx(p, false, 3, big, 100);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-big-raw", "784000000 bytes", "file has 100");
    /* A gzip stream cut short, and one with damaged compressed data. */
    p = at("bad-cut.gz");
    write_idx(p, true, 3, big, 100000);
    FILE *f = fopen(p, "rb");
    unsigned char gz[4096];
    size_t n = f ? fread(gz, 1, sizeof gz, f) : 0;
    if (f) fclose(f);
    CHECK(n > 200 && n < sizeof gz);
    write_bytes(p, gz, n - 60, false);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-cut.gz", "byte offset", NULL);
    for (size_t i = 40; i < 80 && i < n; i++) gz[i] ^= 0x5a;
    write_bytes(p, gz, n, false);
    CHECK_FAILS(uae_data_load_idx(p, NULL, &ds), UAE_ERR_FORMAT, "bad-cut.gz", "byte offset", NULL);
    /* Image and label counts differ. */
    const uint32_t lab4[1] = {4};
    write_idx(at("lab4"), false, 1, lab4, 4);
    CHECK_FAILS(uae_data_load_idx(at("idx/train-images-idx3-ubyte.gz"), at("lab4"), &ds), UAE_ERR_FORMAT,
                "lab4", "4 labels", "5 images");
    CHECK(ds.x == NULL && ds.n == 0); /* a failed load leaves the dataset empty */
    CHECK_FAILS(uae_data_load_idx(at("missing-file"), NULL, &ds), UAE_ERR_IO, "missing-file", NULL, NULL);
}

/* ---- CIFAR ---- */

/* n CIFAR records: labels (coarse, fine) = (i % 20, i * 7 % 100), or fine = i % 10; pixels i + j. */
static void write_cifar(const char *path, int n, bool c100, int bad_label_at) {
    int rec = (c100 ? 2 : 1) + 3072;
    unsigned char *b = calloc((size_t)n, (size_t)rec);
    for (int i = 0; i < n; i++) {
        unsigned char *r = b + (size_t)i * rec;
        if (c100) {
            r[0] = (unsigned char)(i % 20);
            r[1] = (unsigned char)(i * 7 % 100);
        } else {
            r[0] = (unsigned char)(i == bad_label_at ? 12 : i % 10);
        }
        for (int j = 0; j < 3072; j++) r[(c100 ? 2 : 1) + j] = (unsigned char)(i + j);
    }
    write_bytes(path, b, (size_t)n * rec, false);
    free(b);
}

static void test_cifar(void) {
    mkdir(at("c10"), 0700);
    write_cifar(at("c10/data_batch_1.bin"), 3, false, -1);
    write_cifar(at("c10/data_batch_2.bin"), 2, false, -1);
    write_cifar(at("c10/test_batch.bin"), 2, false, -1);
    write_text(at("c10/batches.meta.txt"), "airplane\nautomobile\nbird\ncat\ndeer\ndog\nfrog\nhorse\nship\ntruck\n\n");
    uae_dataset tr, te;
    CHECK_OK(uae_data_load(at("c10"), NULL, &tr, &te));
    CHECK(tr.n == 5 && te.n == 2 && tr.c == 3 && tr.h == 32 && tr.w == 32 && tr.num_classes == 10);
    CHECK(tr.y && tr.y[3] == 0 && tr.y[4] == 1); /* batch 2 follows batch 1 */
    CHECK(tr.x && tr.x[4 * 3072 + 5] == (float)((1 + 5) % 256) / 255.0f);
    CHECK(tr.class_names && strcmp(tr.class_names[9], "truck") == 0);
    CHECK(te.class_names && strcmp(te.class_names[3], "cat") == 0);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
    /* The folder that the CIFAR-10 archive unpacks into is found from its parent. */
    mkdir(at("c10p"), 0700);
    rename(at("c10"), at("c10p/cifar-10-batches-bin"));
    CHECK_OK(uae_data_load(at("c10p"), NULL, &tr, &te));
    CHECK(tr.n == 5 && te.n == 2);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
    rename(at("c10p/cifar-10-batches-bin"), at("c10"));

    mkdir(at("c100"), 0700);
    write_cifar(at("c100/train.bin"), 30, true, -1);
    write_cifar(at("c100/test.bin"), 4, true, -1);
    CHECK_OK(uae_data_load(at("c100"), NULL, &tr, &te));
    CHECK(tr.n == 30 && te.n == 4 && tr.num_classes == 100 && tr.num_coarse == 20);
    CHECK(tr.y && tr.y_coarse && tr.y[29] == 29 * 7 % 100 && tr.y_coarse[29] == 29 % 20);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);

    /* Forcing the other format on a directory that lacks its files is an error. */
    uae_data_options opt = uae_data_options_default();
    opt.format = UAE_DATA_CIFAR100;
    CHECK_FAILS(uae_data_load(at("c10"), &opt, &tr, &te), UAE_ERR_IO, "c10", "train.bin", NULL);

    uae_dataset ds;
    const char *p = at("bad_batch.bin");
    write_cifar(p, 2, false, -1);
    truncate(p, 2 * 3073 - 100);
    CHECK_FAILS(uae_data_load_cifar(&p, 1, false, &ds), UAE_ERR_FORMAT, "bad_batch.bin", "byte offset 3073",
                "3073-byte");
    write_cifar(p, 3, false, 1);
    CHECK_FAILS(uae_data_load_cifar(&p, 1, false, &ds), UAE_ERR_FORMAT, "bad_batch.bin",
                "record 1 (byte offset 3073)", "0..9");
    CHECK(ds.x == NULL);
}

/* ---- CSV ---- */

static void test_csv(void) {
    uae_data_options opt = uae_data_options_default();
    uae_dataset ds;
    const char *p = at("t.csv");
    write_text(p, "a, b ,\"c, quoted\",label\r\n1,2,\"3\",0\r\n4,5,6,1\n\n7,8,9,2\n10,11,12,1");
    CHECK_OK(uae_data_load_csv(p, &opt, &ds));
    CHECK(ds.n == 4 && ds.d == 3 && ds.c == 1 && ds.h == 1 && ds.w == 3 && ds.num_classes == 3);
    CHECK(ds.x && ds.x[2] == 3 && ds.x[11] == 12 && ds.y[3] == 1);
    CHECK(ds.feature_names && strcmp(ds.feature_names[1], "b") == 0 &&
          strcmp(ds.feature_names[2], "c, quoted") == 0);
    uae_dataset_free(&ds);

    /* Columns by name and by index, in the order given; the label by index. */
    opt.feature_columns = "c, quoted,1";
    opt.label_column = "0";
    CHECK_FAILS(uae_data_load_csv(p, &opt, &ds), UAE_ERR_INVALID, "t.csv", "'c'", NULL);
    opt.feature_columns = " b , 2";
    CHECK_OK(uae_data_load_csv(p, &opt, &ds));
    CHECK(ds.d == 2 && ds.x && ds.x[0] == 2 && ds.x[1] == 3 && ds.y[2] == 7 && ds.num_classes == 11);
    uae_dataset_free(&ds);
    opt.feature_columns = "a";
    opt.label_column = "a";
    CHECK_FAILS(uae_data_load_csv(p, &opt, &ds), UAE_ERR_INVALID, "t.csv", "both the label and a feature", NULL);
    opt.label_column = "";
    CHECK_OK(uae_data_load_csv(p, &opt, &ds)); /* no labels */
    CHECK(ds.d == 1 && ds.y == NULL && ds.num_classes == 0);
    uae_dataset_free(&ds);
    opt = uae_data_options_default();

    /* Categorical columns: rejected by default, one-hot or ordinal on request; string labels. */
    p = at("cat.csv");
    write_text(p, "x,colour,kind\n1,red,cat\n2,blue,dog\n3,red,dog\n4,green,cat\n");
    CHECK_FAILS(uae_data_load_csv(p, &opt, &ds), UAE_ERR_FORMAT, "cat.csv", "row 1 (line 2), column 'colour'",
                "'red'");
    opt.categorical = UAE_CSV_CAT_ONEHOT;
    CHECK_OK(uae_data_load_csv(p, &opt, &ds));
    CHECK(ds.d == 4 && ds.num_classes == 2 && ds.class_names && strcmp(ds.class_names[1], "dog") == 0);
    CHECK(ds.feature_names && strcmp(ds.feature_names[1], "colour=blue") == 0 &&
          strcmp(ds.feature_names[3], "colour=red") == 0);
    /* row 3 is (3, red): one-hot (blue, green, red) = (0, 0, 1); label dog = 1 */
    CHECK(ds.x && ds.x[8] == 3 && ds.x[9] == 0 && ds.x[10] == 0 && ds.x[11] == 1 && ds.y[2] == 1);
    uae_dataset_free(&ds);
    opt.categorical = UAE_CSV_CAT_ORDINAL;
    CHECK_OK(uae_data_load_csv(p, &opt, &ds));
    CHECK(ds.d == 2 && ds.x && ds.x[1] == 2 && ds.x[3] == 0 && ds.x[7] == 1); /* red 2, blue 0, green 1 */
    uae_dataset_free(&ds);
    opt = uae_data_options_default();

    /* Bad rows. */
    p = at("bad-fields.csv");
    write_text(p, "a,b,y\n1,2,0\n3,4,5,0\n");
    CHECK_FAILS(uae_data_load_csv(p, &opt, &ds), UAE_ERR_FORMAT, "bad-fields.csv",
                "row 2 (line 3) has more than 3 fields", "expected 3");
    write_text(p, "a,b,y\n1,2,0\n3,4\n");
    CHECK_FAILS(uae_data_load_csv(p, &opt, &ds), UAE_ERR_FORMAT, "bad-fields.csv", "row 2 (line 3) has 2 fields",
                "expected 3");
    p = at("bad-quote.csv");
    write_text(p, "a,b,y\n1,\"2,0\n");
    CHECK_FAILS(uae_data_load_csv(p, &opt, &ds), UAE_ERR_FORMAT, "bad-quote.csv", "row 1 (line 2), column 2",
                "not closed");
    p = at("bad-label.csv");
    write_text(p, "a,y\n1,0\n2,-1.5x\n");
    opt.label_column = "y";
    CHECK_OK(uae_data_load_csv(p, &opt, &ds)); /* labels that are not small integers are names */
    CHECK(ds.num_classes == 2 && ds.class_names && strcmp(ds.class_names[0], "-1.5x") == 0);
    uae_dataset_free(&ds);
    opt = uae_data_options_default();

    /* Missing values: an error naming row and column, unless a policy is chosen. */
    p = at("miss.csv");
    write_text(p, "a,b,y\n1,10,0\n2,NA,1\n3,30,0\n,40,1\n");
    CHECK_FAILS(uae_data_load_csv(p, &opt, &ds), UAE_ERR_FORMAT, "miss.csv", "row 2 (line 3), column 'b'",
                "missing");
    opt.missing = UAE_CSV_MISSING_DROP;
    CHECK_OK(uae_data_load_csv(p, &opt, &ds));
    CHECK(ds.n == 2 && ds.x && ds.x[2] == 3 && ds.y[1] == 0);
    uae_dataset_free(&ds);

    /* A train/test pair: the mean and the standardisation come from train only. */
    mkdir(at("pair"), 0700);
    write_text(at("pair/train.csv"), "a,b,y\n1,10,0\n2,NA,1\n3,30,0\n,40,1\n");
    write_text(at("pair/test.csv"), "a,b,y\n,20,1\n5,NA,0\n");
    opt.missing = UAE_CSV_MISSING_MEAN;
    uae_dataset tr, te;
    CHECK_OK(uae_data_load(at("pair"), &opt, &tr, &te));
    /* train a = (1, 2, 3, mean 2), b = (10, mean 80/3, 30, 40); test a = (2, 5), b = (20, 80/3). */
    CHECK(tr.n == 4 && te.n == 2 && tr.x && te.x);
    CHECK(tr.x && tr.x[6] == 2.0f && fabsf(tr.x[3] - 80.0f / 3) < 1e-5f && te.x[0] == 2.0f &&
          fabsf(te.x[3] - 80.0f / 3) < 1e-5f); /* 1e-5: float rounding of 80/3 computed in double */
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
    opt.standardize = true;
    CHECK_OK(uae_data_load(at("pair"), &opt, &tr, &te));
    for (int j = 0; j < 2 && tr.x; j++) {
        double m = 0, v = 0;
        for (int i = 0; i < 4; i++) m += tr.x[i * 2 + j] / 4.0;
        for (int i = 0; i < 4; i++) v += (tr.x[i * 2 + j] - m) * (tr.x[i * 2 + j] - m) / 4.0;
        CHECK(fabs(m) < 1e-6 && fabs(v - 1) < 1e-5); /* float storage of values of order 1 */
    }
    /* test a = 5: train a is (1, 2, 3, 2), mean 2, std sqrt(0.5); (5 - 2) / sqrt(0.5) */
    CHECK(te.x && fabsf(te.x[2] - (float)(3 / sqrt(0.5))) < 1e-5f);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
    opt = uae_data_options_default();

    /* The test file is checked against the train file's columns and values. */
    write_text(at("pair/train.csv"), "a,b,y\n1,10,0\n2,20,1\n");
    write_text(at("pair/test.csv"), "a,b,y\n1,2,0\n3,x4,1\n");
    CHECK_FAILS(uae_data_load(at("pair"), &opt, &tr, &te), UAE_ERR_FORMAT, "test.csv",
                "row 2 (line 3), column 'b'", "'x4' is not a finite number");
    write_text(at("pair/test.csv"), "a,c,y\n1,2,0\n");
    CHECK_FAILS(uae_data_load(at("pair"), &opt, &tr, &te), UAE_ERR_FORMAT, "test.csv", "column 1", "'b'");

    /* A single file is split by test_fraction. */
    p = at("single.csv");
    write_text(p, "a,y\n0,0\n1,1\n2,0\n3,1\n4,0\n5,1\n6,0\n7,1\n8,0\n9,1\n");
    opt.test_fraction = 0.3;
    CHECK_OK(uae_data_load(p, &opt, &tr, &te));
    CHECK(tr.n == 7 && te.n == 3);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
}

/* ---- PNG ---- */

static void fill_image(float *x, int c, int h, int w, int seed) {
    for (int i = 0; i < c * h * w; i++) x[i] = (float)((i * 37 + seed * 11) % 256) / 255.0f;
}

static void test_png(void) {
    /* Round trip: values on the 8-bit grid come back bit for bit (k / 255 -> k -> k / 255). */
    float g[2 * 3], rgb[3 * 4 * 5];
    fill_image(g, 1, 2, 3, 1);
    fill_image(rgb, 3, 4, 5, 2);
    float *back;
    int c, h, w;
    CHECK_OK(uae_image_write_png(at("g.png"), g, 1, 2, 3));
    CHECK_OK(uae_image_read_png(at("g.png"), 0, &back, &c, &h, &w));
    CHECK(c == 1 && h == 2 && w == 3 && memcmp(back, g, sizeof g) == 0);
    free(back);
    CHECK_OK(uae_image_write_png(at("rgb.png"), rgb, 3, 4, 5));
    CHECK_OK(uae_image_read_png(at("rgb.png"), 0, &back, &c, &h, &w));
    CHECK(c == 3 && h == 4 && w == 5 && memcmp(back, rgb, sizeof rgb) == 0);
    free(back);
    /* Gray -> RGB copies the plane. */
    CHECK_OK(uae_image_read_png(at("g.png"), 3, &back, &c, &h, &w));
    CHECK(c == 3 && memcmp(back + 6, g, sizeof g) == 0);
    free(back);

    /* A folder with train/ and test/, a gray and an RGB image (converted to the first's 1 channel). */
    const char *dirs[] = {"pf", "pf/train", "pf/test", "pf/train/cat", "pf/train/dog", "pf/test/cat", "pf/test/dog"};
    for (int i = 0; i < 7; i++) mkdir(at(dirs[i]), 0700);
    float im[3 * 4 * 5];
    for (int k = 0; k < 3; k++) {
        char name[64];
        fill_image(im, 1, 4, 5, k);
        snprintf(name, sizeof name, "pf/train/cat/%d.png", k);
        CHECK_OK(uae_image_write_png(at(name), im, 1, 4, 5));
        fill_image(im, 3, 4, 5, k);
        snprintf(name, sizeof name, "pf/train/dog/%d.png", k);
        CHECK_OK(uae_image_write_png(at(name), im, 3, 4, 5));
    }
    CHECK_OK(uae_image_write_png(at("pf/test/dog/a.png"), im, 3, 4, 5));
    write_text(at("pf/test/dog/readme.txt"), "not an image, ignored");
    uae_dataset tr, te;
    CHECK_OK(uae_data_load(at("pf"), NULL, &tr, &te));
    CHECK(tr.n == 6 && te.n == 1 && tr.c == 1 && tr.h == 4 && tr.w == 5 && tr.num_classes == 2);
    CHECK(tr.y && tr.y[0] == 0 && tr.y[5] == 1 && te.y[0] == 1);
    CHECK(tr.class_names && strcmp(tr.class_names[1], "dog") == 0);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
    uae_data_options opt = uae_data_options_default();
    opt.channels = 3;
    CHECK_OK(uae_data_load(at("pf"), &opt, &tr, &te));
    CHECK(tr.c == 3 && tr.d == 60 && te.x && te.x[0] == im[0] && te.x[59] == im[59]);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
    /* One folder of classes, split. */
    opt = uae_data_options_default();
    opt.test_fraction = 0.5;
    CHECK_OK(uae_data_load(at("pf/train"), &opt, &tr, &te));
    CHECK(tr.n == 3 && te.n == 3 && tr.num_classes == 2);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);

    /* A train/ folder without test/ is split. */
    mkdir(at("pt"), 0700);
    rename(at("pf/train"), at("pt/train"));
    CHECK_OK(uae_data_load(at("pt"), &opt, &tr, &te));
    CHECK(tr.n == 3 && te.n == 3 && tr.num_classes == 2 && strcmp(tr.class_names[0], "cat") == 0);
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
    rename(at("pt/train"), at("pf/train"));

    /* A test class that train does not have; a size mismatch; garbage; a truncated PNG. */
    mkdir(at("pf/test/emu"), 0700);
    CHECK_FAILS(uae_data_load(at("pf"), NULL, &tr, &te), UAE_ERR_FORMAT, "pf/test", "'emu'", "train classes");
    rmdir(at("pf/test/emu"));
    CHECK_OK(uae_image_write_png(at("pf/test/dog/b.png"), im, 3, 5, 4));
    CHECK_FAILS(uae_data_load(at("pf"), NULL, &tr, &te), UAE_ERR_FORMAT, "pf/test/dog/b.png", "image 1",
                "expected 5 x 4");
    write_text(at("pf/test/dog/b.png"), "this is not a PNG file at all");
    CHECK_FAILS(uae_data_load(at("pf"), NULL, &tr, &te), UAE_ERR_FORMAT, "pf/test/dog/b.png", "image 1",
                "byte offset 8");
    CHECK_OK(uae_image_write_png(at("big.png"), rgb, 3, 4, 5));
    FILE *f = fopen(at("big.png"), "rb");
    unsigned char buf[4096];
    size_t n = f ? fread(buf, 1, sizeof buf, f) : 0;
    if (f) fclose(f);
    write_bytes(at("pf/test/dog/b.png"), buf, n / 2, false);
    CHECK_FAILS(uae_data_load(at("pf"), NULL, &tr, &te), UAE_ERR_FORMAT, "pf/test/dog/b.png", "image 1",
                "byte offset");
    CHECK(tr.x == NULL && te.x == NULL);
    /* A valid header declaring 100000 x 100000 pixels: refused before anything is allocated. */
    unsigned char huge[8 + 25] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R',
                                  0, 1, 0x86, 0xa0, 0, 1, 0x86, 0xa0, 8, 2, 0, 0, 0};
    uint32_t crc = (uint32_t)crc32(0, huge + 12, 17);
    huge[29] = (unsigned char)(crc >> 24);
    huge[30] = (unsigned char)(crc >> 16);
    huge[31] = (unsigned char)(crc >> 8);
    huge[32] = (unsigned char)crc;
    write_bytes(at("huge.png"), huge, sizeof huge, false);
    CHECK_FAILS(uae_image_read_png(at("huge.png"), 0, &back, &c, &h, &w), UAE_ERR_FORMAT, "huge.png",
                "byte offset", "exceeds user limit");

    /* A grid: 2 rows of up to 3 images of 4 x 5, gap 1, scale 2 -> 32 x 17 pixels, white gaps. */
    float imgs[3 * 20], delta[2 * 20];
    fill_image(imgs, 1, 4, 5, 3);
    fill_image(imgs + 20, 1, 4, 5, 4);
    fill_image(imgs + 40, 1, 4, 5, 5);
    for (int i = 0; i < 40; i++) delta[i] = (float)i;
    uae_image_row rows[2] = {{imgs, 3, UAE_CMAP_NONE, 0, 0}, {delta, 2, UAE_CMAP_VIRIDIS, 0, 0}};
    CHECK_OK(uae_image_write_grid(at("grid.png"), rows, 2, 1, 4, 5, 1, 2));
    CHECK_OK(uae_image_read_png(at("grid.png"), 0, &back, &c, &h, &w));
    CHECK(c == 3 && h == 17 && w == 32);
    int plane = h * w;
    CHECK(back[8 * w + 0] == 1.0f && back[plane + 0 * w + 10] == 1.0f); /* gap row 8, gap column 10 */
    /* The largest delta (row 1, image 1, last pixel) is viridis' yellow (253, 231, 37); it is
     * drawn at rows 9 + 2*3 .. +1 and columns 11 + 2*4 .. +1 of the grid. */
    int px = 16 * w + 20;
    CHECK(back[px] == 253 / 255.0f && back[plane + px] == 231 / 255.0f && back[2 * plane + px] == 37 / 255.0f);
    free(back);
    /* Labelled: a column of (4 * 4 glyphs + 2) * 1 pixels left of the same grid, text in black. */
    const char *labels[2] = {"x", "0..1"};
    CHECK_OK(uae_image_write_grid_labelled(at("grid.png"), rows, labels, 2, 1, 4, 5, 1, 2));
    CHECK_OK(uae_image_read_png(at("grid.png"), 0, &back, &c, &h, &w));
    CHECK(c == 3 && h == 17 && w == 18 + 32);
    int black = 0;
    for (int y = 0; y < h; y++)
        for (int x = 0; x < 18; x++) black += back[y * w + x] == 0.0f;
    CHECK(black > 0);
    CHECK(back[8 * w + 18] == 1.0f && back[16 * w + 18 + 20] == 253 / 255.0f); /* shifted by 18 */
    free(back);
    rows[1].cmap = UAE_CMAP_BWR;
    CHECK_OK(uae_image_write_grid(at("grid.png"), rows, 2, 1, 4, 5, 2, 1));
    float mask[4 * 5] = {0};
    mask[7] = 1;
    CHECK_OK(uae_image_write_mask(at("mask.png"), mask, 4, 5, 3));
    CHECK_OK(uae_image_read_png(at("mask.png"), 0, &back, &c, &h, &w));
    CHECK(c == 1 && h == 12 && w == 15 && back[(1 * 3) * w + 2 * 3] == 1.0f && back[0] == 0.0f);
    free(back);
    CHECK_FAILS(uae_image_write_png(at("no-such-dir/x.png"), g, 1, 2, 3), UAE_ERR_IO, "no-such-dir/x.png", "temporary file", NULL);
    /* Atomic writes leave no temporary files behind. */
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", root);
    CHECK(system(cmd) != 0);
}

/* ---- shuffles, batches, splits, subsets ---- */

static void test_random(void) {
    enum { N = 100 };
    int64_t a[N], b[N], c[N];
    uae_data_shuffle(N, 7, 0, a);
    uae_data_shuffle(N, 7, 0, b);
    uae_data_shuffle(N, 8, 0, c);
    CHECK(memcmp(a, b, sizeof a) == 0);
    CHECK(memcmp(a, c, sizeof a) != 0);
    uae_data_shuffle(N, 7, 1, c);
    CHECK(memcmp(a, c, sizeof a) != 0); /* another epoch, another order */
    bool seen[N] = {false};
    for (int i = 0; i < N; i++) seen[a[i]] = true;
    for (int i = 0; i < N; i++) CHECK(seen[i]);

    /* A dataset whose example i has feature i and label i % 3. */
    uae_dataset ds = {0};
    ds.n = 10;
    ds.d = ds.w = 1;
    ds.c = ds.h = 1;
    float x[10];
    int32_t y[10];
    for (int i = 0; i < 10; i++) {
        x[i] = (float)i;
        y[i] = i % 3;
    }
    ds.x = x;
    ds.y = y;
    ds.num_classes = 3;

    uae_batcher bt;
    CHECK_OK(uae_batcher_init(&bt, &ds, 4, 5));
    float bx[4], first[10];
    int32_t by[4];
    int64_t m, sizes[3] = {0}, k = 0, total = 0;
    bool got[10] = {false};
    while ((m = uae_batcher_next(&bt, bx, by)) > 0) {
        if (k < 3) sizes[k] = m;
        for (int i = 0; i < m; i++) {
            got[(int)bx[i]] = true;
            CHECK(by[i] == (int)bx[i] % 3);
            first[total + i] = bx[i];
        }
        total += m;
        k++;
    }
    CHECK(k == 3 && sizes[0] == 4 && sizes[1] == 4 && sizes[2] == 2 && total == 10);
    for (int i = 0; i < 10; i++) CHECK(got[i]);
    m = uae_batcher_next(&bt, bx, by); /* epoch 1 starts: a different order */
    CHECK(m == 4 && memcmp(bx, first, sizeof bx) != 0);
    uae_batcher_free(&bt);

    uae_dataset rest, held, rest2, held2;
    CHECK_OK(uae_data_split(&ds, 3, 11, &rest, &held));
    CHECK_OK(uae_data_split(&ds, 3, 11, &rest2, &held2));
    CHECK(rest.n == 7 && held.n == 3 && rest.d == 1 && held.y != NULL);
    CHECK(held.x && held2.x && memcmp(held.x, held2.x, 3 * sizeof(float)) == 0);
    bool in[10] = {false};
    for (int i = 0; i < rest.n; i++) in[(int)rest.x[i]] = true;
    for (int i = 0; i < held.n; i++) {
        CHECK(!in[(int)held.x[i]]);
        in[(int)held.x[i]] = true;
        CHECK(held.y[i] == (int)held.x[i] % 3);
    }
    for (int i = 0; i < 10; i++) CHECK(in[i]);
    for (int i = 1; i < rest.n; i++) CHECK(rest.x[i] > rest.x[i - 1]); /* original order kept */
    uae_dataset_free(&rest);
    uae_dataset_free(&held);
    uae_dataset_free(&rest2);
    uae_dataset_free(&held2);
    uae_dataset r3, h3;
    CHECK_FAILS(uae_data_split(&ds, 11, 1, &r3, &h3), UAE_ERR_INVALID, "11 of 10", NULL, NULL);

    uae_dataset s1, s2, s3;
    CHECK_OK(uae_data_subset(&ds, 4, 3, &s1));
    CHECK_OK(uae_data_subset(&ds, 4, 3, &s2));
    CHECK_OK(uae_data_subset(&ds, 4, 4, &s3));
    CHECK(s1.n == 4 && s1.x && s2.x && memcmp(s1.x, s2.x, 4 * sizeof(float)) == 0);
    CHECK(s3.x && memcmp(s1.x, s3.x, 4 * sizeof(float)) != 0);
    uae_dataset_free(&s1);
    uae_dataset_free(&s2);
    uae_dataset_free(&s3);
}

/* ---- damaged files never crash ---- */

/* Reads a whole small file. */
static size_t slurp(const char *path, unsigned char *buf, size_t cap) {
    FILE *f = fopen(path, "rb");
    size_t n = f ? fread(buf, 1, cap, f) : 0;
    if (f) fclose(f);
    return n;
}

/* Loads many randomly damaged copies (bytes changed, the end cut off) of a valid IDX, CSV and PNG
 * file: each load must either succeed or fail with a message; under the sanitizers, this also
 * shows that no damage leads to a bad memory access. */
static void test_damage(void) {
    const char *valid[3] = {at("idx/t10k-images-idx3-ubyte"), at("t.csv"), at("rgb.png")};
    uint64_t s = 12345; /* a fixed LCG: the same damage on every run */
    for (int fmt = 0; fmt < 3; fmt++) {
        unsigned char orig[8192], buf[8192];
        size_t n = slurp(valid[fmt], orig, sizeof orig);
        CHECK(n > 16 && n < sizeof orig);
        for (int trial = 0; trial < 300 && n > 16; trial++) {
            memcpy(buf, orig, n);
            size_t m = n;
            int edits = 1 + trial % 4;
            for (int e = 0; e < edits; e++) {
                s = s * 6364136223846793005ull + 1442695040888963407ull;
                size_t at_byte = (size_t)(s >> 33) % n;
                buf[at_byte] = (unsigned char)(s >> 20);
            }
            if (trial % 3 == 0) m = 1 + (size_t)(s >> 40) % n; /* also cut the end off */
            const char *p = at(fmt == 2 ? "damaged.png" : fmt == 1 ? "damaged.csv" : "damaged.idx");
            write_bytes(p, buf, m, false);
            uae_dataset ds;
            uae_status st;
            if (fmt == 0) {
                st = uae_data_load_idx(p, NULL, &ds);
            } else if (fmt == 1) {
                uae_data_options opt = uae_data_options_default();
                opt.categorical = UAE_CSV_CAT_ONEHOT;
                opt.missing = UAE_CSV_MISSING_MEAN;
                st = uae_data_load_csv(p, &opt, &ds);
            } else {
                float *px = NULL;
                int c, h, w;
                st = uae_image_read_png(p, 0, &px, &c, &h, &w);
                free(px);
                memset(&ds, 0, sizeof ds);
            }
            CHECK(st == UAE_OK || (strlen(uae_last_error()) > 0 && ds.x == NULL));
            uae_dataset_free(&ds);
        }
    }
}

/* ---- the real Fashion-MNIST, if installed ---- */

static void test_fashion(void) {
    if (access(UAE_DATA_DEFAULT_PATH "/train-images-idx3-ubyte.gz", R_OK) != 0) {
        printf("Fashion-MNIST not installed at %s: that part is skipped\n", UAE_DATA_DEFAULT_PATH);
        return;
    }
    uae_dataset tr, te;
    CHECK_OK(uae_data_load(NULL, NULL, &tr, &te));
    CHECK(tr.n == 60000 && te.n == 10000 && tr.c == 1 && tr.h == 28 && tr.w == 28 && tr.d == 784);
    CHECK(tr.num_classes == 10 && te.num_classes == 10);
    CHECK(tr.class_names && strcmp(tr.class_names[9], "Ankle boot") == 0);
    float lo = 1, hi = 0;
    for (int64_t i = 0; tr.x && i < tr.n * tr.d; i++) {
        if (tr.x[i] < lo) lo = tr.x[i];
        if (tr.x[i] > hi) hi = tr.x[i];
    }
    CHECK(lo == 0.0f && hi == 1.0f);
    int count[10] = {0};
    for (int64_t i = 0; tr.y && i < tr.n; i++) count[tr.y[i]]++;
    for (int k = 0; k < 10; k++) CHECK(count[k] == 6000); /* Fashion-MNIST is balanced */
    uae_dataset_free(&tr);
    uae_dataset_free(&te);
}

static int remove_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw) {
    (void)sb;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int main(void) {
    snprintf(root, sizeof root, "/tmp/uae_test_data_XXXXXX");
    if (!mkdtemp(root)) {
        perror("mkdtemp");
        return 1;
    }
    test_idx();
    test_cifar();
    test_csv();
    test_png();
    test_random();
    test_damage();
    test_fashion();
    nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    if (failures) {
        fprintf(stderr, "%d check(s) failed\n", failures);
        return 1;
    }
    puts("ok");
    return 0;
}
