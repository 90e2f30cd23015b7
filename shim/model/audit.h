/* sockshim: the audit.
 *
 * Watches every call for the shapes of socket misuse (docs/findings.md),
 * rebuilds the loops a program writes around short transfers (a sendall
 * is several sends; a receive that fills a buffer may take several
 * recvs), counts every method, and writes each process's summary at exit.
 *
 * Per-socket state lives in the model's object, under the object's lock;
 * the findings table, the method counters and the log of closed sockets
 * are process-wide, lock-free and bounded.
 */
#ifndef SOCKSHIM_AUDIT_H
#define SOCKSHIM_AUDIT_H

#include <stdint.h>
#include <sys/types.h>

#include "fmt.h"
#include "method_table.h"
#include "call.h"
#include "model.h"
#include "sockshim/findings.h"

struct ss_obj;

enum ss_loop_dir { SS_LOOP_NONE, SS_LOOP_SEND, SS_LOOP_RECV };

/* A socket's audit state, in the room the model's object keeps for the
 * audit (model.h, "rooms"), guarded by the object's lock. */
struct ss_audit_sock {
    uint64_t loop_id;          /* the loop in progress, 0: none */
    uintptr_t loop_next;       /* where its next call must start */
    uint64_t loop_total, loop_done;
    uint32_t loop_calls;
    uint32_t loop_faults;      /* its calls a fault hit */
    uint8_t loop_dir;          /* enum ss_loop_dir */
    uint8_t flags;             /* AUDIT_* in audit.c */
    uint8_t eof_recvs;         /* receives that returned end of file */
    uint8_t small_sends;       /* small sends since the last receive */
    pid_t sigpipe_tid;         /* the thread whose SIGPIPE mask was looked at last */
    uintptr_t loop_caller;     /* where the loop's first call was made */
    uint64_t loop_start_ns;    /* when its first call began */
    uintptr_t created_caller;  /* where the socket was created */
    pid_t created_pid;         /* 0: not created by a process of ours */
    uint16_t finding_slot[SS_FINDING_COUNT]; /* index + 1 in the findings table */
};
_Static_assert(sizeof(struct ss_audit_sock) <= SS_ROOM_AUDIT_SIZE &&
                   _Alignof(struct ss_audit_sock) <= SS_ROOM_ALIGN,
               "the audit's state outgrew its room in the object (model.h)");

/* What the audit made of a call, for the trace. */
enum ss_loop_event {
    SS_LOOP_NO_EVENT,
    SS_LOOP_STARTED,   /* a short send: a loop may follow */
    SS_LOOP_CONTINUED, /* the call continued the loop */
    SS_LOOP_COMPLETED, /* ... and finished it */
    SS_LOOP_FAILED,    /* ... and failed (sendall raises) */
};

struct ss_loop_view {
    uint64_t id;
    int dir;
    uint64_t total, done;
    uint32_t calls;
    uintptr_t base;            /* the buffer the loop moves */
    uint64_t start_ns;
    uint32_t faults;           /* calls a fault hit */
};

#define SS_MAX_NEW_FINDINGS 4

struct ss_audit_verdict {
    enum ss_loop_event loop;
    struct ss_loop_view view;    /* the loop the call belongs to */
    int broke_loop;              /* the call ended an unfinished send loop */
    struct ss_loop_view broken;
    int n_new;                   /* findings first seen on this call */
    int new_findings[SS_MAX_NEW_FINDINGS]; /* indices in the findings table */
};

void ss_audit_init(void);
void ss_audit_after_fork_child(void);

/* Observes a completed call (after the model was updated). was_socket:
 * the fd held a socket that was closed (its slot's tombstone). */
/* A name resolution: only its row of the summary (it is on no socket,
 * and makes no process one that touched a socket). */
void ss_audit_resolution(const struct ss_call *c);
void ss_audit_call(struct ss_call *c, struct ss_obj *obj, int was_socket,
                   struct ss_audit_verdict *v);
/* A socket the call created (socket, accept, socketpair, adoption); its
 * audit state starts from the options the model says it already has. */
void ss_audit_created(struct ss_obj *obj, uintptr_t caller, int adopted);
/* The socket's last fd was closed: it goes to the summary's table. */
void ss_audit_closed(struct ss_obj *obj, int fd);
/* The same for a socket whose last fd a close_range or closefrom took
 * (c: that call, seen as the close of c->fd): a send loop left unfinished
 * is lost, as at a close. */
void ss_audit_closed_in_range(const struct ss_call *c, struct ss_obj *obj,
                              struct ss_audit_verdict *v);

/* At exit: leaks, loops left unfinished, and the summary. */
/* The process ends (at_exec 0: exit or _exit; the sockets it made that
 * are still open are leaks) or execs (at_exec 1: no leaks; the open
 * sockets pass to the new program or are closed by the kernel). Logs a
 * row for each open socket, and says which in *rows, for
 * ss_audit_forget_rows when the exec fails. */
struct ss_audit_rows {
    int before, after;
};
void ss_audit_finish(int at_exec, struct ss_audit_rows *rows);
void ss_audit_forget_rows(const struct ss_audit_rows *rows);
/* Whether the process made any call the audit saw, a fork included. */
int ss_audit_saw_calls(void);
/* Whether the process touched a socket: made any call the audit saw but a
 * fork (created, accepted, adopted or closed a socket, called a socket
 * method on any fd). A process that did not writes nothing by default. */
int ss_audit_touched_socket(void);

/* ---- what the renderers read ------------------------------------------ */

struct ss_finding_rec {
    _Atomic uint32_t count;
    enum ss_finding code;
    int fd;
    pid_t tid;
    uint64_t t_ns;
    uintptr_t where;          /* the caller's return address */
    _Atomic uint64_t amount;  /* lost-bytes: bytes never sent */
    struct ss_sockinfo sock;
};

const struct ss_finding_rec *ss_audit_finding(int index);
int ss_audit_finding_count(void);

/* The per-method counters of the process. */
void ss_audit_method_stats(enum ss_op op, struct ss_method_stats *out);

/* The sockets of the process: closed ones from the log, then open ones. */
/* How a socket's row ends: closed by the program, or still open when the
 * process ended (exit, _exit) or exec'd (inherited by the new program,
 * or closed by the kernel for FD_CLOEXEC). Name in JSON's "at_end", and
 * what the text row adds to its state words. */
#define SS_ROW_ENDS(X)                                                       \
    X(CLOSED, "closed", "")                                                  \
    X(OPEN_AT_EXIT, "open", ",open at exit")                                 \
    X(PASSED_ON_EXEC, "passed_on_exec", ",passed on by exec")                \
    X(CLOSED_ON_EXEC, "closed_on_exec", ",closed by exec")

enum ss_row_end {
#define SS_ROW_END_ENUM(id, json, text) SS_ROW_##id,
    SS_ROW_ENDS(SS_ROW_END_ENUM)
#undef SS_ROW_END_ENUM
};
const char *ss_row_end_json(enum ss_row_end end);
const char *ss_row_end_text(enum ss_row_end end);

struct ss_socket_rec {
    int fd;
    enum ss_row_end end;
    struct ss_sockinfo info;
    uintptr_t created_caller;
    enum ss_fn created_by;
    uint64_t created_ns, closed_ns;  /* closed_ns 0: open when the process ended */
    int n_opts;
    int opts[4][3];                   /* level, optname, value */
};
int ss_audit_socket_count(void);
/* Whether a socket closed now still gets a row in the summary. */
int ss_audit_log_has_room(void);
const struct ss_socket_rec *ss_audit_socket(int index);
uint64_t ss_audit_sockets_dropped(void);

/* Where a code address is: its module (full path), the offset in it, and
 * the nearest exported symbol and the offset from it (dladdr). */
struct ss_where {
    const char *module;  /* NULL: unknown; the main program by its argv[0] */
    const char *file;    /* the module's file (the main program's from /proc/self/exe) */
    uintptr_t module_offset;
    const char *symbol;  /* NULL: none exported near it */
    uintptr_t symbol_offset;
};
int ss_where(uintptr_t addr, struct ss_where *w);
/* ss_where, and what the command says the address is in the source: 1
 * when it knows anything (place.h), else 0. */
struct ss_place_ref;
int ss_where_place(uintptr_t addr, struct ss_where *w, struct ss_place_ref *p);
/* A location as a person reads it: the Python code ("client.py:12 in
 * fetch()"), the function and line ("main (naive.c:31)"), or, when nothing
 * better is known, module+symbol+offset, module+offset or the address. */
void ss_out_where(struct ss_out *o, uintptr_t addr);

#endif
