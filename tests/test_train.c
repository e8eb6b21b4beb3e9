/* tests/test_train.c — the training loop and checkpoints (uae/train.h, uae/checkpoint.h) on a small
 * synthetic data set (48 images of bars and blobs, 1 x 16 x 16, four classes), on the "cpu"
 * backend: the configuration's JSON round trip; a checkpoint's round trip (values, optimizer state
 * and step count, run info); load errors that name the problem and leave the model unchanged; a
 * run resumed from a checkpoint ends with the same bits as an uninterrupted one, for every preset
 * with state of its own kind (RMSprop, Adam, Adadelta, SGD with momentum and dropout, the AAE's
 * extra optimizers, the concrete AE's temperature), also from a checkpoint written within an
 * epoch, and on an OpenCL device if there is one; the loss of a short run falls; the JSON-lines
 * log has one line per epoch; a batch trained in micro-batches (options.micro_batch) ends within
 * float rounding of the whole batch, the same bits on a rerun, and the presets whose loss couples
 * the rows refuse it. The CLI around it is tests/test_cli_train.sh (several ranks:
 * tests/test_mpi.sh). */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "uae/checkpoint.h"
#include "uae/io.h"
#include "uae/train.h"
#include "tests/test_util.h"

#define N_IMAGES 48
#define SIDE 16
#define CLASSES 4

static char dir[64];

/* A path in the test's folder; valid until 8 more calls (a path held longer is copied). */
static const char *tmp_path(const char *name) {
    static char buf[8][128];
    static int k;
    k = (k + 1) % 8;
    snprintf(buf[k], sizeof buf[k], "%s/%s", dir, name);
    return buf[k];
}

/* The synthetic set: class 0 a horizontal bar, 1 a vertical bar, 2 a square blob, 3 a diagonal,
 * at positions from a small LCG (test data only). The caller frees it with uae_dataset_free. */
static uint32_t lcg(uint32_t *s) { return *s = *s * 1664525u + 1013904223u; }

static uae_dataset make_data(int n, uint32_t seed) {
    uae_dataset ds = {.n = n, .d = SIDE * SIDE, .c = 1, .h = SIDE, .w = SIDE,
                      .num_classes = CLASSES};
    ds.x = calloc((size_t)n * SIDE * SIDE, sizeof *ds.x);
    ds.y = calloc((size_t)n, sizeof *ds.y);
    UAE_ASSERT(ds.x && ds.y);
    for (int i = 0; i < n; i++) {
        float *im = ds.x + (size_t)i * SIDE * SIDE;
        int k = i % CLASSES, p = 2 + (int)(lcg(&seed) >> 8) % (SIDE - 6);
        int q = 2 + (int)(lcg(&seed) >> 8) % (SIDE - 6);
        for (int r = 0; r < SIDE; r++)
            for (int c = 0; c < SIDE; c++) {
                bool on = (k == 0 && r >= p && r < p + 2) || (k == 1 && c >= q && c < q + 2) ||
                          (k == 2 && r >= p && r < p + 4 && c >= q && c < q + 4) ||
                          (k == 3 && abs(r - c - (p - q) / 2) <= 1);
                im[r * SIDE + c] = on ? 0.9f : 0.05f;
            }
        ds.y[i] = k;
    }
    return ds;
}

/* The preset's defaults for the synthetic images, made small enough to train in a moment. */
static uae_model_config small_config(const char *preset) {
    uae_model_config cfg;
    uae_status st = uae_model_defaults(preset, 1, SIDE, SIDE, CLASSES, &cfg);
    UAE_ASSERT(st == UAE_OK);
    cfg.hidden = 16;
    cfg.select_k = 20;
    cfg.batch = 16;
    return cfg;
}

/* The whole training state of a model on the host: values, then state 0, then state 1. */
static float *snapshot(uae_model *m, int64_t *n) {
    uae_params *P = uae_model_params(m);
    int64_t k = uae_tensor_numel(uae_params_flat(P));
    float *h = malloc((size_t)(3 * k) * sizeof *h);
    UAE_ASSERT(h);
    CHECK_OK(uae_tensor_read(uae_params_flat(P), h));
    CHECK_OK(uae_tensor_read(uae_params_state(P, 0), h + k));
    CHECK_OK(uae_tensor_read(uae_params_state(P, 1), h + 2 * k));
    *n = 3 * k;
    return h;
}

/* Bit-identical (the point of a checkpoint and of resuming: no tolerance). */
static bool same_state(uae_model *a, uae_model *b, const char *what) {
    int64_t na, nb;
    float *ha = snapshot(a, &na), *hb = snapshot(b, &nb);
    bool same = na == nb && memcmp(ha, hb, (size_t)na * sizeof *ha) == 0;
    if (!same && na == nb)
        for (int64_t i = 0; i < na; i++)
            if (memcmp(&ha[i], &hb[i], sizeof *ha) != 0) {
                fprintf(stderr, "  %s: first difference at float %lld of %lld: %.9g vs %.9g\n",
                        what, (long long)i, (long long)na, ha[i], hb[i]);
                break;
            }
    free(ha);
    free(hb);
    return same;
}

static uae_train_options quiet_options(const uae_model_config *cfg, int epochs) {
    uae_train_options o = uae_train_options_default();
    o.epochs = epochs;
    o.batch = cfg->batch;
    o.seed = 7;
    return o;
}

/* ---- The configuration as JSON --------------------------------------------------------------- */

static void test_config_json(void) {
    const char *const *presets = uae_model_presets();
    for (int i = 0; presets[i]; i++) {
        uae_model_config a, b;
        CHECK_OK(uae_model_defaults(presets[i], 3, 32, 32, 10, &a));
        a.opt.p.lr = 0.1f; /* not a round number in binary: the JSON must keep every bit */
        char *ja = uae_model_config_to_json(&a);
        CHECK(ja != NULL, "config_to_json(%s)", presets[i]);
        if (!ja) continue;
        CHECK_OK(uae_model_config_from_json(ja, &b));
        char *jb = uae_model_config_to_json(&b);
        CHECK(jb && strcmp(ja, jb) == 0, "%s: JSON round trip\n  %s\n  %s", presets[i], ja,
              jb ? jb : "(null)");
        CHECK(b.opt.p.lr == a.opt.p.lr && b.epochs == a.epochs && b.opt.p.fn == a.opt.p.fn,
              "%s: values after the round trip", presets[i]);
        free(ja);
        free(jb);
    }
    uae_model_config c;
    uae_status st = uae_model_config_from_json("{\"preset\":\"dense-ae\",\"channels\":1,\"height\":"
                                               "28,\"width\":28,\"classes\":10,\"hiden\":3}", &c);
    CHECK(st == UAE_ERR_FORMAT && strstr(uae_last_error(), "hiden"),
          "an unknown key is named: %s", uae_last_error());
    st = uae_model_config_from_json("{\"channels\":1}", &c);
    CHECK(st == UAE_ERR_FORMAT && strstr(uae_last_error(), "preset"), "no preset: %s",
          uae_last_error());
    st = uae_model_config_from_json("{\"preset\":\"nope\",\"channels\":1,\"height\":28,"
                                    "\"width\":28,\"classes\":10}", &c);
    CHECK(st == UAE_ERR_INVALID && strstr(uae_last_error(), "nope"), "unknown preset: %s",
          uae_last_error());
}

/* ---- Round trip ------------------------------------------------------------------------------ */

static void test_round_trip(uae_backend *be, const uae_dataset *ds) {
    uae_model_config cfg = small_config("dense-ae");
    uae_model *a = NULL, *b = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 1, &a));
    CHECK_OK(uae_model_create(be, &cfg, 2, &b)); /* another initialisation, to be overwritten */
    if (!a || !b) goto done;
    uae_train_options o = quiet_options(&cfg, 2);
    char path[128];
    snprintf(path, sizeof path, "%s", tmp_path("rt.safetensors"));
    o.checkpoint = path;
    o.run_json = "{\"data\":\"synthetic\"}";
    CHECK_OK(uae_train_run(a, ds, &o, NULL));
    uae_checkpoint_info info;
    memset(&info, 0xff, sizeof info);
    CHECK_OK(uae_checkpoint_load(o.checkpoint, b, &info));
    CHECK(same_state(a, b, "round trip"), "values and optimizer state after load");
    int64_t steps = 2 * ((N_IMAGES + cfg.batch - 1) / cfg.batch);
    CHECK(info.epoch == 2 && info.step == steps && info.seed == 7, "info: epoch %lld step %lld "
          "seed %llu", (long long)info.epoch, (long long)info.step, (unsigned long long)info.seed);
    CHECK(strcmp(info.run, o.run_json) == 0, "run settings: %s", info.run);

    /* The same through uae_checkpoint_load_model, which makes the model from the metadata. (That
     * the optimizer's step count comes back is checked by the resumed Adam runs below.) */
    uae_model *c = NULL;
    uae_checkpoint_info ci;
    CHECK_OK(uae_checkpoint_load_model(o.checkpoint, be, &c, &ci));
    if (c) {
        CHECK(same_state(a, c, "load_model"), "load_model gives the same state");
        CHECK(strcmp(uae_model_config_of(c)->preset, "dense-ae") == 0 &&
              uae_model_config_of(c)->hidden == 16, "load_model: the configuration");
    }
    uae_model_free(c);
    uae_model_config rc;
    CHECK_OK(uae_checkpoint_read_config(o.checkpoint, &rc, NULL));
    CHECK(rc.hidden == 16 && rc.batch == 16 && rc.opt.p.fn == UAE_OPTIM_RMSPROP, "read_config");
done:
    uae_model_free(a);
    uae_model_free(b);
}

/* ---- Load errors ----------------------------------------------------------------------------- */

/* Rewrites the tensors of checkpoint src into dst, leaving out `drop` (NULL: none) and keeping the
 * metadata uaekit writes (a file with a valid checksum: the error must be the missing tensor). */
static void rewrite_without(const char *src, const char *dst, const char *drop) {
    uae_safetensors *st;
    CHECK_OK(uae_safetensors_open(src, &st));
    if (!st) return;
    size_t n = uae_safetensors_count(st), k = 0;
    uae_st_tensor *ts = calloc(n, sizeof *ts);
    float **bufs = calloc(n, sizeof *bufs);
    for (size_t i = 0; i < n; i++) {
        uae_st_tensor t = uae_safetensors_info(st, i, NULL);
        if (drop && strcmp(t.name, drop) == 0) continue;
        int64_t numel = 1;
        for (int d = 0; d < t.ndim; d++) numel *= t.shape[d];
        bufs[k] = malloc((size_t)numel * sizeof(float));
        CHECK_OK(uae_safetensors_read(st, t.name, t.ndim, t.shape, bufs[k]));
        t.data = bufs[k];
        ts[k++] = t;
    }
    static const char *const keys[] = {"uae.format", "uae.version", "uae.model", "uae.config",
                                       "uae.epoch", "uae.step", "uae.epoch_step",
                                       "uae.epoch_loss", "uae.seed", "uae.optimizer",
                                       "uae.optimizer.step", "uae.run"};
    enum { N_KEYS = sizeof keys / sizeof keys[0] };
    uae_st_meta meta[N_KEYS];
    for (int i = 0; i < N_KEYS; i++) {
        meta[i] = (uae_st_meta){keys[i], uae_safetensors_meta(st, keys[i])};
        CHECK(meta[i].value != NULL, "%s has metadata %s", src, keys[i]);
    }
    CHECK_OK(uae_safetensors_write(dst, ts, k, meta, N_KEYS));
    for (size_t i = 0; i < k; i++) free(bufs[i]);
    free(bufs);
    free(ts);
    uae_safetensors_close(st);
}

static void expect_error(uae_status got, uae_status want, const char *needle, const char *what) {
    CHECK(got == want, "%s: status %s, expected %s (%s)", what, uae_status_name(got),
          uae_status_name(want), uae_last_error());
    CHECK(got == UAE_OK || strstr(uae_last_error(), needle), "%s: message lacks '%s': %s", what,
          needle, uae_last_error());
}

static void test_load_errors(uae_backend *be, const uae_dataset *ds) {
    uae_model_config cfg = small_config("dense-ae");
    uae_model *a = NULL, *m = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 1, &a));
    if (!a) return;
    uae_train_options o = quiet_options(&cfg, 1);
    char good[128];
    snprintf(good, sizeof good, "%s", tmp_path("good.safetensors"));
    o.checkpoint = good;
    CHECK_OK(uae_train_run(a, ds, &o, NULL));

    /* The model whose loads fail must keep its values: compare with a twin. */
    CHECK_OK(uae_model_create(be, &cfg, 3, &m));
    uae_model *twin = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 3, &twin));
    if (!m || !twin) goto done;

    rewrite_without(o.checkpoint, tmp_path("missing.safetensors"), "dec.bias");
    expect_error(uae_checkpoint_load(tmp_path("missing.safetensors"), m, NULL), UAE_ERR_FORMAT,
                 "'dec.bias'", "a missing tensor");
    rewrite_without(o.checkpoint, tmp_path("nostate.safetensors"), "optim.state1.enc.weight");
    expect_error(uae_checkpoint_load(tmp_path("nostate.safetensors"), m, NULL), UAE_ERR_FORMAT,
                 "'optim.state1.enc.weight'", "missing optimizer state");
    rewrite_without(o.checkpoint, tmp_path("same.safetensors"), NULL);
    /* The rewrite itself is a good file. */
    CHECK_OK(uae_checkpoint_load(tmp_path("same.safetensors"), twin, NULL));
    CHECK_OK(uae_checkpoint_load(o.checkpoint, twin, NULL));

    /* Another hidden size: the first tensor of another shape is named, with both shapes. */
    uae_model_config wide = cfg;
    wide.hidden = 17;
    uae_model *w = NULL;
    CHECK_OK(uae_model_create(be, &wide, 1, &w));
    if (w) expect_error(uae_checkpoint_load(o.checkpoint, w, NULL), UAE_ERR_SHAPE, "enc.weight",
                        "another shape");
    uae_model_free(w);

    /* Another preset with the same tensors (sparse-ae is the dense AE with other losses). */
    uae_model_config sp = small_config("sparse-ae");
    uae_model *s = NULL;
    CHECK_OK(uae_model_create(be, &sp, 1, &s));
    if (s) expect_error(uae_checkpoint_load(o.checkpoint, s, NULL), UAE_ERR_INVALID, "dense-ae",
                        "another preset");
    uae_model_free(s);

    /* Another optimizer: its state means something else. */
    uae_model_config adam = cfg;
    adam.opt = uae_optimizer_default(UAE_OPTIM_ADAM);
    uae_model *ad = NULL;
    CHECK_OK(uae_model_create(be, &adam, 1, &ad));
    if (ad) expect_error(uae_checkpoint_load(o.checkpoint, ad, NULL), UAE_ERR_INVALID, "rmsprop",
                         "another optimizer");
    uae_model_free(ad);

    /* One flipped byte in the data area: the checksum. The data area ends the file. */
    FILE *f = fopen(o.checkpoint, "rb");
    char *bytes = NULL;
    long size = 0;
    if (f && fseek(f, 0, SEEK_END) == 0 && (size = ftell(f)) > 0 && fseek(f, 0, SEEK_SET) == 0) {
        bytes = malloc((size_t)size);
        if (fread(bytes, 1, (size_t)size, f) != (size_t)size) size = 0;
    }
    if (f) fclose(f);
    CHECK(bytes && size > 100, "read %s", o.checkpoint);
    if (bytes && size > 100) {
        bytes[size - 5] ^= 0x10;
        f = fopen(tmp_path("corrupt.safetensors"), "wb");
        CHECK(f && fwrite(bytes, 1, (size_t)size, f) == (size_t)size, "write the corrupt file");
        if (f) fclose(f);
        expect_error(uae_checkpoint_load(tmp_path("corrupt.safetensors"), m, NULL), UAE_ERR_FORMAT,
                     "checksum", "a corrupted file");
        /* Cut short. */
        f = fopen(tmp_path("short.safetensors"), "wb");
        CHECK(f && fwrite(bytes, 1, (size_t)size / 2, f) == (size_t)size / 2, "write short");
        if (f) fclose(f);
        expect_error(uae_checkpoint_load(tmp_path("short.safetensors"), m, NULL), UAE_ERR_FORMAT,
                     "short.safetensors", "a truncated file");
    }
    free(bytes);

    /* A safetensors file of another program: no uaekit metadata. */
    float v[3] = {1, 2, 3};
    uae_st_tensor t = {"enc.bias", 1, {3}, v, UAE_ST_F32};
    CHECK_OK(uae_safetensors_write(tmp_path("foreign.safetensors"), &t, 1, NULL, 0));
    expect_error(uae_checkpoint_load(tmp_path("foreign.safetensors"), m, NULL), UAE_ERR_FORMAT,
                 "not a uaekit checkpoint", "a foreign file");
    expect_error(uae_checkpoint_load(tmp_path("absent.safetensors"), m, NULL), UAE_ERR_IO,
                 "absent.safetensors", "a missing file");

    /* m must still be its own initialisation. */
    uae_model *fresh = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 3, &fresh));
    if (fresh)
        CHECK(same_state(m, fresh, "failed loads"), "a failed load left the model unchanged");
    uae_model_free(fresh);
done:
    uae_model_free(twin);
    uae_model_free(m);
    uae_model_free(a);
}

/* ---- Resume ---------------------------------------------------------------------------------- */

/* Trains `epochs` epochs at once, and `split` epochs + a fresh model loaded from the checkpoint +
 * the rest; the two must end with the same bits. */
static void check_resume(uae_backend *be, const uae_dataset *ds, const uae_dataset *test,
                         const char *preset, int epochs, int split) {
    int failures_before = failures;
    uae_model_config cfg = small_config(preset);
    uae_model *whole = NULL, *first = NULL, *second = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 5, &whole));
    CHECK_OK(uae_model_create(be, &cfg, 5, &first));
    CHECK_OK(uae_model_create(be, &cfg, 6, &second)); /* another init: all of it must be loaded */
    if (!whole || !first || !second) goto done;
    uae_train_options o = quiet_options(&cfg, epochs);
    o.test = test; /* evaluation between epochs must not disturb anything */
    char whole_path[128], part_path[128];
    snprintf(whole_path, sizeof whole_path, "%s", tmp_path("whole.safetensors"));
    snprintf(part_path, sizeof part_path, "%s", tmp_path("part.safetensors"));
    o.checkpoint = whole_path;
    uae_train_stats sw, s2;
    CHECK_OK(uae_train_run(whole, ds, &o, &sw));

    o.epochs = split;
    o.checkpoint = part_path;
    CHECK_OK(uae_train_run(first, ds, &o, NULL));
    uae_checkpoint_info info;
    CHECK_OK(uae_checkpoint_load(o.checkpoint, second, &info));
    o.epochs = epochs;
    o.resume = &info;
    CHECK(info.epoch == split, "%s: the checkpoint is at epoch %lld", preset,
          (long long)info.epoch);
    CHECK_OK(uae_train_run(second, ds, &o, &s2));
    CHECK(same_state(whole, second, preset), "%s: resumed after epoch %d of %d: not the same bits",
          preset, split, epochs);
    CHECK(memcmp(&sw.train_loss, &s2.train_loss, sizeof sw.train_loss) == 0 &&
          memcmp(&sw.test.loss, &s2.test.loss, sizeof sw.test.loss) == 0,
          "%s: last epoch's losses %.9g / %.9g vs %.9g / %.9g", preset, sw.train_loss,
          sw.test.loss, s2.train_loss, s2.test.loss);
    if (failures == failures_before)
        printf("ok   resume %-12s %d epochs, split after %d: identical bits (test loss %.4f)\n",
           preset, epochs, split, sw.test.loss);
done:
    uae_model_free(whole);
    uae_model_free(first);
    uae_model_free(second);
}

/* ---- Micro-batches ----------------------------------------------------------------------------
 * The batch gradient as the ordered sum of its parts' gradients (uae_model_micro_gradient): the
 * same mean loss, so the run ends near the whole-batch run, differing by the rounding of another
 * order of additions; and a part draws the dropout masks its rows draw in the whole batch (the
 * classifier's dropout 0.5 and the concrete AE's 0.1 would move the result far otherwise). */

/* Largest |a - b| / (1 + |a|) over the parameter values of two models. */
static double value_gap(uae_model *a, uae_model *b) {
    int64_t na, nb;
    float *ha = snapshot(a, &na), *hb = snapshot(b, &nb);
    int64_t k = uae_tensor_numel(uae_params_flat(uae_model_params(a)));
    double gap = na == nb ? 0.0 : INFINITY;
    for (int64_t i = 0; i < k && na == nb; i++) {
        double d = fabs((double)ha[i] - (double)hb[i]) / (1.0 + fabs((double)ha[i]));
        if (!(d <= gap)) gap = d; /* NaN too */
    }
    free(ha);
    free(hb);
    return gap;
}

static void check_micro_batches(uae_backend *be, const uae_dataset *ds, const char *preset,
                                int64_t micro) {
    int failures_before = failures;
    uae_model_config cfg = small_config(preset);
    uae_model *whole = NULL, *one = NULL, *parts = NULL, *again = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 5, &whole));
    CHECK_OK(uae_model_create(be, &cfg, 5, &one));
    CHECK_OK(uae_model_create(be, &cfg, 5, &parts));
    CHECK_OK(uae_model_create(be, &cfg, 5, &again));
    if (!whole || !one || !parts || !again) goto done;
    uae_train_options o = quiet_options(&cfg, 2);
    uae_train_stats sw, sp, sa;
    CHECK_OK(uae_train_run(whole, ds, &o, &sw));
    o.micro_batch = o.batch; /* one part: the plain step, bit for bit */
    CHECK_OK(uae_train_run(one, ds, &o, NULL));
    CHECK(same_state(whole, one, preset), "%s: --micro-batch = batch is not the plain step",
          preset);
    o.micro_batch = micro;
    CHECK_OK(uae_train_run(parts, ds, &o, &sp));
    CHECK_OK(uae_train_run(again, ds, &o, &sa));
    CHECK(same_state(parts, again, preset), "%s: micro-batches of %lld: a rerun differs", preset,
          (long long)micro);
    /* 6 steps of float32 sums in another order: differences of a few ulps per step, which the
     * optimizers' divisions (Adam, RMSprop, Adadelta) can grow where a gradient is near 0; a
     * wrong dropout mask or a wrong scale moves values by 1e-2 and more. */
    double gap = value_gap(whole, parts);
    CHECK(gap < 1e-4, "%s: micro-batches of %lld end %.3g (relative) from the whole batch",
          preset, (long long)micro, gap);
    CHECK(fabs(sw.train_loss - sp.train_loss) <= 1e-5 * (1.0 + fabs(sw.train_loss)),
          "%s: train loss %.9g whole, %.9g in micro-batches", preset, sw.train_loss,
          sp.train_loss);
    if (failures == failures_before)
        printf("ok   micro-batches of %lld %-12s within %.2g of the whole batch, reruns "
               "identical\n", (long long)micro, preset, gap);
done:
    uae_model_free(whole);
    uae_model_free(one);
    uae_model_free(parts);
    uae_model_free(again);
}

/* The presets whose loss couples the rows refuse micro-batches; M must divide the batch. */
static void check_micro_refused(uae_backend *be, const uae_dataset *ds) {
    static const char *const coupled[] = {"sparse-ae", "aae", "simclr-small"};
    for (int i = 0; i < 3; i++) {
        uae_model_config cfg = small_config(coupled[i]);
        uae_model *m = NULL;
        CHECK_OK(uae_model_create(be, &cfg, 5, &m));
        if (!m) continue;
        uae_train_options o = quiet_options(&cfg, 1);
        o.micro_batch = 4;
        uae_status st = uae_train_run(m, ds, &o, NULL);
        CHECK(st == UAE_ERR_UNSUPPORTED && strstr(uae_last_error(), coupled[i]) &&
              strstr(uae_last_error(), "micro-batches"),
              "%s in micro-batches: %s (%s)", coupled[i], uae_status_name(st), uae_last_error());
        o.micro_batch = 0; /* the whole batch still trains */
        CHECK_OK(uae_train_run(m, ds, &o, NULL));
        uae_model_free(m);
    }
    uae_model_config cfg = small_config("dense-ae");
    uae_model *m = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 5, &m));
    uae_train_options o = quiet_options(&cfg, 1);
    o.micro_batch = 5; /* 16 rows */
    uae_status st = m ? uae_train_run(m, ds, &o, NULL) : UAE_OK;
    CHECK(st == UAE_ERR_INVALID && strstr(uae_last_error(), "divisor"),
          "micro-batches of 5 in batches of 16: %s (%s)", uae_status_name(st), uae_last_error());
    uae_model_free(m);
}

/* Copies a file (a checkpoint, to keep one that the run overwrites later). */
static void copy_file(const char *from, const char *to) {
    FILE *in = fopen(from, "rb"), *out = fopen(to, "wb");
    CHECK(in && out, "copy %s to %s", from, to);
    char buf[1 << 16];
    size_t n;
    while (in && out && (n = fread(buf, 1, sizeof buf, in)) > 0)
        CHECK(fwrite(buf, 1, n, out) == n, "write %s", to);
    if (in) fclose(in);
    if (out) fclose(out);
}

/* Keeps the checkpoint written after step `at` of the run (as a killed run would leave it). */
typedef struct keeper {
    int64_t steps, at;
    const char *from, *to;
} keeper;

static void keep_checkpoint(void *user, int epoch, int64_t done, int64_t n, float loss) {
    (void)epoch, (void)n, (void)loss;
    keeper *k = user;
    if (done == 0) return; /* an epoch starts */
    if (++k->steps == k->at) copy_file(k->from, k->to);
}

/* Like check_resume, but from a checkpoint written within an epoch, after step `at` of the run
 * (checkpoint_every = 1). */
static void check_resume_within(uae_backend *be, const uae_dataset *ds, const uae_dataset *test,
                                const char *preset, int epochs, int64_t at) {
    int failures_before = failures;
    uae_model_config cfg = small_config(preset);
    uae_model *whole = NULL, *second = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 5, &whole));
    CHECK_OK(uae_model_create(be, &cfg, 6, &second));
    if (!whole || !second) goto done;
    char run_path[128], kept_path[128];
    snprintf(run_path, sizeof run_path, "%s", tmp_path("every.safetensors"));
    snprintf(kept_path, sizeof kept_path, "%s", tmp_path("kept.safetensors"));
    uae_train_options o = quiet_options(&cfg, epochs);
    o.test = test;
    o.checkpoint = run_path;
    o.checkpoint_every = 1;
    keeper k = {0, at, run_path, kept_path};
    o.on_batch = keep_checkpoint;
    o.user = &k;
    uae_train_stats sw, s2;
    CHECK_OK(uae_train_run(whole, ds, &o, &sw));

    uae_checkpoint_info info;
    CHECK_OK(uae_checkpoint_load(kept_path, second, &info));
    int64_t per_epoch = (ds->n + cfg.batch - 1) / cfg.batch;
    CHECK(info.step == at && info.epoch == at / per_epoch && info.epoch_step == at % per_epoch &&
              info.epoch_step > 0,
          "%s: the checkpoint after step %lld says epoch %lld, step %lld, %lld steps into the "
          "next epoch", preset, (long long)at, (long long)info.epoch, (long long)info.step,
          (long long)info.epoch_step);
    o.checkpoint = tmp_path("rest.safetensors");
    o.checkpoint_every = 0;
    o.on_batch = NULL;
    o.resume = &info;
    CHECK_OK(uae_train_run(second, ds, &o, &s2));
    CHECK(same_state(whole, second, preset), "%s: resumed within an epoch after step %lld: not "
          "the same bits", preset, (long long)at);
    CHECK(memcmp(&sw.train_loss, &s2.train_loss, sizeof sw.train_loss) == 0,
          "%s: the last epoch's mean train loss %.17g vs %.17g", preset, sw.train_loss,
          s2.train_loss);
    if (failures == failures_before)
        printf("ok   resume %-12s %d epochs, within an epoch after step %lld: identical bits\n",
               preset, epochs, (long long)at);
done:
    uae_model_free(whole);
    uae_model_free(second);
}

/* ---- Learning and the log -------------------------------------------------------------------- */

typedef struct losses {
    double v[64];
    int n;
} losses;

static void record(void *user, const uae_train_stats *s) {
    losses *l = user;
    if (l->n < 64) l->v[l->n++] = s->train_loss;
}

static void test_loss_falls_and_log(uae_backend *be, const uae_dataset *ds,
                                    const uae_dataset *test) {
    uae_model_config cfg = small_config("dense-ae");
    uae_model *m = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 1, &m));
    if (!m) return;
    enum { EPOCHS = 12 };
    uae_train_options o = quiet_options(&cfg, EPOCHS);
    o.test = test;
    o.val = test;
    char log_path[128];
    snprintf(log_path, sizeof log_path, "%s", tmp_path("train.jsonl"));
    o.log_path = log_path;
    losses l = {{0}, 0};
    o.on_epoch = record;
    o.user = &l;
    uae_train_stats last;
    CHECK_OK(uae_train_run(m, ds, &o, &last));
    /* Twelve epochs of RMSprop at lr 0.0025 take this set's reconstruction MSE from ~0.2 (a random
     * sigmoid decoder) to a fraction of it; asking for a fall by a third leaves a wide margin for
     * rounding and catches a loop that does not train (a ratio ~1). */
    CHECK(l.n == EPOCHS && l.v[EPOCHS - 1] < l.v[0] * (2.0 / 3.0),
          "the loss falls: %.4f -> %.4f over %d epochs", l.v[0], l.v[l.n - 1], l.n);
    CHECK(last.epoch == EPOCHS && isfinite(last.test.mse) && isnan(last.test.accuracy) &&
              last.test.n == test->n && last.val.n == test->n,
          "last epoch's statistics: epoch %d, test n %lld mse %g accuracy %g", last.epoch,
          (long long)last.test.n, last.test.mse, last.test.accuracy);
    if (failures == 0)
        printf("ok   dense-ae loss %.4f -> %.4f in %d epochs\n", l.v[0], l.v[l.n - 1], l.n);

    /* The log: a start line, one per epoch, a final one; each a JSON object. */
    FILE *f = fopen(o.log_path, "r");
    CHECK(f != NULL, "the log %s exists", o.log_path);
    int epochs = 0, starts = 0, finals = 0, lines = 0;
    char line[8192];
    while (f && fgets(line, sizeof line, f)) {
        lines++;
        json_t *j = json_loads(line, 0, NULL);
        const char *ev = json_string_value(json_object_get(j, "event"));
        CHECK(ev != NULL, "log line %d is a JSON object with an event: %s", lines, line);
        if (ev && strcmp(ev, "epoch") == 0) {
            epochs++;
            CHECK(json_integer_value(json_object_get(j, "epoch")) == epochs &&
                      json_is_real(json_object_get(j, "train_loss")) &&
                      json_is_real(json_object_get(j, "test_mse")) &&
                      json_is_real(json_object_get(j, "val_loss")) &&
                      !json_object_get(j, "test_accuracy"),
                  "epoch line %d: %s", epochs, line);
        }
        if (ev && strcmp(ev, "start") == 0) starts++;
        if (ev && strcmp(ev, "final") == 0) finals++;
        json_decref(j);
    }
    if (f) fclose(f);
    CHECK(starts == 1 && epochs == EPOCHS && finals == 1 && lines == EPOCHS + 2,
          "log: %d start, %d epoch, %d final lines", starts, epochs, finals);

    /* uae_train_evaluate agrees with the loop's last evaluation (same batches, same sums). */
    uae_eval_stats e;
    CHECK_OK(uae_train_evaluate(m, test, cfg.batch, o.seed, &e));
    CHECK(e.n == test->n && e.loss == last.test.loss && e.mse == last.test.mse,
          "evaluate: loss %.9g mse %.9g, the loop said %.9g %.9g", e.loss, e.mse, last.test.loss,
          last.test.mse);
    float *y = NULL;
    int64_t dim = 0;
    CHECK_OK(uae_train_predict(m, test->x, 5, 2, &y, &dim));
    CHECK(y && dim == SIDE * SIDE, "predict: %lld values per image", (long long)dim);
    free(y);
    uae_model_free(m);
}

static void test_bad_input(uae_backend *be, const uae_dataset *ds) {
    uae_model_config cfg;
    CHECK_OK(uae_model_defaults("dense-ae", 1, 8, 8, 0, &cfg));
    uae_model *m = NULL;
    CHECK_OK(uae_model_create(be, &cfg, 1, &m));
    if (!m) return;
    uae_train_options o = quiet_options(&cfg, 1);
    expect_error(uae_train_run(m, ds, &o, NULL), UAE_ERR_SHAPE, "16 x 16", "data of another shape");
    o.epochs = 0;
    expect_error(uae_train_run(m, ds, &o, NULL), UAE_ERR_INVALID, "0 epochs", "zero epochs");
    uae_model_free(m);
    uae_model_config cc = small_config("classifier");
    CHECK_OK(uae_model_create(be, &cc, 1, &m));
    if (!m) return;
    uae_dataset unlabelled = *ds;
    unlabelled.y = NULL;
    o = quiet_options(&cc, 1);
    expect_error(uae_train_run(m, &unlabelled, &o, NULL), UAE_ERR_INVALID, "labels",
                 "a classifier without labels");
    uae_model_free(m);
}

int main(void) {
    snprintf(dir, sizeof dir, "/tmp/uae_test_train_XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    uae_backend *be;
    if (uae_backend_open("cpu", &be) != UAE_OK) {
        fprintf(stderr, "cpu backend: %s\n", uae_last_error());
        return 1;
    }
    uae_dataset train = make_data(N_IMAGES, 1), test = make_data(20, 2);
    test_config_json();
    test_round_trip(be, &train);
    test_load_errors(be, &train);
    test_bad_input(be, &train);
    test_loss_falls_and_log(be, &train, &test);
    /* Each preset family with state of its own (see the top of the file). */
    check_resume(be, &train, &test, "dense-ae", 3, 1);
    check_resume(be, &train, &test, "sparse-ae", 3, 2);
    check_resume(be, &train, &test, "conv-ae", 2, 1);
    check_resume(be, &train, &test, "classifier", 2, 1);
    check_resume(be, &train, &test, "aae", 2, 1);
    check_resume(be, &train, &test, "concrete-ae", 3, 1);
    check_resume(be, &train, &test, "simclr-small", 2, 1);
    /* Within an epoch (48 examples in batches of 16: 3 steps per epoch). */
    check_resume_within(be, &train, &test, "dense-ae", 2, 2);
    check_resume_within(be, &train, &test, "classifier", 2, 4);
    check_resume_within(be, &train, &test, "aae", 2, 1);
    /* 48 examples in batches of 16: parts of 4, 8 and 2. */
    check_micro_batches(be, &train, "dense-ae", 4);
    check_micro_batches(be, &train, "conv-ae", 4);
    check_micro_batches(be, &train, "classifier", 4);
    check_micro_batches(be, &train, "classifier", 8);
    check_micro_batches(be, &train, "concrete-ae", 2);
    check_micro_refused(be, &train);
    uae_backend_free(be);
    /* Resuming is bit-identical on an OpenCL device too (if there is one; PoCL in CI). */
    if (uae_backend_open("opencl", &be) == UAE_OK) {
        printf("on %s:\n", uae_backend_name(be));
        check_resume(be, &train, &test, "dense-ae", 3, 1);
        check_resume(be, &train, &test, "conv-ae", 2, 1);
        uae_backend_free(be);
    }
    uae_dataset_free(&train);
    uae_dataset_free(&test);

    /* Remove the temporary files. */
    static const char *const names[] = {
        "rt.safetensors", "good.safetensors", "missing.safetensors", "nostate.safetensors",
        "same.safetensors", "corrupt.safetensors", "short.safetensors", "foreign.safetensors",
        "whole.safetensors", "part.safetensors", "train.jsonl", "every.safetensors",
        "kept.safetensors", "rest.safetensors"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) unlink(tmp_path(names[i]));
    rmdir(dir);
    if (failures) {
        fprintf(stderr, "test_train: %d failure(s)\n", failures);
        return 1;
    }
    printf("test_train: all passed\n");
    return 0;
}
