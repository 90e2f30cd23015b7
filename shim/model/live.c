/* sockshim: this process's slot in the run's live counts (live.h). */
#include "live.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "internal.h"
#include "share.h"

static struct ss_live_stats *live; /* mapped once; NULL: no live counts */
static struct ss_live_slot *mine;  /* the slot this image holds, or NULL */
static int joined;
static int foreign; /* this process's pids are not the command's */

static uint64_t pid_namespace(void)
{
    struct stat st;
    return stat("/proc/self/ns/pid", &st) == 0 ? (uint64_t)st.st_ino : 0;
}

static void join(void)
{
    joined = 1;
    int fd = ss_share_open(SS_SHARE_LIVE);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof *live)
        return;
    void *m = mmap(NULL, sizeof *live, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (m == MAP_FAILED)
        return;
    struct ss_live_stats *l = m;
    if (l->magic != SS_LIVE_MAGIC || l->slots != SS_LIVE_SLOTS) {
        munmap(m, sizeof *live);
        return;
    }
    live = l;
    foreign = pid_namespace() != l->pid_ns;
}

static int take(struct ss_live_slot *s)
{
    uint32_t expected = SS_LIVE_FREE;
    return atomic_compare_exchange_strong_explicit(&s->state, &expected, SS_LIVE_CLAIMING,
                                                   memory_order_acquire, memory_order_relaxed);
}

/* A free slot below the high mark (one a folded process left), else the
 * next one never used; NULL when all are taken. */
static struct ss_live_slot *free_slot(void)
{
    uint32_t high = atomic_load_explicit(&live->high, memory_order_acquire);
    for (uint32_t i = 0; i < high && i < SS_LIVE_SLOTS; i++)
        if (take(&live->slot[i]))
            return &live->slot[i];
    for (;;) {
        uint32_t i = atomic_fetch_add_explicit(&live->high, 1, memory_order_acq_rel);
        if (i >= SS_LIVE_SLOTS) {
            atomic_store_explicit(&live->high, SS_LIVE_SLOTS, memory_order_relaxed);
            return NULL;
        }
        if (take(&live->slot[i]))
            return &live->slot[i];
    }
}

struct ss_live_counts *ss_live_claim(void)
{
    if (!joined)
        join();
    mine = NULL;
    if (live == NULL)
        return NULL;
    struct ss_live_slot *s = free_slot();
    if (s == NULL) {
        atomic_fetch_add_explicit(&live->without_slot, 1, memory_order_relaxed);
        return NULL;
    }
    memset(&s->counts, 0, sizeof s->counts);
    s->pid = ss_pid();
    s->foreign = (uint32_t)foreign;
    s->started_ns = ss_now_ns();
    memset(s->exe, 0, sizeof s->exe);
    strncpy(s->exe, program_invocation_short_name, sizeof s->exe - 1);
    atomic_store_explicit(&s->state, SS_LIVE_RUNNING, memory_order_release);
    mine = s;
    return &s->counts;
}

void ss_live_release(void)
{
    if (mine == NULL)
        return;
    atomic_store_explicit(&mine->state, SS_LIVE_ENDED, memory_order_release);
    mine = NULL;
}
