/* sockshim: escaping, shared by the library and the command.
 *
 * The one implementation of how a trace shows bytes and names to a person
 * (Python bytes and str literals, names without quotes) and of JSON string
 * literals. The text trace, the JSON trace and `sockshim report` all call
 * these, so what reaches a terminal is escaped by the same rules whoever
 * prints it. Async-signal-safe: they only copy bytes into an ss_out.
 */
#include "escape.h"

#include <string.h>

/* ---- bytes ------------------------------------------------------------ */

void ss_bytes_buf(struct ss_bytes *b, const void *p, size_t len)
{
    b->one.iov_base = (void *)p;
    b->one.iov_len = len;
    b->iov = &b->one;
    b->iovcnt = p != NULL ? 1 : 0;
    b->total = len;
}

void ss_bytes_iov(struct ss_bytes *b, const struct iovec *iov, int iovcnt, size_t total)
{
    b->iov = iov;
    b->iovcnt = iov != NULL && iovcnt > 0 ? iovcnt : 0;
    b->total = total;
}

/* Walks the first n bytes of b, calling fn on each. */
void ss_bytes_each(const struct ss_bytes *b, size_t n, void (*fn)(void *, unsigned char),
                       void *ctx)
{
    size_t done = 0;
    for (int i = 0; i < b->iovcnt && done < n; i++) {
        const unsigned char *p = b->iov[i].iov_base;
        for (size_t j = 0; j < b->iov[i].iov_len && done < n && p != NULL; j++, done++)
            fn(ctx, p[j]);
    }
}

struct quotes_seen {
    int single, dbl;
};

static void note_quote(void *ctx, unsigned char c)
{
    struct quotes_seen *q = ctx;
    q->single |= c == '\'';
    q->dbl |= c == '"';
}

static const char hexd[] = "0123456789abcdef";

static void out_escaped_byte(struct ss_out *o, unsigned char c, char quote)
{
    switch (c) {
    case '\t':
        ss_out_str(o, "\\t");
        return;
    case '\n':
        ss_out_str(o, "\\n");
        return;
    case '\r':
        ss_out_str(o, "\\r");
        return;
    case '\\':
        ss_out_str(o, "\\\\");
        return;
    default:
        break;
    }
    if (quote != 0 && c == (unsigned char)quote) { /* quote 0: no quotes around */
        ss_out_char(o, '\\');
        ss_out_char(o, (char)c);
    } else if (c >= 0x20 && c < 0x7f) {
        ss_out_char(o, (char)c);
    } else {
        ss_out_str(o, "\\x");
        ss_out_char(o, hexd[c >> 4]);
        ss_out_char(o, hexd[c & 0xf]);
    }
}

/* Python picks single quotes unless the bytes hold ' and no ". */
static char python_quote(const struct ss_bytes *b, size_t n)
{
    struct quotes_seen q = {0, 0};
    ss_bytes_each(b, n, note_quote, &q);
    return q.single && !q.dbl ? '"' : '\'';
}

/* Bytes that stand for themselves in a literal quoted with quote. */
static int literal_plain(unsigned char c, char quote)
{
    return c >= 0x20 && c < 0x7f && c != '\\' && c != (unsigned char)quote;
}

void ss_out_bytes_literal(struct ss_out *o, const struct ss_bytes *b, size_t shown)
{
    char quote = python_quote(b, shown);
    ss_out_char(o, 'b');
    ss_out_char(o, quote);
    size_t done = 0;
    for (int i = 0; i < b->iovcnt && done < shown; i++) {
        const unsigned char *p = b->iov[i].iov_base;
        size_t n = b->iov[i].iov_len < shown - done ? b->iov[i].iov_len : shown - done;
        for (size_t j = 0; p != NULL && j < n;) {
            size_t run = j;
            while (run < n && literal_plain(p[run], quote))
                run++;
            if (run > j) {
                ss_out_mem(o, p + j, run - j);
                j = run;
            } else {
                out_escaped_byte(o, p[j], quote);
                j++;
            }
        }
        done += n;
    }
    ss_out_char(o, quote);
}

void ss_out_pybytes_raw(struct ss_out *o, const void *p, size_t n)
{
    struct ss_bytes b;
    ss_bytes_buf(&b, p, n);
    ss_out_bytes_literal(o, &b, n);
}

/* ---- UTF-8, for names that are shown as text -------------------------- */

/* Length of the valid UTF-8 sequence at p (1..4) with its code point, or 0
 * when the bytes there are not valid UTF-8. */
size_t ss_utf8_next(const unsigned char *p, size_t n, uint32_t *cp)
{
    if (p[0] < 0x80) {
        *cp = p[0];
        return 1;
    }
    size_t len;
    uint32_t min, v;
    if ((p[0] & 0xe0) == 0xc0) {
        len = 2, min = 0x80, v = p[0] & 0x1f;
    } else if ((p[0] & 0xf0) == 0xe0) {
        len = 3, min = 0x800, v = p[0] & 0x0f;
    } else if ((p[0] & 0xf8) == 0xf0) {
        len = 4, min = 0x10000, v = p[0] & 0x07;
    } else {
        return 0;
    }
    if (n < len)
        return 0;
    for (size_t i = 1; i < len; i++) {
        if ((p[i] & 0xc0) != 0x80)
            return 0;
        v = v << 6 | (p[i] & 0x3f);
    }
    if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
        return 0;
    *cp = v;
    return len;
}

/* Code points a terminal would act on rather than show: C0/C1 controls and
 * the invisible formatting characters (bidi overrides, zero widths). */
static int unsafe_codepoint(uint32_t cp)
{
    return cp < 0x20 || (cp >= 0x7f && cp < 0xa0) || cp == 0xad || cp == 0x61c ||
           cp == 0x180e || (cp >= 0x200b && cp <= 0x200f) || (cp >= 0x2028 && cp <= 0x202e) ||
           (cp >= 0x2060 && cp <= 0x206f) || cp == 0xfeff || (cp >= 0xfff9 && cp <= 0xfffb);
}

static void out_u_escape(struct ss_out *o, const char *prefix, uint32_t v, int digits)
{
    ss_out_str(o, prefix);
    for (int shift = (digits - 1) * 4; shift >= 0; shift -= 4)
        ss_out_char(o, hexd[(v >> shift) & 0xf]);
}

/* The inside of a Python str literal quoted with quote (0: none). */
static void out_str_body(struct ss_out *o, const unsigned char *p, size_t n, char quote)
{
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = ss_utf8_next(p + i, n - i, &cp);
        if (len == 0) { /* what os.fsdecode makes of a byte that is not UTF-8 */
            out_u_escape(o, "\\udc", p[i], 2);
            i++;
        } else if (cp < 0x80) {
            out_escaped_byte(o, (unsigned char)cp, quote);
            i++;
        } else if (unsafe_codepoint(cp)) {
            if (cp < 0x100)
                out_u_escape(o, "\\x", cp, 2);
            else
                out_u_escape(o, "\\u", cp, 4);
            i += len;
        } else {
            ss_out_mem(o, p + i, len);
            i += len;
        }
    }
}

void ss_out_pystr(struct ss_out *o, const char *s, size_t n)
{
    int has_single = memchr(s, '\'', n) != NULL, has_double = memchr(s, '"', n) != NULL;
    char quote = has_single && !has_double ? '"' : '\'';
    ss_out_char(o, quote);
    out_str_body(o, (const unsigned char *)s, n, quote);
    ss_out_char(o, quote);
}

void ss_out_safe(struct ss_out *o, const char *s)
{
    out_str_body(o, (const unsigned char *)s, strlen(s), 0);
}

void ss_out_safe_n(struct ss_out *o, const char *s, size_t n)
{
    out_str_body(o, (const unsigned char *)s, n, 0);
}

void ss_out_utf8_replaced(struct ss_out *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    for (size_t i = 0; i < n;) {
        uint32_t cp;
        size_t len = ss_utf8_next(p + i, n - i, &cp);
        if (len == 0) {
            ss_out_str(o, "\xef\xbf\xbd"); /* U+FFFD */
            i++;
        } else {
            ss_out_mem(o, p + i, len);
            i += len;
        }
    }
}

int ss_utf8_valid(const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    uint32_t cp;
    for (size_t i = 0, len; i < n; i += len)
        if ((len = ss_utf8_next(p + i, n - i, &cp)) == 0)
            return 0;
    return 1;
}

static int json_plain(unsigned char c)
{
    return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

void ss_out_json_str(struct ss_out *o, const char *s, size_t n)
{
    const unsigned char *p = (const unsigned char *)s;
    ss_out_char(o, '"');
    for (size_t i = 0; i < n;) {
        size_t run = i;
        while (run < n && json_plain(p[run]))
            run++;
        if (run > i) { /* most strings are plain: copied at once */
            ss_out_mem(o, p + i, run - i);
            i = run;
            continue;
        }
        uint32_t cp;
        size_t len = ss_utf8_next(p + i, n - i, &cp);
        if (len == 0) { /* the exact bytes go in the _hex member beside */
            out_u_escape(o, "\\u", 0xfffd, 4);
            i++;
            continue;
        }
        i += len;
        if (cp == '"' || cp == '\\') {
            ss_out_char(o, '\\');
            ss_out_char(o, (char)cp);
        } else if (cp >= 0x20 && cp < 0x7f) {
            ss_out_char(o, (char)cp);
        } else if (cp == '\n') {
            ss_out_str(o, "\\n");
        } else if (cp == '\t') {
            ss_out_str(o, "\\t");
        } else if (cp == '\r') {
            ss_out_str(o, "\\r");
        } else if (cp < 0x10000) {
            out_u_escape(o, "\\u", cp, 4);
        } else { /* a surrogate pair */
            uint32_t v = cp - 0x10000;
            out_u_escape(o, "\\u", 0xd800 + (v >> 10), 4);
            out_u_escape(o, "\\u", 0xdc00 + (v & 0x3ff), 4);
        }
    }
    ss_out_char(o, '"');
}

void ss_out_json_cstr(struct ss_out *o, const char *s)
{
    ss_out_json_str(o, s, strlen(s));
}
