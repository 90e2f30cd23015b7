/* sockshim: what a location is in the source, for the lines that show one
 * (findings, summary rows, JSON where).
 *
 * A C location is a return address: the library asks the sockshim command
 * which function, file and line it is (place_box.h), once per address,
 * and keeps the answer. A Python location (where values with
 * SS_WHERE_PYTHON set) is an index into the process's table of Python
 * code locations (python_where.c).
 */
#ifndef SOCKSHIM_PLACE_H
#define SOCKSHIM_PLACE_H

#include <stdint.h>

#include "entries.h"

/* Set in a where value that is a Python location's index, never in a user
 * space code address. */
#define SS_WHERE_PYTHON ((uintptr_t)1 << (sizeof(uintptr_t) * 8 - 1))

/* What is known: strings "" and line 0 when unknown; the strings live as
 * long as the process. */
struct ss_place_ref {
    const char *function;
    const char *file;
    int line;
};

/* Joins the run's place box, if the command made one (at initialisation). */
void ss_place_join(void);

/* The function, file and line of a code address in module (a path, as
 * dladdr gives it) at offset: 1 when any is known, else 0 (no command,
 * no debug information). Asks the command once per address; safe in a
 * signal handler, in any thread, after fork. */
int ss_place_of(uintptr_t addr, const char *module, uintptr_t offset,
                struct ss_place_ref *p);

/* ---- Python (python_where.c) ---- */

/* Installs the CPython audit hook when the process is a CPython one. */
void ss_python_install(void);
/* The where of an interposed call: the Python location the last socket
 * event of this thread announced, when this call is the method it
 * announced; else caller. Any call forgets the announced location. */
uintptr_t ss_python_take(enum ss_fn fn, uintptr_t caller);
/* The same for a name resolution: the place of a resolution event
 * (socket.getaddrinfo, socket.gethostbyname...); any other event, such as
 * the connect whose address is being resolved, is left for its call. */
uintptr_t ss_python_take_resolution(uintptr_t caller);
/* The Python location of a where value with SS_WHERE_PYTHON: 1, or 0. */
int ss_python_place(uintptr_t where, struct ss_place_ref *p);

#endif
