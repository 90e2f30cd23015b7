/* sockshim: the rule board, where the command says which fault rules are
 * in force while the run goes on (docs/control.md).
 *
 * With --control the sockshim command makes one board (a memfd) per run
 * and names its fd in SOCKSHIM_RULE_BOARD, as it names the trace ring
 * (shim/core/share.h); every process of the run maps it read-only. The
 * command is the one writer: it changes the list under a sequence lock
 * (version odd while it writes, and bumped again when done), and every
 * process looks at version on its calls: when it moved, the process reads
 * the whole list again (retrying while a write is under way), parses the
 * rules it has not seen yet into their numbers' slots and swaps its set
 * of rules in force whole (shim/fault/fault.c). A rule's number is
 * given once per run and never again: #N means one rule throughout the
 * trace. The board also says whether the trace is paused (ctl pause):
 * a change of it bumps version as a change of the list does.
 */
#ifndef SOCKSHIM_BOARD_H
#define SOCKSHIM_BOARD_H

#include <stdatomic.h>
#include <stdint.h>

#include "rules.h"

#define SS_BOARD_MAGIC 0x3264726f62656c75ull /* "uleboard", layout 2 */

struct ss_board_rule {
    uint32_t number;              /* 1-based, at most SS_RULE_NUMBERS */
    uint32_t reserved;
    uint64_t added_ns;            /* when it was added (the output clock), where
                                   * its at= and for= count from; 0: a rule of
                                   * the run's start, counted from the run's */
    char text[SS_RULE_TEXT_MAX];  /* NUL-terminated, as ss_rule_parse took it */
};

struct ss_board {
    uint64_t magic;
    _Atomic uint64_t version;     /* odd while the command writes */
    uint32_t n;                   /* rules in force, in their order */
    uint32_t next_number;         /* the number the next rule added gets */
    uint32_t tracing_paused;      /* 1: no process writes calls' lines (ctl pause) */
    uint32_t reserved;
    struct ss_board_rule rule[SS_MAX_RULES];
};

#endif
