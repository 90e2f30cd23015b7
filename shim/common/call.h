/* sockshim: the call record.
 *
 * Every interposed function marshals its arguments into one struct ss_call
 * and hands it to the pipeline; the fault engine, the real call, the model,
 * the audit and the renderers all read and write this one record. Fields are
 * named for what they mean; a wrapper fills only those its function has.
 */
#ifndef SOCKSHIM_CALL_H
#define SOCKSHIM_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "entries.h"

/* A socket address as the model keeps it: length 0 means "none known". */
struct ss_addr {
    socklen_t len;
    struct sockaddr_storage sa;
};

/* Connection states of a socket object (bits, several may hold at once). */
enum ss_state {
    SS_ST_BOUND = 1u << 0,
    SS_ST_LISTENING = 1u << 1,
    SS_ST_CONNECTING = 1u << 2,
    SS_ST_CONNECTED = 1u << 3,
    SS_ST_SHUT_RD = 1u << 4,
    SS_ST_SHUT_WR = 1u << 5,
    SS_ST_CLOSED = 1u << 6,
    SS_ST_ADOPTED = 1u << 7, /* not created by this process */
    SS_ST_RESET = 1u << 8,   /* reset by a fault */
};

/* What the trace says about the socket a call was made on: a copy of the
 * model's object taken after the call, so renderers never touch live state. */
struct ss_sockinfo {
    uint64_t id; /* the model's object serial, shared by dup'ed fds; 0: none */
    uint32_t version; /* changes whenever anything below but the counters does */
    int family, type, protocol;
    unsigned state;   /* enum ss_state bits */
    int nonblocking;  /* of the open file description */
    struct ss_addr laddr, raddr;
    uint64_t bytes_sent, bytes_received;
    /* Call records: only id and version hold, since a record of this
     * process in the run's ring already holds the socket whole at that
     * version and the command keeps it (call_record.h). */
    int by_reference;
    /* the library's model object it was taken from (the library's own;
     * NULL when not to be marked recorded) */
    void *owner;
};

/* What the fault engine has to say of a rule, once (docs/trace-format.md). */
enum ss_note_kind {
    SS_NOTE_MISFIT = 1,    /* no real event fits the rule on this call */
    SS_NOTE_SHORT_SKIPPED, /* short= left a socket that is not a stream whole */
    SS_NOTE_DATAGRAM_SKIPPED, /* drop, duplicate, reorder= left a connection alone */
};

/* What drop, duplicate or reorder= did to a call's datagram (a call they
 * left alone carries no fault). */
enum ss_fault_datagram {
    SS_DGRAM_NONE = 0,
    SS_DGRAM_DROPPED,    /* a send reported whole, never sent; a receive's
                          * first datagram taken off the socket and discarded */
    SS_DGRAM_DUPLICATED, /* sent twice; received, and left for the next receive */
    SS_DGRAM_HELD,       /* a send held back, sent after the socket's next N */
    SS_DGRAM_RELEASED,   /* that datagram going out (a call the capture
                          * is shown; the program made none) */
};

/* What network time did to a call (shim/fault/latency.h, outbox.h). */
enum ss_held {
    SS_HELD_DELAYED = 1, /* what it gets arrived late; fault_limit: cut to the bytes due */
    SS_HELD_WAIT,        /* nothing was due: it waited, or failed with EAGAIN */
    SS_HELD_IDLE,        /* nothing had arrived: the same, unmarked when it did not wait */
    /* the sending side's network time (shim/fault/outbox.h) */
    SS_HELD_OUTBOX,      /* a send's bytes go to the outbox, later by its rule's time */
    SS_HELD_BEHIND,      /* ... behind the bytes held, no later (unmarked) */
    SS_HELD_HANDSHAKE,   /* the socket's connect is not done for the program yet */
    SS_HELD_CONNECTED,   /* a connect once it is: the kernel's first connect had said 0 */
    SS_HELD_SHUTDOWN,    /* a shutdown of a socket whose outbox holds bytes */
};

/* The fault rules that hit the calls of a loop the trace writes as one
 * line (a sendall), the first SS_LOOP_MARKS of them in order: the line
 * keeps their marks, so that a search for a rule finds every call it hit. */
#define SS_LOOP_MARKS 4
struct ss_fault_marks {
    int n;        /* rules in rule[] */
    int more;     /* other rules hit it too */
    int rule[SS_LOOP_MARKS];            /* 1-based, as in "fault #1" */
    const char *action[SS_LOOP_MARKS];  /* its actions as written */
};

/* A name resolution (the resolve methods, entries.h): what the program
 * asked and what it got, filled by its wrapper (wrap_resolve.c) on the
 * wrapper's stack; the call record points to it. It is rendered in the
 * library (never a call record: it points into the program's results). */
struct ss_resolution {
    /* asked: a name, or an address (getnameinfo, gethostbyaddr) */
    const char *host;             /* getaddrinfo's node, gethostbyname's name */
    const char *service;          /* getaddrinfo */
    const struct addrinfo *hints; /* getaddrinfo */
    struct addrinfo **res;        /* getaddrinfo: where the list goes */
    const void *addr;             /* gethostbyaddr: the address bytes */
    socklen_t addrlen;
    int family;                   /* gethostbyname2, gethostbyaddr: AF_*; 0: none given */
    char *host_out, *serv_out;    /* getnameinfo: the program's buffers */
    socklen_t host_outlen, serv_outlen;
    /* the _r forms: the program's hostent, buffer and out arguments */
    struct hostent *ret_buf;
    char *buf;
    size_t buflen;
    struct hostent **result;
    int *h_errnop;
    /* got */
    int gai;                 /* getaddrinfo, getnameinfo: the EAI_* code; 0: success */
    int herr;                /* gethostby*: h_errno when it failed */
    struct hostent *hostent; /* gethostby*: the answer, or NULL */
    int r_ret;               /* the _r forms: their return value (ERANGE...) */
};

/* No socket: all zero (id 0). */
extern const struct ss_sockinfo ss_no_socket;

struct ss_call;
struct ss_wait_args; /* wait.h */
typedef void ss_perform_fn(struct ss_call *call);

struct ss_call {
    enum ss_fn fn;        /* the libc entry point the program called */
    int via_syscall;      /* ... through syscall(): fn is the call it acts as */
    enum ss_op op;        /* the method it is shown as (set by classify) */
    ss_perform_fn *perform; /* makes the real call from the fields below */
    int fd;               /* the socket the method is called on, or -1 */

    /* socket(), socketpair() */
    int domain, type, protocol;
    int *sv;

    /* Addresses: given by the program (bind, connect, sendto) ... */
    const struct sockaddr *addr;
    socklen_t addrlen;
    /* ... or filled in by the call (accept, recvfrom, getsockname). */
    struct sockaddr *addr_out;
    socklen_t *addrlen_out;

    /* Data: one buffer, an iovec array, or a msghdr. */
    const void *cbuf;     /* bytes to send */
    void *buf;            /* room to receive into */
    size_t len;           /* their length */
    size_t buflen;        /* __*_chk: the object size the compiler knew */
    const struct iovec *iov;
    int iovcnt;
    off_t offset;         /* preadv2/pwritev2 */
    struct msghdr *msg;   /* sendmsg (read only), recvmsg */
    struct mmsghdr *mmsg;
    unsigned int vlen;
    struct timespec *timeout;
    int flags;            /* MSG_*, SOCK_* (accept4), O_CLOEXEC (dup3), RWF_* */

    /* getsockopt(), setsockopt() */
    int level, optname;
    const void *optval;
    socklen_t optlen;
    void *optval_out;
    socklen_t *optlen_out;

    int how;              /* shutdown */
    int backlog;          /* listen */
    int cmd;              /* fcntl */
    unsigned long request; /* ioctl */
    long arg;             /* fcntl/ioctl argument, as passed */
    const int *ioctl_int; /* a record's copy of the int an ioctl wrote (else read at arg) */
    int newfd;            /* dup2, dup3 */

    /* sendfile(), splice(): the other descriptor and its offset */
    int other_fd;
    off_t *offp;
    loff_t *off_in, *off_out;
    size_t count;

    unsigned int first, last; /* close_range, closefrom */
    FILE *stream;             /* fclose */
    struct ss_wait_args *wait; /* select, poll, epoll: its arguments and view */

    /* Outcome, exactly as the real call left it. */
    long ret;
    int err;              /* errno after the call, when ret says it failed */
    int failed;

    uintptr_t caller;              /* the program's return address */

    /* Set by the pipeline. */
    int on_socket;                 /* fd is a socket the model knows */
    uint64_t loop;                 /* the transfer loop it belongs to, or 0 */
    uint32_t loop_calls;           /* a rebuilt loop: how many calls it took */
    uint32_t loop_faults;          /* ... and how many of them a fault hit */
    const struct ss_fault_marks *loop_marks; /* ... and which rules, or NULL */
    uint64_t loop_done;            /* ... and the bytes they moved */
    const void *preview;           /* data to show in place of cbuf (a copy) */
    size_t preview_len;
    int fault;                     /* the fault rule applied (1-based), or 0 */
    const char *fault_action;      /* its actions as written: "short=1" */
    uint64_t fault_draw;           /* the rule's random draw for this call */
    uint64_t fault_limit;          /* after=: the call was cut to end on the mark;
                                    * fault_held: the bytes due */
    int fault_held;                /* a latency's receive (latency.h): SS_HELD_* */
    int fault_flipped;             /* corrupt=: bytes flipped in what moved; -1: none */
    int fault_reset;               /* the fault broke the connection for real (RST) */
    int fault_ended;               /* an earlier eof ended the stream: this receive gives 0 */
    int short_skipped;             /* the applying rule's short= left the call whole:
                                    * its socket is not a stream */
    int fault_datagram;            /* enum ss_fault_datagram, with a fault */
    int fault_note;                /* a rule (1-based) the trace says something of, once
                                    * per rule and process, after this call; or 0 */
    int fault_note_kind;           /* enum ss_note_kind */
    const char *fault_note_reason; /* SS_NOTE_MISFIT: why no real event fits */
    uint64_t t_start_ns, t_end_ns; /* CLOCK_REALTIME */
    /* The socket after the call, and the one accept, dup or socket made:
     * snapshots the tracer takes in its own frame when it writes the call
     * (trace.c), NULL until then. Pointers, not copies: every wrapper
     * zeroes its record, and two snapshots would be most of it. */
    const struct ss_sockinfo *sock;
    int new_fd;                    /* accept, dup, socket: the fd created */
    const struct ss_sockinfo *new_sock;
    int closed_fds[8];             /* close_range: sockets it closed */
    int n_closed_fds;              /* (count may exceed the array) */
    int prior_fd_was_socket;       /* dup2/dup3 over a socket, close */
    int fd_released;               /* close: the model let go of fd before the real close */
    struct ss_resolution *resolution; /* the resolve methods; else NULL */
};

/* ---- what a call's arguments mean (call.c) ---- */

/* What a setblocking()/set_inheritable() call asks for, read from its
 * fcntl or ioctl argument. */
int ss_call_blocking_flag(const struct ss_call *call);    /* Python's flag */
int ss_call_inheritable_flag(const struct ss_call *call); /* Python's flag */
/* What fcntl's third argument is, by command. */
enum ss_fcntl_arg { SS_FCNTL_NO_ARG, SS_FCNTL_INT_ARG, SS_FCNTL_PTR_ARG };
enum ss_fcntl_arg ss_fcntl_arg_kind(int cmd);
/* The int an ioctl that answers through its argument (FIONREAD, SIOCOUTQ,
 * SIOCATMARK) wrote, when it succeeded. */
int ss_call_ioctl_int(const struct ss_call *c, int *value);
/* Whether that int is read at the address the argument names (the call
 * holds no copy of it): a thawed record that would is refused. */
int ss_call_ioctl_reads_arg(const struct ss_call *c);

/* What a resolution asked for: the name (getaddrinfo, gethostbyname), or
 * the text of the address (getnameinfo, gethostbyaddr) written into buf;
 * NULL when none (no name, an address of another family). */
#define SS_ADDR_TEXT_MAX 48
const char *ss_resolution_asked(const struct ss_call *c, char *buf, size_t cap);

#endif
