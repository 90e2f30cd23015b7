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
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "report.h"

static void check_printable(const char *s, size_t n, int newlines)
{
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)s[i];
        CHECK((c >= 0x20 && c != 0x7f) || (newlines && c == '\n'));
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct ss_report *r = ss_report_new();
    ss_report_keep_text(r, 1);
    const char *p = (const char *)data, *end = p + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        char why[640] = "";
        if (ss_report_line(r, p, len, why, sizeof why) != 0) {
            CHECK(why[0] != '\0');
            check_printable(why, strlen(why), 0);
        }
        p += len;
    }
    char *out = NULL;
    size_t outlen = 0;
    FILE *f = open_memstream(&out, &outlen);
    CHECK(f != NULL);
    ss_report_print_tables(r, f);
    CHECK(fclose(f) == 0);
    /* UTF-8 above 0x7f may stand for itself (a name in another script);
     * controls, C1 as UTF-8 included, are escaped */
    for (size_t i = 0; i < outlen; i++)
        CHECK((unsigned char)out[i] >= 0x20 || out[i] == '\n');
    CHECK(memmem(out, outlen, "\xc2\x85", 2) == NULL && memmem(out, outlen, "\xe2\x80\xae", 3) == NULL);
    free(out);
    ss_report_write_perfetto(ss_report_timeline(r), "/dev/null");
    ss_report_write_html(ss_report_timeline(r), "/dev/null", "fuzz");
    ss_report_free(r);
    return 0;
}
