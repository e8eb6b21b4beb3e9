/* backends/opencl/opencl_backend.h — the OpenCL backend's two entry points, called only by
 * backends/registry.c (and only when the build has OpenCL). */
#ifndef UAE_OPENCL_BACKEND_H
#define UAE_OPENCL_BACKEND_H

#include "uae/backend.h"

/* Lists every OpenCL device over every platform, in platform order then device order. Fills up
 * to cap entries of infos (may be NULL) and sets *count. No ICD loader or no platform is not an
 * error: *count is 0. The index field is left for the registry to set. */
uae_status uae_opencl_device_list(uae_device_info *infos, int cap, int *count);

/* Opens device number `which` of that list. The registry sets the handle's index. */
uae_status uae_opencl_backend_create(int which, uae_backend **out);

#endif
