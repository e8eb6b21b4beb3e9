/* models/attack.c — the attack's configuration, names and its rules as pure functions (the dual
 * update, the initial perturbation's scale, the success rule and the selection of the returned
 * iterate: attack_track.h). The loop that
 * runs an attack on a model is models/attack_run.c; docs/method.md derives the formulas. */
#include "uae/attack.h"
#include "attack_track.h"

#include "enum_names.h"
#include "uae/data.h"
#include "mine_streams.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

static const char *const method_names[] = {"minmax", "penalty", "pgd"};
_Static_assert(sizeof method_names / sizeof method_names[0] == UAE_ATTACK_METHOD_COUNT,
               "one name per method");
static const char *const samples_names[] = {"conv", "random"};
_Static_assert(sizeof samples_names / sizeof samples_names[0] == UAE_ATTACK_SAMPLES_COUNT,
               "one name per sample mode");

const char *uae_attack_method_name(uae_attack_method m) {
    return (unsigned)m < UAE_ATTACK_METHOD_COUNT ? method_names[m] : "(unknown)";
}

uae_status uae_attack_method_parse(const char *name, uae_attack_method *out) {
    int v;
    UAE_TRY(uae_enum_parse("attack method", method_names, UAE_ATTACK_METHOD_COUNT, name, &v));
    *out = (uae_attack_method)v;
    return UAE_OK;
}

const char *uae_attack_samples_name(uae_attack_samples s) {
    return (unsigned)s < UAE_ATTACK_SAMPLES_COUNT ? samples_names[s] : "(unknown)";
}

uae_status uae_attack_samples_parse(const char *name, uae_attack_samples *out) {
    int v;
    UAE_TRY(uae_enum_parse("MINE samples", samples_names, UAE_ATTACK_SAMPLES_COUNT, name, &v));
    *out = (uae_attack_samples)v;
    return UAE_OK;
}

uae_status uae_attack_defaults(uae_model_kind kind, uae_attack_config *cfg) {
    memset(cfg, 0, sizeof *cfg);
    /* Shared by the official unsupervised_attack.py, contrast_attack.py and supervised_attack.py */
    cfg->method = UAE_ATTACK_MINMAX;
    cfg->lr = 0.01f;
    cfg->eps = 1.0f;
    cfg->lo = 0.0f;
    cfg->hi = 1.0f;
    cfg->c0 = 1e-3f;
    cfg->dual_rate = 0.1f;
    cfg->dual_power = 0.25f;
    cfg->mine_steps = 20;
    cfg->mine_warmup = 0;
    cfg->samples = UAE_ATTACK_SAMPLES_CONV;
    cfg->proj_count = 500;
    cfg->proj_dim = 128;
    uae_mine_config_default(UAE_MINE_NET_CONV, &cfg->mine);
    cfg->search_steps = 9;
    cfg->pgd_eps = 0.1f;
    cfg->pgd_step = 0.01f;
    cfg->seed = 0;
    switch (kind) {
    case UAE_MODEL_AUTOENCODER:
        cfg->loss = UAE_ATTACK_LOSS_SSE;
        cfg->iterations = 40;
        return UAE_OK;
    case UAE_MODEL_CONTRASTIVE:
        cfg->loss = UAE_ATTACK_LOSS_MODEL;
        cfg->iterations = 20;
        cfg->dual_power = 0.5f;
        cfg->negatives_n = 254;
        return UAE_OK;
    case UAE_MODEL_CLASSIFIER:
        cfg->supervised = true;
        cfg->loss = UAE_ATTACK_LOSS_CW;
        cfg->iterations = 1000;
        cfg->mine_steps = 1;
        return UAE_OK;
    case UAE_MODEL_KIND_COUNT: break;
    }
    return uae_fail(UAE_ERR_INVALID, "attack defaults: unknown model kind %d", (int)kind);
}

uae_status uae_attack_pick_negatives(const float *x, int64_t n, int64_t d, uint64_t seed,
                                     int64_t negatives_n, float *out) {
    if (negatives_n < 1 || negatives_n > n)
        return uae_fail(UAE_ERR_INVALID, "contrastive negatives: %lld asked of a training set of "
                        "%lld examples (expected 1 to %lld)", (long long)negatives_n, (long long)n,
                        (long long)n);
    int64_t *perm = malloc((size_t)n * sizeof *perm);
    if (!perm) return uae_fail(UAE_ERR_NOMEM, "contrastive negatives: out of memory");
    /* the "epoch" of the shuffle is a stream of its own, far from any training epoch */
    uae_data_shuffle(n, seed, (uint64_t)UAE_STREAM_NEGATIVES << 56, perm);
    for (int64_t i = 0; i < negatives_n; i++)
        memcpy(out + i * d, x + perm[i] * d, (size_t)d * sizeof *out);
    free(perm);
    return UAE_OK;
}

/* The dual update. The attack solves  min_delta I(delta)  subject to  g(delta) <= 0,  with
 * g = max(0, l(x') - l(x)) the constraint violation, through the Lagrangian
 *     L(delta, c) = I(delta) + c g(delta),   c >= 0.
 * The primal player descends L in delta; the dual player ascends in c, on a regularised dual
 *     max_{c >= 0}  c g - (beta_t / 2) c^2,   beta_t = (t+1)^-p,
 * whose regulariser keeps c from growing without bound on a noisy g and fades as t grows. One
 * projected gradient-ascent step of size alpha = rate:
 *     c <- max(0, c + alpha (g - beta_t c)) = max(0, (1 - alpha (t+1)^-p) c + alpha g).
 * With g >= 0 and alpha (t+1)^-p <= 1 the max is never active; it is kept for other inputs. */
float uae_attack_dual_update(float c, float violation, int t, float rate, float power) {
    float decay = rate * powf((float)(t + 1), -power);
    float next = (1.0f - decay) * c + rate * violation;
    return next > 0.0f ? next : 0.0f;
}

float uae_attack_delta0_limit(int C, int H, int W) {
    /* TF's fans for a 4-D (1, H, W, C) variable, read as a conv kernel (kh = 1, kw = H, in = W,
     * out = C): receptive field 1*H, fan_in = W*H, fan_out = C*H. For 28x28x1: 0.0860. */
    return (float)sqrt(6.0 / ((double)H * W + (double)C * H));
}

/* Success as in the official code: the violation is exactly 0 (l(x') <= l(x) gives max(0, .) = 0
 * exactly), and for the unsupervised attack I > 0 (an estimate <= 0 means MINE has not learnt
 * anything yet, not that x' is independent of x). NaN never succeeds. */
static bool minmax_success(bool supervised, float violation, float mi) {
    return violation == 0.0f && (supervised ? !isnan(mi) : mi > 0.0f);
}

bool uae_attack_success(const uae_attack_config *cfg, float violation, float mi, float loss,
                        float loss_clean) {
    if (cfg->method == UAE_ATTACK_PGD)
        /* PGD succeeds when it hurt the model: the loss went up (unsupervised), or the margin
         * reached -kappa (supervised). */
        return cfg->supervised ? violation == 0.0f : loss > loss_clean;
    return minmax_success(cfg->supervised, violation, mi);
}

void uae_attack_track_init(uae_attack_track *tr, bool supervised) {
    memset(tr, 0, sizeof *tr);
    tr->supervised = supervised;
    for (int s = 0; s < UAE_TRACK_SLOT_COUNT; s++)
        tr->slot[s] = (uae_attack_iterate){.iter = -1, .violation = INFINITY, .mi = NAN, .loss = NAN};
}

unsigned uae_attack_track_offer(uae_attack_track *tr, int t, float violation, float mi, float loss) {
    unsigned bits = 0;
    uae_attack_iterate it = {.iter = t, .violation = violation, .mi = mi, .loss = loss};
    uae_attack_iterate *best = &tr->slot[UAE_TRACK_BEST], *fall = &tr->slot[UAE_TRACK_FALLBACK];
    if (minmax_success(tr->supervised, violation, mi)) {
        tr->success = true;
        if (best->iter < 0 || (tr->supervised ? mi > best->mi : mi < best->mi)) {
            *best = it;
            bits |= 1u << UAE_TRACK_BEST;
        }
    }
    if (violation < fall->violation) {
        *fall = it;
        bits |= 1u << UAE_TRACK_FALLBACK;
    }
    return bits;
}

uae_track_slot uae_attack_track_selected(const uae_attack_track *tr) {
    return tr->success ? UAE_TRACK_BEST : UAE_TRACK_FALLBACK;
}
