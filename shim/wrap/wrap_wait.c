/* sockshim: waiting for several fds: select, poll, epoll. Each wrapper
 * marshals its arguments into a struct ss_wait_args; the wait path
 * (shim/core/wait.c) decides whether the call is any of the trace's
 * business (a socket among the fds) and makes it. */
#include <poll.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "wait.h"
#include "wrap.h"

/* Exported by glibc, declared by no header (or only under fortify). */
int __poll(struct pollfd *fds, nfds_t nfds, int timeout);
int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen);
int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                const sigset_t *ss, size_t fdslen);

/* ---- select ----------------------------------------------------------- */

static void perform_select(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.select(a->nfds, a->sets[0], a->sets[1], a->sets[2], a->tv);
}

SS_EXPORT int select(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                     struct timeval *timeout)
{
    SS_PASSTHROUGH(select, nfds, readfds, writefds, exceptfds, timeout);
    struct ss_wait_args a = {.nfds = nfds, .sets = {readfds, writefds, exceptfds},
                             .tv = timeout, .timeout_ms = -1};
    struct ss_call c = {.fn = SS_FN_select, .perform = perform_select, .fd = -1, .wait = &a};
    SS_RUN_WAIT(c);
}

static void perform_pselect(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.pselect(a->nfds, a->sets[0], a->sets[1], a->sets[2], a->ts, a->sigmask);
}

SS_EXPORT int pselect(int nfds, fd_set *readfds, fd_set *writefds, fd_set *exceptfds,
                      const struct timespec *timeout, const sigset_t *sigmask)
{
    SS_PASSTHROUGH(pselect, nfds, readfds, writefds, exceptfds, timeout, sigmask);
    struct ss_wait_args a = {.nfds = nfds, .sets = {readfds, writefds, exceptfds},
                             .ts = timeout, .sigmask = sigmask, .timeout_ms = -1};
    struct ss_call c = {.fn = SS_FN_pselect, .perform = perform_pselect, .fd = -1, .wait = &a};
    SS_RUN_WAIT(c);
}

/* ---- poll ------------------------------------------------------------- */

/* poll() and glibc's exported alias __poll(). */
#define SS_WRAP_POLL(name)                                                     \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        const struct ss_wait_args *a = c->wait;                                \
        c->ret = ss_real.name(a->pfds, a->npfds, a->timeout_ms);               \
    }                                                                          \
    SS_EXPORT int name(struct pollfd *fds, nfds_t nfds, int timeout)           \
    {                                                                          \
        SS_PASSTHROUGH(name, fds, nfds, timeout);                              \
        struct ss_wait_args a = {.pfds = fds, .npfds = nfds, .timeout_ms = timeout}; \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = -1, .wait = &a};                             \
        SS_RUN_WAIT(c);                                                        \
    }
SS_WRAP_POLL(poll)
SS_WRAP_POLL(__poll)

/* What a program built with -D_FORTIFY_SOURCE calls: glibc checks the
 * array against its size and aborts, as without the shim. */
static void perform___poll_chk(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.__poll_chk(a->pfds, a->npfds, a->timeout_ms, a->objsize);
}

SS_EXPORT int __poll_chk(struct pollfd *fds, nfds_t nfds, int timeout, size_t fdslen)
{
    SS_PASSTHROUGH(__poll_chk, fds, nfds, timeout, fdslen);
    struct ss_wait_args a = {.pfds = fds, .npfds = nfds, .timeout_ms = timeout,
                             .objsize = fdslen};
    struct ss_call c = {.fn = SS_FN___poll_chk, .perform = perform___poll_chk, .fd = -1,
                        .wait = &a};
    SS_RUN_WAIT(c);
}

static void perform_ppoll(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.ppoll(a->pfds, a->npfds, a->ts, a->sigmask);
}

SS_EXPORT int ppoll(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                    const sigset_t *sigmask)
{
    SS_PASSTHROUGH(ppoll, fds, nfds, timeout, sigmask);
    struct ss_wait_args a = {.pfds = fds, .npfds = nfds, .ts = timeout, .sigmask = sigmask,
                             .timeout_ms = -1};
    struct ss_call c = {.fn = SS_FN_ppoll, .perform = perform_ppoll, .fd = -1, .wait = &a};
    SS_RUN_WAIT(c);
}

static void perform___ppoll_chk(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.__ppoll_chk(a->pfds, a->npfds, a->ts, a->sigmask, a->objsize);
}

SS_EXPORT int __ppoll_chk(struct pollfd *fds, nfds_t nfds, const struct timespec *timeout,
                          const sigset_t *sigmask, size_t fdslen)
{
    SS_PASSTHROUGH(__ppoll_chk, fds, nfds, timeout, sigmask, fdslen);
    struct ss_wait_args a = {.pfds = fds, .npfds = nfds, .ts = timeout, .sigmask = sigmask,
                             .timeout_ms = -1, .objsize = fdslen};
    struct ss_call c = {.fn = SS_FN___ppoll_chk, .perform = perform___ppoll_chk, .fd = -1,
                        .wait = &a};
    SS_RUN_WAIT(c);
}

/* ---- epoll ------------------------------------------------------------ */

static void perform_epoll_create(struct ss_call *c)
{
    c->ret = ss_real.epoll_create(c->wait->create_arg);
}

SS_EXPORT int epoll_create(int size)
{
    SS_PASSTHROUGH(epoll_create, size);
    struct ss_wait_args a = {.create_arg = size, .timeout_ms = -1};
    struct ss_call c = {.fn = SS_FN_epoll_create, .perform = perform_epoll_create, .fd = -1,
                        .wait = &a};
    SS_RUN_WAIT(c);
}

static void perform_epoll_create1(struct ss_call *c)
{
    c->ret = ss_real.epoll_create1(c->wait->create_arg);
}

SS_EXPORT int epoll_create1(int flags)
{
    SS_PASSTHROUGH(epoll_create1, flags);
    struct ss_wait_args a = {.create_arg = flags, .timeout_ms = -1};
    struct ss_call c = {.fn = SS_FN_epoll_create1, .perform = perform_epoll_create1,
                        .fd = -1, .wait = &a};
    SS_RUN_WAIT(c);
}

static void perform_epoll_ctl(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.epoll_ctl(a->epfd, a->ctl_op, a->target_fd, a->event);
}

SS_EXPORT int epoll_ctl(int epfd, int op, int fd, struct epoll_event *event)
{
    SS_PASSTHROUGH(epoll_ctl, epfd, op, fd, event);
    struct ss_wait_args a = {.epfd = epfd, .ctl_op = op, .target_fd = fd, .event = event,
                             .timeout_ms = -1};
    struct ss_call c = {.fn = SS_FN_epoll_ctl, .perform = perform_epoll_ctl, .fd = epfd,
                        .wait = &a};
    SS_RUN_WAIT(c);
}

static void perform_epoll_wait(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.epoll_wait(a->epfd, a->events, a->maxevents, a->timeout_ms);
}

SS_EXPORT int epoll_wait(int epfd, struct epoll_event *events, int maxevents, int timeout)
{
    SS_PASSTHROUGH(epoll_wait, epfd, events, maxevents, timeout);
    struct ss_wait_args a = {.epfd = epfd, .events = events, .maxevents = maxevents,
                             .timeout_ms = timeout};
    struct ss_call c = {.fn = SS_FN_epoll_wait, .perform = perform_epoll_wait, .fd = epfd,
                        .wait = &a};
    SS_RUN_WAIT(c);
}

static void perform_epoll_pwait(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.epoll_pwait(a->epfd, a->events, a->maxevents, a->timeout_ms, a->sigmask);
}

SS_EXPORT int epoll_pwait(int epfd, struct epoll_event *events, int maxevents, int timeout,
                          const sigset_t *sigmask)
{
    SS_PASSTHROUGH(epoll_pwait, epfd, events, maxevents, timeout, sigmask);
    struct ss_wait_args a = {.epfd = epfd, .events = events, .maxevents = maxevents,
                             .timeout_ms = timeout, .sigmask = sigmask};
    struct ss_call c = {.fn = SS_FN_epoll_pwait, .perform = perform_epoll_pwait, .fd = epfd,
                        .wait = &a};
    SS_RUN_WAIT(c);
}

static void perform_epoll_pwait2(struct ss_call *c)
{
    const struct ss_wait_args *a = c->wait;
    c->ret = ss_real.epoll_pwait2(a->epfd, a->events, a->maxevents, a->ts, a->sigmask);
}

SS_EXPORT int epoll_pwait2(int epfd, struct epoll_event *events, int maxevents,
                           const struct timespec *timeout, const sigset_t *sigmask)
{
    SS_PASSTHROUGH(epoll_pwait2, epfd, events, maxevents, timeout, sigmask);
    struct ss_wait_args a = {.epfd = epfd, .events = events, .maxevents = maxevents,
                             .ts = timeout, .sigmask = sigmask, .timeout_ms = -1};
    struct ss_call c = {.fn = SS_FN_epoll_pwait2, .perform = perform_epoll_pwait2, .fd = epfd,
                        .wait = &a};
    SS_RUN_WAIT(c);
}
