/* uae/io.h — uaekit's files: float32 tensors (.safetensors, .npy) and logs (JSON lines).
 *
 * Host memory only: these functions read and write plain float arrays; moving them to a device is
 * uae_tensor_write's job. Everything a file can get wrong comes back as a uae_status with a message
 * naming the file, the tensor and what was expected; nothing here trusts a byte it has not checked.
 *
 *     // A checkpoint: named tensors + string metadata, written atomically, checksummed.
 *     uae_st_tensor ts[] = {
 *         {"fc1.weight", 2, {256, 784}, w1},
 *         {"fc1.bias",   1, {256},      b1},
 *     };
 *     uae_st_meta meta[] = {{"epoch", "12"}};
 *     if (uae_safetensors_write("model.safetensors", ts, 2, meta, 1) != UAE_OK)
 *         fprintf(stderr, "uae: %s\n", uae_last_error());
 *
 *     uae_safetensors *st;
 *     UAE_TRY(uae_safetensors_open("model.safetensors", &st));   // validates everything
 *     uae_status s = uae_safetensors_read(st, "fc1.weight", 2, (int64_t[]){256, 784}, w1);
 *     uae_safetensors_close(st);
 *
 *     // Generated examples, streamed to disk row by row (memory stays constant).
 *     uae_npy_appender *app;
 *     UAE_TRY(uae_npy_appender_open("adv.npy", 3, (int64_t[]){1, 28, 28}, false, &app));
 *     for (...) UAE_TRY(uae_npy_appender_append(app, 1, image));      // 784 floats per row
 *     UAE_TRY(uae_npy_appender_close(app));                           // numpy.load("adv.npy")
 *
 *     // A training log: one JSON object per line, flushed as it is written.
 *     uae_jsonl *log;
 *     UAE_TRY(uae_jsonl_open("train.jsonl", true, &log));
 *     UAE_TRY(uae_jsonl_writef(log, "{s:i, s:f}", "step", step, "loss", loss));
 *     uae_jsonl_close(log);
 *
 * Byte order: the formats are little-endian and so is every host uaekit builds for (x86-64,
 * aarch64); a big-endian build stops at compile time in core/io_atomic.c.
 */
#ifndef UAE_IO_H
#define UAE_IO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "uae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Files may hold more dimensions than a uae_tensor (4); 8 covers what numpy and PyTorch users
 * write in practice. */
#define UAE_IO_MAX_DIMS 8

/* ---- Atomic files ---------------------------------------------------------------------------
 * A file that appears complete or not at all: writes go to a temporary file in the same folder
 * ("<path>.tmp.XXXXXX"); commit flushes it, fsyncs it and renames it over path, so that a crash or
 * a failed write leaves the old file (or none) and never half of the new one. */
typedef struct uae_atomic_file uae_atomic_file;

/* Creates the temporary file next to path. The caller owns *out and must end it with exactly one
 * of uae_atomic_file_commit or uae_atomic_file_abort. The new file gets the old file's permission
 * bits if path exists, else 0644. Stale temporaries: a process killed between open and commit
 * leaves its "<path>.tmp.XXXXXX" behind; the next uae_atomic_file_open of the same path removes
 * every such file of that path (regular files only, exactly six characters after ".tmp."). So two
 * writers of one path at the same time are not supported: the later open removes the earlier
 * writer's temporary and that writer's commit fails (UAE_ERR_IO), leaving the target whole. */
uae_status uae_atomic_file_open(const char *path, uae_atomic_file **out);

/* The stream to write to (owned by f; do not fclose it). */
FILE *uae_atomic_file_stream(uae_atomic_file *f);

/* fflush + fsync + rename over the target (+ fsync of the folder). Frees f whether or not it
 * succeeds; on failure the temporary file is removed and the old file is untouched (UAE_ERR_IO). */
uae_status uae_atomic_file_commit(uae_atomic_file *f);

/* Removes the temporary file and frees f; the target is untouched. NULL is a no-op. */
void uae_atomic_file_abort(uae_atomic_file *f);

/* Opens path like fopen(path, mode) ("r", "rb", "r+", "w", "wb+", "a", "ab", ...), but only if it
 * is a regular file (or, for a writing mode, does not exist yet): a FIFO, a device or a folder
 * fails at once with UAE_ERR_IO "not a regular file" instead of blocking in open(). Every file
 * uaekit reads or appends to is opened through this. On failure *out is NULL and errno is kept
 * (ENOENT for a missing file, so that a caller can treat "absent" apart from "unreadable"). */
uae_status uae_file_open(const char *path, const char *mode, FILE **out);

/* Reads a small text file whole (a settings record) into buf, cap bytes with the terminating NUL,
 * without a trailing newline. *exists is false (and buf "") if path does not exist: not an error.
 * UAE_ERR_FORMAT if the file has cap bytes or more or holds a NUL byte (no longer a text that
 * can be compared); UAE_ERR_IO if it cannot be read (a FIFO, a folder: uae_file_open). */
uae_status uae_file_read_text(const char *path, char *buf, size_t cap, bool *exists);

/* CRC-32 (zlib's, the one in gzip and PNG) of n bytes, continuing from crc; start with crc = 0. */
uint32_t uae_crc32(uint32_t crc, const void *data, size_t n);

/* ---- Folder locks ---------------------------------------------------------------------------
 * A run that owns a folder (a seed folder of `uae augment`) holds its lock while it works there, so
 * that a second process started on the same folder stops with a clear error instead of writing
 * the same files beside the first. The lock is flock(2) on "<folder>/.lock" (the file stays; it
 * holds the last holder's pid, for the message). The kernel drops it when the holder ends, even
 * when killed, so a stale lock never stands in the way of a resume. flock locks belong to an open
 * file: a second take in the same process conflicts too. Local file systems; NFS may not honour
 * flock. */
typedef struct uae_folder_lock uae_folder_lock;

/* Takes folder's lock without waiting. UAE_ERR_IO if another holder has it ("another process
 * (pid N) is working in this folder", naming --out) or if the lock file cannot be made. The
 * caller owns *out (NULL on failure) and frees it with uae_folder_lock_release. */
uae_status uae_folder_lock_take(const char *folder, uae_folder_lock **out);

/* Drops the lock and frees l. NULL is a no-op. */
void uae_folder_lock_release(uae_folder_lock *l);

/* ---- safetensors ----------------------------------------------------------------------------
 * https://github.com/huggingface/safetensors: an 8-byte little-endian header length N, N bytes of
 * JSON {"name": {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}, ...,
 * "__metadata__": {"key": "value", ...}} padded with spaces to a multiple of 8, then the data;
 * offsets count from the first byte after the header.
 *
 * uaekit writes float32 (F32) tensors, and I64 and U8 ones for indices and flags, laid out in the
 * order given, and adds the metadata key
 * "uae.checksum" = "crc32:xxxxxxxx" (8 lowercase hex digits): the CRC-32 of the whole data area.
 * On open the checksum is verified if present; files written by other tools (without it) open
 * normally, unverified. The key is reserved: passing it in meta is an error. */
#define UAE_SAFETENSORS_CHECKSUM_KEY "uae.checksum"

/* Header lengths above this are refused before allocating (the limit of the Rust reference). */
#define UAE_SAFETENSORS_MAX_HEADER 100000000u

/* The element types uaekit writes; it reads F32 only. */
typedef enum uae_st_dtype {
    UAE_ST_F32,                      /* float (the default: 0) */
    UAE_ST_I64,                      /* int64_t, e.g. data-set indices */
    UAE_ST_U8,                       /* uint8_t, e.g. 0/1 flags */
    UAE_ST_DTYPE_COUNT
} uae_st_dtype;

typedef struct uae_st_tensor {
    const char *name;                /* UTF-8, unique within the file */
    int ndim;                        /* 0 (a scalar) to UAE_IO_MAX_DIMS */
    int64_t shape[UAE_IO_MAX_DIMS];  /* outermost first; entries may be 0 (an empty tensor) */
    const void *data;                /* product(shape) elements of dtype, row-major, in host byte
                                      * order, written little-endian (not owned) */
    uae_st_dtype dtype;              /* writing: the elements' type; reading: always F32 */
} uae_st_tensor;

typedef struct uae_st_meta {
    const char *key, *value;         /* UTF-8 strings (not owned) */
} uae_st_meta;

/* Writes n tensors and n_meta metadata pairs to path, atomically (see uae_atomic_file). Errors:
 * UAE_ERR_INVALID for a duplicate or empty name, a bad shape or the reserved checksum key;
 * UAE_ERR_IO if the file cannot be written (the old file is then left as it was). */
uae_status uae_safetensors_write(const char *path, const uae_st_tensor *tensors, size_t n,
                                 const uae_st_meta *meta, size_t n_meta);

typedef struct uae_safetensors uae_safetensors;

/* Reads and validates the whole file: the header length against the file size, the JSON, every
 * tensor's dtype name, shape and offsets (inside the data area, not overlapping, covering it with
 * no gaps), the metadata (strings only) and the checksum. Tensors of another dtype than F32 are
 * allowed in the file (a PyTorch checkpoint may hold an I64 counter) but cannot be read: see
 * uae_safetensors_read. Errors: UAE_ERR_IO, UAE_ERR_FORMAT, UAE_ERR_NOMEM. The caller owns *out. */
uae_status uae_safetensors_open(const char *path, uae_safetensors **out);

/* Frees everything; NULL is a no-op. */
void uae_safetensors_close(uae_safetensors *st);

/* Copies the tensor called name into dst (product(shape) floats, caller-owned), after checking
 * that it exists (UAE_ERR_INVALID otherwise), is F32 (UAE_ERR_UNSUPPORTED) and has exactly the
 * expected ndim and shape (UAE_ERR_SHAPE, naming both shapes). */
uae_status uae_safetensors_read(const uae_safetensors *st, const char *name, int ndim,
                                const int64_t *shape, float *dst);

/* Number of tensors, and the i-th one in file order (sorted by data offset); the returned data
 * pointer is NULL (use uae_safetensors_read). dtype, if not NULL, receives the dtype name
 * ("F32", "I64", ...). Pointers stay valid until uae_safetensors_close. */
size_t uae_safetensors_count(const uae_safetensors *st);
uae_st_tensor uae_safetensors_info(const uae_safetensors *st, size_t i, const char **dtype);

/* The metadata value for key, or NULL if absent. Valid until uae_safetensors_close. */
const char *uae_safetensors_meta(const uae_safetensors *st, const char *key);

/* ---- .npy (NumPy format 1.0) ----------------------------------------------------------------
 * Little-endian float32 ('<f4'), C order. numpy.load reads every file written here. The reader
 * accepts format versions 1.0 to 3.0 with descr '<f4' and fortran_order False.
 *
 * The first dimension in the header is authoritative: bytes after product(shape) floats are
 * ignored (like numpy.load does), which is how a file from an appender that stopped before its
 * last header update is read back: the rows it had counted, not a trailing partial row. A file
 * shorter than its header says is an error. */
typedef struct uae_npy_array {
    int ndim;                        /* 0 to UAE_IO_MAX_DIMS */
    int64_t shape[UAE_IO_MAX_DIMS];
    float *data;                     /* product(shape) floats; owned, see uae_npy_array_free */
} uae_npy_array;

/* Writes an array atomically. UAE_ERR_INVALID for a bad shape, UAE_ERR_IO on a failed write. */
uae_status uae_npy_write(const char *path, int ndim, const int64_t *shape, const float *data);

/* Reads a whole array into out (which the caller later passes to uae_npy_array_free).
 * UAE_ERR_IO, UAE_ERR_FORMAT (bad magic, header or size), UAE_ERR_UNSUPPORTED (another dtype,
 * Fortran order), UAE_ERR_NOMEM. */
uae_status uae_npy_read(const char *path, uae_npy_array *out);

/* Frees a->data and zeroes *a. NULL is a no-op. */
void uae_npy_array_free(uae_npy_array *a);

/* An appendable .npy: rows of a fixed shape streamed to disk in constant memory, shape
 * (count, row_shape...). The header reserves room for a count of up to 21 digits and is rewritten
 * in place with the real count by uae_npy_appender_sync and _close; until the first sync it says
 * 0 rows. This file is NOT atomic: it grows in place, and after a crash it holds the rows counted
 * at the last sync (plus ignored bytes, see above), so call _sync as often as losing rows would
 * hurt (once per batch costs one fsync).
 *
 * resume = false starts a new file (replacing any old one). resume = true continues an existing
 * file whose row shape matches (UAE_ERR_SHAPE otherwise) from the count in its header, cutting off
 * anything after it; a missing or empty file is started afresh; a header without room for a
 * 21-digit count (a tight file from another tool) is UAE_ERR_FORMAT. The caller owns *out. */
typedef struct uae_npy_appender uae_npy_appender;
uae_status uae_npy_appender_open(const char *path, int row_ndim, const int64_t *row_shape,
                                 bool resume, uae_npy_appender **out);

/* Appends n_rows rows (n_rows * product(row_shape) floats) at the end of the file. */
uae_status uae_npy_appender_append(uae_npy_appender *app, int64_t n_rows, const float *rows);

/* Rows appended so far, including those found on resume. */
int64_t uae_npy_appender_rows(const uae_npy_appender *app);

/* Makes the rows so far durable: flush + fsync the data, then rewrite the count in the header and
 * fsync again (so the header never counts rows that are not on disk). */
uae_status uae_npy_appender_sync(uae_npy_appender *app);

/* Syncs and closes. Frees app whether or not it succeeds; NULL is a no-op returning UAE_OK. */
uae_status uae_npy_appender_close(uae_npy_appender *app);

/* ---- JSON lines -----------------------------------------------------------------------------
 * One JSON object per line (https://jsonlines.org), written with jansson and flushed after every
 * line (not fsynced), for training logs and per-sample statistics. A crash can leave at most a
 * partial last line, which a reader should skip. JSON has no NaN or Inf: writing one is
 * UAE_ERR_NUMERIC (log such values as null or as a string). */
typedef struct uae_jsonl uae_jsonl;

/* Opens path for appending (append = true) or truncates it. The caller owns *out. */
uae_status uae_jsonl_open(const char *path, bool append, uae_jsonl **out);

/* Writes obj (a jansson object, json_t *; not stolen) as one line. UAE_ERR_INVALID if obj is not
 * an object, UAE_ERR_IO on a failed write. */
struct json_t;
uae_status uae_jsonl_write(uae_jsonl *log, const struct json_t *obj);

/* Builds the object with jansson's json_pack format ("{s:i, s:f, s:s}", "step", 3, "loss", 0.25,
 * "phase", "train"; see the jansson manual) and writes it. "i" takes an int, "I" a long long
 * (json_int_t), "f" a double. */
uae_status uae_jsonl_writef(uae_jsonl *log, const char *fmt, ...);

/* Closes the file; NULL is a no-op returning UAE_OK. UAE_ERR_IO if the final close fails. */
uae_status uae_jsonl_close(uae_jsonl *log);

/* A digest of n float32 values for records that other programs check (attack traces, the arms'
 * training rows): FNV-1a 64 over their bytes in host order (little-endian wherever uaekit runs),
 * written into out as 16 lower-case hex digits and a NUL. */
void uae_digest_f32(const float *v, int64_t n, char out[17]);

#ifdef __cplusplus
}
#endif
#endif /* UAE_IO_H */
