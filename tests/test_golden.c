/* tests/test_golden.c — uaekit's dense-ae and conv-ae against PyTorch, tensor by tensor.
 *
 * tests/golden/make_golden.py (run by hand; CI has no torch) stored inputs, weights, outputs, the
 * loss, every gradient (parameters and input) and the losses of three optimizer steps. Here the
 * same weights are loaded into the uaekit model by parameter name, on the "ref" and "cpu"
 * backends and every OpenCL device, and everything is compared; then three uae_model_train_step calls (RMSprop for
 * dense-ae, Adadelta for conv-ae, the hyper-parameters of the script) must give the same losses.
 * The classifier's fixture has no weights (both sides compute them from one formula) and keeps 16
 * sampled elements, the sum and the sum of squares of each gradient (see make_golden.py). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/model.h"
#include "tests/test_util.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/golden"
#endif

#define MAX_ENTRIES 64

typedef struct entry {
    char name[64];
    long offset;
    int ndim;
    int64_t shape[4];
} entry;

typedef struct fixture {
    entry e[MAX_ENTRIES];
    int n;
    float *data;
} fixture;

static bool load_fixture(const char *model, fixture *f) {
    char path[512];
    snprintf(path, sizeof path, "%s/%s.txt", GOLDEN_DIR, model);
    FILE *ft = fopen(path, "r");
    if (!ft) {
        fprintf(stderr, "cannot open %s\n", path);
        return false;
    }
    memset(f, 0, sizeof *f);
    long total = 0;
    char line[256];
    while (fgets(line, sizeof line, ft) && f->n < MAX_ENTRIES) {
        entry *e = &f->e[f->n];
        long long s[4] = {1, 1, 1, 1};
        int got = sscanf(line, "%63s %ld %d %lld %lld %lld %lld", e->name, &e->offset, &e->ndim,
                         &s[0], &s[1], &s[2], &s[3]);
        if (got < 4 || got != 3 + e->ndim) continue;
        long numel = 1;
        for (int d = 0; d < 4; d++) {
            e->shape[d] = s[d];
            numel *= (long)s[d];
        }
        if (e->offset + numel > total) total = e->offset + numel;
        f->n++;
    }
    fclose(ft);
    snprintf(path, sizeof path, "%s/%s.bin", GOLDEN_DIR, model);
    FILE *fb = fopen(path, "rb");
    f->data = malloc((size_t)total * sizeof(float));
    bool ok = fb && f->data && fread(f->data, sizeof(float), (size_t)total, fb) == (size_t)total;
    if (fb) fclose(fb);
    if (!ok) fprintf(stderr, "cannot read %ld floats from %s\n", total, path);
    return ok; /* the fixture files are little-endian; so is every machine we build on */
}

static const entry *find(const fixture *f, const char *name) {
    for (int i = 0; i < f->n; i++)
        if (strcmp(f->e[i].name, name) == 0) return &f->e[i];
    return NULL;
}

static const float *data_of(const fixture *f, const char *name) {
    const entry *e = find(f, name);
    return e ? f->data + e->offset : NULL;
}

/* max |a - b| / max |b|: the error relative to the tensor's scale, so that elements near zero do
 * not dominate. */
static double rel_err(const float *a, const float *b, int64_t n) {
    double num = 0.0, den = 1e-30;
    for (int64_t i = 0; i < n; i++) {
        num = fmax(num, fabs((double)a[i] - (double)b[i]));
        den = fmax(den, fabs((double)b[i]));
    }
    return num / den;
}

/* Compares a device tensor with the fixture's tensor `name`; returns the error. */
static double compare(const fixture *f, const char *name, const uae_tensor *t, double tol,
                      const char *ctx) {
    const entry *e = find(f, name);
    CHECK(e != NULL, "%s: fixture has no '%s'", ctx, name);
    if (!e) return INFINITY;
    int64_t n = uae_tensor_numel(t), want = 1;
    for (int d = 0; d < 4; d++) want *= e->shape[d];
    CHECK(n == want, "%s: '%s' has %lld elements, the fixture %lld", ctx, name, (long long)n,
          (long long)want);
    if (n != want) return INFINITY;
    float *h = malloc((size_t)n * sizeof *h);
    CHECK(uae_tensor_read(t, h) == UAE_OK, "%s: read '%s': %s", ctx, name, uae_last_error());
    double err = rel_err(h, f->data + e->offset, n);
    free(h);
    CHECK(err <= tol, "%s: '%s' differs from PyTorch by %.3g of its scale (tolerance %.1g)", ctx,
          name, err, tol);
    return err;
}

/* Tolerances. Forward values and gradients: float32 sums in another order (PyTorch's blocked
 * GEMM/convolution vs ours) differ by a few ulps per term; over the longest sums here (3136 terms
 * of a conv weight gradient) that is ~1e-6 of the tensor's scale, so 1e-4 leaves a wide margin
 * while catching any wrong index or missing term (errors of order 1). Losses over three optimizer
 * steps: the first RMSprop/Adadelta steps are nearly sign(g)-sized for every element, so a
 * rounding-level gradient difference moves the weights by rounding-level amounts; 1e-5 relative
 * on a loss of O(0.1-1) is ~100 ulps. The loss drop over the three steps (~1e-2 dense, ~2.5e-4
 * conv) must match within 1% of itself, which a wrong optimizer formula cannot. */
#define TOL_TENSOR 1e-4
#define TOL_LOSS 1e-5
#define TOL_DROP 1e-2

/* The classifier's weights: parameter `index`, element i; the formula of make_golden.py. */
static uae_status write_formula(uae_params *P, int index) {
    const uae_tensor *v = uae_params_value(P, index);
    int64_t n = uae_tensor_numel(v);
    double fan_in = v->ndim == 1 ? 0.0 : (double)(n / v->shape[0]);
    float *h = malloc((size_t)n * sizeof *h);
    if (!h) return uae_fail(UAE_ERR_NOMEM, "formula weights");
    for (int64_t i = 0; i < n; i++)
        h[i] = fan_in == 0.0 ? (float)(0.01 * cos(0.9 * (double)i + 0.3 * index))
                             : (float)(sin(1.3 * (double)i + 0.7 * index) / sqrt(fan_in));
    uae_status st = uae_tensor_write(v, h);
    free(h);
    return st;
}

/* A gradient against its 16 samples, sum and sum of squares. Scale: the root mean square of the
 * gradient; the samples must agree within TOL_TENSOR of it (as compare() does with the maximum),
 * the sum of squares within 2 * TOL_TENSOR relative, the sum within TOL_TENSOR * sqrt(n) rms (a
 * sum of n terms each off by at most TOL_TENSOR rms, in the worst case of correlated errors). */
static double compare_sampled(const fixture *f, const char *pname, const uae_tensor *g,
                              const char *ctx) {
    char sname[80], tname[80];
    snprintf(sname, sizeof sname, "gsample:%s", pname);
    snprintf(tname, sizeof tname, "gstats:%s", pname);
    const float *want = data_of(f, sname), *stats = data_of(f, tname);
    CHECK(want && stats, "%s: fixture lacks %s", ctx, sname);
    if (!want || !stats) return INFINITY;
    int64_t n = uae_tensor_numel(g);
    float *h = malloc((size_t)n * sizeof *h);
    CHECK(uae_tensor_read(g, h) == UAE_OK, "%s: read %s", ctx, pname);
    double sum = 0.0, sq = 0.0, worst = 0.0;
    for (int64_t i = 0; i < n; i++) {
        sum += h[i];
        sq += (double)h[i] * h[i];
    }
    double rms = sqrt((double)stats[1] / (double)n) + 1e-30;
    for (int j = 0; j < 16; j++)
        worst = fmax(worst, fabs(h[(j * 7919) % n] - want[j]) / rms);
    double sq_err = fabs(sq - stats[1]) / (stats[1] + 1e-30);
    double sum_err = fabs(sum - stats[0]) / (sqrt((double)n) * rms);
    free(h);
    CHECK(worst <= TOL_TENSOR, "%s: gradient of '%s' differs at a sample by %.3g rms", ctx, pname,
          worst);
    CHECK(sq_err <= 2 * TOL_TENSOR, "%s: gradient of '%s': sum of squares off by %.3g", ctx, pname,
          sq_err);
    CHECK(sum_err <= TOL_TENSOR, "%s: gradient of '%s': sum off by %.3g", ctx, pname, sum_err);
    return fmax(worst, fmax(sq_err / 2, sum_err));
}

static void run(const char *backend, const char *model, uae_model_config *cfg) {
    fixture f;
    char ctx[64];
    snprintf(ctx, sizeof ctx, "%s on %s", model, backend);
    if (!load_fixture(model, &f)) {
        failures++;
        free(f.data);
        return;
    }
    bool formula = find(&f, "gsample:conv1.weight") != NULL;
    uae_backend *be = NULL;
    uae_arena *arena = NULL;
    uae_tape *t = NULL;
    uae_model *m = NULL;
    uae_tensor x, gx;
    if (uae_backend_open(backend, &be) != UAE_OK || uae_arena_create(be, 1 << 22, &arena) != UAE_OK ||
        uae_tape_create(arena, &t) != UAE_OK || uae_model_create(be, cfg, 1, &m) != UAE_OK) {
        CHECK(0, "%s: setup: %s", ctx, uae_last_error());
        goto done;
    }
    /* the weights, by name (or from the formula) */
    uae_params *P = uae_model_params(m);
    for (int i = 0; i < uae_params_count(P) && formula; i++)
        CHECK(write_formula(P, i) == UAE_OK, "%s: formula weights: %s", ctx, uae_last_error());
    for (int i = 0; i < uae_params_count(P) && !formula; i++) {
        const entry *e = find(&f, uae_params_name(P, i));
        CHECK(e != NULL, "%s: fixture lacks parameter '%s'", ctx, uae_params_name(P, i));
        if (!e) goto done;
        const uae_tensor *v = uae_params_value(P, i);
        for (int d = 0; d < 4; d++)
            CHECK(v->shape[d] == e->shape[d], "%s: '%s' dimension %d is %lld, PyTorch's %lld", ctx,
                  e->name, d, (long long)v->shape[d], (long long)e->shape[d]);
        CHECK(uae_tensor_write(v, f.data + e->offset) == UAE_OK, "%s: write", ctx);
    }
    const entry *ex = find(&f, "x");
    if (uae_arena_tensor(arena, ex->ndim, ex->shape, &x) != UAE_OK ||
        uae_arena_tensor(arena, ex->ndim, ex->shape, &gx) != UAE_OK ||
        uae_tensor_write(&x, data_of(&f, "x")) != UAE_OK) {
        CHECK(0, "%s: input: %s", ctx, uae_last_error());
        goto done;
    }
    /* forward and backward: the target is x itself, as in the script (labels: classifier) */
    uae_tensor onehot;
    const entry *eo = find(&f, "onehot");
    if (eo && (uae_arena_tensor(arena, eo->ndim, eo->shape, &onehot) != UAE_OK ||
               uae_tensor_write(&onehot, data_of(&f, "onehot")) != UAE_OK)) {
        CHECK(0, "%s: labels: %s", ctx, uae_last_error());
        goto done;
    }
    /* the classifier runs in evaluation mode: PyTorch's dropout masks are not ours */
    uae_batch b = {.x = &x, .onehot = eo ? &onehot : NULL, .seed = 7, .step = 0, .training = !eo};
    size_t mark = uae_arena_mark(arena); /* after the inputs: each step rewinds to here */
    uae_var *pv[64];
    CHECK(uae_model_bind(m, t, true, pv) == UAE_OK, "%s: bind: %s", ctx, uae_last_error());
    uae_var *xv = uae_ad_leaf(t, &x, &gx);
    uae_var *y = uae_model_forward(m, t, pv, xv, &b);
    uae_var *l = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x1, uae_model_loss(m, t, pv, xv, &b));
    uae_status st = uae_ad_backward(t, l);
    CHECK(st == UAE_OK, "%s: backward: %s", ctx, uae_last_error());
    if (st != UAE_OK) goto done;
    double worst = 0.0;
    worst = fmax(worst, compare(&f, "y", uae_ad_value(y), TOL_TENSOR, ctx));
    worst = fmax(worst, compare(&f, "loss", uae_ad_value(l), TOL_TENSOR, ctx));
    for (int i = 0; i < uae_params_count(P); i++) {
        char gname[80];
        snprintf(gname, sizeof gname, "grad:%s", uae_params_name(P, i));
        if (formula) worst = fmax(worst, compare_sampled(&f, uae_params_name(P, i), uae_params_grad(P, i), ctx));
        else worst = fmax(worst, compare(&f, gname, uae_params_grad(P, i), TOL_TENSOR, ctx));
    }
    worst = fmax(worst, compare(&f, "grad:x", &gx, TOL_TENSOR, ctx));
    uae_tape_reset(t);
    uae_arena_reset(arena, mark);

    /* three optimizer steps, then the loss of the result */
    float losses[4];
    for (int s = 0; s < 3; s++) {
        b.step = (uint64_t)s;
        st = uae_model_train_step(m, t, &b, &losses[s]);
        CHECK(st == UAE_OK, "%s: train step: %s", ctx, uae_last_error());
        if (st != UAE_OK) goto done;
    }
    uae_var *pv2[64];
    uae_model_bind(m, t, false, pv2);
    b.training = false;
    l = uae_ad_reduce(t, UAE_REDUCE_MEAN, 0x1, uae_model_loss(m, t, pv2, uae_ad_const(t, &x), &b));
    CHECK(uae_tape_status(t) == UAE_OK && uae_tensor_read(uae_ad_value(l), &losses[3]) == UAE_OK,
          "%s: final loss: %s", ctx, uae_last_error());
    uae_tape_reset(t);
    uae_arena_reset(arena, mark);
    const float *want = data_of(&f, "losses");
    double lerr = 0.0;
    for (int s = 0; s < 4; s++) {
        double e = fabs(losses[s] - want[s]) / fabs(want[s]);
        lerr = fmax(lerr, e);
        CHECK(e <= TOL_LOSS, "%s: loss %d is %.8g, PyTorch's %.8g (relative %.3g)", ctx, s,
              losses[s], want[s], e);
    }
    double drop = (double)losses[0] - losses[3], want_drop = (double)want[0] - want[3];
    double derr = fabs(drop - want_drop) / fabs(want_drop);
    CHECK(derr <= TOL_DROP, "%s: loss drop %.6g, PyTorch's %.6g", ctx, drop, want_drop);
    printf("%-10s %-4s worst tensor error %.2e, losses %.7f -> %.7f (PyTorch %.7f -> %.7f), loss "
           "error %.2e, drop error %.2e\n", model, backend, worst, losses[0], losses[3], want[0],
           want[3], lerr, derr);
done:
    uae_model_free(m);
    uae_tape_free(t);
    uae_arena_free(arena);
    uae_backend_free(be);
    free(f.data);
}

int main(void) {
    /* ref, cpu, and every OpenCL device */
    FOR_EACH_DEVICE(dev, TEST_ALL_DEVICES) {
        const char *spec = strcmp(dev->info.backend, "opencl") == 0 ? dev->spec : dev->info.backend;
        uae_model_config cfg;
        TRY(uae_model_defaults("dense-ae", 1, 12, 12, 0, &cfg));
        cfg.hidden = 16; /* the fixture's size (see make_golden.py) */
        run(spec, "dense-ae", &cfg);
        TRY(uae_model_defaults("conv-ae", 1, 28, 28, 0, &cfg));
        run(spec, "conv-ae", &cfg);
        TRY(uae_model_defaults("classifier", 1, 20, 20, 10, &cfg));
        run(spec, "classifier", &cfg);
    }
    if (failures) fprintf(stderr, "%d failures\n", failures);
    return failures ? 1 : 0;
}
