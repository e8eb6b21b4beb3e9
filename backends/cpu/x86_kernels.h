/* backends/cpu/x86_kernels.h — kernels of x86_avx2.c that the AVX-512 table reuses (the direct
 * convolution's loops, 8 lanes wide: its chunks of 64 outputs are 8 ymm accumulators). */
#ifndef UAE_CPU_X86_KERNELS_H
#define UAE_CPU_X86_KERNELS_H

#include <stdbool.h>
#include <stdint.h>

void uae_conv_correlate_avx2(const float *xp, int64_t wp, int64_t nout, const float *wt,
                             int64_t ntaps, const int64_t *off, const float *bias, float beta,
                             float *y, int64_t P, int64_t Q);
void uae_conv_dots_avx2(const float *d, int64_t len, const float *xp, const int64_t *off,
                        int64_t ntaps, bool accumulate, float *out);

#endif
