/* sockshim: the command's side of call records (shim/common/call_record.h):
 * a record the drain read from the ring, as the line the library would
 * have written. */
#ifndef SOCKSHIM_RENDER_RECORD_H
#define SOCKSHIM_RENDER_RECORD_H

#include <stddef.h>

/* Reads the call record rec[0..len), written by process pid: 0, or -1
 * when it does not hold together, is not that process's or names a
 * socket no record of that process gave. The command keeps the sockets
 * records give whole, for the records that name them. */
int ss_record_open(int pid, const void *rec, size_t len);
/* A record file's record (raw_file.h): whether rendering the file as JSON
 * (else as text) shows it, and if so, the record is rendered so. */
int ss_record_shown_as(int json);
/* The record's line, into buf[0..cap): returns its length (more than cap:
 * render it again into that much room). */
long ss_record_render(char *buf, size_t cap);
/* Done with the record: a socket it shows closed is forgotten. */
void ss_record_close(int pid);
/* Forgets every socket kept: the records that come next are another
 * run's (a record file of its own). */
void ss_record_forget_all(void);

#endif
