/* sockshim report: reads the JSON traces of a run, merges them in time
 * order, pairs the two ends of each connection seen on both sides, and
 * prints the merged summary and findings.
 *
 *   sockshim report [--fail-on CODES] TRACE...
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
#include <unistd.h>

#include "escape.h"
#include "fmt.h"
#include "locate.h"
#include "options.h"
#include "raw_file.h"
#include "render_file.h"
#include "say.h"
#include "sockshim/findings.h"
#include "xlat.h"

#define EXIT_FINDINGS 1
#define EXIT_TROUBLE SS_EXIT_TROUBLE
#define trouble ss_die
static void *grow(void *p, size_t n, size_t size)
{
    if (size != 0 && n > SIZE_MAX / size)
        trouble("out of memory");
    void *q = realloc(p, n * size > 0 ? n * size : 1);
    if (q == NULL)
        trouble("out of memory");
    return q;
}

/* Room for one more in a vector of *cap elements holding n. */
static void *room_for_one(void *p, size_t n, size_t *cap, size_t size)
{
    if (n < *cap)
        return p;
    *cap = *cap ? *cap * 2 : 64;
    return grow(p, *cap, size);
}

static char *copy_of(const char *s)
{
    char *c = strdup(s);
    if (c == NULL)
        trouble("out of memory");
    return c;
}

/* ---- sums that cannot overflow -------------------------------------------- */

/* Totals are unsigned and stop at UINT64_MAX: records are checked to hold
 * no negative count or duration, and a trace that adds up to more than
 * 2^64 - 1 (only a forged one can) shows that ceiling, not a wrapped sum. */
static void add_saturating(uint64_t *sum, uint64_t v)
{
    *sum = v > UINT64_MAX - *sum ? UINT64_MAX : *sum + v;
}

/* ---- hash index ------------------------------------------------------------ */

/* Open addressing over the positions of a table's items (slot = position +
 * 1, 0 = empty). The caller says how to hash an item and how to compare
 * one with a key, so one index serves every table. */
struct index {
    size_t *slot;
    size_t cap, used;
};

typedef uint64_t item_hash_fn(const void *table, size_t item);
typedef int item_eq_fn(const void *table, size_t item, const void *key);

static uint64_t mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= 0xbf58476d1ce4e5b9ull;
    x ^= x >> 27;
    x *= 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

static uint64_t hash_bytes(uint64_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    h ^= 0xcbf29ce484222325ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ull;
    return mix64(h);
}

static size_t *index_probe(size_t *slot, size_t cap, uint64_t hash, const void *table,
                           item_eq_fn *eq, const void *key)
{
    for (size_t i = hash & (cap - 1);; i = (i + 1) & (cap - 1))
        if (slot[i] == 0 || (eq != NULL && eq(table, slot[i] - 1, key)))
            return &slot[i];
}

/* Keeps the index at most half full, so a probe stays short. */
static void index_reserve(struct index *ix, const void *table, item_hash_fn *hash_of)
{
    if ((ix->used + 1) * 2 <= ix->cap)
        return;
    size_t cap = ix->cap ? ix->cap * 2 : 64;
    size_t *slot = calloc(cap, sizeof *slot);
    if (slot == NULL)
        trouble("out of memory");
    for (size_t i = 0; i < ix->cap; i++)
        if (ix->slot[i] != 0)
            *index_probe(slot, cap, hash_of(table, ix->slot[i] - 1), table, NULL, NULL) =
                ix->slot[i];
    free(ix->slot);
    ix->slot = slot;
    ix->cap = cap;
}

/* The position of the item matching key, or SIZE_MAX after making room
 * for it: *at is then the slot to fill with index_put(). */
static size_t index_get(struct index *ix, const void *table, item_hash_fn *hash_of,
                        item_eq_fn *eq, const void *key, uint64_t hash, size_t **at)
{
    index_reserve(ix, table, hash_of);
    *at = index_probe(ix->slot, ix->cap, hash, table, eq, key);
    return **at != 0 ? **at - 1 : SIZE_MAX;
}

static void index_put(struct index *ix, size_t *at, size_t item)
{
    *at = item + 1;
    ix->used++;
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

/* The exact bytes of a string member: "name_hex" when the writer put one
 * there (the bytes were not UTF-8), else the string itself, NUL bytes
 * included (docs/trace-format.md, "Strings"). */
struct text {
    const char *p;
    size_t n;
    char *owned;
};

/* "path_hex" for "path" (keys are report's own, short names) */
static const char *twin_key(const char *key, char buf[static 64])
{
    snprintf(buf, 64, "%s" SS_JSON_HEX_SUFFIX, key);
    return buf;
}

static struct text text_of(json_t *obj, const char *key)
{
    struct text t = {"", 0, NULL};
    char buf[64];
    json_t *hex = json_object_get(obj, twin_key(key, buf)), *s = json_object_get(obj, key);
    if (json_is_string(hex)) {
        size_t n = json_string_length(hex) / 2;
        t.owned = grow(NULL, n + 1, 1);
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

static void text_free(struct text *t)
{
    free(t->owned);
}

/* How a string is shown: as the text trace shows a name (no quotes), a
 * file-system name (a Python str literal) or an abstract unix name (a
 * Python bytes literal with its leading NUL). */
enum shown { SHOWN_NAME, SHOWN_PATH, SHOWN_ABSTRACT };

static void render_shown(struct ss_out *o, enum shown how, const char *p, size_t n)
{
    if (how == SHOWN_NAME) {
        ss_out_safe_n(o, p, n);
    } else if (how == SHOWN_PATH) {
        ss_out_pystr(o, p, n);
    } else {
        struct iovec parts[2] = {{(void *)"\0", 1}, {(void *)p, n}};
        struct ss_bytes b;
        ss_bytes_iov(&b, parts, 2, n + 1);
        ss_out_bytes_literal(o, &b, n + 1);
    }
}

static void put_shown(FILE *out, enum shown how, const char *p, size_t n)
{
    char small[512];
    struct ss_out o;
    ss_out_init(&o, small, sizeof small);
    render_shown(&o, how, p, n);
    if (!ss_out_overflowed(&o)) {
        fwrite(small, 1, o.len, out);
        return;
    }
    char *big = grow(NULL, o.len, 1);
    size_t need = o.len;
    ss_out_init(&o, big, need);
    render_shown(&o, how, p, n);
    fwrite(big, 1, need, out);
    free(big);
}

/* A string member of obj, escaped. */
static void put_text(FILE *out, enum shown how, json_t *obj, const char *key)
{
    struct text t = text_of(obj, key);
    put_shown(out, how, t.p, t.n);
    text_free(&t);
}

static void put_name(FILE *out, const char *s)
{
    put_shown(out, SHOWN_NAME, s, strlen(s));
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
    const char *hex_key = twin_key(key, buf);
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
    } else if (is_type(rec, "summary")) {
        check_text(rd, rec, "exe");
        json_t *list = json_object_get(rec, "findings");
        if (list != NULL && !json_is_array(list))
            bad(rd, "'findings' is not a list");
        for (size_t k = 0; k < json_array_size(list); k++)
            check_finding(rd, json_array_get(list, k), 1);
    } else if (is_type(rec, "finding")) {
        check_finding(rd, rec, 0);
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
    long long pid, ppid;
    json_t *start; /* its start record (for "exe"), or NULL */
    int summary;   /* 0: the process did not exit normally */
    struct stamp first;
};

struct method_total {
    uint64_t calls, errors, faults, bytes, time_ns;
};

struct socket_seen {
    long long pid, id, fd;
    json_t *laddr, *raddr; /* of the last "sock" seen, or NULL */
    char *family, *type;
    struct stamp first, last;
    uint64_t sent, received;
    int has_sock, paired;
};

struct finding {
    long long pid, fd, sock_id;
    uint64_t count, bytes;
    json_t *rec; /* the last record of it: code, message, where */
    struct stamp first;
};

struct ss_report {
    struct process *procs;
    size_t nprocs, procs_cap;
    struct index proc_ix;
    struct socket_seen *socks;
    size_t nsocks, socks_cap;
    struct index sock_ix;
    struct finding *finds;
    size_t nfinds, finds_cap;
    struct index find_ix;
    struct process **proc_order; /* by time, once read */
    struct method_total methods[SS_OP_COUNT];
    size_t files;
    uint64_t records;
};

struct ss_report *ss_report_new(void)
{
    struct ss_report *r = calloc(1, sizeof *r);
    if (r == NULL)
        trouble("out of memory");
    return r;
}

static uint64_t proc_hash(long long pid)
{
    return mix64((uint64_t)pid);
}

static uint64_t proc_hash_of(const void *table, size_t i)
{
    return proc_hash(((const struct ss_report *)table)->procs[i].pid);
}

static int proc_eq(const void *table, size_t i, const void *key)
{
    return ((const struct ss_report *)table)->procs[i].pid == *(const long long *)key;
}

static struct process *process_of(struct ss_report *r, long long pid, const struct stamp *when)
{
    size_t *at;
    size_t i = index_get(&r->proc_ix, r, proc_hash_of, proc_eq, &pid, proc_hash(pid), &at);
    if (i == SIZE_MAX) {
        r->procs = room_for_one(r->procs, r->nprocs, &r->procs_cap, sizeof *r->procs);
        i = r->nprocs++;
        r->procs[i] = (struct process){pid, 0, NULL, 0, *when};
        index_put(&r->proc_ix, at, i);
    }
    struct process *p = &r->procs[i];
    if (stamp_cmp(when, &p->first) < 0)
        p->first = *when;
    return p;
}

struct sock_key {
    long long pid, id;
};

static uint64_t sock_hash(const struct sock_key *k)
{
    return mix64((uint64_t)k->pid * 0x9e3779b97f4a7c15ull ^ mix64((uint64_t)k->id));
}

static uint64_t sock_hash_of(const void *table, size_t i)
{
    const struct socket_seen *s = &((const struct ss_report *)table)->socks[i];
    struct sock_key k = {s->pid, s->id};
    return sock_hash(&k);
}

static int sock_eq(const void *table, size_t i, const void *key)
{
    const struct socket_seen *s = &((const struct ss_report *)table)->socks[i];
    const struct sock_key *k = key;
    return s->pid == k->pid && s->id == k->id;
}

static struct socket_seen *socket_of(struct ss_report *r, long long pid, long long id,
                                     const struct stamp *when)
{
    struct sock_key k = {pid, id};
    size_t *at;
    size_t i = index_get(&r->sock_ix, r, sock_hash_of, sock_eq, &k, sock_hash(&k), &at);
    if (i == SIZE_MAX) {
        r->socks = room_for_one(r->socks, r->nsocks, &r->socks_cap, sizeof *r->socks);
        i = r->nsocks++;
        r->socks[i] = (struct socket_seen){.pid = pid, .id = id, .fd = -1, .first = *when};
        index_put(&r->sock_ix, at, i);
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
    s->family = copy_of(str(sock, "family"));
    s->type = copy_of(str(sock, "type"));
}


/* Methods are counted from the call records, so that a process killed
 * before its summary still counts; and the bytes each socket moved. */
static void take_call(struct ss_report *r, json_t *rec, const struct stamp *when)
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
    if (!json_is_object(sock))
        return;
    struct socket_seen *s = socket_of(r, num(rec, "pid"), num(sock, "id"), when);
    take_sock(s, rec, sock, when);
    if (ret > 0 && sends(i))
        add_saturating(&s->sent, (uint64_t)ret);
    else if (ret > 0 && receives(i))
        add_saturating(&s->received, (uint64_t)ret);
}

struct find_key {
    long long pid, fd, sock_id;
    const char *code;
};

static uint64_t find_hash(const struct find_key *k)
{
    uint64_t h = mix64((uint64_t)k->pid ^ mix64((uint64_t)k->fd ^ mix64((uint64_t)k->sock_id)));
    return hash_bytes(h, k->code, strlen(k->code));
}

static uint64_t find_hash_of(const void *table, size_t i)
{
    const struct finding *f = &((const struct ss_report *)table)->finds[i];
    struct find_key k = {f->pid, f->fd, f->sock_id, str(f->rec, "code")};
    return find_hash(&k);
}

static int find_eq(const void *table, size_t i, const void *key)
{
    const struct finding *f = &((const struct ss_report *)table)->finds[i];
    const struct find_key *k = key;
    return f->pid == k->pid && f->fd == k->fd && f->sock_id == k->sock_id &&
           strcmp(str(f->rec, "code"), k->code) == 0;
}

/* A finding record, or one of a summary's (whose count is the whole
 * count); the first time a process saw it on a socket comes first. */
static void take_finding(struct ss_report *r, long long pid, json_t *f, int from_summary,
                         const struct stamp *when)
{
    json_t *sock = json_object_get(f, "sock");
    struct find_key k = {pid, num(f, "fd"), json_is_object(sock) ? num(sock, "id") : 0,
                         str(f, "code")};
    size_t *at;
    size_t i = index_get(&r->find_ix, r, find_hash_of, find_eq, &k, find_hash(&k), &at);
    if (i == SIZE_MAX) {
        r->finds = room_for_one(r->finds, r->nfinds, &r->finds_cap, sizeof *r->finds);
        i = r->nfinds++;
        r->finds[i] = (struct finding){k.pid, k.fd, k.sock_id, 0, 0, NULL, *when};
        json_incref(f);
        r->finds[i].rec = f; /* before index_put: the index hashes its code */
        index_put(&r->find_ix, at, i);
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

static void take_record(struct ss_report *r, json_t *rec)
{
    struct stamp when = {"", r->records++};
    snprintf(when.ts, sizeof when.ts, "%s", str(rec, "ts"));
    long long pid = num(rec, "pid");
    struct process *p = process_of(r, pid, &when);
    if (is_type(rec, "start")) {
        replace_ref(&p->start, rec);
        p->ppid = num(rec, "ppid");
    } else if (is_type(rec, "summary")) {
        p->summary = 1;
        json_t *list = json_object_get(rec, "findings");
        for (size_t k = 0; k < json_array_size(list); k++)
            take_finding(r, pid, json_array_get(list, k), 1, &when);
    } else if (is_type(rec, "finding")) {
        take_finding(r, pid, rec, 0, &when);
    } else if (is_type(rec, "call")) {
        take_call(r, rec, &when);
    }
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
static FILE *rendered_records(FILE *records, const char *path)
{
    FILE *json = tmpfile();
    if (json == NULL)
        trouble("cannot render '%s': no temporary file: %s", safe_c(path), strerror(errno));
    char why[512];
    unsigned long captured;
    int got = ss_raw_render(records, path, json, 1, &captured, why, sizeof why);
    if (got < 0)
        trouble("%s: %s", safe_c(path), why);
    if (got > 0) /* as a JSON trace's last line cut short */
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
        f = rendered_records(f, path);
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
            ss_note("%s:%lu: the last line is cut short (%zd bytes without a newline): left "
                    "out", safe_c(path), number, len);
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
    r->sock_ix = r->find_ix = (struct index){NULL, 0, 0};
    r->proc_order = grow(r->proc_order, r->nprocs, sizeof *r->proc_order);
    for (size_t i = 0; i < r->nprocs; i++)
        r->proc_order[i] = &r->procs[i];
    sort_by(r->proc_order, r->nprocs, sizeof *r->proc_order, proc_by_time);
}

/* The process of pid; every pid of a socket has one (take_record made
 * it). */
static const struct process *process_with(struct ss_report *r, long long pid)
{
    size_t *at;
    size_t i = index_get(&r->proc_ix, r, proc_hash_of, proc_eq, &pid, proc_hash(pid), &at);
    return i != SIZE_MAX ? &r->procs[i] : NULL;
}

/* ---- printing ------------------------------------------------------------------ */

/* ('127.0.0.1', 8080) for an address object, as the text trace shows it. */
static void print_addr(FILE *out, json_t *addr)
{
    if (!json_is_object(addr)) {
        fputs("None", out);
        return;
    }
    const char *family = str(addr, "family");
    int inet6 = strcmp(family, "AF_INET6") == 0;
    if (inet6 || strcmp(family, "AF_INET") == 0) {
        fputc('(', out);
        put_text(out, SHOWN_PATH, addr, "host");
        fprintf(out, ", %lld", num(addr, "port"));
        if (inet6)
            fprintf(out, ", %lld, %lld", num(addr, "flowinfo"), num(addr, "scope_id"));
        fputc(')', out);
    } else if (json_object_get(addr, "path") != NULL) {
        put_text(out, SHOWN_PATH, addr, "path");
    } else if (json_object_get(addr, "abstract") != NULL) {
        put_text(out, SHOWN_ABSTRACT, addr, "abstract");
    } else {
        fputc('<', out);
        put_name(out, family);
        fputc('>', out);
    }
}

static void print_processes(FILE *out, const struct ss_report *r)
{
    fprintf(out, "\nprocesses\n");
    for (size_t i = 0; i < r->nprocs; i++) {
        const struct process *p = r->proc_order[i];
        fprintf(out, "  pid %lld ", p->pid);
        if (p->start != NULL)
            put_text(out, SHOWN_NAME, p->start, "exe");
        else
            fputc('?', out);
        fprintf(out, " (parent %lld)%s\n", p->ppid,
                p->summary ? "" : ", no summary: it did not exit normally");
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
 * other's peer and the other way round. Each socket with both addresses
 * goes into a bucket keyed by (type, laddr, raddr); a socket's other end
 * is the earliest unpaired socket after it in the bucket of (type, raddr,
 * laddr). Walking the sockets in time order, a bucket's sockets before the
 * current one are all paired already (an unpaired one would have taken the
 * current one), so each bucket keeps a cursor that only moves forward. */
struct bucket {
    char *key;
    size_t *items, n, cap, next;
};

struct buckets {
    struct bucket *v;
    size_t n, cap;
    struct index ix;
};

static uint64_t bucket_hash_of(const void *table, size_t i)
{
    const char *k = ((const struct buckets *)table)->v[i].key;
    return hash_bytes(0, k, strlen(k));
}

static int bucket_eq(const void *table, size_t i, const void *key)
{
    return strcmp(((const struct buckets *)table)->v[i].key, key) == 0;
}

/* "type\nladdr\nraddr", the addresses as canonical JSON: equal keys are
 * equal addresses (json_equal). */
static char *pair_key(const char *type, json_t *local, json_t *remote)
{
    char *l = json_dumps(local, JSON_COMPACT | JSON_SORT_KEYS);
    char *rm = json_dumps(remote, JSON_COMPACT | JSON_SORT_KEYS);
    if (l == NULL || rm == NULL)
        trouble("out of memory");
    size_t n = strlen(type) + strlen(l) + strlen(rm) + 3;
    char *k = grow(NULL, n, 1);
    snprintf(k, n, "%s\n%s\n%s", type, l, rm);
    free(l);
    free(rm);
    return k;
}

/* The bucket of key (NULL when there is none and add is 0); takes key. */
static struct bucket *bucket_of(struct buckets *bs, char *key, int add)
{
    size_t *at;
    size_t i = index_get(&bs->ix, bs, bucket_hash_of, bucket_eq, key,
                         hash_bytes(0, key, strlen(key)), &at);
    if (i != SIZE_MAX || !add) {
        free(key);
        return i != SIZE_MAX ? &bs->v[i] : NULL;
    }
    bs->v = room_for_one(bs->v, bs->n, &bs->cap, sizeof *bs->v);
    i = bs->n++;
    bs->v[i] = (struct bucket){key, NULL, 0, 0, 0};
    index_put(&bs->ix, at, i);
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
        struct bucket *b = bucket_of(bs, pair_key(s->type, s->laddr, s->raddr), 1);
        b->items = room_for_one(b->items, b->n, &b->cap, sizeof *b->items);
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

/* The other end of socket i, or NULL. */
static struct socket_seen *other_end(struct buckets *bs, struct ss_report *r, size_t i)
{
    struct socket_seen *a = &r->socks[i];
    struct bucket *b = bucket_of(bs, pair_key(a->type, a->raddr, a->laddr), 0);
    if (b == NULL)
        return NULL;
    while (b->next < b->n && (b->items[b->next] <= i || r->socks[b->items[b->next]].paired))
        b->next++;
    return b->next < b->n ? &r->socks[b->items[b->next]] : NULL;
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

static void print_connections(FILE *out, struct ss_report *r)
{
    struct buckets bs = {0};
    fill_buckets(&bs, r);
    int any = 0;
    for (size_t i = 0; i < r->nsocks; i++) {
        struct socket_seen *a = &r->socks[i], *b;
        if (!pairable(a) || a->paired || (b = other_end(&bs, r, i)) == NULL)
            continue;
        a->paired = b->paired = 1;
        if (!any)
            fprintf(out, "\nconnections (both ends traced)\n");
        any = 1;
        print_connection(out, a, b);
    }
    if (!any)
        fprintf(out, "\nconnections (both ends traced): none\n");
    free_buckets(&bs);
}

static void print_sockets(FILE *out, struct ss_report *r)
{
    fprintf(out, "\nsockets\n");
    for (size_t i = 0; i < r->nsocks; i++) {
        const struct socket_seen *s = &r->socks[i];
        if (!s->has_sock)
            continue;
        const struct process *p = process_with(r, s->pid);
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
    sort_tables(r);
    fprintf(out, "sockshim report: %zu trace%s, %zu process%s, %zu socket%s, %zu finding%s\n",
            r->files, r->files == 1 ? "" : "s", r->nprocs, r->nprocs == 1 ? "" : "es",
            r->nsocks, r->nsocks == 1 ? "" : "s", r->nfinds, r->nfinds == 1 ? "" : "s");
    print_processes(out, r);
    print_methods(out, r);
    print_connections(out, r);
    print_sockets(out, r);
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
            trouble("--fail-on: unknown finding '%s' (codes: lost-bytes, leak, "
                    "use-after-close, send-after-shutdown, sigpipe-risk, eof-spin, "
                    "nagle-small-writes, unchecked-connect, reuseaddr-missing, double-close, "
                    "or all)", safe(p, len));
        if (p[len] == '\0')
            return;
        p += len + 1;
    }
}

/* ---- the command ------------------------------------------------------------ */

static void usage(void)
{
    fputs("Usage: sockshim report [--fail-on CODES] TRACE...\n"
          "Merge the JSON traces of a run (-o trace.%p.jsonl --format json), pair the ends\n"
          "of each connection traced on both sides, and print the methods, connections,\n"
          "sockets and findings. Exit status 1 when a finding's code is in CODES\n"
          "(comma-separated, or all), 2 when a trace cannot be read, else 0.\n",
          stdout);
}

int ss_report_main(int argc, char *argv[])
{
    ss_say_as("sockshim report");
    const char *fail_on = NULL;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        const char *a = argv[first];
        if (strcmp(a, "--") == 0) {
            first++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return 0;
        }
        if (strncmp(a, "--fail-on=", 10) == 0) {
            fail_on = a + 10;
        } else if (strcmp(a, "--fail-on") == 0 && first + 1 < argc) {
            fail_on = argv[++first];
        } else {
            trouble("unknown option '%s'\nTry 'sockshim report --help' for more information.",
                    safe_c(a));
        }
    }
    if (fail_on != NULL)
        check_fail_on(fail_on);
    if (first >= argc)
        trouble("no trace to read\nUsage: sockshim report [--fail-on CODES] TRACE...");

    struct ss_report *r = ss_report_new();
    for (int i = first; i < argc; i++)
        read_trace(r, argv[i]);

    FILE *out = stdout;
    ss_report_print_tables(r, out);
    print_findings(out, r);

    int status = 0;
    for (size_t i = 0; i < finding_count(r); i++)
        if (fails_on(fail_on, finding_code(r, i)))
            status = EXIT_FINDINGS;
    ss_report_free(r);
    if (fflush(out) != 0)
        trouble("cannot write the report: %s", strerror(errno));
    return status;
}
