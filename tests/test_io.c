/* tests/test_io.c — uaekit's file formats (uae/io.h): round trips, every kind of damaged file,
 * atomic replacement, the .npy appender with resume, JSON-lines logs.
 *
 *     test_io                       run all tests in a fresh folder under $TMPDIR (or /tmp)
 *     test_io --write-interop DIR   write files for tests/python/check_safetensors.py to check
 *     test_io --read-interop DIR    check the files that script wrote with safetensors and numpy
 *
 * Values are compared bit for bit (memcmp): a file format must give back exactly what was written,
 * so there is no tolerance anywhere in this file. */
#include <dirent.h>
#include <jansson.h>
#include <math.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "uae/io.h"
#include "tests/test_util.h"

static char dir[512];  /* the folder this run writes into */

static const char *in_dir(const char *name) {
    static char path[4][1024];  // a few at once, as in in_dir("a") + in_dir("b")
    static int next;
    char *p = path[next++ % 4];
    snprintf(p, sizeof path[0], "%s/%s", dir, name);
    return p;
}

/* Reads a whole file into a malloc'd buffer; *len receives its size. NULL if it cannot. */
static unsigned char *slurp(const char *path, size_t *len) {
    FILE *fp = fopen(path, "rb");
    if (!fp) return NULL;
    fseek(fp, 0, SEEK_END);
    long n = ftell(fp);
    fseek(fp, 0, SEEK_SET);
    unsigned char *buf = malloc((size_t)n + 1);
    if (buf && fread(buf, 1, (size_t)n, fp) != (size_t)n) {
        free(buf);
        buf = NULL;
    }
    fclose(fp);
    *len = (size_t)n;
    return buf;
}

static void spit(const char *path, const void *data, size_t len) {
    FILE *fp = fopen(path, "wb");
    UAE_ASSERT(fp && fwrite(data, 1, len, fp) == len);
    fclose(fp);
}

static bool same_file(const char *path, const unsigned char *want, size_t want_len) {
    size_t len;
    unsigned char *have = slurp(path, &len);
    bool same = have && len == want_len && memcmp(have, want, len) == 0;
    free(have);
    return same;
}

/* Counts files in the test folder whose name contains ".tmp." (left-over temporary files). */
static int temp_files(void) {
    DIR *d = opendir(dir);
    UAE_ASSERT(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strstr(e->d_name, ".tmp.")) n++;
    closedir(d);
    return n;
}

/* Writes a safetensors file by hand: the length field (header_len, or the real length if 0), the
 * header text as given, then data_len bytes of data (0, 1, 2, ...). */
static void write_raw(const char *path, uint64_t header_len, const char *header, size_t data_len) {
    size_t hlen = strlen(header);
    if (header_len == 0) header_len = hlen;
    unsigned char *buf = malloc(8 + hlen + data_len);
    for (int i = 0; i < 8; i++) buf[i] = (unsigned char)(header_len >> (8 * i));
    memcpy(buf + 8, header, hlen);
    for (size_t i = 0; i < data_len; i++) buf[8 + hlen + i] = (unsigned char)i;
    spit(path, buf, 8 + hlen + data_len);
    free(buf);
}

/* ---- CRC ----------------------------------------------------------------------------------- */

static void test_crc(void) {
    // The standard check value of CRC-32 (ISO-HDLC), the one in zlib, gzip and PNG.
    CHECK(uae_crc32(0, "123456789", 9) == 0xcbf43926u);
    // Feeding in pieces gives the same result as feeding at once.
    CHECK(uae_crc32(uae_crc32(0, "1234", 4), "56789", 5) == 0xcbf43926u);
}

/* ---- safetensors --------------------------------------------------------------------------- */

static float w[3 * 5], b[5], s[1];

static void fill_values(void) {
    for (int i = 0; i < 15; i++) w[i] = (float)i * 0.25f - 3.0f;
    for (int i = 0; i < 5; i++) b[i] = 1.0f / (float)(i + 1);
    s[0] = -0.0f;
    w[1] = NAN;  // bit-exact transfer includes NaN and Inf
    w[2] = INFINITY;
}

static uae_status write_model(const char *path) {
    uae_st_tensor ts[] = {
        {"w", 2, {3, 5}, w, UAE_ST_F32},
        {"b", 1, {5}, b, UAE_ST_F32},
        {"scalar", 0, {0}, s, UAE_ST_F32},
        {"empty", 2, {0, 4}, NULL, UAE_ST_F32},
    };
    uae_st_meta meta[] = {{"epoch", "3"}, {"note", "h\xc3\xa9llo"}};
    return uae_safetensors_write(path, ts, 4, meta, 2);
}

static void test_safetensors_roundtrip(void) {
    const char *path = in_dir("model.safetensors");
    CHECK_OK(write_model(path));
    CHECK(temp_files() == 0);

    // The layout: the header length is a multiple of 8, so the data starts 8-byte aligned.
    size_t len;
    unsigned char *raw = slurp(path, &len);
    UAE_ASSERT(raw);
    uint64_t hlen = 0;
    for (int i = 7; i >= 0; i--) hlen = hlen << 8 | raw[i];
    CHECK(hlen % 8 == 0);
    CHECK(len == 8 + hlen + sizeof w + sizeof b + sizeof s);
    CHECK(raw[8] == '{' && (raw[8 + hlen - 1] == ' ' || raw[8 + hlen - 1] == '}'));
    free(raw);

    uae_safetensors *st;
    CHECK_OK(uae_safetensors_open(path, &st));
    if (!st) return;
    CHECK(uae_safetensors_count(st) == 4);
    CHECK(strcmp(uae_safetensors_meta(st, "epoch"), "3") == 0);
    CHECK(strcmp(uae_safetensors_meta(st, "note"), "h\xc3\xa9llo") == 0);
    CHECK(strncmp(uae_safetensors_meta(st, UAE_SAFETENSORS_CHECKSUM_KEY), "crc32:", 6) == 0);
    CHECK(uae_safetensors_meta(st, "missing") == NULL);

    // Listed in data order: w, b, scalar, then the empty tensor at the very end.
    const char *dtype;
    uae_st_tensor t0 = uae_safetensors_info(st, 0, &dtype);
    CHECK(strcmp(t0.name, "w") == 0 && t0.ndim == 2 && t0.shape[0] == 3 && t0.shape[1] == 5);
    CHECK(strcmp(dtype, "F32") == 0);

    float w2[15], b2[5], s2[1];
    CHECK_OK(uae_safetensors_read(st, "w", 2, (int64_t[]){3, 5}, w2));
    CHECK_OK(uae_safetensors_read(st, "b", 1, (int64_t[]){5}, b2));
    CHECK_OK(uae_safetensors_read(st, "scalar", 0, NULL, s2));
    CHECK_OK(uae_safetensors_read(st, "empty", 2, (int64_t[]){0, 4}, NULL));
    CHECK(memcmp(w, w2, sizeof w) == 0);
    CHECK(memcmp(b, b2, sizeof b) == 0);
    CHECK(memcmp(s, s2, sizeof s) == 0);

    // Lookup errors name the file, the tensor and both shapes.
    CHECK_FAILS(uae_safetensors_read(st, "w", 2, (int64_t[]){5, 3}, w2), UAE_ERR_SHAPE,
                "tensor 'w' has shape (3, 5), expected (5, 3)");
    CHECK_FAILS(uae_safetensors_read(st, "w", 1, (int64_t[]){15}, w2), UAE_ERR_SHAPE,
                "expected (15,)");
    CHECK_FAILS(uae_safetensors_read(st, "nope", 1, (int64_t[]){1}, w2), UAE_ERR_INVALID,
                "no tensor named 'nope'");
    CHECK(strstr(uae_last_error(), "model.safetensors"));
    uae_safetensors_close(st);
    uae_safetensors_close(NULL);

    // No tensors at all is a valid file too.
    CHECK_OK(uae_safetensors_write(in_dir("none.safetensors"), NULL, 0, NULL, 0));
    CHECK_OK(uae_safetensors_open(in_dir("none.safetensors"), &st));
    if (st) CHECK(uae_safetensors_count(st) == 0);
    uae_safetensors_close(st);
}

static void test_safetensors_write_errors(void) {
    const char *path = in_dir("bad_write.safetensors");
    uae_st_tensor dup[] = {{"a", 1, {5}, b, UAE_ST_F32}, {"a", 1, {5}, b, UAE_ST_F32}};
    CHECK_FAILS(uae_safetensors_write(path, dup, 2, NULL, 0), UAE_ERR_INVALID,
                "two tensors are called 'a'");
    uae_st_tensor neg[] = {{"n", 2, {3, -1}, b, UAE_ST_F32}};
    CHECK_FAILS(uae_safetensors_write(path, neg, 1, NULL, 0), UAE_ERR_INVALID, "'n' has a bad shape");
    uae_st_tensor meta_name[] = {{"__metadata__", 1, {5}, b, UAE_ST_F32}};
    CHECK_FAILS(uae_safetensors_write(path, meta_name, 1, NULL, 0), UAE_ERR_INVALID, "not allowed");
    uae_st_meta reserved[] = {{UAE_SAFETENSORS_CHECKSUM_KEY, "crc32:00000000"}};
    CHECK_FAILS(uae_safetensors_write(path, NULL, 0, reserved, 1), UAE_ERR_INVALID, "reserved");
    uae_st_meta bad_utf8[] = {{"k", "\xff\xfe"}};
    CHECK_FAILS(uae_safetensors_write(path, NULL, 0, bad_utf8, 1), UAE_ERR_INVALID, "UTF-8");
    CHECK(access(path, F_OK) != 0);  // nothing was created
    CHECK(temp_files() == 0);
    CHECK_FAILS(uae_safetensors_write("/nonexistent-folder/x.safetensors", NULL, 0, NULL, 0),
                UAE_ERR_IO, "/nonexistent-folder/x.safetensors");
}

/* One hand-made file per way a header can be wrong. */
static void test_safetensors_malformed(void) {
    const char *path = in_dir("bad.safetensors");
    uae_safetensors *st = NULL;
    static const struct {
        uint64_t header_len;  // 0: the real length
        const char *header;
        size_t data_len;
        uae_status want;
        const char *text;
    } cases[] = {
        // Length field.
        {(uint64_t)1 << 60, "{}", 0, UAE_ERR_FORMAT, "beyond the limit"},
        {UAE_SAFETENSORS_MAX_HEADER + 1ull, "{}", 0, UAE_ERR_FORMAT, "beyond the limit"},
        {1000, "{}", 16, UAE_ERR_FORMAT, "truncated"},
        // JSON.
        {0, "{\"a\": ", 0, UAE_ERR_FORMAT, "not valid JSON"},
        {0, "[1, 2]", 0, UAE_ERR_FORMAT, "not a JSON object"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[4,8]}}", 8, UAE_ERR_FORMAT,
         "duplicate"},
        {0, "{\"a\": 3}", 0, UAE_ERR_FORMAT, "tensor 'a': header entry is not a JSON object"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1]}}", 4, UAE_ERR_FORMAT, "tensor 'a': expected"},
        // dtype.
        {0, "{\"a\":{\"dtype\":\"Q7\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4,
         UAE_ERR_UNSUPPORTED, "tensor 'a': unknown dtype 'Q7'"},
        // Shapes.
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,2],\"data_offsets\":[0,12]}}", 12,
         UAE_ERR_FORMAT, "tensor 'a': shape (2, 2) of F32 needs 16 bytes"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2,-2],\"data_offsets\":[0,16]}}", 16,
         UAE_ERR_FORMAT, "tensor 'a': shape entry 1"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2.0],\"data_offsets\":[0,8]}}", 8,
         UAE_ERR_FORMAT, "tensor 'a': shape entry 0"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1,1,1,1,1,1,1,1,1],\"data_offsets\":[0,4]}}", 4,
         UAE_ERR_UNSUPPORTED, "9 dimensions"},
        // A shape whose byte count would overflow 64 bits must not pass as "small".
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[4294967296,4294967296],\"data_offsets\":[0,0]}}",
         0, UAE_ERR_FORMAT, "tensor 'a': shape has over 2^60"},
        // Offsets.
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[100],\"data_offsets\":[0,400]}}", 16,
         UAE_ERR_FORMAT, "tensor 'a': data_offsets [0, 400] are outside the data area [0, 16]"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,4]}}", 8, UAE_ERR_FORMAT,
         "outside"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[-4,0]}}", 8, UAE_ERR_FORMAT,
         "two integers >= 0"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0]}}", 8, UAE_ERR_FORMAT,
         "[begin, end]"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12, UAE_ERR_FORMAT,
         "tensor 'b' at bytes [4, 12) overlaps tensor 'a'"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]},"
            "\"b\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12, UAE_ERR_FORMAT,
         "bytes [4, 8) before tensor 'b' belong to no tensor"},
        {0, "{\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 8, UAE_ERR_FORMAT,
         "the data area has 8 bytes but the tensors cover only 4"},
        // Metadata.
        {0, "{\"__metadata__\": {\"k\": 3}}", 0, UAE_ERR_FORMAT, "metadata 'k' is not a string"},
        {0, "{\"__metadata__\": [1]}", 0, UAE_ERR_FORMAT, "\"__metadata__\" is not a JSON object"},
        {0, "{\"__metadata__\": {\"uae.checksum\": \"crc32:00000000\"},"
            "\"a\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[0,4]}}", 4, UAE_ERR_FORMAT,
         "checksum mismatch"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        write_raw(path, cases[i].header_len, cases[i].header, cases[i].data_len);
        uae_status got = uae_safetensors_open(path, &st);
        if (got != cases[i].want || !strstr(uae_last_error(), cases[i].text) ||
            !strstr(uae_last_error(), "bad.safetensors")) {
            fprintf(stderr, "malformed case %zu (%.60s): gave %s \"%s\", expected %s with \"%s\"\n",
                    i, cases[i].header, uae_status_name(got), uae_last_error(),
                    uae_status_name(cases[i].want), cases[i].text);
            failures++;
        }
        CHECK(st == NULL);
        uae_safetensors_close(st);
    }

    // Too short for the length field; missing file.
    spit(path, "abcde", 5);
    CHECK_FAILS(uae_safetensors_open(path, &st), UAE_ERR_FORMAT, "too short");
    CHECK_FAILS(uae_safetensors_open(in_dir("missing.safetensors"), &st), UAE_ERR_IO,
                "cannot open");

    // Another dtype is accepted in the file (validated with its own size) but cannot be read.
    write_raw(path, 0, "{\"h\":{\"dtype\":\"F16\",\"shape\":[3],\"data_offsets\":[0,6]},"
                       "\"f\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]},"
                       "\"i\":{\"dtype\":\"BOOL\",\"shape\":[2],\"data_offsets\":[6,8]}}", 16);
    CHECK_OK(uae_safetensors_open(path, &st));
    if (st) {
        float f[3];
        CHECK_FAILS(uae_safetensors_read(st, "h", 1, (int64_t[]){3}, f), UAE_ERR_UNSUPPORTED,
                    "tensor 'h' has dtype F16, uaekit reads only F32");
        CHECK_OK(uae_safetensors_read(st, "f", 1, (int64_t[]){2}, f));
        CHECK(memcmp(f, (unsigned char[]){8, 9, 10, 11, 12, 13, 14, 15}, 8) == 0);
        CHECK(uae_safetensors_meta(st, UAE_SAFETENSORS_CHECKSUM_KEY) == NULL);  // unverified
    }
    uae_safetensors_close(st);
}

/* Every truncation and every single-byte change of a good file must be refused, never crash.
 * Single-byte changes are always caught: in the data by CRC-32 (which detects every error of up
 * to 32 consecutive bits), in the header because x ^ 0xff turns ASCII into invalid UTF-8 or
 * changes the length field. */
static void test_safetensors_damage(void) {
    const char *good = in_dir("model.safetensors"), *path = in_dir("damaged.safetensors");
    CHECK_OK(write_model(good));
    size_t len;
    unsigned char *raw = slurp(good, &len);
    UAE_ASSERT(raw);
    int accepted = 0;
    uae_safetensors *st;
    for (size_t cut = 0; cut < len; cut++) {
        spit(path, raw, cut);
        if (uae_safetensors_open(path, &st) == UAE_OK) accepted++;
        uae_safetensors_close(st);
    }
    CHECK(accepted == 0);
    for (size_t i = 0; i < len; i++) {
        raw[i] ^= 0xff;
        spit(path, raw, len);
        if (uae_safetensors_open(path, &st) == UAE_OK) {
            fprintf(stderr, "byte %zu flipped: accepted\n", i);
            accepted++;
        }
        uae_safetensors_close(st);
        raw[i] ^= 0xff;
    }
    CHECK(accepted == 0);
    // The checksum's own message for a change in the data.
    raw[len - 1] ^= 1;
    spit(path, raw, len);
    CHECK_FAILS(uae_safetensors_open(path, &st), UAE_ERR_FORMAT, "checksum mismatch");
    free(raw);
}

/* A failed write leaves the old file exactly as it was, and no temporary file behind. */
static void test_atomicity(void) {
    const char *path = in_dir("atomic.safetensors");
    CHECK_OK(write_model(path));
    size_t old_len;
    unsigned char *old = slurp(path, &old_len);
    UAE_ASSERT(old);

    // 1. Refused before writing (a duplicate name).
    uae_st_tensor dup[] = {{"a", 1, {5}, b, UAE_ST_F32}, {"a", 1, {5}, b, UAE_ST_F32}};
    CHECK_FAILS(uae_safetensors_write(path, dup, 2, NULL, 0), UAE_ERR_INVALID, NULL);
    CHECK(same_file(path, old, old_len));

    // 2. A write that fails half way: the file size limit (RLIMIT_FSIZE) makes write() fail with
    //    EFBIG after 64 KiB, as a full disk would. SIGXFSZ would kill us; ignore it for the test.
    static float big[1 << 18];  // 1 MiB of data
    uae_st_tensor bigt[] = {{"big", 1, {1 << 18}, big, UAE_ST_F32}};
    struct rlimit saved, small;
    getrlimit(RLIMIT_FSIZE, &saved);
    small = saved;
    small.rlim_cur = 64 * 1024;
    void (*old_handler)(int) = signal(SIGXFSZ, SIG_IGN);
    if (setrlimit(RLIMIT_FSIZE, &small) == 0) {
        uae_status st = uae_safetensors_write(path, bigt, 1, NULL, 0);
        setrlimit(RLIMIT_FSIZE, &saved);
        CHECK(st == UAE_ERR_IO);
        CHECK(same_file(path, old, old_len));
        CHECK(temp_files() == 0);
        // The same for .npy.
        setrlimit(RLIMIT_FSIZE, &small);
        st = uae_npy_write(path, 1, (int64_t[]){1 << 18}, big);
        setrlimit(RLIMIT_FSIZE, &saved);
        CHECK(st == UAE_ERR_IO);
        CHECK(same_file(path, old, old_len));
    } else {
        fprintf(stderr, "note: cannot lower RLIMIT_FSIZE; mid-write failure not tested\n");
    }
    setrlimit(RLIMIT_FSIZE, &saved);
    signal(SIGXFSZ, old_handler);

    // 3. The helper on its own: abort leaves the old file; commit replaces it.
    uae_atomic_file *f;
    CHECK_OK(uae_atomic_file_open(path, &f));
    fputs("half a file", uae_atomic_file_stream(f));
    CHECK(temp_files() == 1);
    uae_atomic_file_abort(f);
    CHECK(same_file(path, old, old_len));
    CHECK(temp_files() == 0);
    uae_atomic_file_abort(NULL);

    chmod(path, 0640);  // commit keeps the old file's permissions
    CHECK_OK(uae_atomic_file_open(path, &f));
    fputs("new", uae_atomic_file_stream(f));
    CHECK_OK(uae_atomic_file_commit(f));
    CHECK(same_file(path, (const unsigned char *)"new", 3));
    struct stat sb;
    CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0640);
    CHECK(temp_files() == 0);
    free(old);
}

/* ---- .npy ---------------------------------------------------------------------------------- */

static void test_npy_roundtrip(void) {
    float a[2 * 3 * 4];
    for (int i = 0; i < 24; i++) a[i] = (float)i - 7.5f;
    const char *path = in_dir("a.npy");
    CHECK_OK(uae_npy_write(path, 3, (int64_t[]){2, 3, 4}, a));
    size_t len;
    unsigned char *raw = slurp(path, &len);
    UAE_ASSERT(raw);
    size_t hlen = (size_t)raw[8] | (size_t)raw[9] << 8;
    CHECK(memcmp(raw, "\x93NUMPY\x01\x00", 8) == 0);
    CHECK((10 + hlen) % 64 == 0 && raw[10 + hlen - 1] == '\n');
    CHECK(strncmp((char *)raw + 10, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3, 4), }",
                  62) == 0);
    CHECK(len == 10 + hlen + sizeof a);
    free(raw);

    uae_npy_array arr;
    CHECK_OK(uae_npy_read(path, &arr));
    CHECK(arr.ndim == 3 && arr.shape[0] == 2 && arr.shape[1] == 3 && arr.shape[2] == 4);
    CHECK(arr.data && memcmp(arr.data, a, sizeof a) == 0);
    uae_npy_array_free(&arr);
    CHECK(arr.data == NULL);
    uae_npy_array_free(NULL);

    // 1-D ("(5,)" in Python), 0-D (a scalar) and empty arrays.
    CHECK_OK(uae_npy_write(path, 1, (int64_t[]){5}, a));
    CHECK_OK(uae_npy_read(path, &arr));
    CHECK(arr.ndim == 1 && arr.shape[0] == 5 && memcmp(arr.data, a, 5 * sizeof(float)) == 0);
    uae_npy_array_free(&arr);
    CHECK_OK(uae_npy_write(path, 0, NULL, a));
    CHECK_OK(uae_npy_read(path, &arr));
    CHECK(arr.ndim == 0 && arr.data && arr.data[0] == a[0]);
    uae_npy_array_free(&arr);
    CHECK_OK(uae_npy_write(path, 2, (int64_t[]){0, 3}, NULL));
    CHECK_OK(uae_npy_read(path, &arr));
    CHECK(arr.ndim == 2 && arr.shape[0] == 0 && arr.shape[1] == 3);
    uae_npy_array_free(&arr);

    CHECK_FAILS(uae_npy_write(path, 2, (int64_t[]){-1, 3}, a), UAE_ERR_INVALID, "bad shape");
}

/* Writes a .npy preamble with the given dict (padded to 64) followed by data_len zero bytes. */
static void write_npy_raw(const char *path, const char *dict, size_t data_len) {
    unsigned char buf[512] = {0};
    size_t len = strlen(dict), total = (10 + len + 1 + 63) / 64 * 64;
    memcpy(buf, "\x93NUMPY\x01\x00", 8);
    buf[8] = (unsigned char)((total - 10) & 0xff);
    buf[9] = (unsigned char)((total - 10) >> 8);
    memcpy(buf + 10, dict, len);
    memset(buf + 10 + len, ' ', total - 10 - len - 1);
    buf[total - 1] = '\n';
    UAE_ASSERT(total + data_len <= sizeof buf);
    spit(path, buf, total + data_len);
}

static void test_npy_malformed(void) {
    const char *path = in_dir("bad.npy");
    uae_npy_array arr;
    spit(path, "PK\x03\x04 this is a zip", sizeof "PK\x03\x04 this is a zip" - 1);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_FORMAT, "not a .npy file");
    write_npy_raw(path, "{'descr': '<f8', 'fortran_order': False, 'shape': (2,), }", 16);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_UNSUPPORTED, "dtype '<f8'");
    write_npy_raw(path, "{'descr': '<f4', 'fortran_order': True, 'shape': (2, 2), }", 16);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_UNSUPPORTED, "Fortran order");
    write_npy_raw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", 20);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_FORMAT,
                "shape (2, 3) needs 24 bytes of data, the file has 20");
    write_npy_raw(path, "{'descr': '<f4', 'shape': (2,), }", 8);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_FORMAT, "expected dict");
    write_npy_raw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2, x), }", 8);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_FORMAT, "expected dict");
    write_npy_raw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (99999999999999999999,), }", 8);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_FORMAT, "expected dict");
    write_npy_raw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), 'extra': 1, }", 8);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_FORMAT, "expected dict");
    write_npy_raw(path, "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), } x", 8);
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_FORMAT, "expected dict");
    // Spacing and key order as another writer might produce them are fine.
    write_npy_raw(path, "{ \"shape\":(2 ,) ,'fortran_order':False,'descr':'<f4'}", 8);
    CHECK_OK(uae_npy_read(path, &arr));
    CHECK(arr.ndim == 1 && arr.shape[0] == 2);
    uae_npy_array_free(&arr);
    CHECK_FAILS(uae_npy_read(in_dir("missing.npy"), &arr), UAE_ERR_IO, "cannot open");

    // Every truncation of a good file is refused, never a crash.
    float a[6] = {1, 2, 3, 4, 5, 6};
    CHECK_OK(uae_npy_write(path, 2, (int64_t[]){2, 3}, a));
    size_t len;
    unsigned char *raw = slurp(path, &len);
    int accepted = 0;
    for (size_t cut = 0; cut < len; cut++) {
        spit(path, raw, cut);
        if (uae_npy_read(path, &arr) == UAE_OK) accepted++;
        uae_npy_array_free(&arr);
    }
    CHECK(accepted == 0);
    free(raw);
}

static void fill_row(float *row, int64_t r) {
    for (int i = 0; i < 6; i++) row[i] = (float)(r * 10 + i);
}

/* Checks that path holds rows 0..n-1 of fill_row, shape (n, 2, 3). */
static void check_rows(const char *path, int64_t n) {
    uae_npy_array arr;
    CHECK_OK(uae_npy_read(path, &arr));
    CHECK(arr.ndim == 3 && arr.shape[0] == n && arr.shape[1] == 2 && arr.shape[2] == 3);
    if (arr.data && arr.shape[0] == n) {
        for (int64_t r = 0; r < n; r++) {
            float want[6];
            fill_row(want, r);
            CHECK(memcmp(arr.data + r * 6, want, sizeof want) == 0);
        }
    }
    uae_npy_array_free(&arr);
}

static void test_npy_appender(void) {
    const char *path = in_dir("rows.npy");
    const int64_t row_shape[2] = {2, 3};
    float rows[3 * 6];
    uae_npy_appender *app;

    // Append 5 rows one at a time and 3 at once; the header then counts 8.
    CHECK_OK(uae_npy_appender_open(path, 2, row_shape, false, &app));
    if (!app) return;
    for (int64_t r = 0; r < 5; r++) {
        fill_row(rows, r);
        CHECK_OK(uae_npy_appender_append(app, 1, rows));
    }
    for (int64_t r = 0; r < 3; r++) fill_row(rows + r * 6, 5 + r);
    CHECK_OK(uae_npy_appender_append(app, 3, rows));
    CHECK(uae_npy_appender_rows(app) == 8);
    CHECK_OK(uae_npy_appender_close(app));
    check_rows(path, 8);
    size_t len;
    unsigned char *raw = slurp(path, &len);
    size_t hlen = (size_t)raw[8] | (size_t)raw[9] << 8;
    CHECK((10 + hlen) % 64 == 0 && len == 10 + hlen + 8 * sizeof rows / 3);
    free(raw);

    // Resume and add 2 more.
    CHECK_OK(uae_npy_appender_open(path, 2, row_shape, true, &app));
    if (!app) return;
    CHECK(uae_npy_appender_rows(app) == 8);
    fill_row(rows, 8);
    fill_row(rows + 6, 9);
    CHECK_OK(uae_npy_appender_append(app, 2, rows));
    CHECK_OK(uae_npy_appender_close(app));
    check_rows(path, 10);

    // A crash after some rows were written but before the header counted them, in the middle of
    // a row: the header (10) is authoritative, and resuming drops the uncounted bytes.
    FILE *fp = fopen(path, "ab");
    fill_row(rows, 10);
    fwrite(rows, 1, sizeof(float) * 6 + 7, fp);  // one whole uncounted row and 7 bytes more
    fclose(fp);
    check_rows(path, 10);
    CHECK_OK(uae_npy_appender_open(path, 2, row_shape, true, &app));
    if (!app) return;
    CHECK(uae_npy_appender_rows(app) == 10);
    fill_row(rows, 10);
    CHECK_OK(uae_npy_appender_append(app, 1, rows));
    CHECK_OK(uae_npy_appender_sync(app));
    check_rows(path, 11);  // readable while still open, after a sync
    CHECK_OK(uae_npy_appender_close(app));
    check_rows(path, 11);
    raw = slurp(path, &len);
    CHECK(len == 10 + hlen + 11 * 6 * sizeof(float));  // the partial row is gone
    free(raw);

    // Resuming with another row shape, or a file that lost counted rows, is refused.
    CHECK_FAILS(uae_npy_appender_open(path, 2, (int64_t[]){3, 2}, true, &app), UAE_ERR_SHAPE,
                "file has shape (11, 2, 3), expected rows of shape (11, 3, 2)");
    CHECK(truncate(path, (off_t)(len - 4)) == 0);
    CHECK_FAILS(uae_npy_appender_open(path, 2, row_shape, true, &app), UAE_ERR_FORMAT,
                "header counts 11 rows but the file holds fewer");
    uae_npy_array arr;
    CHECK_FAILS(uae_npy_read(path, &arr), UAE_ERR_FORMAT, "truncated");

    // resume = true on a missing or empty file starts one; resume = false replaces an old one.
    const char *fresh = in_dir("fresh.npy");
    CHECK_OK(uae_npy_appender_open(fresh, 2, row_shape, true, &app));
    CHECK_OK(uae_npy_appender_close(app));
    check_rows(fresh, 0);
    spit(fresh, "", 0);
    CHECK_OK(uae_npy_appender_open(fresh, 2, row_shape, true, &app));
    CHECK_OK(uae_npy_appender_close(app));
    check_rows(fresh, 0);
    // A header without room for a 21-digit count (a tight 64 bytes, as another tool may write)
    // cannot be rewritten in place, so it cannot be resumed.
    write_npy_raw(fresh, "{'descr':'<f4','fortran_order':False,'shape':(1,2,3)}", 24);
    CHECK_OK(uae_npy_read(fresh, &arr));
    uae_npy_array_free(&arr);
    CHECK_FAILS(uae_npy_appender_open(fresh, 2, row_shape, true, &app), UAE_ERR_FORMAT,
                "no room to grow the row count");
    spit(fresh, "junk", 4);
    CHECK_FAILS(uae_npy_appender_open(fresh, 2, row_shape, true, &app), UAE_ERR_FORMAT,
                "not a .npy file");
    CHECK_OK(uae_npy_appender_open(path, 2, row_shape, false, &app));
    CHECK_OK(uae_npy_appender_close(app));
    check_rows(path, 0);
    CHECK(uae_npy_appender_close(NULL) == UAE_OK);

    // Scalar rows give a 1-D array.
    CHECK_OK(uae_npy_appender_open(path, 0, NULL, false, &app));
    CHECK_OK(uae_npy_appender_append(app, 3, (float[]){1, 2, 3}));
    CHECK_OK(uae_npy_appender_close(app));
    CHECK_OK(uae_npy_read(path, &arr));
    CHECK(arr.ndim == 1 && arr.shape[0] == 3 && arr.data[2] == 3.0f);
    uae_npy_array_free(&arr);
}

/* ---- JSON lines ---------------------------------------------------------------------------- */

static void test_jsonl(void) {
    const char *path = in_dir("log.jsonl");
    uae_jsonl *log;
    CHECK_OK(uae_jsonl_open(path, false, &log));
    if (!log) return;
    CHECK_OK(uae_jsonl_writef(log, "{s:i, s:f, s:s}", "step", 1, "loss", (double)0.1f, "phase",
                              "train\nline"));
    json_t *obj = json_pack("{s:I, s:[f,f]}", "step", (json_int_t)2, "xy", 0.5, -2.0);
    CHECK_OK(uae_jsonl_write(log, obj));
    json_decref(obj);
    // Errors write nothing.
    CHECK_FAILS(uae_jsonl_writef(log, "{s:f}", "loss", (double)NAN), UAE_ERR_NUMERIC, "NaN");
    json_t *arr = json_array();
    CHECK_FAILS(uae_jsonl_write(log, arr), UAE_ERR_INVALID, "must be a JSON object");
    json_decref(arr);
    CHECK_OK(uae_jsonl_close(log));
    CHECK(uae_jsonl_close(NULL) == UAE_OK);

    CHECK_OK(uae_jsonl_open(path, true, &log));  // append
    if (!log) return;
    CHECK_OK(uae_jsonl_writef(log, "{s:i}", "step", 3));
    CHECK_OK(uae_jsonl_close(log));

    // Exactly these three lines: 9 significant digits for 0.1f, the newline escaped.
    const char *want = "{\"step\":1,\"loss\":0.100000001,\"phase\":\"train\\nline\"}\n"
                       "{\"step\":2,\"xy\":[0.5,-2.0]}\n"
                       "{\"step\":3}\n";
    size_t len;
    unsigned char *raw = slurp(path, &len);
    CHECK(raw && len == strlen(want) && memcmp(raw, want, len) == 0);
    if (raw && (len != strlen(want) || memcmp(raw, want, len) != 0))
        fprintf(stderr, "log.jsonl holds:\n%.*s", (int)len, (char *)raw);
    free(raw);

    CHECK_FAILS(uae_jsonl_open("/nonexistent-folder/log.jsonl", true, &log), UAE_ERR_IO,
                "/nonexistent-folder/log.jsonl");
}

/* ---- Interoperability with Python (tests/python/check_safetensors.py) ---------------------- */

/* The values the Python script expects: i * 0.25 - 3 for tensor "w", 1/(i+1) for "b". */
static int write_interop(void) {
    float wi[4 * 6], bi[7], rows[5 * 4];
    for (int i = 0; i < 24; i++) wi[i] = (float)i * 0.25f - 3.0f;
    for (int i = 0; i < 7; i++) bi[i] = 1.0f / (float)(i + 1);
    uae_st_tensor ts[] = {{"layer.w", 2, {4, 6}, wi, UAE_ST_F32}, {"layer.b", 1, {7}, bi, UAE_ST_F32}};
    uae_st_meta meta[] = {{"producer", "uaekit test_io"}};
    CHECK_OK(uae_safetensors_write(in_dir("uae.safetensors"), ts, 2, meta, 1));
    CHECK_OK(uae_npy_write(in_dir("uae.npy"), 2, (int64_t[]){4, 6}, wi));
    // An appended file whose header counts 5 rows of (2, 2), followed by a partial row that
    // numpy must ignore as well.
    uae_npy_appender *app;
    CHECK_OK(uae_npy_appender_open(in_dir("uae_rows.npy"), 2, (int64_t[]){2, 2}, false, &app));
    for (int i = 0; i < 20; i++) rows[i] = (float)i;
    for (int r = 0; r < 5 && app; r++) CHECK_OK(uae_npy_appender_append(app, 1, rows + 4 * r));
    CHECK_OK(uae_npy_appender_close(app));
    FILE *fp = fopen(in_dir("uae_rows.npy"), "ab");
    fwrite(rows, 1, 6, fp);
    fclose(fp);
    return failures ? 1 : 0;
}

/* Reads py.safetensors (safetensors.numpy.save_file) and py.npy (numpy.save). */
static int read_interop(void) {
    uae_safetensors *st;
    CHECK_OK(uae_safetensors_open(in_dir("py.safetensors"), &st));
    if (!st) return 1;
    float m[3 * 4], v[5];
    CHECK_OK(uae_safetensors_read(st, "m", 2, (int64_t[]){3, 4}, m));
    CHECK_OK(uae_safetensors_read(st, "v", 1, (int64_t[]){5}, v));
    for (int i = 0; i < 12; i++) CHECK(m[i] == (float)i * 0.5f - 1.0f);
    for (int i = 0; i < 5; i++) CHECK(v[i] == 1.0f / (float)(i + 1));
    CHECK(uae_safetensors_meta(st, "source") && !strcmp(uae_safetensors_meta(st, "source"), "python"));
    uae_safetensors_close(st);
    uae_npy_array arr;
    CHECK_OK(uae_npy_read(in_dir("py.npy"), &arr));
    CHECK(arr.ndim == 3 && arr.shape[0] == 2 && arr.shape[1] == 3 && arr.shape[2] == 4);
    for (int i = 0; i < 24 && arr.data; i++) CHECK(arr.data[i] == (float)i * 0.5f - 1.0f);
    uae_npy_array_free(&arr);
    return failures ? 1 : 0;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void remove_dir(void) {
    DIR *d = opendir(dir);
    if (!d) return;
    char path[1024];
    for (struct dirent *e; (e = readdir(d));) {
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        unlink(path);
    }
    closedir(d);
    rmdir(dir);
}

/* ---- Folder locks -------------------------------------------------------------------------- */

/* A second take of a held folder fails with the holder's pid (flock locks belong to an open file,
 * so a second take in the same process conflicts as another process's would); release frees it. */
static void test_folder_lock(void) {
    const char *sub = in_dir("locked");
    CHECK(mkdir(sub, 0777) == 0);
    uae_folder_lock *a = NULL, *b = NULL;
    CHECK_OK(uae_folder_lock_take(sub, &a));
    CHECK(a != NULL);
    char pid[32];
    snprintf(pid, sizeof pid, "pid %ld", (long)getpid());
    CHECK_FAILS(uae_folder_lock_take(sub, &b), UAE_ERR_IO, "locked", "another process", pid,
                "--out");
    CHECK(b == NULL);
    uae_folder_lock_release(a);
    CHECK_OK(uae_folder_lock_take(sub, &b)); // free again
    uae_folder_lock_release(b);
    uae_folder_lock_release(NULL);
    CHECK_FAILS(uae_folder_lock_take(in_dir("no-such-folder"), &a), UAE_ERR_IO, "no-such-folder");
    char lock[600];
    snprintf(lock, sizeof lock, "%s/.lock", sub);
    unlink(lock);
    rmdir(sub);
}

int main(int argc, char **argv) {
    if (argc == 3) {
        snprintf(dir, sizeof dir, "%s", argv[2]);
        if (!strcmp(argv[1], "--write-interop")) return write_interop();
        if (!strcmp(argv[1], "--read-interop")) return read_interop();
    }
    if (argc != 1) {
        fprintf(stderr, "usage: %s [--write-interop DIR | --read-interop DIR]\n", argv[0]);
        return 2;
    }
    const char *tmp = getenv("TMPDIR");
    snprintf(dir, sizeof dir, "%s/uae_test_io.XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    fill_values();
    test_crc();
    test_safetensors_roundtrip();
    test_safetensors_write_errors();
    test_safetensors_malformed();
    test_safetensors_damage();
    test_atomicity();
    test_npy_roundtrip();
    test_npy_malformed();
    test_npy_appender();
    test_jsonl();
    test_folder_lock();
    remove_dir();
    if (failures) {
        fprintf(stderr, "%d checks failed\n", failures);
        return 1;
    }
    puts("ok");
    return 0;
}
