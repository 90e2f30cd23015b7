/* sockshim: the command's side of the ledger (shim/common/ledger_event.h).
 *
 * The drain hands over the ledger events it finds in the run's ring and
 * says which processes wrote trace lines. For each process it keeps its
 * name and the sockets it made that are still open. A process that ends
 * without the event saying it wrote its summary (a fatal signal,
 * SIGKILL) gets one written here: how it ended, its sockets still open,
 * each a leak, with where it was made. The drain calls every function
 * from its one thread.
 */
#ifndef SOCKSHIM_LEDGER_TOOL_H
#define SOCKSHIM_LEDGER_TOOL_H

#include <stddef.h>
#include <stdint.h>

/* Where a summary goes (the drain's file for pid), and in which formats:
 * a record file (--format=raw) has both. */
enum ss_ledger_formats { SS_LEDGER_TEXT = 1, SS_LEDGER_JSON = 2, SS_LEDGER_BOTH = 3 };
typedef void ss_ledger_write_fn(int pid, const char *text, size_t len);
void ss_ledger_setup(enum ss_ledger_formats formats, ss_ledger_write_fn *write);

/* A ledger event of pid's (len bytes: an event and its payload). */
void ss_ledger_event(int pid, const void *event, size_t len);
/* pid wrote a trace line. */
void ss_ledger_saw_line(int pid);

/* How a process is doing, for ss_ledger_look: running; ended, how not
 * known (reaped by its parent already); a zombie or the command's own
 * child, with its wait status. */
enum ss_ledger_life { SS_LIFE_RUNNING, SS_LIFE_ENDED, SS_LIFE_STATUS };
typedef enum ss_ledger_life ss_ledger_life_fn(int pid, int *status);

/* Marks the processes that have ended, before the drain reads the ring up
 * to its head: whatever they wrote is then in what it reads. */
void ss_ledger_look(ss_ledger_life_fn *life);
/* ... and after it, writes the summary of each marked one that did not
 * write its own, and forgets them all. */
void ss_ledger_write_ended(void);

/* "HH:MM:SS.uuuuuu [PID] # ": how a line the command writes into a text
 * trace starts (local time, as the library's lines). */
struct ss_out;
void ss_command_line_prefix(struct ss_out *o, int pid, uint64_t ns);

#endif
