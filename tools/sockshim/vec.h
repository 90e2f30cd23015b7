/* sockshim: growing arrays and copies for the command's tables (report,
 * its timeline), where running out of memory ends the command with a
 * message (say.h) rather than a half-made report. */
#ifndef SOCKSHIM_VEC_H
#define SOCKSHIM_VEC_H

#include <stddef.h>

/* p resized to n elements of size bytes (never 0 bytes). */
void *ss_grow(void *p, size_t n, size_t size);
/* Room for one more in a vector of *cap elements holding n: p, or p
 * grown (doubling, from 64) with *cap updated. */
void *ss_room_for_one(void *p, size_t n, size_t *cap, size_t size);
/* A copy of s. */
char *ss_copy_of(const char *s);

#endif
