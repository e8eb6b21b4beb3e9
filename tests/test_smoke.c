/* tests/test_smoke.c — the library links, a backend opens, a tensor round-trips. */
#include <stdio.h>
#include <string.h>

#include "uae/ops.h"

int main(void) {
    uae_backend *be;
    if (uae_backend_open("cpu", &be) != UAE_OK) {
        fprintf(stderr, "%s\n", uae_last_error());
        return 1;
    }
    uae_arena *a;
    uae_tensor t;
    if (uae_arena_create(be, 1024, &a) || uae_arena_tensor2(a, 3, 5, &t)) return 1;
    float in[15], out[15];
    for (int i = 0; i < 15; i++) in[i] = (float)i;
    if (uae_tensor_write(&t, in) || uae_tensor_read(&t, out)) return 1;
    if (memcmp(in, out, sizeof in) != 0) return 1;
    uae_arena_free(a);
    uae_backend_free(be);
    puts("ok");
    return 0;
}
