/* sockshim: the command's side of the run's trace ring (drain.c). */
#ifndef SOCKSHIM_DRAIN_H
#define SOCKSHIM_DRAIN_H

#include <stdint.h>

#include "options.h"

/* Makes the run's ring, carrying (ring.h) the trace, the capture or both.
 * The trace: file_fd (opened O_APPEND, named path) takes every line, or,
 * with pattern (a %p pattern) and file_fd -1, each process's file does.
 * The capture goes to the pcap writer (pcap.h), opened by the caller. The
 * ring's fd is dup'ed to fd_floor or above, inheritable; returns it, or -1
 * (the library then writes the trace file itself; there is no capture).
 * The command keeps it open for the whole run: a process of the run that
 * did not inherit it opens it there (shim/core/share.h). */
int ss_drain_create(int file_fd, const char *path, const char *pattern, int fd_floor,
                    unsigned carries);

/* --max-size: each trace file holds at most max_size bytes of call lines
 * (less a quarter, at most 256 KiB, kept for the headers, notes, findings
 * and summaries, which are never dropped); what is held back is counted
 * and said in the file. 0: no limit. Before ss_drain_start(). */
void ss_drain_limit(uint64_t max_size);

/* The trace's format: the summaries the command writes for processes that
 * ended without writing theirs (ledger.h) are text lines or JSON records;
 * a record file (--format=raw, raw_file.h) takes lines and records as
 * frames, unrendered, and those summaries in both formats. Before
 * ss_drain_start(). */
void ss_drain_format(enum ss_format format);
/* The program the command started has ended with wait status status:
 * before ss_drain_finish(). */
void ss_drain_child_ended(int pid, int status);

/* -o with %p: when the run started (SS_ENV_RUN_START); an existing file
 * changed before then is never written. Before ss_drain_start(). */
void ss_drain_run_start(uint64_t run_start_ns);
/* Whether a %p file was refused (options.h): the trace is incomplete. */
int ss_drain_refused(void);

/* One pass over all that is reserved in the ring, as at the end (a
 * record not committed is skipped), in the calling thread: for
 * tests/fuzz/fuzz_ring.c, without the drain thread. */
void ss_drain_pass(void);

/* Starts the drain thread. */
int ss_drain_start(void);

/* The program has exited: drains the rest, closes the ring, reports lines
 * lost to processes killed while writing them. */
void ss_drain_finish(void);

#endif
