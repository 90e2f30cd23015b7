/* libFuzzer harness: the pieces of a trace line that show what a program
 * handed the kernel (shim/common/render_call.h): socket addresses of any length and
 * family, file-system names and data bytes.
 *
 * The input is taken twice: as a socket address (the family is its first
 * two bytes, its length the input's size), rendered by ss_out_pyaddr() and
 * ss_out_json_addr(); and as a byte string, rendered by ss_out_pystr(),
 * ss_out_json_str(), ss_out_pybytes() (one buffer and several iovecs, at
 * several strsizes) and ss_out_json_data(). Each rendering is done into
 * buffers of several sizes (0, 1, 7, the size it needs less one, and
 * exactly what it needs), each allocated to exactly
 * its size: the length an ss_out reports must not depend on its capacity,
 * and what fits must be a prefix of the whole.
 *
 * No Python here to check the output parses, so the harness checks it
 * itself: the JSON is printable ASCII that a strict JSON grammar accepts,
 * and a JSON string decodes back to the input bytes (each byte that is not
 * UTF-8 as U+FFFD, the exact bytes in the "_hex" twin of a member);
 * the Python literals hold no control character and decode back to the
 * input too.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "fuzz.h"
#include "stubs.h"

/* ---- rendering into buffers of every size ------------------------------- */

struct subject {
    const unsigned char *data;
    size_t size;
    const struct ss_bytes *bytes;
};

typedef void render_fn(struct ss_out *o, const struct subject *s);

struct rendering {
    render_fn *fn;
    const struct subject *s;
};

static void render_one(struct ss_out *o, const void *arg)
{
    const struct rendering *r = arg;
    r->fn(o, r->s);
}

/* fn's output on s at every buffer size (fuzz_render_sizes). */
static char *render(render_fn *fn, const struct subject *s, size_t *len)
{
    struct rendering r = {fn, s};
    return fuzz_render_sizes(render_one, &r, len);
}

/* ---- UTF-8 ---------------------------------------------------------------- */

static size_t utf8_put(uint32_t cp, unsigned char *out)
{
    if (cp < 0x80) {
        out[0] = (unsigned char)cp;
        return 1;
    }
    if (cp < 0x800) {
        out[0] = (unsigned char)(0xc0 | cp >> 6);
        out[1] = (unsigned char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        out[0] = (unsigned char)(0xe0 | cp >> 12);
        out[1] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
        out[2] = (unsigned char)(0x80 | (cp & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | cp >> 18);
    out[1] = (unsigned char)(0x80 | (cp >> 12 & 0x3f));
    out[2] = (unsigned char)(0x80 | (cp >> 6 & 0x3f));
    out[3] = (unsigned char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Strict UTF-8 (no overlong forms, no surrogates): the length of the
 * sequence at p and its code point, or 0. */
static size_t utf8_get(const unsigned char *p, size_t n, uint32_t *cp)
{
    static const uint32_t min[] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len;
    uint32_t v;
    if (p[0] < 0x80)
        len = 1, v = p[0];
    else if (p[0] >= 0xc2 && p[0] < 0xe0)
        len = 2, v = p[0] & 0x1fu;
    else if (p[0] >= 0xe0 && p[0] < 0xf0)
        len = 3, v = p[0] & 0x0fu;
    else if (p[0] >= 0xf0 && p[0] < 0xf5)
        len = 4, v = p[0] & 0x07u;
    else
        return 0;
    if (len > n)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3fu);
    }
    if (v < min[len] || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Text for a terminal: valid UTF-8 without C0, DEL or C1 controls. */
static void check_terminal_safe(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = utf8_get(p + i, n - i, &cp);
        CHECK(len > 0);
        CHECK(cp >= 0x20 && !(cp >= 0x7f && cp < 0xa0));
        i += len;
    }
}

static int hexval(unsigned char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* n hex digits at p (all there), or -1. */
static long hexnum(const unsigned char *p, const unsigned char *end, int n)
{
    long v = 0;
    if (end - p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        int d = hexval(p[i]);
        if (d < 0)
            return -1;
        v = v << 4 | d;
    }
    return v;
}

/* ---- JSON ---------------------------------------------------------------- */

/* Decodes the JSON string at p (RFC 8259, strict: a lone surrogate, which
 * jansson refuses, is an error). out (may be NULL) gets the UTF-8 bytes;
 * returns the end of the literal or NULL. */
static const unsigned char *json_string(const unsigned char *p, const unsigned char *end,
                                        unsigned char *out, size_t *outlen)
{
    size_t n = 0;
    unsigned char tmp[4];
    if (p == end || *p != '"')
        return NULL;
    for (p++; p < end; ) {
        unsigned char c = *p;
        if (c == '"') {
            if (outlen != NULL)
                *outlen = n;
            return p + 1;
        }
        if (c < 0x20 || c >= 0x7f) /* printable ASCII only: non-ASCII is escaped */
            return NULL;
        if (c != '\\') {
            if (out != NULL)
                out[n] = c;
            n++;
            p++;
            continue;
        }
        if (p + 1 >= end)
            return NULL;
        unsigned char esc = p[1];
        p += 2;
        uint32_t cp;
        switch (esc) {
        case '"': cp = '"'; break;
        case '\\': cp = '\\'; break;
        case '/': cp = '/'; break;
        case 'b': cp = '\b'; break;
        case 'f': cp = '\f'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 't': cp = '\t'; break;
        case 'u': {
            long v = hexnum(p, end, 4);
            if (v < 0)
                return NULL;
            p += 4;
            cp = (uint32_t)v;
            if (cp >= 0xd800 && cp < 0xdc00) { /* needs its low half */
                if (end - p < 6 || p[0] != '\\' || p[1] != 'u')
                    return NULL;
                long lo = hexnum(p + 2, end, 4);
                if (lo < 0xdc00 || lo > 0xdfff)
                    return NULL;
                p += 6;
                cp = 0x10000 + ((cp - 0xd800) << 10) + ((uint32_t)lo - 0xdc00);
            } else if (cp >= 0xdc00 && cp <= 0xdfff) {
                return NULL;
            }
            break;
        }
        default:
            return NULL;
        }
        size_t k = utf8_put(cp, tmp);
        if (out != NULL)
            memcpy(out + n, tmp, k);
        n += k;
    }
    return NULL;
}

static const unsigned char *json_ws(const unsigned char *p, const unsigned char *end)
{
    while (p < end && (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r'))
        p++;
    return p;
}

static const unsigned char *json_number(const unsigned char *p, const unsigned char *end)
{
    if (p < end && *p == '-')
        p++;
    if (p == end || *p < '0' || *p > '9')
        return NULL;
    if (*p == '0')
        p++;
    else
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    if (p < end && *p == '.') {
        p++;
        if (p == end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    if (p < end && (*p == 'e' || *p == 'E')) {
        p++;
        if (p < end && (*p == '+' || *p == '-'))
            p++;
        if (p == end || *p < '0' || *p > '9')
            return NULL;
        while (p < end && *p >= '0' && *p <= '9')
            p++;
    }
    return p;
}

static const unsigned char *json_value(const unsigned char *p, const unsigned char *end,
                                       int depth)
{
    static const char *const words[] = {"null", "true", "false"};
    if (depth > 16)
        return NULL;
    p = json_ws(p, end);
    if (p == end)
        return NULL;
    if (*p == '"')
        return json_string(p, end, NULL, NULL);
    if (*p == '{' || *p == '[') {
        unsigned char close = *p == '{' ? '}' : ']';
        int object = *p == '{';
        p = json_ws(p + 1, end);
        if (p < end && *p == close)
            return p + 1;
        for (;;) {
            if (object) {
                p = json_string(json_ws(p, end), end, NULL, NULL);
                if (p == NULL)
                    return NULL;
                p = json_ws(p, end);
                if (p == end || *p != ':')
                    return NULL;
                p++;
            }
            p = json_value(p, end, depth + 1);
            if (p == NULL)
                return NULL;
            p = json_ws(p, end);
            if (p == end)
                return NULL;
            if (*p == close)
                return p + 1;
            if (*p != ',')
                return NULL;
            p++;
        }
    }
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        size_t k = strlen(words[i]);
        if ((size_t)(end - p) >= k && memcmp(p, words[i], k) == 0)
            return p + k;
    }
    return json_number(p, end);
}

/* The whole of s is one JSON value, in printable ASCII. */
static void check_json(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s, *end = p + n;
    for (size_t i = 0; i < n; i++)
        CHECK(p[i] >= 0x20 && p[i] < 0x7f);
    const unsigned char *after = json_value(p, end, 0);
    CHECK(after != NULL);
    CHECK(json_ws(after, end) == end);
}

/* ---- Python literals ------------------------------------------------------ */

/* Python picks ' unless the text holds ' and no ". */
static char python_quote(const unsigned char *p, size_t n)
{
    int single = memchr(p, '\'', n) != NULL, dbl = memchr(p, '"', n) != NULL;
    return single && !dbl ? '"' : '\'';
}

/* Decodes a Python literal as the renderers write it: a str ('...' or
 * "...", \udcXX standing for the byte XX, UTF-8 otherwise) or, with
 * bytes, a bytes literal (b'...' or b"...", ASCII only, no \u). Returns
 * the end of the literal, or NULL when it is not one. */
static const unsigned char *py_literal(const unsigned char *p, const unsigned char *end,
                                       int bytes, unsigned char *out, size_t *outlen)
{
    size_t n = 0;
    if (bytes && (end - p < 3 || *p++ != 'b'))
        return NULL;
    if (p == end || (*p != '\'' && *p != '"'))
        return NULL;
    unsigned char quote = *p++;
    while (p < end) {
        unsigned char c = *p;
        if (c == quote) {
            *outlen = n;
            return p + 1;
        }
        if (c < 0x20 || c == 0x7f || (bytes && c > 0x7f))
            return NULL;
        if (c != '\\') { /* as is: ASCII, or UTF-8 the renderer found safe */
            out[n++] = c;
            p++;
            continue;
        }
        if (p + 1 >= end)
            return NULL;
        unsigned char esc = p[1];
        p += 2;
        long cp;
        switch (esc) {
        case '\\': cp = '\\'; break;
        case '\'': cp = '\''; break;
        case '"': cp = '"'; break;
        case 't': cp = '\t'; break;
        case 'n': cp = '\n'; break;
        case 'r': cp = '\r'; break;
        case 'x':
            cp = hexnum(p, end, 2);
            p += 2;
            break;
        case 'u':
            if (bytes)
                return NULL;
            cp = hexnum(p, end, 4);
            p += 4;
            if (cp >= 0xdc80 && cp <= 0xdcff) {
                out[n++] = (unsigned char)(cp - 0xdc00);
                continue;
            }
            if (cp >= 0xd800 && cp <= 0xdfff)
                return NULL;
            break;
        default:
            return NULL;
        }
        if (cp < 0)
            return NULL;
        if (bytes)
            out[n++] = (unsigned char)cp;
        else
            n += utf8_put((uint32_t)cp, out + n);
    }
    return NULL;
}

/* ---- the renderers under test --------------------------------------------- */

static void r_pyaddr(struct ss_out *o, const struct subject *s)
{
    ss_out_pyaddr(o, (const struct sockaddr *)s->data, (socklen_t)s->size);
}

static void r_json_addr(struct ss_out *o, const struct subject *s)
{
    ss_out_json_addr(o, (const struct sockaddr *)s->data, (socklen_t)s->size);
}

static void r_pystr(struct ss_out *o, const struct subject *s)
{
    ss_out_pystr(o, (const char *)s->data, s->size);
}

static void r_json_str(struct ss_out *o, const struct subject *s)
{
    ss_out_json_str(o, (const char *)s->data, s->size);
}

static void r_json_text_member(struct ss_out *o, const struct subject *s)
{
    /* as an address has it: after the first member */
    ss_out_str(o, "{\"family\": 1");
    ss_out_json_text_member(o, "path", (const char *)s->data, s->size);
    ss_out_char(o, '}');
}

static void r_pybytes(struct ss_out *o, const struct subject *s)
{
    ss_out_pybytes(o, s->bytes);
}

static void r_pybytes_raw(struct ss_out *o, const struct subject *s)
{
    ss_out_pybytes_raw(o, s->data, s->size);
}

static void r_json_data_object(struct ss_out *o, const struct subject *s)
{
    /* as a line has it: inside an object */
    ss_out_str(o, "{\"data\": ");
    ss_out_json_data(o, s->bytes);
    ss_out_char(o, '}');
}

static void r_times(struct ss_out *o, const struct subject *s)
{
    uint64_t ns = 0;
    memcpy(&ns, s->data, s->size < sizeof ns ? s->size : sizeof ns);
    ss_out_clock(o, ns);
    ss_out_char(o, ' ');
    ss_out_iso8601(o, ns);
}

/* ---- checks ------------------------------------------------------------- */

static void check_address(const unsigned char *data, size_t size)
{
    struct subject s = {data, size, NULL};
    size_t n;
    char *py = render(r_pyaddr, &s, &n);
    CHECK(n > 0);
    check_terminal_safe(py, n);
    free(py);

    char *json = render(r_json_addr, &s, &n);
    check_json(json, n);
    CHECK(size < sizeof(sa_family_t) ? strcmp(json, "null") == 0 : json[0] == '{');
    free(json);
}

static int utf8_valid(const unsigned char *p, size_t n)
{
    uint32_t cp;
    for (size_t i = 0, len; i < n; i += len)
        if ((len = utf8_get(p + i, n - i, &cp)) == 0)
            return 0;
    return 1;
}

/* The length of the input with each byte that is not UTF-8 as U+FFFD (3
 * bytes): what a JSON string of it decodes to. */
static size_t replaced_length(const unsigned char *p, size_t n)
{
    size_t out = 0;
    uint32_t cp;
    for (size_t i = 0, len; i < n; i += len) {
        len = utf8_get(p + i, n - i, &cp);
        out += len == 0 ? 3 : len;
        len = len == 0 ? 1 : len;
    }
    return out;
}

/* "path" and, only when the bytes are not UTF-8, "path_hex" with exactly
 * them. */
static void check_text_member(const unsigned char *data, size_t size)
{
    struct subject s = {data, size, NULL};
    size_t n;
    char *json = render(r_json_text_member, &s, &n);
    check_json(json, n);
    const char *hex = strstr(json, "\"path_hex\": \"");
    CHECK((hex == NULL) == utf8_valid(data, size));
    if (hex != NULL) {
        hex += strlen("\"path_hex\": \"");
        for (size_t i = 0; i < size; i++)
            CHECK(hexnum((const unsigned char *)hex + 2 * i, (const unsigned char *)json + n,
                         2) == data[i]);
        CHECK(hex[2 * size] == '"');
    }
    free(json);
}

static void check_name(const unsigned char *data, size_t size)
{
    struct subject s = {data, size, NULL};
    size_t n, dn = 0;

    char *py = render(r_pystr, &s, &n);
    /* a literal never decodes to more bytes than it has */
    unsigned char *decoded = malloc(n + 1);
    CHECK(decoded != NULL);
    check_terminal_safe(py, n);
    const unsigned char *end = (const unsigned char *)py + n;
    CHECK(py[0] == python_quote(data, size));
    CHECK(py_literal((const unsigned char *)py, end, 0, decoded, &dn) == end);
    CHECK(dn == size && memcmp(decoded, data, size) == 0);
    free(py);

    free(decoded);

    char *json = render(r_json_str, &s, &n);
    check_json(json, n);
    decoded = malloc(n + 1);
    CHECK(decoded != NULL);
    end = (const unsigned char *)json + n;
    CHECK(json_string((const unsigned char *)json, end, decoded, &dn) == end);
    CHECK(dn == replaced_length(data, size));
    CHECK(!utf8_valid(data, size) || (dn == size && memcmp(decoded, data, size) == 0));
    free(decoded);
    free(json);

    check_text_member(data, size);
}

/* A bytes literal of the first shown bytes, "..." when cut, the size. */
static void check_pybytes(const char *py, size_t n, const unsigned char *data, size_t total,
                          size_t shown)
{
    const unsigned char *p = (const unsigned char *)py, *end = p + n, *after;
    size_t dn = 0;
    unsigned char *decoded = malloc(n + 1);
    CHECK(decoded != NULL);
    for (size_t i = 0; i < n; i++)
        CHECK(p[i] >= 0x20 && p[i] < 0x7f);
    CHECK(p[1] == python_quote(data, shown));
    after = py_literal(p, end, 1, decoded, &dn);
    CHECK(after != NULL);
    CHECK(dn == shown && memcmp(decoded, data, shown) == 0);
    char tail[64];
    snprintf(tail, sizeof tail, "%s (%zu byte%s)", shown < total ? "..." : "", total,
             total == 1 ? "" : "s");
    CHECK((size_t)(end - after) == strlen(tail) && memcmp(after, tail, strlen(tail)) == 0);
    free(decoded);
}

static void check_bytes(const unsigned char *data, size_t size)
{
    size_t n, dn = 0;
    struct subject s = {data, size, NULL};

    char *raw = render(r_pybytes_raw, &s, &n);
    unsigned char *decoded = malloc(n + size + 1); /* the literal, or a copy */
    CHECK(decoded != NULL);
    const unsigned char *end = (const unsigned char *)raw + n;
    CHECK(py_literal((const unsigned char *)raw, end, 1, decoded, &dn) == end);
    CHECK(dn == size && memcmp(decoded, data, size) == 0);
    free(raw);

    /* one buffer, and the same bytes in three iovecs of which the call
     * moved all, or only half */
    size_t a = size / 3, b = size - size / 3;
    struct iovec iov[3] = {{(void *)data, a}, {(void *)(data + a), b - a},
                           {(void *)(data + b), size - b}};
    struct ss_bytes one, three, half;
    ss_bytes_buf(&one, data, size);
    ss_bytes_iov(&three, iov, 3, size);
    ss_bytes_iov(&half, iov, 3, size / 2);
    const struct ss_bytes *all[] = {&one, &three, &half};

    unsigned strsizes[] = {0, 1, SS_STRSIZE_DEFAULT, (unsigned)(size / 2), SS_STRSIZE_MAX};
    for (size_t k = 0; k < sizeof all / sizeof all[0]; k++) {
        size_t total = all[k]->total;
        CHECK(ss_bytes_copy(all[k], decoded, size) == total);
        CHECK(memcmp(decoded, data, total) == 0);
        s.bytes = all[k];
        for (size_t i = 0; i < sizeof strsizes / sizeof strsizes[0]; i++) {
            fuzz_strsize = strsizes[i];
            size_t shown = total < strsizes[i] ? total : strsizes[i];
            char *py = render(r_pybytes, &s, &n);
            check_pybytes(py, n, data, total, shown);
            free(py);

            char *json = render(r_json_data_object, &s, &n);
            check_json(json, n);
            free(json);
        }
    }
    fuzz_strsize = SS_STRSIZE_DEFAULT;
    free(decoded);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exact size, aligned as malloc aligns: ASan sees any read past it */
    unsigned char *copy = malloc(size > 0 ? size : 1);
    if (copy == NULL)
        abort();
    memcpy(copy, data, size);

    check_address(copy, size);
    if (size == 0) { /* no address at all */
        struct subject none = {NULL, 0, NULL};
        size_t n;
        char *s = render(r_pyaddr, &none, &n);
        CHECK(strcmp(s, "None") == 0);
        free(s);
        s = render(r_json_addr, &none, &n);
        CHECK(strcmp(s, "null") == 0);
        free(s);
    }
    check_name(copy, size);
    check_bytes(copy, size);

    struct subject t = {copy, size, NULL};
    size_t n;
    char *times = render(r_times, &t, &n);
    for (size_t i = 0; i < n; i++)
        CHECK(times[i] >= 0x20 && times[i] < 0x7f);
    free(times);

    free(copy);
    return 0;
}
