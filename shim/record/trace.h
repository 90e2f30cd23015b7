/* sockshim: what goes into the trace for a call, after the audit.
 *
 * Decides which lines a call produces: its own line, or (in text) nothing
 * yet because it is part of a send loop that may still become one sendall
 * line; the lines of findings first seen on it; the record of a loop it
 * completed. Text holds a thread's send loop while the loop runs without
 * the thread making any other call; JSON never holds anything.
 */
#ifndef SOCKSHIM_TRACE_H
#define SOCKSHIM_TRACE_H

#include "audit.h"
#include "call.h"

struct ss_obj;

void ss_trace_call(struct ss_call *c, struct ss_obj *obj, const struct ss_audit_verdict *v);
/* A wait (select, poll, epoll) whose view is filled in: its line, when
 * its method is traced. A send loop the thread holds stays held: a wait
 * between a loop's sends is part of the loop, as in Python's sendall(). */
void ss_trace_wait(struct ss_call *c);
/* A name resolution (on no socket, no loop, no finding): its line. */
void ss_trace_resolution(struct ss_call *c);
/* A finding found outside any call (at exit). */
void ss_trace_finding(int index);
/* At exit: the calling thread's held loop, then the summary. */
void ss_trace_finish(void);
/* ctl pause and resume (docs/control.md): while paused, no call's line is
 * written (the model, the audit, faults and the capture go on); the trace
 * says "# tracing paused" where it stops and "# tracing resumed" with the
 * number of calls not written where it goes on. quiet: taken at the
 * process's start, with no line. */
void ss_trace_pause(int paused, int quiet);
/* In a forked child: the loop the forking thread held is the parent's. */
void ss_trace_after_fork_child(void);

#endif
