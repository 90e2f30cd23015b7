/* sockshim: name resolutions as the socket module's functions.
 *
 *   socket.getaddrinfo('localhost', 8080, type=SOCK_STREAM)
 *       -> [(AF_INET, SOCK_STREAM, 6, '', ('127.0.0.1', 8080))]
 *   socket.gethostbyname_ex('db.local') raises herror(2, 'Host name lookup failure')
 *
 * In both formats (docs/trace-format.md, "Name resolution"). A resolution
 * is rendered in the library, right after the call: the lists it reads
 * are the program's, as the call left them (call_record.c never records
 * one).
 */
#include <netdb.h>
#include <netinet/in.h>
#include <string.h>

#include "render_call.h"
#include "xlat.h"

/* How many addresses (and aliases) of a result a line shows; the count
 * of the rest follows. */
#define SHOWN_ENTRIES 8
/* The longest name a line shows (NI_MAXHOST) */
#define SHOWN_NAME 1025

static size_t name_len(const char *s)
{
    return strnlen(s, SHOWN_NAME);
}

/* 'name', or 'name'... when it was cut (as a bytes literal is), or None */
static void out_pyname(struct ss_out *o, const char *s)
{
    if (s == NULL) {
        ss_out_str(o, "None");
        return;
    }
    size_t n = name_len(s);
    ss_out_pystr(o, s, n);
    if (n == SHOWN_NAME && s[n] != '\0')
        ss_out_str(o, "...");
}

/* A service as Python passes it: a port number, or a name. */
static int numeric_service(const char *s)
{
    size_t n = strspn(s, "0123456789");
    return n > 0 && n <= 5 && s[n] == '\0';
}

static void out_pyservice(struct ss_out *o, const char *s)
{
    if (s != NULL && numeric_service(s)) {
        size_t zeros = strspn(s, "0");
        ss_out_str(o, s[zeros] != '\0' ? s + zeros : "0"); /* "080" is 80 */
    } else
        out_pyname(o, s);
}

static int gai_method(const struct ss_call *c)
{
    return c->op == SS_OP_getaddrinfo || c->op == SS_OP_getnameinfo;
}

/* The errno a failure that is the system's carries, or 0. */
static int system_errno(const struct ss_call *c)
{
    const struct ss_resolution *r = c->resolution;
    if (gai_method(c))
        return r->gai == EAI_SYSTEM ? c->err : 0;
    if (r->herr != NETDB_INTERNAL)
        return 0;
    return r->h_errnop != NULL ? r->r_ret : c->err;
}

/* ---- text --------------------------------------------------------------- */

static void text_hints(struct ss_out *o, const struct addrinfo *h)
{
    if (h == NULL)
        return;
    if (h->ai_family != 0) {
        ss_out_str(o, ", family=");
        ss_out_xlat(o, &ss_xlat_af, h->ai_family);
    }
    if (h->ai_socktype != 0) {
        ss_out_str(o, ", type=");
        ss_out_socktype(o, h->ai_socktype);
    }
    if (h->ai_protocol != 0) {
        ss_out_str(o, ", proto=");
        ss_out_i64(o, h->ai_protocol);
    }
    if (h->ai_flags != 0) {
        ss_out_str(o, ", flags=");
        ss_out_flags(o, &ss_xlat_ai_flags, (unsigned)h->ai_flags);
    }
}

static void text_reverse_address(struct ss_out *o, const struct ss_call *c)
{
    char buf[SS_ADDR_TEXT_MAX];
    const char *text = ss_resolution_asked(c, buf, sizeof buf);
    if (text != NULL) {
        ss_out_pystr(o, text, strlen(text));
        return;
    }
    const struct ss_resolution *r = c->resolution;
    ss_out_char(o, '<');
    ss_out_xlat(o, &ss_xlat_af, r->family);
    ss_out_char(o, ' ');
    ss_out_pybytes_raw(o, r->addr, r->addr != NULL ? r->addrlen : 0);
    ss_out_char(o, '>');
}

/* A resolve method's record without its resolution: no call makes one
 * (the command refuses such a ring record), but a renderer never trusts
 * that. */
static int missing(struct ss_out *o, const struct ss_call *c, const char *shown)
{
    if (c->resolution != NULL)
        return 0;
    ss_out_str(o, shown);
    return 1;
}

void ss_text_resolution_call(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_resolution *r = c->resolution;
    if (missing(o, c, "socket.?()"))
        return;
    switch (c->op) {
    case SS_OP_getaddrinfo:
        ss_out_str(o, "socket.getaddrinfo(");
        out_pyname(o, r->host);
        ss_out_str(o, ", ");
        out_pyservice(o, r->service);
        text_hints(o, r->hints);
        break;
    case SS_OP_getnameinfo:
        ss_out_str(o, "socket.getnameinfo(");
        ss_out_pyaddr(o, c->addr, c->addrlen);
        ss_out_str(o, ", ");
        ss_out_flags(o, &ss_xlat_ni_flags, (unsigned)c->flags);
        break;
    case SS_OP_gethostbyname:
        ss_out_str(o, "socket.gethostbyname_ex(");
        out_pyname(o, r->host);
        if (c->fn == SS_FN_gethostbyname2 || c->fn == SS_FN_gethostbyname2_r) {
            ss_out_str(o, ", ");
            ss_out_xlat(o, &ss_xlat_af, r->family);
        }
        break;
    default:
        ss_out_str(o, "socket.gethostbyaddr(");
        text_reverse_address(o, c);
        break;
    }
    ss_out_char(o, ')');
}

/* "...] (12 entries)" after a list cut at SHOWN_ENTRIES. */
static void text_more(struct ss_out *o, size_t n)
{
    if (n > SHOWN_ENTRIES) {
        ss_out_str(o, ", ...] (");
        ss_out_u64(o, n);
        ss_out_str(o, " entries)");
    } else {
        ss_out_char(o, ']');
    }
}

static void text_addrinfo(struct ss_out *o, const struct addrinfo *list)
{
    size_t n = 0;
    ss_out_char(o, '[');
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next, n++) {
        if (n >= SHOWN_ENTRIES)
            continue;
        if (n > 0)
            ss_out_str(o, ", ");
        ss_out_char(o, '(');
        ss_out_xlat(o, &ss_xlat_af, ai->ai_family);
        ss_out_str(o, ", ");
        ss_out_socktype(o, ai->ai_socktype);
        ss_out_str(o, ", ");
        ss_out_i64(o, ai->ai_protocol);
        ss_out_str(o, ", ");
        ss_out_pystr(o, ai->ai_canonname != NULL ? ai->ai_canonname : "",
                     ai->ai_canonname != NULL ? name_len(ai->ai_canonname) : 0);
        ss_out_str(o, ", ");
        ss_out_pyaddr(o, ai->ai_addr, ai->ai_addrlen);
        ss_out_char(o, ')');
    }
    text_more(o, n);
}

/* A buffer getnameinfo filled: its string, or None when none was given. */
static void text_filled(struct ss_out *o, const char *buf, socklen_t len)
{
    if (buf == NULL || len == 0)
        ss_out_str(o, "None");
    else
        ss_out_pystr(o, buf, strnlen(buf, len));
}

/* The text of address i of a hostent. */
static const char *hostent_address(const struct hostent *h, size_t i, char *buf, size_t cap)
{
    int known = (h->h_addrtype == AF_INET && h->h_length == 4) ||
                (h->h_addrtype == AF_INET6 && h->h_length == 16);
    if (!known)
        return "?";
    ss_format_ip(buf, cap, h->h_addrtype, h->h_addr_list[i]);
    return buf;
}

static void text_name_list(struct ss_out *o, char *const *list)
{
    size_t n = 0;
    ss_out_char(o, '[');
    for (; list != NULL && list[n] != NULL; n++) {
        if (n >= SHOWN_ENTRIES)
            continue;
        if (n > 0)
            ss_out_str(o, ", ");
        out_pyname(o, list[n]);
    }
    text_more(o, n);
}

static void text_hostent(struct ss_out *o, const struct hostent *h)
{
    char buf[SS_ADDR_TEXT_MAX];
    size_t n = 0;
    ss_out_char(o, '(');
    out_pyname(o, h->h_name);
    ss_out_str(o, ", ");
    text_name_list(o, h->h_aliases);
    ss_out_str(o, ", [");
    for (; h->h_addr_list != NULL && h->h_addr_list[n] != NULL; n++) {
        if (n >= SHOWN_ENTRIES)
            continue;
        if (n > 0)
            ss_out_str(o, ", ");
        const char *a = hostent_address(h, n, buf, sizeof buf);
        ss_out_pystr(o, a, strlen(a));
    }
    text_more(o, n);
    ss_out_char(o, ')');
}

/* " raises gaierror(-3, '...')", " raises herror(1, '...')", or for a
 * failure of the system " raises error(24, '...')", as Python raises. */
static void text_raises(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_resolution *r = c->resolution;
    int err = system_errno(c);
    if (err != 0) {
        ss_text_raises(o, err);
        return;
    }
    const struct ss_resolve_error *e = gai_method(c) ? ss_gai_error(r->gai) : ss_h_error(r->herr);
    ss_out_str(o, gai_method(c) ? " raises gaierror(" : " raises herror(");
    ss_out_i64(o, gai_method(c) ? r->gai : r->herr);
    ss_out_str(o, ", ");
    const char *msg = e != NULL ? e->message : "Unknown error";
    ss_out_pystr(o, msg, strlen(msg));
    ss_out_char(o, ')');
}

void ss_text_resolution_result(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_resolution *r = c->resolution;
    if (missing(o, c, ""))
        return;
    if (c->failed) {
        text_raises(o, c);
        return;
    }
    ss_out_str(o, " -> ");
    switch (c->op) {
    case SS_OP_getaddrinfo:
        text_addrinfo(o, r->res != NULL ? *r->res : NULL);
        break;
    case SS_OP_getnameinfo:
        ss_out_char(o, '(');
        text_filled(o, r->host_out, r->host_outlen);
        ss_out_str(o, ", ");
        text_filled(o, r->serv_out, r->serv_outlen);
        ss_out_char(o, ')');
        break;
    default:
        text_hostent(o, r->hostent);
        break;
    }
}

/* ---- JSON ----------------------------------------------------------------- */

/* "name": "text" (with "name_hex" when it is not UTF-8), or null. */
static void json_name(struct ss_out *o, const char *key, const char *s)
{
    if (s == NULL) {
        ss_json_key(o, key);
        ss_out_str(o, "null");
        return;
    }
    ss_out_json_text_member(o, key, s, name_len(s));
}

static void json_hints(struct ss_out *o, const struct addrinfo *h)
{
    SS_JSON_KEY(o, "hints");
    if (h == NULL) {
        ss_out_str(o, "null");
        return;
    }
    ss_json_open(o);
    ss_json_family_type_proto(o, h->ai_family, h->ai_socktype, h->ai_protocol);
    SS_JSON_KEY(o, "flags");
    ss_json_flags(o, &ss_xlat_ai_flags, (unsigned)h->ai_flags);
    ss_json_close(o);
}

void ss_json_resolution_args(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_resolution *r = c->resolution;
    char buf[SS_ADDR_TEXT_MAX];
    if (missing(o, c, ""))
        return;
    switch (c->op) {
    case SS_OP_getaddrinfo:
        json_name(o, "host", r->host);
        json_name(o, "service", r->service);
        json_hints(o, r->hints);
        break;
    case SS_OP_getnameinfo:
        SS_JSON_KEY(o, "addr");
        ss_out_json_addr(o, c->addr, c->addrlen);
        SS_JSON_KEY(o, "flags");
        ss_json_flags(o, &ss_xlat_ni_flags, (unsigned)c->flags);
        break;
    case SS_OP_gethostbyname:
        json_name(o, "host", r->host);
        SS_JSON_KEY(o, "family");
        if (r->family != 0)
            ss_json_xlat(o, &ss_xlat_af, r->family);
        else
            ss_out_str(o, "null");
        break;
    default:
        json_name(o, "addr", ss_resolution_asked(c, buf, sizeof buf));
        SS_JSON_KEY(o, "family");
        ss_json_xlat(o, &ss_xlat_af, r->family);
        SS_JSON_KEY(o, "len");
        ss_out_u64(o, r->addrlen);
        break;
    }
}

/* "count": N after a list cut at SHOWN_ENTRIES */
static void json_count(struct ss_out *o, const char *key, size_t n)
{
    ss_json_key(o, key);
    ss_out_u64(o, n);
}

static void json_addrinfo(struct ss_out *o, const struct addrinfo *list)
{
    size_t n = 0;
    SS_JSON_KEY(o, "addresses");
    ss_out_char(o, '[');
    for (const struct addrinfo *ai = list; ai != NULL; ai = ai->ai_next, n++) {
        if (n >= SHOWN_ENTRIES)
            continue;
        if (n > 0)
            ss_out_str(o, ", ");
        ss_json_open(o);
        ss_json_family_type_proto(o, ai->ai_family, ai->ai_socktype, ai->ai_protocol);
        json_name(o, "canonname", ai->ai_canonname);
        SS_JSON_KEY(o, "addr");
        ss_out_json_addr(o, ai->ai_addr, ai->ai_addrlen);
        ss_json_close(o);
    }
    ss_out_char(o, ']');
    json_count(o, "count", n);
}

static size_t json_string_list(struct ss_out *o, char *const *list)
{
    size_t n = 0;
    ss_out_char(o, '[');
    for (; list != NULL && list[n] != NULL; n++) {
        if (n >= SHOWN_ENTRIES)
            continue;
        if (n > 0)
            ss_out_str(o, ", ");
        ss_out_json_str(o, list[n], name_len(list[n]));
    }
    ss_out_char(o, ']');
    return n;
}

static void json_hostent(struct ss_out *o, const struct hostent *h)
{
    char buf[SS_ADDR_TEXT_MAX];
    size_t n = 0;
    json_name(o, "name", h->h_name);
    SS_JSON_KEY(o, "aliases");
    json_count(o, "alias_count", json_string_list(o, h->h_aliases));
    SS_JSON_KEY(o, "family");
    ss_json_xlat(o, &ss_xlat_af, h->h_addrtype);
    SS_JSON_KEY(o, "addresses");
    ss_out_char(o, '[');
    for (; h->h_addr_list != NULL && h->h_addr_list[n] != NULL; n++) {
        if (n >= SHOWN_ENTRIES)
            continue;
        if (n > 0)
            ss_out_str(o, ", ");
        ss_out_json_cstr(o, hostent_address(h, n, buf, sizeof buf));
    }
    ss_out_char(o, ']');
    json_count(o, "count", n);
}

static void json_filled(struct ss_out *o, const char *key, const char *buf, socklen_t len)
{
    if (buf == NULL || len == 0) {
        ss_json_key(o, key);
        ss_out_str(o, "null");
        return;
    }
    char shown[SHOWN_NAME + 1];
    size_t n = strnlen(buf, len < SHOWN_NAME ? len : SHOWN_NAME);
    memcpy(shown, buf, n);
    shown[n] = '\0';
    json_name(o, key, shown);
}

/* "error": {"exception": "gaierror", "code": -3, "name": "EAI_AGAIN",
 * "message": "..."} (and the errno of a failure of the system) */
static void json_error(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_resolution *r = c->resolution;
    int gai = gai_method(c);
    int err = system_errno(c);
    const struct ss_resolve_error *e = gai ? ss_gai_error(r->gai) : ss_h_error(r->herr);
    SS_JSON_KEY(o, "error");
    ss_json_open(o);
    SS_JSON_KEY(o, "exception");
    ss_out_json_name(o, err != 0 ? "error" : gai ? "gaierror" : "herror");
    SS_JSON_KEY(o, "code");
    ss_out_i64(o, gai ? r->gai : r->herr);
    SS_JSON_KEY(o, "name");
    if (e != NULL)
        ss_out_json_name(o, e->name);
    else
        ss_out_str(o, "null");
    SS_JSON_KEY(o, "message");
    ss_out_json_cstr(o, e != NULL ? e->message : "Unknown error");
    if (err != 0) {
        SS_JSON_KEY(o, "errno");
        ss_json_error(o, err);
    }
    ss_json_close(o);
}

void ss_json_resolution_outcome(struct ss_out *o, const struct ss_call *c)
{
    const struct ss_resolution *r = c->resolution;
    if (c->resolution == NULL) {
        SS_JSON_KEY(o, "ret");
        ss_out_str(o, "null");
        return;
    }
    if (c->failed) {
        json_error(o, c);
        return;
    }
    SS_JSON_KEY(o, "ret");
    ss_out_i64(o, 0);
    SS_JSON_KEY(o, "out");
    ss_json_open(o);
    switch (c->op) {
    case SS_OP_getaddrinfo:
        json_addrinfo(o, r->res != NULL ? *r->res : NULL);
        break;
    case SS_OP_getnameinfo:
        json_filled(o, "host", r->host_out, r->host_outlen);
        json_filled(o, "service", r->serv_out, r->serv_outlen);
        break;
    default:
        json_hostent(o, r->hostent);
        break;
    }
    ss_json_close(o);
}
