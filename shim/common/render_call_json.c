/* sockshim: one JSON object a line, for machines (docs/trace-format.md).
 *
 * {"v": 1, "type": "call", "ts": "...", "pid": 4242, "tid": 4242,
 *  "op": "connect", "call": "connect", "fd": 3, "sock": {...},
 *  "args": {"addr": {...}}, "error": {"errno": 111, ...}, "dur_ns": 5120}
 */
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <unistd.h>

#include "render_call.h"
#include "xlat.h"

typedef void json_args_fn(struct ss_out *o, const struct ss_call *c);

/* ---- values ----------------------------------------------------------- */

/* A constant by name when it has one, else by number. */
void ss_json_xlat(struct ss_out *o, const struct ss_xlat *t, long v)
{
    const char *name = t != NULL ? ss_xlat_name(t, v) : NULL;
    if (name != NULL)
        ss_out_json_name(o, name);
    else
        ss_out_i64(o, v);
}

void ss_json_family_type_proto(struct ss_out *o, int family, int type, int proto)
{
    SS_JSON_KEY(o, "family");
    ss_json_xlat(o, &ss_xlat_af, family);
    SS_JSON_KEY(o, "type");
    ss_json_xlat(o, &ss_xlat_socktype, type);
    SS_JSON_KEY(o, "proto");
    ss_out_i64(o, proto);
}

void ss_json_flags(struct ss_out *o, const struct ss_xlat *t, unsigned long v)
{
    char buf[256];
    struct ss_out tmp;
    ss_out_init(&tmp, buf, sizeof buf);
    ss_out_flags(&tmp, t, v);
    ss_out_json_str(o, buf, tmp.len < sizeof buf ? tmp.len : sizeof buf);
}

static void json_socktype(struct ss_out *o, int type)
{
    char buf[128];
    struct ss_out tmp;
    ss_out_init(&tmp, buf, sizeof buf);
    ss_out_socktype(&tmp, type);
    ss_out_json_str(o, buf, tmp.len < sizeof buf ? tmp.len : sizeof buf);
}

static void ss_json_bool(struct ss_out *o, int v)
{
    ss_out_str(o, v ? "true" : "false");
}

static void json_addr_field(struct ss_out *o, const char *name, const struct sockaddr *sa,
                            socklen_t len)
{
    ss_json_key(o, name);
    ss_out_json_addr(o, sa, len);
}

static const struct {
    unsigned bit;
    const char *name;
} state_names[] = {
    {SS_ST_BOUND, "bound"},         {SS_ST_LISTENING, "listening"},
    {SS_ST_CONNECTING, "connecting"}, {SS_ST_CONNECTED, "connected"},
    {SS_ST_SHUT_RD, "shut_rd"},     {SS_ST_SHUT_WR, "shut_wr"},
    {SS_ST_CLOSED, "closed"},       {SS_ST_ADOPTED, "adopted"},
    {SS_ST_RESET, "reset"},
};

static void json_sock_fields(struct ss_out *o, const struct ss_sockinfo *s);

/* A socket's object is the same on most of its calls: each thread keeps
 * the last one it wrote, keyed by the object's id and version. */
static __thread struct {
    int busy; /* being filled: a signal handler's line writes its own */
    pid_t pid;
    uint64_t id;
    uint32_t version;
    size_t len;
    char text[768];
} sock_cache;

void ss_json_sock(struct ss_out *o, const struct ss_sockinfo *s)
{
    if (s->id == 0) {
        ss_out_str(o, "null");
        return;
    }
    if (sock_cache.busy) {
        json_sock_fields(o, s);
        return;
    }
    sock_cache.busy = 1;
    if (sock_cache.id != s->id || sock_cache.version != s->version ||
        sock_cache.pid != ss_render_pid()) {
        struct ss_out tmp;
        ss_out_init(&tmp, sock_cache.text, sizeof sock_cache.text);
        json_sock_fields(&tmp, s);
        if (ss_out_overflowed(&tmp)) { /* too long to keep: written as it is */
            sock_cache.id = 0;
            sock_cache.busy = 0;
            json_sock_fields(o, s);
            return;
        }
        sock_cache.len = tmp.len;
        sock_cache.id = s->id;
        sock_cache.version = s->version;
        sock_cache.pid = ss_render_pid();
    }
    ss_out_mem(o, sock_cache.text, sock_cache.len);
    sock_cache.busy = 0;
    o->json_first = 0;
}

static void json_sock_fields(struct ss_out *o, const struct ss_sockinfo *s)
{
    ss_json_open(o);
    SS_JSON_KEY(o, "id");
    ss_out_u64(o, s->id);
    ss_json_family_type_proto(o, s->family, s->type, s->protocol);
    json_addr_field(o, "laddr", (const struct sockaddr *)&s->laddr.sa, s->laddr.len);
    json_addr_field(o, "raddr", (const struct sockaddr *)&s->raddr.sa, s->raddr.len);
    SS_JSON_KEY(o, "state");
    ss_out_char(o, '[');
    int first = 1;
    for (size_t i = 0; i < sizeof state_names / sizeof state_names[0]; i++) {
        if (!(s->state & state_names[i].bit))
            continue;
        if (!first)
            ss_out_str(o, ", ");
        first = 0;
        ss_out_json_name(o, state_names[i].name);
    }
    ss_out_char(o, ']');
    SS_JSON_KEY(o, "blocking");
    ss_json_bool(o, !s->nonblocking);
    ss_json_close(o);
}

void ss_json_error(struct ss_out *o, int err)
{
    const char *name = ss_errno_name(err);
    const char *msg = ss_errno_message(err);
    ss_json_open(o);
    SS_JSON_KEY(o, "errno");
    ss_out_i64(o, err);
    SS_JSON_KEY(o, "name");
    if (name != NULL)
        ss_out_json_name(o, name);
    else
        ss_out_str(o, "null");
    SS_JSON_KEY(o, "message");
    ss_out_json_cstr(o, msg != NULL ? msg : "Unknown error");
    ss_json_close(o);
}

static void json_sent(struct ss_out *o, const struct ss_call *c)
{
    struct ss_bytes b;
    ss_call_sent(c, &b);
    SS_JSON_KEY(o, "data");
    ss_out_json_data(o, &b);
}

static void json_msg_flags(struct ss_out *o, const char *name, int flags)
{
    ss_json_key(o, name);
    ss_json_flags(o, &ss_xlat_msg_flags, (unsigned)flags);
}

/* ---- args, per method --------------------------------------------------- */

static void args_socket(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "family");
    ss_json_xlat(o, &ss_xlat_af, c->domain);
    SS_JSON_KEY(o, "type");
    json_socktype(o, c->type);
    SS_JSON_KEY(o, "proto");
    ss_out_i64(o, c->protocol);
}

static void args_addr(struct ss_out *o, const struct ss_call *c)
{
    json_addr_field(o, "addr", c->addr, c->addrlen);
}

static void args_listen(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "backlog");
    ss_out_i64(o, c->backlog);
}

static void args_accept(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "flags");
    ss_json_flags(o, &ss_xlat_sock_flags, (unsigned)c->flags);
}

static void args_shutdown(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "how");
    ss_json_xlat(o, &ss_xlat_shut, c->how);
}

static void args_send(struct ss_out *o, const struct ss_call *c)
{
    json_sent(o, c);
    json_msg_flags(o, "flags", c->flags);
    if (c->op == SS_OP_sendto)
        args_addr(o, c);
    if (c->op == SS_OP_sendmsg && c->msg != NULL) {
        json_addr_field(o, "addr", c->msg->msg_name, c->msg->msg_namelen);
        SS_JSON_KEY(o, "iovcnt");
        ss_out_u64(o, c->msg->msg_iovlen);
        SS_JSON_KEY(o, "controllen");
        ss_out_u64(o, c->msg->msg_controllen);
    } else if (c->iov != NULL) {
        SS_JSON_KEY(o, "iovcnt");
        ss_out_i64(o, c->iovcnt);
    }
}

static size_t bufsize(const struct ss_call *c)
{
    const struct iovec *iov = c->msg != NULL ? c->msg->msg_iov : c->iov;
    int n = c->msg != NULL ? (int)c->msg->msg_iovlen : c->iovcnt;
    size_t total = iov == NULL ? c->len : 0;
    for (int i = 0; iov != NULL && i < n; i++)
        total += iov[i].iov_len;
    return total;
}

static void args_recv(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "bufsize");
    ss_out_u64(o, c->fn == SS_FN_splice ? c->count : bufsize(c));
    json_msg_flags(o, "flags", c->flags);
    if (c->op == SS_OP_recvmsg) {
        SS_JSON_KEY(o, "ancbufsize");
        ss_out_u64(o, c->len);
    }
    if (c->fn == SS_FN_splice) {
        SS_JSON_KEY(o, "into_fd");
        ss_out_i64(o, c->other_fd);
    }
    if (c->msg != NULL) {
        SS_JSON_KEY(o, "iovcnt");
        ss_out_u64(o, c->msg->msg_iovlen);
    } else if (c->iov != NULL) {
        SS_JSON_KEY(o, "iovcnt");
        ss_out_i64(o, c->iovcnt);
    }
}

static void args_mmsg(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "vlen");
    ss_out_u64(o, c->vlen);
    json_msg_flags(o, "flags", c->flags);
    if (c->op == SS_OP_sendmmsg && c->mmsg != NULL) {
        SS_JSON_KEY(o, "messages");
        ss_out_char(o, '[');
        for (unsigned i = 0; i < c->vlen; i++) {
            const struct msghdr *m = &c->mmsg[i].msg_hdr;
            size_t total = 0;
            for (size_t k = 0; m->msg_iov != NULL && k < m->msg_iovlen; k++)
                total += m->msg_iov[k].iov_len;
            struct ss_bytes b;
            ss_bytes_iov(&b, m->msg_iov, (int)m->msg_iovlen, total);
            if (i > 0)
                ss_out_str(o, ", ");
            ss_out_json_data(o, &b);
        }
        ss_out_char(o, ']');
    }
}

static void args_sendfile(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "in_fd");
    ss_out_i64(o, c->other_fd);
    SS_JSON_KEY(o, "offset");
    if (c->offp != NULL || c->off_in != NULL)
        ss_out_i64(o, c->offset);
    else
        ss_out_str(o, "null");
    SS_JSON_KEY(o, "count");
    ss_out_u64(o, c->count);
}

static void json_option_value(struct ss_out *o, const void *p, socklen_t len)
{
    int value;
    if (p != NULL && len == sizeof(int)) {
        memcpy(&value, p, sizeof value);
        SS_JSON_KEY(o, "value");
        ss_out_i64(o, value);
    } else {
        struct ss_bytes b;
        ss_bytes_buf(&b, p, p != NULL ? len : 0);
        SS_JSON_KEY(o, "bytes");
        ss_out_json_data(o, &b);
    }
}

static void args_sockopt(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "level");
    ss_json_xlat(o, &ss_xlat_sol, c->level);
    SS_JSON_KEY(o, "optname");
    ss_json_xlat(o, ss_xlat_optnames(c->level), c->optname);
    SS_JSON_KEY(o, "optlen");
    ss_out_u64(o, c->optlen);
    if (c->op == SS_OP_setsockopt)
        json_option_value(o, c->optval, c->optlen);
}

static void args_dup(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_dup2 || c->fn == SS_FN_dup3) {
        SS_JSON_KEY(o, "newfd");
        ss_out_i64(o, c->newfd);
    }
    if (c->fn == SS_FN_dup3) {
        char buf[64];
        struct ss_out tmp;
        ss_out_init(&tmp, buf, sizeof buf);
        ss_out_dup3_flags(&tmp, c->flags);
        SS_JSON_KEY(o, "flags");
        ss_out_json_str(o, buf, tmp.len < sizeof buf ? tmp.len : sizeof buf);
    }
    if (c->fn == SS_FN_fcntl || c->fn == SS_FN___fcntl || c->fn == SS_FN_fcntl64) {
        SS_JSON_KEY(o, "cmd");
        ss_json_xlat(o, &ss_xlat_fcntl_cmd, c->cmd);
        SS_JSON_KEY(o, "arg");
        ss_out_i64(o, c->arg);
    }
}

static void args_close(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_dup2 || c->fn == SS_FN_dup3) {
        SS_JSON_KEY(o, "replaced_by");
        ss_out_i64(o, c->other_fd);
    }
}

static void args_close_range(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "first");
    ss_out_u64(o, c->first);
    SS_JSON_KEY(o, "last");
    ss_out_u64(o, c->last);
    SS_JSON_KEY(o, "flags");
    ss_json_flags(o, &ss_xlat_close_range_flags, (unsigned)c->flags);
}

static void args_setblocking(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "flag");
    ss_json_bool(o, ss_call_blocking_flag(c));
}

static void args_set_inheritable(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "flag");
    ss_json_bool(o, ss_call_inheritable_flag(c));
}

static void args_fcntl(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "cmd");
    ss_json_xlat(o, &ss_xlat_fcntl_cmd, c->cmd);
    SS_JSON_KEY(o, "arg");
    ss_out_i64(o, c->arg);
}

static void args_ioctl(struct ss_out *o, const struct ss_call *c)
{
    SS_JSON_KEY(o, "request");
    ss_json_xlat(o, &ss_xlat_ioctl, (long)c->request);
}

static json_args_fn *const json_args[SS_OP_COUNT] = {
    [SS_OP_getaddrinfo] = ss_json_resolution_args,
    [SS_OP_getnameinfo] = ss_json_resolution_args,
    [SS_OP_gethostbyname] = ss_json_resolution_args,
    [SS_OP_gethostbyaddr] = ss_json_resolution_args,
    [SS_OP_socket] = args_socket,
    [SS_OP_socketpair] = args_socket,
    [SS_OP_dup] = args_dup,
    [SS_OP_close] = args_close,
    [SS_OP_close_range] = args_close_range,
    [SS_OP_bind] = args_addr,
    [SS_OP_listen] = args_listen,
    [SS_OP_accept] = args_accept,
    [SS_OP_connect] = args_addr,
    [SS_OP_connect_ex] = args_addr,
    [SS_OP_shutdown] = args_shutdown,
    [SS_OP_send] = args_send,
    [SS_OP_sendto] = args_send,
    [SS_OP_sendmsg] = args_send,
    [SS_OP_sendmmsg] = args_mmsg,
    [SS_OP_sendfile] = args_sendfile,
    [SS_OP_sendall] = args_send,
    [SS_OP_recv] = args_recv,
    [SS_OP_recvfrom] = args_recv,
    [SS_OP_recvmsg] = args_recv,
    [SS_OP_recvmmsg] = args_mmsg,
    [SS_OP_getsockopt] = args_sockopt,
    [SS_OP_setsockopt] = args_sockopt,
    [SS_OP_setblocking] = args_setblocking,
    [SS_OP_set_inheritable] = args_set_inheritable,
    [SS_OP_fcntl] = args_fcntl,
    [SS_OP_ioctl] = args_ioctl,
    [SS_OP_select] = ss_json_wait_args,
    [SS_OP_poll] = ss_json_wait_args,
    [SS_OP_epoll] = ss_json_wait_args,
    [SS_OP_epoll_register] = ss_json_wait_args,
    [SS_OP_epoll_modify] = ss_json_wait_args,
    [SS_OP_epoll_unregister] = ss_json_wait_args,
    [SS_OP_epoll_poll] = ss_json_wait_args,
};

/* ---- results ---------------------------------------------------------- */

static void out_received(struct ss_out *o, const struct ss_call *c)
{
    struct ss_bytes b;
    ss_call_received(c, &b);
    SS_JSON_KEY(o, "data");
    ss_out_json_data(o, &b);
}

static void out_int_list(struct ss_out *o, const int *v, int n)
{
    ss_out_char(o, '[');
    for (int i = 0; i < n; i++) {
        if (i > 0)
            ss_out_str(o, ", ");
        ss_out_i64(o, v[i]);
    }
    ss_out_char(o, ']');
}

/* What a successful call handed back besides its return value. */
static void json_out(struct ss_out *o, const struct ss_call *c)
{
    int value;
    if (ss_op_in(c->op, SS_OPS_WAITS)) {
        ss_json_wait_out(o, c);
        return;
    }
    switch (c->op) {
    case SS_OP_socketpair:
        if (c->sv != NULL)
            out_int_list(o, c->sv, 2);
        return;
    case SS_OP_accept:
        ss_json_open(o);
    SS_JSON_KEY(o, "fd");
        ss_out_i64(o, c->ret);
        if (c->addr_out != NULL && c->addrlen_out != NULL)
            json_addr_field(o, "addr", c->addr_out, *c->addrlen_out);
        else
            json_addr_field(o, "addr", (const struct sockaddr *)&c->new_sock->raddr.sa,
                            c->new_sock->raddr.len);
        break;
    case SS_OP_getsockname:
    case SS_OP_getpeername:
        ss_json_open(o);
    SS_JSON_KEY(o, "fd");
        ss_out_i64(o, c->fd);
        json_addr_field(o, "addr", c->addr_out, c->addrlen_out != NULL ? *c->addrlen_out : 0);
        break;
    case SS_OP_recv:
    case SS_OP_recvfrom:
    case SS_OP_recvmsg:
        ss_json_open(o);
    SS_JSON_KEY(o, "fd");
        ss_out_i64(o, c->fd);
        if (c->fn != SS_FN_splice)
            out_received(o, c);
        if (c->op == SS_OP_recvfrom)
            json_addr_field(o, "addr", c->addr_out,
                            c->addrlen_out != NULL ? *c->addrlen_out : 0);
        if (c->op == SS_OP_recvmsg && c->msg != NULL) {
            json_addr_field(o, "addr", c->msg->msg_name, c->msg->msg_namelen);
            json_msg_flags(o, "msg_flags", c->msg->msg_flags);
            SS_JSON_KEY(o, "controllen");
            ss_out_u64(o, c->msg->msg_controllen);
        }
        break;
    case SS_OP_recvmmsg:
        ss_json_open(o);
        SS_JSON_KEY(o, "messages");
        ss_out_char(o, '[');
        for (long i = 0; c->mmsg != NULL && i < c->ret; i++) {
            const struct msghdr *m = &c->mmsg[i].msg_hdr;
            struct ss_bytes b;
            ss_bytes_iov(&b, m->msg_iov, (int)m->msg_iovlen, c->mmsg[i].msg_len);
            if (i > 0)
                ss_out_str(o, ", ");
            ss_out_json_data(o, &b);
        }
        ss_out_char(o, ']');
        break;
    case SS_OP_getsockopt:
        ss_json_open(o);
    SS_JSON_KEY(o, "optlen");
        ss_out_u64(o, c->optlen_out != NULL ? *c->optlen_out : 0);
        if (ss_call_int_option(c, &value)) {
            SS_JSON_KEY(o, "value");
            ss_out_i64(o, value);
        } else {
            json_option_value(o, c->optval_out, c->optlen_out != NULL ? *c->optlen_out : 0);
        }
        break;
    case SS_OP_close_range:
        ss_json_open(o);
    SS_JSON_KEY(o, "closed");
        out_int_list(o, c->closed_fds, c->n_closed_fds < 8 ? c->n_closed_fds : 8);
        SS_JSON_KEY(o, "count");
        ss_out_i64(o, c->n_closed_fds);
        break;
    case SS_OP_ioctl:
        if ((c->request == FIONREAD || c->request == SIOCOUTQ) && ss_call_ioctl_int(c, &value)) {
            ss_json_open(o);
    SS_JSON_KEY(o, "value");
            ss_out_i64(o, value);
            break;
        }
        ss_out_str(o, "null");
        return;
    default:
        ss_out_str(o, "null");
        return;
    }
    ss_json_close(o);
}

/* The fd a record is about: the new socket for socket(), none for calls of
 * the process. */
static int record_fd(const struct ss_call *c)
{
    if (c->op == SS_OP_socket)
        return c->failed ? -1 : (int)c->ret;
    if (c->op == SS_OP_socketpair || c->op == SS_OP_fork || c->op == SS_OP_close_range ||
        ss_op_in(c->op, SS_OPS_RESOLVE))
        return -1;
    return c->fd;
}

void ss_json_head(struct ss_out *o, const char *type, uint64_t ns)
{
    ss_json_open(o);
    SS_JSON_KEY(o, "v");
    ss_out_u64(o, SOCKSHIM_JSON_SCHEMA);
    SS_JSON_KEY(o, "type");
    ss_out_json_name(o, type);
    SS_JSON_KEY(o, "ts");
    ss_out_char(o, '"');
    ss_out_iso8601(o, ns);
    ss_out_char(o, '"');
    SS_JSON_KEY(o, "pid");
    ss_out_i64(o, ss_render_pid());
    SS_JSON_KEY(o, "tid");
    ss_out_i64(o, ss_render_tid());
}

void ss_json_call(struct ss_out *o, const struct ss_call *c)
{
    ss_json_head(o, "call", c->t_end_ns);
    SS_JSON_KEY(o, "op");
    ss_out_json_name(o, ss_op_name(c->op));
    SS_JSON_KEY(o, "call");
    ss_out_json_name(o, c->op == SS_OP_fromfd ? ""
                        : ss_fn_name(c->via_syscall ? SS_FN_syscall : c->fn));
    SS_JSON_KEY(o, "fd");
    int fd = record_fd(c);
    if (fd >= 0)
        ss_out_i64(o, fd);
    else
        ss_out_str(o, "null");
    SS_JSON_KEY(o, "sock");
    ss_json_sock(o, c->op == SS_OP_socket ? c->new_sock : c->sock);
    SS_JSON_KEY(o, "args");
    ss_json_open(o);
    if (json_args[c->op] != NULL)
        json_args[c->op](o, c);
    ss_json_close(o);
    if (ss_op_in(c->op, SS_OPS_RESOLVE)) {
        ss_json_resolution_outcome(o, c);
    } else if (c->op != SS_OP_fromfd && c->failed) {
        SS_JSON_KEY(o, "error");
        ss_json_error(o, c->err);
    } else {
        SS_JSON_KEY(o, "ret");
        ss_out_i64(o, c->ret);
        SS_JSON_KEY(o, "out");
        json_out(o, c);
    }
    if (c->loop != 0) {
        SS_JSON_KEY(o, "loop");
        ss_out_u64(o, c->loop);
    }
    if (c->fault != 0) {
        SS_JSON_KEY(o, "fault");
        ss_json_open(o);
        SS_JSON_KEY(o, "rule");
        ss_out_i64(o, c->fault);
        SS_JSON_KEY(o, "action");
        ss_out_json_cstr(o, c->fault_action);
        SS_JSON_KEY(o, "text");
        ss_out_json_cstr(o, ss_render_rule_text(c));
        if (c->fault_limit != 0 && !c->fault_held) {
            SS_JSON_KEY(o, "cut_to");
            ss_out_u64(o, c->fault_limit);
        }
        if (c->fault_held) {
            SS_JSON_KEY(o, "held");
            ss_out_str(o, "true");
            if (c->fault_limit != 0) {
                SS_JSON_KEY(o, "due");
                ss_out_u64(o, c->fault_limit);
            }
        }
        if (c->fault_flipped >= 0) {
            SS_JSON_KEY(o, "flipped");
            ss_out_i64(o, c->fault_flipped);
        }
        ss_json_close(o);
    }
    SS_JSON_KEY(o, "dur_ns");
    ss_out_u64(o, c->t_end_ns >= c->t_start_ns ? c->t_end_ns - c->t_start_ns : 0);
    ss_json_close(o);
    ss_out_char(o, '\n');
}

/* ---- loops ---------------------------------------------------------------- */

void ss_json_loop(struct ss_out *o, const struct ss_call *c)
{
    ss_json_head(o, "loop", c->t_end_ns);
    SS_JSON_KEY(o, "op");
    ss_out_json_name(o, ss_op_name(c->op));
    SS_JSON_KEY(o, "loop");
    ss_out_u64(o, c->loop);
    SS_JSON_KEY(o, "calls");
    ss_out_u64(o, c->loop_calls);
    SS_JSON_KEY(o, "faults");
    ss_out_u64(o, c->loop_faults);
    SS_JSON_KEY(o, "fd");
    ss_out_i64(o, c->fd);
    SS_JSON_KEY(o, "sock");
    ss_json_sock(o, c->sock);
    SS_JSON_KEY(o, "args");
    ss_json_open(o);
    if (json_args[c->op] != NULL)
        json_args[c->op](o, c);
    ss_json_close(o);
    if (c->failed) {
        SS_JSON_KEY(o, "error");
        ss_json_error(o, c->err);
        SS_JSON_KEY(o, "sent");
        ss_out_u64(o, c->loop_done);
    } else {
        SS_JSON_KEY(o, "ret");
        if (c->op == SS_OP_sendall)
            ss_out_str(o, "null"); /* sendall() returns None */
        else
            ss_out_i64(o, c->ret);
        SS_JSON_KEY(o, "out");
        json_out(o, c);
    }
    SS_JSON_KEY(o, "dur_ns");
    ss_out_u64(o, c->t_end_ns >= c->t_start_ns ? c->t_end_ns - c->t_start_ns : 0);
    ss_json_close(o);
    ss_out_char(o, '\n');
}
