/* sockshim: where rendered lines go.
 *
 * The sink knows bytes, not events. A line is written whole with one
 * write(2) on a file opened O_APPEND, so lines of threads and processes
 * sharing a trace never interleave, and every line is in the kernel's hands
 * the moment the call returns: a process killed by SIGKILL loses nothing.
 * The sink's fd sits high, is close-on-exec, and is claimed in the model so
 * the program cannot close it or dup2 over it by accident.
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

int ss_sink_enabled(void);

/* At exit, after the last line: a mapped trace file is trimmed to what was
 * written when no other process of the run still writes it. */
void ss_sink_finish(void);

/* The shim's own fd, or -1. */
int ss_sink_fd(void);

/* Moves the shim's fd fd away from its number (the program wants that
 * number for a dup2). 0 on success. */
int ss_sink_move_away(int fd);

#endif
