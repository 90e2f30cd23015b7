/* sockshim report: reads the JSON traces of a run, merges them in time
 * order, pairs the two ends of each connection seen on both sides, and
 * prints the merged summary and findings.
 *
 *   sockshim report [--fail-on CODES] TRACE...
 *
 * Exit status: 0, or 1 when a finding's code is in --fail-on, or 2 when a
 * trace cannot be read. JSON is read with jansson, not by hand.
 */
#include "report.h"
#include "locate.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sockshim/findings.h"
#include "sockshim/ops.h"

#define EXIT_FINDINGS 1
#define EXIT_TROUBLE 2

static const char *const finding_codes[] = {
#define REPORT_FINDING_CODE(id, code, text) code,
    SS_FINDINGS(REPORT_FINDING_CODE)
#undef REPORT_FINDING_CODE
};

__attribute__((noreturn, format(printf, 1, 2)))
static void trouble(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("sockshim report: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(EXIT_TROUBLE);
}

static void *grow(void *p, size_t n, size_t size)
{
    void *q = realloc(p, n * size);
    if (q == NULL)
        trouble("out of memory");
    return q;
}

/* ---- reading ------------------------------------------------------------ */

struct record {
    json_t *json;
    const char *ts;
    size_t order; /* position in the input, to keep equal times stable */
};

struct records {
    struct record *v;
    size_t n, cap;
    size_t files;
};

static void add_record(struct records *r, json_t *j)
{
    if (r->n == r->cap) {
        r->cap = r->cap ? r->cap * 2 : 1024;
        r->v = grow(r->v, r->cap, sizeof *r->v);
    }
    const char *ts = json_string_value(json_object_get(j, "ts"));
    r->v[r->n] = (struct record){j, ts != NULL ? ts : "", r->n};
    r->n++;
}

static void read_trace(struct records *r, const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        trouble("cannot read '%s': %s", path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    unsigned number = 0;
    while ((len = getline(&line, &cap, f)) >= 0) {
        number++;
        if (len <= 1)
            continue;
        json_error_t err;
        json_t *j = json_loadb(line, (size_t)len, 0, &err);
        if (j == NULL || !json_is_object(j))
            trouble("%s:%u: not a JSON trace line (%s); was it written with --format json?",
                    path, number, j == NULL ? err.text : "not an object");
        add_record(r, j);
    }
    free(line);
    fclose(f);
    r->files++;
}

static int by_time(const void *a, const void *b)
{
    const struct record *x = a, *y = b;
    int c = strcmp(x->ts, y->ts);
    return c != 0 ? c : (x->order > y->order) - (x->order < y->order);
}

/* ---- small accessors ---------------------------------------------------- */

static const char *str(json_t *j, const char *key)
{
    const char *s = json_string_value(json_object_get(j, key));
    return s != NULL ? s : "";
}

static long long num(json_t *j, const char *key)
{
    return json_integer_value(json_object_get(j, key));
}

static int is_type(json_t *j, const char *type)
{
    return strcmp(str(j, "type"), type) == 0;
}

/* ('127.0.0.1', 8080) for an address object, as the text trace shows it. */
static void print_addr(FILE *out, json_t *addr)
{
    if (!json_is_object(addr)) {
        fputs("None", out);
        return;
    }
    const char *family = str(addr, "family");
    if (strcmp(family, "AF_INET") == 0)
        fprintf(out, "('%s', %lld)", str(addr, "host"), num(addr, "port"));
    else if (strcmp(family, "AF_INET6") == 0)
        fprintf(out, "('%s', %lld, %lld, %lld)", str(addr, "host"), num(addr, "port"),
                num(addr, "flowinfo"), num(addr, "scope_id"));
    else if (json_object_get(addr, "path") != NULL)
        fprintf(out, "'%s'", str(addr, "path"));
    else if (json_object_get(addr, "abstract") != NULL)
        fprintf(out, "b'\\x00%s'", str(addr, "abstract"));
    else
        fprintf(out, "<%s>", family);
}

static int same_addr(json_t *a, json_t *b)
{
    return json_is_object(a) && json_is_object(b) && json_equal(a, b);
}

/* ---- processes -------------------------------------------------------- */

struct process {
    long long pid, ppid;
    const char *exe;
    json_t *summary; /* NULL: the process did not exit normally */
};

struct processes {
    struct process *v;
    size_t n;
};

static struct process *process_of(struct processes *ps, long long pid)
{
    for (size_t i = 0; i < ps->n; i++)
        if (ps->v[i].pid == pid)
            return &ps->v[i];
    ps->v = grow(ps->v, ps->n + 1, sizeof *ps->v);
    ps->v[ps->n] = (struct process){pid, 0, "?", NULL};
    return &ps->v[ps->n++];
}

static void collect_processes(const struct records *r, struct processes *ps)
{
    for (size_t i = 0; i < r->n; i++) {
        json_t *j = r->v[i].json;
        struct process *p = process_of(ps, num(j, "pid"));
        if (is_type(j, "start")) {
            p->exe = str(j, "exe");
            p->ppid = num(j, "ppid");
        } else if (is_type(j, "summary")) {
            p->summary = j;
        }
    }
}

/* ---- methods ------------------------------------------------------------ */

struct method_total {
    long long calls, errors, faults, bytes, time_ns;
};

static int op_index(const char *name)
{
    static const char *const ops[] = {
#define REPORT_OP_NAME(name, group) #name,
        SS_OPS(REPORT_OP_NAME)
#undef REPORT_OP_NAME
    };
    for (int i = 0; i < SS_OP_COUNT; i++)
        if (strcmp(ops[i], name) == 0)
            return i;
    return -1;
}

static int moves_bytes(const char *op)
{
    return strncmp(op, "send", 4) == 0 || strncmp(op, "recv", 4) == 0;
}

/* Counted from the call records, so that a process killed before its
 * summary still counts. */
static void print_methods(FILE *out, const struct records *r)
{
    struct method_total t[SS_OP_COUNT];
    const char *names[SS_OP_COUNT] = {0};
    memset(t, 0, sizeof t);
    for (size_t i = 0; i < r->n; i++) {
        json_t *j = r->v[i].json;
        int op = is_type(j, "call") ? op_index(str(j, "op")) : -1;
        if (op < 0)
            continue;
        names[op] = str(j, "op");
        t[op].calls++;
        t[op].errors += json_object_get(j, "error") != NULL;
        t[op].faults += json_object_get(j, "fault") != NULL;
        t[op].time_ns += num(j, "dur_ns");
        if (moves_bytes(names[op]) && num(j, "ret") > 0)
            t[op].bytes += num(j, "ret");
    }
    fprintf(out, "\nmethods\n  %-13s %9s %7s %7s %12s %12s\n", "method", "calls", "errors",
            "faults", "bytes", "time (ms)");
    for (int op = 0; op < SS_OP_COUNT; op++) {
        if (t[op].calls == 0)
            continue;
        char bytes[24] = "-";
        if (moves_bytes(names[op]))
            snprintf(bytes, sizeof bytes, "%lld", t[op].bytes);
        fprintf(out, "  %-13s %9lld %7lld %7lld %12s %12.3f\n", names[op], t[op].calls,
                t[op].errors, t[op].faults, bytes, (double)t[op].time_ns / 1e6);
    }
}

/* ---- sockets and connections -------------------------------------------- */

struct socket_seen {
    long long pid, id, fd;
    json_t *sock;        /* the last "sock" seen */
    long long sent, received;
    int paired;
};

struct sockets {
    struct socket_seen *v;
    size_t n;
};

static struct socket_seen *socket_of(struct sockets *ss, long long pid, long long id)
{
    for (size_t i = 0; i < ss->n; i++)
        if (ss->v[i].pid == pid && ss->v[i].id == id)
            return &ss->v[i];
    ss->v = grow(ss->v, ss->n + 1, sizeof *ss->v);
    ss->v[ss->n] = (struct socket_seen){pid, id, -1, NULL, 0, 0, 0};
    return &ss->v[ss->n++];
}

/* What the call records say of each socket (pid and object id): its last
 * state and addresses, and the bytes its transfers moved. */
static void collect_sockets(const struct records *r, struct sockets *ss)
{
    for (size_t i = 0; i < r->n; i++) {
        json_t *j = r->v[i].json;
        json_t *sock = json_object_get(j, "sock");
        if (!is_type(j, "call") || !json_is_object(sock))
            continue;
        struct socket_seen *s = socket_of(ss, num(j, "pid"), num(sock, "id"));
        s->sock = sock;
        s->fd = num(j, "fd");
        const char *op = str(j, "op");
        long long ret = num(j, "ret");
        if (ret > 0 && strncmp(op, "send", 4) == 0)
            s->sent += ret;
        else if (ret > 0 && strncmp(op, "recv", 4) == 0)
            s->received += ret;
    }
}

/* The two ends of a connection both traced: one's local address is the
 * other's peer and the other way round. */
static void print_connections(FILE *out, struct sockets *ss, struct processes *ps)
{
    int any = 0;
    for (size_t i = 0; i < ss->n; i++) {
        struct socket_seen *a = &ss->v[i];
        if (a->sock == NULL || a->paired)
            continue;
        json_t *al = json_object_get(a->sock, "laddr"), *ar = json_object_get(a->sock, "raddr");
        for (size_t k = i + 1; k < ss->n; k++) {
            struct socket_seen *b = &ss->v[k];
            if (b->sock == NULL || b->paired)
                continue;
            json_t *bl = json_object_get(b->sock, "laddr"), *br = json_object_get(b->sock, "raddr");
            if (!same_addr(al, br) || !same_addr(ar, bl) ||
                strcmp(str(a->sock, "type"), str(b->sock, "type")) != 0)
                continue;
            a->paired = b->paired = 1;
            if (!any)
                fprintf(out, "\nconnections (both ends traced)\n");
            any = 1;
            fprintf(out, "  pid %lld sock%lld ", a->pid, a->fd);
            print_addr(out, al);
            fprintf(out, " <-> pid %lld sock%lld ", b->pid, b->fd);
            print_addr(out, bl);
            fprintf(out, ": %lld bytes one way, %lld the other%s\n", a->sent, b->sent,
                    a->sent == b->received && b->sent == a->received ? ""
                                                                     : " (the ends disagree)");
            (void)ps;
            break;
        }
    }
    if (!any)
        fprintf(out, "\nconnections (both ends traced): none\n");
}

static void print_sockets(FILE *out, const struct sockets *ss, struct processes *ps)
{
    fprintf(out, "\nsockets\n");
    for (size_t i = 0; i < ss->n; i++) {
        const struct socket_seen *s = &ss->v[i];
        if (s->sock == NULL)
            continue;
        fprintf(out, "  pid %lld %s sock%lld %s/%s ", s->pid, process_of(ps, s->pid)->exe, s->fd,
                str(s->sock, "family"), str(s->sock, "type"));
        print_addr(out, json_object_get(s->sock, "laddr"));
        fputs(" -> ", out);
        print_addr(out, json_object_get(s->sock, "raddr"));
        fprintf(out, "  sent %lld, received %lld\n", s->sent, s->received);
    }
}

/* ---- findings ----------------------------------------------------------- */

struct finding {
    long long pid, fd, sock_id, count, bytes;
    const char *code, *message;
    json_t *where;
};

struct findings {
    struct finding *v;
    size_t n;
};

static struct finding *finding_of(struct findings *fs, long long pid, const char *code,
                                  long long fd, long long sock_id)
{
    for (size_t i = 0; i < fs->n; i++) {
        struct finding *f = &fs->v[i];
        if (f->pid == pid && f->fd == fd && f->sock_id == sock_id && strcmp(f->code, code) == 0)
            return f;
    }
    fs->v = grow(fs->v, fs->n + 1, sizeof *fs->v);
    fs->v[fs->n] = (struct finding){pid, fd, sock_id, 0, 0, code, "", NULL};
    return &fs->v[fs->n++];
}

static void take_finding(struct findings *fs, long long pid, json_t *f, int from_summary)
{
    json_t *sock = json_object_get(f, "sock");
    struct finding *x = finding_of(fs, pid, str(f, "code"), num(f, "fd"),
                                   json_is_object(sock) ? num(sock, "id") : 0);
    x->message = str(f, "message");
    x->where = json_object_get(f, "where");
    if (from_summary) { /* the summary's count is the whole count */
        x->count = num(f, "count");
        x->bytes = num(f, "bytes");
    } else if (x->count == 0) {
        x->count = 1;
        x->bytes = num(f, "bytes");
    }
}

static void collect_findings(const struct records *r, struct findings *fs)
{
    for (size_t i = 0; i < r->n; i++) {
        json_t *j = r->v[i].json;
        if (is_type(j, "finding"))
            take_finding(fs, num(j, "pid"), j, 0);
        if (is_type(j, "summary")) {
            json_t *list = json_object_get(j, "findings");
            for (size_t k = 0; k < json_array_size(list); k++)
                take_finding(fs, num(j, "pid"), json_array_get(list, k), 1);
        }
    }
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
static void print_where(FILE *out, json_t *where)
{
    fputs(" at ", out);
    ss_locate_put_safe(out, str(where, "text"));
    uint64_t offset;
    struct ss_place place;
    if (json_is_integer(json_object_get(where, "line")) ||
        json_is_string(json_object_get(where, "function")) || /* the command answered */
        !parse_offset(str(where, "offset"), &offset) ||
        ss_locate(str(where, "module"), offset, &place) != 0)
        return;
    fputs(" (", out);
    ss_locate_put_safe(out, place.function[0] != '\0' ? place.function : "??");
    if (place.line > 0) {
        fputs(", ", out);
        ss_locate_put_safe(out, place.file);
        fprintf(out, ":%d", place.line);
    }
    fputc(')', out);
}

static void print_findings(FILE *out, const struct findings *fs)
{
    fprintf(out, "\nfindings%s\n", fs->n == 0 ? ": none" : "");
    for (size_t i = 0; i < fs->n; i++) {
        const struct finding *f = &fs->v[i];
        fprintf(out, "  %s pid %lld sock%lld: %s", f->code, f->pid, f->fd, f->message);
        if (strcmp(f->code, "lost-bytes") == 0)
            fprintf(out, ": %lld bytes never sent", f->bytes);
        fprintf(out, " (%lld %s)", f->count, f->count == 1 ? "time" : "times");
        print_where(out, f->where);
        fputc('\n', out);
    }
}

/* ---- --fail-on ------------------------------------------------------------- */

static int code_known(const char *code, size_t len)
{
    for (int i = 0; i < SS_FINDING_COUNT; i++)
        if (strlen(finding_codes[i]) == len && strncmp(finding_codes[i], code, len) == 0)
            return 1;
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
            trouble("--fail-on: unknown finding '%.*s' (codes: lost-bytes, leak, "
                    "use-after-close, send-after-shutdown, sigpipe-risk, eof-spin, "
                    "nagle-small-writes, unchecked-connect, reuseaddr-missing, double-close, "
                    "or all)", (int)len, p);
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
            trouble("unknown option '%s'\nTry 'sockshim report --help' for more information.", a);
        }
    }
    if (fail_on != NULL)
        check_fail_on(fail_on);
    if (first >= argc)
        trouble("no trace to read\nUsage: sockshim report [--fail-on CODES] TRACE...");

    struct records r = {0};
    for (int i = first; i < argc; i++)
        read_trace(&r, argv[i]);
    qsort(r.v, r.n, sizeof *r.v, by_time);

    struct processes ps = {0};
    struct sockets ss = {0};
    struct findings fs = {0};
    collect_processes(&r, &ps);
    collect_sockets(&r, &ss);
    collect_findings(&r, &fs);

    FILE *out = stdout;
    fprintf(out, "sockshim report: %zu trace%s, %zu process%s, %zu socket%s, %zu finding%s\n",
            r.files, r.files == 1 ? "" : "s", ps.n, ps.n == 1 ? "" : "es", ss.n,
            ss.n == 1 ? "" : "s", fs.n, fs.n == 1 ? "" : "s");
    fprintf(out, "\nprocesses\n");
    for (size_t i = 0; i < ps.n; i++)
        fprintf(out, "  pid %lld %s (parent %lld)%s\n", ps.v[i].pid, ps.v[i].exe, ps.v[i].ppid,
                ps.v[i].summary != NULL ? "" : ", no summary: it did not exit normally");
    print_methods(out, &r);
    print_connections(out, &ss, &ps);
    print_sockets(out, &ss, &ps);
    print_findings(out, &fs);

    int status = 0;
    for (size_t i = 0; i < fs.n; i++)
        if (fails_on(fail_on, fs.v[i].code))
            status = EXIT_FINDINGS;
    if (fflush(out) != 0)
        trouble("cannot write the report: %s", strerror(errno));
    return status;
}
