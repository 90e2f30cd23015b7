/* sockshim: a call record as a trace line, in both formats.
 *
 * Built into the library and the command (shim/common/): the library
 * renders a call it cannot hand on as a binary record (call_record.h),
 * the command's drain renders the records it reads from the run's ring,
 * with the same code. A renderer reads the call record and the socket
 * snapshots it points to, and asks its side for the little it does not
 * hold (below: the "render environment").
 */
#ifndef SOCKSHIM_RENDER_CALL_H
#define SOCKSHIM_RENDER_CALL_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "call.h"
#include "options.h"
#include "xlat.h"
#include "escape.h"
#include "fmt.h"

/* ---- the render environment -------------------------------------------
 * Defined once in the library (its own process) and once in the command
 * (the process whose record it renders). */

/* The process and thread that made the call. */
int ss_render_pid(void);
int ss_render_tid(void);
/* Whether its process had more than one thread (the text prefix shows the
 * tid then). */
int ss_render_multithreaded(void);
/* Local time minus UTC, in seconds, in the process that made the call. */
long ss_render_utc_offset_s(void);
/* How many bytes a trace shows of each transfer (-s). */
size_t ss_render_strsize(void);
/* The text of fault rule c->fault, as the user wrote it. */
const char *ss_render_rule_text(const struct ss_call *c);

/* The two formats' entry points (one line each, with the newline). */
void ss_text_call(struct ss_out *o, const struct ss_call *c);
void ss_json_call(struct ss_out *o, const struct ss_call *c);
void ss_json_loop(struct ss_out *o, const struct ss_call *c);
/* Waits, as Python's select module reads them (render_wait.c): the
 * pieces of a line (the method and its arguments, what it returned) and
 * a JSON record's args and out. */
void ss_text_wait_select(struct ss_out *o, const struct ss_call *c);
void ss_value_wait_select(struct ss_out *o, const struct ss_call *c);
void ss_text_wait_poll(struct ss_out *o, const struct ss_call *c);
void ss_value_wait_poll(struct ss_out *o, const struct ss_call *c);
void ss_named_wait_epoll(struct ss_out *o, const struct ss_call *c);
void ss_text_wait_epoll(struct ss_out *o, const struct ss_call *c);
void ss_text_wait_epoll_register(struct ss_out *o, const struct ss_call *c);
void ss_text_wait_epoll_modify(struct ss_out *o, const struct ss_call *c);
void ss_text_wait_epoll_unregister(struct ss_out *o, const struct ss_call *c);
void ss_text_wait_epoll_poll(struct ss_out *o, const struct ss_call *c);
void ss_value_wait_epoll_poll(struct ss_out *o, const struct ss_call *c);
void ss_json_wait_args(struct ss_out *o, const struct ss_call *c);
void ss_json_wait_out(struct ss_out *o, const struct ss_call *c);
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
/* inet_ntop's text of an AF_INET or AF_INET6 address (addr: its bytes). */
void ss_format_ip(char *buf, size_t cap, int family, const void *addr);
/* Python's address tuple for the family; None when there is none. */
void ss_out_pyaddr(struct ss_out *o, const struct sockaddr *sa, socklen_t len);

/* A name from sockshim's own tables (methods, constants, states), plain
 * ASCII by construction: quoted without the escaping scan. */
void ss_out_json_name(struct ss_out *o, const char *name);
void ss_out_json_addr(struct ss_out *o, const struct sockaddr *sa, socklen_t len);
/* "name": "text" (a member, as ss_json_key() writes it) of bytes that may
 * not be UTF-8 (a path, a program's name, a host name): when they are not
 * UTF-8, the string has U+FFFD for each bad byte and "name_hex" follows
 * with the exact bytes. */
void ss_out_json_text_member(struct ss_out *o, const char *name, const char *p, size_t n);
/* {"len": N, "hex": "..."} of the first strsize bytes */
void ss_out_json_data(struct ss_out *o, const struct ss_bytes *b);

/* 12:00:01.000123 in local time; 2026-11-25T12:00:01.000123Z in UTC. */
void ss_out_clock(struct ss_out *o, uint64_t ns);
void ss_out_iso8601(struct ss_out *o, uint64_t ns);

/* The name a trace gives an fd: sock3 when it is a socket, fd3 otherwise. */
void ss_out_fdname(struct ss_out *o, int fd, int is_socket);




/* The bytes a call sent (its arguments) or received (its results). */
void ss_call_sent(const struct ss_call *c, struct ss_bytes *b);
void ss_call_received(const struct ss_call *c, struct ss_bytes *b);
/* Whether the call's subject is a socket (the model knew it). */
int ss_call_on_socket(const struct ss_call *c);
/* The int an option call passed or got, when its length says it is one. */
int ss_call_int_option(const struct ss_call *c, int *value);

/* A name resolution (render_resolve.c): in text the call ("socket.
 * getaddrinfo(...)") and its result or the exception it raised; in JSON
 * its members of "args", and its "ret" and "out" or its "error". */
void ss_text_resolution_call(struct ss_out *o, const struct ss_call *c);
void ss_text_resolution_result(struct ss_out *o, const struct ss_call *c);
void ss_json_resolution_args(struct ss_out *o, const struct ss_call *c);
void ss_json_resolution_outcome(struct ss_out *o, const struct ss_call *c);

/* ---- JSON members ------------------------------------------------------ */

/* Objects are written member by member: ss_json_open() starts one,
 * ss_json_key() writes the separator (none before the first member) and
 * the name. */
static inline void ss_json_open(struct ss_out *o)
{
    ss_out_char(o, '{');
    o->json_first = 1;
}

static inline void ss_json_close(struct ss_out *o)
{
    ss_out_char(o, '}');
    o->json_first = 0;
}

static inline void ss_json_key(struct ss_out *o, const char *name)
{
    if (!o->json_first)
        ss_out_str(o, ", ");
    o->json_first = 0;
    ss_out_char(o, '"');
    ss_out_str(o, name);
    ss_out_str(o, "\": ");
}

/* ss_json_key() for a name written in the source: the separator, the
 * quoted name and the colon are one literal whose length the compiler
 * knows, so each member name costs a couple of stores instead of strlen
 * and memcpy calls. A line has a dozen or more of them. */
#define SS_JSON_KEY(o, name) \
    ss_json_key_literal((o), ", \"" name "\": ", sizeof(", \"" name "\": ") - 1)

static inline __attribute__((always_inline)) void ss_json_key_literal(struct ss_out *o,
                                                                      const char *sep_name,
                                                                      size_t n)
{
    if (o->json_first)
        ss_out_mem(o, sep_name + 2, n - 2);
    else
        ss_out_mem(o, sep_name, n);
    o->json_first = 0;
}

/* Pieces the process's own records (start, findings, summary) share with
 * the call records. */
/* {"v": ..., "type": TYPE, "ts": ..., "pid": ..., "tid": ... (left open) */
void ss_json_head(struct ss_out *o, const char *type, uint64_t ns);
/* A constant by name when it has one, else by number. */
void ss_json_xlat(struct ss_out *o, const struct ss_xlat *t, long v);
/* "family": AF_..., "type": SOCK_..., "proto": N (a socket, an addrinfo). */
void ss_json_family_type_proto(struct ss_out *o, int family, int type, int proto);
/* Bit flags as a string: "POLLIN|POLLOUT". */
void ss_json_flags(struct ss_out *o, const struct ss_xlat *t, unsigned long v);
/* {"errno": N, "name": "E...", "message": "..."} */
void ss_json_error(struct ss_out *o, int err);
/* The socket object of a record, or null. */
void ss_json_sock(struct ss_out *o, const struct ss_sockinfo *s);
/* " raises error(N, 'message')" */
void ss_text_raises(struct ss_out *o, int err);

#endif
