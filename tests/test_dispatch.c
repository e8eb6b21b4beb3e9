/* tests/test_dispatch.c — the one dispatch point, core/ops.c's uae_op_run: a backend's supports()
 * and compute() see only checked, normalised ops (no "0 = tight" left), compute() gets only the
 * ops supports() accepted, and a declined op runs on the handle's host backend and is counted.
 * The backend here is a test double: the "cpu" backend behind a table that declines GEMM. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/backend_impl.h"
#include "uae/ops.h"

static int failures = 0;

#define CHECK(cond, ...)                                                                          \
    do {                                                                                          \
        if (!(cond)) {                                                                            \
            fprintf(stderr, "%s:%d: check failed: %s: ", __FILE__, __LINE__, #cond);              \
            fprintf(stderr, __VA_ARGS__);                                                         \
            fprintf(stderr, " (last error: %s)\n", uae_last_error());                             \
            failures++;                                                                           \
        }                                                                                         \
    } while (0)

/* The double's context: the backend it forwards to, and what it was asked. */
typedef struct picky {
    uae_backend *inner;     /* owned */
    int supports_calls, computes, gemm_computes;
    int defaults_seen;      /* ops that reached supports or compute with a GEMM default left */
} picky;

static bool has_default(const uae_op *op) {
    const uae_gemm_params *g = &op->p.gemm;
    return op->kind == UAE_OP_GEMM && (!g->lda || !g->ldb || !g->ldc || !g->stride_a ||
                                       !g->stride_b || !g->stride_c);
}

static void p_free(void *ctx) {
    picky *p = ctx;
    uae_backend_free(p->inner);
    free(p);
}
#define INNER(ctx) (((picky *)(ctx))->inner)
static uae_status p_alloc(void *ctx, size_t bytes, void **buf) {
    return INNER(ctx)->iface->buf_alloc(INNER(ctx)->ctx, bytes, buf);
}
static void p_buf_free(void *ctx, void *buf) { INNER(ctx)->iface->buf_free(INNER(ctx)->ctx, buf); }
static uae_status p_write(void *ctx, void *buf, size_t off, size_t bytes, const void *src) {
    return INNER(ctx)->iface->buf_write(INNER(ctx)->ctx, buf, off, bytes, src);
}
static uae_status p_read(void *ctx, void *buf, size_t off, size_t bytes, void *dst) {
    return INNER(ctx)->iface->buf_read(INNER(ctx)->ctx, buf, off, bytes, dst);
}
static uae_status p_copy(void *ctx, void *dst, size_t doff, void *src, size_t soff, size_t bytes) {
    return INNER(ctx)->iface->buf_copy(INNER(ctx)->ctx, dst, doff, src, soff, bytes);
}
static void p_info(void *ctx, uae_device_info *info) { uae_backend_info(INNER(ctx), info); }

static bool p_supports(void *ctx, const uae_op *op) {
    picky *p = ctx;
    p->supports_calls++;
    p->defaults_seen += has_default(op);
    return op->kind != UAE_OP_GEMM;
}

static uae_status p_compute(void *ctx, const uae_op *op) {
    picky *p = ctx;
    p->computes++;
    p->gemm_computes += op->kind == UAE_OP_GEMM;
    p->defaults_seen += has_default(op);
    return p->inner->iface->compute(p->inner->ctx, op);
}

static const uae_backend_iface picky_iface = {
    .kind = "picky", .free = p_free, .buf_alloc = p_alloc, .buf_free = p_buf_free,
    .buf_write = p_write, .buf_read = p_read, .buf_copy = p_copy, .supports = p_supports,
    .compute = p_compute, .info = p_info,
};

int main(void) {
    picky *p = calloc(1, sizeof *p);
    uae_backend *be = NULL, *host = NULL;
    uae_arena *arena = NULL;
    if (!p || uae_backend_open("cpu", &p->inner) != UAE_OK ||
        uae_backend_wrap(&picky_iface, p, &be) != UAE_OK || uae_backend_open("ref", &host) != UAE_OK ||
        uae_arena_create(be, 1024, &arena) != UAE_OK) {
        fprintf(stderr, "set-up failed: %s\n", uae_last_error());
        return 1;
    }
    uae_backend_set_host(be, host);

    /* C (2x2) = A (2x3) @ B (3x2), every leading dimension and stride left at 0 (tight). */
    uae_tensor a, b, c;
    CHECK(uae_arena_tensor2(arena, 2, 3, &a) == UAE_OK, "A");
    CHECK(uae_arena_tensor2(arena, 3, 2, &b) == UAE_OK, "B");
    CHECK(uae_arena_tensor2(arena, 2, 2, &c) == UAE_OK, "C");
    if (failures) return 1;
    const float ah[6] = {1, 2, 3, 4, 5, 6}, bh[6] = {7, 8, 9, 10, 11, 12};
    const float want[4] = {58, 64, 139, 154}; /* small integers: exact in float */
    CHECK(uae_tensor_write(&a, ah) == UAE_OK && uae_tensor_write(&b, bh) == UAE_OK, "write");
    uae_op op = {.kind = UAE_OP_GEMM, .src = {&a, &b}, .dst = {&c}};
    op.p.gemm = (uae_gemm_params){.m = 2, .n = 2, .k = 3, .alpha = 1.0f, .batch = 1};

    CHECK(!uae_op_supported(&op), "the double declines GEMM");
    CHECK(uae_op_run(&op) == UAE_OK, "GEMM through the host backend");
    float ch[4] = {0};
    CHECK(uae_tensor_read(&c, ch) == UAE_OK, "read C");
    CHECK(memcmp(ch, want, sizeof want) == 0, "C = %g %g %g %g, expected 58 64 139 154", ch[0],
          ch[1], ch[2], ch[3]);
    CHECK(uae_backend_fallback_count(be) == 1, "fallbacks %llu, expected 1",
          (unsigned long long)uae_backend_fallback_count(be));
    CHECK(p->gemm_computes == 0, "compute() got a GEMM that supports() declined");

    /* An op it accepts is computed once, and supports() is asked once per run. */
    int asked = p->supports_calls;
    CHECK(uae_unary(UAE_UNARY_RELU, 0.0f, 0.0f, &c, &c) == UAE_OK, "unary");
    CHECK(p->computes == 1 && p->supports_calls == asked + 1,
          "computes %d (expected 1), supports asked %d times (expected 1)", p->computes,
          p->supports_calls - asked);
    CHECK(uae_backend_fallback_count(be) == 1, "the unary op fell back");
    CHECK(p->defaults_seen == 0, "%d ops reached the backend with a GEMM default (0 = tight) left",
          p->defaults_seen);

    /* Without a host backend, a declined op is an error with a message, not a crash. */
    uae_backend_set_host(be, NULL);
    uae_status st = uae_op_run(&op);
    CHECK(st == UAE_ERR_UNSUPPORTED && strstr(uae_last_error(), "gemm") &&
              strstr(uae_last_error(), "host backend"),
          "no host: status %s", uae_status_name(st));

    uae_arena_free(arena);
    uae_backend_free(be);
    printf("dispatch: %d check(s) failed\n", failures);
    return failures != 0;
}
