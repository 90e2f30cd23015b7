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

#include "fault.h"
#include "audit.h"
#include "ending.h"
#include "internal.h"
#include "place.h"
#include "render.h"
#include "xlat.h"

typedef void json_args_fn(struct ss_out *o, const struct ss_call *c);

/* ---- values ----------------------------------------------------------- */

/* Objects are written member by member: obj_open() starts one, key()
 * writes the separator (none before the first member) and the name. */
static void obj_open(struct ss_out *o)
{
    ss_out_char(o, '{');
    o->json_first = 1;
}

static void obj_close(struct ss_out *o)
{
    ss_out_char(o, '}');
    o->json_first = 0;
}

static void key(struct ss_out *o, const char *name)
{
    if (!o->json_first)
        ss_out_str(o, ", ");
    o->json_first = 0;
    ss_out_char(o, '"');
    ss_out_str(o, name);
    ss_out_str(o, "\": ");
}

/* key() for a name written in the source: the separator, the quoted name
 * and the colon are one literal whose length the compiler knows, so each
 * member name costs a couple of stores instead of strlen and memcpy
 * calls. A line has a dozen or more of them. */
#define KEY(o, name) key_literal((o), ", \"" name "\": ", sizeof(", \"" name "\": ") - 1)

static inline __attribute__((always_inline)) void key_literal(struct ss_out *o,
                                                              const char *sep_name, size_t n)
{
    if (o->json_first)
        ss_out_mem(o, sep_name + 2, n - 2);
    else
        ss_out_mem(o, sep_name, n);
    o->json_first = 0;
}

/* A constant by name when it has one, else by number. */
static void json_xlat(struct ss_out *o, const struct ss_xlat *t, long v)
{
    const char *name = t != NULL ? ss_xlat_name(t, v) : NULL;
    if (name != NULL)
        ss_out_json_name(o, name);
    else
        ss_out_i64(o, v);
}

static void json_flags(struct ss_out *o, const struct ss_xlat *t, unsigned long v)
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

static void json_bool(struct ss_out *o, int v)
{
    ss_out_str(o, v ? "true" : "false");
}

static void json_addr_field(struct ss_out *o, const char *name, const struct sockaddr *sa,
                            socklen_t len)
{
    key(o, name);
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

static void json_sock(struct ss_out *o, const struct ss_sockinfo *s)
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
        sock_cache.pid != ss_pid()) {
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
        sock_cache.pid = ss_pid();
    }
    ss_out_mem(o, sock_cache.text, sock_cache.len);
    sock_cache.busy = 0;
    o->json_first = 0;
}

static void json_sock_fields(struct ss_out *o, const struct ss_sockinfo *s)
{
    obj_open(o);
    KEY(o, "id");
    ss_out_u64(o, s->id);
    KEY(o, "family");
    json_xlat(o, &ss_xlat_af, s->family);
    KEY(o, "type");
    json_xlat(o, &ss_xlat_socktype, s->type);
    KEY(o, "proto");
    ss_out_i64(o, s->protocol);
    json_addr_field(o, "laddr", (const struct sockaddr *)&s->laddr.sa, s->laddr.len);
    json_addr_field(o, "raddr", (const struct sockaddr *)&s->raddr.sa, s->raddr.len);
    KEY(o, "state");
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
    KEY(o, "blocking");
    json_bool(o, !s->nonblocking);
    obj_close(o);
}

static void json_error(struct ss_out *o, int err)
{
    const char *name = ss_errno_name(err);
    const char *msg = ss_errno_message(err);
    obj_open(o);
    KEY(o, "errno");
    ss_out_i64(o, err);
    KEY(o, "name");
    if (name != NULL)
        ss_out_json_name(o, name);
    else
        ss_out_str(o, "null");
    KEY(o, "message");
    ss_out_json_cstr(o, msg != NULL ? msg : "Unknown error");
    obj_close(o);
}

static void json_sent(struct ss_out *o, const struct ss_call *c)
{
    struct ss_bytes b;
    ss_call_sent(c, &b);
    KEY(o, "data");
    ss_out_json_data(o, &b);
}

static void json_msg_flags(struct ss_out *o, const char *name, int flags)
{
    key(o, name);
    json_flags(o, &ss_xlat_msg_flags, (unsigned)flags);
}

/* ---- args, per method --------------------------------------------------- */

static void args_socket(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "family");
    json_xlat(o, &ss_xlat_af, c->domain);
    KEY(o, "type");
    json_socktype(o, c->type);
    KEY(o, "proto");
    ss_out_i64(o, c->protocol);
}

static void args_addr(struct ss_out *o, const struct ss_call *c)
{
    json_addr_field(o, "addr", c->addr, c->addrlen);
}

static void args_listen(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "backlog");
    ss_out_i64(o, c->backlog);
}

static void args_accept(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "flags");
    json_flags(o, &ss_xlat_sock_flags, (unsigned)c->flags);
}

static void args_shutdown(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "how");
    json_xlat(o, &ss_xlat_shut, c->how);
}

static void args_send(struct ss_out *o, const struct ss_call *c)
{
    json_sent(o, c);
    json_msg_flags(o, "flags", c->flags);
    if (c->op == SS_OP_sendto)
        args_addr(o, c);
    if (c->op == SS_OP_sendmsg && c->msg != NULL) {
        json_addr_field(o, "addr", c->msg->msg_name, c->msg->msg_namelen);
        KEY(o, "iovcnt");
        ss_out_u64(o, c->msg->msg_iovlen);
        KEY(o, "controllen");
        ss_out_u64(o, c->msg->msg_controllen);
    } else if (c->iov != NULL) {
        KEY(o, "iovcnt");
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
    KEY(o, "bufsize");
    ss_out_u64(o, c->fn == SS_FN_splice ? c->count : bufsize(c));
    json_msg_flags(o, "flags", c->flags);
    if (c->op == SS_OP_recvmsg) {
        KEY(o, "ancbufsize");
        ss_out_u64(o, c->len);
    }
    if (c->fn == SS_FN_splice) {
        KEY(o, "into_fd");
        ss_out_i64(o, c->other_fd);
    }
    if (c->msg != NULL) {
        KEY(o, "iovcnt");
        ss_out_u64(o, c->msg->msg_iovlen);
    } else if (c->iov != NULL) {
        KEY(o, "iovcnt");
        ss_out_i64(o, c->iovcnt);
    }
}

static void args_mmsg(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "vlen");
    ss_out_u64(o, c->vlen);
    json_msg_flags(o, "flags", c->flags);
    if (c->op == SS_OP_sendmmsg && c->mmsg != NULL) {
        KEY(o, "messages");
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
    KEY(o, "in_fd");
    ss_out_i64(o, c->other_fd);
    KEY(o, "offset");
    if (c->offp != NULL || c->off_in != NULL)
        ss_out_i64(o, c->offset);
    else
        ss_out_str(o, "null");
    KEY(o, "count");
    ss_out_u64(o, c->count);
}

static void json_option_value(struct ss_out *o, const void *p, socklen_t len)
{
    int value;
    if (p != NULL && len == sizeof(int)) {
        memcpy(&value, p, sizeof value);
        KEY(o, "value");
        ss_out_i64(o, value);
    } else {
        struct ss_bytes b;
        ss_bytes_buf(&b, p, p != NULL ? len : 0);
        KEY(o, "bytes");
        ss_out_json_data(o, &b);
    }
}

static void args_sockopt(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "level");
    json_xlat(o, &ss_xlat_sol, c->level);
    KEY(o, "optname");
    json_xlat(o, ss_xlat_optnames(c->level), c->optname);
    KEY(o, "optlen");
    ss_out_u64(o, c->optlen);
    if (c->op == SS_OP_setsockopt)
        json_option_value(o, c->optval, c->optlen);
}

static void args_dup(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_dup2 || c->fn == SS_FN_dup3) {
        KEY(o, "newfd");
        ss_out_i64(o, c->newfd);
    }
    if (c->fn == SS_FN_dup3) {
        char buf[64];
        struct ss_out tmp;
        ss_out_init(&tmp, buf, sizeof buf);
        ss_out_dup3_flags(&tmp, c->flags);
        KEY(o, "flags");
        ss_out_json_str(o, buf, tmp.len < sizeof buf ? tmp.len : sizeof buf);
    }
    if (c->fn == SS_FN_fcntl || c->fn == SS_FN___fcntl || c->fn == SS_FN_fcntl64) {
        KEY(o, "cmd");
        json_xlat(o, &ss_xlat_fcntl_cmd, c->cmd);
        KEY(o, "arg");
        ss_out_i64(o, c->arg);
    }
}

static void args_close(struct ss_out *o, const struct ss_call *c)
{
    if (c->fn == SS_FN_dup2 || c->fn == SS_FN_dup3) {
        KEY(o, "replaced_by");
        ss_out_i64(o, c->other_fd);
    }
}

static void args_close_range(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "first");
    ss_out_u64(o, c->first);
    KEY(o, "last");
    ss_out_u64(o, c->last);
    KEY(o, "flags");
    json_flags(o, &ss_xlat_close_range_flags, (unsigned)c->flags);
}

static void args_setblocking(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "flag");
    json_bool(o, ss_call_blocking_flag(c));
}

static void args_set_inheritable(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "flag");
    json_bool(o, ss_call_inheritable_flag(c));
}

static void args_fcntl(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "cmd");
    json_xlat(o, &ss_xlat_fcntl_cmd, c->cmd);
    KEY(o, "arg");
    ss_out_i64(o, c->arg);
}

static void args_ioctl(struct ss_out *o, const struct ss_call *c)
{
    KEY(o, "request");
    json_xlat(o, &ss_xlat_ioctl, (long)c->request);
}

static json_args_fn *const json_args[SS_OP_COUNT] = {
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
};

/* ---- results ---------------------------------------------------------- */

static void out_received(struct ss_out *o, const struct ss_call *c)
{
    struct ss_bytes b;
    ss_call_received(c, &b);
    KEY(o, "data");
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
    switch (c->op) {
    case SS_OP_socketpair:
        if (c->sv != NULL)
            out_int_list(o, c->sv, 2);
        return;
    case SS_OP_accept:
        obj_open(o);
    KEY(o, "fd");
        ss_out_i64(o, c->ret);
        if (c->addr_out != NULL && c->addrlen_out != NULL)
            json_addr_field(o, "addr", c->addr_out, *c->addrlen_out);
        else
            json_addr_field(o, "addr", (const struct sockaddr *)&c->new_sock->raddr.sa,
                            c->new_sock->raddr.len);
        break;
    case SS_OP_getsockname:
    case SS_OP_getpeername:
        obj_open(o);
    KEY(o, "fd");
        ss_out_i64(o, c->fd);
        json_addr_field(o, "addr", c->addr_out, c->addrlen_out != NULL ? *c->addrlen_out : 0);
        break;
    case SS_OP_recv:
    case SS_OP_recvfrom:
    case SS_OP_recvmsg:
        obj_open(o);
    KEY(o, "fd");
        ss_out_i64(o, c->fd);
        if (c->fn != SS_FN_splice)
            out_received(o, c);
        if (c->op == SS_OP_recvfrom)
            json_addr_field(o, "addr", c->addr_out,
                            c->addrlen_out != NULL ? *c->addrlen_out : 0);
        if (c->op == SS_OP_recvmsg && c->msg != NULL) {
            json_addr_field(o, "addr", c->msg->msg_name, c->msg->msg_namelen);
            json_msg_flags(o, "msg_flags", c->msg->msg_flags);
            KEY(o, "controllen");
            ss_out_u64(o, c->msg->msg_controllen);
        }
        break;
    case SS_OP_recvmmsg:
        obj_open(o);
        KEY(o, "messages");
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
        obj_open(o);
    KEY(o, "optlen");
        ss_out_u64(o, c->optlen_out != NULL ? *c->optlen_out : 0);
        if (ss_call_int_option(c, &value)) {
            KEY(o, "value");
            ss_out_i64(o, value);
        } else {
            json_option_value(o, c->optval_out, c->optlen_out != NULL ? *c->optlen_out : 0);
        }
        break;
    case SS_OP_close_range:
        obj_open(o);
    KEY(o, "closed");
        out_int_list(o, c->closed_fds, c->n_closed_fds < 8 ? c->n_closed_fds : 8);
        KEY(o, "count");
        ss_out_i64(o, c->n_closed_fds);
        break;
    case SS_OP_ioctl:
        if ((c->request == FIONREAD || c->request == SIOCOUTQ) && c->arg != 0) {
            memcpy(&value, (const void *)c->arg, sizeof value);
            obj_open(o);
    KEY(o, "value");
            ss_out_i64(o, value);
            break;
        }
        ss_out_str(o, "null");
        return;
    default:
        ss_out_str(o, "null");
        return;
    }
    obj_close(o);
}

/* The fd a record is about: the new socket for socket(), none for calls of
 * the process. */
static int record_fd(const struct ss_call *c)
{
    if (c->op == SS_OP_socket)
        return c->failed ? -1 : (int)c->ret;
    if (c->op == SS_OP_socketpair || c->op == SS_OP_fork || c->op == SS_OP_close_range)
        return -1;
    return c->fd;
}

static void json_head(struct ss_out *o, const char *type, uint64_t ns)
{
    obj_open(o);
    KEY(o, "v");
    ss_out_u64(o, SOCKSHIM_JSON_SCHEMA);
    KEY(o, "type");
    ss_out_json_name(o, type);
    KEY(o, "ts");
    ss_out_char(o, '"');
    ss_out_iso8601(o, ns);
    ss_out_char(o, '"');
    KEY(o, "pid");
    ss_out_i64(o, ss_pid());
    KEY(o, "tid");
    ss_out_i64(o, ss_tid());
}

void ss_json_call(struct ss_out *o, const struct ss_call *c)
{
    json_head(o, "call", c->t_end_ns);
    KEY(o, "op");
    ss_out_json_name(o, ss_op_name(c->op));
    KEY(o, "call");
    ss_out_json_name(o, c->op == SS_OP_fromfd ? ""
                        : ss_fn_name(c->via_syscall ? SS_FN_syscall : c->fn));
    KEY(o, "fd");
    int fd = record_fd(c);
    if (fd >= 0)
        ss_out_i64(o, fd);
    else
        ss_out_str(o, "null");
    KEY(o, "sock");
    json_sock(o, c->op == SS_OP_socket ? c->new_sock : c->sock);
    KEY(o, "args");
    obj_open(o);
    if (json_args[c->op] != NULL)
        json_args[c->op](o, c);
    obj_close(o);
    if (c->op != SS_OP_fromfd && c->failed) {
        KEY(o, "error");
        json_error(o, c->err);
    } else {
        KEY(o, "ret");
        ss_out_i64(o, c->ret);
        KEY(o, "out");
        json_out(o, c);
    }
    if (c->loop != 0) {
        KEY(o, "loop");
        ss_out_u64(o, c->loop);
    }
    if (c->fault != 0) {
        KEY(o, "fault");
        obj_open(o);
        KEY(o, "rule");
        ss_out_i64(o, c->fault);
        KEY(o, "action");
        ss_out_json_cstr(o, c->fault_action);
        KEY(o, "text");
        ss_out_json_cstr(o, ss_fault_rule_text(c->fault - 1));
        if (c->fault_limit != 0) {
            KEY(o, "cut_to");
            ss_out_u64(o, c->fault_limit);
        }
        if (c->fault_flipped >= 0) {
            KEY(o, "flipped");
            ss_out_i64(o, c->fault_flipped);
        }
        obj_close(o);
    }
    KEY(o, "dur_ns");
    ss_out_u64(o, c->t_end_ns >= c->t_start_ns ? c->t_end_ns - c->t_start_ns : 0);
    obj_close(o);
    ss_out_char(o, '\n');
}

void ss_json_start(struct ss_out *o, uint64_t now_ns)
{
    json_head(o, "start", now_ns);
    KEY(o, "ppid");
    ss_out_i64(o, getppid());
    ss_out_json_text_member(o, "exe", program_invocation_name, strlen(program_invocation_name));
    KEY(o, "version");
    ss_out_json_cstr(o, SOCKSHIM_VERSION);
    KEY(o, "strsize");
    ss_out_u64(o, ss_config.strsize);
    if (ss_fault_enabled()) {
        KEY(o, "seed");
        ss_out_u64(o, ss_fault_seed());
        KEY(o, "faults");
        ss_out_char(o, '[');
        for (int i = 0; i < ss_fault_rule_count(); i++) {
            if (i > 0)
                ss_out_str(o, ", ");
            ss_out_json_cstr(o, ss_fault_rule_text(i));
        }
        ss_out_char(o, ']');
    }
    obj_close(o);
    ss_out_char(o, '\n');
}

/* ---- loops, findings, the summary --------------------------------------- */

void ss_json_loop(struct ss_out *o, const struct ss_call *c)
{
    json_head(o, "loop", c->t_end_ns);
    KEY(o, "op");
    ss_out_json_name(o, ss_op_name(c->op));
    KEY(o, "loop");
    ss_out_u64(o, c->loop);
    KEY(o, "calls");
    ss_out_u64(o, c->loop_calls);
    KEY(o, "faults");
    ss_out_u64(o, c->loop_faults);
    KEY(o, "fd");
    ss_out_i64(o, c->fd);
    KEY(o, "sock");
    json_sock(o, c->sock);
    KEY(o, "args");
    obj_open(o);
    if (json_args[c->op] != NULL)
        json_args[c->op](o, c);
    obj_close(o);
    if (c->failed) {
        KEY(o, "error");
        json_error(o, c->err);
        KEY(o, "sent");
        ss_out_u64(o, c->loop_done);
    } else {
        KEY(o, "ret");
        if (c->op == SS_OP_sendall)
            ss_out_str(o, "null"); /* sendall() returns None */
        else
            ss_out_i64(o, c->ret);
        KEY(o, "out");
        json_out(o, c);
    }
    KEY(o, "dur_ns");
    ss_out_u64(o, c->t_end_ns >= c->t_start_ns ? c->t_end_ns - c->t_start_ns : 0);
    obj_close(o);
    ss_out_char(o, '\n');
}

static void json_hex_string(struct ss_out *o, uint64_t v)
{
    ss_out_char(o, '"');
    ss_out_hex(o, v);
    ss_out_char(o, '"');
}

/* "name": "text" (with its "name_hex" twin when not UTF-8), or null when
 * unknown (NULL or empty). */
static void json_text_member_or_null(struct ss_out *o, const char *name, const char *s)
{
    if (s != NULL && s[0] != '\0') {
        ss_out_json_text_member(o, name, s, strlen(s));
    } else {
        key(o, name);
        ss_out_str(o, "null");
    }
}

/* {"address": "0x...", "module": "/path", "offset": "0x1269",
 *  "symbol": "main" or null, "function": "main", "file": "/src/prog.c",
 *  "line": 31, "text": "main (prog.c:31)"}; unknown parts null. A
 * Python location has no address, module, offset or symbol. */
static void json_where(struct ss_out *o, uintptr_t addr)
{
    char buf[512];
    struct ss_out tmp;
    struct ss_where w;
    struct ss_place_ref p = {"", "", 0};
    ss_out_init(&tmp, buf, sizeof buf);
    ss_out_where(&tmp, addr);
    int python = ss_python_place(addr, &p);
    int known = !python && ss_where(addr, &w) == 0;
    if (known)
        ss_where_place(addr, &w, &p); /* answered already: ss_out_where asked */
    obj_open(o);
    KEY(o, "address");
    if (python)
        ss_out_str(o, "null");
    else
        json_hex_string(o, addr);
    json_text_member_or_null(o, "module", known ? w.module : NULL);
    KEY(o, "offset");
    if (known)
        json_hex_string(o, w.module_offset);
    else
        ss_out_str(o, "null");
    json_text_member_or_null(o, "symbol", known ? w.symbol : NULL);
    json_text_member_or_null(o, "function", p.function);
    json_text_member_or_null(o, "file", p.line > 0 ? p.file : NULL);
    KEY(o, "line");
    if (p.line > 0)
        ss_out_i64(o, p.line);
    else
        ss_out_str(o, "null");
    KEY(o, "text");
    ss_out_json_str(o, buf, tmp.len < sizeof buf ? tmp.len : sizeof buf);
    obj_close(o);
}

static void json_finding_fields(struct ss_out *o, const struct ss_finding_rec *f)
{
    KEY(o, "code");
    ss_out_json_name(o, ss_finding_code(f->code));
    KEY(o, "message");
    ss_out_json_cstr(o, ss_finding_text(f->code));
    KEY(o, "fd");
    ss_out_i64(o, f->fd);
    KEY(o, "sock");
    json_sock(o, &f->sock);
    KEY(o, "where");
    json_where(o, f->where);
    if (f->code == SS_FIND_lost_bytes) {
        KEY(o, "bytes");
        ss_out_u64(o, atomic_load_explicit(&f->amount, memory_order_relaxed));
    }
}

void ss_json_finding(struct ss_out *o, int index)
{
    const struct ss_finding_rec *f = ss_audit_finding(index);
    json_head(o, "finding", f->t_ns);
    json_finding_fields(o, f);
    obj_close(o);
    ss_out_char(o, '\n');
}

void ss_json_note(struct ss_out *o, const struct ss_call *c)
{
    int skipped = c->fault_note_kind == SS_NOTE_SHORT_SKIPPED;
    json_head(o, "note", c->t_end_ns);
    KEY(o, "rule");
    ss_out_i64(o, c->fault_note);
    KEY(o, "text");
    ss_out_json_cstr(o, ss_fault_rule_text(c->fault_note - 1));
    KEY(o, "kind");
    ss_out_json_name(o, skipped ? "short-skipped" : "misfit");
    KEY(o, "reason");
    ss_out_json_name(o, skipped ? SS_NOTE_SHORT_SKIPPED_REASON : c->fault_note_reason);
    KEY(o, "applied");
    ss_out_str(o, skipped || ss_fault_strict() ? "false" : "true");
    KEY(o, "fd");
    ss_out_i64(o, c->fd);
    KEY(o, "sock");
    json_sock(o, c->sock);
    obj_close(o);
    ss_out_char(o, '\n');
}

static void json_methods(struct ss_out *o)
{
    ss_out_char(o, '[');
    int first = 1;
    for (int op = 0; op < SS_OP_COUNT; op++) {
        struct ss_method_stats m;
        ss_audit_method_stats((enum ss_op)op, &m);
        if (m.calls == 0)
            continue;
        ss_out_str(o, first ? "" : ", ");
        first = 0;
        obj_open(o);
        KEY(o, "op");
        ss_out_json_name(o, ss_op_name((enum ss_op)op));
        KEY(o, "calls");
        ss_out_u64(o, m.calls);
        KEY(o, "errors");
        ss_out_u64(o, m.errors);
        KEY(o, "faults");
        ss_out_u64(o, m.faults);
        KEY(o, "bytes");
        ss_out_u64(o, m.bytes);
        KEY(o, "time_ns");
        ss_out_u64(o, m.time_ns);
        obj_close(o);
    }
    ss_out_char(o, ']');
}

static void json_socket(struct ss_out *o, const struct ss_socket_rec *r)
{
    obj_open(o);
    KEY(o, "fd");
    ss_out_i64(o, r->fd);
    KEY(o, "sock");
    json_sock(o, &r->info);
    KEY(o, "bytes_sent");
    ss_out_u64(o, r->info.bytes_sent);
    KEY(o, "bytes_received");
    ss_out_u64(o, r->info.bytes_received);
    KEY(o, "created_by");
    ss_out_json_name(o, r->created_by < SS_FN_COUNT ? ss_fn_name(r->created_by) : "");
    KEY(o, "created");
    ss_out_char(o, '"');
    ss_out_iso8601(o, r->created_ns);
    ss_out_char(o, '"');
    KEY(o, "closed");
    if (r->closed_ns != 0) {
        ss_out_char(o, '"');
        ss_out_iso8601(o, r->closed_ns);
        ss_out_char(o, '"');
    } else {
        ss_out_str(o, "null");
    }
    KEY(o, "at_end");
    ss_out_json_name(o, ss_row_end_json(r->end));
    KEY(o, "where");
    json_where(o, r->created_caller);
    KEY(o, "options");
    ss_out_char(o, '[');
    for (int i = 0; i < r->n_opts; i++) {
        ss_out_str(o, i == 0 ? "" : ", ");
        obj_open(o);
        KEY(o, "level");
        json_xlat(o, &ss_xlat_sol, r->opts[i][0]);
        KEY(o, "optname");
        json_xlat(o, ss_xlat_optnames(r->opts[i][0]), r->opts[i][1]);
        KEY(o, "value");
        ss_out_i64(o, r->opts[i][2]);
        obj_close(o);
    }
    ss_out_char(o, ']');
    obj_close(o);
}

/* {"by": "exit"|"_exit"|"exec", "status": N or null, "program": "..." or null} */
static void json_ending(struct ss_out *o, const struct ss_end *end)
{
    static const struct ss_end at_exit = {.how = SS_END_EXIT};
    if (end == NULL)
        end = &at_exit;
    obj_open(o);
    KEY(o, "by");
    ss_out_json_name(o, ss_end_name(end->how));
    KEY(o, "status");
    if (end->how == SS_END__EXIT)
        ss_out_i64(o, end->status);
    else
        ss_out_str(o, "null");
    json_text_member_or_null(o, "program", end->how == SS_END_EXEC ? end->program : NULL);
    obj_close(o);
}

void ss_json_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns)
{
    json_head(o, "exec_failed", now_ns);
    ss_out_json_text_member(o, "program", program, strlen(program));
    KEY(o, "error");
    json_error(o, err);
    obj_close(o);
    ss_out_char(o, '\n');
}

void ss_json_summary(struct ss_out *o, uint64_t now_ns)
{
    json_head(o, "summary", now_ns);
    ss_out_json_text_member(o, "exe", program_invocation_name, strlen(program_invocation_name));
    KEY(o, "end");
    json_ending(o, ss_ending());
    KEY(o, "methods");
    json_methods(o);
    KEY(o, "sockets");
    ss_out_char(o, '[');
    for (int i = 0; i < ss_audit_socket_count(); i++) {
        ss_out_str(o, i == 0 ? "" : ", ");
        json_socket(o, ss_audit_socket(i));
    }
    ss_out_char(o, ']');
    KEY(o, "sockets_dropped");
    ss_out_u64(o, ss_audit_sockets_dropped());
    KEY(o, "findings");
    ss_out_char(o, '[');
    for (int i = 0; i < ss_audit_finding_count(); i++) {
        const struct ss_finding_rec *f = ss_audit_finding(i);
        ss_out_str(o, i == 0 ? "" : ", ");
        obj_open(o);
        json_finding_fields(o, f);
        KEY(o, "count");
        ss_out_u64(o, atomic_load_explicit(&f->count, memory_order_relaxed));
        KEY(o, "first");
        ss_out_char(o, '"');
        ss_out_iso8601(o, f->t_ns);
        ss_out_char(o, '"');
        obj_close(o);
    }
    ss_out_char(o, ']');
    obj_close(o);
    ss_out_char(o, '\n');
}
