/* sockshim: the fd table (see fdtable.h for its rules). */
#include "fdtable.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "real.h"

/* ---- objects ---------------------------------------------------------- */

/* An object as the table sees it: its head, then the model's part, which
 * the table only zeroes. The model's struct ss_obj has the same size and
 * begins with the same head (model.c checks both), so a pointer to the
 * one is a pointer to the other. Objects are 64-byte aligned (chunks are
 * mapped pages, and the size is a multiple of 64): a slot keeps tags in
 * an object pointer's low bits. */
struct slab {
    struct ss_obj_head head;
    unsigned char body[SS_OBJ_SIZE - sizeof(struct ss_obj_head)];
} __attribute__((aligned(64)));

_Static_assert(sizeof(struct slab) == SS_OBJ_SIZE, "an object takes SS_OBJ_SIZE bytes");

static struct slab *slab_of(struct ss_obj *obj)
{
    return (struct slab *)obj;
}

static struct ss_obj *obj_of(struct slab *o)
{
    return (struct ss_obj *)o;
}

/* Objects live in chunks that are mapped on demand and never unmapped, so a
 * stale pointer always points at some object: a race in the program can
 * blur a counter, never crash the shim. */
#define OBJS_PER_CHUNK 256u
#define MAX_CHUNKS 8192u /* 2 Mi objects */

static _Atomic(struct slab *) chunks[MAX_CHUNKS];
static _Atomic uint32_t next_unused; /* bump allocator over chunk space */
/* Free list head: generation in the high half (against ABA), index + 1 in
 * the low half. */
static _Atomic uint64_t free_head;

/* The object of a slot, or NULL if its chunk is not mapped (or the index is
 * past the chunk table). */
static struct slab *obj_at(uint32_t index)
{
    if (index >= OBJS_PER_CHUNK * MAX_CHUNKS)
        return NULL;
    struct slab *chunk =
        atomic_load_explicit(&chunks[index / OBJS_PER_CHUNK], memory_order_acquire);
    return chunk != NULL ? &chunk[index % OBJS_PER_CHUNK] : NULL;
}

static struct slab *chunk_for(uint32_t index)
{
    _Atomic(struct slab *) *slot = &chunks[index / OBJS_PER_CHUNK];
    struct slab *chunk = atomic_load_explicit(slot, memory_order_acquire);
    if (chunk != NULL)
        return chunk;
    size_t size = OBJS_PER_CHUNK * sizeof(struct slab);
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    struct slab *fresh = mem;
    for (uint32_t i = 0; i < OBJS_PER_CHUNK; i++)
        fresh[i].head.index = (index / OBJS_PER_CHUNK) * OBJS_PER_CHUNK + i;
    struct slab *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(slot, &expected, fresh, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        munmap(mem, size); /* another thread mapped it first */
        return expected;
    }
    return fresh;
}

/* Takes the next never-used slot into *index; false once the chunk table is
 * full. next_unused never passes the table's size: the loops over every
 * slot stop at it, and it must never wrap round to slots in use. */
static bool take_unused(uint32_t *index)
{
    uint32_t next = atomic_load_explicit(&next_unused, memory_order_relaxed);
    do {
        if (next >= OBJS_PER_CHUNK * MAX_CHUNKS)
            return false;
    } while (!atomic_compare_exchange_weak_explicit(&next_unused, &next, next + 1,
                                                    memory_order_relaxed, memory_order_relaxed));
    *index = next;
    return true;
}

static struct slab *pop_free(void)
{
    uint64_t head = atomic_load_explicit(&free_head, memory_order_acquire);
    for (;;) {
        uint32_t top = (uint32_t)head;
        if (top == 0)
            return NULL;
        struct slab *o = obj_at(top - 1);
        /* Cannot happen: only objects of mapped chunks are ever pushed, and
         * chunks are never unmapped. Without the check, though, the loop
         * would read next_free through NULL if obj_at ever said so (gcc 12
         * at -O3 makes that path a copy of its own and warns of it); the
         * caller then takes a fresh object instead. */
        if (o == NULL)
            return NULL;
        uint32_t next = atomic_load_explicit(&o->head.next_free, memory_order_relaxed);
        uint64_t want = ((head >> 32) + 1) << 32 | next;
        if (atomic_compare_exchange_weak_explicit(&free_head, &head, want, memory_order_acq_rel,
                                                  memory_order_acquire))
            return o;
    }
}

static void push_free(struct slab *o)
{
    uint64_t head = atomic_load_explicit(&free_head, memory_order_relaxed);
    for (;;) {
        atomic_store_explicit(&o->head.next_free, (uint32_t)head, memory_order_relaxed);
        uint64_t want = ((head >> 32) + 1) << 32 | (o->head.index + 1);
        if (atomic_compare_exchange_weak_explicit(&free_head, &head, want, memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
}

static struct slab *take_slab(void)
{
    struct slab *o = pop_free();
    if (o != NULL)
        return o;
    uint32_t index;
    if (!take_unused(&index))
        return NULL;
    struct slab *chunk = chunk_for(index);
    return chunk != NULL ? &chunk[index % OBJS_PER_CHUNK] : NULL;
}

struct ss_obj *ss_obj_alloc(void)
{
    struct slab *o = take_slab();
    if (o == NULL)
        return NULL;
    /* Nobody else can reach o yet: plain initialisation is safe. */
    memset(o->body, 0, sizeof o->body);
    __atomic_store_n(&o->head.fd_hint, 0, __ATOMIC_RELAXED);
    return obj_of(o);
}

void ss_obj_publish(struct ss_obj *obj)
{
    struct slab *o = slab_of(obj);
    atomic_store_explicit(&o->head.lock, 0, memory_order_relaxed);
    atomic_store_explicit(&o->head.refs, 1, memory_order_release);
}

static void slab_put(struct slab *o)
{
    if (atomic_fetch_sub_explicit(&o->head.refs, 1, memory_order_acq_rel) == 1)
        push_free(o);
}

void ss_obj_put(struct ss_obj *obj)
{
    if (obj != NULL)
        slab_put(slab_of(obj));
}

/* Takes a reference unless the count already reached zero. */
static int obj_get_unless_zero(struct slab *o)
{
    uint32_t r = atomic_load_explicit(&o->head.refs, memory_order_relaxed);
    while (r != 0) {
        if (atomic_compare_exchange_weak_explicit(&o->head.refs, &r, r + 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return 1;
    }
    return 0;
}

uint32_t ss_obj_fd_count(struct ss_obj *obj)
{
    return atomic_load_explicit(&slab_of(obj)->head.nfds, memory_order_acquire);
}

/* ---- the object lock -------------------------------------------------- */

/* The object this thread holds locked, so that a signal handler running on
 * the same thread never waits for its own interrupted holder. */
static __thread struct slab *tls_locked;

static int obj_lock(struct slab *o)
{
    if (tls_locked != NULL)
        return 0; /* nested in our own critical section: skip, never wait */
    for (unsigned spin = 0; spin < 4096; spin++) {
        if (!atomic_exchange_explicit(&o->head.lock, 1, memory_order_acquire)) {
            tls_locked = o;
            return 1;
        }
        if (spin >= 64)
            sched_yield();
        else
            __builtin_ia32_pause();
    }
    return 0; /* a holder that died in a fork or stalls: give up this update */
}

int ss_obj_lock(struct ss_obj *obj)
{
    return obj != NULL && obj_lock(slab_of(obj));
}

void ss_obj_unlock(struct ss_obj *obj)
{
    tls_locked = NULL;
    atomic_store_explicit(&slab_of(obj)->head.lock, 0, memory_order_release);
}

/* ---- fd slots --------------------------------------------------------- */

/* A slot is 0 (unknown), one of the tags below, or an object pointer with
 * SLOT_CLOEXEC possibly or'ed in (objects are 64-byte aligned). */
#define SLOT_NOT_SOCKET ((uintptr_t)1)
#define SLOT_SHIM ((uintptr_t)2)
#define SLOT_CLOSED ((uintptr_t)3) /* a socket was closed here: a tombstone */
#define SLOT_CLOEXEC ((uintptr_t)1)
#define SLOT_TAGS ((uintptr_t)63)

#define FDS_PER_PAGE 4096u
#define FD_PAGES 256u /* fds below 1 Mi are modelled */

static _Atomic(_Atomic uintptr_t *) fd_pages[FD_PAGES];

static struct slab *slot_obj(uintptr_t v)
{
    return (struct slab *)(v & ~SLOT_TAGS);
}

static bool slot_has_obj(uintptr_t v)
{
    return (v & ~SLOT_TAGS) != 0;
}

static uintptr_t slot_value(struct slab *o, int cloexec)
{
    return (uintptr_t)o | (cloexec ? SLOT_CLOEXEC : 0);
}

static _Atomic uintptr_t *slot_at(int fd, int create)
{
    if (fd < 0 || (unsigned)fd >= FDS_PER_PAGE * FD_PAGES)
        return NULL;
    _Atomic(_Atomic uintptr_t *) *page = &fd_pages[(unsigned)fd / FDS_PER_PAGE];
    _Atomic uintptr_t *p = atomic_load_explicit(page, memory_order_acquire);
    if (p == NULL && create) {
        size_t size = FDS_PER_PAGE * sizeof(uintptr_t);
        void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (mem == MAP_FAILED)
            return NULL;
        _Atomic uintptr_t *expected = NULL;
        if (atomic_compare_exchange_strong_explicit(page, &expected, mem, memory_order_acq_rel,
                                                    memory_order_acquire)) {
            p = mem;
        } else {
            munmap(mem, size);
            p = expected;
        }
    }
    return p != NULL ? &p[(unsigned)fd % FDS_PER_PAGE] : NULL;
}

static uintptr_t slot_load(int fd)
{
    _Atomic uintptr_t *s = slot_at(fd, 0);
    return s != NULL ? atomic_load_explicit(s, memory_order_acquire) : 0;
}

/* Drops what a slot held (its object reference). */
static void slot_value_put(uintptr_t v)
{
    if (slot_has_obj(v)) {
        atomic_fetch_sub_explicit(&slot_obj(v)->head.nfds, 1, memory_order_relaxed);
        slab_put(slot_obj(v));
    }
}

/* Counts fd as one of o's, before the slot says so. */
static void count_fd(struct slab *o, int fd)
{
    atomic_fetch_add_explicit(&o->head.nfds, 1, memory_order_relaxed);
    __atomic_store_n(&o->head.fd_hint, fd, __ATOMIC_RELAXED);
}

/* Installs o (whose reference passes to the slot) on fd, dropping
 * whatever the slot held: an object there is stale, its fd was closed in a
 * way the shim could not see. */
static void slot_install(int fd, struct slab *o, int cloexec)
{
    _Atomic uintptr_t *s = slot_at(fd, 1);
    if (s == NULL) {
        slab_put(o);
        return;
    }
    count_fd(o, fd);
    slot_value_put(atomic_exchange_explicit(s, slot_value(o, cloexec), memory_order_acq_rel));
}

/* Forgets fd if its slot still holds o: a socket() in another thread
 * that got the same number after the real close keeps its entry. The slot
 * keeps a tombstone, so that a later call on the number can be told to be
 * on a socket closed before (use after close, double close). */
static void slot_forget_obj(int fd, struct slab *o)
{
    _Atomic uintptr_t *s = slot_at(fd, 0);
    if (s == NULL || o == NULL)
        return;
    uintptr_t v = atomic_load_explicit(s, memory_order_acquire);
    while (slot_has_obj(v) && slot_obj(v) == o) {
        if (atomic_compare_exchange_weak_explicit(s, &v, SLOT_CLOSED, memory_order_acq_rel,
                                                  memory_order_acquire)) {
            slot_value_put(v);
            return;
        }
    }
}

/* Forgets fd whatever it held but the shim's own (the real call closed it;
 * used for ranges, where the program's own race decides anyway); a socket
 * leaves a tombstone. Returns what the slot held, whose object reference
 * passes to the caller (0 when nothing changed). */
static uintptr_t slot_take(int fd)
{
    _Atomic uintptr_t *s = slot_at(fd, 0);
    if (s == NULL)
        return 0;
    uintptr_t v = atomic_load_explicit(s, memory_order_acquire);
    while (v != 0 && v != SLOT_SHIM) {
        uintptr_t after = slot_has_obj(v) || v == SLOT_CLOSED ? SLOT_CLOSED : 0;
        if (v == after)
            return 0;
        if (atomic_compare_exchange_weak_explicit(s, &v, after, memory_order_acq_rel,
                                                  memory_order_acquire))
            return v;
    }
    return 0;
}

/* Forgets what fd was known to be, not being a socket now (a file or a
 * tombstone's number was closed successfully). */
static void slot_forget_not_socket(int fd)
{
    _Atomic uintptr_t *s = slot_at(fd, 0);
    if (s == NULL)
        return;
    uintptr_t tag = atomic_load_explicit(s, memory_order_acquire);
    if (tag == SLOT_NOT_SOCKET || tag == SLOT_CLOSED)
        atomic_compare_exchange_strong_explicit(s, &tag, 0, memory_order_acq_rel,
                                                memory_order_relaxed);
}

static void slot_set_cloexec(int fd, int on)
{
    _Atomic uintptr_t *s = slot_at(fd, 0);
    if (s == NULL)
        return;
    uintptr_t v = atomic_load_explicit(s, memory_order_acquire);
    while (slot_has_obj(v)) {
        uintptr_t want = on ? (v | SLOT_CLOEXEC) : (v & ~SLOT_CLOEXEC);
        if (atomic_compare_exchange_weak_explicit(s, &v, want, memory_order_acq_rel,
                                                  memory_order_acquire))
            return;
    }
}

/* Calls visit(fd, slot value, arg) for each fd in [first, last] whose
 * page of the table exists (a slot on a missing page is 0: unknown). */
static void for_each_slot_in_range(unsigned first, unsigned last,
                                   void (*visit)(int fd, uintptr_t slot, void *arg), void *arg)
{
    if (first >= FDS_PER_PAGE * FD_PAGES)
        return;
    if (last >= FDS_PER_PAGE * FD_PAGES)
        last = FDS_PER_PAGE * FD_PAGES - 1;
    for (unsigned page = first / FDS_PER_PAGE; page <= last / FDS_PER_PAGE; page++) {
        _Atomic uintptr_t *p = atomic_load_explicit(&fd_pages[page], memory_order_acquire);
        if (p == NULL)
            continue;
        unsigned lo = page * FDS_PER_PAGE > first ? page * FDS_PER_PAGE : first;
        unsigned hi = page * FDS_PER_PAGE + FDS_PER_PAGE - 1 < last
                          ? page * FDS_PER_PAGE + FDS_PER_PAGE - 1
                          : last;
        for (unsigned fd = lo; fd <= hi; fd++)
            visit((int)fd, atomic_load_explicit(&p[fd % FDS_PER_PAGE], memory_order_acquire),
                  arg);
    }
}

/* ---- adoption of sockets the process did not create ------------------- */

static int sockopt_int(int fd, int level, int optname, int *value)
{
    socklen_t len = sizeof *value;
    return ss_real.getsockopt(fd, level, optname, value, &len) == 0 ? 0 : -1;
}

/* Whether fd is a socket, and what kind: 0 when it is no socket (the slot
 * then remembers that, unless it changed since it read seen) or is not
 * open. */
static int probe(int fd, uintptr_t seen, struct ss_fd_probe *p, enum ss_fd_kind *kind)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return 0;
    if (!S_ISSOCK(st.st_mode)) {
        _Atomic uintptr_t *s = slot_at(fd, 1);
        if (s != NULL)
            atomic_compare_exchange_strong_explicit(s, &seen, SLOT_NOT_SOCKET,
                                                    memory_order_acq_rel, memory_order_relaxed);
        *kind = SS_FD_NOT_SOCKET;
        return 0;
    }
    *p = (struct ss_fd_probe){.family = AF_UNSPEC};
    sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &p->family);
    sockopt_int(fd, SOL_SOCKET, SO_TYPE, &p->type);
    sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &p->protocol);
    sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &p->listening);
    return 1;
}

/* The object the model builds for fd, with the caller's reference; NULL
 * if fd is no socket or is not open (or out of memory). */
static struct slab *examine(int fd, uintptr_t seen, enum ss_fd_kind *kind, ss_fd_adopt_fn *adopt)
{
    struct ss_fd_probe p;
    *kind = seen == SLOT_CLOSED ? SS_FD_CLOSED_SOCKET : SS_FD_UNKNOWN;
    if (!probe(fd, seen, &p, kind))
        return NULL;
    struct ss_obj *obj = adopt(fd, &p);
    if (obj == NULL)
        return NULL;
    *kind = SS_FD_SOCKET;
    return slab_of(obj);
}

/* Adopts fd: examines it and installs the object unless another thread got
 * there first. Returns the object with the caller's reference, or NULL. */
static struct slab *adopt_fd(int fd, uintptr_t seen, enum ss_fd_kind *kind, int *adopted,
                             ss_fd_adopt_fn *adopt)
{
    int saved = errno;
    struct slab *o = examine(fd, seen, kind, adopt);
    if (o == NULL) {
        errno = saved;
        return NULL;
    }
    int cloexec = ss_real.fcntl(fd, F_GETFD) > 0;
    errno = saved;
    _Atomic uintptr_t *s = slot_at(fd, 1);
    if (s == NULL) { /* fds this high are not kept: the object serves this call */
        *adopted = 1;
        return o;
    }
    uintptr_t expected = seen;
    atomic_fetch_add_explicit(&o->head.refs, 1, memory_order_relaxed); /* the slot's */
    count_fd(o, fd);
    if (atomic_compare_exchange_strong_explicit(s, &expected, slot_value(o, cloexec),
                                                memory_order_acq_rel, memory_order_acquire)) {
        *adopted = 1;
        return o;
    }
    /* another thread adopted or created it meanwhile: use its object */
    atomic_fetch_sub_explicit(&o->head.nfds, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&o->head.refs, 1, memory_order_relaxed);
    slab_put(o);
    return NULL;
}

/* ---- lookup ----------------------------------------------------------- */

struct ss_obj *ss_fdtable_get(int fd, enum ss_fd_kind *kind, int *adopted,
                              ss_fd_adopt_fn *adopt)
{
    int dummy;
    if (adopted == NULL)
        adopted = &dummy;
    *adopted = 0;
    for (int attempt = 0; attempt < 64; attempt++) {
        uintptr_t v = slot_load(fd);
        if (v == SLOT_NOT_SOCKET || v == SLOT_SHIM) {
            *kind = v == SLOT_SHIM ? SS_FD_SHIM : SS_FD_NOT_SOCKET;
            return NULL;
        }
        if (v == 0 || v == SLOT_CLOSED) {
            struct slab *o = adopt_fd(fd, v, kind, adopted, adopt);
            if (o != NULL || *kind != SS_FD_SOCKET)
                return o != NULL ? obj_of(o) : NULL;
            continue;
        }
        struct slab *o = slot_obj(v);
        if (obj_get_unless_zero(o)) {
            if (slot_load(fd) == v) {
                *kind = SS_FD_SOCKET;
                return obj_of(o);
            }
            slab_put(o);
        }
    }
    *kind = SS_FD_UNKNOWN;
    return NULL;
}

enum ss_fd_kind ss_fdtable_kind(int fd)
{
    uintptr_t v = slot_load(fd);
    if (v == 0)
        return SS_FD_UNKNOWN;
    if (v == SLOT_NOT_SOCKET)
        return SS_FD_NOT_SOCKET;
    if (v == SLOT_SHIM)
        return SS_FD_SHIM;
    if (v == SLOT_CLOSED)
        return SS_FD_CLOSED_SOCKET;
    return SS_FD_SOCKET;
}

int ss_fdtable_cloexec(int fd)
{
    return slot_has_obj(slot_load(fd)) && (slot_load(fd) & SLOT_CLOEXEC) != 0;
}

/* ---- what calls do to the table ---------------------------------------- */

void ss_fdtable_install(int fd, struct ss_obj *obj, int cloexec)
{
    slot_install(fd, slab_of(obj), cloexec);
}

void ss_fdtable_dup(struct ss_obj *obj, int newfd, int cloexec)
{
    if (obj == NULL || !obj_get_unless_zero(slab_of(obj)))
        return;
    slot_install(newfd, slab_of(obj), cloexec);
}

void ss_fdtable_release_closing(int fd, struct ss_obj *obj)
{
    slot_forget_obj(fd, obj != NULL ? slab_of(obj) : NULL);
}

void ss_fdtable_forget(int fd)
{
    slot_value_put(slot_take(fd));
}

void ss_fdtable_forget_not_socket(int fd)
{
    slot_forget_not_socket(fd);
}

void ss_fdtable_set_cloexec(int fd, int on)
{
    slot_set_cloexec(fd, on);
}

/* What a range close does to each fd of its range. */
struct range_effect {
    int cloexec; /* CLOSE_RANGE_CLOEXEC: the fds stay, close-on-exec */
    ss_fdtable_gone_fn *last_fd_gone;
    void *arg;
};

/* A range close took fd: an object whose last fd it was is passed on
 * while the slot's reference is still held. */
static void close_range_fd(int fd, const struct range_effect *e)
{
    uintptr_t v = slot_take(fd);
    if (!slot_has_obj(v))
        return;
    struct slab *o = slot_obj(v);
    if (atomic_fetch_sub_explicit(&o->head.nfds, 1, memory_order_relaxed) == 1)
        e->last_fd_gone(obj_of(o), fd, e->arg);
    slab_put(o);
}

static void range_close_fd(int fd, uintptr_t slot, void *arg)
{
    const struct range_effect *e = arg;
    (void)slot;
    if (e->cloexec)
        slot_set_cloexec(fd, 1);
    else
        close_range_fd(fd, e);
}

void ss_fdtable_close_range(unsigned first, unsigned last, int cloexec,
                            ss_fdtable_gone_fn *last_fd_gone, void *arg)
{
    struct range_effect e = {cloexec, last_fd_gone, arg};
    for_each_slot_in_range(first, last, range_close_fd, &e);
}

/* ---- walks ------------------------------------------------------------- */

/* The fds in [first, last] whose slots say match (an object: the
 * sockets; or the shim's own), up to max of them in fds, and how many. */
struct slot_list {
    int shim; /* the shim's own fds, or the sockets */
    int *fds, max, n;
};

static void list_slot(int fd, uintptr_t slot, void *arg)
{
    struct slot_list *l = arg;
    if (l->shim ? slot != SLOT_SHIM : !slot_has_obj(slot))
        return;
    if (l->n < l->max)
        l->fds[l->n] = fd;
    l->n++;
}

static int slots_in_range(unsigned first, unsigned last, int *fds, int max, int shim)
{
    struct slot_list l = {shim, fds, max, 0};
    for_each_slot_in_range(first, last, list_slot, &l);
    return l.n;
}

int ss_fdtable_shim_fds_in_range(unsigned first, unsigned last, int *fds, int max)
{
    return slots_in_range(first, last, fds, max, 1);
}

int ss_fdtable_sockets_in_range(unsigned first, unsigned last, int *fds, int max)
{
    return slots_in_range(first, last, fds, max, 0);
}

struct socket_visit {
    ss_fdtable_visit_fn *fn;
    void *arg;
};

static void visit_socket_slot(int fd, uintptr_t slot, void *arg)
{
    const struct socket_visit *v = arg;
    if (!slot_has_obj(slot) || !obj_get_unless_zero(slot_obj(slot)))
        return;
    v->fn(fd, obj_of(slot_obj(slot)), v->arg);
    slab_put(slot_obj(slot));
}

void ss_fdtable_each_socket_in_range(unsigned first, unsigned last, ss_fdtable_visit_fn *fn,
                                     void *arg)
{
    struct socket_visit v = {fn, arg};
    for_each_slot_in_range(first, last, visit_socket_slot, &v);
}

void ss_fdtable_each_socket(ss_fdtable_visit_fn *fn, void *arg)
{
    uint32_t used = atomic_load_explicit(&next_unused, memory_order_acquire);
    for (uint32_t i = 0; i < used && i < OBJS_PER_CHUNK * MAX_CHUNKS; i++) {
        struct slab *o = obj_at(i);
        if (o == NULL || atomic_load_explicit(&o->head.nfds, memory_order_acquire) == 0 ||
            !obj_get_unless_zero(o))
            continue;
        if (atomic_load_explicit(&o->head.nfds, memory_order_acquire) != 0)
            fn(__atomic_load_n(&o->head.fd_hint, __ATOMIC_RELAXED), obj_of(o), arg);
        slab_put(o);
    }
}

/* ---- the shim's own fds ------------------------------------------------ */

void ss_fdtable_claim(int fd)
{
    _Atomic uintptr_t *s = slot_at(fd, 1);
    if (s != NULL)
        slot_value_put(atomic_exchange_explicit(s, SLOT_SHIM, memory_order_acq_rel));
}

void ss_fdtable_unclaim(int fd)
{
    _Atomic uintptr_t *s = slot_at(fd, 0);
    uintptr_t shim = SLOT_SHIM;
    if (s != NULL)
        atomic_compare_exchange_strong_explicit(s, &shim, 0, memory_order_acq_rel,
                                                memory_order_relaxed);
}

int ss_fdtable_move_claimed(int old, int dup_cmd)
{
    int fresh = ss_real.fcntl(old, dup_cmd, old + 1);
    if (fresh < 0)
        fresh = ss_real.fcntl(old, dup_cmd, 3);
    if (fresh < 0)
        return -1;
    ss_fdtable_claim(fresh);
    ss_fdtable_unclaim(old);
    ss_real.close(old);
    return fresh;
}

/* ---- process events ---------------------------------------------------- */

/* In a forked child only the forking thread exists: an object lock held by
 * any other thread at the fork would stay held forever. */
void ss_fdtable_after_fork_child(void (*reset)(struct ss_obj *obj))
{
    tls_locked = NULL;
    uint32_t used = atomic_load_explicit(&next_unused, memory_order_relaxed);
    for (uint32_t i = 0; i < used; i++) {
        struct slab *o = obj_at(i);
        if (o != NULL) {
            atomic_store_explicit(&o->head.lock, 0, memory_order_relaxed);
            reset(obj_of(o));
        }
    }
}
