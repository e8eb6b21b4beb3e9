/* ocl_rng.cl — the RNG and permutation ops. All arithmetic is core/philox.h, which the build pastes
 * in front of the program (it comes first in meson.build's list), so these kernels give the same
 * bits as the CPU backends. Element i depends only on (seed, stream, counter + i). */

/* dist (uae_rng_dist): UNIFORM a + (b - a) * u, NORMAL a + b * z. One item per element. */
__kernel void uae_rng(__global float *y, int yoff, int n, int dist, ulong seed, ulong stream,
                      ulong counter, float a, float b) {
    int i = (int)get_global_id(0);
    if (i >= n) return;
    ulong j = counter + (ulong)i; /* wraps modulo 2^64, as on the host */
    y[yoff + i] = dist == UAE_RNG_UNIFORM ? uae_philox_uniform(seed, stream, j, a, b)
                                          : uae_philox_normal(seed, stream, j, a, b);
}

/* Row r of y (rows, n) is a Fisher-Yates permutation of 0 .. n-1 from stream (stream + r), as
 * uae/rng.h specifies: swap k = n-1-i uses word (counter + k). One item per row; the swaps of a row
 * are sequential by nature. Values are floats (exact up to 2^24). */
__kernel void uae_permutation(__global float *y, int yoff, int rows, int n, ulong seed,
                              ulong stream, ulong counter) {
    int r = (int)get_global_id(0);
    if (r >= rows) return;
    __global float *perm = y + yoff + r * n;
    for (int i = 0; i < n; i++) perm[i] = (float)i;
    ulong s = stream + (ulong)r;
    uae_philox4 block;
    for (int i = n - 1; i >= 1; i--) {
        ulong j = counter + (ulong)(n - 1 - i);
        if (i == n - 1 || (j & 3) == 0) block = uae_philox_stream_block(seed, s, j >> 2);
        uint k = uae_philox_below(block.v[j & 3], (uint)(i + 1));
        float t = perm[i];
        perm[i] = perm[k];
        perm[k] = t;
    }
}
