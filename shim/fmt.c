/* sockshim: formatting into a caller's buffer, async-signal-safe. */
#include "fmt.h"

#include <string.h>

void ss_out_char(struct ss_out *o, char c)
{
    if (o->len < o->cap)
        o->buf[o->len] = c;
    o->len++;
}

void ss_out_mem(struct ss_out *o, const void *p, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, p, n < room ? n : room);
    }
    o->len += n;
}

void ss_out_str(struct ss_out *o, const char *s)
{
    ss_out_mem(o, s, strlen(s));
}

void ss_out_u64_width(struct ss_out *o, uint64_t v, int width)
{
    char digits[24];
    int n = sizeof digits;
    do {
        digits[--n] = (char)('0' + v % 10);
        v /= 10;
    } while (v != 0);
    while ((int)sizeof digits - n < width && n > 0)
        digits[--n] = '0';
    ss_out_mem(o, digits + n, sizeof digits - (size_t)n);
}

void ss_out_u64(struct ss_out *o, uint64_t v)
{
    ss_out_u64_width(o, v, 1);
}

void ss_out_i64(struct ss_out *o, int64_t v)
{
    if (v < 0) {
        ss_out_char(o, '-');
        /* -(v + 1) + 1 avoids overflow at INT64_MIN */
        ss_out_u64(o, (uint64_t)(-(v + 1)) + 1u);
    } else {
        ss_out_u64(o, (uint64_t)v);
    }
}

static const char hex_digits[] = "0123456789abcdef";

void ss_out_hex(struct ss_out *o, uint64_t v)
{
    char digits[16];
    int n = 0;
    do {
        digits[n++] = hex_digits[v & 0xf];
        v >>= 4;
    } while (v != 0);
    ss_out_str(o, "0x");
    while (n > 0)
        ss_out_char(o, digits[--n]);
}

void ss_out_hexbytes(struct ss_out *o, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        ss_out_char(o, hex_digits[b[i] >> 4]);
        ss_out_char(o, hex_digits[b[i] & 0xf]);
    }
}

int ss_parse_u64(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;
    if (s == NULL || *s == '\0')
        return -1;
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9')
            return -1;
        unsigned d = (unsigned)(*s - '0');
        if (v > (max - d) / 10)
            return -1;
        v = v * 10 + d;
    }
    *out = v;
    return 0;
}
