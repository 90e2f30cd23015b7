/* sockshim: escaping, shared by the library and the command (escape.c).
 *
 * One set of rules for every string a person reads: the text trace, the
 * JSON trace's string literals, and what `sockshim report` prints of a
 * trace. No control character, bidirectional-formatting character,
 * newline or byte that is not UTF-8 leaves these functions raw.
 */
#ifndef SOCKSHIM_ESCAPE_H
#define SOCKSHIM_ESCAPE_H

#include <stddef.h>
#include <stdint.h>
#include <sys/uio.h>

#include "fmt.h"

/* Bytes spread over iovecs: a single buffer is one iovec. total is how many
 * bytes the call transferred or was asked to (the iovecs may hold more, or
 * fewer: a recv with MSG_TRUNC returns a datagram's whole length). */
struct ss_bytes {
    const struct iovec *iov;
    int iovcnt;
    struct iovec one;
    size_t total;
};

void ss_bytes_buf(struct ss_bytes *b, const void *p, size_t len);
void ss_bytes_iov(struct ss_bytes *b, const struct iovec *iov, int iovcnt, size_t total);
/* Calls fn on each of the first n bytes of b. */
void ss_bytes_each(const struct ss_bytes *b, size_t n, void (*fn)(void *, unsigned char),
                   void *ctx);

/* Python's bytes literal of the first shown bytes of b (b'...' with
 * Python's escapes and quote choice), no size. */
void ss_out_bytes_literal(struct ss_out *o, const struct ss_bytes *b, size_t shown);
/* The literal of p[0..n) (ancillary data, option values, abstract names). */
void ss_out_pybytes_raw(struct ss_out *o, const void *p, size_t n);
/* Python str repr of bytes taken as a file-system name ('/tmp/x'): bytes
 * that are not UTF-8 as \udcNN (os.fsdecode), control and bidi characters
 * escaped. */
void ss_out_pystr(struct ss_out *o, const char *p, size_t n);
/* A name written without quotes (a module, a symbol, a message), escaped
 * as inside a Python str literal: no control or bidi character, newline or
 * invalid UTF-8 reaches the output raw. */
void ss_out_safe(struct ss_out *o, const char *s);
void ss_out_safe_n(struct ss_out *o, const char *s, size_t n);

/* Length of the valid UTF-8 sequence at p (1..4) with its code point, or 0
 * when the bytes there are not valid UTF-8. */
size_t ss_utf8_next(const unsigned char *p, size_t n, uint32_t *cp);
/* p[0..n) as valid UTF-8 (not escaped): each byte that is not UTF-8
 * becomes U+FFFD, as in the JSON trace's strings. For writers that hand
 * strings to a JSON library (the command's own records). */
void ss_out_utf8_replaced(struct ss_out *o, const char *p, size_t n);
/* Whether p[0..n) is valid UTF-8 as a whole. */
int ss_utf8_valid(const char *p, size_t n);

/* JSON: a string literal in plain ASCII (non-ASCII as \u escapes). A byte
 * that is not UTF-8 becomes U+FFFD: every JSON parser takes the line (lone
 * surrogates are refused by jansson and mangled by jq), and the writer
 * puts the exact bytes beside the string (ss_out_json_text_member in
 * render_addr.c; docs/trace-format.md, "Strings"). */
void ss_out_json_str(struct ss_out *o, const char *p, size_t n);
void ss_out_json_cstr(struct ss_out *o, const char *s);

/* The member that carries a string's exact bytes, in hex, when they are
 * not UTF-8: "path" has "path_hex" beside it. Writer and readers (report,
 * the Python module) take the suffix from here. */
#define SS_JSON_HEX_SUFFIX "_hex"

#endif
