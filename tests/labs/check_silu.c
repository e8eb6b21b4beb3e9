/* tests/labs/check_silu.c — the check of lab 2's exercise (docs/labs/lab2-ops-autodiff.md): some
 * unary function of the op interface computes SiLU, y = x sigmoid(x), with the gradient
 * dy/dx = s (1 + x (1 - s)), s = sigmoid(x), on every backend (ref, cpu, and the first OpenCL
 * device when there is one), through autodiff: forward values against the formula in double,
 * gradients against the formula and against central differences of the forward op.
 * Fails on the unmodified repository (no unary function computes SiLU); a lab check, in the
 * 'labs' suite, not in the default test run (tests/labs/meson.build). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "uae/autodiff.h"
#include "uae/backend.h"

enum { N = 67 }; /* odd: no backend's vector width divides it */

static double silu(double x) { return x / (1.0 + exp(-x)); }
static double silu_grad(double x) {
    double s = 1.0 / (1.0 + exp(-x));
    return s * (1.0 + x * (1.0 - s));
}

/* y = f(x) and dL/dx for L = sum(y) (so dL/dx = f'(x)) on backend be; 0 on success. */
static int run(uae_backend *be, uae_unary_fn fn, const float *x, float *y, float *dx) {
    uae_arena *ar = NULL;
    uae_tape *t = NULL;
    uae_tensor xt, gt;
    uae_status st = uae_arena_create(be, 1 << 16, &ar);
    if (st == UAE_OK) st = uae_tape_create(ar, &t);
    if (st == UAE_OK) st = uae_arena_tensor(ar, 1, (int64_t[]){N}, &xt);
    if (st == UAE_OK) st = uae_arena_tensor(ar, 1, (int64_t[]){N}, &gt);
    if (st == UAE_OK) st = uae_tensor_write(&xt, x);
    if (st == UAE_OK) {
        uae_var *v = uae_ad_unary(t, fn, 0, 0, uae_ad_leaf(t, &xt, &gt));
        uae_var *loss = uae_ad_reduce(t, UAE_REDUCE_SUM, 0x1, v);
        st = uae_ad_backward(t, loss);
        if (st == UAE_OK) st = uae_tensor_read(uae_ad_value(v), y);
        if (st == UAE_OK) st = uae_tensor_read(&gt, dx);
    }
    uae_tape_free(t);
    uae_arena_free(ar);
    if (st != UAE_OK) printf("  %s: %s\n", uae_backend_name(be), uae_last_error());
    return st == UAE_OK ? 0 : 1;
}

/* Whether fn's forward values on the reference backend are SiLU's (to 1e-5 relative). */
static bool computes_silu(uae_backend *ref, uae_unary_fn fn, const float *x) {
    float y[N], dx[N];
    if (run(ref, fn, x, y, dx) != 0) return false;
    for (int i = 0; i < N; i++)
        if (!(fabs(y[i] - silu(x[i])) <= 1e-5 * (1.0 + fabs(silu(x[i]))))) return false;
    return true;
}

int main(void) {
    float x[N];
    for (int i = 0; i < N; i++) x[i] = -8.0f + 16.0f * (float)i / (N - 1) + 0.01f; /* avoid 0 */
    uae_backend *ref;
    if (uae_backend_open("ref", &ref) != UAE_OK) {
        printf("FAIL: %s\n", uae_last_error());
        return 1;
    }
    int fn = -1;
    for (int f = 0; f < UAE_UNARY_COUNT && fn < 0; f++)
        if (computes_silu(ref, (uae_unary_fn)f, x)) fn = f;
    uae_backend_free(ref);
    if (fn < 0) {
        printf("FAIL: none of the %d unary functions computes SiLU, x * sigmoid(x): lab 2's exercise\n"
               "      is not done yet (docs/labs/lab2-ops-autodiff.md)\n", UAE_UNARY_COUNT);
        return 1;
    }
    printf("unary function %d computes SiLU on the reference backend\n", fn);

    int failures = 0;
    const char *specs[] = {"ref", "cpu", "opencl"};
    for (int b = 0; b < 3; b++) {
        uae_backend *be;
        if (uae_backend_open(specs[b], &be) != UAE_OK) {
            printf("  %s: not available here (%s)\n", specs[b], uae_last_error());
            continue;
        }
        float y[N], dx[N], yp[N], ym[N], unused[N];
        float xp[N], xm[N];
        /* central differences with h = 1e-2: truncation error h^2/6 |f'''| < 2e-5, rounding
         * error 2^-24 |y| / h < 1e-4 at |x| = 8 */
        const float h = 1e-2f;
        for (int i = 0; i < N; i++) xp[i] = x[i] + h, xm[i] = x[i] - h;
        int bad = run(be, (uae_unary_fn)fn, x, y, dx) | run(be, (uae_unary_fn)fn, xp, yp, unused) |
                  run(be, (uae_unary_fn)fn, xm, ym, unused);
        for (int i = 0; i < N && !bad; i++) {
            double want = silu_grad(x[i]);
            double fd = ((double)yp[i] - ym[i]) / ((double)xp[i] - xm[i]);
            fd = ((double)yp[i] - ym[i]) / ((double)xp[i] - xm[i]);
            /* 1e-5 relative for the values: a few float roundings in exp and the division;
             * 1e-4 for the gradient, 2e-3 against the differences (their error above) */
            if (!(fabs(y[i] - silu(x[i])) <= 1e-5 * (1.0 + fabs(silu(x[i]))))) {
                printf("  %s: y(%g) = %.8g, SiLU is %.8g\n", specs[b], x[i], y[i], silu(x[i]));
                bad = 1;
            } else if (!(fabs(dx[i] - want) <= 1e-4 * (1.0 + fabs(want)))) {
                printf("  %s: dy/dx(%g) = %.8g, the formula gives %.8g: check the backward rule\n",
                       specs[b], x[i], dx[i], want);
                bad = 1;
            } else if (!(fabs(dx[i] - fd) <= 2e-3)) {
                printf("  %s: dy/dx(%g) = %.8g, central differences give %.8g\n", specs[b], x[i],
                       dx[i], fd);
                bad = 1;
            }
        }
        printf("  %-6s %s\n", specs[b], bad ? "FAIL" : "OK: values and gradients");
        failures += bad;
        uae_backend_free(be);
    }
    if (failures) printf("FAIL: SiLU is wrong on %d backend(s)\n", failures);
    else printf("lab 2: SiLU checked on every backend\n");
    return failures ? 1 : 0;
}
