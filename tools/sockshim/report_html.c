/* sockshim report --html FILE: one self-contained page of the run.
 *
 * The page (report_page/page.html: markup, style and script in one file)
 * is built into the command (CMake makes report_page.c of it) and written
 * out with its one placeholder, @SOCKSHIM_DATA@, replaced by the run's
 * data as JSON (the contract between the two: docs/report.md, "The data").
 * The data sits in a <script type="application/json"> element: every '<',
 * '>' and '&' in it is written as a \u escape (json_out.c), so nothing a
 * trace holds ("</script>" in an exe name or a unix path) can end the
 * element. Written as it goes: no document is held in memory.
 *
 * What is aggregated: each connection's events are bursts (a side's sends
 * summed until another event of the connection), at most TL_EVENTS_MAX of them; the
 * calls' text lines only when the run has at most TEXT_MAX calls.
 */
#include <stdlib.h>
#include <string.h>

#include "json_out.h"
#include "options.h"
#include "report.h"
#include "say.h"
#include "sockshim/ops.h"
#include "timeline.h"

#define TEXT_MAX 200000
#define PLACEHOLDER "@SOCKSHIM_DATA@"

extern const unsigned char ss_report_page[];
extern const size_t ss_report_page_len;

struct page {
    struct ss_jw w;
    struct tl_view v;
    uint32_t *lane_pos; /* by lane: its place in the page's order */
    const char *title;
};

/* ---- small pieces --------------------------------------------------------------- */

/* Microseconds from t0. */
static int64_t rel_us(const struct page *p, int64_t t_ns)
{
    return (t_ns - p->v.t0_ns) / 1000;
}

static void sep(struct page *p, size_t k)
{
    if (k > 0)
        ss_jw_text(&p->w, ",");
}

static void key_str(struct page *p, const char *key, const char *v)
{
    ss_jw_key(&p->w, key);
    ss_jw_str(&p->w, v);
}

static void key_i64(struct page *p, const char *key, int64_t v)
{
    ss_jw_key(&p->w, key);
    ss_jw_i64(&p->w, v);
}

static int64_t lane_or_none(const struct page *p, uint32_t lane)
{
    return lane == TL_NONE ? -1 : (int64_t)p->lane_pos[lane];
}

static int64_t call_or_none(const struct page *p, uint32_t call)
{
    return call == TL_NONE ? -1 : (int64_t)p->v.rank[call];
}

/* ---- the parts ------------------------------------------------------------------- */

static void write_hosts(struct page *p)
{
    ss_jw_text(&p->w, ",\"hosts\":[");
    for (size_t i = 0; i < p->v.nhosts; i++) {
        const struct tl_host *h = &p->v.hosts[i];
        sep(p, i);
        ss_jw_text(&p->w, "{");
        key_str(p, "name", h->name);
        ss_jw_text(&p->w, ",");
        key_i64(p, "offset_us", h->offset_ns / 1000);
        ss_jw_text(&p->w, ",");
        key_str(p, "basis", h->basis != NULL ? h->basis : "");
        ss_jw_text(&p->w, ",");
        key_str(p, "boot_id", h->boot_id);
        ss_jw_text(&p->w, ",\"uncertainty_us\":");
        if (h->uncertainty_ns >= 0)
            ss_jw_i64(&p->w, (h->uncertainty_ns + 999) / 1000);
        else
            ss_jw_text(&p->w, "null");
        ss_jw_text(&p->w, "}");
    }
    ss_jw_text(&p->w, "]");
}

/* Lanes in the order their first calls came (lanes with none last). */
static uint32_t *order_lanes(const struct tl_view *v, uint32_t **by_pos)
{
    uint32_t *pos = malloc((v->nlanes + 1) * sizeof *pos);
    uint32_t *by = malloc((v->nlanes + 1) * sizeof *by);
    if (pos == NULL || by == NULL)
        ss_die("out of memory");
    for (size_t i = 0; i < v->nlanes; i++)
        pos[i] = TL_NONE;
    uint32_t next = 0;
    for (size_t k = 0; k < v->ncalls; k++) {
        uint32_t lane = v->calls[v->order[k]].lane;
        if (pos[lane] == TL_NONE) {
            by[next] = lane;
            pos[lane] = next++;
        }
    }
    for (size_t i = 0; i < v->nlanes; i++)
        if (pos[i] == TL_NONE) {
            by[next] = (uint32_t)i;
            pos[i] = next++;
        }
    *by_pos = by;
    return pos;
}

static void write_lanes(struct page *p, const uint32_t *by_pos)
{
    ss_jw_text(&p->w, ",\"lanes\":[");
    for (size_t k = 0; k < p->v.nlanes; k++) {
        const struct tl_lane *l = &p->v.lanes[by_pos[k]];
        char label[512];
        const char *exe = ss_tl_lane_program(l);
        int n = l->tid == l->pid ? snprintf(label, sizeof label, "%s %lld", exe, l->pid)
                                 : snprintf(label, sizeof label, "%s %lld:%lld", exe, l->pid, l->tid);
        if (p->v.nhosts > 1 && n >= 0 && (size_t)n < sizeof label)
            snprintf(label + n, sizeof label - (size_t)n, " on %s", p->v.hosts[l->host].name);
        sep(p, k);
        ss_jw_text(&p->w, "{");
        key_i64(p, "host", l->host);
        ss_jw_text(&p->w, ",");
        key_i64(p, "pid", l->pid);
        ss_jw_text(&p->w, ",");
        key_i64(p, "tid", l->tid);
        ss_jw_text(&p->w, ",");
        key_str(p, "exe", l->exe);
        ss_jw_text(&p->w, ",");
        key_str(p, "label", label);
        ss_jw_text(&p->w, "}");
    }
    ss_jw_text(&p->w, "]");
}

static void write_ops(struct page *p)
{
    ss_jw_text(&p->w, ",\"ops\":[");
    for (int op = 0; op < SS_OP_COUNT; op++) {
        sep(p, (size_t)op);
        ss_jw_str(&p->w, ss_op_name((enum ss_op)op));
    }
    ss_jw_text(&p->w, ",\"?\"]");
}

enum column { COL_T, COL_DUR, COL_LANE, COL_OP, COL_CONN, COL_BYTES, COL_FLAGS };

static int64_t column_value(const struct page *p, enum column col, uint32_t i)
{
    const struct tl_call *c = &p->v.calls[i];
    switch (col) {
    case COL_T:
        return rel_us(p, c->t_ns);
    case COL_DUR:
        return (int64_t)(c->dur_ns > INT64_MAX ? INT64_MAX : c->dur_ns);
    case COL_LANE:
        return p->lane_pos[c->lane];
    case COL_OP:
        return c->op;
    case COL_CONN: {
        uint32_t conn = ss_tl_conn_of_call(&p->v, i);
        return conn == TL_NONE ? -1 : (int64_t)conn;
    }
    case COL_BYTES:
        return (int64_t)(c->bytes > INT64_MAX ? INT64_MAX : c->bytes);
    case COL_FLAGS:
        return c->flags & TL_PAGE_FLAGS;
    }
    return 0;
}

static void write_column(struct page *p, const char *name, enum column col)
{
    ss_jw_text(&p->w, ",");
    ss_jw_key(&p->w, name);
    ss_jw_text(&p->w, "[");
    for (size_t k = 0; k < p->v.ncalls; k++) {
        sep(p, k);
        ss_jw_i64(&p->w, column_value(p, col, p->v.order[k]));
    }
    ss_jw_text(&p->w, "]");
}

static void write_text_column(struct page *p)
{
    if (p->v.ncalls > TEXT_MAX)
        return;
    ss_jw_text(&p->w, ",\"text\":[");
    for (size_t k = 0; k < p->v.ncalls; k++) {
        const char *text = ss_tl_text(&p->v, p->v.order[k]);
        sep(p, k);
        ss_jw_str(&p->w, text != NULL ? text : "");
    }
    ss_jw_text(&p->w, "]");
}

static void write_calls(struct page *p)
{
    ss_jw_text(&p->w, ",\"calls\":{\"count\":");
    ss_jw_u64(&p->w, p->v.ncalls);
    write_column(p, "t", COL_T);
    write_column(p, "dur", COL_DUR);
    write_column(p, "lane", COL_LANE);
    write_column(p, "op", COL_OP);
    write_column(p, "conn", COL_CONN);
    write_column(p, "bytes", COL_BYTES);
    write_column(p, "flags", COL_FLAGS);
    write_text_column(p);
    ss_jw_text(&p->w, "}");
}

static void write_end(struct page *p, const struct tl_conn *c, int side)
{
    if (c->sock[side] == TL_NONE) {
        ss_jw_text(&p->w, "null");
        return;
    }
    ss_jw_text(&p->w, "{");
    key_i64(p, "lane", lane_or_none(p, c->lane[side]));
    ss_jw_text(&p->w, ",");
    key_str(p, "addr", c->addr[side]);
    ss_jw_text(&p->w, ",");
    key_i64(p, "pid", c->pid[side]);
    ss_jw_text(&p->w, "}");
}

static void write_events(struct page *p, const struct tl_conn *c)
{
    ss_jw_text(&p->w, ",\"events\":[");
    for (size_t k = 0; k < c->nevents; k++) {
        const struct tl_event *e = &c->events[k];
        sep(p, k);
        ss_jw_text(&p->w, "[");
        ss_jw_i64(&p->w, rel_us(p, e->t_ns));
        ss_jw_text(&p->w, ",");
        ss_jw_i64(&p->w, e->side);
        ss_jw_text(&p->w, ",");
        ss_jw_str(&p->w, ss_tl_event_name(e->kind));
        ss_jw_text(&p->w, ",");
        ss_jw_u64(&p->w, e->bytes);
        ss_jw_text(&p->w, "]");
    }
    ss_jw_text(&p->w, "],\"rtt_us\":[");
    for (size_t k = 0; k < c->nrtt; k++) {
        sep(p, k);
        ss_jw_i64(&p->w, c->rtt_ns[k] / 1000);
    }
    ss_jw_text(&p->w, "]");
}

static void write_connection(struct page *p, const struct tl_conn *c)
{
    char label[1024];
    snprintf(label, sizeof label, "%s \xe2\x86\x92 %s", c->addr[0], c->addr[1]);
    ss_jw_text(&p->w, "{");
    key_str(p, "proto", c->proto);
    ss_jw_text(&p->w, ",\"a\":");
    write_end(p, c, 0);
    ss_jw_text(&p->w, ",\"b\":");
    write_end(p, c, 1);
    ss_jw_text(&p->w, ",");
    key_str(p, "label", label);
    ss_jw_text(&p->w, ",");
    key_i64(p, "start", rel_us(p, c->start_ns));
    ss_jw_text(&p->w, ",");
    key_i64(p, "end", rel_us(p, c->end_ns));
    ss_jw_text(&p->w, ",\"bytes_ab\":");
    ss_jw_u64(&p->w, c->bytes[0]);
    ss_jw_text(&p->w, ",\"bytes_ba\":");
    ss_jw_u64(&p->w, c->bytes[1]);
    ss_jw_text(&p->w, ",\"calls\":");
    ss_jw_u64(&p->w, c->calls);
    ss_jw_text(&p->w, ",\"faults\":");
    ss_jw_u64(&p->w, c->faults);
    ss_jw_text(&p->w, ",\"findings\":");
    ss_jw_u64(&p->w, c->findings);
    ss_jw_text(&p->w, ",\"events_dropped\":");
    ss_jw_u64(&p->w, c->events_dropped);
    write_events(p, c);
    ss_jw_text(&p->w, "}");
}

static void write_connections(struct page *p)
{
    ss_jw_text(&p->w, ",\"connections\":[");
    for (size_t i = 0; i < p->v.nconns; i++) {
        sep(p, i);
        write_connection(p, &p->v.conns[i]);
    }
    ss_jw_text(&p->w, "]");
}

static void write_findings(struct page *p)
{
    ss_jw_text(&p->w, ",\"findings\":[");
    for (size_t i = 0; i < p->v.nfindings; i++) {
        const struct tl_finding *f = &p->v.findings[i];
        int64_t t = f->call != TL_NONE ? p->v.calls[f->call].t_ns : f->t_ns;
        sep(p, i);
        ss_jw_text(&p->w, "{");
        key_str(p, "code", f->code);
        ss_jw_text(&p->w, ",");
        key_i64(p, "lane", lane_or_none(p, f->lane));
        ss_jw_text(&p->w, ",");
        key_i64(p, "t", rel_us(p, t));
        ss_jw_text(&p->w, ",");
        key_i64(p, "call", call_or_none(p, f->call));
        ss_jw_text(&p->w, ",");
        key_str(p, "message", f->message);
        ss_jw_text(&p->w, ",");
        key_str(p, "where", f->where);
        ss_jw_text(&p->w, "}");
    }
    ss_jw_text(&p->w, "]");
}

static void write_faults(struct page *p)
{
    ss_jw_text(&p->w, ",\"faults\":[");
    for (size_t i = 0; i < p->v.nfaults; i++) {
        const struct tl_fault *f = &p->v.faults[i];
        const struct tl_call *c = &p->v.calls[f->call];
        sep(p, i);
        ss_jw_text(&p->w, "{");
        key_i64(p, "t", rel_us(p, c->t_ns));
        ss_jw_text(&p->w, ",");
        key_i64(p, "lane", p->lane_pos[c->lane]);
        ss_jw_text(&p->w, ",");
        key_i64(p, "call", call_or_none(p, f->call));
        ss_jw_text(&p->w, ",");
        key_str(p, "rule", f->rule);
        ss_jw_text(&p->w, "}");
    }
    ss_jw_text(&p->w, "]");
}

/* The data (docs/report.md, "The data"), in place of the placeholder. */
static void write_data(struct page *p)
{
    uint32_t *by_pos;
    p->lane_pos = order_lanes(&p->v, &by_pos);
    ss_jw_text(&p->w, "{\"version\":1,");
    key_str(p, "title", p->title);
    ss_jw_text(&p->w, ",");
    key_i64(p, "t0_unix_us", p->v.t0_ns / 1000);
    ss_jw_text(&p->w, ",");
    key_i64(p, "span_us", (p->v.span_ns + 999) / 1000);
    write_hosts(p);
    write_lanes(p, by_pos);
    write_ops(p);
    write_calls(p);
    write_connections(p);
    write_findings(p);
    write_faults(p);
    ss_jw_text(&p->w, "}");
    free(by_pos);
    free(p->lane_pos);
}

void ss_report_write_html(const struct ss_timeline *tl, const char *path, const char *title)
{
    const char *page = (const char *)ss_report_page;
    size_t n = ss_report_page_len, plen = strlen(PLACEHOLDER);
    const char *at = NULL;
    for (size_t i = 0; i + plen <= n && at == NULL; i++)
        if (memcmp(page + i, PLACEHOLDER, plen) == 0)
            at = page + i;
    if (at == NULL)
        ss_die("the page built into this command has no " PLACEHOLDER " (a bad build)");
    struct page p = {.title = title};
    ss_tl_view(tl, &p.v);
    ss_jw_open(&p.w, path, 0);
    fwrite(page, 1, (size_t)(at - page), p.w.f);
    p.w.html = 1;
    write_data(&p);
    p.w.html = 0;
    fwrite(at + plen, 1, n - (size_t)(at - page) - plen, p.w.f);
    ss_jw_close(&p.w);
}
