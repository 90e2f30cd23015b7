/* sockshim: the path a wait takes (select, poll, epoll).
 *
 * A wait is no method of one socket: it names many fds, most of them
 * often not sockets. It is the trace's business when it is traced (the
 * %wait group, which a trace leaves out unless asked: docs/trace-format.md)
 * and a socket is among its fds: then what the kernel will overwrite (the
 * select() sets, its timeout) is copied first, the call is made, and the
 * fds asked about and found ready are described for the renderers. Any
 * other wait is made as if the shim were not there. The program gets back
 * exactly what the real call returned, and its errno.
 */
#include <errno.h>
#include <limits.h>
#include <string.h>

#include "epoll_table.h"
#include "fault.h"
#include "internal.h"
#include "latency.h"
#include "model.h"
#include "outbox.h"
#include "real.h"
#include "sink.h"
#include "trace.h"
#include "wait.h"

static int traced(enum ss_op op)
{
    return (ss_config.traced >> op) & 1;
}

/* Whether any wait can make a line: the epoll table is kept only then. */
static int waits_written(void)
{
    return (ss_config.traced & SS_OPS_WAITS) != 0 && ss_config.summary != SS_SUMMARY_ONLY &&
           ss_sink_enabled();
}

static int is_socket(int fd)
{
    return fd >= 0 && ss_fdtable_kind(fd) == SS_FD_SOCKET;
}

static void describe_fd(struct ss_wait_fd *w, int fd, uint32_t events)
{
    memset(w, 0, sizeof *w);
    w->fd = fd;
    w->events = events;
    if (!is_socket(fd))
        return;
    enum ss_fd_kind kind;
    struct ss_obj *obj = ss_model_get(fd, &kind, NULL);
    if (obj != NULL) {
        w->is_socket = 1;
        w->sock_id = ss_model_id(obj);
    }
    ss_obj_put(obj);
}

/* Adds an fd to a list of the view, or counts it among those not shown. */
static void add_fd(struct ss_wait_fd *list, int *n, int *more, int fd, uint32_t events)
{
    if (*n < SS_WAIT_SHOWN)
        describe_fd(&list[(*n)++], fd, events);
    else
        (*more)++;
}

/* A timeout the kernel refuses (EINVAL): the real call is made as given. */
#define TIMEOUT_INVALID (-2)

/* sec seconds and frac_ns more, in ns; -1 (none) past what int64 holds
 * (longer than any run), TIMEOUT_INVALID when negative or out of range. */
static int64_t seconds_ns(int64_t sec, int64_t frac_ns, int64_t frac_max)
{
    if (sec < 0 || frac_ns < 0 || frac_ns >= frac_max)
        return TIMEOUT_INVALID;
    if (sec > INT64_MAX / 1000000000 - 1)
        return -1;
    return sec * 1000000000 + frac_ns;
}

/* The timeout as given, before the call (select() overwrites its own):
 * -1 none, TIMEOUT_INVALID, else ns. */
static int64_t timeout_asked(const struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    switch (c->fn) {
    case SS_FN_select:
        return a->tv == NULL ? -1
                             : seconds_ns(a->tv->tv_sec, (int64_t)a->tv->tv_usec * 1000,
                                          1000000000);
    case SS_FN_pselect:
    case SS_FN_ppoll:
    case SS_FN___ppoll_chk:
    case SS_FN_epoll_pwait2:
        return a->ts == NULL ? -1 : seconds_ns(a->ts->tv_sec, a->ts->tv_nsec, 1000000000);
    default:
        return a->timeout_ms < 0 ? -1 : (int64_t)a->timeout_ms * 1000000;
    }
}

/* ---- select()'s sets ---------------------------------------------------- */

/* The bytes of an fd_set the kernel reads for nfds: whole longs. */
static size_t set_bytes(int nfds)
{
    size_t bits_per_long = 8 * sizeof(long);
    return ((size_t)nfds + bits_per_long - 1) / bits_per_long * sizeof(long);
}

static uint32_t set_bits(const fd_set sets[3], int fd)
{
    uint32_t bits = 0;
    for (int s = 0; s < 3; s++)
        if (FD_ISSET(fd, &sets[s]))
            bits |= 1u << s;
    return bits;
}

/* The program's sets, as far as the kernel reads them (nfds above
 * FD_SETSIZE: the first FD_SETSIZE fds). */
static void copy_sets(fd_set out[3], fd_set *const in[3], int nfds)
{
    memset(out, 0, 3 * sizeof out[0]);
    for (int s = 0; s < 3; s++)
        if (in[s] != NULL)
            memcpy(&out[s], in[s], set_bytes(nfds));
}

/* ---- network time: readiness held back (latency.h, outbox.h) ------------ */

/* Whether network time may hold a wait's readiness back: a latency
 * (receives, accepts) or an outbox (sends, handshakes). */
static int network_time(void)
{
    return ss_latency_enabled() || ss_outbox_enabled();
}

#define READ_POLL (POLLIN | POLLRDNORM | POLLRDHUP)
#define WRITE_POLL (POLLOUT | POLLWRNORM)
#define READ_EPOLL (EPOLLIN | EPOLLRDNORM | EPOLLRDHUP)
#define WRITE_EPOLL (EPOLLOUT | EPOLLWRNORM)
/* The sockets of one wait whose readiness is held back at a time: past
 * them a wait reports readiness as the kernel does. */
#define MAX_HELD 64

enum { HELD_READ = 1u, HELD_WRITE = 2u };

/* What network time keeps from a wait on fd now. */
struct hold {
    unsigned hidden; /* HELD_*: readiness not shown now, whatever the kernel says */
    unsigned taken;  /* HELD_*: of those, what the kernel would report before it is due
                      * (taken out of the wait, which wakes at due instead) */
    uint64_t due;    /* the earliest time one of taken may show */
};

static void hold_until(struct hold *h, unsigned what, uint64_t due)
{
    h->hidden |= what;
    if (due == 0)
        return;
    h->taken |= what;
    h->due = h->due == 0 || due < h->due ? due : h->due;
}

/* fd's readability is held back by a latency (none of what arrived is
 * due; *due 0 when nothing arrived: the kernel does not report it
 * either) or by a handshake not done; its writability by a full outbox
 * or that handshake. */
static struct hold held_back(int fd, uint64_t now)
{
    struct hold h = {0, 0, 0};
    if (!is_socket(fd))
        return h;
    enum ss_fd_kind kind;
    struct ss_obj *obj = ss_model_get(fd, &kind, NULL);
    if (obj == NULL)
        return h;
    struct ss_latency_view v;
    if (ss_latency_enabled() && ss_latency_look(obj, fd, now, &v) && v.allowed == 0 &&
        !v.end_due)
        hold_until(&h, HELD_READ, v.holding ? v.next_due_ns : 0);
    uint64_t due;
    if (ss_outbox_enabled() && ss_outbox_shaking(obj, now, &due))
        hold_until(&h, HELD_READ | HELD_WRITE, due);
    else if (ss_outbox_enabled() && ss_outbox_unwritable(obj, now, &due))
        hold_until(&h, HELD_WRITE, due != 0 ? due : now + 1000000);
    ss_obj_put(obj);
    return h;
}

static short poll_events_of(unsigned what)
{
    return (short)((what & HELD_READ ? READ_POLL : 0) | (what & HELD_WRITE ? WRITE_POLL : 0));
}

static uint32_t epoll_events_of(unsigned what)
{
    return (what & HELD_READ ? (uint32_t)READ_EPOLL : 0) |
           (what & HELD_WRITE ? (uint32_t)WRITE_EPOLL : 0);
}

/* The program's own time for a wait, against the clock of due times. */
struct wait_time {
    int64_t timeout;   /* as asked: -1 none, else ns */
    uint64_t deadline; /* when it is up */
};

static void wait_time_start(struct wait_time *w, const struct ss_call *c)
{
    w->timeout = timeout_asked(c);
    w->deadline = ss_latency_now() + (w->timeout > 0 ? (uint64_t)w->timeout : 0);
}

/* What is left of it at now: -1 none, else ns. */
static int64_t time_left(const struct wait_time *w, uint64_t now)
{
    if (w->timeout < 0)
        return -1;
    return w->deadline > now ? (int64_t)(w->deadline - now) : 0;
}

/* How long the real call may wait: what is left, or until the earliest
 * due time (0: none) when that comes first. */
static int64_t wait_for(const struct wait_time *w, uint64_t now, uint64_t due)
{
    int64_t left = time_left(w, now);
    int64_t to_due = due > now ? (int64_t)(due - now) : 0;
    return due != 0 && (left < 0 || to_due < left) ? to_due : left;
}

/* The wait is over: it found something, or the program's time is up and
 * nothing held fell due meanwhile (else the kernel is asked once more,
 * without waiting, what that shows). */
static int wait_over(const struct wait_time *w, long ret, uint64_t now, int released)
{
    return ret != 0 || (time_left(w, now) == 0 && !released);
}

static void earliest_of(uint64_t *earliest, uint64_t due)
{
    if (due != 0 && (*earliest == 0 || due < *earliest))
        *earliest = due;
}

/* One kind of wait (poll, select, epoll) around what network time holds
 * back: hold() takes the held readiness out of the wait and says when the
 * earliest of it is due (0: none), call() makes the real call for ns (-1:
 * no limit), settle() hides what is not due from its answer (*released: a
 * held one fell due meanwhile), undo() puts the program's arguments back
 * after a failed call (or NULL). state is the kind's own. */
struct held_wait {
    uint64_t (*hold)(struct ss_call *c, void *state, uint64_t now);
    long (*call)(const struct ss_call *c, int64_t ns);
    long (*settle)(struct ss_call *c, void *state, uint64_t now, long ret, int *released);
    void (*undo)(struct ss_call *c, void *state);
};

/* With --control a rule may be removed while a wait goes on, and what it
 * held back must then be let go of (docs/control.md): a wait around
 * holds looks at the board this often. */
#define BOARD_LOOK_NS ((int64_t)50 * 1000000)

static int64_t looking_at_board(int64_t ns)
{
    if (!ss_fault_watching)
        return ns;
    ss_fault_look_at_board();
    return ns < 0 || ns > BOARD_LOOK_NS ? BOARD_LOOK_NS : ns;
}

/* Makes the real call again, each time until the earliest due time,
 * until it finds something or the program's own time is up. */
static void wait_around_holds(struct ss_call *c, const struct held_wait *kind, void *state,
                              struct wait_time *w)
{
    wait_time_start(w, c);
    for (;;) {
        uint64_t now = ss_latency_now();
        uint64_t earliest = kind->hold(c, state, now);
        long ret = kind->call(c, looking_at_board(wait_for(w, now, earliest)));
        if (ret < 0) {
            int err = errno;
            if (kind->undo != NULL)
                kind->undo(c, state);
            c->ret = ret;
            errno = err;
            return;
        }
        now = ss_latency_now();
        int released;
        c->ret = kind->settle(c, state, now, ret, &released);
        if (wait_over(w, c->ret, now, released))
            return;
    }
}

static int ms_of(int64_t ns)
{
    if (ns < 0)
        return -1;
    int64_t ms = (ns + 999999) / 1000000;
    return ms > INT_MAX ? INT_MAX : (int)ms;
}

static const struct timespec *timespec_of(int64_t ns, struct timespec *ts)
{
    if (ns < 0)
        return NULL;
    ts->tv_sec = (time_t)(ns / 1000000000);
    ts->tv_nsec = (long)(ns % 1000000000);
    return ts;
}

/* The program's poll with another timeout, to the nanosecond (a due time
 * rounded up to the millisecond would make every delay up to 1 ms late). */
static long real_poll(const struct ss_call *c, int64_t ns)
{
    const struct ss_wait_args *a = c->wait;
    struct timespec ts;
    const struct timespec *tp = timespec_of(ns, &ts);
    const sigset_t *mask = c->fn == SS_FN_ppoll || c->fn == SS_FN___ppoll_chk ? a->sigmask : NULL;
    if (c->fn == SS_FN___poll_chk || c->fn == SS_FN___ppoll_chk)
        return ss_real.__ppoll_chk(a->pfds, a->npfds, tp, mask, a->objsize);
    return ss_real.ppoll(a->pfds, a->npfds, tp, mask);
}

struct held_pollfd {
    nfds_t i;
    short events; /* as the program asked */
    short taken;  /* what was taken out of them */
};

/* Takes the events held back out of the pollfds; returns how many were
 * changed, and the earliest due time. */
static int hold_pollfds(struct ss_wait_args *a, uint64_t now, struct held_pollfd *held,
                        uint64_t *earliest)
{
    int n = 0;
    *earliest = 0;
    for (nfds_t i = 0; a->pfds != NULL && i < a->npfds && n < MAX_HELD; i++) {
        struct pollfd *p = &a->pfds[i];
        if (p->fd < 0 || !(p->events & (READ_POLL | WRITE_POLL)))
            continue;
        struct hold h = held_back(p->fd, now);
        short take = (short)(p->events & poll_events_of(h.taken));
        if (take == 0)
            continue;
        held[n++] = (struct held_pollfd){i, p->events, take};
        p->events = (short)(p->events & ~take);
        earliest_of(earliest, h.due);
    }
    return n;
}

/* The kernel's answer, as network time has it: readiness not due yet
 * hidden. Returns the count of fds left ready; *released says whether a
 * held one fell due meanwhile (its readiness is the kernel's to say). */
static long settle_pollfds(struct ss_wait_args *a, const struct held_pollfd *held, int n_held,
                           uint64_t now, long ret, int *released)
{
    *released = 0;
    for (int k = 0; k < n_held; k++)
        a->pfds[held[k].i].events = held[k].events;
    for (nfds_t i = 0; ret > 0 && i < a->npfds; i++) {
        struct pollfd *p = &a->pfds[i];
        if (!(p->revents & (READ_POLL | WRITE_POLL)))
            continue;
        short hide = poll_events_of(held_back(p->fd, now).hidden);
        if (!(p->revents & hide))
            continue;
        p->revents = (short)(p->revents & ~hide);
        ret -= p->revents == 0;
    }
    for (int k = 0; k < n_held && !*released; k++) {
        short still = poll_events_of(held_back(a->pfds[held[k].i].fd, now).taken);
        *released = (held[k].taken & ~still) != 0;
    }
    return ret;
}

struct poll_holds {
    struct held_pollfd held[MAX_HELD];
    int n;
};

static uint64_t poll_hold(struct ss_call *c, void *state, uint64_t now)
{
    struct poll_holds *h = state;
    uint64_t earliest;
    h->n = hold_pollfds(c->wait, now, h->held, &earliest);
    return earliest;
}

static long poll_settle(struct ss_call *c, void *state, uint64_t now, long ret, int *released)
{
    struct poll_holds *h = state;
    return settle_pollfds(c->wait, h->held, h->n, now, ret, released);
}

static void poll_undo(struct ss_call *c, void *state)
{
    const struct poll_holds *h = state;
    for (int k = 0; k < h->n; k++)
        c->wait->pfds[h->held[k].i].events = h->held[k].events;
}

static void poll_with_latency(struct ss_call *c)
{
    static const struct held_wait poll_kind = {poll_hold, real_poll, poll_settle, poll_undo};
    struct poll_holds h;
    struct wait_time w;
    wait_around_holds(c, &poll_kind, &h, &w);
}
/* The program's select with its sets as they are and another timeout. */
static long real_select(const struct ss_call *c, int64_t ns)
{
    const struct ss_wait_args *a = c->wait;
    struct timespec ts;
    if (c->fn == SS_FN_pselect)
        return ss_real.pselect(a->nfds, a->sets[0], a->sets[1], a->sets[2],
                               timespec_of(ns, &ts), a->sigmask);
    struct timeval tv = {(time_t)(ns / 1000000000), (suseconds_t)(ns % 1000000000 / 1000)};
    if (ns >= 0 && ns % 1000 != 0 && ++tv.tv_usec == 1000000) { /* never early */
        tv.tv_sec++;
        tv.tv_usec = 0;
    }
    return ss_real.select(a->nfds, a->sets[0], a->sets[1], a->sets[2], ns < 0 ? NULL : &tv);
}

/* select's read and write sets, and the held readiness each stands for. */
static const unsigned select_held[2] = {HELD_READ, HELD_WRITE};

/* Takes the fds whose readiness is held back out of the sets asked;
 * returns the earliest due time. */
static uint64_t hold_sets(struct ss_wait_args *a, const fd_set asked[3], int nfds,
                          fd_set held[2], uint64_t now)
{
    uint64_t earliest = 0;
    for (int s = 0; s < 2; s++)
        FD_ZERO(&held[s]);
    for (int fd = 0; fd < nfds; fd++) {
        int in_read = a->sets[0] != NULL && FD_ISSET(fd, &asked[0]);
        int in_write = a->sets[1] != NULL && FD_ISSET(fd, &asked[1]);
        if (!in_read && !in_write)
            continue;
        struct hold h = held_back(fd, now);
        for (int s = 0; s < 2; s++) {
            if (a->sets[s] == NULL || !FD_ISSET(fd, &asked[s]) || !(h.taken & select_held[s]))
                continue;
            FD_CLR(fd, a->sets[s]);
            FD_SET(fd, &held[s]);
            earliest_of(&earliest, h.due);
        }
    }
    return earliest;
}

/* Hides the readiness not due yet from the sets the kernel filled;
 * returns the count left, and whether a held fd fell due meanwhile. */
static long settle_sets(struct ss_wait_args *a, const fd_set held[2], int nfds, uint64_t now,
                        long ret, int *released)
{
    *released = 0;
    for (int fd = 0; fd < nfds; fd++) {
        int ready = 0, was_held = 0;
        for (int s = 0; s < 2; s++) {
            ready |= a->sets[s] != NULL && FD_ISSET(fd, a->sets[s]);
            was_held |= FD_ISSET(fd, &held[s]);
        }
        if (!ready && !was_held)
            continue;
        struct hold h = held_back(fd, now);
        for (int s = 0; s < 2; s++) {
            if (a->sets[s] != NULL && FD_ISSET(fd, a->sets[s]) && (h.hidden & select_held[s])) {
                FD_CLR(fd, a->sets[s]);
                ret--;
            }
            *released |= FD_ISSET(fd, &held[s]) && !(h.taken & select_held[s]);
        }
    }
    return ret;
}

struct select_holds {
    fd_set asked[3]; /* the sets as the program gave them */
    fd_set held[2];
    int nfds;
};

static uint64_t select_hold(struct ss_call *c, void *state, uint64_t now)
{
    struct select_holds *h = state;
    struct ss_wait_args *a = c->wait;
    for (int s = 0; s < 3; s++)
        if (a->sets[s] != NULL)
            memcpy(a->sets[s], &h->asked[s], set_bytes(h->nfds));
    return hold_sets(a, h->asked, h->nfds, h->held, now);
}

static long select_settle(struct ss_call *c, void *state, uint64_t now, long ret, int *released)
{
    struct select_holds *h = state;
    return settle_sets(c->wait, h->held, h->nfds, now, ret, released);
}

static void select_with_latency(struct ss_call *c)
{
    /* a failed select leaves the sets undefined: nothing to put back */
    static const struct held_wait select_kind = {select_hold, real_select, select_settle, NULL};
    struct ss_wait_args *a = c->wait;
    struct select_holds h;
    h.nfds = a->nfds < 0 ? 0 : a->nfds > FD_SETSIZE ? FD_SETSIZE : a->nfds;
    copy_sets(h.asked, a->sets, h.nfds);
    struct wait_time w;
    wait_around_holds(c, &select_kind, &h, &w);
    if (c->ret >= 0 && c->fn == SS_FN_select && a->tv != NULL) {
        /* Linux leaves the time not slept */
        int64_t left = time_left(&w, ss_latency_now());
        a->tv->tv_sec = (time_t)(left / 1000000000);
        a->tv->tv_usec = (suseconds_t)(left % 1000000000 / 1000);
    }
}

/* The program's epoll_wait with another timeout, to the nanosecond where
 * the kernel has epoll_pwait2 (Linux 5.11). */
static long real_epoll_wait(const struct ss_call *c, int64_t ns)
{
    const struct ss_wait_args *a = c->wait;
    struct timespec ts;
    const sigset_t *mask = c->fn == SS_FN_epoll_wait ? NULL : a->sigmask;
    static _Atomic int no_pwait2;
    if (!no_pwait2) {
        int saved = errno;
        long ret = ss_real.epoll_pwait2(a->epfd, a->events, a->maxevents, timespec_of(ns, &ts),
                                        mask);
        if (ret >= 0 || errno != ENOSYS)
            return ret;
        errno = saved;
        no_pwait2 = 1;
    }
    return ss_real.epoll_pwait(a->epfd, a->events, a->maxevents, ms_of(ns), mask);
}

/* Gives back the events of the registrations whose readiness fell due:
 * the kernel then reports them (an edge-triggered one too: a change of a
 * registration looks at readiness again). Returns the earliest due time
 * of those still held, or 0. */
static uint64_t release_due(int epfd, uint64_t now)
{
    struct ss_epoll_hold holds[MAX_HELD];
    uint64_t earliest = 0;
    int n = ss_epoll_table_holds(epfd, holds, MAX_HELD);
    for (int i = 0; i < n; i++) {
        struct hold h = held_back(holds[i].fd, now);
        uint32_t asked = holds[i].registered.events;
        if ((asked & epoll_events_of(h.taken)) != 0) {
            struct epoll_event reg = holds[i].registered;
            reg.events &= ~epoll_events_of(h.taken);
            ss_real.epoll_ctl(epfd, EPOLL_CTL_MOD, holds[i].fd, &reg);
            earliest_of(&earliest, h.due);
            continue;
        }
        ss_real.epoll_ctl(epfd, EPOLL_CTL_MOD, holds[i].fd, &holds[i].registered);
        ss_epoll_table_release(epfd, holds[i].fd);
    }
    return earliest;
}

/* Takes the events held back out of fd's registration until due. */
static void hold_registration(int epfd, int fd, uint32_t take)
{
    struct epoll_event reg;
    if (ss_epoll_table_hold(epfd, fd, &reg) < 0)
        return;
    reg.events &= ~take;
    if (ss_real.epoll_ctl(epfd, EPOLL_CTL_MOD, fd, &reg) != 0)
        ss_epoll_table_release(epfd, fd); /* EPOLLEXCLUSIVE: cannot be changed */
}

/* Removes the readiness not due from the events the kernel gave; an
 * event left with nothing goes. */
static long settle_events(struct ss_wait_args *a, long ret, uint64_t now)
{
    long kept = 0;
    for (long i = 0; i < ret; i++) {
        struct epoll_event ev = a->events[i];
        int fd = ss_epoll_table_fd_of(a->epfd, ev.data.u64);
        struct hold h = fd >= 0 ? held_back(fd, now) : (struct hold){0, 0, 0};
        uint32_t hide = ev.events & epoll_events_of(h.hidden);
        if (hide != 0) {
            if (h.taken != 0)
                hold_registration(a->epfd, fd, epoll_events_of(h.taken));
            ev.events &= ~hide;
            if (ev.events == 0)
                continue;
        }
        a->events[kept++] = ev;
    }
    return kept;
}

static uint64_t epoll_hold(struct ss_call *c, void *state, uint64_t now)
{
    uint64_t *earliest = state;
    *earliest = release_due(c->wait->epfd, now);
    return *earliest;
}

static long epoll_settle(struct ss_call *c, void *state, uint64_t now, long ret, int *released)
{
    const uint64_t *earliest = state;
    /* a registration given back is looked at by the next wait */
    *released = *earliest != 0 && *earliest <= now;
    return settle_events(c->wait, ret, now);
}

static void epoll_wait_with_latency(struct ss_call *c)
{
    static const struct held_wait epoll_kind = {epoll_hold, real_epoll_wait, epoll_settle, NULL};
    uint64_t earliest;
    struct wait_time w;
    wait_around_holds(c, &epoll_kind, &earliest, &w);
}

/* The program's epoll_ctl went through on a registration network time
 * holds: what is held stays out until due. */
static void keep_hold(const struct ss_wait_args *a)
{
    struct epoll_event reg;
    if (a->ctl_op != EPOLL_CTL_MOD || !ss_epoll_table_held(a->epfd, a->target_fd, &reg))
        return;
    reg.events &= ~epoll_events_of(held_back(a->target_fd, ss_latency_now()).taken);
    ss_real.epoll_ctl(a->epfd, EPOLL_CTL_MOD, a->target_fd, &reg);
}

/* ---- making the call ----------------------------------------------------- */

/* The real call, through a latency's holds when rules give sockets one. */
static void make_call(struct ss_call *c)
{
    if (network_time() && timeout_asked(c) != TIMEOUT_INVALID) {
        switch (c->op) {
        case SS_OP_select:
            select_with_latency(c);
            return;
        case SS_OP_poll:
            poll_with_latency(c);
            return;
        case SS_OP_epoll_poll:
            epoll_wait_with_latency(c);
            return;
        default:
            break;
        }
    }
    c->perform(c);
}

/* Makes the real call, timed. */
static void perform(struct ss_call *c, int entry_errno)
{
    c->t_start_ns = ss_now_ns();
    errno = entry_errno;
    make_call(c);
    c->err = errno;
    c->t_end_ns = ss_now_ns();
    c->failed = c->ret == -1;
}

static void perform_untraced(struct ss_call *c, int entry_errno)
{
    errno = entry_errno;
    make_call(c);
}

static void start_view(struct ss_wait_view *v, const struct ss_call *c)
{
    int64_t timeout = timeout_asked(c);
    v->timeout_ns = timeout == TIMEOUT_INVALID ? -1 : timeout;
    v->sigmask = c->wait->sigmask != NULL;
    v->n_asked = v->more_asked = v->n_ready = v->more_ready = 0;
    memset(&v->target, 0, sizeof v->target);
    v->target.fd = -1;
}

static void write_wait(struct ss_call *c, const struct ss_wait_view *v)
{
    c->wait->view = v;
    ss_trace_wait(c);
    c->wait->view = NULL;
    errno = c->err;
}

/* ---- select ------------------------------------------------------------ */

static void run_select(struct ss_call *c, int entry_errno)
{
    struct ss_wait_args *a = c->wait;
    int nfds = a->nfds < 0 ? 0 : a->nfds > FD_SETSIZE ? FD_SETSIZE : a->nfds;
    fd_set asked[3];
    copy_sets(asked, a->sets, nfds);
    int any_socket = 0;
    for (int fd = 0; fd < nfds && !any_socket; fd++)
        any_socket = set_bits(asked, fd) != 0 && is_socket(fd);
    if (!any_socket) {
        perform_untraced(c, entry_errno);
        return;
    }
    struct ss_wait_view v;
    start_view(&v, c);
    perform(c, entry_errno);
    fd_set ready[3];
    if (!c->failed)
        copy_sets(ready, a->sets, nfds);
    for (int fd = 0; fd < nfds; fd++) {
        uint32_t bits = set_bits(asked, fd);
        if (bits == 0)
            continue;
        add_fd(v.asked, &v.n_asked, &v.more_asked, fd, bits);
        uint32_t got = c->failed ? 0 : set_bits(ready, fd) & bits;
        if (got != 0)
            add_fd(v.ready, &v.n_ready, &v.more_ready, fd, got);
    }
    write_wait(c, &v);
}

/* ---- poll -------------------------------------------------------------- */

static void run_poll(struct ss_call *c, int entry_errno)
{
    struct ss_wait_args *a = c->wait;
    int any_socket = 0;
    for (nfds_t i = 0; a->pfds != NULL && i < a->npfds && !any_socket; i++)
        any_socket = is_socket(a->pfds[i].fd);
    if (!any_socket) {
        perform_untraced(c, entry_errno);
        return;
    }
    struct ss_wait_view v;
    start_view(&v, c);
    perform(c, entry_errno);
    for (nfds_t i = 0; i < a->npfds; i++) {
        const struct pollfd *p = &a->pfds[i];
        add_fd(v.asked, &v.n_asked, &v.more_asked, p->fd, (uint16_t)p->events);
        if (!c->failed && p->revents != 0)
            add_fd(v.ready, &v.n_ready, &v.more_ready, p->fd, (uint16_t)p->revents);
    }
    write_wait(c, &v);
}

/* ---- epoll --------------------------------------------------------------- */

static void run_epoll_create(struct ss_call *c, int entry_errno)
{
    struct ss_wait_view v;
    start_view(&v, c);
    perform(c, entry_errno);
    if (c->failed) {
        write_wait(c, &v);
        return;
    }
    ss_epoll_table_created((int)c->ret);
    write_wait(c, &v);
}

static void run_epoll_ctl(struct ss_call *c, int entry_errno)
{
    struct ss_wait_args *a = c->wait;
    int socket = is_socket(a->target_fd);
    struct ss_wait_view v;
    start_view(&v, c);
    uint32_t events = a->event != NULL ? a->event->events : 0;
    uint64_t data = a->event != NULL ? a->event->data.u64 : 0;
    perform(c, entry_errno);
    if (!c->failed) {
        ss_epoll_table_changed(a->epfd, a->ctl_op, a->target_fd, a->event, socket);
        if (network_time())
            keep_hold(a);
    }
    if (!socket) {
        errno = c->err;
        return;
    }
    describe_fd(&v.target, a->target_fd, events);
    v.target.data = data;
    write_wait(c, &v);
}

static void run_epoll_wait(struct ss_call *c, int entry_errno)
{
    struct ss_wait_args *a = c->wait;
    if (!ss_epoll_table_has_sockets(a->epfd)) {
        perform_untraced(c, entry_errno);
        return;
    }
    struct ss_wait_view v;
    start_view(&v, c);
    perform(c, entry_errno);
    for (long i = 0; !c->failed && i < c->ret; i++) {
        uint64_t data = a->events[i].data.u64;
        int fd = ss_epoll_table_fd_of(a->epfd, data);
        add_fd(v.ready, &v.n_ready, &v.more_ready, fd, a->events[i].events);
        if (v.n_ready > 0 && (int)i < SS_WAIT_SHOWN)
            v.ready[i].data = data;
    }
    write_wait(c, &v);
}

/* ---- the path ------------------------------------------------------------ */

void ss_run_wait(struct ss_call *c)
{
    int entry_errno = errno;
    /* no ss_python_take(): CPython waits between announcing a socket
     * method and making its call, and the call keeps that location */
    ss_classify_call(c, 0);
    if (!waits_written() && !network_time()) {
        perform_untraced(c, entry_errno);
        return;
    }
    /* epoll_create and epoll_ctl keep the epoll table even when only
     * epoll.poll() is traced */
    if (!traced(c->op) && (c->op == SS_OP_select || c->op == SS_OP_poll)) {
        perform_untraced(c, entry_errno);
        return;
    }
    switch (c->op) {
    case SS_OP_select:
        run_select(c, entry_errno);
        break;
    case SS_OP_poll:
        run_poll(c, entry_errno);
        break;
    case SS_OP_epoll:
        run_epoll_create(c, entry_errno);
        break;
    case SS_OP_epoll_register:
    case SS_OP_epoll_modify:
    case SS_OP_epoll_unregister:
        run_epoll_ctl(c, entry_errno);
        break;
    case SS_OP_epoll_poll:
        run_epoll_wait(c, entry_errno);
        break;
    default:
        perform_untraced(c, entry_errno);
        break;
    }
}
