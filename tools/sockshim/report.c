/* sockshim report: reads the JSON traces of a run, merges them in time
 * order, pairs the two ends of each connection seen on both sides, and
 * prints the merged summary and findings; hands the timeline (timeline.c)
 * every call, finding and connection, for the connection table, the
 * clocks of several hosts and the --perfetto and --html views
 * (docs/report.md). Without a view, the timeline keeps no calls, only
 * what the connection table needs of each socket, unless the run has
 * several hosts: it is then read again, keeping them (read_traces).
 *
 *   sockshim report [--fail-on CODES] [--perfetto FILE] [--html FILE] TRACE...
 *
 * Exit status: 0, or 1 when a finding's code is in --fail-on, or 2 when a
 * trace cannot be read. JSON is read with jansson, not by hand.
 *
 * A trace comes from strangers (a CI artifact, an attachment, a peer that
 * chose its unix path): every record is checked before it is used (a bad
 * one is an error naming the file and line), every string is printed
 * escaped as the text trace escapes it (shim/common/escape.c), sums saturate
 * instead of overflowing, and records are read one at a time into tables
 * keyed by hash (processes by pid, sockets by pid and object id, findings
 * by process, socket and code, connection ends by their address pair), so
 * the time is linear in the records and the memory in the sockets.
 */
#include "report.h"

#include <errno.h>
#include <jansson.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call_text.h"
#include "escape.h"
#include "fmt.h"
#include "locate.h"
#include "options.h"
#include "raw_file.h"
#include "render_file.h"
#include "say.h"
#include "sockshim/findings.h"
#include "timeline.h"
#include "vec.h"
#include "xlat.h"

#define EXIT_FINDINGS 1
#define EXIT_TROUBLE SS_EXIT_TROUBLE
#define trouble ss_die

/* ---- sums that cannot overflow -------------------------------------------- */

/* Totals are unsigned and stop at UINT64_MAX: records are checked to hold
 * no negative count or duration, and a trace that adds up to more than
 * 2^64 - 1 (only a forged one can) shows that ceiling, not a wrapped sum. */
static void add_saturating(uint64_t *sum, uint64_t v)
{
    *sum = v > UINT64_MAX - *sum ? UINT64_MAX : *sum + v;
}

/* ---- when a record was seen ------------------------------------------------ */

/* Records merge in time order: by "ts", then by their place in the input
 * (files in the order given, lines in order). */
struct stamp {
    char ts[32];
    uint64_t order;
};

static int stamp_cmp(const struct stamp *a, const struct stamp *b)
{
    int c = strcmp(a->ts, b->ts);
    return c != 0 ? c : (a->order > b->order) - (a->order < b->order);
}

/* ---- strings from a trace ------------------------------------------------- */

/* (call_text.c reads a string's exact bytes and shows it escaped.) */
#define SHOWN_NAME SS_SHOWN_NAME
#define SHOWN_PATH SS_SHOWN_PATH

struct shown_member {
    enum ss_shown how;
    json_t *obj;
    const char *key;
};

static void render_shown_member(struct ss_out *o, const void *arg)
{
    const struct shown_member *m = arg;
    ss_render_member(o, m->how, m->obj, m->key);
}

/* A string member of obj, escaped. */
static void put_text(FILE *out, enum ss_shown how, json_t *obj, const char *key)
{
    struct shown_member m = {how, obj, key};
    ss_put_rendered(out, render_shown_member, &m);
}

static void render_name_arg(struct ss_out *o, const void *arg)
{
    const char *s = arg;
    ss_out_safe_n(o, s, strlen(s));
}

static void put_name(FILE *out, const char *s)
{
    ss_put_rendered(out, render_name_arg, s);
}

/* s escaped as the text trace escapes a name, for a message: a trace's
 * file name and what is wrong with a line come from whoever made the file
 * (what is wrong with a line is escaped where it quotes the line). Long
 * ones are cut short. */
static const char *safe(const char *s, size_t n)
{
    static char buf[4][1024];
    static unsigned next;
    char *b = buf[next++ % 4];
    struct ss_out o;
    ss_out_init(&o, b, sizeof buf[0]);
    ss_out_safe_n(&o, s, n);
    ss_out_char(&o, '\0');
    if (ss_out_overflowed(&o))
        memcpy(b + sizeof buf[0] - 4, "...", 4);
    return b;
}

static const char *safe_c(const char *s)
{
    return safe(s, strlen(s));
}

/* ---- checking a record ------------------------------------------------------ */

/* Where a record came from, and where a bad one sends the reader: the
 * checks below longjmp to ss_report_line() with the reason. Every record
 * is checked whole before anything of it is taken, so a bad one leaves the
 * tables as they were. */
struct reader {
    jmp_buf fail;
    char why[256];
};

__attribute__((noreturn, format(printf, 2, 3)))
static void bad(struct reader *rd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(rd->why, sizeof rd->why, fmt, ap);
    va_end(ap);
    longjmp(rd->fail, 1);
}

/* An integer member from min to max; dflt when absent or null. */
static long long get_int(struct reader *rd, json_t *obj, const char *key, long long min,
                         long long max, long long dflt)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return dflt;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        bad(rd, "'%s' is not an integer from %lld to %lld", key, min, max);
    return json_integer_value(v);
}

static long long need_int(struct reader *rd, json_t *obj, const char *key, long long min,
                          long long max)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        bad(rd, "no '%s'", key);
    return get_int(rd, obj, key, min, max, 0);
}

/* A string member; "" when absent or null. */
static const char *get_str(struct reader *rd, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return "";
    if (!json_is_string(v))
        bad(rd, "'%s' is not a string", key);
    return json_string_value(v);
}

/* An object member; NULL when absent or null. */
static json_t *get_obj(struct reader *rd, json_t *obj, const char *key)
{
    json_t *v = json_object_get(obj, key);
    if (v == NULL || json_is_null(v))
        return NULL;
    if (!json_is_object(v))
        bad(rd, "'%s' is not an object", key);
    return v;
}

/* A string member that may carry its exact bytes in hex beside it. */
static void check_text(struct reader *rd, json_t *obj, const char *key)
{
    char buf[64];
    const char *hex_key = ss_twin_key(key, buf);
    (void)get_str(rd, obj, key);
    json_t *hex = json_object_get(obj, hex_key);
    if (hex == NULL)
        return;
    unsigned char one;
    size_t n = json_string_length(hex);
    const char *s = json_string_value(hex);
    if (!json_is_string(hex) || n % 2 != 0)
        bad(rd, "'%s' is not hex digits", hex_key);
    for (size_t i = 0; i < n; i += 2)
        if (ss_parse_hexbytes(s + i, 2, &one) != 0)
            bad(rd, "'%s' is not hex digits", hex_key);
}

static void check_addr(struct reader *rd, json_t *sock, const char *key)
{
    json_t *a = get_obj(rd, sock, key);
    if (a == NULL)
        return;
    (void)get_str(rd, a, "family");
    (void)get_str(rd, a, "host");
    (void)get_int(rd, a, "port", 0, 65535, 0);
    (void)get_int(rd, a, "flowinfo", 0, UINT32_MAX, 0);
    (void)get_int(rd, a, "scope_id", 0, UINT32_MAX, 0);
    check_text(rd, a, "path");
    check_text(rd, a, "abstract");
}

/* "sock": the socket object, or NULL. */
static json_t *check_sock(struct reader *rd, json_t *rec)
{
    json_t *sock = get_obj(rd, rec, "sock");
    if (sock == NULL)
        return NULL;
    (void)need_int(rd, sock, "id", 0, INT64_MAX);
    (void)get_str(rd, sock, "family");
    (void)get_str(rd, sock, "type");
    check_addr(rd, sock, "laddr");
    check_addr(rd, sock, "raddr");
    return sock;
}

static void check_finding(struct reader *rd, json_t *f, int from_summary)
{
    if (!json_is_object(f))
        bad(rd, "a finding is not an object");
    if (*get_str(rd, f, "code") == '\0')
        bad(rd, "a finding without a 'code'");
    check_text(rd, f, "message");
    (void)get_int(rd, f, "fd", INT64_MIN, INT64_MAX, 0);
    (void)check_sock(rd, f);
    (void)get_int(rd, f, "bytes", 0, INT64_MAX, 0);
    if (from_summary)
        (void)get_int(rd, f, "count", 0, INT64_MAX, 0);
    json_t *where = get_obj(rd, f, "where");
    if (where != NULL) {
        (void)get_str(rd, where, "offset");
        check_text(rd, where, "module");
        check_text(rd, where, "symbol");
        check_text(rd, where, "text");
    }
}

/* Whether the method named op (or -1: unknown) sends or receives
 * (SS_OPS's way column). */
static int sends(int op)
{
    return op >= 0 && ss_op_in((enum ss_op)op, SS_OPS_SENDS);
}

static int receives(int op)
{
    return op >= 0 && ss_op_in((enum ss_op)op, SS_OPS_RECVS);
}

static int moves_bytes(int op)
{
    return sends(op) || receives(op);
}

/* "tid" (the pid when absent) and "ts", a time the timeline can place:
 * the calls and findings of the timeline need both. */
static void check_when(struct reader *rd, json_t *rec)
{
    int64_t us;
    (void)get_int(rd, rec, "tid", 0, INT64_MAX, 0);
    if (ss_tl_parse_ts(get_str(rd, rec, "ts"), &us) != 0)
        bad(rd, "'ts' is not a time from 1970 to 2099 like 2026-12-06T05:14:24.498776Z");
}

/* The data objects the timeline reads sizes from, and a fault's rule. */
static void check_data(struct reader *rd, json_t *obj)
{
    json_t *data = json_object_get(obj, "data");
    if (json_is_object(data))
        (void)get_int(rd, data, "len", 0, INT64_MAX, 0);
}

/* (a resolution's "addr" is text: only an address object is one) */
static void check_addr_if_one(struct reader *rd, json_t *obj)
{
    if (json_is_object(json_object_get(obj, "addr")))
        check_addr(rd, obj, "addr");
}

static void check_moved(struct reader *rd, json_t *rec)
{
    /* (a socketpair's "out" is a list of its two fds) */
    json_t *args = json_object_get(rec, "args"), *out = json_object_get(rec, "out");
    if (json_is_object(args)) {
        check_data(rd, args);
        check_addr_if_one(rd, args);
    }
    if (json_is_object(out)) {
        check_data(rd, out);
        check_addr_if_one(rd, out);
        (void)get_int(rd, out, "fd", INT64_MIN, INT64_MAX, 0);
    }
    json_t *fault = get_obj(rd, rec, "fault");
    if (fault != NULL) {
        (void)get_int(rd, fault, "rule", 0, INT64_MAX, 0);
        (void)get_str(rd, fault, "text");
        (void)get_str(rd, fault, "action");
    }
}

static void check_result(struct reader *rd, json_t *rec)
{
    json_t *error = get_obj(rd, rec, "error");
    if (error == NULL)
        return;
    (void)get_str(rd, error, "name");
    (void)get_str(rd, error, "message");
    (void)get_str(rd, error, "exception");
    (void)get_int(rd, error, "code", INT64_MIN, INT64_MAX, 0);
    json_t *no = json_object_get(error, "errno");
    if (!json_is_object(no)) /* a resolution's failure of the system: an object */
        (void)get_int(rd, error, "errno", INT64_MIN, INT64_MAX, 0);
}

/* The host a start record names (docs/trace-format.md, "Start records"). */
static void check_host(struct reader *rd, json_t *rec)
{
    check_text(rd, rec, "host");
    const char *boot_id = get_str(rd, rec, "boot_id");
    if (strlen(boot_id) > 64 || strspn(boot_id, "0123456789abcdef-") != strlen(boot_id))
        bad(rd, "'boot_id' is not a boot id like 6f1f0b9e-...: hex digits and '-'");
    if (strlen(get_str(rd, rec, "host")) > 256)
        bad(rd, "'host' is longer than a host name");
    (void)get_int(rd, rec, "netns", 0, INT64_MAX, 0);
}

/* A call record's numbers: a count of bytes or a duration is never
 * negative (the writer writes an unsigned duration, and a transfer that
 * failed has "error", not "ret"). */
static void check_call(struct reader *rd, json_t *rec)
{
    const char *op = get_str(rd, rec, "op");
    (void)get_int(rd, rec, "fd", INT64_MIN, INT64_MAX, 0);
    (void)get_int(rd, rec, "ret", moves_bytes(ss_op_from_name(op)) ? 0 : INT64_MIN, INT64_MAX,
                  0);
    (void)get_int(rd, rec, "dur_ns", 0, INT64_MAX, 0);
    (void)check_sock(rd, rec);
    check_moved(rd, rec);
    check_result(rd, rec);
    check_when(rd, rec);
}

/* What every record has: the schema version, the type, the pid, and a
 * time that sorts as text. */
static void check_head(struct reader *rd, json_t *rec)
{
    (void)need_int(rd, rec, "v", 1, SOCKSHIM_JSON_SCHEMA);
    if (*get_str(rd, rec, "type") == '\0')
        bad(rd, "no 'type'");
    (void)need_int(rd, rec, "pid", 0, INT64_MAX);
    if (strlen(get_str(rd, rec, "ts")) >= sizeof ((struct stamp *)0)->ts)
        bad(rd, "'ts' is too long for a time");
}

static int is_type(json_t *j, const char *type)
{
    const char *t = json_string_value(json_object_get(j, "type"));
    return t != NULL && strcmp(t, type) == 0;
}

static void check_record(struct reader *rd, json_t *rec)
{
    check_head(rd, rec);
    if (is_type(rec, "start")) {
        (void)get_int(rd, rec, "ppid", 0, INT64_MAX, 0);
        check_text(rd, rec, "exe");
        check_host(rd, rec);
    } else if (is_type(rec, "summary")) {
        check_text(rd, rec, "exe");
        json_t *list = json_object_get(rec, "findings");
        if (list != NULL && !json_is_array(list))
            bad(rd, "'findings' is not a list");
        for (size_t k = 0; k < json_array_size(list); k++)
            check_finding(rd, json_array_get(list, k), 1);
    } else if (is_type(rec, "finding")) {
        check_finding(rd, rec, 0);
        check_when(rd, rec);
    } else if (is_type(rec, "call")) {
        check_call(rd, rec);
    }
}

/* ---- the tables --------------------------------------------------------------- */

/* The accessors below read records check_record() accepted. */
static const char *str(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s != NULL ? s : "";
}

static long long num(json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}

struct process {
    uint32_t host;
    long long pid, ppid;
    long long netns; /* its network namespace (an inode number), -1: not known */
    json_t *start;   /* its start record (for "exe"), or NULL */
    int summary;     /* 0: the process did not exit normally */
    struct stamp first;
};

struct method_total {
    uint64_t calls, errors, faults, bytes, time_ns;
};

struct socket_seen {
    uint32_t host, serial; /* serial: the order sockets were first seen, for the timeline */
    long long pid, id, fd;
    long long netns;
    json_t *laddr, *raddr; /* of the last "sock" seen, or NULL */
    char *family, *type;
    struct stamp first, last;
    uint64_t sent, received;
    int has_sock, connected; /* connected: it made a connect call */
    size_t peer;             /* once paired: the other end's position, or SIZE_MAX */
};

struct finding {
    uint32_t host;
    long long pid, fd, sock_id;
    uint64_t count, bytes;
    json_t *rec; /* the last record of it: code, message, where */
    struct stamp first;
};

/* An accept's new fd, until a record of the socket on it comes. */
struct accepted {
    uint32_t host;
    long long pid, fd;
    uint32_t call; /* the accept's call in the timeline, TL_NONE: taken */
};

struct ss_report {
    struct process *procs;
    size_t nprocs, procs_cap;
    struct ss_index proc_ix;
    struct socket_seen *socks;
    size_t nsocks, socks_cap;
    struct ss_index sock_ix;
    struct finding *finds;
    size_t nfinds, finds_cap;
    struct ss_index find_ix;
    struct accepted *accepts;
    size_t naccepts, accepts_cap;
    struct ss_index accept_ix;
    struct process **proc_order; /* by time, once read */
    struct method_total methods[SS_OP_COUNT];
    size_t files;
    uint64_t records;
    uint32_t host;               /* the host of the records being read (their start's),
                                  * TL_NONE: not known yet */
    struct ss_timeline *tl;
    int keep_text; /* render each call's text line for the timeline */
    int quiet;     /* no note of a file's cut last line: a second reading */
    int finished;
};

struct ss_report *ss_report_new(void)
{
    struct ss_report *r = calloc(1, sizeof *r);
    if (r == NULL)
        trouble("out of memory");
    r->tl = ss_tl_new();
    r->host = TL_NONE;
    return r;
}

void ss_report_keep_text(struct ss_report *r, int keep)
{
    r->keep_text = keep;
    ss_tl_keep_text(r->tl, keep);
}

void ss_report_keep_calls(struct ss_report *r, int keep)
{
    ss_tl_keep_calls(r->tl, keep);
}

int ss_report_needs_calls(const struct ss_report *r)
{
    return ss_tl_needs_calls(r->tl);
}

/* A process is its host's: pids of two hosts are two processes. */
struct proc_key {
    uint32_t host;
    long long pid;
};

static uint64_t proc_hash(const struct proc_key *k)
{
    return ss_mix64((uint64_t)k->pid ^ ((uint64_t)k->host << 48));
}

static uint64_t proc_hash_of(const void *table, size_t i)
{
    const struct process *p = &((const struct ss_report *)table)->procs[i];
    struct proc_key k = {p->host, p->pid};
    return proc_hash(&k);
}

static int proc_eq(const void *table, size_t i, const void *key)
{
    const struct process *p = &((const struct ss_report *)table)->procs[i];
    const struct proc_key *k = key;
    return p->pid == k->pid && p->host == k->host;
}

static struct process *process_of(struct ss_report *r, long long pid, const struct stamp *when)
{
    struct proc_key k = {r->host, pid};
    size_t *at;
    size_t i = ss_index_get(&r->proc_ix, r, proc_hash_of, proc_eq, &k, proc_hash(&k), &at);
    if (i == SIZE_MAX) {
        r->procs = ss_room_for_one(r->procs, r->nprocs, &r->procs_cap, sizeof *r->procs);
        i = r->nprocs++;
        r->procs[i] = (struct process){r->host, pid, 0, -1, NULL, 0, *when};
        ss_index_put(&r->proc_ix, at, i);
    }
    struct process *p = &r->procs[i];
    if (stamp_cmp(when, &p->first) < 0)
        p->first = *when;
    return p;
}

struct sock_key {
    uint32_t host;
    long long pid, id;
};

static uint64_t sock_hash(const struct sock_key *k)
{
    return ss_mix64((uint64_t)k->pid * 0x9e3779b97f4a7c15ull ^ ss_mix64((uint64_t)k->id) ^
                    k->host);
}

static uint64_t sock_hash_of(const void *table, size_t i)
{
    const struct socket_seen *s = &((const struct ss_report *)table)->socks[i];
    struct sock_key k = {s->host, s->pid, s->id};
    return sock_hash(&k);
}

static int sock_eq(const void *table, size_t i, const void *key)
{
    const struct socket_seen *s = &((const struct ss_report *)table)->socks[i];
    const struct sock_key *k = key;
    return s->pid == k->pid && s->id == k->id && s->host == k->host;
}

static struct socket_seen *socket_of(struct ss_report *r, const struct process *p, long long id,
                                     const struct stamp *when, int *made)
{
    struct sock_key k = {r->host, p->pid, id};
    size_t *at;
    size_t i = ss_index_get(&r->sock_ix, r, sock_hash_of, sock_eq, &k, sock_hash(&k), &at);
    *made = i == SIZE_MAX;
    if (i == SIZE_MAX) {
        if (r->nsocks >= TL_NONE - 1)
            trouble("too many sockets for one report");
        r->socks = ss_room_for_one(r->socks, r->nsocks, &r->socks_cap, sizeof *r->socks);
        i = r->nsocks++;
        r->socks[i] = (struct socket_seen){.host = r->host, .serial = (uint32_t)i,
                                           .pid = p->pid, .id = id, .fd = -1, .netns = p->netns,
                                           .first = *when, .peer = SIZE_MAX};
        ss_index_put(&r->sock_ix, at, i);
    }
    struct socket_seen *s = &r->socks[i];
    if (stamp_cmp(when, &s->first) < 0)
        s->first = *when;
    return s;
}

static void replace_ref(json_t **slot, json_t *v)
{
    json_incref(v);
    json_decref(*slot);
    *slot = v;
}

/* The socket's last state and addresses are those of its latest record. */
static void take_sock(struct socket_seen *s, json_t *rec, json_t *sock, const struct stamp *when)
{
    if (s->has_sock && stamp_cmp(when, &s->last) < 0)
        return;
    s->has_sock = 1;
    s->last = *when;
    s->fd = num(rec, "fd");
    replace_ref(&s->laddr, json_is_object(json_object_get(sock, "laddr"))
                               ? json_object_get(sock, "laddr") : NULL);
    replace_ref(&s->raddr, json_is_object(json_object_get(sock, "raddr"))
                               ? json_object_get(sock, "raddr") : NULL);
    free(s->family);
    free(s->type);
    s->family = ss_copy_of(str(sock, "family"));
    s->type = ss_copy_of(str(sock, "type"));
}

/* ---- accepts and the sockets they made ---------------------------------------- */

static uint64_t accept_hash(const struct accepted *k)
{
    return ss_mix64((uint64_t)k->pid * 0x9e3779b97f4a7c15ull ^ ss_mix64((uint64_t)k->fd) ^
                    k->host);
}

static uint64_t accept_hash_of(const void *table, size_t i)
{
    return accept_hash(&((const struct ss_report *)table)->accepts[i]);
}

static int accept_eq(const void *table, size_t i, const void *key)
{
    const struct accepted *a = &((const struct ss_report *)table)->accepts[i], *k = key;
    return a->pid == k->pid && a->fd == k->fd && a->host == k->host;
}

static struct accepted *accepted_on(struct ss_report *r, long long pid, long long fd, int add)
{
    struct accepted k = {r->host, pid, fd, TL_NONE};
    size_t *at;
    size_t i =
        ss_index_get(&r->accept_ix, r, accept_hash_of, accept_eq, &k, accept_hash(&k), &at);
    if (i == SIZE_MAX && !add)
        return NULL;
    if (i == SIZE_MAX) {
        r->accepts = ss_room_for_one(r->accepts, r->naccepts, &r->accepts_cap, sizeof *r->accepts);
        i = r->naccepts++;
        r->accepts[i] = k;
        ss_index_put(&r->accept_ix, at, i);
    }
    return &r->accepts[i];
}

/* Whether the call is an accept that returned an fd: the next new socket
 * on that fd is its, and the accept the first call of that socket's. */
static int made_a_socket(json_t *rec)
{
    return strcmp(str(rec, "op"), "accept") == 0 && json_is_integer(json_object_get(rec, "ret"));
}

/* The accept's fd waits for its socket (an earlier accept's that did not
 * come stays with the socket it was called on). */
static void note_accept(struct ss_report *r, json_t *rec, uint32_t call)
{
    if (!made_a_socket(rec))
        return;
    struct accepted *a = accepted_on(r, num(rec, "pid"), num(rec, "ret"), 1);
    if (a->call != TL_NONE)
        ss_tl_accept_stays(r->tl, a->call);
    a->call = call;
}

static void link_accept(struct ss_report *r, const struct socket_seen *s, const char *op)
{
    if (strcmp(op, "socket") == 0 || strcmp(op, "accept") == 0)
        return;
    struct accepted *a = accepted_on(r, s->pid, s->fd, 0);
    if (a != NULL && a->call != TL_NONE) {
        ss_tl_accepted_by(r->tl, s->serial, a->call);
        a->call = TL_NONE;
    }
}

/* ---- the calls ------------------------------------------------------------------- */

static int64_t end_ns_of(json_t *rec)
{
    int64_t us = 0;
    (void)ss_tl_parse_ts(str(rec, "ts"), &us); /* checked: it parses */
    return us * 1000;
}

static uint32_t lane_of(struct ss_report *r, json_t *rec)
{
    json_t *tid = json_object_get(rec, "tid");
    long long pid = num(rec, "pid");
    return ss_tl_lane(r->tl, r->host, pid, json_is_integer(tid) ? json_integer_value(tid) : pid);
}

static int has_flag(json_t *obj, const char *flag)
{
    const char *flags = str(obj, "flags");
    size_t n = strlen(flag);
    for (const char *p = strstr(flags, flag); p != NULL; p = strstr(p + 1, flag))
        if ((p == flags || p[-1] == '|') && (p[n] == '\0' || p[n] == '|'))
            return 1;
    return 0;
}

static uint8_t call_flags(json_t *rec, int op)
{
    uint8_t flags = 0;
    json_t *error = json_object_get(rec, "error");
    if (error != NULL) {
        flags |= TL_RAISED;
        const char *name = str(error, "name");
        if (strcmp(name, "ECONNRESET") == 0 || strcmp(name, "EPIPE") == 0)
            flags |= TL_RESET;
    }
    if (json_object_get(rec, "fault") != NULL)
        flags |= TL_FAULTED;
    if (op == SS_OP_select || op == SS_OP_poll || op == SS_OP_epoll_poll)
        flags |= TL_WAIT;
    if (receives(op) && has_flag(json_object_get(rec, "args"), "MSG_PEEK"))
        flags |= TL_PEEK;
    return flags;
}

static void render_call_line(struct ss_out *o, const void *rec)
{
    ss_render_call_line(o, (json_t *)rec);
}

/* The call into the timeline: its lane, time, socket, bytes, result. */
static uint32_t time_call(struct ss_report *r, json_t *rec, int op, const struct socket_seen *s)
{
    long long ret = num(rec, "ret");
    struct tl_call c = {.t_ns = end_ns_of(rec), .dur_ns = (uint64_t)num(rec, "dur_ns"),
                        .bytes = moves_bytes(op) && ret > 0 ? (uint64_t)ret : 0,
                        .lane = lane_of(r, rec), .sock = s != NULL ? s->serial : TL_NONE,
                        .op = (uint16_t)(op >= 0 ? op : SS_OP_COUNT),
                        .flags = (uint8_t)(call_flags(rec, op) |
                                           (made_a_socket(rec) ? TL_MAY_MOVE : 0))};
    json_t *fault = json_object_get(rec, "fault");
    size_t len = 0;
    char *text = r->keep_text ? ss_rendered(render_call_line, rec, &len) : NULL;
    uint32_t i = ss_tl_take_call(r->tl, &c, text, len,
                                 json_is_object(fault) ? str(fault, "text") : NULL);
    free(text);
    return i;
}

/* Methods are counted from the call records, so that a process killed
 * before its summary still counts; and the bytes each socket moved. */
static void take_call(struct ss_report *r, struct process *p, json_t *rec,
                      const struct stamp *when)
{
    const char *op = str(rec, "op");
    long long ret = num(rec, "ret");
    int i = ss_op_from_name(op);
    if (i >= 0) {
        struct method_total *t = &r->methods[i];
        add_saturating(&t->calls, 1);
        add_saturating(&t->errors, json_object_get(rec, "error") != NULL);
        add_saturating(&t->faults, json_object_get(rec, "fault") != NULL);
        add_saturating(&t->time_ns, (uint64_t)num(rec, "dur_ns"));
        if (moves_bytes(i) && ret > 0)
            add_saturating(&t->bytes, (uint64_t)ret);
    }
    json_t *sock = json_object_get(rec, "sock");
    struct socket_seen *s = NULL;
    int made = 0;
    if (json_is_object(sock)) {
        s = socket_of(r, p, num(sock, "id"), when, &made);
        take_sock(s, rec, sock, when);
        if (ret > 0 && sends(i))
            add_saturating(&s->sent, (uint64_t)ret);
        else if (ret > 0 && receives(i))
            add_saturating(&s->received, (uint64_t)ret);
        s->connected |= i == SS_OP_connect || i == SS_OP_connect_ex;
    }
    uint32_t call = time_call(r, rec, i, s);
    if (made)
        link_accept(r, s, op);
    note_accept(r, rec, call);
}

struct find_key {
    uint32_t host;
    long long pid, fd, sock_id;
    const char *code;
};

static uint64_t find_hash(const struct find_key *k)
{
    uint64_t h = ss_mix64((uint64_t)k->pid ^
                          ss_mix64((uint64_t)k->fd ^ ss_mix64((uint64_t)k->sock_id)) ^ k->host);
    return ss_hash_bytes(h, k->code, strlen(k->code));
}

static uint64_t find_hash_of(const void *table, size_t i)
{
    const struct finding *f = &((const struct ss_report *)table)->finds[i];
    struct find_key k = {f->host, f->pid, f->fd, f->sock_id, str(f->rec, "code")};
    return find_hash(&k);
}

static int find_eq(const void *table, size_t i, const void *key)
{
    const struct finding *f = &((const struct ss_report *)table)->finds[i];
    const struct find_key *k = key;
    return f->pid == k->pid && f->fd == k->fd && f->sock_id == k->sock_id &&
           f->host == k->host && strcmp(str(f->rec, "code"), k->code) == 0;
}

/* A finding record, or one of a summary's (whose count is the whole
 * count); the first time a process saw it on a socket comes first. */
static void take_finding(struct ss_report *r, long long pid, json_t *f, int from_summary,
                         const struct stamp *when)
{
    json_t *sock = json_object_get(f, "sock");
    struct find_key k = {r->host, pid, num(f, "fd"), json_is_object(sock) ? num(sock, "id") : 0,
                         str(f, "code")};
    size_t *at;
    size_t i = ss_index_get(&r->find_ix, r, find_hash_of, find_eq, &k, find_hash(&k), &at);
    if (i == SIZE_MAX) {
        r->finds = ss_room_for_one(r->finds, r->nfinds, &r->finds_cap, sizeof *r->finds);
        i = r->nfinds++;
        r->finds[i] = (struct finding){k.host, k.pid, k.fd, k.sock_id, 0, 0, NULL, *when};
        json_incref(f);
        r->finds[i].rec = f; /* before index_put: the index hashes its code */
        ss_index_put(&r->find_ix, at, i);
    }
    struct finding *x = &r->finds[i];
    replace_ref(&x->rec, f);
    if (stamp_cmp(when, &x->first) < 0)
        x->first = *when;
    if (from_summary) {
        x->count = (uint64_t)num(f, "count");
        x->bytes = (uint64_t)num(f, "bytes");
    } else if (x->count == 0) {
        x->count = 1;
        x->bytes = (uint64_t)num(f, "bytes");
    }
}

/* A finding record on the timeline: at the call its thread made last. */
static void time_finding(struct ss_report *r, json_t *rec)
{
    json_t *where = json_object_get(rec, "where");
    struct ss_text message = ss_text_of(rec, "message");
    char *shown = ss_grow(NULL, message.n + 1, 1);
    memcpy(shown, message.p, message.n);
    shown[message.n] = '\0';
    ss_tl_take_finding(r->tl, lane_of(r, rec), end_ns_of(rec), str(rec, "code"), shown,
                       json_is_object(where) ? str(where, "text") : "");
    free(shown);
    ss_text_free(&message);
}

/* Whether a start record names a host (by name or boot). */
static int names_host(json_t *rec)
{
    return is_type(rec, "start") &&
           (str(rec, "host")[0] != '\0' || str(rec, "boot_id")[0] != '\0');
}

/* A start record names its host: the records after it in the file are
 * that host's until the next start names another. */
static void take_host(struct ss_report *r, json_t *rec)
{
    if (names_host(rec)) /* it fits: check_room */
        r->host = (uint32_t)ss_tl_host(r->tl, str(rec, "host"), str(rec, "boot_id"));
}

static void take_record(struct ss_report *r, json_t *rec)
{
    struct stamp when = {"", r->records++};
    snprintf(when.ts, sizeof when.ts, "%s", str(rec, "ts"));
    long long pid = num(rec, "pid");
    take_host(r, rec);
    if (r->host == TL_NONE) /* no start record has named the host yet (it fits: check_room) */
        r->host = (uint32_t)ss_tl_host(r->tl, "", "");
    struct process *p = process_of(r, pid, &when);
    if (is_type(rec, "start")) {
        replace_ref(&p->start, rec);
        p->ppid = num(rec, "ppid");
        if (json_is_integer(json_object_get(rec, "netns")))
            p->netns = num(rec, "netns");
    } else if (is_type(rec, "summary")) {
        p->summary = 1;
        json_t *list = json_object_get(rec, "findings");
        for (size_t k = 0; k < json_array_size(list); k++)
            take_finding(r, pid, json_array_get(list, k), 1, &when);
    } else if (is_type(rec, "finding")) {
        take_finding(r, pid, rec, 0, &when);
        time_finding(r, rec);
    } else if (is_type(rec, "call")) {
        take_call(r, p, rec, &when);
    }
}

/* What the tables cannot take: a host past the most a report merges,
 * whether a start record names it or a file's records come before any
 * start record does (the host not known, take_record). */
static void check_room(const struct ss_report *r, struct reader *rd, json_t *rec)
{
    const char *name = "", *boot_id = "";
    if (names_host(rec)) {
        name = str(rec, "host");
        boot_id = str(rec, "boot_id");
    } else if (r->host != TL_NONE) {
        return;
    }
    if (!ss_tl_host_fits(r->tl, name, boot_id))
        bad(rd, "a host past the %d that sockshim report merges", TL_HOSTS_MAX);
}

int ss_report_line(struct ss_report *r, const char *line, size_t len, char *why, size_t cap)
{
    json_error_t err;
    /* JSON_ALLOW_NUL: an abstract unix name may hold NUL bytes (\u0000) */
    json_t *j = json_loadb(line, len, JSON_ALLOW_NUL | JSON_REJECT_DUPLICATES, &err);
    if (j == NULL || !json_is_object(j)) {
        /* jansson quotes the text near the error: shown escaped */
        char shown[512];
        struct ss_out o;
        ss_out_init(&o, shown, sizeof shown - 1);
        ss_out_safe(&o, j == NULL ? err.text : "not an object");
        shown[o.len < sizeof shown - 1 ? o.len : sizeof shown - 1] = '\0';
        snprintf(why, cap, "not a JSON trace line (%s); was it written with sockshim --format "
                 "json?", shown);
        json_decref(j);
        return -1;
    }
    struct reader rd;
    if (setjmp(rd.fail) != 0) {
        snprintf(why, cap, "a bad record: %s", rd.why);
        json_decref(j);
        return -1;
    }
    check_record(&rd, j);
    check_room(r, &rd, j);
    take_record(r, j);
    json_decref(j);
    return 0;
}

/* Whether f (at its start) is a record file (--format=raw): left at its
 * start either way. */
static int is_record_file(FILE *f)
{
    uint32_t magic = 0;
    size_t got = fread(&magic, 1, sizeof magic, f);
    rewind(f);
    return got == sizeof magic && magic == SS_RAW_FRAME_MAGIC;
}

/* A record file, rendered as its JSON trace into a temporary file the
 * lines are read from (sockshim render's reading, render_file.h). */
static FILE *rendered_records(FILE *records, const char *path, int quiet)
{
    FILE *json = tmpfile();
    if (json == NULL)
        trouble("cannot render '%s': no temporary file: %s", safe_c(path), strerror(errno));
    char why[512];
    unsigned long captured;
    int got = ss_raw_render(records, path, json, 1, &captured, why, sizeof why);
    if (got < 0)
        trouble("%s: %s", safe_c(path), why);
    if (got > 0 && !quiet) /* as a JSON trace's last line cut short */
        ss_note("%s: %s: the frames before it are read", safe_c(path), why);
    fclose(records);
    if (fflush(json) != 0)
        trouble("cannot render '%s': %s", safe_c(path), strerror(errno));
    rewind(json);
    return json;
}

static void read_trace(struct ss_report *r, const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        trouble("cannot read '%s': %s", safe_c(path), strerror(errno));
    if (is_record_file(f))
        f = rendered_records(f, path, r->quiet);
    r->host = TL_NONE; /* until the file's first start record names it */
    char *line = NULL, why[640];
    size_t cap = 0;
    ssize_t len;
    unsigned long number = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        number++;
        if (len <= 1)
            continue;
        if (ss_report_line(r, line, (size_t)len, why, sizeof why) == 0)
            continue;
        if (line[len - 1] != '\n') { /* a run still going, or killed mid-line */
            if (!r->quiet)
                ss_note("%s:%lu: the last line is cut short (%zd bytes without a newline): "
                        "left out", safe_c(path), number, len);
            break;
        }
        trouble("%s:%lu: %s", safe_c(path), number, why); /* why is escaped */
    }
    if (ferror(f))
        trouble("cannot read '%s': %s", safe_c(path), strerror(errno));
    free(line);
    fclose(f);
    r->files++;
}

void ss_report_free(struct ss_report *r)
{
    for (size_t i = 0; i < r->nprocs; i++)
        json_decref(r->procs[i].start);
    for (size_t i = 0; i < r->nsocks; i++) {
        json_decref(r->socks[i].laddr);
        json_decref(r->socks[i].raddr);
        free(r->socks[i].family);
        free(r->socks[i].type);
    }
    for (size_t i = 0; i < r->nfinds; i++)
        json_decref(r->finds[i].rec);
    free(r->procs);
    free(r->proc_order);
    free(r->socks);
    free(r->finds);
    free(r->proc_ix.slot);
    free(r->sock_ix.slot);
    free(r->find_ix.slot);
    free(r->accepts);
    free(r->accept_ix.slot);
    ss_tl_free(r->tl);
    free(r);
}

/* Each table in time order of its first record, as the merged trace
 * would list them. */
static int proc_by_time(const void *a, const void *b)
{
    return stamp_cmp(&(*(struct process *const *)a)->first, &(*(struct process *const *)b)->first);
}

static int sock_by_time(const void *a, const void *b)
{
    return stamp_cmp(&((const struct socket_seen *)a)->first,
                     &((const struct socket_seen *)b)->first);
}

static int find_by_time(const void *a, const void *b)
{
    return stamp_cmp(&((const struct finding *)a)->first, &((const struct finding *)b)->first);
}

/* After the last record: sorting moves sockets and findings, so their
 * indexes, which hold positions, are dropped. Processes stay where they
 * are (the sockets' rows look them up by pid) and are listed through
 * r->proc_order. */
static void sort_by(void *v, size_t n, size_t size, int (*cmp)(const void *, const void *))
{
    if (n > 1) /* qsort's base must not be NULL, even for nothing */
        qsort(v, n, size, cmp);
}

static void sort_tables(struct ss_report *r)
{
    sort_by(r->socks, r->nsocks, sizeof *r->socks, sock_by_time);
    sort_by(r->finds, r->nfinds, sizeof *r->finds, find_by_time);
    free(r->sock_ix.slot);
    free(r->find_ix.slot);
    r->sock_ix = r->find_ix = (struct ss_index){NULL, 0, 0};
    r->proc_order = ss_grow(r->proc_order, r->nprocs, sizeof *r->proc_order);
    for (size_t i = 0; i < r->nprocs; i++)
        r->proc_order[i] = &r->procs[i];
    sort_by(r->proc_order, r->nprocs, sizeof *r->proc_order, proc_by_time);
}

/* The process of pid on host; every pid of a socket has one (take_record
 * made it). */
static const struct process *process_with(struct ss_report *r, uint32_t host, long long pid)
{
    struct proc_key k = {host, pid};
    size_t *at;
    size_t i = ss_index_get(&r->proc_ix, r, proc_hash_of, proc_eq, &k, proc_hash(&k), &at);
    return i != SIZE_MAX ? &r->procs[i] : NULL;
}

/* ---- printing ------------------------------------------------------------------ */

static void render_addr_arg(struct ss_out *o, const void *addr)
{
    ss_render_addr(o, (json_t *)addr);
}

/* ('127.0.0.1', 8080) for an address object, as the text trace shows it. */
static void print_addr(FILE *out, json_t *addr)
{
    ss_put_rendered(out, render_addr_arg, addr);
}

static void print_processes(FILE *out, const struct ss_report *r)
{
    fprintf(out, "\nprocesses\n");
    struct tl_view v;
    ss_tl_view(r->tl, &v);
    for (size_t i = 0; i < r->nprocs; i++) {
        const struct process *p = r->proc_order[i];
        fprintf(out, "  pid %lld ", p->pid);
        if (p->start != NULL)
            put_text(out, SHOWN_NAME, p->start, "exe");
        else
            fputc('?', out);
        fprintf(out, " (parent %lld)%s", p->ppid,
                p->summary ? "" : ", no summary: it did not exit normally");
        if (v.nhosts > 1) {
            fputs(" on ", out);
            put_name(out, v.hosts[p->host].name);
        }
        fputc('\n', out);
    }
}

static void print_methods(FILE *out, const struct ss_report *r)
{
    fprintf(out, "\nmethods\n  %-13s %9s %7s %7s %12s %12s\n", "method", "calls", "errors",
            "faults", "bytes", "time (ms)");
    for (int op = 0; op < SS_OP_COUNT; op++) {
        const struct method_total *t = &r->methods[op];
        if (t->calls == 0)
            continue;
        char bytes[24] = "-";
        if (moves_bytes(op))
            snprintf(bytes, sizeof bytes, "%llu", (unsigned long long)t->bytes);
        fprintf(out, "  %-13s %9llu %7llu %7llu %12s %12.3f\n", ss_op_name((enum ss_op)op),
                (unsigned long long)t->calls, (unsigned long long)t->errors,
                (unsigned long long)t->faults, bytes, (double)t->time_ns / 1e6);
    }
}

/* ---- connections ------------------------------------------------------------- */

/* The two ends of a connection both traced: one's local address is the
 * other's peer and the other way round, as each side saw them (so traces
 * of two hosts pair). Each socket with both addresses goes into a bucket
 * keyed by (space, type, laddr, raddr); a socket's other end is the
 * earliest unpaired socket after it in the bucket of (space, type, raddr,
 * laddr). Walking the sockets in time order, a bucket's sockets before the
 * current one are all paired already (an unpaired one would have taken the
 * current one), so each bucket keeps a cursor that only moves forward.
 *
 * The space is where an address means one socket: a loopback address or
 * an abstract unix name is one within a host's network namespace, a unix
 * path within a host (its file system), any other address everywhere. */
struct bucket {
    char *key;
    size_t *items, n, cap, next;
};

struct buckets {
    struct bucket *v;
    size_t n, cap;
    struct ss_index ix;
};

static uint64_t bucket_hash_of(const void *table, size_t i)
{
    const char *k = ((const struct buckets *)table)->v[i].key;
    return ss_hash_bytes(0, k, strlen(k));
}

static int bucket_eq(const void *table, size_t i, const void *key)
{
    return strcmp(((const struct buckets *)table)->v[i].key, key) == 0;
}

enum reach { REACH_EVERYWHERE, REACH_HOST, REACH_NETNS };

static enum reach reach_of(json_t *addr)
{
    const char *family = str(addr, "family"), *host = str(addr, "host");
    if (strcmp(family, "AF_UNIX") == 0)
        return json_object_get(addr, "abstract") != NULL ? REACH_NETNS : REACH_HOST;
    if (strcmp(family, "AF_INET") == 0 && strncmp(host, "127.", 4) == 0)
        return REACH_NETNS;
    if (strcmp(family, "AF_INET6") == 0 &&
        (strcmp(host, "::1") == 0 || strncmp(host, "::ffff:127.", 11) == 0))
        return REACH_NETNS;
    return REACH_EVERYWHERE;
}

/* "space\ntype\nladdr\nraddr", the addresses as canonical JSON: equal keys
 * are equal addresses (json_equal) in one space. */
static char *pair_key(const struct socket_seen *s, json_t *local, json_t *remote)
{
    enum reach reach = reach_of(local) > reach_of(remote) ? reach_of(local) : reach_of(remote);
    char space[64] = "";
    if (reach == REACH_HOST)
        snprintf(space, sizeof space, "%u", s->host);
    else if (reach == REACH_NETNS)
        snprintf(space, sizeof space, "%u/%lld", s->host, s->netns);
    char *l = json_dumps(local, JSON_COMPACT | JSON_SORT_KEYS);
    char *rm = json_dumps(remote, JSON_COMPACT | JSON_SORT_KEYS);
    if (l == NULL || rm == NULL)
        trouble("out of memory");
    size_t n = strlen(space) + strlen(s->type) + strlen(l) + strlen(rm) + 4;
    char *k = ss_grow(NULL, n, 1);
    snprintf(k, n, "%s\n%s\n%s\n%s", space, s->type, l, rm);
    free(l);
    free(rm);
    return k;
}

/* The bucket of key (NULL when there is none and add is 0); takes key. */
static struct bucket *bucket_of(struct buckets *bs, char *key, int add)
{
    size_t *at;
    size_t i = ss_index_get(&bs->ix, bs, bucket_hash_of, bucket_eq, key,
                            ss_hash_bytes(0, key, strlen(key)), &at);
    if (i != SIZE_MAX || !add) {
        free(key);
        return i != SIZE_MAX ? &bs->v[i] : NULL;
    }
    bs->v = ss_room_for_one(bs->v, bs->n, &bs->cap, sizeof *bs->v);
    i = bs->n++;
    bs->v[i] = (struct bucket){key, NULL, 0, 0, 0};
    ss_index_put(&bs->ix, at, i);
    return &bs->v[i];
}

static int pairable(const struct socket_seen *s)
{
    return s->has_sock && s->laddr != NULL && s->raddr != NULL;
}

static void fill_buckets(struct buckets *bs, const struct ss_report *r)
{
    for (size_t i = 0; i < r->nsocks; i++) {
        const struct socket_seen *s = &r->socks[i];
        if (!pairable(s))
            continue;
        struct bucket *b = bucket_of(bs, pair_key(s, s->laddr, s->raddr), 1);
        b->items = ss_room_for_one(b->items, b->n, &b->cap, sizeof *b->items);
        b->items[b->n++] = i;
    }
}

static void free_buckets(struct buckets *bs)
{
    for (size_t i = 0; i < bs->n; i++) {
        free(bs->v[i].key);
        free(bs->v[i].items);
    }
    free(bs->v);
    free(bs->ix.slot);
}

/* The position of socket i's other end, or SIZE_MAX. */
static size_t other_end(struct buckets *bs, const struct ss_report *r, size_t i)
{
    const struct socket_seen *a = &r->socks[i];
    struct bucket *b = bucket_of(bs, pair_key(a, a->raddr, a->laddr), 0);
    if (b == NULL)
        return SIZE_MAX;
    while (b->next < b->n &&
           (b->items[b->next] <= i || r->socks[b->items[b->next]].peer != SIZE_MAX))
        b->next++;
    return b->next < b->n ? b->items[b->next] : SIZE_MAX;
}

/* Each socket's peer, once the sockets are in time order: the one pairing
 * the report's sections and the timeline share. */
static void pair_sockets(struct ss_report *r)
{
    struct buckets bs = {0};
    fill_buckets(&bs, r);
    for (size_t i = 0; i < r->nsocks; i++) {
        struct socket_seen *a = &r->socks[i];
        size_t b;
        if (!pairable(a) || a->peer != SIZE_MAX || (b = other_end(&bs, r, i)) == SIZE_MAX)
            continue;
        a->peer = b;
        r->socks[b].peer = i;
    }
    free_buckets(&bs);
}

static void print_connection(FILE *out, const struct socket_seen *a,
                             const struct socket_seen *b)
{
    fprintf(out, "  pid %lld sock%lld ", a->pid, a->fd);
    print_addr(out, a->laddr);
    fprintf(out, " <-> pid %lld sock%lld ", b->pid, b->fd);
    print_addr(out, b->laddr);
    fprintf(out, ": %llu bytes one way, %llu the other%s\n", (unsigned long long)a->sent,
            (unsigned long long)b->sent,
            a->sent == b->received && b->sent == a->received ? "" : " (the ends disagree)");
}

static void print_connections(FILE *out, const struct ss_report *r)
{
    int any = 0;
    for (size_t i = 0; i < r->nsocks; i++) {
        const struct socket_seen *a = &r->socks[i];
        if (a->peer == SIZE_MAX || a->peer < i)
            continue;
        if (!any)
            fprintf(out, "\nconnections (both ends traced)\n");
        any = 1;
        print_connection(out, a, &r->socks[a->peer]);
    }
    if (!any)
        fprintf(out, "\nconnections (both ends traced): none\n");
}

/* ---- the timeline's connections ---------------------------------------------- */

static void render_label_arg(struct ss_out *o, const void *addr)
{
    ss_render_addr_label(o, (json_t *)addr);
}

static const char *proto_of(const struct socket_seen *s)
{
    int stream = strcmp(s->type, "SOCK_STREAM") == 0, dgram = strcmp(s->type, "SOCK_DGRAM") == 0;
    if (strcmp(s->family, "AF_UNIX") == 0)
        return stream ? "unix" : dgram ? "unix-dgram" : "unix-seqpacket";
    if (strcmp(s->family, "AF_INET") == 0 || strcmp(s->family, "AF_INET6") == 0)
        return stream ? "tcp" : dgram ? "udp" : "ip";
    return "other";
}

/* A connection for the timeline: a is the end that connected when one
 * did, and b its peer (NULL: not traced; its address is a's raddr). */
static void time_connection(struct ss_report *r, const struct socket_seen *a,
                            const struct socket_seen *b)
{
    if (b != NULL && b->connected && !a->connected) {
        const struct socket_seen *t = a;
        a = b;
        b = t;
    }
    size_t n;
    char *la = ss_rendered(render_label_arg, a->laddr, &n);
    char *lb = ss_rendered(render_label_arg, b != NULL ? b->laddr : a->raddr, &n);
    ss_tl_add_connection(r->tl, a->serial, b != NULL ? b->serial : TL_NONE, proto_of(a),
                         strcmp(a->type, "SOCK_STREAM") == 0, la, lb);
    free(la);
    free(lb);
}

static void time_connections(struct ss_report *r)
{
    for (size_t i = 0; i < r->nsocks; i++) {
        const struct socket_seen *s = &r->socks[i];
        if (s->peer != SIZE_MAX && s->peer > i)
            time_connection(r, s, &r->socks[s->peer]);
        else if (s->peer == SIZE_MAX && pairable(s))
            time_connection(r, s, NULL);
    }
}

static void name_lanes(struct ss_report *r)
{
    for (uint32_t i = 0; i < ss_tl_lane_count(r->tl); i++) {
        uint32_t host;
        long long pid;
        ss_tl_lane_process(r->tl, i, &host, &pid);
        const struct process *p = process_with(r, host, pid);
        ss_tl_name_lane(r->tl, i, p != NULL && p->start != NULL ? str(p->start, "exe") : "");
    }
}

/* After the last record, once: the tables in time order, the sockets
 * paired, the timeline finished. */
static void finish(struct ss_report *r)
{
    if (r->finished)
        return;
    r->finished = 1;
    name_lanes(r);
    sort_tables(r);
    pair_sockets(r);
    time_connections(r);
    ss_tl_finish(r->tl);
}

/* ---- the connection table and the clocks ---------------------------------------- */

/* A count in at most 9 columns: 123456789, then 123.4M... */
static const char *short_count(char buf[static 16], uint64_t v)
{
    static const char units[] = "KMGTPE";
    if (v <= 999999999) {
        snprintf(buf, 16, "%llu", (unsigned long long)v);
        return buf;
    }
    double x = (double)v;
    int u = -1;
    while (x >= 1000.0 && u < 5) {
        x /= 1000.0;
        u++;
    }
    snprintf(buf, 16, "%.1f%c", x, units[u]);
    return buf;
}

static void print_end(FILE *out, const struct tl_conn *c, int side)
{
    if (c->sock[side] == TL_NONE)
        fputs("(not traced) ", out);
    else
        fprintf(out, "%lld ", c->pid[side]);
    put_name(out, c->addr[side]);
}

static void print_connection_row(FILE *out, size_t i, const struct tl_conn *c)
{
    char ab[16], ba[16], calls[16];
    double ms = (double)(c->end_ns - c->start_ns) / 1e6;
    fprintf(out, "  %-4zu %9.3f %9s %9s %6s %3llu %3llu  ", i + 1, ms, short_count(ab, c->bytes[0]),
            short_count(ba, c->bytes[1]), short_count(calls, c->calls),
            (unsigned long long)(c->faults > 999 ? 999 : c->faults),
            (unsigned long long)(c->findings > 999 ? 999 : c->findings));
    print_end(out, c, 0);
    fputs(" > ", out);
    print_end(out, c, 1);
    fputc('\n', out);
}

static void print_connection_table(FILE *out, const struct ss_report *r)
{
    struct tl_view v;
    ss_tl_view(r->tl, &v);
    if (v.nconns == 0) {
        fprintf(out, "\nconnection table: none\n");
        return;
    }
    fprintf(out, "\nconnection table (a > b: a connected to b; a>b, b>a: bytes each sent; pid "
                 "address)\n  %-4s %9s %9s %9s %6s %3s %3s  %s\n",
            "#", "time (ms)", "a>b", "b>a", "calls", "flt", "fnd", "a > b");
    for (size_t i = 0; i < v.nconns; i++)
        print_connection_row(out, i, &v.conns[i]);
}

static void print_clocks(FILE *out, const struct ss_report *r)
{
    struct tl_view v;
    ss_tl_view(r->tl, &v);
    fprintf(out, "\nclocks\n");
    for (size_t i = 0; i < v.nhosts; i++) {
        const struct tl_host *h = &v.hosts[i];
        fputs("  ", out);
        put_name(out, h->name);
        if (h->boot_id[0] != '\0')
            fprintf(out, " (boot %.8s)", h->boot_id);
        if (i == 0) {
            fputs(": the reference clock\n", out);
            continue;
        }
        fprintf(out, ": %+.3f ms", (double)h->offset_ns / 1e6);
        if (h->uncertainty_ns >= 0)
            fprintf(out, " +- %.3f ms", (double)h->uncertainty_ns / 1e6);
        fputs(" (", out);
        put_name(out, h->basis);
        fputs(")\n", out);
    }
}

static void print_sockets(FILE *out, struct ss_report *r)
{
    fprintf(out, "\nsockets\n");
    for (size_t i = 0; i < r->nsocks; i++) {
        const struct socket_seen *s = &r->socks[i];
        if (!s->has_sock)
            continue;
        const struct process *p = process_with(r, s->host, s->pid);
        fprintf(out, "  pid %lld ", s->pid);
        if (p != NULL && p->start != NULL)
            put_text(out, SHOWN_NAME, p->start, "exe");
        else
            fputc('?', out);
        fprintf(out, " sock%lld ", s->fd);
        put_name(out, s->family);
        fputc('/', out);
        put_name(out, s->type);
        fputc(' ', out);
        print_addr(out, s->laddr);
        fputs(" -> ", out);
        print_addr(out, s->raddr);
        fprintf(out, "  sent %llu, received %llu\n", (unsigned long long)s->sent,
                (unsigned long long)s->received);
    }
}

void ss_report_print_tables(struct ss_report *r, FILE *out)
{
    finish(r);
    fprintf(out, "sockshim report: %zu trace%s, %zu process%s, %zu socket%s, %zu finding%s\n",
            r->files, r->files == 1 ? "" : "s", r->nprocs, r->nprocs == 1 ? "" : "es",
            r->nsocks, r->nsocks == 1 ? "" : "s", r->nfinds, r->nfinds == 1 ? "" : "s");
    print_processes(out, r);
    print_clocks(out, r);
    print_methods(out, r);
    print_connections(out, r);
    print_connection_table(out, r);
    print_sockets(out, r);
}

const struct ss_timeline *ss_report_timeline(struct ss_report *r)
{
    finish(r);
    return r->tl;
}

/* ---- findings ----------------------------------------------------------- */

/* (The findings were collected above, with the other tables.) */
static size_t finding_count(const struct ss_report *r)
{
    return r->nfinds;
}

static const char *finding_code(const struct ss_report *r, size_t i)
{
    return str(r->finds[i].rec, "code");
}

/* A where's offset as the trace writes it: "0x" and 1 to 16 hex digits,
 * nothing else (the trace is untrusted input). */
static int parse_offset(const char *s, uint64_t *out)
{
    size_t n = strlen(s);
    if (n < 3 || n > 18 || s[0] != '0' || s[1] != 'x' || strspn(s + 2, "0123456789abcdef") != n - 2)
        return 0;
    *out = strtoull(s + 2, NULL, 16);
    return *out != 0;
}

/* " at WHERE": the trace's own text and, for a where with a module and an
 * offset that nobody placed (a trace written without the command), the
 * function and file:line read offline from the module's debug information.
 * The module is only a path to open read-only: nothing is run. */
/* " at TEXT", and for a where the trace left as module+offset (no
 * command answered), " (function, file:line)" from the module's debug
 * information, read offline. */
static void print_where(FILE *out, json_t *where)
{
    fputs(" at ", out);
    put_text(out, SHOWN_NAME, where, "text");
    uint64_t offset;
    struct ss_place place;
    if (json_is_integer(json_object_get(where, "line")) ||
        json_is_string(json_object_get(where, "function")) || /* the command answered */
        !parse_offset(str(where, "offset"), &offset) ||
        ss_locate(str(where, "module"), offset, &place) != 0)
        return;
    fputs(" (", out);
    put_name(out, place.function[0] != '\0' ? place.function : "??");
    if (place.line > 0) {
        fputs(", ", out);
        put_name(out, place.file);
        fprintf(out, ":%d", place.line);
    }
    fputc(')', out);
}


static void print_findings(FILE *out, const struct ss_report *r)
{
    fprintf(out, "\nfindings%s\n", finding_count(r) == 0 ? ": none" : "");
    for (size_t i = 0; i < finding_count(r); i++) {
        const struct finding *f = &r->finds[i];
        fputs("  ", out);
        put_name(out, finding_code(r, i));
        fprintf(out, " pid %lld sock%lld: ", f->pid, f->fd);
        put_text(out, SHOWN_NAME, f->rec, "message");
        if (strcmp(finding_code(r, i), "lost-bytes") == 0)
            fprintf(out, ": %llu bytes never sent", (unsigned long long)f->bytes);
        fprintf(out, " (%llu %s)", (unsigned long long)f->count,
                f->count == 1 ? "time" : "times");
        print_where(out, json_object_get(f->rec, "where"));
        fputc('\n', out);
    }
}

/* ---- --fail-on ------------------------------------------------------------- */

/* "lost-bytes, leak, ..., " from findings.h's table */
#define FINDING_CODE_ITEM(id, code, text) code ", "
#define FINDING_CODES SS_FINDINGS(FINDING_CODE_ITEM)

static int code_known(const char *code, size_t len)
{
    for (int i = 0; i < SS_FINDING_COUNT; i++) {
        const char *name = ss_finding_code((enum ss_finding)i);
        if (strlen(name) == len && strncmp(name, code, len) == 0)
            return 1;
    }
    return 0;
}

static int fails_on(const char *list, const char *code)
{
    if (list == NULL)
        return 0;
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        if ((len == 3 && strncmp(p, "all", 3) == 0) ||
            (len == strlen(code) && strncmp(p, code, len) == 0))
            return 1;
        if (p[len] == '\0')
            return 0;
        p += len + 1;
    }
}

static void check_fail_on(const char *list)
{
    for (const char *p = list;;) {
        size_t len = strcspn(p, ",");
        if (!(len == 3 && strncmp(p, "all", 3) == 0) && !code_known(p, len))
            trouble("--fail-on: unknown finding '%s' (codes: " FINDING_CODES "or all)",
                    safe(p, len));
        if (p[len] == '\0')
            return;
        p += len + 1;
    }
}

/* ---- the command ------------------------------------------------------------ */

static void usage(void)
{
    fputs("Usage: sockshim report [--fail-on CODES] [--perfetto FILE] [--html FILE] TRACE...\n"
          "Merge the JSON traces of a run (-o trace.%p.jsonl --format json), pair the ends\n"
          "of each connection traced on both sides, and print the processes, clocks,\n"
          "methods, connections, sockets and findings. Traces of several hosts are\n"
          "merged: their clocks are aligned from the connections between them.\n"
          "\n"
          "  --fail-on CODES   exit status 1 when a finding's code is in CODES\n"
          "                    (comma-separated, or all)\n"
          "  --perfetto FILE   also write the timeline as Chrome trace-event JSON, for\n"
          "                    ui.perfetto.dev and chrome://tracing\n"
          "  --html FILE       also write the report as one self-contained HTML page\n"
          "\n"
          "Exit status 1 on a finding in CODES, 2 when a trace cannot be read, else 0.\n",
          stdout);
}

struct report_options {
    const char *fail_on, *perfetto, *html;
};

/* --name VALUE or --name=VALUE: the value, or NULL when a is not it. */
static const char *option_value(int argc, char *argv[], int *i, const char *name)
{
    size_t n = strlen(name);
    const char *a = argv[*i];
    if (strncmp(a, name, n) != 0)
        return NULL;
    if (a[n] == '=')
        return a + n + 1;
    if (a[n] != '\0')
        return NULL;
    if (*i + 1 >= argc)
        trouble("%s needs a value\nTry 'sockshim report --help' for more information.", name);
    return argv[++*i];
}

/* The options; returns the position of the first trace, or -1 for --help. */
static int parse_options(int argc, char *argv[], struct report_options *o)
{
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first], *v;
        if (strcmp(a, "--") == 0)
            return first + 1;
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0)
            return -1;
        if ((v = option_value(argc, argv, &first, "--fail-on")) != NULL)
            o->fail_on = v;
        else if ((v = option_value(argc, argv, &first, "--perfetto")) != NULL)
            o->perfetto = v;
        else if ((v = option_value(argc, argv, &first, "--html")) != NULL)
            o->html = v;
        else
            trouble("unknown option '%s'\nTry 'sockshim report --help' for more information.",
                    safe_c(a));
    }
    return first;
}

/* The title of a page: the traces it shows. */
static void title_of(char *buf, size_t cap, int ntraces, char *traces[])
{
    const char *base = strrchr(traces[0], '/');
    snprintf(buf, cap, "sockshim report: %s%s", base != NULL ? base + 1 : traces[0],
             ntraces > 1 ? " and more" : "");
    if (ntraces == 2) {
        const char *second = strrchr(traces[1], '/');
        snprintf(buf, cap, "sockshim report: %s, %s", base != NULL ? base + 1 : traces[0],
                 second != NULL ? second + 1 : traces[1]);
    }
}

static void write_views(struct ss_report *r, const struct report_options *o, int ntraces,
                        char *traces[])
{
    const struct ss_timeline *tl = ss_report_timeline(r);
    if (o->perfetto != NULL)
        ss_report_write_perfetto(tl, o->perfetto);
    if (o->html != NULL) {
        char title[512];
        title_of(title, sizeof title, ntraces, traces);
        ss_report_write_html(tl, o->html, title);
    }
}

/* Whether the traces can be read twice: files, not pipes. */
static int all_files(int ntraces, char *traces[])
{
    struct stat st;
    for (int i = 0; i < ntraces; i++)
        if (stat(traces[i], &st) == 0 && !S_ISREG(st.st_mode))
            return 0;
    return 1;
}

/* A report of the traces. The calls are kept for a view, and for the
 * clocks of a run of several hosts; otherwise only what the text report
 * needs, so that memory follows the sockets, not the calls: a run found
 * to have a second host is read again from its first trace, keeping the
 * calls (the traces must then be files; pipes keep them from the start). */
static struct ss_report *read_traces(const struct report_options *o, int ntraces,
                                     char *traces[])
{
    int views = o->perfetto != NULL || o->html != NULL;
    int keep_calls = views || !all_files(ntraces, traces), noted = 0;
    for (;;) {
        struct ss_report *r = ss_report_new();
        ss_report_keep_text(r, views);
        ss_report_keep_calls(r, keep_calls);
        int i = 0;
        for (; i < ntraces && !ss_report_needs_calls(r); i++) {
            r->quiet = i < noted; /* its notes were said in the first reading */
            read_trace(r, traces[i]);
        }
        if (!ss_report_needs_calls(r))
            return r;
        ss_report_free(r);
        keep_calls = 1;
        noted = i;
    }
}

int ss_report_main(int argc, char *argv[])
{
    ss_say_as("sockshim report");
    struct report_options o = {NULL, NULL, NULL};
    int first = parse_options(argc, argv, &o);
    if (first < 0) {
        usage();
        return 0;
    }
    if (o.fail_on != NULL)
        check_fail_on(o.fail_on);
    if (first >= argc)
        trouble("no trace to read\nUsage: sockshim report [--fail-on CODES] [--perfetto FILE] "
                "[--html FILE] TRACE...");

    struct ss_report *r = read_traces(&o, argc - first, argv + first);
    FILE *out = stdout;
    ss_report_print_tables(r, out);
    print_findings(out, r);
    write_views(r, &o, argc - first, argv + first);

    int status = 0;
    for (size_t i = 0; i < finding_count(r); i++)
        if (fails_on(o.fail_on, finding_code(r, i)))
            status = EXIT_FINDINGS;
    ss_report_free(r);
    if (fflush(out) != 0)
        trouble("cannot write the report: %s", strerror(errno));
    return status;
}
