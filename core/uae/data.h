/* uae/data.h — datasets in host memory: loading (IDX, CIFAR, CSV, PNG folders), shuffling,
 * batching, splits and subsets. Nothing here touches a backend or a device; copy a batch to a
 * tensor with uae_tensor_write.
 *
 *     uae_data_options opt = uae_data_options_default();
 *     uae_dataset train, test;
 *     if (uae_data_load(NULL, &opt, &train, &test) != UAE_OK) {   // NULL: Fashion-MNIST
 *         fprintf(stderr, "uae: %s\n", uae_last_error());
 *         return 1;
 *     }
 *     uae_batcher b;
 *     uae_batcher_init(&b, &train, 128, 42);                      // batch size 128, seed 42
 *     float *x = malloc(128 * train.d * sizeof *x);              // (128, d)
 *     int32_t *y = malloc(128 * sizeof *y);                      // (128)
 *     for (int epoch = 0; epoch < 10; epoch++) {
 *         int64_t m;
 *         while ((m = uae_batcher_next(&b, x, y)) > 0) { ... m examples in x, y ... }
 *     }                                                          // each epoch: a new shuffle
 *     uae_batcher_free(&b);
 *     uae_dataset_free(&train);
 *     uae_dataset_free(&test);
 *
 * Features are float32, row-major (n, d); images are stored as (c, h, w) per row, so a row is a
 * (C, H, W) tensor. Pixels are scaled to [0, 1]. Every random choice (split, subset, shuffle) is a
 * pure function of a seed (Philox, uae/rng.h): the same seed gives the same order on any machine.
 */
#ifndef UAE_DATA_H
#define UAE_DATA_H

#include <stdbool.h>
#include <stdint.h>

#include "uae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The dataset found when uae_data_load is given no path (Debian's dataset-fashion-mnist). */
#define UAE_DATA_DEFAULT_PATH "/usr/share/datasets/fashion-mnist"

typedef struct uae_dataset {
    int64_t n;             /* number of examples */
    int64_t d;             /* features per example, = c * h * w */
    int c, h, w;           /* image shape; tabular data has c = h = 1, w = d */
    float *x;              /* (n, d) row-major; owned */
    int32_t *y;            /* (n) labels in [0, num_classes); owned; NULL if unlabelled */
    int num_classes;       /* 0 if unlabelled */
    char **class_names;    /* (num_classes) strings, or NULL when unknown; owned */
    char **feature_names;  /* (d) strings (CSV columns), or NULL; owned */
    int32_t *y_coarse;     /* (n) CIFAR-100 coarse labels, else NULL; owned */
    int num_coarse;        /* 20 for CIFAR-100, else 0 */
} uae_dataset;

typedef enum uae_data_format {
    UAE_DATA_AUTO,         /* detect from the path (see uae_data_load) */
    UAE_DATA_IDX,          /* MNIST-style IDX files, raw or gzip */
    UAE_DATA_CIFAR10,      /* CIFAR-10 binary batches */
    UAE_DATA_CIFAR100,     /* CIFAR-100 binary train.bin / test.bin */
    UAE_DATA_CSV,          /* a table with a header row */
    UAE_DATA_PNG,          /* a folder of PNG images, one sub-folder per class */
    UAE_DATA_FORMAT_COUNT
} uae_data_format;

/* What to do with non-numeric CSV feature columns. */
typedef enum uae_csv_categorical {
    UAE_CSV_CAT_REJECT,    /* an error naming the column and the first non-numeric value */
    UAE_CSV_CAT_ONEHOT,    /* one 0/1 feature per category ("colour=red"), categories sorted */
    UAE_CSV_CAT_ORDINAL,   /* one feature: the index of the category in sorted order */
    UAE_CSV_CAT_COUNT
} uae_csv_categorical;

/* What to do with missing CSV values (an empty field, "NA", "N/A", "NaN", "?"). */
typedef enum uae_csv_missing {
    UAE_CSV_MISSING_ERROR, /* an error naming the row and the column */
    UAE_CSV_MISSING_DROP,  /* drop the row */
    UAE_CSV_MISSING_MEAN,  /* replace by the column mean of the train split (features only) */
    UAE_CSV_MISSING_COUNT
} uae_csv_missing;

typedef struct uae_data_options {
    uae_data_format format;      /* UAE_DATA_AUTO: detect */
    /* CSV. Column lists are comma-separated names or 0-based indices ("age, income" or "0,3");
     * a header name is matched first, then an index. A name with a comma needs its index. */
    const char *label_column;    /* NULL: the last column; "" : no labels */
    const char *feature_columns; /* NULL: every column except the label */
    const char *drop_columns;    /* NULL: none; else columns removed from the features */
    uae_csv_categorical categorical;
    uae_csv_missing missing;
    bool standardize;            /* tabular: (x - mean) / std, both from the train split */
    /* A single CSV file or a single PNG folder is split into train and test by seed. */
    double test_fraction;        /* default 0.2 */
    uint64_t split_seed;         /* default 0 */
    /* PNG folders: 1 (gray) or 3 (RGB); 0: the channel count of the first image. */
    int channels;
} uae_data_options;

/* The defaults: auto-detect, last CSV column is the label, reject categorical columns, error on
 * missing values, no standardisation, test_fraction 0.2, split_seed 0, channels 0. */
uae_data_options uae_data_options_default(void);

/* Loads a train and a test set. path NULL means UAE_DATA_DEFAULT_PATH. With opt->format AUTO,
 * path may be:
 *   - a directory with IDX files train-images*, train-labels*, t10k-images*, t10k-labels*
 *     (or test-*), each raw or .gz;
 *   - a CIFAR-10 directory (data_batch_*.bin, test_batch.bin, optional batches.meta.txt) or a
 *     CIFAR-100 directory (train.bin, test.bin, optional fine_label_names.txt);
 *   - a .csv file (split by opt->test_fraction) or a directory with train.csv and test.csv;
 *   - a PNG folder with train/ and test/ sub-folders, each with one sub-folder per class, or a
 *     single folder of class sub-folders, or one with only train/ (split by opt->test_fraction).
 * opt->format forces one of these formats instead of detecting it.
 * opt may be NULL (the defaults). On success the caller owns *train and *test (free with
 * uae_dataset_free); on failure both are empty and the message names the file, the position (byte
 * offset, row and column, or image index) and what was expected. */
uae_status uae_data_load(const char *path, const uae_data_options *opt, uae_dataset *train,
                         uae_dataset *test);

/* One IDX image file and its label file (labels_path may be NULL: unlabelled). Raw or gzip.
 * The caller owns *out. */
uae_status uae_data_load_idx(const char *images_path, const char *labels_path, uae_dataset *out);

/* Concatenates CIFAR binary batch files (3x32x32 images; CIFAR-10 records have one label byte,
 * CIFAR-100 records a coarse and a fine label byte; y holds the fine label). The caller owns *out. */
uae_status uae_data_load_cifar(const char *const *paths, int npaths, bool cifar100,
                               uae_dataset *out);

/* One CSV table (no split; the missing-value policy MEAN leaves NaN for the caller to impute,
 * standardize is ignored). The caller owns *out. */
uae_status uae_data_load_csv(const char *path, const uae_data_options *opt, uae_dataset *out);

/* One PNG folder with one sub-folder per class (labels = sorted sub-folder names). channels: 1, 3,
 * or 0 for the first image's. The caller owns *out. */
uae_status uae_data_load_png_folder(const char *dir, int channels, uae_dataset *out);

/* Frees what ds owns and zeroes it; NULL or an empty dataset is a no-op. */
void uae_dataset_free(uae_dataset *ds);

/* The per-feature mean and standard deviation (population, in double, rows in order) of x (n, d)
 * (host, not owned) into mean and std (d, caller-owned); a constant feature gets std 1, so that
 * standardising only centres it. n >= 1. */
void uae_data_feature_stats(const float *x, int64_t n, int64_t d, double *mean, double *std);

/* Min-max scales every feature of train to [0, 1] with train's per-feature minimum and maximum
 * (a constant feature becomes 0), and test with the same numbers, clipped to [0, 1]: tables (CSV)
 * put into the box the attack and the noise arm work in. lo and hi, if not NULL, receive the (d)
 * minima and maxima used. */
uae_status uae_data_scale01(uae_dataset *train, uae_dataset *test, float *lo, float *hi);

/* Standardises the features of train (and test, if not NULL) with the per-feature mean and
 * standard deviation of train; a feature with std 0 is only centred. mean and std, if not NULL,
 * receive the (d) values used. */
uae_status uae_data_standardize(uae_dataset *train, uae_dataset *test, float *mean, float *std);

/* A random permutation of 0..n-1 for the given seed and epoch (different epochs, different
 * orders). perm holds n entries. */
void uae_data_shuffle(int64_t n, uint64_t seed, uint64_t epoch, int64_t *perm);

/* Copies the examples idx[0..count) of ds into x (count, d) and, if y is not NULL and ds has
 * labels, into y (count). UAE_ERR_INVALID if an index is out of range. */
uae_status uae_data_gather(const uae_dataset *ds, const int64_t *idx, int64_t count, float *x,
                           int32_t *y);

/* Splits ds at random into *rest and *held (held gets n_held examples); both keep the examples
 * in their original order. The caller owns both; ds is unchanged. */
uae_status uae_data_split(const uae_dataset *ds, int64_t n_held, uint64_t seed, uae_dataset *rest,
                          uae_dataset *held);

/* The first n examples of a seeded shuffle of ds (in their original order), for scaled-down
 * experiments; n >= ds->n gives a copy of everything. The caller owns *out. */
uae_status uae_data_subset(const uae_dataset *ds, int64_t n, uint64_t seed, uae_dataset *out);

/* The indices in 0 .. total-1 of the examples that uae_data_subset(ds, n, seed) keeps for a ds of
 * total examples, in increasing order, into idx (min(n, total) entries, caller-owned). */
uae_status uae_data_subset_indices(int64_t total, int64_t n, uint64_t seed, int64_t *idx);

/* Mini-batches in a new seeded order every epoch; the last batch of an epoch may be smaller. */
typedef struct uae_batcher {
    const uae_dataset *ds;  /* not owned */
    int64_t batch_size;
    uint64_t seed;
    uint64_t epoch;         /* the epoch of the current order */
    int64_t pos;            /* next position in perm */
    int64_t *perm;          /* (n) the current order; owned */
} uae_batcher;

/* Prepares b for ds (which must outlive b). Free with uae_batcher_free. */
uae_status uae_batcher_init(uae_batcher *b, const uae_dataset *ds, int64_t batch_size,
                            uint64_t seed);

/* Copies the next batch into x (batch_size, d) and y (batch_size; may be NULL) and returns its
 * size; returns 0 once at the end of each epoch, after which the next call starts a new epoch. */
int64_t uae_batcher_next(uae_batcher *b, float *x, int32_t *y);

void uae_batcher_free(uae_batcher *b);

#ifdef __cplusplus
}
#endif
#endif /* UAE_DATA_H */
