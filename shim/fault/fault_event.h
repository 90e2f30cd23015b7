/* sockshim: the real events behind faults.
 *
 * A fault must leave the program, its socket and the peer in a state a
 * real network could have produced (docs/faults.md, "What each fault
 * stands for"). Where the event is one the kernel can be made to produce
 * for real, it is: a refused or timed-out connect is a real connect to a
 * local stand-in that refuses (a bound port nobody listens on) or never
 * answers (a listener whose accept queue is full, so its SYNs are
 * dropped); a broken connection is a real reset (TCP) or shutdown
 * (AF_UNIX). The kernel then gives every later call, poll and SO_ERROR
 * read exactly what it gives after the event. What cannot be made real
 * (the number of an error the stand-in reports as ECONNREFUSED) is patched
 * at the one place the program reads it.
 */
#ifndef SOCKSHIM_FAULT_EVENT_H
#define SOCKSHIM_FAULT_EVENT_H

#include <stdatomic.h>
#include <stdint.h>
#include <sys/socket.h>

#include "call.h"
#include "fault.h"
#include "model.h"

struct ss_obj;
struct ss_held_datagram;

/* The fault engine's state of one socket, in the room the model's object
 * keeps for it (model.h, "rooms"), guarded by the object's lock; pending
 * can be read without it. */
struct ss_fault_sock {
    _Atomic unsigned pending; /* SS_PENDING_* */
    int report_as;            /* the stand-in's ECONNREFUSED means this errno */
    int report_rule;          /* ... which this rule (1-based) injected */
    int saved_user_timeout;   /* TCP_USER_TIMEOUT and TCP_SYNCNT before a */
    int saved_syncnt;         /* timed-out connect changed them */
    int eof_rule;             /* the rule whose eof ended the stream */
    /* datagram sockets: a send reorder= holds back, or NULL */
    struct ss_held_datagram *held;
    /* datagrams drop lost that the capture has not told of yet, and the
     * last rule that lost one */
    unsigned lost;
    int lost_rule;
    int copy_rule;            /* the next datagram received is a copy this
                               * rule's duplicate left, for the capture */
};
_Static_assert(sizeof(struct ss_fault_sock) <= SS_ROOM_FAULT_SIZE &&
                   _Alignof(struct ss_fault_sock) <= SS_ROOM_ALIGN,
               "the fault engine's state outgrew its room in the object (model.h)");

enum {
    SS_PENDING_REPORT = 1u << 0,  /* report_as waits for the program to read it */
    SS_PENDING_RESTORE = 1u << 1, /* the options wait for the connect to end */
    SS_PENDING_EOF = 1u << 2,     /* the stream has ended for the program */
    SS_PENDING_HELD = 1u << 3,    /* a datagram waits to be sent (held) */
    SS_PENDING_PEEKED = 1u << 4,  /* a receive with MSG_PEEK showed the first
                                   * datagram queued: it has arrived */
    SS_PENDING_NEWS = 1u << 5,    /* lost and copy_rule wait for the capture */
};

/* A TCP socket (the one kind with an RST, a handshake and a stand-in). */
int ss_event_is_tcp(const struct ss_sockinfo *info);
/* A socket with a connection to lose: TCP, AF_UNIX stream or seqpacket. */
int ss_event_has_connection(const struct ss_sockinfo *info);

/* The stand-ins a connect can be sent to. */
enum ss_stand_in {
    SS_STAND_IN_REFUSER,   /* answers a SYN with an RST */
    SS_STAND_IN_BLACKHOLE, /* never answers */
};

/* The loopback address of a stand-in for a socket of family; 0, or -1 when
 * it cannot be made (no loopback of that family, no fds left). */
int ss_event_stand_in(int family, enum ss_stand_in kind, struct sockaddr_storage *addr,
                      socklen_t *len);

/* Whether a connect error on a TCP socket is the network's answer, which
 * the kernel reports later on a non-blocking socket (through readiness and
 * SO_ERROR), as opposed to a local refusal it reports at once. */
int ss_event_reported_later(int err);
/* Whether an error on a transfer means the connection is gone for good. */
int ss_event_breaks_connection(int err);

/* The connection of fd is gone for good: the peer gets an RST (TCP) or
 * sees the end of the stream (AF_UNIX stream and seqpacket), and every
 * later call on fd sees what it sees after that. Returns 1 when the socket
 * had such a connection to break, 0 otherwise (UDP...). */
int ss_event_break(int fd, const struct ss_sockinfo *info, struct ss_obj *obj);

/* A dead path's time, as the kernel's retransmission timer counts it with
 * net.ipv4.tcp_retries2 (924.6 s with the default 15). */
uint64_t ss_event_dead_path_ns(void);

/* A timed-out connect: sets TCP_USER_TIMEOUT (and TCP_SYNCNT, so that the
 * SYN retries do not end first) for a connect that is to time out after
 * ns, remembering the old values in obj. */
void ss_event_time_connect(int fd, struct ss_obj *obj, uint64_t ns);

/* The connect of an obj is over (or failed at once): its options go back. */
void ss_event_restore_options(int fd, struct ss_obj *obj);

/* Remember that the stand-in's ECONNREFUSED on obj is to be reported as
 * err, injected by rule. */
void ss_event_report_later(struct ss_obj *obj, int err, int rule);

/* An eof fault ended obj's stream: every later receive on it gives 0, as
 * after the peer's FIN. ss_event_stream_ended() says which rule did it, or
 * 0. */
void ss_event_end_stream(struct ss_obj *obj, int rule);
int ss_event_stream_ended(struct ss_obj *obj);

/* ---- datagrams (drop, duplicate, reorder=) ---- */

/* Whether the call passes MSG_* flags in c->flags (send, recvfrom,
 * recvmsg...; not read, write and the rest, whose flags are RWF_* if
 * any); and whether flag is among them. */
int ss_event_passes_msg_flags(const struct ss_call *c);
int ss_event_call_flag(const struct ss_call *c, int flag);

/* A datagram reorder= holds back: its bytes, where it goes, and how many
 * of the socket's datagrams are still to go out before it. */
struct ss_held_datagram {
    int rule;                  /* 1-based */
    int flags;                 /* the send's MSG_* flags */
    unsigned behind;           /* sends still to come before it goes */
    pid_t owner;               /* a forked child's copy of it is not its own */
    socklen_t addrlen;         /* 0: the socket's peer */
    struct sockaddr_storage addr;
    size_t len;
    size_t map_len;            /* what was mapped for it */
    unsigned char bytes[];
};

/* The largest datagram reorder= holds back (a larger one goes at once). */
#define SS_HELD_MAX (64u * 1024u)

/* A held datagram of len bytes, to be filled in; NULL when out of memory. */
struct ss_held_datagram *ss_event_new_held(size_t len);
void ss_event_free_held(struct ss_held_datagram *h);
/* Holds h back on obj; 0, or -1 when the socket already holds one (h is
 * then the caller's still). */
int ss_event_hold(struct ss_obj *obj, struct ss_held_datagram *h);
/* After a send on obj that is not the held one: counts it, and returns the
 * held datagram when it is due (now the caller's), else NULL. With
 * closing, returns it whatever its count: the socket is about to close. */
struct ss_held_datagram *ss_event_due(struct ss_obj *obj, int counts, int closing);

/* Whether some rule has reorder= (set by the fault engine as it reads the
 * rules): without one, no socket ever holds a datagram back. */
extern _Atomic int ss_event_reorder_rules;
/* Whether obj may hold a datagram back: when not, ss_event_due() has
 * nothing to give and changes nothing. Asked after every call while faults
 * are on, and almost always false: inline, and without the lock, as
 * ss_event_due() reads the bit first itself (and again under the lock). */
static inline int ss_event_may_hold(struct ss_obj *obj)
{
    if (!atomic_load_explicit(&ss_event_reorder_rules, memory_order_relaxed) || obj == NULL)
        return 0;
    struct ss_fault_sock *st = ss_obj_room(obj, SS_ROOM_FAULT);
    return (atomic_load_explicit(&st->pending, memory_order_relaxed) & SS_PENDING_HELD) != 0;
}

/* Sends h on fd, as the program's send would have, without waiting (a
 * full buffer loses it); the count sent, or -1 with *err. */
long ss_event_send_held(int fd, const struct ss_held_datagram *h, int *err);

/* A datagram of obj lost by rule; the next one obj receives is a copy
 * rule left; ss_event_take_news() says what happened since it last asked,
 * and forgets it. */
void ss_event_lost(struct ss_obj *obj, int rule);
void ss_event_copy_next(struct ss_obj *obj, int rule);
void ss_event_take_news(struct ss_obj *obj, struct ss_datagram_news *news);

/* A receive with MSG_PEEK on obj: the first datagram it shows has arrived
 * and may not be lost after. ss_event_take_peeked() says whether one was
 * shown, and forgets it. */
void ss_event_peeked(struct ss_obj *obj);
int ss_event_take_peeked(struct ss_obj *obj);

/* Before and after every call on a socket with something pending. */
int ss_event_pending(struct ss_obj *obj);
void ss_event_settle_before(const struct ss_call *c, struct ss_obj *obj);
void ss_event_settle_after(struct ss_call *c, struct ss_obj *obj);

#endif
