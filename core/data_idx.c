/* core/data_idx.c — the IDX format of MNIST, Fashion-MNIST and KMNIST, raw or gzip (zlib reads
 * both). Only unsigned-byte IDX files (type 0x08) are supported: images (n, h, w) or (n, d) and
 * labels (n). Sizes are checked against the file before anything large is allocated. */
#include <string.h>
#include <strings.h>
#include <zlib.h>

#include "data_impl.h"
#include "data_util.h"

/* Bytes are read in pieces of at most this size (gzread takes an unsigned int). */
#define READ_PIECE ((int64_t)1 << 26)
/* A gzip payload buffer starts this small and doubles as data really arrives, so a header that
 * declares billions of items cannot make us allocate more than the file contains. */
#define FIRST_BUFFER ((int64_t)1 << 20)

typedef struct idx_file {
    const char *path;
    gzFile gz;
    bool compressed;   /* gzip; else the file size is known and checked up front */
    int64_t file_size; /* on disk */
    int64_t offset;    /* position in the uncompressed stream */
} idx_file;

static uae_status idx_open(const char *path, idx_file *f) {
    memset(f, 0, sizeof *f);
    f->path = path;
    UAE_TRY(data_file_size(path, &f->file_size));
    FILE *raw = fopen(path, "rb");
    if (!raw) return uae_fail(UAE_ERR_IO, "%s: cannot open", path);
    unsigned char m[2] = {0, 0};
    size_t got = fread(m, 1, 2, raw);
    fclose(raw);
    f->compressed = got == 2 && m[0] == 0x1f && m[1] == 0x8b;
    f->gz = gzopen(path, "rb");
    if (!f->gz) return uae_fail(UAE_ERR_IO, "%s: cannot open", path);
    return UAE_OK;
}

static void idx_close(idx_file *f) {
    if (f->gz) gzclose(f->gz);
    f->gz = NULL;
}

/* Reads up to n bytes; returns how many were read (fewer only at the end of the data). */
static uae_status idx_read_some(idx_file *f, void *buf, int64_t n, int64_t *got) {
    *got = 0;
    while (*got < n) {
        int64_t piece = n - *got < READ_PIECE ? n - *got : READ_PIECE;
        int r = gzread(f->gz, (char *)buf + *got, (unsigned)piece);
        if (r < 0) {
            int code;
            const char *msg = gzerror(f->gz, &code);
            return uae_fail(UAE_ERR_FORMAT, "%s: byte offset %lld: corrupt gzip data: %s", f->path,
                            (long long)(f->offset + *got), msg);
        }
        if (r == 0) break;
        *got += r;
    }
    f->offset += *got;
    return UAE_OK;
}

/* Reads the header; checks the magic number, the type and the number of dimensions. */
static uae_status idx_header(idx_file *f, int want_ndim_lo, int want_ndim_hi, int *ndim,
                             int64_t dims[4]) {
    unsigned char h[4];
    int64_t got;
    UAE_TRY(idx_read_some(f, h, 4, &got));
    if (got < 4)
        return uae_fail(UAE_ERR_FORMAT, "%s: truncated: the file ends at byte offset %lld, inside the "
                        "4-byte IDX magic number", f->path, (long long)got);
    unsigned magic = (unsigned)h[0] << 24 | (unsigned)h[1] << 16 | (unsigned)h[2] << 8 | h[3];
    if (h[0] != 0 || h[1] != 0 || h[2] != 0x08 || h[3] < want_ndim_lo || h[3] > want_ndim_hi)
        return uae_fail(UAE_ERR_FORMAT, "%s: byte offset 0: bad IDX magic number 0x%08x, expected "
                        "0x000008%02x (unsigned bytes, %d dimension%s)", f->path, magic,
                        want_ndim_hi, want_ndim_hi, want_ndim_hi > 1 ? "s" : "");
    *ndim = h[3];
    for (int i = 0; i < *ndim; i++) {
        unsigned char b[4];
        int64_t at = f->offset;
        UAE_TRY(idx_read_some(f, b, 4, &got));
        if (got < 4)
            return uae_fail(UAE_ERR_FORMAT, "%s: truncated: the file ends at byte offset %lld, inside "
                            "the header (dimension %d of %d)", f->path, (long long)(at + got), i + 1,
                            *ndim);
        dims[i] = (int64_t)((unsigned)b[0] << 24 | (unsigned)b[1] << 16 | (unsigned)b[2] << 8 | b[3]);
        if (dims[i] <= 0 || dims[i] > INT32_MAX)
            return uae_fail(UAE_ERR_FORMAT, "%s: byte offset %lld: dimension %d is %lld, expected a "
                            "positive size", f->path, (long long)at, i + 1, (long long)dims[i]);
    }
    return UAE_OK;
}

/* Reads exactly `want` payload bytes after the header into a new buffer (the caller frees it),
 * and checks that nothing follows. */
static uae_status idx_payload(idx_file *f, int64_t want, const char *what, unsigned char **out) {
    *out = NULL;
    int64_t header = f->offset;
    if (want > UAE_DATA_MAX_FLOATS)
        return uae_fail(UAE_ERR_FORMAT, "%s: the header declares %lld bytes of %s, above the limit "
                        "of %lld", f->path, (long long)want, what, (long long)UAE_DATA_MAX_FLOATS);
    if (!f->compressed && header + want != f->file_size)
        return uae_fail(UAE_ERR_FORMAT, "%s: the header declares %lld bytes of %s after byte offset "
                        "%lld, but the file has %lld (file size %lld)", f->path, (long long)want,
                        what, (long long)header, (long long)(f->file_size - header),
                        (long long)f->file_size);
    int64_t cap = want < FIRST_BUFFER ? want : FIRST_BUFFER;
    unsigned char *buf = malloc((size_t)(cap > 0 ? cap : 1));
    if (!buf) return uae_fail(UAE_ERR_NOMEM, "%s: out of memory", f->path);
    int64_t have = 0;
    while (have < want) {
        if (have == cap) {
            cap = 2 * cap < want ? 2 * cap : want;
            unsigned char *grown = realloc(buf, (size_t)cap);
            if (!grown) {
                free(buf);
                return uae_fail(UAE_ERR_NOMEM, "%s: out of memory after %lld bytes", f->path,
                                (long long)have);
            }
            buf = grown;
        }
        int64_t got;
        uae_status st = idx_read_some(f, buf + have, cap - have, &got);
        if (st != UAE_OK) {
            free(buf);
            return st;
        }
        if (got == 0) {
            free(buf);
            return uae_fail(UAE_ERR_FORMAT, "%s: truncated: the data ends at byte offset %lld, expected "
                            "%lld bytes of %s after the %lld-byte header", f->path,
                            (long long)(header + have), (long long)want, what, (long long)header);
        }
        have += got;
    }
    unsigned char extra;
    int64_t got;
    uae_status st = idx_read_some(f, &extra, 1, &got);
    if (st == UAE_OK && got != 0)
        st = uae_fail(UAE_ERR_FORMAT, "%s: byte offset %lld: unexpected data after the %lld bytes of "
                      "%s that the header declares", f->path, (long long)(header + want),
                      (long long)want, what);
    if (st != UAE_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    return UAE_OK;
}

uae_status uae_data_load_idx(const char *images_path, const char *labels_path, uae_dataset *out) {
    memset(out, 0, sizeof *out);
    idx_file f;
    int ndim = 0;
    int64_t dims[4] = {0, 0, 0, 0};
    unsigned char *pix = NULL, *lab = NULL;
    uae_status st = idx_open(images_path, &f);
    if (st == UAE_OK) st = idx_header(&f, 2, 3, &ndim, dims);
    /* (n, h, w) images, or (n, d) rows stored as 1 x 1 x d */
    int64_t n = dims[0], h = ndim == 3 ? dims[1] : 1, w = ndim == 3 ? dims[2] : dims[1];
    if (st == UAE_OK && (h * w > UAE_DATA_MAX_FLOATS || n > UAE_DATA_MAX_FLOATS / (h * w)))
        st = uae_fail(UAE_ERR_FORMAT, "%s: the header declares %lld images of %lld x %lld, above the "
                      "limit of %lld bytes", images_path, (long long)n, (long long)h, (long long)w,
                      (long long)UAE_DATA_MAX_FLOATS);
    if (st == UAE_OK) st = idx_payload(&f, n * h * w, "pixels", &pix);
    idx_close(&f);

    if (st == UAE_OK && labels_path) {
        int lndim = 0;
        int64_t ldims[4] = {0, 0, 0, 0};
        st = idx_open(labels_path, &f);
        if (st == UAE_OK) st = idx_header(&f, 1, 1, &lndim, ldims);
        if (st == UAE_OK && ldims[0] != n)
            st = uae_fail(UAE_ERR_FORMAT, "%s: byte offset 4: %lld labels, but %s has %lld images",
                          labels_path, (long long)ldims[0], images_path, (long long)n);
        if (st == UAE_OK) st = idx_payload(&f, n, "labels", &lab);
        idx_close(&f);
    }

    if (st == UAE_OK) st = data_alloc(out, n, 1, (int)h, (int)w, labels_path != NULL);
    if (st == UAE_OK) {
        for (int64_t i = 0; i < n * h * w; i++) out->x[i] = (float)pix[i] / 255.0f;
        if (lab) {
            int max = 0;
            for (int64_t i = 0; i < n; i++) {
                out->y[i] = lab[i];
                if (lab[i] > max) max = lab[i];
            }
            out->num_classes = max + 1;
        }
    }
    free(pix);
    free(lab);
    return st;
}

static const char *const fashion_names[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                              "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};

/* True if "fashion" occurs in the path, in any case. */
static bool mentions_fashion(const char *path) {
    for (const char *p = path; *p; p++)
        if (strncasecmp(p, "fashion", 7) == 0) return true;
    return false;
}

/* The first file in the sorted listing whose name starts with one of the prefixes. */
static const char *find_prefixed(char **names, int64_t n, const char *p1, const char *p2) {
    for (int64_t i = 0; i < n; i++)
        if (strncmp(names[i], p1, strlen(p1)) == 0 || (p2 && strncmp(names[i], p2, strlen(p2)) == 0))
            return names[i];
    return NULL;
}

bool data_idx_dir_detect(const char *dir) {
    char **names;
    int64_t n;
    if (data_list_dir(dir, false, &names, &n) != UAE_OK) return false;
    bool found = find_prefixed(names, n, "train-images", NULL) != NULL;
    data_free_names(names, n);
    return found;
}

uae_status data_load_idx_dir(const char *dir, uae_dataset *train, uae_dataset *test) {
    char **names;
    int64_t n;
    UAE_TRY(data_list_dir(dir, false, &names, &n));
    const char *want[4] = {"train-images", "train-labels", "t10k-images", "t10k-labels"};
    const char *alt[4] = {NULL, NULL, "test-images", "test-labels"};
    char *paths[4] = {NULL, NULL, NULL, NULL};
    uae_status st = UAE_OK;
    for (int k = 0; k < 4 && st == UAE_OK; k++) {
        const char *name = find_prefixed(names, n, want[k], alt[k]);
        if (!name)
            st = uae_fail(UAE_ERR_IO, "%s: no %s* file (an IDX dataset has train-images, train-labels, "
                          "t10k-images and t10k-labels files, raw or .gz)", dir, want[k]);
        else if (!(paths[k] = data_join(dir, name)))
            st = uae_fail(UAE_ERR_NOMEM, "out of memory");
    }
    data_free_names(names, n);
    if (st == UAE_OK) st = uae_data_load_idx(paths[0], paths[1], train);
    if (st == UAE_OK) st = uae_data_load_idx(paths[2], paths[3], test);
    if (st == UAE_OK && (train->h != test->h || train->w != test->w))
        st = uae_fail(UAE_ERR_FORMAT, "%s: test images are %d x %d, expected %d x %d as in %s", paths[2],
                      test->h, test->w, train->h, train->w, paths[0]);
    for (int k = 0; k < 4; k++) free(paths[k]);
    if (st != UAE_OK) {
        uae_dataset_free(train);
        uae_dataset_free(test);
        return st;
    }
    int k = train->num_classes > test->num_classes ? train->num_classes : test->num_classes;
    train->num_classes = test->num_classes = k;
    /* Fashion-MNIST's classes have names; the digits of MNIST and KMNIST's characters stay numbered. */
    if (k == 10 && mentions_fashion(dir)) {
        st = data_copy_names((char *const *)fashion_names, 10, &train->class_names);
        if (st == UAE_OK) st = data_copy_names((char *const *)fashion_names, 10, &test->class_names);
    }
    if (st != UAE_OK) {
        uae_dataset_free(train);
        uae_dataset_free(test);
    }
    return st;
}
