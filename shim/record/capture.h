/* sockshim: the capture stage (--pcap): what crossed each TCP and UDP
 * socket, as events for the command to make packets of (capture_event.h). */
#ifndef SOCKSHIM_CAPTURE_H
#define SOCKSHIM_CAPTURE_H

#include "call.h"

struct ss_obj;

/* After the ring is joined: whether this run captures. */
void ss_capture_init(void);
int ss_capture_enabled(void);

/* After the model and the audit: the call's events on obj's socket;
 * last_closed: the call closed its last fd. */
void ss_capture_call(const struct ss_call *c, struct ss_obj *obj, int last_closed);
/* An accept's new connection. */
void ss_capture_accepted(const struct ss_call *c);
/* A rule this process took in (added) or let go of, for the capture's
 * record of changes (every process that takes it says so; the command
 * writes it once). */
void ss_capture_rule_change(int number, int added);

#endif
