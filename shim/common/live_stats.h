/* sockshim: the run's live counts, which `sockshim ctl RUN stats` reads
 * while the run goes on (docs/control.md).
 *
 * With --control the command makes one more memfd, named in
 * SOCKSHIM_LIVE_STATS like the rule board (board.h), and every process of
 * the run maps it read-write. A process claims a slot when its image
 * starts (and a forked child when it is made) and keeps its counts there
 * instead of in its own memory: the audit's per-method counters, which
 * its summary also reads, are these, so counting costs what it cost
 * before. A process that ends copies its counts back into its own memory
 * (its summary may still be written) and marks the slot ended; the
 * command folds the counts of ended processes, and of processes that are
 * gone (killed), into one row and frees their slots.
 *
 * Slot states go FREE -> CLAIMING (a process zeroes it) -> RUNNING ->
 * ENDED -> FOLDING (the command reads it) -> FREE. Every change of state
 * is a compare-and-swap, so a slot has one owner at a time.
 */
#ifndef SOCKSHIM_LIVE_STATS_H
#define SOCKSHIM_LIVE_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "sockshim/findings.h"
#include "sockshim/ops.h"

#define SS_LIVE_MAGIC 0x7374617473657669ull /* "ivestats" */
#define SS_LIVE_SLOTS 4096
#define SS_LIVE_EXE_MAX 32

enum ss_live_state {
    SS_LIVE_FREE = 0,
    SS_LIVE_CLAIMING,
    SS_LIVE_RUNNING,
    SS_LIVE_ENDED,
    SS_LIVE_FOLDING,
};

/* One method's counts. */
struct ss_live_op {
    _Atomic uint64_t calls, errors, faults, bytes, time_ns;
};

/* One process image's counts: what its summary shows, and more. */
struct ss_live_counts {
    struct ss_live_op op[SS_OP_COUNT];
    _Atomic uint64_t findings[SS_FINDING_COUNT]; /* each time one was noted */
    _Atomic int64_t sockets_open;                /* made or adopted, not closed yet */
    _Atomic uint64_t sockets_made;
};

struct ss_live_slot {
    _Alignas(64) _Atomic uint32_t state; /* enum ss_live_state */
    int32_t pid;
    uint32_t foreign;               /* its pid is of another pid namespace than
                                     * the command's: never looked up */
    uint32_t reserved;
    uint64_t started_ns;            /* the image's start, output clock */
    char exe[SS_LIVE_EXE_MAX];      /* its program's name, NUL-terminated */
    struct ss_live_counts counts;
};

struct ss_live_stats {
    uint64_t magic;
    uint32_t slots;                 /* SS_LIVE_SLOTS */
    _Atomic uint32_t high;          /* slots ever claimed: [0, high) */
    _Atomic uint64_t without_slot;  /* processes that found every slot taken */
    uint64_t pid_ns;                /* the command's pid namespace (its inode) */
    uint64_t reserved[4];
    struct ss_live_slot slot[SS_LIVE_SLOTS];
};

#endif
