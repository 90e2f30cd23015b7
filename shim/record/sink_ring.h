/* sockshim: writing lines into the run's trace ring (sink_ring.c). */
#ifndef SOCKSHIM_SINK_RING_H
#define SOCKSHIM_SINK_RING_H

#include <stddef.h>

/* Joins the ring the command made for the run (share.h: SOCKSHIM_SINK_RING
 * names it). 0 on success. */
int ss_ring_join(void);

/* Puts one line into the ring: 0, or -1 when the caller must write it to
 * the file itself (the ring is closed or cannot take it). */
int ss_ring_emit(const char *line, size_t len);
/* One record gathered from iov (len bytes in all); capture: a capture
 * event rather than a trace line. 0, or -1 as above. */
struct iovec;
int ss_ring_emitv(int capture, const struct iovec *iov, int iovcnt, size_t len);
/* Whether the run's ring carries what (SS_RING_TRACE, SS_RING_CAPTURE). */
int ss_ring_carries(unsigned what);

/* In a forked child. */
void ss_ring_after_fork_child(void);

#endif
