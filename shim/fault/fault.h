/* sockshim: the fault engine.
 *
 * Decides, for each call, whether a rule the user gave applies (the first
 * matching rule in the order given), and applies it: fails the call without
 * performing it, performs it with its length cut, sleeps first, makes a
 * receive see end of file, really resets the connection, or flips bytes of
 * the data. Counting (when=) is per rule and per process. The draws of p=
 * (and of jitter= and corrupt=) come from a counter-based generator keyed
 * by the seed, the rule, the socket's stable key and the rule's count of
 * matches on that socket, kept in the socket (model.h): the same seed
 * replays each socket's decisions whatever the threads' interleaving, and
 * needs no lock. A call on no socket draws by the rule's process-wide
 * count.
 */
#ifndef SOCKSHIM_FAULT_H
#define SOCKSHIM_FAULT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "call.h"

struct ss_obj;

/* What the capture is to say on a socket's next datagram: how many were
 * lost before it (and the last rule that lost one), and whether it is the
 * copy a receive's duplicate left (its rule, or 0). */
struct ss_datagram_news {
    unsigned lost;
    int lost_rule;
    int copy_rule;
};

/* What a fault borrows for the duration of one call: a shortened copy of
 * the program's iovecs or msghdr, or a corrupted copy of the data to send.
 * It lives on the pipeline's stack. */
#define SS_FAULT_IOV 16

enum { REDIRECT_NONE, REDIRECT_REFUSED, REDIRECT_TIMED_OUT };
struct ss_rule;

struct ss_fault_scratch {
    struct iovec iov[SS_FAULT_IOV];
    struct msghdr msg;
    /* the program's own arguments, put back after the call */
    const void *cbuf;
    size_t len, count;
    const struct iovec *iov_orig;
    int iovcnt;
    struct msghdr *msg_orig;
    void *copy;        /* corrupt= on a send: the altered data (mmap) */
    size_t copy_len;
    uint64_t draw;     /* the rule's draw for this call: corrupt positions */
    int perform;       /* the real call is to be made */
    int close_err;     /* error= on close: reported after the real close */
    const struct ss_rule *rule;
    struct ss_obj *obj;
    /* a connect sent to a stand-in (fault_event.h) in place of the
     * program's address, and the error it stands for */
    int redirected;    /* REDIRECT_* */
    int redirect_err;
    const struct sockaddr *addr_orig;
    socklen_t addrlen_orig;
    struct sockaddr_storage stand_in;
    /* a connect started for real in place of this error */
    int async_err;
    int restore_fl;    /* the file status flags to put back, or -1 */
    /* duplicate: a send to make again, or MSG_PEEK added to a receive */
    int send_again;
    int added_peek;
    /* a non-blocking TCP connect under a delay: its handshake is done for
     * the program then (outbox.h) */
    uint64_t handshake_due;
    /* a shutdown whose SHUT_WR waits for the outbox: the program's how */
    int how_changed, how_orig;
};

/* Reads SOCKSHIM_FAULTS, SOCKSHIM_SEED and SOCKSHIM_STRICT; a bad rule ends
 * the process with status 2 and the message the command would give. */
void ss_fault_init(void);

/* Whether any rule is in force (every intercepted call asks: inline).
 * With a rule board (--control) the rules may have changed since the last
 * call: the board is looked at first (board.h). */
extern _Atomic int ss_fault_live_count;
extern int ss_fault_watching; /* a board is mapped (set at the start) */
void ss_fault_look_at_board(void);
static inline int ss_fault_enabled(void)
{
    if (__builtin_expect(ss_fault_watching, 0))
        ss_fault_look_at_board();
    return atomic_load_explicit(&ss_fault_live_count, memory_order_relaxed) > 0;
}
/* Before a fork (the fork's number keys the child's draws), and after it
 * in the child. */
void ss_fault_before_fork(void);
void ss_fault_after_fork_child(void);

uint64_t ss_fault_seed(void);
/* The numbers of the rules in force, in order (at most max): the header
 * of a process's trace names them. */
int ss_fault_live_numbers(int *out, int max);
/* Whether rule number is in force now (a rule removed while the run goes
 * on lets go of what it held back). */
int ss_fault_rule_in_force(int number);
const char *ss_fault_rule_text(int index);

/* Whether a rule applies to the call; if so c->fault and c->fault_action
 * are set and ss_fault_before() must follow. obj is the subject socket. */
int ss_fault_decide(struct ss_call *c, struct ss_obj *obj);

/* Applies the rule before the real call. s->perform says whether the real
 * call is then made; when it is not, c->ret and c->err hold the outcome. */
void ss_fault_before(struct ss_call *c, struct ss_obj *obj, struct ss_fault_scratch *s);
/* After the real call (or in its stead): received data is corrupted, the
 * program's arguments are put back. */
void ss_fault_after(struct ss_call *c, struct ss_fault_scratch *s);
/* A name resolution (no socket): whether a rule applies, and if so its
 * delay is slept here and c->fault set; returns the EAI_* code the call
 * is to fail with, or 0 when the real call is to be made. */
int ss_fault_resolution(struct ss_call *c);
/* Answers a resolution in place of the real call with the failure eai
 * stands for, by the function's own convention (getaddrinfo's return,
 * h_errno, a _r form's return and *h_errnop). */
void ss_fault_fail_resolution(struct ss_call *c, int eai);
/* Whether some rule names op (a call no rule names skips the engine). */
int ss_fault_covers(enum ss_op op);

/* Whether --strict is in force: a rule no real event fits is not applied. */
int ss_fault_strict(void);
/* Marks c as faulted by rule (1-based). */
void ss_fault_mark(struct ss_call *c, int rule);
/* After every call on a socket: a receive's bytes are read (latency.h). */
void ss_fault_received(const struct ss_call *c, struct ss_obj *obj);
/* For latency.c: the first rule (1-based) giving the stream socket at fd
 * a latency (a listener: its accepts), or 0 (-1: none, and none will: the
 * socket is connected);
 * and what an arrival on it gets from rule: a delay and a rate (bytes a
 * second, 0: none); 0 when when= or p= (which count arrivals) leave it
 * alone. */
int ss_fault_latency_rule(struct ss_obj *obj, int fd, int listener);
int ss_fault_latency_arrival(int rule, struct ss_obj *obj, uint64_t *delay_ns, uint64_t *rate);
/* A datagram reorder= held back on obj, due after c (the socket's N-th
 * next send went) or, with closing, before c closes the socket: sent for
 * real on c's fd, and described in *sent as a sendto of its bytes marked
 * with its rule, for the capture. Returns what the caller frees with
 * ss_fault_free_datagram() once done with *sent, or NULL: none was due. */
struct ss_held_datagram *ss_fault_due_datagram(const struct ss_call *c, struct ss_obj *obj,
                                               int closing, struct ss_call *sent);
void ss_fault_free_datagram(struct ss_held_datagram *h);
/* For the capture, which tells of them on the socket's next datagram: a
 * datagram of obj that rule lost, a receive whose next datagram is the
 * copy rule's duplicate left; and what happened since it last asked. */
void ss_fault_note_lost(struct ss_obj *obj, int rule);
void ss_fault_note_copy(struct ss_obj *obj, int rule);
void ss_fault_datagram_news(struct ss_obj *obj, struct ss_datagram_news *news);

/* Before (after = 0) and after (1) every call on a socket: what an earlier
 * fault left pending there (fault_event.h) is settled. */
void ss_fault_settle(struct ss_call *c, struct ss_obj *obj, int after);

#endif
