/* sockshim: socket addresses, taken apart once and shown as Python's
 * address tuples (text) or as JSON objects. */
#include "render_call.h"

#include <arpa/inet.h>
#include <linux/netlink.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

#include "xlat.h"

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

void ss_format_ip(char *buf, size_t cap, int family, const void *addr)
{
    format_host(buf, cap, family, addr);
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
    ss_json_key(o, name);
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

