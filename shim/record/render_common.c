/* sockshim: what both renderers need, and the choice of line buffer. */
#include "render.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/un.h>

#include "audit.h"
#include "internal.h"
#include "ledger.h"
#include "sink.h"
#include "xlat.h"

size_t ss_render_strsize(void)
{
    return ss_config.strsize;
}

/* ---- bytes (the literals and the strings themselves: escape.c) -------- */

size_t ss_bytes_copy(const struct ss_bytes *b, void *dst, size_t n)
{
    size_t done = 0;
    if (n > b->total)
        n = b->total;
    for (int i = 0; i < b->iovcnt && done < n; i++) {
        size_t take = b->iov[i].iov_len;
        if (take > n - done)
            take = n - done;
        if (b->iov[i].iov_base == NULL)
            break;
        memcpy((char *)dst + done, b->iov[i].iov_base, take);
        done += take;
    }
    return done;
}

int ss_bytes_slice(const struct ss_bytes *b, size_t from, size_t *n, struct iovec *out, int max)
{
    size_t want = *n, got = 0, skip = from;
    int cnt = 0;
    for (int i = 0; i < b->iovcnt && got < want && cnt < max; i++) {
        const char *p = b->iov[i].iov_base;
        size_t len = b->iov[i].iov_len;
        if (p == NULL)
            break;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t take = len - skip < want - got ? len - skip : want - got;
        out[cnt++] = (struct iovec){(void *)(p + skip), take};
        got += take;
        skip = 0;
    }
    *n = got;
    return cnt;
}


/* How many of the first n bytes of b its pieces hold: fewer than its total
 * when a receive returned more than its buffer holds (recv with MSG_TRUNC
 * returns a datagram's whole length). */
static size_t bytes_held(const struct ss_bytes *b, size_t n)
{
    size_t held = 0;
    for (int i = 0; i < b->iovcnt && held < n && b->iov[i].iov_base != NULL; i++)
        held += b->iov[i].iov_len < n - held ? b->iov[i].iov_len : n - held;
    return held;
}

void ss_out_pybytes(struct ss_out *o, const struct ss_bytes *b)
{
    size_t shown = bytes_held(b, b->total < ss_config.strsize ? b->total : ss_config.strsize);
    ss_out_bytes_literal(o, b, shown);
    if (shown < b->total)
        ss_out_str(o, "...");
    ss_out_str(o, " (");
    ss_out_u64(o, b->total);
    ss_out_str(o, b->total == 1 ? " byte)" : " bytes)");
}


void ss_out_json_name(struct ss_out *o, const char *name)
{
    ss_out_char(o, '"');
    ss_out_str(o, name);
    ss_out_char(o, '"');
}

static void out_hex_byte(void *ctx, unsigned char c)
{
    struct ss_out *o = ctx;
    ss_out_hexbytes(o, &c, 1);
}

void ss_out_json_data(struct ss_out *o, const struct ss_bytes *b)
{
    size_t shown = b->total < ss_config.strsize ? b->total : ss_config.strsize;
    ss_out_str(o, "{\"len\": ");
    ss_out_u64(o, b->total);
    ss_out_str(o, ", \"hex\": \"");
    ss_bytes_each(b, shown, out_hex_byte, o);
    ss_out_str(o, "\"}");
}

/* ---- addresses -------------------------------------------------------- */

/* A socket address taken apart once, for both renderers. */
struct addr_view {
    enum { ADDR_NONE, ADDR_INET, ADDR_INET6, ADDR_UNIX, ADDR_NETLINK, ADDR_UNSPEC,
           ADDR_OTHER } kind;
    int family;
    char host[INET6_ADDRSTRLEN];
    unsigned port;
    uint32_t flowinfo, scope_id;   /* AF_INET6 */
    const char *name;              /* AF_UNIX: path, or abstract name after the NUL */
    size_t namelen;
    int abstract;
    uint32_t nl_pid, nl_groups;    /* AF_NETLINK */
    const char *raw;               /* other families: the bytes after the family */
    size_t rawlen;
};

/* inet_ntop's text for addresses, without its sprintf (which is neither
 * cheap nor safe in a signal handler): dotted quads, and IPv6 as glibc
 * writes it (the longest run of two or more zero groups as "::", the
 * first of equal runs; IPv4-compatible and IPv4-mapped addresses end in a
 * dotted quad), which is what Python shows. */
static void format_ipv4(struct ss_out *o, const unsigned char *a)
{
    for (int i = 0; i < 4; i++) {
        if (i > 0)
            ss_out_char(o, '.');
        ss_out_u64(o, a[i]);
    }
}

static void format_ipv6(struct ss_out *o, const unsigned char *a)
{
    unsigned words[8];
    for (int i = 0; i < 8; i++)
        words[i] = (unsigned)a[2 * i] << 8 | a[2 * i + 1];
    int best = -1, best_len = 0, cur = -1, cur_len = 0;
    for (int i = 0; i < 8; i++) {
        if (words[i] == 0) {
            if (cur < 0)
                cur = i, cur_len = 0;
            cur_len++;
            if (cur_len > best_len)
                best = cur, best_len = cur_len;
        } else {
            cur = -1;
        }
    }
    if (best_len < 2)
        best = -1;
    for (int i = 0; i < 8; i++) {
        if (best >= 0 && i >= best && i < best + best_len) {
            if (i == best)
                ss_out_char(o, ':');
            continue;
        }
        if (i != 0)
            ss_out_char(o, ':');
        if (i == 6 && best == 0 && (best_len == 6 || (best_len == 5 && words[5] == 0xffff))) {
            format_ipv4(o, a + 12);
            return;
        }
        static const char hex[] = "0123456789abcdef";
        int started = 0;
        for (int shift = 12; shift >= 0; shift -= 4) {
            unsigned d = (words[i] >> shift) & 0xf;
            if (d != 0 || started || shift == 0) {
                ss_out_char(o, hex[d]);
                started = 1;
            }
        }
    }
    if (best >= 0 && best + best_len == 8)
        ss_out_char(o, ':');
}

static void format_host(char *buf, size_t cap, int family, const void *addr)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap - 1);
    if (family == AF_INET)
        format_ipv4(&o, addr);
    else
        format_ipv6(&o, addr);
    buf[o.len < cap - 1 ? o.len : cap - 1] = '\0';
}

/* The bytes of an AF_UNIX name: a path (up to its NUL), an abstract name
 * (after the leading NUL, every byte counts) or nothing (unnamed). */
static void decode_unix(const struct sockaddr *sa, socklen_t len, struct addr_view *v)
{
    const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
    size_t n = len > offsetof(struct sockaddr_un, sun_path)
                   ? len - offsetof(struct sockaddr_un, sun_path)
                   : 0;
    if (n > sizeof un->sun_path)
        n = sizeof un->sun_path;
    v->abstract = n > 0 && un->sun_path[0] == '\0';
    v->name = un->sun_path + (v->abstract ? 1 : 0);
    v->namelen = v->abstract ? n - 1 : strnlen(un->sun_path, n);
}

static void decode_addr(const struct sockaddr *sa, socklen_t len, struct addr_view *v)
{
    memset(v, 0, sizeof *v);
    if (sa == NULL || len < sizeof(sa_family_t))
        return; /* ADDR_NONE */
    v->family = sa->sa_family;
    if (v->family == AF_INET && len >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const struct sockaddr_in *)sa;
        v->kind = ADDR_INET;
        format_host(v->host, sizeof v->host, AF_INET, &in->sin_addr);
        v->port = ntohs(in->sin_port);
    } else if (v->family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;
        v->kind = ADDR_INET6;
        format_host(v->host, sizeof v->host, AF_INET6, &in6->sin6_addr);
        v->port = ntohs(in6->sin6_port);
        v->flowinfo = ntohl(in6->sin6_flowinfo);
        v->scope_id = in6->sin6_scope_id;
    } else if (v->family == AF_UNIX) {
        v->kind = ADDR_UNIX;
        decode_unix(sa, len, v);
    } else if (v->family == AF_NETLINK && len >= sizeof(struct sockaddr_nl)) {
        const struct sockaddr_nl *nl = (const struct sockaddr_nl *)sa;
        v->kind = ADDR_NETLINK;
        v->nl_pid = nl->nl_pid;
        v->nl_groups = nl->nl_groups;
    } else if (v->family == AF_UNSPEC) {
        v->kind = ADDR_UNSPEC;
    } else { /* another family, or a length too short for its struct */
        v->kind = ADDR_OTHER;
        v->raw = (const char *)sa + sizeof(sa_family_t);
        v->rawlen = len - sizeof(sa_family_t);
    }
}

void ss_out_pyaddr(struct ss_out *o, const struct sockaddr *sa, socklen_t len)
{
    struct addr_view v;
    decode_addr(sa, len, &v);
    switch (v.kind) {
    case ADDR_NONE:
        ss_out_str(o, "None");
        return;
    case ADDR_INET:
    case ADDR_INET6:
        ss_out_str(o, "('");
        ss_out_str(o, v.host);
        ss_out_str(o, "', ");
        ss_out_u64(o, v.port);
        if (v.kind == ADDR_INET6) {
            ss_out_str(o, ", ");
            ss_out_u64(o, v.flowinfo);
            ss_out_str(o, ", ");
            ss_out_u64(o, v.scope_id);
        }
        ss_out_char(o, ')');
        return;
    case ADDR_UNIX:
        if (v.abstract) { /* Python gives abstract names as bytes with the NUL */
            struct iovec parts[2] = {{(void *)"\0", 1}, {(void *)v.name, v.namelen}};
            struct ss_bytes b;
            ss_bytes_iov(&b, parts, 2, v.namelen + 1);
            ss_out_bytes_literal(o, &b, v.namelen + 1);
        } else {
            ss_out_pystr(o, v.name, v.namelen);
        }
        return;
    case ADDR_NETLINK:
        ss_out_char(o, '(');
        ss_out_u64(o, v.nl_pid);
        ss_out_str(o, ", ");
        ss_out_u64(o, v.nl_groups);
        ss_out_char(o, ')');
        return;
    case ADDR_UNSPEC:
        ss_out_str(o, "<AF_UNSPEC>");
        return;
    case ADDR_OTHER:
        ss_out_char(o, '<');
        ss_out_xlat(o, &ss_xlat_af, v.family);
        ss_out_char(o, ' ');
        ss_out_pybytes_raw(o, v.raw, v.rawlen);
        ss_out_char(o, '>');
        return;
    }
}

static void json_member(struct ss_out *o, const char *name)
{
    ss_out_str(o, ", \"");
    ss_out_str(o, name);
    ss_out_str(o, "\": ");
}

void ss_out_json_text_member(struct ss_out *o, const char *name, const char *p, size_t n)
{
    json_member(o, name);
    ss_out_json_str(o, p, n);
    if (!ss_utf8_valid(p, n)) {
        ss_out_str(o, ", \"");
        ss_out_str(o, name);
        ss_out_str(o, SS_JSON_HEX_SUFFIX "\": \"");
        ss_out_hexbytes(o, p, n);
        ss_out_char(o, '"');
    }
    o->json_first = 0;
}

void ss_out_json_addr(struct ss_out *o, const struct sockaddr *sa, socklen_t len)
{
    struct addr_view v;
    decode_addr(sa, len, &v);
    if (v.kind == ADDR_NONE) {
        ss_out_str(o, "null");
        return;
    }
    ss_out_str(o, "{\"family\": ");
    const char *family = ss_xlat_name(&ss_xlat_af, v.family);
    if (family != NULL)
        ss_out_json_name(o, family);
    else
        ss_out_i64(o, v.family);
    switch (v.kind) {
    case ADDR_INET:
    case ADDR_INET6:
        json_member(o, "host");
        ss_out_json_cstr(o, v.host);
        json_member(o, "port");
        ss_out_u64(o, v.port);
        if (v.kind == ADDR_INET6) {
            json_member(o, "flowinfo");
            ss_out_u64(o, v.flowinfo);
            json_member(o, "scope_id");
            ss_out_u64(o, v.scope_id);
        }
        break;
    case ADDR_UNIX:
        ss_out_json_text_member(o, v.abstract ? "abstract" : "path", v.name, v.namelen);
        break;
    case ADDR_NETLINK:
        json_member(o, "pid");
        ss_out_u64(o, v.nl_pid);
        json_member(o, "groups");
        ss_out_u64(o, v.nl_groups);
        break;
    case ADDR_OTHER:
        if (v.rawlen > 0) {
            json_member(o, "hex");
            ss_out_char(o, '"');
            ss_out_hexbytes(o, v.raw, v.rawlen);
            ss_out_char(o, '"');
        }
        break;
    default:
        break;
    }
    ss_out_char(o, '}');
}

/* ---- time ------------------------------------------------------------- */

/* "HH:MM:SS." changes once a second: each thread keeps the last one. */
static __thread struct {
    uint64_t second;
    char text[9];
} tls_clock = {~(uint64_t)0, ""};

void ss_out_clock(struct ss_out *o, uint64_t ns)
{
    uint64_t second = ns / 1000000000u;
    if (second != tls_clock.second) {
        int64_t secs = (int64_t)second + ss_utc_offset_s();
        int64_t day_secs = ((secs % 86400) + 86400) % 86400;
        struct ss_out t;
        ss_out_init(&t, tls_clock.text, sizeof tls_clock.text);
        ss_out_u64_width(&t, (uint64_t)(day_secs / 3600), 2);
        ss_out_char(&t, ':');
        ss_out_u64_width(&t, (uint64_t)(day_secs / 60 % 60), 2);
        ss_out_char(&t, ':');
        ss_out_u64_width(&t, (uint64_t)(day_secs % 60), 2);
        ss_out_char(&t, '.');
        tls_clock.second = second;
    }
    ss_out_mem(o, tls_clock.text, sizeof tls_clock.text);
    ss_out_u64_width(o, ns / 1000 % 1000000, 6);
}

/* Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm):
 * gmtime_r takes glibc's time-zone lock, which a signal handler must not. */
static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* "2026-11-25T12:00:01." changes once a second: kept per thread. */
static __thread struct {
    uint64_t second;
    char text[20];
} tls_iso = {~(uint64_t)0, ""};

static void iso8601_second(struct ss_out *o, uint64_t ns);

void ss_out_iso8601(struct ss_out *o, uint64_t ns)
{
    uint64_t second = ns / 1000000000u;
    if (second != tls_iso.second) {
        struct ss_out t;
        ss_out_init(&t, tls_iso.text, sizeof tls_iso.text);
        iso8601_second(&t, ns);
        tls_iso.second = second;
    }
    ss_out_mem(o, tls_iso.text, sizeof tls_iso.text);
    ss_out_u64_width(o, ns / 1000 % 1000000, 6);
    ss_out_char(o, 'Z');
}

static void iso8601_second(struct ss_out *o, uint64_t ns)
{
    int64_t secs = (int64_t)(ns / 1000000000u);
    int64_t y;
    unsigned m, d;
    civil_from_days(secs / 86400, &y, &m, &d);
    ss_out_u64_width(o, (uint64_t)y, 4);
    ss_out_char(o, '-');
    ss_out_u64_width(o, m, 2);
    ss_out_char(o, '-');
    ss_out_u64_width(o, d, 2);
    ss_out_char(o, 'T');
    int64_t day_secs = secs % 86400;
    ss_out_u64_width(o, (uint64_t)(day_secs / 3600), 2);
    ss_out_char(o, ':');
    ss_out_u64_width(o, (uint64_t)(day_secs / 60 % 60), 2);
    ss_out_char(o, ':');
    ss_out_u64_width(o, (uint64_t)(day_secs % 60), 2);
    ss_out_char(o, '.');
}

void ss_out_fdname(struct ss_out *o, int fd, int is_socket)
{
    ss_out_str(o, is_socket ? "sock" : "fd");
    ss_out_i64(o, fd);
}

/* ---- the line buffer -------------------------------------------------- */

typedef void render_fn(struct ss_out *o, const void *arg);

/* A record longer than the stack buffer, with no memory to render it
 * whole (the address space is exhausted): what fits is written such that
 * every line stays a line of the format. In text, the complete lines (a
 * summary is many), or the start of the one line, then a note; in JSON,
 * whose record cannot be cut, a record of type "cut" saying how many bytes
 * were not written. */
static void emit_cut(char *buf, size_t cap, size_t need)
{
    static const char note[] = " ... (cut: out of memory)\n";
    if (ss_config.format == SS_FORMAT_JSON) {
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
static void render_and_emit(render_fn *fn, const void *arg)
{
    char stack_buf[2048];
    struct ss_out o;
    ss_out_init(&o, stack_buf, sizeof stack_buf);
    fn(&o, arg);
    if (!ss_out_overflowed(&o)) {
        ss_sink_emit(stack_buf, o.len);
        return;
    }
    size_t need = o.len;
    void *big = mmap(NULL, need, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (big == MAP_FAILED) {
        emit_cut(stack_buf, sizeof stack_buf, need);
        return;
    }
    ss_out_init(&o, big, need);
    fn(&o, arg);
    ss_sink_emit(big, o.len < need ? o.len : need);
    munmap(big, need);
}

static void render_call(struct ss_out *o, const void *arg)
{
    if (ss_config.format == SS_FORMAT_JSON)
        ss_json_call(o, arg);
    else
        ss_text_call(o, arg);
}

static void render_start(struct ss_out *o, const void *arg)
{
    const uint64_t *now = arg;
    if (ss_config.format == SS_FORMAT_JSON)
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
    render_and_emit(render_start, &when_ns);
}

void ss_render_call(const struct ss_call *c)
{
    if (!ss_sink_enabled())
        return;
    write_header_once(c->t_end_ns); /* stamped like the line it heads */
    render_and_emit(render_call, c);
}

static void render_loop(struct ss_out *o, const void *arg)
{
    if (ss_config.format == SS_FORMAT_JSON)
        ss_json_loop(o, arg);
    else
        ss_text_call(o, arg);
}

void ss_render_loop(const struct ss_call *c)
{
    if (!ss_sink_enabled())
        return;
    write_header_once(c->t_end_ns);
    render_and_emit(render_loop, c);
}

static void render_note(struct ss_out *o, const void *arg)
{
    if (ss_config.format == SS_FORMAT_JSON)
        ss_json_note(o, arg);
    else
        ss_text_note(o, arg);
}

void ss_render_note(const struct ss_call *c)
{
    if (!ss_sink_enabled())
        return;
    write_header_once(c->t_end_ns);
    render_and_emit(render_note, c);
}

static void render_finding(struct ss_out *o, const void *arg)
{
    const int *index = arg;
    if (ss_config.format == SS_FORMAT_JSON)
        ss_json_finding(o, *index);
    else
        ss_text_finding(o, *index);
}

void ss_render_finding(int index)
{
    if (!ss_sink_enabled())
        return;
    write_header_once(ss_now_ns());
    render_and_emit(render_finding, &index);
}

static void render_summary(struct ss_out *o, const void *arg)
{
    const uint64_t *now = arg;
    if (ss_config.format == SS_FORMAT_JSON)
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
    render_and_emit(render_summary, &now);
}

struct exec_failure {
    const char *program;
    int err;
    uint64_t now;
};

static void render_exec_failed(struct ss_out *o, const void *arg)
{
    const struct exec_failure *f = arg;
    if (ss_config.format == SS_FORMAT_JSON)
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
    render_and_emit(render_exec_failed, &f);
}

void ss_render_process_start(void)
{
    atomic_store_explicit(&header_written, 0, memory_order_release);
}

/* ---- what a call carried ---------------------------------------------- */

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; iov != NULL && i < n; i++)
        total += iov[i].iov_len;
    return total;
}

void ss_call_sent(const struct ss_call *c, struct ss_bytes *b)
{
    if (c->preview != NULL) { /* a copy of the first bytes; c->len is the size */
        ss_bytes_buf(b, c->preview, c->preview_len);
        b->total = c->len;
    } else if (c->msg != NULL)
        ss_bytes_iov(b, c->msg->msg_iov, (int)c->msg->msg_iovlen,
                     iov_total(c->msg->msg_iov, (int)c->msg->msg_iovlen));
    else if (c->iov != NULL)
        ss_bytes_iov(b, c->iov, c->iovcnt, iov_total(c->iov, c->iovcnt));
    else
        ss_bytes_buf(b, c->cbuf, c->len);
}

void ss_call_received(const struct ss_call *c, struct ss_bytes *b)
{
    size_t got = c->failed || c->ret < 0 ? 0 : (size_t)c->ret;
    if (c->msg != NULL)
        ss_bytes_iov(b, c->msg->msg_iov, (int)c->msg->msg_iovlen, got);
    else if (c->iov != NULL)
        ss_bytes_iov(b, c->iov, c->iovcnt, got);
    else {
        /* a recv with MSG_TRUNC returns a datagram's whole length: the
         * buffer holds no more than its own */
        ss_bytes_buf(b, c->buf, got < c->len ? got : c->len);
        b->total = got;
    }
}

int ss_call_on_socket(const struct ss_call *c)
{
    return c->on_socket;
}

int ss_call_int_option(const struct ss_call *c, int *value)
{
    if (c->op == SS_OP_setsockopt) {
        if (c->optval == NULL || c->optlen != sizeof(int))
            return 0;
        memcpy(value, c->optval, sizeof *value);
        return 1;
    }
    if (c->optval_out == NULL || c->optlen_out == NULL || c->failed ||
        *c->optlen_out != sizeof(int) || c->optlen != sizeof(int))
        return 0;
    memcpy(value, c->optval_out, sizeof *value);
    return 1;
}
