/* core/data_util.h — helpers shared by the dataset code (core/data.c and the loaders
 * core/data_<fmt>.c): strings and paths, directory listings, allocating a dataset. Internal: not
 * installed, not part of the public API. */
#ifndef UAE_DATA_UTIL_H
#define UAE_DATA_UTIL_H

#include <stdbool.h>
#include <stdint.h>

#include "uae/data.h"

/* The largest dataset we agree to hold: 2^32 floats (16 GiB). Declared sizes above this are
 * rejected before anything is allocated. */
#define UAE_DATA_MAX_FLOATS ((int64_t)1 << 32)

/* Allocates x (n, c*h*w) and, if labels, y (n) in an empty *ds. UAE_ERR_NOMEM past the cap or
 * when malloc fails (ds is then left empty). */
uae_status data_alloc(uae_dataset *ds, int64_t n, int c, int h, int w, bool labels);

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

#endif /* UAE_DATA_UTIL_H */
