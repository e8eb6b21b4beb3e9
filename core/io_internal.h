/* core/io_internal.h — small helpers shared by the io_*.c files; not part of the public API.
 * Shape checks and shape formatting for the file formats in uae/io.h. */
#ifndef UAE_IO_INTERNAL_H
#define UAE_IO_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* No tensor in a file we accept may have more elements than this: 2^60 floats is far beyond any
 * disk, and the bound keeps every later byte count (numel * 8 at most) inside int64_t. */
#define UAE_IO_MAX_NUMEL ((int64_t)1 << 60)

/* Puts the product of shape[0..ndim) into *numel (1 for ndim == 0). False if a dimension is
 * negative or the product exceeds UAE_IO_MAX_NUMEL. */
bool uae_io_numel(int ndim, const int64_t *shape, int64_t *numel);

/* Formats a shape as "(256, 784)" into buf (cap bytes, 200 is always enough); returns buf. */
const char *uae_io_shape_str(int ndim, const int64_t *shape, char *buf, size_t cap);

/* A test hook, for the crash-consistency test (tests/test_crash.sh, docs/reliability.md): with
 * UAE_TEST_PAUSE_COMMIT=N:SUFFIX in the environment, the N-th write in this process of a file whose
 * name ends with SUFFIX stops in its middle, says so on stderr (naming `where`) and sleeps, so that
 * a test can kill the process there. Called by uae_atomic_file_commit before the temporary is
 * flushed (it holds part of the data), and by uae_npy_appender_sync between the rows and the
 * header that counts them. The counter is the library's only mutable global; only this hook has
 * one. Without the variable it costs a getenv per write. */
void uae_io_test_pause(const char *path, const char *where);

#endif /* UAE_IO_INTERNAL_H */
