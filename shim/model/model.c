/* sockshim: the socket-object model (see model.h for its rules). */
#include "model.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "internal.h"
#include "real.h"

/* ---- objects ---------------------------------------------------------- */

struct ss_opt {
    int level, optname, value;
};

/* A socket object: the fd table's head (which the model never touches),
 * what the model knows of the socket, and the rooms it keeps for the
 * stages with state of their own per socket (model.h). Everything after
 * the head is guarded by the object's lock (ss_obj_lock), except where a
 * field says otherwise. */
struct ss_obj {
    struct ss_obj_head head; /* fdtable.c's */
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
    /* bumped (under the lock) when what a snapshot shows changes; read
     * without it by ss_model_recorded */
    _Atomic uint32_t version;
    /* this process's pid << 32 | the highest version of this socket a call
     * record in the run's ring holds whole (ss_model_mark_recorded) */
    _Atomic uint64_t recorded;
    _Alignas(SS_ROOM_ALIGN) unsigned char audit_room[SS_ROOM_AUDIT_SIZE];
    _Alignas(SS_ROOM_ALIGN) unsigned char fault_room[SS_ROOM_FAULT_SIZE];
    /* the capture's (--pcap) names for an AF_UNIX socket (capture.c) */
    uint64_t cap_ino, cap_peer_ino;
    unsigned cap_known; /* SS_CAP_KNOW_* */
    /* the fault engine's per-socket counts (ss_model_count) */
    _Atomic uint32_t counts[SS_MODEL_COUNTERS];
    uint64_t stable_key; /* set before the object is published, then fixed */
} __attribute__((aligned(64)));

/* docs/architecture.md states the memory a socket costs */
_Static_assert(sizeof(struct ss_obj) == 704, "update docs/architecture.md");
/* The fd table stores objects as SS_OBJ_SIZE bytes that begin with its
 * head (fdtable.c). */
_Static_assert(sizeof(struct ss_obj) == SS_OBJ_SIZE, "update SS_OBJ_SIZE (fdtable.h)");
_Static_assert(offsetof(struct ss_obj, head) == 0, "the fd table's head comes first");

/* Under the object's lock: what a snapshot shows changed. */
static void bump_version(struct ss_obj *o)
{
    atomic_store_explicit(&o->version, atomic_load_explicit(&o->version, memory_order_relaxed) + 1,
                          memory_order_release);
}

static _Atomic uint64_t next_id = 1;

enum { NAME_LOCAL = 1, NAME_PEER = 2 };

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
    struct ss_obj *o = ss_obj_alloc();
    if (o == NULL)
        return NULL;
    /* Nobody else can reach o yet: plain initialisation is safe. */
    o->id = atomic_fetch_add_explicit(&next_id, 1, memory_order_relaxed);
    o->family = family;
    o->type = type;
    o->protocol = protocol;
    o->created_by = created_by;
    o->created_ns = ss_now_ns();
    o->stable_key = stable_key;
    ss_obj_publish(o);
    return o;
}

const size_t ss_obj_room_offset[2] = {
    [SS_ROOM_AUDIT] = offsetof(struct ss_obj, audit_room),
    [SS_ROOM_FAULT] = offsetof(struct ss_obj, fault_room),
};

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

/* Builds the object of a socket the process did not create (the fd
 * table probed what kind it is): its blocking mode, its names and the TCP
 * options the audit acts on are asked of the kernel. */
static struct ss_obj *adopt_socket(int fd, const struct ss_fd_probe *p)
{
    struct ss_obj *o = obj_new(p->family, p->type, p->protocol, SS_FN_COUNT, adopted_key());
    if (o == NULL)
        return NULL;
    o->state = SS_ST_ADOPTED | (p->listening ? SS_ST_LISTENING | SS_ST_BOUND : 0);
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
    if (is_tcp(p->family, p->type, p->protocol))
        learn_tcp_options(o, fd);
    return o;
}

struct ss_obj *ss_model_get(int fd, enum ss_fd_kind *kind, int *adopted)
{
    return ss_fdtable_get(fd, kind, adopted, adopt_socket);
}

void ss_model_cap_ids(struct ss_obj *o, struct ss_cap_ids *out)
{
    memset(out, 0, sizeof *out);
    if (o == NULL || !ss_obj_lock(o))
        return;
    out->ino = o->cap_ino;
    out->peer_ino = o->cap_peer_ino;
    out->known = o->cap_known;
    ss_obj_unlock(o);
}

void ss_model_set_cap_ids(struct ss_obj *o, const struct ss_cap_ids *ids)
{
    if (o == NULL || !ss_obj_lock(o))
        return;
    if (ids->known & SS_CAP_KNOW_INO)
        o->cap_ino = ids->ino;
    if (ids->known & SS_CAP_KNOW_PEER)
        o->cap_peer_ino = ids->peer_ino;
    o->cap_known |= ids->known;
    ss_obj_unlock(o);
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
    if (o != NULL && ss_obj_lock(o)) {
        o->state = (o->state & ~(unsigned)(SS_ST_CONNECTED | SS_ST_CONNECTING)) | SS_ST_RESET |
                   SS_ST_SHUT_RD | SS_ST_SHUT_WR;
        bump_version(o);
        ss_obj_unlock(o);
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
    ss_fdtable_install(fd, o, (type & SOCK_CLOEXEC) != 0);
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
    if (listener == NULL || !ss_obj_lock(listener))
        return;
    out->family = listener->family;
    out->type = listener->type;
    out->protocol = listener->protocol;
    out->local = listener->laddr;
    for (unsigned i = 0; i < listener->n_opts; i++)
        if (accept_copies_option(listener, listener->opts[i].level, listener->opts[i].optname))
            out->opts[out->n_opts++] = listener->opts[i];
    ss_obj_unlock(listener);
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
    ss_fdtable_install((int)c->ret, o, (c->flags & SOCK_CLOEXEC) != 0);
}

/* Marks an object closed (its last fd is gone): 1 if this did it. */
static int mark_closed(struct ss_obj *o)
{
    if (!ss_obj_lock(o))
        return 0;
    int was_open = !(o->state & SS_ST_CLOSED);
    if (was_open) {
        o->state |= SS_ST_CLOSED;
        bump_version(o);
    }
    ss_obj_unlock(o);
    return was_open;
}

/* A range close took the last fd of o: it is closed, and closed() hears
 * of it while the table still holds its reference. */
struct range_closed {
    ss_model_closed_fn *closed;
    void *arg;
};

static void last_fd_gone_in_range(struct ss_obj *o, int fd, void *arg)
{
    const struct range_closed *r = arg;
    if (mark_closed(o) && r->closed != NULL)
        r->closed(o, fd, r->arg);
}

static void close_fd_range(unsigned first, unsigned last, int flags, ss_model_closed_fn *closed,
                           void *arg)
{
    struct range_closed r = {closed, arg};
    ss_fdtable_close_range(first, last, (flags & CLOSE_RANGE_CLOEXEC) != 0,
                           last_fd_gone_in_range, &r);
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
            ss_fdtable_forget(fd);
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
            ss_fdtable_dup(obj, (int)c->ret, dup_cloexec(c));
        break;
    case SS_OP_close:
        /* Linux frees the fd even when close reports EINTR or EIO; dup2 over
         * a socket closes it only when it succeeds. */
        if (!c->fd_released && (!c->failed || (c->fn != SS_FN_dup2 && c->fn != SS_FN_dup3)))
            ss_fdtable_release_closing(c->fd, obj);
        break;
    case SS_OP_close_range:
        break; /* ss_model_close_range(), with what to do for each socket */
    case SS_OP_recvmsg:
        if (!c->failed && c->msg != NULL && c->msg->msg_controllen > 0)
            forget_received_fds(c->msg);
        break;
    case SS_OP_set_inheritable:
        if (!c->failed)
            ss_fdtable_set_cloexec(c->fd, !ss_call_inheritable_flag(c));
        break;
    default:
        break;
    }
}

int ss_model_update(struct ss_call *c, struct ss_obj *obj)
{
    int last_closed = 0;
    update_fds(c, obj);
    if (obj != NULL && ss_obj_lock(obj)) {
        unsigned state = obj->state;
        int nonblocking = obj->nonblocking;
        update_object(obj, c);
        if (c->op == SS_OP_close && ss_obj_fd_count(obj) == 0 &&
            !(obj->state & SS_ST_CLOSED)) {
            obj->state |= SS_ST_CLOSED; /* its last fd is gone */
            last_closed = 1;
        }
        if (obj->state != state || obj->nonblocking != nonblocking)
            bump_version(obj); /* (address changes bump it where they happen) */
        ss_obj_unlock(obj);
    }
    return last_closed;
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
    if (o == NULL || !ss_obj_lock(o)) {
        memset(out, 0, sizeof *out);
        return;
    }
    if (want_names && !(o->state & SS_ST_CLOSED))
        fetch_names(o, fd);
    snapshot_locked(o, out);
    ss_obj_unlock(o);
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
    if (ss_fdtable_kind(fd) != SS_FD_SOCKET)
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

/* In a forked child the fd table lets go of every object's lock. The
 * fault engine's counts start afresh, as its per-process counts do; the
 * keys' numbering (sockets_made, sockets_adopted, accepted) goes on, so
 * that a socket the child makes never gets the key of one it inherited. */
void ss_model_after_fork_child(void)
{
    ss_fdtable_after_fork_child(forget_counts);
}

void ss_model_snapshot_locked(struct ss_obj *o, struct ss_sockinfo *out)
{
    memset(out, 0, sizeof *out);
    snapshot_locked(o, out);
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
    if (o == NULL || ss_obj_fd_count(o) != 1 || !ss_obj_lock(o))
        return;
    fetch_names(o, fd);
    ss_obj_unlock(o);
}

static void learn_names_of_socket(int fd, struct ss_obj *o, void *arg)
{
    (void)arg;
    ss_model_learn_names(o, fd);
}

void ss_model_learn_names_in_range(unsigned first, unsigned last)
{
    ss_fdtable_each_socket_in_range(first, last, learn_names_of_socket, NULL);
}
