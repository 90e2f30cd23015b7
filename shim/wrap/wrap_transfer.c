/* sockshim: moving bytes. read()/write() and their vector forms are
 * wrapped for every fd and traced only on sockets. */
#include <fcntl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>
#include <unistd.h>

#include "wrap.h"

/* Exported by glibc, declared by no header (or only under fortify). */
ssize_t __send(int fd, const void *buf, size_t len, int flags);
ssize_t __read(int fd, void *buf, size_t len);
ssize_t __write(int fd, const void *buf, size_t len);
ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags);
ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                       struct sockaddr *addr, socklen_t *addrlen);
ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen);

/* ---- sending ---------------------------------------------------------- */

/* send() and glibc's exported alias __send(). */
#define SS_WRAP_SEND(name)                                                     \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd, c->cbuf, c->len, c->flags);               \
    }                                                                          \
    SS_EXPORT ssize_t name(int fd, const void *buf, size_t len, int flags)     \
    {                                                                          \
        SS_PASSTHROUGH(name, fd, buf, len, flags);                             \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = fd, .cbuf = buf, .len = len, .flags = flags}; \
        SS_RUN(ssize_t, c);                                                    \
    }
SS_WRAP_SEND(send)
SS_WRAP_SEND(__send)

static void perform_sendto(struct ss_call *c)
{
    c->ret = ss_real.sendto(c->fd, c->cbuf, c->len, c->flags, c->addr, c->addrlen);
}

SS_EXPORT ssize_t sendto(int fd, const void *buf, size_t len, int flags,
                         __CONST_SOCKADDR_ARG addr, socklen_t addrlen)
{
    SS_PASSTHROUGH(sendto, fd, buf, len, flags, SS_SA(addr), addrlen);
    struct ss_call c = {.fn = SS_FN_sendto, .perform = perform_sendto, .fd = fd, .cbuf = buf,
                        .len = len, .flags = flags, .addr = SS_SA(addr), .addrlen = addrlen};
    SS_RUN(ssize_t, c);
}

static void perform_sendmsg(struct ss_call *c)
{
    c->ret = ss_real.sendmsg(c->fd, c->msg, c->flags);
}

SS_EXPORT ssize_t sendmsg(int fd, const struct msghdr *msg, int flags)
{
    SS_PASSTHROUGH(sendmsg, fd, msg, flags);
    /* the record only reads through msg */
    struct ss_call c = {.fn = SS_FN_sendmsg, .perform = perform_sendmsg, .fd = fd,
                        .msg = (struct msghdr *)msg, .flags = flags};
    SS_RUN(ssize_t, c);
}

static void perform_sendmmsg(struct ss_call *c)
{
    c->ret = ss_real.sendmmsg(c->fd, c->mmsg, c->vlen, c->flags);
}

SS_EXPORT int sendmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags)
{
    SS_PASSTHROUGH(sendmmsg, fd, msgs, vlen, flags);
    struct ss_call c = {.fn = SS_FN_sendmmsg, .perform = perform_sendmmsg, .fd = fd,
                        .mmsg = msgs, .vlen = vlen, .flags = flags};
    SS_RUN(int, c);
}

/* write() and glibc's exported alias __write(). */
#define SS_WRAP_WRITE(name)                                                    \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd, c->cbuf, c->len);                         \
    }                                                                          \
    SS_EXPORT ssize_t name(int fd, const void *buf, size_t len)                \
    {                                                                          \
        SS_PASSTHROUGH(name, fd, buf, len);                                    \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = fd, .cbuf = buf, .len = len};                \
        SS_RUN(ssize_t, c);                                                    \
    }
SS_WRAP_WRITE(write)
SS_WRAP_WRITE(__write)

static void perform_writev(struct ss_call *c)
{
    c->ret = ss_real.writev(c->fd, c->iov, c->iovcnt);
}

SS_EXPORT ssize_t writev(int fd, const struct iovec *iov, int iovcnt)
{
    SS_PASSTHROUGH(writev, fd, iov, iovcnt);
    struct ss_call c = {.fn = SS_FN_writev, .perform = perform_writev, .fd = fd, .iov = iov,
                        .iovcnt = iovcnt};
    SS_RUN(ssize_t, c);
}

/* ---- receiving -------------------------------------------------------- */

static void perform_recv(struct ss_call *c)
{
    c->ret = ss_real.recv(c->fd, c->buf, c->len, c->flags);
}

SS_EXPORT ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    SS_PASSTHROUGH(recv, fd, buf, len, flags);
    struct ss_call c = {.fn = SS_FN_recv, .perform = perform_recv, .fd = fd, .buf = buf,
                        .len = len, .flags = flags};
    SS_RUN(ssize_t, c);
}

/* What a program built with -D_FORTIFY_SOURCE calls for recv(): glibc
 * checks len against the buffer size and aborts, as without the shim. */
static void perform___recv_chk(struct ss_call *c)
{
    c->ret = ss_real.__recv_chk(c->fd, c->buf, c->len, c->buflen, c->flags);
}

SS_EXPORT ssize_t __recv_chk(int fd, void *buf, size_t len, size_t buflen, int flags)
{
    SS_PASSTHROUGH(__recv_chk, fd, buf, len, buflen, flags);
    struct ss_call c = {.fn = SS_FN___recv_chk, .perform = perform___recv_chk, .fd = fd,
                        .buf = buf, .len = len, .buflen = buflen, .flags = flags};
    SS_RUN(ssize_t, c);
}

static void perform_recvfrom(struct ss_call *c)
{
    c->ret = ss_real.recvfrom(c->fd, c->buf, c->len, c->flags, c->addr_out, c->addrlen_out);
}

SS_EXPORT ssize_t recvfrom(int fd, void *buf, size_t len, int flags, __SOCKADDR_ARG addr,
                           socklen_t *addrlen)
{
    SS_PASSTHROUGH(recvfrom, fd, buf, len, flags, SS_SA(addr), addrlen);
    struct ss_call c = {.fn = SS_FN_recvfrom, .perform = perform_recvfrom, .fd = fd,
                        .buf = buf, .len = len, .flags = flags, .addr_out = SS_SA(addr),
                        .addrlen_out = addrlen};
    SS_RUN(ssize_t, c);
}

static void perform___recvfrom_chk(struct ss_call *c)
{
    c->ret = ss_real.__recvfrom_chk(c->fd, c->buf, c->len, c->buflen, c->flags, c->addr_out,
                                    c->addrlen_out);
}

SS_EXPORT ssize_t __recvfrom_chk(int fd, void *buf, size_t len, size_t buflen, int flags,
                                 struct sockaddr *addr, socklen_t *addrlen)
{
    SS_PASSTHROUGH(__recvfrom_chk, fd, buf, len, buflen, flags, addr, addrlen);
    struct ss_call c = {.fn = SS_FN___recvfrom_chk, .perform = perform___recvfrom_chk,
                        .fd = fd, .buf = buf, .len = len, .buflen = buflen, .flags = flags,
                        .addr_out = addr, .addrlen_out = addrlen};
    SS_RUN(ssize_t, c);
}

static void perform_recvmsg(struct ss_call *c)
{
    c->ret = ss_real.recvmsg(c->fd, c->msg, c->flags);
}

SS_EXPORT ssize_t recvmsg(int fd, struct msghdr *msg, int flags)
{
    SS_PASSTHROUGH(recvmsg, fd, msg, flags);
    /* len keeps the ancillary room offered: the kernel overwrites it */
    struct ss_call c = {.fn = SS_FN_recvmsg, .perform = perform_recvmsg, .fd = fd,
                        .msg = msg, .len = msg != NULL ? msg->msg_controllen : 0,
                        .flags = flags};
    SS_RUN(ssize_t, c);
}

static void perform_recvmmsg(struct ss_call *c)
{
    c->ret = ss_real.recvmmsg(c->fd, c->mmsg, c->vlen, c->flags, c->timeout);
}

SS_EXPORT int recvmmsg(int fd, struct mmsghdr *msgs, unsigned int vlen, int flags,
                       struct timespec *timeout)
{
    SS_PASSTHROUGH(recvmmsg, fd, msgs, vlen, flags, timeout);
    struct ss_call c = {.fn = SS_FN_recvmmsg, .perform = perform_recvmmsg, .fd = fd,
                        .mmsg = msgs, .vlen = vlen, .flags = flags, .timeout = timeout};
    SS_RUN(int, c);
}

/* read() and glibc's exported alias __read(). */
#define SS_WRAP_READ(name)                                                     \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd, c->buf, c->len);                          \
    }                                                                          \
    SS_EXPORT ssize_t name(int fd, void *buf, size_t len)                      \
    {                                                                          \
        SS_PASSTHROUGH(name, fd, buf, len);                                    \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = fd, .buf = buf, .len = len};                 \
        SS_RUN(ssize_t, c);                                                    \
    }
SS_WRAP_READ(read)
SS_WRAP_READ(__read)

static void perform___read_chk(struct ss_call *c)
{
    c->ret = ss_real.__read_chk(c->fd, c->buf, c->len, c->buflen);
}

SS_EXPORT ssize_t __read_chk(int fd, void *buf, size_t len, size_t buflen)
{
    SS_PASSTHROUGH(__read_chk, fd, buf, len, buflen);
    struct ss_call c = {.fn = SS_FN___read_chk, .perform = perform___read_chk, .fd = fd,
                        .buf = buf, .len = len, .buflen = buflen};
    SS_RUN(ssize_t, c);
}

static void perform_readv(struct ss_call *c)
{
    c->ret = ss_real.readv(c->fd, c->iov, c->iovcnt);
}

SS_EXPORT ssize_t readv(int fd, const struct iovec *iov, int iovcnt)
{
    SS_PASSTHROUGH(readv, fd, iov, iovcnt);
    struct ss_call c = {.fn = SS_FN_readv, .perform = perform_readv, .fd = fd, .iov = iov,
                        .iovcnt = iovcnt};
    SS_RUN(ssize_t, c);
}

/* preadv2/pwritev2 and their 64-bit-offset names (the same functions on
 * x86_64); on a socket the offset must be -1 and they are readv/writev. */
#define SS_WRAP_VECTOR2(name)                                                  \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd, c->iov, c->iovcnt, c->offset, c->flags);  \
    }                                                                          \
    SS_EXPORT ssize_t name(int fd, const struct iovec *iov, int iovcnt,        \
                           off_t offset, int flags)                            \
    {                                                                          \
        SS_PASSTHROUGH(name, fd, iov, iovcnt, offset, flags);                  \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = fd, .iov = iov, .iovcnt = iovcnt,            \
                            .offset = offset, .flags = flags};                 \
        SS_RUN(ssize_t, c);                                                    \
    }
SS_WRAP_VECTOR2(preadv2)
SS_WRAP_VECTOR2(pwritev2)
SS_WRAP_VECTOR2(preadv64v2)
SS_WRAP_VECTOR2(pwritev64v2)

/* ---- between a socket and another fd ---------------------------------- */

/* sendfile() and sendfile64(): out_fd is the socket, in_fd a file. */
#define SS_WRAP_SENDFILE(name)                                                 \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd, c->other_fd, c->offp, c->count);          \
    }                                                                          \
    SS_EXPORT ssize_t name(int out_fd, int in_fd, off_t *offset, size_t count) \
    {                                                                          \
        SS_PASSTHROUGH(name, out_fd, in_fd, offset, count);                    \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = out_fd, .other_fd = in_fd, .offp = offset,   \
                            .offset = offset != NULL ? *offset : 0,            \
                            .count = count};                                   \
        SS_RUN(ssize_t, c);                                                    \
    }
SS_WRAP_SENDFILE(sendfile)
SS_WRAP_SENDFILE(sendfile64)

/* fd is the socket and other_fd the pipe; a receive (out of the socket)
 * reads from fd, a send (into it) writes to fd. */
static void perform_splice(struct ss_call *c)
{
    int from_socket = c->op == SS_OP_recv;
    int in = from_socket ? c->fd : c->other_fd;
    int out = from_socket ? c->other_fd : c->fd;
    c->ret = ss_real.splice(in, c->off_in, out, c->off_out, c->count, (unsigned)c->flags);
}

SS_EXPORT ssize_t splice(int fd_in, loff_t *off_in, int fd_out, loff_t *off_out, size_t len,
                         unsigned int flags)
{
    SS_PASSTHROUGH(splice, fd_in, off_in, fd_out, off_out, len, flags);
    struct ss_call c = {.fn = SS_FN_splice, .perform = perform_splice, .fd = fd_out,
                        .other_fd = fd_in, .off_in = off_in, .off_out = off_out,
                        .offset = off_in != NULL ? *off_in : 0, .count = len,
                        .flags = (int)flags};
    SS_RUN(ssize_t, c);
}
