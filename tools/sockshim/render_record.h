/* sockshim: the command's side of call records (shim/common/call_record.h):
 * a record the drain read from the ring, as the line the library would
 * have written. */
#ifndef SOCKSHIM_RENDER_RECORD_H
#define SOCKSHIM_RENDER_RECORD_H

#include <stddef.h>

/* Renders the call record rec[0..len), written by process pid, into
 * buf[0..cap). Returns the line's length (more than cap: render again
 * into that much room), or -1 when the record does not hold together or
 * is not that process's. */
long ss_render_record(int pid, const void *rec, size_t len, char *buf, size_t cap);

#endif
