/* tests/test_rng.c — placeholder, replaced below */
#include <stdio.h>
#include "uae/rng.h"
int main(void) {
    uint32_t c[4] = {0, 0, 0, 0}, k[2] = {0, 0}, o[4];
    uae_philox4x32_10(c, k, o);
    printf("%08x %08x %08x %08x\n", o[0], o[1], o[2], o[3]);
    return o[0] != 0x6627e8d5u;
}
