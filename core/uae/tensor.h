/* uae/tensor.h — float32 tensors of up to four dimensions, and the arenas they live in.
 *
 * A uae_tensor is a small value type: a shape and a place (backend buffer + offset). It does not own
 * memory; the arena it was carved from does. Tensors are contiguous and row-major: the last
 * dimension varies fastest, so an image batch is (N, C, H, W). Copies between the host and a
 * device are always explicit (uae_tensor_write / uae_tensor_read).
 *
 * Memory comes from arenas: one large device allocation (or a few chunks) carved by a bump pointer.
 * Model parameters are one arena; activations of a training step are another, rewound to a mark at
 * the start of every step, so that repeated iterations allocate nothing on the device.
 *
 *     uae_arena *a;
 *     uae_arena_create(be, 1 << 20, &a);            // 1 Mi floats per chunk
 *     uae_tensor x;
 *     uae_arena_tensor(a, 2, (int64_t[]){100, 784}, &x);
 *     uae_tensor_write(&x, host_pixels);            // host -> device
 *     size_t mark = uae_arena_mark(a);
 *     ... per-step tensors ...
 *     uae_arena_reset(a, mark);                     // forget them, keep the memory
 *     uae_arena_free(a);
 */
#ifndef UAE_TENSOR_H
#define UAE_TENSOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "uae/backend.h"
#include "uae/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define UAE_MAX_DIMS 4

typedef struct uae_tensor {
    int ndim;                      /* 1..UAE_MAX_DIMS */
    int64_t shape[UAE_MAX_DIMS];   /* outermost first; entries past ndim are 1 */
    uae_backend *backend;          /* where the data lives (not owned) */
    void *buf;                     /* the backend's buffer handle (not owned) */
    size_t offset;                 /* offset into buf, in floats */
} uae_tensor;

/* Number of elements (product of the shape); 0 for a tensor with ndim == 0 (a "null" tensor). */
int64_t uae_tensor_numel(const uae_tensor *t);

/* True if a and b have the same ndim and shape. */
bool uae_tensor_same_shape(const uae_tensor *a, const uae_tensor *b);

/* A view of t with another shape of the same number of elements (UAE_ERR_SHAPE otherwise). */
uae_status uae_tensor_reshape(const uae_tensor *t, int ndim, const int64_t *shape, uae_tensor *out);

/* A view of rows [first, first + count) along dimension 0. */
uae_status uae_tensor_slice(const uae_tensor *t, int64_t first, int64_t count, uae_tensor *out);

/* Formats the shape as "(100, 784)" into buf (cap bytes); returns buf. */
const char *uae_tensor_shape_str(const uae_tensor *t, char *buf, size_t cap);

/* Host <-> device copies of the whole tensor; host holds numel floats. */
uae_status uae_tensor_write(const uae_tensor *t, const float *host);
uae_status uae_tensor_read(const uae_tensor *t, float *host);

/* Copies src into dst (same numel; any shapes); the two may be on different backends. */
uae_status uae_tensor_copy(const uae_tensor *dst, const uae_tensor *src);

/* Direct pointer to the data if the backend keeps it in host memory (ref, cpu), else NULL. */
float *uae_tensor_host_ptr(const uae_tensor *t);

typedef struct uae_arena uae_arena;

/* Creates an arena on be that allocates device memory in chunks of at least chunk_floats floats
 * (a single larger request gets a chunk of its own size). The caller owns *out. */
uae_status uae_arena_create(uae_backend *be, size_t chunk_floats, uae_arena **out);

/* Frees the arena and all of its device memory; tensors carved from it become invalid. NULL is a
 * no-op. */
void uae_arena_free(uae_arena *a);

/* Carves a tensor of the given shape (contiguous, 64-byte aligned). Contents are undefined: PoCL and
 * GPUs do not zero memory; use uae_fill if it matters. The memory belongs to the arena. */
uae_status uae_arena_tensor(uae_arena *a, int ndim, const int64_t *shape, uae_tensor *out);

/* Convenience forms for 1-4 dimensions. */
uae_status uae_arena_tensor1(uae_arena *a, int64_t d0, uae_tensor *out);
uae_status uae_arena_tensor2(uae_arena *a, int64_t d0, int64_t d1, uae_tensor *out);
uae_status uae_arena_tensor4(uae_arena *a, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                             uae_tensor *out);

/* Rewinding: everything carved after mark is forgotten; the memory stays allocated for reuse. */
size_t uae_arena_mark(const uae_arena *a);
void uae_arena_reset(uae_arena *a, size_t mark);

/* Floats in use now, and the most ever in use (for memory reports). */
size_t uae_arena_used(const uae_arena *a);
size_t uae_arena_peak(const uae_arena *a);

/* The backend the arena allocates on (not owned). */
uae_backend *uae_arena_backend(const uae_arena *a);

#ifdef __cplusplus
}
#endif
#endif /* UAE_TENSOR_H */
