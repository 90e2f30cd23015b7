/* The render environment of the harnesses (stubs.c). */
#ifndef SOCKSHIM_FUZZ_STUBS_H
#define SOCKSHIM_FUZZ_STUBS_H

#include <stddef.h>

#include "options.h"
#include "render_call.h"

extern size_t fuzz_strsize;      /* what ss_render_strsize() says */
extern const char *fuzz_rule_text; /* what ss_render_rule_text() says */

#endif
