/* apps/uae.c — the uae command-line tool (skeleton; filled by the CLI work). */
#include <stdio.h>

#include "uae/backend.h"

int main(void) {
    int n = 0;
    uae_device_list(NULL, 0, &n);
    printf("%d devices\n", n);
    return 0;
}
