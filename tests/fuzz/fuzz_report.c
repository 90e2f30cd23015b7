/* libFuzzer harness: `sockshim report`'s reading of trace records
 * (tools/sockshim/report.c), the part that takes what strangers wrote.
 *
 * The input is a trace: its lines go one by one to ss_report_line() (no
 * file: a line is the bytes up to a newline, or the rest), then the tables
 * are printed (processes, clocks, methods, connections, the connection
 * table, sockets) into memory, and the timeline's two views (--perfetto,
 * --html) are written to /dev/null. The
 * sanitizers watch the checks, the saturating sums, the hash tables and the
 * escaping; the harness checks that a refused line says why, that the
 * reason is one line of printable text, and that what is printed holds no
 * control character but newlines.
 *
 * The same lines go to a second report that keeps no calls (what `sockshim
 * report` without a view does): unless a second host made it give up, its
 * timeline holds no call and its tables are the first's, byte for byte.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "report.h"
#include "timeline.h"

static void check_printable(const char *s, size_t n, int newlines)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        CHECK((c >= 0x20 && c != 0x7f) || (newlines && c == '\n'));
    }
}

static char *tables_of(struct ss_report *r, size_t *len)
{
    char *out = NULL;
    FILE *f = open_memstream(&out, len);
    CHECK(f != NULL);
    ss_report_print_tables(r, f);
    CHECK(fclose(f) == 0);
    return out;
}

/* The report without the calls: the same tables, and no call kept. */
static void check_without_calls(struct ss_report *q, const char *out, size_t outlen)
{
    if (ss_report_needs_calls(q))
        return;
    size_t len = 0;
    char *tables = tables_of(q, &len);
    CHECK(len == outlen && memcmp(tables, out, len) == 0);
    free(tables);
    struct tl_view v;
    ss_tl_view(ss_report_timeline(q), &v);
    CHECK(v.ncalls == 0 && v.nfindings == 0 && v.nflows == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ss_report *r = ss_report_new(), *q = ss_report_new();
    ss_report_keep_text(r, 1);
    ss_report_keep_calls(q, 0);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char why[640] = "", why_q[640] = "";
        int took = ss_report_line(r, p, len, why, sizeof why);
        if (took != 0) {
            CHECK(why[0] != '\0');
            check_printable(why, strlen(why), 0);
        }
        if (!ss_report_needs_calls(q))
            CHECK(ss_report_line(q, p, len, why_q, sizeof why_q) == took &&
                  strcmp(why, why_q) == 0);
        p += len;
    }
    size_t outlen = 0;
    char *out = tables_of(r, &outlen);
    /* UTF-8 above 0x7f may stand for itself (a name in another script);
     * controls, C1 as UTF-8 included, are escaped */
    for (size_t i = 0; i < outlen; i++)
        CHECK((unsigned char)out[i] >= 0x20 || out[i] == '\n');
    CHECK(memmem(out, outlen, "\xc2\x85", 2) == NULL && memmem(out, outlen, "\xe2\x80\xae", 3) == NULL);
    check_without_calls(q, out, outlen);
    free(out);
    ss_report_write_perfetto(ss_report_timeline(r), "/dev/null");
    ss_report_write_html(ss_report_timeline(r), "/dev/null", "fuzz");
    ss_report_free(r);
    ss_report_free(q);
    return 0;
}
