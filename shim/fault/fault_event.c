/* sockshim: the real events behind faults (see fault_event.h). */
#include "fault_event.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sched.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "options.h"
#include "model.h"
#include "real.h"

/* ---- stand-ins ---------------------------------------------------------- */

enum { STAND_IN_NONE, STAND_IN_MAKING, STAND_IN_READY, STAND_IN_FAILED };

struct stand_in {
    _Atomic int state;
    struct sockaddr_storage addr;
    socklen_t len;
};

/* [family: 0 AF_INET, 1 AF_INET6][kind] */
static struct stand_in stand_ins[2][2];

static void loopback_of(int family, struct sockaddr_storage *ss, socklen_t *len)
{
    memset(ss, 0, sizeof *ss);
    if (family == AF_INET) {
        struct sockaddr_in *in = (struct sockaddr_in *)ss;
        in->sin_family = AF_INET;
        in->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        *len = sizeof *in;
    } else {
        struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)ss;
        in6->sin6_family = AF_INET6;
        in6->sin6_addr = in6addr_loopback;
        *len = sizeof *in6;
    }
}

/* A TCP socket bound to a free loopback port, its address in *addr; the
 * fd is the shim's own from then on (the program cannot close it), and
 * close-on-exec. */
static int bound_socket(int family, struct sockaddr_storage *addr, socklen_t *len)
{
    int fd = ss_real.socket(family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    loopback_of(family, addr, len);
    if (ss_real.bind(fd, (struct sockaddr *)addr, *len) != 0 ||
        ss_real.getsockname(fd, (struct sockaddr *)addr, len) != 0) {
        ss_real.close(fd);
        return -1;
    }
    ss_fdtable_claim(fd);
    return fd;
}

static void drop_socket(int fd)
{
    ss_fdtable_unclaim(fd);
    ss_real.close(fd);
}

/* A port that refuses: bound, never listening. A SYN to it gets an RST. */
static int make_refuser(int family, struct sockaddr_storage *addr, socklen_t *len)
{
    return bound_socket(family, addr, len) >= 0 ? 0 : -1;
}

/* A port that never answers: a listener with a backlog of 0 whose one
 * place is taken by a connection nobody accepts. Linux drops a SYN to a
 * listener whose accept queue is full, so a connect to it retransmits its
 * SYN until its time runs out, as against a host that is gone. */
static int make_blackhole(int family, struct sockaddr_storage *addr, socklen_t *len)
{
    int listener = bound_socket(family, addr, len);
    if (listener < 0)
        return -1;
    int filler = -1;
    if (ss_real.listen(listener, 0) == 0) {
        struct sockaddr_storage unused;
        socklen_t unused_len;
        filler = bound_socket(family, &unused, &unused_len);
    }
    if (filler < 0 || ss_real.connect(filler, (struct sockaddr *)addr, *len) != 0) {
        if (filler >= 0)
            drop_socket(filler);
        drop_socket(listener);
        return -1;
    }
    return 0;
}

int ss_event_stand_in(int family, enum ss_stand_in kind, struct sockaddr_storage *addr,
                      socklen_t *len)
{
    if (family != AF_INET && family != AF_INET6)
        return -1;
    struct stand_in *s = &stand_ins[family == AF_INET6][kind];
    int state = atomic_load_explicit(&s->state, memory_order_acquire);
    int none = STAND_IN_NONE;
    if (state == STAND_IN_NONE &&
        atomic_compare_exchange_strong_explicit(&s->state, &none, STAND_IN_MAKING,
                                                memory_order_acq_rel, memory_order_acquire)) {
        int saved = errno;
        int made = kind == SS_STAND_IN_REFUSER ? make_refuser(family, &s->addr, &s->len)
                                               : make_blackhole(family, &s->addr, &s->len);
        errno = saved;
        state = made == 0 ? STAND_IN_READY : STAND_IN_FAILED;
        atomic_store_explicit(&s->state, state, memory_order_release);
    }
    /* another thread is making it: a few system calls, wait for them */
    while ((state = atomic_load_explicit(&s->state, memory_order_acquire)) == STAND_IN_MAKING)
        sched_yield();
    if (state != STAND_IN_READY)
        return -1;
    *addr = s->addr;
    *len = s->len;
    return 0;
}

/* ---- which errors are events -------------------------------------------- */

int ss_event_reported_later(int err)
{
    /* answers from the network to a SYN (an RST, silence, an ICMP error),
     * which a non-blocking connect learns after EINPROGRESS; ENETUNREACH
     * is the local routing table's answer, given at once */
    return err == ECONNREFUSED || err == ETIMEDOUT || err == EHOSTUNREACH || err == ECONNRESET;
}

int ss_event_breaks_connection(int err)
{
    return err == ECONNRESET || err == EPIPE || err == ETIMEDOUT || err == EHOSTUNREACH;
}

/* ---- breaking a connection ---------------------------------------------- */

/* A TCP connection over loopback whose other end was closed with an RST
 * and whose pending ECONNRESET was read: what a socket the peer reset
 * looks like from then on (recv gives 0, send EPIPE). -1 if it cannot be
 * made. */
static int make_reset_socket(void)
{
    struct sockaddr_storage addr;
    socklen_t len;
    loopback_of(AF_INET, &addr, &len);
    int l = ss_real.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int c = ss_real.socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int a = -1, ok = 0;
    if (l >= 0 && c >= 0 && ss_real.bind(l, (struct sockaddr *)&addr, len) == 0 &&
        ss_real.listen(l, 1) == 0 &&
        ss_real.getsockname(l, (struct sockaddr *)&addr, &len) == 0 &&
        ss_real.connect(c, (struct sockaddr *)&addr, len) == 0 &&
        (a = ss_real.accept4(l, NULL, NULL, SOCK_CLOEXEC)) >= 0) {
        struct linger abort_close = {1, 0};
        ss_real.setsockopt(a, SOL_SOCKET, SO_LINGER, &abort_close, sizeof abort_close);
        ss_real.close(a);
        struct pollfd p = {.fd = c, .events = POLLIN};
        ss_real.poll(&p, 1, 1000);
        int err = 0;
        socklen_t elen = sizeof err;
        ss_real.getsockopt(c, SOL_SOCKET, SO_ERROR, &err, &elen);
        ok = err == ECONNRESET;
    }
    if (l >= 0)
        ss_real.close(l);
    if (!ok && c >= 0) {
        ss_real.close(c);
        c = -1;
    }
    return c;
}

/* TCP: the peer gets an RST (connect(AF_UNSPEC) disconnects a TCP socket
 * with one, whoever else holds it), and the fd, keeping its number, becomes
 * a socket that was reset (made over loopback for the purpose). */
static void reset_tcp(int fd)
{
    struct sockaddr unspec = {.sa_family = AF_UNSPEC};
    ss_real.connect(fd, &unspec, sizeof unspec);
    int placeholder = make_reset_socket();
    if (placeholder < 0)
        return;
    int fl = ss_real.fcntl(fd, F_GETFL);
    int fdfl = ss_real.fcntl(fd, F_GETFD);
    if (fl >= 0)
        ss_real.fcntl(placeholder, F_SETFL, fl & O_NONBLOCK);
    ss_real.dup3(placeholder, fd, fdfl > 0 && (fdfl & FD_CLOEXEC) ? O_CLOEXEC : 0);
    ss_real.close(placeholder);
}

/* AF_UNIX: both directions shut down, and what had arrived but was not
 * read is dropped: a receive fails on a broken connection only once
 * nothing is left to read, so what is still queued never arrived (as the
 * TCP stand-in, a fresh socket, holds nothing either). */
static void shut_unix(int fd)
{
    ss_real.shutdown(fd, SHUT_RDWR);
    char sink[4096];
    for (int i = 0; i < 1024 && ss_real.recv(fd, sink, sizeof sink, MSG_DONTWAIT) > 0; i++)
        ;
}

int ss_event_is_tcp(const struct ss_sockinfo *info)
{
    return (info->family == AF_INET || info->family == AF_INET6) && info->type == SOCK_STREAM;
}

int ss_event_has_connection(const struct ss_sockinfo *info)
{
    return ss_event_is_tcp(info) || (info->family == AF_UNIX && (info->type == SOCK_STREAM ||
                                                                 info->type == SOCK_SEQPACKET));
}

int ss_event_break(int fd, const struct ss_sockinfo *info, struct ss_obj *obj)
{
    if (!ss_event_has_connection(info))
        return 0;
    int saved = errno;
    /* AF_UNIX has no RST: both ends shut down is what either sees when the
     * other has gone (recv 0; send EPIPE, with SIGPIPE) */
    if (ss_event_is_tcp(info))
        reset_tcp(fd);
    else
        shut_unix(fd);
    ss_model_mark_reset(obj);
    errno = saved;
    return 1;
}

/* ---- time --------------------------------------------------------------- */

/* The kernel's TCP_RTO_MIN and TCP_RTO_MAX. */
#define RTO_MIN_MS 200u
#define RTO_MAX_MS 120000u

static unsigned read_sysctl(const char *path, unsigned fallback)
{
    /* raw system calls through the real syscall(): read() and close() are
     * wrapped, and the library calls no wrapped function by name */
    int fd = (int)ss_real.syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fallback;
    char buf[16];
    long n = ss_real.syscall(SYS_read, fd, buf, sizeof buf - 1);
    ss_real.syscall(SYS_close, fd);
    if (n <= 0)
        return fallback;
    unsigned v = 0;
    for (long i = 0; i < n && buf[i] >= '0' && buf[i] <= '9' && v < 1000; i++)
        v = v * 10 + (unsigned)(buf[i] - '0');
    return v;
}

uint64_t ss_event_dead_path_ns(void)
{
    /* tcp_model_timeout(): the RTO doubles from its minimum up to its
     * maximum, then stays there, for tcp_retries2 retransmissions */
    unsigned retries = read_sysctl("/proc/sys/net/ipv4/tcp_retries2", 15);
    unsigned linear = 9; /* ilog2(RTO_MAX / RTO_MIN) */
    uint64_t ms;
    if (retries <= linear)
        ms = ((2ull << retries) - 1) * RTO_MIN_MS;
    else
        ms = ((2ull << linear) - 1) * RTO_MIN_MS + (uint64_t)(retries - linear) * RTO_MAX_MS;
    return ms * 1000000u;
}

/* The fault engine's state of obj, in the room its object keeps for it. */
static struct ss_fault_sock *fault_state(struct ss_obj *obj)
{
    return ss_obj_room(obj, SS_ROOM_FAULT);
}

static struct ss_fault_sock *locked_state(struct ss_obj *obj)
{
    return obj != NULL && ss_obj_lock(obj) ? fault_state(obj) : NULL;
}

void ss_event_time_connect(int fd, struct ss_obj *obj, uint64_t ns)
{
    int user_timeout = 0, syncnt = 0;
    socklen_t len = sizeof user_timeout;
    if (ss_real.getsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, &len) != 0)
        return;
    len = sizeof syncnt;
    if (ss_real.getsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, &len) != 0)
        return;
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return; /* cannot remember them: leave the socket as it is */
    if (!(atomic_load_explicit(&st->pending, memory_order_relaxed) & SS_PENDING_RESTORE)) {
        st->saved_user_timeout = user_timeout;
        st->saved_syncnt = syncnt;
    }
    atomic_fetch_or_explicit(&st->pending, SS_PENDING_RESTORE, memory_order_release);
    ss_obj_unlock(obj);
    uint64_t ms = (ns + 999999u) / 1000000u;
    int timeout_ms = ms > 0x7fffffff ? 0x7fffffff : (int)ms;
    int most_retries = 127; /* the SYN retries must not run out before the time */
    ss_real.setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &most_retries, sizeof most_retries);
    ss_real.setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &timeout_ms, sizeof timeout_ms);
}

void ss_event_restore_options(int fd, struct ss_obj *obj)
{
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return;
    int had = atomic_fetch_and_explicit(&st->pending, ~(unsigned)SS_PENDING_RESTORE,
                                        memory_order_acq_rel) &
              SS_PENDING_RESTORE;
    int user_timeout = st->saved_user_timeout, syncnt = st->saved_syncnt;
    ss_obj_unlock(obj);
    if (!had)
        return;
    ss_real.setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout, sizeof user_timeout);
    ss_real.setsockopt(fd, IPPROTO_TCP, TCP_SYNCNT, &syncnt, sizeof syncnt);
}

/* ---- what the program reads later ---------------------------------------- */

void ss_event_report_later(struct ss_obj *obj, int err, int rule)
{
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return;
    st->report_as = err;
    st->report_rule = rule;
    atomic_fetch_or_explicit(&st->pending, SS_PENDING_REPORT, memory_order_release);
    ss_obj_unlock(obj);
}

void ss_event_end_stream(struct ss_obj *obj, int rule)
{
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return;
    if (st->eof_rule == 0)
        st->eof_rule = rule;
    atomic_fetch_or_explicit(&st->pending, SS_PENDING_EOF, memory_order_release);
    ss_obj_unlock(obj);
}

int ss_event_stream_ended(struct ss_obj *obj)
{
    if (obj == NULL ||
        !(atomic_load_explicit(&fault_state(obj)->pending, memory_order_acquire) &
          SS_PENDING_EOF))
        return 0;
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return 0;
    int rule = st->eof_rule;
    ss_obj_unlock(obj);
    return rule;
}

/* ---- datagrams ---------------------------------------------------------- */

_Atomic int ss_event_reorder_rules; /* set when a rule is taken */

int ss_event_passes_msg_flags(const struct ss_call *c)
{
    switch (c->fn) {
    case SS_FN_send:
    case SS_FN___send:
    case SS_FN_sendto:
    case SS_FN_sendmsg:
    case SS_FN_recv:
    case SS_FN___recv_chk:
    case SS_FN_recvfrom:
    case SS_FN___recvfrom_chk:
    case SS_FN_recvmsg:
        return 1;
    default:
        return 0;
    }
}

int ss_event_call_flag(const struct ss_call *c, int flag)
{
    return ss_event_passes_msg_flags(c) && (c->flags & flag) != 0;
}

struct ss_held_datagram *ss_event_new_held(size_t len)
{
    size_t map_len = sizeof(struct ss_held_datagram) + len;
    void *p = mmap(NULL, map_len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return NULL;
    struct ss_held_datagram *h = p;
    h->len = len;
    h->map_len = map_len;
    h->owner = ss_pid();
    return h;
}

void ss_event_free_held(struct ss_held_datagram *h)
{
    if (h != NULL)
        munmap(h, h->map_len);
}

int ss_event_hold(struct ss_obj *obj, struct ss_held_datagram *h)
{
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return -1;
    /* a copy a forked child inherited is its parent's to send: the child
     * lets it go (and keeps the pages, which are its parent's too) */
    int free_slot = st->held == NULL || st->held->owner != ss_pid();
    if (free_slot) {
        st->held = h;
        atomic_fetch_or_explicit(&st->pending, SS_PENDING_HELD, memory_order_release);
    }
    ss_obj_unlock(obj);
    return free_slot ? 0 : -1;
}

struct ss_held_datagram *ss_event_due(struct ss_obj *obj, int counts, int closing)
{
    if (obj == NULL || !(atomic_load_explicit(&fault_state(obj)->pending,
                                              memory_order_acquire) & SS_PENDING_HELD))
        return NULL;
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return NULL;
    struct ss_held_datagram *h = st->held, *due = NULL;
    if (h != NULL && h->owner == ss_pid()) {
        if (counts && h->behind > 0)
            h->behind--;
        if (h->behind == 0 || closing)
            due = h;
    }
    if (due != NULL || h == NULL || h->owner != ss_pid()) {
        st->held = NULL;
        atomic_fetch_and_explicit(&st->pending, ~(unsigned)SS_PENDING_HELD, memory_order_acq_rel);
    }
    ss_obj_unlock(obj);
    return due;
}

long ss_event_send_held(int fd, const struct ss_held_datagram *h, int *err)
{
    int saved = errno;
    const struct sockaddr *to = h->addrlen != 0 ? (const struct sockaddr *)&h->addr : NULL;
    long n = ss_real.sendto(fd, h->bytes, h->len, h->flags | MSG_DONTWAIT | MSG_NOSIGNAL, to,
                            h->addrlen);
    *err = n < 0 ? errno : 0;
    errno = saved;
    return n;
}

void ss_event_lost(struct ss_obj *obj, int rule)
{
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return;
    st->lost++;
    st->lost_rule = rule;
    atomic_fetch_or_explicit(&st->pending, SS_PENDING_NEWS, memory_order_release);
    ss_obj_unlock(obj);
}

void ss_event_copy_next(struct ss_obj *obj, int rule)
{
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return;
    st->copy_rule = rule;
    atomic_fetch_or_explicit(&st->pending, SS_PENDING_NEWS, memory_order_release);
    ss_obj_unlock(obj);
}

void ss_event_take_news(struct ss_obj *obj, struct ss_datagram_news *news)
{
    *news = (struct ss_datagram_news){0, 0, 0};
    if (!(atomic_load_explicit(&fault_state(obj)->pending, memory_order_acquire) &
          SS_PENDING_NEWS))
        return;
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return;
    *news = (struct ss_datagram_news){st->lost, st->lost_rule, st->copy_rule};
    st->lost = 0;
    st->copy_rule = 0;
    atomic_fetch_and_explicit(&st->pending, ~(unsigned)SS_PENDING_NEWS, memory_order_acq_rel);
    ss_obj_unlock(obj);
}

void ss_event_peeked(struct ss_obj *obj)
{
    if (obj == NULL || (atomic_load_explicit(&fault_state(obj)->pending, memory_order_relaxed) &
                        SS_PENDING_PEEKED))
        return;
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return;
    atomic_fetch_or_explicit(&st->pending, SS_PENDING_PEEKED, memory_order_release);
    ss_obj_unlock(obj);
}

int ss_event_take_peeked(struct ss_obj *obj)
{
    if (obj == NULL || !(atomic_load_explicit(&fault_state(obj)->pending,
                                              memory_order_acquire) & SS_PENDING_PEEKED))
        return 0;
    unsigned had = atomic_fetch_and_explicit(&fault_state(obj)->pending,
                                             ~(unsigned)SS_PENDING_PEEKED, memory_order_acq_rel);
    return (had & SS_PENDING_PEEKED) != 0;
}

int ss_event_pending(struct ss_obj *obj)
{
    return obj != NULL &&
           atomic_load_explicit(&fault_state(obj)->pending, memory_order_acquire) != 0;
}

/* Whether fd's connect is still waiting for an answer. */
static int still_connecting(int fd)
{
    struct tcp_info ti;
    socklen_t len = sizeof ti;
    memset(&ti, 0, sizeof ti);
    if (ss_real.getsockopt(fd, IPPROTO_TCP, TCP_INFO, &ti, &len) != 0)
        return 0;
    return ti.tcpi_state == TCP_SYN_SENT;
}

void ss_event_settle_before(const struct ss_call *c, struct ss_obj *obj)
{
    unsigned pending = atomic_load_explicit(&fault_state(obj)->pending,
                                            memory_order_acquire);
    /* the options a timed-out connect changed go back as soon as it is
     * over, before the program can connect the socket again */
    if ((pending & SS_PENDING_RESTORE) && c->op != SS_OP_close && c->fd >= 0) {
        int saved = errno;
        if (!still_connecting(c->fd))
            ss_event_restore_options(c->fd, obj);
        errno = saved;
    }
}

static int reads_so_error(const struct ss_call *c)
{
    return c->op == SS_OP_getsockopt && c->level == SOL_SOCKET && c->optname == SO_ERROR &&
           c->ret == 0 && c->optval_out != NULL && c->optlen_out != NULL &&
           *c->optlen_out >= (socklen_t)sizeof(int);
}

/* Takes what waits to be reported, if the call is where the program
 * learns it: 0, or the errno to report. */
static int take_report(struct ss_call *c, struct ss_obj *obj, int *rule)
{
    struct ss_fault_sock *st = locked_state(obj);
    if (st == NULL)
        return 0;
    int err = 0;
    int learns = (c->ret == -1 && c->err == ECONNREFUSED) ||
                 (reads_so_error(c) && *(int *)c->optval_out == ECONNREFUSED);
    /* a new connect of the program starts afresh */
    int restarted = (c->op == SS_OP_connect || c->op == SS_OP_connect_ex) && !learns;
    if (learns || restarted) {
        err = learns ? st->report_as : 0;
        *rule = st->report_rule;
        atomic_fetch_and_explicit(&st->pending, ~(unsigned)SS_PENDING_REPORT,
                                  memory_order_acq_rel);
    }
    ss_obj_unlock(obj);
    return err;
}

/* A receive that took a datagram off the socket (not a peek): the one a
 * peek showed is gone from the queue. */
static int takes_datagram(const struct ss_call *c)
{
    return ss_op_in(c->op, SS_OPS_RECVS) && !ss_event_call_flag(c, MSG_PEEK) && c->ret >= 0;
}

void ss_event_settle_after(struct ss_call *c, struct ss_obj *obj)
{
    unsigned pending = atomic_load_explicit(&fault_state(obj)->pending, memory_order_acquire);
    if ((pending & SS_PENDING_PEEKED) && takes_datagram(c))
        ss_event_take_peeked(obj);
    if (!(pending & SS_PENDING_REPORT))
        return;
    int rule = 0;
    int err = take_report(c, obj, &rule);
    if (err == 0)
        return;
    if (c->ret == -1)
        c->err = err;
    else
        *(int *)c->optval_out = err;
    if (c->fault == 0)
        ss_fault_mark(c, rule);
}
