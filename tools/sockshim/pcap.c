/* sockshim: the command's capture writer (--pcap).
 *
 * The library's capture events (shim/common/capture_event.h) come out of the
 * run's ring in order; this file makes packets of them and writes a pcapng
 * file: one interface of link type RAW (IPv4 and IPv6 packets), time
 * stamps in nanoseconds, a comment on every packet a fault rule touched.
 *
 * A TCP connection gets a three-way handshake before its first packet,
 * segments whose sequence numbers follow the bytes of each direction and
 * whose acknowledgement numbers follow the other direction, a FIN (with
 * its ACK) when a direction ends, a RST when the connection is reset.
 * Initial sequence numbers come from a hash of the connection's addresses,
 * so both ends of a connection agree. Both ends may be in the run: the
 * sender says it sent bytes, the receiver that it received them; each
 * byte range is written once, by whichever event comes first. A datagram
 * both ends report is written once too (the receiver's report matches the
 * sender's by length and content).
 *
 * AF_UNIX sockets come as TCP and UDP over IPv6 pseudo-addresses
 * (docs/pcap-unix.md); the first packet of each of their connections and
 * flows (the SYN, the first datagram) has a comment naming the socket.
 */
#include "pcap.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "capture_event.h"
#include "rules.h"
#include "say.h"

#define LINKTYPE_RAW 101
/* The rules' changes (--control) are packets of a second interface:
 * Wireshark's "exported PDU" link type, each a syslog message Wireshark
 * shows in its packet list ("USER.NOTICE: sockshim fault #3 added: ..."),
 * with the same text as its comment. */
#define LINKTYPE_WIRESHARK_UPPER_PDU 252
#define PACKETS_INTERFACE 0
#define RULES_INTERFACE 1
#define SEGMENT 65000 /* TCP payload per packet at most */
#define UDP_MEMORY 64 /* datagrams a flow remembers, to skip their second report */
#define HOLD_BYTES (1u << 20) /* received bytes a direction holds for their sender's report */
#define HOLD_CHUNKS 64        /* ... in at most this many receives */
#define UNIX_MEMORY 256 /* AF_UNIX datagrams remembered by destination */

/* ---- connections ---------------------------------------------------------- */

struct endpoint {
    uint8_t addr[16];
    uint16_t port;
};

/* Bytes the receiving end reported before the sending end did: written
 * once the sender's report comes (which may carry a fault's comment), or
 * when the connection moves on without it. Chunks keep their receive's
 * time. */
struct held {
    uint8_t *buf;
    size_t len, cap;
    uint64_t offset; /* of buf[0] in the direction's stream */
    unsigned chunks;
    struct {
        uint64_t ts;
        uint32_t len;
    } chunk[HOLD_CHUNKS];
};

struct conn {
    uint8_t used, family, proto;
    struct endpoint ep[2]; /* ep[0] < ep[1] */
    /* TCP, per direction d (from ep[d] to ep[1 - d]) */
    uint32_t isn[2];
    uint64_t next[2];      /* stream bytes written so far */
    uint8_t fin[2], opened, closed;
    uint8_t described; /* UDP: a first datagram had its description */
    uint64_t acked[2];     /* direction d's bytes its receiver acknowledged */
    uint64_t written_ts;   /* of the last packet written: the next is not older */
    uint8_t sender_seen[2]; /* direction d's sender reported data: it is in the run */
    struct held held[2];
    /* UDP, per direction: datagrams written, not yet matched by a report
     * from the other end */
    struct {
        uint32_t hash, len;
        uint8_t reporter; /* SS_CAP_OUT: the sender wrote it, SS_CAP_IN: the receiver */
    } recent[2][UDP_MEMORY];
    unsigned recent_next[2];
};

/* An AF_UNIX datagram from an unnamed socket reaches a receiver that cannot
 * tell who sent it: the receiver's report has an unknown source, the
 * sender's report a known one, two flows. Recent datagrams are remembered
 * by destination, content and whether their source was known; a report of
 * the other kind that matches one is its second report. */
struct unix_recent {
    struct endpoint dst;
    uint32_t hash, len; /* len + 1; 0: a free slot */
    uint8_t known_src;
};

static struct {
    FILE *f;
    struct unix_recent unix_recent[UNIX_MEMORY];
    unsigned unix_recent_next;
    char *path;
    struct conn *conns;
    size_t cap, used;
    uint16_t ip_id;
    int failed;
    int rules_interface;                       /* interface 1 is written */
    uint8_t rules_told[SS_RULE_NUMBERS + 1];   /* 1: its addition, 2: its removal */
} cap;

static int endpoint_cmp(const struct endpoint *a, const struct endpoint *b)
{
    int c = memcmp(a->addr, b->addr, sizeof a->addr);
    return c != 0 ? c : (a->port > b->port) - (a->port < b->port);
}

static uint32_t fnv1a(uint32_t h, const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return h;
}

static uint32_t conn_hash(uint8_t proto, const struct endpoint ep[2])
{
    uint32_t h = fnv1a(2166136261u, &proto, 1);
    return fnv1a(h, ep, sizeof(struct endpoint) * 2);
}

static int conn_grow(void)
{
    size_t cap_new = cap.cap == 0 ? 256 : cap.cap * 2;
    struct conn *fresh = calloc(cap_new, sizeof *fresh);
    if (fresh == NULL)
        return -1;
    for (size_t i = 0; i < cap.cap; i++) {
        struct conn *o = &cap.conns[i];
        if (!o->used)
            continue;
        size_t j = conn_hash(o->proto, o->ep) & (cap_new - 1);
        while (fresh[j].used)
            j = (j + 1) & (cap_new - 1);
        fresh[j] = *o;
    }
    free(cap.conns);
    cap.conns = fresh;
    cap.cap = cap_new;
    return 0;
}

/* The connection of ep (ordered), made on first sight. */
static struct conn *conn_find(uint8_t proto, uint8_t family, const struct endpoint ep[2])
{
    if ((cap.used + 1) * 2 > cap.cap && conn_grow() != 0)
        return NULL;
    size_t i = conn_hash(proto, ep) & (cap.cap - 1);
    for (;; i = (i + 1) & (cap.cap - 1)) {
        struct conn *c = &cap.conns[i];
        if (!c->used) {
            c->used = 1;
            c->proto = proto;
            c->family = family;
            memcpy(c->ep, ep, sizeof c->ep);
            for (int d = 0; d < 2; d++)
                c->isn[d] = fnv1a(conn_hash(proto, ep), &d, sizeof d);
            cap.used++;
            return c;
        }
        if (c->proto == proto && memcmp(c->ep, ep, sizeof c->ep) == 0)
            return c;
    }
}

/* A new connection on the same addresses and ports (a port used again). */
static void conn_restart(struct conn *c)
{
    c->held[0].len = c->held[1].len = 0;
    c->held[0].chunks = c->held[1].chunks = 0;
    c->sender_seen[0] = c->sender_seen[1] = 0;
    c->next[0] = c->next[1] = 0;
    c->acked[0] = c->acked[1] = 0;
    c->fin[0] = c->fin[1] = 0;
    c->opened = c->closed = 0;
    for (int d = 0; d < 2; d++)
        c->isn[d] = fnv1a(c->isn[d], &c->written_ts, sizeof c->written_ts);
}

/* ---- pcapng ---------------------------------------------------------------- */

static void put(const void *p, size_t n)
{
    if (n == 0)
        return; /* also: fwrite's pointer must not be NULL, even for nothing */
    if (!cap.failed && fwrite(p, 1, n, cap.f) != n)
        cap.failed = errno != 0 ? errno : EIO;
}

static void put32(uint32_t v)
{
    put(&v, 4);
}

static void put16(uint16_t v)
{
    put(&v, 2);
}

static size_t pad4(size_t n)
{
    return (n + 3) & ~(size_t)3;
}

/* An option: code, length, value padded to 4 bytes. */
static void put_option(uint16_t code, const void *value, size_t len)
{
    static const uint8_t zeros[4];
    put16(code);
    put16((uint16_t)len);
    put(value, len);
    put(zeros, pad4(len) - len);
}

static size_t option_size(size_t len)
{
    return 4 + pad4(len);
}

/* An Interface Description Block named name, time stamps in ns. */
static void write_interface(uint16_t link_type, const char *name)
{
    uint8_t tsresol = 9; /* nanoseconds */
    size_t name_len = strlen(name);
    uint32_t idb_len = 20 + (uint32_t)(option_size(name_len) + option_size(1) + 4);
    put32(1);
    put32(idb_len);
    put16(link_type);
    put16(0);
    put32(0); /* no snap length */
    put_option(2, name, name_len); /* if_name */
    put_option(9, &tsresol, 1);    /* if_tsresol */
    put_option(0, NULL, 0);
    put32(idb_len);
}

static void write_headers(void)
{
    static const char app[] = "sockshim " SOCKSHIM_VERSION;
    uint32_t shb_len = 28 + (uint32_t)option_size(sizeof app - 1) + 4;
    put32(0x0A0D0D0A);
    put32(shb_len);
    put32(0x1A2B3C4D);
    put16(1);
    put16(0);
    uint64_t unknown = UINT64_MAX; /* section length not known */
    put(&unknown, 8);
    put_option(4, app, sizeof app - 1); /* shb_userappl */
    put_option(0, NULL, 0);
    put32(shb_len);

    write_interface(LINKTYPE_RAW, "sockshim");
}

/* A packet's comments: a description of its socket, a fault note; either
 * may be empty. */
struct comments {
    const char *desc;
    size_t desc_len;
    const char *note;
    size_t note_len;
};

/* One Enhanced Packet Block: the IP packet in head (headers) and body. */
static void write_block(uint32_t interface, uint64_t ts, const uint8_t *head, size_t head_len,
                        const uint8_t *body, size_t body_len, const struct comments *cm)
{
    static const uint8_t zeros[4];
    size_t len = head_len + body_len;
    size_t options = (cm->desc_len > 0 ? option_size(cm->desc_len) : 0) +
                     (cm->note_len > 0 ? option_size(cm->note_len) : 0);
    if (options > 0)
        options += 4;
    uint32_t total = (uint32_t)(28 + pad4(len) + options + 4);
    put32(6);
    put32(total);
    put32(interface);
    put32((uint32_t)(ts >> 32));
    put32((uint32_t)ts);
    put32((uint32_t)len);
    put32((uint32_t)len);
    put(head, head_len);
    put(body, body_len);
    put(zeros, pad4(len) - len);
    if (cm->desc_len > 0)
        put_option(1, cm->desc, cm->desc_len); /* opt_comment */
    if (cm->note_len > 0)
        put_option(1, cm->note, cm->note_len);
    if (options > 0)
        put_option(0, NULL, 0);
    put32(total);
}

static void write_packet(uint64_t ts, const uint8_t *head, size_t head_len, const uint8_t *body,
                         size_t body_len, const struct comments *cm)
{
    write_block(PACKETS_INTERFACE, ts, head, head_len, body, body_len, cm);
}

/* A rule added or removed: once, as the first process that took the
 * change told it (each process of the run tells it). */
static void rule_change(const struct ss_cap_event *e, const char *note)
{
    if (e->offset == 0 || e->offset > SS_RULE_NUMBERS)
        return;
    uint8_t change = e->dir ? 1 : 2;
    if (cap.rules_told[e->offset] & change)
        return;
    cap.rules_told[e->offset] |= change;
    if (!cap.rules_interface) {
        write_interface(LINKTYPE_WIRESHARK_UPPER_PDU, "sockshim rules");
        cap.rules_interface = 1;
    }
    /* exported PDU tags (big-endian): the dissector's name, padded; the
     * end of the tags; then a syslog message, facility user, notice */
    static const uint8_t head[] = {0, 12, 0, 8, 's', 'y', 's', 'l', 'o', 'g', 0, 0,
                                   0, 0, 0, 0, '<', '1', '3', '>'};
    struct comments cm = {.note = note, .note_len = e->note_len};
    write_block(RULES_INTERFACE, e->ts_ns, head, sizeof head, (const uint8_t *)note, e->note_len,
                &cm);
}

/* ---- packets ------------------------------------------------------------- */

static uint32_t sum16(uint32_t sum, const uint8_t *p, size_t n)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)p[i] << 8 | p[i + 1];
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    return sum;
}

static uint16_t fold(uint32_t sum)
{
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void be16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void be32(uint8_t *p, uint32_t v)
{
    be16(p, (uint16_t)(v >> 16));
    be16(p + 2, (uint16_t)v);
}

#define TCP_FIN 0x01
#define TCP_SYN 0x02
#define TCP_RST 0x04
#define TCP_PSH 0x08
#define TCP_ACK 0x10

/* The time to write a packet of c at: ts, or the time of the packet
 * written before it if that is later (events of one connection come from
 * several threads and processes; its packets are in time order). */
static uint64_t packet_time(struct conn *c, uint64_t ts)
{
    if (ts > c->written_ts)
        c->written_ts = ts;
    return c->written_ts;
}

struct segment {
    struct conn *c;
    int from; /* the endpoint that sends it */
    uint32_t seq, ack;
    uint8_t flags;
    const uint8_t *data;
    size_t len;
    uint64_t ts;
    struct comments cm;
};

/* IP header (and pseudo-header sum) for a transport payload of len bytes;
 * returns the header length. */
static size_t ip_header(uint8_t *h, const struct conn *c, int from, uint8_t proto, size_t len,
                        uint32_t *pseudo)
{
    const uint8_t *src = c->ep[from].addr, *dst = c->ep[1 - from].addr;
    if (c->family == 4) {
        memset(h, 0, 20);
        h[0] = 0x45;
        be16(h + 2, (uint16_t)(20 + len));
        be16(h + 4, cap.ip_id++);
        be16(h + 6, 0x4000); /* don't fragment */
        h[8] = 64;
        h[9] = proto;
        memcpy(h + 12, src, 4);
        memcpy(h + 16, dst, 4);
        be16(h + 10, fold(sum16(0, h, 20)));
        *pseudo = sum16(sum16(0, src, 4), dst, 4) + proto + (uint32_t)len;
        return 20;
    }
    memset(h, 0, 40);
    h[0] = 0x60;
    be16(h + 4, (uint16_t)len);
    h[6] = proto;
    h[7] = 64;
    memcpy(h + 8, src, 16);
    memcpy(h + 24, dst, 16);
    *pseudo = sum16(sum16(0, src, 16), dst, 16) + proto + (uint32_t)len;
    return 40;
}

static void write_segment(const struct segment *s)
{
    uint8_t h[60];
    uint32_t pseudo;
    size_t ip = ip_header(h, s->c, s->from, IPPROTO_TCP, 20 + s->len, &pseudo);
    uint8_t *t = h + ip;
    memset(t, 0, 20);
    be16(t, s->c->ep[s->from].port);
    be16(t + 2, s->c->ep[1 - s->from].port);
    be32(t + 4, s->seq);
    be32(t + 8, s->flags & TCP_ACK ? s->ack : 0);
    t[12] = 5 << 4;
    t[13] = s->flags;
    be16(t + 14, 65535);
    be16(t + 16, fold(sum16(sum16(pseudo, t, 20), s->data, s->len)));
    write_packet(packet_time(s->c, s->ts), h, ip + 20, s->data, s->len, &s->cm);
}

/* A datagram longer than an IP packet holds (AF_UNIX allows them) is cut
 * to what fits, with a comment saying so. */
static void write_datagram(struct conn *c, int from, const uint8_t *data, size_t len,
                           uint64_t ts, const struct comments *cm)
{
    size_t room = (c->family == 4 ? 65535 - 20 : 65535) - 8;
    char cut[96];
    struct comments noted = *cm;
    if (len > room) {
        int n = snprintf(cut, sizeof cut, "sockshim: a datagram of %zu bytes, cut to %zu here",
                         len, room);
        if (noted.note_len == 0 && n > 0)
            noted.note = cut, noted.note_len = (size_t)n;
        len = room;
        cm = &noted;
    }
    uint8_t h[48];
    uint32_t pseudo;
    size_t ip = ip_header(h, c, from, IPPROTO_UDP, 8 + len, &pseudo);
    uint8_t *u = h + ip;
    be16(u, c->ep[from].port);
    be16(u + 2, c->ep[1 - from].port);
    be16(u + 4, (uint16_t)(8 + len));
    be16(u + 6, 0);
    uint16_t sum = fold(sum16(sum16(pseudo, u, 8), data, len));
    be16(u + 6, sum != 0 ? sum : 0xffff); /* 0 means "no checksum" in UDP */
    write_packet(packet_time(c, ts), h, ip + 8, data, len, cm);
}

/* ---- TCP state ---------------------------------------------------------- */

static uint32_t seq_of(const struct conn *c, int d, uint64_t offset)
{
    return c->isn[d] + 1 + (uint32_t)offset;
}

/* What endpoint d acknowledges: all the other direction's bytes (and its
 * FIN). */
static uint32_t ack_of(const struct conn *c, int d)
{
    return seq_of(c, 1 - d, c->next[1 - d]) + c->fin[1 - d];
}

/* The SYN has the description (desc_len bytes: an AF_UNIX socket's) as
 * its comment. */
static void handshake(struct conn *c, int client, uint64_t ts, const char *desc, size_t desc_len)
{
    int server = 1 - client;
    struct segment s = {.c = c, .ts = ts, .cm = {.desc = desc, .desc_len = desc_len}};
    s.from = client, s.seq = c->isn[client], s.flags = TCP_SYN;
    write_segment(&s);
    s.cm.desc_len = 0;
    s.from = server, s.seq = c->isn[server], s.ack = c->isn[client] + 1,
    s.flags = TCP_SYN | TCP_ACK;
    write_segment(&s);
    s.from = client, s.seq = c->isn[client] + 1, s.ack = c->isn[server] + 1, s.flags = TCP_ACK;
    write_segment(&s);
    c->opened = 1;
}

static void data(struct conn *c, int d, uint64_t offset, const uint8_t *p, size_t len,
                 uint64_t ts, const char *note, size_t note_len)
{
    if (offset + len <= c->next[d])
        return; /* the other end reported these bytes already */
    if (offset < c->next[d]) {
        size_t skip = (size_t)(c->next[d] - offset);
        p += skip, len -= skip, offset += skip;
    }
    struct segment s = {.c = c, .from = d, .flags = TCP_PSH | TCP_ACK, .ts = ts,
                        .cm = {.note = note, .note_len = note_len}};
    for (size_t done = 0; done < len;) {
        size_t n = len - done < SEGMENT ? len - done : SEGMENT;
        s.seq = seq_of(c, d, offset + done);
        s.ack = ack_of(c, d);
        s.data = p + done;
        s.len = n;
        write_segment(&s);
        done += n;
    }
    c->next[d] = offset + len;
    c->acked[1 - d] = c->next[1 - d]; /* each segment acknowledged all of it */
}

/* The receiver of direction d says it has the bytes up to end: a pure ACK,
 * as its kernel would have sent. */
static void acknowledge(struct conn *c, int d, uint64_t end, uint64_t ts)
{
    if (end <= c->acked[d] || end > c->next[d])
        return;
    c->acked[d] = end;
    struct segment a = {.c = c, .from = 1 - d, .seq = seq_of(c, 1 - d, c->next[1 - d]) +
                                                      c->fin[1 - d],
                        .ack = seq_of(c, d, end), .flags = TCP_ACK, .ts = ts};
    write_segment(&a);
}

/* ---- received bytes held for their sender's report ----------------------- */

/* Forgets direction d's held bytes before stream offset upto. */
static void held_drop(struct conn *c, int d, uint64_t upto)
{
    struct held *h = &c->held[d];
    while (h->chunks > 0 && h->offset < upto) {
        uint64_t cut = upto - h->offset;
        size_t n = cut < h->chunk[0].len ? (size_t)cut : h->chunk[0].len;
        memmove(h->buf, h->buf + n, h->len - n);
        h->len -= n, h->offset += n;
        h->chunk[0].len -= (uint32_t)n;
        if (h->chunk[0].len == 0)
            memmove(h->chunk, h->chunk + 1, --h->chunks * sizeof h->chunk[0]);
    }
    if (h->chunks == 0) {
        h->len = 0;
        h->offset = upto > h->offset ? upto : h->offset;
    }
}

/* Writes direction d's held bytes before stream offset upto (UINT64_MAX:
 * all), each chunk at its receive's time with the receiver's ACK, as the
 * receiver's own report would have. */
static void held_release(struct conn *c, int d, uint64_t upto)
{
    struct held *h = &c->held[d];
    while (h->chunks > 0 && h->offset < upto) {
        uint64_t room = upto - h->offset;
        size_t n = room < h->chunk[0].len ? (size_t)room : h->chunk[0].len;
        uint64_t ts = h->chunk[0].ts, end = h->offset + n;
        data(c, d, h->offset, h->buf, n, ts, NULL, 0);
        acknowledge(c, d, end, ts);
        held_drop(c, d, end);
    }
}

/* Holds a receiver's report of bytes not written yet; 0 when held, -1
 * when they are to be written now: not right after the bytes held, too
 * many, no memory, or a sender that has not been heard from (it may not
 * be in the run: only its first bytes wait for it). */
static int held_add(struct conn *c, int d, uint64_t offset, const uint8_t *p, size_t len,
                    uint64_t ts)
{
    struct held *h = &c->held[d];
    if (h->chunks > 0 && (offset != h->offset + h->len || !c->sender_seen[d]))
        return -1;
    if (h->chunks == HOLD_CHUNKS || h->len + len > HOLD_BYTES)
        return -1;
    if (h->len + len > h->cap) {
        size_t want = h->cap == 0 ? 65536 : h->cap;
        while (want < h->len + len)
            want *= 2;
        uint8_t *grown = realloc(h->buf, want);
        if (grown == NULL)
            return -1;
        h->buf = grown, h->cap = want;
    }
    if (h->chunks == 0)
        h->offset = offset;
    memcpy(h->buf + h->len, p, len);
    h->len += len;
    h->chunk[h->chunks].ts = ts;
    h->chunk[h->chunks].len = (uint32_t)len;
    h->chunks++;
    return 0;
}

/* The receiver of direction d reports bytes: held when its sender may
 * still report them (with a fault's comment), else written now. A
 * receive a fault shaped is written now, with its comment. */
static void received(struct conn *c, int d, const struct ss_cap_event *e, const uint8_t *p,
                     const char *note)
{
    uint64_t offset = e->offset, end = e->offset + e->len;
    if (end > c->next[d] && e->note_len == 0 && e->len > 0) {
        uint64_t from = offset > c->next[d] ? offset : c->next[d];
        if (held_add(c, d, from, p + (from - offset), (size_t)(end - from), e->ts_ns) == 0)
            return;
    }
    held_release(c, d, UINT64_MAX);
    data(c, d, offset, p, e->len, e->ts_ns, note, e->note_len);
    acknowledge(c, d, end, e->ts_ns);
}

/* The sender of direction d reports bytes: the bytes held before them go
 * first; the held bytes it covers are its to write (the receiver has them:
 * its ACK follows). */
static void sent(struct conn *c, int d, const struct ss_cap_event *e, const uint8_t *p,
                 const char *note)
{
    c->sender_seen[d] = 1;
    held_release(c, d, e->offset);
    struct held *h = &c->held[d];
    uint64_t held_ts = h->chunks > 0 ? h->chunk[0].ts : 0;
    data(c, d, e->offset, p, e->len, e->ts_ns, note, e->note_len);
    if (h->chunks > 0 && h->offset < c->next[d]) {
        uint64_t covered = h->offset + h->len < c->next[d] ? h->offset + h->len : c->next[d];
        acknowledge(c, d, covered, held_ts); /* when the receiver had them */
        held_drop(c, d, c->next[d]);
    }
}

static void fin(struct conn *c, int d, uint64_t offset, uint64_t ts, const char *note,
                size_t note_len)
{
    if (c->fin[d])
        return;
    if (offset > c->next[d])
        c->next[d] = offset; /* bytes the capture never saw */
    struct segment s = {.c = c, .from = d, .seq = seq_of(c, d, c->next[d]), .ack = ack_of(c, d),
                        .flags = TCP_FIN | TCP_ACK, .ts = ts,
                        .cm = {.note = note, .note_len = note_len}};
    write_segment(&s);
    c->fin[d] = 1;
    struct segment a = {.c = c, .from = 1 - d, .seq = seq_of(c, 1 - d, c->next[1 - d]) +
                                                      c->fin[1 - d],
                        .ack = ack_of(c, 1 - d), .flags = TCP_ACK, .ts = ts};
    write_segment(&a);
    c->acked[d] = c->next[d]; /* and no later ACK may go back before the FIN */
    c->acked[1 - d] = c->next[1 - d];
    if (c->fin[1 - d])
        c->closed = 1;
}

static void reset(struct conn *c, int d, uint64_t ts, const char *note, size_t note_len)
{
    if (c->closed)
        return;
    struct segment s = {.c = c, .from = d, .seq = seq_of(c, d, c->next[d]) + c->fin[d],
                        .ack = ack_of(c, d), .flags = TCP_RST | TCP_ACK, .ts = ts,
                        .cm = {.note = note, .note_len = note_len}};
    write_segment(&s);
    c->closed = 1;
}

/* ---- events -------------------------------------------------------------- */

static void tcp_event(struct conn *c, const struct ss_cap_event *e, int local, int d,
                      const uint8_t *payload, const char *note, const char *desc)
{
    /* Only a connect or accept starts the same addresses and ports again:
     * data at offset 0 after both FINs is more often one end's late report
     * of the connection that just ended. */
    if (c->closed && e->kind == SS_CAP_OPEN)
        conn_restart(c);
    if (c->closed)
        return; /* the other end's late report of a connection already ended */
    if (!c->opened) {
        /* without an OPEN, the end that reports first is taken for the
         * client unless it said it is the server */
        int client = e->kind == SS_CAP_OPEN && !(e->flags & SS_CAP_CLIENT) ? 1 - local : local;
        handshake(c, client, e->ts_ns, desc, e->desc_len);
    }
    /* held bytes wait only while their direction's data goes on */
    for (int k = 0; k < 2; k++)
        if (!(e->kind == SS_CAP_DATA && k == d))
            held_release(c, k, UINT64_MAX);
    switch (e->kind) {
    case SS_CAP_DATA:
        if (e->dir == SS_CAP_IN)
            received(c, d, e, payload, note);
        else
            sent(c, d, e, payload, note);
        break;
    case SS_CAP_FIN:
        fin(c, d, e->offset, e->ts_ns, note, e->note_len);
        break;
    case SS_CAP_RST:
        reset(c, d, e->ts_ns, note, e->note_len);
        break;
    default:
        break;
    }
}

/* Whether a datagram (direction d of c, content hash h) is the
 * second report of one written with the source known when it was not, or
 * the other way round; if not, it is remembered. */
static int dgram_second_report(const struct conn *c, const struct ss_cap_event *e, int d,
                              uint32_t h)
{
    const struct endpoint *dst = &c->ep[1 - d];
    uint8_t known = !(e->flags & SS_CAP_PEER_UNKNOWN);
    for (unsigned i = 0; i < UNIX_MEMORY; i++) {
        struct unix_recent *r = &cap.unix_recent[i];
        if (r->len == e->len + 1 && r->hash == h && r->known_src != known &&
            endpoint_cmp(&r->dst, dst) == 0) {
            r->len = 0;
            return 1;
        }
    }
    struct unix_recent *r = &cap.unix_recent[cap.unix_recent_next++ % UNIX_MEMORY];
    r->dst = *dst;
    r->hash = h;
    r->len = e->len + 1;
    r->known_src = known;
    return 0;
}

static void udp_event(struct conn *c, const struct ss_cap_event *e, int d, const uint8_t *payload,
                      const char *note, const char *desc)
{
    uint32_t h = fnv1a(2166136261u, payload, e->len);
    /* the other end's report of a datagram already written */
    for (unsigned i = 0; i < UDP_MEMORY; i++) {
        if (c->recent[d][i].len == e->len + 1 && c->recent[d][i].hash == h &&
            c->recent[d][i].reporter != e->dir) {
            c->recent[d][i].len = 0;
            return;
        }
    }
    if (dgram_second_report(c, e, d, h))
        return;
    struct comments cm = {.note = note, .note_len = e->note_len};
    if (!c->described && e->desc_len > 0) {
        cm.desc = desc, cm.desc_len = e->desc_len;
        c->described = 1;
    }
    write_datagram(c, d, payload, e->len, e->ts_ns, &cm);
    unsigned slot = c->recent_next[d]++ % UDP_MEMORY;
    c->recent[d][slot].hash = h;
    c->recent[d][slot].len = e->len + 1;
    c->recent[d][slot].reporter = e->dir;
}

void ss_pcap_event(const void *record, size_t len)
{
    struct ss_cap_event e;
    if (cap.f == NULL || len < sizeof e)
        return;
    memcpy(&e, record, sizeof e);
    if (sizeof e + (size_t)e.len + e.note_len + e.desc_len > len ||
        (e.kind != SS_CAP_RULE && e.family != 4 && e.family != 6))
        return;
    const uint8_t *payload = (const uint8_t *)record + sizeof e;
    const char *note = (const char *)payload + e.len;
    const char *desc = note + e.note_len;
    if (e.kind == SS_CAP_RULE) {
        rule_change(&e, note);
        return;
    }
    struct endpoint local = {.port = e.lport}, remote = {.port = e.rport};
    memcpy(local.addr, e.laddr, sizeof local.addr);
    memcpy(remote.addr, e.raddr, sizeof remote.addr);
    int local_first = endpoint_cmp(&local, &remote) <= 0;
    struct endpoint ep[2] = {local_first ? local : remote, local_first ? remote : local};
    struct conn *c = conn_find(e.proto, e.family, ep);
    if (c == NULL)
        return;
    int local_index = local_first ? 0 : 1;
    int d = e.dir == SS_CAP_OUT ? local_index : 1 - local_index;
    if (e.proto == IPPROTO_TCP)
        tcp_event(c, &e, local_index, d, payload, note, desc);
    else if (e.kind == SS_CAP_DGRAM)
        udp_event(c, &e, d, payload, note, desc);
}

/* ---- the file --------------------------------------------------------------- */

int ss_pcap_is_open(void)
{
    return cap.f != NULL;
}

int ss_pcap_open(const char *path, int fd)
{
    cap.f = fdopen(fd, "w");
    if (cap.f == NULL)
        return -1;
    cap.path = strdup(path);
    write_headers();
    return cap.failed ? -1 : 0;
}

void ss_pcap_close(void)
{
    if (cap.f == NULL)
        return;
    for (size_t i = 0; i < cap.cap; i++) {
        struct conn *c = &cap.conns[i];
        for (int d = 0; c->used && d < 2; d++) {
            if (!c->closed)
                held_release(c, d, UINT64_MAX);
            free(c->held[d].buf);
        }
    }
    if (fclose(cap.f) != 0 && !cap.failed)
        cap.failed = errno;
    if (cap.failed)
        ss_warn("writing the capture '%s' failed: %s", cap.path,
                strerror(cap.failed));
    cap.f = NULL;
    free(cap.conns);
    free(cap.path);
}
