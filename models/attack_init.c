/* models/attack_init.c — the attack's initial state (uae_attack_init): drawn from the seed exactly
 * as uae_attack_run draws it, written to and read from a safetensors file whose layout
 * docs/method.md documents ("The attack's initial state"), so that another implementation can
 * start from uaekit's state and compare every iterate. */
#include "attack_init.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mine_streams.h"
#include "uae/io.h"

uae_status uae_attack_init_delta0(const uae_attack_init *init, uint64_t seed, uint64_t first,
                                  int64_t B, float l, const uae_tensor *delta) {
    if (init) return uae_tensor_write(delta, init->delta0 + (int64_t)(first - init->first) * init->D);
    for (int64_t b = 0; b < B; b++) {
        uae_tensor row;
        UAE_TRY(uae_tensor_slice(delta, b, 1, &row));
        UAE_TRY(uae_rng_fill(UAE_RNG_UNIFORM, seed, uae_stream_sub(UAE_STREAM_DELTA, first + (uint64_t)b, 0),
                             0, -l, l, &row));
    }
    return UAE_OK;
}

uae_status uae_attack_init_projection(const uae_attack_init *init, uint64_t seed, uint64_t draw,
                                      const uae_tensor *P) {
    uint64_t per_draw = (uint64_t)uae_tensor_numel(P);
    if (init) return uae_tensor_write(P, init->proj + draw * per_draw);
    return uae_rng_fill(UAE_RNG_NORMAL, seed, uae_stream_sub(UAE_STREAM_PROJ, 0, 0), draw * per_draw,
                        0.0f, 1.0f, P);
}

int64_t uae_attack_init_draws(const uae_attack_config *cfg) {
    /* warm-up steps, then per iteration the objective pass's bound and each MINE step's */
    return (int64_t)cfg->mine_warmup + (int64_t)cfg->iterations * (1 + (int64_t)cfg->mine_steps);
}

void uae_attack_init_free(uae_attack_init *init) {
    if (!init) return;
    free(init->delta0);
    free(init->perm);
    free(init->proj);
    for (int i = 0; i < init->nw; i++) {
        free(init->wname[i]);
        free(init->w[i]);
    }
    free(init);
}

/* The layout for n examples of cfg on model: sizes, and the MINE parameters' names and shapes from
 * an MINE network of S estimators made here (*mine_out, caller-owned; S = n to draw, 1 to load). */
static uae_status layout(uae_model *model, const uae_attack_config *cfg, uint64_t first, int64_t n,
                         int64_t S, uae_attack_init **out, uae_mine **mine_out) {
    *out = NULL;
    *mine_out = NULL;
    const uae_model_config *mc = uae_model_config_of(model);
    if (cfg->method == UAE_ATTACK_PGD)
        return uae_fail(UAE_ERR_UNSUPPORTED, "attack initial state: PGD has no MINE state (use "
                        "--attack minmax or binary-search)");
    if (n < 1) return uae_fail(UAE_ERR_INVALID, "attack initial state: %lld examples", (long long)n);
    uae_attack_init *in = calloc(1, sizeof *in);
    if (!in) return uae_fail(UAE_ERR_NOMEM, "attack initial state: out of host memory");
    in->first = first;
    in->n = n;
    in->C = mc->channels;
    in->H = mc->height;
    in->W = mc->width;
    in->D = (int64_t)in->C * in->H * in->W;
    in->draws = uae_attack_init_draws(cfg);
    in->conv = cfg->samples == UAE_ATTACK_SAMPLES_CONV && uae_model_has_first_layer(mc);
    uae_backend *be = uae_params_backend(uae_model_params(model));
    uae_arena *ar = NULL;
    uae_tape *t = NULL;
    uae_var **pv = calloc((size_t)uae_params_count(uae_model_params(model)) + 1, sizeof *pv);
    uae_tensor img;
    uae_status st = pv ? UAE_OK : UAE_ERR_NOMEM;
    if (!in->conv) {
        /* random mode: proj_count samples of proj_dim, one matrix (D, M*p) per iteration (the
         * penalty method draws on across its runs) */
        in->samples = cfg->proj_count;
        in->sh = 1;
        in->sw = cfg->proj_dim;
        in->proj_cols = (int64_t)cfg->proj_count * cfg->proj_dim;
        in->proj_draws = (int64_t)cfg->iterations *
                         (cfg->method == UAE_ATTACK_PENALTY ? cfg->search_steps : 1);
        if ((double)in->proj_draws * (double)in->D * (double)in->proj_cols > 268435456.0)
            st = uae_fail(UAE_ERR_INVALID, "attack initial state: random mode's %lld projection "
                          "matrices of %lld x %lld floats are over 1 GiB; lower --proj-count, "
                          "--proj-dim or --iterations", (long long)in->proj_draws,
                          (long long)in->D, (long long)in->proj_cols);
    }
    /* conv mode: the samples' shape from the first layer's output on one image */
    bool pass = st == UAE_OK && in->conv;
    if (pass) st = uae_arena_create(be, (size_t)1 << 20, &ar);
    if (pass && st == UAE_OK) st = uae_arena_tensor4(ar, 1, in->C, in->H, in->W, &img);
    if (pass && st == UAE_OK) st = uae_fill(&img, 0.0f);
    if (pass && st == UAE_OK) st = uae_tape_create(ar, &t);
    if (pass && st == UAE_OK) {
        uae_tape_set_recording(t, false);
        st = uae_model_bind(model, t, false, pv);
    }
    if (pass && st == UAE_OK) {
        uae_var *f = uae_model_first_layer(model, t, pv, uae_ad_const(t, &img));
        st = uae_tape_status(t);
        if (st == UAE_OK && f) {
            const uae_tensor *F = uae_ad_value(f);
            in->samples = F->shape[1];
            in->sh = (int)F->shape[2];
            in->sw = (int)F->shape[3];
        }
    }
    uae_tape_free(t);
    uae_arena_free(ar);
    free(pv);
    if (st == UAE_OK && in->samples < 1)
        st = uae_fail(UAE_ERR_UNSUPPORTED, "model '%s' gives no first-layer samples", mc->preset);
    uae_mine_config mcfg = cfg->mine;
    mcfg.net = in->conv ? UAE_MINE_NET_CONV : UAE_MINE_NET_DENSE;
    uae_mine *m = NULL;
    if (st == UAE_OK) st = uae_mine_create(be, &mcfg, S, in->samples, 1, in->sh, in->sw, &m);
    uae_params *P = m ? uae_mine_store(m) : NULL;
    if (st == UAE_OK && uae_params_count(P) > UAE_INIT_MAX_PARAMS)
        st = uae_fail(UAE_ERR_INVALID, "attack initial state: %d MINE tensors", uae_params_count(P));
    for (int i = 0; st == UAE_OK && i < uae_params_count(P); i++) {
        const uae_tensor *v = uae_params_value(P, i);
        in->wname[i] = strdup(uae_params_name(P, i));
        if (!in->wname[i]) st = uae_fail(UAE_ERR_NOMEM, "attack initial state: out of memory");
        in->nw = i + 1;
        /* conv tensors (S*F, ...): (n, F, ...); dense (S, ...): (n, ...) */
        bool conv = v->shape[0] != S || strstr(in->wname[i], ".conv.") != NULL;
        in->wndim[i] = v->ndim + (conv ? 1 : 0);
        in->wshape[i][0] = n;
        if (conv) in->wshape[i][1] = v->shape[0] / S;
        for (int d = 1; d < v->ndim; d++) in->wshape[i][d + (conv ? 1 : 0)] = v->shape[d];
    }
    if (st != UAE_OK) {
        uae_mine_free(m);
        uae_attack_init_free(in);
        return uae_fail_context(st, "attack initial state");
    }
    *out = in;
    *mine_out = m;
    return UAE_OK;
}

static int64_t per_example(const uae_attack_init *in, int i) {
    int64_t k = 1;
    for (int d = 1; d < in->wndim[i]; d++) k *= in->wshape[i][d];
    return k;
}

/* Allocates the host arrays of in. */
static uae_status alloc_arrays(uae_attack_init *in) {
    in->delta0 = malloc((size_t)(in->n * in->D) * sizeof(float));
    in->perm = malloc((size_t)(in->n * in->draws * in->samples) * sizeof(float));
    if (in->proj_draws > 0)
        in->proj = malloc((size_t)(in->proj_draws * in->D * in->proj_cols) * sizeof(float));
    bool ok = in->delta0 && in->perm && (in->proj_draws == 0 || in->proj);
    for (int i = 0; i < in->nw && ok; i++)
        ok = (in->w[i] = malloc((size_t)(in->n * per_example(in, i)) * sizeof(float))) != NULL;
    return ok ? UAE_OK : uae_fail(UAE_ERR_NOMEM, "attack initial state: out of host memory for %lld "
                                  "examples", (long long)in->n);
}

uae_status uae_attack_init_draw(uae_model *model, const uae_attack_config *cfg, uint64_t first,
                                int64_t n, uae_attack_init **out) {
    uae_attack_init *in;
    uae_mine *m;
    UAE_TRY(layout(model, cfg, first, n, n, &in, &m));
    uae_backend *be = uae_params_backend(uae_model_params(model));
    uae_arena *ar = NULL;
    uae_tensor delta;
    uae_status st = alloc_arrays(in);
    if (st == UAE_OK) st = uae_arena_create(be, (size_t)(n * in->D + 64), &ar);
    if (st == UAE_OK) st = uae_arena_tensor2(ar, n, in->D, &delta);
    if (st == UAE_OK)
        st = uae_attack_init_delta0(NULL, cfg->seed, first, n,
                                    uae_attack_delta0_limit(in->C, in->H, in->W), &delta);
    if (st == UAE_OK) st = uae_tensor_read(&delta, in->delta0);
    if (st == UAE_OK) st = uae_mine_reset(m, cfg->seed, first);
    for (int i = 0; i < in->nw && st == UAE_OK; i++)
        st = uae_tensor_read(uae_params_value(uae_mine_store(m), i), in->w[i]);
    if (st == UAE_OK) st = uae_mine_seed_permutations(m, cfg->seed, first, in->draws, in->perm);
    uae_arena_free(ar);
    ar = NULL;
    uae_tensor P;
    if (st == UAE_OK && in->proj_draws > 0) {
        st = uae_arena_create(be, (size_t)(in->D * in->proj_cols + 64), &ar);
        if (st == UAE_OK) st = uae_arena_tensor2(ar, in->D, in->proj_cols, &P);
        for (int64_t d = 0; d < in->proj_draws && st == UAE_OK; d++) {
            st = uae_attack_init_projection(NULL, cfg->seed, (uint64_t)d, &P);
            if (st == UAE_OK) st = uae_tensor_read(&P, in->proj + d * in->D * in->proj_cols);
        }
        uae_arena_free(ar);
    }
    uae_mine_free(m);
    if (st != UAE_OK) {
        uae_attack_init_free(in);
        return st;
    }
    *out = in;
    return UAE_OK;
}

uae_status uae_attack_init_save(const uae_attack_init *in, const char *path) {
    uae_st_tensor t[3 + UAE_INIT_MAX_PARAMS];
    char names[UAE_INIT_MAX_PARAMS][48];
    t[0] = (uae_st_tensor){"delta0", 4, {in->n, in->C, in->H, in->W}, in->delta0, UAE_ST_F32};
    t[1] = (uae_st_tensor){"perm", 3, {in->n, in->draws, in->samples}, in->perm, UAE_ST_F32};
    for (int i = 0; i < in->nw; i++) {
        snprintf(names[i], sizeof names[i], "mine.%s", in->wname[i]);
        t[2 + i] = (uae_st_tensor){.name = names[i], .ndim = in->wndim[i], .data = in->w[i]};
        for (int d = 0; d < in->wndim[i]; d++) t[2 + i].shape[d] = in->wshape[i][d];
    }
    if (in->proj_draws > 0)
        t[2 + in->nw] = (uae_st_tensor){"proj", 3, {in->proj_draws, in->D, in->proj_cols}, in->proj,
                                         UAE_ST_F32};
    char first[32];
    snprintf(first, sizeof first, "%" PRIu64, in->first);
    uae_st_meta meta[2] = {{"uae.format", "attack-init-1"}, {"uae.first", first}};
    return uae_safetensors_write(path, t, (size_t)(2 + in->nw + (in->proj_draws > 0)), meta, 2);
}

/* Reads tensor name, after checking that it is there with n examples (*its* example count in the
 * message), then that it is finite. */
static uae_status read_checked(const uae_safetensors *f, const char *path, const char *name,
                               int ndim, const int64_t *shape, float *dst) {
    bool found = false;
    for (size_t i = 0; i < uae_safetensors_count(f); i++) {
        uae_st_tensor info = uae_safetensors_info(f, i, NULL);
        if (strcmp(info.name, name) != 0) continue;
        found = true;
        if (info.ndim >= 1 && info.shape[0] != shape[0] && strcmp(name, "proj") != 0)
            return uae_fail(UAE_ERR_SHAPE, "%s: tensor '%s' holds %lld examples, this run attacks "
                            "%lld (write the file with the same --first and --n, or attack as "
                            "many)", path, name, (long long)info.shape[0], (long long)shape[0]);
    }
    if (!found)
        return uae_fail(UAE_ERR_INVALID, "%s: no tensor '%s' (an attack initial state from "
                        "`uae attack --dump-init` has it; docs/method.md lists the layout)", path, name);
    uae_status st = uae_safetensors_read(f, name, ndim, shape, dst);
    if (st != UAE_OK)
        return uae_fail_context(st, "%s: the initial state of other attack settings (--iterations, "
                                "--mine-steps, --mine-warmup, --mine-hidden, --mine-filters, "
                                "--samples, --proj-count, --proj-dim must be the dump's)", path);
    int64_t k = 1;
    for (int d = 0; d < ndim; d++) k *= shape[d];
    for (int64_t i = 0; i < k; i++)
        if (!isfinite(dst[i]))
            return uae_fail(UAE_ERR_FORMAT, "%s: tensor '%s' has a non-finite value (%g) at flat "
                            "index %lld", path, name, (double)dst[i], (long long)i);
    return UAE_OK;
}

uae_status uae_attack_init_load(const char *path, uae_model *model, const uae_attack_config *cfg,
                                uint64_t first, int64_t n, uae_attack_init **out) {
    *out = NULL;
    uae_attack_init *in;
    uae_mine *m;
    UAE_TRY(layout(model, cfg, first, n, 1, &in, &m));
    uae_mine_free(m);
    uae_safetensors *f = NULL;
    uae_status st = alloc_arrays(in);
    if (st == UAE_OK) st = uae_safetensors_open(path, &f);
    if (st == UAE_OK)
        st = read_checked(f, path, "delta0", 4, (int64_t[]){n, in->C, in->H, in->W}, in->delta0);
    if (st == UAE_OK)
        st = read_checked(f, path, "perm", 3, (int64_t[]){n, in->draws, in->samples}, in->perm);
    for (int i = 0; i < in->nw && st == UAE_OK; i++) {
        char name[48];
        snprintf(name, sizeof name, "mine.%s", in->wname[i]);
        st = read_checked(f, path, name, in->wndim[i], in->wshape[i], in->w[i]);
    }
    if (st == UAE_OK && in->proj_draws > 0)
        st = read_checked(f, path, "proj", 3, (int64_t[]){in->proj_draws, in->D, in->proj_cols},
                          in->proj);
    /* every permutation row a permutation of 0 .. samples-1 */
    size_t ns = in->samples > 0 ? (size_t)in->samples : 1;
    char *seen = st == UAE_OK ? malloc(ns) : NULL;
    if (st == UAE_OK && !seen) st = uae_fail(UAE_ERR_NOMEM, "attack initial state: out of memory");
    for (int64_t r = 0; r < n * in->draws && st == UAE_OK; r++) {
        memset(seen, 0, ns);
        const float *p = in->perm + r * in->samples;
        for (int64_t j = 0; j < in->samples && st == UAE_OK; j++) {
            float v = p[j];
            if (!(v >= 0.0f && v < (float)in->samples && v == floorf(v)) || seen[(int64_t)v]++)
                st = uae_fail(UAE_ERR_FORMAT, "%s: perm[%lld, %lld] is not a permutation of 0 .. "
                              "%lld (entry %lld is %g)", path, (long long)(r / in->draws),
                              (long long)(r % in->draws), (long long)in->samples - 1, (long long)j,
                              (double)v);
        }
    }
    free(seen);
    uae_safetensors_close(f);
    if (st != UAE_OK) {
        uae_attack_init_free(in);
        return st;
    }
    *out = in;
    return UAE_OK;
}
