/* sockshim: network time on the sending side (see outbox.h).
 *
 * One box per socket that holds bytes or shakes hands, found by the
 * socket's model id (a dup'ed fd names the same socket, the same box) in
 * a short list: boxes exist only while bytes are in flight. A box's bytes
 * sit in a ring as big as its room; taken counts what the program handed
 * over, sent what the kernel took, and marks (marks.h) say when each part
 * falls due. One mutex guards the list and the boxes; a thread that holds
 * it already (a signal handler ran inside the shim) finds no box.
 */
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "epoll_table.h"
#include "fdtable.h"
#include "internal.h"
#include "latency.h"
#include "marks.h"
#include "model.h"
#include "real.h"

#define MAX_BOXES 1024
#define ROOM_MIN (64u * 1024)
#define ROOM_MAX (4u * 1024 * 1024)
#define RATE_ROOM_MIN (16u * 1024)
/* What a peer that takes nothing gets at the end of the process image:
 * this long past the last due time, then the bytes are given up. */
#define FINISH_GRACE_NS 1000000000ull
/* How long after the last due time a socket the program closed keeps its
 * undelivered bytes for a peer that takes nothing: then they are given up
 * and the socket closed (the kernel would go on probing a while longer;
 * the shim's duplicate fd must not live for ever). */
#define ORPHAN_GRACE_NS 10000000000ull

_Atomic int ss_outbox_rules;

struct box {
    uint64_t obj_id;
    int rule;              /* the rule that made it (1-based) */
    int fd;                /* the shim's duplicate of the socket; -1: none yet */
    unsigned char *ring;   /* cap bytes; the byte at stream offset o is ring[o % cap] */
    size_t cap;
    uint64_t taken, sent;  /* stream offsets: handed over by the program, taken by the kernel */
    struct ss_marks k;     /* when the bytes taken fall due */
    int err;               /* a delivery failed: the next send's error */
    int shut_wr;           /* the program shut it for writing: done once delivered */
    int shut_done;
    int orphan;            /* the program closed its last fd ... */
    uint64_t orphan_until; /* ... and what is held is given up then */
    int blocked;           /* the kernel's buffer was full at the last delivery */
    uint64_t connect_due;  /* the handshake completes for the program then; 0: done */
    int connect_zero;      /* the kernel's connect said 0: the program is told so once */
};

static pthread_mutex_t box_lock = PTHREAD_MUTEX_INITIALIZER;
static __thread int tls_holding;
static struct box *boxes[MAX_BOXES];
static _Atomic int n_boxes;
static int wake_fd = -1;
static int thread_started;

/* ---- the lock and the list ---------------------------------------------- */

/* The thread's flag is up from before it asks for the mutex until after
 * it lets go: a signal handler that runs in between finds no box rather
 * than wait for a mutex its own thread holds. */
static int lock_boxes(void)
{
    if (tls_holding)
        return 0;
    tls_holding = 1;
    atomic_signal_fence(memory_order_seq_cst);
    pthread_mutex_lock(&box_lock);
    return 1;
}

static void unlock_boxes(void)
{
    pthread_mutex_unlock(&box_lock);
    atomic_signal_fence(memory_order_seq_cst);
    tls_holding = 0;
}

static int box_index(uint64_t id)
{
    int n = atomic_load_explicit(&n_boxes, memory_order_relaxed);
    for (int i = 0; i < n; i++)
        if (boxes[i]->obj_id == id)
            return i;
    return -1;
}

static struct box *find_box(struct ss_obj *obj)
{
    int i = obj != NULL ? box_index(ss_model_id(obj)) : -1;
    return i >= 0 ? boxes[i] : NULL;
}

static struct box *new_box(struct ss_obj *obj, int rule)
{
    int n = atomic_load_explicit(&n_boxes, memory_order_relaxed);
    if (n == MAX_BOXES)
        return NULL;
    void *mem = mmap(NULL, sizeof(struct box), PROT_READ | PROT_WRITE,
                     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (mem == MAP_FAILED)
        return NULL;
    struct box *b = mem;
    b->obj_id = ss_model_id(obj);
    b->rule = rule;
    b->fd = -1;
    boxes[n] = b;
    atomic_store_explicit(&n_boxes, n + 1, memory_order_relaxed);
    return b;
}

/* Boxes taken out of the list, to be let go of once the lock is: the
 * close of a duplicate may linger (SO_LINGER), and a fork must never
 * find a box in the list whose memory is gone. */
static struct box *gone[MAX_BOXES];
static int n_gone;

static void drop_box(int i)
{
    struct box *b = boxes[i];
    int n = atomic_load_explicit(&n_boxes, memory_order_relaxed) - 1;
    boxes[i] = boxes[n];
    atomic_store_explicit(&n_boxes, n, memory_order_relaxed);
    gone[n_gone++] = b;
}

static void free_box(struct box *b)
{
    if (b->fd >= 0) {
        ss_fdtable_unclaim(b->fd);
        ss_real.close(b->fd);
    }
    if (b->ring != NULL)
        munmap(b->ring, b->cap);
    munmap(b, sizeof *b);
}

/* Unlocks, and lets go of the boxes dropped meanwhile (a few at a time:
 * this may run in a signal handler, on a small stack). */
static void unlock_and_free(void)
{
    for (;;) {
        struct box *mine[8];
        int n = n_gone < 8 ? n_gone : 8;
        n_gone -= n;
        memcpy(mine, gone + n_gone, (size_t)n * sizeof mine[0]);
        int more = n_gone > 0;
        unlock_boxes();
        for (int i = 0; i < n; i++)
            free_box(mine[i]);
        if (!more || !lock_boxes())
            return;
    }
}

/* obj's box with the lock held (unlock_and_free() after it), or NULL
 * with the lock not held when the socket has none. */
static struct box *locked_box(struct ss_obj *obj)
{
    if (atomic_load_explicit(&n_boxes, memory_order_relaxed) == 0 || obj == NULL ||
        !lock_boxes())
        return NULL;
    struct box *b = find_box(obj);
    if (b == NULL)
        unlock_and_free();
    return b;
}

/* Takes b out of the list (the lock held). */
static void drop(struct box *b)
{
    drop_box(box_index(b->obj_id));
}

static int in_flight(const struct box *b)
{
    return b->sent < b->taken || (b->shut_wr && !b->shut_done);
}

/* A box is done with when nothing is in flight, the handshake is over and
 * no error waits for the program (or the program has gone). */
static int finished(const struct box *b, uint64_t now)
{
    if (b->orphan && now >= b->orphan_until)
        return 1;
    return !in_flight(b) && (b->connect_due == 0 || b->connect_due <= now) && !b->connect_zero &&
           (b->err == 0 || b->orphan) && (!b->shut_wr || b->orphan);
}

/* ---- delivery ------------------------------------------------------------ */

/* The bytes held are lost, as the kernel's own unsent ones are. */
static void lose_held(struct box *b)
{
    b->sent = b->taken;
    b->k.n = 0;
    b->k.released = b->taken;
}

/* Whether the connection is gone (the peer reset it, or it timed out):
 * poll says so without taking the error the kernel keeps for the next
 * call (POLLERR alone may be an error queue's: not a lost connection).
 * The outbox holds nothing until the end of the stream, so a connected
 * socket hangs up only so. */
static int connection_gone(int fd)
{
    struct pollfd p = {.fd = fd, .events = 0};
    return ss_real.poll(&p, 1, 0) == 1 && (p.revents & POLLHUP);
}

/* Hands the kernel what is due, as much as it takes. A connection that is
 * gone is not written to: a send would take its error, which is the
 * program's (its receive reads ECONNRESET, not the end of the stream);
 * the bytes held are lost with it. */
static void deliver(struct box *b, uint64_t now)
{
    ss_marks_release(&b->k, now);
    if (b->err == 0 && b->sent < b->k.released && connection_gone(b->fd))
        lose_held(b);
    while (b->err == 0 && b->sent < b->k.released) {
        size_t at = (size_t)(b->sent % b->cap);
        uint64_t due = b->k.released - b->sent;
        size_t n = due < b->cap - at ? (size_t)due : b->cap - at;
        ssize_t w = ss_real.send(b->fd, b->ring + at, n, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            b->blocked = 1;
            return;
        }
        if (w < 0) { /* the error came between the look and the send: the send's */
            b->err = errno;
            lose_held(b);
            return;
        }
        b->sent += (uint64_t)w;
    }
    if (b->sent == b->taken && b->shut_wr && !b->shut_done) {
        ss_real.shutdown(b->fd, SHUT_WR);
        b->shut_done = 1;
    }
}

/* When a box next has something to do, 0: nothing pending in time. A
 * box the kernel has no room for waits for room, or its end. */
static uint64_t next_time(const struct box *b, uint64_t now)
{
    uint64_t t = 0;
    if (b->k.n > 0 && !b->blocked)
        t = ss_marks_next_due(&b->k);
    else if (b->connect_due > now)
        t = b->connect_due;
    if (b->orphan && (t == 0 || b->orphan_until < t))
        t = b->orphan_until;
    return t;
}

/* Delivers what is due in every box, drops the boxes done with; the
 * earliest time something falls due, and the fds the kernel had no room
 * on (to wait for). */
static uint64_t deliver_all(uint64_t now, struct pollfd *full, int *n_full)
{
    uint64_t earliest = 0;
    *n_full = 0;
    for (int i = 0; i < atomic_load_explicit(&n_boxes, memory_order_relaxed);) {
        struct box *b = boxes[i];
        if (b->fd >= 0)
            deliver(b, now);
        if (finished(b, now)) {
            drop_box(i);
            continue;
        }
        if (b->blocked && b->fd >= 0)
            full[(*n_full)++] = (struct pollfd){.fd = b->fd, .events = POLLOUT};
        uint64_t t = next_time(b, now);
        if (t != 0 && (earliest == 0 || t < earliest))
            earliest = t;
        i++;
    }
    return earliest;
}

static void *delivery_thread(void *arg)
{
    (void)arg;
    static struct pollfd fds[MAX_BOXES + 1];
    for (;;) {
        lock_boxes();
        uint64_t now = ss_latency_now();
        int n_full;
        uint64_t earliest = deliver_all(now, fds + 1, &n_full);
        for (int i = 0; i < atomic_load_explicit(&n_boxes, memory_order_relaxed); i++)
            boxes[i]->blocked = 0; /* looked at again after the wait */
        fds[0] = (struct pollfd){.fd = wake_fd, .events = POLLIN};
        unlock_and_free();
        struct timespec ts, *tp = NULL;
        if (earliest != 0) {
            uint64_t left = earliest > now ? earliest - now : 0;
            ts.tv_sec = (time_t)(left / 1000000000u);
            ts.tv_nsec = (long)(left % 1000000000u);
            tp = &ts;
        }
        if (ss_real.ppoll(fds, (nfds_t)n_full + 1, tp, NULL) > 0 && (fds[0].revents & POLLIN)) {
            uint64_t count;
            if (ss_real.read(wake_fd, &count, sizeof count) < 0)
                continue;
        }
    }
    return NULL;
}

/* The thread starts with every signal blocked: the program's handlers run
 * on the program's threads. */
static int start_thread(void)
{
    if (thread_started)
        return 0;
    int fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (fd < 0)
        return -1;
    ss_fdtable_claim(fd);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    pthread_attr_t attr;
    pthread_attr_init(&attr);
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&attr, 64 * 1024);
    pthread_t t;
    wake_fd = fd;
    int rc = pthread_create(&t, &attr, delivery_thread, NULL);
    pthread_attr_destroy(&attr);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        wake_fd = -1;
        ss_fdtable_unclaim(fd);
        ss_real.close(fd);
        return -1;
    }
    thread_started = 1;
    return 0;
}

static void wake_thread(void)
{
    uint64_t one = 1;
    if (ss_real.write(wake_fd, &one, sizeof one) < 0)
        return; /* the counter is full: the thread is awake anyway */
}

/* With the lock held: a new time for the thread to wake at. */
static void wake_thread_if_started(void)
{
    if (thread_started)
        wake_thread();
}

/* ---- taking sends ---------------------------------------------------------- */

/* The room of a box: the socket's SO_SNDBUF within bounds; under a rate,
 * what the link carries in a quarter of a second (so the sender is paced
 * too, not only the peer). */
static size_t room_of(int fd, uint64_t rate)
{
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    size_t room = ss_real.getsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) == 0 && sndbuf > 0
                      ? (size_t)sndbuf
                      : ROOM_MIN;
    room = room < ROOM_MIN ? ROOM_MIN : room > ROOM_MAX ? ROOM_MAX : room;
    if (rate != 0) {
        uint64_t quarter = rate / 4 < RATE_ROOM_MIN ? RATE_ROOM_MIN : rate / 4;
        room = quarter < room ? (size_t)quarter : room;
    }
    return room;
}

/* The shim's own duplicate of fd, claimed, and its ring. */
static int ready_box(struct box *b, int fd, uint64_t rate)
{
    if (b->fd >= 0)
        return 0;
    if (start_thread() != 0)
        return -1;
    size_t cap = room_of(fd, rate);
    void *ring = mmap(NULL, cap, PROT_READ | PROT_WRITE,
                      MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    if (ring == MAP_FAILED)
        return -1;
    int dup = ss_real.fcntl(fd, F_DUPFD_CLOEXEC, 0);
    if (dup < 0) {
        munmap(ring, cap);
        return -1;
    }
    ss_fdtable_claim(dup);
    b->fd = dup;
    b->ring = ring;
    b->cap = cap;
    b->sent = b->taken = b->k.released = 0;
    return 0;
}

/* Copies n bytes of the send, from byte skip of its iovecs, into the ring
 * at stream offset `at`. */
static void copy_in(struct box *b, uint64_t at, const struct iovec *iov, size_t count,
                    uint64_t skip, size_t n)
{
    for (size_t i = 0; i < count && n > 0; i++) {
        if (skip >= iov[i].iov_len) {
            skip -= iov[i].iov_len;
            continue;
        }
        const unsigned char *p = (const unsigned char *)iov[i].iov_base + skip;
        size_t piece = iov[i].iov_len - (size_t)skip < n ? iov[i].iov_len - (size_t)skip : n;
        skip = 0;
        for (size_t done = 0; done < piece;) {
            size_t off = (size_t)(at % b->cap);
            size_t run = piece - done < b->cap - off ? piece - done : b->cap - off;
            memcpy(b->ring + off, p + done, run);
            done += run;
            at += run;
        }
        n -= piece;
    }
}

static uint64_t total_of(const struct iovec *iov, size_t count)
{
    uint64_t total = 0;
    for (size_t i = 0; i < count; i++)
        total += iov[i].iov_len;
    return total;
}

int ss_outbox_holding(struct ss_obj *obj)
{
    struct box *b = locked_box(obj);
    if (b == NULL)
        return 0;
    int holding = in_flight(b) || b->err != 0 || b->connect_due > ss_latency_now();
    int rule = holding ? b->rule : 0;
    unlock_and_free();
    return rule;
}

long ss_outbox_take(int fd, struct ss_obj *obj, const struct ss_outbox_send *s, int *err,
                    uint64_t *room_ns)
{
    *err = 0;
    *room_ns = 0;
    if (obj == NULL || !lock_boxes())
        return -2;
    struct box *b = find_box(obj);
    if (b == NULL)
        b = new_box(obj, s->rule);
    if (b == NULL || ready_box(b, fd, s->rate) != 0) {
        unlock_and_free();
        return -2;
    }
    if (b->err == EPIPE || connection_gone(b->fd)) {
        /* the kernel refuses the send (with its SIGPIPE): it answers */
        if (s->skip == 0) /* else the send returns what it took; the next one is refused */
            b->err = 0;
        lose_held(b);
        unlock_and_free();
        return -3;
    }
    if (b->err != 0) {
        *err = b->err;
        if (s->skip == 0) /* else the send returns what it took; the next one fails */
            b->err = 0;
        unlock_and_free();
        return -1;
    }
    uint64_t now = ss_latency_now();
    int was_idle = b->sent == b->taken && b->k.n == 0;
    uint64_t free = b->cap - (b->taken - b->sent);
    uint64_t want = total_of(s->iov, s->count) - s->skip;
    size_t n = (size_t)(want < free ? want : free);
    if (n > 0) {
        copy_in(b, b->taken, s->iov, s->count, s->skip, n);
        ss_marks_add(&b->k, b->taken, b->taken + n, now, s->delay_ns, s->rate, now);
        b->taken += n;
        if (b->k.n == 0) /* due at once (no delay, nothing ahead): the thread sends it */
            b->k.released = b->taken;
    }
    if (n < want)
        *room_ns = b->k.n > 0 ? ss_marks_next_due(&b->k) : now + 1000000;
    unlock_and_free();
    if (n > 0 && was_idle)
        wake_thread();
    return (long)n;
}

int ss_outbox_shutdown(struct ss_obj *obj, int how)
{
    if (how != SHUT_WR && how != SHUT_RDWR)
        return how;
    struct box *b = locked_box(obj);
    if (b == NULL)
        return how;
    int left = how;
    /* a second SHUT_WR while the end is still held is the first one's: the
     * kernel's now would end the stream before the bytes */
    if (b->fd >= 0 && (b->sent < b->taken || (b->shut_wr && !b->shut_done))) {
        b->shut_wr = 1;
        left = how == SHUT_RDWR ? SHUT_RD : -1;
    }
    unlock_and_free();
    return left;
}

int ss_outbox_shut(struct ss_obj *obj)
{
    struct box *b = locked_box(obj);
    if (b == NULL)
        return 0;
    int shut = b->shut_wr;
    unlock_and_free();
    return shut;
}

/* ---- closing ---------------------------------------------------------------- */

void ss_outbox_closing(int fd, struct ss_obj *obj)
{
    /* while the program keeps another fd of the socket, the kernel keeps
     * the registrations made on this one too */
    if (obj == NULL || ss_obj_fd_count(obj) != 1)
        return;
    struct box *b = locked_box(obj);
    if (b == NULL)
        return;
    int dup_open = b->fd >= 0;
    unlock_and_free();
    if (dup_open)
        ss_epoll_table_forget_fd(fd);
}

/* Whether the kernel's close of the socket would reset it: bytes unread,
 * or SO_LINGER on with no time. */
static int close_resets(int fd)
{
    int unread = 0;
    struct linger lg = {0, 0};
    socklen_t len = sizeof lg;
    if (ss_real.ioctl(fd, FIONREAD, &unread) == 0 && unread > 0)
        return 1;
    return ss_real.getsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, &len) == 0 && lg.l_onoff &&
           lg.l_linger == 0;
}

void ss_outbox_closed(struct ss_obj *obj)
{
    struct box *b = locked_box(obj);
    if (b == NULL)
        return;
    uint64_t now = ss_latency_now(), last = ss_marks_last_due(&b->k);
    b->orphan = 1;
    b->orphan_until = (last > now ? last : now) + ORPHAN_GRACE_NS;
    wake_thread_if_started();
    if (b->fd < 0 || close_resets(b->fd) || finished(b, now))
        drop(b); /* the duplicate's close is the program's, now */
    unlock_and_free();
}

/* ---- readiness and handshakes -------------------------------------------------- */

int ss_outbox_unwritable(struct ss_obj *obj, uint64_t now, uint64_t *due)
{
    *due = 0;
    struct box *b = locked_box(obj);
    if (b == NULL)
        return 0;
    int unwritable = 0;
    if (b->connect_due > now) {
        unwritable = 1;
        *due = b->connect_due;
    } else if (b->ring != NULL && b->taken - b->sent >= b->cap) {
        unwritable = 1;
        *due = b->k.n > 0 ? ss_marks_next_due(&b->k) : now + 1000000;
    }
    unlock_and_free();
    return unwritable;
}

void ss_outbox_connecting(struct ss_obj *obj, int rule, uint64_t due, int kernel_done)
{
    if (obj == NULL || !lock_boxes())
        return;
    struct box *b = find_box(obj);
    if (b == NULL)
        b = new_box(obj, rule);
    if (b != NULL) {
        b->connect_due = due;
        b->connect_zero = kernel_done;
    }
    unlock_and_free();
}

int ss_outbox_shaking(struct ss_obj *obj, uint64_t now, uint64_t *due)
{
    *due = 0;
    struct box *b = locked_box(obj);
    if (b == NULL)
        return 0;
    int shaking = b->connect_due > now;
    if (shaking)
        *due = b->connect_due;
    else if (finished(b, now))
        drop(b);
    unlock_and_free();
    return shaking;
}

int ss_outbox_connect_done(struct ss_obj *obj)
{
    struct box *b = locked_box(obj);
    if (b == NULL)
        return 0;
    int rule = b->connect_zero ? b->rule : 0;
    if (rule) {
        b->connect_zero = 0;
        if (finished(b, ss_latency_now()))
            drop(b);
    }
    unlock_and_free();
    return rule;
}

/* ---- the end of the image, and forks ------------------------------------------ */

void ss_outbox_finish(void)
{
    /* static: the end may come in a signal handler, on a small stack; one
     * thread at a time ends the image */
    static struct pollfd full[MAX_BOXES];
    static _Atomic int finishing;
    if (atomic_exchange_explicit(&finishing, 1, memory_order_acquire))
        return;
    uint64_t give_up = 0;
    for (;;) {
        if (atomic_load_explicit(&n_boxes, memory_order_relaxed) == 0 || !lock_boxes())
            break;
        uint64_t now = ss_latency_now();
        int n_full, pending = 0;
        uint64_t earliest = deliver_all(now, full, &n_full);
        uint64_t last = 0;
        for (int i = 0; i < atomic_load_explicit(&n_boxes, memory_order_relaxed); i++) {
            struct box *b = boxes[i];
            b->blocked = 0;
            pending |= in_flight(b) && b->fd >= 0 && b->err == 0;
            uint64_t end = ss_marks_last_due(&b->k);
            last = end > last ? end : last;
        }
        unlock_and_free();
        if (!pending)
            break;
        if (give_up == 0)
            give_up = (last > now ? last : now) + FINISH_GRACE_NS;
        if (now >= give_up)
            break;
        uint64_t until = earliest > now && earliest < give_up ? earliest : now + 1000000;
        struct timespec ts = {(time_t)((until - now) / 1000000000u),
                              (long)((until - now) % 1000000000u)};
        if (n_full > 0)
            ss_real.ppoll(full, (nfds_t)n_full, &ts, NULL);
        else
            nanosleep(&ts, NULL);
    }
    atomic_store_explicit(&finishing, 0, memory_order_release);
}

void ss_outbox_after_fork_child(void)
{
    /* the box lock may have been held by a thread that did not come
     * along; the boxes' bytes are the parent's to deliver */
    pthread_mutex_t fresh = PTHREAD_MUTEX_INITIALIZER;
    memcpy(&box_lock, &fresh, sizeof fresh);
    tls_holding = 0;
    while (atomic_load_explicit(&n_boxes, memory_order_relaxed) > 0)
        drop_box(0);
    for (int i = 0; i < n_gone; i++)
        free_box(gone[i]); /* the child's copies of the duplicates */
    n_gone = 0;
    if (wake_fd >= 0) {
        ss_fdtable_unclaim(wake_fd);
        ss_real.close(wake_fd);
        wake_fd = -1;
    }
    thread_started = 0;
}
