/* sockshim: a call as a binary record, written by the library into the
 * run's ring and rendered by the command's drain (docs/architecture.md,
 * "Call records").
 *
 * The library freezes what the renderers read of a call: struct ss_call
 * as it holds it, then the values its pointers lead to (the sockets'
 * snapshots or references to them, addresses, option values, ancillary
 * data, the fault's text, the first -s bytes of each buffer), each a
 * tagged part of its own. Freezing is a copy, no formatting: the text or
 * JSON line is made by the command, off the program's threads, with the
 * same renderers (render_call.h) the library uses when it writes a line
 * itself.
 *
 * A record is data from another process: ss_callrec_thaw() checks every
 * length before it believes it, sets every pointer of the call again, and
 * refuses what does not hold together.
 *
 *   header (struct ss_callrec_head)
 *   struct ss_call (call_size bytes: the build's layout)
 *   struct ss_callrec_values, when the flags say the call had any
 *   parts: struct ss_callrec_part {tag, len} + len bytes, each 8-aligned;
 *          the data part (SS_CRP_DATA) last
 */
#ifndef SOCKSHIM_CALL_RECORD_H
#define SOCKSHIM_CALL_RECORD_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "call.h"

/* The first byte of a record: a call, among the binary records of the
 * ring (capture events below 0x20, ledger events from 0x40 on). */
#define SS_CALLREC_KIND 0x30
#define SS_CALLREC_VERSION 1

/* Pieces of a buffer kept per record: a call with more iovecs, messages
 * (sendmmsg/recvmmsg) or a larger option or ancillary part is written as
 * a line by the library instead. */
#define SS_CALLREC_MAX_PIECES 16
#define SS_CALLREC_MAX_OPT 256
#define SS_CALLREC_MAX_CONTROL 512

enum ss_callrec_flag {
    SS_CR_JSON = 1u << 0,          /* render as JSON (else text) */
    SS_CR_LOOP = 1u << 1,          /* a JSON loop record (ss_json_loop) */
    SS_CR_MULTITHREADED = 1u << 2, /* its process had several threads */
    SS_CR_ADDRLEN_OUT = 1u << 3,   /* the call had addrlen_out: its value follows the call */
    SS_CR_OPTLEN_OUT = 1u << 4,    /* ... optlen_out */
    SS_CR_SV = 1u << 5,            /* ... socketpair's fds */
    SS_CR_IOCTL_INT = 1u << 6,     /* ... the int an ioctl read or wrote */
    SS_CR_OFFP = 1u << 7,          /* sendfile had an offset pointer */
    SS_CR_OFF_IN = 1u << 8,        /* splice had offsets */
    SS_CR_OFF_OUT = 1u << 9,
    SS_CR_PREVIEW = 1u << 10,      /* the data part is a copy of the first bytes */
    SS_CR_ITER_IOV = 1u << 11,     /* the pieces are c->iov */
    SS_CR_ITER_MSG = 1u << 12,     /* the pieces are c->msg's */
    SS_CR_INTO_BUF = 1u << 13,     /* one piece: c->buf, a receive's (else c->cbuf) */
    /* In a record file (--format=raw) a call's record says which renderings
     * show it: a sendall loop is one text line but a JSON line per call
     * and a loop record. Neither: the record is rendered as SS_CR_JSON says. */
    SS_CR_IN_TEXT = 1u << 14,
    SS_CR_IN_JSON = 1u << 15,
    SS_CR_COMPACT = 1u << 16,      /* the call is a struct ss_callrec_compact */
};

/* The record starts with this header, then the call's record as the
 * library holds it (struct ss_call, whose layout is the build's: the
 * version says which, and the command of the same build reads it), then
 * the values behind its pointers, as parts. */
struct ss_callrec_head {
    uint8_t kind;       /* SS_CALLREC_KIND */
    uint8_t version;    /* SS_CALLREC_VERSION */
    uint16_t n_parts;
    uint32_t flags;     /* enum ss_callrec_flag */
    uint32_t size;      /* the whole record */
    uint32_t call_size; /* sizeof(struct ss_call) of the writer */
    int32_t pid, tid;
    int32_t utc_offset_s;
    uint32_t strsize;
};

/* The call of a send or a receive of one buffer (the commonest record by
 * far), without the rest of struct ss_call, which such a call leaves
 * zero: a quarter of its size (ss_callrec_compact_fits says which calls;
 * thawing sets every other field to zero). */
struct ss_callrec_compact {
    int32_t fn, op, fd, flags;
    int32_t err, failed, on_socket, via_syscall;
    int64_t ret;
    uint64_t len, buflen;
    uint64_t loop, loop_done;
    uint32_t loop_calls, loop_faults;
    uint64_t caller;
    uint64_t t_start_ns, t_end_ns;
    int32_t fault_flipped, fault_reset, fault_ended, short_skipped;
};

/* What follows the call when its flags say so: the values its pointers to
 * single numbers held. */
struct ss_callrec_values {
    uint32_t addrlen_out, optlen_out;
    int32_t sv[2];
    int32_t ioctl_int;
    int32_t reserved;
};

enum ss_callrec_tag {
    SS_CRP_SOCK = 1,     /* struct ss_callrec_sock, then laddr, raddr bytes */
    SS_CRP_NEW_SOCK,     /* the same, of what the call made */
    SS_CRP_ADDR,         /* c->addr: min(addrlen, sockaddr_storage) bytes */
    SS_CRP_ADDR_OUT,     /* c->addr_out, as long as *addrlen_out says (capped) */
    SS_CRP_DATA,         /* uint32 count, count x struct ss_callrec_piece, bytes */
    SS_CRP_MSG,          /* struct ss_callrec_msg, name bytes, control bytes */
    SS_CRP_OPTVAL,       /* c->optval: optlen bytes */
    SS_CRP_OPTVAL_OUT,   /* c->optval_out: min(*optlen_out, optlen) bytes */
    SS_CRP_FAULT,        /* the action text, NUL, the rule's text, NUL */
    SS_CRP_MARKS,        /* struct ss_callrec_marks, then n action texts, each NUL-ended */
    SS_CRP_SOCK_REF,     /* struct ss_callrec_sock_ref: the socket as a record of the
                          * same process gave it whole (SS_CRP_SOCK) */
    SS_CRP_COUNT
};

struct ss_callrec_part {
    uint16_t tag;
    uint16_t reserved;
    uint32_t len; /* bytes after this header, not counting the padding */
};

/* A socket's snapshot without the unused room of its addresses. */
struct ss_callrec_sock {
    uint64_t id;
    uint32_t version;
    int32_t family, type, protocol;
    uint32_t state;
    int32_t nonblocking;
    uint32_t laddr_len, raddr_len;
    uint64_t bytes_sent, bytes_received;
};

struct ss_callrec_sock_ref {
    uint64_t id;
    uint32_t version;
    uint32_t reserved;
};

/* One piece of a buffer: how long it was, and how many of its first bytes
 * follow (at most -s). */
struct ss_callrec_piece {
    uint64_t len;
    uint32_t held;
    uint32_t null_base; /* its iov_base was NULL: the text renderer stops there,
                         * even at an empty piece */
};

struct ss_callrec_msg {
    uint32_t namelen, name_held;
    uint64_t iovlen;
    uint64_t controllen;
    uint32_t control_held;
    int32_t msg_flags;
};

struct ss_callrec_marks {
    int32_t n, more;
    int32_t rule[SS_LOOP_MARKS];
};

/* ---- the library: freezing ------------------------------------------------ */

/* Whether a call fits a record (sendmmsg and recvmmsg, more than
 * SS_CALLREC_MAX_PIECES iovecs, a large option or ancillary part do not:
 * the library renders their lines itself). */
int ss_callrec_fits(const struct ss_call *c);

/* What a record says besides the call: who made it and how to show it. */
struct ss_callrec_who {
    int pid, tid, multithreaded, json, loop;
    int in_text, in_json; /* a record file's: the renderings that show it */
    long utc_offset_s;
    size_t strsize;
    const char *rule_text; /* of c->fault, or NULL */
};

/* Room for all of a record but the bytes of its data, which stay where
 * the program has them until the ring takes them. */
#define SS_CALLREC_ROOM 4096
#define SS_CALLREC_IOV_MAX (2 + SS_CALLREC_MAX_PIECES)
struct ss_callrec_room {
    _Alignas(8) unsigned char buf[SS_CALLREC_ROOM];
    unsigned char zero[8];
};

/* Freezes c (a call that fits) into room and iov[0..SS_CALLREC_IOV_MAX):
 * the record is the pieces iov lists, in order, *len bytes in all; they
 * point into room and into the call's buffers, which must stay until the
 * ring has taken them. Returns the number of pieces, or -1 when it does
 * not fit the room (a long rule text). */
int ss_callrec_freeze(const struct ss_call *c, const struct ss_callrec_who *who,
                      struct ss_callrec_room *room, struct iovec *iov, size_t *len);

/* ---- the command: thawing ------------------------------------------------- */

/* A record thawed into a struct ss_call whose pointers lead into this
 * view (and into the record, which must outlive it). */
struct ss_callrec_view {
    struct ss_call c;
    struct ss_callrec_who who;
    struct ss_sockinfo sock, new_sock;
    struct sockaddr_storage addr, addr_out, name;
    socklen_t addrlen_out, optlen_out;
    int sv[2];
    int ioctl_int;
    off_t offp;
    loff_t off_in, off_out;
    struct iovec iov[SS_CALLREC_MAX_PIECES];
    struct msghdr msg;
    unsigned char optval[SS_CALLREC_MAX_OPT], optval_out[SS_CALLREC_MAX_OPT];
    unsigned char control[SS_CALLREC_MAX_CONTROL];
    struct ss_fault_marks marks;
    /* c.sock is &sock; when sock.by_reference, it holds only id and
     * version, and the reader fills in the rest from what it kept */
};

/* Thaws the record rec[0..len) into v. 0, or -1 (errno EINVAL) when the
 * record does not hold together: a length past its end, an unknown
 * version, method or entry point. */
int ss_callrec_thaw(const void *rec, size_t len, struct ss_callrec_view *v);

#endif
