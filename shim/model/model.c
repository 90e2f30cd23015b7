/* sockshim: the socket-object model (see model.h for its rules). */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "audit.h"
#include "fault_event.h"
#include "internal.h"
#include "real.h"

/* ---- objects ---------------------------------------------------------- */

struct ss_opt {
    int level, optname, value;
};

struct ss_obj {
    _Atomic uint32_t refs;      /* fd slots referring to it + calls in flight */
    _Atomic uint32_t nfds;      /* fd slots referring to it */
    _Atomic uint32_t lock;      /* guards everything below */
    _Atomic uint32_t next_free; /* free-list link (index + 1; 0 ends it) */
    uint32_t index;
    uint64_t id;
    int family, type, protocol;
    unsigned state;
    /* written under the lock; read without it by ss_obj_nonblocking */
    _Atomic int nonblocking;
    unsigned names_known; /* NAME_LOCAL, NAME_PEER: fetched from the kernel */
    struct ss_addr laddr, raddr;
    enum ss_fn created_by;
    _Atomic uint32_t accepted;  /* connections accepted from it: their keys */
    uint64_t created_ns;
    uint64_t calls, errors, faults, bytes_sent, bytes_received;
    struct ss_opt opts[SS_MODEL_MAX_OPTS];
    unsigned n_opts;
    int fd_hint;                /* one of the fds that name it */
    /* bumped (under the lock) when what a snapshot shows changes; read
     * without it by ss_model_recorded */
    _Atomic uint32_t version;
    /* this process's pid << 32 | the highest version of this socket a call
     * record in the run's ring holds whole (ss_model_mark_recorded) */
    _Atomic uint64_t recorded;
    struct ss_audit_sock audit;
    struct ss_fault_sock fault; /* fault_event.c */
    /* the capture's (--pcap) names for an AF_UNIX socket (capture.c) */
    uint64_t cap_ino, cap_peer_ino;
    unsigned cap_known; /* SS_CAP_KNOW_* */
    /* the fault engine's per-socket counts (ss_model_count) */
    _Atomic uint32_t counts[SS_MODEL_COUNTERS];
    uint64_t stable_key; /* set before the object is published, then fixed */
} __attribute__((aligned(64)));

/* docs/architecture.md states the memory a socket costs */
_Static_assert(sizeof(struct ss_obj) == 704, "update docs/architecture.md");

enum { NAME_LOCAL = 1, NAME_PEER = 2 };

/* Under the object's lock: what a snapshot shows changed. */
static void bump_version(struct ss_obj *o)
{
    atomic_store_explicit(&o->version, atomic_load_explicit(&o->version, memory_order_relaxed) + 1,
                          memory_order_release);
}

/* Objects live in chunks that are mapped on demand and never unmapped, so a
 * stale pointer always points at some object: a race in the program can
 * blur a counter, never crash the shim. */
#define OBJS_PER_CHUNK 256u
#define MAX_CHUNKS 8192u /* 2 Mi objects */

static _Atomic(struct ss_obj *) chunks[MAX_CHUNKS];
static _Atomic uint32_t next_unused; /* bump allocator over chunk space */
/* Free list head: generation in the high half (against ABA), index + 1 in
 * the low half. */
static _Atomic uint64_t free_head;
static _Atomic uint64_t next_id = 1;

/* The object of a slot, or NULL if its chunk is not mapped (or the index is
 * past the chunk table). */
static struct ss_obj *obj_at(uint32_t index)
{
    if (index >= OBJS_PER_CHUNK * MAX_CHUNKS)
        return NULL;
    struct ss_obj *chunk =
        atomic_load_explicit(&chunks[index / OBJS_PER_CHUNK], memory_order_acquire);
    return chunk != NULL ? &chunk[index % OBJS_PER_CHUNK] : NULL;
}

static struct ss_obj *chunk_for(uint32_t index)
{
    _Atomic(struct ss_obj *) *slot = &chunks[index / OBJS_PER_CHUNK];
    struct ss_obj *chunk = atomic_load_explicit(slot, memory_order_acquire);
    if (chunk != NULL)
        return chunk;
    size_t size = OBJS_PER_CHUNK * sizeof(struct ss_obj);
    void *mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    struct ss_obj *fresh = mem;
    for (uint32_t i = 0; i < OBJS_PER_CHUNK; i++)
        fresh[i].index = (index / OBJS_PER_CHUNK) * OBJS_PER_CHUNK + i;
    struct ss_obj *expected = NULL;
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

static struct ss_obj *pop_free(void)
{
    uint64_t head = atomic_load_explicit(&free_head, memory_order_acquire);
    for (;;) {
        uint32_t top = (uint32_t)head;
        if (top == 0)
            return NULL;
        struct ss_obj *o = obj_at(top - 1);
        /* Cannot happen: only objects of mapped chunks are ever pushed, and
         * chunks are never unmapped. Without the check, though, the loop
         * would read next_free through NULL if obj_at ever said so (gcc 12
         * at -O3 makes that path a copy of its own and warns of it); the
         * caller then takes a fresh object instead. */
        if (o == NULL)
            return NULL;
        uint32_t next = atomic_load_explicit(&o->next_free, memory_order_relaxed);
        uint64_t want = ((head >> 32) + 1) << 32 | next;
        if (atomic_compare_exchange_weak_explicit(&free_head, &head, want, memory_order_acq_rel,
                                                  memory_order_acquire))
            return o;
    }
}

static void push_free(struct ss_obj *o)
{
    uint64_t head = atomic_load_explicit(&free_head, memory_order_relaxed);
    for (;;) {
        atomic_store_explicit(&o->next_free, (uint32_t)head, memory_order_relaxed);
        uint64_t want = ((head >> 32) + 1) << 32 | (o->index + 1);
        if (atomic_compare_exchange_weak_explicit(&free_head, &head, want, memory_order_release,
                                                  memory_order_relaxed))
            return;
    }
}

/* ---- stable keys ------------------------------------------------------ */

/* The socket() and socketpair() calls that made sockets in this process,
 * and the sockets it adopted (and, in a forked child, those of its parent
 * before the fork). */
static _Atomic uint64_t sockets_made, sockets_adopted;

enum key_origin { KEY_MADE = 1, KEY_ACCEPTED, KEY_ADOPTED };

/* Keys are hashed so that the draws of sockets with neighbouring numbers
 * are unrelated; a child's key includes its parent's (a listener's). */
static uint64_t key_of(uint64_t parent, enum key_origin origin, uint64_t number)
{
    return ss_mix64(parent ^ ss_mix64((uint64_t)origin << 56 ^ number));
}

/* The number of a socket() or socketpair() call that made sockets: both
 * ends of a pair come from one number, so that another thread's socket()
 * can never fall between them. */
static uint64_t next_made_number(void)
{
    return atomic_fetch_add_explicit(&sockets_made, 1, memory_order_relaxed) + 1;
}

static uint64_t made_key(uint64_t number, unsigned end)
{
    return key_of(0, KEY_MADE, number << 1 | end);
}

/* The k-th connection accepted from a listener: independent of the sockets
 * other threads make meanwhile. Without the listener's object (out of
 * memory), the new fd's number stands in. */
static uint64_t accepted_key(struct ss_obj *listener, int fd)
{
    if (listener == NULL)
        return key_of(0, KEY_ACCEPTED, (uint64_t)fd);
    uint32_t k = atomic_fetch_add_explicit(&listener->accepted, 1, memory_order_relaxed) + 1;
    return key_of(listener->stable_key, KEY_ACCEPTED, k);
}

/* A socket the process did not make (inherited, received), numbered in
 * the order of first use. Not by its fd number: the sockets a server
 * receives one after the other often all get the same one. */
static uint64_t adopted_key(void)
{
    return key_of(0, KEY_ADOPTED,
                  atomic_fetch_add_explicit(&sockets_adopted, 1, memory_order_relaxed) + 1);
}

/* A new object with one reference (the caller's), or NULL when out of
 * memory: the shim then just does not model that socket. */
static struct ss_obj *obj_new(int family, int type, int protocol, enum ss_fn created_by,
                              uint64_t stable_key)
{
    struct ss_obj *o = pop_free();
    if (o == NULL) {
        uint32_t index;
        if (!take_unused(&index))
            return NULL;
        struct ss_obj *chunk = chunk_for(index);
        if (chunk == NULL)
            return NULL;
        o = &chunk[index % OBJS_PER_CHUNK];
    }
    /* Nobody else can reach o yet: plain initialisation is safe. */
    uint32_t index = o->index;
    memset((char *)o + offsetof(struct ss_obj, id), 0,
           sizeof *o - offsetof(struct ss_obj, id));
    o->index = index;
    o->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    o->family = family;
    o->type = type;
    o->protocol = protocol;
    o->created_by = created_by;
    o->created_ns = ss_now_ns();
    o->stable_key = stable_key;
    atomic_store_explicit(&o->lock, 0, memory_order_relaxed);
    atomic_store_explicit(&o->refs, 1, memory_order_release);
    return o;
}

void ss_obj_put(struct ss_obj *o)
{
    if (o != NULL && atomic_fetch_sub_explicit(&o->refs, 1, memory_order_acq_rel) == 1)
        push_free(o);
}

/* Takes a reference unless the count already reached zero. */
static int obj_get_unless_zero(struct ss_obj *o)
{
    uint32_t r = atomic_load_explicit(&o->refs, memory_order_relaxed);
    while (r != 0) {
        if (atomic_compare_exchange_weak_explicit(&o->refs, &r, r + 1, memory_order_acquire,
                                                  memory_order_relaxed))
            return 1;
    }
    return 0;
}

/* ---- the object lock -------------------------------------------------- */

/* The object this thread holds locked, so that a signal handler running on
 * the same thread never waits for its own interrupted holder. */
static __thread struct ss_obj *tls_locked;

static int obj_lock(struct ss_obj *o)
{
    if (tls_locked != NULL)
        return 0; /* nested in our own critical section: skip, never wait */
    for (unsigned spin = 0; spin < 4096; spin++) {
        if (!atomic_exchange_explicit(&o->lock, 1, memory_order_acquire)) {
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

static void obj_unlock(struct ss_obj *o)
{
    tls_locked = NULL;
    atomic_store_explicit(&o->lock, 0, memory_order_release);
}

/* ---- the fd table ----------------------------------------------------- */

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

static struct ss_obj *slot_obj(uintptr_t v)
{
    return (struct ss_obj *)(v & ~SLOT_TAGS);
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
    if ((v & ~SLOT_TAGS) != 0) {
        atomic_fetch_sub_explicit(&slot_obj(v)->nfds, 1, memory_order_relaxed);
        ss_obj_put(slot_obj(v));
    }
}

/* Installs obj (whose reference passes to the slot) on fd, dropping
 * whatever the slot held: an object there is stale, its fd was closed in a
 * way the shim could not see. */
static void slot_install(int fd, struct ss_obj *obj, int cloexec)
{
    _Atomic uintptr_t *s = slot_at(fd, 1);
    if (s == NULL) {
        ss_obj_put(obj);
        return;
    }
    uintptr_t v = (uintptr_t)obj | (cloexec ? SLOT_CLOEXEC : 0);
    atomic_fetch_add_explicit(&obj->nfds, 1, memory_order_relaxed);
    __atomic_store_n(&obj->fd_hint, fd, __ATOMIC_RELAXED);
    slot_value_put(atomic_exchange_explicit(s, v, memory_order_acq_rel));
}

/* Forgets fd if its slot still holds obj: a socket() in another thread
 * that got the same number after the real close keeps its entry. The slot
 * keeps a tombstone, so that a later call on the number can be told to be
 * on a socket closed before (use after close, double close). */
static void slot_forget_obj(int fd, struct ss_obj *obj)
{
    _Atomic uintptr_t *s = slot_at(fd, 0);
    if (s == NULL || obj == NULL)
        return;
    uintptr_t v = atomic_load_explicit(s, memory_order_acquire);
    while ((v & ~SLOT_TAGS) != 0 && slot_obj(v) == obj) {
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
        uintptr_t after = (v & ~SLOT_TAGS) != 0 || v == SLOT_CLOSED ? SLOT_CLOSED : 0;
        if (v == after)
            return 0;
        if (atomic_compare_exchange_weak_explicit(s, &v, after, memory_order_acq_rel,
                                                  memory_order_acquire))
            return v;
    }
    return 0;
}

static void slot_clear(int fd)
{
    slot_value_put(slot_take(fd));
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
    while ((v & ~SLOT_TAGS) != 0) {
        uintptr_t want = on ? (v | SLOT_CLOEXEC) : (v & ~SLOT_CLOEXEC);
        if (atomic_compare_exchange_weak_explicit(s, &v, want, memory_order_acq_rel,
                                                  memory_order_acquire))
            return;
    }
}

void ss_model_claim_fd(int fd)
{
    _Atomic uintptr_t *s = slot_at(fd, 1);
    if (s != NULL)
        slot_value_put(atomic_exchange_explicit(s, SLOT_SHIM, memory_order_acq_rel));
}

void ss_model_release_fd(int fd)
{
    _Atomic uintptr_t *s = slot_at(fd, 0);
    uintptr_t shim = SLOT_SHIM;
    if (s != NULL)
        atomic_compare_exchange_strong_explicit(s, &shim, 0, memory_order_acq_rel,
                                                memory_order_relaxed);
}

/* ---- options ---------------------------------------------------------- */

/* An option's value (the first int of what was set: l_onoff of a linger,
 * the seconds of a timeout), kept in the order options were first set. */
static void set_option(struct ss_obj *o, int level, int optname, int value)
{
    for (unsigned i = 0; i < o->n_opts; i++) {
        if (o->opts[i].level == level && o->opts[i].optname == optname) {
            o->opts[i].value = value;
            return;
        }
    }
    if (o->n_opts < SS_MODEL_MAX_OPTS)
        o->opts[o->n_opts++] = (struct ss_opt){level, optname, value};
}

/* ---- adoption of sockets the process did not create ------------------- */

static int sockopt_int(int fd, int level, int optname, int *value)
{
    socklen_t len = sizeof *value;
    return ss_real.getsockopt(fd, level, optname, value, &len) == 0 ? 0 : -1;
}

/* The options of an adopted TCP socket that the audit acts on (Nagle's
 * algorithm off or corked), set before the shim saw the socket or taken
 * from its listener: asked of the kernel once, here, and recorded when on,
 * as a setsockopt would have been. A listener adopted this way passes them
 * on to the sockets it accepts. */
static void learn_tcp_options(struct ss_obj *o, int fd)
{
    static const int asked[] = {TCP_NODELAY, TCP_CORK};
    for (size_t i = 0; i < sizeof asked / sizeof asked[0]; i++) {
        int value = 0;
        if (sockopt_int(fd, IPPROTO_TCP, asked[i], &value) == 0 && value != 0)
            set_option(o, IPPROTO_TCP, asked[i], value);
    }
}

static int is_tcp(int family, int type, int protocol)
{
    return (family == AF_INET || family == AF_INET6) && type == SOCK_STREAM &&
           (protocol == 0 || protocol == IPPROTO_TCP);
}

/* Builds an object from what the kernel says of fd; NULL if fd is no
 * socket (the slot then remembers that) or is not open. */
static struct ss_obj *examine(int fd, uintptr_t seen, enum ss_fd_kind *kind)
{
    struct stat st;
    *kind = seen == SLOT_CLOSED ? SS_FD_CLOSED_SOCKET : SS_FD_UNKNOWN;
    if (fstat(fd, &st) != 0)
        return NULL;
    if (!S_ISSOCK(st.st_mode)) {
        _Atomic uintptr_t *s = slot_at(fd, 1);
        if (s != NULL)
            atomic_compare_exchange_strong_explicit(s, &seen, SLOT_NOT_SOCKET,
                                                    memory_order_acq_rel, memory_order_relaxed);
        *kind = SS_FD_NOT_SOCKET;
        return NULL;
    }
    int family = AF_UNSPEC, type = 0, protocol = 0, listening = 0;
    sockopt_int(fd, SOL_SOCKET, SO_DOMAIN, &family);
    sockopt_int(fd, SOL_SOCKET, SO_TYPE, &type);
    sockopt_int(fd, SOL_SOCKET, SO_PROTOCOL, &protocol);
    sockopt_int(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening);
    struct ss_obj *o = obj_new(family, type, protocol, SS_FN_COUNT, adopted_key());
    if (o == NULL)
        return NULL;
    o->state = SS_ST_ADOPTED | (listening ? SS_ST_LISTENING | SS_ST_BOUND : 0);
    int fl = ss_real.fcntl(fd, F_GETFL);
    o->nonblocking = fl >= 0 && (fl & O_NONBLOCK);
    o->raddr.len = sizeof o->raddr.sa;
    if (ss_real.getpeername(fd, (struct sockaddr *)&o->raddr.sa, &o->raddr.len) == 0) {
        o->state |= SS_ST_CONNECTED;
        o->names_known |= NAME_PEER;
    } else {
        o->raddr.len = 0;
    }
    o->laddr.len = sizeof o->laddr.sa;
    if (ss_real.getsockname(fd, (struct sockaddr *)&o->laddr.sa, &o->laddr.len) == 0)
        o->names_known |= NAME_LOCAL;
    else
        o->laddr.len = 0;
    if (is_tcp(family, type, protocol))
        learn_tcp_options(o, fd);
    *kind = SS_FD_SOCKET;
    return o;
}

/* ---- lookup ----------------------------------------------------------- */

/* Adopts fd: examines it and installs the object unless another thread got
 * there first. Returns the object with the caller's reference, or NULL. */
static struct ss_obj *adopt(int fd, uintptr_t seen, enum ss_fd_kind *kind, int *adopted)
{
    int saved = errno;
    struct ss_obj *o = examine(fd, seen, kind);
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
    uintptr_t v = (uintptr_t)o | (cloexec ? SLOT_CLOEXEC : 0);
    atomic_fetch_add_explicit(&o->refs, 1, memory_order_relaxed); /* the slot's */
    atomic_fetch_add_explicit(&o->nfds, 1, memory_order_relaxed);
    __atomic_store_n(&o->fd_hint, fd, __ATOMIC_RELAXED);
    if (atomic_compare_exchange_strong_explicit(s, &expected, v, memory_order_acq_rel,
                                                memory_order_acquire)) {
        *adopted = 1;
        return o;
    }
    /* another thread adopted or created it meanwhile: use its object */
    atomic_fetch_sub_explicit(&o->nfds, 1, memory_order_relaxed);
    atomic_fetch_sub_explicit(&o->refs, 1, memory_order_relaxed);
    ss_obj_put(o);
    return NULL;
}

struct ss_obj *ss_model_get(int fd, enum ss_fd_kind *kind, int *adopted)
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
            struct ss_obj *o = adopt(fd, v, kind, adopted);
            if (o != NULL || *kind != SS_FD_SOCKET)
                return o;
            continue;
        }
        struct ss_obj *o = slot_obj(v);
        if (obj_get_unless_zero(o)) {
            if (slot_load(fd) == v) {
                *kind = SS_FD_SOCKET;
                return o;
            }
            ss_obj_put(o);
        }
    }
    *kind = SS_FD_UNKNOWN;
    return NULL;
}

enum ss_fd_kind ss_model_kind(int fd)
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

int ss_model_cloexec(int fd)
{
    return (slot_load(fd) & ~SLOT_TAGS) != 0 && (slot_load(fd) & SLOT_CLOEXEC) != 0;
}

int ss_model_lock(struct ss_obj *o)
{
    return o != NULL && obj_lock(o);
}

void ss_model_unlock(struct ss_obj *o)
{
    obj_unlock(o);
}

struct ss_audit_sock *ss_model_audit_state(struct ss_obj *o)
{
    return &o->audit;
}

struct ss_fault_sock *ss_model_fault_state(struct ss_obj *o)
{
    return &o->fault;
}

void ss_model_cap_ids(struct ss_obj *o, struct ss_cap_ids *out)
{
    memset(out, 0, sizeof *out);
    if (o == NULL || !obj_lock(o))
        return;
    out->ino = o->cap_ino;
    out->peer_ino = o->cap_peer_ino;
    out->known = o->cap_known;
    obj_unlock(o);
}

void ss_model_set_cap_ids(struct ss_obj *o, const struct ss_cap_ids *ids)
{
    if (o == NULL || !obj_lock(o))
        return;
    if (ids->known & SS_CAP_KNOW_INO)
        o->cap_ino = ids->ino;
    if (ids->known & SS_CAP_KNOW_PEER)
        o->cap_peer_ino = ids->peer_ino;
    o->cap_known |= ids->known;
    obj_unlock(o);
}

uint64_t ss_model_id(const struct ss_obj *o)
{
    return o->id;
}

void ss_model_origin(struct ss_obj *o, enum ss_fn *created_by, uint64_t *created_ns)
{
    *created_by = o->created_by;
    *created_ns = o->created_ns;
}

int ss_model_options(struct ss_obj *o, int (*opts)[3], int max)
{
    int n = 0;
    for (unsigned i = 0; i < o->n_opts && n < max; i++, n++) {
        opts[n][0] = o->opts[i].level;
        opts[n][1] = o->opts[i].optname;
        opts[n][2] = o->opts[i].value;
    }
    return n;
}

void ss_model_mark_reset(struct ss_obj *o)
{
    if (o != NULL && obj_lock(o)) {
        o->state = (o->state & ~(unsigned)(SS_ST_CONNECTED | SS_ST_CONNECTING)) | SS_ST_RESET |
                   SS_ST_SHUT_RD | SS_ST_SHUT_WR;
        bump_version(o);
        obj_unlock(o);
    }
}

uint64_t ss_model_stable_key(struct ss_obj *o)
{
    return o->stable_key;
}

uint32_t ss_model_count(struct ss_obj *o, unsigned counter)
{
    return atomic_fetch_add_explicit(&o->counts[counter % SS_MODEL_COUNTERS], 1,
                                     memory_order_relaxed) +
           1;
}

/* Read without the lock, on every call (to tell connect from connect_ex):
 * another thread's setblocking racing with this call may or may not be
 * seen, as with the kernel's own flag. */
int ss_obj_nonblocking(struct ss_obj *o)
{
    return o != NULL && atomic_load_explicit(&o->nonblocking, memory_order_relaxed);
}

/* ---- effects of calls ------------------------------------------------- */

static void copy_addr(struct ss_addr *dst, const struct sockaddr *sa, socklen_t len)
{
    /* dst is an address of an object whose lock the caller holds: the
     * object's version is bumped by the caller (update_object) */
    if (sa == NULL || len == 0) {
        dst->len = 0;
        return;
    }
    if (len > sizeof dst->sa)
        len = sizeof dst->sa;
    memcpy(&dst->sa, sa, len);
    dst->len = len;
}

static void note_option(struct ss_obj *o, const struct ss_call *c)
{
    int value = 0;
    if (c->optval != NULL && c->optlen >= sizeof(int))
        memcpy(&value, c->optval, sizeof value);
    set_option(o, c->level, c->optname, value);
}

static void note_transfer(struct ss_obj *o, const struct ss_call *c, int sending)
{
    if (c->failed)
        return;
    if (sending)
        o->bytes_sent += (uint64_t)c->ret;
    else
        o->bytes_received += (uint64_t)c->ret;
}

static void note_connect(struct ss_obj *o, const struct ss_call *c)
{
    if (c->addr != NULL && c->addrlen >= sizeof(sa_family_t) &&
        c->addr->sa_family == AF_UNSPEC) {
        if (!c->failed) { /* dissolves a datagram association */
            o->state &= ~(unsigned)(SS_ST_CONNECTED | SS_ST_CONNECTING);
            o->raddr.len = 0;
        }
        return;
    }
    /* an interrupted TCP connect goes on in the background, as POSIX says
     * (an AF_UNIX one does not) */
    int interrupted = c->err == EINTR && o->type == SOCK_STREAM && o->family != AF_UNIX;
    if (!c->failed || c->err == EINPROGRESS || c->err == EALREADY || interrupted) {
        o->state |= c->failed ? SS_ST_CONNECTING : SS_ST_CONNECTED;
        if (!c->failed)
            o->state &= ~(unsigned)SS_ST_CONNECTING;
        copy_addr(&o->raddr, c->addr, c->addrlen);
        o->names_known &= ~(unsigned)NAME_LOCAL; /* the kernel picked a port */
        o->cap_known &= ~SS_CAP_KNOW_PEER;       /* a new peer */
    } else if (c->err == EISCONN && (o->state & SS_ST_CONNECTING)) {
        /* the second connect of a non-blocking one says it completed (a
         * listener or a connected socket says EISCONN too: nothing new) */
        o->state = (o->state & ~(unsigned)SS_ST_CONNECTING) | SS_ST_CONNECTED;
    }
}

static void note_sockopt_read(struct ss_obj *o, const struct ss_call *c)
{
    /* Reading SO_ERROR is how a non-blocking connect learns its outcome. */
    if (c->failed || c->level != SOL_SOCKET || c->optname != SO_ERROR ||
        !(o->state & SS_ST_CONNECTING) || c->optval_out == NULL)
        return;
    int value = 0;
    memcpy(&value, c->optval_out, sizeof value);
    o->state &= ~(unsigned)SS_ST_CONNECTING;
    if (value == 0)
        o->state |= SS_ST_CONNECTED;
}

/* Updates the fields of the subject object under its lock. */
static void update_object(struct ss_obj *o, struct ss_call *c)
{
    if (c->op == SS_OP_bind || c->op == SS_OP_connect || c->op == SS_OP_connect_ex)
        bump_version(o); /* may change the addresses a snapshot shows */
    o->calls++;
    if (c->failed)
        o->errors++;
    if (c->fault)
        o->faults++;
    switch (c->op) {
    case SS_OP_bind:
        if (!c->failed) {
            o->state |= SS_ST_BOUND;
            copy_addr(&o->laddr, c->addr, c->addrlen);
            o->names_known &= ~(unsigned)NAME_LOCAL; /* port 0 becomes a real port */
        }
        break;
    case SS_OP_listen:
        if (!c->failed)
            o->state |= SS_ST_LISTENING;
        break;
    case SS_OP_connect:
    case SS_OP_connect_ex:
        note_connect(o, c);
        break;
    case SS_OP_shutdown:
        if (!c->failed) {
            if (c->how == SHUT_RD || c->how == SHUT_RDWR)
                o->state |= SS_ST_SHUT_RD;
            if (c->how == SHUT_WR || c->how == SHUT_RDWR)
                o->state |= SS_ST_SHUT_WR;
        }
        break;
    case SS_OP_send:
    case SS_OP_sendto:
    case SS_OP_sendmsg:
    case SS_OP_sendfile:
        note_transfer(o, c, 1);
        break;
    case SS_OP_recv:
    case SS_OP_recvfrom:
    case SS_OP_recvmsg:
        note_transfer(o, c, 0);
        break;
    case SS_OP_sendmmsg:
    case SS_OP_recvmmsg:
        for (long i = 0; !c->failed && c->mmsg != NULL && i < c->ret; i++) {
            if (c->op == SS_OP_sendmmsg)
                o->bytes_sent += c->mmsg[i].msg_len;
            else
                o->bytes_received += c->mmsg[i].msg_len;
        }
        break;
    case SS_OP_getsockopt:
        note_sockopt_read(o, c);
        break;
    case SS_OP_setsockopt:
        if (!c->failed)
            note_option(o, c);
        break;
    case SS_OP_setblocking:
        if (!c->failed)
            o->nonblocking = !ss_call_blocking_flag(c);
        break;
    default:
        break;
    }
}

static void create_socket(int fd, int family, int type, int protocol, struct ss_call *c,
                          unsigned state, uint64_t stable_key)
{
    struct ss_obj *o = obj_new(family, type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC), protocol, c->fn,
                               stable_key);
    if (o == NULL)
        return;
    o->nonblocking = (type & SOCK_NONBLOCK) != 0;
    o->state = state;
    slot_install(fd, o, (type & SOCK_CLOEXEC) != 0);
}

/* The socket-level options a TCP connection's socket takes from its
 * listener (SO_PRIORITY is not one: the connection's is set anew). */
static int tcp_copies_socket_option(int optname)
{
    switch (optname) {
    case SO_REUSEADDR:
    case SO_REUSEPORT:
    case SO_KEEPALIVE:
    case SO_SNDBUF:
    case SO_RCVBUF:
    case SO_LINGER:
    case SO_OOBINLINE:
    case SO_RCVLOWAT:
    case SO_SNDTIMEO:
    case SO_RCVTIMEO:
    case SO_DONTROUTE:
    case SO_BROADCAST:
    case SO_TIMESTAMP:
    case SO_BUSY_POLL:
        return 1;
    default:
        return 0;
    }
}

/* The same for the TCP options (TCP_MAXSEG is not one: the connection
 * takes the MSS it negotiated). */
static int tcp_copies_tcp_option(int optname)
{
    switch (optname) {
    case TCP_NODELAY:
    case TCP_CORK:
    case TCP_KEEPIDLE:
    case TCP_KEEPINTVL:
    case TCP_KEEPCNT:
    case TCP_USER_TIMEOUT:
    case TCP_LINGER2:
    case TCP_WINDOW_CLAMP:
    case TCP_NOTSENT_LOWAT:
    case TCP_THIN_LINEAR_TIMEOUTS:
    case TCP_SYNCNT:
        return 1;
    default:
        return 0;
    }
}

/* Whether accept() on this listener returns a socket that has the option as
 * the listener had it. Each option here was checked on loopback (set on a
 * listener, read on the accepted socket, compared with a new socket's
 * default): a TCP connection's socket, over IPv4 or IPv6, is a copy of the
 * listener's and keeps most options; AF_UNIX makes a new socket and copies
 * only the flags that pass credentials and security labels. O_NONBLOCK is
 * never copied (the model takes it from accept4's flags). Linux copies when
 * the handshake completes: an option set on the listener while a
 * connection waits to be accepted is not on that connection, and the
 * model, which copies at accept, takes it for copied. */
static int accept_copies_option(const struct ss_obj *listener, int level, int optname)
{
    if (listener->family == AF_UNIX)
        return level == SOL_SOCKET && (optname == SO_PASSCRED || optname == SO_PASSSEC);
    if (!is_tcp(listener->family, listener->type, listener->protocol))
        return 0;
    switch (level) {
    case SOL_SOCKET:
        return tcp_copies_socket_option(optname);
    case IPPROTO_TCP:
        return tcp_copies_tcp_option(optname);
    case IPPROTO_IP:
        return optname == IP_TOS || optname == IP_TTL;
    case IPPROTO_IPV6:
        return optname == IPV6_TCLASS || optname == IPV6_UNICAST_HOPS || optname == IPV6_V6ONLY;
    default:
        return 0;
    }
}

/* What a socket accept() returns takes from its listener: its kind, its
 * local address and the options the kernel copies. */
struct from_listener {
    int family, type, protocol;
    struct ss_addr local;
    struct ss_opt opts[SS_MODEL_MAX_OPTS];
    unsigned n_opts;
};

static void copy_from_listener(struct ss_obj *listener, struct from_listener *out)
{
    memset(out, 0, sizeof *out);
    out->family = AF_UNSPEC;
    out->type = SOCK_STREAM;
    if (listener == NULL || !obj_lock(listener))
        return;
    out->family = listener->family;
    out->type = listener->type;
    out->protocol = listener->protocol;
    out->local = listener->laddr;
    for (unsigned i = 0; i < listener->n_opts; i++)
        if (accept_copies_option(listener, listener->opts[i].level, listener->opts[i].optname))
            out->opts[out->n_opts++] = listener->opts[i];
    obj_unlock(listener);
}

static void create_accepted(struct ss_call *c, struct ss_obj *listener)
{
    struct from_listener from;
    copy_from_listener(listener, &from);
    uint64_t key = accepted_key(listener, (int)c->ret);
    struct ss_obj *o = obj_new(from.family, from.type, from.protocol, c->fn, key);
    if (o == NULL)
        return;
    o->state = SS_ST_CONNECTED | SS_ST_BOUND;
    o->nonblocking = (c->flags & SOCK_NONBLOCK) != 0;
    o->laddr = from.local; /* refined by getsockname when it matters */
    memcpy(o->opts, from.opts, from.n_opts * sizeof from.opts[0]);
    o->n_opts = from.n_opts;
    if (c->addr_out != NULL && c->addrlen_out != NULL) {
        copy_addr(&o->raddr, c->addr_out, *c->addrlen_out);
        o->names_known |= NAME_PEER;
    }
    slot_install((int)c->ret, o, (c->flags & SOCK_CLOEXEC) != 0);
}

static void install_dup(struct ss_obj *o, int newfd, int cloexec)
{
    if (o == NULL || !obj_get_unless_zero(o))
        return;
    slot_install(newfd, o, cloexec);
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

/* Marks an object closed (its last fd is gone): 1 if this did it. */
static int mark_closed(struct ss_obj *o)
{
    if (!obj_lock(o))
        return 0;
    int was_open = !(o->state & SS_ST_CLOSED);
    if (was_open) {
        o->state |= SS_ST_CLOSED;
        bump_version(o);
    }
    obj_unlock(o);
    return was_open;
}

/* A range close took fd: an object whose last fd it was is closed, and
 * closed() hears of it while the reference is still held. */
static void close_range_fd(int fd, ss_model_closed_fn *closed, void *arg)
{
    uintptr_t v = slot_take(fd);
    if ((v & ~SLOT_TAGS) == 0)
        return;
    struct ss_obj *o = slot_obj(v);
    if (atomic_fetch_sub_explicit(&o->nfds, 1, memory_order_relaxed) == 1 && mark_closed(o) &&
        closed != NULL)
        closed(o, fd, arg);
    ss_obj_put(o);
}

/* What a range close does to each fd of its range. */
struct range_effect {
    int cloexec; /* CLOSE_RANGE_CLOEXEC: the fds stay, close-on-exec */
    ss_model_closed_fn *closed;
    void *arg;
};

static void range_close_fd(int fd, uintptr_t slot, void *arg)
{
    const struct range_effect *e = arg;
    (void)slot;
    if (e->cloexec)
        slot_set_cloexec(fd, 1);
    else
        close_range_fd(fd, e->closed, e->arg);
}

static void close_fd_range(unsigned first, unsigned last, int flags, ss_model_closed_fn *closed,
                           void *arg)
{
    struct range_effect e = {(flags & CLOSE_RANGE_CLOEXEC) != 0, closed, arg};
    for_each_slot_in_range(first, last, range_close_fd, &e);
}

static int dup_cloexec(const struct ss_call *c)
{
    switch (c->fn) {
    case SS_FN_dup3:
        return (c->flags & O_CLOEXEC) != 0;
    case SS_FN_fcntl:
    case SS_FN___fcntl:
    case SS_FN_fcntl64:
        return c->cmd == F_DUPFD_CLOEXEC;
    default:
        return 0;
    }
}

/* Descriptors received with SCM_RIGHTS take numbers whose slots may hold
 * stale entries (a close the shim did not see): forget them, so they are
 * adopted as what they really are on first use. */
static void forget_received_fds(const struct msghdr *m)
{
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(m); cm != NULL;
         cm = CMSG_NXTHDR((struct msghdr *)m, cm)) {
        if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
            continue;
        size_t n = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < n; i++) {
            int fd;
            memcpy(&fd, CMSG_DATA(cm) + i * sizeof fd, sizeof fd);
            slot_clear(fd);
        }
    }
}

/* Effects on the fd table: sockets created, fds closed or duplicated. */
static void update_fds(struct ss_call *c, struct ss_obj *obj)
{
    switch (c->op) {
    case SS_OP_socket:
        if (!c->failed)
            create_socket((int)c->ret, c->domain, c->type, c->protocol, c, 0,
                          made_key(next_made_number(), 0));
        break;
    case SS_OP_socketpair:
        if (!c->failed && c->sv != NULL) {
            uint64_t number = next_made_number();
            create_socket(c->sv[0], c->domain, c->type, c->protocol, c, SS_ST_CONNECTED,
                          made_key(number, 0));
            create_socket(c->sv[1], c->domain, c->type, c->protocol, c, SS_ST_CONNECTED,
                          made_key(number, 1));
        }
        break;
    case SS_OP_accept:
        if (!c->failed)
            create_accepted(c, obj);
        break;
    case SS_OP_dup:
        if (!c->failed && c->ret != c->fd)
            install_dup(obj, (int)c->ret, dup_cloexec(c));
        break;
    case SS_OP_close:
        /* Linux frees the fd even when close reports EINTR or EIO; dup2 over
         * a socket closes it only when it succeeds. */
        if (!c->fd_released && (!c->failed || (c->fn != SS_FN_dup2 && c->fn != SS_FN_dup3)))
            slot_forget_obj(c->fd, obj);
        break;
    case SS_OP_close_range:
        break; /* ss_model_close_range(), with what to do for each socket */
    case SS_OP_recvmsg:
        if (!c->failed && c->msg != NULL && c->msg->msg_controllen > 0)
            forget_received_fds(c->msg);
        break;
    case SS_OP_set_inheritable:
        if (!c->failed)
            slot_set_cloexec(c->fd, !ss_call_inheritable_flag(c));
        break;
    default:
        break;
    }
}

int ss_model_update(struct ss_call *c, struct ss_obj *obj)
{
    int last_closed = 0;
    update_fds(c, obj);
    if (obj != NULL && obj_lock(obj)) {
        unsigned state = obj->state;
        int nonblocking = obj->nonblocking;
        update_object(obj, c);
        if (c->op == SS_OP_close && atomic_load_explicit(&obj->nfds, memory_order_relaxed) == 0 &&
            !(obj->state & SS_ST_CLOSED)) {
            obj->state |= SS_ST_CLOSED; /* its last fd is gone */
            last_closed = 1;
        }
        if (obj->state != state || obj->nonblocking != nonblocking)
            bump_version(obj); /* (address changes bump it where they happen) */
        obj_unlock(obj);
    }
    return last_closed;
}

/* The fds in [first, last] whose slots say match (an object: the
 * sockets; or the shim's own), up to max of them in fds, and how many. */
struct slot_list {
    int shim; /* the shim's own fds, or the sockets */
    int *fds, max, n;
};

static void list_slot(int fd, uintptr_t slot, void *arg)
{
    struct slot_list *l = arg;
    if (l->shim ? slot != SLOT_SHIM : (slot & ~SLOT_TAGS) == 0)
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

int ss_model_shim_fds_in_range(unsigned first, unsigned last, int *fds, int max)
{
    return slots_in_range(first, last, fds, max, 1);
}

int ss_model_sockets_in_range(unsigned first, unsigned last, int *fds, int max)
{
    return slots_in_range(first, last, fds, max, 0);
}

int ss_model_move_shim_fd(int old, int dup_cmd)
{
    int fresh = ss_real.fcntl(old, dup_cmd, old + 1);
    if (fresh < 0)
        fresh = ss_real.fcntl(old, dup_cmd, 3);
    if (fresh < 0)
        return -1;
    ss_model_claim_fd(fresh);
    ss_model_release_fd(old);
    ss_real.close(old);
    return fresh;
}

void ss_model_release_closing(int fd, struct ss_obj *obj)
{
    slot_forget_obj(fd, obj);
}

void ss_model_forget_fd(int fd)
{
    slot_forget_not_socket(fd);
}

void ss_model_forget_range(unsigned first, unsigned last)
{
    close_fd_range(first, last, 0, NULL, NULL);
}

void ss_model_close_range(const struct ss_call *c, ss_model_closed_fn *closed, void *arg)
{
    if (!c->failed)
        close_fd_range(c->first, c->last, c->fn == SS_FN_close_range ? c->flags : 0, closed, arg);
}

/* ---- snapshots -------------------------------------------------------- */

static void fetch_names(struct ss_obj *o, int fd)
{
    if (fd < 0)
        return;
    int saved = errno;
    if (!(o->names_known & NAME_LOCAL) && (o->state & (SS_ST_BOUND | SS_ST_CONNECTED |
                                                       SS_ST_CONNECTING | SS_ST_ADOPTED))) {
        struct ss_addr a = {.len = sizeof a.sa};
        if (ss_real.getsockname(fd, (struct sockaddr *)&a.sa, &a.len) == 0) {
            o->laddr = a;
            o->names_known |= NAME_LOCAL;
            bump_version(o);
        }
    }
    if (!(o->names_known & NAME_PEER) && (o->state & SS_ST_CONNECTED)) {
        struct ss_addr a = {.len = sizeof a.sa};
        if (ss_real.getpeername(fd, (struct sockaddr *)&a.sa, &a.len) == 0) {
            o->raddr = a;
            o->names_known |= NAME_PEER;
            bump_version(o);
        }
    }
    errno = saved;
}

/* An address is copied as far as its length goes (most are 16 or 28
 * bytes of a 128-byte storage): the renderers read no further. */
static void addr_copy(struct ss_addr *dst, const struct ss_addr *src)
{
    dst->len = src->len;
    memcpy(&dst->sa, &src->sa, src->len < sizeof src->sa ? src->len : sizeof src->sa);
}

static void snapshot_locked(struct ss_obj *o, struct ss_sockinfo *out)
{
    out->id = o->id;
    out->version = atomic_load_explicit(&o->version, memory_order_relaxed);
    out->family = o->family;
    out->type = o->type;
    out->protocol = o->protocol;
    out->state = o->state;
    out->nonblocking = o->nonblocking;
    addr_copy(&out->laddr, &o->laddr);
    addr_copy(&out->raddr, &o->raddr);
    out->bytes_sent = o->bytes_sent;
    out->bytes_received = o->bytes_received;
    out->by_reference = 0; /* whole */
    out->owner = NULL;
}

static void snapshot(struct ss_obj *o, int fd, struct ss_sockinfo *out, int want_names)
{
    if (o == NULL || !obj_lock(o)) {
        memset(out, 0, sizeof *out);
        return;
    }
    if (want_names && !(o->state & SS_ST_CLOSED))
        fetch_names(o, fd);
    snapshot_locked(o, out);
    obj_unlock(o);
}

void ss_model_snapshot(struct ss_obj *obj, int fd, struct ss_sockinfo *out, int want_names)
{
    snapshot(obj, fd, out, want_names);
}

static uint64_t recorded_key(uint32_t version)
{
    return (uint64_t)(uint32_t)ss_pid() << 32 | version;
}

int ss_model_recorded(struct ss_obj *obj, uint64_t *id, uint32_t *version)
{
    uint32_t now = atomic_load_explicit(&obj->version, memory_order_acquire);
    if (atomic_load_explicit(&obj->recorded, memory_order_acquire) != recorded_key(now))
        return 0;
    *id = obj->id;
    *version = now;
    return 1;
}

/* Only ever raised: a thread that recorded an older version late must not
 * make a newer one look unrecorded, nor an older one look recorded. A
 * forked child's key has another pid, so it records each socket whole
 * once. */
void ss_model_mark_recorded(struct ss_obj *obj, uint32_t version)
{
    uint64_t key = recorded_key(version);
    uint64_t was = atomic_load_explicit(&obj->recorded, memory_order_relaxed);
    while ((was >> 32 != key >> 32 || (uint32_t)was < version) &&
           !atomic_compare_exchange_weak_explicit(&obj->recorded, &was, key,
                                                  memory_order_release, memory_order_relaxed))
        ;
}

int ss_model_snapshot_fd(int fd, struct ss_sockinfo *out, int want_names)
{
    enum ss_fd_kind kind;
    memset(out, 0, sizeof *out);
    if ((slot_load(fd) & ~SLOT_TAGS) == 0)
        return 0;
    struct ss_obj *o = ss_model_get(fd, &kind, NULL);
    if (o == NULL)
        return 0;
    snapshot(o, fd, out, want_names);
    ss_obj_put(o);
    return 1;
}

/* ---- process events --------------------------------------------------- */

void ss_model_init(void)
{
}

static void forget_counts(struct ss_obj *o)
{
    for (unsigned i = 0; i < SS_MODEL_COUNTERS; i++)
        atomic_store_explicit(&o->counts[i], 0, memory_order_relaxed);
}

/* In a forked child only the forking thread exists: an object lock held by
 * any other thread at the fork would stay held forever. The fault
 * engine's counts start afresh, as its per-process counts do; the keys'
 * numbering (sockets_made, sockets_adopted, accepted) goes on, so that a
 * socket the child makes never gets the key of one it inherited. */
void ss_model_after_fork_child(void)
{
    tls_locked = NULL;
    uint32_t used = atomic_load_explicit(&next_unused, memory_order_relaxed);
    for (uint32_t i = 0; i < used; i++) {
        struct ss_obj *o = obj_at(i);
        if (o != NULL) {
            atomic_store_explicit(&o->lock, 0, memory_order_relaxed);
            forget_counts(o);
        }
    }
}

void ss_model_snapshot_locked(struct ss_obj *o, struct ss_sockinfo *out)
{
    memset(out, 0, sizeof *out);
    snapshot_locked(o, out);
}

/* Every socket still open, once each (an object, not an fd: dup'ed fds
 * name one socket), with one of its fds. */
void ss_model_each_socket(void (*fn)(int fd, struct ss_obj *obj, void *arg), void *arg)
{
    uint32_t used = atomic_load_explicit(&next_unused, memory_order_acquire);
    for (uint32_t i = 0; i < used && i < OBJS_PER_CHUNK * MAX_CHUNKS; i++) {
        struct ss_obj *o = obj_at(i);
        if (o == NULL || atomic_load_explicit(&o->nfds, memory_order_acquire) == 0 ||
            !obj_get_unless_zero(o))
            continue;
        if (atomic_load_explicit(&o->nfds, memory_order_acquire) != 0)
            fn(__atomic_load_n(&o->fd_hint, __ATOMIC_RELAXED), o, arg);
        ss_obj_put(o);
    }
}

void ss_model_brief_locked(struct ss_obj *o, struct ss_sockbrief *out)
{
    out->family = o->family;
    out->type = o->type;
    out->state = o->state;
}

/* Before the last fd of a socket is closed: the kernel's names for it,
 * while it can still give them, for the summary's table. */
void ss_model_learn_names(struct ss_obj *o, int fd)
{
    if (o == NULL || atomic_load_explicit(&o->nfds, memory_order_acquire) != 1 || !obj_lock(o))
        return;
    fetch_names(o, fd);
    obj_unlock(o);
}

static void learn_names_of_slot(int fd, uintptr_t slot, void *arg)
{
    (void)arg;
    if ((slot & ~SLOT_TAGS) == 0 || !obj_get_unless_zero(slot_obj(slot)))
        return;
    ss_model_learn_names(slot_obj(slot), fd);
    ss_obj_put(slot_obj(slot));
}

void ss_model_learn_names_in_range(unsigned first, unsigned last)
{
    for_each_slot_in_range(first, last, learn_names_of_slot, NULL);
}
