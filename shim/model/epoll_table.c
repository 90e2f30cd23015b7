/* sockshim: what each epoll instance of the process watches (see
 * epoll_table.h).
 *
 * One open-addressing hash table keyed by (instance, fd), in memory the
 * shim maps itself (a wrapper may run where malloc may not). Each
 * instance also has an entry of its own, fd -1, that counts the sockets it
 * watches. A lock guards it; a signal handler that finds its own thread
 * holding the lock leaves the table alone (the trace then shows an
 * event's data instead of its fd): a wait must never block on the shim.
 */
#include "epoll_table.h"

#include <stdatomic.h>
#include <stddef.h>
#include <sys/mman.h>

#include "internal.h"
#include "real.h"

enum slot_state { SLOT_EMPTY, SLOT_USED, SLOT_GONE };

struct reg {
    int epfd;
    int fd;          /* INSTANCE: the instance's own entry */
    uint64_t data;   /* the registration's data */
    uint32_t events; /* ... and events, as the program gave them */
    uint32_t count;  /* INSTANCE: how many sockets it watches */
    uint32_t holds;  /* INSTANCE: how many of its registrations are held */
    uint8_t held;     /* a latency holds its readability back (latency.h) */
    uint8_t state;   /* enum slot_state */
    uint8_t is_socket;
};

#define INSTANCE (-1)
#define FIRST_CAPACITY 256u

static struct reg *table;
static size_t capacity; /* a power of two, or 0 */
static size_t filled;   /* used and gone slots */
static atomic_int table_lock;
static __thread int tls_holding;

/* ---- the lock ---------------------------------------------------------- */

static int lock_table(void)
{
    return ss_table_lock(&table_lock, &tls_holding);
}

static void unlock_table(void)
{
    ss_table_unlock(&table_lock, &tls_holding);
}

void ss_epoll_table_after_fork_child(void)
{
    ss_table_lock_reset(&table_lock, &tls_holding);
}

/* ---- the table ----------------------------------------------------------- */

static size_t home_of(int epfd, int fd)
{
    return (size_t)ss_mix64(((uint64_t)(uint32_t)epfd << 32) | (uint32_t)fd) & (capacity - 1);
}

static struct reg *find(int epfd, int fd)
{
    if (capacity == 0)
        return NULL;
    for (size_t i = home_of(epfd, fd), n = 0; n < capacity; i = (i + 1) & (capacity - 1), n++) {
        struct reg *r = &table[i];
        if (r->state == SLOT_EMPTY)
            return NULL;
        if (r->state == SLOT_USED && r->epfd == epfd && r->fd == fd)
            return r;
    }
    return NULL;
}

static struct reg *place(int epfd, int fd)
{
    for (size_t i = home_of(epfd, fd);; i = (i + 1) & (capacity - 1)) {
        struct reg *r = &table[i];
        if (r->state != SLOT_USED) {
            filled += r->state == SLOT_EMPTY;
            *r = (struct reg){.epfd = epfd, .fd = fd, .state = SLOT_USED};
            return r;
        }
    }
}

/* Room for one more entry: the table is rebuilt, twice as large when it
 * is more than a quarter full of live entries, once half its slots are
 * taken (tombstones included). */
static int make_room(void)
{
    if (capacity != 0 && (filled + 1) * 2 <= capacity)
        return 1;
    size_t live = 0;
    for (size_t i = 0; i < capacity; i++)
        live += table[i].state == SLOT_USED;
    size_t grown = capacity == 0 ? FIRST_CAPACITY
                   : (live + 1) * 4 > capacity ? capacity * 2 : capacity;
    void *mem = mmap(NULL, grown * sizeof *table, PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return 0;
    struct reg *old = table;
    size_t old_capacity = capacity;
    table = mem;
    capacity = grown;
    filled = 0;
    for (size_t i = 0; i < old_capacity; i++)
        if (old[i].state == SLOT_USED)
            *place(old[i].epfd, old[i].fd) = old[i];
    if (old != NULL)
        munmap(old, old_capacity * sizeof *old);
    return 1;
}

static struct reg *find_or_add(int epfd, int fd)
{
    struct reg *r = find(epfd, fd);
    if (r != NULL || !make_room())
        return r;
    return place(epfd, fd);
}

static void count_socket(int epfd, int delta)
{
    struct reg *inst = find_or_add(epfd, INSTANCE);
    if (inst != NULL && (delta > 0 || inst->count > 0))
        inst->count += (uint32_t)delta;
}

static void count_hold(int epfd, int delta)
{
    struct reg *inst = find_or_add(epfd, INSTANCE);
    if (inst != NULL && (delta > 0 || inst->holds > 0))
        inst->holds += (uint32_t)delta;
}

static void forget(struct reg *r)
{
    if (r->fd != INSTANCE && r->is_socket)
        count_socket(r->epfd, -1);
    if (r->fd != INSTANCE && r->held)
        count_hold(r->epfd, -1);
    r->state = SLOT_GONE;
}

/* ---- what the wait path tells it ---------------------------------------- */

void ss_epoll_table_created(int epfd)
{
    if (!lock_table())
        return;
    for (size_t i = 0; i < capacity; i++)
        if (table[i].state == SLOT_USED && table[i].epfd == epfd)
            table[i].state = SLOT_GONE;
    unlock_table();
}

void ss_epoll_table_changed(int epfd, int op, int fd, const struct epoll_event *event,
                            int is_socket)
{
    if (!lock_table())
        return;
    if (op == EPOLL_CTL_DEL) {
        struct reg *r = find(epfd, fd);
        if (r != NULL)
            forget(r);
    } else if (event != NULL && fd >= 0) {
        struct reg *r = find_or_add(epfd, fd);
        if (r != NULL && op == EPOLL_CTL_ADD && r->held) {
            r->held = 0; /* a hold of a registration closed behind the table */
            count_hold(epfd, -1);
        }
        if (r != NULL) {
            if (is_socket != r->is_socket)
                count_socket(epfd, is_socket ? 1 : -1);
            r->is_socket = (uint8_t)(is_socket != 0);
            r->data = event->data.u64;
            r->events = event->events;
        }
    }
    unlock_table();
}

void ss_epoll_table_forget_fd(int fd)
{
    if (!lock_table())
        return;
    for (size_t i = 0; i < capacity; i++) {
        struct reg *r = &table[i];
        if (r->state != SLOT_USED || r->fd != fd)
            continue;
        struct epoll_event none = {0};
        ss_real.epoll_ctl(r->epfd, EPOLL_CTL_DEL, fd, &none);
        forget(r);
    }
    unlock_table();
}

int ss_epoll_table_has_sockets(int epfd)
{
    if (!lock_table())
        return 1; /* when in doubt, the wait is shown */
    const struct reg *inst = find(epfd, INSTANCE);
    int has = inst != NULL && inst->count > 0;
    unlock_table();
    return has;
}

int ss_epoll_table_fd_of(int epfd, uint64_t data)
{
    if (!lock_table())
        return -1;
    int fd = -1;
    /* most programs register an fd with its own number as data.fd */
    int guess = (int)(uint32_t)data;
    const struct reg *r = guess >= 0 ? find(epfd, guess) : NULL;
    if (r != NULL && r->data == data) {
        fd = guess;
    } else {
        for (size_t i = 0; i < capacity; i++) {
            r = &table[i];
            if (r->state == SLOT_USED && r->epfd == epfd && r->fd != INSTANCE &&
                r->data == data) {
                fd = r->fd;
                break;
            }
        }
    }
    unlock_table();
    return fd;
}

/* ---- readability a latency holds back ------------------------------------ */

int ss_epoll_table_hold(int epfd, int fd, struct epoll_event *registered)
{
    if (!lock_table())
        return 0;
    struct reg *r = find(epfd, fd);
    int first = r == NULL ? -1 : !r->held;
    if (r != NULL) {
        if (first)
            count_hold(epfd, 1);
        r->held = 1;
        registered->events = r->events;
        registered->data.u64 = r->data;
    }
    unlock_table();
    return first;
}

int ss_epoll_table_held(int epfd, int fd, struct epoll_event *registered)
{
    if (!lock_table())
        return 0;
    const struct reg *r = find(epfd, fd);
    int held = r != NULL && r->held;
    if (held) {
        registered->events = r->events;
        registered->data.u64 = r->data;
    }
    unlock_table();
    return held;
}

void ss_epoll_table_hold_everywhere(int fd, uint32_t take)
{
    if (!lock_table())
        return;
    for (size_t i = 0; i < capacity; i++) {
        struct reg *r = &table[i];
        if (r->state != SLOT_USED || r->fd != fd || !(r->events & take))
            continue;
        struct epoll_event reg = {.events = r->events & ~take, .data.u64 = r->data};
        if (ss_real.epoll_ctl(r->epfd, EPOLL_CTL_MOD, fd, &reg) != 0)
            continue; /* EPOLLEXCLUSIVE: cannot be changed */
        if (!r->held)
            count_hold(r->epfd, 1);
        r->held = 1;
    }
    unlock_table();
}

int ss_epoll_table_holds(int epfd, struct ss_epoll_hold *out, int max)
{
    if (!lock_table())
        return 0;
    const struct reg *inst = find(epfd, INSTANCE);
    int n = 0;
    for (size_t i = 0; inst != NULL && inst->holds != 0 && i < capacity && n < max; i++) {
        const struct reg *r = &table[i];
        if (r->state != SLOT_USED || r->epfd != epfd || r->fd == INSTANCE || !r->held)
            continue;
        out[n++] = (struct ss_epoll_hold){r->fd, {r->events, {.u64 = r->data}}};
    }
    unlock_table();
    return n;
}

void ss_epoll_table_release(int epfd, int fd)
{
    if (!lock_table())
        return;
    struct reg *r = find(epfd, fd);
    if (r != NULL && r->held) {
        r->held = 0;
        count_hold(epfd, -1);
    }
    unlock_table();
}
