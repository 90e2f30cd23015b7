/* sockshim: a wait for several fds (select, poll, epoll), as a call
 * record carries it.
 *
 * A wrapper marshals the arguments the program gave into struct
 * ss_wait_args; the wait path (shim/core/wait.c) copies what the kernel
 * will overwrite before the call, and after it fills the view the
 * renderers read: the fds asked about and the fds found ready, each with
 * whether it is a socket, so a renderer never looks at live state.
 */
#ifndef SOCKSHIM_WAIT_H
#define SOCKSHIM_WAIT_H

#include <poll.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <time.h>

/* How many fds a line shows of those asked about, and of those ready; a
 * count of the rest follows ("... 12 more"). */
#define SS_WAIT_SHOWN 64

/* select()'s three sets, as event bits of one fd. */
enum ss_wait_sets { SS_WAIT_READ = 1, SS_WAIT_WRITE = 2, SS_WAIT_EXCEPT = 4 };

/* An fd of a wait. */
struct ss_wait_fd {
    int fd;        /* -1: an epoll event whose registration the shim does not know */
    int is_socket; /* a socket the model knows: shown as sockN */
    uint64_t sock_id; /* the model's object serial, when is_socket */
    uint32_t events;  /* poll and epoll bits; select: enum ss_wait_sets */
    uint64_t data;    /* epoll: the registration's data */
};

struct ss_wait_view {
    int64_t timeout_ns; /* -1: none (wait until something is ready) */
    int sigmask;        /* a signal mask was given (pselect, ppoll, epoll_pwait*) */
    int n_asked, more_asked; /* fds asked about: shown, and not shown */
    struct ss_wait_fd asked[SS_WAIT_SHOWN];
    int n_ready, more_ready; /* fds found ready (their returned events) */
    struct ss_wait_fd ready[SS_WAIT_SHOWN];
    struct ss_wait_fd target; /* epoll_ctl: the fd registered, modified or removed */
};

/* The arguments of the call, as the program gave them. */
struct ss_wait_args {
    /* select(), pselect() */
    int nfds;
    fd_set *sets[3]; /* read, write, except */
    struct timeval *tv;
    /* poll(), ppoll() */
    struct pollfd *pfds;
    nfds_t npfds;
    /* epoll_create(): its size or epoll_create1()'s flags */
    int create_arg;
    /* epoll_ctl(), epoll_wait() */
    int epfd;
    int ctl_op;
    int target_fd;
    struct epoll_event *event;
    struct epoll_event *events;
    int maxevents;
    /* the timeout: poll() and epoll_wait() take milliseconds, the others a
     * timespec (tv above for select) */
    int timeout_ms;
    const struct timespec *ts;
    const sigset_t *sigmask;
    size_t objsize; /* __poll_chk, __ppoll_chk: the array's size the compiler knew */
    /* Filled by the wait path for the renderers. */
    const struct ss_wait_view *view;
};

#endif
