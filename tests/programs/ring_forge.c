/* ring_forge: a process of the run that writes into the run's trace ring
 * (shim/common/ring.h) what no writer of sockshim's writes, between two socket
 * calls of its own:
 *   socket(AF_INET, SOCK_STREAM, 0) = s
 *   a record that claims 1 GiB but holds 16 bytes      (a length no writer gives)
 *   a record of a line "FORGED" with pid 2^30 - 1      (a pid the kernel never gives)
 *   close(s)
 * Prints "forged N" (N: the records it wrote), or "no ring" when the run
 * has none (no -o). The command must drop both, say so, and write the
 * program's own lines as ever.
 */
#include <stdatomic.h>
#include <stdint.h>
#include <sys/mman.h>

#include "common.h"
#include "../../shim/common/ring.h"

static struct ss_ring_ctl *ctl;
static char *data;

/* Reserves room for a record of reserved bytes as a writer does (ring.h);
 * the offset since the start. */
static uint64_t reserve(uint64_t reserved)
{
    uint64_t total = ss_ring_record_size(reserved);
    uint64_t head = atomic_load(&ctl->head);
    for (;;) {
        if (head & SS_RING_CLOSED)
            return UINT64_MAX;
        if (head + total - atomic_load(&ctl->tail) > ctl->size)
            return UINT64_MAX;
        if (atomic_compare_exchange_weak(&ctl->head, &head, head + total))
            return head;
    }
}

/* A committed record at a room of `reserved` bytes, whose header says
 * len and pid. */
static int forge(uint64_t reserved, uint64_t len, uint64_t pid, const char *text)
{
    uint64_t off = reserve(reserved);
    if (off == UINT64_MAX)
        return 0;
    struct ss_ring_rec *rec = (struct ss_ring_rec *)(data + (off & (ctl->size - 1)));
    uint64_t info = (len & SS_REC_LEN_MASK) | (pid & SS_REC_PID_MASK) << SS_REC_PID_SHIFT;
    atomic_store(&rec->info, info);
    atomic_store(&rec->seq, ss_ring_seq(off));
    memcpy((char *)(rec + 1), text, strlen(text) < reserved ? strlen(text) : reserved);
    atomic_store(&rec->info, info | SS_REC_COMMITTED);
    return 1;
}

int main(void)
{
    int s = socket(AF_INET, SOCK_STREAM, 0);
    const char *fd = getenv("SOCKSHIM_SINK_RING");
    void *all = MAP_FAILED;
    if (fd != NULL) {
        struct ss_ring_ctl probe;
        if (pread(atoi(fd), &probe, sizeof probe, 0) == (ssize_t)sizeof probe)
            all = mmap(NULL, SS_RING_CTL_SIZE + probe.size, PROT_READ | PROT_WRITE, MAP_SHARED,
                       atoi(fd), 0);
    }
    if (all == MAP_FAILED) {
        puts("no ring");
        close(s);
        return 0;
    }
    ctl = all;
    data = (char *)all + SS_RING_CTL_SIZE;
    int forged = forge(16, 1u << 30, (uint64_t)getpid(), "0123456789abcdef");
    forged += forge(16, 7, SS_REC_PID_MASK, "FORGED\n");
    printf("forged %d\n", forged);
    fflush(stdout);
    close(s);
    return 0;
}
