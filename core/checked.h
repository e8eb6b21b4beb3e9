/* core/checked.h — overflow-checked size arithmetic for every size that a file, a checkpoint's
 * configuration or the command line decides. Internal to the library (core/ and models/); not
 * installed. Each helper returns false instead of overflowing (signed overflow is undefined in C,
 * and a wrapped size_t is a short allocation); the caller turns false into a status that names
 * the file and the numbers. Not here: the shape checks of the file formats (io_internal.h). */
#ifndef UAE_CHECKED_H
#define UAE_CHECKED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* *out = a * b, both >= 0. False if either is negative or the product exceeds INT64_MAX. */
static inline bool uae_checked_mul(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return false;
    return !__builtin_mul_overflow(a, b, out);
}

/* *out = a * b * c, all >= 0 (channels x height x width, rows x columns x classes). */
static inline bool uae_checked_mul3(int64_t a, int64_t b, int64_t c, int64_t *out) {
    int64_t ab;
    return uae_checked_mul(a, b, &ab) && uae_checked_mul(ab, c, out);
}

/* *out = a + b, both >= 0. */
static inline bool uae_checked_add(int64_t a, int64_t b, int64_t *out) {
    if (a < 0 || b < 0) return false;
    return !__builtin_add_overflow(a, b, out);
}

/* *out = count * elem bytes, for malloc: false if count is negative or the byte count exceeds
 * PTRDIFF_MAX (no object may be larger; malloc of more fails anyway). */
static inline bool uae_checked_bytes(int64_t count, size_t elem, size_t *out) {
    size_t n;
    if (count < 0 || (uint64_t)count > SIZE_MAX) return false;
    if (__builtin_mul_overflow((size_t)count, elem, &n) || n > (size_t)PTRDIFF_MAX) return false;
    *out = n;
    return true;
}

#endif /* UAE_CHECKED_H */
