/* sockshim report: strings of a JSON trace record, shown as the text
 * trace shows them (call_text.h).
 *
 * The text trace's own renderer (shim/common/render_call_text.c) renders a
 * binary call record, which a JSON trace no longer holds; a JSON record's
 * line is rendered here instead, in short: the subject, the method, the
 * arguments that say what happened (an address, a size, a backlog) and
 * the result, with every string escaped as the text trace escapes it. */
#include "call_text.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "options.h"
#include "say.h"

/* ---- strings ------------------------------------------------------------ */

const char *ss_twin_key(const char *key, char buf[static 64])
{
    snprintf(buf, 64, "%s" SS_JSON_HEX_SUFFIX, key);
    return buf;
}

struct ss_text ss_text_of(json_t *obj, const char *key)
{
    struct ss_text t = {"", 0, NULL};
    char buf[64];
    json_t *hex = json_object_get(obj, ss_twin_key(key, buf)), *s = json_object_get(obj, key);
    if (json_is_string(hex)) {
        size_t n = json_string_length(hex) / 2;
        t.owned = malloc(n + 1);
        if (t.owned == NULL)
            ss_die("out of memory");
        if (ss_parse_hexbytes(json_string_value(hex), json_string_length(hex),
                              (unsigned char *)t.owned) == 0) {
            t.p = t.owned;
            t.n = n;
            return t;
        }
    }
    if (json_is_string(s)) {
        t.p = json_string_value(s);
        t.n = json_string_length(s);
    }
    return t;
}

void ss_text_free(struct ss_text *t)
{
    free(t->owned);
}

void ss_render_shown(struct ss_out *o, enum ss_shown how, const char *p, size_t n)
{
    if (how == SS_SHOWN_NAME) {
        ss_out_safe_n(o, p, n);
    } else if (how == SS_SHOWN_PATH) {
        ss_out_pystr(o, p, n);
    } else {
        struct iovec parts[2] = {{(void *)"\0", 1}, {(void *)p, n}};
        struct ss_bytes b;
        ss_bytes_iov(&b, parts, 2, n + 1);
        ss_out_bytes_literal(o, &b, n + 1);
    }
}

void ss_render_member(struct ss_out *o, enum ss_shown how, json_t *obj, const char *key)
{
    struct ss_text t = ss_text_of(obj, key);
    ss_render_shown(o, how, t.p, t.n);
    ss_text_free(&t);
}

static const char *str(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s != NULL ? s : "";
}

static long long num(json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}

static void render_name(struct ss_out *o, const char *s)
{
    ss_out_safe_n(o, s, strlen(s));
}

/* ---- addresses ------------------------------------------------------------ */

static int is_inet(json_t *addr, int *inet6)
{
    const char *family = str(addr, "family");
    *inet6 = strcmp(family, "AF_INET6") == 0;
    return *inet6 || strcmp(family, "AF_INET") == 0;
}

void ss_render_addr(struct ss_out *o, json_t *addr)
{
    int inet6;
    if (!json_is_object(addr)) {
        ss_out_str(o, "None");
    } else if (is_inet(addr, &inet6)) {
        ss_out_char(o, '(');
        ss_render_member(o, SS_SHOWN_PATH, addr, "host");
        ss_out_str(o, ", ");
        ss_out_i64(o, num(addr, "port"));
        if (inet6) {
            ss_out_str(o, ", ");
            ss_out_i64(o, num(addr, "flowinfo"));
            ss_out_str(o, ", ");
            ss_out_i64(o, num(addr, "scope_id"));
        }
        ss_out_char(o, ')');
    } else if (json_object_get(addr, "path") != NULL) {
        ss_render_member(o, SS_SHOWN_PATH, addr, "path");
    } else if (json_object_get(addr, "abstract") != NULL) {
        ss_render_member(o, SS_SHOWN_ABSTRACT, addr, "abstract");
    } else {
        ss_out_char(o, '<');
        render_name(o, str(addr, "family"));
        ss_out_char(o, '>');
    }
}

void ss_render_addr_label(struct ss_out *o, json_t *addr)
{
    int inet6;
    if (!json_is_object(addr)) {
        ss_out_str(o, "?");
    } else if (is_inet(addr, &inet6)) {
        if (inet6)
            ss_out_char(o, '[');
        ss_render_member(o, SS_SHOWN_NAME, addr, "host");
        ss_out_str(o, inet6 ? "]:" : ":");
        ss_out_i64(o, num(addr, "port"));
    } else if (json_object_get(addr, "path") != NULL) {
        struct ss_text t = ss_text_of(addr, "path");
        if (t.n == 0)
            ss_out_str(o, "(unnamed)");
        else
            ss_render_shown(o, SS_SHOWN_NAME, t.p, t.n);
        ss_text_free(&t);
    } else if (json_object_get(addr, "abstract") != NULL) {
        ss_out_char(o, '@');
        ss_render_member(o, SS_SHOWN_NAME, addr, "abstract");
    } else {
        ss_out_char(o, '<');
        render_name(o, str(addr, "family"));
        ss_out_char(o, '>');
    }
}

/* ---- a call's line --------------------------------------------------------- */

/* An argument as the trace wrote it: a name, a number, or ... */
static void render_scalar(struct ss_out *o, json_t *v)
{
    if (json_is_integer(v))
        ss_out_i64(o, json_integer_value(v));
    else if (json_is_string(v))
        render_name(o, json_string_value(v));
    else if (json_is_null(v))
        ss_out_str(o, "None");
    else
        ss_out_str(o, "...");
}

static void render_size(struct ss_out *o, json_t *data)
{
    ss_out_char(o, '<');
    ss_out_i64(o, num(data, "len"));
    ss_out_str(o, num(data, "len") == 1 ? " byte>" : " bytes>");
}

/* Whether op (enum ss_op, or -1: a name this build does not know) is in
 * the set (SS_OPBIT()s: names checked against SS_OPS when compiled). */
static int op_is(int op, ss_opmask set)
{
    return op >= 0 && ss_op_in((enum ss_op)op, set);
}

/* The methods whose record has a "data" object: shown as its size. */
#define SENDS (SS_OPBIT(send) | SS_OPBIT(sendto) | SS_OPBIT(sendmsg) | SS_OPBIT(sendall))
#define RECVS (SS_OPBIT(recv) | SS_OPBIT(recvfrom) | SS_OPBIT(recvmsg))
#define ADDRESSED (SS_OPBIT(bind) | SS_OPBIT(connect) | SS_OPBIT(connect_ex))
#define NONE_RESULT                                                                        \
    (SS_OPBIT(bind) | SS_OPBIT(connect) | SS_OPBIT(listen) | SS_OPBIT(shutdown) |            \
     SS_OPBIT(setsockopt) | SS_OPBIT(epoll_register) | SS_OPBIT(epoll_modify) |               \
     SS_OPBIT(epoll_unregister))
#define NO_RESULT (SS_OPBIT(close) | SS_OPBIT(setblocking) | SS_OPBIT(set_inheritable))
#define ON_AN_EPOLL                                                                        \
    (SS_OPBIT(epoll_register) | SS_OPBIT(epoll_modify) | SS_OPBIT(epoll_unregister) |       \
     SS_OPBIT(epoll_poll))
#define NO_SUBJECT (SS_OPBIT(fork) | SS_OPBIT(poll) | SS_OPBIT(socketpair) | SS_OPBIT(close_range))

static void render_subject(struct ss_out *o, json_t *rec, const char *name, int op)
{
    json_t *fd = json_object_get(rec, "fd");
    if (op_is(op, SS_OPBIT(socket) | SS_OPBIT(fromfd))) {
        ss_out_str(o, "sock");
        ss_out_i64(o, json_integer_value(fd));
        ss_out_str(o, " = ");
    } else if (op_is(op, ON_AN_EPOLL)) {
        ss_out_str(o, "epoll");
        ss_out_i64(o, json_integer_value(fd));
        ss_out_char(o, '.');
        render_name(o, name + strlen("epoll_"));
        return;
    } else if (op_is(op, SS_OPBIT(select) | SS_OPBIT(epoll))) {
        ss_out_str(o, "select.");
    } else if (json_is_object(json_object_get(rec, "sock"))) {
        ss_out_str(o, "sock");
        ss_out_i64(o, json_integer_value(fd));
        ss_out_char(o, '.');
    } else if (json_is_integer(fd)) {
        ss_out_str(o, "fd");
        ss_out_i64(o, json_integer_value(fd));
        ss_out_char(o, '.');
    } else if (!op_is(op, NO_SUBJECT)) {
        ss_out_str(o, "socket.");
    }
    render_name(o, name);
}

static void render_args(struct ss_out *o, json_t *rec, int op)
{
    json_t *args = json_object_get(rec, "args");
    ss_out_char(o, '(');
    if (op_is(op, ADDRESSED)) {
        ss_render_addr(o, json_object_get(args, "addr"));
    } else if (op_is(op, SENDS)) {
        render_size(o, json_object_get(args, "data"));
        if (json_is_object(json_object_get(args, "addr"))) {
            ss_out_str(o, ", ");
            ss_render_addr(o, json_object_get(args, "addr"));
        }
    } else if (op_is(op, RECVS)) {
        render_scalar(o, json_object_get(args, "bufsize"));
    } else if (op == SS_OP_listen) {
        render_scalar(o, json_object_get(args, "backlog"));
    } else if (op == SS_OP_shutdown) {
        render_scalar(o, json_object_get(args, "how"));
    } else if (op == SS_OP_socket) {
        render_scalar(o, json_object_get(args, "family"));
        ss_out_str(o, ", ");
        render_scalar(o, json_object_get(args, "type"));
        ss_out_str(o, ", ");
        render_scalar(o, json_object_get(args, "proto"));
    } else if (op_is(op, SS_OPBIT(setsockopt) | SS_OPBIT(getsockopt))) {
        render_scalar(o, json_object_get(args, "level"));
        ss_out_str(o, ", ");
        render_scalar(o, json_object_get(args, "optname"));
    } else if (json_object_size(args) > 0 && op != SS_OP_accept) {
        ss_out_str(o, "...");
    }
    ss_out_char(o, ')');
}

static void render_error(struct ss_out *o, json_t *error)
{
    ss_out_str(o, " raises ");
    const char *exception = str(error, "exception");
    render_name(o, exception[0] != '\0' ? exception : "error");
    ss_out_char(o, '(');
    json_t *code = json_object_get(error, "errno");
    ss_out_i64(o, json_is_integer(code) ? json_integer_value(code) : num(error, "code"));
    ss_out_str(o, ", ");
    const char *message = str(error, "message");
    ss_out_pystr(o, message, strlen(message));
    ss_out_char(o, ')');
}

static void render_result(struct ss_out *o, json_t *rec, int op)
{
    json_t *out = json_object_get(rec, "out");
    if (json_is_object(json_object_get(rec, "error"))) {
        render_error(o, json_object_get(rec, "error"));
        return;
    }
    if (op_is(op, NO_RESULT | SS_OPBIT(socket)))
        return;
    ss_out_str(o, " -> ");
    if (op_is(op, NONE_RESULT)) {
        ss_out_str(o, "None");
    } else if (op_is(op, RECVS)) {
        render_size(o, json_object_get(out, "data"));
        if (json_is_object(json_object_get(out, "addr"))) {
            ss_out_str(o, " from ");
            ss_render_addr(o, json_object_get(out, "addr"));
        }
    } else if (op == SS_OP_accept) {
        ss_out_str(o, "(sock");
        ss_out_i64(o, num(rec, "ret"));
        ss_out_str(o, ", ");
        ss_render_addr(o, json_object_get(out, "addr"));
        ss_out_char(o, ')');
    } else if (op_is(op, SS_OPBIT(getsockname) | SS_OPBIT(getpeername))) {
        ss_render_addr(o, json_object_get(out, "addr"));
    } else {
        render_scalar(o, json_object_get(rec, "ret"));
    }
}

static void render_fault(struct ss_out *o, json_t *fault)
{
    if (!json_is_object(fault))
        return;
    ss_out_str(o, " [fault #");
    ss_out_i64(o, num(fault, "rule"));
    ss_out_char(o, ' ');
    render_name(o, str(fault, "action"));
    ss_out_char(o, ']');
}

void ss_render_call_line(struct ss_out *o, json_t *rec)
{
    const char *name = str(rec, "op");
    int op = ss_op_from_name(name);
    render_subject(o, rec, name, op);
    render_args(o, rec, op);
    render_result(o, rec, op);
    render_fault(o, json_object_get(rec, "fault"));
}

/* ---- rendering into a file or a string ---------------------------------- */

char *ss_rendered(ss_render_fn *fn, const void *arg, size_t *len)
{
    size_t cap = 256;
    for (;;) {
        char *buf = malloc(cap);
        if (buf == NULL)
            ss_die("out of memory");
        struct ss_out o;
        ss_out_init(&o, buf, cap - 1);
        fn(&o, arg);
        if (!ss_out_overflowed(&o)) {
            buf[o.len] = '\0';
            *len = o.len;
            return buf;
        }
        free(buf);
        if (o.len >= SIZE_MAX / 2)
            ss_die("out of memory");
        cap = o.len + 1;
    }
}

void ss_put_rendered(FILE *out, ss_render_fn *fn, const void *arg)
{
    size_t len;
    char *s = ss_rendered(fn, arg, &len);
    fwrite(s, 1, len, out);
    free(s);
}
