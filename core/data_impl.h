/* core/data_impl.h — the entry points of the dataset loaders (core/data_<fmt>.c), which
 * uae_data_load (core/data.c) calls. Internal: not installed, not part of the public API. The
 * helpers the loaders share are in data_util.h. */
#ifndef UAE_DATA_IMPL_H
#define UAE_DATA_IMPL_H

#include <stdbool.h>

#include "uae/data.h"

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
