/* tests/test_smoke.c — the library links, a backend opens, a tensor round-trips; the registry says
 * what the build has. */
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
    /* The host backends are always there; an OpenCL device listed means OpenCL is compiled in. */
    if (!uae_backend_compiled("ref") || !uae_backend_compiled("cpu") || uae_backend_compiled("cuda") ||
        uae_backend_compiled(NULL) || uae_backend_compiled("")) {
        fprintf(stderr, "uae_backend_compiled: wrong answer for ref, cpu, cuda, NULL or \"\"\n");
        return 1;
    }
    uae_device_info info[8];
    int n = 0;
    if (uae_device_list(info, 8, &n) != UAE_OK) return 1;
    for (int i = 0; i < n && i < 8; i++)
        if (!strcmp(info[i].backend, "opencl") && !uae_backend_compiled("opencl")) {
            fprintf(stderr, "device %d is an OpenCL device, but OpenCL is not compiled in?\n", i);
            return 1;
        }
    printf("OpenCL %s, OpenMP %s\n", uae_backend_compiled("opencl") ? "compiled in" : "not compiled in",
           uae_backend_compiled("openmp") ? "compiled in" : "not compiled in");
    puts("ok");
    return 0;
}
