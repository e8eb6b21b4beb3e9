/* tests/test_spatial.c — the OpenMP matrix and image ops (GEMM, convolutions, pooling, upsampling)
 * against their scalar references, called directly on host arrays: odd sizes, every transpose,
 * alpha/beta, padded leading dimensions, strided batches, strides, padding, weight sets,
 * accumulation. Also checks guard values after every output, that beta == 0 never reads the
 * destination (it starts as NaN), and that 1, 2 and 3 threads give the same bits.
 * Not the cross-backend table test (that one goes through uae_op_run on every backend). */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backends/cpu/cpu_ops.h"
#include "tests/test_util.h"
#include "core/backend_impl.h"

#ifdef _OPENMP
#include <omp.h>
#endif

enum { GUARD = 16 };                         /* sentinel floats after every output */
static const uint32_t SENTINEL = 0x7fc0beefu; /* a NaN with a payload no op produces */

static int cases;

/* ---- Test data ------------------------------------------------------------------------------- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* Uniform in [-1, 1), from a 64-bit LCG (the test needs varied values, not statistical quality). */
static float rnd(void) {
    rng_state = rng_state * 6364136223846793005ull + 1442695040888963407ull;
    return (float)((rng_state >> 40) & 0xffffff) / (float)(1 << 23) - 1.0f;
}

/* n floats and room for GUARD more (outputs), or exactly n (inputs: so that AddressSanitizer
 * catches reads past their end). */
static float *alloc_floats_guarded(int64_t n, bool guarded) {
    /* 64-byte aligned, as the backend's buffers are (the streaming GEMM path needs it). */
    size_t bytes = (size_t)(n + (guarded ? GUARD : 0)) * sizeof(float);
    float *p = aligned_alloc(64, (bytes + 63) / 64 * 64);
    if (!p) {
        fprintf(stderr, "test_spatial: out of memory\n");
        exit(1);
    }
    return p;
}

static float *alloc_floats(int64_t n) { return alloc_floats_guarded(n, false); }

static float *random_floats(int64_t n) {
    float *p = alloc_floats(n);
    for (int64_t i = 0; i < n; i++) p[i] = rnd();
    return p;
}

/* Initial contents of an output: NaN when the op must not read it (beta == 0), else random. */
static float *init_floats(int64_t n, float beta) {
    if (beta != 0.0f) return random_floats(n);
    float *p = alloc_floats(n);
    for (int64_t i = 0; i < n; i++) p[i] = NAN;
    return p;
}

static uae_tensor tensor4(float *data, int64_t d0, int64_t d1, int64_t d2, int64_t d3) {
    return (uae_tensor){.ndim = 4, .shape = {d0, d1, d2, d3}, .buf = data};
}

static uae_tensor tensor1(float *data, int64_t n) {
    return (uae_tensor){.ndim = 1, .shape = {n, 1, 1, 1}, .buf = data};
}

static int64_t numel(const uae_tensor *t) {
    int64_t n = 1;
    for (int d = 0; d < t->ndim; d++) n *= t->shape[d];
    return n;
}

/* ---- One case: an op, its inputs and the initial contents of its outputs --------------------- */

typedef struct tcase {
    char name[160];
    uae_op op;                         /* kind and params; tensors come from the arrays below */
    uae_tensor src[UAE_OP_MAX_SRC];    /* ndim == 0: the slot is NULL */
    uae_tensor dst[UAE_OP_MAX_DST];    /* buf: the initial contents, copied before each run */
    uae_cpu_op_fn ref;
    uae_cpu_omp_fn omp;
    int64_t terms;                     /* most terms summed into one output element */
    bool exact;                        /* the OpenMP version must give the reference's bits */
} tcase;

static void case_free(tcase *tc) {
    for (int i = 0; i < UAE_OP_MAX_SRC; i++) free(tc->src[i].buf);
    for (int i = 0; i < UAE_OP_MAX_DST; i++) free(tc->dst[i].buf);
}

static void free_outputs(float *out[UAE_OP_MAX_DST]) {
    for (int i = 0; i < UAE_OP_MAX_DST; i++) free(out[i]);
}

/* Runs fn on fresh copies of tc's initial outputs, returned in out (the caller frees them).
 * Checks the status and that the guard values after each output are untouched. */
/* The CPU backend's context the OpenMP versions run with: one instruction set at a time (main). */
static cpu_ctx omp_ctx;

static void run(const tcase *tc, bool omp, float *out[UAE_OP_MAX_DST]) {
    uae_op op = tc->op;
    uae_tensor dst[UAE_OP_MAX_DST];
    for (int i = 0; i < UAE_OP_MAX_SRC; i++) op.src[i] = tc->src[i].ndim ? &tc->src[i] : NULL;
    for (int i = 0; i < UAE_OP_MAX_DST; i++) {
        out[i] = NULL;
        op.dst[i] = NULL;
        if (!tc->dst[i].ndim) continue;
        int64_t n = numel(&tc->dst[i]);
        out[i] = alloc_floats_guarded(n, true);
        memcpy(out[i], tc->dst[i].buf, (size_t)n * sizeof(float));
        for (int j = 0; j < GUARD; j++) memcpy(&out[i][n + j], &SENTINEL, sizeof(float));
        dst[i] = tc->dst[i];
        dst[i].buf = out[i];
        op.dst[i] = &dst[i];
    }
    uae_status st = omp ? tc->omp(&omp_ctx, &op) : tc->ref(&op);
    CHECK(st == UAE_OK, "%s: status %s: %s", tc->name, uae_status_name(st), uae_last_error());
    for (int i = 0; i < UAE_OP_MAX_DST; i++) {
        if (!out[i]) continue;
        int64_t n = numel(&tc->dst[i]);
        bool intact = true;
        for (int j = 0; j < GUARD; j++) intact &= memcmp(&out[i][n + j], &SENTINEL, 4) == 0;
        CHECK(intact, "%s: output %d: a guard value after the end was overwritten", tc->name, i);
    }
}

static float *abs_copy(const uae_tensor *t) {
    int64_t n = numel(t);
    float *q = alloc_floats(n);
    for (int64_t i = 0; i < n; i++) q[i] = fabsf(((const float *)t->buf)[i]);
    return q;
}

/* The reference on |inputs|, |initial outputs|, |alpha| and |beta| gives, for each output element,
 * the sum of the magnitudes of the terms that make it up. */
static void magnitudes(const tcase *tc, float *mag[UAE_OP_MAX_DST]) {
    tcase m = *tc;
    for (int i = 0; i < UAE_OP_MAX_SRC; i++)
        if (tc->src[i].ndim) m.src[i].buf = abs_copy(&tc->src[i]);
    for (int i = 0; i < UAE_OP_MAX_DST; i++)
        if (tc->dst[i].ndim) m.dst[i].buf = abs_copy(&tc->dst[i]);
    if (m.op.kind == UAE_OP_GEMM) {
        m.op.p.gemm.alpha = fabsf(m.op.p.gemm.alpha);
        m.op.p.gemm.beta = fabsf(m.op.p.gemm.beta);
    } else {
        m.op.p.conv.beta = fabsf(m.op.p.conv.beta);
    }
    run(&m, false, mag);
    case_free(&m);
}

static void set_threads(int n) {
#ifdef _OPENMP
    omp_ctx.threads = n;
#else
    (void)n;
#endif
}

/* Checks one case: the contract (uae_op_check), the OpenMP version against the reference, and the
 * OpenMP version's bits with 1, 2 and 3 threads (3 on this 2-core machine gives uneven parts). */
static void check_case(tcase *tc) {
    cases++;
    uae_op op = tc->op;
    for (int i = 0; i < UAE_OP_MAX_SRC; i++) op.src[i] = tc->src[i].ndim ? &tc->src[i] : NULL;
    for (int i = 0; i < UAE_OP_MAX_DST; i++) op.dst[i] = tc->dst[i].ndim ? &tc->dst[i] : NULL;
    uae_status st = uae_op_check(&op);
    CHECK(st == UAE_OK, "%s: the case itself breaks the contract: %s", tc->name, uae_last_error());
    if (st != UAE_OK) return;
    /* The implementations take ops as uae_op_run hands them over: with explicit defaults. */
    uae_op_normalise(&tc->op);

    float *ref[UAE_OP_MAX_DST], *mag[UAE_OP_MAX_DST], *omp[3][UAE_OP_MAX_DST];
    run(tc, false, ref);
    if (!tc->exact) magnitudes(tc, mag);
    for (int t = 0; t < 3; t++) {
        set_threads(t + 1);
        run(tc, true, omp[t]);
    }
    set_threads(2);

    /* Both versions sum the same terms, in different orders and blockings, with and without
     * fused multiply-adds. Recursive summation of k terms errs by at most about k * 2^-24 times
     * the sum of their magnitudes (Higham, "Accuracy and Stability of Numerical Algorithms",
     * 3.1), so two such sums differ by at most 2 (k + 2) 2^-24 of it (the + 2 covers alpha, beta
     * and the bias). Real errors are far smaller; a wrong index gives errors of order the
     * magnitude itself. */
    double tol = 2.0 * (double)(tc->terms + 2) * 0x1p-24;
    for (int i = 0; i < UAE_OP_MAX_DST; i++) {
        if (!ref[i]) continue;
        int64_t n = numel(&tc->dst[i]), bad = 0, first_bad = -1;
        for (int64_t e = 0; e < n; e++) {
            float a = omp[0][i][e], r = ref[i][e];
            bool ok;
            if (tc->exact) ok = memcmp(&a, &r, sizeof a) == 0;
            else if (isnan(a) || isnan(r)) ok = isnan(a) && isnan(r);
            else ok = fabs((double)a - (double)r) <= tol * (double)mag[i][e];
            if (!ok && bad++ == 0) first_bad = e;
        }
        CHECK(bad == 0, "%s: output %d: %lld of %lld elements differ from the reference; first at "
              "%lld: omp %.9g ref %.9g (magnitude %.3g, tolerance %.3g)", tc->name, i,
              (long long)bad, (long long)n, (long long)first_bad, omp[0][i][first_bad],
              ref[i][first_bad], tc->exact ? 0.0 : mag[i][first_bad],
              tc->exact ? 0.0 : tol * mag[i][first_bad]);
        for (int t = 1; t < 3; t++)
            CHECK(memcmp(omp[0][i], omp[t][i], (size_t)n * sizeof(float)) == 0,
                  "%s: output %d: %d threads give other bits than 1 thread", tc->name, i, t + 1);
    }
    free_outputs(ref);
    if (!tc->exact) free_outputs(mag);
    for (int t = 0; t < 3; t++) free_outputs(omp[t]);
    case_free(tc);
}

/* ---- GEMM ------------------------------------------------------------------------------------ */

/* pad: extra floats per row of A, B and C (leading dimension = row length + pad); gap: extra
 * floats between batches (stride = rows * ld + gap; 0 and pad 0 give tight). */
static void gemm_case(bool ta, bool tb, int64_t m, int64_t n, int64_t k, float alpha, float beta,
                      int64_t pad, int64_t batch, int64_t gap) {
    tcase tc = {.ref = uae_gemm_ref, .omp = uae_gemm_omp, .terms = k};
    uae_gemm_params *g = &tc.op.p.gemm;
    tc.op.kind = UAE_OP_GEMM;
    int64_t ar = ta ? k : m, ac = ta ? m : k, br = tb ? n : k, bc = tb ? k : n;
    *g = (uae_gemm_params){
        .trans_a = ta, .trans_b = tb, .m = m, .n = n, .k = k, .alpha = alpha, .beta = beta,
        .lda = pad ? ac + pad : 0, .ldb = pad ? bc + pad : 0, .ldc = pad ? n + pad : 0,
        .batch = batch,
        .stride_a = gap ? ar * (ac + pad) + gap : 0, .stride_b = gap ? br * (bc + pad) + gap : 0,
        .stride_c = gap ? m * (n + pad) + gap : 0,
    };
    int64_t na = batch * (ar * (ac + pad) + gap), nb = batch * (br * (bc + pad) + gap);
    int64_t nc = batch * (m * (n + pad) + gap);
    tc.src[0] = tensor1(random_floats(na), na);
    tc.src[1] = tensor1(random_floats(nb), nb);
    tc.dst[0] = tensor1(init_floats(nc, beta), nc);
    snprintf(tc.name, sizeof tc.name, "gemm %s%s m=%lld n=%lld k=%lld alpha=%g beta=%g pad=%lld "
             "batch=%lld gap=%lld", ta ? "T" : "N", tb ? "T" : "N", (long long)m, (long long)n,
             (long long)k, alpha, beta, (long long)pad, (long long)batch, (long long)gap);
    check_case(&tc);
}

static void test_gemm(void) {
    /* Edges of the 6x16 register block, of KC = 256 (k = 257, 290, 513: several k blocks) and
     * of MC = 144 (m = 300); the last sizes are large enough to run on several threads. */
    static const int64_t sizes[][3] = {
        {1, 1, 1}, {3, 17, 5}, {17, 3, 129}, {7, 16, 6}, {6, 33, 257}, {129, 129, 17},
        {300, 47, 290}, {31, 300, 513},
    };
    for (int t = 0; t < 4; t++) {
        bool ta = t & 1, tb = t & 2;
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            const int64_t *z = sizes[s];
            gemm_case(ta, tb, z[0], z[1], z[2], 1.0f, 0.0f, 0, 1, 0);
            gemm_case(ta, tb, z[0], z[1], z[2], -0.75f, 1.5f, 3, 1, 0);
        }
        /* Strided batches: fewer than the threads (each product threaded) and more (one
         * product per thread), with padding between batches. */
        gemm_case(ta, tb, 17, 19, 23, 2.0f, 0.0f, 1, 2, 5);
        gemm_case(ta, tb, 13, 35, 9, 0.5f, -1.0f, 2, 5, 7);
        gemm_case(ta, tb, 1, 3, 1, 1.0f, 1.0f, 0, 3, 0);
    }
    /* Wider than NC = 4080: two column blocks. */
    gemm_case(false, false, 2, 4100, 3, 1.0f, 0.0f, 0, 1, 0);
    gemm_case(false, true, 150, 4097, 5, 1.0f, 1.0f, 1, 1, 0);
    /* A model shape: one layer of a per-sample network batch (batch >= threads). */
    gemm_case(false, true, 16, 64, 100, 1.0f, 0.0f, 0, 8, 0);
    /* Few rows and a B of over 2^20 floats: B is read in place, unpacked (omp_gemm.c), with a
     * partial last sliver (n = 1025); and the dot-product path of A B^T (m <= 32, k >= 256). */
    gemm_case(false, false, 17, 1025, 1024, 1.0f, 0.0f, 0, 1, 0);
    gemm_case(true, false, 9, 1030, 1040, -0.5f, 2.0f, 3, 1, 0);
    gemm_case(false, true, 16, 37, 1027, 1.0f, 0.5f, 2, 3, 1);
    /* A C of over 2^22 floats with beta = 0 and one k block (the MINE's dW = dy^T x): its full
     * tiles go to memory with non-temporal stores (gemm_ukernel_stream), the partial tiles at the
     * edges (m = 517, n = 8208) as usual; padded rows (not 64-byte aligned) and beta != 0 do not
     * stream. */
    gemm_case(true, false, 517, 8208, 16, 0.5f, 0.0f, 0, 1, 0);
    gemm_case(false, false, 517, 8208, 7, 1.0f, 0.0f, 3, 1, 0);
    gemm_case(true, false, 517, 8208, 16, 1.0f, 2.0f, 0, 1, 0);
}

/* ---- Convolutions ---------------------------------------------------------------------------- */

typedef struct conv_shape {
    int64_t n, c, h, w, k, r, s;
    int stride_h, stride_w, pad_h, pad_w, wsets;
} conv_shape;

static void conv_cases(const conv_shape *cs) {
    uae_conv_params cp = {.stride_h = cs->stride_h, .stride_w = cs->stride_w, .pad_h = cs->pad_h,
                          .pad_w = cs->pad_w, .wsets = cs->wsets};
    int64_t p = (cs->h + 2 * cs->pad_h - cs->r) / cs->stride_h + 1;
    int64_t q = (cs->w + 2 * cs->pad_w - cs->s) / cs->stride_w + 1;
    int64_t f = cs->k * cs->wsets; /* filters in all weight sets */
    char shape[96];
    snprintf(shape, sizeof shape, "x(%lld,%lld,%lld,%lld) w(%lld,%lld,%lld,%lld) stride %dx%d "
             "pad %dx%d wsets %d", (long long)cs->n, (long long)cs->c, (long long)cs->h,
             (long long)cs->w, (long long)f, (long long)cs->c, (long long)cs->r, (long long)cs->s,
             cs->stride_h, cs->stride_w, cs->pad_h, cs->pad_w, cs->wsets);
    int64_t nx = cs->n * cs->c * cs->h * cs->w, nw = f * cs->c * cs->r * cs->s;
    int64_t ny = cs->n * cs->k * p * q;

    for (int bias = 0; bias < 2; bias++) {
        tcase tc = {.ref = uae_conv2d_ref, .omp = uae_conv2d_omp,
                    .terms = cs->c * cs->r * cs->s};
        tc.op.kind = UAE_OP_CONV2D;
        tc.op.p.conv = cp;
        tc.src[0] = tensor4(random_floats(nx), cs->n, cs->c, cs->h, cs->w);
        tc.src[1] = tensor4(random_floats(nw), f, cs->c, cs->r, cs->s);
        if (bias) tc.src[2] = tensor1(random_floats(f), f);
        tc.dst[0] = tensor4(init_floats(ny, 0.0f), cs->n, cs->k, p, q);
        snprintf(tc.name, sizeof tc.name, "conv2d %s%s", shape, bias ? " bias" : "");
        check_case(&tc);
    }
    for (int acc = 0; acc < 2; acc++) {
        float beta = acc ? 1.0f : 0.0f;
        cp.beta = beta;
        tcase tc = {.ref = uae_conv2d_bwd_data_ref, .omp = uae_conv2d_bwd_data_omp,
                    .terms = cs->k * cs->r * cs->s};
        tc.op.kind = UAE_OP_CONV2D_BWD_DATA;
        tc.op.p.conv = cp;
        tc.src[0] = tensor4(random_floats(ny), cs->n, cs->k, p, q);
        tc.src[1] = tensor4(random_floats(nw), f, cs->c, cs->r, cs->s);
        tc.dst[0] = tensor4(init_floats(nx, beta), cs->n, cs->c, cs->h, cs->w);
        snprintf(tc.name, sizeof tc.name, "conv2d_bwd_data %s beta %g", shape, beta);
        check_case(&tc);

        /* The weight gradient, with and without the bias gradient. */
        tcase tw = {.ref = uae_conv2d_bwd_weight_ref, .omp = uae_conv2d_bwd_weight_omp,
                    .terms = cs->n / cs->wsets * p * q};
        tw.op.kind = UAE_OP_CONV2D_BWD_WEIGHT;
        tw.op.p.conv = cp;
        tw.src[0] = tensor4(random_floats(nx), cs->n, cs->c, cs->h, cs->w);
        tw.src[1] = tensor4(random_floats(ny), cs->n, cs->k, p, q);
        tw.dst[0] = tensor4(init_floats(nw, beta), f, cs->c, cs->r, cs->s);
        if (acc) tw.dst[1] = tensor1(init_floats(f, beta), f);
        snprintf(tw.name, sizeof tw.name, "conv2d_bwd_weight %s beta %g%s", shape, beta,
                 acc ? " with db" : "");
        check_case(&tw);
        if (!acc) { /* db with beta = 0 as well */
            tcase tb = {.ref = uae_conv2d_bwd_weight_ref, .omp = uae_conv2d_bwd_weight_omp,
                        .terms = cs->n / cs->wsets * p * q};
            tb.op = tw.op;
            tb.src[0] = tensor4(random_floats(nx), cs->n, cs->c, cs->h, cs->w);
            tb.src[1] = tensor4(random_floats(ny), cs->n, cs->k, p, q);
            tb.dst[0] = tensor4(init_floats(nw, 0.0f), f, cs->c, cs->r, cs->s);
            tb.dst[1] = tensor1(init_floats(f, 0.0f), f);
            snprintf(tb.name, sizeof tb.name, "conv2d_bwd_weight %s beta 0 with db", shape);
            check_case(&tb);
        }
    }
}

static void test_conv(void) {
    static const conv_shape shapes[] = {
        /* n  c   h   w  k  r  s  sh sw ph pw G */
        {1, 1, 1, 1, 1, 1, 1, 1, 1, 0, 0, 1},     /* the smallest: 1x1 everything */
        {2, 3, 7, 9, 4, 3, 3, 1, 1, 1, 1, 1},     /* 3x3 "same" */
        {3, 2, 17, 17, 5, 5, 5, 2, 2, 2, 2, 1},   /* 5x5, stride 2, padding 2 */
        {4, 3, 6, 5, 2, 1, 1, 1, 1, 0, 0, 2},     /* 1x1 pointwise (no im2col), 2 weight sets */
        {3, 2, 7, 6, 3, 1, 1, 2, 2, 0, 0, 1},     /* 1x1 with stride 2 */
        {6, 2, 9, 8, 16, 2, 2, 1, 1, 0, 0, 3},    /* MINE's Conv(16, 2x2, valid), 3 weight sets */
        {5, 4, 13, 11, 3, 3, 2, 2, 1, 1, 0, 1},   /* unequal strides and padding */
        {2, 32, 6, 6, 4, 3, 3, 1, 1, 1, 1, 1},    /* C*R*S = 288 > KC: several k blocks */
        {35, 2, 5, 5, 3, 3, 3, 1, 1, 1, 1, 1},    /* more images than weight-gradient parts */
        {2, 1, 28, 28, 16, 5, 5, 1, 1, 2, 2, 1},  /* the conv autoencoder's first layer */
        {2, 3, 3, 3, 2, 3, 3, 1, 1, 0, 0, 2},     /* filter = image: a single output pixel */
        /* Stride 1 with up to conv_direct_max_k filters (8; AVX-512: 16) runs as a direct
         * correlation; more filters, or padding >= the filter, as im2col + GEMM: */
        {4, 3, 6, 5, 7, 1, 1, 1, 1, 0, 0, 2},     /* 1x1 pointwise, 2 weight sets */
        {2, 32, 6, 6, 8, 3, 3, 1, 1, 1, 1, 1},    /* C*R*S = 288 > KC */
        {2, 32, 6, 6, 17, 3, 3, 1, 1, 1, 1, 1},   /* the same with 17 filters: GEMM on every path */
        {3, 8, 14, 14, 13, 5, 5, 1, 1, 2, 2, 1},  /* 13 filters: AVX-512 direct, 4 + 4 + 4 + 1 */
        {35, 2, 5, 5, 6, 3, 3, 1, 1, 1, 1, 1},    /* more images than weight-gradient parts */
        {2, 2, 4, 4, 2, 2, 2, 1, 1, 2, 2, 1},     /* padding >= filter size: not direct */
        /* ... and these directly: */
        {3, 16, 12, 10, 1, 5, 5, 1, 1, 2, 1, 1},  /* the autoencoder's last layer, unequal pads */
        {2, 2, 5, 6, 2, 3, 3, 1, 1, 2, 2, 1},     /* padding = filter size - 1 */
        {4, 1, 9, 30, 3, 2, 7, 1, 1, 0, 3, 2},    /* rows longer than a 64-output chunk */
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) conv_cases(&shapes[i]);
}

/* ---- Pooling and upsampling ------------------------------------------------------------------ */

/* These copy or compare values, or add four of them in the reference's order: the OpenMP versions
 * must give the same bits. */
static void pool_cases(int64_t n, int64_t c, int64_t h, int64_t w, bool ties) {
    char shape[64];
    snprintf(shape, sizeof shape, "(%lld,%lld,%lld,%lld)%s", (long long)n, (long long)c,
             (long long)h, (long long)w, ties ? " with ties and NaNs" : "");
    int64_t nb = n * c * h * w, ns = n * c * (h / 2) * (w / 2);
    float *x = random_floats(nb);
    /* Ties: values from a set of 3, so that windows often hold two equal maxima. */
    if (ties)
        for (int64_t i = 0; i < nb; i++) x[i] = (float)(int)(1.5f * x[i]);
    /* And NaNs, at every position of the windows in turn: a NaN first in its window is the
     * maximum (nothing replaces it), a later one never is (the reference's comparisons). */
    if (ties)
        for (int64_t i = 5; i < nb; i += 11) x[i] = NAN;
    float *x2 = alloc_floats(nb);
    memcpy(x2, x, (size_t)nb * sizeof(float));

    tcase mp = {.ref = uae_maxpool2_ref, .omp = uae_maxpool2_omp, .exact = true};
    mp.op.kind = UAE_OP_MAXPOOL2;
    mp.src[0] = tensor4(x, n, c, h, w);
    mp.dst[0] = tensor4(init_floats(ns, 0.0f), n, c, h / 2, w / 2);
    snprintf(mp.name, sizeof mp.name, "maxpool2 %s", shape);
    check_case(&mp);

    tcase mb = {.ref = uae_maxpool2_bwd_ref, .omp = uae_maxpool2_bwd_omp, .exact = true};
    mb.op.kind = UAE_OP_MAXPOOL2_BWD;
    mb.src[0] = tensor4(x2, n, c, h, w);
    mb.src[1] = tensor4(random_floats(ns), n, c, h / 2, w / 2);
    mb.dst[0] = tensor4(init_floats(nb, 0.0f), n, c, h, w);
    snprintf(mb.name, sizeof mb.name, "maxpool2_bwd %s", shape);
    check_case(&mb);

    int64_t nu = n * c * h * w * 4;
    tcase up = {.ref = uae_upsample2_ref, .omp = uae_upsample2_omp, .exact = true};
    up.op.kind = UAE_OP_UPSAMPLE2;
    up.src[0] = tensor4(random_floats(nb), n, c, h, w);
    up.dst[0] = tensor4(init_floats(nu, 0.0f), n, c, 2 * h, 2 * w);
    snprintf(up.name, sizeof up.name, "upsample2 %s", shape);
    check_case(&up);

    tcase ub = {.ref = uae_upsample2_bwd_ref, .omp = uae_upsample2_bwd_omp, .exact = true};
    ub.op.kind = UAE_OP_UPSAMPLE2_BWD;
    ub.src[0] = tensor4(random_floats(nu), n, c, 2 * h, 2 * w);
    ub.dst[0] = tensor4(init_floats(nb, 0.0f), n, c, h, w);
    snprintf(ub.name, sizeof ub.name, "upsample2_bwd %s", shape);
    check_case(&ub);
}

static void test_pool(void) {
    pool_cases(1, 1, 2, 2, false);
    pool_cases(1, 1, 3, 3, false);     /* odd: the last row and column are dropped */
    pool_cases(2, 3, 17, 4, false);
    pool_cases(3, 5, 28, 29, true);
    pool_cases(1, 129, 5, 7, true);
}

int main(void) {
    /* Every instruction set this processor runs (cpu_ctx.h): each has its own GEMM micro-kernel,
     * packing and convolution loops. */
    for (int isa = 0; isa < UAE_CPU_ISA_COUNT; isa++) {
        if (!uae_cpu_isa_supported((uae_cpu_isa)isa)) {
            printf("test_spatial: %s: not run (this processor or build lacks it)\n",
                   uae_cpu_isa_name((uae_cpu_isa)isa));
            continue;
        }
        uae_cpu_ctx_init(&omp_ctx, (uae_cpu_isa)isa, 1);
        set_threads(2);
        int before = cases;
        test_gemm();
        test_conv();
        test_pool();
        printf("test_spatial: %s: %d cases\n", uae_cpu_isa_name((uae_cpu_isa)isa), cases - before);
        uae_cpu_ctx_release(&omp_ctx);
    }
    if (failures) {
        fprintf(stderr, "test_spatial: %d failures\n", failures);
        return 1;
    }
    printf("test_spatial: %d cases ok\n", cases);
    return 0;
}
