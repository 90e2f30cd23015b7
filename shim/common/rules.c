/* sockshim: the fault rule language (grammar in rules.h, reference in
 * docs/faults.md). Runs at start-up only, in the command and in the
 * library's initialisation: it may use snprintf. */
#include "rules.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "fmt.h"
#include "xlat.h"

/* ---- errors ------------------------------------------------------------ */

/* A term of the rule: where it starts and how long it is. */
struct span {
    const char *p;
    size_t len;
};

struct parse {
    const char *text;
    struct ss_rule *rule;
    struct ss_rule_error *e;
};

static size_t offset_of(const struct parse *ps, const char *p)
{
    return (size_t)(p - ps->text);
}

/* Fills in the error: what, about which part of the rule. Returns -1. */
static int failf(struct parse *ps, struct span where, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int failf(struct parse *ps, struct span where, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ps->e->msg, sizeof ps->e->msg, fmt, ap);
    va_end(ap);
    ps->e->at = offset_of(ps, where.p);
    ps->e->len = where.len;
    return -1;
}

/* A term as it can be quoted in a message: printable, cut to fit. */
static const char *quoted(struct span s, char *buf, size_t cap)
{
    return ss_shown(s.p, s.len, buf, cap);
}

static int span_is(struct span s, const char *word)
{
    return strlen(word) == s.len && memcmp(s.p, word, s.len) == 0;
}

/* ---- the set of methods ----------------------------------------------- */

#define BIT SS_OPBIT
/* The calls that move data: no call is a sendall, a loop the trace
 * rebuilds from sends. */
#define SEND_FAMILY (SS_OPS_SENDS & ~SS_OPBIT(sendall))
#define RECV_FAMILY SS_OPS_RECVS
#define IO_FAMILY (SEND_FAMILY | RECV_FAMILY)
/* The name resolutions, and those that answer with a hostent (and so
 * only with the failures h_errno can say). */
#define RESOLVE_FAMILY SS_OPS_RESOLVE
#define HOSTENT_FAMILY (BIT(gethostbyname) | BIT(gethostbyaddr))
/* Methods that may wait for the network, and so can time out. */
#define WAITING (IO_FAMILY | BIT(accept) | BIT(connect) | BIT(connect_ex))
/* blackhole: the transfers that carry their data through the program, and
 * connect (a SYN nobody answers) */
#define SILENCED ((IO_FAMILY & ~BIT(sendfile) & ~BIT(sendmmsg) & ~BIT(recvmmsg)) | \
                  BIT(connect) | BIT(connect_ex))

/* A method name in a rule covers the calls a user means by it: send is
 * every libc entry that sends, recv every one that receives, connect also
 * the connect_ex of a non-blocking socket. */
static ss_opmask method_mask(int op)
{
    switch (op) {
    case SS_OP_send:
    case SS_OP_sendall:
        return SEND_FAMILY;
    case SS_OP_recv:
        return RECV_FAMILY;
    case SS_OP_connect:
        return BIT(connect) | BIT(connect_ex);
    default:
        return (ss_opmask)1 << op;
    }
}

static int parse_method(struct parse *ps, struct span s, ss_opmask *mask)
{
    char q[96];
    if (s.len == 0)
        return failf(ps, s, "empty method name (the rule starts with the methods, e.g. 'send:')");
    /* "resolve" names its group without the '%': the brief form of the
     * rules the documentation shows (resolve:error=EAI_AGAIN) */
    if (s.p[0] == '%' || span_is(s, "resolve")) {
        size_t skip = s.p[0] == '%';
        struct span g = {s.p + skip, s.len - skip};
        ss_opmask m = 0;
        if (span_is(g, "wait"))
            return failf(ps, s, "'%s': waits (select, poll, epoll) take no fault rules; aim the "
                                "rule at the socket calls they wait for",
                         quoted(s, q, sizeof q));
        if (span_is(g, "all"))
            m = SS_OPMASK_ALL & ~SS_OPS_WAITS;
        else if (span_is(g, "io"))
            m = IO_FAMILY;
        for (int op = 0; m == 0 && op < SS_OP_COUNT; op++)
            if (span_is(g, ss_op_group(op)) && strcmp(ss_op_group(op), "io") != 0)
                for (int k = 0; k < SS_OP_COUNT; k++)
                    if (strcmp(ss_op_group(k), ss_op_group(op)) == 0)
                        m |= (ss_opmask)1 << k;
        if (m == 0)
            return failf(ps, s, "unknown method group '%s' (groups are %%io, %%all, %%lifecycle, "
                                "%%connection, %%options, %%resolve)", quoted(s, q, sizeof q));
        *mask |= m;
        return 0;
    }
    for (int op = 0; op < SS_OP_COUNT; op++) {
        if (span_is(s, ss_op_names[op]) && ss_op_in(op, SS_OPS_WAITS))
            return failf(ps, s, "'%s' is a wait: waits (select, poll, epoll) take no fault "
                                "rules; aim the rule at the socket calls they wait for",
                         quoted(s, q, sizeof q));
        if (span_is(s, ss_op_names[op])) {
            *mask |= method_mask(op);
            return 0;
        }
    }
    const char *near = ss_closest_name(s.p, s.len, ss_op_names, SS_OP_COUNT);
    if (near != NULL)
        return failf(ps, s, "unknown method '%s' (did you mean '%s'?)", quoted(s, q, sizeof q),
                     near);
    return failf(ps, s, "unknown method '%s' (methods are send, recv, connect, accept, "
                        "getaddrinfo, ... or a group: %%io, %%all, resolve)",
                 quoted(s, q, sizeof q));
}

static int parse_set(struct parse *ps, struct span s)
{
    const char *end = s.p + s.len;
    for (const char *p = s.p;;) {
        const char *comma = memchr(p, ',', (size_t)(end - p));
        struct span m = {p, comma != NULL ? (size_t)(comma - p) : (size_t)(end - p)};
        if (parse_method(ps, m, &ps->rule->set) != 0)
            return -1;
        if (comma == NULL)
            return 0;
        p = comma + 1;
    }
}

/* ---- values ----------------------------------------------------------- */

/* A whole number in [min, max] written in decimal. */
static int parse_number(struct parse *ps, struct span v, uint64_t min, uint64_t max,
                        const char *what, uint64_t *out)
{
    char digits[32], q[96];
    if (v.len == 0 || v.len >= sizeof digits)
        goto bad;
    memcpy(digits, v.p, v.len);
    digits[v.len] = '\0';
    if (ss_parse_u64(digits, UINT64_MAX, out) != 0 || *out < min || *out > max)
        goto bad;
    return 0;
bad:
    return failf(ps, v, "bad %s '%s' (expected a whole number from %llu to %llu)", what,
                 quoted(v, q, sizeof q), (unsigned long long)min, (unsigned long long)max);
}

/* A decimal with an optional fraction, as a fixed-point number with 9
 * decimals (exact for the values users write: 0.5, 2.25, 0.001). */
static int parse_decimal(struct span v, uint64_t *nano, size_t *used)
{
    uint64_t whole = 0, frac = 0, scale = 1000000000u;
    size_t i = 0, digits = 0;
    for (; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++, digits++) {
        if (whole > 1000000000u)
            return -1;
        whole = whole * 10 + (uint64_t)(v.p[i] - '0');
    }
    if (i < v.len && v.p[i] == '.') {
        for (i++; i < v.len && v.p[i] >= '0' && v.p[i] <= '9'; i++, digits++) {
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(v.p[i] - '0') * scale;
            }
        }
    }
    if (digits == 0)
        return -1;
    *nano = whole * 1000000000u + frac;
    *used = i;
    return 0;
}

#define MAX_DELAY_NS (3600ull * 1000000000ull)

static int parse_duration(struct parse *ps, struct span v, const char *what, uint64_t *ns)
{
    static const struct {
        const char *unit;
        uint64_t ns;
    } units[] = {{"us", 1000}, {"ms", 1000000}, {"s", 1000000000}};
    char q[96];
    uint64_t nano;
    size_t used;
    if (parse_decimal(v, &nano, &used) == 0) {
        struct span unit = {v.p + used, v.len - used};
        for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
            if (!span_is(unit, units[i].unit))
                continue;
            /* nano is the value times 1e9; scale to the unit */
            uint64_t value_ns = nano / 1000u * units[i].ns / 1000000u;
            if (nano / 1000000000u > MAX_DELAY_NS / units[i].ns || value_ns > MAX_DELAY_NS)
                break;
            *ns = value_ns;
            return 0;
        }
    }
    return failf(ps, v, "bad %s '%s' (expected a duration such as 200ms, 1.5s or 500us, "
                        "at most 1 hour)", what, quoted(v, q, sizeof q));
}

/* A byte count: 4096, 4k, 4KiB, 1M, 1MiB, 2G (powers of 1024). */
static int parse_size(struct parse *ps, struct span v, const char *what, uint64_t *out)
{
    char q[96];
    if (ss_parse_byte_count(v.p, v.len, out) == 0)
        return 0;
    return failf(ps, v, "bad %s '%s' (expected a byte count such as 4096, 4k or 1MiB)", what,
                 quoted(v, q, sizeof q));
}

/* rate=64KiB/s, rate=1M/s: bytes a second, from 1 to 1 GiB */
static int parse_rate(struct parse *ps, struct span v)
{
    char q[96];
    uint64_t bytes;
    if (v.len > 2 && memcmp(v.p + v.len - 2, "/s", 2) == 0 &&
        ss_parse_byte_count(v.p, v.len - 2, &bytes) == 0 && bytes >= 1 &&
        bytes <= (1u << 30)) {
        ps->rule->rate = bytes;
        return 0;
    }
    return failf(ps, v, "bad rate '%s' (bytes a second, from 1/s to 1GiB/s: 64KiB/s, 1M/s)",
                 quoted(v, q, sizeof q));
}

/* p=0.5, p=.5, p=50% */
static int parse_probability(struct parse *ps, struct span v)
{
    char q[96];
    uint64_t nano;
    size_t used;
    if (parse_decimal(v, &nano, &used) == 0) {
        struct span rest = {v.p + used, v.len - used};
        if (span_is(rest, "%"))
            nano /= 100;
        if ((rest.len == 0 || span_is(rest, "%")) && nano <= 1000000000u) {
            ps->rule->has_p = 1;
            /* the threshold a 32-bit draw is compared with */
            ps->rule->p_threshold = (nano << 32) / 1000000000u;
            return 0;
        }
    }
    return failf(ps, v, "bad probability '%s' (expected a number from 0 to 1, or a "
                        "percentage: p=0.25, p=25%%)", quoted(v, q, sizeof q));
}

/* strace's when=FIRST[..LAST][+STEP], and when=FIRST+ (from FIRST on). */
static int parse_when(struct parse *ps, struct span v)
{
    struct ss_rule *r = ps->rule;
    char q[96];
    const char *end = v.p + v.len;
    const char *dots = NULL, *plus = memchr(v.p, '+', v.len);
    for (const char *p = v.p; p + 1 < end; p++)
        if (p[0] == '.' && p[1] == '.') {
            dots = p;
            break;
        }
    struct span first = {v.p, (size_t)((dots ? dots : plus ? plus : end) - v.p)};
    const uint64_t max = 0xffffffffu;
    if (first.len == 0)
        return failf(ps, v, "when= starts with the first call's number: when=1..3, when=2+, "
                            "when=3");
    if (parse_number(ps, first, 1, max, "when= call number", &r->when_first) != 0)
        return -1;
    r->when_last = r->when_first; /* when=3: the third only */
    r->when_step = 1;
    if (dots != NULL) {
        struct span last = {dots + 2, (size_t)((plus ? plus : end) - (dots + 2))};
        if (last.len == 0)
            return failf(ps, v, "unterminated range '%s' in when= (write when=FIRST..LAST, or "
                                "when=FIRST+ for every call from FIRST on)", quoted(v, q, sizeof q));
        if (parse_number(ps, last, r->when_first, max, "when= last call number", &r->when_last) != 0)
            return -1;
    }
    if (plus != NULL) {
        struct span step = {plus + 1, (size_t)(end - (plus + 1))};
        if (dots == NULL)
            r->when_last = 0; /* when=2+ and when=2+3 run on forever */
        if (step.len > 0 &&
            parse_number(ps, step, 1, max, "when= step", &r->when_step) != 0)
            return -1;
    }
    r->has_when = 1;
    return 0;
}

/* peer=127.0.0.1, peer=127.0.0.1:6379, peer=[::1]:80, peer=::1,
 * peer=/run/app.sock */
static int parse_peer(struct parse *ps, struct span v)
{
    struct ss_peer_filter *f = &ps->rule->peer;
    char buf[128], q[96];
    f->port = -1;
    if (v.len == 0 || v.len >= sizeof buf)
        goto bad;
    memcpy(buf, v.p, v.len);
    buf[v.len] = '\0';
    if (buf[0] == '/') {
        if (v.len >= sizeof f->path)
            goto bad;
        f->family = AF_UNIX;
        memcpy(f->path, buf, v.len + 1);
        ps->rule->has_peer = 1;
        return 0;
    }
    char *host = buf, *port = NULL;
    if (buf[0] == '[') {
        char *close = strchr(buf, ']');
        if (close == NULL || (close[1] != '\0' && close[1] != ':'))
            goto bad;
        *close = '\0';
        host = buf + 1;
        port = close[1] == ':' ? close + 2 : NULL;
    } else if (strchr(buf, ':') == strrchr(buf, ':') && strchr(buf, ':') != NULL) {
        port = strchr(buf, ':'); /* one colon: IPv4 with a port */
        *port++ = '\0';
    }
    if (inet_pton(AF_INET, host, f->addr) == 1)
        f->family = AF_INET;
    else if (inet_pton(AF_INET6, host, f->addr) == 1)
        f->family = AF_INET6;
    else
        goto bad;
    if (port != NULL) {
        uint64_t n;
        if (ss_parse_u64(port, 65535, &n) != 0 || n == 0)
            goto bad;
        f->port = (int)n;
    }
    ps->rule->has_peer = 1;
    return 0;
bad:
    return failf(ps, v, "bad peer address '%s' (expected 127.0.0.1, 127.0.0.1:6379, "
                        "[::1]:80 or a unix socket path)", quoted(v, q, sizeof q));
}

static int parse_family(struct parse *ps, struct span v)
{
    char q[96];
    if (span_is(v, "inet"))
        ps->rule->family = AF_INET;
    else if (span_is(v, "inet6"))
        ps->rule->family = AF_INET6;
    else if (span_is(v, "unix"))
        ps->rule->family = AF_UNIX;
    else
        return failf(ps, v, "unknown family '%s' (expected inet, inet6 or unix)",
                     quoted(v, q, sizeof q));
    return 0;
}

/* "stream, dgram, seqpacket or raw": the names of a table, for a message. */
static const char *names_listed(const struct ss_xlat *t, char *buf, size_t cap)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap - 1);
    for (size_t i = 0; i < t->count; i++) {
        if (i > 0)
            ss_out_str(&o, i + 1 == t->count ? " or " : ", ");
        ss_out_str(&o, t->entries[i].name);
    }
    buf[o.len < cap - 1 ? o.len : cap - 1] = '\0';
    return buf;
}

/* The type= name a bad value most likely meant: a typo of one, or the
 * name written as the C constant (SOCK_DGRAM, DGRAM). NULL when none. */
static const char *closest_socktype(struct span v)
{
    enum { ROOM = 8 }; /* for the table's names (four) */
    const struct ss_xlat *t = &ss_xlat_rule_socktype;
    const char *names[ROOM];
    char lower[32];
    size_t n = t->count < ROOM ? t->count : ROOM;
    for (size_t i = 0; i < n; i++)
        names[i] = t->entries[i].name;
    if (v.len >= sizeof lower)
        return NULL;
    for (size_t i = 0; i < v.len; i++)
        lower[i] = (char)(v.p[i] >= 'A' && v.p[i] <= 'Z' ? v.p[i] - 'A' + 'a' : v.p[i]);
    struct span word = {lower, v.len};
    if (word.len > 5 && memcmp(word.p, "sock_", 5) == 0)
        word = (struct span){lower + 5, v.len - 5};
    long type;
    if (ss_xlat_value(t, word.p, word.len, &type) == 0)
        return ss_xlat_name(t, type);
    return ss_closest_name(word.p, word.len, names, n);
}

/* type=stream|dgram|seqpacket|raw (the names of ss_xlat_rule_socktype) */
static int parse_socktype(struct parse *ps, struct span v)
{
    char q[96], expected[64];
    long type;
    if (ss_xlat_value(&ss_xlat_rule_socktype, v.p, v.len, &type) == 0) {
        ps->rule->socktype = (int)type;
        return 0;
    }
    const char *near = closest_socktype(v);
    if (near != NULL)
        return failf(ps, v, "unknown socket type '%s' (did you mean '%s'?)",
                     quoted(v, q, sizeof q), near);
    return failf(ps, v, "unknown socket type '%s' (expected %s)", quoted(v, q, sizeof q),
                 names_listed(&ss_xlat_rule_socktype, expected, sizeof expected));
}

/* error=: an errno name or number, or on the resolve methods an EAI_*
 * code (or an h_errno name for the same failure). Which kind the set
 * takes is checked with the rest of the rule (check_error). */
static int parse_errno_value(struct parse *ps, struct span v)
{
    char buf[32], q[96];
    if (ss_resolve_error_parse(v.p, v.len, &ps->rule->gai_err) == 0) {
        if (ps->rule->gai_err == EAI_SYSTEM)
            return failf(ps, v, "EAI_SYSTEM cannot be injected: it says an errno holds the "
                                "cause (give another EAI_* code)");
        return 0;
    }
    if (v.len > 0 && v.len < sizeof buf) {
        memcpy(buf, v.p, v.len);
        buf[v.len] = '\0';
        if (ss_errno_parse(buf, &ps->rule->err) == 0)
            return 0;
    }
    if ((ps->rule->set & ~RESOLVE_FAMILY) == 0)
        return failf(ps, v, "unknown resolution error '%s' (expected EAI_AGAIN, EAI_NONAME, "
                            "EAI_FAIL, EAI_NODATA, EAI_MEMORY... or TRY_AGAIN, HOST_NOT_FOUND, "
                            "NO_RECOVERY, NO_DATA)", quoted(v, q, sizeof q));
    return failf(ps, v, "unknown error '%s' (expected an errno name such as ECONNREFUSED, "
                        "or a number from 1 to 4095)", quoted(v, q, sizeof q));
}

/* exe=redis-server, exe=python3*: the program's name, a glob (fnmatch);
 * a name, not a path. */
static int parse_exe(struct parse *ps, struct span v)
{
    char q[96];
    if (v.len == 0 || v.len >= sizeof ps->rule->exe || memchr(v.p, '/', v.len) != NULL)
        return failf(ps, v, "bad exe '%s' (a program's name or a glob of it, without '/', at "
                            "most 63 characters: exe=redis-server, exe=python3*)",
                     quoted(v, q, sizeof q));
    memcpy(ps->rule->exe, v.p, v.len);
    ps->rule->exe[v.len] = '\0';
    return 0;
}

/* host=NAME, host=*.SUFFIX, host=ADDRESS */
static int parse_host(struct parse *ps, struct span v)
{
    char q[96];
    size_t star = v.len > 0 && v.p[0] == '*' ? 1 : 0;
    if (v.len >= sizeof ps->rule->host || (star && (v.len < 3 || v.p[1] != '.')))
        goto bad;
    for (size_t i = star; i < v.len; i++) {
        unsigned char c = (unsigned char)v.p[i];
        if (c <= ' ' || c >= 0x7f || c == '*' || c == ',')
            goto bad;
    }
    memcpy(ps->rule->host, v.p, v.len);
    ps->rule->host[v.len] = '\0';
    return 0;
bad:
    return failf(ps, v, "bad host '%s' (expected a name such as db.local, *.example.com or an "
                        "address such as 10.0.0.5, at most 255 characters)",
                 quoted(v, q, sizeof q));
}

static int ascii_lower(int c)
{
    return c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c;
}

static int same_name(const char *a, size_t n, const char *b, size_t m)
{
    if (n != m)
        return 0;
    for (size_t i = 0; i < n; i++)
        if (ascii_lower((unsigned char)a[i]) != ascii_lower((unsigned char)b[i]))
            return 0;
    return 1;
}

int ss_rule_host_matches(const struct ss_rule *rule, const char *name)
{
    if (name == NULL)
        return 0;
    size_t n = strlen(name);
    if (n > 1 && name[n - 1] == '.')
        n--;
    const char *want = rule->host;
    size_t m = strlen(want);
    if (want[0] != '*')
        return same_name(name, n, want, m);
    /* "*.example.com": a name ending in ".example.com" */
    return n > m - 1 && same_name(name + n - (m - 1), m - 1, want + 1, m - 1);
}

/* ---- terms -------------------------------------------------------------- */

enum term_kind { ACTION, FILTER };

enum term_value { NO_VALUE, VALUE, OPTIONAL_VALUE };

struct term {
    const char *name;
    enum term_kind kind;
    enum term_value takes_value;
    unsigned action;   /* for actions */
    ss_opmask fits;    /* ... the methods it can apply to (0: any) */
    const char *hint;  /* ... named in the message when a rule has none */
};

/* The calls that carry a datagram the shim can see whole: not sendfile
 * nor a splice (their bytes are in another file), and not sendmmsg or
 * recvmmsg (several datagrams a call; docs/limits.md). */
#define DATAGRAM_SENDS (SEND_FAMILY & ~BIT(sendfile) & ~BIT(sendmmsg))
#define DATAGRAM_RECVS (RECV_FAMILY & ~BIT(recvmmsg))

static const struct term terms[] = {
    {"error", ACTION, 1, SS_ACT_ERROR, 0, NULL},
    {"short", ACTION, 1, SS_ACT_SHORT, IO_FAMILY & ~BIT(sendmmsg) & ~BIT(recvmmsg),
     "send and recv methods"},
    {"delay", ACTION, 1, SS_ACT_DELAY, 0, NULL},
    {"jitter", ACTION, 1, 0, 0, NULL},
    {"eof", ACTION, 0, SS_ACT_EOF, RECV_FAMILY, "recv methods"},
    {"reset", ACTION, 0, SS_ACT_RESET, IO_FAMILY, "send and recv methods"},
    {"timeout", ACTION, OPTIONAL_VALUE, SS_ACT_TIMEOUT, WAITING,
     "accept, connect, send and recv methods"},
    {"corrupt", ACTION, 1, SS_ACT_CORRUPT, IO_FAMILY & ~BIT(sendfile),
     "send and recv methods that carry the data"},
    {"drop", ACTION, 0, SS_ACT_DROP, DATAGRAM_SENDS | DATAGRAM_RECVS,
     "send and recv methods of one datagram"},
    {"duplicate", ACTION, 0, SS_ACT_DUPLICATE, DATAGRAM_SENDS | DATAGRAM_RECVS,
     "send and recv methods of one datagram"},
    {"reorder", ACTION, 1, SS_ACT_REORDER, DATAGRAM_SENDS,
     "send methods of one datagram (the sender holds it back)"},
    {"rate", ACTION, 1, SS_ACT_RATE,
     (IO_FAMILY & ~BIT(recvmmsg) & ~BIT(sendmmsg) & ~BIT(sendfile)),
     "send and recv methods but sendfile, sendmmsg and recvmmsg (a stream's data goes at that "
     "rate)"},
    {"blackhole", ACTION, 0, SS_ACT_BLACKHOLE, SILENCED,
     "connect, and send and recv methods but sendfile, sendmmsg and recvmmsg"},
    {"when", FILTER, 1, 0, 0, NULL},
    {"p", FILTER, 1, 0, 0, NULL},
    {"after", FILTER, 1, 0, 0, NULL},
    {"peer", FILTER, 1, 0, 0, NULL},
    {"port", FILTER, 1, 0, 0, NULL},
    {"family", FILTER, 1, 0, 0, NULL},
    {"fd", FILTER, 1, 0, 0, NULL},
    {"type", FILTER, 1, 0, 0, NULL},
    {"host", FILTER, 1, 0, 0, NULL},
    {"exe", FILTER, 1, 0, 0, NULL},
    {"pid", FILTER, 1, 0, 0, NULL},
    {"at", FILTER, 1, 0, 0, NULL},
    {"for", FILTER, 1, 0, 0, NULL},
};

#define N_TERMS (sizeof terms / sizeof terms[0])

static int parse_value(struct parse *ps, const struct term *t, struct span v)
{
    struct ss_rule *r = ps->rule;
    uint64_t n;
    const char *name = t->name;
    if (strcmp(name, "error") == 0)
        return parse_errno_value(ps, v);
    if (strcmp(name, "short") == 0) {
        char q[96];
        if (parse_size(ps, v, "short= length", &r->short_len) != 0)
            return -1;
        if (r->short_len == 0 || r->short_len > 0x7fffffff)
            return failf(ps, v, "bad short= length '%s' (from 1 byte to 2 GiB - 1)",
                         quoted(v, q, sizeof q));
        return 0;
    }
    if (strcmp(name, "delay") == 0)
        return parse_duration(ps, v, "delay", &r->delay_ns);
    if (strcmp(name, "jitter") == 0)
        return parse_duration(ps, v, "jitter", &r->jitter_ns);
    if (strcmp(name, "timeout") == 0) {
        char q[96];
        if (parse_duration(ps, v, "timeout", &r->timeout_ns) != 0)
            return -1;
        if (r->timeout_ns == 0)
            return failf(ps, v, "bad timeout '%s' (from 1us to 1 hour; write just 'timeout' "
                                "for the kernel's own time)", quoted(v, q, sizeof q));
        return 0;
    }
    if (strcmp(name, "rate") == 0)
        return parse_rate(ps, v);
    if (strcmp(name, "corrupt") == 0) {
        if (parse_number(ps, v, 1, 65536, "corrupt= byte count", &n) != 0)
            return -1;
        r->corrupt = (unsigned)n;
        return 0;
    }
    if (strcmp(name, "reorder") == 0) {
        if (parse_number(ps, v, 1, 65535, "reorder= datagram count", &n) != 0)
            return -1;
        r->reorder = (unsigned)n;
        return 0;
    }
    if (strcmp(name, "when") == 0)
        return parse_when(ps, v);
    if (strcmp(name, "p") == 0)
        return parse_probability(ps, v);
    if (strcmp(name, "after") == 0) {
        r->has_after = 1;
        return parse_size(ps, v, "after= byte count", &r->after_bytes);
    }
    if (strcmp(name, "peer") == 0)
        return parse_peer(ps, v);
    if (strcmp(name, "port") == 0) {
        if (parse_number(ps, v, 1, 65535, "port", &n) != 0)
            return -1;
        r->port = (int)n;
        return 0;
    }
    if (strcmp(name, "family") == 0)
        return parse_family(ps, v);
    if (strcmp(name, "type") == 0)
        return parse_socktype(ps, v);
    if (strcmp(name, "host") == 0)
        return parse_host(ps, v);
    if (strcmp(name, "exe") == 0)
        return parse_exe(ps, v);
    if (strcmp(name, "pid") == 0) {
        if (parse_number(ps, v, 1, 1u << 22, "pid", &n) != 0)
            return -1;
        r->pid = (int)n;
        return 0;
    }
    if (strcmp(name, "at") == 0) {
        r->has_window = 1;
        return parse_duration(ps, v, "at", &r->at_ns);
    }
    if (strcmp(name, "for") == 0) {
        r->has_window = 1;
        if (parse_duration(ps, v, "for", &r->for_ns) != 0)
            return -1;
        if (r->for_ns == 0) {
            char q[96];
            return failf(ps, v, "bad for '%s' (a time the rule is in force: from 1us to 1 hour)",
                         quoted(v, q, sizeof q));
        }
        return 0;
    }
    if (parse_number(ps, v, 0, 1u << 30, "fd", &n) != 0) /* fd= */
        return -1;
    r->fd = (int)n;
    return 0;
}

static const struct term *find_term(struct span name)
{
    for (size_t i = 0; i < N_TERMS; i++)
        if (span_is(name, terms[i].name))
            return &terms[i];
    return NULL;
}

/* The terms of a kind as a message lists them: "error=, short=, eof, ...". */
static const char *term_list(enum term_kind kind, char *buf, size_t cap)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap);
    for (size_t i = 0; i < N_TERMS; i++) {
        if (terms[i].kind != kind)
            continue;
        if (o.len > 0)
            ss_out_str(&o, ", ");
        ss_out_str(&o, terms[i].name);
        if (terms[i].takes_value == VALUE)
            ss_out_char(&o, '=');
    }
    buf[o.len < cap ? o.len : cap - 1] = '\0';
    return buf;
}

static int unknown_term(struct parse *ps, struct span name)
{
    const char *names[N_TERMS];
    char q[96], actions[160], filters[96];
    for (size_t i = 0; i < N_TERMS; i++)
        names[i] = terms[i].name;
    const char *near = ss_closest_name(name.p, name.len, names, N_TERMS);
    if (near != NULL) {
        const struct term *t = find_term((struct span){near, strlen(near)});
        return failf(ps, name, "unknown %s '%s' (did you mean '%s'?)",
                     t->kind == ACTION ? "action" : "filter", quoted(name, q, sizeof q), near);
    }
    return failf(ps, name, "unknown action or filter '%s' (actions: %s; filters: %s)",
                 quoted(name, q, sizeof q), term_list(ACTION, actions, sizeof actions),
                 term_list(FILTER, filters, sizeof filters));
}

/* Appends an action as written to one of the rule's action texts. */
static void note_action_text(char *text, size_t cap, struct span term)
{
    size_t have = strlen(text);
    if (have + term.len + 2 > cap)
        return;
    if (have > 0)
        text[have++] = ' ';
    memcpy(text + have, term.p, term.len);
    text[have + term.len] = '\0';
}

static int parse_term(struct parse *ps, struct span s, unsigned *seen)
{
    char q[96];
    if (s.len == 0)
        return failf(ps, s, "empty term (two ':' in a row, or a ':' at the end)");
    const char *eq = memchr(s.p, '=', s.len);
    struct span name = {s.p, eq != NULL ? (size_t)(eq - s.p) : s.len};
    struct span value = {eq != NULL ? eq + 1 : s.p + s.len,
                         eq != NULL ? s.len - name.len - 1 : 0};
    const struct term *t = find_term(name);
    if (t == NULL)
        return unknown_term(ps, name);
    unsigned bit = 1u << (t - terms);
    if (*seen & bit)
        return failf(ps, name, "'%s' is given twice", t->name);
    *seen |= bit;
    if (t->takes_value == VALUE && eq == NULL)
        return failf(ps, s, "'%s' needs a value ('%s=...')", t->name, t->name);
    if (t->takes_value == NO_VALUE && eq != NULL)
        return failf(ps, s, "'%s' takes no value (write just '%s')", t->name, t->name);
    if (eq != NULL && value.len == 0)
        return failf(ps, s, "'%s=' has an empty value", quoted(name, q, sizeof q));
    if (eq != NULL && parse_value(ps, t, value) != 0)
        return -1;
    if (t->kind == ACTION) {
        struct ss_rule *r = ps->rule;
        r->actions |= t->action;
        note_action_text(r->action_text, sizeof r->action_text, s);
        if (t->action != SS_ACT_SHORT)
            note_action_text(r->uncut_action_text, sizeof r->uncut_action_text, s);
    }
    return 0;
}

/* ---- what fits together ----------------------------------------------- */

/* The methods of the set each of the rule's actions can apply to (the
 * terms table says which); an action that applies to none of them is an
 * error (a group may hold methods it does not). */
static int check_applies(struct parse *ps, struct span set)
{
    struct ss_rule *r = ps->rule;
    for (size_t i = 0; i < N_TERMS; i++) {
        const struct term *t = &terms[i];
        if (t->fits == 0 || !(r->actions & t->action) || (r->set & t->fits) != 0)
            continue;
        return failf(ps, set, "%s%s applies to %s; the methods '%.*s' have none", t->name,
                     t->takes_value == VALUE ? "=" : "", t->hint, (int)set.len, set.p);
    }
    return 0;
}

/* A datagram action stands alone: a datagram lost, doubled or held back
 * is all that happens to it (docs/faults.md). */
static int check_datagram(struct parse *ps)
{
    struct ss_rule *r = ps->rule;
    struct span whole = {ps->text, strlen(ps->text)};
    unsigned dgram = r->actions & SS_ACT_DATAGRAM;
    if (dgram == 0)
        return 0;
    if (dgram & (dgram - 1))
        return failf(ps, whole, "the rule has more than one of drop, duplicate and reorder=; "
                                "a datagram is lost, doubled or held back: give each a rule");
    if ((r->actions & ~SS_ACT_DATAGRAM) != 0 || r->jitter_ns != 0)
        return failf(ps, whole, "drop, duplicate and reorder= go with no other action: what a "
                                "network does to the datagram is all that happens to the call");
    return 0;
}

static int check_rule(struct parse *ps, struct span set)
{
    struct ss_rule *r = ps->rule;
    struct span whole = {ps->text, strlen(ps->text)};
    unsigned outcomes = r->actions & SS_ACT_OUTCOMES;
    char actions[160];
    if (r->actions == 0 && r->jitter_ns == 0)
        return failf(ps, whole, "the rule has no action (add one: %s)",
                     term_list(ACTION, actions, sizeof actions));
    if (outcomes & (outcomes - 1))
        return failf(ps, whole, "the rule has more than one of error=, eof, reset, timeout and "
                                "blackhole; a call can end only one way");
    if ((r->actions & SS_ACT_RATE) && (r->actions & ~(unsigned)(SS_ACT_RATE | SS_ACT_DELAY)))
        return failf(ps, whole, "rate= goes with delay= and jitter= only: together they are "
                                "the path the data takes");
    if ((r->actions & SS_ACT_BLACKHOLE) && r->actions != SS_ACT_BLACKHOLE)
        return failf(ps, whole, "blackhole goes alone: nothing gets through, for ever, so "
                                "there is nothing to delay, cut or corrupt");
    if ((r->actions & SS_ACT_SHORT) && (r->actions & (SS_ACT_ERROR | SS_ACT_EOF | SS_ACT_RESET |
                                                      SS_ACT_TIMEOUT)))
        return failf(ps, whole, "short= cannot go with error=, eof, reset or timeout: a "
                                "shortened call is performed");
    if ((r->actions & SS_ACT_CORRUPT) && (r->actions & SS_ACT_OUTCOMES))
        return failf(ps, whole, "corrupt= cannot go with error=, eof, reset or timeout: no "
                                "data is transferred");
    if (r->jitter_ns != 0 && !(r->actions & (SS_ACT_DELAY | SS_ACT_TIMEOUT)))
        return failf(ps, whole, "jitter= adds to a delay: give delay= too");
    if (check_datagram(ps) != 0)
        return -1;
    return check_applies(ps, set);
}

/* The value of term name= as the rule gives it (it has one). */
static struct span term_value(const struct parse *ps, const char *name)
{
    char key[16];
    snprintf(key, sizeof key, ":%s=", name);
    const char *at = strstr(ps->text, key);
    if (at == NULL)
        return (struct span){ps->text, strlen(ps->text)};
    at += strlen(key);
    return (struct span){at, strcspn(at, ":")};
}

/* Filters that ask about the call's socket. */
static int has_socket_filter(const struct ss_rule *r)
{
    return r->family != AF_UNSPEC || r->has_peer || r->port >= 0 || r->has_after ||
           r->socktype != 0 || r->fd >= 0;
}

/* The methods the rule's error= and filters leave of a set: an EAI_* code
 * and host= are for the resolve methods (an EAI_* code h_errno cannot say
 * not for gethostbyname), an errno and the socket's filters for the
 * others. */
static ss_opmask resolve_fit(const struct ss_rule *r)
{
    ss_opmask fits = SS_OPMASK_ALL;
    if (r->gai_err != 0 || r->host[0] != '\0')
        fits &= RESOLVE_FAMILY;
    if (r->gai_err != 0 && ss_h_error_of_gai(r->gai_err) == NULL)
        fits &= ~HOSTENT_FAMILY;
    if (r->err != 0 || has_socket_filter(r))
        fits &= ~RESOLVE_FAMILY;
    return fits;
}

/* A rule whose error= or filters fit none of its methods. */
static int check_resolve(struct parse *ps, struct span set)
{
    struct ss_rule *r = ps->rule;
    char q[96];
    if ((r->set & resolve_fit(r)) != 0)
        return 0;
    if (r->gai_err != 0 && (r->set & RESOLVE_FAMILY) == 0)
        return failf(ps, term_value(ps, "error"), "error=%s is an error of name resolution "
                     "(%%resolve: getaddrinfo, getnameinfo, gethostbyname, gethostbyaddr); "
                     "the methods '%.*s' fail with errno names such as ECONNREFUSED",
                     quoted(term_value(ps, "error"), q, sizeof q), (int)set.len, set.p);
    if (r->gai_err != 0 && (r->set & ~HOSTENT_FAMILY & RESOLVE_FAMILY) == 0)
        return failf(ps, term_value(ps, "error"), "error=%s is no failure of '%.*s' (they "
                     "report h_errno: TRY_AGAIN, HOST_NOT_FOUND, NO_RECOVERY, NO_DATA, or "
                     "EAI_AGAIN, EAI_NONAME, EAI_FAIL, EAI_NODATA, EAI_MEMORY)",
                     quoted(term_value(ps, "error"), q, sizeof q), (int)set.len, set.p);
    if (r->host[0] != '\0' && (r->set & RESOLVE_FAMILY) == 0)
        return failf(ps, term_value(ps, "host"), "host= filters the resolve methods "
                     "(getaddrinfo, getnameinfo, gethostbyname, gethostbyaddr); the methods "
                     "'%.*s' have none", (int)set.len, set.p);
    if (r->err != 0 && (r->set & ~RESOLVE_FAMILY) == 0)
        return failf(ps, term_value(ps, "error"), "error=%s is an errno: the resolve methods "
                     "fail with EAI_AGAIN, EAI_NONAME, EAI_FAIL, EAI_NODATA, EAI_MEMORY... (or "
                     "TRY_AGAIN, HOST_NOT_FOUND, NO_RECOVERY, NO_DATA)",
                     quoted(term_value(ps, "error"), q, sizeof q));
    if (has_socket_filter(r) && (r->set & ~RESOLVE_FAMILY) == 0)
        return failf(ps, set, "peer=, port=, family=, type=, fd= and after= filter calls on a "
                     "socket; the resolve methods are called on none (host= names what they "
                     "resolve)");
    return failf(ps, set, "the rule leaves none of the methods '%.*s': host= and an EAI_* "
                 "error are for name resolutions, an errno and peer=, port=, family=, type=, "
                 "fd= and after= for calls on a socket", (int)set.len, set.p);
}

/* Narrows the set to the methods the rule's actions can apply to: a group
 * such as %io keeps only what makes sense (eof: the receives). */
static void narrow_set(struct ss_rule *r)
{
    r->set &= resolve_fit(r);
    for (size_t i = 0; i < N_TERMS; i++)
        if (terms[i].fits != 0 && (r->actions & terms[i].action))
            r->set &= terms[i].fits;
}

/* ---- the rule ----------------------------------------------------------- */

/* Where the term at p ends: at the next ':', except that a peer= address
 * holds ':' of its own (127.0.0.1:6379, [::1]:80, ::1, fe80::1). Its
 * value runs over address characters; when that run swallowed the start
 * of the next term (":fd=3"), it ends at the ':' before it. */
static const char *term_end(const char *p)
{
    if (strncmp(p, "peer=", 5) != 0)
        return strchrnul(p, ':');
    const char *v = p + 5;
    if (*v == '[') {
        const char *close = strchr(v, ']');
        if (close == NULL) /* unclosed: the whole address is the bad part */
            return v + 1 + strspn(v + 1, "0123456789abcdefABCDEF:.");
        v = close + 1;
        if (v[0] == ':' && v[1] >= '0' && v[1] <= '9')
            v += 1 + strspn(v + 1, "0123456789");
        return strchrnul(v, ':');
    }
    if (*v == '/')
        return strchrnul(v, ':');
    const char *run = v + strspn(v, "0123456789abcdefABCDEF:.");
    if (*run == '=') { /* a term name that looks like hex: back to its ':' */
        while (run > v && run[-1] != ':')
            run--;
        if (run > v)
            run--;
    }
    while (run > v && run[-1] == ':')
        run--;
    return *run == '\0' || *run == ':' ? run : strchrnul(run, ':');
}

int ss_rule_duration(const char *text, size_t len, const char *what, uint64_t *ns,
                     struct ss_rule_error *e)
{
    struct parse ps = {text, NULL, e};
    return parse_duration(&ps, (struct span){text, len}, what, ns);
}

int ss_rule_parse(const char *text, struct ss_rule *rule, struct ss_rule_error *e)
{
    struct parse ps = {text, rule, e};
    memset(rule, 0, sizeof *rule);
    memset(e, 0, sizeof *e);
    rule->port = -1;
    rule->fd = -1;
    rule->family = AF_UNSPEC;
    size_t len = strlen(text);
    struct span all = {text, len};
    if (len == 0)
        return failf(&ps, all, "empty rule (write METHODS:ACTION, e.g. 'send:short=1')");
    if (len >= sizeof rule->text)
        return failf(&ps, all, "rule too long (at most %zu characters)", sizeof rule->text - 1);
    memcpy(rule->text, text, len + 1);

    const char *colon = strchr(text, ':');
    struct span set = {text, colon != NULL ? (size_t)(colon - text) : len};
    if (colon == NULL)
        return failf(&ps, all, "a rule is METHODS:ACTION, e.g. 'connect:error=ECONNREFUSED'; "
                               "'%.*s' has no ':'", (int)(len > 60 ? 60 : len), text);
    if (parse_set(&ps, set) != 0)
        return -1;
    const char *semicolon = strchr(text, ';');
    if (semicolon != NULL)
        return failf(&ps, (struct span){semicolon, 1},
                     "';' separates rules (in " SS_ENV_FAULTS "); one rule cannot hold it");
    unsigned seen = 0;
    for (const char *p = colon + 1;;) {
        const char *end = term_end(p);
        struct span term = {p, (size_t)(end - p)};
        if (parse_term(&ps, term, &seen) != 0)
            return -1;
        if (*end == '\0')
            break;
        p = end + 1;
    }
    if (check_rule(&ps, set) != 0 || check_resolve(&ps, set) != 0)
        return -1;
    narrow_set(rule);
    return 0;
}

/* ---- errnos the man pages list ----------------------------------------- */

/* The errors a method's man page says it can fail with (plus the network
 * errors the kernel passes through where the page says so). An error=
 * outside the list is allowed, with a warning: a test may want exactly
 * that, but a typo (ECONNREFUSED on recv) is more likely. */
struct errno_list {
    ss_opmask methods;
    int errs[28];
};

static const struct errno_list man_errnos[] = {
    {BIT(socket), {EACCES, EAFNOSUPPORT, EINVAL, EMFILE, ENFILE, ENOBUFS, ENOMEM,
                   EPROTONOSUPPORT}},
    {BIT(socketpair), {EAFNOSUPPORT, EFAULT, EMFILE, ENFILE, EOPNOTSUPP, EPROTONOSUPPORT}},
    {BIT(bind), {EACCES, EADDRINUSE, EBADF, EINVAL, ENOTSOCK, EADDRNOTAVAIL, EFAULT, ELOOP,
                 ENAMETOOLONG, ENOENT, ENOMEM, ENOTDIR, EROFS}},
    {BIT(listen), {EADDRINUSE, EBADF, ENOTSOCK, EOPNOTSUPP}},
    {BIT(accept), {EAGAIN, EBADF, ECONNABORTED, EFAULT, EINTR, EINVAL, EMFILE, ENFILE, ENOBUFS,
                   ENOMEM, ENOTSOCK, EOPNOTSUPP, EPERM, EPROTO, ENETDOWN, ENOPROTOOPT,
                   EHOSTDOWN, ENONET, EHOSTUNREACH, ENETUNREACH}},
    {BIT(connect) | BIT(connect_ex),
     {EACCES, EPERM, EADDRINUSE, EADDRNOTAVAIL, EAFNOSUPPORT, EAGAIN, EALREADY, EBADF,
      ECONNREFUSED, EFAULT, EINPROGRESS, EINTR, EISCONN, ENETUNREACH, ENOTSOCK, EPROTOTYPE,
      ETIMEDOUT, EHOSTUNREACH, ECONNRESET, ENETDOWN}},
    {SEND_FAMILY, {EACCES, EAGAIN, EALREADY, EBADF, ECONNRESET, EDESTADDRREQ, EFAULT, EINTR,
                   EINVAL, EISCONN, EMSGSIZE, ENOBUFS, ENOMEM, ENOTCONN, ENOTSOCK, EOPNOTSUPP,
                   EPIPE, EHOSTUNREACH, ENETUNREACH, ENETDOWN, ETIMEDOUT, EIO, ENOSPC}},
    {RECV_FAMILY, {EAGAIN, EBADF, ECONNREFUSED, EFAULT, EINTR, EINVAL, ENOMEM, ENOTCONN,
                   ENOTSOCK, ECONNRESET, ETIMEDOUT, EIO}},
    {BIT(getsockopt) | BIT(setsockopt), {EBADF, EFAULT, EINVAL, ENOPROTOOPT, ENOTSOCK, EPERM,
                                         ENOMEM}},
    {BIT(shutdown), {EBADF, EINVAL, ENOTCONN, ENOTSOCK}},
    {BIT(getsockname) | BIT(getpeername), {EBADF, EFAULT, EINVAL, ENOBUFS, ENOTCONN, ENOTSOCK}},
    {BIT(close), {EBADF, EINTR, EIO, ENOSPC, EDQUOT}},
    {BIT(dup), {EBADF, EBUSY, EINTR, EINVAL, EMFILE}},
};

static int errno_listed(ss_opmask op_bit, int err)
{
    int described = 0;
    for (size_t i = 0; i < sizeof man_errnos / sizeof man_errnos[0]; i++) {
        if (!(man_errnos[i].methods & op_bit))
            continue;
        described = 1;
        for (size_t k = 0; k < sizeof man_errnos[i].errs / sizeof(int); k++)
            if (man_errnos[i].errs[k] == err)
                return 1;
    }
    return !described; /* a method without a list takes anything */
}

int ss_rule_short_cuts(int socktype)
{
    return socktype == SOCK_STREAM;
}

int ss_rule_datagram_faults(int socktype)
{
    return socktype == SOCK_DGRAM;
}

/* short= with a type= whose sockets it never cuts: the short= is dead (a
 * typo, or a test that believes it cuts datagrams). The carets mark the
 * type= term. */
static int short_warning(const struct ss_rule *rule, struct ss_rule_error *e)
{
    if (!(rule->actions & SS_ACT_SHORT) || rule->socktype == 0 ||
        ss_rule_short_cuts(rule->socktype))
        return 0;
    const char *name = ss_xlat_name(&ss_xlat_rule_socktype, rule->socktype);
    const char *at = strstr(rule->text, ":type=");
    snprintf(e->msg, sizeof e->msg, "type=%s leaves short= nothing to cut: a %s socket sends "
             "and receives its messages whole (short= cuts stream sockets only)", name, name);
    e->at = at != NULL ? (size_t)(at - rule->text) + 1 : 0;
    e->len = at != NULL ? strcspn(at + 1, ":") : strlen(rule->text);
    return 1;
}

/* drop, duplicate or reorder= with a type= that is not a datagram
 * socket's: the action is dead. The carets mark the type= term. */
static int datagram_warning(const struct ss_rule *rule, struct ss_rule_error *e)
{
    if (!(rule->actions & SS_ACT_DATAGRAM) || rule->socktype == 0 ||
        ss_rule_datagram_faults(rule->socktype))
        return 0;
    const char *name = ss_xlat_name(&ss_xlat_rule_socktype, rule->socktype);
    const char *at = strstr(rule->text, ":type=");
    snprintf(e->msg, sizeof e->msg, "type=%s leaves drop, duplicate and reorder= nothing to do: "
             "a %s socket delivers what it carries once and in order (they act on datagram "
             "sockets only)", name, name);
    e->at = at != NULL ? (size_t)(at - rule->text) + 1 : 0;
    e->len = at != NULL ? strcspn(at + 1, ":") : strlen(rule->text);
    return 1;
}

/* error= with an errno the method's man page does not list. */
static int errno_warning(const struct ss_rule *rule, struct ss_rule_error *e)
{
    if (!(rule->actions & SS_ACT_ERROR) || rule->gai_err != 0)
        return 0;
    for (int op = 0; op < SS_OP_COUNT; op++) {
        ss_opmask bit = (ss_opmask)1 << op;
        if (!(rule->set & bit) || errno_listed(bit, rule->err))
            continue;
        const char *name = ss_errno_name(rule->err);
        const char *at = strstr(rule->text, "error=");
        snprintf(e->msg, sizeof e->msg, "%s(2) does not list %s among its errors",
                 ss_op_name(op), name != NULL ? name : "that error");
        e->at = at != NULL ? (size_t)(at - rule->text) + 6 : 0;
        e->len = at != NULL ? strcspn(at + 6, ":") : strlen(rule->text);
        return 1;
    }
    return 0;
}

int ss_rule_warning(const struct ss_rule *rule, struct ss_rule_error *e)
{
    return errno_warning(rule, e) || short_warning(rule, e) || datagram_warning(rule, e);
}

/* ---- explaining --------------------------------------------------------- */

size_t ss_rule_explain(const char *prefix, const char *rule_text, const struct ss_rule_error *e,
                       char *buf, size_t cap)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap);
    ss_out_str(&o, e->msg);
    ss_out_char(&o, '\n');
    /* the rule, escaped, and a caret line in the same columns */
    size_t col = 0, caret_at = 0, caret_len = 0;
    ss_out_str(&o, prefix);
    for (size_t i = 0; rule_text[i] != '\0'; i++) {
        unsigned char c = (unsigned char)rule_text[i];
        if (i == e->at)
            caret_at = col;
        size_t width = ss_out_shown_byte(&o, c);
        if (i >= e->at && i < e->at + e->len)
            caret_len += width;
        col += width;
    }
    if (e->at >= strlen(rule_text))
        caret_at = col;
    ss_out_char(&o, '\n');
    ss_out_str(&o, prefix);
    for (size_t i = 0; i < caret_at; i++)
        ss_out_char(&o, ' ');
    for (size_t i = 0; i < (caret_len > 0 ? caret_len : 1); i++)
        ss_out_char(&o, '^');
    ss_out_char(&o, '\n');
    if (cap > 0)
        buf[o.len < cap ? o.len : cap - 1] = '\0';
    return o.len + 1;
}
