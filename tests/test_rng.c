/* tests/test_rng.c — the counter-based RNG: Philox-4x32-10 against Random123's published answers,
 * the portable log/sqrt/cos against libm over every input the RNG can produce, the distributions'
 * moments, the counter and stream properties, permutations, and the OpenMP op against the
 * reference for several thread counts. Not a statistical test suite (Philox passes BigCrush). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#ifdef _OPENMP
#include <omp.h>
#endif

#include "core/philox.h"
#include "uae/ops.h"
#include "uae/rng.h"
#include "tests/test_util.h"

static uint32_t float_bits(float f) {
    uint32_t u;
    memcpy(&u, &f, sizeof u);
    return u;
}

/* ---- Philox ----------------------------------------------------------------------------------- */

static void test_known_answers(void) {
    /* Random123 tests/kat_vectors, "philox4x32 10" lines: counter, key, expected output. */
    static const uint32_t kat[3][10] = {
        {0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000, 0x00000000,
         0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
        {0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff, 0xffffffff,
         0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
        {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
         0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1},
    };
    for (int t = 0; t < 3; t++) {
        uint32_t out[4];
        uae_philox4x32_10(&kat[t][0], &kat[t][4], out);
        for (int i = 0; i < 4; i++)
            CHECK(out[i] == kat[t][6 + i], "vector %d word %d: %08x, expected %08x", t, i, out[i],
                  kat[t][6 + i]);
    }
}

/* The spec's counter layout, rebuilt here from the (known-answer-tested) block function. */
static uint32_t spec_word(uint64_t seed, uint64_t stream, uint64_t j) {
    uint64_t k = j >> 2;
    uint32_t ctr[4] = {(uint32_t)k, (uint32_t)(k >> 32), (uint32_t)stream, (uint32_t)(stream >> 32)};
    uint32_t key[2] = {(uint32_t)seed, (uint32_t)(seed >> 32)}, out[4];
    uae_philox4x32_10(ctr, key, out);
    return out[j & 3];
}

static void test_layout(void) {
    const uint64_t seeds[] = {0, 1, 0x0123456789abcdefull, ~0ull};
    const uint64_t streams[] = {0, 5, 0xfedcba9876543210ull};
    const uint64_t idx[] = {0, 1, 2, 3, 4, 7, 1000001, 0x100000003ull, ~0ull};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++)
            for (int c = 0; c < 9; c++) {
                uint32_t w = uae_rng_word(seeds[a], streams[b], idx[c]);
                CHECK(w == spec_word(seeds[a], streams[b], idx[c]), "word layout, index %llu",
                      (unsigned long long)idx[c]);
                /* uniform01 is exactly (w >> 8) * 2^-24: exact, in [0, 1) */
                float u = uae_rng_uniform01(seeds[a], streams[b], idx[c]);
                CHECK(u == (float)(w >> 8) / 16777216.0f && u >= 0.0f && u < 1.0f, "uniform01 %g", u);
            }
    /* Extremes of the grid: word 0 gives 0, word 0xffffffff gives 1 - 2^-24 (never 1). */
    CHECK(uae_philox_unit(0u) == 0.0f && uae_philox_unit(0xffffffffu) == 1.0f - 0x1p-24f, "unit");
    CHECK(uae_philox_unit_open0(0u) == 0x1p-24f && uae_philox_unit_open0(0xffffffffu) == 1.0f,
          "unit_open0");
}

/* ---- Portable math ------------------------------------------------------------------------------
 * Tolerance 1e-6 relative (what core/philox.h promises): about 8 float ulps, so a few roundings in the polynomial
 * evaluations pass, while a wrong coefficient, a missing term or a bad range reduction (errors of
 * 1e-5 and more) fail. The references are double-precision libm, whose own error (1e-16) is
 * negligible. The inputs of the RNG are tested exhaustively: u = k * 2^-24 for every k. */

#define MATH_TOL 1e-6

static double rel_err(double got, double ref) {
    if (ref == 0.0) return got == 0.0 ? 0.0 : INFINITY;
    return fabs(got - ref) / fabs(ref);
}

/* cos(2 pi u) in double, accurate relative to the result near the zeros u = 1/4 and 3/4 too (there
 * cos(2 * M_PI * u) would be off by 1e-16 absolute, an infinite relative error at the zero). */
static double cospi2_ref(double u) {
    const double PI = 3.14159265358979323846;
    if (u > 0.125 && u < 0.375) return sin(2.0 * PI * (0.25 - u)); /* 0.25 - u: exact */
    if (u > 0.625 && u < 0.875) return sin(2.0 * PI * (u - 0.75));
    return cos(2.0 * PI * u);
}

static void test_portable_math(void) {
    double worst_log = 0, worst_sqrt = 0, worst_cos = 0;
    float at_log = 0, at_sqrt = 0, at_cos = 0;
    /* Every u1 in (0, 1] and every u2 in [0, 1) that Box-Muller can see, and every sqrt argument
     * -2 log(u1) it computes from them. */
    for (uint32_t k = 0; k < (1u << 24); k++) {
        float u1 = (float)(k + 1) * 0x1p-24f, u2 = (float)k * 0x1p-24f;
        float l = uae_logf_portable(u1);
        double e = rel_err(l, log((double)u1));
        if (u1 == 1.0f) e = l == 0.0f ? 0.0 : INFINITY; /* log(1) = 0 exactly */
        if (e > worst_log) worst_log = e, at_log = u1;
        float x = -2.0f * l;
        e = rel_err(uae_sqrtf_portable(x), sqrt((double)x));
        if (e > worst_sqrt) worst_sqrt = e, at_sqrt = x;
        e = rel_err(uae_cospi2_portable(u2), cospi2_ref(u2));
        if (e > worst_cos) worst_cos = e, at_cos = u2;
    }
    /* Beyond the RNG's inputs: random bit patterns over all positive floats for log (subnormals
     * included) and all positive normal floats for sqrt, and all floats of [0, 1) for cos. */
    for (uint64_t i = 0; i < 2000000; i++) {
        uint32_t w = uae_rng_word(99, 1, i);
        float x;
        uint32_t b = (w & 0x7fffffffu) % 0x7f800000u + 1u; /* (0, +inf) */
        memcpy(&x, &b, sizeof x);
        double e = rel_err(uae_logf_portable(x), log((double)x));
        if (x == 1.0f) e = 0;
        if (e > worst_log) worst_log = e, at_log = x;
        b = (w & 0x7fffffffu) % (0x7f800000u - 0x00800000u) + 0x00800000u; /* normal, positive */
        memcpy(&x, &b, sizeof x);
        e = rel_err(uae_sqrtf_portable(x), sqrt((double)x));
        if (e > worst_sqrt) worst_sqrt = e, at_sqrt = x;
        b = w % 0x3f800000u; /* the encodings of [0, 1) */
        memcpy(&x, &b, sizeof x);
        e = rel_err(uae_cospi2_portable(x), cospi2_ref(x));
        if (e > worst_cos) worst_cos = e, at_cos = x;
    }
    printf("portable math, worst relative error: log %.3g (at %.9g), sqrt %.3g (at %.9g), "
           "cos(2 pi u) %.3g (at %.9g)\n", worst_log, at_log, worst_sqrt, at_sqrt, worst_cos, at_cos);
    CHECK(worst_log <= MATH_TOL, "log error %g at %.9g", worst_log, at_log);
    CHECK(worst_sqrt <= MATH_TOL, "sqrt error %g at %.9g", worst_sqrt, at_sqrt);
    CHECK(worst_cos <= MATH_TOL, "cos error %g at %.9g", worst_cos, at_cos);
    /* Special values the contract names. */
    CHECK(uae_sqrtf_portable(0.0f) == 0.0f, "sqrt(0)");
    CHECK(uae_logf_portable(1.0f) == 0.0f, "log(1)");
    CHECK(isinf(uae_logf_portable(0.0f)) && uae_logf_portable(0.0f) < 0, "log(0) = -inf");
    CHECK(uae_cospi2_portable(0.0f) == 1.0f && uae_cospi2_portable(0.5f) == -1.0f &&
              uae_cospi2_portable(0.25f) == 0.0f && uae_cospi2_portable(0.75f) == 0.0f,
          "cos at quarter turns");
}

/* ---- The op on the reference backend: distributions ---------------------------------------- */

typedef struct fixture {
    uae_backend *ref, *cpu;
    uae_arena *ref_arena, *cpu_arena;
} fixture;

/* Runs UAE_OP_RNG into a fresh tensor of n elements on arena a and copies it to host (n floats). */
static void rng_fill(uae_arena *a, uae_rng_dist dist, uint64_t seed, uint64_t stream,
                     uint64_t counter, float p0, float p1, int64_t n, float *host) {
    size_t mark = uae_arena_mark(a);
    uae_tensor t;
    TRY(uae_arena_tensor1(a, n, &t));
    TRY(uae_rng_fill(dist, seed, stream, counter, p0, p1, &t));
    TRY(uae_tensor_read(&t, host));
    uae_arena_reset(a, mark);
}

/* Runs UAE_OP_PERMUTATION into a (rows, n) tensor and copies it to host. */
static void perm_fill(uae_arena *a, uint64_t seed, uint64_t stream, uint64_t counter, int64_t rows,
                      int64_t n, float *host) {
    size_t mark = uae_arena_mark(a);
    uae_tensor t;
    TRY(uae_arena_tensor2(a, rows, n, &t));
    uae_op op = {.kind = UAE_OP_PERMUTATION, .dst = {&t}};
    op.p.rng = (uae_rng_params){UAE_RNG_UNIFORM, seed, stream, counter, 0.0f, 0.0f};
    TRY(uae_op_run(&op));
    TRY(uae_tensor_read(&t, host));
    uae_arena_reset(a, mark);
}

#define N_STAT 1000000

static void test_uniform(fixture *f) {
    float *y = malloc(N_STAT * sizeof *y);
    if (!y) exit(1);
    /* [0, 1): exact grid values, mean 1/2, variance 1/12. Standard errors for n = 10^6:
     * mean sqrt(1/12/n) = 2.9e-4; variance sqrt((1/80 - 1/144)/n) = 7.5e-5 (fourth central
     * moment of U(0,1) is 1/80). Tolerances are 5 standard errors: a correct generator fails with
     * probability below 1e-6 for a random seed, and this seed is fixed, so the test is stable. */
    rng_fill(f->ref_arena, UAE_RNG_UNIFORM, 2024, 0, 0, 0.0f, 1.0f, N_STAT, y);
    double sum = 0, sum2 = 0;
    int outside = 0, off_grid = 0;
    for (int64_t i = 0; i < N_STAT; i++) {
        if (!(y[i] >= 0.0f && y[i] < 1.0f)) outside++;
        float k = y[i] * 16777216.0f; /* must be an integer: y = k * 2^-24 exactly */
        if (k != floorf(k)) off_grid++;
        sum += y[i];
        sum2 += (double)y[i] * y[i];
    }
    double mean = sum / N_STAT, var = sum2 / N_STAT - mean * mean;
    printf("uniform [0,1): mean %.6f (1/2), variance %.6f (1/12 = %.6f)\n", mean, var, 1.0 / 12);
    CHECK(outside == 0, "%d values outside [0, 1)", outside);
    CHECK(off_grid == 0, "%d values not multiples of 2^-24", off_grid);
    CHECK(fabs(mean - 0.5) < 5 * 2.9e-4, "uniform mean %g", mean);
    CHECK(fabs(var - 1.0 / 12) < 5 * 7.5e-5, "uniform variance %g", var);

    /* [lo, hi) = [-2, 3): value = lo + (hi - lo) * u, bit for bit; never reaches hi. */
    rng_fill(f->ref_arena, UAE_RNG_UNIFORM, 2024, 0, 0, -2.0f, 3.0f, 1000, y);
    for (int64_t i = 0; i < 1000; i++) {
        float u = uae_rng_uniform01(2024, 0, (uint64_t)i);
        CHECK(y[i] == -2.0f + 5.0f * u && y[i] >= -2.0f && y[i] < 3.0f, "uniform[-2,3) %lld",
              (long long)i);
    }
    free(y);
}

static void test_normal(fixture *f) {
    float *y = malloc(N_STAT * sizeof *y);
    if (!y) exit(1);
    rng_fill(f->ref_arena, UAE_RNG_NORMAL, 7, 3, 0, 0.0f, 1.0f, N_STAT, y);
    double m1 = 0, m2 = 0, m4 = 0;
    for (int64_t i = 0; i < N_STAT; i++) m1 += y[i];
    m1 /= N_STAT;
    for (int64_t i = 0; i < N_STAT; i++) {
        double d = y[i] - m1;
        m2 += d * d;
        m4 += d * d * d * d;
    }
    m2 /= N_STAT;
    m4 /= N_STAT;
    double kurt = m4 / (m2 * m2);
    /* Standard errors for n = 10^6 normals: mean 1/sqrt(n) = 1e-3; variance sqrt(2/n) = 1.41e-3;
     * kurtosis sqrt(24/n) = 4.9e-3. Tolerances are 5 standard errors (see test_uniform). */
    printf("normal: mean %.5f (0), variance %.5f (1), kurtosis %.4f (3)\n", m1, m2, kurt);
    CHECK(fabs(m1) < 5 * 1e-3, "normal mean %g", m1);
    CHECK(fabs(m2 - 1.0) < 5 * 1.41e-3, "normal variance %g", m2);
    CHECK(fabs(kurt - 3.0) < 5 * 4.9e-3, "normal kurtosis %g", kurt);
    /* The distribution function at a few points: P(Z < z) is a binomial proportion with standard
     * error sqrt(p (1 - p) / n) (at most 5e-4); tolerance 5 standard errors. This catches errors in
     * the shape (a wrong log or cos) that the moments could miss. */
    const double z[5] = {-2, -1, 0, 1, 2};
    const double phi[5] = {0.0227501319, 0.1586552539, 0.5, 0.8413447461, 0.9772498681};
    for (int q = 0; q < 5; q++) {
        int64_t below = 0;
        for (int64_t i = 0; i < N_STAT; i++) below += y[i] < z[q];
        double p = (double)below / N_STAT, se = sqrt(phi[q] * (1 - phi[q]) / N_STAT);
        CHECK(fabs(p - phi[q]) < 5 * se, "P(Z < %g) = %g, expected %g", z[q], p, phi[q]);
    }
    /* Bounded: u1 >= 2^-24 gives |z| <= sqrt(48 log 2) = 5.768. */
    int too_big = 0;
    for (int64_t i = 0; i < N_STAT; i++) too_big += !(fabsf(y[i]) <= 5.7686f);
    CHECK(too_big == 0, "%d normals beyond the Box-Muller bound", too_big);

    /* mean + std * z, bit for bit, and element j is uae_rng_normal01(j). */
    rng_fill(f->ref_arena, UAE_RNG_NORMAL, 7, 3, 0, 0.5f, 2.0f, 1000, y);
    for (int64_t i = 0; i < 1000; i++)
        CHECK(y[i] == 0.5f + 2.0f * uae_rng_normal01(7, 3, (uint64_t)i), "normal %lld",
              (long long)i);
    free(y);
}

/* Each normal against Box-Muller evaluated in double precision with libm, from words rebuilt by
 * spec_word: checks the NORMAL mapping (block j, words 0 and 1, the +1 in u1) and that the
 * portable functions compose well. Tolerance 2e-6 relative: the log's 1e-6 bound halves under the
 * square root, the cos adds 1e-6, and the float products add a few 1e-7. */
static void test_normal_vs_double(void) {
    double worst = 0;
    for (uint64_t j = 0; j < 200000; j++) {
        uint32_t w0 = spec_word(3, 8, 4 * j), w1 = spec_word(3, 8, 4 * j + 1); /* block j */
        double u1 = ((w0 >> 8) + 1) / 16777216.0, u2 = (w1 >> 8) / 16777216.0;
        double ref = sqrt(-2.0 * log(u1)) * cospi2_ref(u2);
        double e = rel_err(uae_rng_normal01(3, 8, j), ref);
        if (e > worst) worst = e;
    }
    printf("normal01 against double-precision Box-Muller: worst relative error %.3g\n", worst);
    CHECK(worst <= 2e-6, "normal01 error %g", worst);
}

/* Regression values: the first normals of (seed 42, stream 0) as float bits. They pin down the
 * exact arithmetic (a fused multiply-add or a reordered polynomial changes them); the OpenCL
 * backend's test compares against the same numbers. Recorded from this implementation, whose
 * parts are checked above (Philox against Random123, the math against libm). */
static void test_golden(void) {
    static const uint32_t normal_bits[8] = {
        0xbf785e57, 0xbd95e014, 0xbeac8649, 0xbec26cf0,
        0x3f4b5138, 0xbed1f5bb, 0xbd985e70, 0xbf99a315,
    };
    for (int i = 0; i < 8; i++) {
        uint32_t got = float_bits(uae_rng_normal01(42, 0, (uint64_t)i));
        CHECK(got == normal_bits[i], "normal01(42, 0, %d) = 0x%08x, recorded 0x%08x", i, got,
              normal_bits[i]);
    }
}

/* ---- Counters, streams, seeds --------------------------------------------------------------- */

static void test_counter_and_streams(fixture *f) {
    enum { N = 1000, SHIFT_MAX = 9 };
    float base[N + SHIFT_MAX], shifted[N], other[N];
    for (int d = 0; d < UAE_RNG_COUNT; d++) {
        /* Filling at counter c + k gives the fill at c shifted by k: element i of the first is
         * element i + k of the second, for shifts that do and do not keep the 4-word alignment. */
        rng_fill(f->ref_arena, (uae_rng_dist)d, 11, 2, 1000, -1.0f, 1.0f, N + SHIFT_MAX, base);
        for (int k = 1; k <= SHIFT_MAX; k++) {
            rng_fill(f->ref_arena, (uae_rng_dist)d, 11, 2, 1000 + (uint64_t)k, -1.0f, 1.0f, N,
                     shifted);
            CHECK(memcmp(shifted, base + k, sizeof shifted) == 0, "dist %d: shift by %d", d, k);
        }
        /* Another stream, or another seed, gives other numbers (equal floats at the same place
         * happen with probability about 2^-24 per element for uniforms; allow a handful). */
        rng_fill(f->ref_arena, (uae_rng_dist)d, 11, 3, 1000, -1.0f, 1.0f, N, other);
        int same = 0;
        for (int i = 0; i < N; i++) same += other[i] == base[i];
        CHECK(same <= 2, "dist %d: stream 3 equals stream 2 in %d places", d, same);
        rng_fill(f->ref_arena, (uae_rng_dist)d, 12, 2, 1000, -1.0f, 1.0f, N, other);
        same = 0;
        for (int i = 0; i < N; i++) same += other[i] == base[i];
        CHECK(same <= 2, "dist %d: seed 12 equals seed 11 in %d places", d, same);
        /* High halves of the 64-bit seed and stream matter (they are key and counter words). */
        rng_fill(f->ref_arena, (uae_rng_dist)d, 11 + (1ull << 32), 2, 1000, -1.0f, 1.0f, N, other);
        same = 0;
        for (int i = 0; i < N; i++) same += other[i] == base[i];
        CHECK(same <= 2, "dist %d: seed high word ignored (%d equal)", d, same);
        rng_fill(f->ref_arena, (uae_rng_dist)d, 11, 2 + (1ull << 32), 1000, -1.0f, 1.0f, N, other);
        same = 0;
        for (int i = 0; i < N; i++) same += other[i] == base[i];
        CHECK(same <= 2, "dist %d: stream high word ignored (%d equal)", d, same);
    }
}

/* ---- Permutations --------------------------------------------------------------------------- */

/* Fisher-Yates exactly as uae/rng.h words it, on words rebuilt by spec_word: an independent
 * reading of the spec to hold the library's versions against. */
static void spec_permutation(uint64_t seed, uint64_t stream, uint64_t counter, int64_t n,
                             int64_t *perm) {
    for (int64_t i = 0; i < n; i++) perm[i] = i;
    for (int64_t i = n - 1; i >= 1; i--) {
        uint32_t w = spec_word(seed, stream, counter + (uint64_t)(n - 1 - i));
        int64_t r = (int64_t)(((uint64_t)w * (uint64_t)(i + 1)) >> 32);
        int64_t t = perm[i];
        perm[i] = perm[r];
        perm[r] = t;
    }
}

static void test_permutation(fixture *f) {
    enum { ROWS = 5, MAXN = 300 };
    static float got[ROWS * MAXN];
    static int64_t want[MAXN], host[MAXN];
    const int64_t sizes[] = {1, 2, 3, 17, 129, 300};
    for (int s = 0; s < 6; s++) {
        int64_t n = sizes[s];
        perm_fill(f->ref_arena, 5, 40, 6, ROWS, n, got);
        for (int r = 0; r < ROWS; r++) {
            /* each of 0 .. n-1 exactly once */
            int seen[MAXN] = {0}, bad = 0;
            for (int64_t i = 0; i < n; i++) {
                float v = got[r * n + i];
                if (v < 0 || v >= n || v != floorf(v) || seen[(int)v]++) bad++;
            }
            CHECK(bad == 0, "n %lld row %d: not a permutation", (long long)n, r);
            /* the op, the host API and the spec's wording agree */
            spec_permutation(5, 40 + (uint64_t)r, 6, n, want);
            uae_rng_permutation(5, 40 + (uint64_t)r, 6, n, host);
            for (int64_t i = 0; i < n; i++) {
                CHECK(got[r * n + i] == (float)want[i], "n %lld row %d [%lld]", (long long)n, r,
                      (long long)i);
                CHECK(host[i] == want[i], "host n %lld row %d [%lld]", (long long)n, r,
                      (long long)i);
            }
        }
    }
    /* Stability: a small case recorded from this implementation; a change of the word mapping or
     * of the swap order changes it. */
    static const float small[8] = {1, 0, 4, 2, 5, 3, 6, 7};
    perm_fill(f->ref_arena, 1, 0, 0, 1, 8, got);
    for (int i = 0; i < 8; i++) CHECK(got[i] == small[i], "small[%d] = %g, recorded %g", i, got[i],
                                      small[i]);
    /* Uniformity, roughly: over 6000 permutations of 3 every one of the 6 orders appears about
     * 1000 times (binomial standard error sqrt(6000 * 1/6 * 5/6) = 29; tolerance 5 of them). */
    int counts[6] = {0};
    for (uint64_t r = 0; r < 6000; r++) {
        int64_t p[3];
        uae_rng_permutation(77, r, 0, 3, p);
        counts[p[0] * 2 + (p[1] > p[2])]++;
    }
    for (int c = 0; c < 6; c++) CHECK(abs(counts[c] - 1000) < 5 * 29, "order %d: %d", c, counts[c]);
}

/* ---- The OpenMP op against the reference ------------------------------------------------------ */

static void test_omp_matches_ref(fixture *f) {
    enum { MAXN = 20011 };
    static float a[MAXN], b[MAXN];
    const int64_t sizes[] = {1, 3, 17, 129, 4097, 20011}; /* odd sizes, across chunk boundaries */
    const uint64_t counters[] = {0, 1, 6, 0xfffffffffffffff0ull}; /* unaligned; wrapping at 2^64 */
    const int threads[] = {1, 2, 3, 5, 8};
    for (int t = 0; t < 5; t++) {
#ifdef _OPENMP
        omp_set_num_threads(threads[t]);
#else
        if (t > 0) break; /* one thread only without OpenMP */
#endif
        for (int s = 0; s < 6; s++)
            for (int c = 0; c < 4; c++)
                for (int d = 0; d < UAE_RNG_COUNT; d++) {
                    int64_t n = sizes[s];
                    rng_fill(f->ref_arena, (uae_rng_dist)d, 31, 4, counters[c], -3.0f, 0.25f, n, a);
                    rng_fill(f->cpu_arena, (uae_rng_dist)d, 31, 4, counters[c], -3.0f, 0.25f, n, b);
                    CHECK(memcmp(a, b, (size_t)n * sizeof *a) == 0,
                          "rng dist %d n %lld counter %d threads %d: omp != ref", d, (long long)n,
                          c, threads[t]);
                }
        /* permutations: several rows, so that rows are split between threads */
        perm_fill(f->ref_arena, 9, 100, 3, 37, 129, a);
        perm_fill(f->cpu_arena, 9, 100, 3, 37, 129, b);
        CHECK(memcmp(a, b, 37 * 129 * sizeof *a) == 0, "permutation threads %d: omp != ref",
              threads[t]);
    }
}

/* ---- The sequential host generator ----------------------------------------------------------- */

static void test_sequential(void) {
    uae_rng r = uae_rng_make(123, 9);
    /* call c uses block c only: u32 = word 4c, uniform = uniform01(4c), normal = normal01(c) */
    CHECK(uae_rng_next_u32(&r) == uae_rng_word(123, 9, 0), "next_u32, call 0");
    CHECK(uae_rng_next_uniform(&r) == uae_rng_uniform01(123, 9, 4), "next_uniform, call 1");
    CHECK(uae_rng_next_normal(&r) == uae_rng_normal01(123, 9, 2), "next_normal, call 2");
    CHECK(uae_rng_next_below(&r, 10) == uae_philox_below(uae_rng_word(123, 9, 12), 10),
          "next_below, call 3");
    CHECK(r.counter == 4, "counter %llu", (unsigned long long)r.counter);
    int bad = 0;
    for (int i = 0; i < 10000; i++) {
        uint32_t bound = (uint32_t)i % 37 + 1;
        bad += uae_rng_next_below(&r, bound) >= bound;
        float u = uae_rng_next_uniform(&r);
        bad += !(u >= 0.0f && u < 1.0f);
    }
    CHECK(bad == 0, "%d draws out of range", bad);
    CHECK(uae_rng_next_below(&r, 1) == 0, "below(1)");
}

int main(void) {
    fixture f;
    TRY(uae_backend_open("ref", &f.ref));
    TRY(uae_backend_open("cpu", &f.cpu));
    TRY(uae_arena_create(f.ref, 1 << 20, &f.ref_arena));
    TRY(uae_arena_create(f.cpu, 1 << 20, &f.cpu_arena));

    test_known_answers();
    test_layout();
    test_portable_math();
    test_uniform(&f);
    test_normal(&f);
    test_normal_vs_double();
    test_golden();
    test_counter_and_streams(&f);
    test_permutation(&f);
    test_omp_matches_ref(&f);
    test_sequential();

    uae_arena_free(f.ref_arena);
    uae_arena_free(f.cpu_arena);
    uae_backend_free(f.ref);
    uae_backend_free(f.cpu);
    if (failures) {
        fprintf(stderr, "test_rng: %d check(s) failed\n", failures);
        return 1;
    }
    puts("test_rng: all checks passed");
    return 0;
}
