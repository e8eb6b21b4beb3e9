/* tests/test_errors.c — the error paths of the op interface: bad shapes are UAE_ERR_SHAPE with a
 * message naming the op and the tensor, impossible allocations are UAE_ERR_NOMEM (no crash), and
 * tensors of two backends in one op are rejected. Also the settings chosen by name (optimizer,
 * attack method, ...): every name parses back to its value, an unknown one lists the accepted
 * names. Does not test what ops compute (test_ops.c). */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "uae/attack.h"
#include "uae/augment.h"
#include "uae/mine.h"
#include "uae/nn.h"
#include "uae/ops.h"
#include "tests/test_util.h"

/* st must be `want` and the message must contain every one of the words. */
static void expect(const char *what, uae_status st, uae_status want, const char *w1,
                   const char *w2) {
    const char *msg = uae_last_error();
    bool ok = st == want && (!w1 || strstr(msg, w1)) && (!w2 || strstr(msg, w2));
    printf("%-44s %-20s %s\n    message: %s\n", what, uae_status_name(st), ok ? "ok" : "FAILED",
           msg);
    if (!ok) {
        fprintf(stderr, "  expected %s with \"%s\" and \"%s\"\n", uae_status_name(want),
                w1 ? w1 : "", w2 ? w2 : "");
        failures++;
    }
}

/* Every name of an enum-valued setting parses back to its value; an unknown name fails with a
 * message that names the setting and lists the names in order. */
static void test_enum_names(void) {
#define ROUND_TRIP(type, count, name_fn, parse_fn)                                                \
    for (int v = 0; v < (count); v++) {                                                           \
        type out = (type)-1;                                                                      \
        CHECK(parse_fn(name_fn((type)v), &out) == UAE_OK && out == (type)v, "%s",                \
              name_fn((type)v));                                                                  \
    }
    ROUND_TRIP(uae_optim_fn, UAE_OPTIM_COUNT, uae_optimizer_name, uae_optimizer_parse);
    ROUND_TRIP(uae_attack_method, UAE_ATTACK_METHOD_COUNT, uae_attack_method_name,
               uae_attack_method_parse);
    ROUND_TRIP(uae_attack_samples, UAE_ATTACK_SAMPLES_COUNT, uae_attack_samples_name,
               uae_attack_samples_parse);
    ROUND_TRIP(uae_augment_task, UAE_TASK_COUNT, uae_augment_task_name, uae_augment_task_parse);
    ROUND_TRIP(uae_mine_estimator, UAE_MINE_EST_COUNT, uae_mine_estimator_name,
               uae_mine_estimator_parse);
    ROUND_TRIP(uae_mine_net, UAE_MINE_NET_COUNT, uae_mine_net_name, uae_mine_net_parse);
#undef ROUND_TRIP
    uae_optim_fn fn = UAE_OPTIM_SGD;
    CHECK_FAILS(uae_optimizer_parse("adamw", &fn), UAE_ERR_INVALID,
                "optimizer 'adamw': expected sgd, adam, rmsprop or adadelta");
    CHECK(fn == UAE_OPTIM_SGD, "a failed parse leaves *out alone");
    uae_mine_net net;
    CHECK_FAILS(uae_mine_net_parse("", &net), UAE_ERR_INVALID,
                "MINE network '': expected mine or mine-dense");
    uae_augment_task task;
    CHECK_FAILS(uae_augment_task_parse("Contrastive", &task), UAE_ERR_INVALID,
                "task 'Contrastive': expected reconstruction, representation or contrastive");
}

int main(void) {
    uae_backend *cpu, *ref;
    uae_arena *a, *ar;
    CHECK(uae_backend_open("cpu", &cpu) == UAE_OK);
    CHECK(uae_backend_open("ref", &ref) == UAE_OK);
    if (failures) return 1;
    CHECK(uae_arena_create(cpu, 4096, &a) == UAE_OK);
    CHECK(uae_arena_create(ref, 4096, &ar) == UAE_OK);

    uae_tensor x, y, w, row, col3, small, x4, r;
    CHECK(uae_arena_tensor2(a, 3, 17, &x) == UAE_OK);
    CHECK(uae_arena_tensor2(a, 3, 17, &y) == UAE_OK);
    CHECK(uae_arena_tensor2(a, 17, 3, &w) == UAE_OK);
    CHECK(uae_arena_tensor2(a, 1, 17, &row) == UAE_OK);
    CHECK(uae_arena_tensor2(a, 3, 2, &col3) == UAE_OK);
    CHECK(uae_arena_tensor1(a, 5, &small) == UAE_OK);
    CHECK(uae_arena_tensor4(a, 2, 3, 5, 5, &x4) == UAE_OK);
    CHECK(uae_arena_tensor2(ar, 3, 17, &r) == UAE_OK);
    if (failures) return 1;
    CHECK(uae_fill(&x, 1.0f) == UAE_OK);

    /* Shapes. */
    expect("binary: b does not broadcast", uae_binary(UAE_BINARY_ADD, &x, &col3, &y),
           UAE_ERR_SHAPE, "binary", "b (3, 2)");
    expect("binary: dst of the wrong shape", uae_binary(UAE_BINARY_ADD, &x, &row, &w),
           UAE_ERR_SHAPE, "binary", "dst");
    expect("unary: dst of the wrong shape", uae_unary(UAE_UNARY_RELU, 0, 0, &x, &small),
           UAE_ERR_SHAPE, "unary", "dst");
    expect("reduce: axes beyond ndim", uae_reduce(UAE_REDUCE_SUM, 0x4, &x, &row), UAE_ERR_SHAPE,
           "reduce", "axes");
    expect("reduce: dst keeps a reduced axis", uae_reduce(UAE_REDUCE_SUM, 0x1, &x, &x),
           UAE_ERR_SHAPE, "reduce", "dst");
    expect("clamp: dst of the wrong shape", uae_clamp(&x, 0, 1, &w), UAE_ERR_SHAPE, "clamp",
           "dst");
    expect("gemm: inner dimensions differ", uae_gemm(false, false, 1, &x, &x, 0, &y),
           UAE_ERR_SHAPE, "gemm", "inner");
    {
        uae_op op = {.kind = UAE_OP_MAXPOOL2, .src = {&x4}, .dst = {&x4}};
        expect("maxpool2: y of the wrong shape", uae_op_run(&op), UAE_ERR_SHAPE, "maxpool2", "y");
    }
    {
        uae_op op = {.kind = UAE_OP_ATTACK_STEP, .src = {&x, &w}, .dst = {&y}};
        expect("attack_step: g of the wrong shape", uae_op_run(&op), UAE_ERR_SHAPE,
               "attack_step", "g");
    }
    {
        uae_op op = {.kind = UAE_OP_MINE_BOUND, .src = {&x, &w}, .dst = {&small}};
        expect("mine_bound: estimators differ", uae_op_run(&op), UAE_ERR_SHAPE, "mine_bound",
               "t_marg");
    }
    {
        uae_op op = {.kind = UAE_OP_OPTIM, .p.optim = {.fn = UAE_OPTIM_ADAM, .step = 1},
                     .src = {&x}, .dst = {&y, &y}};
        expect("optim: Adam without its second state", uae_op_run(&op), UAE_ERR_SHAPE, "optim",
               "state 2");
    }

    /* Bad values: an out-of-range row index is UAE_ERR_INVALID on the reference backend. */
    {
        uae_tensor src, idx, dst;
        CHECK(uae_arena_tensor(ar, 3, (int64_t[]){1, 4, 2}, &src) == UAE_OK);
        CHECK(uae_arena_tensor2(ar, 1, 2, &idx) == UAE_OK);
        CHECK(uae_arena_tensor(ar, 3, (int64_t[]){1, 2, 2}, &dst) == UAE_OK);
        CHECK(uae_fill(&src, 1.0f) == UAE_OK);
        CHECK(uae_tensor_write(&idx, (float[]){1.0f, 4.0f}) == UAE_OK);
        uae_op op = {.kind = UAE_OP_GATHER_ROWS, .src = {&src, &idx}, .dst = {&dst}};
        expect("gather_rows (ref): index out of range", uae_op_run(&op), UAE_ERR_INVALID,
               "gather_rows", "idx[0, 1]");
    }

    /* Memory: requests no machine can satisfy fail cleanly. 2^56 floats (2^58 bytes) is beyond
     * any 64-bit address space whatever the overcommit policy. */
    {
        uae_arena *big;
        uae_tensor t;
        CHECK(uae_arena_create(cpu, 0, &big) == UAE_OK);
        expect("arena: 2^56 floats", uae_arena_tensor2(big, (int64_t)1 << 40, 1 << 16, &t),
               UAE_ERR_NOMEM, "cpu", NULL);
        expect("arena: 2^40 floats (4 TiB)", uae_arena_tensor1(big, (int64_t)1 << 40, &t),
               UAE_ERR_NOMEM, "cpu", NULL);
        /* The arena still works afterwards. */
        CHECK(uae_arena_tensor1(big, 17, &t) == UAE_OK);
        CHECK(uae_fill(&t, 2.0f) == UAE_OK);
        uae_arena_free(big);
    }

    /* Mixed backends. */
    expect("binary: a on cpu, b on ref", uae_binary(UAE_BINARY_ADD, &x, &r, &y), UAE_ERR_INVALID,
           "binary", "different backends");
    expect("unary: x on cpu, dst on ref", uae_unary(UAE_UNARY_EXP, 0, 0, &x, &r), UAE_ERR_INVALID,
           "unary", "different backends");

    uae_arena_free(a);
    uae_arena_free(ar);
    uae_backend_free(cpu);
    uae_backend_free(ref);
    test_enum_names();
    printf("test_errors: %d failure(s)\n", failures);
    return failures ? 1 : 0;
}
