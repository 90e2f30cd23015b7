/* sockshim: the table of methods a summary shows (calls, errors, faults,
 * bytes, time), for a process's own summary (shim/record/render_text.c)
 * and for the live counts `sockshim ctl RUN stats` shows (the command). */
#ifndef SOCKSHIM_METHOD_TABLE_H
#define SOCKSHIM_METHOD_TABLE_H

#include <stdint.h>

#include "fmt.h"
#include "sockshim/ops.h"

struct ss_method_stats {
    uint64_t calls, errors, faults, bytes, time_ns;
};

/* "method            calls  errors  faults        bytes      time" */
void ss_out_method_header(struct ss_out *o);
/* One row, without its newline: bytes only for the methods that move them. */
void ss_out_method_row(struct ss_out *o, enum ss_op op, const struct ss_method_stats *m);
/* Seconds with three decimals (0.052 s), or milliseconds when short. */
void ss_out_duration(struct ss_out *o, uint64_t ns);

#endif
