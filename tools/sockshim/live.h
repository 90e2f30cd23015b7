/* sockshim: the command's side of the run's live counts (live_stats.h):
 * making them, folding the counts of processes that ended, and showing
 * them for `sockshim ctl RUN stats` (docs/control.md). */
#ifndef SOCKSHIM_TOOLS_LIVE_H
#define SOCKSHIM_TOOLS_LIVE_H

#include <stdint.h>

/* Makes the live counts at an inheritable fd of at least floor: the fd,
 * or -1 with errno. */
int ss_live_make(int floor);

/* Folds the slots of processes that ended, or are gone (killed), into
 * the ended processes' row, and frees them. From one thread only. */
void ss_live_sweep(void);

/* The live counts as lines for people (each without its newline), or as
 * one JSON object; line is called for each. From the sweeping thread. */
typedef void ss_live_line_fn(void *arg, const char *line);
void ss_live_text(ss_live_line_fn *line, void *arg);
void ss_live_json(ss_live_line_fn *line, void *arg);

#endif
