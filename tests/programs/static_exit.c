/* static_exit: a statically linked program (no dynamic loader, so no
 * LD_PRELOAD library) that prints "static" and exits 0: what an exec of a
 * program the library never enters looks like (tests/test_endings.py). */
#include <stdio.h>

int main(void)
{
    puts("static");
    return 0;
}
