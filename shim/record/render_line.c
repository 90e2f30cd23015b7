/* sockshim: the library's side of rendering: the render environment of
 * its own process, and the buffer a line is built in before the sink
 * takes it. */
#include "render.h"

#include <stddef.h>
#include <string.h>
#include <sys/mman.h>

#include "audit.h"
#include "call_record.h"
#include "fault.h"
#include "internal.h"
#include "ledger.h"
#include "model.h"
#include "sink.h"

/* ---- the render environment (render_call.h) ----------------------------- */

int ss_render_pid(void)
{
    return ss_pid();
}

int ss_render_tid(void)
{
    return ss_tid();
}

int ss_render_multithreaded(void)
{
    return ss_multithreaded();
}

long ss_render_utc_offset_s(void)
{
    return ss_utc_offset_s();
}

size_t ss_render_strsize(void)
{
    return ss_config.strsize;
}

const char *ss_render_rule_text(const struct ss_call *c)
{
    return ss_fault_rule_text(c->fault - 1);
}

/* ---- the formats a line goes out in ------------------------------------ */

/* The configured one; both for a record file, which `sockshim render`
 * turns into either (raw_file.h). */
static unsigned configured_formats(void)
{
    switch (ss_config.format) {
    case SS_FORMAT_TEXT:
        return SS_RENDER_TEXT;
    case SS_FORMAT_JSON:
        return SS_RENDER_JSON;
    case SS_FORMAT_RAW:
        break;
    }
    return SS_RENDER_TEXT | SS_RENDER_JSON;
}

int ss_render_wants_names(void)
{
    return ss_config.format != SS_FORMAT_TEXT;
}

/* A record file's calls: the renderings the thread's current call shows
 * in (trace.c: a sendall loop's calls differ between text and JSON). */
static __thread unsigned call_formats;

unsigned ss_render_calls_in(unsigned formats)
{
    unsigned was = call_formats;
    call_formats = formats;
    return was;
}

static unsigned formats_of_calls(void)
{
    return call_formats != 0 ? call_formats : configured_formats();
}

/* ---- the line buffer -------------------------------------------------- */

typedef void render_fn(struct ss_out *o, const void *arg, int json);

/* A record longer than the stack buffer, with no memory to render it
 * whole (the address space is exhausted): what fits is written such that
 * every line stays a line of the format. In text, the complete lines (a
 * summary is many), or the start of the one line, then a note; in JSON,
 * whose record cannot be cut, a record of type "cut" saying how many bytes
 * were not written. */
static void emit_cut(char *buf, size_t cap, size_t need, int json)
{
    static const char note[] = " ... (cut: out of memory)\n";
    if (json) {
        struct ss_out o;
        ss_out_init(&o, buf, cap);
        ss_out_str(&o, "{\"v\": 1, \"type\": \"cut\", \"pid\": ");
        ss_out_i64(&o, ss_pid());
        ss_out_str(&o, ", \"tid\": ");
        ss_out_i64(&o, ss_tid());
        ss_out_str(&o, ", \"bytes\": ");
        ss_out_u64(&o, need);
        ss_out_str(&o, ", \"reason\": \"out of memory\"}\n");
        ss_sink_emit(buf, o.len);
        return;
    }
    /* several lines (a summary): the whole ones that leave room for one
     * more, with the first one's time and pid, saying the rest is missing */
    static const char rest[] = "# ... (the rest: out of memory)\n";
    const char *head_end = memmem(buf, cap, "] ", 2);
    size_t head = head_end != NULL ? (size_t)(head_end - buf) + 2 : cap;
    const char *last = head + sizeof rest < cap
                           ? memrchr(buf, '\n', cap - head - (sizeof rest - 1))
                           : NULL;
    if (last != NULL && head_end < last) {
        size_t keep = (size_t)(last - buf) + 1;
        memmove(buf + keep, buf, head);
        memcpy(buf + keep + head, rest, sizeof rest - 1);
        ss_sink_emit(buf, keep + head + sizeof rest - 1);
        return;
    }
    size_t keep = cap - (sizeof note - 1);
    memcpy(buf + keep, note, sizeof note - 1);
    ss_sink_emit(buf, cap);
}

/* Most lines fit on the stack; a longer one (a large -s) is measured by the
 * first pass and rendered again into a mapping of the size it needs. */
static void render_and_emit_as(render_fn *fn, const void *arg, int json)
{
    char stack_buf[2048];
    struct ss_out o;
    ss_out_init(&o, stack_buf, sizeof stack_buf);
    fn(&o, arg, json);
    if (!ss_out_overflowed(&o)) {
        ss_sink_emit(stack_buf, o.len);
        return;
    }
    size_t need = o.len;
    void *big = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) {
        emit_cut(stack_buf, sizeof stack_buf, need, json);
        return;
    }
    ss_out_init(&o, big, need);
    fn(&o, arg, json);
    ss_sink_emit(big, o.len < need ? o.len : need);
    munmap(big, need);
}

/* The line in each of formats (text first). */
static void render_and_emit(render_fn *fn, const void *arg, unsigned formats)
{
    if (formats & SS_RENDER_TEXT)
        render_and_emit_as(fn, arg, 0);
    if (formats & SS_RENDER_JSON)
        render_and_emit_as(fn, arg, 1);
}

static void render_call(struct ss_out *o, const void *arg, int json)
{
    if (json)
        ss_json_call(o, arg);
    else
        ss_text_call(o, arg);
}

static void render_start(struct ss_out *o, const void *arg, int json)
{
    const uint64_t *now = arg;
    if (json)
        ss_json_start(o, *now);
    else
        ss_text_start(o, *now);
}

/* A process says who it is (its header) before its first line: one that
 * touches no socket, such as the shell commands of a script, writes no
 * line (trace.c: fork lines; summary_wanted) and so leaves no trace. */
static _Atomic int header_written;

static void write_header_once(uint64_t when_ns)
{
    int expected = 0;
    if (atomic_load_explicit(&header_written, memory_order_acquire) ||
        !atomic_compare_exchange_strong_explicit(&header_written, &expected, 1,
                                                 memory_order_acq_rel, memory_order_acquire))
        return;
    ss_ledger_name(); /* the command knows whose lines come before the first */
    render_and_emit(render_start, &when_ns, configured_formats());
}

/* Under the command, a call goes into the ring as a binary record and the
 * command renders its line; 0 when it did. */
static int record_call(const struct ss_call *c, int loop)
{
    if (ss_config.render_in_process || !ss_callrec_fits(c))
        return -1;
    int raw = ss_config.format == SS_FORMAT_RAW;
    unsigned formats = raw ? formats_of_calls() : 0;
    struct ss_callrec_who who = {
        .pid = ss_pid(), .tid = ss_tid(), .multithreaded = ss_multithreaded(),
        .json = ss_config.format == SS_FORMAT_JSON, .loop = loop,
        .in_text = raw && (formats & SS_RENDER_TEXT), .in_json = raw && (formats & SS_RENDER_JSON),
        .utc_offset_s = ss_utc_offset_s(), .strsize = ss_config.strsize,
        .rule_text = c->fault != 0 ? ss_fault_rule_text(c->fault - 1) : NULL};
    struct ss_callrec_room room;
    struct iovec iov[SS_CALLREC_IOV_MAX];
    size_t len;
    int n = ss_callrec_freeze(c, &who, &room, iov, &len);
    if (n < 0 || ss_sink_emit_record(iov, n, len) != 0)
        return -1;
    /* Only a record that holds the socket whole counts: a snapshot a signal
     * handler could not take (the lock was its own thread's) holds none
     * (id 0). A closed socket is forgotten by the command with this
     * record: a call another thread still had in flight on it gives it
     * whole again. */
    const struct ss_sockinfo *s = c->sock;
    if (s != NULL && s->owner != NULL && s->id != 0 && !s->by_reference &&
        !(s->state & SS_ST_CLOSED))
        ss_model_mark_recorded(s->owner, s->version);
    return 0;
}

/* A call whose socket was to go by reference is rendered here after all
 * (the ring did not take its record): its socket whole, as it is now. */
static void render_whole(const struct ss_call *c, render_fn *fn, unsigned formats)
{
    if (c->sock == NULL || !c->sock->by_reference) {
        render_and_emit(fn, c, formats);
        return;
    }
    struct ss_sockinfo sock;
    struct ss_call whole = *c;
    ss_model_snapshot(c->sock->owner, c->fd, &sock, ss_render_wants_names());
    whole.sock = &sock;
    render_and_emit(fn, &whole, formats);
}

void ss_render_call(const struct ss_call *c)
{
    if (!ss_sink_enabled())
        return;
    write_header_once(c->t_end_ns); /* stamped like the line it heads */
    if (record_call(c, 0) != 0)
        render_whole(c, render_call, formats_of_calls());
}

static void render_loop(struct ss_out *o, const void *arg, int json)
{
    if (json)
        ss_json_loop(o, arg);
    else
        ss_text_call(o, arg);
}

void ss_render_loop(const struct ss_call *c)
{
    if (!ss_sink_enabled())
        return;
    write_header_once(c->t_end_ns);
    if (record_call(c, 1) != 0) /* only JSON and record files have loop records */
        render_whole(c, render_loop, formats_of_calls());
}

static void render_note(struct ss_out *o, const void *arg, int json)
{
    if (json)
        ss_json_note(o, arg);
    else
        ss_text_note(o, arg);
}

void ss_render_note(const struct ss_call *c)
{
    if (!ss_sink_enabled())
        return;
    write_header_once(c->t_end_ns);
    render_whole(c, render_note, configured_formats()); /* a note is in every rendering */
}

static void render_finding(struct ss_out *o, const void *arg, int json)
{
    const int *index = arg;
    if (json)
        ss_json_finding(o, *index);
    else
        ss_text_finding(o, *index);
}

struct rule_change {
    int number, added;
    uint64_t now;
};

static void render_rule_change(struct ss_out *o, const void *arg, int json)
{
    const struct rule_change *r = arg;
    if (json)
        ss_json_rule_change(o, r->number, r->added, r->now);
    else
        ss_text_rule_change(o, r->number, r->added, r->now);
}

void ss_render_rule_change(int number, int added)
{
    if (!ss_sink_enabled())
        return;
    struct rule_change r = {number, added, ss_now_ns()};
    write_header_once(r.now);
    render_and_emit(render_rule_change, &r, configured_formats());
}

struct tracing_change {
    int paused;
    uint64_t not_written, now;
};

static void render_tracing_change(struct ss_out *o, const void *arg, int json)
{
    const struct tracing_change *t = arg;
    if (json)
        ss_json_tracing_change(o, t->paused, t->not_written, t->now);
    else
        ss_text_tracing_change(o, t->paused, t->not_written, t->now);
}

void ss_render_tracing_change(int paused, uint64_t not_written)
{
    if (!ss_sink_enabled())
        return;
    struct tracing_change t = {paused, not_written, ss_now_ns()};
    write_header_once(t.now);
    render_and_emit(render_tracing_change, &t, configured_formats());
}

void ss_render_finding(int index)
{
    if (!ss_sink_enabled())
        return;
    write_header_once(ss_now_ns());
    render_and_emit(render_finding, &index, configured_formats());
}

static void render_summary(struct ss_out *o, const void *arg, int json)
{
    const uint64_t *now = arg;
    if (json)
        ss_json_summary(o, *now);
    else
        ss_text_summary(o, *now);
}

/* A process writes its summary when the trace shows it: it touched a
 * socket, or wrote a line all the same (a fork, when -e named fork), or
 * the user asked for every process that made a call (--all-processes).
 * The summary of a shell that only forked would say nothing of sockets. */
static int summary_wanted(void)
{
    return ss_audit_touched_socket() ||
           atomic_load_explicit(&header_written, memory_order_acquire) ||
           (ss_config.all_processes && ss_audit_saw_calls());
}

void ss_render_summary(void)
{
    if (!ss_sink_enabled() || !summary_wanted())
        return;
    uint64_t now = ss_now_ns();
    write_header_once(now);
    render_and_emit(render_summary, &now, configured_formats());
}

struct exec_failure {
    const char *program;
    int err;
    uint64_t now;
};

static void render_exec_failed(struct ss_out *o, const void *arg, int json)
{
    const struct exec_failure *f = arg;
    if (json)
        ss_json_exec_failed(o, f->program, f->err, f->now);
    else
        ss_text_exec_failed(o, f->program, f->err, f->now);
}

/* Said where the summary was: the same processes, the same options. */
void ss_render_exec_failed(const char *program, int err)
{
    if (!ss_sink_enabled() || ss_config.summary == SS_SUMMARY_OFF || !summary_wanted())
        return;
    struct exec_failure f = {program, err, ss_now_ns()};
    write_header_once(f.now);
    render_and_emit(render_exec_failed, &f, configured_formats());
}

void ss_render_process_start(void)
{
    atomic_store_explicit(&header_written, 0, memory_order_release);
}

