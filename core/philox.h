/* core/philox.h — the arithmetic of uaekit's counter-based RNG (Philox-4x32-10, Salmon et al. 2011)
 * and the portable float functions it needs (log, sqrt, cos(2*pi*u)), written once in the common
 * subset of C11 and OpenCL C 1.2. The host library includes this file; the OpenCL backend pastes the
 * same text into its kernel sources, so every device computes the same bits. The mappings from
 * words to numbers are specified in uae/rng.h, which is also the host API; this is not a public
 * header and holds no state.
 *
 * Rules for the code below, so that it stays valid OpenCL C and bit-reproducible:
 *  - types only through UAE_U32 / UAE_U64 / UAE_I32, functions declared with UAE_FN (static inline
 *    in C; plain in OpenCL, where an includer may predefine it, e.g. as `inline`);
 *  - OpenCL: 64-bit integers (ulong) are needed, so the full profile, not the embedded one;
 *  - float arithmetic uses only +, -, *, comparisons and integer bit manipulation: no division, no
 *    libm, no double, every float literal has an f suffix;
 *  - no fused multiply-add: the host build uses -ffp-contract=off and OpenCL gets
 *    `#pragma OPENCL FP_CONTRACT OFF` below. Each + and * is then one IEEE-754 binary32 operation
 *    rounded to nearest, which every conforming device performs identically. An OpenCL source
 *    must paste this file before any other code (the pragma then covers the whole program) and
 *    must not be built with -cl-fast-relaxed-math or -cl-unsafe-math-optimizations;
 *  - no intermediate is ever subnormal for the inputs the RNG produces (the smallest is about
 *    2^-75), so devices that flush subnormals to zero give the same bits as well.
 */
#ifndef UAE_PHILOX_H
#define UAE_PHILOX_H

/* OpenCL compilers define __OPENCL_VERSION__ (all versions) and __OPENCL_C_VERSION__ (1.2 on);
 * offline clang defines only the second, so either one selects the OpenCL branch. */
#if defined(__OPENCL_VERSION__) || defined(__OPENCL_C_VERSION__)
#pragma OPENCL FP_CONTRACT OFF
#define UAE_U32 uint
#define UAE_U64 ulong
#define UAE_I32 int
#ifndef UAE_FN
#define UAE_FN /* plain functions: one program per source, no linkage conflicts */
#endif
#define UAE_AS_UINT(f) as_uint(f)
#define UAE_AS_FLOAT(u) as_float(u)
#else
#include <stdint.h>
#if defined(__clang__)
/* clang contracts a*b + c into an FMA by default; this keeps the bits of any build of this file
 * (until the end of the including file). GCC has no such pragma and gets -ffp-contract=off. */
#pragma STDC FP_CONTRACT OFF
#endif
#define UAE_U32 uint32_t
#define UAE_U64 uint64_t
#define UAE_I32 int32_t
#ifndef UAE_FN
#define UAE_FN static inline
#endif
/* Bit casts between a float and its IEEE-754 encoding. A union is the C11 way to reinterpret bits
 * (a pointer cast would break the aliasing rules); OpenCL has as_uint / as_float built in. */
typedef union uae_philox_bits { float f; uint32_t u; } uae_philox_bits;
static inline uint32_t uae_philox_as_uint(float f) { uae_philox_bits b; b.f = f; return b.u; }
static inline float uae_philox_as_float(uint32_t u) { uae_philox_bits b; b.u = u; return b.f; }
#define UAE_AS_UINT(f) uae_philox_as_uint(f)
#define UAE_AS_FLOAT(u) uae_philox_as_float(u)
#endif

/* ---- Philox-4x32-10 ------------------------------------------------------------------------
 *
 * A counter-based generator is a keyed bijection on 128-bit blocks: output = f_key(counter). There
 * is no state to carry from one number to the next, so element j of a tensor can be computed by any
 * thread of any device, in any order, and always gets the same value. One round of Philox
 * multiplies two of the four 32-bit words by fixed odd constants, keeps both halves of the 64-bit
 * products, and mixes the high halves with the other two words and the key:
 *
 *     (hi0, lo0) = M0 * x0        (hi1, lo1) = M1 * x2
 *     x' = { hi1 ^ x1 ^ k0,  lo1,  hi0 ^ x3 ^ k1,  lo0 }
 *
 * Between rounds the key is bumped by the Weyl constants W0, W1 (the golden ratio and sqrt(3)-1 in
 * fixed point). Ten rounds pass the BigCrush statistical tests with a safety margin. */

#define UAE_PHILOX_M0 0xD2511F53u
#define UAE_PHILOX_M1 0xCD9E8D57u
#define UAE_PHILOX_W0 0x9E3779B9u
#define UAE_PHILOX_W1 0xBB67AE85u

/* Four 32-bit words: one Philox block. A struct (not a pointer argument) so that the same code
 * works in C and in OpenCL, where pointer arguments would need an address space. */
typedef struct uae_philox4 { UAE_U32 v[4]; } uae_philox4;

/* One Philox round on x with key (k0, k1). */
UAE_FN uae_philox4 uae_philox_round(uae_philox4 x, UAE_U32 k0, UAE_U32 k1) {
    UAE_U64 p0 = (UAE_U64)UAE_PHILOX_M0 * (UAE_U64)x.v[0];
    UAE_U64 p1 = (UAE_U64)UAE_PHILOX_M1 * (UAE_U64)x.v[2];
    uae_philox4 y;
    y.v[0] = (UAE_U32)(p1 >> 32) ^ x.v[1] ^ k0;
    y.v[1] = (UAE_U32)p1;
    y.v[2] = (UAE_U32)(p0 >> 32) ^ x.v[3] ^ k1;
    y.v[3] = (UAE_U32)p0;
    return y;
}

/* Philox-4x32-10 of the counter block ctr under the key (k0, k1); matches Random123's philox4x32
 * with R = 10 (its known-answer vectors are in tests/test_rng.c). */
UAE_FN uae_philox4 uae_philox4x32_10_block(uae_philox4 ctr, UAE_U32 k0, UAE_U32 k1) {
    for (int r = 0; r < 10; r++) {
        if (r > 0) {
            k0 += UAE_PHILOX_W0; /* unsigned: wraps modulo 2^32, as intended */
            k1 += UAE_PHILOX_W1;
        }
        ctr = uae_philox_round(ctr, k0, k1);
    }
    return ctr;
}

/* Block k of stream s under seed: key = {seed lo32, seed hi32}, counter = {k lo32, k hi32, s lo32,
 * s hi32}. Streams are disjoint parts of the counter space, so they never share a block. */
UAE_FN uae_philox4 uae_philox_stream_block(UAE_U64 seed, UAE_U64 stream, UAE_U64 k) {
    uae_philox4 ctr;
    ctr.v[0] = (UAE_U32)k;
    ctr.v[1] = (UAE_U32)(k >> 32);
    ctr.v[2] = (UAE_U32)stream;
    ctr.v[3] = (UAE_U32)(stream >> 32);
    return uae_philox4x32_10_block(ctr, (UAE_U32)seed, (UAE_U32)(seed >> 32));
}

/* The UNIFORM mapping: element j of (seed, stream) is word (j & 3) of block (j >> 2), so four
 * consecutive elements share one Philox evaluation. */
UAE_FN UAE_U32 uae_philox_word(UAE_U64 seed, UAE_U64 stream, UAE_U64 j) {
    uae_philox4 b = uae_philox_stream_block(seed, stream, j >> 2);
    return b.v[j & 3];
}

/* A word to a float in [0, 1): the top 24 bits times 2^-24. A float has a 24-bit significand, so
 * every integer below 2^24 converts exactly and the product is an exact power-of-two scaling: the
 * result is exactly (w >> 8) / 2^24, one of the 2^24 equally spaced values 0, 2^-24, ..., 1 - 2^-24.
 * (Using all 32 bits would round, and could round up to 1.0f.) */
UAE_FN float uae_philox_unit(UAE_U32 w) { return (float)(w >> 8) * 0x1p-24f; }

/* The same grid shifted by one step: exactly ((w >> 8) + 1) / 2^24, in (0, 1], never 0 (for log). */
UAE_FN float uae_philox_unit_open0(UAE_U32 w) { return (float)((w >> 8) + 1u) * 0x1p-24f; }

/* An unbiased-enough integer in [0, bound): floor(w * bound / 2^32) (multiply-shift, no division;
 * the bias is at most bound / 2^32, below 4e-3 even for bound = 2^24). */
UAE_FN UAE_U32 uae_philox_below(UAE_U32 w, UAE_U32 bound) {
    return (UAE_U32)(((UAE_U64)w * (UAE_U64)bound) >> 32);
}

/* ---- Portable float functions -----------------------------------------------------------------
 *
 * libm's logf, sqrtf and cosf differ between C libraries and OpenCL drivers in the last bits, so
 * the normal distribution uses these instead. Accuracy (tests/test_rng.c, against double-precision
 * libm, exhaustively over every input the RNG produces): relative error below 1e-6. */

/* sqrt(x) for x = 0 or a positive normal float (the RNG calls it on [0, 33.3]).
 *
 * Newton's method for y = 1/sqrt(x) needs no division: y solves g(y) = 1/y^2 - x = 0, and
 *     y' = y - g(y)/g'(y) = y - (1/y^2 - x) / (-2/y^3) = y * (1.5 - 0.5 * x * y * y).
 * With y = (1 - e)/sqrt(x), one step gives an error of 1.5 e^2 + O(e^3): each step roughly squares
 * it. The start value comes from the bits: a float's encoding is approximately 2^23 * (log2(x) +
 * 127), so halving and negating it approximates log2(1/sqrt(x)); the "magic" constant 0x5f3759df
 * puts the exponent bias back and tunes the linear-in-the-significand approximation so the start is
 * within 3.5% everywhere (Lomont 2003). Three steps: 0.035 -> 1.8e-3 -> 4.6e-6 -> 3e-11, below float
 * rounding. Then sqrt(x) = x * (1/sqrt(x)). */
UAE_FN float uae_sqrtf_portable(float x) {
    if (x <= 0.0f) return 0.0f; /* sqrt(0) = 0; negative inputs are outside the contract */
    float y = UAE_AS_FLOAT(0x5f3759dfu - (UAE_AS_UINT(x) >> 1));
    float half_x = 0.5f * x;
    y = y * (1.5f - half_x * y * y);
    y = y * (1.5f - half_x * y * y);
    y = y * (1.5f - half_x * y * y);
    return x * y;
}

/* Natural log of a positive finite float x (the RNG calls it on (0, 1]); 0 gives -inf.
 *
 * 1. Split x = m * 2^e with m in [sqrt(1/2), sqrt(2)): read the biased exponent from bits 23..30,
 *    put 127 there instead (m in [1, 2)), and if m >= sqrt(2) halve m (exact) and add 1 to e.
 *    Then log(x) = e * log(2) + log(m), with |log(m)| <= log(2)/2.
 * 2. log(m) through the atanh series. With s = (m - 1) / (m + 1), m = (1 + s) / (1 - s) and
 *        log(m) = log(1 + s) - log(1 - s) = 2 (s + s^3/3 + s^5/5 + s^7/7 + ...).
 *    For m in [sqrt(1/2), sqrt(2)), |s| <= 3 - 2 sqrt(2) = 0.1716, so s^2 <= 0.0295 and the terms
 *    shrink fast: stopping after s^11 leaves 2 s^13 / 13, below 1e-10 relative to 2s.
 * 3. s needs 1/(m + 1) = 1/(2 + f) with f = m - 1 in [-0.293, 0.415) (exact: Sterbenz). Newton for
 *    r = 1/d solves 1/r - d = 0: r' = r * (2 - d * r), and the error eps = 1 - d*r becomes eps^2.
 *    Start from the first two Taylor terms, 1/(2 + f) = 0.5 / (1 + f/2) ~ 0.5 - 0.25 f, whose error
 *    is exactly eps0 = f^2/4 <= 0.043; three steps give 0.043^8 = 1.2e-11.
 * 4. e * log(2) is added as e * LN2_HI + e * LN2_LO (fdlibm's split): LN2_HI has only 17 significant
 *    bits, so e * LN2_HI is exact for |e| < 2^7 (17 + 7 = 24 bits: every normal float; the RNG has
 *    e in [-24, 0]), and the small LN2_LO restores the rest of log(2). */
UAE_FN float uae_logf_portable(float x) {
    const float LN2_HI = 6.9313812256e-01f; /* 0x3f317180 */
    const float LN2_LO = 9.0580006145e-06f; /* 0x3717f7d1: log(2) - LN2_HI */
    if (x <= 0.0f) return UAE_AS_FLOAT(0xff800000u); /* -inf (negative inputs: outside the contract) */
    UAE_I32 e = 0;
    if (x < 0x1p-126f) { /* subnormal: scale into the normal range first */
        x = x * 0x1p24f;
        e = -24;
    }
    UAE_U32 bits = UAE_AS_UINT(x);
    e += (UAE_I32)((bits >> 23) & 0xffu) - 127;
    float m = UAE_AS_FLOAT((bits & 0x007fffffu) | 0x3f800000u); /* same significand, exponent 0 */
    if (m >= 1.41421354f) { /* sqrt(2) rounded down; both sides of the switch are accurate there */
        m = 0.5f * m;
        e += 1;
    }
    float f = m - 1.0f;
    float d = 2.0f + f;
    float r = 0.5f - 0.25f * f;
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    r = r * (2.0f - d * r);
    float s = f * r;
    float s2 = s * s;
    /* 2 (s + s^3/3 + ... + s^11/11) = 2s + s * s2 * (2/3 + s2 * (2/5 + s2 * (... 2/11))) (Horner) */
    float p = 0.181818187f; /* 2/11 */
    p = 0.222222224f + s2 * p; /* 2/9 */
    p = 0.285714298f + s2 * p; /* 2/7 */
    p = 0.400000006f + s2 * p; /* 2/5 */
    p = 0.666666687f + s2 * p; /* 2/3 */
    float log_m = 2.0f * s + s * s2 * p;
    float fe = (float)e;
    return fe * LN2_HI + (log_m + fe * LN2_LO);
}

/* cos(2 * pi * u) for u in [0, 1).
 *
 * Range reduction is exact here because u is a fraction of a turn (no multiple of pi to subtract):
 *  - cos(2 pi u) = cos(2 pi (1 - u)): for u > 1/2, use 1 - u, now t in [0, 1/2];
 *  - cos(2 pi t) = -cos(2 pi (1/2 - t)): for t > 1/4, use 1/2 - t, now t in [0, 1/4];
 *  - cos(2 pi t) = sin(2 pi (1/4 - t)): for t > 1/8, use 1/4 - t, now t in [0, 1/8].
 * Each subtraction a - t has t within a factor of 2 of a, so it is exact (Sterbenz's lemma). The
 * last step also gives full relative accuracy near the zeros of cos at u = 1/4 and 3/4.
 * On t in [0, 1/8] (angle at most pi/4) the Taylor series converge fast:
 *     cos(2 pi t) = sum_k (-1)^k (2 pi)^(2k)   t^(2k)   / (2k)!     up to k = 5
 *     sin(2 pi t) = sum_k (-1)^k (2 pi)^(2k+1) t^(2k+1) / (2k+1)!   up to k = 5
 * The first omitted terms are (pi/4)^12/12! = 1.1e-10 and (pi/4)^13/13! = 7e-12 (relative 1e-11).
 * The coefficients (2 pi)^n / n! are folded in, so t is never multiplied by a rounded 2 pi first. */
UAE_FN float uae_cospi2_portable(float u) {
    float t = u;
    float sign = 1.0f;
    if (t > 0.5f) t = 1.0f - t;
    if (t > 0.25f) {
        t = 0.5f - t;
        sign = -1.0f;
    }
    int use_sin = t > 0.125f;
    if (use_sin) t = 0.25f - t;
    float t2 = t * t;
    float r;
    if (use_sin) {
        float p = -15.0946426f;
        p = 42.0586929f + t2 * p;
        p = -76.7058563f + t2 * p;
        p = 81.6052475f + t2 * p;
        p = -41.3417015f + t2 * p;
        p = 6.28318548f + t2 * p;
        r = t * p;
    } else {
        float p = -26.4262562f;
        p = 60.2446404f + t2 * p;
        p = -85.4568176f + t2 * p;
        p = 64.9393921f + t2 * p;
        p = -19.7392082f + t2 * p;
        r = 1.0f + t2 * p;
    }
    return sign * r;
}

/* ---- The distributions (specified in uae/rng.h) ----------------------------------------------- */

/* UNIFORM element j: lo + (hi - lo) * u with u = unit(word j), evaluated exactly as written. */
UAE_FN float uae_philox_uniform(UAE_U64 seed, UAE_U64 stream, UAE_U64 j, float lo, float hi) {
    return lo + (hi - lo) * uae_philox_unit(uae_philox_word(seed, stream, j));
}

/* A standard normal from two words, by the Box-Muller transform: if u1 in (0, 1] and u2 in [0, 1)
 * are independent uniforms, z = sqrt(-2 log u1) * cos(2 pi u2) is N(0, 1). (Its partner
 * sqrt(-2 log u1) * sin(2 pi u2) is not used, so that element j needs only block j.) Because
 * u1 >= 2^-24, |z| <= sqrt(2 * 24 * log 2) = 5.77: the tails beyond are cut (probability 8e-9). */
UAE_FN float uae_philox_box_muller(UAE_U32 w0, UAE_U32 w1) {
    float u1 = uae_philox_unit_open0(w0);
    float u2 = uae_philox_unit(w1);
    return uae_sqrtf_portable(-2.0f * uae_logf_portable(u1)) * uae_cospi2_portable(u2);
}

/* NORMAL element j: mean + std * z, z from words 0 and 1 of block j (one block per normal). */
UAE_FN float uae_philox_normal(UAE_U64 seed, UAE_U64 stream, UAE_U64 j, float mean, float std) {
    uae_philox4 b = uae_philox_stream_block(seed, stream, j);
    return mean + std * uae_philox_box_muller(b.v[0], b.v[1]);
}

#endif /* UAE_PHILOX_H */
