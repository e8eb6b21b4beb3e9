/* core/data_cifar.c — CIFAR-10 and CIFAR-100 "binary version" batches: fixed-size records of
 * label byte(s) followed by 3 x 32 x 32 pixel bytes (the red plane, then green, then blue), which
 * is already our (c, h, w) layout. Not the Python pickle version. */
#include <errno.h>
#include <string.h>

#include "data_impl.h"
#include "data_util.h"

#define CIFAR_PIXELS (3 * 32 * 32)

uae_status uae_data_load_cifar(const char *const *paths, int npaths, bool cifar100,
                               uae_dataset *out) {
    memset(out, 0, sizeof *out);
    const int64_t nlab = cifar100 ? 2 : 1, rec = nlab + CIFAR_PIXELS;
    /* Sizes first: the record count comes from the real file sizes, never from a header. */
    int64_t total = 0;
    for (int k = 0; k < npaths; k++) {
        int64_t size;
        UAE_TRY(data_file_size(paths[k], &size));
        if (size == 0 || size % rec != 0)
            return uae_fail(UAE_ERR_FORMAT, "%s: file size %lld is not a positive multiple of the "
                            "%lld-byte CIFAR-%d record; the last record, at byte offset %lld, has %lld "
                            "bytes", paths[k], (long long)size, (long long)rec, cifar100 ? 100 : 10,
                            (long long)(size / rec * rec), (long long)(size % rec));
        total += size / rec;
    }
    UAE_TRY(data_alloc(out, total, 3, 32, 32, true));
    out->num_classes = cifar100 ? 100 : 10;
    if (cifar100) {
        out->num_coarse = 20;
        if (!(out->y_coarse = malloc((size_t)(total > 0 ? total : 1) * sizeof(int32_t)))) {
            uae_dataset_free(out);
            return uae_fail(UAE_ERR_NOMEM, "CIFAR-100: out of memory");
        }
    }
    unsigned char buf[2 + CIFAR_PIXELS];
    int64_t i = 0;
    uae_status st = UAE_OK;
    for (int k = 0; k < npaths && st == UAE_OK; k++) {
        FILE *f = fopen(paths[k], "rb");
        if (!f) {
            st = uae_fail(UAE_ERR_IO, "%s: cannot open: %s", paths[k], strerror(errno));
            break;
        }
        for (int64_t r = 0; st == UAE_OK; r++) {
            size_t got = fread(buf, 1, (size_t)rec, f);
            if (got == 0 && feof(f)) break;
            /* The size was checked above, so a short read means the file changed under us. */
            if (got != (size_t)rec || i >= total) {
                st = uae_fail(UAE_ERR_IO, "%s: byte offset %lld: short read of record %lld", paths[k],
                              (long long)(r * rec), (long long)r);
                break;
            }
            int fine = buf[nlab - 1], coarse = cifar100 ? buf[0] : 0;
            if (fine >= out->num_classes || coarse >= 20) {
                st = uae_fail(UAE_ERR_FORMAT, "%s: record %lld (byte offset %lld): label %d, expected "
                              "0..%d%s", paths[k], (long long)r, (long long)(r * rec),
                              fine >= out->num_classes ? fine : coarse,
                              fine >= out->num_classes ? out->num_classes - 1 : 19,
                              fine >= out->num_classes ? "" : " (coarse label)");
                break;
            }
            out->y[i] = fine;
            if (cifar100) out->y_coarse[i] = coarse;
            for (int j = 0; j < CIFAR_PIXELS; j++)
                out->x[i * CIFAR_PIXELS + j] = (float)buf[nlab + j] / 255.0f;
            i++;
        }
        fclose(f);
    }
    if (st == UAE_OK && i != total)
        st = uae_fail(UAE_ERR_IO, "CIFAR: read %lld records, expected %lld (a file changed while "
                      "reading)", (long long)i, (long long)total);
    if (st != UAE_OK) uae_dataset_free(out);
    return st;
}

/* Reads the non-empty lines of a small text file (class names); *names is NULL if the file does
 * not exist, is too large or has a different number of lines than expected. */
static void read_names(const char *path, int expected, char ***names) {
    *names = NULL;
    int64_t size;
    if (!path || data_file_size(path, &size) != UAE_OK || size > (1 << 20)) return;
    FILE *f = fopen(path, "r");
    if (!f) return;
    char **list = calloc((size_t)expected, sizeof *list);
    char line[256];
    int n = 0;
    bool ok = list != NULL;
    while (ok && fgets(line, sizeof line, f)) {
        size_t len = strcspn(line, "\r\n");
        line[len] = '\0';
        if (len == 0) continue;
        if (n == expected || !(list[n] = data_strdup(line))) ok = false;
        else n++;
    }
    fclose(f);
    if (ok && n == expected) *names = list;
    else data_free_names(list, expected);
}

static bool has_file(const char *dir, const char *name) {
    char *p = data_join(dir, name);
    bool yes = p && data_is_file(p);
    free(p);
    return yes;
}

bool data_cifar_dir_detect(const char *dir, bool cifar100) {
    if (cifar100) return has_file(dir, "train.bin") && has_file(dir, "test.bin");
    return has_file(dir, "data_batch_1.bin") || has_file(dir, "test_batch.bin");
}

uae_status data_load_cifar_dir(const char *dir, bool cifar100, uae_dataset *train,
                               uae_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    char **names;
    int64_t n;
    UAE_TRY(data_list_dir(dir, false, &names, &n));
    /* CIFAR-10: data_batch_1.bin .. data_batch_5.bin (sorted), test_batch.bin. */
    char **train_paths = calloc((size_t)(n > 0 ? n : 1), sizeof *train_paths);
    char *test_path = NULL, *meta = NULL;
    int ntrain = 0;
    uae_status st = train_paths ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "out of memory");
    for (int64_t i = 0; st == UAE_OK && i < n; i++) {
        const char *s = names[i];
        size_t len = strlen(s);
        bool is_train = cifar100 ? strcmp(s, "train.bin") == 0
                                 : strncmp(s, "data_batch_", 11) == 0 && len > 4 &&
                                       strcmp(s + len - 4, ".bin") == 0;
        bool is_test = strcmp(s, cifar100 ? "test.bin" : "test_batch.bin") == 0;
        if (is_train && !(train_paths[ntrain++] = data_join(dir, s)))
            st = uae_fail(UAE_ERR_NOMEM, "out of memory");
        if (is_test && !(test_path = data_join(dir, s))) st = uae_fail(UAE_ERR_NOMEM, "out of memory");
    }
    data_free_names(names, n);
    if (st == UAE_OK && (ntrain == 0 || !test_path))
        st = uae_fail(UAE_ERR_IO, "%s: a CIFAR-%d directory needs %s and %s", dir, cifar100 ? 100 : 10,
                      cifar100 ? "train.bin" : "data_batch_*.bin",
                      cifar100 ? "test.bin" : "test_batch.bin");
    if (st == UAE_OK) st = uae_data_load_cifar((const char *const *)train_paths, ntrain, cifar100, train);
    if (st == UAE_OK) st = uae_data_load_cifar((const char *const *)&test_path, 1, cifar100, test);
    data_free_names(train_paths, ntrain);
    free(test_path);
    if (st != UAE_OK) {
        uae_dataset_free(train);
        uae_dataset_free(test);
        return st;
    }
    meta = data_join(dir, cifar100 ? "fine_label_names.txt" : "batches.meta.txt");
    read_names(meta, train->num_classes, &train->class_names);
    free(meta);
    st = data_copy_names(train->class_names, train->num_classes, &test->class_names);
    if (st != UAE_OK) {
        uae_dataset_free(train);
        uae_dataset_free(test);
    }
    return st;
}
