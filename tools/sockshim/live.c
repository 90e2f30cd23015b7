/* sockshim: the command's side of the run's live counts (live.h). */
#include "live.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "fmt.h"
#include "live_stats.h"
#include "method_table.h"
#include "options.h"
#include "shared_memory.h"
#include "xlat.h"

/* A process's counts as read once (a plain copy of a slot's). */
struct counts {
    struct ss_method_stats op[SS_OP_COUNT];
    uint64_t findings[SS_FINDING_COUNT];
    int64_t sockets_open;
    uint64_t sockets_made;
};

static struct ss_live_stats *live;
static struct counts ended;        /* the processes folded so far */
static uint64_t ended_processes;

int ss_live_make(int floor)
{
    int fd;
    live = ss_shared_memory_make("sockshim-live", sizeof *live, floor, &fd);
    if (live == NULL)
        return -1;
    live->magic = SS_LIVE_MAGIC;
    live->slots = SS_LIVE_SLOTS;
    struct stat st;
    live->pid_ns = stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
    return fd;
}

static void read_counts(const struct ss_live_counts *k, struct counts *out)
{
    for (int op = 0; op < SS_OP_COUNT; op++) {
        const struct ss_live_op *o = &k->op[op];
        out->op[op] = (struct ss_method_stats){
            atomic_load_explicit(&o->calls, memory_order_relaxed),
            atomic_load_explicit(&o->errors, memory_order_relaxed),
            atomic_load_explicit(&o->faults, memory_order_relaxed),
            atomic_load_explicit(&o->bytes, memory_order_relaxed),
            atomic_load_explicit(&o->time_ns, memory_order_relaxed)};
    }
    for (int f = 0; f < SS_FINDING_COUNT; f++)
        out->findings[f] = atomic_load_explicit(&k->findings[f], memory_order_relaxed);
    out->sockets_open = atomic_load_explicit(&k->sockets_open, memory_order_relaxed);
    out->sockets_made = atomic_load_explicit(&k->sockets_made, memory_order_relaxed);
}

static void add_counts(struct counts *sum, const struct counts *c)
{
    for (int op = 0; op < SS_OP_COUNT; op++) {
        sum->op[op].calls += c->op[op].calls;
        sum->op[op].errors += c->op[op].errors;
        sum->op[op].faults += c->op[op].faults;
        sum->op[op].bytes += c->op[op].bytes;
        sum->op[op].time_ns += c->op[op].time_ns;
    }
    for (int f = 0; f < SS_FINDING_COUNT; f++)
        sum->findings[f] += c->findings[f];
    sum->sockets_made += c->sockets_made;
    /* an ended process has no socket open: the kernel closed them */
}

static uint32_t high_mark(void)
{
    uint32_t high = atomic_load_explicit(&live->high, memory_order_acquire);
    return high < SS_LIVE_SLOTS ? high : SS_LIVE_SLOTS;
}

/* A running slot whose process is no more (a fatal signal, SIGKILL): it
 * will never mark itself ended. */
static int gone(const struct ss_live_slot *s)
{
    return s->pid > 0 && !s->foreign && kill(s->pid, 0) != 0 && errno == ESRCH;
}

static int take_for_folding(struct ss_live_slot *s, uint32_t from)
{
    return atomic_compare_exchange_strong_explicit(&s->state, &from, SS_LIVE_FOLDING,
                                                   memory_order_acquire, memory_order_relaxed);
}

void ss_live_sweep(void)
{
    if (live == NULL)
        return;
    for (uint32_t i = 0; i < high_mark(); i++) {
        struct ss_live_slot *s = &live->slot[i];
        uint32_t state = atomic_load_explicit(&s->state, memory_order_acquire);
        if (!(state == SS_LIVE_ENDED && take_for_folding(s, SS_LIVE_ENDED)) &&
            !(state == SS_LIVE_RUNNING && gone(s) && take_for_folding(s, SS_LIVE_RUNNING)))
            continue;
        struct counts c;
        read_counts(&s->counts, &c);
        add_counts(&ended, &c);
        ended_processes++;
        atomic_store_explicit(&s->state, SS_LIVE_FREE, memory_order_release);
    }
}

/* A running process as stats shows it. */
struct running {
    int pid;
    char exe[SS_LIVE_EXE_MAX + 1];
    uint64_t running_ns;
    struct counts counts;
};

/* Calls fn for each running process, after folding the ended ones. */
static void each_running(void (*fn)(const struct running *r, void *arg), void *arg)
{
    ss_live_sweep();
    uint64_t now = ss_output_clock_ns();
    static struct running r; /* large; stats are asked from one thread */
    for (uint32_t i = 0; i < high_mark(); i++) {
        const struct ss_live_slot *s = &live->slot[i];
        if (atomic_load_explicit(&s->state, memory_order_acquire) != SS_LIVE_RUNNING)
            continue;
        r.pid = s->pid;
        size_t n = strnlen(s->exe, sizeof s->exe);
        memcpy(r.exe, s->exe, n);
        r.exe[n] = '\0';
        r.running_ns = now > s->started_ns ? now - s->started_ns : 0;
        read_counts(&s->counts, &r.counts);
        fn(&r, arg);
    }
}

/* ---- for people ---------------------------------------------------------- */

/* Every method's counts summed. */
static struct ss_method_stats total_of(const struct counts *c)
{
    struct ss_method_stats t = {0, 0, 0, 0, 0};
    for (int op = 0; op < SS_OP_COUNT; op++) {
        t.calls += c->op[op].calls;
        t.errors += c->op[op].errors;
        t.faults += c->op[op].faults;
    }
    return t;
}

static uint64_t findings_of(const struct counts *c)
{
    uint64_t sum = 0;
    for (int f = 0; f < SS_FINDING_COUNT; f++)
        sum += c->findings[f];
    return sum;
}

static void out_plural(struct ss_out *o, uint64_t n, const char *one, const char *many)
{
    ss_out_u64(o, n);
    ss_out_char(o, ' ');
    ss_out_str(o, n == 1 ? one : many);
}

/* ": 2 sockets open (5 made), 120 calls, 3 errors, 2 faults, 1 finding
 * (lost-bytes 1)" */
static void out_totals(struct ss_out *o, const struct counts *c, int open)
{
    ss_out_str(o, ": ");
    if (open) {
        out_plural(o, (uint64_t)(c->sockets_open > 0 ? c->sockets_open : 0), "socket open",
                   "sockets open");
        ss_out_str(o, " (");
        ss_out_u64(o, c->sockets_made);
        ss_out_str(o, " made), ");
    } else {
        out_plural(o, c->sockets_made, "socket made, ", "sockets made, ");
    }
    struct ss_method_stats t = total_of(c);
    out_plural(o, t.calls, "call", "calls");
    ss_out_str(o, ", ");
    out_plural(o, t.errors, "error", "errors");
    ss_out_str(o, ", ");
    out_plural(o, t.faults, "fault", "faults");
    ss_out_str(o, ", ");
    out_plural(o, findings_of(c), "finding", "findings");
    const char *sep = " (";
    for (int f = 0; f < SS_FINDING_COUNT; f++) {
        if (c->findings[f] == 0)
            continue;
        ss_out_str(o, sep);
        ss_out_str(o, ss_finding_code((enum ss_finding)f));
        ss_out_char(o, ' ');
        ss_out_u64(o, c->findings[f]);
        sep = ", ";
    }
    if (sep[0] == ',')
        ss_out_char(o, ')');
}

static void emit(struct ss_out *o, ss_live_line_fn *line, void *arg)
{
    o->buf[o->len < o->cap ? o->len : o->cap] = '\0';
    line(arg, o->buf);
    o->len = 0;
}

static void text_methods(const struct counts *c, ss_live_line_fn *line, void *arg)
{
    char buf[256];
    struct ss_out o;
    ss_out_init(&o, buf, sizeof buf - 1);
    ss_out_str(&o, "  ");
    ss_out_method_header(&o);
    emit(&o, line, arg);
    for (int op = 0; op < SS_OP_COUNT; op++) {
        if (c->op[op].calls == 0)
            continue;
        ss_out_str(&o, "  ");
        ss_out_method_row(&o, (enum ss_op)op, &c->op[op]);
        emit(&o, line, arg);
    }
}

struct text_out {
    ss_live_line_fn *line;
    void *arg;
};

static void text_running(const struct running *r, void *arg)
{
    const struct text_out *t = arg;
    char buf[512];
    struct ss_out o;
    ss_out_init(&o, buf, sizeof buf - 1);
    ss_out_str(&o, "pid ");
    ss_out_i64(&o, r->pid);
    ss_out_char(&o, ' ');
    ss_out_pystr(&o, r->exe, strlen(r->exe));
    ss_out_str(&o, " running ");
    ss_out_duration(&o, r->running_ns);
    out_totals(&o, &r->counts, 1);
    emit(&o, t->line, t->arg);
    text_methods(&r->counts, t->line, t->arg);
}

void ss_live_text(ss_live_line_fn *line, void *arg)
{
    if (live == NULL)
        return;
    struct text_out t = {line, arg};
    each_running(text_running, &t);
    char buf[512];
    struct ss_out o;
    ss_out_init(&o, buf, sizeof buf - 1);
    if (ended_processes > 0) {
        ss_out_str(&o, "ended: ");
        out_plural(&o, ended_processes, "process", "processes");
        out_totals(&o, &ended, 0);
        emit(&o, line, arg);
        text_methods(&ended, line, arg);
    }
    uint64_t without = atomic_load_explicit(&live->without_slot, memory_order_relaxed);
    if (without > 0) {
        out_plural(&o, without, "process", "processes");
        ss_out_str(&o, " not counted (more than ");
        ss_out_u64(&o, SS_LIVE_SLOTS);
        ss_out_str(&o, " at once)");
        emit(&o, line, arg);
    }
}

/* ---- for programs -------------------------------------------------------- */

static json_t *json_counts(const struct counts *c, int open)
{
    json_t *j = json_object();
    if (open)
        json_object_set_new(j, "sockets_open", json_integer(c->sockets_open));
    json_object_set_new(j, "sockets_made", json_integer((json_int_t)c->sockets_made));
    json_t *methods = json_object();
    for (int op = 0; op < SS_OP_COUNT; op++) {
        const struct ss_method_stats *m = &c->op[op];
        if (m->calls == 0)
            continue;
        json_t *row = json_object();
        json_object_set_new(row, "calls", json_integer((json_int_t)m->calls));
        json_object_set_new(row, "errors", json_integer((json_int_t)m->errors));
        json_object_set_new(row, "faults", json_integer((json_int_t)m->faults));
        json_object_set_new(row, "bytes", json_integer((json_int_t)m->bytes));
        json_object_set_new(row, "time_ns", json_integer((json_int_t)m->time_ns));
        json_object_set_new(methods, ss_op_name((enum ss_op)op), row);
    }
    json_object_set_new(j, "methods", methods);
    json_t *findings = json_object();
    for (int f = 0; f < SS_FINDING_COUNT; f++)
        if (c->findings[f] != 0)
            json_object_set_new(findings, ss_finding_code((enum ss_finding)f),
                                json_integer((json_int_t)c->findings[f]));
    json_object_set_new(j, "findings", findings);
    return j;
}

/* The program's name, as a JSON string whatever its bytes (a name that
 * is not UTF-8 has its bytes as \xNN). */
static json_t *json_exe(const char *exe, size_t n)
{
    char buf[SS_LIVE_EXE_MAX * 4 + 1];
    struct ss_out o;
    ss_out_init(&o, buf, sizeof buf - 1);
    ss_out_safe_n(&o, exe, n);
    buf[o.len < o.cap ? o.len : o.cap] = '\0';
    return json_string(buf);
}

static void json_running(const struct running *r, void *arg)
{
    json_t *p = json_object();
    json_object_set_new(p, "pid", json_integer(r->pid));
    json_object_set_new(p, "exe", json_exe(r->exe, strlen(r->exe)));
    json_object_set_new(p, "running_ns", json_integer((json_int_t)r->running_ns));
    json_object_update_new(p, json_counts(&r->counts, 1));
    json_array_append_new(arg, p);
}

void ss_live_json(ss_live_line_fn *line, void *arg)
{
    if (live == NULL)
        return;
    json_t *top = json_object(), *procs = json_array();
    each_running(json_running, procs);
    json_object_set_new(top, "processes", procs);
    json_t *e = json_object();
    json_object_set_new(e, "processes", json_integer((json_int_t)ended_processes));
    json_object_update_new(e, json_counts(&ended, 0));
    json_object_set_new(top, "ended", e);
    json_object_set_new(top, "not_counted",
                        json_integer((json_int_t)atomic_load_explicit(&live->without_slot,
                                                                      memory_order_relaxed)));
    char *text = json_dumps(top, JSON_COMPACT | JSON_ENSURE_ASCII);
    json_decref(top);
    if (text != NULL)
        line(arg, text);
    free(text);
}
