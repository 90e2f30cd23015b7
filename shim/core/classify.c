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
#include "wait.h"

enum traced_calls { TRACED_every, TRACED_on_socket, TRACED_wait, TRACED_resolution };

struct fn_info {
    enum ss_op op;  /* the method, before the refinements below */
    int on_any_fd;  /* works on any fd; only a socket's calls are traced */
    int resolution; /* a name resolution: on no socket */
};

static const struct fn_info fn_info[SS_FN_COUNT] = {
#define FN_INFO(ret, name, params, method, traced) \
    [SS_FN_##name] = {SS_OP_##method, TRACED_##traced == TRACED_on_socket, \
                      TRACED_##traced == TRACED_resolution},
    SS_ENTRIES(FN_INFO)
#undef FN_INFO
};

int ss_fn_on_any_fd(enum ss_fn fn)
{
    return fn_info[fn].on_any_fd;
}

int ss_fn_is_resolution(enum ss_fn fn)
{
    return fn_info[fn].resolution;
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

/* epoll_ctl() is the register(), modify() or unregister() of Python's
 * select.epoll objects. */
static enum ss_op classify_epoll_ctl(int ctl_op)
{
    switch (ctl_op) {
    case EPOLL_CTL_MOD:
        return SS_OP_epoll_modify;
    case EPOLL_CTL_DEL:
        return SS_OP_epoll_unregister;
    default:
        return SS_OP_epoll_register;
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
    case SS_OP_epoll_register:
        op = classify_epoll_ctl(c->wait->ctl_op);
        break;
    default:
        break;
    }
    c->op = op;
}
