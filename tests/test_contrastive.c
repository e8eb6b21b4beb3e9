/* tests/test_contrastive.c — the attack's contrastive loss of simclr-small (uae_model_loss with
 * batch.negatives): its value against a host computation of the formula, its gradient against
 * central differences, that it depends on x' and not on the batch, and the contrastive MinMax
 * attack with B = 3 against B = 1; with --opencl, cpu == every OpenCL device (77 without one).
 * The model is untrained (random weights from a fixed seed), 8 x 8 so that everything is fast. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/attack.h"
#include "uae/rng.h"
#include "tests/test_util.h"

enum { C = 1, H = 8, W = 8, D = C * H * W, E = 64, AUG = 8 };
/* The RNG streams of the views (models/model_impl.h: UAE_STREAM_VIEWS, UAE_STREAM_NEG_VIEWS). */
#define STREAM_VIEWS 1301u
#define STREAM_NEG_VIEWS 1302u
#define SEED 21u

/* n images of smooth random blobs, values in [0.3, 0.7]: inside [0, 1] after any brightness and
 * contrast change of the views (|0.2 * 1.2| + 0.2 < 0.5), so that the clip is not at play in the
 * gradient check; distinct values, so that no 2 x 2 pooling window holds a tie. */
static float *images(int64_t n, uint64_t seed) {
    float *x = malloc((size_t)(n * D) * sizeof *x);
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < D; i++) {
            int64_t r = i / W, c = i % W;
            float u = uae_rng_uniform01(seed, (uint64_t)b, (uint64_t)i);
            float s = sinf(0.9f * (float)r + (float)b) * cosf(0.6f * (float)c + 0.3f * (float)b);
            x[b * D + i] = 0.5f + 0.12f * s + 0.08f * (u - 0.5f);
        }
    return x;
}

static uae_model *tiny_simclr(uae_backend *be) {
    uae_model_config mc;
    TRY(uae_model_defaults("simclr-small", C, H, W, 0, &mc));
    uae_model *m;
    TRY(uae_model_create(be, &mc, 5, &m));
    return m;
}

/* ---- the host oracle: views and the formula, written from docs/method.md --------------------- */

/* One view of image x from the uniforms u: crop of area fraction 0.6 + 0.4 u0 at the image's
 * aspect ratio at (u1, u2), nearest-neighbour resize, flip if u3 < 1/2, brightness 0.4 (u4 - 1/2)
 * and contrast 0.8 + 0.4 u5 about the view's mean, clip to [0, 1]. */
static void host_view(const float *x, const float *u, float *out) {
    double s = 0.6 + 0.4 * u[0];
    int ch = (int)lround(sqrt(s) * H), cw = (int)lround(sqrt(s) * W);
    ch = ch < 1 ? 1 : ch;
    cw = cw < 1 ? 1 : cw;
    int top = (int)(u[1] * (float)(H - ch + 1)), left = (int)(u[2] * (float)(W - cw + 1));
    top = top > H - ch ? H - ch : top;
    left = left > W - cw ? W - cw : left;
    double mean = 0.0;
    for (int k = 0; k < C; k++)
        for (int i = 0; i < H; i++)
            for (int j = 0; j < W; j++) {
                int jj = u[3] < 0.5f ? W - 1 - j : j;
                int si = top + (int)((i + 0.5) * ch / H), sj = left + (int)((jj + 0.5) * cw / W);
                out[(k * H + i) * W + j] = x[(k * H + si) * W + sj];
                mean += x[(k * H + si) * W + sj];
            }
    mean /= D;
    double bright = 0.4 * (u[4] - 0.5), contrast = 0.8 + 0.4 * u[5];
    for (int e = 0; e < D; e++) {
        double v = (out[e] - mean) * contrast + mean + bright;
        out[e] = (float)(v < 0.0 ? 0.0 : v > 1.0 ? 1.0 : v);
    }
}

/* The unit-norm projection embeddings (n, E) (double) of n images v, by uae_model_forward. */
static void host_embed(uae_model *m, uae_backend *be, const float *v, int64_t n, double *z) {
    uae_arena *ar;
    uae_tape *t;
    TRY(uae_arena_create(be, 1 << 20, &ar));
    TRY(uae_tape_create(ar, &t));
    uae_tensor xv;
    TRY(uae_arena_tensor4(ar, n, C, H, W, &xv));
    TRY(uae_tensor_write(&xv, v));
    uae_var *pv[64];
    TRY(uae_model_bind(m, t, false, pv));
    uae_batch b = {.x = &xv, .training = false};
    uae_var *y = uae_model_forward(m, t, pv, uae_ad_const(t, &xv), &b);
    TRY(uae_tape_status(t));
    float *h = malloc((size_t)(n * E) * sizeof *h);
    TRY(uae_tensor_read(uae_ad_value(y), h));
    for (int64_t i = 0; i < n; i++) {
        double nn = 0.0;
        for (int e = 0; e < E; e++) nn += (double)h[i * E + e] * h[i * E + e];
        for (int e = 0; e < E; e++) z[i * E + e] = h[i * E + e] / sqrt(nn);
    }
    free(h);
    uae_tape_free(t);
    uae_arena_free(ar);
}

static double dot(const double *a, const double *b) {
    double s = 0.0;
    for (int e = 0; e < E; e++) s += a[e] * b[e];
    return s;
}

/* l_i = 1/2 [l(z1 -> z2) + l(z2 -> z1)],  l(a -> b) = -s(a,b)/tau + log(exp(s(a,b)/tau) +
 * sum_j exp(s(a, n_j)/tau)), with the views of sample i from (SEED, VIEWS stream, first + i) and
 * the negatives' from (SEED, NEG_VIEWS stream, j). */
static void host_loss(uae_model *m, uae_backend *be, const float *x, int64_t n, uint64_t first,
                      const float *neg, int64_t M, double *loss, double *negz) {
    const double tau = uae_model_config_of(m)->tau;
    float *v = malloc((size_t)((2 * n + M) * D) * sizeof *v), u[2 * AUG];
    double *z = malloc((size_t)(2 * n * E) * sizeof *z);
    for (int64_t i = 0; i < n; i++) {
        for (int k = 0; k < 2 * AUG; k++)
            u[k] = uae_rng_uniform01(SEED, STREAM_VIEWS,
                                     (first + (uint64_t)i) * 2 * AUG + (uint64_t)k);
        host_view(x + i * D, u, v + i * D);
        host_view(x + i * D, u + AUG, v + (n + i) * D);
    }
    for (int64_t j = 0; j < M; j++) {
        for (int k = 0; k < AUG; k++)
            u[k] = uae_rng_uniform01(SEED, STREAM_NEG_VIEWS, (uint64_t)j * AUG + (uint64_t)k);
        host_view(neg + j * D, u, v + (2 * n + j) * D);
    }
    host_embed(m, be, v, 2 * n, z);
    host_embed(m, be, v + 2 * n * D, M, negz);
    for (int64_t i = 0; i < n; i++) {
        const double *z1 = z + i * E, *z2 = z + (n + i) * E;
        double pos = dot(z1, z2) / tau, s1 = exp(pos), s2 = exp(pos);
        for (int64_t j = 0; j < M; j++) {
            s1 += exp(dot(z1, negz + j * E) / tau);
            s2 += exp(dot(z2, negz + j * E) / tau);
        }
        loss[i] = 0.5 * ((-pos + log(s1)) + (-pos + log(s2)));
    }
    free(v);
    free(z);
}

/* ---- the loss through the library ------------------------------------------------------------ */

typedef struct env {
    uae_backend *be;
    uae_model *m;
    uae_arena *ar;
    uae_tape *t;
    uae_tensor negz;  /* (M, E) */
    int64_t M;
} env;

static void env_open(env *e, const float *neg, int64_t M) {
    memset(e, 0, sizeof *e);
    TRY(uae_backend_open("cpu", &e->be));
    e->m = tiny_simclr(e->be);
    TRY(uae_arena_create(e->be, 1 << 20, &e->ar));
    TRY(uae_tape_create(e->ar, &e->t));
    e->M = M;
    uae_tensor imgs;
    TRY(uae_arena_tensor4(e->ar, M, C, H, W, &imgs));
    TRY(uae_tensor_write(&imgs, neg));
    TRY(uae_arena_tensor2(e->ar, M, E, &e->negz));
    size_t mark = uae_arena_mark(e->ar);
    uae_var *pv[64];
    TRY(uae_model_bind(e->m, e->t, false, pv));
    uae_var *z = uae_model_negatives(e->m, e->t, pv, &imgs, SEED);
    TRY(uae_tape_status(e->t));
    TRY(uae_tensor_copy(&e->negz, uae_ad_value(z)));
    uae_tape_reset(e->t);
    uae_arena_reset(e->ar, mark);
}

static void env_close(env *e) {
    uae_tape_free(e->t);
    uae_arena_free(e->ar);
    uae_model_free(e->m);
    uae_backend_free(e->be);
}

/* The per-sample losses (n) of x (n, D) whose sample 0 is example `first`; with g, also
 * d sum(loss) / d x into g (n, D). */
static void lib_loss(env *e, const float *x, int64_t n, uint64_t first, float *loss, float *g) {
    size_t mark = uae_arena_mark(e->ar);
    uae_tensor xv, gv;
    TRY(uae_arena_tensor4(e->ar, n, C, H, W, &xv));
    TRY(uae_arena_tensor4(e->ar, n, C, H, W, &gv));
    TRY(uae_tensor_write(&xv, x));
    uae_tape_reset(e->t);
    uae_var *pv[64];
    TRY(uae_model_bind(e->m, e->t, false, pv));
    uae_batch b = {.x = &xv, .seed = SEED, .training = false, .negatives = &e->negz,
                   .first_index = first};
    uae_var *xvar = g ? uae_ad_leaf(e->t, &xv, &gv) : uae_ad_const(e->t, &xv);
    uae_var *l = uae_model_loss(e->m, e->t, pv, xvar, &b);
    TRY(uae_tape_status(e->t));
    CHECK(uae_ad_value(l)->ndim == 1 && uae_ad_value(l)->shape[0] == n,
          "the loss is not per sample");
    TRY(uae_tensor_read(uae_ad_value(l), loss));
    if (g) {
        TRY(uae_ad_backward(e->t, uae_ad_reduce(e->t, UAE_REDUCE_SUM, 0x1, l)));
        TRY(uae_tensor_read(&gv, g));
    }
    uae_tape_reset(e->t);
    uae_arena_reset(e->ar, mark);
}

/* (a) the value against the host formula, and the negatives' embeddings against the host's.
 * Tolerances: the library's views differ from the host's by float rounding of the mean (~1e-7),
 * its embeddings by float32 sums (~1e-6 relative); the loss, a log-sum-exp of 1/tau-scaled
 * similarities of size <= 2, moves by ~1e-6. 1e-4 is far above that and far below any wrong view
 * or wrong term (a view off by one pixel, or a missing negative, changes the loss by > 1e-3). */
static void test_value(env *e, const float *x, int64_t n, const float *neg) {
    double *want = malloc((size_t)n * sizeof *want);
    double *negz = malloc((size_t)(e->M * E) * sizeof *negz);
    float *got = malloc((size_t)n * sizeof *got), *hz = malloc((size_t)(e->M * E) * sizeof *hz);
    host_loss(e->m, e->be, x, n, 40, neg, e->M, want, negz);
    lib_loss(e, x, n, 40, got, NULL);
    for (int64_t i = 0; i < n; i++) {
        printf("sample %lld: loss %.7f, host %.7f\n", (long long)i, got[i], want[i]);
        CHECK(fabs(got[i] - want[i]) <= 1e-4, "sample %lld: loss %.7f, host formula %.7f",
              (long long)i, got[i], want[i]);
    }
    TRY(uae_tensor_read(&e->negz, hz));
    double dz = 0.0;
    for (int64_t k = 0; k < e->M * E; k++) dz = fmax(dz, fabs(hz[k] - negz[k]));
    /* unit vectors of 64 floats: 1e-5 is ~100 float roundings */
    CHECK(dz <= 1e-5, "negatives' embeddings differ from the host's by %g", dz);
    free(want);
    free(negz);
    free(got);
    free(hz);
}

/* (b) d sum(loss) / d x against a central difference along the gradient's own direction
 * v = g / max|g| (its derivative |g|^2 / max|g| is the largest of any unit-max direction), and
 * along a fixed random direction. With h = 1e-3 the float32 rounding of a loss of ~2 per sample
 * (~2.4e-7 each) makes an error of ~n * 2.4e-7 / 2h ~ 4e-4 in the quotient; curvature adds
 * O(h^2). The tolerance is 2% of the derivative plus 1e-3 absolute for that rounding. Images in
 * [0.3, 0.7] keep the clip out, distinct values keep pooling ties out; ReLU kinks crossed by a
 * step of 1e-3 are rare and bounded by the same 2%. */
static void test_gradient(env *e, const float *x, int64_t n) {
    float *g = malloc((size_t)(n * D) * sizeof *g), *xp = malloc((size_t)(n * D) * sizeof *xp);
    float *l = malloc((size_t)n * sizeof *l);
    double *dir = malloc((size_t)(n * D) * sizeof *dir);
    lib_loss(e, x, n, 7, l, g);
    double gmax = 0.0;
    for (int64_t i = 0; i < n * D; i++) gmax = fmax(gmax, fabs(g[i]));
    CHECK(gmax > 0.0, "the gradient is zero");
    for (int pass = 0; pass < 2 && gmax > 0.0; pass++) {
        double analytic = 0.0;
        for (int64_t i = 0; i < n * D; i++) {
            dir[i] = pass == 0 ? g[i] / gmax : 2.0 * uae_rng_uniform01(5, 0, (uint64_t)i) - 1.0;
            analytic += g[i] * dir[i];
        }
        const float h = 1e-3f;
        double side[2];
        for (int s = 0; s < 2; s++) {
            for (int64_t i = 0; i < n * D; i++) xp[i] = x[i] + (s ? -h : h) * (float)dir[i];
            lib_loss(e, xp, n, 7, l, NULL);
            side[s] = 0.0;
            for (int64_t i = 0; i < n; i++) side[s] += l[i];
        }
        double numeric = (side[0] - side[1]) / (2.0 * h);
        printf("d loss / d x along %s: analytic %.6g, central difference %.6g\n",
               pass ? "a random direction" : "g", analytic, numeric);
        CHECK(fabs(numeric - analytic) <= 0.02 * fabs(analytic) + 1e-3,
              "gradient along %s: analytic %.6g, central difference %.6g",
              pass ? "a random direction" : "g", analytic, numeric);
    }
    free(g);
    free(xp);
    free(l);
    free(dir);
}

/* (c) the loss depends on x' (the official release's identical views made it a constant) and not
 * on the batch: a sample's loss is the same alone or in the middle of a batch (1e-5: GEMMs of
 * other shapes may round differently, ~1e-7 relative), and a view's numbers follow its index. */
static void test_not_constant(env *e, const float *x, int64_t n) {
    float *l = malloc((size_t)n * sizeof *l), one, other, shifted;
    lib_loss(e, x, n, 10, l, NULL);
    lib_loss(e, x + D, 1, 11, &one, NULL); /* sample 1 of the batch, alone */
    CHECK(fabsf(one - l[1]) <= 1e-5f, "sample 11: %.7f in a batch, %.7f alone", l[1], one);
    lib_loss(e, x, 1, 11, &other, NULL); /* another image with the same views */
    CHECK(fabsf(other - l[1]) > 1e-3f, "two images, one loss: %.7f and %.7f", other, l[1]);
    lib_loss(e, x + D, 1, 12, &shifted, NULL); /* the same image with other views */
    CHECK(fabsf(shifted - l[1]) > 1e-4f, "other views, same loss: %.7f", shifted);
    /* each direction's term is log(1 + sum_j exp((s_j - pos)/tau)) >= log(1 + M exp(-2/tau)),
     * as cosine similarities lie in [-1, 1] */
    const double least = log(1.0 + (double)e->M * exp(-2.0 / uae_model_config_of(e->m)->tau));
    for (int64_t i = 0; i < n; i++)
        CHECK(isfinite(l[i]) && l[i] >= least - 1e-6, "loss %g below %g", l[i], least);
    free(l);
}

/* ---- the attack ------------------------------------------------------------------------------ */

static void small_config(uae_attack_config *ac, const float *neg, int64_t M, int iterations) {
    TRY(uae_attack_defaults(UAE_MODEL_CONTRASTIVE, ac));
    ac->iterations = iterations;
    ac->mine_steps = 3;
    ac->mine.hidden = 32;
    ac->mine.opt.p.lr = 1e-3f;
    ac->seed = SEED;
    ac->negatives = neg;
    ac->negatives_n = M;
    /* A large c makes l(x') <= l(x) reachable within a few steps, so that some samples succeed. */
    ac->c0 = 1000.0f;
}

static double max_abs_diff(const float *a, const float *b, int64_t n) {
    double m = 0.0;
    for (int64_t i = 0; i < n; i++) m = fmax(m, fabs((double)a[i] - (double)b[i]));
    return m;
}

/* (d) B = 3 against B = 1: identical success flags and selected iterates, x' equal to 1e-5
 * (GEMMs of other shapes round differently; over a few iterations of lr 0.01 the differences stay
 * at float rounding); and the error without negatives. */
static void test_batch_independence(env *e, const float *neg, int64_t M, bool small) {
    const int64_t B = 3;
    float *x = images(B, 8);
    float *xa = malloc((size_t)(B * D) * sizeof *xa), x1[D];
    uae_attack_config ac;
    small_config(&ac, neg, M, small ? 3 : 8);
    uae_attack_result rb[3], r1;
    TRY(uae_attack_run(e->m, &ac, x, NULL, 200, B, xa, rb));
    int ok = 0;
    for (int64_t b = 0; b < B; b++) {
        TRY(uae_attack_run(e->m, &ac, x + b * D, NULL, 200 + (uint64_t)b, 1, x1, &r1));
        double diff = max_abs_diff(xa + b * D, x1, D);
        printf("sample %lld: success %d (B=1: %d), I %.4f, loss %.5f -> %.5f, selected %d (B=1: "
               "%d), |x'_B - x'_1| %.2g\n", (long long)b, rb[b].success, r1.success, rb[b].mi,
               rb[b].loss_clean, rb[b].loss_adv, rb[b].selected_iter, r1.selected_iter, diff);
        CHECK(diff <= 1e-5, "sample %lld: |x'_B - x'_1| = %g", (long long)b, diff);
        CHECK(rb[b].success == r1.success && rb[b].selected_iter == r1.selected_iter,
              "sample %lld: success %d/%d, selected %d/%d", (long long)b, rb[b].success,
              r1.success, rb[b].selected_iter, r1.selected_iter);
        CHECK(fabsf(rb[b].loss_clean - r1.loss_clean) <= 1e-5f, "l(x) %g vs %g",
              rb[b].loss_clean, r1.loss_clean);
        for (int64_t i = 0; i < D; i++)
            if (!(xa[b * D + i] >= 0.0f && xa[b * D + i] <= 1.0f)) {
                CHECK(false, "x' outside [0, 1]");
                break;
            }
        ok += rb[b].success;
    }
    printf("contrastive attack: %d of %lld succeeded\n", ok, (long long)B);
    uae_attack_config bad = ac;
    bad.negatives = NULL;
    CHECK(uae_attack_run(e->m, &bad, x, NULL, 0, B, xa, rb) == UAE_ERR_INVALID &&
              strstr(uae_last_error(), "negatives"),
          "no negatives: %s", uae_last_error());
    free(x);
    free(xa);
}

/* (e) cpu == every OpenCL device. 1e-4 after the iterations: devices sum in other orders (and may
 * contract a*b+c), so each step's gradient differs by rounding; lr 0.01 keeps delta's drift far
 * below this (as in test_attack). */
static int test_devices(bool small) {
    int tested = 0;
    const int64_t B = 2, M = 6;
    float *x = images(B, 9), *neg = images(M, 10);
    float *xc = malloc((size_t)(B * D) * sizeof *xc), *xo = malloc((size_t)(B * D) * sizeof *xo);
    uae_backend *cpu;
    TRY(uae_backend_open("cpu", &cpu));
    uae_model *mc = tiny_simclr(cpu);
    uae_attack_config ac;
    small_config(&ac, neg, M, small ? 4 : 10);
    uae_attack_result rc[2], ro[2];
    TRY(uae_attack_run(mc, &ac, x, NULL, 0, B, xc, rc));
    FOR_EACH_DEVICE(dev, TEST_OPENCL) {
        uae_backend *be;
        TRY(uae_backend_open(dev->spec, &be));
        uae_model *mo = tiny_simclr(be);
        TRY(uae_params_copy(uae_model_params(mo), uae_model_params(mc), false));
        TRY(uae_attack_run(mo, &ac, x, NULL, 0, B, xo, ro));
        double diff = max_abs_diff(xc, xo, B * D);
        printf("%s: |x'_cpu - x'_ocl| = %.3g, loss %.6f / %.6f, success %d %d (cpu %d %d), ops "
               "run on the host: %llu\n", uae_backend_name(be), diff, rc[0].loss_clean,
               ro[0].loss_clean, ro[0].success, ro[1].success, rc[0].success, rc[1].success,
               (unsigned long long)uae_backend_fallback_count(be));
        CHECK(diff <= 1e-4, "%s: |x'_cpu - x'_ocl| = %g", dev->info.name, diff);
        for (int64_t b = 0; b < B; b++) {
            CHECK(rc[b].success == ro[b].success, "%s: sample %lld success %d vs %d",
                  dev->info.name, (long long)b, rc[b].success, ro[b].success);
            /* l(x) on two devices: float32 sums in other orders, 1e-4 of a loss of ~2 */
            CHECK(fabsf(rc[b].loss_clean - ro[b].loss_clean) <= 1e-4f, "%s: l(x) %g vs %g",
                  dev->info.name, rc[b].loss_clean, ro[b].loss_clean);
        }
        uae_model_free(mo);
        uae_backend_free(be);
        tested++;
    }
    uae_model_free(mc);
    uae_backend_free(cpu);
    free(x);
    free(neg);
    free(xc);
    free(xo);
    if (tested == 0) test_skip("no OpenCL device");
    return test_exit();
}

int main(int argc, char **argv) {
    bool small = test_small();
    if (argc > 1 && strcmp(argv[1], "--opencl") == 0) return test_devices(small);
    const int64_t n = 3, M = 6, pool = 20;
    float *x = images(n, 1), *train = images(pool, 2), *neg = malloc((size_t)(M * D) * sizeof *neg);
    TRY(uae_attack_pick_negatives(train, pool, D, SEED, M, neg));
    env e;
    env_open(&e, neg, M);
    test_value(&e, x, n, neg);
    test_gradient(&e, x, n);
    test_not_constant(&e, x, n);
    test_batch_independence(&e, neg, M, small);
    env_close(&e);
    free(x);
    free(train);
    free(neg);
    if (failures) printf("%d failure(s)\n", failures);
    else printf("contrastive: all passed\n");
    return failures ? 1 : 0;
}
