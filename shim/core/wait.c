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
#include <string.h>

#include "epoll_table.h"
#include "internal.h"
#include "model.h"
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

static int64_t timespec_ns(const struct timespec *ts)
{
    if (ts == NULL)
        return -1;
    return (int64_t)ts->tv_sec * 1000000000 + ts->tv_nsec;
}

/* The timeout as given, before the call (select() overwrites its own). */
static int64_t timeout_asked(const struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    switch (c->fn) {
    case SS_FN_select:
        return a->tv == NULL ? -1 : (int64_t)a->tv->tv_sec * 1000000000 + a->tv->tv_usec * 1000;
    case SS_FN_pselect:
    case SS_FN_ppoll:
    case SS_FN___ppoll_chk:
    case SS_FN_epoll_pwait2:
        return timespec_ns(a->ts);
    default:
        return a->timeout_ms < 0 ? -1 : (int64_t)a->timeout_ms * 1000000;
    }
}

/* Makes the real call, timed. */
static void perform(struct ss_call *c, int entry_errno)
{
    c->t_start_ns = ss_now_ns();
    errno = entry_errno;
    c->perform(c);
    c->err = errno;
    c->t_end_ns = ss_now_ns();
    c->failed = c->ret == -1;
}

static void perform_untraced(struct ss_call *c, int entry_errno)
{
    errno = entry_errno;
    c->perform(c);
}

static void start_view(struct ss_wait_view *v, const struct ss_call *c)
{
    v->timeout_ns = timeout_asked(c);
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
    if (!c->failed)
        ss_epoll_table_changed(a->epfd, a->ctl_op, a->target_fd, a->event, socket);
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
    if (!waits_written()) {
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
