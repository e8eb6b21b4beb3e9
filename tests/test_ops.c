/* tests/test_ops.c — the table-driven cross-backend test of every op (after ggml's
 * test-backend-ops). Each row is one op with its parameters, shapes, input range and tolerance:
 * the hand-written rows of `hand_cases`, and the elementwise rows generated from the enums of
 * uae/op_enums.h (every unary function and its gradient, every binary function, on every shape of
 * unary_shapes / binary_shapes). Every backend that uae_device_list reports (except "ref" itself)
 * runs every row on the same random inputs as the scalar reference backend, and the results are
 * compared. Around every tensor lie guard floats that must come back untouched.
 *
 *   test_ops                 compare every backend with "ref"
 *   test_ops --device SPEC   compare one device (e.g. cpu) with "ref"
 *   test_ops --op TEXT       only the rows whose name contains TEXT (repeatable), e.g. --op gemm_
 *   test_ops --determinism   run every row on "cpu:1", "cpu:2" and "cpu:3" (1, 2, 3 threads); the
 *                            bits must agree
 *   test_ops --list          the rows' names (after --op and UAE_TEST_SMALL)
 *
 * Environment: UAE_TEST_SMALL=1 runs only the small rows (for slow devices and simulators);
 * UAE_TEST_ALLOW_UNSUPPORTED=1 lets an op that answers UAE_ERR_UNSUPPORTED pass (while a backend is
 * being written); UAE_CPU_ISA=generic|avx2|avx512 picks the CPU backend's instruction set (exit
 * status 77, skipped, when this processor does not run it). Exit status 0 when every row passed,
 * 1 otherwise.
 *
 * Adding an op's test is adding a row. Tolerances (field tol) are the normalised mean squared
 * error sum((a - b)^2) / sum(b^2) over the finite elements; 0 means bit-identical. NaN and Inf
 * must appear in the same places in either case. */
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "uae/ops.h"
#include "tests/test_util.h"

/* Default tolerance. Transcendental functions differ between libms (and OpenCL's exp/log are
 * allowed 3 ulp, division 2.5 ulp), and sums may be taken in another order: a few ulp on every
 * element is an NMSE near 1e-13, a reordered float sum of 10^4 terms about 1e-10. One wrong element
 * among the 10^4 to 10^5 of a row gives an NMSE of 1e-5 or more, so 1e-7 separates the two. */
#define TOL 1e-7

/* Floats of guard after every tensor, and the bit pattern they hold (a NaN no op produces). */
#define GUARD 16
#define GUARD_BITS 0x7fa1b2c3u

typedef struct tshape {
    int ndim;            /* 0: no tensor in this slot */
    int64_t d[4];
} tshape;

#define S1(a) {1, {a}}
#define S2(a, b) {2, {a, b}}
#define S3(a, b, c) {3, {a, b, c}}
#define S4(a, b, c, d) {4, {a, b, c, d}}

/* How a slot is filled before the op. Every slot (destinations too: accumulating ops and
 * optimizer states read them) gets identical data on both backends. */
typedef enum fill_kind {
    FILL_RANGE = 0,  /* uniform in [lo, hi) */
    FILL_POS,        /* uniform in [0.01, 1): optimizer second moments, learning rates */
    FILL_GATHER_IDX, /* integers in [0, n), n = src0's dimension 1 */
    FILL_SCATTER_IDX,/* distinct integers per row in [0, n), n = dst0's dimension 1 */
    FILL_NAN,        /* all NaN: a destination that must not be read (gemm with beta = 0) */
    FILL_SPECIAL,    /* uniform in [lo, hi) salted with NaN, +Inf, -Inf, +0, -0 */
} fill_kind;

enum { NSLOT = UAE_OP_MAX_SRC + UAE_OP_MAX_DST }; /* slots 0-3 sources, 4-6 destinations */

typedef struct op_case {
    const char *name;
    uae_op_kind kind;
    uae_op_params p;
    tshape src[UAE_OP_MAX_SRC], dst[UAE_OP_MAX_DST]; /* gemm/conv: derived, see derive_shapes */
    float lo, hi;                 /* input range */
    unsigned char fill[NSLOT];    /* fill_kind per slot */
    int alias;                    /* 0: none; k: dst0 is the tensor of source slot k-1 */
    double tol;                   /* NMSE bound; 0: bit-identical */
    int big;                      /* skipped with UAE_TEST_SMALL=1 */
} op_case;

#define GEMM(tA, tB, M, N, K, al, be, b) \
    .kind = UAE_OP_GEMM, .p.gemm = {.trans_a = tA, .trans_b = tB, .m = M, .n = N, .k = K, \
                                    .alpha = al, .beta = be, .batch = b}
#define CONV(sh, sw, ph, pw, g, be) \
    .p.conv = {.stride_h = sh, .stride_w = sw, .pad_h = ph, .pad_w = pw, .wsets = g, .beta = be}
#define BIN(f) .kind = UAE_OP_BINARY, .p.binary.fn = f
#define UN(f, a, b) .kind = UAE_OP_UNARY, .p.unary = {f, a, b}
#define RED(f, ax) .kind = UAE_OP_REDUCE, .p.reduce = {f, ax}
#define SP(x0) .fill = {[0] = x0}
#define X2 S2(17, 129)           /* the usual elementwise shape */
#define X2S S2(3, 17)            /* a small one */

static const op_case hand_cases[] = {
    /* ---- gemm: every transpose, odd sizes, alpha/beta, leading dimensions, strided batches.
     * Sums of k <= 129 products reordered: NMSE ~1e-13; the default holds. */
    {"gemm_nn_1x1x1", GEMM(0, 0, 1, 1, 1, 1.0f, 0.0f, 1), .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_nn_17x3x129_beta0_nan_c", GEMM(0, 0, 17, 3, 129, 1.0f, 0.0f, 1), .lo = -1, .hi = 1,
     .fill = {[4] = FILL_NAN}, .tol = TOL},
    {"gemm_tn_3x17x17", GEMM(1, 0, 3, 17, 17, 0.5f, 1.0f, 1), .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_nt_17x17x3", GEMM(0, 1, 17, 17, 3, 1.0f, -1.0f, 1), .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_tt_3x129x17", GEMM(1, 1, 3, 129, 17, -2.0f, 0.5f, 1), .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_nn_batch3_17x3x17", GEMM(0, 0, 17, 3, 17, 1.0f, 0.0f, 3), .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_tn_ld_stride_batch3", .kind = UAE_OP_GEMM,
     .p.gemm = {.trans_a = 1, .m = 5, .n = 3, .k = 17, .alpha = 1.0f, .beta = 1.0f, .lda = 7,
                .ldb = 4, .ldc = 6, .batch = 3, .stride_a = 17 * 7 + 3, .stride_b = 17 * 4 + 1,
                .stride_c = 5 * 6 + 2},
     .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_nt_ld_batch2", .kind = UAE_OP_GEMM,
     .p.gemm = {.trans_b = 1, .m = 17, .n = 3, .k = 129, .alpha = 1.0f, .beta = 0.0f, .lda = 130,
                .ldb = 131, .ldc = 5, .batch = 2},
     .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_nn_129x129x129", GEMM(0, 0, 129, 129, 129, 1.0f, 0.0f, 1), .lo = -1, .hi = 1,
     .tol = TOL, .big = 1},
    {"gemm_tt_129x65x257", GEMM(1, 1, 129, 65, 257, 1.0f, 1.0f, 1), .lo = -1, .hi = 1,
     .tol = TOL, .big = 1},

    /* ---- conv2d and its gradients (shapes of y / dy derived). Sums of C*R*S (forward, data) or
     * N*P*Q (weights) terms in another order: the default holds. */
    {"conv2d_1x1x1x1", .kind = UAE_OP_CONV2D, CONV(1, 1, 0, 0, 1, 0),
     .src = {S4(1, 1, 1, 1), S4(1, 1, 1, 1)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_3x3_pad1_bias", .kind = UAE_OP_CONV2D, CONV(1, 1, 1, 1, 1, 0),
     .src = {S4(2, 3, 17, 17), S4(4, 3, 3, 3), S1(4)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_stride2x3_pad1x0", .kind = UAE_OP_CONV2D, CONV(2, 3, 1, 0, 1, 0),
     .src = {S4(3, 2, 17, 13), S4(5, 2, 3, 2)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_wsets2_bias", .kind = UAE_OP_CONV2D, CONV(1, 1, 1, 1, 2, 0),
     .src = {S4(4, 3, 9, 7), S4(6, 3, 3, 3), S1(6)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_5x5_big", .kind = UAE_OP_CONV2D, CONV(1, 1, 2, 2, 1, 0),
     .src = {S4(4, 8, 33, 33), S4(16, 8, 5, 5), S1(16)}, .lo = -1, .hi = 1, .tol = TOL, .big = 1},
    {"conv2d_bwd_data_1x1", .kind = UAE_OP_CONV2D_BWD_DATA, CONV(1, 1, 0, 0, 1, 0),
     .src = {{0}, S4(1, 1, 1, 1)}, .dst = {S4(1, 1, 1, 1)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_bwd_data_3x3_pad1", .kind = UAE_OP_CONV2D_BWD_DATA, CONV(1, 1, 1, 1, 1, 0),
     .src = {{0}, S4(4, 3, 3, 3)}, .dst = {S4(2, 3, 17, 17)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_bwd_data_stride2x3_beta1", .kind = UAE_OP_CONV2D_BWD_DATA, CONV(2, 3, 1, 0, 1, 1),
     .src = {{0}, S4(5, 2, 3, 2)}, .dst = {S4(3, 2, 17, 13)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_bwd_data_wsets2", .kind = UAE_OP_CONV2D_BWD_DATA, CONV(1, 1, 1, 1, 2, 0),
     .src = {{0}, S4(6, 3, 3, 3)}, .dst = {S4(4, 3, 9, 7)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_bwd_data_big", .kind = UAE_OP_CONV2D_BWD_DATA, CONV(1, 1, 2, 2, 1, 0),
     .src = {{0}, S4(16, 8, 5, 5)}, .dst = {S4(4, 8, 33, 33)}, .lo = -1, .hi = 1, .tol = TOL,
     .big = 1},
    {"conv2d_bwd_weight_1x1", .kind = UAE_OP_CONV2D_BWD_WEIGHT, CONV(1, 1, 0, 0, 1, 0),
     .src = {S4(1, 1, 1, 1)}, .dst = {S4(1, 1, 1, 1), S1(1)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_bwd_weight_3x3_pad1", .kind = UAE_OP_CONV2D_BWD_WEIGHT, CONV(1, 1, 1, 1, 1, 0),
     .src = {S4(2, 3, 17, 17)}, .dst = {S4(4, 3, 3, 3), S1(4)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_bwd_weight_stride2x3_beta1", .kind = UAE_OP_CONV2D_BWD_WEIGHT,
     CONV(2, 3, 1, 0, 1, 1), .src = {S4(3, 2, 17, 13)}, .dst = {S4(5, 2, 3, 2), S1(5)}, .lo = -1,
     .hi = 1, .tol = TOL},
    {"conv2d_bwd_weight_wsets2_nobias", .kind = UAE_OP_CONV2D_BWD_WEIGHT, CONV(1, 1, 1, 1, 2, 0),
     .src = {S4(4, 3, 9, 7)}, .dst = {S4(6, 3, 3, 3)}, .lo = -1, .hi = 1, .tol = TOL},
    {"conv2d_bwd_weight_big", .kind = UAE_OP_CONV2D_BWD_WEIGHT, CONV(1, 1, 2, 2, 1, 0),
     .src = {S4(4, 8, 33, 33)}, .dst = {S4(16, 8, 5, 5), S1(16)}, .lo = -1, .hi = 1, .tol = TOL,
     .big = 1},

    /* ---- pooling and upsampling: selections and sums of 4 in a fixed order, bit-identical. */
    {"maxpool2_1x1x2x2", .kind = UAE_OP_MAXPOOL2, .src = {S4(1, 1, 2, 2)}, .dst = {S4(1, 1, 1, 1)},
     .lo = -1, .hi = 1},
    {"maxpool2_odd_17x13", .kind = UAE_OP_MAXPOOL2, .src = {S4(2, 3, 17, 13)},
     .dst = {S4(2, 3, 8, 6)}, .lo = -1, .hi = 1},
    {"maxpool2_3x129", .kind = UAE_OP_MAXPOOL2, .src = {S4(1, 1, 3, 129)},
     .dst = {S4(1, 1, 1, 64)}, .lo = -1, .hi = 1},
    {"maxpool2_bwd_odd_17x13", .kind = UAE_OP_MAXPOOL2_BWD,
     .src = {S4(2, 3, 17, 13), S4(2, 3, 8, 6)}, .dst = {S4(2, 3, 17, 13)}, .lo = -1, .hi = 1},
    {"maxpool2_bwd_1x1x2x2", .kind = UAE_OP_MAXPOOL2_BWD, .src = {S4(1, 1, 2, 2), S4(1, 1, 1, 1)},
     .dst = {S4(1, 1, 2, 2)}, .lo = -1, .hi = 1},
    {"upsample2_1x1x1x1", .kind = UAE_OP_UPSAMPLE2, .src = {S4(1, 1, 1, 1)},
     .dst = {S4(1, 1, 2, 2)}, .lo = -1, .hi = 1},
    {"upsample2_2x3x5x17", .kind = UAE_OP_UPSAMPLE2, .src = {S4(2, 3, 5, 17)},
     .dst = {S4(2, 3, 10, 34)}, .lo = -1, .hi = 1},
    {"upsample2_bwd_2x3x5x17", .kind = UAE_OP_UPSAMPLE2_BWD, .src = {S4(2, 3, 10, 34)},
     .dst = {S4(2, 3, 5, 17)}, .lo = -1, .hi = 1},
    {"upsample2_bwd_1x1x1x1", .kind = UAE_OP_UPSAMPLE2_BWD, .src = {S4(1, 1, 2, 2)},
     .dst = {S4(1, 1, 1, 1)}, .lo = -1, .hi = 1},

    /* ---- elementwise rows that the generated ones (elementwise_rows, below) do not cover: large
     * tensors, more than one chunk of work. */
    {"binary_add_big", BIN(UAE_BINARY_ADD), .src = {S4(7, 17, 33, 129), S4(1, 17, 1, 129)},
     .dst = {S4(7, 17, 33, 129)}, .lo = -2, .hi = 2, .big = 1},
    {"unary_tanh_big", UN(UAE_UNARY_TANH, 0, 0), .src = {S2(1000, 129)}, .dst = {S2(1000, 129)},
     .lo = -5, .hi = 5, .tol = TOL, .big = 1},

    /* ---- reduce: every function, every pattern of axes (inner, outer, alternating, all, a
     * size-1 axis), more than one chunk of 1024. Sums in another order: TOL. The maximum is a
     * selection: bit-identical. */
    {"reduce_sum_rows", RED(UAE_REDUCE_SUM, 2), .src = {X2}, .dst = {S2(17, 1)}, .lo = -1,
     .hi = 1, .tol = TOL},
    {"reduce_sum_cols", RED(UAE_REDUCE_SUM, 1), .src = {X2}, .dst = {S2(1, 129)}, .lo = -1,
     .hi = 1, .tol = TOL},
    {"reduce_mean_alt_1010", RED(UAE_REDUCE_MEAN, 0xA), .src = {S4(3, 17, 5, 7)},
     .dst = {S4(3, 1, 5, 1)}, .lo = -1, .hi = 1, .tol = TOL},
    {"reduce_sum_alt_0101", RED(UAE_REDUCE_SUM, 0x5), .src = {S4(3, 17, 5, 7)},
     .dst = {S4(1, 17, 1, 7)}, .lo = -1, .hi = 1, .tol = TOL},
    {"reduce_sum_all", RED(UAE_REDUCE_SUM, 0xF), .src = {S4(3, 17, 5, 7)},
     .dst = {S4(1, 1, 1, 1)}, .lo = -1, .hi = 1, .tol = TOL},
    {"reduce_sum_chunks_2x2500", RED(UAE_REDUCE_SUM, 2), .src = {S2(2, 2500)},
     .dst = {S2(2, 1)}, .lo = -1, .hi = 1, .tol = TOL},
    {"reduce_mean_size1_axis", RED(UAE_REDUCE_MEAN, 2), .src = {S3(3, 1, 17)},
     .dst = {S3(3, 1, 17)}, .lo = -1, .hi = 1, .tol = TOL},
    {"reduce_sum_1", RED(UAE_REDUCE_SUM, 1), .src = {S1(1)}, .dst = {S1(1)}, .lo = -1, .hi = 1,
     .tol = TOL},
    {"reduce_max_rows_special", RED(UAE_REDUCE_MAX, 2), .src = {X2}, .dst = {S2(17, 1)}, .lo = -1,
     .hi = 1, SP(FILL_SPECIAL)},
    {"reduce_max_cols", RED(UAE_REDUCE_MAX, 1), .src = {X2}, .dst = {S2(1, 129)}, .lo = -1,
     .hi = 1},
    {"reduce_max_chunks_2x2500", RED(UAE_REDUCE_MAX, 2), .src = {S2(2, 2500)},
     .dst = {S2(2, 1)}, .lo = -1, .hi = 1},
    {"reduce_lse_rows", RED(UAE_REDUCE_LSE, 2), .src = {X2}, .dst = {S2(17, 1)}, .lo = -30,
     .hi = 30, .tol = TOL},
    {"reduce_lse_rows_special", RED(UAE_REDUCE_LSE, 2), .src = {S2(17, 3)}, .dst = {S2(17, 1)},
     .lo = -3, .hi = 3, SP(FILL_SPECIAL), .tol = TOL},
    {"reduce_lme_alt_1010", RED(UAE_REDUCE_LME, 0xA), .src = {S4(3, 17, 5, 7)},
     .dst = {S4(3, 1, 5, 1)}, .lo = -30, .hi = 30, .tol = TOL},
    {"reduce_lme_chunks_2x2500", RED(UAE_REDUCE_LME, 2), .src = {S2(2, 2500)},
     .dst = {S2(2, 1)}, .lo = -30, .hi = 30, .tol = TOL},
    {"reduce_sum_cols_big", RED(UAE_REDUCE_SUM, 1), .src = {S2(3001, 129)},
     .dst = {S2(1, 129)}, .lo = -1, .hi = 1, .tol = TOL, .big = 1},

    /* ---- softmax along the last dimension (exp, log): TOL. */
    {"softmax_17x129", .kind = UAE_OP_SOFTMAX, .src = {X2}, .dst = {X2}, .lo = -10, .hi = 10,
     .tol = TOL},
    {"log_softmax_17x129", .kind = UAE_OP_SOFTMAX, .p.softmax.log = 1, .src = {X2}, .dst = {X2},
     .lo = -10, .hi = 10, .tol = TOL},
    {"softmax_3x1", .kind = UAE_OP_SOFTMAX, .src = {S2(3, 1)}, .dst = {S2(3, 1)}, .lo = -10,
     .hi = 10, .tol = TOL},
    {"log_softmax_special", .kind = UAE_OP_SOFTMAX, .p.softmax.log = 1, .src = {S3(3, 17, 10)},
     .dst = {S3(3, 17, 10)}, .lo = -10, .hi = 10, SP(FILL_SPECIAL), .tol = TOL},

    /* ---- fill and clamp: bit-identical. */
    {"fill_17x129", .kind = UAE_OP_FILL, .p.fill.value = 3.5f, .dst = {X2}},
    {"fill_1_nan", .kind = UAE_OP_FILL, .p.fill.value = NAN, .dst = {S1(1)}},
    {"clamp_special", .kind = UAE_OP_CLAMP, .p.clamp = {-0.5f, 0.5f}, .src = {X2}, .dst = {X2},
     .lo = -1, .hi = 1, SP(FILL_SPECIAL)},
    {"clamp_inplace_1", .kind = UAE_OP_CLAMP, .p.clamp = {0.0f, 1.0f}, .src = {S1(1)},
     .dst = {S1(1)}, .lo = -1, .hi = 2, .alias = 1},

    /* ---- optimizers (destinations: parameters, states). Arithmetic and sqrt/division, the
     * same formula on every backend: TOL covers OpenCL's 3-ulp sqrt and division. */
    {"optim_sgd", .kind = UAE_OP_OPTIM, .p.optim = {.fn = UAE_OPTIM_SGD, .lr = 0.1f},
     .src = {X2}, .dst = {X2}, .lo = -1, .hi = 1, .tol = TOL},
    {"optim_sgd_momentum_wd", .kind = UAE_OP_OPTIM,
     .p.optim = {.fn = UAE_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-2f},
     .src = {X2}, .dst = {X2, X2}, .lo = -1, .hi = 1, .tol = TOL},
    {"optim_sgd_nesterov", .kind = UAE_OP_OPTIM,
     .p.optim = {.fn = UAE_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f, .nesterov = 1,
                 .weight_decay = 1e-2f},
     .src = {S1(3)}, .dst = {S1(3), S1(3)}, .lo = -1, .hi = 1, .tol = TOL},
    {"optim_adam_step1", .kind = UAE_OP_OPTIM,
     .p.optim = {.fn = UAE_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                 .step = 1},
     .src = {X2}, .dst = {X2, X2, X2}, .lo = -1, .hi = 1, .fill = {[6] = FILL_POS}, .tol = TOL},
    {"optim_adam_step1000", .kind = UAE_OP_OPTIM,
     .p.optim = {.fn = UAE_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.5f, .beta2 = 0.999f, .eps = 1e-8f,
                 .step = 1000},
     .src = {S1(17)}, .dst = {S1(17), S1(17), S1(17)}, .lo = -1, .hi = 1,
     .fill = {[6] = FILL_POS}, .tol = TOL},
    {"optim_rmsprop", .kind = UAE_OP_OPTIM,
     .p.optim = {.fn = UAE_OPTIM_RMSPROP, .lr = 1e-2f, .rho = 0.99f, .eps = 1e-8f},
     .src = {X2}, .dst = {X2, X2}, .lo = -1, .hi = 1, .fill = {[5] = FILL_POS}, .tol = TOL},
    {"optim_adadelta", .kind = UAE_OP_OPTIM,
     .p.optim = {.fn = UAE_OPTIM_ADADELTA, .lr = 1.0f, .rho = 0.9f, .eps = 1e-6f},
     .src = {X2}, .dst = {X2, X2, X2}, .lo = -1, .hi = 1,
     .fill = {[5] = FILL_POS, [6] = FILL_POS}, .tol = TOL},

    /* ---- a product fused with an optimizer step (dst: parameters, states; a state's slot marked
     * S1(1) is sized like the parameters by derive_shapes). The product's sums in another order
     * and the step's sqrt/division: TOL. Shapes: the MINE's dW (A^T B, k = its samples), k in
     * more than one block (257), the dot-product path (A B^T, few rows, long k), leading
     * dimensions and strides, a batch per thread, every optimizer. */
    {"gemm_optim_adam_tn_17x129x5_batch2", .kind = UAE_OP_GEMM_OPTIM,
     .p.gemm_optim = {.gemm = {.trans_a = 1, .m = 17, .n = 129, .k = 5, .alpha = 1.0f, .batch = 2},
                      .optim = {.fn = UAE_OPTIM_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                                .eps = 1e-8f, .step = 3}},
     .dst = {{0}, S1(1), S1(1)}, .lo = -1, .hi = 1, .fill = {[6] = FILL_POS}, .tol = TOL},
    {"gemm_optim_sgd_nn_3x17x257", .kind = UAE_OP_GEMM_OPTIM,
     .p.gemm_optim = {.gemm = {.m = 3, .n = 17, .k = 257, .alpha = 0.5f, .batch = 1},
                      .optim = {.fn = UAE_OPTIM_SGD, .lr = 0.1f}},
     .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_optim_momentum_nt_5x33x300", .kind = UAE_OP_GEMM_OPTIM,
     .p.gemm_optim = {.gemm = {.trans_b = 1, .m = 5, .n = 33, .k = 300, .alpha = 1.0f, .batch = 1},
                      .optim = {.fn = UAE_OPTIM_SGD, .lr = 0.1f, .momentum = 0.9f,
                                .nesterov = 1, .weight_decay = 1e-2f}},
     .dst = {{0}, S1(1)}, .lo = -1, .hi = 1, .tol = TOL},
    {"gemm_optim_rmsprop_tt_ld_stride_batch3", .kind = UAE_OP_GEMM_OPTIM,
     .p.gemm_optim = {.gemm = {.trans_a = 1, .trans_b = 1, .m = 9, .n = 40, .k = 7, .alpha = 1.0f,
                               .lda = 11, .ldb = 8, .ldc = 41, .batch = 3, .stride_a = 7 * 11 + 2,
                               .stride_b = 40 * 8 + 1, .stride_c = 9 * 41 + 3},
                      .optim = {.fn = UAE_OPTIM_RMSPROP, .lr = 1e-2f, .rho = 0.99f, .eps = 1e-8f}},
     .dst = {{0}, S1(1)}, .lo = -1, .hi = 1, .fill = {[5] = FILL_POS}, .tol = TOL},
    {"gemm_optim_adadelta_tn_1x1x1", .kind = UAE_OP_GEMM_OPTIM,
     .p.gemm_optim = {.gemm = {.trans_a = 1, .m = 1, .n = 1, .k = 1, .alpha = 1.0f, .batch = 1},
                      .optim = {.fn = UAE_OPTIM_ADADELTA, .lr = 1.0f, .rho = 0.9f, .eps = 1e-6f}},
     .dst = {{0}, S1(1), S1(1)}, .lo = -1, .hi = 1, .fill = {[5] = FILL_POS, [6] = FILL_POS},
     .tol = TOL},
    {"gemm_optim_adam_tn_512x2000x16_big", .kind = UAE_OP_GEMM_OPTIM,
     .p.gemm_optim = {.gemm = {.trans_a = 1, .m = 512, .n = 2000, .k = 16, .alpha = 1.0f,
                               .batch = 2},
                      .optim = {.fn = UAE_OPTIM_ADAM, .lr = 1.5e-5f, .beta1 = 0.9f,
                                .beta2 = 0.999f, .eps = 1e-8f, .step = 1}},
     .dst = {{0}, S1(1), S1(1)}, .lo = -1, .hi = 1, .fill = {[6] = FILL_POS}, .tol = TOL,
     .big = 1},

    /* ---- random numbers: one counter-based stream on every backend, bit-identical. Counters
     * not a multiple of 4 check the element-to-word mapping. */
    {"rng_uniform_17x129", .kind = UAE_OP_RNG,
     .p.rng = {UAE_RNG_UNIFORM, 42, 3, 5, -1.0f, 2.0f}, .dst = {X2}},
    {"rng_uniform_1", .kind = UAE_OP_RNG, .p.rng = {UAE_RNG_UNIFORM, 1, 0, 0, 0.0f, 1.0f},
     .dst = {S1(1)}},
    {"rng_normal_3x17", .kind = UAE_OP_RNG, .p.rng = {UAE_RNG_NORMAL, 7, 1, 3, 0.5f, 2.0f},
     .dst = {X2S}},
    {"rng_normal_big", .kind = UAE_OP_RNG,
     .p.rng = {UAE_RNG_NORMAL, 0x123456789abcdefull, 9, 1ull << 33, 0.0f, 1.0f},
     .dst = {S2(1000, 129)}, .big = 1},
    {"permutation_3x17", .kind = UAE_OP_PERMUTATION, .p.rng = {.seed = 5, .stream = 2},
     .dst = {X2S}},
    {"permutation_1x1", .kind = UAE_OP_PERMUTATION, .p.rng = {.seed = 5}, .dst = {S2(1, 1)}},
    {"permutation_2x129_counter", .kind = UAE_OP_PERMUTATION,
     .p.rng = {.seed = 11, .stream = 4, .counter = 7}, .dst = {S2(2, 129)}},

    /* ---- row gather and scatter: copies, bit-identical. */
    {"gather_rows_2x17x5", .kind = UAE_OP_GATHER_ROWS, .src = {S3(2, 17, 5), S2(2, 3)},
     .dst = {S3(2, 3, 5)}, .lo = -1, .hi = 1, .fill = {[1] = FILL_GATHER_IDX}},
    {"gather_rows_1x129x1", .kind = UAE_OP_GATHER_ROWS, .src = {S3(1, 129, 1), S2(1, 129)},
     .dst = {S3(1, 129, 1)}, .lo = -1, .hi = 1, .fill = {[1] = FILL_GATHER_IDX}},
    {"scatter_rows_2x3x5", .kind = UAE_OP_SCATTER_ROWS, .src = {S3(2, 3, 5), S2(2, 3)},
     .dst = {S3(2, 17, 5)}, .lo = -1, .hi = 1, .fill = {[1] = FILL_SCATTER_IDX}},
    {"scatter_rows_perm_1x129x17", .kind = UAE_OP_SCATTER_ROWS, .src = {S3(1, 129, 17), S2(1, 129)},
     .dst = {S3(1, 129, 17)}, .lo = -1, .hi = 1, .fill = {[1] = FILL_SCATTER_IDX}},
    {"scatter_rows_wide_3x2x300", .kind = UAE_OP_SCATTER_ROWS, .src = {S3(3, 2, 300), S2(3, 2)},
     .dst = {S3(3, 5, 300)}, .lo = -1, .hi = 1, .fill = {[1] = FILL_SCATTER_IDX}},

    /* ---- MINE bounds (exp, log, softplus; sums): TOL. */
    {"mine_dv_3x17_3x129", .kind = UAE_OP_MINE_BOUND, .p.mine.kind = UAE_MINE_DV,
     .src = {S2(3, 17), S2(3, 129)}, .dst = {S1(3), S2(3, 17), S2(3, 129)}, .lo = -5, .hi = 5,
     .tol = TOL},
    {"mine_dv_upstream_nograd_joint", .kind = UAE_OP_MINE_BOUND, .p.mine.kind = UAE_MINE_DV,
     .src = {S2(3, 17), S2(3, 17), S1(3)}, .dst = {S1(3), {0}, S2(3, 17)}, .lo = -40, .hi = 40,
     .tol = TOL},
    {"mine_dv_1x1", .kind = UAE_OP_MINE_BOUND, .p.mine.kind = UAE_MINE_DV,
     .src = {S2(1, 1), S2(1, 1)}, .dst = {S1(1), S2(1, 1), S2(1, 1)}, .lo = -5, .hi = 5,
     .tol = TOL},
    {"mine_js_upstream", .kind = UAE_OP_MINE_BOUND, .p.mine.kind = UAE_MINE_JS,
     .src = {S2(3, 17), S2(3, 129), S1(3)}, .dst = {S1(3), S2(3, 17), S2(3, 129)}, .lo = -30,
     .hi = 30, .tol = TOL},
    {"mine_js_bound_only", .kind = UAE_OP_MINE_BOUND, .p.mine.kind = UAE_MINE_JS,
     .src = {S2(1, 3), S2(1, 1)}, .dst = {S1(1)}, .lo = -5, .hi = 5, .tol = TOL},

    /* ---- attack step: subtraction and clamps, bit-identical. x in [0, 1), delta and g in
     * [-0.2, 0.2) by the rows' ranges (the clamp to [lo - x, hi - x] is then active). */
    {"attack_sign_3x17", .kind = UAE_OP_ATTACK_STEP,
     .p.attack = {.lr = 0.05f, .eps = 0.1f, .lo = 0.0f, .hi = 1.0f, .sign = 1},
     .src = {X2S, X2S}, .dst = {X2S}, .lo = -0.2f, .hi = 0.9f},
    {"attack_lr_xadv_2x129", .kind = UAE_OP_ATTACK_STEP,
     .p.attack = {.lr = 1.0f, .eps = 0.1f, .lo = 0.0f, .hi = 1.0f},
     .src = {S2(2, 129), S2(2, 129), S1(2)}, .dst = {S2(2, 129), S2(2, 129)}, .lo = -0.2f,
     .hi = 0.9f, .fill = {[2] = FILL_POS}},
    {"attack_sign_special", .kind = UAE_OP_ATTACK_STEP,
     .p.attack = {.lr = 0.05f, .eps = 0.1f, .lo = -1.0f, .hi = 1.0f, .sign = 1},
     .src = {X2, X2}, .dst = {X2, X2}, .lo = -0.5f, .hi = 0.5f, .fill = {[1] = FILL_SPECIAL}},
};

/* ---- Elementwise rows, generated from the enums of uae/op_enums.h ---------------------------
 * Every unary function (forward and gradient) and every binary function on every shape below, as
 * ggml's test-backend-ops does: a new function in the enum fails the build until it has its line
 * here, and then it is tested on every shape with no further row to write. */

/* Per unary function: its name, parameters, input range and tolerances. Exact functions (relu,
 * leaky, abs, affine, step, square) are bit-identical forward; the others call exp/log/tanh/sqrt or
 * divide: TOL. Derivatives made of +, -, * only are bit-identical (relu, leaky, sigmoid, tanh,
 * exp, square, abs, affine, step, recip); softplus (exp), log and sqrt (division): TOL. The
 * gradient rows of log and sqrt keep x > 0.1 (near 0 their derivative is huge). */
typedef struct unary_spec {
    const char *name;
    float alpha, beta;         /* forward parameters */
    float lo, hi;              /* forward input range */
    double tol;
    float bwd_alpha;           /* the gradient rows' alpha */
    float bwd_lo, bwd_hi;      /* the gradient rows' range of x, y and dy */
    double bwd_tol;
} unary_spec;

static const unary_spec unary_specs[] = {
    [UAE_UNARY_RELU] = {"relu", 0, 0, -3, 3, 0, 0, -3, 3, 0},
    [UAE_UNARY_LEAKY] = {"leaky", 0.1f, 0, -3, 3, 0, 0.1f, -3, 3, 0},
    [UAE_UNARY_SIGMOID] = {"sigmoid", 0, 0, -30, 30, TOL, 0, -3, 3, 0},
    [UAE_UNARY_TANH] = {"tanh", 0, 0, -5, 5, TOL, 0, -3, 3, 0},
    [UAE_UNARY_SOFTPLUS] = {"softplus", 0, 0, -30, 30, TOL, 0, -30, 30, TOL},
    [UAE_UNARY_EXP] = {"exp", 0, 0, -10, 10, TOL, 0, -3, 3, 0},
    [UAE_UNARY_LOG] = {"log", 0, 0, -0.5f, 4, TOL, 0, 0.1f, 4, TOL},
    [UAE_UNARY_SQUARE] = {"square", 0, 0, -3, 3, 0, 0, -3, 3, 0},
    [UAE_UNARY_SQRT] = {"sqrt", 0, 0, -0.5f, 4, TOL, 0, 0.1f, 4, TOL},
    [UAE_UNARY_ABS] = {"abs", 0, 0, -3, 3, 0, 0, -3, 3, 0},
    [UAE_UNARY_AFFINE] = {"affine", 2.5f, -1.0f, -3, 3, 0, -1.5f, -3, 3, 0},
    [UAE_UNARY_STEP] = {"step", 0.25f, 0, -3, 3, 0, 0.25f, -3, 3, 0},
    [UAE_UNARY_RECIP] = {"recip", 0, 0, -3, 3, TOL, 0, -3, 3, 0},
};
_Static_assert(sizeof unary_specs / sizeof unary_specs[0] == UAE_UNARY_COUNT,
               "a line per uae_unary_fn");

/* Per binary function. +, -, *, max, min are exact IEEE operations: bit-identical; division: TOL
 * (OpenCL allows 2.5 ulp). */
typedef struct binary_spec {
    const char *name;
    double tol;
} binary_spec;

static const binary_spec binary_specs[] = {
    [UAE_BINARY_ADD] = {"add", 0}, [UAE_BINARY_SUB] = {"sub", 0}, [UAE_BINARY_MUL] = {"mul", 0},
    [UAE_BINARY_DIV] = {"div", TOL}, [UAE_BINARY_MAX] = {"max", 0}, [UAE_BINARY_MIN] = {"min", 0},
};
_Static_assert(sizeof binary_specs / sizeof binary_specs[0] == UAE_BINARY_COUNT,
               "a line per uae_binary_fn");

/* The shapes every function runs on. special: the inputs are salted with NaN, +-Inf and +-0 (a
 * single element is not); inplace: the destination is the first source (unary), dy (unary
 * gradient) or a (binary). */
typedef struct ew_shape {
    const char *suffix;
    tshape a, b;               /* b: binary only; the destination has a's shape */
    int special, inplace;
} ew_shape;

static const ew_shape unary_shapes[] = {
    {"", X2, {0}, 1, 0},
    {"_inplace", X2, {0}, 1, 1},
    {"_1", S1(1), {0}, 0, 0},
};

static const ew_shape binary_shapes[] = {
    {"_same_special", X2, X2, 1, 0},
    {"_rows", S2(17, 3), S2(1, 3), 0, 0},           /* b broadcast along dimension 0 */
    {"_bcast_special", X2, S2(1, 129), 1, 0},
    {"_3d_bcast_mid", S3(3, 17, 5), S3(1, 17, 1), 1, 0},
    {"_3d_bcast_inner", S3(3, 17, 5), S3(3, 1, 5), 0, 0},
    {"_channel_bias", S4(2, 3, 5, 7), S4(1, 3, 1, 1), 0, 0},
    {"_4d_alternate", S4(2, 3, 5, 7), S4(2, 1, 5, 1), 0, 0},
    {"_scalar_129", S1(129), S1(1), 0, 0},
    {"_1", S1(1), S1(1), 0, 0},
    {"_inplace", X2, S2(17, 1), 0, 1},
};

enum {
    N_UNARY_ROWS = 2 * UAE_UNARY_COUNT * (int)(sizeof unary_shapes / sizeof unary_shapes[0]),
    N_BINARY_ROWS = UAE_BINARY_COUNT * (int)(sizeof binary_shapes / sizeof binary_shapes[0]),
    N_HAND_ROWS = (int)(sizeof hand_cases / sizeof hand_cases[0]),
    MAX_ROWS = N_HAND_ROWS + N_UNARY_ROWS + N_BINARY_ROWS,
};

static op_case cases[MAX_ROWS];
static char case_names[MAX_ROWS][48];
static int ncases;

/* Appends row c with the name prefix_fn_suffix. */
static void add_row(op_case c, const char *prefix, const char *fn, const char *suffix) {
    UAE_ASSERT(ncases < MAX_ROWS && fn);
    snprintf(case_names[ncases], sizeof case_names[0], "%s_%s%s", prefix, fn, suffix);
    c.name = case_names[ncases];
    cases[ncases++] = c;
}

/* cases: the hand-written rows, then the generated elementwise rows. */
static void build_cases(void) {
    for (int i = 0; i < N_HAND_ROWS; i++) cases[ncases++] = hand_cases[i];
    for (int f = 0; f < UAE_UNARY_COUNT; f++) {
        const unary_spec *u = &unary_specs[f];
        for (size_t k = 0; k < sizeof unary_shapes / sizeof unary_shapes[0]; k++) {
            const ew_shape *sh = &unary_shapes[k];
            unsigned char sp = sh->special ? FILL_SPECIAL : FILL_RANGE;
            add_row((op_case){UN((uae_unary_fn)f, u->alpha, u->beta), .src = {sh->a},
                              .dst = {sh->a}, .lo = u->lo, .hi = u->hi, .fill = {sp},
                              .alias = sh->inplace, .tol = u->tol},
                    "unary", u->name, sh->suffix);
            /* sources x, y, dy: x and dy salted */
            add_row((op_case){.kind = UAE_OP_UNARY_BWD,
                              .p.unary = {(uae_unary_fn)f, u->bwd_alpha, 0.0f},
                              .src = {sh->a, sh->a, sh->a}, .dst = {sh->a}, .lo = u->bwd_lo,
                              .hi = u->bwd_hi, .fill = {sp, FILL_RANGE, sp},
                              .alias = sh->inplace ? 3 : 0, .tol = u->bwd_tol},
                    "unary_bwd", u->name, sh->suffix);
        }
    }
    for (int f = 0; f < UAE_BINARY_COUNT; f++)
        for (size_t k = 0; k < sizeof binary_shapes / sizeof binary_shapes[0]; k++) {
            const ew_shape *sh = &binary_shapes[k];
            unsigned char sp = sh->special ? FILL_SPECIAL : FILL_RANGE;
            add_row((op_case){BIN((uae_binary_fn)f), .src = {sh->a, sh->b}, .dst = {sh->a},
                              .lo = -2, .hi = 2, .fill = {sp, sp}, .alias = sh->inplace,
                              .tol = binary_specs[f].tol},
                    "binary", binary_specs[f].name, sh->suffix);
        }
}

/* ---- Shapes derived from parameters ------------------------------------------------------- */

/* Fills in the shapes a row leaves to its parameters: gemm operands (flat, just large enough for
 * the leading dimensions and batch strides) and the y / dy of a convolution. */
static void derive_shapes(op_case *c) {
    if (c->kind == UAE_OP_GEMM || c->kind == UAE_OP_GEMM_OPTIM) {
        const uae_gemm_params *g = c->kind == UAE_OP_GEMM ? &c->p.gemm : &c->p.gemm_optim.gemm;
        int64_t ar = g->trans_a ? g->k : g->m, ac = g->trans_a ? g->m : g->k;
        int64_t br = g->trans_b ? g->n : g->k, bc = g->trans_b ? g->k : g->n;
        int64_t lda = g->lda ? g->lda : ac, ldb = g->ldb ? g->ldb : bc, ldc = g->ldc ? g->ldc : g->n;
        int64_t sa = g->stride_a ? g->stride_a : ar * lda, sb = g->stride_b ? g->stride_b : br * ldb,
                sc = g->stride_c ? g->stride_c : g->m * ldc;
        c->src[0] = (tshape)S1((g->batch - 1) * sa + ar * lda);
        c->src[1] = (tshape)S1((g->batch - 1) * sb + br * ldb);
        c->dst[0] = (tshape)S1((g->batch - 1) * sc + g->m * ldc);
        /* GEMM_OPTIM: the states as the parameters, where the optimizer has them */
        for (int d = 1; d < 3 && c->kind == UAE_OP_GEMM_OPTIM; d++)
            if (c->dst[d].ndim) c->dst[d] = c->dst[0];
        return;
    }
    if (c->kind != UAE_OP_CONV2D && c->kind != UAE_OP_CONV2D_BWD_DATA &&
        c->kind != UAE_OP_CONV2D_BWD_WEIGHT)
        return;
    const uae_conv_params *p = &c->p.conv;
    const tshape *x = c->kind == UAE_OP_CONV2D_BWD_DATA ? &c->dst[0] : &c->src[0];
    const tshape *w = c->kind == UAE_OP_CONV2D_BWD_WEIGHT ? &c->dst[0] : &c->src[1];
    int64_t ph = (x->d[2] + 2 * p->pad_h - w->d[2]) / p->stride_h + 1;
    int64_t pw = (x->d[3] + 2 * p->pad_w - w->d[3]) / p->stride_w + 1;
    tshape y = S4(x->d[0], w->d[0] / p->wsets, ph, pw);
    if (c->kind == UAE_OP_CONV2D) c->dst[0] = y;
    else if (c->kind == UAE_OP_CONV2D_BWD_DATA) c->src[0] = y;
    else c->src[1] = y;
}

static int64_t shape_numel(const tshape *s) {
    int64_t n = s->ndim ? 1 : 0;
    for (int d = 0; d < s->ndim; d++) n *= s->d[d];
    return n;
}

/* ---- Inputs ----------------------------------------------------------------------------------- */

/* splitmix64: the test's own generator, independent of the library's RNG under test. */
static uint64_t next_u64(uint64_t *s) {
    uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

static float next_unit(uint64_t *s) { return (float)(next_u64(s) >> 40) * 0x1p-24f; }

/* Fills the host copy of slot k of case c (n floats). */
static void fill_slot(const op_case *c, int k, const tshape *shapes, float *h, int64_t n,
                      uint64_t seed) {
    uint64_t s = seed;
    fill_kind kind = (fill_kind)c->fill[k];
    static const float special[5] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f};
    for (int64_t i = 0; i < n; i++) {
        float u = next_unit(&s);
        switch (kind) {
        case FILL_POS: h[i] = 0.01f + 0.99f * u; break;
        case FILL_NAN: h[i] = NAN; break;
        case FILL_SPECIAL:
            h[i] = i % 5 == 2 ? special[(i / 5) % 5] : c->lo + (c->hi - c->lo) * u;
            break;
        default: h[i] = c->lo + (c->hi - c->lo) * u; break;
        }
    }
    if (kind == FILL_GATHER_IDX) {
        int64_t rows = shapes[0].d[1];
        for (int64_t i = 0; i < n; i++) h[i] = (float)(next_u64(&s) % (uint64_t)rows);
    }
    if (kind == FILL_SCATTER_IDX) {
        /* Per row of idx: the first m entries of a random permutation of dst's n rows. */
        int64_t rows = shapes[UAE_OP_MAX_SRC].d[1], m = shapes[k].d[1];
        int64_t *perm = malloc((size_t)rows * sizeof *perm);
        UAE_ASSERT(perm);
        for (int64_t b = 0; b < shapes[k].d[0]; b++) {
            for (int64_t i = 0; i < rows; i++) perm[i] = i;
            for (int64_t i = rows - 1; i > 0; i--) {
                int64_t j = (int64_t)(next_u64(&s) % (uint64_t)(i + 1)), t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
            for (int64_t i = 0; i < m; i++) h[b * m + i] = (float)perm[i];
        }
        free(perm);
    }
}

/* ---- Running one case on one backend ---------------------------------------------------------- */

typedef struct run_result {
    uae_status st;
    char msg[256];
    float *out[UAE_OP_MAX_DST]; /* numel floats per destination (owned) */
    int guard_bad;              /* slots whose guard floats were overwritten */
} run_result;

static void run_result_free(run_result *r) {
    for (int i = 0; i < UAE_OP_MAX_DST; i++) free(r->out[i]);
    memset(r, 0, sizeof *r);
}

/* Allocates every tensor of c on be with GUARD floats after it, writes the inputs, runs the op and
 * reads the destinations back, checking the guards of all tensors. */
static void run_case(uae_backend *be, const op_case *c, const tshape *shapes, float *const *init,
                     run_result *r) {
    memset(r, 0, sizeof *r);
    uae_arena *arena = NULL;
    uae_tensor t[NSLOT], full[NSLOT];
    const uae_tensor *tp[NSLOT] = {0};
    float *tmp = NULL;
    r->st = uae_arena_create(be, 0, &arena);
    for (int k = 0; k < NSLOT && r->st == UAE_OK; k++) {
        int64_t n = shape_numel(&shapes[k]);
        if (!n) continue;
        if (k == UAE_OP_MAX_SRC && c->alias) {
            tp[k] = tp[c->alias - 1];
            continue;
        }
        r->st = uae_arena_tensor1(arena, n + GUARD, &full[k]);
        if (r->st != UAE_OK) break;
        t[k] = full[k];
        t[k].ndim = shapes[k].ndim;
        for (int d = 0; d < UAE_MAX_DIMS; d++) t[k].shape[d] = d < shapes[k].ndim ? shapes[k].d[d] : 1;
        tp[k] = &t[k];
        tmp = realloc(tmp, (size_t)(n + GUARD) * sizeof(float));
        UAE_ASSERT(tmp);
        memcpy(tmp, init[k], (size_t)n * sizeof(float));
        for (int g = 0; g < GUARD; g++) memcpy(&tmp[n + g], &(uint32_t){GUARD_BITS}, 4);
        r->st = uae_tensor_write(&full[k], tmp);
    }
    if (r->st == UAE_OK) {
        uae_op op = {.kind = c->kind, .p = c->p};
        for (int k = 0; k < UAE_OP_MAX_SRC; k++) op.src[k] = tp[k];
        for (int k = 0; k < UAE_OP_MAX_DST; k++) op.dst[k] = tp[UAE_OP_MAX_SRC + k];
        r->st = uae_op_run(&op);
        if (r->st == UAE_OK) r->st = uae_backend_sync(be);
    }
    for (int k = 0; k < NSLOT && r->st == UAE_OK; k++) {
        int64_t n = shape_numel(&shapes[k]);
        if (!n || (k == UAE_OP_MAX_SRC && c->alias)) continue;
        tmp = realloc(tmp, (size_t)(n + GUARD) * sizeof(float));
        UAE_ASSERT(tmp);
        r->st = uae_tensor_read(&full[k], tmp);
        for (int g = 0; g < GUARD; g++) {
            uint32_t bits;
            memcpy(&bits, &tmp[n + g], 4);
            if (bits != GUARD_BITS) r->guard_bad |= 1 << k;
        }
    }
    /* Destinations (an aliased dst0 is its source's tensor). */
    for (int k = 0; k < UAE_OP_MAX_DST && r->st == UAE_OK; k++) {
        int64_t n = shape_numel(&shapes[UAE_OP_MAX_SRC + k]);
        if (!n) continue;
        r->out[k] = malloc((size_t)n * sizeof(float));
        UAE_ASSERT(r->out[k]);
        r->st = uae_tensor_read(tp[UAE_OP_MAX_SRC + k], r->out[k]);
    }
    if (r->st != UAE_OK) snprintf(r->msg, sizeof r->msg, "%s", uae_last_error());
    free(tmp);
    uae_arena_free(arena);
}

/* ---- Comparison ------------------------------------------------------------------------------- */

typedef struct cmp_result {
    double nmse;        /* over the finite elements */
    int64_t mismatch;   /* elements that differ in bits (bit-identical rows) or in NaN/Inf-ness */
} cmp_result;

static void compare(const float *a, const float *ref, int64_t n, double tol, cmp_result *c) {
    double err = 0.0, norm = 0.0;
    for (int64_t i = 0; i < n; i++) {
        bool an = isnan(a[i]), rn = isnan(ref[i]);
        if (an || rn) {
            if (an != rn) c->mismatch++;
            continue;
        }
        if (isinf(a[i]) || isinf(ref[i])) {
            if (a[i] != ref[i]) c->mismatch++;
            continue;
        }
        if (tol == 0.0 && memcmp(&a[i], &ref[i], sizeof(float)) != 0) c->mismatch++;
        double d = (double)a[i] - (double)ref[i];
        err += d * d;
        norm += (double)ref[i] * ref[i];
    }
    double nmse = err == 0.0 ? 0.0 : err / (norm > 0.0 ? norm : 1e-300);
    if (nmse > c->nmse) c->nmse = nmse;
}

static bool env_flag(const char *name) {
    const char *v = getenv(name);
    return v && *v && strcmp(v, "0") != 0;
}

/* --op filters: a row runs when its name contains one of them (none given: every row). */
enum { MAX_OP_FILTERS = 16 };
static const char *op_filters[MAX_OP_FILTERS];
static int n_op_filters;

/* Whether row i runs: not a big row in a small run, and its name passes the --op filters. */
static bool row_selected(int i, bool small) {
    if (small && cases[i].big) return false;
    if (n_op_filters == 0) return true;
    for (int f = 0; f < n_op_filters; f++)
        if (strstr(cases[i].name, op_filters[f])) return true;
    return false;
}

/* Shapes and host inputs of row i (init[k] has numel floats; owned by the caller). */
static void prepare(int i, op_case *c, tshape *shapes, float **init) {
    *c = cases[i];
    derive_shapes(c);
    for (int k = 0; k < NSLOT; k++)
        shapes[k] = k < UAE_OP_MAX_SRC ? c->src[k] : c->dst[k - UAE_OP_MAX_SRC];
    for (int k = 0; k < NSLOT; k++) {
        int64_t n = shape_numel(&shapes[k]);
        init[k] = n ? malloc((size_t)n * sizeof(float)) : NULL;
        if (n) {
            UAE_ASSERT(init[k]);
            fill_slot(c, k, shapes, init[k], n, 1000003ull * (uint64_t)i + (uint64_t)k);
        }
    }
}

/* Every row against "ref" on backend `be`; returns the number of failed rows. */
static int test_backend(uae_backend *be, uae_backend *ref, bool small, bool allow_unsupported,
                        int *skipped, int *ran) {
    int failed = 0;
    for (int i = 0; i < ncases; i++) {
        if (!row_selected(i, small)) continue;
        op_case c;
        tshape shapes[NSLOT];
        float *init[NSLOT];
        prepare(i, &c, shapes, init);
        run_result rt, rr;
        (*ran)++;
        run_case(ref, &c, shapes, init, &rr);
        run_case(be, &c, shapes, init, &rt);
        const char *verdict = "ok";
        char detail[320] = "";
        cmp_result cmp = {0};
        if (rr.st != UAE_OK || rt.st != UAE_OK) {
            uae_status st = rt.st != UAE_OK ? rt.st : rr.st;
            bool unsup = st == UAE_ERR_UNSUPPORTED;
            verdict = unsup && allow_unsupported ? "UNSUPPORTED (allowed)" : "FAILED";
            if (unsup && allow_unsupported) (*skipped)++;
            else failed++;
            snprintf(detail, sizeof detail, " [%s%s: %s]", rt.st != UAE_OK ? "" : "ref ",
                     uae_status_name(st), rt.st != UAE_OK ? rt.msg : rr.msg);
        } else {
            for (int k = 0; k < UAE_OP_MAX_DST; k++)
                if (rt.out[k])
                    compare(rt.out[k], rr.out[k], shape_numel(&shapes[UAE_OP_MAX_SRC + k]), c.tol,
                            &cmp);
            bool bad = cmp.mismatch > 0 || cmp.nmse > c.tol || rt.guard_bad || rr.guard_bad;
            if (bad) {
                verdict = "FAILED";
                failed++;
            }
            if (rt.guard_bad || rr.guard_bad)
                snprintf(detail, sizeof detail, " [guard floats overwritten: slots 0x%x, ref 0x%x]",
                         rt.guard_bad, rr.guard_bad);
        }
        char tol[16];
        if (c.tol == 0.0) snprintf(tol, sizeof tol, "bits");
        else snprintf(tol, sizeof tol, "%.0e", c.tol);
        printf("%-6s %-36s nmse %.2e (tol %s) mismatches %lld  %s%s\n", uae_backend_kind(be),
               c.name, cmp.nmse, tol, (long long)cmp.mismatch, verdict, detail);
        run_result_free(&rt);
        run_result_free(&rr);
        for (int k = 0; k < NSLOT; k++) free(init[k]);
    }
    return failed;
}

/* FNV-1a over the bits of a float array. */
static uint64_t hash_floats(uint64_t h, const float *x, int64_t n) {
    const unsigned char *p = (const unsigned char *)x;
    for (int64_t i = 0; i < n * (int64_t)sizeof(float); i++) h = (h ^ p[i]) * 0x100000001b3ull;
    return h;
}

/* Every row on "cpu" with 1, 2 and 3 threads: the destinations must have the same bits. */
/* Opens spec: 0, or 77 (skip) when $UAE_CPU_ISA names an instruction set this processor does not
 * run, or 1 (fail). */
static int open_device(const char *spec, uae_backend **be) {
    uae_status st = uae_backend_open(spec, be);
    if (st == UAE_OK) return 0;
    const char *isa = getenv("UAE_CPU_ISA");
    bool skip = st == UAE_ERR_UNSUPPORTED && isa && *isa;
    fprintf(stderr, "test_ops: %s: %s%s\n", spec, uae_last_error(), skip ? " (skipped)" : "");
    return skip ? 77 : 1;
}

static int test_determinism(bool small, bool allow_unsupported) {
    uae_backend *cpus[3];
    for (int th = 1; th <= 3; th++) {
        char spec[16];
        snprintf(spec, sizeof spec, "cpu:%d", th);
        int rc = open_device(spec, &cpus[th - 1]);
        if (rc) {
            while (--th >= 1) uae_backend_free(cpus[th - 1]);
            return rc;
        }
    }
    uae_device_info info;
    uae_backend_info(cpus[0], &info);
    printf("== %s, %s, %s: %s\n", uae_backend_name(cpus[0]), uae_backend_name(cpus[1]),
           uae_backend_name(cpus[2]), info.vendor);
    int failed = 0, skipped = 0, ran = 0;
    for (int i = 0; i < ncases; i++) {
        if (!row_selected(i, small)) continue;
        ran++;
        op_case c;
        tshape shapes[NSLOT];
        float *init[NSLOT];
        prepare(i, &c, shapes, init);
        uint64_t hash[3] = {0};
        const char *verdict = "ok";
        uae_status st = UAE_OK;
        for (int th = 1; th <= 3 && st == UAE_OK; th++) {
            run_result r;
            run_case(cpus[th - 1], &c, shapes, init, &r);
            st = r.st;
            hash[th - 1] = 0xcbf29ce484222325ull;
            for (int k = 0; k < UAE_OP_MAX_DST && st == UAE_OK; k++)
                if (r.out[k])
                    hash[th - 1] = hash_floats(hash[th - 1], r.out[k],
                                               shape_numel(&shapes[UAE_OP_MAX_SRC + k]));
            run_result_free(&r);
        }
        if (st == UAE_ERR_UNSUPPORTED && allow_unsupported) {
            verdict = "UNSUPPORTED (allowed)";
            skipped++;
        } else if (st != UAE_OK || hash[0] != hash[1] || hash[0] != hash[2]) {
            verdict = "FAILED";
            failed++;
        }
        printf("determinism    %-36s %016llx %016llx %016llx  %s", c.name,
               (unsigned long long)hash[0], (unsigned long long)hash[1],
               (unsigned long long)hash[2], verdict);
        if (st != UAE_OK) printf(" [%s: %s]", uae_status_name(st), uae_last_error());
        printf("\n");
        for (int k = 0; k < NSLOT; k++) free(init[k]);
    }
    printf("determinism: %d rows, %d failed, %d unsupported (allowed)\n", ran, failed, skipped);
    for (int th = 0; th < 3; th++) uae_backend_free(cpus[th]);
    return failed ? 1 : 0;
}

static void usage(FILE *f) {
    fputs("usage: test_ops [--device SPEC] [--op TEXT]... [--determinism] [--list]\n"
          "  (no option)      every row on every device but \"ref\", against \"ref\"\n"
          "  --device SPEC    only this device (a uae_backend_open spec: cpu, cpu:2, opencl, 2)\n"
          "  --op TEXT        only the rows whose name contains TEXT (repeatable: any of them),\n"
          "                   e.g. --op unary_bwd_ --op gemm_\n"
          "  --determinism    every row on cpu:1, cpu:2 and cpu:3: the bits must agree\n"
          "  --list           print the rows' names (after --op and UAE_TEST_SMALL) and exit\n",
          f);
}

int main(int argc, char **argv) {
    bool small = test_small();
    bool allow = env_flag("UAE_TEST_ALLOW_UNSUPPORTED");
    bool determinism = false, list = false;
    const char *only = NULL;
    for (int a = 1; a < argc; a++) {
        if (strcmp(argv[a], "--determinism") == 0) {
            determinism = true;
        } else if (strcmp(argv[a], "--list") == 0) {
            list = true;
        } else if (strcmp(argv[a], "--device") == 0 && a + 1 < argc) {
            only = argv[++a];
        } else if (strcmp(argv[a], "--op") == 0 && a + 1 < argc && n_op_filters < MAX_OP_FILTERS) {
            op_filters[n_op_filters++] = argv[++a];
        } else if (strcmp(argv[a], "--help") == 0 || strcmp(argv[a], "-h") == 0) {
            usage(stdout);
            return 0;
        } else {
            fprintf(stderr, "test_ops: unknown or incomplete option '%s'\n", argv[a]);
            usage(stderr);
            return 1;
        }
    }
    build_cases();

    /* Every op kind has at least one row (and one small row, for slow devices). */
    for (int k = 0; k < UAE_OP_COUNT; k++) {
        int rows = 0;
        for (int i = 0; i < ncases; i++) rows += cases[i].kind == (uae_op_kind)k && !cases[i].big;
        if (rows == 0) {
            printf("test_ops: no small row tests op %s  FAILED\n", uae_op_name((uae_op_kind)k));
            return 1;
        }
    }
    int selected = 0;
    for (int i = 0; i < ncases; i++)
        if (row_selected(i, small)) {
            selected++;
            if (list) printf("%s\n", cases[i].name);
        }
    if (list) return 0;
    if (selected == 0) {
        fprintf(stderr, "test_ops: no row matches the --op filters\n");
        return 1;
    }
    if (determinism) return test_determinism(small, allow);

    uae_backend *ref;
    TRY(uae_backend_open("ref", &ref));
    int failed = 0, skipped = 0, tested = 0, ran = 0;
    /* One device: the one given, else every device but "ref" itself. */
    test_device_set devices = test_device_list(TEST_CPU | TEST_OPENCL);
    if (only) {
        devices.n = 1;
        snprintf(devices.d[0].spec, sizeof devices.d[0].spec, "%s", only);
    }
    for (int i = 0; i < devices.n; i++) {
        uae_backend *be;
        if (only) {
            int rc = open_device(only, &be);
            if (rc) {
                uae_backend_free(ref);
                return rc;
            }
        } else if (uae_backend_open(devices.d[i].spec, &be) != UAE_OK) {
            printf("device %s (%s): cannot open: %s  FAILED\n", devices.d[i].spec,
                   devices.d[i].info.name, uae_last_error());
            failed++;
            continue;
        }
        uae_device_info info;
        uae_backend_info(be, &info);
        printf("== %s: %s\n", uae_backend_name(be), info.vendor);
        failed += test_backend(be, ref, small, allow, &skipped, &ran);
        tested++;
        uae_backend_free(be);
    }
    uae_backend_free(ref);
    printf("test_ops: %d backend(s), %d of %d rows each%s: %d run, %d failed, %d unsupported "
           "(allowed)\n", tested, selected, ncases, small ? " (small only)" : "", ran, failed,
           skipped);
    return failed ? 1 : 0;
}
