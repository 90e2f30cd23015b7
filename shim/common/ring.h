/* sockshim: the run's trace ring, shared by the library and the command.
 *
 * For a -o file the sockshim command makes one ring (a memfd) that every
 * process of the run maps: a process copies each line into it and goes
 * on, and the command's drain thread writes what is committed to the file
 * and frees the room. The ring is memory the kernel holds, not the
 * process: a process killed with SIGKILL loses no line it had written,
 * and the command still drains it. The file itself only ever holds whole
 * lines, so `tail -f` and any reader see a plain trace while it grows.
 *
 * Layout: one page of control (struct ss_ring_ctl), then the data area of
 * ctl.size bytes (a power of two), used as a ring. A line is a record:
 * a 16-byte header (struct ss_ring_rec) at a 16-aligned offset, then the
 * line's bytes, which may wrap around the end of the area; the next record
 * starts at the next multiple of 16.
 *
 * Records are trace lines or binary records, told apart by a bit of the
 * header; a binary record's first byte says which: a call for the command
 * to render (call_record.h), a ledger event (ledger_event.h), or with
 * --pcap a capture event (capture_event.h).
 *
 * A writer reserves room with a compare-and-swap on head that also checks
 * the room is free (head - tail + size <= ctl.size), writes the header's
 * info (length, pid) and then its seq (made from the record's offset since
 * the start: a header whose seq is not its record's is not written yet,
 * whatever a previous lap or the zeroed memory of a new ring holds there),
 * copies the line, and sets the committed bit.
 * The drain reads records in order from tail: committed ones are written
 * out; a record whose writer died before committing (SIGKILL) is skipped.
 * Once the command is done it sets SS_RING_CLOSED in head: later lines go
 * straight to the file with write().
 */
#ifndef SOCKSHIM_RING_H
#define SOCKSHIM_RING_H

#include <stdatomic.h>
#include <stdint.h>

#define SS_RING_MAGIC 0x676e69726b636f73ull /* "sockring" */
#define SS_RING_CTL_SIZE 4096u
#define SS_RING_DEFAULT_SIZE (8u << 20)
#define SS_RING_CLOSED (1ull << 63)

/* What a ring carries (ctl.carries). */
#define SS_RING_TRACE 1u   /* the trace's lines (a -o file) */
#define SS_RING_CAPTURE 2u /* capture events (--pcap), see capture.h */

struct ss_ring_ctl {
    uint64_t magic;
    uint64_t size;           /* bytes of the data area, a power of two */
    uint32_t carries;        /* SS_RING_TRACE | SS_RING_CAPTURE */
    uint32_t reserved0;
    _Atomic uint64_t head;   /* bytes reserved since the start, | SS_RING_CLOSED */
    _Atomic uint64_t tail;   /* bytes drained since the start */
    _Atomic uint32_t wake;   /* futex word the drain sleeps on */
    _Atomic uint32_t asleep; /* the drain sleeps: a writer that fills the ring wakes it */
    int32_t drain_pid;       /* the command: writers waiting for room check it lives */
    uint32_t reserved;
};

_Static_assert(sizeof(struct ss_ring_ctl) <= SS_RING_CTL_SIZE, "ring control fits its page");

#define SS_REC_COMMITTED (1ull << 63)
#define SS_REC_CAPTURE (1ull << 62) /* a binary record, not a trace line */
#define SS_REC_LEN_MASK 0xffffffffull
#define SS_REC_PID_SHIFT 32
#define SS_REC_PID_MASK 0x3fffffffull

struct ss_ring_rec {
    _Atomic uint64_t seq;  /* ss_ring_seq(the record's offset since the start) */
    _Atomic uint64_t info; /* length | pid << 32 | SS_REC_CAPTURE | SS_REC_COMMITTED */
};

/* The seq of the record at offset off: never 0, so that no header of a
 * ring not yet written matches. */
static inline uint64_t ss_ring_seq(uint64_t off)
{
    return off + 1;
}

/* Bytes a record of a len-byte line takes: header and line, rounded up to
 * the alignment of the next header. */
static inline uint64_t ss_ring_record_size(uint64_t len)
{
    return (sizeof(struct ss_ring_rec) + len + 15) & ~(uint64_t)15;
}

/* The longest line that goes through the ring; a longer one is written
 * straight to the file. */
static inline uint64_t ss_ring_max_line(uint64_t size)
{
    return size / 4;
}

#endif
