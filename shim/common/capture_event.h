/* sockshim: capture events (--pcap), shared by the library and the command.
 *
 * The library says what crossed each TCP and UDP socket, as events in the
 * run's ring (ring.h): a connection opened, bytes sent or received at an
 * offset of their direction's stream, a direction ended (FIN), a reset, a
 * datagram. The command turns them into packets (tools/sockshim/pcap.c): a
 * three-way handshake, segments with sequence and acknowledgement numbers,
 * checksums, FIN and RST, in a pcapng file. Both ends of a connection in
 * the run describe the same bytes (one sent them, the other received
 * them); the command writes each byte once.
 *
 * AF_UNIX sockets are told the same way, over IPv6 pseudo-addresses
 * (docs/pcap-unix.md): a stream socket as TCP, a datagram or seqpacket
 * socket as UDP. Such an event has SS_CAP_UNIX set and carries a
 * description of the socket ("AF_UNIX SOCK_STREAM '/run/x.sock'") for the
 * command to put in a comment on the connection's first packet.
 */
#ifndef SOCKSHIM_CAPTURE_EVENT_H
#define SOCKSHIM_CAPTURE_EVENT_H

#include <stdint.h>

enum ss_cap_kind {
    SS_CAP_OPEN = 1, /* the connection is made (connect returned, accept) */
    SS_CAP_DATA,     /* stream bytes */
    SS_CAP_FIN,      /* no more bytes this way (shutdown, close, or EOF seen) */
    SS_CAP_RST,      /* the connection was reset */
    SS_CAP_DGRAM,    /* one datagram */
    SS_CAP_RULE,     /* a fault rule added or removed while the run went on
                      * (--control): offset is its number, dir 1 when added,
                      * the note says it; no addresses */
};

enum ss_cap_dir {
    SS_CAP_OUT = 0, /* from the local end to the remote one */
    SS_CAP_IN = 1,  /* from the remote end to the local one */
};

#define SS_CAP_CLIENT 1u /* OPEN: the local end made the connection */
#define SS_CAP_FAULT 2u  /* a fault rule applied to the call; the note says which */
#define SS_CAP_UNIX 4u   /* an AF_UNIX socket: pseudo-addresses, a description */
#define SS_CAP_PEER_UNKNOWN 8u /* the remote end is not known (AF_UNIX: inode 0; UDP: no address) */

/* AF_UNIX pseudo-addresses: fd00:756e:6978::/48 ("unix"), subnet 0 for a
 * socket named by its inode, subnet 1 for one named by a hash of its
 * path or abstract name. */
#define SS_CAP_UNIX_PREFIX 0xfd, 0x00, 0x75, 0x6e, 0x69, 0x78
#define SS_CAP_UNIX_BY_INODE 0
#define SS_CAP_UNIX_BY_NAME 1

/* An event, then its payload (len bytes), then its note (note_len bytes,
 * no NUL), then its description (desc_len bytes, no NUL). Addresses in
 * network order, IPv4 in the first 4 bytes. */
struct ss_cap_event {
    uint8_t kind;   /* enum ss_cap_kind */
    uint8_t dir;    /* enum ss_cap_dir */
    uint8_t proto;  /* IPPROTO_TCP or IPPROTO_UDP */
    uint8_t family; /* 4 or 6 (AF_UNIX: 6) */
    uint16_t lport, rport; /* host order */
    uint8_t flags;         /* SS_CAP_* */
    uint8_t desc_len;
    uint16_t note_len;
    uint32_t len;
    uint64_t ts_ns;  /* CLOCK_REALTIME */
    uint64_t offset; /* DATA, FIN: where in its direction's stream */
    uint8_t laddr[16], raddr[16];
};

_Static_assert(sizeof(struct ss_cap_event) == 64, "capture events have no padding");

/* Payload a single event carries at most: a larger transfer is several. */
#define SS_CAP_MAX_PAYLOAD (256u << 10)

#endif
