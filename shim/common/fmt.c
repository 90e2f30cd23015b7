/* sockshim: formatting into a caller's buffer, async-signal-safe. */
#include "fmt.h"

#include <string.h>

void ss_out_mem_slow(struct ss_out *o, const void *p, size_t n)
{
    if (o->len < o->cap) {
        size_t room = o->cap - o->len;
        memcpy(o->buf + o->len, p, n < room ? n : room);
    }
    o->len += n;
}

/* Two digits a division: a trace line holds a few dozen numbers. */
static const char digit_pairs[] = "00010203040506070809101112131415161718192021222324"
                                  "25262728293031323334353637383940414243444546474849"
                                  "50515253545556575859606162636465666768697071727374"
                                  "75767778798081828384858687888990919293949596979899";

static const uint64_t powers_of_ten[20] = {
    1ull, 10ull, 100ull, 1000ull, 10000ull, 100000ull, 1000000ull, 10000000ull,
    100000000ull, 1000000000ull, 10000000000ull, 100000000000ull, 1000000000000ull,
    10000000000000ull, 100000000000000ull, 1000000000000000ull, 10000000000000000ull,
    100000000000000000ull, 1000000000000000000ull, 10000000000000000000ull,
};

/* The number of decimal digits of v without a loop: log10 from the bit
 * length (1233/4096 is just above log10(2)), corrected by one compare. */
static int decimal_digits(uint64_t v)
{
    v |= 1; /* 0 has one digit; the low bit never changes the count */
    int bits = 64 - __builtin_clzll(v);
    int guess = (bits * 1233) >> 12; /* digits - 1 or digits */
    return guess + (v >= powers_of_ten[guess]);
}

/* Writes v in exactly n characters ending at end (zero-padded). */
static void digits_backwards(char *end, uint64_t v, int n)
{
    char *p = end;
    while (v >= 100) {
        unsigned pair = (unsigned)(v % 100);
        v /= 100;
        p -= 2;
        p[0] = digit_pairs[2 * pair];
        p[1] = digit_pairs[2 * pair + 1];
    }
    if (v >= 10) {
        p -= 2;
        p[0] = digit_pairs[2 * v];
        p[1] = digit_pairs[2 * v + 1];
    } else {
        *--p = (char)('0' + v);
    }
    while (p > end - n)
        *--p = '0';
}

void ss_out_u64_width(struct ss_out *o, uint64_t v, int width)
{
    int n = decimal_digits(v);
    if (width > 20)
        width = 20;
    if (n < width)
        n = width;
    if (o->len <= o->cap && (size_t)n <= o->cap - o->len) {
        /* straight into the line: the common case */
        digits_backwards(o->buf + o->len + n, v, n);
        o->len += (size_t)n;
        return;
    }
    char digits[20];
    digits_backwards(digits + n, v, n);
    ss_out_mem_slow(o, digits, (size_t)n);
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

size_t ss_out_shown_byte(struct ss_out *o, unsigned char c)
{
    if (c >= 0x20 && c < 0x7f) {
        ss_out_char(o, (char)c);
        return 1;
    }
    ss_out_str(o, "\\x");
    ss_out_hexbytes(o, &c, 1);
    return 4;
}

const char *ss_shown(const char *s, size_t n, char *buf, size_t cap)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap);
    for (size_t i = 0; i < n && o.len + 5 < cap; i++)
        (void)ss_out_shown_byte(&o, (unsigned char)s[i]);
    buf[o.len < cap ? o.len : cap - 1] = '\0';
    return buf;
}

void ss_copy_cut(char *dst, size_t cap, const char *s)
{
    size_t n = strlen(s);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

int ss_parse_hexbytes(const char *s, size_t n, unsigned char *out)
{
    if (n % 2 != 0)
        return -1;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_value(s[i]), lo = hex_value(s[i + 1]);
        if (hi < 0 || lo < 0)
            return -1;
        out[i / 2] = (unsigned char)(hi << 4 | lo);
    }
    return 0;
}

int ss_parse_byte_count(const char *s, size_t n, uint64_t *out)
{
    static const struct {
        const char *suffix;
        unsigned shift;
    } suffixes[] = {{"", 0},    {"k", 10},   {"K", 10},   {"KiB", 10}, {"m", 20},
                    {"M", 20},  {"MiB", 20}, {"g", 30},   {"G", 30},   {"GiB", 30}};
    size_t digits = 0;
    while (digits < n && s[digits] >= '0' && s[digits] <= '9')
        digits++;
    char number[24];
    if (digits == 0 || digits >= sizeof number)
        return -1;
    memcpy(number, s, digits);
    number[digits] = '\0';
    for (size_t i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
        size_t len = strlen(suffixes[i].suffix);
        uint64_t v;
        if (len != n - digits || memcmp(s + digits, suffixes[i].suffix, len) != 0)
            continue;
        if (ss_parse_u64(number, UINT64_MAX >> suffixes[i].shift >> 1, &v) != 0)
            return -1;
        *out = v << suffixes[i].shift;
        return 0;
    }
    return -1;
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
