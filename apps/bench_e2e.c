/* apps/bench_e2e.c — the end-to-end cases of uae-bench: a `conv-ae` training epoch and UAE
 * generation against a `conv-ae`, through the model and attack interfaces only (uae/model.h,
 * uae/attack.h). The images are synthetic (uniform noise in [0, 1]): the work of a training step
 * or an attack iteration does not depend on the pixel values, and the bench needs no dataset.
 * Timing only; neither the loss nor what the attack finds is looked at. */
#include <stdlib.h>
#include <string.h>

#include "bench.h"
#include "uae/attack.h"
#include "uae/autodiff.h"
#include "uae/model.h"

struct bench_e2e {
    const bench_case *c;
    uae_model *model;
    uae_arena *data, *scratch;  /* training: the images; the tape's values and gradients */
    uae_tape *tape;
    uae_tensor x;               /* training: (images, 1, 28, 28) on the device */
    uint64_t step;              /* training: optimizer steps so far (dropout masks etc. use it) */
    float *hx, *hadv;           /* generation: (B, 1, 28, 28) on the host, as uae_attack_run takes */
    uae_attack_result *res;     /* generation: B results */
    uae_attack_config ac;
    uint64_t seed;
};

void bench_e2e_free(bench_e2e *e) {
    if (!e) return;
    uae_tape_free(e->tape);
    uae_arena_free(e->scratch);
    uae_arena_free(e->data);
    uae_model_free(e->model);
    free(e->hx);
    free(e->hadv);
    free(e->res);
    free(e);
}

static uae_status random_images(uint64_t *seed, int64_t n, float **out) {
    *out = malloc((size_t)n * 784 * sizeof **out);
    if (!*out) return uae_fail(UAE_ERR_NOMEM, "bench: no host memory for %lld images", (long long)n);
    for (int64_t i = 0; i < n * 784; i++) (*out)[i] = bench_uniform(seed, 0, 1);
    return UAE_OK;
}

static uae_status create(const bench_case *c, uae_backend *be, uint64_t seed, bench_e2e *e) {
    uae_model_config cfg;
    UAE_TRY(uae_model_defaults("conv-ae", 1, 28, 28, 10, &cfg));
    if (c->op == BENCH_OP_TRAIN_CONV_AE) cfg.batch = (int)c->u.train.batch;
    UAE_TRY(uae_model_create(be, &cfg, seed, &e->model));
    uint64_t s = seed;
    if (c->op == BENCH_OP_UAE_GEN) {
        UAE_TRY(uae_attack_defaults(UAE_MODEL_AUTOENCODER, &e->ac));
        e->ac.iterations = c->u.gen.iterations;
        e->ac.mine_steps = c->u.gen.mine_steps;
        e->ac.seed = seed;
        UAE_TRY(random_images(&s, c->u.gen.b, &e->hx));
        e->hadv = malloc((size_t)c->u.gen.b * 784 * sizeof *e->hadv);
        e->res = calloc((size_t)c->u.gen.b, sizeof *e->res);
        if (!e->hadv || !e->res) return uae_fail(UAE_ERR_NOMEM, "bench: out of host memory");
        return UAE_OK;
    }
    float *host;
    UAE_TRY(random_images(&s, c->u.train.images, &host));
    uae_status st = uae_arena_create(be, (size_t)c->u.train.images * 784, &e->data);
    if (st == UAE_OK) st = uae_arena_tensor4(e->data, c->u.train.images, 1, 28, 28, &e->x);
    if (st == UAE_OK) st = uae_tensor_write(&e->x, host);
    free(host);
    UAE_TRY(st);
    /* 16 Mi floats per chunk: a step's activations and gradients at batch 100 fit in one. */
    UAE_TRY(uae_arena_create(be, (size_t)1 << 24, &e->scratch));
    return uae_tape_create(e->scratch, &e->tape);
}

uae_status bench_e2e_create(const bench_case *c, uae_backend *be, uint64_t seed, bench_e2e **out) {
    *out = NULL;
    bench_e2e *e = calloc(1, sizeof *e);
    if (!e) return uae_fail(UAE_ERR_NOMEM, "bench: out of host memory");
    e->c = c;
    e->seed = seed;
    uae_status st = create(c, be, seed, e);
    if (st != UAE_OK) {
        bench_e2e_free(e);
        return st;
    }
    *out = e;
    return UAE_OK;
}

/* One run: an epoch over the images (whole batches only), or one uae_attack_run of B images. */
uae_status bench_e2e_run(bench_e2e *e) {
    const bench_case *c = e->c;
    if (c->op == BENCH_OP_UAE_GEN)
        return uae_attack_run(e->model, &e->ac, e->hx, NULL, 0, c->u.gen.b, e->hadv, e->res);
    int64_t batch = c->u.train.batch;
    for (int64_t first = 0; first + batch <= c->u.train.images; first += batch) {
        uae_tensor xb;
        UAE_TRY(uae_tensor_slice(&e->x, first, batch, &xb));
        uae_batch b = {.x = &xb, .seed = e->seed, .step = e->step++, .training = true};
        float loss;
        UAE_TRY(uae_model_train_step(e->model, e->tape, &b, &loss));
    }
    return UAE_OK;
}

size_t bench_e2e_arena_peak(const bench_e2e *e) {
    return e->scratch ? uae_arena_peak(e->scratch) * sizeof(float) : 0;
}
