/* sockshim: the capture stage (--pcap): what crossed each TCP, UDP and
 * AF_UNIX socket, as events in the run's ring (capture.h). The command
 * makes the packets; this side only says what happened, once per call,
 * after the model has counted the call's bytes (a stream offset is the
 * count before the call).
 *
 * An AF_UNIX socket gets an IPv6 pseudo-address and a port
 * (docs/pcap-unix.md): a named socket (a path or an abstract name) one
 * from a hash of its name, an unnamed one from its inode. Both ends of a
 * connection must reach the same four: an end whose name is unknown to
 * the other (a socketpair, the connecting end of a connection) is named
 * by its inode, which the other end asks of the kernel (sock_diag), once
 * per socket, kept in the model's object.
 */
#include "capture.h"
#include "capture_event.h"

#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <linux/unix_diag.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "model.h"
#include "real.h"
#include "render.h"
#include "rules.h"
#include "ring.h"
#include "sink_ring.h"

static int enabled;

void ss_capture_init(void)
{
    enabled = ss_config.capture && ss_ring_join() == 0 && ss_ring_carries(SS_RING_CAPTURE);
}

int ss_capture_enabled(void)
{
    return enabled;
}

/* ---- one event ---------------------------------------------------------- */

/* The address bytes (4 or 16: their count is returned) and the port (in
 * network order) of an IPv4 or IPv6 socket address of salen bytes; 0 for
 * any other. */
static size_t inet_parts(const struct sockaddr *sa, socklen_t salen, const void **addr,
                         uint16_t *port)
{
    if (sa->sa_family == AF_INET && salen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *in = (const void *)sa;
        *addr = &in->sin_addr, *port = in->sin_port;
        return 4;
    }
    if (sa->sa_family == AF_INET6 && salen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *in6 = (const void *)sa;
        *addr = &in6->sin6_addr, *port = in6->sin6_port;
        return 16;
    }
    return 0;
}

/* The event's endpoints from two socket addresses; 0 when they are not
 * both IPv4 or both IPv6 (an IPv4-mapped IPv6 address counts as IPv6). */
static int set_endpoints(struct ss_cap_event *e, const struct sockaddr *local,
                         socklen_t llen, const struct sockaddr *remote, socklen_t rlen)
{
    const void *la, *ra;
    uint16_t lport, rport;
    if (llen < sizeof(sa_family_t) || rlen < sizeof(sa_family_t))
        return 0;
    size_t n = inet_parts(local, llen, &la, &lport);
    if (n == 0 || inet_parts(remote, rlen, &ra, &rport) != n)
        return 0;
    e->family = n == 4 ? 4 : 6;
    memcpy(e->laddr, la, n);
    memcpy(e->raddr, ra, n);
    e->lport = ntohs(lport);
    e->rport = ntohs(rport);
    return 1;
}

/* What drop, duplicate or reorder= did around a datagram, for its
 * comment: datagrams lost before it, and what became of it. */
struct dgram_note {
    struct ss_datagram_news news; /* lost before it; a copy */
    const char *what; /* what the call's own fault did, or NULL */
};

static void out_rule(struct ss_out *o, int rule)
{
    ss_out_str(o, "sockshim fault #");
    ss_out_i64(o, rule);
    ss_out_str(o, ": ");
    ss_out_str(o, ss_fault_rule_text(rule - 1));
}

/* The packet's comment: the rule that faulted the call, and what the
 * datagram faults did around it ("sockshim fault #1: sendto:drop: 2
 * datagrams lost before this one"). Returns its length. */
static size_t fault_note(const struct ss_call *c, const struct dgram_note *d, char *note,
                         size_t cap)
{
    struct ss_out o;
    ss_out_init(&o, note, cap);
    if (d != NULL && d->news.lost > 0) {
        out_rule(&o, d->news.lost_rule);
        ss_out_str(&o, ": ");
        ss_out_u64(&o, d->news.lost);
        ss_out_str(&o, d->news.lost == 1 ? " datagram lost before this one" :
                                           " datagrams lost before this one");
    }
    if (d != NULL && d->news.copy_rule > 0) {
        if (o.len > 0)
            ss_out_str(&o, "; ");
        out_rule(&o, d->news.copy_rule);
        ss_out_str(&o, ": a copy of the datagram before this one");
    }
    if (c->fault != 0) {
        if (o.len > 0)
            ss_out_str(&o, "; ");
        out_rule(&o, c->fault);
        if (d != NULL && d->what != NULL) {
            ss_out_str(&o, ": ");
            ss_out_str(&o, d->what);
        }
    }
    return o.len < cap ? o.len : cap;
}

void ss_capture_rule_change(int number, int added)
{
    char note[SS_RULE_TEXT_MAX + 64];
    struct ss_out o;
    ss_out_init(&o, note, sizeof note);
    ss_out_str(&o, "sockshim fault #");
    ss_out_i64(&o, number);
    ss_out_str(&o, added ? " added: " : " removed: ");
    ss_out_str(&o, ss_fault_rule_text(number - 1));
    size_t len = o.len < sizeof note ? o.len : sizeof note;
    struct ss_cap_event e = {.kind = SS_CAP_RULE, .dir = added ? 1 : 0, .flags = SS_CAP_FAULT,
                             .note_len = (uint16_t)len, .ts_ns = ss_now_ns(),
                             .offset = (uint64_t)number};
    struct iovec iov[2] = {{&e, sizeof e}, {note, len}};
    (void)ss_ring_emitv(1, iov, 2, sizeof e + len);
}

/* Writes e with its payload (the first e->len bytes of b, if any), the
 * fault note and the description (desc, e->desc_len bytes), as one
 * record; a payload longer than an event carries is sent in several, each
 * at its own offset. */
static void emit(struct ss_cap_event *e, const struct ss_bytes *b, const struct ss_call *c,
                 const struct dgram_note *d, const char *desc)
{
    char note[256];
    size_t note_len = fault_note(c, d, note, sizeof note);
    if (note_len > 0)
        e->flags |= SS_CAP_FAULT;
    e->note_len = (uint16_t)note_len;
    e->ts_ns = c->t_end_ns;
    size_t total = e->len, done = 0;
    do {
        size_t n = total - done < SS_CAP_MAX_PAYLOAD ? total - done : SS_CAP_MAX_PAYLOAD;
        enum { PIECES = 64 }; /* of a scattered buffer an event takes */
        struct iovec iov[3 + PIECES];
        int cnt = 1;
        if (n > 0)
            cnt += ss_bytes_slice(b, done, &n, iov + 1, PIECES);
        if (n == 0 && total > done)
            return; /* the bytes are not there to read */
        e->len = (uint32_t)n;
        iov[0] = (struct iovec){e, sizeof *e};
        if (note_len > 0)
            iov[cnt++] = (struct iovec){note, note_len};
        if (e->desc_len > 0)
            iov[cnt++] = (struct iovec){(void *)desc, e->desc_len};
        size_t len = sizeof *e + n + note_len + e->desc_len;
        (void)ss_ring_emitv(1, iov, cnt, len); /* a full ring drops the event */
        e->offset += n;
        done += n;
    } while (done < total);
}


/* ---- AF_UNIX ------------------------------------------------------------ */

/* A socket's name: a path, an abstract name (its first byte NUL), or
 * none (len 0). A path ends at its first NUL; an abstract name has the
 * length of its address. */
struct unix_name {
    const char *p;
    size_t len;
};

static struct unix_name unix_name(const struct sockaddr *sa, socklen_t salen)
{
    struct unix_name n = {NULL, 0};
    size_t off = offsetof(struct sockaddr_un, sun_path);
    if (sa == NULL || salen <= off || sa->sa_family != AF_UNIX)
        return n;
    const char *path = ((const struct sockaddr_un *)(const void *)sa)->sun_path;
    size_t max = salen - off;
    if (max > sizeof((struct sockaddr_un *)0)->sun_path)
        max = sizeof((struct sockaddr_un *)0)->sun_path;
    n.p = path;
    n.len = path[0] == '\0' ? (max > 1 ? max : 0) : strnlen(path, max);
    return n;
}

static uint64_t fnv1a64(const void *p, size_t n)
{
    const uint8_t *b = p;
    uint64_t h = 14695981039346656037ull;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 1099511628211ull;
    return h;
}

static void unix_address(uint8_t addr[16], unsigned subnet, uint64_t low)
{
    static const uint8_t prefix[6] = {SS_CAP_UNIX_PREFIX};
    memcpy(addr, prefix, sizeof prefix);
    addr[6] = (uint8_t)(subnet >> 8);
    addr[7] = (uint8_t)subnet;
    for (int i = 0; i < 8; i++)
        addr[8 + i] = (uint8_t)(low >> (56 - 8 * i));
}

/* A named end: address and port from a hash of the name, so that every
 * connection to one server has the same address and port. */
static void unix_named_end(uint8_t addr[16], uint16_t *port, struct unix_name n)
{
    uint64_t h = fnv1a64(n.p, n.len);
    unix_address(addr, SS_CAP_UNIX_BY_NAME, h);
    *port = (uint16_t)(1024 + (h >> 32) % (65536 - 1024));
}

/* An unnamed end: its inode (0: unknown). */
static void unix_inode_end(uint8_t addr[16], uint16_t *port, uint64_t ino)
{
    unix_address(addr, SS_CAP_UNIX_BY_INODE, ino);
    *port = (uint16_t)(49152 + ino % 16384);
}

/* One question to the kernel's sock_diag interface: sends req (len
 * bytes, after a netlink header this fills in) and reads the first answer
 * into answer (cap bytes). Its length, or -1. The netlink socket is the
 * shim's for the length of the question; errno is kept. */
static ssize_t diag_ask(const void *req, size_t len, void *answer, size_t cap)
{
    int saved = errno;
    int s = ss_real.socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);
    if (s < 0) {
        errno = saved;
        return -1;
    }
    struct {
        struct nlmsghdr nlh;
        char req[128];
    } ask;
    memset(&ask, 0, sizeof ask);
    if (len > sizeof ask.req)
        len = sizeof ask.req;
    ask.nlh.nlmsg_len = (uint32_t)NLMSG_LENGTH(len);
    ask.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
    ask.nlh.nlmsg_flags = NLM_F_REQUEST;
    memcpy(ask.req, req, len);
    struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
    ssize_t n = -1;
    if (ss_real.sendto(s, &ask, ask.nlh.nlmsg_len, 0, (struct sockaddr *)&kernel,
                       sizeof kernel) == (ssize_t)ask.nlh.nlmsg_len) {
        do
            n = ss_real.recv(s, answer, cap, 0);
        while (n < 0 && errno == EINTR);
    }
    ss_real.close(s);
    errno = saved;
    return n;
}

/* The answer's message when it is one of type SOCK_DIAG_BY_FAMILY with at
 * least size bytes of payload; NULL otherwise. *missing: the kernel said
 * there is no such socket (ENOENT). */
static const struct nlmsghdr *diag_answer(const void *answer, ssize_t n, size_t size,
                                          int *missing)
{
    const struct nlmsghdr *h = answer;
    *missing = 0;
    if (n < (ssize_t)sizeof *h || !NLMSG_OK(h, (size_t)n))
        return NULL;
    if (h->nlmsg_type == NLMSG_ERROR && h->nlmsg_len >= NLMSG_LENGTH(sizeof(struct nlmsgerr)))
        *missing = ((const struct nlmsgerr *)NLMSG_DATA(h))->error == -ENOENT;
    if (h->nlmsg_type != SOCK_DIAG_BY_FAMILY || h->nlmsg_len < NLMSG_LENGTH(size))
        return NULL;
    return h;
}

union diag_reply {
    struct nlmsghdr nlh;
    char bytes[1024];
};

/* Asks req (len bytes) and returns the answer's message, in reply, when it
 * has at least size bytes of payload; NULL otherwise (*missing: no such
 * socket). */
static const struct nlmsghdr *diag_query(const void *req, size_t len, size_t size,
                                         union diag_reply *reply, int *missing)
{
    return diag_answer(reply, diag_ask(req, len, reply, sizeof *reply), size, missing);
}

/* Asks sock_diag (the unix_diag module) of the AF_UNIX socket of inode
 * ino: 1 when it is there (*peer: its peer's inode, 0 if none), 0 when it
 * is not, -1 when the kernel cannot say. */
static int unix_diag(uint64_t ino, uint64_t *peer)
{
    *peer = 0;
    struct unix_diag_req req;
    memset(&req, 0, sizeof req);
    req.sdiag_family = AF_UNIX;
    req.udiag_states = ~0u;
    req.udiag_ino = (uint32_t)ino;
    req.udiag_show = UDIAG_SHOW_PEER;
    req.udiag_cookie[0] = req.udiag_cookie[1] = ~0u; /* no cookie */
    union diag_reply reply;
    int missing;
    const struct nlmsghdr *h =
        diag_query(&req, sizeof req, sizeof(struct unix_diag_msg), &reply, &missing);
    if (h == NULL)
        return missing ? 0 : -1;
    const struct unix_diag_msg *m = NLMSG_DATA(h);
    if (m->udiag_ino != ino)
        return 0;
    for (size_t at = NLMSG_LENGTH(NLMSG_ALIGN(sizeof *m)); at + NLA_HDRLEN <= h->nlmsg_len;) {
        const struct nlattr *a = (const void *)((const char *)h + at);
        if (a->nla_len < NLA_HDRLEN || at + a->nla_len > h->nlmsg_len)
            break;
        if ((a->nla_type & NLA_TYPE_MASK) == UNIX_DIAG_PEER &&
            a->nla_len >= NLA_HDRLEN + sizeof(uint32_t)) {
            uint32_t v;
            memcpy(&v, (const char *)a + NLA_HDRLEN, sizeof v);
            *peer = v;
            break;
        }
        at += NLA_ALIGN(a->nla_len);
    }
    return 1;
}

/* Asks sock_diag (inet_diag) for the TCP socket of this connection: 1
 * when a socket of inode ino still has it open, 0 when none does (closed
 * for good, or only the kernel's orphan or TIME_WAIT is left), -1 when
 * the kernel cannot say. */
static int tcp_diag_open(const struct ss_sockinfo *si, uint64_t ino)
{
    struct inet_diag_req_v2 req;
    memset(&req, 0, sizeof req);
    const void *la, *ra;
    uint16_t lport, rport;
    size_t n = inet_parts((const struct sockaddr *)&si->laddr.sa, si->laddr.len, &la, &lport);
    if (n == 0 || inet_parts((const struct sockaddr *)&si->raddr.sa, si->raddr.len, &ra,
                             &rport) != n)
        return -1;
    req.sdiag_family = n == 4 ? AF_INET : AF_INET6;
    req.sdiag_protocol = IPPROTO_TCP;
    req.idiag_states = ~0u;
    req.id.idiag_sport = lport, req.id.idiag_dport = rport;
    memcpy(req.id.idiag_src, la, n);
    memcpy(req.id.idiag_dst, ra, n);
    req.id.idiag_cookie[0] = req.id.idiag_cookie[1] = INET_DIAG_NOCOOKIE;
    union diag_reply reply;
    int missing;
    const struct nlmsghdr *h =
        diag_query(&req, sizeof req, sizeof(struct inet_diag_msg), &reply, &missing);
    if (h == NULL)
        return missing ? 0 : -1;
    const struct inet_diag_msg *m = NLMSG_DATA(h);
    return m->idiag_inode != 0 && m->idiag_inode == ino;
}

/* The socket's inode and, when want_peer, its peer's: from the object,
 * or asked of the kernel (fd, when still open) and kept in it. */
static void socket_ids(struct ss_obj *obj, int fd, int want_peer, struct ss_cap_ids *ids)
{
    ss_model_cap_ids(obj, ids);
    struct ss_cap_ids learnt = {0, 0, 0};
    if (!(ids->known & SS_CAP_KNOW_INO) && fd >= 0) {
        struct stat st;
        if (fstat(fd, &st) == 0) {
            ids->ino = learnt.ino = st.st_ino;
            learnt.known |= SS_CAP_KNOW_INO;
        }
    }
    if (want_peer && !(ids->known & SS_CAP_KNOW_PEER) && ids->ino != 0 && fd >= 0) {
        (void)unix_diag(ids->ino, &learnt.peer_ino); /* 0 when it cannot say */
        ids->peer_ino = learnt.peer_ino;
        learnt.known |= SS_CAP_KNOW_PEER;
    }
    if (learnt.known != 0) {
        ss_model_set_cap_ids(obj, &learnt);
        ids->known |= learnt.known;
    }
}

/* Appends a name, quoted, an abstract one as '@name' (its trailing NULs
 * left out), bytes that are not printable as \xNN. */
static void desc_name(struct ss_out *o, struct unix_name n)
{
    static const char hex[] = "0123456789abcdef";
    size_t len = n.len, i = 0;
    ss_out_str(o, "'");
    if (n.p[0] == '\0') {
        ss_out_str(o, "@");
        i = 1;
        while (len > 1 && n.p[len - 1] == '\0')
            len--;
    }
    for (; i < len; i++) {
        unsigned char ch = (unsigned char)n.p[i];
        if (ch >= 0x20 && ch < 0x7f && ch != '\\' && ch != '\'') {
            char s[2] = {(char)ch, '\0'};
            ss_out_str(o, s);
        } else {
            char s[5] = {'\\', 'x', hex[ch >> 4], hex[ch & 15], '\0'};
            ss_out_str(o, s);
        }
    }
    ss_out_str(o, "'");
}

/* "AF_UNIX SOCK_STREAM '/run/x.sock'": the named end of the two (from
 * and to when both are named), "socketpair" or "unnamed" when neither. */
static size_t unix_desc(char *buf, size_t cap, int type, struct unix_name from,
                        struct unix_name to, int pair)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap);
    ss_out_str(&o, "AF_UNIX ");
    ss_out_str(&o, type == SOCK_STREAM  ? "SOCK_STREAM "
                   : type == SOCK_DGRAM ? "SOCK_DGRAM "
                                        : "SOCK_SEQPACKET ");
    if (from.len > 0 && to.len > 0) {
        desc_name(&o, from);
        ss_out_str(&o, " to ");
        desc_name(&o, to);
    } else if (from.len > 0 || to.len > 0) {
        desc_name(&o, from.len > 0 ? from : to);
    } else {
        ss_out_str(&o, pair ? "socketpair" : "unnamed");
    }
    return o.len < cap ? o.len : cap;
}

/* An AF_UNIX socket's endpoints: peer (a datagram's address, may be NULL)
 * names the other end if it is named; else a connected socket's peer;
 * else the other end is unknown (inode 0). The description goes in desc
 * (255 bytes at most), oriented by dir for a datagram, from the
 * connecting end to the accepting one for a connection. */
static void unix_endpoints(struct ss_cap_event *e, const struct ss_sockinfo *si,
                           struct ss_obj *obj, int fd, const struct sockaddr *peer,
                           socklen_t peerlen, enum ss_cap_dir dir, char *desc)
{
    struct unix_name local = unix_name((const struct sockaddr *)&si->laddr.sa, si->laddr.len);
    struct unix_name remote = unix_name(peer, peerlen);
    int connected = (si->state & SS_ST_CONNECTED) != 0;
    if (remote.len == 0 && connected)
        remote = unix_name((const struct sockaddr *)&si->raddr.sa, si->raddr.len);
    struct ss_cap_ids ids;
    socket_ids(obj, fd, remote.len == 0 && connected, &ids);
    e->family = 6;
    e->flags |= SS_CAP_UNIX;
    if (local.len > 0)
        unix_named_end(e->laddr, &e->lport, local);
    else
        unix_inode_end(e->laddr, &e->lport, ids.ino);
    if (remote.len > 0) {
        unix_named_end(e->raddr, &e->rport, remote);
    } else {
        uint64_t peer_ino = connected ? ids.peer_ino : 0;
        unix_inode_end(e->raddr, &e->rport, peer_ino);
        if (peer_ino == 0)
            e->flags |= SS_CAP_PEER_UNKNOWN;
    }

    enum ss_fn created_by = SS_FN_COUNT;
    uint64_t created_ns;
    if (obj != NULL)
        ss_model_origin(obj, &created_by, &created_ns);
    int outward;
    if (si->type == SOCK_DGRAM)
        outward = dir == SS_CAP_OUT;
    else
        outward = created_by != SS_FN_accept && created_by != SS_FN_accept4;
    e->desc_len = (uint8_t)unix_desc(desc, 255, si->type, outward ? local : remote,
                                     outward ? remote : local,
                                     created_by == SS_FN_socketpair);
}

/* A socketpair's ends know each other's inode at once: each object keeps
 * both (the ends may part, by fork, and one may close before the other
 * says anything). */
static void unix_socketpair(const struct ss_call *c)
{
    if (c->failed || c->sv == NULL || c->domain != AF_UNIX)
        return;
    struct stat st[2];
    if (fstat(c->sv[0], &st[0]) != 0 || fstat(c->sv[1], &st[1]) != 0)
        return;
    for (int i = 0; i < 2; i++) {
        enum ss_fd_kind kind;
        struct ss_obj *o = ss_model_get(c->sv[i], &kind, NULL);
        if (o == NULL)
            continue;
        struct ss_cap_ids ids = {st[i].st_ino, st[1 - i].st_ino,
                                 SS_CAP_KNOW_INO | SS_CAP_KNOW_PEER};
        ss_model_set_cap_ids(o, &ids);
        ss_obj_put(o);
    }
}

/* ---- from a call -------------------------------------------------------- */

/* What an event is about: the call, its socket (as the model saw it after
 * the call), the socket's object and an fd of it still open (-1 once
 * closed). */
struct subject {
    const struct ss_call *c;
    const struct ss_sockinfo *si;
    struct ss_obj *obj;
    int fd;
};

/* A datagram socket bound to the wildcard address (or bound implicitly)
 * sends from the address the route to its peer picks, and receives on the
 * one its sender aimed at: the kernel's choice, asked with a connected
 * probe socket and kept for the thread's last few peers, replaces 0.0.0.0
 * or :: (the port stays). Both ends of a flow then agree. */
static void route_source(struct ss_addr *local, const struct sockaddr *peer, socklen_t peerlen)
{
    const void *addr, *to;
    uint16_t port, to_port;
    size_t n = inet_parts((const struct sockaddr *)&local->sa, local->len, &addr, &port);
    if (n == 0 || inet_parts(peer, peerlen, &to, &to_port) != n)
        return;
    static const uint8_t zeros[16];
    if (memcmp(addr, zeros, n) != 0 || memcmp(to, zeros, n) == 0)
        return; /* a concrete address already, or an unknown peer */
    enum { CACHE = 4 };
    static __thread struct {
        uint8_t to[16], from[16];
        size_t n;
    } cache[CACHE];
    static __thread unsigned next;
    uint8_t from[16];
    int found = 0;
    for (unsigned i = 0; i < CACHE && !found; i++) {
        if (cache[i].n == n && memcmp(cache[i].to, to, n) == 0) {
            memcpy(from, cache[i].from, n);
            found = 1;
        }
    }
    if (!found) {
        int probe = ss_real.socket(peer->sa_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        struct sockaddr_storage chosen;
        socklen_t len = sizeof chosen;
        const void *chosen_addr;
        uint16_t ignored;
        found = probe >= 0 && ss_real.connect(probe, peer, peerlen) == 0 &&
                ss_real.getsockname(probe, (struct sockaddr *)&chosen, &len) == 0 &&
                inet_parts((const struct sockaddr *)&chosen, len, &chosen_addr, &ignored) == n;
        if (probe >= 0)
            ss_real.close(probe);
        if (!found)
            return;
        memcpy(from, chosen_addr, n);
        unsigned slot = next++ % CACHE;
        memcpy(cache[slot].to, to, n);
        memcpy(cache[slot].from, from, n);
        cache[slot].n = n;
    }
    memcpy((void *)addr, from, n); /* addr points into local->sa */
}

/* A socket's endpoints, for an event about it: the model's addresses, the
 * local one asked for when unknown (a UDP socket bound by its first
 * send); peer, when given, is the other end (a datagram's address). An
 * AF_UNIX socket's are its pseudo-addresses, with a description in desc
 * (256 bytes). */
static int socket_event(struct ss_cap_event *e, const struct subject *s,
                        const struct sockaddr *peer, socklen_t peerlen, enum ss_cap_dir dir,
                        char *desc)
{
    const struct ss_sockinfo *si = s->si;
    memset(e, 0, sizeof *e);
    e->proto = si->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    e->dir = (uint8_t)dir;
    if (si->family == AF_UNIX) {
        unix_endpoints(e, si, s->obj, s->fd, peer, peerlen, dir, desc);
        return 1;
    }
    struct ss_addr local = si->laddr;
    if (local.len == 0) {
        local.len = sizeof local.sa;
        if (s->fd < 0 ||
            ss_real.getsockname(s->fd, (struct sockaddr *)&local.sa, &local.len) != 0)
            return 0;
    }
    if (peer == NULL)
        peer = (const struct sockaddr *)&si->raddr.sa, peerlen = si->raddr.len;
    struct sockaddr_storage unknown;
    if (peerlen < sizeof(sa_family_t)) {
        /* a datagram received with no address asked for, on a socket with
         * no peer: from somewhere unknown (the command pairs it with its
         * sender's report by destination and content) */
        memset(&unknown, 0, sizeof unknown);
        unknown.ss_family = local.sa.ss_family;
        peer = (const struct sockaddr *)&unknown, peerlen = sizeof unknown;
        e->flags |= SS_CAP_PEER_UNKNOWN;
    }
    if (si->type != SOCK_STREAM)
        route_source(&local, peer, peerlen);
    return set_endpoints(e, (const struct sockaddr *)&local.sa, local.len, peer, peerlen);
}

static void stream_event(const struct subject *s, enum ss_cap_kind kind, enum ss_cap_dir dir,
                         uint64_t offset, const struct ss_bytes *b, size_t len)
{
    struct ss_cap_event e;
    char desc[256];
    if (!socket_event(&e, s, NULL, 0, dir, desc))
        return;
    if (s->si->family != AF_UNIX && s->fd >= 0 && s->obj != NULL) {
        struct ss_cap_ids ids; /* its inode, for the question at its close */
        socket_ids(s->obj, s->fd, 0, &ids);
    }
    e.kind = (uint8_t)kind;
    e.offset = offset;
    e.len = (uint32_t)len;
    if (kind == SS_CAP_OPEN && (s->c->op == SS_OP_connect || s->c->op == SS_OP_connect_ex))
        e.flags |= SS_CAP_CLIENT;
    emit(&e, b, s->c, NULL, desc);
}

/* A datagram: its peer is the call's address when it has one. */
static void datagram_event(const struct subject *s, const struct ss_call *c,
                           enum ss_cap_dir dir, const struct ss_bytes *b,
                           const struct dgram_note *d)
{
    const struct sockaddr *addr = NULL;
    socklen_t addrlen = 0;
    if (dir == SS_CAP_OUT && c->addr != NULL) {
        addr = c->addr, addrlen = c->addrlen;
    } else if (dir == SS_CAP_OUT && c->msg != NULL && c->msg->msg_name != NULL) {
        addr = c->msg->msg_name, addrlen = c->msg->msg_namelen;
    } else if (dir == SS_CAP_IN && c->addr_out != NULL && c->addrlen_out != NULL) {
        addr = c->addr_out, addrlen = *c->addrlen_out;
    } else if (dir == SS_CAP_IN && c->msg != NULL && c->msg->msg_name != NULL) {
        addr = c->msg->msg_name, addrlen = c->msg->msg_namelen;
    }
    if (addr != NULL && addrlen > sizeof(struct sockaddr_storage))
        addrlen = sizeof(struct sockaddr_storage);
    if (addr != NULL && s->si->family != AF_UNIX &&
        (addrlen < sizeof(sa_family_t) || addr->sa_family != s->si->family))
        addr = NULL; /* none given (a connected socket's recvfrom): the peer's */
    struct ss_cap_event e;
    char desc[256];
    if (!socket_event(&e, s, addr, addrlen, dir, desc))
        return;
    e.kind = SS_CAP_DGRAM;
    e.len = (uint32_t)b->total;
    emit(&e, b, c, d, desc);
}

/* The bytes a sendfile moved, read back from the file it sent from, in
 * pieces of a stack buffer, one event each (the capture is the one user of
 * them; an unreadable file gives NUL bytes of the right length). */
static void sendfile_events(const struct subject *s, uint64_t offset, size_t moved)
{
    const struct ss_call *c = s->c;
    off_t start = c->offp != NULL ? *c->offp : lseek(c->other_fd, 0, SEEK_CUR);
    start -= (off_t)moved;
    char chunk[16384];
    for (size_t done = 0; done < moved;) {
        size_t n = moved - done < sizeof chunk ? moved - done : sizeof chunk;
        ssize_t got = start >= 0 ? pread(c->other_fd, chunk, n, start + (off_t)done) : -1;
        if (got < 0)
            got = 0;
        memset(chunk + got, 0, n - (size_t)got);
        struct ss_bytes b;
        ss_bytes_buf(&b, chunk, n);
        stream_event(s, SS_CAP_DATA, SS_CAP_OUT, offset + done, &b, n);
        done += n;
    }
}

static void stream_transfer(const struct subject *s, int sending)
{
    const struct ss_call *c = s->c;
    if (c->failed) {
        if (c->err == ECONNRESET || c->err == EPIPE)
            stream_event(s, SS_CAP_RST, SS_CAP_IN, 0, NULL, 0);
        return;
    }
    size_t moved = (size_t)c->ret;
    uint64_t count = sending ? s->si->bytes_sent : s->si->bytes_received;
    uint64_t offset = count >= moved ? count - moved : 0;
    if (!sending && moved == 0) { /* end of file: the peer's FIN */
        stream_event(s, SS_CAP_FIN, SS_CAP_IN, count, NULL, 0);
        return;
    }
    if (c->op == SS_OP_sendfile) {
        sendfile_events(s, offset, moved);
        return;
    }
    struct ss_bytes b;
    if (sending)
        ss_call_sent(c, &b);
    else
        ss_call_received(c, &b);
    stream_event(s, SS_CAP_DATA, sending ? SS_CAP_OUT : SS_CAP_IN, offset, &b, moved);
}

/* What the fault of a datagram's call did to it, said on its packet. */
static const char *datagram_fault_what(const struct ss_call *c, int sending)
{
    if (c->fault == 0)
        return NULL;
    switch (c->fault_datagram) {
    case SS_DGRAM_DROPPED:
        return "the datagram before this one was lost";
    case SS_DGRAM_DUPLICATED:
        return sending ? "sent twice" : "received again by the next receive";
    case SS_DGRAM_RELEASED:
        return "held back, sent after the datagrams before this one";
    default:
        return NULL;
    }
}

/* Whether the call's datagram is not on the wire: a send drop lost, one
 * reorder= held back (captured when it goes), or a receive whose drop
 * found no datagram after the one it lost. */
static int datagram_missing(const struct ss_call *c, int sending)
{
    if (c->fault == 0)
        return 0;
    if (c->fault_datagram == SS_DGRAM_DROPPED)
        return sending || c->failed;
    return c->fault_datagram == SS_DGRAM_HELD;
}

/* Datagrams, one event each; a seqpacket socket's messages too (its
 * receive of nothing is the end of the connection, no message). */
static void datagram_transfer(const struct subject *s, int sending)
{
    const struct ss_call *c = s->c;
    enum ss_cap_dir dir = sending ? SS_CAP_OUT : SS_CAP_IN;
    if (datagram_missing(c, sending)) {
        if (c->fault_datagram == SS_DGRAM_DROPPED)
            ss_fault_note_lost(s->obj, c->fault);
        return;
    }
    if (c->failed)
        return;
    struct dgram_note d = {{0, 0, 0}, datagram_fault_what(c, sending)};
    ss_fault_datagram_news(s->obj, &d.news);
    if (c->mmsg != NULL) {
        for (long i = 0; i < c->ret; i++) {
            struct ss_call one = *c;
            one.mmsg = NULL;
            one.msg = &c->mmsg[i].msg_hdr;
            if (!sending && s->si->type == SOCK_SEQPACKET && c->mmsg[i].msg_len == 0)
                continue;
            struct ss_bytes b;
            ss_bytes_iov(&b, one.msg->msg_iov, (int)one.msg->msg_iovlen, c->mmsg[i].msg_len);
            datagram_event(s, &one, dir, &b, i == 0 ? &d : NULL);
        }
        return;
    }
    if (!sending && s->si->type == SOCK_SEQPACKET && c->ret == 0)
        return;
    struct ss_bytes b;
    if (sending) {
        ss_call_sent(c, &b);
        b.total = (size_t)c->ret;
    } else {
        ss_call_received(c, &b);
    }
    datagram_event(s, c, dir, &b, &d);
    if (c->fault == 0 || c->fault_datagram != SS_DGRAM_DUPLICATED)
        return;
    if (sending) {
        struct dgram_note copy = {{0, 0, 0}, "a copy of the datagram before this one"};
        datagram_event(s, c, dir, &b, &copy);
    } else {
        ss_fault_note_copy(s->obj, c->fault);
    }
}

/* Whether a connected socket whose last fd this process closed is still
 * open in another (a forked child's copy, an fd passed on): its close
 * here ends nothing. Known from its inode, learnt at the connection's
 * first event, and the kernel's sock_diag; when either is missing, the
 * close is taken as the end. */
static int still_open_elsewhere(const struct ss_sockinfo *si, struct ss_obj *obj)
{
    struct ss_cap_ids ids;
    ss_model_cap_ids(obj, &ids);
    if (!(ids.known & SS_CAP_KNOW_INO) || ids.ino == 0)
        return 0;
    if (si->family == AF_UNIX) {
        uint64_t peer;
        return unix_diag(ids.ino, &peer) == 1;
    }
    return tcp_diag_open(si, ids.ino) == 1;
}

/* Whether the capture tells of a socket of this family and type. */
static int captured(const struct ss_sockinfo *si)
{
    if (si->family == AF_INET || si->family == AF_INET6)
        return si->type == SOCK_STREAM || si->type == SOCK_DGRAM;
    return si->family == AF_UNIX &&
           (si->type == SOCK_STREAM || si->type == SOCK_DGRAM || si->type == SOCK_SEQPACKET);
}

void ss_capture_call(const struct ss_call *c, struct ss_obj *obj, int last_closed)
{
    if (!enabled)
        return;
    if (c->op == SS_OP_socketpair) {
        unix_socketpair(c);
        return;
    }
    if (obj == NULL)
        return;
    struct ss_sockinfo si;
    int closed = c->op == SS_OP_close; /* the fd is no longer the socket's */
    ss_model_snapshot(obj, closed ? -1 : c->fd, &si, !closed);
    if (!captured(&si))
        return;
    struct subject s = {c, &si, obj, closed ? -1 : c->fd};
    int stream = si.type == SOCK_STREAM;
    if (stream && c->fault_reset) {
        /* the shim reset the connection from this end */
        stream_event(&s, SS_CAP_RST, SS_CAP_OUT, si.bytes_sent, NULL, 0);
        return;
    }
    int sending = ss_op_in(c->op, SS_OPS_SENDS), receiving = ss_op_in(c->op, SS_OPS_RECVS);
    if (sending || receiving) {
        if (stream)
            stream_transfer(&s, sending);
        else
            datagram_transfer(&s, sending);
        return;
    }
    if (!stream)
        return;
    switch (c->op) {
    case SS_OP_connect:
    case SS_OP_connect_ex:
        if (!c->failed)
            stream_event(&s, SS_CAP_OPEN, SS_CAP_OUT, 0, NULL, 0);
        break;
    case SS_OP_shutdown:
        if (!c->failed && (c->how == SHUT_WR || c->how == SHUT_RDWR))
            stream_event(&s, SS_CAP_FIN, SS_CAP_OUT, si.bytes_sent, NULL, 0);
        break;
    case SS_OP_close:
        if (last_closed && (si.state & SS_ST_CONNECTED) && !(si.state & SS_ST_SHUT_WR) &&
            !(si.state & SS_ST_RESET) && !still_open_elsewhere(&si, obj))
            stream_event(&s, SS_CAP_FIN, SS_CAP_OUT, si.bytes_sent, NULL, 0);
        break;
    default:
        break;
    }
}

void ss_capture_accepted(const struct ss_call *c)
{
    if (!enabled || c->failed || c->op != SS_OP_accept)
        return;
    enum ss_fd_kind kind;
    int fd = (int)c->ret;
    struct ss_obj *o = ss_model_get(fd, &kind, NULL);
    if (o == NULL)
        return;
    struct ss_sockinfo si;
    ss_model_snapshot(o, fd, &si, 1);
    if (si.family == AF_UNIX && captured(&si)) {
        /* the connecting end's inode, while it is surely there */
        struct ss_cap_ids ids;
        socket_ids(o, fd, 1, &ids);
    }
    if (captured(&si) && si.type == SOCK_STREAM) {
        struct ss_call opened = *c;
        opened.fd = fd;
        struct subject s = {&opened, &si, o, fd};
        stream_event(&s, SS_CAP_OPEN, SS_CAP_OUT, 0, NULL, 0);
    }
    ss_obj_put(o);
}
