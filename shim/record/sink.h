/* sockshim: where rendered lines go.
 *
 * The sink knows bytes, not events. Under the sockshim command a -o file
 * is written through the run's ring (ring.h): a line is copied into shared
 * memory the command drains. Otherwise (stderr, the library preloaded
 * without the command) a line is written whole with one write(2), on a
 * file opened O_APPEND. Either way lines of threads and processes sharing
 * a trace never interleave, and every line is in the kernel's hands the
 * moment the call returns: a process killed by SIGKILL loses nothing.
 * The sink's fds sit high and are claimed in the fd table so the program
 * cannot close them or dup2 over them by accident.
 */
#ifndef SOCKSHIM_SINK_H
#define SOCKSHIM_SINK_H

#include <stddef.h>

/* Opens the destination the config names (%p expanded for this process),
 * or the process's stderr. 0 on success. */
int ss_sink_open(void);

/* In a forked child: a per-pid destination is reopened for the child. */
void ss_sink_after_fork_child(void);

/* Writes one whole line. Never changes errno, never raises SIGPIPE. After a
 * write fails, tracing stops with one message on stderr. */
void ss_sink_emit(const char *line, size_t len);

/* Hands a call's binary record (call_record.h) to the run's ring, for the
 * command to render: 0, or -1 when there is no ring or it cannot take the
 * record (closed, the record too long), and the caller writes the line
 * itself. Never changes errno. */
struct iovec;
int ss_sink_emit_record(const struct iovec *iov, int iovcnt, size_t len);

int ss_sink_enabled(void);
/* Whether lines and call records go through the run's ring. */
int ss_sink_ringed(void);

/* The shim's own fd, or -1. */
int ss_sink_fd(void);

/* Moves the shim's fd fd away from its number (the program wants that
 * number for a dup2). 0 on success. */
int ss_sink_move_away(int fd);

#endif
