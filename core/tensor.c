/* core/tensor.c — tensor views, host<->device copies and arenas (see uae/tensor.h).
 * Everything here goes through the backend's table of operations; nothing here knows which
 * device it talks to. */
#include "uae/tensor.h"

#include <stdlib.h>
#include <string.h>

#include "backend_impl.h"

int64_t uae_tensor_numel(const uae_tensor *t) {
    if (t->ndim <= 0) return 0;
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

bool uae_tensor_same_shape(const uae_tensor *a, const uae_tensor *b) {
    if (a->ndim != b->ndim) return false;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != b->shape[d]) return false;
    return true;
}

const char *uae_tensor_shape_str(const uae_tensor *t, char *buf, size_t cap) {
    size_t len = 0;
    len += (size_t)snprintf(buf, cap, "(");
    for (int d = 0; d < t->ndim && len < cap; d++)
        len += (size_t)snprintf(buf + len, cap - len, d ? ", %lld" : "%lld", (long long)t->shape[d]);
    if (len < cap) snprintf(buf + len, cap - len, ")");
    return buf;
}

static uae_status check_shape(int ndim, const int64_t *shape) {
    if (ndim < 1 || ndim > UAE_MAX_DIMS)
        return uae_fail(UAE_ERR_SHAPE, "tensor: %d dimensions given, expected 1 to %d", ndim,
                        UAE_MAX_DIMS);
    for (int d = 0; d < ndim; d++)
        if (shape[d] < 1 || shape[d] > ((int64_t)1 << 40))
            return uae_fail(UAE_ERR_SHAPE, "tensor: dimension %d is %lld, expected 1 to 2^40", d,
                            (long long)shape[d]);
    return UAE_OK;
}

uae_status uae_tensor_reshape(const uae_tensor *t, int ndim, const int64_t *shape, uae_tensor *out) {
    UAE_TRY(check_shape(ndim, shape));
    uae_tensor r = *t;
    r.ndim = ndim;
    for (int d = 0; d < UAE_MAX_DIMS; d++) r.shape[d] = d < ndim ? shape[d] : 1;
    if (uae_tensor_numel(&r) != uae_tensor_numel(t)) {
        char a[64], b[64];
        return uae_fail(UAE_ERR_SHAPE, "reshape: %s has %lld elements, %s has %lld",
                        uae_tensor_shape_str(t, a, sizeof a), (long long)uae_tensor_numel(t),
                        uae_tensor_shape_str(&r, b, sizeof b), (long long)uae_tensor_numel(&r));
    }
    *out = r;
    return UAE_OK;
}

uae_status uae_tensor_slice(const uae_tensor *t, int64_t first, int64_t count, uae_tensor *out) {
    if (first < 0 || count < 1 || first + count > t->shape[0])
        return uae_fail(UAE_ERR_SHAPE, "slice: rows [%lld, %lld) of a dimension of %lld",
                        (long long)first, (long long)(first + count), (long long)t->shape[0]);
    uae_tensor r = *t;
    int64_t row = uae_tensor_numel(t) / t->shape[0];
    r.shape[0] = count;
    r.offset += (size_t)(first * row);
    *out = r;
    return UAE_OK;
}

uae_status uae_tensor_write(const uae_tensor *t, const float *host) {
    const uae_backend *be = t->backend;
    return be->iface->buf_write(be->ctx, t->buf, t->offset * sizeof(float),
                                (size_t)uae_tensor_numel(t) * sizeof(float), host);
}

uae_status uae_tensor_read(const uae_tensor *t, float *host) {
    const uae_backend *be = t->backend;
    return be->iface->buf_read(be->ctx, t->buf, t->offset * sizeof(float),
                               (size_t)uae_tensor_numel(t) * sizeof(float), host);
}

uae_status uae_tensor_copy(const uae_tensor *dst, const uae_tensor *src) {
    int64_t n = uae_tensor_numel(src);
    if (n != uae_tensor_numel(dst))
        return uae_fail(UAE_ERR_SHAPE, "tensor copy: %lld elements into %lld", (long long)n,
                        (long long)uae_tensor_numel(dst));
    size_t bytes = (size_t)n * sizeof(float);
    if (dst->backend == src->backend) {
        const uae_backend *be = dst->backend;
        return be->iface->buf_copy(be->ctx, dst->buf, dst->offset * sizeof(float), src->buf,
                                   src->offset * sizeof(float), bytes);
    }
    /* Different backends: through the host, or directly when one side is host memory. */
    float *h = uae_tensor_host_ptr(src);
    if (h) return uae_tensor_write(dst, h);
    h = uae_tensor_host_ptr(dst);
    if (h) return uae_tensor_read(src, h);
    float *tmp = malloc(bytes);
    if (!tmp) return uae_fail(UAE_ERR_NOMEM, "tensor copy: cannot allocate %zu host bytes", bytes);
    uae_status st = uae_tensor_read(src, tmp);
    if (st == UAE_OK) st = uae_tensor_write(dst, tmp);
    free(tmp);
    return st;
}

float *uae_tensor_host_ptr(const uae_tensor *t) {
    const uae_backend *be = t->backend;
    if (!be->iface->host_ptr) return NULL;
    float *base = be->iface->host_ptr(be->ctx, t->buf);
    return base ? base + t->offset : NULL;
}

/* ---- Arenas ----------------------------------------------------------------------------------
 * A list of chunks, each one device allocation. Tensors are carved from the chunks in order with a
 * bump pointer; the "mark" is the total number of floats handed out so far (including the padding
 * of skipped chunk ends), so rewinding is one subtraction. */

#define ALIGN_FLOATS 16 /* 64 bytes: a cache line, and any device's base-address alignment */

typedef struct chunk {
    void *buf;      /* device buffer (owned) */
    size_t cap;     /* floats */
    size_t start;   /* arena position at which this chunk begins */
} chunk;

struct uae_arena {
    uae_backend *be;
    size_t chunk_floats;
    chunk *chunks;
    int nchunks, cap_chunks;
    size_t pos;     /* the mark: floats handed out, counted over all chunks */
    size_t peak;
    int cur;        /* chunk that pos lies in */
};

uae_status uae_arena_create(uae_backend *be, size_t chunk_floats, uae_arena **out) {
    uae_arena *a = calloc(1, sizeof *a);
    if (!a) return uae_fail(UAE_ERR_NOMEM, "arena: out of host memory");
    a->be = be;
    a->chunk_floats = chunk_floats ? chunk_floats : (size_t)1 << 20;
    *out = a;
    return UAE_OK;
}

void uae_arena_free(uae_arena *a) {
    if (!a) return;
    for (int i = 0; i < a->nchunks; i++) a->be->iface->buf_free(a->be->ctx, a->chunks[i].buf);
    free(a->chunks);
    free(a);
}

static size_t round_up(size_t n) { return (n + ALIGN_FLOATS - 1) / ALIGN_FLOATS * ALIGN_FLOATS; }

uae_status uae_arena_tensor(uae_arena *a, int ndim, const int64_t *shape, uae_tensor *out) {
    UAE_TRY(check_shape(ndim, shape));
    size_t n = 1;
    for (int d = 0; d < ndim; d++) {
        /* each dimension is below 2^40 (check_shape): refuse products that would overflow */
        if (n > ((size_t)1 << 50) / (size_t)shape[d])
            return uae_fail(UAE_ERR_NOMEM, "arena on %s: a tensor of more than 2^50 floats "
                            "requested", uae_backend_name(a->be));
        n *= (size_t)shape[d];
    }
    n = round_up(n);
    /* Find a chunk from the current one on with room left past pos; later chunks are reused
     * after a reset, so a steady-state loop allocates nothing. */
    for (;;) {
        if (a->cur < a->nchunks) {
            chunk *c = &a->chunks[a->cur];
            if (a->pos < c->start) a->pos = c->start;
            if (a->pos + n <= c->start + c->cap) break;
            if (a->cur + 1 < a->nchunks) {
                a->cur++;
                continue;
            }
        }
        /* Need a new chunk at the end. Chunks past cur are all too small or absent here. */
        if (a->nchunks == a->cap_chunks) {
            int nc = a->cap_chunks ? 2 * a->cap_chunks : 8;
            chunk *cs = realloc(a->chunks, (size_t)nc * sizeof *cs);
            if (!cs) return uae_fail(UAE_ERR_NOMEM, "arena: out of host memory");
            a->chunks = cs;
            a->cap_chunks = nc;
        }
        size_t cap = n > a->chunk_floats ? n : a->chunk_floats;
        void *buf = NULL;
        uae_status st = a->be->iface->buf_alloc(a->be->ctx, cap * sizeof(float), &buf);
        if (st != UAE_OK) return uae_fail_context(st, "arena: allocating %zu floats", cap);
        size_t start = a->nchunks ? a->chunks[a->nchunks - 1].start + a->chunks[a->nchunks - 1].cap : 0;
        a->chunks[a->nchunks++] = (chunk){buf, cap, start};
        a->cur = a->nchunks - 1;
        a->pos = start;
        break;
    }
    chunk *c = &a->chunks[a->cur];
    uae_tensor t = {0};
    t.ndim = ndim;
    for (int d = 0; d < UAE_MAX_DIMS; d++) t.shape[d] = d < ndim ? shape[d] : 1;
    t.backend = a->be;
    t.buf = c->buf;
    t.offset = a->pos - c->start;
    a->pos += n;
    if (a->pos > a->peak) a->peak = a->pos;
    *out = t;
    return UAE_OK;
}

uae_status uae_arena_tensor1(uae_arena *a, int64_t d0, uae_tensor *out) {
    return uae_arena_tensor(a, 1, (int64_t[]){d0}, out);
}
uae_status uae_arena_tensor2(uae_arena *a, int64_t d0, int64_t d1, uae_tensor *out) {
    return uae_arena_tensor(a, 2, (int64_t[]){d0, d1}, out);
}
uae_status uae_arena_tensor4(uae_arena *a, int64_t d0, int64_t d1, int64_t d2, int64_t d3,
                             uae_tensor *out) {
    return uae_arena_tensor(a, 4, (int64_t[]){d0, d1, d2, d3}, out);
}

size_t uae_arena_mark(const uae_arena *a) { return a->pos; }

void uae_arena_reset(uae_arena *a, size_t mark) {
    UAE_ASSERT(mark <= a->pos);
    a->pos = mark;
    a->cur = 0;
    while (a->cur + 1 < a->nchunks && a->chunks[a->cur + 1].start <= mark) a->cur++;
}

size_t uae_arena_used(const uae_arena *a) { return a->pos; }
size_t uae_arena_peak(const uae_arena *a) { return a->peak; }
uae_backend *uae_arena_backend(const uae_arena *a) { return a->be; }
