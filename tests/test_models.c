/* tests/test_models.c — every model preset trains: on a small synthetic slice (64 images of bars,
 * blobs and diagonals, 1 x 16 x 16, four classes) its evaluation loss falls by the factor stated in
 * the table below; a few training steps give the same losses on "cpu" and on every OpenCL device;
 * and the interface around the models (presets, shapes, selected features, first layer, embed)
 * behaves as uae/model.h says. UAE_TEST_SMALL=1 trains for fewer steps (the factors then asked
 * for are smaller). The PyTorch comparison is tests/test_golden.c. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "uae/model.h"
#include "tests/test_util.h"

#define N_IMAGES 64
#define SIDE 16
#define CLASSES 4
#define BATCH 16

/* The synthetic slice: class 0 a horizontal bar, 1 a vertical bar, 2 a square blob, 3 a diagonal,
 * at positions from a small LCG (test data only; the library's RNG is not under test here). */
static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }

static void make_data(float *x, float *onehot) {
    uint32_t s = 12345;
    memset(x, 0, sizeof(float) * N_IMAGES * SIDE * SIDE);
    memset(onehot, 0, sizeof(float) * N_IMAGES * CLASSES);
    for (int n = 0; n < N_IMAGES; n++) {
        float *im = x + n * SIDE * SIDE;
        int k = n % CLASSES, p = 2 + (int)(lcg(&s) >> 8) % (SIDE - 6), q = 2 + (int)(lcg(&s) >> 8) % (SIDE - 6);
        float v = 0.6f + 0.4f * (float)((lcg(&s) >> 8) & 0xffff) / 65536.0f;
        for (int i = 0; i < SIDE; i++)
            for (int j = 0; j < SIDE; j++) {
                bool on = (k == 0 && i >= p && i < p + 2) || (k == 1 && j >= q && j < q + 2) ||
                          (k == 2 && i >= p && i < p + 4 && j >= q && j < q + 4) ||
                          (k == 3 && abs(i - j - (p - q) / 2) <= 1);
                im[i * SIDE + j] = on ? v : 0.05f;
            }
        onehot[n * CLASSES + k] = 1.0f;
    }
}

/* One preset in the test: how many training steps and the factor its loss must fall by. Each
 * factor is at most the square root of the fall measured on this slice (the test prints it): a
 * model must do at least half of its usual learning in log scale, which catches one that does not
 * learn (a factor ~1) without being fragile to rounding differences between backends. */
typedef struct mcase {
    const char *preset;
    int steps, steps_small;
    double factor, factor_small;
    float lr; /* 0: the preset's; else a larger rate, so that a few steps show learning */
    float fd_h; /* step of the input-gradient check (see test_input_gradient) */
} mcase;

static const mcase cases[] = {
    {"dense-ae", 100, 40, 2.0, 1.3, 0, 5e-4f},
    {"sparse-ae", 100, 40, 2.0, 1.3, 0, 5e-4f},
    {"conv-ae", 100, 40, 1.5, 1.1, 0, 5e-4f},
    {"aae", 25, 15, 1.8, 1.3, 1e-3f, 1e-2f},
    {"concrete-ae", 100, 40, 1.2, 1.2, 0, 5e-4f},
    {"simclr-small", 40, 20, 1.15, 1.05, 0, 5e-4f},
    {"classifier", 80, 40, 3.0, 1.15, 0.02f, 5e-4f},
};

typedef struct env {
    uae_backend *be;
    uae_arena *arena;
    uae_tape *t;
    uae_tensor x, onehot;      /* the whole slice */
} env;

static bool env_open(env *e, const char *spec, const float *hx, const float *ho) {
    memset(e, 0, sizeof *e);
    return uae_backend_open(spec, &e->be) == UAE_OK &&
           uae_arena_create(e->be, 1 << 22, &e->arena) == UAE_OK &&
           uae_tape_create(e->arena, &e->t) == UAE_OK &&
           uae_arena_tensor4(e->arena, N_IMAGES, 1, SIDE, SIDE, &e->x) == UAE_OK &&
           uae_arena_tensor2(e->arena, N_IMAGES, CLASSES, &e->onehot) == UAE_OK &&
           uae_tensor_write(&e->x, hx) == UAE_OK && uae_tensor_write(&e->onehot, ho) == UAE_OK;
}

static void env_close(env *e) {
    uae_tape_free(e->t);
    uae_arena_free(e->arena);
    uae_backend_free(e->be);
}

static uae_batch batch_of(env *e, int step, uae_tensor *xb, uae_tensor *ob) {
    int first = (step * BATCH) % N_IMAGES;
    uae_tensor_slice(&e->x, first, BATCH, xb);
    uae_tensor_slice(&e->onehot, first, BATCH, ob);
    return (uae_batch){.x = xb, .onehot = ob, .seed = 99, .step = (uint64_t)step, .training = true};
}

/* The mean evaluation loss over the slice (no dropout, hard concrete selection, x itself as the
 * first SimCLR view). */
static double eval_loss(env *e, uae_model *m) {
    size_t mark = uae_arena_mark(e->arena);
    uae_var *pv[64];
    uae_batch b = {.x = &e->x, .onehot = &e->onehot, .seed = 5, .step = 0, .training = false};
    float l = NAN;
    uae_tape_reset(e->t);
    uae_tape_set_recording(e->t, false);
    if (uae_model_bind(m, e->t, false, pv) == UAE_OK) {
        uae_var *v = uae_ad_reduce(e->t, UAE_REDUCE_MEAN, 0x1,
                                   uae_model_loss(m, e->t, pv, uae_ad_const(e->t, &e->x), &b));
        if (uae_tape_status(e->t) != UAE_OK || uae_tensor_read(uae_ad_value(v), &l) != UAE_OK)
            l = NAN;
    }
    if (isnan(l)) fprintf(stderr, "eval %s: %s\n", uae_model_config_of(m)->preset, uae_last_error());
    uae_tape_set_recording(e->t, true);
    uae_tape_reset(e->t);
    uae_arena_reset(e->arena, mark);
    return l;
}

static uae_status make_model(env *e, const char *preset, int steps, float lr, uae_model **m) {
    uae_model_config cfg;
    UAE_TRY(uae_model_defaults(preset, 1, SIDE, SIDE, CLASSES, &cfg));
    cfg.total_steps = steps; /* concrete-ae: anneal over this run */
    if (lr > 0.0f) cfg.opt.p.lr = lr;
    return uae_model_create(e->be, &cfg, 2024, m);
}

/* Trains for `steps`; losses[s] receives each step's batch loss (if not NULL). */
static bool train(env *e, uae_model *m, int steps, float *losses) {
    for (int s = 0; s < steps; s++) {
        uae_tensor xb, ob;
        uae_batch b = batch_of(e, s, &xb, &ob);
        float l;
        if (uae_model_train_step(m, e->t, &b, &l) != UAE_OK) {
            CHECK(0, "%s step %d: %s", uae_model_config_of(m)->preset, s, uae_last_error());
            return false;
        }
        if (losses) losses[s] = l;
    }
    return true;
}

static void test_learning(env *e, bool small) {
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const mcase *c = &cases[i];
        int steps = small ? c->steps_small : c->steps;
        double factor = small ? c->factor_small : c->factor;
        uae_model *m = NULL;
        if (make_model(e, c->preset, steps, c->lr, &m) != UAE_OK) {
            CHECK(0, "%s: create: %s", c->preset, uae_last_error());
            continue;
        }
        struct timespec t0, t1;
        double before = eval_loss(e, m);
        clock_gettime(CLOCK_MONOTONIC, &t0);
        train(e, m, steps, NULL);
        clock_gettime(CLOCK_MONOTONIC, &t1);
        double after = eval_loss(e, m);
        printf("%-13s loss %.5f -> %.5f after %3d steps (fell by %.2fx, asked %.2fx), %.2f s\n",
               c->preset, before, after, steps, before / after, factor,
               (double)(t1.tv_sec - t0.tv_sec) + 1e-9 * (double)(t1.tv_nsec - t0.tv_nsec));
        CHECK(isfinite(before) && isfinite(after) && after * factor <= before,
              "%s: loss %.5f -> %.5f, expected a fall by %.2fx", c->preset, before, after, factor);
        uae_model_free(m);
    }
}

/* Same seed, same backend: the same bits (determinism), checked on a model with dropout. */
static void test_repeatable(env *e) {
    float a[4], b[4];
    for (int r = 0; r < 2; r++) {
        uae_model *m = NULL;
        if (make_model(e, "classifier", 4, 0, &m) != UAE_OK) {
            CHECK(0, "create: %s", uae_last_error());
            return;
        }
        train(e, m, 4, r ? b : a);
        uae_model_free(m);
    }
    CHECK(memcmp(a, b, sizeof a) == 0, "classifier: two runs with one seed differ");
}

/* A few steps on cpu and on each OpenCL device. The losses differ only by float32 rounding in
 * other summation orders (blocked GEMM, convolution tiles, reduction trees): ~1e-6 relative per
 * op, growing over 3 steps of updates; 1e-3 relative is far above that and far below any real
 * error (a wrong op changes a loss in its first digits). */
#define TOL_DEVICE 1e-3
#define DEVICE_STEPS 3

static void test_devices(const float *hx, const float *ho) {
    int tested = 0;
    FOR_EACH_DEVICE(dev, TEST_OPENCL) {
        const char *spec = dev->spec;
        env ec, ed;
        if (!env_open(&ec, "cpu", hx, ho) || !env_open(&ed, spec, hx, ho)) {
            CHECK(0, "device %s: %s", spec, uae_last_error());
            env_close(&ec);
            env_close(&ed);
            continue;
        }
        for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
            uae_model *mc = NULL, *md = NULL;
            float lc[DEVICE_STEPS], ld[DEVICE_STEPS];
            if (make_model(&ec, cases[i].preset, 100, 0, &mc) == UAE_OK &&
                make_model(&ed, cases[i].preset, 100, 0, &md) == UAE_OK &&
                train(&ec, mc, DEVICE_STEPS, lc) && train(&ed, md, DEVICE_STEPS, ld)) {
                double worst = 0.0;
                for (int s = 0; s < DEVICE_STEPS; s++)
                    worst = fmax(worst, fabs(lc[s] - ld[s]) / fmax(fabs(lc[s]), 1e-6));
                printf("%-13s cpu vs %s (%s): worst relative loss difference %.2e\n",
                       cases[i].preset, spec, dev->info.name, worst);
                CHECK(worst <= TOL_DEVICE, "%s on %s: losses differ by %.3g", cases[i].preset,
                      dev->info.name, worst);
            } else {
                CHECK(0, "%s on %s: %s", cases[i].preset, dev->info.name, uae_last_error());
            }
            uae_model_free(mc);
            uae_model_free(md);
        }
        tested++;
        env_close(&ec);
        env_close(&ed);
    }
    if (!tested) printf("no OpenCL device: the cpu-vs-device comparison is skipped\n");
}

static void test_interface(env *e) {
    uae_model_config cfg;
    /* unknown presets are rejected with the list */
    CHECK(uae_model_defaults("resnet", 1, 28, 28, 10, &cfg) == UAE_ERR_INVALID, "unknown preset");
    CHECK(strstr(uae_last_error(), "conv-ae") && strstr(uae_last_error(), "simclr-small"),
          "the message lists the presets: %s", uae_last_error());
    int n = 0;
    for (const char *const *p = uae_model_presets(); *p; p++, n++)
        CHECK(uae_model_defaults(*p, 1, 28, 28, 10, &cfg) == UAE_OK && strcmp(cfg.preset, *p) == 0,
              "preset %s", *p);
    CHECK(n == 7, "%d presets listed", n);
    /* official defaults */
    uae_model_defaults("conv-ae", 1, 28, 28, 0, &cfg);
    CHECK(cfg.opt.p.fn == UAE_OPTIM_ADADELTA && cfg.epochs == 20 && cfg.batch == 100, "conv-ae");
    uae_model_defaults("dense-ae", 1, 28, 28, 0, &cfg);
    CHECK(cfg.opt.p.fn == UAE_OPTIM_RMSPROP && fabsf(cfg.opt.p.lr - 0.0025f) < 1e-9f && cfg.hidden == 128,
          "dense-ae");
    uae_model_defaults("classifier", 1, 28, 28, 10, &cfg);
    CHECK(cfg.opt.p.fn == UAE_OPTIM_SGD && cfg.opt.p.nesterov && cfg.batch == 128, "classifier");
    /* the CIFAR classifier is the script's wider network */
    uae_model *wide = NULL;
    uae_model_defaults("classifier", 3, 32, 32, 10, &cfg);
    CHECK(uae_model_create(e->be, &cfg, 1, &wide) == UAE_OK &&
          uae_params_value(uae_model_params(wide), 0)->shape[0] == 64 &&
          uae_params_value(uae_model_params(wide), 0)->shape[1] == 3, "classifier on 3 x 32 x 32");
    uae_model_free(wide);
    /* a shape a preset cannot take */
    uae_model_defaults("conv-ae", 1, 30, 30, 0, &cfg);
    uae_model *bad = NULL;
    CHECK(uae_model_create(e->be, &cfg, 1, &bad) == UAE_ERR_SHAPE && !bad, "conv-ae on 30 x 30");

    /* shapes of forward, first layer and embed on a batch of 16 */
    static const struct { const char *preset; int first_channels; int out_dim; } shapes[] = {
        {"dense-ae", 0, SIDE * SIDE}, {"conv-ae", 16, SIDE * SIDE}, {"classifier", 32, CLASSES},
        {"simclr-small", 32, 64}, {"aae", 0, SIDE * SIDE}, {"concrete-ae", 0, SIDE * SIDE},
    };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        uae_model *m = NULL;
        if (make_model(e, shapes[i].preset, 10, 0, &m) != UAE_OK) {
            CHECK(0, "%s: %s", shapes[i].preset, uae_last_error());
            continue;
        }
        size_t mark = uae_arena_mark(e->arena);
        uae_tensor xb, ob;
        uae_batch b = batch_of(e, 0, &xb, &ob);
        b.training = false;
        uae_var *pv[64];
        uae_model_bind(m, e->t, false, pv);
        uae_var *x = uae_ad_const(e->t, &xb);
        uae_var *y = uae_model_forward(m, e->t, pv, x, &b);
        uae_var *f = uae_model_first_layer(m, e->t, pv, x);
        uae_var *z = uae_model_embed(m, e->t, pv, x);
        CHECK(uae_tape_status(e->t) == UAE_OK && y, "%s: forward: %s", shapes[i].preset,
              uae_last_error());
        if (y) {
            const uae_tensor *Y = uae_ad_value(y);
            CHECK(Y->shape[0] == BATCH && uae_tensor_numel(Y) == BATCH * shapes[i].out_dim,
                  "%s: output of %lld elements", shapes[i].preset, (long long)uae_tensor_numel(Y));
        }
        if (shapes[i].first_channels) {
            CHECK(f && uae_ad_value(f)->ndim == 4 &&
                  uae_ad_value(f)->shape[1] == shapes[i].first_channels,
                  "%s: first layer", shapes[i].preset);
        } else {
            CHECK(!f, "%s: no first convolution, yet a first layer", shapes[i].preset);
        }
        bool contrastive = strcmp(shapes[i].preset, "simclr-small") == 0;
        CHECK(contrastive ? z && uae_ad_value(z)->shape[1] == 128 : !z, "%s: embed",
              shapes[i].preset);
        uae_tape_reset(e->t);
        uae_arena_reset(e->arena, mark);
        int idx[50];
        uae_status st = uae_model_selected_features(m, idx, 50);
        if (strcmp(shapes[i].preset, "concrete-ae") == 0) {
            CHECK(st == UAE_OK, "selected features: %s", uae_last_error());
            for (int k = 0; k < 50 && st == UAE_OK; k++)
                CHECK(idx[k] >= 0 && idx[k] < SIDE * SIDE, "feature %d is %d", k, idx[k]);
        } else {
            CHECK(st == UAE_ERR_INVALID, "%s: selected features", shapes[i].preset);
        }
        uae_model_free(m);
    }
}

/* d loss / d x, the gradient the attack descends, against a central difference along the
 * gradient's own direction v = g / max|g| (so that the derivative is large: |g|^2 / max|g|), in
 * evaluation mode with the clean images as target. The images get a little noise first so that
 * no 2x2 pooling window holds a tie (the flat background would, and max is not differentiable
 * there). Tolerance 4%: two errors of the difference quotient, not of the gradient, are at play.
 * Curvature and ReLU kinks crossed by the step (measured 0.3-1.5% at h = 5e-4, shrinking with h,
 * while the golden test shows conv-ae's input gradient equal to PyTorch's to 4e-6), and float32
 * rounding of the summed loss, ~1 ulp / 2h of it: for the AAE, whose derivative is ~100x smaller
 * than the others', that needs the larger step h = 1e-2 (measured 1%). */
static double loss_at(env *e, uae_model *m, const uae_tensor *xs, const uae_batch *b) {
    size_t mark = uae_arena_mark(e->arena);
    uae_var *pv[64];
    float l = NAN;
    uae_tape_reset(e->t);
    uae_model_bind(m, e->t, false, pv);
    uae_var *v = uae_ad_reduce(e->t, UAE_REDUCE_SUM, 0x1,
                               uae_model_loss(m, e->t, pv, uae_ad_const(e->t, xs), b));
    if (uae_tape_status(e->t) != UAE_OK || uae_tensor_read(uae_ad_value(v), &l) != UAE_OK) l = NAN;
    uae_tape_reset(e->t);
    uae_arena_reset(e->arena, mark);
    return l;
}

static void test_input_gradient(env *e, const float *hx) {
    const int64_t n = BATCH, d = SIDE * SIDE;
    float *x0 = malloc(sizeof(float) * n * d), *g = malloc(sizeof(float) * n * d);
    float *xp = malloc(sizeof(float) * n * d);
    uint32_t s = 777;
    for (int64_t i = 0; i < n * d; i++)
        x0[i] = hx[i] + 0.02f * (float)((lcg(&s) >> 8) & 0xffff) / 65536.0f;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        uae_model *m = NULL;
        if (make_model(e, cases[c].preset, 10, 0, &m) != UAE_OK) {
            CHECK(0, "%s: %s", cases[c].preset, uae_last_error());
            continue;
        }
        size_t mark = uae_arena_mark(e->arena);
        uae_tensor x, gx, clean, ob;
        uae_arena_tensor4(e->arena, n, 1, SIDE, SIDE, &x);
        uae_arena_tensor4(e->arena, n, 1, SIDE, SIDE, &gx);
        uae_arena_tensor4(e->arena, n, 1, SIDE, SIDE, &clean);
        uae_tensor_write(&x, x0);
        uae_tensor_write(&clean, x0);
        uae_tensor_slice(&e->onehot, 0, n, &ob);
        uae_batch b = {.x = &x, .target = &clean, .onehot = &ob, .seed = 3, .step = 5,
                       .training = false};
        size_t mark2 = uae_arena_mark(e->arena);
        uae_var *pv[64];
        uae_tape_reset(e->t);
        uae_model_bind(m, e->t, false, pv);
        uae_var *per = uae_model_loss(m, e->t, pv, uae_ad_leaf(e->t, &x, &gx), &b);
        CHECK(per && uae_ad_value(per)->ndim == 1 && uae_ad_value(per)->shape[0] == n,
              "%s: the loss is not per sample", cases[c].preset);
        uae_status st = uae_ad_backward(e->t, uae_ad_reduce(e->t, UAE_REDUCE_SUM, 0x1, per));
        CHECK(st == UAE_OK, "%s: backward: %s", cases[c].preset, uae_last_error());
        uae_tape_reset(e->t);
        uae_arena_reset(e->arena, mark2);
        if (st == UAE_OK && uae_tensor_read(&gx, g) == UAE_OK) {
            double gmax = 0.0, analytic = 0.0;
            for (int64_t i = 0; i < n * d; i++) gmax = fmax(gmax, fabs(g[i]));
            for (int64_t i = 0; i < n * d; i++) analytic += (double)g[i] * g[i] / gmax;
            const float h = cases[c].fd_h;
            double lp, lm;
            for (int64_t i = 0; i < n * d; i++) xp[i] = x0[i] + h * (float)(g[i] / gmax);
            uae_tensor_write(&x, xp);
            lp = loss_at(e, m, &x, &b);
            for (int64_t i = 0; i < n * d; i++) xp[i] = x0[i] - h * (float)(g[i] / gmax);
            uae_tensor_write(&x, xp);
            lm = loss_at(e, m, &x, &b);
            double numeric = (lp - lm) / (2.0 * h), err = fabs(numeric - analytic) / analytic;
            printf("%-13s d loss / d x along g: analytic %.6g, central difference %.6g (%.2e)\n",
                   cases[c].preset, analytic, numeric, err);
            CHECK(gmax > 0.0 && err <= 0.04, "%s: input gradient off by %.3g", cases[c].preset, err);
        }
        uae_arena_reset(e->arena, mark);
        uae_model_free(m);
    }
    free(x0);
    free(g);
    free(xp);
}

int main(void) {
    bool small = test_small();
    float *hx = malloc(sizeof(float) * N_IMAGES * SIDE * SIDE);
    float *ho = malloc(sizeof(float) * N_IMAGES * CLASSES);
    make_data(hx, ho);
    env e;
    if (!env_open(&e, "cpu", hx, ho)) {
        fprintf(stderr, "setup: %s\n", uae_last_error());
        return 1;
    }
    test_interface(&e);
    test_repeatable(&e);
    test_input_gradient(&e, hx);
    test_learning(&e, small);
    env_close(&e);
    test_devices(hx, ho);
    free(hx);
    free(ho);
    if (failures) fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
