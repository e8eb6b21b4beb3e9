/* core/data.c — the common parts of dataset handling: format detection, splits, subsets,
 * shuffles, batches and standardisation. The file formats live in core/data_<fmt>.c, the helpers
 * they share (allocation, paths, listings) in core/data_util.c. Host memory only; no backend is
 * involved. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "data_impl.h"
#include "data_util.h"
#include "uae/rng.h"

/* RNG streams (uae/rng.h) used by this file, so that a split, a subset and the epoch shuffles
 * with the same seed draw independent numbers. */
#define STREAM_SPLIT   0xDA7A0001ull
#define STREAM_SUBSET  0xDA7A0002ull
#define STREAM_SHUFFLE 0xDA7A000100000000ull /* + epoch */

/* A copy of the examples idx[0..count) of src, with its names; the caller owns *out. */
static uae_status data_select(const uae_dataset *src, const int64_t *idx, int64_t count,
                              uae_dataset *out) {
    UAE_TRY(data_alloc(out, count, src->c, src->h, src->w, src->y != NULL));
    uae_status st = UAE_OK;
    if (src->y_coarse && !(out->y_coarse = malloc((size_t)(count > 0 ? count : 1) * sizeof(int32_t))))
        st = uae_fail(UAE_ERR_NOMEM, "selecting %lld examples: out of memory", (long long)count);
    for (int64_t i = 0; st == UAE_OK && i < count; i++) {
        UAE_ASSERT(idx[i] >= 0 && idx[i] < src->n);
        memcpy(out->x + i * src->d, src->x + idx[i] * src->d, (size_t)src->d * sizeof(float));
        if (src->y) out->y[i] = src->y[idx[i]];
        if (src->y_coarse) out->y_coarse[i] = src->y_coarse[idx[i]];
    }
    out->num_classes = src->num_classes;
    out->num_coarse = src->num_coarse;
    if (st == UAE_OK) st = data_copy_names(src->class_names, src->num_classes, &out->class_names);
    if (st == UAE_OK) st = data_copy_names(src->feature_names, src->d, &out->feature_names);
    if (st != UAE_OK) uae_dataset_free(out);
    return st;
}

/* ---- random orders ---- */

void uae_data_shuffle(int64_t n, uint64_t seed, uint64_t epoch, int64_t *perm) {
    uae_rng_permutation(seed, STREAM_SHUFFLE + epoch, 0, n, perm);
}

uae_status uae_data_gather(const uae_dataset *ds, const int64_t *idx, int64_t count, float *x,
                           int32_t *y) {
    for (int64_t i = 0; i < count; i++) {
        if (idx[i] < 0 || idx[i] >= ds->n)
            return uae_fail(UAE_ERR_INVALID, "gather: index %lld at position %lld is outside [0, %lld)",
                            (long long)idx[i], (long long)i, (long long)ds->n);
        memcpy(x + i * ds->d, ds->x + idx[i] * ds->d, (size_t)ds->d * sizeof *x);
        if (y && ds->y) y[i] = ds->y[idx[i]];
    }
    return UAE_OK;
}

/* Marks the first k entries of a seeded permutation of 0..n-1 in chosen (n flags), so that both
 * parts of a split can be listed in their original order. */
static uae_status choose(int64_t n, int64_t k, uint64_t seed, uint64_t stream, bool *chosen) {
    int64_t *perm = malloc((size_t)(n > 0 ? n : 1) * sizeof *perm);
    if (!perm) return uae_fail(UAE_ERR_NOMEM, "permutation of %lld: out of memory", (long long)n);
    uae_rng_permutation(seed, stream, 0, n, perm);
    memset(chosen, 0, (size_t)n);
    for (int64_t i = 0; i < k; i++) chosen[perm[i]] = true;
    free(perm);
    return UAE_OK;
}

/* The examples whose flag equals want, in order, as a new dataset. */
static uae_status select_flagged(const uae_dataset *ds, const bool *chosen, bool want,
                                 int64_t count, uae_dataset *out) {
    int64_t *idx = malloc((size_t)(count > 0 ? count : 1) * sizeof *idx);
    if (!idx) return uae_fail(UAE_ERR_NOMEM, "split: out of memory");
    int64_t m = 0;
    for (int64_t i = 0; i < ds->n; i++)
        if (chosen[i] == want) idx[m++] = i;
    UAE_ASSERT(m == count);
    uae_status st = data_select(ds, idx, count, out);
    free(idx);
    return st;
}

uae_status uae_data_split(const uae_dataset *ds, int64_t n_held, uint64_t seed, uae_dataset *rest,
                          uae_dataset *held) {
    memset(rest, 0, sizeof *rest);
    memset(held, 0, sizeof *held);
    if (n_held < 0 || n_held > ds->n)
        return uae_fail(UAE_ERR_INVALID, "split: cannot hold out %lld of %lld examples",
                        (long long)n_held, (long long)ds->n);
    bool *chosen = malloc((size_t)(ds->n > 0 ? ds->n : 1));
    if (!chosen) return uae_fail(UAE_ERR_NOMEM, "split: out of memory");
    uae_status st = choose(ds->n, n_held, seed, STREAM_SPLIT, chosen);
    if (st == UAE_OK) st = select_flagged(ds, chosen, false, ds->n - n_held, rest);
    if (st == UAE_OK) st = select_flagged(ds, chosen, true, n_held, held);
    free(chosen);
    if (st != UAE_OK) {
        uae_dataset_free(rest);
        uae_dataset_free(held);
    }
    return st;
}

uae_status uae_data_subset_indices(int64_t total, int64_t n, uint64_t seed, int64_t *idx) {
    if (n < 0 || total < 0)
        return uae_fail(UAE_ERR_INVALID, "subset: size %lld of %lld", (long long)n, (long long)total);
    if (n > total) n = total;
    bool *chosen = malloc((size_t)(total > 0 ? total : 1));
    if (!chosen) return uae_fail(UAE_ERR_NOMEM, "subset: out of memory");
    uae_status st = choose(total, n, seed, STREAM_SUBSET, chosen);
    int64_t m = 0;
    for (int64_t i = 0; st == UAE_OK && i < total; i++)
        if (chosen[i]) idx[m++] = i;
    free(chosen);
    return st;
}

uae_status uae_data_subset(const uae_dataset *ds, int64_t n, uint64_t seed, uae_dataset *out) {
    memset(out, 0, sizeof *out);
    if (n < 0) return uae_fail(UAE_ERR_INVALID, "subset: negative size %lld", (long long)n);
    if (n > ds->n) n = ds->n;
    bool *chosen = malloc((size_t)(ds->n > 0 ? ds->n : 1));
    if (!chosen) return uae_fail(UAE_ERR_NOMEM, "subset: out of memory");
    uae_status st = choose(ds->n, n, seed, STREAM_SUBSET, chosen);
    if (st == UAE_OK) st = select_flagged(ds, chosen, true, n, out);
    free(chosen);
    return st;
}

/* ---- batches ---- */

uae_status uae_batcher_init(uae_batcher *b, const uae_dataset *ds, int64_t batch_size,
                            uint64_t seed) {
    memset(b, 0, sizeof *b);
    if (batch_size <= 0)
        return uae_fail(UAE_ERR_INVALID, "batcher: batch size %lld must be positive", (long long)batch_size);
    b->perm = malloc((size_t)(ds->n > 0 ? ds->n : 1) * sizeof *b->perm);
    if (!b->perm) return uae_fail(UAE_ERR_NOMEM, "batcher: out of memory");
    b->ds = ds;
    b->batch_size = batch_size;
    b->seed = seed;
    uae_data_shuffle(ds->n, seed, 0, b->perm);
    return UAE_OK;
}

int64_t uae_batcher_next(uae_batcher *b, float *x, int32_t *y) {
    const uae_dataset *ds = b->ds;
    if (b->pos >= ds->n) {
        /* End of the epoch: report it once, and prepare the next epoch's order. */
        b->epoch++;
        b->pos = 0;
        uae_data_shuffle(ds->n, b->seed, b->epoch, b->perm);
        return 0;
    }
    int64_t m = ds->n - b->pos < b->batch_size ? ds->n - b->pos : b->batch_size;
    uae_status st = uae_data_gather(ds, b->perm + b->pos, m, x, y);
    UAE_ASSERT(st == UAE_OK); /* perm holds valid indices by construction */
    b->pos += m;
    return m;
}

void uae_batcher_free(uae_batcher *b) {
    if (!b) return;
    free(b->perm);
    memset(b, 0, sizeof *b);
}

/* ---- standardisation ---- */

void uae_data_feature_stats(const float *x, int64_t n, int64_t d, double *mean, double *std) {
    /* Two passes in double, rows in order: the result does not depend on anything but the data. */
    for (int64_t j = 0; j < d; j++) mean[j] = std[j] = 0.0;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) mean[j] += x[i * d + j];
    for (int64_t j = 0; j < d; j++) mean[j] /= (double)n;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < d; j++) {
            double t = x[i * d + j] - mean[j];
            std[j] += t * t;
        }
    for (int64_t j = 0; j < d; j++) {
        std[j] = sqrt(std[j] / (double)n);
        if (!(std[j] > 0)) std[j] = 1; /* a constant feature: centre it, do not divide by 0 */
    }
}

uae_status uae_data_standardize(uae_dataset *train, uae_dataset *test, float *mean, float *std) {
    int64_t d = train->d, n = train->n;
    if (test && test->d != d)
        return uae_fail(UAE_ERR_SHAPE, "standardize: train has %lld features, test %lld",
                        (long long)d, (long long)test->d);
    if (n == 0) return uae_fail(UAE_ERR_INVALID, "standardize: the train set is empty");
    double *mu = calloc((size_t)(2 * d > 0 ? 2 * d : 1), sizeof *mu);
    if (!mu) return uae_fail(UAE_ERR_NOMEM, "standardize: out of memory");
    double *sd = mu + d;
    uae_data_feature_stats(train->x, n, d, mu, sd);
    uae_dataset *sets[2] = {train, test};
    for (int s = 0; s < 2; s++) {
        if (!sets[s]) continue;
        for (int64_t i = 0; i < sets[s]->n; i++)
            for (int64_t j = 0; j < d; j++) {
                float *v = &sets[s]->x[i * d + j];
                *v = (float)((*v - mu[j]) / sd[j]);
            }
    }
    for (int64_t j = 0; j < d; j++) {
        if (mean) mean[j] = (float)mu[j];
        if (std) std[j] = (float)sd[j];
    }
    free(mu);
    return UAE_OK;
}

uae_status uae_data_scale01(uae_dataset *train, uae_dataset *test, float *lo, float *hi) {
    const int64_t d = train->d;
    if (train->n < 1 || d < 1 || (test && test->d != d))
        return uae_fail(UAE_ERR_INVALID, "scale to [0, 1]: %lld training examples of %lld "
                        "features, test examples of %lld", (long long)train->n, (long long)d,
                        (long long)(test ? test->d : d));
    float *mn = malloc((size_t)d * sizeof *mn), *mx = malloc((size_t)d * sizeof *mx);
    if (!mn || !mx) {
        free(mn);
        free(mx);
        return uae_fail(UAE_ERR_NOMEM, "scale to [0, 1]: out of memory");
    }
    for (int64_t j = 0; j < d; j++) mn[j] = mx[j] = train->x[j];
    for (int64_t i = 1; i < train->n; i++)
        for (int64_t j = 0; j < d; j++) {
            float v = train->x[i * d + j];
            if (v < mn[j]) mn[j] = v;
            if (v > mx[j]) mx[j] = v;
        }
    uae_dataset *sets[2] = {train, test};
    for (int s = 0; s < 2 && sets[s]; s++)
        for (int64_t i = 0; i < sets[s]->n; i++)
            for (int64_t j = 0; j < d; j++) {
                float *v = &sets[s]->x[i * d + j];
                float r = mx[j] - mn[j];
                float u = r > 0.0f ? (*v - mn[j]) / r : 0.0f;
                *v = u < 0.0f ? 0.0f : u > 1.0f ? 1.0f : u; /* clips only the test set's */
            }
    if (lo) memcpy(lo, mn, (size_t)d * sizeof *lo);
    if (hi) memcpy(hi, mx, (size_t)d * sizeof *hi);
    free(mn);
    free(mx);
    return UAE_OK;
}

/* Replaces NaN features (left by the CSV MEAN policy) by the mean of that feature over the
 * non-missing train values; a feature missing everywhere becomes 0. */
static uae_status impute_mean(uae_dataset *train, uae_dataset *test) {
    int64_t d = train->d;
    double *sum = calloc((size_t)(d > 0 ? d : 1), sizeof *sum);
    int64_t *cnt = calloc((size_t)(d > 0 ? d : 1), sizeof *cnt);
    if (!sum || !cnt) {
        free(sum);
        free(cnt);
        return uae_fail(UAE_ERR_NOMEM, "imputing missing values: out of memory");
    }
    for (int64_t i = 0; i < train->n; i++)
        for (int64_t j = 0; j < d; j++) {
            float v = train->x[i * d + j];
            if (!isnan(v)) {
                sum[j] += v;
                cnt[j]++;
            }
        }
    uae_dataset *sets[2] = {train, test};
    for (int s = 0; s < 2; s++) {
        if (!sets[s]) continue;
        for (int64_t i = 0; i < sets[s]->n; i++)
            for (int64_t j = 0; j < d; j++) {
                float *v = &sets[s]->x[i * d + j];
                if (isnan(*v)) *v = cnt[j] ? (float)(sum[j] / (double)cnt[j]) : 0.0f;
            }
    }
    free(sum);
    free(cnt);
    return UAE_OK;
}

/* ---- uae_data_load: detection and dispatch ---- */

static bool ends_with(const char *s, const char *suffix) {
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && strcasecmp(s + a - b, suffix) == 0;
}

/* Splits a whole set into train and test by opt->test_fraction and opt->split_seed. */
static uae_status split_whole(uae_dataset *whole, const uae_data_options *opt, const char *path,
                              uae_dataset *train, uae_dataset *test) {
    double f = opt->test_fraction;
    if (!(f > 0 && f < 1)) {
        uae_dataset_free(whole);
        return uae_fail(UAE_ERR_INVALID, "%s: test_fraction %g must be in (0, 1) to split one set",
                        path, f);
    }
    int64_t n_test = (int64_t)floor(f * (double)whole->n + 0.5);
    uae_status st = uae_data_split(whole, n_test, opt->split_seed, train, test);
    uae_dataset_free(whole);
    return st;
}

static uae_status load_dispatch(const char *path, const uae_data_options *opt,
                                uae_data_format fmt, uae_dataset *train, uae_dataset *test) {
    bool dir = data_is_dir(path);
    if (!dir && !data_is_file(path))
        return uae_fail(UAE_ERR_IO, "%s: no such file or directory", path);

    char *a = NULL, *b = NULL;
    uae_status st = UAE_OK;
    /* The CIFAR archives unpack into a sub-folder: accept its parent too. */
    const char *cifar_sub[2] = {"cifar-10-batches-bin", "cifar-100-binary"};
    for (int k = 0; dir && k < 2; k++) {
        a = data_join(path, cifar_sub[k]);
        if (a && data_is_dir(a)) {
            st = load_dispatch(a, opt, fmt, train, test);
            free(a);
            return st;
        }
        free(a);
        a = NULL;
    }
    if (fmt == UAE_DATA_AUTO) {
        if (!dir) {
            if (!ends_with(path, ".csv"))
                return uae_fail(UAE_ERR_FORMAT, "%s: unknown dataset format (expected a .csv file or a "
                                "directory of IDX, CIFAR, CSV or PNG files)", path);
            fmt = UAE_DATA_CSV;
        } else if (data_idx_dir_detect(path)) {
            fmt = UAE_DATA_IDX;
        } else if (data_cifar_dir_detect(path, false)) {
            fmt = UAE_DATA_CIFAR10;
        } else if (data_cifar_dir_detect(path, true)) {
            fmt = UAE_DATA_CIFAR100;
        } else {
            a = data_join(path, "train.csv");
            bool csv = a && data_is_file(a);
            free(a);
            a = NULL;
            if (csv) {
                fmt = UAE_DATA_CSV;
            } else {
                /* Anything else with sub-folders is taken as a PNG folder; its loader says what
                 * is wrong with it if it is not one. */
                char **subs;
                int64_t nsub;
                UAE_TRY(data_list_dir(path, true, &subs, &nsub));
                data_free_names(subs, nsub);
                if (nsub == 0)
                    return uae_fail(UAE_ERR_FORMAT, "%s: unknown dataset format: no IDX files "
                                    "(train-images*), CIFAR batches (data_batch_*.bin, train.bin), "
                                    "train.csv or class sub-folders of PNG images", path);
                fmt = UAE_DATA_PNG;
            }
        }
    }

    switch (fmt) {
    case UAE_DATA_IDX:
        if (!dir) return uae_fail(UAE_ERR_INVALID, "%s: IDX datasets are directories", path);
        return data_load_idx_dir(path, train, test);
    case UAE_DATA_CIFAR10:
    case UAE_DATA_CIFAR100:
        if (!dir) return uae_fail(UAE_ERR_INVALID, "%s: CIFAR datasets are directories", path);
        return data_load_cifar_dir(path, fmt == UAE_DATA_CIFAR100, train, test);
    case UAE_DATA_CSV:
        if (!dir) {
            uae_dataset whole;
            UAE_TRY(data_load_csv_pair(path, NULL, opt, &whole, NULL));
            return split_whole(&whole, opt, path, train, test);
        }
        a = data_join(path, "train.csv");
        b = data_join(path, "test.csv");
        st = (a && b) ? data_load_csv_pair(a, b, opt, train, test)
                      : uae_fail(UAE_ERR_NOMEM, "out of memory");
        break;
    case UAE_DATA_PNG:
        if (!dir) return uae_fail(UAE_ERR_INVALID, "%s: PNG datasets are directories", path);
        a = data_join(path, "train");
        b = data_join(path, "test");
        if (!a || !b) {
            st = uae_fail(UAE_ERR_NOMEM, "out of memory");
        } else if (data_is_dir(a) && data_is_dir(b)) {
            st = data_load_png_pair(a, b, opt->channels, train, test);
        } else {
            /* One folder of classes, or a train/ folder without test/: split it. */
            const char *whole_dir = data_is_dir(a) ? a : path;
            uae_dataset whole;
            st = data_load_png_pair(whole_dir, NULL, opt->channels, &whole, NULL);
            if (st == UAE_OK) st = split_whole(&whole, opt, whole_dir, train, test);
        }
        break;
    default:
        st = uae_fail(UAE_ERR_INVALID, "unknown dataset format %d", (int)fmt);
    }
    free(a);
    free(b);
    return st;
}

uae_status uae_data_load(const char *path, const uae_data_options *opt, uae_dataset *train,
                         uae_dataset *test) {
    memset(train, 0, sizeof *train);
    memset(test, 0, sizeof *test);
    uae_data_options defaults = uae_data_options_default();
    if (!opt) opt = &defaults;
    if (!path) path = UAE_DATA_DEFAULT_PATH;
    if ((unsigned)opt->format >= UAE_DATA_FORMAT_COUNT ||
        (unsigned)opt->categorical >= UAE_CSV_CAT_COUNT ||
        (unsigned)opt->missing >= UAE_CSV_MISSING_COUNT ||
        (opt->channels != 0 && opt->channels != 1 && opt->channels != 3))
        return uae_fail(UAE_ERR_INVALID, "%s: invalid dataset options (format %d, categorical %d, "
                        "missing %d, channels %d)", path, (int)opt->format, (int)opt->categorical,
                        (int)opt->missing, opt->channels);

    uae_status st = load_dispatch(path, opt, opt->format, train, test);
    /* Tabular post-processing, always with statistics of the train split only. */
    if (st == UAE_OK && train->feature_names && opt->missing == UAE_CSV_MISSING_MEAN)
        st = impute_mean(train, test);
    if (st == UAE_OK && train->feature_names && opt->standardize)
        st = uae_data_standardize(train, test, NULL, NULL);
    if (st == UAE_OK && train->n == 0)
        st = uae_fail(UAE_ERR_FORMAT, "%s: the train set is empty", path);
    if (st != UAE_OK) {
        uae_dataset_free(train);
        uae_dataset_free(test);
    }
    return st;
}
