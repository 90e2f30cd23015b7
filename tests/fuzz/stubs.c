/* The render environment (shim/common/render_call.h) for the harnesses that
 * link shim/common/ without the library or the command: a fixed identity
 * and time zone, and the strsize and rule text a harness sets; and the
 * renderers' check at every buffer size. */
#include "stubs.h"

#include <stdlib.h>
#include <string.h>

#include "fuzz.h"

size_t fuzz_strsize = SS_STRSIZE_DEFAULT;
const char *fuzz_rule_text = "";

int ss_render_pid(void)
{
    return 4242;
}

int ss_render_tid(void)
{
    return 4243;
}

int ss_render_multithreaded(void)
{
    return 0;
}

long ss_render_utc_offset_s(void)
{
    return 3600;
}

size_t ss_render_strsize(void)
{
    return fuzz_strsize;
}

const char *ss_render_rule_text(const struct ss_call *c)
{
    (void)c;
    return fuzz_rule_text;
}

char *fuzz_render_sizes(fuzz_render_fn *fn, const void *arg, size_t *len)
{
    struct ss_out o;
    char probe = 'x';
    ss_out_init(&o, &probe, 0);
    fn(&o, arg);
    CHECK(probe == 'x');
    size_t need = o.len;

    char *full = malloc(need + 1);
    CHECK(full != NULL);
    ss_out_init(&o, full, need);
    fn(&o, arg);
    CHECK(o.len == need);
    CHECK(!ss_out_overflowed(&o));
    full[need] = '\0';

    size_t caps[] = {0, 1, 7, need > 0 ? need - 1 : 0};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        size_t cap = caps[i];
        char *buf = malloc(cap);
        CHECK(buf != NULL || cap == 0);
        ss_out_init(&o, buf, cap);
        fn(&o, arg);
        CHECK(o.len == need);
        CHECK(ss_out_overflowed(&o) == (need > cap));
        CHECK(cap == 0 || memcmp(buf, full, need < cap ? need : cap) == 0);
        free(buf);
    }
    *len = need;
    return full;
}
