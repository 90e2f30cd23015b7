/* sockshim report --perfetto FILE: the merged run as Chrome trace-event
 * JSON, which ui.perfetto.dev and chrome://tracing open.
 *
 *   {"displayTimeUnit": "ns", "metadata": {...}, "traceEvents": [
 *     {"ph": "M", "name": "process_name", ...}, {"ph": "M", "name": "thread_name", ...},
 *     {"ph": "X", ...} one complete slice per call, its arguments in "args",
 *     {"ph": "s", ...} {"ph": "f", "bp": "e", ...} a flow from each send to the first
 *                      receive that got its bytes,
 *     {"ph": "i", "s": "t", ...} an instant per fault and per finding]}
 *
 * Times are microseconds (three decimals: nanoseconds) from the run's first
 * call in the reference clock (metadata: t0_unix_us, and each host's
 * offset). With more than one host, pids and tids are made distinct per
 * host: host number * 2^22 (the kernel's PID_MAX_LIMIT) plus the pid.
 * Written as it goes: no document is held in memory.
 */
#include <stdlib.h>

#include "json_out.h"
#include "options.h"
#include "report.h"
#include "say.h"
#include "sockshim/ops.h"
#include "timeline.h"

#define PID_SPAN ((uint64_t)1 << 22)

struct perfetto {
    struct ss_jw w;
    struct tl_view v;
    int first; /* no event written yet */
};

static uint64_t shown_pid(const struct perfetto *p, uint32_t host, long long pid)
{
    uint64_t base = p->v.nhosts > 1 ? host * PID_SPAN : 0;
    return base + (uint64_t)pid;
}

/* ,{"ph":"X","pid":P,"tid":T,"ts":ts (the start of an event) */
static void begin_event(struct perfetto *p, const char *ph, uint32_t lane, int64_t t_ns)
{
    const struct tl_lane *l = &p->v.lanes[lane];
    ss_jw_text(&p->w, p->first ? "\n{\"ph\":" : ",\n{\"ph\":");
    p->first = 0;
    ss_jw_str(&p->w, ph);
    ss_jw_text(&p->w, ",\"pid\":");
    ss_jw_u64(&p->w, shown_pid(p, l->host, l->pid));
    ss_jw_text(&p->w, ",\"tid\":");
    ss_jw_u64(&p->w, shown_pid(p, l->host, l->tid));
    ss_jw_text(&p->w, ",\"ts\":");
    ss_jw_us3(&p->w, t_ns - p->v.t0_ns);
}

static void write_name(struct perfetto *p, const struct tl_lane *l, int thread)
{
    char buf[512];
    const char *exe = ss_tl_lane_program(l);
    if (thread)
        snprintf(buf, sizeof buf, "%s %lld:%lld", exe, l->pid, l->tid);
    else if (p->v.nhosts > 1)
        snprintf(buf, sizeof buf, "%s %lld on %s", exe, l->pid, p->v.hosts[l->host].name);
    else
        snprintf(buf, sizeof buf, "%s %lld", exe, l->pid);
    ss_jw_text(&p->w, ",\"args\":{\"name\":");
    ss_jw_str(&p->w, buf);
    ss_jw_text(&p->w, "}}");
}

static const struct tl_lane *sorting_lanes; /* qsort has no context argument */

static int by_process(const void *x, const void *y)
{
    const struct tl_lane *a = &sorting_lanes[*(const uint32_t *)x],
                         *b = &sorting_lanes[*(const uint32_t *)y];
    if (a->host != b->host)
        return a->host < b->host ? -1 : 1;
    if (a->pid != b->pid)
        return a->pid < b->pid ? -1 : 1;
    return (a->tid > b->tid) - (a->tid < b->tid);
}

/* A process_name per process and a thread_name per lane. */
static void write_names(struct perfetto *p)
{
    uint32_t *by = malloc((p->v.nlanes + 1) * sizeof *by);
    if (by == NULL)
        ss_die("out of memory");
    for (size_t i = 0; i < p->v.nlanes; i++)
        by[i] = (uint32_t)i;
    sorting_lanes = p->v.lanes;
    if (p->v.nlanes > 1)
        qsort(by, p->v.nlanes, sizeof *by, by_process);
    for (size_t k = 0; k < p->v.nlanes; k++) {
        const struct tl_lane *l = &p->v.lanes[by[k]], *before = k ? &p->v.lanes[by[k - 1]] : NULL;
        if (before == NULL || before->host != l->host || before->pid != l->pid) {
            begin_event(p, "M", by[k], p->v.t0_ns);
            ss_jw_text(&p->w, ",\"name\":\"process_name\"");
            write_name(p, l, 0);
        }
        begin_event(p, "M", by[k], p->v.t0_ns);
        ss_jw_text(&p->w, ",\"name\":\"thread_name\"");
        write_name(p, l, 1);
    }
    free(by);
}

static const char *op_name(uint16_t op)
{
    return op < SS_OP_COUNT ? ss_op_name((enum ss_op)op) : "?";
}

static void write_call(struct perfetto *p, uint32_t i)
{
    const struct tl_call *c = &p->v.calls[i];
    begin_event(p, "X", c->lane, c->t_ns);
    ss_jw_text(&p->w, ",\"dur\":");
    ss_jw_us3(&p->w, (int64_t)c->dur_ns);
    ss_jw_text(&p->w, ",\"name\":");
    ss_jw_str(&p->w, op_name(c->op));
    ss_jw_text(&p->w, ",\"cat\":\"socket\",\"args\":{\"bytes\":");
    ss_jw_u64(&p->w, c->bytes);
    uint32_t conn = ss_tl_conn_of_call(&p->v, i);
    if (conn != TL_NONE) {
        ss_jw_text(&p->w, ",\"connection\":");
        ss_jw_u64(&p->w, conn);
    }
    if (c->flags & TL_RAISED)
        ss_jw_text(&p->w, ",\"raised\":true");
    if (c->flags & TL_FAULTED)
        ss_jw_text(&p->w, ",\"faulted\":true");
    const char *text = ss_tl_text(&p->v, i);
    if (text != NULL) {
        ss_jw_text(&p->w, ",\"call\":");
        ss_jw_str(&p->w, text);
    }
    ss_jw_text(&p->w, "}}");
}

static void write_flows(struct perfetto *p)
{
    for (size_t k = 0; k < p->v.nflows; k++) {
        const struct tl_flow *f = &p->v.flows[k];
        const struct tl_call *s = &p->v.calls[f->send], *r = &p->v.calls[f->recv];
        begin_event(p, "s", s->lane, s->t_ns);
        ss_jw_text(&p->w, ",\"name\":\"bytes\",\"cat\":\"flow\",\"id\":");
        ss_jw_u64(&p->w, k + 1);
        ss_jw_text(&p->w, "}");
        begin_event(p, "f", r->lane, r->t_ns);
        ss_jw_text(&p->w, ",\"bp\":\"e\",\"name\":\"bytes\",\"cat\":\"flow\",\"id\":");
        ss_jw_u64(&p->w, k + 1);
        ss_jw_text(&p->w, "}");
    }
}

static void write_instant(struct perfetto *p, uint32_t lane, int64_t t_ns, const char *what,
                          const char *name, const char *detail)
{
    char title[256];
    snprintf(title, sizeof title, "%s: %s", what, name);
    begin_event(p, "i", lane, t_ns);
    ss_jw_text(&p->w, ",\"s\":\"t\",\"cat\":");
    ss_jw_str(&p->w, what);
    ss_jw_text(&p->w, ",\"name\":");
    ss_jw_str(&p->w, title);
    ss_jw_text(&p->w, ",\"args\":{\"detail\":");
    ss_jw_str(&p->w, detail);
    ss_jw_text(&p->w, "}}");
}

static void write_instants(struct perfetto *p)
{
    for (size_t k = 0; k < p->v.nfaults; k++) {
        const struct tl_call *c = &p->v.calls[p->v.faults[k].call];
        write_instant(p, c->lane, c->t_ns, "fault", p->v.faults[k].rule, p->v.faults[k].rule);
    }
    for (size_t k = 0; k < p->v.nfindings; k++) {
        const struct tl_finding *f = &p->v.findings[k];
        int64_t t = f->call != TL_NONE ? p->v.calls[f->call].t_ns : f->t_ns;
        write_instant(p, f->lane, t, "finding", f->code, f->message);
    }
}

static void write_metadata(struct perfetto *p)
{
    ss_jw_text(&p->w, "{\"displayTimeUnit\":\"ns\",\"metadata\":{\"generator\":\"sockshim report\","
                      "\"t0_unix_us\":");
    ss_jw_i64(&p->w, p->v.t0_ns / 1000);
    ss_jw_text(&p->w, ",\"hosts\":[");
    for (size_t i = 0; i < p->v.nhosts; i++) {
        const struct tl_host *h = &p->v.hosts[i];
        ss_jw_text(&p->w, i ? ",{\"name\":" : "{\"name\":");
        ss_jw_str(&p->w, h->name);
        ss_jw_text(&p->w, ",\"boot_id\":");
        ss_jw_str(&p->w, h->boot_id);
        ss_jw_text(&p->w, ",\"offset_us\":");
        ss_jw_us3(&p->w, h->offset_ns);
        ss_jw_text(&p->w, ",\"uncertainty_us\":");
        if (h->uncertainty_ns >= 0)
            ss_jw_us3(&p->w, h->uncertainty_ns);
        else
            ss_jw_text(&p->w, "null");
        ss_jw_text(&p->w, ",\"basis\":");
        ss_jw_str(&p->w, h->basis != NULL ? h->basis : "");
        ss_jw_text(&p->w, "}");
    }
    ss_jw_text(&p->w, "]},\"traceEvents\":[");
}

void ss_report_write_perfetto(const struct ss_timeline *tl, const char *path)
{
    struct perfetto p = {.first = 1};
    ss_tl_view(tl, &p.v);
    ss_jw_open(&p.w, path, 0);
    write_metadata(&p);
    write_names(&p);
    for (size_t k = 0; k < p.v.ncalls; k++)
        write_call(&p, p.v.order[k]);
    write_flows(&p);
    write_instants(&p);
    ss_jw_text(&p.w, "\n]}\n");
    ss_jw_close(&p.w);
}
