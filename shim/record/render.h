/* sockshim: turning a call record into a trace line.
 *
 * Renderers only read: the call record and the snapshots the pipeline took.
 * render_text.c speaks object semantics for people, render_json.c one JSON
 * object a line for machines; render_addr.c, render_bytes.c and render_line.c
 * hold what both need (addresses, bytes, time) and pick the buffer a line
 * is built in.
 */
#ifndef SOCKSHIM_RENDER_H
#define SOCKSHIM_RENDER_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "render_call.h"

/* The formats a line is rendered in: one, or both for a record file
 * (--format=raw). */
#define SS_RENDER_TEXT 1u
#define SS_RENDER_JSON 2u
/* In a record file, the formats the thread's next calls show in (0: the
 * configured ones): trace.c renders a loop's calls for each on its own.
 * Returns what it was. */
unsigned ss_render_calls_in(unsigned formats);

/* Whether a socket's snapshot asks for the addresses not known yet
 * (ss_model_snapshot's want_names): JSON shows them, and a record file may
 * be rendered as JSON. */
int ss_render_wants_names(void);

/* Renders a completed call in the configured format and emits it. */
void ss_render_call(const struct ss_call *c);
/* A loop rebuilt from several calls (JSON: a record of its own). */
void ss_render_loop(const struct ss_call *c);
/* What the fault engine has to say of rule c->fault_note, once per rule and
 * process, after the call's line: no real event fits it on this call, or
 * its short= left this call's socket whole ("# note: fault #1 on sock4:
 * ..."). */
void ss_render_note(const struct ss_call *c);
/* Rule number took effect in the process (added) or stopped (docs/control.md). */
void ss_render_rule_change(int number, int added);
/* "# tracing paused", or "# tracing resumed" with the calls not written
 * meanwhile (trace.h, ss_trace_pause). */
void ss_render_tracing_change(int paused, uint64_t not_written);
/* A finding of the audit (index in its table), and the summary at exit. */
void ss_render_finding(int index);
void ss_render_summary(void);
/* An exec whose summary was written failed with err (ending.h). */
void ss_render_exec_failed(const char *program, int err);
/* A new process (or a forked child): its header comes before its first
 * line. */
void ss_render_process_start(void);

/* The process's own lines, rendered in the library. */
void ss_text_start(struct ss_out *o, uint64_t now_ns);
void ss_json_start(struct ss_out *o, uint64_t now_ns);
/* Why short= leaves a socket that is not a stream whole. */

#define SS_NOTE_SHORT_SKIPPED_REASON "the kernel moves their messages whole"
#define SS_NOTE_DATAGRAM_SKIPPED_REASON                                                         \
    "a connection delivers what it carries once and in order, or breaks"
void ss_text_note(struct ss_out *o, const struct ss_call *c);
void ss_json_note(struct ss_out *o, const struct ss_call *c);
void ss_text_rule_change(struct ss_out *o, int number, int added, uint64_t now_ns);
void ss_json_rule_change(struct ss_out *o, int number, int added, uint64_t now_ns);
void ss_text_tracing_change(struct ss_out *o, int paused, uint64_t not_written, uint64_t now_ns);
void ss_json_tracing_change(struct ss_out *o, int paused, uint64_t not_written, uint64_t now_ns);
void ss_text_finding(struct ss_out *o, int index);
void ss_json_finding(struct ss_out *o, int index);
void ss_text_summary(struct ss_out *o, uint64_t now_ns);
void ss_json_summary(struct ss_out *o, uint64_t now_ns);
void ss_text_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns);
void ss_json_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns);

#endif
