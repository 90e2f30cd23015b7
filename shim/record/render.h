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

#include "escape.h"
#include "fmt.h"
#include "call.h"

/* Renders a completed call in the configured format and emits it. */
void ss_render_call(const struct ss_call *c);
/* A loop rebuilt from several calls (JSON: a record of its own). */
void ss_render_loop(const struct ss_call *c);
/* What the fault engine has to say of rule c->fault_note, once per rule and
 * process, after the call's line: no real event fits it on this call, or
 * its short= left this call's socket whole ("# note: fault #1 on sock4:
 * ..."). */
void ss_render_note(const struct ss_call *c);
/* A finding of the audit (index in its table), and the summary at exit. */
void ss_render_finding(int index);
void ss_render_summary(void);
/* An exec whose summary was written failed with err (ending.h). */
void ss_render_exec_failed(const char *program, int err);
/* A new process (or a forked child): its header comes before its first
 * line. */
void ss_render_process_start(void);

/* The two formats' entry points (one line each, with the newline). */
void ss_text_call(struct ss_out *o, const struct ss_call *c);
void ss_json_call(struct ss_out *o, const struct ss_call *c);
void ss_text_start(struct ss_out *o, uint64_t now_ns);
void ss_json_start(struct ss_out *o, uint64_t now_ns);
void ss_json_loop(struct ss_out *o, const struct ss_call *c);
/* Why short= leaves a socket that is not a stream whole. */
#define SS_NOTE_SHORT_SKIPPED_REASON "the kernel moves their messages whole"
void ss_text_note(struct ss_out *o, const struct ss_call *c);
void ss_json_note(struct ss_out *o, const struct ss_call *c);
void ss_text_finding(struct ss_out *o, int index);
void ss_json_finding(struct ss_out *o, int index);
void ss_text_summary(struct ss_out *o, uint64_t now_ns);
void ss_json_summary(struct ss_out *o, uint64_t now_ns);
void ss_text_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns);
void ss_json_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns);
/* "TIME [PID] " or "TIME [PID:TID] " */
void ss_text_prefix(struct ss_out *o, uint64_t ns);

/* ---- shared pieces ---------------------------------------------------- */

/* The bytes [from, from + *n) of b (struct ss_bytes: escape.h) as at most
 * max pieces in out; *n becomes the bytes they hold (fewer when b ends or
 * max is reached). Returns the number of pieces. */
int ss_bytes_slice(const struct ss_bytes *b, size_t from, size_t *n, struct iovec *out, int max);
/* Copies up to n bytes from the start; returns how many. */
size_t ss_bytes_copy(const struct ss_bytes *b, void *dst, size_t n);

/* Python: b'GET / \r\n'... (1024 bytes): a bytes literal of the first
 * ss_config.strsize bytes, "..." when cut, and the full size. */
void ss_out_pybytes(struct ss_out *o, const struct ss_bytes *b);
/* Python's address tuple for the family; None when there is none. */
void ss_out_pyaddr(struct ss_out *o, const struct sockaddr *sa, socklen_t len);

/* A name from sockshim's own tables (methods, constants, states), plain
 * ASCII by construction: quoted without the escaping scan. */
void ss_out_json_name(struct ss_out *o, const char *name);
void ss_out_json_addr(struct ss_out *o, const struct sockaddr *sa, socklen_t len);
/* , "name": "text" of bytes that may not be UTF-8 (a path, a program's
 * name), never the first member of its object: when they are not UTF-8,
 * the string has U+FFFD for each bad byte and "name_hex" follows with the
 * exact bytes. */
void ss_out_json_text_member(struct ss_out *o, const char *name, const char *p, size_t n);
/* {"len": N, "hex": "..."} of the first strsize bytes */
void ss_out_json_data(struct ss_out *o, const struct ss_bytes *b);

/* 12:00:01.000123 in local time; 2026-11-25T12:00:01.000123Z in UTC. */
void ss_out_clock(struct ss_out *o, uint64_t ns);
void ss_out_iso8601(struct ss_out *o, uint64_t ns);

/* The name a trace gives an fd: sock3 when it is a socket, fd3 otherwise. */
void ss_out_fdname(struct ss_out *o, int fd, int is_socket);

/* How many bytes a trace shows of each transfer. */
size_t ss_render_strsize(void);



/* The bytes a call sent (its arguments) or received (its results). */
void ss_call_sent(const struct ss_call *c, struct ss_bytes *b);
void ss_call_received(const struct ss_call *c, struct ss_bytes *b);
/* Whether the call's subject is a socket (the model knew it). */
int ss_call_on_socket(const struct ss_call *c);
/* The int an option call passed or got, when its length says it is one. */
int ss_call_int_option(const struct ss_call *c, int *value);
#endif
