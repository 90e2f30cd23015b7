/* sockshim: ledger events, shared by the library and the command.
 *
 * What the command needs to write the summary of a process that ends
 * without writing its own: a fatal signal or SIGKILL runs no code of the
 * process (ending.h covers the ends that do). When the run's ring carries
 * the trace (a -o file), the library puts these events into it as binary
 * records, beside capture events (ring.h: SS_REC_CAPTURE; the first byte
 * tells the two apart). The command's drain keeps, for each process, its
 * name and the sockets it made that are still open (tools/sockshim/ledger.c); it
 * writes no event to the trace.
 */
#ifndef SOCKSHIM_LEDGER_EVENT_H
#define SOCKSHIM_LEDGER_EVENT_H

#include <stdint.h>

enum ss_ledger_kind {
    SS_LEDGER_FIRST = 0x40, /* above every enum ss_cap_kind */
    SS_LEDGER_NAME = SS_LEDGER_FIRST, /* payload: the process's name; offset:
                                       * its pid namespace's inode */
    SS_LEDGER_OPEN,   /* it made a socket; payload: the module of the call */
    SS_LEDGER_CLOSE,  /* the last fd of socket sock_id was closed */
    SS_LEDGER_END,    /* it wrote its summary (exit, _exit, an exec) */
    SS_LEDGER_RESUME, /* ... before an exec that failed: it goes on */
};

/* An event, then its payload (len bytes, no NUL). */
struct ss_ledger_event {
    uint8_t kind;       /* enum ss_ledger_kind */
    uint8_t created_by; /* OPEN: enum ss_fn */
    uint16_t len;
    int32_t fd;         /* OPEN: the fd the socket got */
    int32_t family, type, protocol;
    uint32_t reserved;
    uint64_t sock_id;   /* OPEN, CLOSE: the model's id of the socket */
    uint64_t ts_ns;     /* CLOCK_REALTIME */
    uint64_t offset;    /* OPEN: the call's return address in its module */
};
_Static_assert(sizeof(struct ss_ledger_event) == 48, "ledger events have no padding");

/* The longest payload (a module's path, a process's name). */
#define SS_LEDGER_MAX_PAYLOAD 1024u

#endif
