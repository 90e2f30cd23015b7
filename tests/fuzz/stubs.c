/* What shim/record/render_{bytes,addr,line}.c need of the rest of the library, for
 * fuzz_render: a config with a strsize the harness sets, a sink that is
 * never enabled, a fixed identity and clock, an audit that saw nothing.
 * (When they come to need another symbol of the library, the
 * link of fuzz_render says which: add its stub here.) The renderers of whole lines
 * (render_text.c, render_json.c) are not linked: their entry points abort,
 * since the harness never renders a whole call. */
#include <stdlib.h>

#include "audit.h"
#include "internal.h"
#include "ledger.h"
#include "render.h"
#include "sink.h"

struct ss_config ss_config = {
    .format = SS_FORMAT_TEXT,
    .strsize = SS_STRSIZE_DEFAULT,
    .traced = SS_OPMASK_ALL,
    .output_fd = {.fd = -1},
    .summary = SS_SUMMARY_OFF,
};

_Atomic int ss_lib_state = SS_LIB_PASSTHROUGH;

int ss_sink_enabled(void)
{
    return 0;
}

void ss_sink_emit(const char *line, size_t len)
{
    (void)line;
    (void)len;
}

uint64_t ss_now_ns(void)
{
    return 1764115200123456789ull; /* 2025-11-26T00:00:00.123456789Z */
}

long ss_utc_offset_s(void)
{
    return 3600;
}

pid_t ss_pid(void)
{
    return 4242;
}

pid_t ss_tid(void)
{
    return 4243;
}

int ss_multithreaded(void)
{
    return 0;
}

int ss_audit_saw_calls(void)
{
    return 0;
}

int ss_audit_touched_socket(void)
{
    return 0;
}

/* ---- whole lines: never rendered by the harness ------------------------ */

void ss_text_call(struct ss_out *o, const struct ss_call *c)
{
    abort();
}

void ss_json_call(struct ss_out *o, const struct ss_call *c)
{
    abort();
}

void ss_text_start(struct ss_out *o, uint64_t now_ns)
{
    abort();
}

void ss_json_start(struct ss_out *o, uint64_t now_ns)
{
    abort();
}

void ss_json_loop(struct ss_out *o, const struct ss_call *c)
{
    abort();
}

void ss_text_note(struct ss_out *o, const struct ss_call *c)
{
    abort();
}

void ss_json_note(struct ss_out *o, const struct ss_call *c)
{
    abort();
}

void ss_text_finding(struct ss_out *o, int index)
{
    abort();
}

void ss_json_finding(struct ss_out *o, int index)
{
    abort();
}

void ss_text_summary(struct ss_out *o, uint64_t now_ns)
{
    abort();
}

void ss_json_summary(struct ss_out *o, uint64_t now_ns)
{
    abort();
}

void ss_text_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns)
{
    abort();
}

void ss_json_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns)
{
    abort();
}

void ss_ledger_name(void)
{
    abort();
}
