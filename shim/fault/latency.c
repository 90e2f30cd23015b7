/* sockshim: network time on a socket (see latency.h).
 *
 * One entry per fd number (below MAX_FD), in memory mapped once and
 * touched only for the fds that have sockets with a latency; an entry
 * belongs to the socket whose model id it holds, and starts over when the
 * number names another socket. A lock guards the table; a signal handler
 * that finds its own thread holding it sees no latency for that call.
 */
#include "latency.h"

#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stddef.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>

#include "fault.h"
#include "internal.h"
#include "marks.h"
#include "model.h"
#include "real.h"

#define MAX_FD 65536

_Atomic int ss_latency_rules;

struct entry {
    uint64_t obj_id;  /* the socket's model id; 0: unused */
    int rule;         /* 1-based; 0: none yet; -1: none */
    int listener;     /* 1: a listening socket, its units connections; -1: not one */
    int end_seen;     /* the stream's end (or an error) arrived ... */
    uint64_t end_due; /* ... and falls due then */
    uint64_t consumed, arrived;
    uint64_t looked_ns; /* the last look: what arrives after it arrived after it */
    int delayed;
    struct ss_marks k; /* when the bytes arrived fall due */
};

static struct entry *table;
static atomic_int table_lock;
static __thread int tls_holding;

uint64_t ss_latency_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the table --------------------------------------------------------- */

static int lock_table(void)
{
    return ss_table_lock(&table_lock, &tls_holding);
}

static void unlock_table(void)
{
    ss_table_unlock(&table_lock, &tls_holding);
}

/* The entry of fd for obj, locked; NULL (not locked) when there is none
 * to have. */
static struct entry *entry_of(int fd, struct ss_obj *obj)
{
    if (fd < 0 || fd >= MAX_FD || obj == NULL || !lock_table())
        return NULL;
    if (table == NULL) {
        void *mem = mmap(NULL, MAX_FD * sizeof *table, PROT_READ | PROT_WRITE,
                         MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
        if (mem == MAP_FAILED) {
            unlock_table();
            return NULL;
        }
        table = mem;
    }
    struct entry *e = &table[fd];
    uint64_t id = ss_model_id(obj);
    if (e->obj_id != id) {
        memset(e, 0, sizeof *e);
        e->obj_id = id;
    }
    return e;
}

/* ---- arrivals ---------------------------------------------------------- */

/* Marks the bytes up to upto that arrived at `at`, as the rule says. */
static void add_arrival(struct entry *e, struct ss_obj *obj, uint64_t upto, uint64_t at,
                        uint64_t now)
{
    uint64_t delay, rate;
    uint64_t from = e->arrived;
    e->arrived = upto;
    if (!ss_fault_latency_arrival(e->rule, obj, &delay, &rate) && e->k.n == 0) {
        e->k.released = upto; /* when= or p= let it through, and nothing is ahead */
        return;
    }
    e->delayed |= delay != 0 || rate != 0;
    ss_marks_add(&e->k, from, upto, at, delay, rate, now);
}

/* The end of the stream (or an error) arrived at `at`: due after what
 * came before it, and after the rule's delay. */
static uint64_t end_due_of(struct entry *e, struct ss_obj *obj, uint64_t at)
{
    uint64_t delay, rate;
    ss_fault_latency_arrival(e->rule, obj, &delay, &rate);
    e->delayed |= delay != 0;
    return at + delay > ss_marks_last_due(&e->k) ? at + delay : ss_marks_last_due(&e->k);
}

/* No bytes queued but the socket reads as ready: its end (or an error). */
static int stream_done(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    return ss_real.poll(&p, 1, 0) == 1 && (p.revents & (POLLIN | POLLRDHUP | POLLHUP | POLLERR));
}

/* When the bytes seen now arrived: TCP says how long ago its last data
 * came (tcpi_last_data_recv, in the kernel's ticks: the latest it can
 * have been is taken, so a delay is never short); it cannot have been
 * before the last look that did not see them. Elsewhere, now. */
static uint64_t arrival_time(const struct entry *e, int fd, uint64_t now)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    if (ss_real.getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) != 0 ||
        len < offsetof(struct tcp_info, tcpi_last_data_recv) + sizeof info.tcpi_last_data_recv)
        return now;
    uint64_t ago = (uint64_t)info.tcpi_last_data_recv * 1000000u;
    uint64_t t = ago < now ? now - ago : 0;
    return t > e->looked_ns ? t : e->looked_ns;
}

/* How many connections wait in a listener's accept queue: TCP says (a
 * listening socket's tcpi_unacked is its accept queue); elsewhere, one
 * when it reads as ready. */
static int connections_queued(int fd)
{
    struct tcp_info info;
    socklen_t len = sizeof info;
    if (ss_real.getsockopt(fd, IPPROTO_TCP, TCP_INFO, &info, &len) == 0 &&
        len >= offsetof(struct tcp_info, tcpi_unacked) + sizeof info.tcpi_unacked)
        return (int)info.tcpi_unacked;
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return ss_real.poll(&p, 1, 0) == 1 && (p.revents & POLLIN);
}

static int is_listener(int fd)
{
    int on = 0;
    socklen_t len = sizeof on;
    return ss_real.getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) == 0 && on;
}

static void observe(struct entry *e, int fd, struct ss_obj *obj, uint64_t now)
{
    int queued = 0;
    if (e->listener > 0) { /* connections: they arrive when first seen */
        queued = connections_queued(fd);
        if (e->consumed + (uint64_t)queued > e->arrived)
            add_arrival(e, obj, e->consumed + (uint64_t)queued, now, now);
        return;
    }
    if (ss_real.ioctl(fd, FIONREAD, &queued) != 0 || queued < 0)
        queued = 0;
    uint64_t total = e->consumed + (uint64_t)queued;
    if (total < e->arrived) /* read where the shim did not see it */
        e->consumed = e->arrived - (uint64_t)queued;
    else if (total > e->arrived)
        add_arrival(e, obj, total, arrival_time(e, fd, now), now);
    else if (queued == 0 && !e->end_seen && stream_done(fd)) {
        e->end_due = end_due_of(e, obj, now);
        e->end_seen = 1;
    }
}

static void describe(const struct entry *e, uint64_t now, struct ss_latency_view *v)
{
    v->rule = e->rule;
    v->allowed = e->k.released > e->consumed ? e->k.released - e->consumed : 0;
    v->queued = e->arrived > e->consumed ? e->arrived - e->consumed : 0;
    v->end_due = e->end_seen && e->k.n == 0 && e->end_due <= now;
    v->holding = e->k.n > 0 || (e->end_seen && e->end_due > now);
    v->next_due_ns = e->k.n > 0 ? ss_marks_next_due(&e->k) : v->holding ? e->end_due : 0;
    v->delayed = e->delayed;
}

/* Whatever the entry holds back falls due now, and its rule is looked
 * for again. */
static void let_go(struct entry *e, uint64_t now)
{
    e->k.n = 0;
    e->k.released = e->arrived;
    if (e->end_seen && e->end_due > now)
        e->end_due = now;
    e->rule = 0;
}

int ss_latency_look(struct ss_obj *obj, int fd, uint64_t now, struct ss_latency_view *v)
{
    memset(v, 0, sizeof *v);
    struct entry *e = entry_of(fd, obj);
    if (e == NULL)
        return 0;
    /* looked for until the socket is connected (a rule may name its peer) */
    if (e->rule > 0 && !ss_fault_rule_in_force(e->rule))
        let_go(e, now); /* its rule was removed: what it held is due now */
    if (e->rule == 0) {
        if (e->listener == 0)
            e->listener = is_listener(fd) ? 1 : -1;
        e->rule = ss_fault_latency_rule(obj, fd, e->listener > 0);
    }
    if (e->rule > 0) {
        observe(e, fd, obj, now);
        e->looked_ns = now;
        ss_marks_release(&e->k, now);
        describe(e, now, v);
    }
    unlock_table();
    return v->rule > 0;
}

void ss_latency_consumed(int fd, struct ss_obj *obj, uint64_t n)
{
    struct entry *e = entry_of(fd, obj);
    if (e == NULL)
        return;
    e->consumed += n;
    if (e->arrived < e->consumed)
        e->arrived = e->consumed;
    if (e->k.released < e->consumed)
        e->k.released = e->consumed;
    unlock_table();
}

void ss_latency_marked(int fd, struct ss_obj *obj)
{
    struct entry *e = entry_of(fd, obj);
    if (e == NULL)
        return;
    e->delayed = 0;
    unlock_table();
}

void ss_latency_after_fork_child(void)
{
    ss_table_lock_reset(&table_lock, &tls_holding);
}

/* ---- a blocking receive's wait ------------------------------------------ */

int ss_latency_sleep_until(uint64_t due)
{
    uint64_t now = ss_latency_now();
    if (due <= now)
        return 1;
    struct timespec ts = {(time_t)((due - now) / 1000000000u), (long)((due - now) % 1000000000u)};
    return nanosleep(&ts, NULL) == 0;
}

static void wait_readable(int fd, uint64_t deadline)
{
    int ms = -1;
    if (deadline != 0) {
        uint64_t now = ss_latency_now();
        ms = deadline > now ? (int)((deadline - now + 999999) / 1000000) : 0;
    }
    struct pollfd p = {.fd = fd, .events = POLLIN | POLLRDHUP};
    ss_real.poll(&p, 1, ms);
}

int ss_latency_wait(struct ss_obj *obj, int fd, uint64_t timeout_ns, uint64_t need,
                    struct ss_latency_view *v)
{
    uint64_t now = ss_latency_now();
    uint64_t deadline = timeout_ns != 0 ? now + timeout_ns : 0;
    for (;;) {
        if (!ss_latency_look(obj, fd, now, v) || v->allowed >= need || v->end_due)
            return 0;
        if (deadline != 0 && now >= deadline) {
            errno = EAGAIN;
            return -1;
        }
        if (v->holding)
            /* a signal handler may run: the loop looks again */
            ss_latency_sleep_until(deadline != 0 && deadline < v->next_due_ns ? deadline
                                                                              : v->next_due_ns);
        else if (v->allowed > 0) /* MSG_WAITALL wants more than is queued */
            ss_latency_sleep_until(now + 1000000);
        else
            wait_readable(fd, deadline);
        now = ss_latency_now();
    }
}
