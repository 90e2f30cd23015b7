/* sockshim: the library's side of the ledger (ledger_event.h): what the
 * command needs to write the summary of a process that dies without
 * writing its own. Each function does nothing unless the run's ring
 * carries the trace. */
#ifndef SOCKSHIM_LEDGER_H
#define SOCKSHIM_LEDGER_H

#include <stdint.h>

#include "ledger_event.h"

struct ss_obj;

/* The process's name: once per process image, before its other events
 * (with its header, or its first socket). */
void ss_ledger_name(void);
void ss_ledger_after_fork_child(void);
/* It made (not adopted) the socket obj, now fd, at return address caller. */
void ss_ledger_open(struct ss_obj *obj, int fd, uintptr_t caller);
/* The last fd of obj was closed. */
void ss_ledger_close(struct ss_obj *obj);
/* SS_LEDGER_END or SS_LEDGER_RESUME (ending.c). */
void ss_ledger_mark(enum ss_ledger_kind kind);

#endif
