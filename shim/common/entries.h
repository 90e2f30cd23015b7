/* sockshim: the libc entry points the library interposes, one row each.
 *
 * X(ret, name, params, method, fds), as strace's syscallent.h lists system
 * calls: the function's signature (the real one is resolved from it,
 * real.h), the method of a socket object it is shown as before the
 * refinements of classify.c (sendto without an address is send, ...), and
 * which of its calls are traced:
 *   every      a socket call (or one that makes sockets, or fork);
 *   on_socket  it works on any fd: only a call on a socket is traced;
 *   wait       it waits for several fds (select, poll, epoll): traced
 *              when a socket is among them (shim/core/wait.c);
 *   resolution a name resolution of the socket module (getaddrinfo...): on
 *              no socket, it takes the pipeline's path without the socket
 *              model and the audit (pipeline.c), and the calls glibc makes
 *              inside it are not the program's.
 * Everything else about an entry point (the enum, the names in records,
 * the method table, the real functions) is generated from this list.
 */
#ifndef SOCKSHIM_ENTRIES_H
#define SOCKSHIM_ENTRIES_H

#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <sys/epoll.h>
#include <sys/select.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#include "sockshim/ops.h"

#define SS_ENTRIES(X)                                                                          \
    X(int, socket, (int, int, int), socket, every)                                             \
    X(int, socketpair, (int, int, int, int *), socketpair, every)                              \
    X(int, bind, (int, const struct sockaddr *, socklen_t), bind, every)                       \
    X(int, listen, (int, int), listen, every)                                                  \
    X(int, accept, (int, struct sockaddr *, socklen_t *), accept, every)                       \
    X(int, accept4, (int, struct sockaddr *, socklen_t *, int), accept, every)                 \
    X(int, connect, (int, const struct sockaddr *, socklen_t), connect, every)                 \
    X(int, __connect, (int, const struct sockaddr *, socklen_t), connect, every)               \
    X(int, shutdown, (int, int), shutdown, every)                                              \
    X(int, getsockname, (int, struct sockaddr *, socklen_t *), getsockname, every)             \
    X(int, getpeername, (int, struct sockaddr *, socklen_t *), getpeername, every)             \
    X(ssize_t, send, (int, const void *, size_t, int), send, every)                            \
    X(ssize_t, __send, (int, const void *, size_t, int), send, every)                          \
    X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t),   \
      sendto, every)                                                                           \
    X(ssize_t, sendmsg, (int, const struct msghdr *, int), sendmsg, every)                     \
    X(int, sendmmsg, (int, struct mmsghdr *, unsigned int, int), sendmmsg, every)              \
    X(ssize_t, recv, (int, void *, size_t, int), recv, every)                                  \
    X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int), recv, every)                    \
    X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *), recvfrom, \
      every)                                                                                   \
    X(ssize_t, __recvfrom_chk, (int, void *, size_t, size_t, int, struct sockaddr *,           \
                                socklen_t *), recvfrom, every)                                 \
    X(ssize_t, recvmsg, (int, struct msghdr *, int), recvmsg, every)                           \
    X(int, recvmmsg, (int, struct mmsghdr *, unsigned int, int, struct timespec *), recvmmsg,  \
      every)                                                                                   \
    X(ssize_t, read, (int, void *, size_t), recv, on_socket)                                   \
    X(ssize_t, __read, (int, void *, size_t), recv, on_socket)                                 \
    X(ssize_t, __read_chk, (int, void *, size_t, size_t), recv, on_socket)                     \
    X(ssize_t, write, (int, const void *, size_t), send, on_socket)                            \
    X(ssize_t, __write, (int, const void *, size_t), send, on_socket)                          \
    X(ssize_t, readv, (int, const struct iovec *, int), recv, on_socket)                       \
    X(ssize_t, writev, (int, const struct iovec *, int), send, on_socket)                      \
    X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int), recv, on_socket)         \
    X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int), send, on_socket)        \
    X(ssize_t, preadv64v2, (int, const struct iovec *, int, off_t, int), recv, on_socket)      \
    X(ssize_t, pwritev64v2, (int, const struct iovec *, int, off_t, int), send, on_socket)     \
    X(ssize_t, sendfile, (int, int, off_t *, size_t), sendfile, on_socket)                     \
    X(ssize_t, sendfile64, (int, int, off_t *, size_t), sendfile, on_socket)                   \
    X(ssize_t, splice, (int, loff_t *, int, loff_t *, size_t, unsigned int), sendfile, on_socket) \
    X(int, getsockopt, (int, int, int, void *, socklen_t *), getsockopt, every)                \
    X(int, setsockopt, (int, int, int, const void *, socklen_t), setsockopt, every)            \
    X(int, close, (int), close, on_socket)                                                     \
    X(int, __close, (int), close, on_socket)                                                   \
    X(int, close_range, (unsigned int, unsigned int, int), close_range, on_socket)             \
    X(void, closefrom, (int), close_range, on_socket)                                          \
    X(int, fclose, (FILE *), close, on_socket)                                                 \
    X(int, dup, (int), dup, on_socket)                                                         \
    X(int, dup2, (int, int), dup, on_socket)                                                   \
    X(int, dup3, (int, int, int), dup, on_socket)                                              \
    X(int, fcntl, (int, int, ...), fcntl, on_socket)                                           \
    X(int, __fcntl, (int, int, ...), fcntl, on_socket)                                         \
    X(int, fcntl64, (int, int, ...), fcntl, on_socket)                                         \
    X(int, ioctl, (int, unsigned long, ...), ioctl, on_socket)                                 \
    X(int, select, (int, fd_set *, fd_set *, fd_set *, struct timeval *), select, wait)       \
    X(int, pselect, (int, fd_set *, fd_set *, fd_set *, const struct timespec *,              \
                     const sigset_t *), select, wait)                                         \
    X(int, poll, (struct pollfd *, nfds_t, int), poll, wait)                                  \
    X(int, __poll, (struct pollfd *, nfds_t, int), poll, wait)                                \
    X(int, __poll_chk, (struct pollfd *, nfds_t, int, size_t), poll, wait)                    \
    X(int, ppoll, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *), poll, \
      wait)                                                                                    \
    X(int, __ppoll_chk, (struct pollfd *, nfds_t, const struct timespec *, const sigset_t *,  \
                         size_t), poll, wait)                                                 \
    X(int, epoll_create, (int), epoll, wait)                                                  \
    X(int, epoll_create1, (int), epoll, wait)                                                 \
    X(int, epoll_ctl, (int, int, int, struct epoll_event *), epoll_register, wait)            \
    X(int, epoll_wait, (int, struct epoll_event *, int, int), epoll_poll, wait)               \
    X(int, epoll_pwait, (int, struct epoll_event *, int, int, const sigset_t *), epoll_poll,  \
      wait)                                                                                    \
    X(int, epoll_pwait2, (int, struct epoll_event *, int, const struct timespec *,            \
                          const sigset_t *), epoll_poll, wait)                                \
    X(pid_t, fork, (void), fork, every)                                                        \
    X(pid_t, _Fork, (void), fork, every)                                                       \
    /* resolved, never called: the wrapper forks (wrap_process.c) */                           \
    X(pid_t, vfork, (void), fork, every)                                                       \
    /* never a record's fn: syscall(SYS_close) is recorded as close() with  */                 \
    /* via_syscall set, syscall(SYS_close_range) as close_range()           */                 \
    X(long, syscall, (long, ...), close, on_socket)                                            \
    X(int, getaddrinfo, (const char *, const char *, const struct addrinfo *,                  \
                         struct addrinfo **), getaddrinfo, resolution)                         \
    X(int, getnameinfo, (const struct sockaddr *, socklen_t, char *, socklen_t, char *,        \
                         socklen_t, int), getnameinfo, resolution)                             \
    X(struct hostent *, gethostbyname, (const char *), gethostbyname, resolution)              \
    X(struct hostent *, gethostbyname2, (const char *, int), gethostbyname, resolution)        \
    X(int, gethostbyname_r, (const char *, struct hostent *, char *, size_t,                   \
                             struct hostent **, int *), gethostbyname, resolution)             \
    X(int, gethostbyname2_r, (const char *, int, struct hostent *, char *, size_t,             \
                              struct hostent **, int *), gethostbyname, resolution)            \
    X(struct hostent *, gethostbyaddr, (const void *, socklen_t, int), gethostbyaddr,          \
      resolution)                                                                              \
    X(int, gethostbyaddr_r, (const void *, socklen_t, int, struct hostent *, char *, size_t,   \
                             struct hostent **, int *), gethostbyaddr, resolution)

/* Functions that end the process image. They are no socket calls and make
 * no trace line of their own: the library writes the process's summary
 * before it hands them on (shim/core/ending.c). X(ret, name, params); the
 * execl family is wrapped and hands on to execv, execvp and execve. */
#define SS_ENDINGS(X)                                                                          \
    X(void, _exit, (int))                                                                      \
    X(void, _Exit, (int))                                                                      \
    X(int, execve, (const char *, char *const[], char *const[]))                               \
    X(int, execv, (const char *, char *const[]))                                               \
    X(int, execvp, (const char *, char *const[]))                                              \
    X(int, execvpe, (const char *, char *const[], char *const[]))                              \
    X(int, fexecve, (int, char *const[], char *const[]))                                       \
    X(int, execveat, (int, const char *, char *const[], char *const[], int))

enum ss_fn {
#define SS_FN_ENUM(ret, name, params, method, fds) SS_FN_##name,
    SS_ENTRIES(SS_FN_ENUM)
#undef SS_FN_ENUM
    SS_FN_COUNT
};

#endif
