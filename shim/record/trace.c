/* sockshim: what goes into the trace for a call (see trace.h). */
#include "trace.h"
#include "sink.h"

#include <string.h>

#include "internal.h"
#include "model.h"
#include "call_record.h"
#include "render.h"

/* ---- a thread's held send loop (text only) ------------------------------ */

#define HOLD_PREVIEW 256

/* The first call of a send loop whose line is not written yet, and what
 * the loop has done since. The data is copied: by the time a broken loop
 * is written the program may have reused its buffer. */
struct hold {
    int active;
    uint64_t loop;
    int fd, flags, on_socket;
    enum ss_fn fn;
    enum ss_op op;
    uintptr_t caller;
    uint64_t total, done;
    uint32_t calls, faults;
    uint64_t t_start_ns, t_end_ns;
    int fault;
    const char *fault_action;
    struct ss_fault_marks marks; /* the rules that hit its calls */
    unsigned char preview[HOLD_PREVIEW];
    size_t preview_len;
};

static __thread struct hold tls_hold;



static int traced(enum ss_op op)
{
    return (ss_config.traced >> op) & 1;
}

static int text_rebuilds_loops(void)
{
    return ss_config.format != SS_FORMAT_JSON && !ss_config.every_call;
}

static _Atomic int paused;               /* ss_trace_pause */
static _Atomic uint64_t calls_not_written; /* traced calls since the pause */

static int calls_written(void)
{
    return ss_config.summary != SS_SUMMARY_ONLY && ss_sink_enabled() &&
           !atomic_load_explicit(&paused, memory_order_relaxed);
}

/* A call the pause keeps out of the trace: counted, for the line that
 * says where the trace goes on. */
static void not_written(enum ss_op op)
{
    if (traced(op) && atomic_load_explicit(&paused, memory_order_relaxed))
        atomic_fetch_add_explicit(&calls_not_written, 1, memory_order_relaxed);
}

void ss_trace_pause(int on, int quiet)
{
    if (atomic_load_explicit(&paused, memory_order_relaxed) == on)
        return;
    if (on) {
        if (!quiet)
            ss_render_tracing_change(1, 0);
        atomic_store_explicit(&paused, 1, memory_order_relaxed);
    } else {
        atomic_store_explicit(&paused, 0, memory_order_relaxed);
        uint64_t skipped = atomic_exchange_explicit(&calls_not_written, 0, memory_order_relaxed);
        if (!quiet)
            ss_render_tracing_change(0, skipped);
    }
}

/* The rule that hit c, among the loop's marks (once each). */
static void mark_fault(struct ss_fault_marks *m, const struct ss_call *c)
{
    if (c->fault == 0)
        return;
    for (int i = 0; i < m->n; i++)
        if (m->rule[i] == c->fault)
            return;
    if (m->n == SS_LOOP_MARKS) {
        m->more = 1;
        return;
    }
    m->rule[m->n] = c->fault;
    m->action[m->n] = c->fault_action;
    m->n++;
}

static void hold_start(const struct ss_call *c, const struct ss_loop_view *view)
{
    struct hold *h = &tls_hold;
    h->active = 1;
    h->loop = view->id;
    h->fd = c->fd;
    h->flags = c->flags;
    h->on_socket = c->on_socket;
    h->fn = c->fn;
    h->op = c->op;
    h->caller = c->caller;
    h->total = view->total;
    h->done = view->done;
    h->calls = view->calls;
    h->t_start_ns = c->t_start_ns;
    h->t_end_ns = c->t_end_ns;
    h->fault = c->fault;
    h->fault_action = c->fault_action;
    h->faults = c->fault != 0;
    memset(&h->marks, 0, sizeof h->marks);
    mark_fault(&h->marks, c);
    size_t shown = ss_render_strsize() < HOLD_PREVIEW ? ss_render_strsize() : HOLD_PREVIEW;
    h->preview_len = c->len < shown ? c->len : shown;
    if (c->cbuf != NULL)
        memcpy(h->preview, c->cbuf, h->preview_len);
}

/* The held loop as one call record: its first call, the bytes it moved. */
static void hold_as_call(const struct hold *h, struct ss_call *c)
{
    memset(c, 0, sizeof *c);
    c->sock = c->new_sock = &ss_no_socket; /* a send line shows neither */
    c->fn = h->fn;
    c->op = h->op;
    c->fd = h->fd;
    c->flags = h->flags;
    c->on_socket = h->on_socket;
    c->len = h->total;
    c->preview = h->preview;
    c->preview_len = h->preview_len;
    c->ret = (long)h->done;
    c->t_start_ns = h->t_start_ns;
    c->t_end_ns = h->t_end_ns;
    c->loop = h->calls > 1 ? h->loop : 0;
    c->loop_calls = h->calls > 1 ? h->calls : 0;
    c->loop_faults = h->calls > 1 ? h->faults : 0;
    c->loop_marks = h->calls > 1 ? &h->marks : NULL;
    c->fault = h->calls == 1 ? h->fault : 0;
    c->fault_action = h->fault_action;
    c->caller = h->caller;
    c->fault_flipped = -1;
}

/* The thread does something else: the loop's sends so far are written as
 * one line (the line of the first send, when there was only one). */
static void hold_flush(void)
{
    struct hold *h = &tls_hold;
    if (!h->active)
        return;
    h->active = 0;
    struct ss_call c;
    hold_as_call(h, &c);
    unsigned was = ss_render_calls_in(SS_RENDER_TEXT); /* a record file's text */
    ss_render_call(&c);
    ss_render_calls_in(was);
}

static int holding(uint64_t loop)
{
    return tls_hold.active && tls_hold.loop == loop;
}

/* ---- the call's lines --------------------------------------------------- */

/* The record of a loop that ended with the call: a sendall (or, for a
 * receive loop, the buffer it filled). */
static void loop_record(const struct ss_call *c, const struct ss_loop_view *view,
                        struct ss_call *loop)
{
    *loop = *c;
    loop->op = view->dir == SS_LOOP_SEND ? SS_OP_sendall : c->op;
    loop->loop = view->id;
    loop->loop_calls = view->calls;
    loop->loop_faults = view->faults;
    loop->len = view->total;
    loop->loop_done = view->done;
    loop->t_start_ns = view->start_ns;
    loop->fault = 0;
    if (view->dir == SS_LOOP_SEND) {
        loop->cbuf = (const void *)view->base;
        loop->ret = c->failed ? -1 : (long)view->total;
    } else {
        loop->buf = (void *)view->base;
        loop->ret = (long)view->done;
    }
}

static void write_findings(const struct ss_audit_verdict *v)
{
    for (int i = 0; i < v->n_new; i++)
        ss_render_finding(v->new_findings[i]);
}

/* Text: a send loop is held from its first short send, and written as one
 * sendall line when it completes or fails. */
static void text_call(struct ss_call *c, const struct ss_audit_verdict *v)
{
    int in_held = v->loop != SS_LOOP_NO_EVENT && holding(v->view.id);
    if (tls_hold.active && !in_held) {
        if (v->broke_loop && holding(v->broken.id)) {
            tls_hold.done = v->broken.done;
            tls_hold.calls = v->broken.calls;
        }
        hold_flush();
    }
    int send_loop = v->view.dir == SS_LOOP_SEND;
    if (v->loop == SS_LOOP_STARTED && send_loop && text_rebuilds_loops() && traced(c->op)) {
        hold_start(c, &v->view);
        return;
    }
    if (in_held && v->loop == SS_LOOP_CONTINUED) {
        tls_hold.done = v->view.done;
        tls_hold.calls = v->view.calls;
        tls_hold.faults += c->fault != 0;
        mark_fault(&tls_hold.marks, c);
        tls_hold.t_end_ns = c->t_end_ns;
        return;
    }
    if (in_held && (v->loop == SS_LOOP_COMPLETED || v->loop == SS_LOOP_FAILED)) {
        tls_hold.active = 0;
        mark_fault(&tls_hold.marks, c);
        struct ss_call loop;
        loop_record(c, &v->view, &loop);
        loop.loop_marks = &tls_hold.marks;
        if (traced(SS_OP_sendall) || traced(c->op))
            ss_render_call(&loop);
        return;
    }
    if (!traced(c->op))
        return;
    /* a receive is known to be in a loop from the loop's second call */
    if (v->loop != SS_LOOP_NO_EVENT && (ss_config.every_call || !send_loop) &&
        (send_loop || v->loop != SS_LOOP_STARTED))
        c->loop = v->view.id;
    if (v->loop == SS_LOOP_COMPLETED && !send_loop)
        c->loop_calls = v->view.calls; /* the receive that filled the buffer */
    ss_render_call(c);
}

/* JSON: every call as it is, with its loop; then the loop's own record. */
static void json_call(struct ss_call *c, const struct ss_audit_verdict *v)
{
    int member = v->loop != SS_LOOP_NO_EVENT &&
                 (v->view.dir == SS_LOOP_SEND || v->loop != SS_LOOP_STARTED);
    if (member)
        c->loop = v->view.id;
    if (traced(c->op))
        ss_render_call(c);
    if ((v->loop == SS_LOOP_COMPLETED || v->loop == SS_LOOP_FAILED) &&
        (traced(c->op) || traced(SS_OP_sendall))) {
        struct ss_call loop;
        loop_record(c, &v->view, &loop);
        ss_render_loop(&loop);
    }
}

/* A record file: a call in no loop is one record both renderings show;
 * a loop's calls go through each rendering's way of showing loops, and
 * each record says which rendering it is for. */
static void raw_call(struct ss_call *c, const struct ss_audit_verdict *v)
{
    /* both renderings, whatever a call this one interrupted (a socket call
     * in a signal handler) had set; given back as it was */
    unsigned was = ss_render_calls_in(0);
    if (v->loop == SS_LOOP_NO_EVENT && !tls_hold.active) {
        if (traced(c->op))
            ss_render_call(c);
    } else {
        struct ss_call as_json = *c;
        ss_render_calls_in(SS_RENDER_TEXT);
        text_call(c, v);
        ss_render_calls_in(SS_RENDER_JSON);
        json_call(&as_json, v);
    }
    ss_render_calls_in(was);
}

/* A fork line gives the pid of a child whose own lines follow: written by
 * a process that touched a socket before it forked (the child shares its
 * sockets), or when the user asked for forks (-e fork) or for every
 * process. The forks of a shell that runs the program would be noise. */
static int fork_line_wanted(void)
{
    return ss_audit_touched_socket() || ss_config.fork_named || ss_config.all_processes;
}

/* The socket after the call, as its line shows it. For a call record
 * whose socket the run's ring already holds whole at this version, only
 * its id and version: the command has the rest, and the snapshot (a lock
 * and a copy) is not taken. */
static void subject_socket(const struct ss_call *c, struct ss_obj *obj, struct ss_sockinfo *out)
{
    if (obj != NULL && ss_sink_ringed() && !ss_config.render_in_process && ss_callrec_fits(c) &&
        ss_model_recorded(obj, &out->id, &out->version)) {
        out->by_reference = 1;
        out->owner = obj;
        return;
    }
    ss_model_snapshot(obj, c->fd, out, ss_render_wants_names());
    out->by_reference = 0;
    out->owner = obj;
}

void ss_trace_call(struct ss_call *c, struct ss_obj *obj, const struct ss_audit_verdict *v)
{
    /* in the child (ret 0), the fork is its parent's line */
    if (c->op == SS_OP_fork && (c->ret == 0 || !fork_line_wanted()))
        return;
    if (SS_UNLIKELY(atomic_load_explicit(&paused, memory_order_relaxed))) {
        hold_flush(); /* the calls it holds were made before the pause */
        not_written(c->op);
        return;
    }
    if (calls_written()) {
        struct ss_sockinfo sock, new_sock;
        subject_socket(c, obj, &sock);
        c->sock = &sock;
        c->new_sock = &ss_no_socket;
        switch (c->op) {
        case SS_OP_socket:
        case SS_OP_accept:
        case SS_OP_dup:
            if (!c->failed) {
                ss_model_snapshot_fd((int)c->ret, &new_sock,
                                     ss_render_wants_names() || c->addr_out == NULL);
                c->new_sock = &new_sock;
            }
            break;
        default:
            break;
        }
        if (ss_config.format == SS_FORMAT_TEXT)
            text_call(c, v);
        else if (ss_config.format == SS_FORMAT_JSON)
            json_call(c, v);
        else
            raw_call(c, v);
        if (c->fault_note != 0)
            ss_render_note(c);
    }
    if (calls_written())
        write_findings(v);
}

void ss_trace_wait(struct ss_call *c)
{
    not_written(c->op);
    if (!calls_written() || !traced(c->op))
        return;
    c->sock = c->new_sock = &ss_no_socket;
    ss_render_call(c);
}

void ss_trace_resolution(struct ss_call *c)
{
    not_written(c->op);
    if (!calls_written())
        return;
    c->sock = c->new_sock = &ss_no_socket;
    hold_flush(); /* a send loop this thread had going ends before it */
    if (traced(c->op))
        ss_render_call(c);
}

void ss_trace_finding(int index)
{
    if (calls_written())
        ss_render_finding(index);
}

void ss_trace_finish(void)
{
    hold_flush();
    if (ss_config.summary != SS_SUMMARY_OFF)
        ss_render_summary();
}

void ss_trace_after_fork_child(void)
{
    tls_hold.active = 0;
    atomic_store_explicit(&calls_not_written, 0, memory_order_relaxed); /* the parent's */
}
