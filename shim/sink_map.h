/* sockshim: a trace file written through a shared mapping (sink_map.c). */
#ifndef SOCKSHIM_SINK_MAP_H
#define SOCKSHIM_SINK_MAP_H

#include <stddef.h>

/* Joins the run's sink the command made for path (SOCKSHIM_SINK_MAP).
 * 0 on success. */
int ss_map_join(const char *path);
/* Makes fd (a regular file opened read-write) this process's own sink.
 * 0 on success; -1: it cannot be written this way (use write()). */
int ss_map_own(int fd);
int ss_map_fd(void);

/* Writes one line; 0, or the errno that stopped the sink. */
int ss_map_emit(const char *line, size_t len);

/* A forked child: its page tables of the mapping start empty. */
void ss_map_after_fork_child(void);
/* A forked child with a file of its own drops its parent's sink. */
void ss_map_detach(void);
/* Moves the sink's fd off a number the program wants. */
int ss_map_move(int fd);
/* At exit of a process with one thread writing its own file: cuts the
 * file to what was written. */
void ss_map_finish(void);

#endif
