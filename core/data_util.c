/* core/data_util.c — the helpers that the dataset code shares (see data_util.h): strings and
 * paths, directory listings, the default options, and the allocation and freeing of a
 * uae_dataset. No file format here: those are core/data_<fmt>.c. */
#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "data_util.h"

uae_data_options uae_data_options_default(void) {
    uae_data_options o;
    memset(&o, 0, sizeof o);
    o.format = UAE_DATA_AUTO;
    o.categorical = UAE_CSV_CAT_REJECT;
    o.missing = UAE_CSV_MISSING_ERROR;
    o.test_fraction = 0.2;
    return o;
}

char *data_strdup(const char *s) {
    size_t n = strlen(s) + 1;
    char *p = malloc(n);
    if (p) memcpy(p, s, n);
    return p;
}

char *data_join(const char *dir, const char *name) {
    size_t a = strlen(dir), b = strlen(name);
    char *p = malloc(a + b + 2);
    if (!p) return NULL;
    memcpy(p, dir, a);
    p[a] = '/';
    memcpy(p + a + 1, name, b + 1);
    return p;
}

void data_free_names(char **names, int64_t n) {
    if (!names) return;
    for (int64_t i = 0; i < n; i++) free(names[i]);
    free(names);
}

uae_status data_copy_names(char *const *names, int64_t n, char ***out) {
    *out = NULL;
    if (!names || n <= 0) return UAE_OK;
    char **p = calloc((size_t)n, sizeof *p);
    if (!p) return uae_fail(UAE_ERR_NOMEM, "copying %lld names: out of memory", (long long)n);
    for (int64_t i = 0; i < n; i++) {
        if (names[i] && !(p[i] = data_strdup(names[i]))) {
            data_free_names(p, n);
            return uae_fail(UAE_ERR_NOMEM, "copying names: out of memory");
        }
    }
    *out = p;
    return UAE_OK;
}

uae_status data_file_size(const char *path, int64_t *size) {
    struct stat st;
    if (stat(path, &st) != 0) return uae_fail(UAE_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode)) return uae_fail(UAE_ERR_IO, "%s: not a regular file", path);
    *size = (int64_t)st.st_size;
    return UAE_OK;
}

bool data_is_dir(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

bool data_is_file(const char *path) {
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

static int cmp_str(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

uae_status data_list_dir(const char *dir, bool dirs_only, char ***names, int64_t *count) {
    *names = NULL;
    *count = 0;
    DIR *d = opendir(dir);
    if (!d) return uae_fail(UAE_ERR_IO, "%s: cannot open directory: %s", dir, strerror(errno));
    char **list = NULL;
    int64_t n = 0, cap = 0;
    uae_status st = UAE_OK;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
        if (dirs_only) {
            char *full = data_join(dir, e->d_name);
            bool is_dir = full && data_is_dir(full);
            free(full);
            if (!is_dir) continue;
        }
        if (n == cap) {
            cap = cap ? 2 * cap : 16;
            char **grown = realloc(list, (size_t)cap * sizeof *list);
            if (!grown) { st = UAE_ERR_NOMEM; break; }
            list = grown;
        }
        if (!(list[n] = data_strdup(e->d_name))) { st = UAE_ERR_NOMEM; break; }
        n++;
    }
    closedir(d);
    if (st != UAE_OK) {
        data_free_names(list, n);
        return uae_fail(st, "%s: listing the directory: out of memory", dir);
    }
    if (n > 0) qsort(list, (size_t)n, sizeof *list, cmp_str);
    *names = list;
    *count = n;
    return UAE_OK;
}

uae_status data_alloc(uae_dataset *ds, int64_t n, int c, int h, int w, bool labels) {
    memset(ds, 0, sizeof *ds);
    int64_t d = (int64_t)c * h * w;
    /* n <= 2^32 - 1 too: shuffles draw 32-bit indices (uae_rng_permutation asserts it), and
     * 2^32 examples of one feature would otherwise pass the float limit. */
    if (n < 0 || c <= 0 || h <= 0 || w <= 0 || d > UAE_DATA_MAX_FLOATS ||
        (d > 0 && n > UAE_DATA_MAX_FLOATS / d) || n > (int64_t)UINT32_MAX)
        return uae_fail(UAE_ERR_NOMEM, "dataset of %lld x (%d, %d, %d) is above the limit of %lld floats "
                        "and 2^32 - 1 examples", (long long)n, c, h, w, (long long)UAE_DATA_MAX_FLOATS);
    ds->x = malloc((size_t)(n * d > 0 ? n * d : 1) * sizeof *ds->x);
    ds->y = labels ? malloc((size_t)(n > 0 ? n : 1) * sizeof *ds->y) : NULL;
    if (!ds->x || (labels && !ds->y)) {
        uae_dataset_free(ds);
        return uae_fail(UAE_ERR_NOMEM, "dataset of %lld x %lld floats: out of memory", (long long)n,
                        (long long)d);
    }
    ds->n = n;
    ds->d = d;
    ds->c = c;
    ds->h = h;
    ds->w = w;
    return UAE_OK;
}

void uae_dataset_free(uae_dataset *ds) {
    if (!ds) return;
    free(ds->x);
    free(ds->y);
    free(ds->y_coarse);
    data_free_names(ds->class_names, ds->num_classes);
    data_free_names(ds->feature_names, ds->d);
    memset(ds, 0, sizeof *ds);
}
