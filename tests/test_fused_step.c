/* tests/test_fused_step.c — an optimizer step fused into a weight gradient's matrix product
 * (UAE_OP_GEMM_OPTIM, uae_optimizer_backward_step) gives the bits of the two unfused ops.
 *
 * 1. The op on every device that runs it natively (ref, cpu: the path UAE_CPU_ISA names), against
 *    UAE_OP_GEMM into a gradient then UAE_OP_OPTIM on the same device, bit for bit: the MINE's
 *    weight-gradient shape large enough for the unfused product to stream its C, one batch per
 *    thread, odd tiles, k in two blocks and the dot-product path (the op's unfused fallback
 *    inside the CPU backend), leading dimensions and strides, every optimizer.
 * 2. MINE trained for a few steps with the fused step (cfg.keep_gradients false, the default) and
 *    without it: the same parameters and Adam states, bit for bit, on every device. Where the op
 *    runs natively the fused dense weights' gradients must stay unwritten (zero): the fused path
 *    really ran. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/mine.h"
#include "uae/rng.h"
#include "tests/test_util.h"

/* ---- 1. The op ------------------------------------------------------------------------------- */

typedef struct fused_case {
    const char *name;
    uae_gemm_params g;
    uae_optim_params o;
    bool big; /* skipped with UAE_TEST_SMALL */
} fused_case;

#define ADAM(t) {.fn = UAE_OPTIM_ADAM, .lr = 1.5e-5f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f, .step = t}

static const fused_case cases[] = {
    /* the MINE's dW = dy^T x of one branch: C of 4 Mi floats, streamed when unfused */
    {"mine_dw_stream_512x8192x16", {.trans_a = 1, .m = 512, .n = 8192, .k = 16, .alpha = 1.0f,
                                    .batch = 1}, ADAM(1), true},
    /* both branches: one product per thread */
    {"mine_dw_batch2_512x1000x16", {.trans_a = 1, .m = 512, .n = 1000, .k = 16, .alpha = 1.0f,
                                    .batch = 2}, ADAM(7), false},
    {"odd_tiles_tn_17x129x5", {.trans_a = 1, .m = 17, .n = 129, .k = 5, .alpha = 1.0f,
                               .batch = 3}, ADAM(2), false},
    {"two_k_blocks_nn_40x70x300", {.m = 40, .n = 70, .k = 300, .alpha = 0.5f, .batch = 1},
     {.fn = UAE_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f, .nesterov = 1, .weight_decay = 1e-2f},
     false},
    {"dot_path_nt_5x40x300", {.trans_b = 1, .m = 5, .n = 40, .k = 300, .alpha = 1.0f, .batch = 2},
     {.fn = UAE_OPTIM_RMSPROP, .lr = 1e-2f, .rho = 0.99f, .eps = 1e-8f}, false},
    {"ld_stride_tt_9x40x7", {.trans_a = 1, .trans_b = 1, .m = 9, .n = 40, .k = 7, .alpha = 1.0f,
                             .lda = 11, .ldb = 8, .ldc = 41, .batch = 3, .stride_a = 7 * 11 + 2,
                             .stride_b = 40 * 8 + 1, .stride_c = 9 * 41 + 3},
     {.fn = UAE_OPTIM_ADADELTA, .lr = 1.0f, .rho = 0.9f, .eps = 1e-6f}, false},
    {"sgd_plain_nn_3x17x17", {.m = 3, .n = 17, .k = 17, .alpha = 1.0f, .batch = 1},
     {.fn = UAE_OPTIM_SGD, .lr = 0.1f}, false},
};

/* Floats a GEMM operand spans: (rows, cols) stored with leading dimension ld (0: cols), batches
 * stride apart (0: rows * ld). */
static int64_t span(int64_t rows, int64_t cols, int64_t ld, int64_t stride, int64_t batch) {
    int64_t l = ld ? ld : cols, s = stride ? stride : rows * l;
    return (batch - 1) * s + rows * l;
}

/* Uniform numbers in [lo, hi) from the counter RNG (the same on every device). */
static void fill(float *h, int64_t n, uint64_t stream, float lo, float hi) {
    for (int64_t i = 0; i < n; i++)
        h[i] = lo + (hi - lo) * uae_rng_uniform01(5, stream, (uint64_t)i);
}

static uae_tensor upload(uae_arena *ar, const float *h, int64_t n) {
    uae_tensor t;
    TRY(uae_arena_tensor(ar, 1, (int64_t[]){n}, &t));
    TRY(uae_tensor_write(&t, h));
    return t;
}

static bool same_bits(const uae_tensor *a, const uae_tensor *b, int64_t n) {
    float *ha = malloc((size_t)n * sizeof *ha), *hb = malloc((size_t)n * sizeof *hb);
    TRY(uae_tensor_read(a, ha));
    TRY(uae_tensor_read(b, hb));
    bool same = memcmp(ha, hb, (size_t)n * sizeof *ha) == 0;
    free(ha);
    free(hb);
    return same;
}

/* One case on be, if be runs the op natively: the fused op against GEMM then OPTIM. */
static void test_case(uae_backend *be, const fused_case *c) {
    const uae_gemm_params *g = &c->g;
    int64_t na = span(g->trans_a ? g->k : g->m, g->trans_a ? g->m : g->k, g->lda, g->stride_a, g->batch);
    int64_t nb = span(g->trans_b ? g->n : g->k, g->trans_b ? g->k : g->n, g->ldb, g->stride_b, g->batch);
    int64_t nc = span(g->m, g->n, g->ldc, g->stride_c, g->batch);
    uae_arena *ar;
    TRY(uae_arena_create(be, (size_t)(na + nb + 9 * nc) + 4096, &ar));
    float *h = malloc((size_t)(na > nb ? (na > nc ? na : nc) : (nb > nc ? nb : nc)) * sizeof *h);
    fill(h, na, 1, -1.0f, 1.0f);
    uae_tensor A = upload(ar, h, na);
    fill(h, nb, 2, -1.0f, 1.0f);
    uae_tensor B = upload(ar, h, nb);
    /* two copies of the parameters and states: fused (f) and unfused (u); second moments > 0 */
    uae_tensor pf, pu, s1f, s1u, s2f, s2u, grad;
    fill(h, nc, 3, -1.0f, 1.0f);
    pf = upload(ar, h, nc);
    pu = upload(ar, h, nc);
    fill(h, nc, 4, -0.1f, 0.1f);
    s1f = upload(ar, h, nc);
    s1u = upload(ar, h, nc);
    fill(h, nc, 5, 0.0f, 0.01f);
    s2f = upload(ar, h, nc);
    s2u = upload(ar, h, nc);
    TRY(uae_arena_tensor(ar, 1, (int64_t[]){nc}, &grad));
    TRY(uae_fill(&grad, 0.0f));
    free(h);

    uae_op fused = {.kind = UAE_OP_GEMM_OPTIM, .src = {&A, &B}, .dst = {&pf, &s1f, &s2f}};
    fused.p.gemm_optim.gemm = *g;
    fused.p.gemm_optim.optim = c->o;
    if (!uae_op_supported(&fused)) {
        printf("%-8s %-32s not run natively (the caller runs gemm, then optim)\n",
               uae_backend_name(be), c->name);
        uae_arena_free(ar);
        return;
    }
    TRY(uae_op_run(&fused));
    uae_op gemm = {.kind = UAE_OP_GEMM, .src = {&A, &B}, .dst = {&grad}, .p.gemm = *g};
    TRY(uae_op_run(&gemm));
    /* the step on the product's rows only: the gaps of leading dimensions and strides are not
     * part of it (the fused op leaves them alone) */
    int64_t ldc = g->ldc ? g->ldc : g->n, sc = g->stride_c ? g->stride_c : g->m * ldc;
    for (int64_t b = 0; b < g->batch; b++)
        for (int64_t i = 0; i < g->m; i++) {
            uae_tensor r[4];
            const uae_tensor *whole[4] = {&grad, &pu, &s1u, &s2u};
            for (int k = 0; k < 4; k++) TRY(uae_tensor_slice(whole[k], b * sc + i * ldc, g->n, &r[k]));
            uae_op optim = {.kind = UAE_OP_OPTIM, .src = {&r[0]}, .dst = {&r[1], &r[2], &r[3]},
                            .p.optim = c->o};
            TRY(uae_op_run(&optim));
        }
    bool same = same_bits(&pf, &pu, nc) && same_bits(&s1f, &s1u, nc) && same_bits(&s2f, &s2u, nc);
    printf("%-8s %-32s %s\n", uae_backend_name(be), c->name, same ? "same bits" : "DIFFERENT");
    CHECK(same, "%s on %s: the fused step differs from gemm then optim", c->name,
          uae_backend_name(be));
    uae_arena_free(ar);
}

/* ---- 2. MINE --------------------------------------------------------------------------------- */

enum { S = 2, N = 8, C = 3, H = 6, W = 6, STEPS = 4 };

/* MINE (conv net, small) trained STEPS steps with keep_gradients as given; *out receives every
 * parameter, then both Adam states, then the gradients (4 * numel floats, host); *numel. */
static float *train_mine(uae_backend *be, bool keep_gradients, int64_t *numel) {
    uae_mine_config mc;
    uae_mine_config_default(UAE_MINE_NET_CONV, &mc);
    mc.hidden = 24;
    mc.conv_filters = 4;
    mc.opt.p.lr = 1e-2f; /* large steps: a wrong update shows in every bit */
    mc.keep_gradients = keep_gradients;
    uae_mine *m;
    TRY(uae_mine_create(be, &mc, S, N, C, H, W, &m));
    TRY(uae_mine_reset(m, 3, 0));
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 20, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor xs, ys;
    const int64_t n = (int64_t)S * N * C * H * W;
    TRY(uae_arena_tensor(ar, 4, (int64_t[]){S * N, C, H, W}, &xs));
    TRY(uae_arena_tensor(ar, 4, (int64_t[]){S * N, C, H, W}, &ys));
    float *hx = malloc((size_t)n * sizeof *hx), *hy = malloc((size_t)n * sizeof *hy);
    for (int step = 0; step < STEPS; step++) {
        fill(hx, n, 10 + 2 * (uint64_t)step, 0.0f, 1.0f);
        for (int64_t i = 0; i < n; i++) /* y correlated with x */
            hy[i] = hx[i] + 0.3f * uae_rng_uniform01(6, (uint64_t)step, (uint64_t)i);
        TRY(uae_tensor_write(&xs, hx));
        TRY(uae_tensor_write(&ys, hy));
        float bounds[S];
        TRY(uae_mine_train_step(m, t, &xs, &ys, bounds));
    }
    free(hx);
    free(hy);
    uae_params *P = uae_mine_store(m);
    *numel = uae_tensor_numel(uae_params_flat(P));
    float *out = malloc((size_t)(4 * *numel) * sizeof *out);
    TRY(uae_tensor_read(uae_params_flat(P), out));
    TRY(uae_tensor_read(uae_params_state(P, 0), out + *numel));
    TRY(uae_tensor_read(uae_params_state(P, 1), out + 2 * *numel));
    TRY(uae_tensor_read(uae_params_flat_grad(P), out + 3 * *numel));
    uae_tape_free(t);
    uae_arena_free(ar);
    uae_mine_free(m);
    return out;
}

/* Whether be runs UAE_OP_GEMM_OPTIM natively (a 1 x 1 product asks). */
static bool runs_fused(uae_backend *be) {
    uae_arena *ar;
    TRY(uae_arena_create(be, 1024, &ar));
    uae_tensor x;
    TRY(uae_arena_tensor(ar, 2, (int64_t[]){1, 1}, &x));
    uae_op op = {.kind = UAE_OP_GEMM_OPTIM, .src = {&x, &x}, .dst = {&x, &x, &x}};
    op.p.gemm_optim.gemm = (uae_gemm_params){.m = 1, .n = 1, .k = 1, .alpha = 1.0f, .batch = 1};
    op.p.gemm_optim.optim = (uae_optim_params)ADAM(1);
    bool yes = uae_op_supported(&op);
    uae_arena_free(ar);
    return yes;
}

static void test_mine(uae_backend *be) {
    int64_t n;
    float *fused = train_mine(be, false, &n), *kept = train_mine(be, true, &n);
    bool same = memcmp(fused, kept, (size_t)(3 * n) * sizeof *fused) == 0;
    printf("%-8s mine, %d steps: parameters and Adam states %s\n", uae_backend_name(be), STEPS,
           same ? "same bits" : "DIFFERENT");
    CHECK(same, "MINE on %s: the fused step's parameters or states differ from the unfused ones",
          uae_backend_name(be));
    /* the dense weights' gradients: written only by the unfused step where the op is native */
    const float *gf = fused + 3 * n, *gk = kept + 3 * n;
    int64_t written_f = 0, written_k = 0;
    for (int64_t i = 0; i < n; i++) {
        written_f += gf[i] != 0.0f;
        written_k += gk[i] != 0.0f;
    }
    if (runs_fused(be)) {
        /* fc1's weights alone are (2S, 24, 4 * 5 * 5) = 9600 of the ~10 000 parameters */
        CHECK(written_f < written_k / 4, "MINE on %s: %lld gradients written with the fused step, "
              "%lld without: the fused path did not run", uae_backend_name(be),
              (long long)written_f, (long long)written_k);
    }
    free(fused);
    free(kept);
}

int main(void) {
    bool small = test_small();
    FOR_EACH_DEVICE(dev, TEST_ALL_DEVICES) {
        uae_backend *be;
        TRY(uae_backend_open(dev->spec, &be));
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
            if (!(small && cases[i].big)) test_case(be, &cases[i]);
        test_mine(be);
        uae_backend_free(be);
    }
    return test_exit();
}
