/* sockshim: network time on the sending side: bytes that reach the peer
 * later, and handshakes that complete later.
 *
 * A rule whose only actions are delay=, jitter= and rate= and whose
 * methods include the sends gives the stream sockets it matches an
 * outbox (docs/faults.md, "delay="): a send hands its bytes to the shim,
 * which returns as fast as the kernel would and hands them to the kernel
 * when they are due (after the delay, at the rate). So the peer reads
 * them late and the sending thread is not held up:
 *
 *   - the outbox holds at most the socket's room (its SO_SNDBUF, at least
 *     64 KiB; under a rate, what the link carries in 250 ms): past it a
 *     non-blocking send is short or fails with EAGAIN, a blocking one
 *     waits (SO_SNDTIMEO kept), and select, poll and epoll do not report
 *     the socket writable until room frees;
 *   - a later send on the socket queues behind what is held, whatever the
 *     rules say of it (a stream keeps its order);
 *   - shutdown(SHUT_WR) and the close of the last fd return at once; the
 *     end of the stream follows the bytes. A close that resets (unread
 *     bytes, SO_LINGER of 0) resets at once and loses them, as the
 *     kernel's does;
 *   - when the peer resets the connection, the bytes held are lost with
 *     it, and the kernel's error stays for the program's next call (a
 *     delivery the kernel refuses all the same is the next send's error);
 *   - the end of the process image (exit, exec) waits until what is held
 *     is handed over: a process that sent and exited still gets its bytes
 *     to the peer.
 *
 * A background thread, started with the first held bytes, delivers them.
 * It writes to a duplicate of the socket's fd that the shim owns, so the
 * program's close never loses them.
 *
 * The handshake: a non-blocking TCP connect under a delay is made at once
 * for real, but answers EINPROGRESS and the socket is neither writable nor
 * readable (sends and receives fail with EAGAIN, a second connect with
 * EALREADY) until the delay is over.
 */
#ifndef SOCKSHIM_OUTBOX_H
#define SOCKSHIM_OUTBOX_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

struct ss_obj;

/* Whether any rule gives sends or connects a latency (set by the fault
 * engine). */
extern _Atomic int ss_outbox_rules;
static inline int ss_outbox_enabled(void)
{
    return atomic_load_explicit(&ss_outbox_rules, memory_order_relaxed);
}

/* The socket of obj holds bytes back or is still shaking hands: the rule
 * (1-based) that made it do so, else 0. Its sends go to the outbox. */
int ss_outbox_holding(struct ss_obj *obj);

/* A send's bytes, and when they fall due. */
struct ss_outbox_send {
    const struct iovec *iov;
    size_t count;
    uint64_t skip;     /* bytes of iov already taken */
    uint64_t delay_ns; /* 0 with rate 0: behind what is held, no later */
    uint64_t rate;     /* bytes a second, 0: none */
    int rule;          /* the rule giving the delay (1-based), or 0 */
};

/* Takes as much of the send as there is room for. Returns the bytes
 * taken (0: no room; *room_ns says when some is expected), -1 with *err
 * when a delivery failed (the send reports that error), -2 when the
 * outbox cannot be had (no memory or no fd: the caller waits instead), or
 * -3 when the kernel would refuse the send (the connection is gone, or a
 * delivery met EPIPE): the kernel is to answer it, with its own error. */
long ss_outbox_take(int fd, struct ss_obj *obj, const struct ss_outbox_send *s, int *err,
                    uint64_t *room_ns);

/* A shutdown(how) of obj's socket: with bytes held, SHUT_WR is done when
 * they are delivered. Returns what is left to do now: how, SHUT_RD, or
 * -1 (nothing). */
int ss_outbox_shutdown(struct ss_obj *obj, int how);
/* Whether obj's socket was shut for writing while bytes were held (a send
 * then fails as after the shutdown). */
int ss_outbox_shut(struct ss_obj *obj);

/* The program is about to close fd, one of obj's socket: when it is the
 * last, the epoll registrations it made on fd go (the kernel drops them
 * when the socket's last fd closes, and the shim keeps a duplicate open).
 * A registration made on an fd the program closed before the last one
 * cannot be taken out any more (epoll_ctl needs the fd): it lasts until
 * the duplicate closes, when the bytes held are delivered. */
void ss_outbox_closing(int fd, struct ss_obj *obj);
/* The last fd of obj's socket was closed: the outbox delivers the rest
 * and closes the socket, or resets it now where the kernel's close would
 * have (unread bytes, SO_LINGER of 0). */
void ss_outbox_closed(struct ss_obj *obj);

/* Whether obj's socket is not writable now: its outbox is full, or its
 * handshake is not done. *due is when that may change (0: unknown). */
int ss_outbox_unwritable(struct ss_obj *obj, uint64_t now, uint64_t *due);

/* A non-blocking TCP connect of obj made under a delay: the handshake
 * completes for the program at due. kernel_done: the kernel's connect
 * answered 0 (the program's next connect after due is told 0, once). */
void ss_outbox_connecting(struct ss_obj *obj, int rule, uint64_t due, int kernel_done);
/* Whether obj's handshake is not done at now (*due: when it is). */
int ss_outbox_shaking(struct ss_obj *obj, uint64_t now, uint64_t *due);
/* A connect on obj once its handshake is done: when the kernel's first
 * connect answered 0 and the program was not told yet (it is, now), the
 * rule (1-based) that delayed it; else 0. */
int ss_outbox_connect_done(struct ss_obj *obj);

/* The end of the process image: waits until what is held is handed over
 * (at most a second past its due time when the peer takes nothing). */
void ss_outbox_finish(void);
/* In a forked child: the parent delivers what its outbox holds. */
void ss_outbox_after_fork_child(void);

#endif
