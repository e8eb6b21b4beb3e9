/* models/attack_init.h — the attack's initial state object (uae_attack_init, uae/attack.h), as
 * models/attack_run.c reads it. Internal to models/. */
#ifndef UAE_ATTACK_INIT_H
#define UAE_ATTACK_INIT_H

#include "uae/attack.h"

#define UAE_INIT_MAX_PARAMS 16

struct uae_attack_init {
    uint64_t first;          /* global index of row 0 */
    int64_t n;               /* examples (rows) */
    int C, H, W;             /* one example */
    int64_t D;               /* C*H*W */
    float *delta0;           /* (n, D): the draw, before the projection onto the box */
    int64_t samples;         /* MINE samples per example (conv: the first layer's channels; random: M) */
    int sh, sw;              /* the shape of one sample (random: 1 x p) */
    int64_t draws;           /* permutations per example */
    float *perm;             /* (n, draws, samples) float indices */
    bool conv;               /* conv mode (else random projections) */
    int64_t proj_draws;      /* random mode: projection matrices (one per iteration) */
    int64_t proj_cols;       /* M * p */
    float *proj;             /* random mode: (proj_draws, D, M * p), shared by the examples */
    int nw;                  /* MINE parameters, in the store's order */
    char *wname[UAE_INIT_MAX_PARAMS];        /* the store's names ("x.conv.weight", ...) */
    int wndim[UAE_INIT_MAX_PARAMS];          /* file rank, with the leading n */
    int64_t wshape[UAE_INIT_MAX_PARAMS][6];  /* file shape: (n, per-example shape) */
    float *w[UAE_INIT_MAX_PARAMS];           /* (n, per-example floats) */
};

/* delta_0 of samples first .. first + B - 1 into delta (B, D) (before the projection): from init's
 * rows if init is not NULL (they must cover them: checked by the caller), else U(-l, l) from each
 * sample's stream of seed. The one place that decides where delta_0 comes from. */
uae_status uae_attack_init_delta0(const uae_attack_init *init, uint64_t seed, uint64_t first,
                                  int64_t B, float l, const uae_tensor *delta);

/* Random mode's projection matrix number draw (D, M * p) into P: from init if not NULL (the
 * caller checks draw < init->proj_draws), else N(0, 1) from (seed, the projection stream). */
uae_status uae_attack_init_projection(const uae_attack_init *init, uint64_t seed, uint64_t draw,
                                      const uae_tensor *P);

/* The MINE permutations an attack with cfg draws per example between resets. */
int64_t uae_attack_init_draws(const uae_attack_config *cfg);

#endif /* UAE_ATTACK_INIT_H */
