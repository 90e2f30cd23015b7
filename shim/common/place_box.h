/* sockshim: the place box, where the library asks the command what a code
 * address is in the source.
 *
 * The sockshim command makes one box (a memfd) per run and names its fd,
 * inherited at a high number, in SOCKSHIM_PLACE_BOX; every process of the
 * run maps it. To ask, a process takes a free slot, writes the module's
 * path and the offset in it, marks it asked and wakes the command's thread
 * (a futex on `asked`); the command marks it taken, reads the module's
 * debug information (tools/sockshim/locate.c), writes the answer and marks it
 * answered; the asker copies the answer and frees the slot. Nothing but
 * atomic operations and futex calls on shared memory: a signal handler may
 * ask, no fd of the program's is ever taken, no lock can be left held.
 *
 * An asker that waited too long takes its question back (asked -> free)
 * or, once the command has taken it, abandons it (taken -> abandoned); the
 * command frees an abandoned slot when it has answered. A process killed
 * while writing its question leaves its slot held: the box has SS_BOX_SLOTS
 * slots and an asker that finds none free goes without an answer.
 */
#ifndef SOCKSHIM_PLACE_BOX_H
#define SOCKSHIM_PLACE_BOX_H

#include <stdatomic.h>
#include <stdint.h>

#define SS_BOX_MAGIC 0x786f626563616c70ull /* "placebox" */
#define SS_BOX_SLOTS 32
#define SS_BOX_MODULE 4096
#define SS_BOX_FUNCTION 256
#define SS_BOX_FILE 1024

enum ss_box_state {
    SS_SLOT_FREE,
    SS_SLOT_WRITING,   /* an asker is writing its question */
    SS_SLOT_ASKED,
    SS_SLOT_TAKEN,     /* the command is answering */
    SS_SLOT_ANSWERED,
    SS_SLOT_ABANDONED, /* the asker stopped waiting for the answer */
};

struct ss_box_slot {
    _Atomic uint32_t state;
    int32_t line;                   /* answer: 0 when unknown */
    uint64_t offset;                /* question: the return address's offset in the module */
    char module[SS_BOX_MODULE];     /* question: the module's path, NUL-terminated */
    char function[SS_BOX_FUNCTION]; /* answer: "" when unknown */
    char file[SS_BOX_FILE];         /* answer: "" when unknown */
};

struct ss_box {
    uint64_t magic;
    _Atomic uint32_t asked;  /* bumped with each question: the command waits on it */
    _Atomic uint32_t closed; /* the command answers no more */
    struct ss_box_slot slot[SS_BOX_SLOTS];
};

#endif
