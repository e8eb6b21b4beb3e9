/* backends/cpu/cpu_backend.h — the host backends' entry point, called only by backends/registry.c
 * (which also gives every backend with a supports() a reference backend to fall back on). */
#ifndef UAE_CPU_BACKEND_H
#define UAE_CPU_BACKEND_H

#include <stdbool.h>

#include "uae/backend.h"

/* Opens the scalar reference backend ("ref", reference true) or the OpenMP CPU backend ("cpu").
 * threads: the CPU backend's thread count ("cpu:N"), 0 for OpenMP's default at each op; ignored by
 * the reference. Fails when $UAE_CPU_ISA names an instruction set this processor does not run. */
uae_status uae_cpu_backend_create(bool reference, int threads, uae_backend **out);

#endif
