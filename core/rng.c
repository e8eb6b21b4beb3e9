/* core/rng.c — the host API of uaekit's counter-based RNG (uae/rng.h): thin wrappers around the
 * shared arithmetic in core/philox.h, plus the row permutation of UAE_OP_PERMUTATION. Not the tensor
 * ops themselves (backends/cpu/ref_rng.c, omp_rng.c and the OpenCL kernels). */
#include "uae/rng.h"

#include "philox.h"
#include "uae/status.h"

void uae_philox4x32_10(const uint32_t ctr[4], const uint32_t key[2], uint32_t out[4]) {
    uae_philox4 c = {{ctr[0], ctr[1], ctr[2], ctr[3]}};
    uae_philox4 y = uae_philox4x32_10_block(c, key[0], key[1]);
    for (int i = 0; i < 4; i++) out[i] = y.v[i];
}

uint32_t uae_rng_word(uint64_t seed, uint64_t stream, uint64_t index) {
    return uae_philox_word(seed, stream, index);
}

float uae_rng_uniform01(uint64_t seed, uint64_t stream, uint64_t index) {
    return uae_philox_unit(uae_philox_word(seed, stream, index));
}

float uae_rng_normal01(uint64_t seed, uint64_t stream, uint64_t index) {
    return uae_philox_normal(seed, stream, index, 0.0f, 1.0f);
}

void uae_rng_permutation(uint64_t seed, uint64_t stream, uint64_t counter, int64_t n,
                         int64_t *out) {
    UAE_ASSERT(n >= 0 && n <= (int64_t)UINT32_MAX); /* i + 1 <= n must fit in 32 bits */
    UAE_ASSERT(n == 0 || out != NULL);
    for (int64_t i = 0; i < n; i++) out[i] = i;
    /* Fisher-Yates, from the back: position i receives a uniformly chosen one of the i + 1 values
     * still in out[0 .. i]. The k-th swap uses word k, so the row needs n - 1 words in total. The
     * four words of a Philox block are consecutive k, so one block serves four swaps. */
    uae_philox4 block = {{0, 0, 0, 0}};
    for (int64_t i = n - 1; i >= 1; i--) {
        uint64_t j = counter + (uint64_t)(n - 1 - i); /* the word index k = n-1-i, offset */
        if (i == n - 1 || (j & 3) == 0) block = uae_philox_stream_block(seed, stream, j >> 2);
        int64_t r = uae_philox_below(block.v[j & 3], (uint32_t)(i + 1));
        int64_t tmp = out[i];
        out[i] = out[r];
        out[r] = tmp;
    }
}

uae_rng uae_rng_make(uint64_t seed, uint64_t stream) {
    uae_rng r = {seed, stream, 0};
    return r;
}

uint32_t uae_rng_next_u32(uae_rng *r) {
    return uae_rng_word(r->seed, r->stream, 4 * r->counter++);
}

float uae_rng_next_uniform(uae_rng *r) {
    return uae_rng_uniform01(r->seed, r->stream, 4 * r->counter++);
}

float uae_rng_next_normal(uae_rng *r) {
    return uae_rng_normal01(r->seed, r->stream, r->counter++);
}

uint32_t uae_rng_next_below(uae_rng *r, uint32_t bound) {
    UAE_ASSERT(bound >= 1);
    return uae_philox_below(uae_rng_next_u32(r), bound);
}
