/* sockshim: waits as Python's select module reads them.
 *
 *   select.select([sock3, 0], [], [], 5.0) -> ([sock3], [], [])
 *   poll([(sock3, POLLIN), (0, POLLIN)], 1000) -> [(sock3, POLLIN)]
 *   epoll5 = select.epoll()
 *   epoll5.register(sock4, EPOLLIN|EPOLLET) -> None
 *   epoll5.poll(1.0, 64) -> [(sock4, EPOLLIN)]
 *
 * A C poll() carries its registrations in every call: its line shows the
 * (fd, eventmask) pairs poll.register() would have been given, the
 * timeout poll.poll() takes (milliseconds) and what it returns. Sockets
 * are named sockN, other fds by number, an epoll event whose registration
 * the shim never saw by its data in hex. Everything comes from the call's
 * view (wait.h), never from live state.
 */
#include <string.h>

#include "render_call.h"
#include "wait.h"
#include "xlat.h"

static const struct ss_wait_view *view_of(const struct ss_call *c)
{
    static const struct ss_wait_view empty = {.timeout_ns = -1, .target = {.fd = -1}};
    return c->wait != NULL && c->wait->view != NULL ? c->wait->view : &empty;
}

/* ---- pieces --------------------------------------------------------------- */

/* ns in a unit of unit_ns, with the decimals it needs: 5.0, 0.25, 1500.5. */
static void out_decimal(struct ss_out *o, int64_t ns, int64_t unit_ns, int digits)
{
    ss_out_i64(o, ns / unit_ns);
    ss_out_char(o, '.');
    int64_t frac = ns % unit_ns;
    if (frac == 0) {
        ss_out_char(o, '0');
        return;
    }
    while (frac % 10 == 0) {
        frac /= 10;
        digits--;
    }
    ss_out_u64_width(o, (uint64_t)frac, digits);
}

/* A timeout in seconds (select, epoll): None when there is none. */
static void out_seconds(struct ss_out *o, int64_t ns)
{
    if (ns < 0)
        ss_out_str(o, "None");
    else
        out_decimal(o, ns, 1000000000, 9);
}

/* poll's timeout in milliseconds, a whole number when it is one. */
static void out_millis(struct ss_out *o, int64_t ns)
{
    if (ns < 0)
        ss_out_str(o, "None");
    else if (ns % 1000000 == 0)
        ss_out_i64(o, ns / 1000000);
    else
        out_decimal(o, ns, 1000000, 6);
}

static void out_wait_fd(struct ss_out *o, const struct ss_wait_fd *w)
{
    if (w->fd < 0 && w->data != 0) {
        ss_out_hex(o, w->data);
        return;
    }
    ss_out_fdname(o, w->fd, w->is_socket);
}

static void out_epoll_name(struct ss_out *o, int epfd)
{
    ss_out_str(o, "epoll");
    ss_out_i64(o, epfd);
}

static void out_more(struct ss_out *o, int shown, int more)
{
    if (more == 0)
        return;
    ss_out_str(o, shown > 0 ? ", <" : "<");
    ss_out_i64(o, more);
    ss_out_str(o, " more>");
}

/* [(sock3, POLLIN), (0, POLLIN|POLLOUT)] */
static void out_pairs(struct ss_out *o, const struct ss_wait_fd *list, int n, int more,
                      const struct ss_xlat *events)
{
    ss_out_char(o, '[');
    for (int i = 0; i < n; i++) {
        ss_out_str(o, i == 0 ? "(" : ", (");
        out_wait_fd(o, &list[i]);
        ss_out_str(o, ", ");
        ss_out_flags(o, events, list[i].events);
        ss_out_char(o, ')');
    }
    out_more(o, n, more);
    ss_out_char(o, ']');
}

/* [sock3, 0]: the fds of a list in select()'s set `set`. */
static void out_set(struct ss_out *o, const struct ss_wait_fd *list, int n, int more,
                    unsigned set)
{
    ss_out_char(o, '[');
    int shown = 0;
    for (int i = 0; i < n; i++) {
        if (!(list[i].events & set))
            continue;
        if (shown++ > 0)
            ss_out_str(o, ", ");
        out_wait_fd(o, &list[i]);
    }
    out_more(o, shown, more);
    ss_out_char(o, ']');
}

/* ---- text ------------------------------------------------------------------ */

void ss_text_wait_select(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_wait_view *v = view_of(c);
    ss_out_str(o, "select.select(");
    for (unsigned set = SS_WAIT_READ; set <= SS_WAIT_EXCEPT; set <<= 1) {
        out_set(o, v->asked, v->n_asked, v->more_asked, set);
        ss_out_str(o, ", ");
    }
    out_seconds(o, v->timeout_ns);
    ss_out_char(o, ')');
}

void ss_value_wait_select(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_wait_view *v = view_of(c);
    ss_out_char(o, '(');
    for (unsigned set = SS_WAIT_READ; set <= SS_WAIT_EXCEPT; set <<= 1) {
        out_set(o, v->ready, v->n_ready, v->more_ready, set);
        if (set != SS_WAIT_EXCEPT)
            ss_out_str(o, ", ");
    }
    ss_out_char(o, ')');
}

void ss_text_wait_poll(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_wait_view *v = view_of(c);
    ss_out_str(o, "poll(");
    out_pairs(o, v->asked, v->n_asked, v->more_asked, &ss_xlat_poll_events);
    ss_out_str(o, ", ");
    out_millis(o, v->timeout_ns);
    ss_out_char(o, ')');
}

void ss_value_wait_poll(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_wait_view *v = view_of(c);
    out_pairs(o, v->ready, v->n_ready, v->more_ready, &ss_xlat_poll_events);
}

/* "epoll5 = " */
void ss_named_wait_epoll(struct ss_out *o, const struct ss_call *c)
{
    out_epoll_name(o, (int)c->ret);
    ss_out_str(o, " = ");
}

/* Python's select.epoll() is always close-on-exec, as epoll_create1(
 * EPOLL_CLOEXEC) is; any other form shows its argument. */
void ss_text_wait_epoll(struct ss_out *o, const struct ss_call *c)
{
    int arg = c->wait != NULL ? c->wait->create_arg : 0;
    ss_out_str(o, "select.epoll(");
    if (c->fn == SS_FN_epoll_create) {
        ss_out_str(o, "sizehint=");
        ss_out_i64(o, arg);
    } else if (arg != EPOLL_CLOEXEC) {
        ss_out_str(o, "flags=");
        ss_out_flags(o, &ss_xlat_epoll_create_flags, (unsigned)arg);
    }
    ss_out_char(o, ')');
}

static void text_epoll_ctl(struct ss_out *o, const struct ss_call *c, const char *method)
{
    const struct ss_wait_view *v = view_of(c);
    out_epoll_name(o, c->fd);
    ss_out_char(o, '.');
    ss_out_str(o, method);
    ss_out_char(o, '(');
    out_wait_fd(o, &v->target);
    if (c->op != SS_OP_epoll_unregister) {
        ss_out_str(o, ", ");
        ss_out_flags(o, &ss_xlat_epoll_events, v->target.events);
    }
    ss_out_char(o, ')');
}

void ss_text_wait_epoll_register(struct ss_out *o, const struct ss_call *c)
{
    text_epoll_ctl(o, c, "register");
}

void ss_text_wait_epoll_modify(struct ss_out *o, const struct ss_call *c)
{
    text_epoll_ctl(o, c, "modify");
}

void ss_text_wait_epoll_unregister(struct ss_out *o, const struct ss_call *c)
{
    text_epoll_ctl(o, c, "unregister");
}

void ss_text_wait_epoll_poll(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_wait_view *v = view_of(c);
    out_epoll_name(o, c->fd);
    ss_out_str(o, ".poll(");
    out_seconds(o, v->timeout_ns);
    ss_out_str(o, ", ");
    ss_out_i64(o, c->wait != NULL ? c->wait->maxevents : 0);
    ss_out_char(o, ')');
}

void ss_value_wait_epoll_poll(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_wait_view *v = view_of(c);
    out_pairs(o, v->ready, v->n_ready, v->more_ready, &ss_xlat_epoll_events);
}

/* ---- JSON ------------------------------------------------------------------ */

/* {"fd": 3, "id": 12, "events": "POLLIN"}: id is the socket's (null for
 * another fd); an unknown epoll registration has fd null and its data. */
static void json_fd(struct ss_out *o, const struct ss_wait_fd *w, const struct ss_xlat *events)
{
    ss_json_open(o);
    SS_JSON_KEY(o, "fd");
    if (w->fd >= 0 || w->data == 0)
        ss_out_i64(o, w->fd);
    else
        ss_out_str(o, "null");
    SS_JSON_KEY(o, "id");
    if (w->is_socket)
        ss_out_u64(o, w->sock_id);
    else
        ss_out_str(o, "null");
    if (events != NULL) {
        SS_JSON_KEY(o, "events");
        ss_json_flags(o, events, w->events);
    }
    if (w->fd < 0 && w->data != 0) {
        SS_JSON_KEY(o, "data");
        ss_out_u64(o, w->data);
    }
    ss_json_close(o);
}

/* "key": [fds of the list, in select()'s set `set` (0: all)] */
static void json_list(struct ss_out *o, const char *key, const struct ss_wait_fd *list, int n,
                      unsigned set, const struct ss_xlat *events)
{
    ss_json_key(o, key);
    ss_out_char(o, '[');
    int shown = 0;
    for (int i = 0; i < n; i++) {
        if (set != 0 && !(list[i].events & set))
            continue;
        if (shown++ > 0)
            ss_out_str(o, ", ");
        json_fd(o, &list[i], events);
    }
    ss_out_char(o, ']');
}

static void json_more(struct ss_out *o, int more)
{
    if (more == 0)
        return;
    SS_JSON_KEY(o, "more");
    ss_out_i64(o, more);
}

static void json_timeout(struct ss_out *o, const struct ss_wait_view *v)
{
    SS_JSON_KEY(o, "timeout_ns");
    if (v->timeout_ns < 0)
        ss_out_str(o, "null");
    else
        ss_out_i64(o, v->timeout_ns);
    if (v->sigmask) {
        SS_JSON_KEY(o, "sigmask");
        ss_out_str(o, "true");
    }
}

static const char *const set_keys[] = {"read", "write", "except"};

void ss_json_wait_args(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_wait_view *v = view_of(c);
    switch (c->op) {
    case SS_OP_select:
        for (unsigned s = 0; s < 3; s++)
            json_list(o, set_keys[s], v->asked, v->n_asked, 1u << s, NULL);
        json_more(o, v->more_asked);
        json_timeout(o, v);
        break;
    case SS_OP_poll:
        json_list(o, "fds", v->asked, v->n_asked, 0, &ss_xlat_poll_events);
        json_more(o, v->more_asked);
        json_timeout(o, v);
        break;
    case SS_OP_epoll: {
        int arg = c->wait != NULL ? c->wait->create_arg : 0;
        if (c->fn == SS_FN_epoll_create) {
            SS_JSON_KEY(o, "size");
            ss_out_i64(o, arg);
        } else {
            SS_JSON_KEY(o, "flags");
            ss_json_flags(o, &ss_xlat_epoll_create_flags, (unsigned)arg);
        }
        break;
    }
    case SS_OP_epoll_register:
    case SS_OP_epoll_modify:
    case SS_OP_epoll_unregister:
        SS_JSON_KEY(o, "target");
        json_fd(o, &v->target, c->op == SS_OP_epoll_unregister ? NULL : &ss_xlat_epoll_events);
        if (c->op != SS_OP_epoll_unregister) {
            SS_JSON_KEY(o, "data");
            ss_out_u64(o, v->target.data);
        }
        break;
    case SS_OP_epoll_poll:
        SS_JSON_KEY(o, "maxevents");
        ss_out_i64(o, c->wait != NULL ? c->wait->maxevents : 0);
        json_timeout(o, v);
        break;
    default:
        break;
    }
}

/* What a wait found ready, or null. */
void ss_json_wait_out(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_wait_view *v = view_of(c);
    switch (c->op) {
    case SS_OP_select:
        ss_json_open(o);
        for (unsigned s = 0; s < 3; s++)
            json_list(o, set_keys[s], v->ready, v->n_ready, 1u << s, NULL);
        break;
    case SS_OP_poll:
        ss_json_open(o);
        json_list(o, "ready", v->ready, v->n_ready, 0, &ss_xlat_poll_events);
        break;
    case SS_OP_epoll_poll:
        ss_json_open(o);
        json_list(o, "ready", v->ready, v->n_ready, 0, &ss_xlat_epoll_events);
        break;
    default:
        ss_out_str(o, "null");
        return;
    }
    json_more(o, v->more_ready);
    ss_json_close(o);
}
