/* sockshim: creating, duplicating and closing sockets. */
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "wrap.h"

/* Exported by glibc but declared in no public header. */
int __close(int fd);
int __fcntl(int fd, int cmd, ...);

static void perform_socket(struct ss_call *c)
{
    c->ret = ss_real.socket(c->domain, c->type, c->protocol);
}

SS_EXPORT int socket(int domain, int type, int protocol)
{
    SS_PASSTHROUGH(socket, domain, type, protocol);
    struct ss_call c = {.fn = SS_FN_socket, .perform = perform_socket, .fd = -1,
                        .domain = domain, .type = type, .protocol = protocol};
    SS_RUN(int, c);
}

static void perform_socketpair(struct ss_call *c)
{
    c->ret = ss_real.socketpair(c->domain, c->type, c->protocol, c->sv);
}

SS_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
    SS_PASSTHROUGH(socketpair, domain, type, protocol, sv);
    struct ss_call c = {.fn = SS_FN_socketpair, .perform = perform_socketpair, .fd = -1,
                        .domain = domain, .type = type, .protocol = protocol, .sv = sv};
    SS_RUN(int, c);
}

/* close() and its glibc alias __close(). */
#define SS_WRAP_CLOSE(name)                                                    \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd);                                          \
    }                                                                          \
    SS_EXPORT int name(int fd)                                                 \
    {                                                                          \
        SS_PASSTHROUGH(name, fd);                                              \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = fd};                                         \
        SS_RUN(int, c);                                                        \
    }
SS_WRAP_CLOSE(close)
SS_WRAP_CLOSE(__close)

static void perform_close_range(struct ss_call *c)
{
    c->ret = ss_real.close_range(c->first, c->last, c->flags);
}

SS_EXPORT int close_range(unsigned int first, unsigned int last, int flags)
{
    SS_PASSTHROUGH(close_range, first, last, flags);
    struct ss_call c = {.fn = SS_FN_close_range, .perform = perform_close_range, .fd = -1,
                        .first = first, .last = last, .flags = flags};
    SS_RUN(int, c);
}

static void perform_closefrom(struct ss_call *c)
{
    ss_real.closefrom((int)c->first);
    c->ret = 0;
}

SS_EXPORT void closefrom(int lowfd)
{
    if (!ss_intercepting()) {
        ss_real.closefrom(lowfd);
        return;
    }
    /* glibc treats a negative lowfd as 0 */
    struct ss_call c = {.fn = SS_FN_closefrom, .perform = perform_closefrom, .fd = -1,
                        .first = lowfd < 0 ? 0u : (unsigned)lowfd, .last = ~0u,
                        .caller = (uintptr_t)__builtin_return_address(0)};
    ss_run(&c);
}

/* A stream opened with fdopen() on a socket: glibc closes the fd inside
 * fclose(), where no wrapper sees it. */
static void perform_fclose(struct ss_call *c)
{
    c->ret = ss_real.fclose(c->stream);
}

SS_EXPORT int fclose(FILE *stream)
{
    SS_PASSTHROUGH(fclose, stream);
    struct ss_call c = {.fn = SS_FN_fclose, .perform = perform_fclose,
                        .fd = stream != NULL ? fileno(stream) : -1, .stream = stream};
    SS_RUN(int, c);
}

static void perform_dup(struct ss_call *c)
{
    c->ret = ss_real.dup(c->fd);
}

SS_EXPORT int dup(int fd)
{
    SS_PASSTHROUGH(dup, fd);
    struct ss_call c = {.fn = SS_FN_dup, .perform = perform_dup, .fd = fd};
    SS_RUN(int, c);
}

/* When a file is put over a socket the pipeline makes the socket the
 * subject (it is closed) and keeps the old fd in other_fd. */
static int dup_source(const struct ss_call *c)
{
    return c->op == SS_OP_close ? c->other_fd : c->fd;
}

static void perform_dup2(struct ss_call *c)
{
    c->ret = ss_real.dup2(dup_source(c), c->newfd);
}

SS_EXPORT int dup2(int oldfd, int newfd)
{
    SS_PASSTHROUGH(dup2, oldfd, newfd);
    struct ss_call c = {.fn = SS_FN_dup2, .perform = perform_dup2, .fd = oldfd,
                        .newfd = newfd};
    SS_RUN(int, c);
}

static void perform_dup3(struct ss_call *c)
{
    c->ret = ss_real.dup3(dup_source(c), c->newfd, c->flags);
}

SS_EXPORT int dup3(int oldfd, int newfd, int flags)
{
    SS_PASSTHROUGH(dup3, oldfd, newfd, flags);
    struct ss_call c = {.fn = SS_FN_dup3, .perform = perform_dup3, .fd = oldfd,
                        .newfd = newfd, .flags = flags};
    SS_RUN(int, c);
}

/* ---- fcntl, ioctl ----------------------------------------------------- */

/* Reading the argument by the type the command takes keeps the va_arg
 * defined. */
static long fcntl_arg(int cmd, va_list ap)
{
    switch (ss_fcntl_arg_kind(cmd)) {
    case SS_FCNTL_NO_ARG:
        return 0;
    case SS_FCNTL_INT_ARG:
        return va_arg(ap, int);
    default:
        return (long)va_arg(ap, void *);
    }
}

/* fcntl(), its alias __fcntl() and fcntl64() (what CPython calls). */
#define SS_WRAP_FCNTL(name)                                                    \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd, c->cmd, c->arg);                          \
    }                                                                          \
    SS_EXPORT int name(int fd, int cmd, ...)                                   \
    {                                                                          \
        va_list ap;                                                            \
        va_start(ap, cmd);                                                     \
        long arg = fcntl_arg(cmd, ap);                                         \
        va_end(ap);                                                            \
        SS_PASSTHROUGH(name, fd, cmd, arg);                                    \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = fd, .cmd = cmd, .arg = arg};                 \
        SS_RUN(int, c);                                                        \
    }
SS_WRAP_FCNTL(fcntl)
SS_WRAP_FCNTL(__fcntl)
SS_WRAP_FCNTL(fcntl64)

static void perform_ioctl(struct ss_call *c)
{
    c->ret = ss_real.ioctl(c->fd, c->request, (void *)c->arg);
}

/* Every request is passed on with one pointer-sized argument, as glibc's
 * own ioctl() reads it: the kernel ignores it where none is expected. */
SS_EXPORT int ioctl(int fd, unsigned long request, ...)
{
    va_list ap;
    va_start(ap, request);
    void *arg = va_arg(ap, void *);
    va_end(ap);
    SS_PASSTHROUGH(ioctl, fd, request, arg);
    struct ss_call c = {.fn = SS_FN_ioctl, .perform = perform_ioctl, .fd = fd,
                        .request = request, .arg = (long)arg};
    SS_RUN(int, c);
}
