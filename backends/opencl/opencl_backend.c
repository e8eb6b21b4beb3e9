/* STUB: the OpenCL backend (issue 3) replaces this file. */
#include "backends/opencl/opencl_backend.h"

uae_status uae_opencl_device_list(uae_device_info *infos, int cap, int *count) {
    (void)infos;
    (void)cap;
    *count = 0;
    return UAE_OK;
}

uae_status uae_opencl_backend_create(int which, uae_backend **out) {
    (void)which;
    *out = NULL;
    return uae_fail(UAE_ERR_UNSUPPORTED, "OpenCL backend not implemented yet");
}
