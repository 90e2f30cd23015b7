/* The render environment of the harnesses (stubs.c). */
#ifndef SOCKSHIM_FUZZ_STUBS_H
#define SOCKSHIM_FUZZ_STUBS_H

#include <stddef.h>

#include "options.h"
#include "render_call.h"

extern size_t fuzz_strsize;      /* what ss_render_strsize() says */
extern const char *fuzz_rule_text; /* what ss_render_rule_text() says */

/* Renders fn(o, arg) into exact-size buffers of 0, 1, 7, need - 1 and need
 * bytes, each malloc'd to exactly its size so ASan sees any write past it:
 * the length it reports must not depend on the capacity, and what fits
 * must be a prefix of the whole. Returns the whole (malloc'd, a NUL
 * added) and sets *len to its length. */
typedef void fuzz_render_fn(struct ss_out *o, const void *arg);
char *fuzz_render_sizes(fuzz_render_fn *fn, const void *arg, size_t *len);

#endif
