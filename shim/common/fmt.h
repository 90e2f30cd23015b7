/* sockshim: formatting into a caller's buffer, async-signal-safe.
 *
 * stdio's printf family may lock, allocate or consult the locale, none of
 * which is allowed inside a signal handler, a vforked child or malloc. These
 * helpers only copy bytes. An ss_out counts every byte it was asked to write,
 * also past its capacity, so a caller learns the length a line needs and can
 * render it again into a larger buffer (snprintf's contract).
 */
#ifndef SOCKSHIM_FMT_H
#define SOCKSHIM_FMT_H

#include <stddef.h>
#include <stdint.h>

struct ss_out {
    char *buf;
    size_t cap;
    size_t len; /* bytes asked for; those below cap are in buf */
    int json_first; /* a JSON object was just opened: no comma before its first member */
};

static inline void ss_out_init(struct ss_out *o, char *buf, size_t cap)
{
    o->buf = buf;
    o->cap = cap;
    o->len = 0;
    o->json_first = 0;
}

static inline int ss_out_overflowed(const struct ss_out *o)
{
    return o->len > o->cap;
}

void ss_out_mem_slow(struct ss_out *o, const void *p, size_t n);

/* The common case (room left) inline: a trace line is mostly short
 * pieces. */
static inline void ss_out_char(struct ss_out *o, char c)
{
    if (o->len < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

static inline void ss_out_mem(struct ss_out *o, const void *p, size_t n)
{
    if (n <= o->cap - o->len && o->len <= o->cap) {
        __builtin_memcpy(o->buf + o->len, p, n);
        o->len += n;
    } else {
        ss_out_mem_slow(o, p, n);
    }
}

static inline void ss_out_str(struct ss_out *o, const char *s)
{
    ss_out_mem(o, s, __builtin_strlen(s));
}
void ss_out_u64(struct ss_out *o, uint64_t v);
void ss_out_i64(struct ss_out *o, int64_t v);
void ss_out_hex(struct ss_out *o, uint64_t v);             /* 0x1f */
void ss_out_u64_width(struct ss_out *o, uint64_t v, int width); /* zero-padded */
void ss_out_hexbytes(struct ss_out *o, const void *p, size_t n); /* "0a1f" */

/* A byte as a message quotes it: itself when printable ASCII, else \xNN.
 * Returns the columns it took (1 or 4). */
size_t ss_out_shown_byte(struct ss_out *o, unsigned char c);
/* The n bytes at s so, into buf (cap bytes, NUL-terminated), as many as
 * fit whole; returns buf. */
const char *ss_shown(const char *s, size_t n, char *buf, size_t cap);
/* s into dst (cap bytes, cap > 0), cut to fit, always NUL-terminated. */
void ss_copy_cut(char *dst, size_t cap, const char *s);

/* The bytes of n hex digits at s ("0a1f", either case) into out (n / 2
 * bytes); -1 when n is odd or a character is not a hex digit. */
int ss_parse_hexbytes(const char *s, size_t n, unsigned char *out);

/* Parse a decimal number with nothing else around it; 0 on success. */
int ss_parse_u64(const char *s, uint64_t max, uint64_t *out);
/* A byte count, the n bytes at s: 4096, 4k, 4K, 4KiB, 1m, 1M, 1MiB, 2g,
 * 2G, 2GiB (powers of 1024), at most 2^63 - 1; 0 on success. */
int ss_parse_byte_count(const char *s, size_t n, uint64_t *out);

#endif
