/* models/attack_track.h — the attack's success rule and the choice of the iterate it returns,
 * as pure functions (models/attack.c). Internal to models/ (attack_run.c; tests/test_attack.c
 * checks the rules on their own). */
#ifndef UAE_ATTACK_TRACK_H
#define UAE_ATTACK_TRACK_H

#include "uae/attack.h"

/* The success rule of one iterate. MinMax and penalty: the violation is exactly 0 and, unsupervised,
 * I > 0, supervised, I is not NaN. PGD: unsupervised, the loss went up (loss > loss_clean);
 * supervised, the margin's violation is 0. */
bool uae_attack_success(const uae_attack_config *cfg, float violation, float mi, float loss,
                        float loss_clean);

/* The slots a run keeps an iterate in (the attack keeps a copy of x' per slot on the device, in
 * this order, and one more row that takes the writes of neither). */
typedef enum uae_track_slot {
    UAE_TRACK_BEST,      /* the best successful iterate */
    UAE_TRACK_FALLBACK,  /* the iterate with the smallest violation */
    UAE_TRACK_SLOT_COUNT
} uae_track_slot;

typedef struct uae_attack_iterate {
    int iter;                        /* -1: the slot is empty */
    float violation, mi, loss;
} uae_attack_iterate;

/* Which iterate to return, tracked over a run. Unsupervised: among iterates with violation 0 and
 * I > 0, the one with the smallest I; supervised: among iterates with violation 0, the one with
 * the largest I; if there is none, the iterate with the smallest violation. Ties keep the first. */
typedef struct uae_attack_track {
    bool supervised;
    bool success;                                   /* some iterate met the success rule */
    uae_attack_iterate slot[UAE_TRACK_SLOT_COUNT];
} uae_attack_track;

void uae_attack_track_init(uae_attack_track *tr, bool supervised);

/* Offers iterate t with its violation (>= 0), I and loss; returns the bits (1u << slot) of the
 * slots it now fills (the caller keeps a copy of x' for each). */
unsigned uae_attack_track_offer(uae_attack_track *tr, int t, float violation, float mi, float loss);

/* The slot of the iterate to return: UAE_TRACK_BEST if some iterate succeeded, else
 * UAE_TRACK_FALLBACK. */
uae_track_slot uae_attack_track_selected(const uae_attack_track *tr);

#endif /* UAE_ATTACK_TRACK_H */
