/* core/data_impl.h — helpers shared by the dataset loaders (core/data*.c). Internal: not installed,
 * not part of the public API. */
#ifndef UAE_DATA_IMPL_H
#define UAE_DATA_IMPL_H

#include <stdbool.h>
#include <stdint.h>

#include "uae/data.h"

/* The largest dataset we agree to hold: 2^32 floats (16 GiB). Declared sizes above this are
 * rejected before anything is allocated. */
#define UAE_DATA_MAX_FLOATS ((int64_t)1 << 32)

/* Allocates x (n, c*h*w) and, if labels, y (n) in an empty *ds. UAE_ERR_NOMEM past the cap or
 * when malloc fails (ds is then left empty). */
uae_status data_alloc(uae_dataset *ds, int64_t n, int c, int h, int w, bool labels);

/* A copy of the examples idx[0..count) of src, with its names; the caller owns *out. */
uae_status data_select(const uae_dataset *src, const int64_t *idx, int64_t count,
                       uae_dataset *out);

/* A malloc'd copy of s (NULL if out of memory). */
char *data_strdup(const char *s);

/* A malloc'd "dir/name" (NULL if out of memory). */
char *data_join(const char *dir, const char *name);

/* Copies n strings (NULL entries stay NULL); *out is NULL if names is NULL. */
uae_status data_copy_names(char *const *names, int64_t n, char ***out);
void data_free_names(char **names, int64_t n);

/* The size of a regular file, UAE_ERR_IO if it cannot be stat'ed. */
uae_status data_file_size(const char *path, int64_t *size);
bool data_is_dir(const char *path);
bool data_is_file(const char *path);

/* The sorted names in dir (without "." and ".."); if dirs_only, only sub-directories. The caller
 * frees with data_free_names(names, count). */
uae_status data_list_dir(const char *dir, bool dirs_only, char ***names, int64_t *count);

/* Loaders of a train/test pair from a directory (data_idx.c, data_cifar.c, data_png.c) and from
 * CSV files (data_csv.c). The caller of these is uae_data_load, which applies splits and
 * standardisation afterwards. */
uae_status data_load_idx_dir(const char *dir, uae_dataset *train, uae_dataset *test);
uae_status data_load_cifar_dir(const char *dir, bool cifar100, uae_dataset *train,
                               uae_dataset *test);
/* test_path NULL: train holds the whole table (the caller splits). Both use train's columns. */
uae_status data_load_csv_pair(const char *train_path, const char *test_path,
                              const uae_data_options *opt, uae_dataset *train, uae_dataset *test);
/* test_dir NULL: train holds everything. */
uae_status data_load_png_pair(const char *train_dir, const char *test_dir, int channels,
                              uae_dataset *train, uae_dataset *test);

/* True if the directory looks like an IDX / CIFAR-10 / CIFAR-100 directory. */
bool data_idx_dir_detect(const char *dir);
bool data_cifar_dir_detect(const char *dir, bool cifar100);

#endif /* UAE_DATA_IMPL_H */
