/* sockshim: the real libc functions behind the wrappers.
 *
 * preload.c resolves every entry of this table with dlsym(RTLD_NEXT) and is
 * the only place that does. Everything else in the shim calls the real
 * function through ss_real and never by name: a call to close() from inside
 * the library would bind to the library's own close() and recurse.
 */
#ifndef SOCKSHIM_REAL_H
#define SOCKSHIM_REAL_H

#include <stdio.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/uio.h>
#include <time.h>

#define SS_REAL_FUNCS(X)                                                                  \
    X(int, socket, (int, int, int))                                                       \
    X(int, socketpair, (int, int, int, int *))                                            \
    X(int, bind, (int, const struct sockaddr *, socklen_t))                               \
    X(int, listen, (int, int))                                                            \
    X(int, accept, (int, struct sockaddr *, socklen_t *))                                 \
    X(int, accept4, (int, struct sockaddr *, socklen_t *, int))                           \
    X(int, connect, (int, const struct sockaddr *, socklen_t))                            \
    X(int, __connect, (int, const struct sockaddr *, socklen_t))                          \
    X(int, shutdown, (int, int))                                                          \
    X(int, getsockname, (int, struct sockaddr *, socklen_t *))                            \
    X(int, getpeername, (int, struct sockaddr *, socklen_t *))                            \
    X(ssize_t, send, (int, const void *, size_t, int))                                    \
    X(ssize_t, __send, (int, const void *, size_t, int))                                  \
    X(ssize_t, sendto, (int, const void *, size_t, int, const struct sockaddr *, socklen_t)) \
    X(ssize_t, sendmsg, (int, const struct msghdr *, int))                                \
    X(int, sendmmsg, (int, struct mmsghdr *, unsigned int, int))                          \
    X(ssize_t, recv, (int, void *, size_t, int))                                          \
    X(ssize_t, __recv_chk, (int, void *, size_t, size_t, int))                            \
    X(ssize_t, recvfrom, (int, void *, size_t, int, struct sockaddr *, socklen_t *))      \
    X(ssize_t, __recvfrom_chk,                                                            \
      (int, void *, size_t, size_t, int, struct sockaddr *, socklen_t *))                 \
    X(ssize_t, recvmsg, (int, struct msghdr *, int))                                      \
    X(int, recvmmsg, (int, struct mmsghdr *, unsigned int, int, struct timespec *))       \
    X(ssize_t, read, (int, void *, size_t))                                               \
    X(ssize_t, __read, (int, void *, size_t))                                             \
    X(ssize_t, __read_chk, (int, void *, size_t, size_t))                                 \
    X(ssize_t, write, (int, const void *, size_t))                                        \
    X(ssize_t, __write, (int, const void *, size_t))                                      \
    X(ssize_t, readv, (int, const struct iovec *, int))                                   \
    X(ssize_t, writev, (int, const struct iovec *, int))                                  \
    X(ssize_t, preadv2, (int, const struct iovec *, int, off_t, int))                     \
    X(ssize_t, pwritev2, (int, const struct iovec *, int, off_t, int))                    \
    X(ssize_t, preadv64v2, (int, const struct iovec *, int, off_t, int))                  \
    X(ssize_t, pwritev64v2, (int, const struct iovec *, int, off_t, int))                 \
    X(ssize_t, sendfile, (int, int, off_t *, size_t))                                     \
    X(ssize_t, sendfile64, (int, int, off_t *, size_t))                                   \
    X(ssize_t, splice, (int, loff_t *, int, loff_t *, size_t, unsigned int))              \
    X(int, getsockopt, (int, int, int, void *, socklen_t *))                              \
    X(int, setsockopt, (int, int, int, const void *, socklen_t))                          \
    X(int, close, (int))                                                                  \
    X(int, __close, (int))                                                                \
    X(int, close_range, (unsigned int, unsigned int, int))                                \
    X(void, closefrom, (int))                                                             \
    X(int, fclose, (FILE *))                                                              \
    X(int, dup, (int))                                                                    \
    X(int, dup2, (int, int))                                                              \
    X(int, dup3, (int, int, int))                                                         \
    X(int, fcntl, (int, int, ...))                                                        \
    X(int, __fcntl, (int, int, ...))                                                      \
    X(int, fcntl64, (int, int, ...))                                                      \
    X(int, ioctl, (int, unsigned long, ...))                                              \
    X(pid_t, fork, (void))                                                                \
    X(pid_t, _Fork, (void))                                                               \
    X(void, _exit, (int))                                                                 \
    X(void, _Exit, (int))                                                                 \
    X(int, execve, (const char *, char *const[], char *const[]))                          \
    X(int, execv, (const char *, char *const[]))                                          \
    X(int, execvp, (const char *, char *const[]))                                         \
    X(int, execvpe, (const char *, char *const[], char *const[]))                         \
    X(int, fexecve, (int, char *const[], char *const[]))                                  \
    X(int, execveat, (int, const char *, char *const[], char *const[], int))              \
    X(long, syscall, (long, ...))

struct ss_real_table {
#define SS_REAL_PTR(ret, name, params) ret(*name) params;
    SS_REAL_FUNCS(SS_REAL_PTR)
#undef SS_REAL_PTR
};

extern struct ss_real_table ss_real;

#endif
