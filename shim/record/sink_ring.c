/* sockshim: writing lines into the run's trace ring (ring.h).
 *
 * A line costs a compare-and-swap on the ring's head, two stores of its
 * header, a memcpy and a store that commits it: no system call on the way,
 * and no lock a signal handler or a forked child could find held. A line
 * the ring cannot take (the ring is closed, the command is gone, a line
 * longer than a quarter of the ring, no room for a whole second) is handed
 * back to the caller, who writes it to the file itself.
 */
#include "sink_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "internal.h"
#include "model.h"
#include "options.h"
#include "real.h"
#include "ring.h"
#include "share.h"

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

#define CHUNK_SHIFT 18 /* pages are brought in 256 KiB at a time */
#define ROOM_POLL_NS 100000L     /* a writer waiting for room looks again after 0.1 ms */
#define ROOM_CHECK_DRAIN 100     /* ... checks every 10 ms that the command lives */
#define ROOM_GIVE_UP 10000       /* ... and writes the line itself after 1 s */

static struct ss_ring_ctl *ctl;
static char *data;
static uint64_t mask;
static _Atomic int closed_seen; /* this process saw the ring closed */
/* Chunks of the data area this process's page tables hold (bit n: chunk
 * n); fork does not copy the page tables of a shared mapping. */
static _Atomic uint64_t populated;

/* ---- joining -------------------------------------------------------------- */

static int valid_size(uint64_t size)
{
    return size >= (1u << CHUNK_SHIFT) && size <= (1ull << (CHUNK_SHIFT + 6)) &&
           (size & (size - 1)) == 0;
}

int ss_ring_join(void)
{
    if (ctl != NULL)
        return 0; /* joined already (the trace and the capture share it) */
    int fd = ss_share_open(SS_SHARE_RING);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)SS_RING_CTL_SIZE)
        return -1;
    struct ss_ring_ctl *k = mmap(NULL, SS_RING_CTL_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (k == MAP_FAILED)
        return -1;
    uint64_t size = k->size;
    if (k->magic != SS_RING_MAGIC || !valid_size(size) ||
        (uint64_t)st.st_size < SS_RING_CTL_SIZE + size) {
        munmap(k, SS_RING_CTL_SIZE);
        return -1;
    }
    munmap(k, SS_RING_CTL_SIZE);
    char *all = mmap(NULL, SS_RING_CTL_SIZE + size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (all == MAP_FAILED)
        return -1;
    ctl = (struct ss_ring_ctl *)all;
    data = all + SS_RING_CTL_SIZE;
    mask = size - 1;
    return 0;
}

void ss_ring_after_fork_child(void)
{
    atomic_store_explicit(&populated, 0, memory_order_relaxed);
}

/* ---- writing ---------------------------------------------------------------- */

static long futex(_Atomic uint32_t *word, int op, uint32_t value)
{
    return ss_real.syscall(SYS_futex, word, op, value, NULL, NULL, 0);
}

static void wake_drain(void)
{
    atomic_fetch_add_explicit(&ctl->wake, 1, memory_order_release);
    futex(&ctl->wake, FUTEX_WAKE, 1);
}

static int drain_is_gone(void)
{
    return ctl->drain_pid > 0 && kill(ctl->drain_pid, 0) != 0 && errno == ESRCH;
}

/* The ring is full: the command is asked to drain, and looked at now and
 * then. A command that is gone (killed) leaves a ring nobody drains: it is
 * closed for every process of the run. Returns 0 to try again, -1 when
 * the line must go straight to the file (after a second without room: a
 * signal handler that interrupted a line of its own thread waits for
 * room that line holds). */
static int wait_for_room(unsigned *waited)
{
    wake_drain();
    if (++*waited % ROOM_CHECK_DRAIN == 0 && drain_is_gone()) {
        atomic_fetch_or_explicit(&ctl->head, SS_RING_CLOSED, memory_order_acq_rel);
        return -1;
    }
    if (*waited >= ROOM_GIVE_UP)
        return -1;
    struct timespec pause = {0, ROOM_POLL_NS};
    nanosleep(&pause, NULL);
    return 0;
}

/* Reserves total bytes; their offset since the start, or -1. */
static int reserve(uint64_t total, uint64_t *off)
{
    uint64_t head = atomic_load_explicit(&ctl->head, memory_order_relaxed);
    unsigned waited = 0;
    for (;;) {
        if (head & SS_RING_CLOSED) {
            atomic_store_explicit(&closed_seen, 1, memory_order_relaxed);
            return -1;
        }
        /* acquire: the drain has written out what it freed */
        uint64_t tail = atomic_load_explicit(&ctl->tail, memory_order_acquire);
        if (head + total - tail <= ctl->size) {
            if (atomic_compare_exchange_weak_explicit(&ctl->head, &head, head + total,
                                                      memory_order_relaxed,
                                                      memory_order_relaxed)) {
                *off = head;
                return 0;
            }
            continue;
        }
        if (wait_for_room(&waited) != 0)
            return -1;
        head = atomic_load_explicit(&ctl->head, memory_order_relaxed);
    }
}

/* Brings the chunks [from, to) of the data area (ring offsets, to <= size)
 * into this process's page tables at once, the first time: a page fault
 * costs microseconds on a busy machine, and a line would take one every
 * few kilobytes in every process. Best effort: an older kernel refuses the
 * advice and the pages fault in one by one. */
static void populate(uint64_t from, uint64_t to)
{
    uint64_t have = atomic_load_explicit(&populated, memory_order_relaxed);
    for (uint64_t c = from >> CHUNK_SHIFT; c <= (to - 1) >> CHUNK_SHIFT; c++) {
        if (have & (1ull << c))
            continue;
        (void)madvise(data + (c << CHUNK_SHIFT), 1u << CHUNK_SHIFT, MADV_POPULATE_WRITE);
        atomic_fetch_or_explicit(&populated, 1ull << c, memory_order_relaxed);
    }
}

/* Copies n bytes to ring offset at, wrapping around the end. */
static void copy_in(uint64_t at, const void *p, size_t n)
{
    uint64_t pos = at & mask;
    size_t first = ctl->size - pos < n ? (size_t)(ctl->size - pos) : n;
    memcpy(data + pos, p, first);
    if (first < n)
        memcpy(data, (const char *)p + first, n - first);
}

/* Populates the ring where the next record of total bytes will most
 * likely go. It is done before reserving: from the reservation to the
 * header's seq, nothing may make a system call or take a page fault, the
 * points where a SIGKILL takes effect, for a record whose header was never
 * written hides the length of everything after it until the run ends. */
static void populate_ahead(uint64_t total)
{
    uint64_t pos = atomic_load_explicit(&ctl->head, memory_order_relaxed) & mask;
    uint64_t end = pos + total + 4096; /* and a page of slack for racing writers */
    if (end <= ctl->size) {
        populate(pos, end);
    } else {
        populate(pos, ctl->size);
        populate(0, end - ctl->size);
    }
}

/* A line too long for the ring goes to the file from its writer: the
 * lines reserved before it leave the ring first (the drain is woken and
 * awaited, a second at most, as for room), so that a thread's lines stay
 * in the order it wrote them. */
static void let_earlier_lines_out(void)
{
    uint64_t before = atomic_load_explicit(&ctl->head, memory_order_acquire) & ~SS_RING_CLOSED;
    unsigned waited = 0;
    while (atomic_load_explicit(&ctl->tail, memory_order_acquire) < before &&
           wait_for_room(&waited) == 0)
        ;
}

int ss_ring_emitv(int capture, const struct iovec *iov, int iovcnt, size_t len)
{
    if (atomic_load_explicit(&closed_seen, memory_order_relaxed))
        return -1;
    if (len > ss_ring_max_line(ctl->size)) {
        let_earlier_lines_out();
        return -1;
    }
    uint64_t total = ss_ring_record_size(len), off;
    populate_ahead(total);
    if (reserve(total, &off) != 0)
        return -1;
    uint64_t pos = off & mask;
    struct ss_ring_rec *rec = (struct ss_ring_rec *)(data + pos);
    uint64_t info = (uint64_t)len | ((uint64_t)ss_pid() & SS_REC_PID_MASK) << SS_REC_PID_SHIFT |
                    (capture ? SS_REC_CAPTURE : 0);
    atomic_store_explicit(&rec->info, info, memory_order_relaxed);
    atomic_store_explicit(&rec->seq, ss_ring_seq(off), memory_order_release);
    uint64_t at = off + sizeof *rec;
    for (int i = 0; i < iovcnt; i++) {
        copy_in(at, iov[i].iov_base, iov[i].iov_len);
        at += iov[i].iov_len;
    }
    atomic_store_explicit(&rec->info, info | SS_REC_COMMITTED, memory_order_release);
    /* a drain asleep with the ring half full is woken early */
    if (atomic_load_explicit(&ctl->asleep, memory_order_relaxed) &&
        off + total - atomic_load_explicit(&ctl->tail, memory_order_relaxed) > ctl->size / 2)
        wake_drain();
    return 0;
}

int ss_ring_emit(const char *line, size_t len)
{
    struct iovec one = {(void *)line, len};
    return ss_ring_emitv(0, &one, 1, len);
}

int ss_ring_carries(unsigned what)
{
    return ctl != NULL && (ctl->carries & what) != 0;
}
