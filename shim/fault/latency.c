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
#include "model.h"
#include "real.h"

#define MAX_FD 65536
#define MAX_MARKS 16

int ss_latency_rules;

/* The bytes [from, upto) fall due from start_ns to due_ns, evenly (at
 * once when the two are equal: a delay without a rate). */
struct mark {
    uint64_t from, upto, start_ns, due_ns;
};

struct entry {
    uint64_t obj_id;  /* the socket's model id; 0: unused */
    int rule;         /* 1-based; 0: none yet; -1: none */
    int end_seen;     /* the stream's end (or an error) arrived ... */
    uint64_t end_due; /* ... and falls due then */
    uint64_t consumed, arrived, released;
    uint64_t looked_ns; /* the last look: what arrives after it arrived after it */
    int n;
    int delayed;
    struct mark m[MAX_MARKS];
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

static uint64_t last_due(const struct entry *e)
{
    return e->n > 0 ? e->m[e->n - 1].due_ns : 0;
}

/* Marks the bytes [from, upto) that arrived at `at`: due after the
 * rule's delay, at its rate, and never before what came first (a stream
 * keeps its order, and a link carries one byte at a time). */
static void add_arrival(struct entry *e, struct ss_obj *obj, uint64_t upto, uint64_t at,
                        uint64_t now)
{
    uint64_t delay, rate;
    uint64_t from = e->arrived;
    e->arrived = upto;
    if (!ss_fault_latency_arrival(e->rule, obj, &delay, &rate) && e->n == 0) {
        e->released = upto; /* when= or p= let it through, and nothing is ahead */
        return;
    }
    e->delayed |= delay != 0 || rate != 0;
    uint64_t start = at + delay > last_due(e) ? at + delay : last_due(e);
    uint64_t span = rate != 0 ? (uint64_t)((double)(upto - from) * 1e9 / (double)rate) : 0;
    if (start + span <= now && e->n == 0) {
        e->released = upto;
        return;
    }
    if (e->n == MAX_MARKS) { /* joined to the last mark: later, never early */
        struct mark *last = &e->m[e->n - 1];
        last->upto = upto;
        last->due_ns = start + span;
        return;
    }
    e->m[e->n++] = (struct mark){from, upto, start, start + span};
}

/* The end of the stream (or an error) arrived at `at`: due after what
 * came before it, and after the rule's delay. */
static uint64_t end_due_of(struct entry *e, struct ss_obj *obj, uint64_t at)
{
    uint64_t delay, rate;
    ss_fault_latency_arrival(e->rule, obj, &delay, &rate);
    e->delayed |= delay != 0;
    return at + delay > last_due(e) ? at + delay : last_due(e);
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

static void observe(struct entry *e, int fd, struct ss_obj *obj, uint64_t now)
{
    int queued = 0;
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

/* A paced mark's bytes fall due a packet at a time (a TCP segment's
 * worth on loopback's 1500-byte path): as a slow link delivers them, and
 * without waking a wait for every byte. */
#define PACKET 1448u

/* When byte b of mark m is due. */
static uint64_t time_of(const struct mark *m, uint64_t b)
{
    double part = (double)(b - m->from) / (double)(m->upto - m->from);
    return m->start_ns + (uint64_t)(part * (double)(m->due_ns - m->start_ns));
}

/* How far into mark m the bytes are due at now: whole packets. */
static uint64_t due_within(const struct mark *m, uint64_t now)
{
    if (now >= m->due_ns)
        return m->upto;
    if (now <= m->start_ns)
        return m->from;
    double part = (double)(now - m->start_ns) / (double)(m->due_ns - m->start_ns);
    uint64_t bytes = (uint64_t)(part * (double)(m->upto - m->from));
    return m->from + bytes / PACKET * PACKET;
}

static void release(struct entry *e, uint64_t now)
{
    int k = 0;
    while (k < e->n && e->m[k].due_ns <= now)
        e->released = e->m[k++].upto;
    if (k > 0) {
        memmove(e->m, e->m + k, (size_t)(e->n - k) * sizeof e->m[0]);
        e->n -= k;
    }
    if (e->n > 0) {
        uint64_t partly = due_within(&e->m[0], now);
        if (partly > e->released)
            e->released = partly;
    }
}

/* When more of the first mark is due: its next packet. */
static uint64_t next_due(const struct entry *e)
{
    const struct mark *m = &e->m[0];
    if (m->due_ns <= m->start_ns)
        return m->due_ns;
    uint64_t at = e->released > m->from ? e->released : m->from;
    uint64_t next = at + PACKET < m->upto ? at + PACKET : m->upto;
    return time_of(m, next);
}

static void describe(const struct entry *e, uint64_t now, struct ss_latency_view *v)
{
    v->rule = e->rule;
    v->allowed = e->released > e->consumed ? e->released - e->consumed : 0;
    v->queued = e->arrived > e->consumed ? e->arrived - e->consumed : 0;
    v->end_due = e->end_seen && e->n == 0 && e->end_due <= now;
    v->holding = e->n > 0 || (e->end_seen && e->end_due > now);
    v->next_due_ns = e->n > 0 ? next_due(e) : v->holding ? e->end_due : 0;
    v->delayed = e->delayed;
}

int ss_latency_look(struct ss_obj *obj, int fd, uint64_t now, struct ss_latency_view *v)
{
    memset(v, 0, sizeof *v);
    struct entry *e = entry_of(fd, obj);
    if (e == NULL)
        return 0;
    /* looked for until the socket is connected (a rule may name its peer) */
    if (e->rule == 0)
        e->rule = ss_fault_latency_rule(obj, fd);
    if (e->rule > 0) {
        observe(e, fd, obj, now);
        e->looked_ns = now;
        release(e, now);
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
    if (e->released < e->consumed)
        e->released = e->consumed;
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

static void sleep_until(uint64_t due)
{
    uint64_t now = ss_latency_now();
    if (due <= now)
        return;
    struct timespec ts = {(time_t)((due - now) / 1000000000u), (long)((due - now) % 1000000000u)};
    nanosleep(&ts, NULL); /* a signal handler may run: the loop looks again */
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
            sleep_until(deadline != 0 && deadline < v->next_due_ns ? deadline : v->next_due_ns);
        else if (v->allowed > 0) /* MSG_WAITALL wants more than is queued */
            sleep_until(now + 1000000);
        else
            wait_readable(fd, deadline);
        now = ss_latency_now();
    }
}
