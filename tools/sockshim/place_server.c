/* sockshim: the command's answers to the library's place questions
 * (place_server.h, shim/common/place_box.h).
 *
 * The thread sleeps on the box's `asked` word and wakes for each question
 * (or every 100 ms): each asked slot is taken, answered from the module's
 * debug information (tools/sockshim/locate.c, offline, never running anything) and
 * handed back. The box is written by the traced processes, so whatever
 * it holds is checked like input: the path is cut at its slot's end.
 */
#include "place_server.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "locate.h"
#include "place_box.h"
#include "shared_memory.h"

static struct ss_box *box;
static pthread_t thread;
static _Atomic int stopping;
static int running;

static void futex_wait(_Atomic uint32_t *word, uint32_t value, long ns)
{
    struct timespec t = {.tv_sec = ns / 1000000000L, .tv_nsec = ns % 1000000000L};
    syscall(SYS_futex, word, FUTEX_WAIT, value, &t, NULL, 0);
}

static void futex_wake_all(_Atomic uint32_t *word)
{
    syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
}

static void copy_out(char *dst, size_t cap, const char *s)
{
    size_t n = strnlen(s, cap - 1);
    memcpy(dst, s, n);
    dst[n] = '\0';
}

static void answer(struct ss_box_slot *s)
{
    char module[SS_BOX_MODULE];
    memcpy(module, s->module, sizeof module);
    module[sizeof module - 1] = '\0';
    struct ss_place place;
    ss_locate(module, s->offset, &place);
    copy_out(s->function, sizeof s->function, place.function);
    copy_out(s->file, sizeof s->file, place.file);
    s->line = place.line;
    uint32_t taken = SS_SLOT_TAKEN;
    if (!atomic_compare_exchange_strong(&s->state, &taken, SS_SLOT_ANSWERED))
        atomic_store(&s->state, SS_SLOT_FREE); /* abandoned: nobody reads it */
    futex_wake_all(&s->state);
}

static void *serve(void *arg)
{
    (void)arg;
    while (!atomic_load(&stopping)) {
        uint32_t seen = atomic_load(&box->asked);
        for (int i = 0; i < SS_BOX_SLOTS; i++) {
            uint32_t asked = SS_SLOT_ASKED;
            if (atomic_compare_exchange_strong(&box->slot[i].state, &asked, SS_SLOT_TAKEN))
                answer(&box->slot[i]);
        }
        futex_wait(&box->asked, seen, 100000000L);
    }
    return NULL;
}

int ss_place_server_make(int floor)
{
    int fd;
    box = ss_shared_memory_make("sockshim-places", sizeof *box, floor, &fd);
    if (box == NULL)
        return -1;
    box->magic = SS_BOX_MAGIC;
    return fd;
}

int ss_place_server_start(void)
{
    if (box == NULL)
        return 0;
    if (pthread_create(&thread, NULL, serve, NULL) != 0) {
        atomic_store(&box->closed, 1);
        return -1;
    }
    running = 1;
    return 0;
}

void ss_place_server_stop(void)
{
    if (!running)
        return;
    atomic_store(&box->closed, 1);
    atomic_store(&stopping, 1);
    atomic_fetch_add(&box->asked, 1);
    futex_wake_all(&box->asked);
    pthread_join(thread, NULL);
    running = 0;
    /* an asker still waiting sees the slot unanswered and gives up */
    ss_locate_end();
}
