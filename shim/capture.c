/* sockshim: the capture stage (--pcap): what crossed each TCP and UDP
 * socket, as events in the run's ring (capture.h). The command makes the
 * packets; this side only says what happened, once per call, after the
 * model has counted the call's bytes (a stream offset is the count before
 * the call).
 */
#include "capture.h"
#include "capture_event.h"

#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>

#include "fault.h"
#include "internal.h"
#include "model.h"
#include "real.h"
#include "render.h"
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

/* The event's endpoints from two socket addresses; 0 when they are not
 * both IPv4 or both IPv6 (an IPv4-mapped IPv6 address counts as IPv6). */
static int set_endpoints(struct ss_cap_event *e, const struct sockaddr *local,
                         socklen_t llen, const struct sockaddr *remote, socklen_t rlen)
{
    if (llen < sizeof(sa_family_t) || rlen < sizeof(sa_family_t) ||
        local->sa_family != remote->sa_family)
        return 0;
    if (local->sa_family == AF_INET && llen >= sizeof(struct sockaddr_in) &&
        rlen >= sizeof(struct sockaddr_in)) {
        const struct sockaddr_in *l = (const void *)local, *r = (const void *)remote;
        e->family = 4;
        memcpy(e->laddr, &l->sin_addr, 4);
        memcpy(e->raddr, &r->sin_addr, 4);
        e->lport = ntohs(l->sin_port);
        e->rport = ntohs(r->sin_port);
        return 1;
    }
    if (local->sa_family == AF_INET6 && llen >= sizeof(struct sockaddr_in6) &&
        rlen >= sizeof(struct sockaddr_in6)) {
        const struct sockaddr_in6 *l = (const void *)local, *r = (const void *)remote;
        e->family = 6;
        memcpy(e->laddr, &l->sin6_addr, 16);
        memcpy(e->raddr, &r->sin6_addr, 16);
        e->lport = ntohs(l->sin6_port);
        e->rport = ntohs(r->sin6_port);
        return 1;
    }
    return 0;
}

/* Writes e with its payload (the first e->len bytes of b, if any) and the
 * fault note, as one record; a payload longer than an event carries is
 * sent in several, each at its own offset. */
static void emit(struct ss_cap_event *e, const struct ss_bytes *b, const struct ss_call *c)
{
    char note[160];
    size_t note_len = 0;
    if (c->fault != 0) {
        struct ss_out o;
        ss_out_init(&o, note, sizeof note);
        ss_out_str(&o, "sockshim fault #");
        ss_out_i64(&o, c->fault);
        ss_out_str(&o, ": ");
        ss_out_str(&o, ss_fault_rule_text(c->fault - 1));
        note_len = o.len < sizeof note ? o.len : sizeof note;
        e->flags |= SS_CAP_FAULT;
    }
    e->note_len = (uint16_t)note_len;
    e->ts_ns = c->t_end_ns;
    size_t total = e->len, done = 0;
    do {
        size_t n = total - done < SS_CAP_MAX_PAYLOAD ? total - done : SS_CAP_MAX_PAYLOAD;
        struct iovec iov[2 + 16];
        int cnt = 1;
        if (n > 0)
            cnt += ss_bytes_slice(b, done, &n, iov + 1, 16);
        if (n == 0 && total > done)
            return; /* the bytes are not there to read */
        e->len = (uint32_t)n;
        iov[0] = (struct iovec){e, sizeof *e};
        if (note_len > 0)
            iov[cnt++] = (struct iovec){note, note_len};
        size_t len = sizeof *e + n + note_len;
        (void)ss_ring_emitv(1, iov, cnt, len); /* a full ring drops the event */
        e->offset += n;
        done += n;
    } while (done < total);
}

/* ---- from a call -------------------------------------------------------- */

/* A socket's endpoints, for an event about it: the model's addresses, the
 * local one asked for when unknown (a UDP socket bound by its first
 * send). */
static int socket_event(struct ss_cap_event *e, const struct ss_sockinfo *si, int fd)
{
    memset(e, 0, sizeof *e);
    e->proto = si->type == SOCK_STREAM ? IPPROTO_TCP : IPPROTO_UDP;
    struct ss_addr local = si->laddr;
    if (local.len == 0) {
        local.len = sizeof local.sa;
        if (ss_real.getsockname(fd, (struct sockaddr *)&local.sa, &local.len) != 0)
            return 0;
    }
    return set_endpoints(e, (const struct sockaddr *)&local.sa, local.len,
                         (const struct sockaddr *)&si->raddr.sa, si->raddr.len);
}

static void stream_event(const struct ss_call *c, const struct ss_sockinfo *si,
                         enum ss_cap_kind kind, enum ss_cap_dir dir, uint64_t offset,
                         const struct ss_bytes *b, size_t len)
{
    struct ss_cap_event e;
    if (!socket_event(&e, si, c->fd))
        return;
    e.kind = (uint8_t)kind;
    e.dir = (uint8_t)dir;
    e.offset = offset;
    e.len = (uint32_t)len;
    if (kind == SS_CAP_OPEN && (c->op == SS_OP_connect || c->op == SS_OP_connect_ex))
        e.flags |= SS_CAP_CLIENT;
    emit(&e, b, c);
}

/* A datagram: its peer is the call's address when it has one. */
static void datagram_event(const struct ss_call *c, const struct ss_sockinfo *si,
                           enum ss_cap_dir dir, const struct ss_bytes *b)
{
    struct ss_sockinfo peer = *si;
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
    if (addr != NULL) {
        if (addrlen > sizeof peer.raddr.sa)
            addrlen = sizeof peer.raddr.sa;
        memcpy(&peer.raddr.sa, addr, addrlen);
        peer.raddr.len = addrlen;
    }
    struct ss_cap_event e;
    if (!socket_event(&e, &peer, c->fd))
        return;
    e.kind = SS_CAP_DGRAM;
    e.dir = (uint8_t)dir;
    e.len = (uint32_t)b->total;
    emit(&e, b, c);
}

/* The bytes a sendfile moved, read back from the file it sent from, in
 * pieces of a stack buffer, one event each (the capture is the one user of
 * them; an unreadable file gives NUL bytes of the right length). */
static void sendfile_events(const struct ss_call *c, const struct ss_sockinfo *si,
                            uint64_t offset, size_t moved)
{
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
        stream_event(c, si, SS_CAP_DATA, SS_CAP_OUT, offset + done, &b, n);
        done += n;
    }
}

static void stream_transfer(const struct ss_call *c, const struct ss_sockinfo *si, int sending)
{
    if (c->failed) {
        if (c->err == ECONNRESET || c->err == EPIPE)
            stream_event(c, si, SS_CAP_RST, SS_CAP_IN, 0, NULL, 0);
        return;
    }
    size_t moved = (size_t)c->ret;
    uint64_t count = sending ? si->bytes_sent : si->bytes_received;
    uint64_t offset = count >= moved ? count - moved : 0;
    if (!sending && moved == 0) { /* end of file: the peer's FIN */
        stream_event(c, si, SS_CAP_FIN, SS_CAP_IN, count, NULL, 0);
        return;
    }
    if (c->op == SS_OP_sendfile) {
        sendfile_events(c, si, offset, moved);
        return;
    }
    struct ss_bytes b;
    if (sending)
        ss_call_sent(c, &b);
    else
        ss_call_received(c, &b);
    stream_event(c, si, SS_CAP_DATA, sending ? SS_CAP_OUT : SS_CAP_IN, offset, &b, moved);
}

static void datagram_transfer(const struct ss_call *c, const struct ss_sockinfo *si, int sending)
{
    if (c->failed)
        return;
    if (c->mmsg != NULL) {
        for (long i = 0; i < c->ret; i++) {
            struct ss_call one = *c;
            one.mmsg = NULL;
            one.msg = &c->mmsg[i].msg_hdr;
            struct ss_bytes b;
            ss_bytes_iov(&b, one.msg->msg_iov, (int)one.msg->msg_iovlen, c->mmsg[i].msg_len);
            datagram_event(&one, si, sending ? SS_CAP_OUT : SS_CAP_IN, &b);
        }
        return;
    }
    struct ss_bytes b;
    if (sending) {
        ss_call_sent(c, &b);
        b.total = (size_t)c->ret;
    } else {
        ss_call_received(c, &b);
    }
    datagram_event(c, si, sending ? SS_CAP_OUT : SS_CAP_IN, &b);
}

void ss_capture_call(const struct ss_call *c, struct ss_obj *obj, int last_closed)
{
    if (!enabled || obj == NULL)
        return;
    struct ss_sockinfo si;
    ss_model_snapshot(obj, c->fd, &si, 1);
    if ((si.family != AF_INET && si.family != AF_INET6) ||
        (si.type != SOCK_STREAM && si.type != SOCK_DGRAM))
        return;
    int stream = si.type == SOCK_STREAM;
    if (stream && c->fault != 0 && ss_fault_rule_resets(c->fault - 1)) {
        /* the shim reset the connection from this end */
        stream_event(c, &si, SS_CAP_RST, SS_CAP_OUT, si.bytes_sent, NULL, 0);
        return;
    }
    int sending = ss_op_in(c->op, SS_OPS_SENDS), receiving = ss_op_in(c->op, SS_OPS_RECVS);
    if (sending || receiving) {
        if (stream)
            stream_transfer(c, &si, sending);
        else
            datagram_transfer(c, &si, sending);
        return;
    }
    if (!stream)
        return;
    switch (c->op) {
    case SS_OP_connect:
    case SS_OP_connect_ex:
        if (!c->failed)
            stream_event(c, &si, SS_CAP_OPEN, SS_CAP_OUT, 0, NULL, 0);
        break;
    case SS_OP_shutdown:
        if (!c->failed && (c->how == SHUT_WR || c->how == SHUT_RDWR))
            stream_event(c, &si, SS_CAP_FIN, SS_CAP_OUT, si.bytes_sent, NULL, 0);
        break;
    case SS_OP_close:
        if (last_closed && (si.state & SS_ST_CONNECTED) && !(si.state & SS_ST_SHUT_WR) &&
            !(si.state & SS_ST_RESET))
            stream_event(c, &si, SS_CAP_FIN, SS_CAP_OUT, si.bytes_sent, NULL, 0);
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
    struct ss_obj *o = ss_model_get((int)c->ret, &kind, NULL);
    if (o == NULL)
        return;
    struct ss_sockinfo si;
    ss_model_snapshot(o, (int)c->ret, &si, 1);
    ss_obj_put(o);
    if ((si.family == AF_INET || si.family == AF_INET6) && si.type == SOCK_STREAM) {
        struct ss_call opened = *c;
        opened.fd = (int)c->ret;
        stream_event(&opened, &si, SS_CAP_OPEN, SS_CAP_OUT, 0, NULL, 0);
    }
}
