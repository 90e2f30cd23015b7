/* sockshim: object semantics for people, one line per call.
 *
 *   12:00:01.004000 [4242] sock3.accept() -> (sock4, ('127.0.0.1', 51324))
 *
 * Everything from the pid in brackets on is a contract (docs/trace-format.md):
 * sockN = socket(...), sockN.method(args) -> result, -> None,
 * raises error(errno, 'message').
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <linux/sockios.h>
#include <sys/socket.h>
#include <unistd.h>

#include "render_call.h"
#include "xlat.h"

typedef void text_op_fn(struct ss_out *o, const struct ss_call *c);

/* ---- pieces of a line ------------------------------------------------- */

void ss_text_prefix(struct ss_out *o, uint64_t ns)
{
    ss_out_clock(o, ns);
    ss_out_str(o, " [");
    ss_out_i64(o, ss_render_pid());
    if (ss_render_multithreaded()) {
        ss_out_char(o, ':');
        ss_out_i64(o, ss_render_tid());
    }
    ss_out_str(o, "] ");
}

static void out_subject(struct ss_out *o, const struct ss_call *c)
{
    ss_out_fdname(o, c->fd, ss_call_on_socket(c));
    ss_out_char(o, '.');
}

void ss_text_raises(struct ss_out *o, int err)
{
    const char *msg = ss_errno_message(err);
    ss_out_str(o, " raises error(");
    ss_out_i64(o, err);
    ss_out_str(o, ", ");
    ss_out_pystr(o, msg != NULL ? msg : "Unknown error", strlen(msg != NULL ? msg : "Unknown error"));
    ss_out_char(o, ')');
}

static void out_proto(struct ss_out *o, int family, int protocol)
{
    if (protocol != 0 && (family == AF_INET || family == AF_INET6))
        ss_out_xlat(o, &ss_xlat_ipproto, protocol);
    else
        ss_out_i64(o, protocol);
}

static void out_socket_args(struct ss_out *o, int family, int type, int protocol)
{
    ss_out_xlat(o, &ss_xlat_af, family);
    ss_out_str(o, ", ");
    ss_out_socktype(o, type);
    ss_out_str(o, ", ");
    out_proto(o, family, protocol);
}

static void out_flags_arg(struct ss_out *o, int flags)
{
    if (flags != 0) {
        ss_out_str(o, ", ");
        ss_out_flags(o, &ss_xlat_msg_flags, (unsigned)flags);
    }
}

static void out_call_addr(struct ss_out *o, const struct sockaddr *sa, socklen_t len)
{
    ss_out_pyaddr(o, sa, len);
}

/* "sockN = ": the socket a call made, named before it. */
static void named_ret(struct ss_out *o, const struct ss_call *c)
{
    ss_out_fdname(o, (int)c->ret, 1);
    ss_out_str(o, " = ");
}

/* ---- lifecycle -------------------------------------------------------- */

static void text_socket(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "socket(");
    out_socket_args(o, c->domain, c->type, c->protocol);
    ss_out_char(o, ')');
}

static void named_pair(struct ss_out *o, const struct ss_call *c)
{
    if (c->sv == NULL)
        return;
    ss_out_fdname(o, c->sv[0], 1);
    ss_out_str(o, ", ");
    ss_out_fdname(o, c->sv[1], 1);
    ss_out_str(o, " = ");
}

static void text_socketpair(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "socketpair(");
    out_socket_args(o, c->domain, c->type, c->protocol);
    ss_out_char(o, ')');
}

static void text_fromfd(struct ss_out *o, const struct ss_call *c)
{
    ss_out_fdname(o, c->fd, 1);
    ss_out_str(o, " = fromfd(");
    ss_out_i64(o, c->fd);
    ss_out_str(o, ", ");
    out_socket_args(o, c->sock->family, c->sock->type, c->sock->protocol);
    ss_out_str(o, ") [adopted");
    if (c->sock->laddr.len != 0) {
        ss_out_str(o, ", laddr ");
        out_call_addr(o, (const struct sockaddr *)&c->sock->laddr.sa, c->sock->laddr.len);
    }
    if (c->sock->raddr.len != 0) {
        ss_out_str(o, ", raddr ");
        out_call_addr(o, (const struct sockaddr *)&c->sock->raddr.sa, c->sock->raddr.len);
    }
    if (c->sock->state & SS_ST_LISTENING)
        ss_out_str(o, ", listening");
    ss_out_char(o, ']');
}

static void text_dup(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_dup2 || c->fn == SS_FN_dup3) {
        ss_out_str(o, c->fn == SS_FN_dup2 ? "dup2(" : "dup3(");
        ss_out_i64(o, c->newfd);
        if (c->fn == SS_FN_dup3 && c->flags != 0) {
            ss_out_str(o, ", ");
            ss_out_dup3_flags(o, c->flags);
        }
        ss_out_char(o, ')');
    } else {
        ss_out_str(o, "dup()");
    }
}

static void after_dup(struct ss_out *o, const struct ss_call *c)
{
    if (!c->failed && c->prior_fd_was_socket && c->newfd != c->fd) {
        ss_out_str(o, " [closes the previous ");
        ss_out_fdname(o, c->newfd, 1);
        ss_out_char(o, ']');
    }
}

static void text_close(struct ss_out *o, const struct ss_call *c)
{
    (void)c;
    ss_out_str(o, "close()");
}

/* How the fd came to be closed, when it was not close() itself. */
static void after_close(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_dup2 || c->fn == SS_FN_dup3) {
        ss_out_str(o, " [replaced by ");
        ss_out_str(o, ss_fn_name(c->fn));
        ss_out_char(o, '(');
        ss_out_i64(o, c->other_fd);
        ss_out_str(o, ", ");
        ss_out_i64(o, c->fd);
        ss_out_str(o, ")]");
    } else if (c->fn == SS_FN_fclose) {
        ss_out_str(o, " [fclose]");
    } else if (c->via_syscall) {
        ss_out_str(o, " [syscall]");
    }
}

static void text_close_range(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_closefrom) {
        ss_out_str(o, "closefrom(");
        ss_out_u64(o, c->first);
        ss_out_char(o, ')');
    } else {
        ss_out_str(o, "close_range(");
        ss_out_u64(o, c->first);
        ss_out_str(o, ", ");
        ss_out_u64(o, c->last);
        if (c->flags != 0) {
            ss_out_str(o, ", ");
            ss_out_flags(o, &ss_xlat_close_range_flags, (unsigned)c->flags);
        }
        ss_out_char(o, ')');
    }
}

/* The sockets it closed (or made non-inheritable). */
static void after_close_range(struct ss_out *o, const struct ss_call *c)
{
    if (c->n_closed_fds > 0) {
        int cloexec = c->fn == SS_FN_close_range && (c->flags & CLOSE_RANGE_CLOEXEC);
        ss_out_str(o, cloexec ? " [makes non-inheritable " : " [closes ");
        int shown = c->n_closed_fds < 8 ? c->n_closed_fds : 8;
        for (int i = 0; i < shown; i++) {
            if (i > 0)
                ss_out_str(o, ", ");
            ss_out_fdname(o, c->closed_fds[i], 1);
        }
        if (c->n_closed_fds > shown) {
            ss_out_str(o, " and ");
            ss_out_i64(o, c->n_closed_fds - shown);
            ss_out_str(o, " more");
        }
        ss_out_char(o, ']');
    }
    if (c->via_syscall)
        ss_out_str(o, " [syscall]");
}

static void text_fork(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, ss_fn_name(c->fn));
    ss_out_str(o, "()");
}

/* ---- connection ------------------------------------------------------- */

static void text_addr_method(struct ss_out *o, const struct ss_call *c, const char *method)
{
    ss_out_str(o, method);
    ss_out_char(o, '(');
    out_call_addr(o, c->addr, c->addrlen);
    ss_out_char(o, ')');
}

static void text_bind(struct ss_out *o, const struct ss_call *c)
{
    text_addr_method(o, c, "bind");
}

static void text_connect(struct ss_out *o, const struct ss_call *c)
{
    text_addr_method(o, c, "connect");
}

static void text_connect_ex(struct ss_out *o, const struct ss_call *c)
{
    text_addr_method(o, c, "connect_ex");
}

/* connect_ex returns the error indicator instead of raising. */
static void value_connect_ex(struct ss_out *o, const struct ss_call *c)
{
    if (!c->failed) {
        ss_out_char(o, '0');
        return;
    }
    ss_out_i64(o, c->err);
    const char *name = ss_errno_name(c->err);
    if (name != NULL) {
        ss_out_str(o, " (");
        ss_out_str(o, name);
        ss_out_char(o, ')');
    }
}

static void text_listen(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "listen(");
    ss_out_i64(o, c->backlog);
    ss_out_char(o, ')');
}

static void out_addr_or_snapshot(struct ss_out *o, const struct sockaddr *sa,
                                 const socklen_t *lenp, const struct ss_addr *known)
{
    if (sa != NULL && lenp != NULL)
        out_call_addr(o, sa, *lenp);
    else
        out_call_addr(o, (const struct sockaddr *)&known->sa, known->len);
}

static void text_accept(struct ss_out *o, const struct ss_call *c)
{
    (void)c;
    ss_out_str(o, "accept()");
}

static void value_accept(struct ss_out *o, const struct ss_call *c)
{
    ss_out_char(o, '(');
    ss_out_fdname(o, (int)c->ret, 1);
    ss_out_str(o, ", ");
    out_addr_or_snapshot(o, c->addr_out, c->addrlen_out, &c->new_sock->raddr);
    ss_out_char(o, ')');
}

/* accept4's flags for the new socket. */
static void after_accept(struct ss_out *o, const struct ss_call *c)
{
    if (c->flags != 0) {
        ss_out_str(o, " [");
        ss_out_flags(o, &ss_xlat_sock_flags, (unsigned)c->flags);
        ss_out_char(o, ']');
    }
}

static void text_shutdown(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "shutdown(");
    ss_out_xlat(o, &ss_xlat_shut, c->how);
    ss_out_char(o, ')');
}

static void text_name(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, c->op == SS_OP_getsockname ? "getsockname()" : "getpeername()");
}

static void value_name(struct ss_out *o, const struct ss_call *c)
{
    out_call_addr(o, c->addr_out, c->addrlen_out != NULL ? *c->addrlen_out : 0);
}

/* ---- transfers -------------------------------------------------------- */

static void out_sent_data(struct ss_out *o, const struct ss_call *c)
{
    struct ss_bytes b;
    ss_call_sent(c, &b);
    ss_out_pybytes(o, &b);
}

static void out_received_data(struct ss_out *o, const struct ss_call *c)
{
    struct ss_bytes b;
    ss_call_received(c, &b);
    ss_out_pybytes(o, &b);
}

/* How many bytes a receive asked for. */
static size_t recv_bufsize(const struct ss_call *c)
{
    const struct iovec *iov = c->msg != NULL ? c->msg->msg_iov : c->iov;
    int n = c->msg != NULL ? (int)c->msg->msg_iovlen : c->iovcnt;
    if (c->fn == SS_FN_splice)
        return c->count;
    if (iov == NULL)
        return c->len;
    size_t total = 0;
    for (int i = 0; i < n; i++)
        total += iov[i].iov_len;
    return total;
}

static void text_send(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "send(");
    out_sent_data(o, c);
    out_flags_arg(o, c->flags);
    ss_out_char(o, ')');
}

static void text_sendto(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "sendto(");
    out_sent_data(o, c);
    out_flags_arg(o, c->flags);
    ss_out_str(o, ", ");
    out_call_addr(o, c->addr, c->addrlen);
    ss_out_char(o, ')');
}

/* A loop of sends, rebuilt: Python's sendall(), which returns None or
 * raises. */
static void text_sendall(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "sendall(");
    out_sent_data(o, c);
    out_flags_arg(o, c->flags);
    ss_out_char(o, ')');
}

static void text_recv(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "recv(");
    ss_out_u64(o, recv_bufsize(c));
    out_flags_arg(o, c->flags);
    ss_out_char(o, ')');
}

static void value_recv(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_splice) {
        ss_out_char(o, '<');
        ss_out_i64(o, c->ret);
        ss_out_str(o, " bytes spliced into fd");
        ss_out_i64(o, c->other_fd);
        ss_out_char(o, '>');
    } else {
        out_received_data(o, c);
    }
}

static void text_recvfrom(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "recvfrom(");
    ss_out_u64(o, c->len);
    out_flags_arg(o, c->flags);
    ss_out_char(o, ')');
}

static void value_recvfrom(struct ss_out *o, const struct ss_call *c)
{
    ss_out_char(o, '(');
    out_received_data(o, c);
    ss_out_str(o, ", ");
    out_call_addr(o, c->addr_out, c->addrlen_out != NULL ? *c->addrlen_out : 0);
    ss_out_char(o, ')');
}

/* Ancillary data as Python's list of (level, type, data) tuples. */
static void out_ancillary(struct ss_out *o, const struct msghdr *m)
{
    ss_out_char(o, '[');
    int first = 1;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm != NULL;
         cm = CMSG_NXTHDR((struct msghdr *)m, cm)) {
        if (!first)
            ss_out_str(o, ", ");
        first = 0;
        size_t n = cm->cmsg_len > CMSG_LEN(0) ? cm->cmsg_len - CMSG_LEN(0) : 0;
        /* no more than lies in the control buffer: neither CMSG_FIRSTHDR
         * nor CMSG_NXTHDR checks the length of the header it returns */
        size_t room = (size_t)((const unsigned char *)m->msg_control + m->msg_controllen -
                               CMSG_DATA(cm)); /* the header itself lies within */
        if (n > room)
            n = room;
        ss_out_char(o, '(');
        ss_out_xlat(o, &ss_xlat_sol, cm->cmsg_level);
        ss_out_str(o, ", ");
        if (cm->cmsg_level == SOL_SOCKET)
            ss_out_xlat(o, &ss_xlat_scm, cm->cmsg_type);
        else
            ss_out_i64(o, cm->cmsg_type);
        ss_out_str(o, ", ");
        if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS) {
            ss_out_char(o, '[');
            for (size_t i = 0; i < n / sizeof(int); i++) {
                int fd;
                memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
                if (i > 0)
                    ss_out_str(o, ", ");
                ss_out_i64(o, fd);
            }
            ss_out_char(o, ']');
        } else {
            ss_out_pybytes_raw(o, CMSG_DATA(cm), n);
        }
        ss_out_char(o, ')');
    }
    ss_out_char(o, ']');
}

static void out_buffer_list(struct ss_out *o, const struct iovec *iov, size_t n)
{
    ss_out_char(o, '[');
    for (size_t i = 0; iov != NULL && i < n; i++) {
        if (i > 0)
            ss_out_str(o, ", ");
        struct ss_bytes b;
        ss_bytes_buf(&b, iov[i].iov_base, iov[i].iov_len);
        ss_out_pybytes(o, &b);
    }
    ss_out_char(o, ']');
}

/* sendmsg(buffers[, ancdata[, flags[, address]]]): positional arguments up
 * to the last one that is not its default. */
static void text_sendmsg(struct ss_out *o, const struct ss_call *c)
{
    const struct msghdr *m = c->msg;
    ss_out_str(o, "sendmsg(");
    if (m != NULL) {
        out_buffer_list(o, m->msg_iov, m->msg_iovlen);
        int has_addr = m->msg_name != NULL && m->msg_namelen > 0;
        int has_anc = m->msg_controllen > 0;
        if (has_anc || c->flags != 0 || has_addr) {
            ss_out_str(o, ", ");
            out_ancillary(o, m);
        }
        if (c->flags != 0 || has_addr) {
            ss_out_str(o, ", ");
            ss_out_flags(o, &ss_xlat_msg_flags, (unsigned)c->flags);
        }
        if (has_addr) {
            ss_out_str(o, ", ");
            out_call_addr(o, m->msg_name, m->msg_namelen);
        }
    }
    ss_out_char(o, ')');
}

/* recvmsg(bufsize[, ancbufsize[, flags]]) -> (data, ancdata, msg_flags,
 * address) */
static void text_recvmsg(struct ss_out *o, const struct ss_call *c)
{
    const struct msghdr *m = c->msg;
    ss_out_str(o, "recvmsg(");
    ss_out_u64(o, recv_bufsize(c));
    if (m != NULL && (m->msg_controllen > 0 || c->flags != 0)) {
        ss_out_str(o, ", ");
        ss_out_u64(o, c->len); /* the ancillary room the program offered */
    }
    if (c->flags != 0) {
        ss_out_str(o, ", ");
        ss_out_flags(o, &ss_xlat_msg_flags, (unsigned)c->flags);
    }
    ss_out_char(o, ')');
}

static void value_recvmsg(struct ss_out *o, const struct ss_call *c)
{
    const struct msghdr *m = c->msg;
    ss_out_char(o, '(');
    out_received_data(o, c);
    ss_out_str(o, ", ");
    if (m != NULL)
        out_ancillary(o, m);
    else
        ss_out_str(o, "[]");
    ss_out_str(o, ", ");
    ss_out_flags(o, &ss_xlat_msg_flags, m != NULL ? (unsigned)m->msg_flags : 0);
    ss_out_str(o, ", ");
    if (m != NULL)
        out_call_addr(o, m->msg_name, m->msg_namelen);
    else
        ss_out_str(o, "None");
    ss_out_char(o, ')');
}

static void out_mmsg_list(struct ss_out *o, const struct ss_call *c, unsigned n, int received)
{
    ss_out_char(o, '[');
    for (unsigned i = 0; c->mmsg != NULL && i < n; i++) {
        const struct msghdr *m = &c->mmsg[i].msg_hdr;
        size_t total = 0;
        for (size_t k = 0; m->msg_iov != NULL && k < m->msg_iovlen; k++)
            total += m->msg_iov[k].iov_len;
        if (received)
            total = c->mmsg[i].msg_len;
        struct ss_bytes b;
        ss_bytes_iov(&b, m->msg_iov, (int)m->msg_iovlen, total);
        if (i > 0)
            ss_out_str(o, ", ");
        ss_out_pybytes(o, &b);
    }
    ss_out_char(o, ']');
}

static void text_sendmmsg(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "sendmmsg(");
    out_mmsg_list(o, c, c->vlen, 0);
    out_flags_arg(o, c->flags);
    ss_out_char(o, ')');
}

static void text_recvmmsg(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "recvmmsg(");
    ss_out_u64(o, c->vlen);
    out_flags_arg(o, c->flags);
    ss_out_char(o, ')');
}

static void value_recvmmsg(struct ss_out *o, const struct ss_call *c)
{
    out_mmsg_list(o, c, (unsigned)c->ret, 1);
}

/* Python's socket.sendfile(file, offset, count); splice() into a socket is
 * shown the same way, its source being a pipe. */
static void text_sendfile(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "sendfile(");
    ss_out_fdname(o, c->other_fd, 0);
    if (c->offp != NULL || c->off_in != NULL) {
        ss_out_str(o, ", offset=");
        ss_out_i64(o, c->offset);
    }
    ss_out_str(o, ", count=");
    ss_out_u64(o, c->count);
    ss_out_char(o, ')');
}

static void after_sendfile(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_splice)
        ss_out_str(o, " [splice]");
}

/* ---- options ---------------------------------------------------------- */

static void out_level_optname(struct ss_out *o, const struct ss_call *c)
{
    ss_out_xlat(o, &ss_xlat_sol, c->level);
    ss_out_str(o, ", ");
    const struct ss_xlat *names = ss_xlat_optnames(c->level);
    if (names != NULL)
        ss_out_xlat(o, names, c->optname);
    else
        ss_out_i64(o, c->optname);
}

static void text_getsockopt(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "getsockopt(");
    out_level_optname(o, c);
    if (c->optlen != sizeof(int)) { /* getsockopt(level, optname, buflen) returns bytes */
        ss_out_str(o, ", ");
        ss_out_u64(o, c->optlen);
    }
    ss_out_char(o, ')');
}

static void value_getsockopt(struct ss_out *o, const struct ss_call *c)
{
    int value;
    if (ss_call_int_option(c, &value)) {
        ss_out_i64(o, value);
        const char *name = c->level == SOL_SOCKET && c->optname == SO_ERROR && value != 0
                               ? ss_errno_name(value)
                               : NULL;
        if (name != NULL) {
            ss_out_str(o, " (");
            ss_out_str(o, name);
            ss_out_char(o, ')');
        }
    } else {
        socklen_t got = c->optlen_out != NULL ? *c->optlen_out : 0;
        ss_out_pybytes_raw(o, c->optval_out, c->optval_out != NULL ? got : 0);
    }
}

static void text_setsockopt(struct ss_out *o, const struct ss_call *c)
{
    int value;
    ss_out_str(o, "setsockopt(");
    out_level_optname(o, c);
    ss_out_str(o, ", ");
    if (ss_call_int_option(c, &value)) {
        ss_out_i64(o, value);
    } else if (c->optval == NULL) {
        ss_out_str(o, "None, ");
        ss_out_u64(o, c->optlen);
    } else {
        ss_out_pybytes_raw(o, c->optval, c->optlen);
    }
    ss_out_char(o, ')');
}

static void text_setblocking(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, ss_call_blocking_flag(c) ? "setblocking(True)" : "setblocking(False)");
}

static void text_set_inheritable(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, ss_call_inheritable_flag(c) ? "set_inheritable(True)"
                                              : "set_inheritable(False)");
}

static void text_fcntl(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "fcntl(");
    ss_out_xlat(o, &ss_xlat_fcntl_cmd, c->cmd);
    if (c->cmd == F_SETFL) {
        ss_out_str(o, ", ");
        ss_out_flags(o, &ss_xlat_open_flags, (unsigned long)c->arg);
    } else if (ss_fcntl_arg_kind(c->cmd) == SS_FCNTL_INT_ARG) {
        ss_out_str(o, ", ");
        ss_out_i64(o, (int)c->arg);
    } else if (ss_fcntl_arg_kind(c->cmd) == SS_FCNTL_PTR_ARG) {
        ss_out_str(o, ", ");
        ss_out_hex(o, (unsigned long)c->arg);
    }
    ss_out_char(o, ')');
}

static void value_fcntl(struct ss_out *o, const struct ss_call *c)
{
    if (c->cmd == F_GETFL)
        ss_out_flags(o, &ss_xlat_open_flags, (unsigned long)c->ret);
    else if (c->cmd == F_GETFD)
        ss_out_flags(o, &ss_xlat_fd_flags, (unsigned long)c->ret);
    else
        ss_out_i64(o, c->ret);
}

/* ioctls whose answer is an int they write through the argument. */
static int ioctl_returns_int(unsigned long request)
{
    return request == FIONREAD || request == SIOCOUTQ || request == SIOCATMARK;
}

static void text_ioctl(struct ss_out *o, const struct ss_call *c)
{
    ss_out_str(o, "ioctl(");
    ss_out_xlat(o, &ss_xlat_ioctl, (long)c->request);
    if (!ioctl_returns_int(c->request)) {
        ss_out_str(o, ", ");
        ss_out_hex(o, (unsigned long)c->arg);
    }
    ss_out_char(o, ')');
}

static void value_ioctl(struct ss_out *o, const struct ss_call *c)
{
    int value = (int)c->ret;
    ss_call_ioctl_int(c, &value);
    ss_out_i64(o, value);
}

/* ---- dispatch --------------------------------------------------------- */

/* What a line shows after the call, when it did not raise. */
enum text_result {
    RESULT_NONE,    /* " -> None": a method that returns nothing */
    RESULT_QUIET,   /* nothing: a statement (close(), setblocking()) or a
                     * call whose result is named before it (sock3 = socket()) */
    RESULT_COUNT,   /* " -> N" */
    RESULT_VALUE,   /* " -> " and what value() shows */
    RESULT_CODE,    /* connect_ex: " -> " value() even when it failed: no raise */
    RESULT_ADOPTED, /* fromfd: no call was made, nothing to show */
    RESULT_RESOLVED, /* a resolution: value() shows its result or its exception */
};

/* How a method's line is made: [named] [sockN.]call [result] [after]. The
 * result, or the exception the call raised, is written in one place
 * (out_result), as strace prints errors once. */
struct text_method {
    text_op_fn *named;  /* "sockN = " for what it made; only when it succeeded */
    int on_subject;     /* the method is called on c->fd: "sockN." */
    text_op_fn *call;   /* the method and its arguments */
    enum text_result result;
    text_op_fn *value;  /* RESULT_VALUE, RESULT_CODE */
    text_op_fn *after;  /* what the trace adds in brackets, or NULL */
};

#define M(op, named, subject, result, value, after) \
    [SS_OP_##op] = {named, subject, text_##op, result, value, after}
/* a wait (render_wait.c): its line names its own subject */
#define W(op, named, result, value) \
    [SS_OP_##op] = {named, 0, ss_text_wait_##op, result, value, NULL}

static const struct text_method text_methods[SS_OP_COUNT] = {
    M(socket, named_ret, 0, RESULT_QUIET, NULL, NULL),
    M(socketpair, named_pair, 0, RESULT_QUIET, NULL, NULL),
    M(fromfd, NULL, 0, RESULT_ADOPTED, NULL, NULL),
    M(dup, named_ret, 1, RESULT_QUIET, NULL, after_dup),
    M(close, NULL, 1, RESULT_QUIET, NULL, after_close),
    M(close_range, NULL, 0, RESULT_NONE, NULL, after_close_range),
    M(fork, NULL, 0, RESULT_COUNT, NULL, NULL),
    M(bind, NULL, 1, RESULT_NONE, NULL, NULL),
    M(listen, NULL, 1, RESULT_NONE, NULL, NULL),
    M(accept, NULL, 1, RESULT_VALUE, value_accept, after_accept),
    M(connect, NULL, 1, RESULT_NONE, NULL, NULL),
    M(connect_ex, NULL, 1, RESULT_CODE, value_connect_ex, NULL),
    M(shutdown, NULL, 1, RESULT_NONE, NULL, NULL),
    [SS_OP_getsockname] = {NULL, 1, text_name, RESULT_VALUE, value_name, NULL},
    [SS_OP_getpeername] = {NULL, 1, text_name, RESULT_VALUE, value_name, NULL},
    M(send, NULL, 1, RESULT_COUNT, NULL, NULL),
    M(sendto, NULL, 1, RESULT_COUNT, NULL, NULL),
    M(sendmsg, NULL, 1, RESULT_COUNT, NULL, NULL),
    M(sendmmsg, NULL, 1, RESULT_COUNT, NULL, NULL),
    M(sendfile, NULL, 1, RESULT_COUNT, NULL, after_sendfile),
    M(sendall, NULL, 1, RESULT_NONE, NULL, NULL),
    M(recv, NULL, 1, RESULT_VALUE, value_recv, NULL),
    M(recvfrom, NULL, 1, RESULT_VALUE, value_recvfrom, NULL),
    M(recvmsg, NULL, 1, RESULT_VALUE, value_recvmsg, NULL),
    M(recvmmsg, NULL, 1, RESULT_VALUE, value_recvmmsg, NULL),
    M(getsockopt, NULL, 1, RESULT_VALUE, value_getsockopt, NULL),
    M(setsockopt, NULL, 1, RESULT_NONE, NULL, NULL),
    M(setblocking, NULL, 1, RESULT_QUIET, NULL, NULL),
    M(set_inheritable, NULL, 1, RESULT_QUIET, NULL, NULL),
    M(fcntl, NULL, 1, RESULT_VALUE, value_fcntl, NULL),
    M(ioctl, NULL, 1, RESULT_VALUE, value_ioctl, NULL),
    W(select, NULL, RESULT_VALUE, ss_value_wait_select),
    W(poll, NULL, RESULT_VALUE, ss_value_wait_poll),
    W(epoll, ss_named_wait_epoll, RESULT_QUIET, NULL),
    W(epoll_register, NULL, RESULT_NONE, NULL),
    W(epoll_modify, NULL, RESULT_NONE, NULL),
    W(epoll_unregister, NULL, RESULT_NONE, NULL),
    W(epoll_poll, NULL, RESULT_VALUE, ss_value_wait_epoll_poll),
#define RESOLUTION(op) \
    [SS_OP_##op] = {NULL, 0, ss_text_resolution_call, RESULT_RESOLVED, ss_text_resolution_result, NULL}
    RESOLUTION(getaddrinfo),
    RESOLUTION(getnameinfo),
    RESOLUTION(gethostbyname),
    RESOLUTION(gethostbyaddr),
#undef RESOLUTION
};

#undef M
#undef W

/* The result of the call, or the exception it raised. */
static void out_result(struct ss_out *o, const struct ss_call *c, const struct text_method *m)
{
    if (m->result == RESULT_ADOPTED)
        return;
    if (m->result == RESULT_RESOLVED) {
        m->value(o, c);
        return;
    }
    if (c->failed && m->result != RESULT_CODE) {
        ss_text_raises(o, c->err);
        return;
    }
    switch (m->result) {
    case RESULT_NONE:
        ss_out_str(o, " -> None");
        break;
    case RESULT_COUNT:
        ss_out_str(o, " -> ");
        ss_out_i64(o, c->ret);
        break;
    case RESULT_VALUE:
    case RESULT_CODE:
        ss_out_str(o, " -> ");
        m->value(o, c);
        break;
    default:
        break;
    }
}

/* ": fault #1 short=1, fault #2 error=EINTR": the rules that hit a loop's
 * calls. */
static void out_fault_marks(struct ss_out *o, const struct ss_fault_marks *m)
{
    if (m == NULL || m->n == 0)
        return;
    for (int i = 0; i < m->n; i++) {
        ss_out_str(o, i == 0 ? ": fault #" : ", fault #");
        ss_out_i64(o, m->rule[i]);
        ss_out_char(o, ' ');
        ss_out_str(o, m->action[i] != NULL ? m->action[i] : "?");
    }
    if (m->more)
        ss_out_str(o, ", ...");
}

/* What a line says of the loop its call belongs to. */
static void out_loop_note(struct ss_out *o, const struct ss_call *c)
{
    if (c->loop_calls != 0) {
        int receiving = c->op == SS_OP_recv;
        ss_out_str(o, receiving ? " [buffer filled by " : " [");
        ss_out_u64(o, c->loop_calls);
        ss_out_str(o, receiving ? " recvs" : " sends");
        if (c->loop_faults != 0) {
            ss_out_str(o, ", ");
            ss_out_u64(o, c->loop_faults);
            ss_out_str(o, " faulted");
            out_fault_marks(o, c->loop_marks);
        }
        if (c->op == SS_OP_sendall && c->failed) { /* how far it got */
            ss_out_str(o, ", ");
            ss_out_u64(o, c->loop_done);
            ss_out_str(o, " bytes sent");
        }
        ss_out_char(o, ']');
    } else if (c->loop != 0) {
        ss_out_str(o, " [loop ");
        ss_out_u64(o, c->loop);
        ss_out_char(o, ']');
    }
}

void ss_text_call(struct ss_out *o, const struct ss_call *c)
{
    const struct text_method *m = &text_methods[c->op];
    ss_text_prefix(o, c->t_end_ns);
    if (m->named != NULL && !c->failed)
        m->named(o, c);
    if (m->on_subject)
        out_subject(o, c);
    m->call(o, c);
    out_result(o, c, m);
    if (m->after != NULL)
        m->after(o, c);
    out_loop_note(o, c);
    if (c->fault != 0) {
        ss_out_str(o, " [fault #");
        ss_out_i64(o, c->fault);
        ss_out_char(o, ' ');
        if (c->fault_limit != 0 && !c->fault_held) {
            ss_out_str(o, "cut to ");
            ss_out_u64(o, c->fault_limit);
            ss_out_str(o, c->fault_limit == 1 ? " byte before " : " bytes before ");
        }
        ss_out_str(o, c->fault_action);
        if (c->fault_held && c->fault_limit != 0) { /* a latency let only these through */
            ss_out_str(o, ", ");
            ss_out_u64(o, c->fault_limit);
            ss_out_str(o, c->fault_limit == 1 ? " byte due" : " bytes due");
        }
        if (c->fault_flipped >= 0) {
            ss_out_str(o, ", ");
            ss_out_i64(o, c->fault_flipped);
            ss_out_str(o, " flipped");
        }
        ss_out_char(o, ']');
    }
    ss_out_char(o, '\n');
}
