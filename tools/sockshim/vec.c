/* sockshim: growing arrays and copies for the command's tables (vec.h). */
#include "vec.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "say.h"

void *ss_grow(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        ss_die("out of memory");
    void *q = realloc(p, n * size > 0 ? n * size : 1);
    if (q == NULL)
        ss_die("out of memory");
    return q;
}

void *ss_room_for_one(void *p, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 64;
    return ss_grow(p, *cap, size);
}

char *ss_copy_of(const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        ss_die("out of memory");
    return c;
}
