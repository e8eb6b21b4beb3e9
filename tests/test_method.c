/* tests/test_method.c — the method's meaning, checked against values the test derives itself, not
 * against the code under test (issue 19; each part names the property):
 *   1. success means what docs/method.md says: l(x') <= l(x) recomputed on the host (by hand for
 *      dense-ae, in double) from x and the returned x', and I > 0; the selection rule holds
 *      against the attack's trace, and the trace's losses are the host's; c follows the dual update;
 *      the supervised attack's selection (largest I) against the C&W margin from the logits;
 *   2. the attack moves the right way: its gradient of c max(0, l(x+delta) - l(x)) + I(x, x+delta)
 *      (MINE fixed) agrees with central finite differences of that objective built here from the
 *      model and a fresh MINE; steps on delta lower it (MINE fixed, c fixed); the supervised attack
 *      raises I and lowers the C&W margin;
 *   3. MINE's marginals: every bound (and every training step's) equals a hand computation of
 *      mean T(x_k, y_k) - log mean exp T(x_k, y_pi(k)) from the weights, with pi the documented
 *      draw (seed, stream 0x50 << 56 + estimator's index, counter draw * n), a new pi every call;
 *      inside the attack, I_t and every MINE step's bound follow that sequence of calls (conv
 *      samples, and random projections drawn by the documented stream, one matrix per iteration);
 *   4. the experiment's arms train on the rows they claim (seed-S/arms.jsonl against rows built
 *      here: the subset, twice, with noise of the stated sigma, with uae.npy);
 *   5. splits and subsets depend on the seed: different seeds, different held-out rows; every row
 *      equally likely; a CSV's split follows split_seed.
 * Tiny models with fixed seeds; about 1.5 s on one core. tests/mutants.sh plants bugs these parts
 * must catch (docs/reliability.md, "Mutation testing"). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <jansson.h>

#include "uae/attack.h"
#include "uae/augment.h"
#include "uae/checkpoint.h"
#include "uae/io.h"
#include "uae/rng.h"
#include "tests/test_util.h"

/* B images (C, H, W) of smooth blobs in [0.15, 0.85] (away from the box, so that small steps on
 * delta are rarely clipped), from the RNG. */
static float *images(int64_t B, int C, int H, int W, uint64_t seed) {
    int64_t D = (int64_t)C * H * W;
    float *x = malloc((size_t)(B * D) * sizeof *x);
    for (int64_t b = 0; b < B; b++)
        for (int64_t i = 0; i < D; i++) {
            int64_t p = i % (H * W), r = p / W, c = p % W;
            float u = uae_rng_uniform01(seed, (uint64_t)b, (uint64_t)i);
            float s = 0.5f + 0.3f * sinf(0.7f * (float)r + (float)b) * cosf(0.5f * (float)c);
            x[b * D + i] = 0.85f * s + 0.15f * u;
        }
    return x;
}

static uae_model *tiny_model(uae_backend *be, const char *preset, int C, int H, int W, int classes,
                             uint64_t seed) {
    uae_model_config mc;
    TRY(uae_model_defaults(preset, C, H, W, classes, &mc));
    if (strcmp(preset, "dense-ae") == 0) mc.hidden = 16;
    uae_model *m;
    TRY(uae_model_create(be, &mc, seed, &m));
    return m;
}

/* The values of parameter `name` of a store, on the host (caller frees). */
static float *param_host(uae_params *p, const char *name) {
    int i = uae_params_find(p, name);
    if (i < 0) {
        printf("FAIL: no parameter %s\n", name);
        exit(1);
    }
    const uae_tensor *v = uae_params_value(p, i);
    float *h = malloc((size_t)uae_tensor_numel(v) * sizeof *h);
    TRY(uae_tensor_read(v, h));
    return h;
}

static double sigmoid(double v) { return 1.0 / (1.0 + exp(-v)); }

/* l(x') = sum over pixels of (x - AE(x'))^2 (docs/method.md: the official SSE), computed here in
 * double. dense-ae by hand from its weights (enc.weight (h, d), dec.weight (d, h), sigmoid on
 * both layers); other autoencoders through uae_model_forward (checked against PyTorch by
 * tests/test_golden.c), never through the attack's own loss code. */
static void host_sse(uae_model *m, const float *x, const float *xa, int64_t B, double *out) {
    const uae_model_config *mc = uae_model_config_of(m);
    const int64_t D = (int64_t)mc->channels * mc->height * mc->width;
    float *y = malloc((size_t)(B * D) * sizeof *y);
    if (strcmp(mc->preset, "dense-ae") == 0) {
        uae_params *p = uae_model_params(m);
        float *w1 = param_host(p, "enc.weight"), *b1 = param_host(p, "enc.bias");
        float *w2 = param_host(p, "dec.weight"), *b2 = param_host(p, "dec.bias");
        const int h = mc->hidden;
        double *hid = malloc((size_t)h * sizeof *hid);
        for (int64_t b = 0; b < B; b++) {
            for (int j = 0; j < h; j++) {
                double a = b1[j];
                for (int64_t i = 0; i < D; i++) a += (double)w1[j * D + i] * xa[b * D + i];
                hid[j] = sigmoid(a);
            }
            for (int64_t i = 0; i < D; i++) {
                double a = b2[i];
                for (int j = 0; j < h; j++) a += (double)w2[i * h + j] * hid[j];
                y[b * D + i] = (float)sigmoid(a);
            }
        }
        free(hid);
        free(w1);
        free(b1);
        free(w2);
        free(b2);
    } else {
        uae_backend *be = uae_params_backend(uae_model_params(m));
        uae_arena *ar;
        TRY(uae_arena_create(be, 1 << 22, &ar));
        uae_tape *t;
        TRY(uae_tape_create(ar, &t));
        uae_tensor xt;
        TRY(uae_arena_tensor4(ar, B, mc->channels, mc->height, mc->width, &xt));
        TRY(uae_tensor_write(&xt, xa));
        uae_var **pv = calloc((size_t)uae_params_count(uae_model_params(m)), sizeof *pv);
        uae_tape_set_recording(t, false);
        TRY(uae_model_bind(m, t, false, pv));
        uae_batch bt = {.x = &xt};
        uae_var *o = uae_model_forward(m, t, pv, uae_ad_const(t, &xt), &bt);
        TRY(uae_tape_status(t));
        TRY(uae_tensor_read(uae_ad_value(o), y));
        free(pv);
        uae_tape_free(t);
        uae_arena_free(ar);
    }
    for (int64_t b = 0; b < B; b++) {
        double s = 0.0;
        for (int64_t i = 0; i < D; i++) {
            double e = (double)x[b * D + i] - y[b * D + i];
            s += e * e;
        }
        out[b] = s;
    }
    free(y);
}

/* ---- the trace, collected ------------------------------------------------------------------- */

enum { MAXREC = 4096 };
typedef struct rec {
    uae_attack_trace r;     /* pointers cleared */
    float *delta, *grad;    /* owned copies (d) */
    float mine_mi[8];
} rec;
typedef struct trace {
    rec v[MAXREC];
    int n;
} trace;

static uae_status collect(void *user, const uae_attack_trace *r) {
    trace *tr = user;
    if (tr->n >= MAXREC) return uae_fail(UAE_ERR_INVALID, "test trace full");
    rec *k = &tr->v[tr->n++];
    memset(k, 0, sizeof *k);
    k->r = *r;
    k->r.delta = k->r.grad = k->r.mine_mi = NULL;
    for (int i = 0; i < r->mine_steps && i < 8; i++) k->mine_mi[i] = r->mine_mi[i];
    if (!r->end) {
        k->delta = malloc((size_t)r->d * sizeof *k->delta);
        k->grad = malloc((size_t)r->d * sizeof *k->grad);
        memcpy(k->delta, r->delta, (size_t)r->d * sizeof *k->delta);
        memcpy(k->grad, r->grad, (size_t)r->d * sizeof *k->grad);
    }
    return UAE_OK;
}

static void trace_clear(trace *tr) {
    for (int i = 0; i < tr->n; i++) {
        free(tr->v[i].delta);
        free(tr->v[i].grad);
    }
    tr->n = 0;
}

/* The iterate record of sample b at t, or NULL. */
static const rec *find(const trace *tr, int64_t b, int t) {
    for (int i = 0; i < tr->n; i++)
        if (!tr->v[i].r.end && tr->v[i].r.sample == b && tr->v[i].r.iter == t) return &tr->v[i];
    return NULL;
}

static const rec *find_end(const trace *tr, int64_t b) {
    for (int i = 0; i < tr->n; i++)
        if (tr->v[i].r.end && tr->v[i].r.sample == b) return &tr->v[i];
    return NULL;
}

static void small_config(uae_model_kind kind, int iterations, uae_attack_config *ac) {
    TRY(uae_attack_defaults(kind, ac));
    ac->iterations = iterations;
    ac->mine_steps = 2;
    ac->mine.hidden = 16;
    ac->mine.conv_filters = 4;
    ac->mine.opt.p.lr = 1e-3f;
    ac->seed = 21;
}

/* ---- 1. success and selection --------------------------------------------------------------- */

/* Runs the attack with a trace and checks, per sample: the trace has every iterate once and one
 * end record; each iterate's l(x), l(x'_t) are the host's (relative 1e-4: float forward against
 * double), its violation is max(0, l(x'_t) - l(x)) of its own losses, its success flag is the
 * rule's; the returned iterate is the one docs/method.md's rule picks from the trace, x' is
 * x + delta of that iterate; a success has l(x') <= l(x) on the host and I > 0. Returns the
 * number of successes. */
static int check_success(uae_model *m, const uae_attack_config *ac0, int64_t B, uint64_t xseed) {
    const uae_model_config *mc = uae_model_config_of(m);
    const int64_t D = (int64_t)mc->channels * mc->height * mc->width;
    static trace tr;
    uae_attack_config ac = *ac0;
    ac.trace = collect;
    ac.trace_user = &tr;
    float *x = images(B, mc->channels, mc->height, mc->width, xseed);
    float *xa = malloc((size_t)(B * D) * sizeof *xa), *xt = malloc((size_t)D * sizeof *xt);
    uae_attack_result *res = calloc((size_t)B, sizeof *res);
    TRY(uae_attack_run(m, &ac, x, NULL, 50, B, xa, res));
    double *lx = malloc((size_t)B * sizeof *lx), *lxa = malloc((size_t)B * sizeof *lxa);
    host_sse(m, x, x, B, lx);
    host_sse(m, x, xa, B, lxa);
    int successes = 0;
    for (int64_t b = 0; b < B; b++) {
        const float *xb = x + b * D;
        int best = -1, fall = -1;
        float best_mi = 0.0f, fall_v = 0.0f;
        for (int t = 0; t < ac.iterations; t++) {
            const rec *k = find(&tr, b, t);
            CHECK(k, "%s sample %lld: no trace record for t = %d", mc->preset, (long long)b, t);
            if (!k) continue;
            const uae_attack_trace *r = &k->r;
            for (int64_t i = 0; i < D; i++) xt[i] = xb[i] + k->delta[i];
            double l0, l1;
            host_sse(m, xb, xb, 1, &l0);
            host_sse(m, xb, xt, 1, &l1);
            /* 1e-4 relative: the attack's float forward and sum against the host's double */
            CHECK(fabs(r->loss_clean - l0) <= 1e-4 * l0 && fabs(r->loss_adv - l1) <= 1e-4 * l1,
                  "%s sample %lld t %d: trace l(x) %.6g l(x') %.6g, host %.6g %.6g", mc->preset,
                  (long long)b, t, r->loss_clean, r->loss_adv, l0, l1);
            float v = r->loss_adv - r->loss_clean;
            v = v > 0.0f ? v : 0.0f;
            CHECK(r->violation == v, "%s sample %lld t %d: violation %g, max(0, %g - %g) = %g",
                  mc->preset, (long long)b, t, r->violation, r->loss_adv, r->loss_clean, v);
            bool ok = r->violation == 0.0f && r->mi > 0.0f;
            CHECK(r->success == ok, "%s sample %lld t %d: success flag %d, rule %d", mc->preset,
                  (long long)b, t, r->success, ok);
            /* docs/method.md: among violation 0 and I > 0 the smallest I, else the smallest
             * violation; ties keep the earlier iterate */
            if (ok && (best < 0 || r->mi < best_mi)) {
                best = t;
                best_mi = r->mi;
            }
            if (fall < 0 || r->violation < fall_v) {
                fall = t;
                fall_v = r->violation;
            }
            /* the dual update of docs/method.md, by hand: c_{t+1} = max(0, (1 - alpha
             * (t+1)^-p) c_t + alpha g_t); 1e-6 relative: float against double */
            const rec *nx = find(&tr, b, t + 1);
            if (nx) {
                double c1 = (1.0 - ac.dual_rate * pow(t + 1.0, -ac.dual_power)) * r->c +
                            ac.dual_rate * r->violation;
                c1 = c1 > 0.0 ? c1 : 0.0;
                CHECK(fabs(nx->r.c - c1) <= 1e-6 * (fabs(c1) + 1e-3), "%s sample %lld: c_%d = "
                      "%.8g, the dual update gives %.8g", mc->preset, (long long)b, t + 1,
                      nx->r.c, c1);
            }
        }
        int want = best >= 0 ? best : fall;
        const rec *e = find_end(&tr, b);
        CHECK(e && e->r.iter == want && res[b].selected_iter == want,
              "%s sample %lld: selected %d (end record %d), the rule gives %d", mc->preset,
              (long long)b, res[b].selected_iter, e ? e->r.iter : -2, want);
        CHECK(res[b].success == (best >= 0), "%s sample %lld: success %d, the trace says %d",
              mc->preset, (long long)b, res[b].success, best >= 0);
        const rec *k = find(&tr, b, res[b].selected_iter);
        if (k) {
            double dmax = 0.0;
            for (int64_t i = 0; i < D; i++)
                dmax = fmax(dmax, fabs((double)xa[b * D + i] - ((double)xb[i] + k->delta[i])));
            /* 1e-6: x + delta rounds once */
            CHECK(dmax <= 1e-6, "%s sample %lld: x' is not x + delta of the selected iterate "
                  "(%g)", mc->preset, (long long)b, dmax);
            CHECK(res[b].mi == k->r.mi && res[b].loss_adv == k->r.loss_adv,
                  "%s sample %lld: result I %g loss %g, trace %g %g", mc->preset, (long long)b,
                  res[b].mi, res[b].loss_adv, k->r.mi, k->r.loss_adv);
        }
        if (res[b].success) {
            successes++;
            /* the host's losses: l(x') <= l(x) up to float rounding of the attack's own pass */
            CHECK(lxa[b] <= lx[b] * (1.0 + 1e-5), "%s sample %lld reported a success with "
                  "l(x') = %.7g > l(x) = %.7g (host)", mc->preset, (long long)b, lxa[b], lx[b]);
            CHECK(res[b].mi > 0.0f, "%s sample %lld: success with I = %g", mc->preset,
                  (long long)b, res[b].mi);
        }
        printf("%s sample %lld: success %d, selected %d, host l(x) %.4f l(x') %.4f, I %.4f\n",
               mc->preset, (long long)b, res[b].success, res[b].selected_iter, lx[b], lxa[b],
               res[b].mi);
    }
    trace_clear(&tr);
    free(x);
    free(xa);
    free(xt);
    free(res);
    free(lx);
    free(lxa);
    return successes;
}

static void test_success(uae_backend *be) {
    /* dense-ae (random projections; the loss by hand) and conv-ae (conv samples). c0 = 10 / 30 pulls
     * some samples under l(x) within the iterations and not others, so both outcomes occur. */
    const char *presets[2] = {"dense-ae", "conv-ae"};
    for (int k = 0; k < 2; k++) {
        uae_model *m = tiny_model(be, presets[k], 1, 8, 8, 0, 5);
        uae_attack_config ac;
        small_config(UAE_MODEL_AUTOENCODER, 12, &ac);
        ac.samples = k == 0 ? UAE_ATTACK_SAMPLES_RANDOM : UAE_ATTACK_SAMPLES_CONV;
        ac.proj_count = 12;
        ac.proj_dim = 6;
        ac.c0 = k == 0 ? 10.0f : 30.0f;
        ac.lr = 0.02f;
        int s = check_success(m, &ac, 6, 3 + (uint64_t)k);
        /* the check above is empty without successes, and the rule is not tested without failures */
        CHECK(s >= 1 && s <= 5, "%s: %d of 6 samples succeeded; the test needs both outcomes",
              presets[k], s);
        uae_model_free(m);
    }
}

/* ---- 2. the attack's gradient and steps ---------------------------------------------------- */

/* Random mode's MINE samples under projection draw r (iteration r), built here from
 * docs/method.md: P (d, M*p) with N(0, 1) entries, element e from (seed, stream 0x52 << 56,
 * counter r*d*M*p + e); sample m of an image v is standardise(v . P[:, m*p .. m*p+p)), the
 * population variance, + 1e-12. */
static void random_samples(const uae_attack_config *ac, const float *img, int64_t B, int64_t D,
                           uint64_t draw, float *out) {
    const int64_t M = ac->proj_count, p = ac->proj_dim;
    double *row = malloc((size_t)p * sizeof *row);
    for (int64_t b = 0; b < B; b++)
        for (int64_t mm = 0; mm < M; mm++) {
            double mean = 0.0, var = 0.0;
            for (int64_t j = 0; j < p; j++) {
                double a = 0.0;
                for (int64_t i = 0; i < D; i++)
                    a += (double)img[b * D + i] *
                         uae_rng_normal01(ac->seed, 0x52ull << 56,
                                          draw * (uint64_t)(D * M * p) + (uint64_t)(i * M * p + mm * p + j));
                row[j] = a;
                mean += a / (double)p;
            }
            for (int64_t j = 0; j < p; j++) var += (row[j] - mean) * (row[j] - mean) / (double)p;
            for (int64_t j = 0; j < p; j++)
                out[(b * M + mm) * p + j] = (float)((row[j] - mean) / sqrt(var + 1e-12));
        }
    free(row);
}

/* obj (B) = c max(0, l1 - l0) + I on random-mode samples of x and xa, from a fresh MINE. */
static void random_objective(uae_model *m, const uae_attack_config *ac, const float *x,
                             const float *xa, int64_t B, uint64_t first, const double *l0,
                             const double *l1, double *obj) {
    const uae_model_config *mc = uae_model_config_of(m);
    const int64_t D = (int64_t)mc->channels * mc->height * mc->width;
    const int64_t M = ac->proj_count, p = ac->proj_dim;
    float *sx = malloc((size_t)(B * M * p) * sizeof *sx), *sy = malloc((size_t)(B * M * p) * sizeof *sy);
    random_samples(ac, x, B, D, 0, sx);
    random_samples(ac, xa, B, D, 0, sy);
    uae_backend *be = uae_params_backend(uae_model_params(m));
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 22, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor tx, ty;
    TRY(uae_arena_tensor(ar, 3, (int64_t[]){B, M, p}, &tx));
    TRY(uae_arena_tensor(ar, 3, (int64_t[]){B, M, p}, &ty));
    TRY(uae_tensor_write(&tx, sx));
    TRY(uae_tensor_write(&ty, sy));
    uae_mine_config mcfg = ac->mine;
    mcfg.net = UAE_MINE_NET_DENSE;
    uae_mine *mine;
    TRY(uae_mine_create(be, &mcfg, B, M, 1, 1, (int)p, &mine));
    TRY(uae_mine_reset(mine, ac->seed, first));
    uae_tape_set_recording(t, false);
    uae_var *I = uae_mine_bound(mine, t, uae_ad_const(t, &tx), uae_ad_const(t, &ty), false);
    TRY(uae_tape_status(t));
    float ih[8];
    TRY(uae_tensor_read(uae_ad_value(I), ih));
    for (int64_t b = 0; b < B; b++) {
        double v = l1[b] - l0[b];
        obj[b] = (double)ac->c0 * (v > 0.0 ? v : 0.0) + ih[b];
    }
    uae_mine_free(mine);
    uae_tape_free(t);
    uae_arena_free(ar);
    free(sx);
    free(sy);
}

/* The objective of docs/method.md at x + delta for B samples, built here: c max(0, l(x') - l(x))
 * + I(x, x') per sample (sign -1 on I for the supervised objective is not needed here), with l on
 * the host and I from a MINE freshly reset to the attack's seed and first index, so that its
 * weights and its first marginal pairing are those of the attack's iterate 0. conv-ae. */
static void objective_host(uae_model *m, const uae_attack_config *ac, const float *x,
                           const float *delta, int64_t B, uint64_t first, double *obj) {
    const uae_model_config *mc = uae_model_config_of(m);
    const int64_t D = (int64_t)mc->channels * mc->height * mc->width;
    float *xa = malloc((size_t)(B * D) * sizeof *xa);
    for (int64_t i = 0; i < B * D; i++) xa[i] = x[i] + delta[i];
    double *l0 = malloc((size_t)B * sizeof *l0), *l1 = malloc((size_t)B * sizeof *l1);
    host_sse(m, x, x, B, l0);
    host_sse(m, x, xa, B, l1);
    uae_backend *be = uae_params_backend(uae_model_params(m));
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 22, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor tx, txa;
    TRY(uae_arena_tensor4(ar, B, mc->channels, mc->height, mc->width, &tx));
    TRY(uae_arena_tensor4(ar, B, mc->channels, mc->height, mc->width, &txa));
    TRY(uae_tensor_write(&tx, x));
    TRY(uae_tensor_write(&txa, xa));
    uae_var **pv = calloc((size_t)uae_params_count(uae_model_params(m)), sizeof *pv);
    uae_tape_set_recording(t, false);
    TRY(uae_model_bind(m, t, false, pv));
    if (ac->samples == UAE_ATTACK_SAMPLES_RANDOM) {
        random_objective(m, ac, x, xa, B, first, l0, l1, obj);
        free(pv);
        uae_tape_free(t);
        uae_arena_free(ar);
        free(xa);
        free(l0);
        free(l1);
        return;
    }
    uae_var *fx = uae_model_first_layer(m, t, pv, uae_ad_const(t, &tx));
    uae_var *fy = uae_model_first_layer(m, t, pv, uae_ad_const(t, &txa));
    TRY(uae_tape_status(t));
    const uae_tensor *F = uae_ad_value(fx);
    int64_t K = F->shape[1];
    int H2 = (int)F->shape[2], W2 = (int)F->shape[3];
    uae_var *xs = uae_ad_reshape(t, fx, 4, (int64_t[]){B * K, 1, H2, W2});
    uae_var *ys = uae_ad_reshape(t, fy, 4, (int64_t[]){B * K, 1, H2, W2});
    uae_mine_config mcfg = ac->mine;
    mcfg.net = UAE_MINE_NET_CONV;
    uae_mine *mine;
    TRY(uae_mine_create(be, &mcfg, B, K, 1, H2, W2, &mine));
    TRY(uae_mine_reset(mine, ac->seed, first));
    uae_var *I = uae_mine_bound(mine, t, xs, ys, false);
    TRY(uae_tape_status(t));
    float *ih = malloc((size_t)B * sizeof *ih);
    TRY(uae_tensor_read(uae_ad_value(I), ih));
    for (int64_t b = 0; b < B; b++) {
        double v = l1[b] - l0[b];
        obj[b] = (double)ac->c0 * (v > 0.0 ? v : 0.0) + ih[b];
    }
    uae_mine_free(mine);
    free(ih);
    free(pv);
    uae_tape_free(t);
    uae_arena_free(ar);
    free(xa);
    free(l0);
    free(l1);
}

/* The attack's gradient at iterate 0 (the trace's) against central differences of
 * objective_host along random directions over the coordinates the step did not clip; and the
 * step itself: delta_1 = delta_0 - lr g_0 there. c0 = 0 checks the MI term alone, c0 = 5 both. */
static void test_gradient(uae_backend *be) {
    const int64_t B = 2, D = 64;
    /* dense-ae: a smooth loss (sigmoids; conv-ae's ReLUs put kinks within +-h of delta), MINE on
     * random projections (its own ReLU head is the only kink left) */
    uae_model *m = tiny_model(be, "dense-ae", 1, 8, 8, 0, 6);
    float *x = images(B, 1, 8, 8, 12);
    float *xa = malloc((size_t)(B * D) * sizeof *xa);
    float *dp = malloc((size_t)(B * D) * sizeof *dp), *dm = malloc((size_t)(B * D) * sizeof *dm);
    const float c0s[2] = {0.0f, 5.0f};
    static trace tr;
    for (int k = 0; k < 2; k++) {
        uae_attack_config ac;
        small_config(UAE_MODEL_AUTOENCODER, 2, &ac);
        ac.c0 = c0s[k];
        ac.mine_steps = 0;
        ac.samples = UAE_ATTACK_SAMPLES_RANDOM;
        ac.proj_count = 8;
        ac.proj_dim = 6;
        ac.trace = collect;
        ac.trace_user = &tr;
        uae_attack_result res[2];
        TRY(uae_attack_run(m, &ac, x, NULL, 7, B, xa, res));
        for (int64_t b = 0; b < B; b++) {
            const rec *r0 = find(&tr, b, 0), *r1 = find(&tr, b, 1);
            CHECK(r0 && r1, "gradient: no trace");
            if (!r0 || !r1) continue;
            /* free coordinates: x' strictly inside the box at both iterates */
            bool freec[64];
            int nfree = 0;
            double gmax = 0.0, step_err = 0.0;
            for (int64_t i = 0; i < D; i++) {
                float a0 = x[b * D + i] + r0->delta[i], a1 = x[b * D + i] + r1->delta[i];
                freec[i] = a0 > 1e-3f && a0 < 1.0f - 1e-3f && a1 > 1e-3f && a1 < 1.0f - 1e-3f;
                nfree += freec[i];
                gmax = fmax(gmax, fabs(r0->grad[i]));
                if (freec[i])
                    step_err = fmax(step_err, fabs((double)r0->delta[i] - ac.lr * r0->grad[i] -
                                                   r1->delta[i]));
            }
            /* 1e-6: delta - lr g rounds once in float (|delta| < 0.3) */
            CHECK(nfree > 32 && step_err <= 1e-6, "c0 %g sample %lld: delta_1 != delta_0 - lr "
                  "g_0 (%g) over %d free coordinates", c0s[k], (long long)b, step_err, nfree);
            CHECK(gmax > 0.0, "c0 %g sample %lld: zero gradient", c0s[k], (long long)b);
            double rel[5];
            for (int dir = 0; dir < 5; dir++) {
                /* a random +-1 direction on the free coordinates; h = 3e-4 balances float
                 * rounding of the objective against the curvature and the ReLU kinks of conv-ae
                 * (measured: 1e-3 and larger cross kinks, errors up to 35%; 3e-4 agrees to 2%) */
                const double h = 3e-4;
                double gv = 0.0, vnorm = 0.0;
                memcpy(dp, r0->delta, (size_t)D * sizeof *dp);
                memcpy(dm, r0->delta, (size_t)D * sizeof *dm);
                float *d0p = malloc((size_t)(B * D) * sizeof *d0p);
                float *d0m = malloc((size_t)(B * D) * sizeof *d0m);
                for (int64_t c = 0; c < B; c++) {
                    const rec *rc = find(&tr, c, 0);
                    memcpy(d0p + c * D, rc->delta, (size_t)D * sizeof *d0p);
                    memcpy(d0m + c * D, rc->delta, (size_t)D * sizeof *d0m);
                }
                for (int64_t i = 0; i < D; i++) {
                    if (!freec[i]) continue;
                    double v = uae_rng_uniform01(77, (uint64_t)(dir + 10 * k), (uint64_t)i) < 0.5
                                   ? -1.0 : 1.0;
                    d0p[b * D + i] = (float)(r0->delta[i] + h * v);
                    d0m[b * D + i] = (float)(r0->delta[i] - h * v);
                    /* the step actually taken, after float rounding */
                    double hp = (double)d0p[b * D + i] - r0->delta[i];
                    double hm = (double)r0->delta[i] - d0m[b * D + i];
                    gv += r0->grad[i] * 0.5 * (hp + hm);
                    vnorm += 1.0;
                }
                double op[2], om[2];
                objective_host(m, &ac, x, d0p, B, 7, op);
                objective_host(m, &ac, x, d0m, B, 7, om);
                double fd = (op[b] - om[b]) / 2.0; /* the change over +-h v; gv is g . (h v) */
                /* Each direction within 25% (a ReLU kink of conv-ae crossed within +-h costs up
                 * to ~17%, measured) plus a floor for the float rounding of the objective (l ~
                 * 1.5, c = 5: ~1e-7 per evaluation); the median within 5% (measured: 2%). The
                 * changes compared are 1e-6 to 6e-6: a wrong sign, a missing or a doubled term
                 * fails. */
                rel[dir] = fabs(fd - gv) / (fabs(gv) + 1e-12);
                CHECK(fabs(fd - gv) <= 0.25 * fabs(gv) + 3e-7, "c0 %g sample %lld direction %d: "
                      "g.v %.6g, finite differences %.6g", c0s[k], (long long)b, dir, gv, fd);
                if (dir == 0)
                    printf("gradient c0 %g sample %lld: g.(h v) %.6g, central difference %.6g "
                           "(%d free coordinates, violation %g)\n", c0s[k], (long long)b, gv, fd,
                           nfree, r0->r.violation);
                free(d0p);
                free(d0m);
            }
            for (int i = 0; i < 5; i++) /* sort the 5 errors: rel[2] is the median */
                for (int j = i + 1; j < 5; j++)
                    if (rel[j] < rel[i]) {
                        double tmp = rel[i];
                        rel[i] = rel[j];
                        rel[j] = tmp;
                    }
            CHECK(rel[2] <= 0.05, "c0 %g sample %lld: median relative error %.3g of the "
                  "gradient against finite differences", c0s[k], (long long)b, rel[2]);
        }
        trace_clear(&tr);
    }
    free(x);
    free(xa);
    free(dp);
    free(dm);
    uae_model_free(m);
}

/* With MINE fixed (no MINE steps, every pair as marginal: no random pairing) and c fixed (dual
 * rate 0), the objective c viol_t + I_t (unsupervised) or c viol_t - I_t (supervised) of the
 * trace never rises from one iterate to the next (up to float rounding); the supervised attack
 * with c = 0 raises I, with a large c lowers the C&W margin. */
static double obj_of(const uae_attack_trace *r, bool supervised) {
    return (double)r->c * r->violation + (supervised ? -1.0 : 1.0) * r->mi;
}

static void run_descent(uae_model *m, const uae_attack_config *ac, const int32_t *labels,
                        int64_t B, const char *what, double *first_mi, double *last_mi,
                        double *first_loss, double *last_loss) {
    const uae_model_config *mc = uae_model_config_of(m);
    const int64_t D = (int64_t)mc->channels * mc->height * mc->width;
    static trace tr;
    uae_attack_config a = *ac;
    a.trace = collect;
    a.trace_user = &tr;
    float *x = images(B, mc->channels, mc->height, mc->width, 31);
    float *xa = malloc((size_t)(B * D) * sizeof *xa);
    uae_attack_result *res = calloc((size_t)B, sizeof *res);
    TRY(uae_attack_run(m, &a, x, labels, 0, B, xa, res));
    for (int64_t b = 0; b < B; b++) {
        for (int t = 0; t + 1 < a.iterations; t++) {
            const rec *r0 = find(&tr, b, t), *r1 = find(&tr, b, t + 1);
            if (!r0 || !r1) continue;
            double o0 = obj_of(&r0->r, a.supervised), o1 = obj_of(&r1->r, a.supervised);
            /* 1e-5 relative: float rounding of the losses and of I */
            CHECK(o1 <= o0 + 1e-5 * (fabs(o0) + 1.0), "%s sample %lld: the objective rose from "
                  "%.7g (t %d) to %.7g", what, (long long)b, o0, t, o1);
            CHECK(r0->r.c == a.c0, "%s: c changed with dual rate 0", what);
        }
        const rec *f = find(&tr, b, 0), *l = find(&tr, b, a.iterations - 1);
        first_mi[b] = f ? f->r.mi : NAN;
        last_mi[b] = l ? l->r.mi : NAN;
        first_loss[b] = f ? f->r.loss_adv : NAN;
        last_loss[b] = l ? l->r.loss_adv : NAN;
    }
    trace_clear(&tr);
    free(x);
    free(xa);
    free(res);
}

/* A classifier's logits (B, classes) for x (host), through uae_model_forward. */
static void host_logits(uae_model *m, const float *x, int64_t B, float *z) {
    const uae_model_config *mc = uae_model_config_of(m);
    uae_backend *be = uae_params_backend(uae_model_params(m));
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 22, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor xt;
    TRY(uae_arena_tensor4(ar, B, mc->channels, mc->height, mc->width, &xt));
    TRY(uae_tensor_write(&xt, x));
    uae_var **pv = calloc((size_t)uae_params_count(uae_model_params(m)), sizeof *pv);
    uae_tape_set_recording(t, false);
    TRY(uae_model_bind(m, t, false, pv));
    uae_batch bt = {.x = &xt};
    uae_var *o = uae_model_forward(m, t, pv, uae_ad_const(t, &xt), &bt);
    TRY(uae_tape_status(t));
    TRY(uae_tensor_read(uae_ad_value(o), z));
    free(pv);
    uae_tape_free(t);
    uae_arena_free(ar);
}

/* The classes a classifier predicts for images(B, ..., xseed). */
static void predicted_classes(uae_model *m, int64_t B, uint64_t xseed, int32_t *labels) {
    const uae_model_config *mc = uae_model_config_of(m);
    float *x = images(B, mc->channels, mc->height, mc->width, xseed);
    float *z = malloc((size_t)(B * mc->classes) * sizeof *z);
    host_logits(m, x, B, z);
    for (int64_t b = 0; b < B; b++) {
        labels[b] = 0;
        for (int c = 1; c < mc->classes; c++)
            if (z[b * mc->classes + c] > z[b * mc->classes + labels[b]]) labels[b] = c;
    }
    free(z);
    free(x);
}

/* The supervised attack's selection against its trace: the C&W margin max(z_y - max_{j != y} z_j,
 * -kappa) of every iterate recomputed from the logits (uae_model_forward, not the attack's loss
 * code), violation max(0, f + kappa); the returned iterate is, among violation 0 (and I not NaN),
 * the one with the largest I, else the smallest violation; a success changed the label. */
static void test_supervised_selection(uae_backend *be) {
    const int64_t B = 4, D = 256;
    uae_model *m = tiny_model(be, "classifier", 1, 16, 16, 10, 8);
    int32_t labels[4];
    predicted_classes(m, B, 31, labels);
    uae_attack_config ac;
    small_config(UAE_MODEL_CLASSIFIER, 10, &ac);
    ac.mine_steps = 1;
    ac.c0 = 20.0f;
    ac.lr = 0.02f;
    static trace tr;
    ac.trace = collect;
    ac.trace_user = &tr;
    float *x = images(B, 1, 16, 16, 31), *xa = malloc((size_t)(B * D) * sizeof *xa);
    float *xt = malloc((size_t)D * sizeof *xt), z[10];
    uae_attack_result res[4];
    TRY(uae_attack_run(m, &ac, x, labels, 0, B, xa, res));
    int successes = 0;
    for (int64_t b = 0; b < B; b++) {
        int best = -1, fall = -1;
        float best_mi = 0.0f, fall_v = 0.0f;
        for (int t = 0; t < ac.iterations; t++) {
            const rec *k = find(&tr, b, t);
            if (!k) {
                CHECK(false, "supervised sample %lld: no record for t %d", (long long)b, t);
                continue;
            }
            for (int64_t i = 0; i < D; i++) xt[i] = x[b * D + i] + k->delta[i];
            host_logits(m, xt, 1, z);
            double other = -INFINITY;
            for (int c = 0; c < 10; c++)
                if (c != labels[b]) other = fmax(other, z[c]);
            double f = z[labels[b]] - other, margin = fmax(f, -ac.kappa);
            double v = fmax(0.0, f + ac.kappa);
            /* 1e-5 absolute: logits of order 0.1, float */
            CHECK(fabs(k->r.loss_adv - margin) <= 1e-5 && fabs(k->r.violation - v) <= 1e-5,
                  "supervised sample %lld t %d: margin %.7g violation %.7g, host %.7g %.7g",
                  (long long)b, t, k->r.loss_adv, k->r.violation, margin, v);
            bool ok = k->r.violation == 0.0f && !isnan(k->r.mi);
            if (ok && (best < 0 || k->r.mi > best_mi)) {
                best = t;
                best_mi = k->r.mi;
            }
            if (fall < 0 || k->r.violation < fall_v) {
                fall = t;
                fall_v = k->r.violation;
            }
        }
        int want = best >= 0 ? best : fall;
        CHECK(res[b].selected_iter == want && res[b].success == (best >= 0), "supervised sample "
              "%lld: selected %d (success %d), the rule gives %d (%d)", (long long)b,
              res[b].selected_iter, res[b].success, want, best >= 0);
        if (res[b].success) {
            /* the label changed (or tied): the host's logits of the returned x' */
            host_logits(m, xa + b * D, 1, z);
            double other = -INFINITY;
            for (int c = 0; c < 10; c++)
                if (c != labels[b]) other = fmax(other, z[c]);
            CHECK(z[labels[b]] <= other + 1e-6, "supervised sample %lld: success, but class %d "
                  "still wins (%g vs %g)", (long long)b, labels[b], z[labels[b]], other);
            successes++;
        }
    }
    CHECK(successes >= 1 && successes < B, "supervised: %d of %lld succeeded; the test needs both "
          "outcomes", successes, (long long)B);
    trace_clear(&tr);
    free(x);
    free(xa);
    free(xt);
    uae_model_free(m);
}

static void test_descent(uae_backend *be) {
    double f[4], l[4], fl[4], ll[4];
    /* unsupervised, conv-ae, c = 5 */
    uae_model *m = tiny_model(be, "conv-ae", 1, 8, 8, 0, 6);
    uae_attack_config ac;
    small_config(UAE_MODEL_AUTOENCODER, 8, &ac);
    ac.mine_steps = 0;
    ac.mine.all_pairs = true;
    ac.dual_rate = 0.0f;
    ac.c0 = 5.0f;
    ac.lr = 0.002f;
    run_descent(m, &ac, NULL, 3, "unsupervised", f, l, fl, ll);
    uae_model_free(m);
    /* supervised, classifier: c = 0 raises I; c = 50 lowers the margin */
    m = tiny_model(be, "classifier", 1, 16, 16, 10, 8);
    /* the labels: the classes the model predicts, so that the margin starts positive */
    int32_t labels[3];
    predicted_classes(m, 3, 31, labels);
    small_config(UAE_MODEL_CLASSIFIER, 8, &ac);
    ac.mine_steps = 0;
    ac.mine.all_pairs = true;
    ac.dual_rate = 0.0f;
    ac.c0 = 0.0f;
    ac.lr = 0.05f;
    run_descent(m, &ac, labels, 3, "supervised c=0", f, l, fl, ll);
    for (int b = 0; b < 3; b++)
        CHECK(l[b] > f[b], "supervised c=0 sample %d: I went from %g to %g, not up", b, f[b], l[b]);
    ac.c0 = 50.0f;
    ac.lr = 0.002f;
    run_descent(m, &ac, labels, 3, "supervised c=50", f, l, fl, ll);
    for (int b = 0; b < 3; b++) {
        CHECK(ll[b] < fl[b], "supervised c=50 sample %d: margin went from %g to %g, not down", b,
              fl[b], ll[b]);
        printf("supervised sample %d: margin %.4f -> %.4f\n", b, fl[b], ll[b]);
    }
    uae_model_free(m);
}

/* ---- 3. MINE's marginal pairing -------------------------------------------------------------- */

/* The documented pairing: estimator s of a MINE reset with (seed, first) draws, at its k-th
 * bound (uae_mine_bound or a training step, counted from the reset), the permutation
 * uae_rng_permutation(seed, (0x50 << 56) + first + s, k * n, n); marginal pair i is
 * (x_i, y_pi(i)). */
static void documented_perm(uint64_t seed, uint64_t first, int64_t s, uint64_t k, int64_t n,
                            int64_t *pi) {
    uae_rng_permutation(seed, (0x50ull << 56) + first + (uint64_t)s, k * (uint64_t)n, n, pi);
}

enum { MS = 2, MN = 6, MD = 3, MH = 5, MO = 3 };

/* T(x, y) of estimator s by hand: w . relu(fx + fy), f = W2 (W1 v + b1) + b2 (no activation in a
 * branch, the official network), from the weights w (every parameter, host copies). */
typedef struct mine_w {
    float *w[9];
} mine_w;
static const char *const mine_names[9] = {"x.fc1.weight", "x.fc1.bias", "x.fc2.weight",
                                           "x.fc2.bias", "y.fc1.weight", "y.fc1.bias",
                                           "y.fc2.weight", "y.fc2.bias", "out.weight"};

static void branch_out(const mine_w *w, int base, int64_t s, const float *v, double *out) {
    const float *W1 = w->w[base] + s * MH * MD, *b1 = w->w[base + 1] + s * MH;
    const float *W2 = w->w[base + 2] + s * MO * MH, *b2 = w->w[base + 3] + s * MO;
    double h[MH];
    for (int j = 0; j < MH; j++) {
        h[j] = b1[j];
        for (int i = 0; i < MD; i++) h[j] += (double)W1[j * MD + i] * v[i];
    }
    for (int o = 0; o < MO; o++) {
        out[o] = b2[o];
        for (int j = 0; j < MH; j++) out[o] += (double)W2[o * MH + j] * h[j];
    }
}

static double T_hand(const mine_w *w, int64_t s, const float *xv, const float *yv) {
    double fx[MO], fy[MO], t = 0.0;
    branch_out(w, 0, s, xv, fx);
    branch_out(w, 4, s, yv, fy);
    for (int o = 0; o < MO; o++) {
        double r = fx[o] + fy[o];
        t += (double)w->w[8][s * MO + o] * (r > 0.0 ? r : 0.0);
    }
    return t;
}

/* mean_k T(x_k, y_k) - log mean_k exp T(x_k, y_pi(k)), in double. */
static double dv_hand(const mine_w *w, int64_t s, const float *xs, const float *ys,
                      const int64_t *pi) {
    double j = 0.0, mx = -INFINITY, tm[MN];
    for (int k = 0; k < MN; k++) {
        j += T_hand(w, s, xs + (s * MN + k) * MD, ys + (s * MN + k) * MD) / MN;
        tm[k] = T_hand(w, s, xs + (s * MN + k) * MD, ys + (s * MN + pi[k]) * MD);
        mx = fmax(mx, tm[k]);
    }
    double se = 0.0;
    for (int k = 0; k < MN; k++) se += exp(tm[k] - mx);
    return j - (mx + log(se / MN));
}

static void read_mine(uae_mine *m, mine_w *w) {
    for (int i = 0; i < 9; i++) w->w[i] = param_host(uae_mine_store(m), mine_names[i]);
}
static void free_mine_w(mine_w *w) {
    for (int i = 0; i < 9; i++) free(w->w[i]);
}

static void test_mine_pairing(uae_backend *be) {
    uae_mine_config mc;
    uae_mine_config_default(UAE_MINE_NET_DENSE, &mc);
    mc.hidden = MH;
    mc.out = MO;
    mc.opt.p.lr = 0.05f; /* large: the weights visibly change between steps */
    uae_mine *m;
    TRY(uae_mine_create(be, &mc, MS, MN, 1, 1, MD, &m));
    const uint64_t seed = 5, first = 10;
    TRY(uae_mine_reset(m, seed, first));
    float xs[MS * MN * MD], ys[MS * MN * MD];
    for (int i = 0; i < MS * MN * MD; i++) {
        xs[i] = uae_rng_normal01(3, 1, (uint64_t)i);
        ys[i] = 0.8f * xs[i] + 0.6f * uae_rng_normal01(3, 2, (uint64_t)i);
    }
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 20, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor tx, ty;
    TRY(uae_arena_tensor(ar, 3, (int64_t[]){MS, MN, MD}, &tx));
    TRY(uae_arena_tensor(ar, 3, (int64_t[]){MS, MN, MD}, &ty));
    TRY(uae_tensor_write(&tx, xs));
    TRY(uae_tensor_write(&ty, ys));
    size_t mark = uae_arena_mark(ar);
    int64_t pi[MN], prev[MS][MN];
    int distinguishable = 0;
    /* calls 0 and 5: uae_mine_bound; 1-4: training steps (their bounds are before the step) */
    for (uint64_t k = 0; k < 6; k++) {
        mine_w w;
        read_mine(m, &w);
        float got[MS];
        if (k == 0 || k == 5) {
            uae_tape_reset(t);
            uae_arena_reset(ar, mark);
            uae_var *I = uae_mine_bound(m, t, uae_ad_const(t, &tx), uae_ad_const(t, &ty), false);
            TRY(uae_tape_status(t));
            TRY(uae_tensor_read(uae_ad_value(I), got));
        } else {
            TRY(uae_mine_train_step(m, t, &tx, &ty, got));
        }
        for (int64_t s = 0; s < MS; s++) {
            documented_perm(seed, first, s, k, MN, pi);
            double want = dv_hand(&w, s, xs, ys, pi);
            /* 1e-5: float network and log-sum-exp against double */
            CHECK(fabs(got[s] - want) <= 1e-5 * (1.0 + fabs(want)), "mine call %llu estimator "
                  "%lld: bound %.7g, hand DV with draw %llu %.7g", (unsigned long long)k,
                  (long long)s, got[s], (unsigned long long)k, want);
            if (k > 0) {
                CHECK(memcmp(pi, prev[s], sizeof pi) != 0, "draws %llu and %llu give the same "
                      "pairing", (unsigned long long)k - 1, (unsigned long long)k);
                /* the previous call's pairing would give another value: the check can fail */
                double stale = dv_hand(&w, s, xs, ys, prev[s]);
                distinguishable += fabs(stale - want) > 1e-3;
            }
            memcpy(prev[s], pi, sizeof pi);
        }
        if (k == 0) {
            /* the other convention, (x_pi(k), y_k), and the identity pairing differ: a bound with
             * a wrong pairing fails the check above */
            int64_t id[MN];
            for (int i = 0; i < MN; i++) id[i] = i;
            double joint_only = dv_hand(&w, 0, xs, ys, id);
            CHECK(fabs(joint_only - got[0]) > 1e-3, "identity pairing indistinguishable");
            printf("mine: bound %.6f, hand %.6f, identity pairing %.6f\n", got[0],
                   dv_hand(&w, 0, xs, ys, prev[0]), joint_only);
        }
        free_mine_w(&w);
    }
    CHECK(distinguishable >= 8, "only %d of 10 calls tell their pairing from the previous one's",
          distinguishable);
    uae_tape_free(t);
    uae_arena_free(ar);
    uae_mine_free(m);
}

/* The first layer's maps of B images (host, (B, D)) as MINE samples (B*K, 1, H, W) in out. */
static void first_layer_samples(uae_model *m, const float *img, int64_t B, uae_tensor *out) {
    const uae_model_config *mc = uae_model_config_of(m);
    uae_backend *be = uae_params_backend(uae_model_params(m));
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 22, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor ti;
    TRY(uae_arena_tensor4(ar, B, mc->channels, mc->height, mc->width, &ti));
    TRY(uae_tensor_write(&ti, img));
    uae_var **pv = calloc((size_t)uae_params_count(uae_model_params(m)), sizeof *pv);
    uae_tape_set_recording(t, false);
    TRY(uae_model_bind(m, t, false, pv));
    uae_var *f = uae_model_first_layer(m, t, pv, uae_ad_const(t, &ti));
    TRY(uae_tape_status(t));
    TRY(uae_tensor_copy(out, uae_ad_value(f)));
    free(pv);
    uae_tape_free(t);
    uae_arena_free(ar);
}

/* MINE samples of B images (host, (B, D)) for the attack's iteration `draw`, into out: conv mode,
 * the first layer's maps; random mode, random_samples (computed in double: the tolerance below). */
static void attack_samples(uae_model *m, const uae_attack_config *ac, const float *img, int64_t B,
                           uint64_t draw, uae_tensor *out) {
    if (ac->samples == UAE_ATTACK_SAMPLES_CONV) {
        first_layer_samples(m, img, B, out);
        return;
    }
    const uae_model_config *mc = uae_model_config_of(m);
    const int64_t D = (int64_t)mc->channels * mc->height * mc->width;
    float *h = malloc((size_t)(B * ac->proj_count * ac->proj_dim) * sizeof *h);
    random_samples(ac, img, B, D, draw, h);
    TRY(uae_tensor_write(out, h));
    free(h);
}

/* Inside the attack: I_t and the bounds of the MINE steps after iterate t are those of the
 * sequence of calls docs/method.md describes, replayed here on a MINE of our own: reset; per
 * iteration t, one bound on the samples of (x, x'_t), then mine_steps training steps on those of
 * (x, x'_{t+1}); in random mode all of iteration t's samples under projection draw t. conv-ae
 * with conv samples, and dense-ae with random projections. */
static void test_attack_mine_sequence(uae_backend *be, bool random) {
    const int64_t B = 2, D = 64;
    uae_model *m = tiny_model(be, random ? "dense-ae" : "conv-ae", 1, 8, 8, 0, 9);
    uae_attack_config ac;
    small_config(UAE_MODEL_AUTOENCODER, 4, &ac);
    ac.samples = random ? UAE_ATTACK_SAMPLES_RANDOM : UAE_ATTACK_SAMPLES_CONV;
    ac.proj_count = 8;
    ac.proj_dim = 6;
    static trace tr;
    ac.trace = collect;
    ac.trace_user = &tr;
    ac.c0 = 2.0f;
    /* large steps: x'_{t+1} far from x'_t, so that MINE steps on the wrong x' show (with the
     * default 0.01 the samples move by ~1e-6 and the bounds by less than the tolerance) */
    ac.lr = 10.0f;
    float *x = images(B, 1, 8, 8, 14), *xa = malloc((size_t)(B * D) * sizeof *xa);
    uae_attack_result res[2];
    const uint64_t first = 30;
    TRY(uae_attack_run(m, &ac, x, NULL, first, B, xa, res));
    /* conv-ae's first layer: 16 channels of 8 x 8 per image; random: (B, M, p) */
    const int K = random ? ac.proj_count : 16;
    uae_arena *ar;
    TRY(uae_arena_create(be, 1 << 22, &ar));
    uae_tape *t;
    TRY(uae_tape_create(ar, &t));
    uae_tensor xs, ys;
    uae_mine_config mc = ac.mine;
    uae_mine *mine;
    if (random) {
        TRY(uae_arena_tensor(ar, 3, (int64_t[]){B, K, ac.proj_dim}, &xs));
        TRY(uae_arena_tensor(ar, 3, (int64_t[]){B, K, ac.proj_dim}, &ys));
        mc.net = UAE_MINE_NET_DENSE;
        TRY(uae_mine_create(be, &mc, B, K, 1, 1, ac.proj_dim, &mine));
    } else {
        TRY(uae_arena_tensor4(ar, B * K, 1, 8, 8, &xs));
        TRY(uae_arena_tensor4(ar, B * K, 1, 8, 8, &ys));
        mc.net = UAE_MINE_NET_CONV;
        TRY(uae_mine_create(be, &mc, B, K, 1, 8, 8, &mine));
    }
    size_t mark = uae_arena_mark(ar);
    TRY(uae_mine_reset(mine, ac.seed, first));
    /* conv: the same ops on the same inputs, 1e-5; random: samples computed in double here, in
     * float by the attack (standardised, so ~1e-6 apart), 1e-4 */
    const double tol = random ? 1e-4 : 1e-5;
    float *img = malloc((size_t)(B * D) * sizeof *img);
    int compared = 0;
    for (int it = 0; it < ac.iterations; it++) {
        attack_samples(m, &ac, x, B, (uint64_t)it, &xs);
        /* x'_t from the trace */
        for (int64_t b = 0; b < B; b++) {
            const rec *r = find(&tr, b, it);
            if (!r) goto out;
            for (int64_t i = 0; i < D; i++) img[b * D + i] = x[b * D + i] + r->delta[i];
        }
        attack_samples(m, &ac, img, B, (uint64_t)it, &ys);
        uae_tape_reset(t);
        uae_arena_reset(ar, mark);
        uae_tape_set_recording(t, false);
        uae_var *I = uae_mine_bound(mine, t, uae_ad_const(t, &xs), uae_ad_const(t, &ys), false);
        TRY(uae_tape_status(t));
        float got[2];
        TRY(uae_tensor_read(uae_ad_value(I), got));
        uae_tape_reset(t);
        uae_arena_reset(ar, mark);
        for (int64_t b = 0; b < B; b++) {
            CHECK(fabs(got[b] - find(&tr, b, it)->r.mi) <= tol * (1.0 + fabs(got[b])),
                  "attack (%s) sample %lld t %d: I %.7g, the replayed MINE gives %.7g",
                  random ? "random" : "conv", (long long)b, it, find(&tr, b, it)->r.mi, got[b]);
            compared++;
        }
        if (it + 1 == ac.iterations) break; /* x'_T is not traced */
        for (int64_t b = 0; b < B; b++) {
            const rec *r = find(&tr, b, it + 1);
            if (!r) goto out;
            for (int64_t i = 0; i < D; i++) img[b * D + i] = x[b * D + i] + r->delta[i];
        }
        attack_samples(m, &ac, img, B, (uint64_t)it, &ys);
        double moved = 0.0;
        for (int64_t b = 0; b < B; b++)
            for (int64_t i = 0; i < D; i++)
                moved = fmax(moved, fabs(find(&tr, b, it + 1)->delta[i] - find(&tr, b, it)->delta[i]));
        CHECK(moved > 1e-2, "t %d: delta moved by %g only; the check below cannot see a MINE "
              "step on the wrong x'", it, moved);
        for (int k = 0; k < ac.mine_steps; k++) {
            float bounds[2];
            TRY(uae_mine_train_step(mine, t, &xs, &ys, bounds));
            for (int64_t b = 0; b < B; b++) {
                const rec *r = find(&tr, b, it);
                CHECK(r->r.mine_steps == ac.mine_steps &&
                          fabs(bounds[b] - r->mine_mi[k]) <= tol * (1.0 + fabs(bounds[b])),
                      "attack (%s) sample %lld t %d MINE step %d: trace %.7g, replayed %.7g",
                      random ? "random" : "conv", (long long)b, it, k, r->mine_mi[k], bounds[b]);
                compared++;
            }
        }
    }
out:
    CHECK(compared == (int)B * (ac.iterations + (ac.iterations - 1) * ac.mine_steps),
          "compared %d values", compared);
    free(img);
    uae_mine_free(mine);
    uae_tape_free(t);
    uae_arena_free(ar);
    trace_clear(&tr);
    free(x);
    free(xa);
    uae_model_free(m);
}

/* ---- 4. the experiment's arms --------------------------------------------------------------- */

static void digest_hex(const float *v, int64_t n, char out[17]) {
    /* FNV-1a 64 over the float32 bytes, as docs/user-guide.md says */
    uint64_t h = 14695981039346656037ull;
    const unsigned char *p = (const unsigned char *)v;
    for (size_t i = 0; i < (size_t)n * sizeof *v; i++) h = (h ^ p[i]) * 1099511628211ull;
    snprintf(out, 17, "%016llx", (unsigned long long)h);
}

/* rows = a (na rows) followed by b (nb rows), d floats each (caller frees). */
static float *concat(const float *a, int64_t na, const float *b, int64_t nb, int64_t d) {
    float *r = malloc((size_t)((na + nb) * d) * sizeof *r);
    memcpy(r, a, (size_t)(na * d) * sizeof *r);
    if (nb) memcpy(r + na * d, b, (size_t)(nb * d) * sizeof *r);
    return r;
}

static void check_digest(json_t *line, const char *key, const float *rows, int64_t n, int64_t d,
                         const char *what) {
    char want[17];
    digest_hex(rows, n * d, want);
    const char *got = json_string_value(json_object_get(line, key));
    CHECK(got && strcmp(got, want) == 0, "%s: %s %s, the rows built here give %s", what, key,
          got ? got : "(none)", want);
}

static char seed_digest[2][17];

static void test_arms(uae_backend *be) {
    const int64_t N = 40, D = 64, NT = 16, NA = 6;
    uae_dataset train = {.n = N, .d = D, .c = 1, .h = 8, .w = 8}, test = {.n = 10, .d = D, .c = 1,
                                                                           .h = 8, .w = 8};
    train.x = images(N, 1, 8, 8, 41);
    test.x = images(10, 1, 8, 8, 42);
    char dir[] = "/tmp/uae-test-method-XXXXXX";
    if (!mkdtemp(dir)) {
        printf("FAIL: mkdtemp\n");
        exit(1);
    }
    uae_augment_options o = uae_augment_options_default();
    o.preset = "dense-ae";
    o.n_train = NT;
    o.n = NA;
    o.seeds[0] = 3;
    o.seeds[1] = 4;
    o.nseeds = 2;
    o.epochs = 1;
    o.retrain_epochs = 1;
    o.batch = 8;
    o.noise_sigma = 0.2f; /* not the default: an arm that ignored it would show */
    o.out_dir = dir;
    o.attack_batch = 4;
    small_config(UAE_MODEL_AUTOENCODER, 2, &o.attack);
    o.attack.mine_steps = 1;
    o.attack.samples = UAE_ATTACK_SAMPLES_RANDOM;
    o.attack.proj_count = 6;
    o.attack.proj_dim = 4;
    uae_augment_report rep;
    TRY(uae_augment_run(be, &train, &test, &o, &rep));
    for (int k = 0; k < 2; k++) {
        const uint64_t seed = o.seeds[k];
        char path[512];
        /* the subset: uae_data_subset (its seed dependence is part 5's) */
        uae_dataset sub;
        TRY(uae_data_subset(&train, NT, seed, &sub));
        snprintf(path, sizeof path, "%s/seed-%llu/uae.npy", dir, (unsigned long long)seed);
        uae_npy_array adv;
        TRY(uae_npy_read(path, &adv));
        CHECK(adv.shape[0] == NA, "uae.npy holds %lld rows", (long long)adv.shape[0]);
        /* the noise arm's copies, by the rule of docs/user-guide.md: x + sigma N(0, 1)
         * from (seed, stream 0x4E4F495345, element), clipped to [0, 1] */
        float *noisy = malloc((size_t)(NA * D) * sizeof *noisy);
        for (int64_t i = 0; i < NA * D; i++) {
            float v = sub.x[i] + 0.2f * uae_rng_normal01(seed, 0x4E4F495345ull, (uint64_t)i);
            noisy[i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
        float *dup = concat(sub.x, NT, sub.x, NA, D);
        float *nz = concat(sub.x, NT, noisy, NA, D);
        float *ua = concat(sub.x, NT, adv.data, NA, D);
        snprintf(path, sizeof path, "%s/seed-%llu/arms.jsonl", dir, (unsigned long long)seed);
        FILE *f = fopen(path, "r");
        CHECK(f, "no %s", path);
        char line[4096];
        int arms = 0;
        while (f && fgets(line, sizeof line, f)) {
            json_t *j = json_loads(line, 0, NULL);
            const char *arm = json_string_value(json_object_get(j, "arm"));
            int64_t rows = (int64_t)json_integer_value(json_object_get(j, "rows"));
            arms++;
            if (arm && strcmp(arm, "original") == 0) {
                CHECK(rows == NT, "original: %lld rows", (long long)rows);
                check_digest(j, "x_fnv1a64", sub.x, NT, D, "original");
                check_digest(j, "targets_fnv1a64", sub.x, NT, D, "original");
                const char *got = json_string_value(json_object_get(j, "x_fnv1a64"));
                snprintf(seed_digest[k], 17, "%s", got ? got : "");
            } else if (arm && strcmp(arm, "duplicate") == 0) {
                CHECK(rows == NT + NA, "duplicate: %lld rows", (long long)rows);
                check_digest(j, "x_fnv1a64", dup, NT + NA, D, "duplicate");
                check_digest(j, "targets_fnv1a64", dup, NT + NA, D, "duplicate");
            } else if (arm && strcmp(arm, "noise") == 0) {
                CHECK(rows == NT + NA, "noise: %lld rows", (long long)rows);
                check_digest(j, "x_fnv1a64", nz, NT + NA, D, "noise");
                check_digest(j, "targets_fnv1a64", dup, NT + NA, D, "noise (clean targets)");
            } else if (arm && strcmp(arm, "uae") == 0) {
                CHECK(rows == NT + NA, "uae: %lld rows", (long long)rows);
                check_digest(j, "x_fnv1a64", ua, NT + NA, D, "uae");
                check_digest(j, "targets_fnv1a64", dup, NT + NA, D, "uae (clean targets)");
            } else {
                CHECK(false, "unknown arm line %s", line);
            }
            json_decref(j);
        }
        if (f) fclose(f);
        CHECK(arms == 4, "%d arm records, expected 4", arms);
        /* the UAEs are of subset rows 0..n-1: uae.jsonl's l(x) is the base model's on them */
        snprintf(path, sizeof path, "%s/seed-%llu/base.safetensors", dir, (unsigned long long)seed);
        uae_model *base;
        TRY(uae_checkpoint_load_model(path, be, &base, NULL));
        double lx[6];
        host_sse(base, sub.x, sub.x, NA, lx);
        snprintf(path, sizeof path, "%s/seed-%llu/uae.jsonl", dir, (unsigned long long)seed);
        f = fopen(path, "r");
        for (int i = 0; f && i < NA && fgets(line, sizeof line, f); i++) {
            json_t *j = json_loads(line, 0, NULL);
            double lc = json_real_value(json_object_get(j, "loss_clean"));
            /* 1e-4 relative: float forward against double */
            CHECK(fabs(lc - lx[i]) <= 1e-4 * lx[i], "uae.jsonl row %d: l(x) %.6g, the base model "
                  "on subset row %d gives %.6g", i, lc, i, lx[i]);
            json_decref(j);
        }
        if (f) fclose(f);
        uae_model_free(base);
        free(noisy);
        free(dup);
        free(nz);
        free(ua);
        uae_npy_array_free(&adv);
        uae_dataset_free(&sub);
    }
    /* part 5 in the experiment: another seed, another subset */
    CHECK(strcmp(seed_digest[0], seed_digest[1]) != 0, "seeds 3 and 4 trained on the same subset");
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0) printf("note: could not remove %s\n", dir);
    free(train.x);
    free(test.x);
}

/* ---- 5. splits and subsets ------------------------------------------------------------------ */

static void test_splits(void) {
    enum { N = 50, HELD = 10, SEEDS = 200 };
    uae_dataset ds = {.n = N, .d = 1, .c = 1, .h = 1, .w = 1};
    float xs[N];
    for (int i = 0; i < N; i++) xs[i] = (float)i;
    ds.x = xs;
    for (int kind = 0; kind < 2; kind++) {
        const char *what = kind ? "subset" : "split";
        int count[N] = {0}, distinct = 0;
        static uint64_t seen[SEEDS];
        for (int s = 0; s < SEEDS; s++) {
            uae_dataset rest = {0}, held = {0}, again = {0}, rest2 = {0};
            if (kind) {
                TRY(uae_data_subset(&ds, HELD, (uint64_t)s, &held));
                TRY(uae_data_subset(&ds, HELD, (uint64_t)s, &again));
            } else {
                TRY(uae_data_split(&ds, HELD, (uint64_t)s, &rest, &held));
                TRY(uae_data_split(&ds, HELD, (uint64_t)s, &rest2, &again));
            }
            CHECK(held.n == HELD && memcmp(held.x, again.x, HELD * sizeof(float)) == 0,
                  "%s seed %d: not a function of the seed", what, s);
            uint64_t mask = 0;
            for (int i = 0; i < HELD; i++) {
                count[(int)held.x[i]]++;
                mask |= 1ull << (int)held.x[i];
            }
            bool dup = false;
            for (int p = 0; p < distinct; p++) dup |= seen[p] == mask;
            if (!dup) seen[distinct++] = mask;
            uae_dataset_free(&rest);
            uae_dataset_free(&held);
            uae_dataset_free(&again);
            uae_dataset_free(&rest2);
        }
        /* different seeds, different rows: 200 seeds choosing 10 of 50 collide with probability
         * ~2e-6 by chance */
        CHECK(distinct >= SEEDS - 2, "%s: %d distinct row sets over %d seeds", what, distinct,
              SEEDS);
        /* every row equally likely: held 200 * 10/50 = 40 times on average, sd 5.7; 5 sd */
        for (int i = 0; i < N; i++)
            CHECK(count[i] >= 12 && count[i] <= 68, "%s: row %d chosen %d times of %d (expected "
                  "40 +- 28)", what, i, count[i], SEEDS);
    }
    /* a CSV file is split into train and test by split_seed */
    char path[] = "/tmp/uae-test-split-XXXXXX";
    int fd = mkstemp(path);
    FILE *f = fd >= 0 ? fdopen(fd, "w") : NULL;
    if (!f) {
        printf("FAIL: cannot write a CSV\n");
        exit(1);
    }
    fprintf(f, "a,label\n");
    for (int i = 0; i < 30; i++) fprintf(f, "%d,%d\n", i, i % 2);
    fclose(f);
    char csv[64];
    snprintf(csv, sizeof csv, "%s.csv", path);
    if (rename(path, csv) != 0) {
        printf("FAIL: rename\n");
        exit(1);
    }
    float tests[3][6];
    const uint64_t split_seeds[3] = {1, 1, 2};
    for (int k = 0; k < 3; k++) {
        uae_data_options opt = uae_data_options_default();
        opt.split_seed = split_seeds[k];
        uae_dataset tr, te;
        TRY(uae_data_load(csv, &opt, &tr, &te));
        CHECK(te.n == 6 && tr.n == 24, "CSV split %lld / %lld", (long long)tr.n, (long long)te.n);
        memcpy(tests[k], te.x, 6 * sizeof(float));
        uae_dataset_free(&tr);
        uae_dataset_free(&te);
    }
    CHECK(memcmp(tests[0], tests[1], sizeof tests[0]) == 0, "CSV: split_seed 1 twice differs");
    CHECK(memcmp(tests[0], tests[2], sizeof tests[0]) != 0, "CSV: split_seed 1 and 2 hold out "
          "the same rows");
    remove(csv);
}

int main(void) {
    uae_backend *be;
    TRY(uae_backend_open("cpu", &be));
    test_success(be);
    test_gradient(be);
    test_descent(be);
    test_supervised_selection(be);
    test_mine_pairing(be);
    test_attack_mine_sequence(be, false);
    test_attack_mine_sequence(be, true);
    test_arms(be);
    test_splits();
    uae_backend_free(be);
    if (failures) printf("%d failure(s)\n", failures);
    else printf("method: all passed\n");
    return failures ? 1 : 0;
}
