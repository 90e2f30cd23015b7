/* fuzz_rawfile: `sockshim render` (tools/sockshim/render_file.c) over a
 * record file anyone could have written.
 *
 * The input is the file, rendered as text and then as JSON, its capture
 * events to a capture written to /dev/null. The reader must take any
 * bytes without reading or writing outside its buffers, and say what is
 * wrong with a file it refuses in one line of printable text; a file it
 * accepts says nothing. Seeds: tests/fuzz/corpus/rawfile, and a record
 * file of a real run that tools/check makes (a call record holds the
 * build's struct ss_call).
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fuzz.h"
#include "pcap.h"
#include "render_file.h"

static FILE *sink;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    sink = fopen("/dev/null", "we");
    CHECK(sink != NULL);
    int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    CHECK(fd >= 0 && ss_pcap_open("/dev/null", fd) == 0);
    return 0;
}

static void check_why(const char *why)
{
    CHECK(why[0] != '\0');
    for (const char *p = why; *p != '\0'; p++)
        CHECK(*p >= 0x20 && *p < 0x7f);
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    if (n == 0)
        return 0;
    int verdict = 0;
    for (int json = 0; json < 2; json++) {
        FILE *f = fmemopen((void *)in, n, "r");
        CHECK(f != NULL);
        char why[512];
        unsigned long captured;
        int got = ss_raw_render(f, "fuzz", sink, json, &captured, why, sizeof why);
        fclose(f);
        CHECK(got >= -1 && got <= 1);
        if (got != 0)
            check_why(why);
        else
            CHECK(why[0] == '\0');
        /* both renderings read the same frames: they agree on the file */
        CHECK(json == 0 || got == verdict);
        verdict = got;
    }
    return 0;
}
