/* models/mine_streams.h — which counter-RNG stream each random number of the attack comes from.
 * Internal to models/ (mine.c, attack*.c). A stream is a 64-bit number; the top byte names the
 * purpose, so that purposes never share numbers, and the rest names the sample (its global index
 * in the dataset), so that a sample's numbers do not depend on the batch it is attacked in. */
#ifndef UAE_MINE_STREAMS_H
#define UAE_MINE_STREAMS_H

#include <stdint.h>

typedef enum uae_stream_purpose {
    UAE_STREAM_MINE_WEIGHTS = 0x4D, /* per-sample MINE initial weights; sub = parameter slot */
    UAE_STREAM_MINE_PERM = 0x50,    /* per-sample marginal permutations */
    UAE_STREAM_DELTA = 0x44,        /* the attack's initial perturbation */
    UAE_STREAM_PROJ = 0x52,         /* random-projection matrices (shared by all samples) */
    UAE_STREAM_NEGATIVES = 0x4E     /* contrastive: which training examples are the negatives */
} uae_stream_purpose;

/* Streams whose consecutive samples are consecutive numbers: UAE_OP_PERMUTATION gives row r the
 * stream (stream + r), so one op serves a batch of consecutive global indices. */
static inline uint64_t uae_stream_row(uae_stream_purpose p, uint64_t index) {
    return ((uint64_t)p << 56) + (index & ((1ull << 56) - 1));
}

/* Streams with up to 256 sub-streams per sample (index < 2^48). */
static inline uint64_t uae_stream_sub(uae_stream_purpose p, uint64_t index, unsigned sub) {
    return ((uint64_t)p << 56) | ((index & ((1ull << 48) - 1)) << 8) | (sub & 0xFFu);
}

#endif /* UAE_MINE_STREAMS_H */
