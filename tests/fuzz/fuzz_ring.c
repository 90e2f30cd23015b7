/* fuzz_ring: the command's drain (tools/sockshim/drain.c) over a ring that a
 * process of the run wrote into as it pleased.
 *
 * The input lays out records: a 4-byte start (where in the ring the first
 * record goes: records may wrap around its end), then, until the input
 * ends, each record as an 8-byte header info word (length, pid, capture
 * and committed bits: anything at all), a 2-byte count of 16-byte units
 * of room, a byte that says whether its seq is right (a header never
 * written), and the bytes of its room. The drain must take every record
 * without reading or writing outside the ring and its own buffers, with
 * lines going to /dev/null and capture and ledger events to their
 * parsers.
 */
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "drain.h"
#include "fuzz.h"
#include "ring.h"

static struct ss_ring_ctl *ctl;
static char *data;
static uint64_t size;

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    int out = open("/dev/null", O_WRONLY | O_CLOEXEC);
    int fd = ss_drain_create(out, "/dev/null", NULL, 100, SS_RING_TRACE | SS_RING_CAPTURE);
    CHECK(fd >= 0);
    struct ss_ring_ctl probe;
    CHECK(pread(fd, &probe, sizeof probe, 0) == (ssize_t)sizeof probe);
    size = probe.size;
    void *all = mmap(NULL, SS_RING_CTL_SIZE + size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    CHECK(all != MAP_FAILED);
    ctl = all;
    data = (char *)all + SS_RING_CTL_SIZE;
    return 0;
}

static void put(uint64_t off, const void *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        data[(off + i) & (size - 1)] = ((const char *)p)[i];
}

int LLVMFuzzerTestOneInput(const uint8_t *in, size_t n)
{
    if (n < 4)
        return 0;
    uint32_t start;
    memcpy(&start, in, 4);
    in += 4;
    n -= 4;
    /* start near the ring's end often, so that records wrap */
    uint64_t base = atomic_load(&ctl->tail);
    base += (size - (base & (size - 1))) - (uint64_t)(start % 4096) * 16;
    atomic_store(&ctl->tail, base);
    uint64_t off = base;
    while (n >= 11 && off - base < size / 2) {
        uint64_t info;
        uint16_t units;
        memcpy(&info, in, 8);
        memcpy(&units, in + 8, 2);
        int torn = in[10] & 1;
        in += 11;
        n -= 11;
        uint64_t room = (uint64_t)(units % 512) * 16;
        uint64_t seq = ss_ring_seq(off) + (uint64_t)torn;
        put(off, &seq, 8);
        put(off + 8, &info, 8);
        size_t body = room < n ? (size_t)room : n;
        put(off + 16, in, body);
        in += body;
        n -= body;
        off += 16 + room;
    }
    atomic_store(&ctl->head, off);
    ss_drain_pass();
    CHECK(atomic_load(&ctl->tail) <= off);
    /* the next input starts where this one ended; its room is clean */
    atomic_store(&ctl->tail, off);
    for (uint64_t z = base; z < off; z++)
        data[z & (size - 1)] = 0;
    return 0;
}
