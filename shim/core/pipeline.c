/* sockshim: the one path every intercepted call takes.
 *
 *   subject -> classify -> guard -> perform -> model -> render
 *
 * The program gets back exactly the return value and errno the real call
 * produced: errno is saved before anything of the shim runs and restored
 * last.
 */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <unistd.h>

#include "audit.h"
#include "capture.h"
#include "fault.h"
#include "fault_event.h"
#include "internal.h"
#include "ledger.h"
#include "outbox.h"
#include "model.h"
#include "place.h"
#include "real.h"
#include "render.h"
#include "sink.h"
#include "trace.h"

/* ---- the subject of a call -------------------------------------------- */

struct subject {
    struct ss_obj *obj; /* with a reference, or NULL */
    enum ss_fd_kind kind;
    int adopted;
    enum ss_op op; /* the method, when the subject alone decides it */
};

static void get_subject(struct subject *s, int fd)
{
    s->obj = ss_model_get(fd, &s->kind, &s->adopted);
}

/* The sockets a close_range would close, for the trace. */
static void collect_range(struct ss_call *c)
{
    unsigned last = c->fn == SS_FN_closefrom ? ~0u : c->last;
    c->n_closed_fds = ss_fdtable_sockets_in_range(
        c->first, last, c->closed_fds, (int)(sizeof c->closed_fds / sizeof c->closed_fds[0]));
}

/* Finds which fd a call is about. Returns 0 when it is none of sockshim's
 * business (a read on a file, a close of a pipe): it is then performed
 * without a trace. */
static int find_subject(struct ss_call *c, struct subject *s)
{
    s->obj = NULL;
    s->kind = SS_FD_UNKNOWN;
    s->adopted = 0;
    s->op = SS_OP_COUNT;
    switch (c->fn) {
    case SS_FN_socket:
    case SS_FN_socketpair:
    case SS_FN_fork:
    case SS_FN__Fork:
    case SS_FN_vfork:
        return 1;
    case SS_FN_close_range:
    case SS_FN_closefrom:
        collect_range(c);
        return c->n_closed_fds > 0;
    case SS_FN_splice:
        /* into a socket is a send, out of one a receive */
        get_subject(s, c->fd);
        if (s->kind == SS_FD_SOCKET)
            return 1;
        ss_obj_put(s->obj);
        int out = c->fd;
        c->fd = c->other_fd;
        c->other_fd = out;
        s->op = SS_OP_recv;
        get_subject(s, c->fd);
        return s->kind == SS_FD_SOCKET || s->kind == SS_FD_SHIM;
    case SS_FN_dup2:
    case SS_FN_dup3:
        get_subject(s, c->fd);
        if (s->kind == SS_FD_SOCKET || s->kind == SS_FD_SHIM) {
            c->prior_fd_was_socket = ss_fdtable_kind(c->newfd) == SS_FD_SOCKET;
            return 1;
        }
        if (c->fd != c->newfd && ss_fdtable_kind(c->newfd) == SS_FD_SOCKET) {
            /* a file put over a socket: that socket is closed */
            ss_obj_put(s->obj);
            c->other_fd = c->fd;
            c->fd = c->newfd;
            s->op = SS_OP_close;
            get_subject(s, c->fd);
            return s->kind == SS_FD_SOCKET;
        }
        return 0;
    default:
        get_subject(s, c->fd);
        /* a number whose socket was closed is traced too: a call on it is
         * a use after close */
        if (s->kind == SS_FD_SOCKET || s->kind == SS_FD_SHIM || s->kind == SS_FD_CLOSED_SOCKET)
            return 1;
        return !ss_fn_on_any_fd(c->fn);
    }
}

/* ---- the shim's own fds ----------------------------------------------- */

/* closefrom/close_range over a range holding the sink: closes the parts
 * around it. */
#define MAX_SHIM_FDS 16

/* closefrom/close_range over a range holding the shim's own fds: closes
 * the parts between them. */
static void perform_range_around_shim(struct ss_call *c)
{
    unsigned last = c->fn == SS_FN_closefrom ? ~0u : c->last;
    int flags = c->fn == SS_FN_closefrom ? 0 : c->flags;
    int own[MAX_SHIM_FDS];
    int n = ss_fdtable_shim_fds_in_range(c->first, last, own, MAX_SHIM_FDS);
    long ret = 0;
    unsigned from = c->first;
    for (int i = 0; i < n && i < MAX_SHIM_FDS && ret == 0; i++) {
        if ((unsigned)own[i] > from)
            ret = ss_real.close_range(from, (unsigned)own[i] - 1, flags);
        from = (unsigned)own[i] + 1;
    }
    if (ret == 0 && from != 0 && from <= last)
        ret = ss_real.close_range(from, last, flags);
    c->ret = c->fn == SS_FN_closefrom ? 0 : ret;
}

/* The program cannot see the shim's fds: a call on one fails as it would
 * without the shim (EBADF), and a dup2 onto one moves the shim out of the
 * way first. Returns 1 when the call was answered here. */
static int guard_shim_fds(struct ss_call *c, const struct subject *s)
{
    if (s->kind == SS_FD_SHIM) {
        c->ret = -1;
        c->err = EBADF;
        return 1;
    }
    if ((c->fn == SS_FN_dup2 || c->fn == SS_FN_dup3) && ss_fdtable_kind(c->newfd) == SS_FD_SHIM)
        ss_sink_move_away(c->newfd);
    if (c->fn == SS_FN_close_range || c->fn == SS_FN_closefrom) {
        int own;
        unsigned last = c->fn == SS_FN_closefrom ? ~0u : c->last;
        if (ss_fdtable_shim_fds_in_range(c->first, last, &own, 1) > 0)
            c->perform = perform_range_around_shim;
    }
    return 0;
}

/* ---- outside the trace ------------------------------------------------ */

/* Keeps the fd table true for calls that are not about sockets: a closed
 * file's number may next be a socket the shim did not see created. */
static void note_untraced(const struct ss_call *c)
{
    switch (c->fn) {
    case SS_FN_close:
    case SS_FN___close:
    case SS_FN_fclose:
        ss_fdtable_forget_not_socket(c->fd);
        break;
    case SS_FN_close_range:
    case SS_FN_closefrom:
        if (c->fn == SS_FN_closefrom || !(c->flags & CLOSE_RANGE_CLOEXEC))
            ss_model_forget_range(c->first, c->fn == SS_FN_closefrom ? ~0u : c->last);
        break;
    default:
        break;
    }
}

static void run_untraced(struct ss_call *c, const struct subject *s, int entry_errno)
{
    if (guard_shim_fds(c, s)) {
        errno = c->err;
        return;
    }
    errno = entry_errno;
    c->perform(c);
    int err = errno;
    note_untraced(c);
    errno = err;
}

/* ---- the audit and the trace ------------------------------------------- */

static int traced(enum ss_op op)
{
    return (ss_config.traced >> op) & 1;
}

/* ---- name resolution --------------------------------------------------- */

__thread int ss_resolving;

/* A call made for a resolution inside glibc (an NSS module's socket, its
 * queries, its close): not the program's, so neither traced, faulted,
 * modelled nor audited. A close still keeps the fd table true. */
static void run_inside_resolution(struct ss_call *c, int entry_errno)
{
    errno = entry_errno;
    c->perform(c);
    int err = errno;
    note_untraced(c);
    errno = err;
}

static void perform_resolution(struct ss_call *c, int entry_errno)
{
    errno = entry_errno;
    ss_resolving++;
    c->perform(c);
    ss_resolving--;
    c->err = errno;
}

/* Whether anything but the depth is wanted of a resolution: its line, its
 * row of the summary (counted as every call is, traced by -e or not), or
 * a rule that names it. */
static int resolution_wanted(const struct ss_call *c)
{
    return traced(c->op) || ss_config.summary != SS_SUMMARY_OFF ||
           (ss_fault_enabled() && ss_fault_covers(c->op));
}

/* A resolution is on no socket: faults, the summary's count and the
 * trace, without the model and the audit's judgement. With none of them
 * wanted, it is only made. */
static void run_resolution(struct ss_call *c, int entry_errno)
{
    ss_classify_call(c, 0);
    if (!resolution_wanted(c)) {
        perform_resolution(c, entry_errno);
        errno = c->err;
        return;
    }
    c->caller = ss_python_take_resolution(c->caller);
    c->t_start_ns = ss_now_ns();
    int eai = ss_fault_enabled() ? ss_fault_resolution(c) : 0;
    c->err = entry_errno;
    if (eai != 0)
        ss_fault_fail_resolution(c, eai);
    else
        perform_resolution(c, entry_errno);
    c->t_end_ns = ss_now_ns();
    c->failed = c->ret != 0;
    ss_audit_resolution(c);
    ss_trace_resolution(c);
    errno = c->err;
}

/* A socket the process did not create, seen for the first time. */
static void note_adoption(const struct ss_call *c, struct ss_obj *obj)
{
    ss_audit_created(obj, c->caller, 1);
    if (!traced(SS_OP_fromfd) || ss_config.summary == SS_SUMMARY_ONLY)
        return;
    struct ss_call a;
    struct ss_sockinfo sock;
    memset(&a, 0, sizeof a);
    a.op = SS_OP_fromfd;
    a.fn = c->fn;
    a.fd = c->fd;
    a.on_socket = 1;
    a.t_start_ns = a.t_end_ns = ss_now_ns();
    ss_model_snapshot(obj, c->fd, &sock, 1);
    a.sock = &sock;
    a.new_sock = &ss_no_socket;
    ss_render_call(&a);
}

static void note_created_fd(int fd, uintptr_t caller)
{
    enum ss_fd_kind kind;
    struct ss_obj *obj = ss_model_get(fd, &kind, NULL);
    if (obj != NULL) {
        ss_audit_created(obj, caller, 0);
        ss_ledger_open(obj, fd, caller);
    }
    ss_obj_put(obj);
}

/* Where the sockets a call created were made (for leaks and the summary). */
static void note_creations(const struct ss_call *c)
{
    if (c->failed)
        return;
    if (c->op == SS_OP_socket || c->op == SS_OP_accept)
        note_created_fd((int)c->ret, c->caller);
    if (c->op == SS_OP_socketpair && c->sv != NULL) {
        note_created_fd(c->sv[0], c->caller);
        note_created_fd(c->sv[1], c->caller);
    }
}

/* The summary's row shows a socket's addresses: asked for before its last
 * fd is gone, when there will be a summary and a row. */
static void learn_names_before_close(const struct ss_call *c, struct ss_obj *obj)
{
    int range = c->op == SS_OP_close_range &&
                !(c->fn == SS_FN_close_range && (c->flags & CLOSE_RANGE_CLOEXEC));
    if ((c->op != SS_OP_close && !range) || ss_config.summary == SS_SUMMARY_OFF ||
        !ss_sink_enabled() || !ss_audit_log_has_room())
        return;
    if (range)
        ss_model_learn_names_in_range(c->first, c->fn == SS_FN_closefrom ? ~0u : c->last);
    else
        ss_model_learn_names(obj, c->fd);
}

/* A socket whose last fd a close_range or closefrom closed: the audit and
 * the capture see the close of that fd, as if close() had been called. */
struct range_close {
    const struct ss_call *call;
    struct ss_audit_verdict *verdict;
};

static void socket_closed_in_range(struct ss_obj *obj, int fd, void *arg)
{
    const struct range_close *rc = arg;
    struct ss_call close_of_fd = *rc->call;
    close_of_fd.op = SS_OP_close;
    close_of_fd.fd = fd;
    ss_audit_closed_in_range(&close_of_fd, obj, rc->verdict);
    ss_ledger_close(obj);
    if (ss_outbox_enabled())
        ss_outbox_closed(obj);
    if (ss_capture_enabled())
        ss_capture_call(&close_of_fd, obj, 1);
}

/* A close of a socket's fd (not a dup2 over it: that one replaces the
 * number atomically, and only if it succeeds). */
static int releases_fd_first(const struct ss_call *c, const struct ss_obj *obj)
{
    return c->op == SS_OP_close && obj != NULL && c->fn != SS_FN_dup2 && c->fn != SS_FN_dup3;
}

/* A datagram reorder= held back goes out when it is due: after the
 * socket's N-th next send, or before the socket closes (docs/faults.md).
 * The capture shows it where it went. Only called when the socket may hold
 * one (ss_event_may_hold(), inline): almost none does, and the check runs
 * on every call while faults are on. */
static void send_held_datagram(const struct ss_call *c, struct ss_obj *obj, int closing)
{
    struct ss_call sent;
    struct ss_held_datagram *h = ss_fault_due_datagram(c, obj, closing, &sent);
    if (h == NULL)
        return;
    if (ss_capture_enabled())
        ss_capture_call(&sent, obj, 0);
    ss_fault_free_datagram(h);
}

static int failed(const struct ss_call *c)
{
    return c->fn != SS_FN_closefrom && c->ret == -1;
}

void ss_run(struct ss_call *c)
{
    int entry_errno = errno;
    struct subject s;

    if (SS_UNLIKELY(ss_resolving)) {
        run_inside_resolution(c, entry_errno);
        return;
    }
    if (SS_UNLIKELY(c->resolution != NULL)) {
        run_resolution(c, entry_errno);
        return;
    }
    c->caller = ss_python_take(c->fn, c->caller);

    if (!find_subject(c, &s)) {
        run_untraced(c, &s, entry_errno);
        ss_obj_put(s.obj);
        return;
    }
    ss_classify_call(c, s.obj != NULL && ss_obj_nonblocking(s.obj));
    if (s.op != SS_OP_COUNT)
        c->op = s.op;
    if (guard_shim_fds(c, &s)) {
        ss_obj_put(s.obj);
        errno = c->err;
        return;
    }
    c->on_socket = s.kind == SS_FD_SOCKET || s.kind == SS_FD_CLOSED_SOCKET;
    if (s.adopted)
        note_adoption(c, s.obj);

    learn_names_before_close(c, s.obj);
    c->t_start_ns = ss_now_ns();
    struct ss_fault_scratch fs;
    int faulting = ss_fault_enabled();
    if (faulting && c->op == SS_OP_close && ss_event_may_hold(s.obj))
        send_held_datagram(c, s.obj, 1);
    if (ss_outbox_enabled() && (c->fn == SS_FN_close || c->fn == SS_FN___close))
        ss_outbox_closing(c->fd, s.obj);
    if (faulting)
        ss_fault_settle(c, s.obj, 0);
    int faulted = faulting && ss_fault_decide(c, s.obj);
    if (faulted)
        ss_fault_before(c, s.obj, &fs);
    if (!faulted || fs.perform) {
        if (releases_fd_first(c, s.obj)) {
            ss_fdtable_release_closing(c->fd, s.obj);
            c->fd_released = 1;
        }
        errno = entry_errno;
        c->perform(c);
        c->err = errno;
    }
    /* before the fault's own ending: what this call leaves pending is
     * for the calls after it */
    if (faulting) {
        ss_fault_received(c, s.obj);
        ss_fault_settle(c, s.obj, 1);
    }
    if (faulted)
        ss_fault_after(c, &fs);
    c->t_end_ns = ss_now_ns();
    c->failed = failed(c);

    int last_closed = ss_model_update(c, s.obj);
    note_creations(c);
    struct ss_audit_verdict verdict;
    ss_audit_call(c, s.obj, s.kind == SS_FD_CLOSED_SOCKET, &verdict);
    if (last_closed) {
        ss_audit_closed(s.obj, c->fd);
        ss_ledger_close(s.obj);
        if (ss_outbox_enabled())
            ss_outbox_closed(s.obj);
    }
    if (c->op == SS_OP_close_range) {
        struct range_close rc = {c, &verdict};
        ss_model_close_range(c, socket_closed_in_range, &rc);
    }
    if (ss_capture_enabled()) {
        ss_capture_call(c, s.obj, last_closed);
        ss_capture_accepted(c);
    }
    if (faulting && ss_event_may_hold(s.obj))
        send_held_datagram(c, s.obj, 0);
    ss_trace_call(c, s.obj, &verdict);
    ss_obj_put(s.obj);
    errno = c->err;
}
