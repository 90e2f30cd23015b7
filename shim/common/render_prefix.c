/* sockshim: the pieces every line starts with: its time, fd names. */
#include "render_call.h"

#include <stddef.h>

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
        int64_t secs = (int64_t)second + ss_render_utc_offset_s();
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
