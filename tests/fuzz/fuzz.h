/* What every libFuzzer harness of tests/fuzz shares: the entry point and
 * CHECK, which aborts (a finding for libFuzzer) with the failed condition. */
#ifndef SOCKSHIM_FUZZ_H
#define SOCKSHIM_FUZZ_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(cond)                                                                          \
    do {                                                                                     \
        if (!(cond)) {                                                                       \
            fprintf(stderr, "%s:%d: check failed: %s\n", __FILE__, __LINE__, #cond);         \
            abort();                                                                         \
        }                                                                                    \
    } while (0)

#endif
