/* sockshim: the control page of a trace file written through a mapping.
 *
 * The sockshim command makes one for a run's -o file (a memfd), and every
 * process of the run finds it through SOCKSHIM_SINK_MAP; a process writing
 * a file of its own (-o trace.%p) keeps one in its own memory.
 */
#ifndef SOCKSHIM_SINK_CTL_H
#define SOCKSHIM_SINK_CTL_H

#include <stdatomic.h>
#include <stdint.h>

#define SS_SINK_CTL_MAGIC 0x736f636b73686d31ull /* "sockshm1" */

struct ss_sink_ctl {
    uint64_t magic;
    uint64_t dev, ino;           /* the trace file it belongs to */
    _Atomic uint64_t cursor;     /* the next byte to hand out */
    _Atomic uint64_t allocated;  /* the file is at least this long */
};

#endif
