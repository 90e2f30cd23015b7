/* sockshim: which method of a socket object a libc call is.
 *
 * The seed's rules: read()/write() and their vector forms on a socket are
 * recv()/send(); sendto() without an address is send(), recvfrom() without
 * one is recv(); connect() on a non-blocking socket is connect_ex(); an
 * fcntl() or ioctl() that changes O_NONBLOCK is setblocking(), one that
 * changes close-on-exec is set_inheritable(), F_DUPFD is dup().
 */
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>

#include "internal.h"

struct fn_info {
    enum ss_op op;  /* the method, before the refinements below */
    int on_any_fd;  /* works on any fd; only a socket's calls are traced */
};

static const struct fn_info fn_info[SS_FN_COUNT] = {
    [SS_FN_socket] = {SS_OP_socket, 0},
    [SS_FN_socketpair] = {SS_OP_socketpair, 0},
    [SS_FN_bind] = {SS_OP_bind, 0},
    [SS_FN_listen] = {SS_OP_listen, 0},
    [SS_FN_accept] = {SS_OP_accept, 0},
    [SS_FN_accept4] = {SS_OP_accept, 0},
    [SS_FN_connect] = {SS_OP_connect, 0},
    [SS_FN___connect] = {SS_OP_connect, 0},
    [SS_FN_shutdown] = {SS_OP_shutdown, 0},
    [SS_FN_getsockname] = {SS_OP_getsockname, 0},
    [SS_FN_getpeername] = {SS_OP_getpeername, 0},
    [SS_FN_send] = {SS_OP_send, 0},
    [SS_FN___send] = {SS_OP_send, 0},
    [SS_FN_sendto] = {SS_OP_sendto, 0},
    [SS_FN_sendmsg] = {SS_OP_sendmsg, 0},
    [SS_FN_sendmmsg] = {SS_OP_sendmmsg, 0},
    [SS_FN_recv] = {SS_OP_recv, 0},
    [SS_FN___recv_chk] = {SS_OP_recv, 0},
    [SS_FN_recvfrom] = {SS_OP_recvfrom, 0},
    [SS_FN___recvfrom_chk] = {SS_OP_recvfrom, 0},
    [SS_FN_recvmsg] = {SS_OP_recvmsg, 0},
    [SS_FN_recvmmsg] = {SS_OP_recvmmsg, 0},
    [SS_FN_read] = {SS_OP_recv, 1},
    [SS_FN___read] = {SS_OP_recv, 1},
    [SS_FN___read_chk] = {SS_OP_recv, 1},
    [SS_FN_write] = {SS_OP_send, 1},
    [SS_FN___write] = {SS_OP_send, 1},
    [SS_FN_readv] = {SS_OP_recv, 1},
    [SS_FN_writev] = {SS_OP_send, 1},
    [SS_FN_preadv2] = {SS_OP_recv, 1},
    [SS_FN_pwritev2] = {SS_OP_send, 1},
    [SS_FN_preadv64v2] = {SS_OP_recv, 1},
    [SS_FN_pwritev64v2] = {SS_OP_send, 1},
    [SS_FN_sendfile] = {SS_OP_sendfile, 1},
    [SS_FN_sendfile64] = {SS_OP_sendfile, 1},
    [SS_FN_splice] = {SS_OP_sendfile, 1},
    [SS_FN_getsockopt] = {SS_OP_getsockopt, 0},
    [SS_FN_setsockopt] = {SS_OP_setsockopt, 0},
    [SS_FN_close] = {SS_OP_close, 1},
    [SS_FN___close] = {SS_OP_close, 1},
    [SS_FN_close_range] = {SS_OP_close_range, 1},
    [SS_FN_closefrom] = {SS_OP_close_range, 1},
    [SS_FN_fclose] = {SS_OP_close, 1},
    [SS_FN_dup] = {SS_OP_dup, 1},
    [SS_FN_dup2] = {SS_OP_dup, 1},
    [SS_FN_dup3] = {SS_OP_dup, 1},
    [SS_FN_fcntl] = {SS_OP_fcntl, 1},
    [SS_FN___fcntl] = {SS_OP_fcntl, 1},
    [SS_FN_fcntl64] = {SS_OP_fcntl, 1},
    [SS_FN_ioctl] = {SS_OP_ioctl, 1},
    [SS_FN_fork] = {SS_OP_fork, 0},
    [SS_FN__Fork] = {SS_OP_fork, 0},
    [SS_FN_vfork] = {SS_OP_fork, 0},
    /* never a record's fn: syscall(SYS_close) is recorded as close() */
    [SS_FN_syscall] = {SS_OP_close, 1},
};

int ss_call_blocking_flag(const struct ss_call *c)
{
    if (c->fn == SS_FN_ioctl) { /* FIONBIO takes a pointer to an int */
        int on = 0;
        if (c->arg != 0)
            memcpy(&on, (const void *)c->arg, sizeof on);
        return on == 0;
    }
    return (c->arg & O_NONBLOCK) == 0;
}

int ss_call_inheritable_flag(const struct ss_call *c)
{
    if (c->fn == SS_FN_ioctl)
        return c->request == FIONCLEX;
    return (c->arg & FD_CLOEXEC) == 0;
}

enum ss_fcntl_arg ss_fcntl_arg_kind(int cmd)
{
    switch (cmd) {
    case F_GETFD:
    case F_GETFL:
    case F_GETOWN:
    case F_GETSIG:
    case F_GETLEASE:
    case F_GETPIPE_SZ:
    case F_GET_SEALS:
        return SS_FCNTL_NO_ARG;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
    case F_SETFD:
    case F_SETFL:
    case F_SETOWN:
    case F_SETSIG:
    case F_SETLEASE:
    case F_NOTIFY:
    case F_SETPIPE_SZ:
    case F_ADD_SEALS:
        return SS_FCNTL_INT_ARG;
    default:
        return SS_FCNTL_PTR_ARG;
    }
}

int ss_fn_on_any_fd(enum ss_fn fn)
{
    return fn_info[fn].on_any_fd;
}

/* F_SETFL is setblocking() when it changes nothing but O_NONBLOCK (the
 * access mode bits F_GETFL returned come back unchanged and are ignored by
 * the kernel); otherwise it stays an fcntl. */
static enum ss_op classify_setfl(long flags)
{
    long other = flags & ~(long)(O_NONBLOCK | O_ACCMODE | 0x8000 /* O_LARGEFILE */);
    return other == 0 ? SS_OP_setblocking : SS_OP_fcntl;
}

static enum ss_op classify_fcntl(const struct ss_call *c)
{
    switch (c->cmd) {
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
        return SS_OP_dup;
    case F_SETFD:
        return SS_OP_set_inheritable;
    case F_SETFL:
        return classify_setfl(c->arg);
    default:
        return SS_OP_fcntl;
    }
}

static enum ss_op classify_ioctl(const struct ss_call *c)
{
    switch (c->request) {
    case FIONBIO:
        return SS_OP_setblocking;
    case FIOCLEX:
    case FIONCLEX:
        return SS_OP_set_inheritable;
    default:
        return SS_OP_ioctl;
    }
}

void ss_classify_call(struct ss_call *c, int nonblocking)
{
    enum ss_op op = fn_info[c->fn].op;
    switch (op) {
    case SS_OP_connect:
        if (nonblocking)
            op = SS_OP_connect_ex;
        break;
    case SS_OP_sendto:
        if (c->addr == NULL)
            op = SS_OP_send;
        break;
    case SS_OP_recvfrom:
        if (c->addr_out == NULL)
            op = SS_OP_recv;
        break;
    case SS_OP_fcntl:
        op = classify_fcntl(c);
        break;
    case SS_OP_ioctl:
        op = classify_ioctl(c);
        break;
    default:
        break;
    }
    c->op = op;
}
