/* The render environment (shim/common/render_call.h) for the harnesses that
 * link shim/common/ without the library or the command: a fixed identity
 * and time zone, and the strsize and rule text a harness sets. */
#include "stubs.h"

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
