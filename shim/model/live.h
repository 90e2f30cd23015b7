/* sockshim: this process's slot in the run's live counts (live_stats.h),
 * with --control. */
#ifndef SOCKSHIM_LIVE_H
#define SOCKSHIM_LIVE_H

#include "live_stats.h"

/* Claims a slot for this process image (or, after a fork, for the child)
 * and returns its counts, zeroed; NULL without live counts or when every
 * slot is taken (the run's count of processes without one goes up). */
struct ss_live_counts *ss_live_claim(void);

/* The image ends: its slot is marked ended, for the command to fold into
 * the ended processes' row. Its counts must not be written after. */
void ss_live_release(void);

#endif
