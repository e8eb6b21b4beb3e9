/* tests/test_pin.c — the bits of a few fixed runs, pinned.
 *
 * Every other test compares with a tolerance (the reference within an NMSE, PyTorch within 1e-5,
 * another batch size within 1e-5), so a change that moves a result by one ulp passes them all. Yet
 * uaekit promises the same bits for the same inputs on one path (any thread count, any batch
 * split, a resumed run): a refactoring that claims "no change of results" should be able to show
 * it. This test runs three small fixed jobs on one backend and compares an FNV-1a 64 hash of their
 * outputs with tests/golden/pins.txt:
 *
 *   attack      the MinMax attack on an untrained conv-ae (MINE on the first layer's maps), x'
 *               and every sample's result (I, the two losses, success, selected iterate);
 *   attack-rp   the same with random-projection samples;
 *   train       three conv-ae and two classifier training steps: the losses and every parameter.
 *
 * Usage: test_pin --device ref|cpu [--pins FILE] [--regenerate]
 * The pinned path is "ref", or "cpu-<isa>" with the instruction set forced by $UAE_CPU_ISA (a
 * set this processor lacks: skipped, exit 77). A mismatch names the job and both hashes. When a
 * change of bits is intended (a new summation order, a new kernel), regenerate the path's lines
 * and say why in the commit:
 *     for p in ref generic avx2 avx512; do ...; done   # see tests/meson.build, rows pin_*
 *     build/tests/test_pin --device cpu --regenerate   (with UAE_CPU_ISA set), or --device ref
 * The bits depend on the compiler and libm as well (Debian 12's gcc 12 and glibc 2.36 here); a
 * mismatch on another toolchain with every other test passing means a new toolchain, not a bug. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/attack.h"
#include "uae/model.h"
#include "uae/rng.h"
#include "tests/test_util.h"

#ifndef PINS_FILE
#define PINS_FILE "tests/golden/pins.txt"
#endif

/* ---- hashing ---------------------------------------------------------------------------------- */

typedef struct hash {
    uint64_t h;
} hash;

static void hash_bytes(hash *s, const void *p, size_t n) {
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        s->h ^= b[i];
        s->h *= 1099511628211ull; /* FNV-1a 64 prime */
    }
}

static hash hash_new(void) { return (hash){14695981039346656037ull}; /* offset basis */ }

static void hash_floats(hash *s, const float *x, int64_t n) { hash_bytes(s, x, (size_t)n * sizeof *x); }

static void hash_results(hash *s, const uae_attack_result *r, int64_t B) {
    for (int64_t b = 0; b < B; b++) {
        float f[3] = {r[b].mi, r[b].loss_clean, r[b].loss_adv};
        int32_t i[2] = {r[b].success, r[b].selected_iter};
        hash_floats(s, f, 3);
        hash_bytes(s, i, sizeof i);
    }
}

/* ---- the jobs --------------------------------------------------------------------------------- */

enum { C = 1, H = 16, W = 16, D = C * H * W, B = 3, N_TRAIN = 16, CLASSES = 4 };

/* n images of smooth blobs with noise in [0, 1], from the counter-based RNG (same on every
 * machine). */
static float *images(int64_t n, uint64_t seed) {
    float *x = malloc((size_t)(n * D) * sizeof *x);
    if (!x) exit(1);
    for (int64_t b = 0; b < n; b++)
        for (int64_t i = 0; i < D; i++) {
            int64_t r = i / W, c = i % W;
            float u = uae_rng_uniform01(seed, (uint64_t)b, (uint64_t)i);
            float s = 0.5f + 0.35f * sinf(0.7f * (float)r + (float)b) * cosf(0.5f * (float)c);
            float v = 0.8f * s + 0.2f * u;
            x[b * D + i] = v < 0.0f ? 0.0f : v > 1.0f ? 1.0f : v;
        }
    return x;
}

static uae_model *model(uae_backend *be, const char *preset) {
    uae_model_config mc;
    TRY(uae_model_defaults(preset, C, H, W, CLASSES, &mc));
    uae_model *m;
    TRY(uae_model_create(be, &mc, 7, &m));
    return m;
}

static uint64_t job_attack(uae_backend *be, bool random_proj) {
    uae_model *m = model(be, "conv-ae");
    uae_attack_config ac;
    TRY(uae_attack_defaults(UAE_MODEL_AUTOENCODER, &ac));
    ac.iterations = random_proj ? 4 : 6;
    ac.mine_steps = 3;
    ac.mine.hidden = 16;
    ac.mine.opt.p.lr = 1e-3f;
    ac.c0 = 1000.0f; /* some samples succeed, some do not: the selection rules take part */
    ac.seed = 23;
    if (random_proj) {
        ac.samples = UAE_ATTACK_SAMPLES_RANDOM;
        ac.proj_count = 16;
        ac.proj_dim = 8;
    }
    float *x = images(B, 5), *xa = malloc((size_t)(B * D) * sizeof *xa);
    uae_attack_result r[B];
    TRY(uae_attack_run(m, &ac, x, NULL, 40, B, xa, r));
    hash s = hash_new();
    hash_floats(&s, xa, B * D);
    hash_results(&s, r, B);
    free(x);
    free(xa);
    uae_model_free(m);
    return s.h;
}

/* steps training steps of preset on batches of 8 of N_TRAIN images (and one-hot labels i % 4);
 * hashes each step's loss and then every parameter. */
static void train_preset(uae_backend *be, const char *preset, int steps, hash *s) {
    uae_model *m = model(be, preset);
    uae_arena *ar;
    uae_tape *t;
    TRY(uae_arena_create(be, 1 << 20, &ar));
    TRY(uae_tape_create(ar, &t));
    float *hx = images(N_TRAIN, 9), ho[N_TRAIN * CLASSES] = {0};
    for (int i = 0; i < N_TRAIN; i++) ho[i * CLASSES + i % CLASSES] = 1.0f;
    uae_tensor x, o;
    TRY(uae_arena_tensor4(ar, N_TRAIN, C, H, W, &x));
    TRY(uae_arena_tensor2(ar, N_TRAIN, CLASSES, &o));
    TRY(uae_tensor_write(&x, hx));
    TRY(uae_tensor_write(&o, ho));
    for (int step = 0; step < steps; step++) {
        uae_tensor xb, ob;
        TRY(uae_tensor_slice(&x, (step * 8) % N_TRAIN, 8, &xb));
        TRY(uae_tensor_slice(&o, (step * 8) % N_TRAIN, 8, &ob));
        uae_batch b = {.x = &xb, .onehot = &ob, .seed = 3, .step = (uint64_t)step, .training = true};
        float loss;
        TRY(uae_model_train_step(m, t, &b, &loss));
        hash_floats(s, &loss, 1);
    }
    const uae_tensor *flat = uae_params_flat(uae_model_params(m));
    int64_t n = uae_tensor_numel(flat);
    float *p = malloc((size_t)n * sizeof *p);
    TRY(uae_tensor_read(flat, p));
    hash_floats(s, p, n);
    free(p);
    free(hx);
    uae_tape_free(t);
    uae_arena_free(ar);
    uae_model_free(m);
}

static uint64_t job_train(uae_backend *be) {
    hash s = hash_new();
    train_preset(be, "conv-ae", 3, &s);
    train_preset(be, "classifier", 2, &s);
    return s.h;
}

/* ---- the pins file ---------------------------------------------------------------------------- */

/* The pinned hash of (job, path) from the file into *h; false if the file has no such line. */
static bool pinned(const char *file, const char *job, const char *path, uint64_t *h) {
    FILE *f = fopen(file, "r");
    if (!f) return false;
    char line[256], j[64], p[64];
    unsigned long long v;
    bool found = false;
    while (!found && fgets(line, sizeof line, f))
        if (line[0] != '#' && sscanf(line, "%63s %63s %llx", j, p, &v) == 3 && !strcmp(j, job) &&
            !strcmp(p, path)) {
            *h = v;
            found = true;
        }
    fclose(f);
    return found;
}

/* Rewrites the file with this path's lines replaced by got[] (the other paths' lines and the
 * comments kept in place; this path's lines appended where missing). */
static int regenerate(const char *file, const char *path, const char *const *jobs,
                      const uint64_t *got, int n) {
    char *keep = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&keep, &len);
    FILE *f = fopen(file, "r");
    if (!mem) return 1;
    char line[256], j[64], p[64];
    if (f) {
        while (fgets(line, sizeof line, f))
            if (line[0] == '#' || sscanf(line, "%63s %63s", j, p) != 2 || strcmp(p, path)) fputs(line, mem);
        fclose(f);
    }
    for (int i = 0; i < n; i++) fprintf(mem, "%s %s %016llx\n", jobs[i], path, (unsigned long long)got[i]);
    fclose(mem);
    f = fopen(file, "w");
    if (!f || fwrite(keep, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "cannot write %s\n", file);
        free(keep);
        return 1;
    }
    free(keep);
    printf("%s: %d lines of path %s written\n", file, n, path);
    return 0;
}

int main(int argc, char **argv) {
    const char *device = NULL, *file = PINS_FILE;
    bool regen = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) device = argv[++i];
        else if (!strcmp(argv[i], "--pins") && i + 1 < argc) file = argv[++i];
        else if (!strcmp(argv[i], "--regenerate")) regen = true;
        else device = NULL, i = argc;
    }
    if (!device || (strcmp(device, "ref") && strcmp(device, "cpu"))) {
        fprintf(stderr, "usage: test_pin --device ref|cpu [--pins FILE] [--regenerate]\n");
        return 2;
    }
    char path[64] = "ref";
    if (!strcmp(device, "cpu")) {
        const char *isa = getenv("UAE_CPU_ISA");
        if (!isa || !*isa) {
            fprintf(stderr, "test_pin --device cpu pins one instruction-set path: set UAE_CPU_ISA\n");
            return 2;
        }
        snprintf(path, sizeof path, "cpu-%s", isa);
    }
    uae_backend *be;
    uae_status st = uae_backend_open(device, &be);
    if (st == UAE_ERR_UNSUPPORTED) {
        printf("%s\n", uae_last_error());
        test_skip("this processor does not run the path");
        return test_exit();
    }
    TRY(st);
    const char *const jobs[] = {"attack", "attack-rp", "train"};
    uint64_t got[3] = {job_attack(be, false), job_attack(be, true), job_train(be)};
    uae_backend_free(be);
    if (regen) return regenerate(file, path, jobs, got, 3);
    for (int i = 0; i < 3; i++) {
        uint64_t want;
        if (!pinned(file, jobs[i], path, &want)) {
            CHECK(false, "%s has no pin for %s on %s (got %016llx): regenerate it (see the top of "
                  "tests/test_pin.c)", file, jobs[i], path, (unsigned long long)got[i]);
            continue;
        }
        printf("%-9s %-11s %016llx (pinned %016llx)\n", jobs[i], path, (unsigned long long)got[i],
               (unsigned long long)want);
        CHECK(got[i] == want, "%s on %s: the bits changed (hash %016llx, pinned %016llx); if "
              "intended, regenerate and say why in the commit", jobs[i], path,
              (unsigned long long)got[i], (unsigned long long)want);
    }
    return test_exit();
}
