/* sockshim: the real libc functions behind the wrappers.
 *
 * preload.c resolves every entry of this table with dlsym(RTLD_NEXT) and is
 * the only place that does. Everything else in the shim calls the real
 * function through ss_real and never by name: a call to close() from inside
 * the library would bind to the library's own close() and recurse.
 */
#ifndef SOCKSHIM_REAL_H
#define SOCKSHIM_REAL_H

#include "entries.h"

/* A pointer to each entry point and ending (entries.h) and to nothing else. */
struct ss_real_table {
#define SS_REAL_ENTRY(ret, name, params, method, traced) ret(*name) params;
#define SS_REAL_ENDING(ret, name, params) ret(*name) params;
    SS_ENTRIES(SS_REAL_ENTRY)
    SS_ENDINGS(SS_REAL_ENDING)
#undef SS_REAL_ENTRY
#undef SS_REAL_ENDING
};

extern struct ss_real_table ss_real;

#endif
