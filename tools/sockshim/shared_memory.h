/* sockshim: the run's shared memories, as the command makes them (the
 * trace ring, the place box, the rule board, the live counts): a memfd
 * the processes of the run inherit (shim/core/share.h), mapped here. */
#ifndef SOCKSHIM_SHARED_MEMORY_H
#define SOCKSHIM_SHARED_MEMORY_H

#include <stddef.h>

/* Makes a zeroed memfd of size bytes named name, mapped read-write, at an
 * inheritable fd of at least floor (*fd). Returns the mapping, or NULL
 * with errno. */
void *ss_shared_memory_make(const char *name, size_t size, int floor, int *fd);

#endif
