/* sockshim: C locations in the source, asked of the command (place.h,
 * place_box.h).
 *
 * Nothing here reads debug information: libdw in the program would
 * allocate and open files in whatever context a finding is written
 * (signal handlers too), and its debuginfod client would start libcurl
 * and libcrypto inside the program. The command, which has all the time it
 * needs and none of the program's state, does it (tools/sockshim/locate.c).
 *
 * Answers, unknown ones too, go into a fixed table of CACHE_SLOTS entries
 * claimed by compare-and-swap and never changed once filled, so a reader
 * needs no lock and a signal handler or a forked child cannot find one
 * held: an entry being filled is skipped (its address is asked again).
 * Addresses that find the table full are written as module+offset.
 */
#include "place.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "model.h"
#include "options.h"
#include "place_box.h"
#include "real.h"
#include "share.h"

#define CACHE_SLOTS 256
#define CACHE_PROBES 32
#define ASK_BUDGET_NS 3000000000LL /* the longest a line waits for its answer */
#define ASK_POLL_NS 20000000L      /* ... looking at the box every 20 ms */

enum { ENTRY_EMPTY, ENTRY_FILLING, ENTRY_READY };

struct entry {
    _Atomic uint32_t state;
    int line;
    uintptr_t addr;
    char function[128];
    char file[512];
};

static struct entry cache[CACHE_SLOTS];
static struct ss_box *box;

/* ---- joining ---------------------------------------------------------------- */

void ss_place_join(void)
{
    int fd = ss_share_open(SS_SHARE_PLACES);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof *box)
        return;
    struct ss_box *b = mmap(NULL, sizeof *box, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (b == MAP_FAILED)
        return;
    if (b->magic != SS_BOX_MAGIC) {
        munmap(b, sizeof *box);
        return;
    }
    box = b;
}

/* ---- asking ------------------------------------------------------------------- */

static long long now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (long long)t.tv_sec * 1000000000LL + t.tv_nsec;
}

static void futex_wait(_Atomic uint32_t *word, uint32_t value)
{
    struct timespec t = {0, ASK_POLL_NS};
    ss_real.syscall(SYS_futex, word, FUTEX_WAIT, value, &t, NULL, 0);
}

static void copy(char *dst, size_t cap, const char *src, size_t src_cap)
{
    size_t n = strnlen(src, src_cap);
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, src, n);
    dst[n] = '\0';
}

static struct ss_box_slot *claim_slot(void)
{
    for (int i = 0; i < SS_BOX_SLOTS; i++) {
        uint32_t free_state = SS_SLOT_FREE;
        if (atomic_compare_exchange_strong(&box->slot[i].state, &free_state, SS_SLOT_WRITING))
            return &box->slot[i];
    }
    return NULL;
}

/* Stops waiting: takes the question back, or leaves the answer to come
 * for the command to throw away. 1 when the answer is there after all. */
static int give_up(struct ss_box_slot *s)
{
    uint32_t st = SS_SLOT_ASKED;
    if (atomic_compare_exchange_strong(&s->state, &st, SS_SLOT_FREE))
        return 0;
    if (st == SS_SLOT_TAKEN &&
        atomic_compare_exchange_strong(&s->state, &st, SS_SLOT_ABANDONED))
        return 0;
    return st == SS_SLOT_ANSWERED;
}

/* The command's answer for module at offset into e: 1, or 0 without one. */
static int ask(const char *module, uintptr_t offset, struct entry *e)
{
    struct ss_box_slot *s = box != NULL && !atomic_load(&box->closed) ? claim_slot() : NULL;
    if (s == NULL)
        return 0;
    copy(s->module, sizeof s->module, module, SIZE_MAX);
    s->offset = offset;
    atomic_store_explicit(&s->state, SS_SLOT_ASKED, memory_order_release);
    atomic_fetch_add(&box->asked, 1);
    ss_real.syscall(SYS_futex, &box->asked, FUTEX_WAKE, 1, NULL, NULL, 0);
    long long deadline = now_ns() + ASK_BUDGET_NS;
    uint32_t st;
    while ((st = atomic_load_explicit(&s->state, memory_order_acquire)) != SS_SLOT_ANSWERED) {
        if ((now_ns() > deadline || atomic_load(&box->closed)) && !give_up(s))
            return 0;
        futex_wait(&s->state, st);
    }
    copy(e->function, sizeof e->function, s->function, sizeof s->function);
    copy(e->file, sizeof e->file, s->file, sizeof s->file);
    e->line = s->line > 0 ? s->line : 0;
    atomic_store_explicit(&s->state, SS_SLOT_FREE, memory_order_release);
    return 1;
}

/* ---- the table ---------------------------------------------------------------- */

static unsigned slot_of(uintptr_t addr)
{
    return (unsigned)(((uint64_t)addr * 0x9e3779b97f4a7c15ull) >> 40) % CACHE_SLOTS;
}

static const struct entry *lookup(uintptr_t addr)
{
    unsigned h = slot_of(addr);
    for (unsigned i = 0; i < CACHE_PROBES; i++) {
        const struct entry *e = &cache[(h + i) % CACHE_SLOTS];
        uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
        if (st == ENTRY_EMPTY)
            return NULL;
        if (st == ENTRY_READY && e->addr == addr)
            return e;
    }
    return NULL;
}

static struct entry *claim_entry(uintptr_t addr)
{
    unsigned h = slot_of(addr);
    for (unsigned i = 0; i < CACHE_PROBES; i++) {
        struct entry *e = &cache[(h + i) % CACHE_SLOTS];
        uint32_t empty = ENTRY_EMPTY;
        if (atomic_compare_exchange_strong(&e->state, &empty, ENTRY_FILLING))
            return e;
    }
    return NULL;
}

static int known(const struct entry *e, struct ss_place_ref *p)
{
    p->function = e->function;
    p->file = e->file;
    p->line = e->line;
    return e->function[0] != '\0' || e->line > 0;
}

int ss_place_of(uintptr_t addr, const char *module, uintptr_t offset, struct ss_place_ref *p)
{
    const struct entry *found = lookup(addr);
    if (found != NULL)
        return known(found, p);
    if (box == NULL)
        return 0;
    struct entry *e = claim_entry(addr);
    if (e == NULL)
        return 0; /* the table is full: module+offset from now on */
    if (!ask(module, offset, e)) {
        e->function[0] = e->file[0] = '\0';
        e->line = 0;
    }
    e->addr = addr;
    atomic_store_explicit(&e->state, ENTRY_READY, memory_order_release);
    return known(e, p);
}
