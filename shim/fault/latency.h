/* sockshim: network time on a socket: data that arrives later.
 *
 * A rule whose only actions are delay=, jitter= and rate= (or blackhole)
 * and whose methods include the receives gives the stream sockets it
 * matches a latency: bytes the shim sees arrive at time T are the
 * program's to read at T + delay (at the rate, a packet at a time; never,
 * under blackhole), not before (docs/faults.md, "delay="). The bytes stay in the kernel's
 * socket: the shim only keeps, per socket, marks of how many bytes had
 * arrived by when and when they fall due, and holds the program back:
 *
 *   - a receive gets only the bytes already due (a short receive, as a
 *     slow peer gives); with none due, a non-blocking one fails with
 *     EAGAIN and a blocking one waits until some are due;
 *   - a wait (select, poll, epoll) does not report the socket readable
 *     before its bytes are due, and wakes up when they are.
 *
 * Arrivals are seen when the program looks: a wait that finds the socket
 * readable, or a receive; on TCP, the kernel says how long ago its last
 * data came, so bytes that waited unseen are dated when they came. Other
 * sockets, and other threads, are never slowed. End of stream (and a
 * pending error) is an arrival too: it falls due after the bytes before
 * it.
 *
 * A time rule on accept gives a listening socket a latency with
 * connections for bytes: those seen in its accept queue fall due after
 * the delay, and accepts and readability are held back the same way.
 */
#ifndef SOCKSHIM_LATENCY_H
#define SOCKSHIM_LATENCY_H

#include <stdatomic.h>
#include <stdint.h>

struct ss_obj;

/* What is due on a socket now. */
struct ss_latency_view {
    int rule;             /* the latency rule (1-based); 0: the socket has none */
    uint64_t allowed;     /* bytes due and not read yet */
    uint64_t queued;      /* bytes arrived and not read yet (due or not) */
    int end_due;          /* the end of the stream (or an error) is due */
    int holding;          /* bytes (or the end) have arrived that are not due yet */
    uint64_t next_due_ns; /* when more falls due (CLOCK_MONOTONIC), when holding */
    int delayed;          /* arrivals were delayed since the last receive */
};

/* The delay of a blackhole: nothing arriving ever falls due. */
#define SS_LATENCY_FOREVER (UINT64_MAX / 4)

/* Whether any rule gives sockets a latency (set by the fault engine). */
/* (set when a rule is taken: at the start, or while the run goes on) */
extern _Atomic int ss_latency_rules;
static inline int ss_latency_enabled(void)
{
    return atomic_load_explicit(&ss_latency_rules, memory_order_relaxed);
}

/* The clock of due times. */
uint64_t ss_latency_now(void);
/* Sleeps until due on that clock; 0 when a signal handler cut it short. */
int ss_latency_sleep_until(uint64_t due);

/* Looks at the socket behind fd (obj) at now: notes what arrived since
 * the last look and says what is due. Returns 0 (v->rule 0) when no rule
 * gives the socket a latency. */
int ss_latency_look(struct ss_obj *obj, int fd, uint64_t now, struct ss_latency_view *v);
/* A receive on fd took n bytes (not a peek). */
void ss_latency_consumed(int fd, struct ss_obj *obj, uint64_t n);
/* The receive's mark is written: arrivals since are new delays. */
void ss_latency_marked(int fd, struct ss_obj *obj);
/* A blocking receive with fewer than need bytes due waits until they are
 * (or the end is): until the next due time, or for the socket to become
 * readable (then looks again). timeout_ns is the socket's SO_RCVTIMEO (0:
 * none). A signal handler may run meanwhile; the wait goes on, as a
 * receive restarted by SA_RESTART does. Returns 0 when they are due (or
 * the socket has no latency now), -1 with errno EAGAIN when the timeout
 * ran out. */
int ss_latency_wait(struct ss_obj *obj, int fd, uint64_t timeout_ns, uint64_t need,
                    struct ss_latency_view *v);
/* In a forked child: the table's lock may have been held by a thread that
 * did not come along. */
void ss_latency_after_fork_child(void);

#endif
