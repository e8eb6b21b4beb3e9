/* uae/rng.h — uaekit's counter-based random numbers on the host (Philox-4x32-10).
 *
 * Every random number in uaekit is a pure function of (seed, stream, index): no generator state is
 * carried from one number to the next, so the tensor op UAE_OP_RNG (uae_rng_fill in uae/ops.h) gives
 * the same bits on the reference backend, the OpenMP backend for any number of threads, and every
 * OpenCL device; host code that needs the same numbers calls the functions below. Use one stream per
 * purpose (weights, dropout, shuffles, ...) so that the purposes never share numbers.
 *
 *     float z = uae_rng_normal01(seed, 7, 0);       // element 0 of stream 7: N(0, 1)
 *
 *     uae_rng r = uae_rng_make(seed, 3);            // stream 3: this program's shuffles
 *     for (int64_t i = n - 1; i > 0; i--) {           // a host-side Fisher-Yates shuffle
 *         int64_t k = uae_rng_next_below(&r, (uint32_t)(i + 1));  // k in [0, i]
 *         ... swap items i and k ...
 *     }
 *
 * The specification (every backend implements exactly this; the arithmetic is core/philox.h, which
 * the OpenCL kernels share):
 *   key = {seed lo32, seed hi32}; block k of stream s is Philox(counter = {k lo32, k hi32, s lo32,
 *   s hi32});
 *   UNIFORM element j: word (j & 3) of block (j >> 2), u = (word >> 8) * 2^-24, exact, in [0, 1);
 *   NORMAL element j: words 0 and 1 of block j, Box-Muller with portable log/sqrt/cos:
 *     u1 = ((w0 >> 8) + 1) * 2^-24,  u2 = (w1 >> 8) * 2^-24,  z = sqrt(-2 log u1) cos(2 pi u2).
 * Normals are cut at |z| <= 5.77 (probability 8e-9 of the tails) since u1 >= 2^-24.
 *   PERMUTATION row r: start from 0 .. n-1; for i = n-1 down to 1, swap k = n-1-i exchanges items
 *   i and (w * (i+1)) >> 32, where w is UNIFORM word (counter + k) of stream (stream + r).
 *
 * This is not a cryptographic generator, and it is not the stream of any other library (NumPy's or
 * cuRAND's Philox map numbers to floats differently).
 */
#ifndef UAE_RNG_H
#define UAE_RNG_H

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The raw Philox-4x32-10 block function (Random123's philox4x32, 10 rounds): out = f_key(ctr).
 * All pointers are caller-owned arrays; out may not alias ctr or key. */
void uae_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]);

/* The 32-bit word at index `index` of (seed, stream), UNIFORM mapping (word index & 3 of block
 * index >> 2). */
uint32_t uae_rng_word(uint64_t seed, uint64_t stream, uint64_t index);

/* Element `index` of UAE_OP_RNG with dist UNIFORM, lo = 0, hi = 1: one of the 2^24 values
 * k * 2^-24, k = 0 .. 2^24 - 1, each exactly representable; in [0, 1). */
float uae_rng_uniform01(uint64_t seed, uint64_t stream, uint64_t index);

/* Element `index` of UAE_OP_RNG with dist NORMAL, mean 0, std 1 (bit-identical to the op). */
float uae_rng_normal01(uint64_t seed, uint64_t stream, uint64_t index);

/* The permutation that UAE_OP_PERMUTATION writes into one row: out[0 .. n-1] receives a uniformly
 * random permutation of 0 .. n-1 (Fisher-Yates; its k-th random word is uae_rng_word(seed, stream,
 * counter + k), k = 0 .. n-2). out is a caller-owned array of n entries. Requires 0 <= n < 2^32
 * (asserted); n = 0 writes nothing. */
void uae_rng_permutation(uint64_t seed, uint64_t stream, uint64_t counter, int64_t n,
                         int64_t *out);

/* A sequential generator for host code (shuffles, augmentation parameters). It is a plain value,
 * owned by the caller, with nothing to free; copying it copies the position in the stream.
 * `counter` counts the calls made so far. Call number c uses Philox block c of (seed, stream) and
 * nothing else, so mixing the kinds of draws below never reuses random bits:
 *     uae_rng_next_u32     = uae_rng_word(seed, stream, 4 * c)      (word 0 of block c)
 *     uae_rng_next_uniform = uae_rng_uniform01(seed, stream, 4 * c)
 *     uae_rng_next_normal  = uae_rng_normal01(seed, stream, c)      (words 0 and 1 of block c)
 *     uae_rng_next_below   = (next_u32 * bound) >> 32
 * (A stream has 2^62 calls before the blocks wrap around.) */
typedef struct uae_rng {
    uint64_t seed, stream, counter;
} uae_rng;

/* A generator at the start (counter 0) of (seed, stream). */
uae_rng uae_rng_make(uint64_t seed, uint64_t stream);

/* A uniformly distributed 32-bit word. */
uint32_t uae_rng_next_u32(uae_rng *r);

/* A uniform float in [0, 1), one of the 2^24 values k * 2^-24. */
float uae_rng_next_uniform(uae_rng *r);

/* A standard normal float (Box-Muller, as UAE_OP_RNG). */
float uae_rng_next_normal(uae_rng *r);

/* An integer in [0, bound) by multiply-shift, floor(word * bound / 2^32): no division, no
 * rejection loop; each value has probability within bound / 2^32 of 1/bound (relative), which is
 * negligible for the bounds of shuffles and crops. bound must be >= 1 (asserted). */
uint32_t uae_rng_next_below(uae_rng *r, uint32_t bound);

#ifdef __cplusplus
}
#endif
#endif /* UAE_RNG_H */
