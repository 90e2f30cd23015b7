/* sockshim: the audit (see audit.h and docs/findings.md). */
#include "audit.h"
#include "live.h"

#include <dlfcn.h>
#include <link.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <signal.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "internal.h"
#include "model.h"
#include "place.h"
#include "real.h"
#include "render.h"

/* ---- per-socket flags -------------------------------------------------- */

enum {
    AUDIT_REUSEADDR = 1u << 0,      /* SO_REUSEADDR or SO_REUSEPORT set */
    AUDIT_NODELAY = 1u << 1,        /* TCP_NODELAY or TCP_CORK set */
    AUDIT_FIXED_PORT = 1u << 2,     /* bound to a port of its own choosing */
    AUDIT_CONNECT_PENDING = 1u << 3, /* non-blocking connect not yet checked */
    AUDIT_SIGPIPE_CHECKED = 1u << 4, /* SIGPIPE's disposition was looked at */
    AUDIT_LOOP_SEEN = 1u << 5,      /* the loop in progress has had a continuation */
    AUDIT_SIGPIPE_DEFAULT = 1u << 6, /* SIGPIPE's action was the default then */
    AUDIT_SIGPIPE_BLOCKED = 1u << 7, /* SIGPIPE is blocked in thread sigpipe_tid */
};

/* The audit's state of obj, in the room its object keeps for it. */
static struct ss_audit_sock *audit_state(struct ss_obj *obj)
{
    return ss_obj_room(obj, SS_ROOM_AUDIT);
}

/* ---- process-wide tables ------------------------------------------------ */

#define MAX_FINDINGS 1024
#define MAX_SOCKET_LOG 4096

/* Mapped on first use, so that a process that finds nothing pays nothing. */
static struct ss_finding_rec *findings;
static _Atomic int n_findings;
static struct ss_socket_rec *socket_log;
static _Atomic int n_socket_log;
static _Atomic uint64_t socket_log_dropped;
static _Atomic uint64_t next_loop_id;
static _Atomic int socket_touched; /* see ss_audit_touched_socket */

/* The per-method counters the summary shows, and the counts ctl stats
 * reads: in the run's live counts with --control (live.h), else here. */
static struct ss_live_counts own_counts;
static struct ss_live_counts *_Atomic counts = &own_counts;

static struct ss_live_counts *counting(void)
{
    return atomic_load_explicit(&counts, memory_order_relaxed);
}

/* Counts go to a slot of the run's live counts when there are some. */
static void count_in_live_slot(void)
{
    struct ss_live_counts *slot = ss_live_claim();
    atomic_store_explicit(&counts, slot != NULL ? slot : &own_counts, memory_order_release);
}

static void *map_table(size_t size)
{
    void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

/* The program's own file: dladdr names it by argv[0], which may be
 * relative to a directory the program has left, or a name found in PATH. */
static char exe_path[4096];

void ss_audit_init(void)
{
    ssize_t n = readlink("/proc/self/exe", exe_path, sizeof exe_path - 1);
    exe_path[n > 0 ? n : 0] = '\0';
    findings = map_table(MAX_FINDINGS * sizeof *findings);
    socket_log = map_table(MAX_SOCKET_LOG * sizeof *socket_log);
    count_in_live_slot();
}

static void count_open_socket(int fd, struct ss_obj *obj, void *arg)
{
    (void)fd;
    (void)obj;
    ++*(int64_t *)arg;
}

/* A forked child's summary is its own: it starts with empty tables (the
 * parent's findings and sockets stay the parent's). */
void ss_audit_after_fork_child(void)
{
    atomic_store_explicit(&n_findings, 0, memory_order_relaxed);
    atomic_store_explicit(&socket_touched, 0, memory_order_relaxed);
    atomic_store_explicit(&n_socket_log, 0, memory_order_relaxed);
    atomic_store_explicit(&socket_log_dropped, 0, memory_order_relaxed);
    memset(&own_counts, 0, sizeof own_counts); /* no other thread: fork made one */
    count_in_live_slot(); /* the parent's slot stays the parent's */
    /* the sockets it inherited are open in it too, and it may close them */
    int64_t open = 0;
    ss_fdtable_each_socket(count_open_socket, &open);
    atomic_store_explicit(&counting()->sockets_open, open, memory_order_relaxed);
}

/* The image ends (its summary is about to be written): its counts come
 * back here, and its live slot is let go, since the command may fold and
 * free it at any time now. */
static void leave_live_slot(void)
{
    struct ss_live_counts *k = counting();
    if (k == &own_counts)
        return;
    memcpy(&own_counts, k, sizeof own_counts);
    atomic_store_explicit(&counts, &own_counts, memory_order_release);
    ss_live_release();
}

const struct ss_finding_rec *ss_audit_finding(int index)
{
    return &findings[index];
}

int ss_audit_finding_count(void)
{
    int n = atomic_load_explicit(&n_findings, memory_order_acquire);
    return n < MAX_FINDINGS ? n : MAX_FINDINGS;
}

int ss_audit_socket_count(void)
{
    int n = atomic_load_explicit(&n_socket_log, memory_order_acquire);
    return n < MAX_SOCKET_LOG ? n : MAX_SOCKET_LOG;
}

int ss_audit_log_has_room(void)
{
    return socket_log != NULL &&
           atomic_load_explicit(&n_socket_log, memory_order_relaxed) < MAX_SOCKET_LOG;
}

const struct ss_socket_rec *ss_audit_socket(int index)
{
    return &socket_log[index];
}

uint64_t ss_audit_sockets_dropped(void)
{
    return atomic_load_explicit(&socket_log_dropped, memory_order_relaxed);
}

void ss_audit_method_stats(enum ss_op op, struct ss_method_stats *out)
{
    const struct ss_live_op *k = &counting()->op[op];
    out->calls = atomic_load_explicit(&k->calls, memory_order_relaxed);
    out->errors = atomic_load_explicit(&k->errors, memory_order_relaxed);
    out->faults = atomic_load_explicit(&k->faults, memory_order_relaxed);
    out->bytes = atomic_load_explicit(&k->bytes, memory_order_relaxed);
    out->time_ns = atomic_load_explicit(&k->time_ns, memory_order_relaxed);
}

/* ---- findings ----------------------------------------------------------- */

/* A finding on an fd whose socket is gone (use after close, double close)
 * has no socket to remember it by: the table is searched by fd. Such
 * findings are rare; the search is short. */
static struct ss_finding_rec *finding_on_fd(enum ss_finding code, const struct ss_call *c)
{
    int n = ss_audit_finding_count();
    for (int i = 0; c != NULL && i < n; i++) {
        struct ss_finding_rec *f = &findings[i];
        if (atomic_load_explicit(&f->count, memory_order_acquire) != 0 && f->code == code &&
            f->fd == c->fd && f->sock.id == 0)
            return f;
    }
    return NULL;
}

/* Counts a finding on a socket: the first time it takes a record in the
 * table (and the verdict says so, for the trace), later times count. */
static void note_finding(struct ss_audit_sock *st, enum ss_finding code,
                         const struct ss_call *c, struct ss_obj *obj, uintptr_t where,
                         uint64_t amount, struct ss_audit_verdict *v)
{
    if (findings == NULL)
        return;
    atomic_fetch_add_explicit(&counting()->findings[code], 1, memory_order_relaxed);
    uint16_t *slot = st != NULL ? &st->finding_slot[code] : NULL;
    struct ss_finding_rec *seen = slot != NULL && *slot != 0 ? &findings[*slot - 1]
                                  : slot == NULL            ? finding_on_fd(code, c)
                                                            : NULL;
    if (seen != NULL) {
        atomic_fetch_add_explicit(&seen->count, 1, memory_order_relaxed);
        atomic_fetch_add_explicit(&seen->amount, amount, memory_order_relaxed);
        return;
    }
    int index = atomic_fetch_add_explicit(&n_findings, 1, memory_order_acq_rel);
    if (index >= MAX_FINDINGS)
        return;
    struct ss_finding_rec *f = &findings[index];
    f->code = code;
    f->fd = c != NULL ? c->fd : -1;
    f->tid = ss_tid();
    f->t_ns = c != NULL ? c->t_end_ns : ss_now_ns();
    f->where = where;
    atomic_store_explicit(&f->amount, amount, memory_order_relaxed);
    if (obj != NULL)
        ss_model_snapshot_locked(obj, &f->sock);
    atomic_store_explicit(&f->count, 1, memory_order_release);
    if (slot != NULL)
        *slot = (uint16_t)(index + 1);
    if (v != NULL && v->n_new < SS_MAX_NEW_FINDINGS)
        v->new_findings[v->n_new++] = index;
}

/* ---- what a call is ------------------------------------------------------ */

#define OPBIT(op) SS_OPBIT(op)
#define SENDS SS_OPS_SENDS
#define RECVS SS_OPS_RECVS

static int is_op(const struct ss_call *c, ss_opmask ops)
{
    return (ops >> c->op) & 1;
}

static int stream(const struct ss_sockbrief *s)
{
    return s->type == SOCK_STREAM || s->type == SOCK_SEQPACKET;
}

static int tcp(const struct ss_sockbrief *s)
{
    return s->type == SOCK_STREAM && (s->family == AF_INET || s->family == AF_INET6);
}

/* A transfer from one buffer (not an iovec array or a message): the only
 * kind whose continuation can be told for sure. */
static int single_buffer(const struct ss_call *c)
{
    return c->msg == NULL && c->iov == NULL && c->fn != SS_FN_splice &&
           c->op != SS_OP_sendfile && c->op != SS_OP_sendmmsg && c->op != SS_OP_recvmmsg;
}

static uintptr_t buffer_of(const struct ss_call *c)
{
    return is_op(c, SENDS) ? (uintptr_t)c->cbuf : (uintptr_t)c->buf;
}

static uint64_t bytes_moved(const struct ss_call *c)
{
    if (c->failed || c->ret <= 0)
        return 0;
    if (c->op == SS_OP_sendmmsg || c->op == SS_OP_recvmmsg) {
        uint64_t total = 0;
        for (long i = 0; c->mmsg != NULL && i < c->ret; i++)
            total += c->mmsg[i].msg_len;
        return total;
    }
    return (uint64_t)c->ret;
}

int ss_audit_touched_socket(void)
{
    return atomic_load_explicit(&socket_touched, memory_order_relaxed);
}

int ss_audit_saw_calls(void)
{
    return ss_audit_touched_socket() ||
           atomic_load_explicit(&counting()->op[SS_OP_fork].calls, memory_order_relaxed) != 0;
}

/* Every call the audit sees but a fork is a socket's: the pipeline lets
 * through only socket calls, calls on an fd that is or was a socket, and
 * the socket API on any fd. Read before written, so that the calls after
 * the first do not write the flag's cache line, which all threads share. */
static void note_socket_touched(const struct ss_call *c)
{
    if (c->op != SS_OP_fork && !atomic_load_explicit(&socket_touched, memory_order_relaxed))
        atomic_store_explicit(&socket_touched, 1, memory_order_relaxed);
}

static void tally(const struct ss_call *c);

static void count_method(const struct ss_call *c)
{
    /* a fork returns in the child too (0): the call is its parent's, as
     * its line is (trace.c) */
    if (c->op == SS_OP_fork && !c->failed && c->ret == 0)
        return;
    note_socket_touched(c);
    tally(c);
}

void ss_audit_resolution(const struct ss_call *c)
{
    tally(c);
}

/* The method's row of the summary. */
static void tally(const struct ss_call *c)
{
    struct ss_live_op *k = &counting()->op[c->op];
    atomic_fetch_add_explicit(&k->calls, 1, memory_order_relaxed);
    if (c->failed)
        atomic_fetch_add_explicit(&k->errors, 1, memory_order_relaxed);
    if (c->fault)
        atomic_fetch_add_explicit(&k->faults, 1, memory_order_relaxed);
    if (is_op(c, SENDS | RECVS))
        atomic_fetch_add_explicit(&k->bytes, bytes_moved(c), memory_order_relaxed);
    if (c->t_end_ns > c->t_start_ns)
        atomic_fetch_add_explicit(&k->time_ns, c->t_end_ns - c->t_start_ns,
                                  memory_order_relaxed);
}

/* ---- loops around short transfers --------------------------------------- */

static void loop_view(const struct ss_audit_sock *st, struct ss_loop_view *view)
{
    view->id = st->loop_id;
    view->dir = st->loop_dir;
    view->total = st->loop_total;
    view->done = st->loop_done;
    view->calls = st->loop_calls;
    view->base = st->loop_next - (uintptr_t)st->loop_done;
    view->start_ns = st->loop_start_ns;
    view->faults = st->loop_faults;
}

static void loop_end(struct ss_audit_sock *st)
{
    st->loop_id = 0;
    st->loop_dir = SS_LOOP_NONE;
    st->flags &= (uint8_t)~AUDIT_LOOP_SEEN;
}

/* A send loop that ends with bytes outstanding: the program believes it
 * sent them; the kernel never had them. */
static void lose_loop(struct ss_audit_sock *st, const struct ss_call *c, struct ss_obj *obj,
                      struct ss_audit_verdict *v)
{
    if (st->loop_dir == SS_LOOP_SEND && st->loop_done < st->loop_total) {
        v->broke_loop = 1;
        loop_view(st, &v->broken);
        note_finding(st, SS_FIND_lost_bytes, c, obj, st->loop_caller,
                     st->loop_total - st->loop_done, v);
    }
    loop_end(st);
}

/* A call continues a loop when its buffer starts where the loop's last
 * call stopped. A receive must also ask for exactly the rest of the buffer
 * the loop fills; a send may ask for more (a program that sends in chunks
 * asks for a whole chunk again after a short send), which the loop then
 * covers too. */
static int continues_loop(const struct ss_audit_sock *st, const struct ss_call *c, int dir)
{
    if (st->loop_dir != dir || !single_buffer(c) || buffer_of(c) != st->loop_next)
        return 0;
    return dir == SS_LOOP_SEND || c->len == st->loop_total - st->loop_done;
}

static void start_loop(struct ss_audit_sock *st, const struct ss_call *c, int dir,
                       struct ss_audit_verdict *v)
{
    st->loop_id = atomic_fetch_add_explicit(&next_loop_id, 1, memory_order_relaxed) + 1;
    st->loop_dir = (uint8_t)dir;
    st->loop_total = c->len;
    st->loop_done = (uint64_t)c->ret;
    st->loop_next = buffer_of(c) + (uintptr_t)c->ret;
    st->loop_calls = 1;
    st->loop_faults = c->fault != 0;
    st->loop_caller = c->caller;
    st->loop_start_ns = c->t_start_ns;
    v->loop = SS_LOOP_STARTED;
    loop_view(st, &v->view);
}

/* A send that moved less than asked starts a loop; a send that carries on
 * exactly where the last one stopped continues it, and one that starts
 * anywhere else ends it (losing what was left). Receives are the same,
 * except that a receive loop is only known from its second call (a short
 * receive is the normal case) and never loses anything. */
static void track_loop(struct ss_audit_sock *st, const struct ss_call *c, struct ss_obj *obj,
                       const struct ss_sockbrief *info, struct ss_audit_verdict *v)
{
    int dir = is_op(c, SENDS) ? SS_LOOP_SEND : is_op(c, RECVS) ? SS_LOOP_RECV : SS_LOOP_NONE;
    if (dir == SS_LOOP_NONE || !stream(info))
        return;
    if (st->loop_dir != SS_LOOP_NONE && continues_loop(st, c, dir)) {
        int retry = c->failed && (c->err == EAGAIN || c->err == EINTR);
        st->loop_calls++;
        st->loop_faults += c->fault != 0;
        st->flags |= AUDIT_LOOP_SEEN;
        if (c->failed && !retry) {
            v->loop = SS_LOOP_FAILED;
            loop_view(st, &v->view);
            lose_loop(st, c, obj, v);
            return;
        }
        if (!c->failed && c->ret == 0 && dir == SS_LOOP_RECV) { /* end of file */
            loop_end(st);
            return;
        }
        uint64_t moved = c->failed ? 0 : (uint64_t)c->ret;
        if (st->loop_done + c->len > st->loop_total)
            st->loop_total = st->loop_done + c->len;
        st->loop_done += moved;
        st->loop_next += (uintptr_t)moved;
        loop_view(st, &v->view);
        v->loop = st->loop_done == st->loop_total ? SS_LOOP_COMPLETED : SS_LOOP_CONTINUED;
        if (v->loop == SS_LOOP_COMPLETED)
            loop_end(st);
        return;
    }
    if (st->loop_dir == SS_LOOP_SEND && dir == SS_LOOP_SEND)
        lose_loop(st, c, obj, v);
    else if (st->loop_dir == dir)
        loop_end(st);
    if (!c->failed && single_buffer(c) && c->ret > 0 && (uint64_t)c->ret < c->len &&
        st->loop_dir == SS_LOOP_NONE && c->op != SS_OP_sendto)
        start_loop(st, c, dir, v);
}

/* ---- the shapes of misuse ----------------------------------------------- */

static int sigpipe_at_default(void)
{
    struct sigaction sa;
    return sigaction(SIGPIPE, NULL, &sa) == 0 && sa.sa_handler == SIG_DFL;
}

static int sigpipe_blocked_in_this_thread(void)
{
    sigset_t mask;
    return pthread_sigmask(SIG_BLOCK, NULL, &mask) == 0 && sigismember(&mask, SIGPIPE) == 1;
}

/* Whether the SIGPIPE a send raises would kill the process: its action is
 * the default and the sending thread does not block it (the kernel raises
 * it in that thread; blocked, it waits there, pending: docs/findings.md
 * says why that is no finding). Each look is a system call, so each answer
 * is kept: the disposition's for the socket, from its first send without
 * MSG_NOSIGNAL; the mask's for the last thread that made such a send (a
 * mask is the thread's own), looked at only when the disposition would
 * make a finding. */
static int sigpipe_would_kill(struct ss_audit_sock *st)
{
    if (!(st->flags & AUDIT_SIGPIPE_CHECKED)) {
        st->flags |= AUDIT_SIGPIPE_CHECKED;
        if (sigpipe_at_default())
            st->flags |= AUDIT_SIGPIPE_DEFAULT;
    }
    if (!(st->flags & AUDIT_SIGPIPE_DEFAULT))
        return 0;
    pid_t tid = ss_tid();
    if (st->sigpipe_tid != tid) {
        st->sigpipe_tid = tid;
        if (sigpipe_blocked_in_this_thread())
            st->flags |= AUDIT_SIGPIPE_BLOCKED;
        else
            st->flags &= (uint8_t)~AUDIT_SIGPIPE_BLOCKED;
    }
    return !(st->flags & AUDIT_SIGPIPE_BLOCKED);
}

static void check_sigpipe(struct ss_audit_sock *st, const struct ss_call *c, struct ss_obj *obj,
                          const struct ss_sockbrief *info, struct ss_audit_verdict *v)
{
    if (!is_op(c, SENDS) || !stream(info) || (c->flags & MSG_NOSIGNAL))
        return;
    if (sigpipe_would_kill(st))
        note_finding(st, SS_FIND_sigpipe_risk, c, obj, c->caller, 0, v);
}

/* Several small writes and then a wait for the answer: with Nagle's
 * algorithm on, the last write waits for the peer's delayed ACK. */
static void check_nagle(struct ss_audit_sock *st, const struct ss_call *c, struct ss_obj *obj,
                        const struct ss_sockbrief *info, struct ss_audit_verdict *v)
{
    enum { SMALL = 1024 };
    if (!tcp(info) || (st->flags & AUDIT_NODELAY) || c->failed)
        return;
    if (is_op(c, SENDS)) {
        if (c->ret > 0 && c->ret < SMALL && !(c->flags & MSG_MORE)) {
            if (st->small_sends < 255)
                st->small_sends++;
        } else {
            st->small_sends = 0;
        }
    } else if (is_op(c, RECVS)) {
        if (st->small_sends >= 2)
            note_finding(st, SS_FIND_nagle_small_writes, c, obj, c->caller, 0, v);
        st->small_sends = 0;
    }
}

/* What an option the socket has means to the audit: set now, or set
 * before the socket was made (accept's copy of its listener's, or found
 * when it was adopted). */
static void note_option_value(struct ss_audit_sock *st, int level, int optname, int on)
{
    unsigned flag = 0;
    if (level == SOL_SOCKET && (optname == SO_REUSEADDR || optname == SO_REUSEPORT))
        flag = AUDIT_REUSEADDR;
    else if (level == IPPROTO_TCP && (optname == TCP_NODELAY || optname == TCP_CORK))
        flag = AUDIT_NODELAY;
    if (on)
        st->flags |= (uint8_t)flag;
    else
        st->flags &= (uint8_t)~flag;
}

static void note_option(struct ss_audit_sock *st, const struct ss_call *c)
{
    int on = 0;
    if (c->failed || c->optval == NULL || c->optlen < sizeof(int))
        return;
    memcpy(&on, c->optval, sizeof on);
    note_option_value(st, c->level, c->optname, on);
}

/* A new socket may have options already: the model's record of them is
 * where the audit's state starts. */
static void note_options_at_creation(struct ss_audit_sock *st, struct ss_obj *obj)
{
    int opts[SS_MODEL_MAX_OPTS][3];
    int n = ss_model_options(obj, opts, SS_MODEL_MAX_OPTS);
    for (int i = 0; i < n; i++)
        note_option_value(st, opts[i][0], opts[i][1], opts[i][2]);
}

static int bound_port(const struct ss_call *c)
{
    const struct sockaddr *sa = c->addr;
    if (sa == NULL)
        return 0;
    if (sa->sa_family == AF_INET && c->addrlen >= sizeof(struct sockaddr_in))
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6 && c->addrlen >= sizeof(struct sockaddr_in6))
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return 0;
}

/* What connection setup says about the socket. */

/* Whether err says a connection could not be made (or was lost). */
static int connection_error(int err)
{
    switch (err) {
    case ECONNREFUSED:
    case ETIMEDOUT:
    case EHOSTUNREACH:
    case ENETUNREACH:
    case ECONNRESET:
    case ECONNABORTED:
    case EPIPE:
    case ENOTCONN:
        return 1;
    default:
        return 0;
    }
}

/* The first transfer after a connect that returned EINPROGRESS, with no
 * SO_ERROR, getpeername or second connect in between. It succeeding shows
 * the program waited for the connection (in poll or epoll, which the shim
 * does not see) and the connection was made: nothing to say. It failing
 * with a connection error means the program learns the connect failed
 * from a transfer, where it cannot tell a refused connection from a broken
 * one and cannot move on to the next address. EAGAIN and EINTR decide
 * nothing yet. */
static void check_first_use(struct ss_audit_sock *st, const struct ss_call *c,
                            struct ss_obj *obj, struct ss_audit_verdict *v)
{
    if (c->failed && (c->err == EAGAIN || c->err == EINTR))
        return;
    st->flags &= (uint8_t)~AUDIT_CONNECT_PENDING;
    if (c->failed && connection_error(c->err))
        note_finding(st, SS_FIND_unchecked_connect, c, obj, c->caller, 0, v);
}

static void check_connection(struct ss_audit_sock *st, const struct ss_call *c,
                             struct ss_obj *obj, const struct ss_sockbrief *info,
                             struct ss_audit_verdict *v)
{
    switch (c->op) {
    case SS_OP_setsockopt:
        note_option(st, c);
        break;
    case SS_OP_bind:
        if (!c->failed && bound_port(c) != 0)
            st->flags |= AUDIT_FIXED_PORT;
        break;
    case SS_OP_listen:
        if (!c->failed && tcp(info) && (st->flags & AUDIT_FIXED_PORT) &&
            !(st->flags & AUDIT_REUSEADDR))
            note_finding(st, SS_FIND_reuseaddr_missing, c, obj, c->caller, 0, v);
        break;
    case SS_OP_connect:
    case SS_OP_connect_ex:
        if (c->failed && c->err == EINPROGRESS)
            st->flags |= AUDIT_CONNECT_PENDING;
        else
            st->flags &= (uint8_t)~AUDIT_CONNECT_PENDING; /* done, or asked again */
        break;
    case SS_OP_getsockopt:
        if (c->level == SOL_SOCKET && c->optname == SO_ERROR)
            st->flags &= (uint8_t)~AUDIT_CONNECT_PENDING;
        break;
    case SS_OP_getpeername:
        if (!c->failed)
            st->flags &= (uint8_t)~AUDIT_CONNECT_PENDING;
        break;
    default:
        if ((st->flags & AUDIT_CONNECT_PENDING) && is_op(c, SENDS | RECVS))
            check_first_use(st, c, obj, v);
        break;
    }
}

static void check_transfer(struct ss_audit_sock *st, const struct ss_call *c, struct ss_obj *obj,
                           const struct ss_sockbrief *info, struct ss_audit_verdict *v)
{
    /* the state before this call is what the program should have known */
    unsigned shut = info->state;
    if (is_op(c, SENDS) && (shut & SS_ST_SHUT_WR) && !(shut & SS_ST_RESET))
        note_finding(st, SS_FIND_send_after_shutdown, c, obj, c->caller, 0, v);
    if (is_op(c, RECVS) && (shut & SS_ST_SHUT_RD) && !(shut & SS_ST_RESET))
        note_finding(st, SS_FIND_send_after_shutdown, c, obj, c->caller, 0, v);
    if (is_op(c, RECVS) && stream(info) && !c->failed && c->ret == 0 &&
        c->fault == 0) {
        if (st->eof_recvs < 255)
            st->eof_recvs++;
        /* one look after end of file is common; the third is a spin */
        if (st->eof_recvs >= 3)
            note_finding(st, SS_FIND_eof_spin, c, obj, c->caller, 0, v);
    }
}

/* The socket's last fd goes: a send loop left unfinished loses its rest. */
static void check_close(struct ss_audit_sock *st, const struct ss_call *c, struct ss_obj *obj,
                        const struct ss_sockbrief *info, struct ss_audit_verdict *v)
{
    if (c->op == SS_OP_shutdown && !c->failed && c->how != SHUT_RD)
        lose_loop(st, c, obj, v);
    if (c->op == SS_OP_close && (info->state & SS_ST_CLOSED))
        lose_loop(st, c, obj, v);
}

/* A verdict of no event, no finding: only what its readers look at before
 * its event and counts say there is more (the trace reads the loop's
 * direction at once), not the whole struct on every call. */
static void no_verdict(struct ss_audit_verdict *v)
{
    v->loop = SS_LOOP_NO_EVENT;
    v->view.id = 0;
    v->view.dir = 0;
    v->broke_loop = 0;
    v->n_new = 0;
}

void ss_audit_call(struct ss_call *c, struct ss_obj *obj, int was_socket,
                   struct ss_audit_verdict *v)
{
    no_verdict(v);
    count_method(c);
    if (obj == NULL) {
        /* a call on a number whose socket was closed earlier */
        if (was_socket && c->failed && (c->err == EBADF || c->err == ENOTSOCK))
            note_finding(NULL, c->op == SS_OP_close ? SS_FIND_double_close
                                                    : SS_FIND_use_after_close,
                         c, NULL, c->caller, 0, v);
        return;
    }
    if (!ss_obj_lock(obj))
        return; /* nested in the shim's own update: this call is not audited */
    struct ss_audit_sock *st = audit_state(obj);
    struct ss_sockbrief info;
    ss_model_brief_locked(obj, &info);
    check_connection(st, c, obj, &info, v);
    check_transfer(st, c, obj, &info, v);
    check_sigpipe(st, c, obj, &info, v);
    check_nagle(st, c, obj, &info, v);
    track_loop(st, c, obj, &info, v);
    check_close(st, c, obj, &info, v);
    ss_obj_unlock(obj);
}

void ss_audit_created(struct ss_obj *obj, uintptr_t caller, int adopted)
{
    if (!ss_obj_lock(obj))
        return;
    struct ss_audit_sock *st = audit_state(obj);
    st->created_caller = caller;
    st->created_pid = adopted ? 0 : ss_pid();
    note_options_at_creation(st, obj);
    ss_obj_unlock(obj);
    struct ss_live_counts *k = counting();
    atomic_fetch_add_explicit(&k->sockets_open, 1, memory_order_relaxed);
    atomic_fetch_add_explicit(&k->sockets_made, 1, memory_order_relaxed);
}

static void count_closed(void)
{
    atomic_fetch_sub_explicit(&counting()->sockets_open, 1, memory_order_relaxed);
}

/* ---- the socket log ------------------------------------------------------ */

static const char *const row_end_json[] = {
#define SS_ROW_END_JSON(id, json, text) json,
    SS_ROW_ENDS(SS_ROW_END_JSON)
#undef SS_ROW_END_JSON
};

static const char *const row_end_text[] = {
#define SS_ROW_END_TEXT(id, json, text) text,
    SS_ROW_ENDS(SS_ROW_END_TEXT)
#undef SS_ROW_END_TEXT
};

const char *ss_row_end_json(enum ss_row_end end)
{
    return row_end_json[end];
}

const char *ss_row_end_text(enum ss_row_end end)
{
    return row_end_text[end];
}

static void log_socket(struct ss_obj *obj, int fd, enum ss_row_end end)
{
    if (socket_log == NULL)
        return;
    int index = atomic_fetch_add_explicit(&n_socket_log, 1, memory_order_acq_rel);
    if (index >= MAX_SOCKET_LOG) {
        atomic_fetch_add_explicit(&socket_log_dropped, 1, memory_order_relaxed);
        return;
    }
    struct ss_socket_rec *r = &socket_log[index];
    memset(r, 0, sizeof *r);
    r->fd = fd;
    r->end = end;
    if (!ss_obj_lock(obj))
        return;
    ss_model_snapshot_locked(obj, &r->info);
    r->created_caller = audit_state(obj)->created_caller;
    ss_model_origin(obj, &r->created_by, &r->created_ns);
    r->n_opts = ss_model_options(obj, r->opts, 4);
    ss_obj_unlock(obj);
    int open = end == SS_ROW_OPEN_AT_EXIT || end == SS_ROW_PASSED_ON_EXEC;
    r->closed_ns = open ? 0 : ss_now_ns();
}

void ss_audit_closed(struct ss_obj *obj, int fd)
{
    count_closed();
    log_socket(obj, fd, SS_ROW_CLOSED);
}

void ss_audit_closed_in_range(const struct ss_call *c, struct ss_obj *obj,
                              struct ss_audit_verdict *v)
{
    if (ss_obj_lock(obj)) {
        lose_loop(audit_state(obj), c, obj, v);
        ss_obj_unlock(obj);
    }
    count_closed();
    log_socket(obj, c->fd, SS_ROW_CLOSED);
}

/* ---- the end ------------------------------------------------------------ */

/* The sockets still open when the process exits: leaks (those this
 * process made), and what they looked like, for the summary. */
static void visit_open_at_exit(int fd, struct ss_obj *obj, void *arg)
{
    (void)arg;
    ss_model_learn_names(obj, fd);
    if (!ss_obj_lock(obj))
        return;
    struct ss_audit_sock *st = audit_state(obj);
    struct ss_call c = {.fd = fd, .t_end_ns = ss_now_ns()};
    if (st->loop_dir == SS_LOOP_SEND && st->loop_done < st->loop_total) {
        struct ss_audit_verdict v = {0};
        lose_loop(st, &c, obj, &v);
    }
    if (st->created_pid == ss_pid())
        note_finding(st, SS_FIND_leak, &c, obj, st->created_caller, 0, NULL);
    ss_obj_unlock(obj);
    log_socket(obj, fd, SS_ROW_OPEN_AT_EXIT);
}

/* ... and when it execs: no leak (handing a socket to the new program is
 * what inetd-style servers do, and FD_CLOEXEC ones the kernel closes),
 * and no loss, since the exec may yet fail and the program go on. */
static void visit_open_at_exec(int fd, struct ss_obj *obj, void *arg)
{
    (void)arg;
    ss_model_learn_names(obj, fd);
    int flags = ss_real.fcntl(fd, F_GETFD);
    log_socket(obj, fd,
               flags >= 0 && (flags & FD_CLOEXEC) ? SS_ROW_CLOSED_ON_EXEC : SS_ROW_PASSED_ON_EXEC);
}

void ss_audit_finish(int at_exec, struct ss_audit_rows *rows)
{
    rows->before = atomic_load_explicit(&n_socket_log, memory_order_acquire);
    ss_fdtable_each_socket(at_exec ? visit_open_at_exec : visit_open_at_exit, NULL);
    rows->after = atomic_load_explicit(&n_socket_log, memory_order_acquire);
    leave_live_slot();
}

/* An exec that failed: the process goes on, in a new slot that starts
 * from its counts (the old one may be folded into the ended processes'
 * row already: ctl stats may count these twice, once). */
static void rejoin_live_counts(void)
{
    struct ss_live_counts *slot = ss_live_claim();
    if (slot == NULL)
        return;
    memcpy(slot, &own_counts, sizeof *slot);
    atomic_store_explicit(&counts, slot, memory_order_release);
}

/* An exec that failed: the rows its summary added go, so that the summary
 * at the real end does not list those sockets twice. When another thread
 * logged a row since (a close racing the exec), all are left as they are. */
void ss_audit_forget_rows(const struct ss_audit_rows *rows)
{
    int expected = rows->after;
    atomic_compare_exchange_strong_explicit(&n_socket_log, &expected, rows->before,
                                            memory_order_acq_rel, memory_order_relaxed);
    rejoin_live_counts();
}

/* ---- where -------------------------------------------------------------- */

int ss_where(uintptr_t addr, struct ss_where *w)
{
    Dl_info info;
    struct link_map *map = NULL;
    memset(w, 0, sizeof *w);
    if (addr & SS_WHERE_PYTHON)
        return -1; /* a Python location: no code address */
    /* the return address is just past the call: look up the call itself */
    if (addr == 0 || dladdr1((void *)(addr - 1), &info, (void **)&map, RTLD_DL_LINKMAP) == 0 ||
        info.dli_fname == NULL)
        return -1;
    /* the main program's link map has no name */
    int main_program = map != NULL && map->l_name != NULL && map->l_name[0] == '\0';
    w->module = info.dli_fname;
    w->file = main_program && exe_path[0] != '\0' ? exe_path : info.dli_fname;
    w->module_offset = addr - (uintptr_t)info.dli_fbase;
    if (info.dli_sname != NULL) {
        w->symbol = info.dli_sname;
        w->symbol_offset = addr - (uintptr_t)info.dli_saddr;
    }
    return 0;
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* "client.py:12 in fetch()" */
static void out_python_place(struct ss_out *o, const struct ss_place_ref *p)
{
    ss_out_safe(o, base_name(p->file));
    ss_out_char(o, ':');
    ss_out_i64(o, p->line);
    ss_out_str(o, " in ");
    ss_out_safe(o, p->function);
    ss_out_str(o, "()");
}

/* module+symbol+offset, or module+offset */
static void out_module_offset(struct ss_out *o, const struct ss_where *w)
{
    ss_out_safe(o, base_name(w->module));
    ss_out_char(o, '+');
    if (w->symbol != NULL) {
        ss_out_safe(o, w->symbol);
        ss_out_char(o, '+');
        ss_out_hex(o, w->symbol_offset);
    } else {
        ss_out_hex(o, w->module_offset);
    }
}

int ss_where_place(uintptr_t addr, struct ss_where *w, struct ss_place_ref *p)
{
    if (ss_where(addr, w) != 0)
        return 0;
    return ss_place_of(addr, w->file, w->module_offset, p);
}

void ss_out_where(struct ss_out *o, uintptr_t addr)
{
    struct ss_where w;
    struct ss_place_ref p;
    if (ss_python_place(addr, &p)) {
        out_python_place(o, &p);
        return;
    }
    if (ss_where_place(addr, &w, &p)) {
        /* "main (naive.c:31)"; "main (naive+0x12b3)" without a line */
        ss_out_safe(o, p.function[0] != '\0' ? p.function : "??");
        ss_out_str(o, " (");
        if (p.line > 0) {
            ss_out_safe(o, base_name(p.file));
            ss_out_char(o, ':');
            ss_out_i64(o, p.line);
        } else {
            ss_out_safe(o, base_name(w.module));
            ss_out_char(o, '+');
            ss_out_hex(o, w.module_offset);
        }
        ss_out_char(o, ')');
        return;
    }
    if (ss_where(addr, &w) != 0) {
        if (addr == 0)
            ss_out_str(o, "?");
        else
            ss_out_hex(o, addr);
        return;
    }
    out_module_offset(o, &w);
}
