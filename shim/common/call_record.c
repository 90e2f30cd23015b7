/* sockshim: freezing a call into a binary record, and thawing it (see
 * call_record.h). */
#include "call_record.h"

#include <assert.h>
#include <errno.h>
#include <string.h>

#include "options.h"
#include "render_call.h"

_Static_assert(sizeof(struct ss_callrec_head) % 8 == 0, "parts start 8-aligned");
_Static_assert(sizeof(struct ss_callrec_sock) % 8 == 0, "addresses follow aligned");
_Static_assert(sizeof(struct ss_callrec_piece) % 8 == 0, "pieces are aligned");
_Static_assert(sizeof(struct ss_callrec_msg) % 8 == 0, "name bytes follow aligned");
_Static_assert(sizeof(struct ss_callrec_compact) == 120,
               "a compact call is 8-aligned, and architecture.md says its size");
_Static_assert(SS_OP_COUNT < 65536 && SS_FN_COUNT < 65536, "methods fit 16 bits");

/* ---- freezing --------------------------------------------------------------- */

/* A record is built in the room; only the data's bytes are left where the
 * program has them, as the last pieces. */
struct freezer {
    unsigned char *at, *end;
    int n_parts;
    int full;
};

static void *room_for(struct freezer *f, size_t n)
{
    size_t padded = (n + 7) & ~(size_t)7;
    if (f->full || (size_t)(f->end - f->at) < padded) {
        f->full = 1;
        return NULL;
    }
    void *p = f->at;
    memset(f->at + n, 0, padded - n);
    f->at += padded;
    return p;
}

static void put(struct freezer *f, const void *p, size_t n)
{
    void *to = room_for(f, n);
    if (to != NULL && n > 0)
        memcpy(to, p, n);
}

/* A part's header, for len bytes the caller puts next (as one put, or as
 * pieces whose total room_for pads once: see put_part). */
static void part(struct freezer *f, enum ss_callrec_tag tag, size_t len)
{
    struct ss_callrec_part h = {.tag = (uint16_t)tag, .len = (uint32_t)len};
    put(f, &h, sizeof h);
    f->n_parts++;
}

static void put_part(struct freezer *f, enum ss_callrec_tag tag, const void *p, size_t n)
{
    part(f, tag, n);
    put(f, p, n);
}

static size_t min_size(size_t a, size_t b)
{
    return a < b ? a : b;
}

static int receives(enum ss_op op)
{
    return ss_op_in(op, SS_OPS_RECVS);
}

static int pieces_of(const struct ss_call *c, const struct iovec **iov, size_t *n)
{
    if (c->op == SS_OP_sendmmsg || c->op == SS_OP_recvmmsg || c->mmsg != NULL)
        return 0;
    *iov = c->msg != NULL ? c->msg->msg_iov : c->iov;
    *n = c->msg != NULL ? c->msg->msg_iovlen : (size_t)(c->iovcnt > 0 ? c->iovcnt : 0);
    if (*iov == NULL)
        *n = 0;
    return 1;
}

int ss_callrec_fits(const struct ss_call *c)
{
    const struct iovec *iov;
    size_t n;
    /* select, poll, epoll, and a resolution (it points into the program's
     * results: addrinfo lists, hostents): rendered where they were made */
    if (c->wait != NULL || c->resolution != NULL ||
        ss_op_in(c->op, SS_OPS_WAITS | SS_OPS_RESOLVE))
        return 0;
    if (!pieces_of(c, &iov, &n) || n > SS_CALLREC_MAX_PIECES)
        return 0;
    if (c->msg != NULL && c->msg->msg_iovlen != n) /* no buffers where it says some */
        return 0;
    if (c->msg != NULL && c->msg->msg_controllen > SS_CALLREC_MAX_CONTROL)
        return 0;
    if (c->optval != NULL && c->optlen > SS_CALLREC_MAX_OPT)
        return 0;
    if (c->optval_out != NULL && c->optlen_out != NULL && !c->failed &&
        min_size(*c->optlen_out, c->optlen) > SS_CALLREC_MAX_OPT)
        return 0;
    return 1;
}

static void freeze_sock(struct freezer *f, enum ss_callrec_tag tag, const struct ss_sockinfo *s)
{
    if (s == NULL || s->id == 0)
        return;
    if (s->by_reference && tag == SS_CRP_SOCK) {
        struct ss_callrec_sock_ref ref = {.id = s->id, .version = s->version};
        put_part(f, SS_CRP_SOCK_REF, &ref, sizeof ref);
        return;
    }
    size_t llen = min_size(s->laddr.len, sizeof s->laddr.sa);
    size_t rlen = min_size(s->raddr.len, sizeof s->raddr.sa);
    struct ss_callrec_sock out = {
        .id = s->id, .version = s->version, .family = s->family, .type = s->type,
        .protocol = s->protocol, .state = s->state, .nonblocking = s->nonblocking,
        .laddr_len = (uint32_t)llen, .raddr_len = (uint32_t)rlen,
        .bytes_sent = s->bytes_sent, .bytes_received = s->bytes_received};
    part(f, tag, sizeof out + llen + rlen);
    unsigned char *to = room_for(f, sizeof out + llen + rlen);
    if (to == NULL)
        return;
    memcpy(to, &out, sizeof out);
    memcpy(to + sizeof out, &s->laddr.sa, llen);
    memcpy(to + sizeof out + llen, &s->raddr.sa, rlen);
}

/* Where a call's data is, as pieces: each buffer's length and how many of
 * its first bytes a renderer shows (-s, and no more than a receive got). */
struct data {
    const struct iovec *iov;
    size_t n;
    struct iovec one;
    uint32_t flags;
};

static int data_of(const struct ss_call *c, struct data *d)
{
    d->flags = 0;
    if (c->preview != NULL) {
        d->one = (struct iovec){(void *)c->preview, c->preview_len};
        d->iov = &d->one;
        d->n = 1;
        d->flags = SS_CR_PREVIEW;
    } else if (c->msg != NULL || c->iov != NULL) {
        pieces_of(c, &d->iov, &d->n);
        d->flags = c->msg != NULL ? SS_CR_ITER_MSG : SS_CR_ITER_IOV;
    } else if (c->cbuf != NULL || c->buf != NULL) {
        d->one = (struct iovec){c->buf != NULL ? c->buf : (void *)c->cbuf, c->len};
        d->iov = &d->one;
        d->n = 1;
        d->flags = c->buf != NULL ? SS_CR_INTO_BUF : 0;
    } else {
        return 0;
    }
    return 1;
}

/* How many bytes a record holds of each piece: as many of its first bytes
 * as a renderer may show (-s), and of a receive's no more than it got.
 * Freezing and thawing count them alike: a renderer reads that much of a
 * thawed piece, so a record that holds another count is refused. */
struct held_count {
    size_t strsize;
    int receiving;
    size_t left; /* of what a receive got, after the pieces before */
};

static struct held_count held_count(const struct ss_call *c, int preview, size_t strsize)
{
    int receiving = !preview && receives(c->op);
    return (struct held_count){
        .strsize = strsize, .receiving = receiving,
        .left = receiving ? (c->failed || c->ret < 0 ? 0 : (size_t)c->ret) : ~(size_t)0};
}

static size_t held_of(struct held_count *hc, size_t len, int null_base)
{
    if (null_base) /* the JSON renderer skips it: it takes none of what a receive got */
        return 0;
    size_t held = min_size(min_size(len, hc->strsize), hc->left);
    hc->left -= hc->receiving ? min_size(hc->left, len) : 0;
    return held;
}

/* The data part comes last: its header and table in the room, its bytes
 * as pieces of their own (iov), then the padding. Returns the pieces. */
static int freeze_data(struct freezer *f, const struct ss_call *c, const struct data *d,
                       size_t strsize, struct iovec *iov, size_t *bytes)
{
    struct held_count hc = held_count(c, c->preview != NULL, strsize);
    struct ss_callrec_piece piece[SS_CALLREC_MAX_PIECES];
    size_t held_total = 0;
    for (size_t i = 0; i < d->n; i++) {
        int null_base = d->iov[i].iov_base == NULL;
        size_t held = held_of(&hc, d->iov[i].iov_len, null_base);
        piece[i] = (struct ss_callrec_piece){.len = d->iov[i].iov_len, .held = (uint32_t)held,
                                             .null_base = null_base};
        held_total += held;
    }
    uint32_t count[2] = {(uint32_t)d->n, 0};
    size_t table = sizeof count + d->n * sizeof piece[0];
    part(f, SS_CRP_DATA, table + held_total);
    unsigned char *to = room_for(f, table); /* table is a multiple of 8 */
    if (to == NULL)
        return 0;
    memcpy(to, count, sizeof count);
    memcpy(to + sizeof count, piece, d->n * sizeof piece[0]);
    int n = 0;
    for (size_t i = 0; i < d->n; i++)
        if (piece[i].held > 0)
            iov[n++] = (struct iovec){d->iov[i].iov_base, piece[i].held};
    *bytes = held_total;
    return n;
}

static void freeze_msg(struct freezer *f, const struct msghdr *m)
{
    size_t name = m->msg_name != NULL ? min_size(m->msg_namelen, sizeof(struct sockaddr_storage)) : 0;
    size_t control = m->msg_control != NULL ? m->msg_controllen : 0;
    struct ss_callrec_msg out = {.namelen = m->msg_namelen, .name_held = (uint32_t)name,
                                 .iovlen = m->msg_iovlen, .controllen = m->msg_controllen,
                                 .control_held = (uint32_t)control, .msg_flags = m->msg_flags};
    part(f, SS_CRP_MSG, sizeof out + name + control);
    unsigned char *to = room_for(f, sizeof out + name + control);
    if (to == NULL)
        return;
    memcpy(to, &out, sizeof out);
    if (name > 0)
        memcpy(to + sizeof out, m->msg_name, name);
    if (control > 0)
        memcpy(to + sizeof out + name, m->msg_control, control);
}

static void freeze_strings(struct freezer *f, enum ss_callrec_tag tag, const void *head,
                           size_t head_len, const char *const *str, int n)
{
    size_t total = head_len;
    for (int i = 0; i < n; i++)
        total += strlen(str[i]) + 1;
    part(f, tag, total);
    unsigned char *to = room_for(f, total);
    if (to == NULL)
        return;
    if (head_len > 0) /* the fault part has none: head is NULL */
        memcpy(to, head, head_len);
    to += head_len;
    for (int i = 0; i < n; i++) {
        size_t len = strlen(str[i]) + 1;
        memcpy(to, str[i], len);
        to += len;
    }
}

static void freeze_fault(struct freezer *f, const struct ss_call *c, const char *rule_text)
{
    const char *str[2] = {c->fault_action != NULL ? c->fault_action : "",
                          rule_text != NULL ? rule_text : ""};
    freeze_strings(f, SS_CRP_FAULT, NULL, 0, str, 2);
}

static void freeze_marks(struct freezer *f, const struct ss_fault_marks *m)
{
    struct ss_callrec_marks out = {.n = m->n, .more = m->more};
    const char *str[SS_LOOP_MARKS];
    int n = m->n < SS_LOOP_MARKS ? m->n : SS_LOOP_MARKS;
    for (int i = 0; i < n; i++) {
        out.rule[i] = m->rule[i];
        str[i] = m->action[i] != NULL ? m->action[i] : "?";
    }
    out.n = n;
    freeze_strings(f, SS_CRP_MARKS, &out, sizeof out, str, n);
}

/* The values a call's pointers to single numbers held, when it had any. */
static uint32_t values_of(const struct ss_call *c, struct ss_callrec_values *v)
{
    uint32_t fl = 0;
    *v = (struct ss_callrec_values){0};
    /* what a call wrote is read only when it succeeded, as the renderers
     * read it: a failed call's pointers may be bad (EFAULT) */
    if (c->addrlen_out != NULL) {
        v->addrlen_out = c->failed ? 0 : *c->addrlen_out;
        fl |= SS_CR_ADDRLEN_OUT;
    }
    if (c->optlen_out != NULL) {
        v->optlen_out = c->failed ? 0 : *c->optlen_out;
        fl |= SS_CR_OPTLEN_OUT;
    }
    if (c->sv != NULL) {
        if (!c->failed) {
            v->sv[0] = c->sv[0];
            v->sv[1] = c->sv[1];
        }
        fl |= SS_CR_SV;
    }
    int value;
    if (ss_call_ioctl_int(c, &value)) {
        v->ioctl_int = value;
        fl |= SS_CR_IOCTL_INT;
    }
    fl |= c->offp != NULL ? SS_CR_OFFP : 0;
    fl |= c->off_in != NULL ? SS_CR_OFF_IN : 0;
    fl |= c->off_out != NULL ? SS_CR_OFF_OUT : 0;
    return fl;
}

static void freeze_parts(struct freezer *f, const struct ss_call *c,
                         const struct ss_callrec_who *who)
{
    freeze_sock(f, SS_CRP_SOCK, c->sock);
    freeze_sock(f, SS_CRP_NEW_SOCK, c->new_sock);
    if (c->addr != NULL)
        put_part(f, SS_CRP_ADDR, c->addr, min_size(c->addrlen, sizeof(struct sockaddr_storage)));
    if (c->addr_out != NULL && c->addrlen_out != NULL && !c->failed)
        put_part(f, SS_CRP_ADDR_OUT, c->addr_out,
                 min_size(*c->addrlen_out, sizeof(struct sockaddr_storage)));
    if (c->msg != NULL)
        freeze_msg(f, c->msg);
    if (c->optval != NULL)
        put_part(f, SS_CRP_OPTVAL, c->optval, c->optlen);
    if (c->optval_out != NULL && c->optlen_out != NULL && !c->failed)
        put_part(f, SS_CRP_OPTVAL_OUT, c->optval_out, min_size(*c->optlen_out, c->optlen));
    if (c->fault != 0)
        freeze_fault(f, c, who->rule_text);
    if (c->loop_marks != NULL)
        freeze_marks(f, c->loop_marks);
}

/* The entry points whose wrapper sets only the fd, one buffer, its length
 * and flags (and __recv_chk the buffer's object size). */
static int plain_transfer(enum ss_fn fn)
{
    switch (fn) {
    case SS_FN_send:
    case SS_FN___send:
    case SS_FN_recv:
    case SS_FN___recv_chk:
    case SS_FN_read:
    case SS_FN___read:
    case SS_FN___read_chk:
    case SS_FN_write:
    case SS_FN___write:
        return 1;
    default:
        return 0;
    }
}

#ifndef NDEBUG
/* Every field outside struct ss_callrec_compact zero, or as thawing sets
 * it: what compact_fits takes for granted of such a call, checked in
 * debug builds (the sanitizer builds tools/check runs the suite with).
 * (A rule that matched and cut nothing leaves its action, draw and limit
 * in a call whose fault is 0: nothing reads them without a fault.) */
static int rest_is_zero(const struct ss_call *c)
{
    return c->iov == NULL && c->msg == NULL && c->mmsg == NULL && c->addr == NULL &&
           c->addr_out == NULL && c->addrlen_out == NULL && c->new_sock == &ss_no_socket &&
           c->new_fd == 0 && c->offset == 0 && c->iovcnt == 0 && c->vlen == 0 &&
           c->timeout == NULL && c->count == 0 && c->other_fd == 0 && c->n_closed_fds == 0 &&
           c->prior_fd_was_socket == 0 && c->fd_released == 0 && c->preview_len == 0 &&
           c->optval == NULL && c->optval_out == NULL && c->optlen_out == NULL &&
           c->level == 0 && c->optname == 0 && c->optlen == 0 && c->sv == NULL &&
           c->domain == 0 && c->type == 0 && c->protocol == 0 && c->how == 0 &&
           c->backlog == 0 && c->cmd == 0 && c->request == 0 && c->arg == 0 &&
           c->ioctl_int == NULL && c->newfd == 0 && c->offp == NULL && c->off_in == NULL &&
           c->off_out == NULL && c->first == 0 && c->last == 0 && c->stream == NULL &&
           c->wait == NULL && c->fault_note_kind == 0 && c->fault_note_reason == NULL &&
           c->addrlen == 0 && c->resolution == NULL && c->fault_datagram == 0;
}
#endif

/* Whether c goes as a compact record: a send or a receive of one buffer
 * no fault hit, through an entry point whose wrapper leaves every field
 * outside struct ss_callrec_compact zero. */
static int compact_fits(const struct ss_call *c)
{
    int fits = plain_transfer(c->fn) && !c->via_syscall && c->fault == 0 &&
               c->fault_note == 0 && c->loop_marks == NULL && c->preview == NULL &&
               (c->op == SS_OP_send || c->op == SS_OP_recv);
    assert(!fits || rest_is_zero(c));
    return fits;
}

static void compact_of(const struct ss_call *c, struct ss_callrec_compact *k)
{
    *k = (struct ss_callrec_compact){
        .fn = (int32_t)c->fn, .op = (int32_t)c->op, .fd = c->fd, .flags = c->flags,
        .err = c->err, .failed = c->failed, .on_socket = c->on_socket,
        .via_syscall = c->via_syscall, .ret = c->ret, .len = c->len, .buflen = c->buflen,
        .loop = c->loop, .loop_done = c->loop_done, .loop_calls = c->loop_calls,
        .loop_faults = c->loop_faults, .caller = c->caller, .t_start_ns = c->t_start_ns,
        .t_end_ns = c->t_end_ns, .fault_flipped = c->fault_flipped,
        .fault_reset = c->fault_reset, .fault_ended = c->fault_ended,
        .short_skipped = c->short_skipped};
}

/* The call a compact record holds, every other field zero. */
static void call_of_compact(const struct ss_callrec_compact *k, struct ss_call *c)
{
    memset(c, 0, sizeof *c);
    c->fn = (enum ss_fn)k->fn;
    c->op = (enum ss_op)k->op;
    c->fd = k->fd;
    c->flags = k->flags;
    c->err = k->err;
    c->failed = k->failed;
    c->on_socket = k->on_socket;
    c->via_syscall = k->via_syscall;
    c->ret = k->ret;
    c->len = k->len;
    c->buflen = k->buflen;
    c->loop = k->loop;
    c->loop_done = k->loop_done;
    c->loop_calls = k->loop_calls;
    c->loop_faults = k->loop_faults;
    c->caller = k->caller;
    c->t_start_ns = k->t_start_ns;
    c->t_end_ns = k->t_end_ns;
    c->fault_flipped = k->fault_flipped;
    c->fault_reset = k->fault_reset;
    c->fault_ended = k->fault_ended;
    c->short_skipped = k->short_skipped;
}

static uint32_t who_flags(const struct ss_callrec_who *who)
{
    return (who->json ? SS_CR_JSON : 0) | (who->loop ? SS_CR_LOOP : 0) |
           (who->multithreaded ? SS_CR_MULTITHREADED : 0) | (who->in_text ? SS_CR_IN_TEXT : 0) |
           (who->in_json ? SS_CR_IN_JSON : 0);
}

int ss_callrec_freeze(const struct ss_call *c, const struct ss_callrec_who *who,
                      struct ss_callrec_room *room, struct iovec *iov, size_t *len)
{
    struct freezer f = {.at = room->buf, .end = room->buf + sizeof room->buf};
    struct ss_callrec_head *h = room_for(&f, sizeof *h);
    struct ss_callrec_compact compact;
    int small = compact_fits(c);
    if (small) {
        compact_of(c, &compact);
        put(&f, &compact, sizeof compact);
    } else {
        put(&f, c, sizeof *c);
    }
    struct ss_callrec_values values;
    uint32_t flags = who_flags(who) | values_of(c, &values) | (small ? SS_CR_COMPACT : 0);
    if (flags & (SS_CR_ADDRLEN_OUT | SS_CR_OPTLEN_OUT | SS_CR_SV | SS_CR_IOCTL_INT))
        put(&f, &values, sizeof values);
    freeze_parts(&f, c, who);
    struct data d;
    size_t bytes = 0;
    int n_bytes = 0;
    if (data_of(c, &d)) {
        flags |= d.flags;
        /* a message without an iovec array (recvmsg for ancillary data
         * only) has no data part: thawed, its msg_iov stays NULL, which
         * the renderers tell from an empty array */
        if (d.iov != NULL)
            n_bytes = freeze_data(&f, c, &d, who->strsize, iov + 1, &bytes);
    }
    if (f.full)
        return -1;
    size_t room_len = (size_t)(f.at - room->buf);
    size_t total = room_len + bytes;
    size_t padding = (8 - (total & 7)) & 7;
    *h = (struct ss_callrec_head){
        .kind = SS_CALLREC_KIND, .version = SS_CALLREC_VERSION, .n_parts = (uint16_t)f.n_parts,
        .flags = flags, .size = (uint32_t)(total + padding),
        .call_size = small ? (uint32_t)sizeof compact : (uint32_t)sizeof *c,
        .pid = who->pid, .tid = who->tid, .utc_offset_s = (int32_t)who->utc_offset_s,
        .strsize = (uint32_t)who->strsize};
    iov[0] = (struct iovec){room->buf, room_len};
    int n = 1 + n_bytes;
    if (padding != 0) {
        memset(room->zero, 0, sizeof room->zero);
        iov[n++] = (struct iovec){room->zero, padding};
    }
    *len = total + padding;
    return n;
}

/* ---- thawing ---------------------------------------------------------------- */

struct reader {
    const unsigned char *p;
    size_t len;
};

static int take(struct reader *r, void *out, size_t n)
{
    if (n > r->len)
        return -1;
    memcpy(out, r->p, n);
    r->p += n;
    r->len -= n;
    return 0;
}

static const void *skip(struct reader *r, size_t n)
{
    if (n > r->len)
        return NULL;
    const void *at = r->p;
    r->p += n;
    r->len -= n;
    return at;
}

static int thaw_sock(struct reader *r, struct ss_sockinfo *s)
{
    struct ss_callrec_sock in;
    if (take(r, &in, sizeof in) != 0 || in.laddr_len > sizeof s->laddr.sa ||
        in.raddr_len > sizeof s->raddr.sa)
        return -1;
    /* field by field: the room of the addresses past their lengths is
     * never read, and need not be cleared */
    s->id = in.id;
    s->version = in.version;
    s->family = in.family;
    s->type = in.type;
    s->protocol = in.protocol;
    s->state = in.state;
    s->nonblocking = in.nonblocking;
    s->bytes_sent = in.bytes_sent;
    s->bytes_received = in.bytes_received;
    s->by_reference = 0;
    s->owner = NULL;
    s->laddr.len = in.laddr_len;
    s->raddr.len = in.raddr_len;
    if (take(r, &s->laddr.sa, in.laddr_len) != 0 || take(r, &s->raddr.sa, in.raddr_len) != 0)
        return -1;
    return r->len == 0 ? 0 : -1;
}

static int thaw_addr(struct reader *r, struct sockaddr_storage *out)
{
    size_t n = r->len;
    if (n > sizeof *out)
        return -1;
    memset(out, 0, sizeof *out);
    return take(r, out, n);
}

/* The pieces become the call's iovecs (or its one buffer), each pointing
 * at the bytes the record holds of it; a piece the record holds nothing
 * of ends what a renderer reads. */
static int thaw_data(struct reader *r, struct ss_callrec_view *v, uint32_t flags)
{
    uint32_t count[2];
    struct ss_callrec_piece piece[SS_CALLREC_MAX_PIECES];
    if (take(r, count, sizeof count) != 0 || count[0] > SS_CALLREC_MAX_PIECES ||
        take(r, piece, count[0] * sizeof piece[0]) != 0)
        return -1;
    uint32_t n = count[0];
    struct ss_call *c = &v->c;
    struct held_count hc = held_count(c, (flags & SS_CR_PREVIEW) != 0, v->who.strsize);
    for (uint32_t i = 0; i < n; i++) {
        const void *bytes = skip(r, piece[i].held);
        if (bytes == NULL || piece[i].null_base > 1 ||
            piece[i].held != held_of(&hc, piece[i].len, (int)piece[i].null_base))
            return -1;
        int shown = !piece[i].null_base && (piece[i].held > 0 || piece[i].len == 0);
        v->iov[i] = (struct iovec){shown ? (void *)bytes : NULL, piece[i].len};
    }
    if (r->len != 0)
        return -1;
    if (flags & SS_CR_ITER_MSG) {
        /* the message part came first and said how many buffers it had */
        if (c->msg == NULL || n != v->msg.msg_iovlen)
            return -1;
        v->msg.msg_iov = v->iov;
    } else if (flags & SS_CR_ITER_IOV) {
        c->iov = v->iov;
        c->iovcnt = (int)n;
    } else if (n != 1 || (!(flags & SS_CR_PREVIEW) && piece[0].len != c->len)) {
        return -1; /* a renderer reads c->len of one buffer, as it read the call's */
    } else if (flags & SS_CR_PREVIEW) {
        c->preview = v->iov[0].iov_base;
        c->preview_len = piece[0].held;
    } else if (flags & SS_CR_INTO_BUF) {
        c->buf = v->iov[0].iov_base;
    } else {
        c->cbuf = v->iov[0].iov_base;
    }
    return 0;
}

static int thaw_msg(struct reader *r, struct ss_callrec_view *v, uint32_t flags)
{
    struct ss_callrec_msg in;
    if (!(flags & SS_CR_ITER_MSG) || take(r, &in, sizeof in) != 0 ||
        in.name_held > sizeof v->name || in.name_held > in.namelen ||
        in.control_held > sizeof v->control || in.controllen > SS_CALLREC_MAX_CONTROL ||
        (in.control_held != in.controllen && in.control_held != 0) ||
        in.iovlen > SS_CALLREC_MAX_PIECES)
        return -1;
    memset(&v->name, 0, sizeof v->name);
    if (take(r, &v->name, in.name_held) != 0 || take(r, v->control, in.control_held) != 0 ||
        r->len != 0)
        return -1;
    v->msg.msg_name = in.name_held > 0 ? &v->name : NULL;
    v->msg.msg_namelen = in.name_held;
    /* a length without a buffer (msg_control NULL: the call failed with
     * EFAULT) is shown as the program passed it */
    v->msg.msg_control = in.control_held > 0 ? v->control : NULL;
    v->msg.msg_controllen = in.controllen;
    v->msg.msg_flags = in.msg_flags;
    v->msg.msg_iovlen = in.iovlen; /* the data part gives the buffers */
    v->c.msg = &v->msg;
    return 0;
}

static int thaw_option(struct reader *r, unsigned char *out, size_t expected)
{
    if (r->len != expected || r->len > SS_CALLREC_MAX_OPT)
        return -1;
    return take(r, out, r->len);
}

/* A NUL-ended string of the record, or NULL. */
static const char *string(struct reader *r)
{
    const char *s = (const char *)r->p;
    const char *end = memchr(s, '\0', r->len);
    if (end == NULL)
        return NULL;
    skip(r, (size_t)(end - s) + 1);
    return s;
}

/* An action's text as the rule parser writes it (rules.c: a term and its
 * checked value), printable ASCII: a text line shows it as it is, so any
 * other byte a record held there (a newline) would forge trace lines. */
static int action_text(const char *s)
{
    for (; s != NULL && *s != '\0'; s++)
        if (*s < 0x20 || *s > 0x7e)
            return 0;
    return s != NULL;
}

static int thaw_fault(struct reader *r, struct ss_callrec_view *v)
{
    v->c.fault_action = string(r);
    v->who.rule_text = string(r);
    return action_text(v->c.fault_action) && v->who.rule_text != NULL && r->len == 0 ? 0 : -1;
}

static int thaw_marks(struct reader *r, struct ss_callrec_view *v)
{
    struct ss_callrec_marks in;
    if (take(r, &in, sizeof in) != 0 || in.n < 0 || in.n > SS_LOOP_MARKS)
        return -1;
    v->marks = (struct ss_fault_marks){.n = in.n, .more = in.more != 0};
    for (int i = 0; i < in.n; i++) {
        v->marks.rule[i] = in.rule[i];
        if (!action_text(v->marks.action[i] = string(r)))
            return -1;
    }
    v->c.loop_marks = &v->marks;
    return r->len == 0 ? 0 : -1;
}

static int thaw_part(struct ss_callrec_view *v, const struct ss_callrec_head *h,
                     enum ss_callrec_tag tag, struct reader *r)
{
    struct ss_call *c = &v->c;
    switch (tag) {
    case SS_CRP_SOCK: /* the socket whole, or by reference: one of the two */
        if (c->sock != &ss_no_socket)
            return -1;
        c->sock = &v->sock;
        return thaw_sock(r, &v->sock);
    case SS_CRP_SOCK_REF: {
        struct ss_callrec_sock_ref ref;
        if (c->sock != &ss_no_socket || take(r, &ref, sizeof ref) != 0 || r->len != 0 ||
            ref.id == 0)
            return -1;
        v->sock = (struct ss_sockinfo){.id = ref.id, .version = ref.version, .by_reference = 1};
        c->sock = &v->sock;
        return 0;
    }
    case SS_CRP_NEW_SOCK:
        c->new_sock = &v->new_sock;
        return thaw_sock(r, &v->new_sock);
    case SS_CRP_ADDR:
        /* a renderer reads no more of an address than the record holds */
        c->addr = (const struct sockaddr *)&v->addr;
        c->addrlen = (socklen_t)(r->len < c->addrlen ? r->len : c->addrlen);
        return thaw_addr(r, &v->addr);
    case SS_CRP_ADDR_OUT:
        if (!(h->flags & SS_CR_ADDRLEN_OUT))
            return -1;
        c->addr_out = (struct sockaddr *)&v->addr_out;
        v->addrlen_out = (socklen_t)(r->len < v->addrlen_out ? r->len : v->addrlen_out);
        return thaw_addr(r, &v->addr_out);
    case SS_CRP_DATA:
        return thaw_data(r, v, h->flags);
    case SS_CRP_MSG:
        return thaw_msg(r, v, h->flags);
    case SS_CRP_OPTVAL:
        c->optval = v->optval;
        return thaw_option(r, v->optval, c->optlen);
    case SS_CRP_OPTVAL_OUT:
        if (!(h->flags & SS_CR_OPTLEN_OUT))
            return -1;
        c->optval_out = v->optval_out;
        v->optlen_out = v->optlen_out < c->optlen ? v->optlen_out : c->optlen;
        return thaw_option(r, v->optval_out, v->optlen_out);
    case SS_CRP_FAULT:
        return thaw_fault(r, v);
    case SS_CRP_MARKS:
        return thaw_marks(r, v);
    default:
        return -1;
    }
}

/* The call as its writer held it, with none of its pointers believed:
 * each is set again to what the record holds, or NULL. Every pointer of
 * struct ss_call is named here (the size assertion makes a new field come
 * here first). */
_Static_assert(sizeof(struct ss_call) == 568,
               "a new field of struct ss_call: thaw it here, and in compact_fits or compact_of");

static void thaw_call(const struct ss_callrec_head *h, const struct ss_callrec_values *values,
                      struct ss_callrec_view *v)
{
    struct ss_call *c = &v->c;
    c->perform = NULL;
    c->sv = NULL;
    c->addr = NULL;
    c->addr_out = NULL;
    c->addrlen_out = NULL;
    c->cbuf = NULL;
    c->buf = NULL;
    c->iov = NULL;
    c->msg = NULL;
    c->mmsg = NULL;
    c->timeout = NULL;
    c->optval = NULL;
    c->optval_out = NULL;
    c->optlen_out = NULL;
    c->ioctl_int = NULL;
    c->offp = NULL;
    c->off_in = c->off_out = NULL;
    c->stream = NULL;
    c->wait = NULL;
    c->resolution = NULL;
    c->loop_marks = NULL;
    c->preview = NULL;
    c->preview_len = 0;
    c->fault_action = NULL;
    c->fault_note_reason = NULL;
    c->sock = c->new_sock = &ss_no_socket;
    if (c->n_closed_fds < 0)
        c->n_closed_fds = 0;
    if (c->iovcnt < 0)
        c->iovcnt = 0;
    v->who = (struct ss_callrec_who){
        .pid = h->pid, .tid = h->tid, .multithreaded = (h->flags & SS_CR_MULTITHREADED) != 0,
        .json = (h->flags & SS_CR_JSON) != 0, .loop = (h->flags & SS_CR_LOOP) != 0,
        .in_text = (h->flags & SS_CR_IN_TEXT) != 0, .in_json = (h->flags & SS_CR_IN_JSON) != 0,
        .utc_offset_s = h->utc_offset_s, .strsize = h->strsize};
    memset(&v->msg, 0, sizeof v->msg);
    v->addrlen_out = values->addrlen_out;
    v->optlen_out = values->optlen_out;
    c->addrlen_out = h->flags & SS_CR_ADDRLEN_OUT ? &v->addrlen_out : NULL;
    c->optlen_out = h->flags & SS_CR_OPTLEN_OUT ? &v->optlen_out : NULL;
    v->sv[0] = values->sv[0];
    v->sv[1] = values->sv[1];
    c->sv = h->flags & SS_CR_SV ? v->sv : NULL;
    v->ioctl_int = values->ioctl_int;
    c->ioctl_int = h->flags & SS_CR_IOCTL_INT ? &v->ioctl_int : NULL;
    v->offp = c->offset;
    v->off_in = v->off_out = c->offset;
    c->offp = h->flags & SS_CR_OFFP ? &v->offp : NULL;
    c->off_in = h->flags & SS_CR_OFF_IN ? &v->off_in : NULL;
    c->off_out = h->flags & SS_CR_OFF_OUT ? &v->off_out : NULL;
}

static int head_valid(const struct ss_callrec_head *h, size_t len)
{
    return h->kind == SS_CALLREC_KIND && h->version == SS_CALLREC_VERSION && h->size == len &&
           h->call_size == (h->flags & SS_CR_COMPACT ? sizeof(struct ss_callrec_compact)
                                                     : sizeof(struct ss_call));
}

/* The record's call into v->c, whole or compact. */
static int take_call(struct reader *r, const struct ss_callrec_head *h, struct ss_call *c)
{
    if (!(h->flags & SS_CR_COMPACT))
        return take(r, c, sizeof *c);
    struct ss_callrec_compact k;
    if (take(r, &k, sizeof k) != 0)
        return -1;
    call_of_compact(&k, c);
    return 0;
}

/* A method and an entry point the tables have; never a resolution's,
 * which the library renders itself (ss_callrec_fits). */
static int call_valid(const struct ss_call *c)
{
    /* a wait and a resolution are rendered where they were made */
    return (unsigned)c->fn < SS_FN_COUNT && (unsigned)c->op < SS_OP_COUNT &&
           !ss_op_in(c->op, SS_OPS_WAITS | SS_OPS_RESOLVE);
}

int ss_callrec_thaw(const void *rec, size_t len, struct ss_callrec_view *v)
{
    struct ss_callrec_head h;
    struct reader r = {rec, len};
    struct ss_callrec_values values = {0};
    /* the call lands in the view first: its enums are checked as numbers */
    if (take(&r, &h, sizeof h) != 0 || !head_valid(&h, len) ||
        take_call(&r, &h, &v->c) != 0 || !call_valid(&v->c)) {
        errno = EINVAL;
        return -1;
    }
    if ((h.flags & (SS_CR_ADDRLEN_OUT | SS_CR_OPTLEN_OUT | SS_CR_SV | SS_CR_IOCTL_INT)) &&
        take(&r, &values, sizeof values) != 0) {
        errno = EINVAL;
        return -1;
    }
    thaw_call(&h, &values, v);
    /* an ioctl's arg is the program's pointer: a record of a call that read
     * the int behind it holds the value (SS_CR_IOCTL_INT), which thaw_call
     * points the renderers at; without it they would read at the address
     * the record names */
    if (v->c.ioctl_int == NULL && ss_call_ioctl_reads_arg(&v->c)) {
        errno = EINVAL;
        return -1;
    }
    unsigned seen = 0;
    for (unsigned i = 0; i < h.n_parts; i++) {
        struct ss_callrec_part p;
        _Static_assert(SS_CRP_COUNT <= 32, "a bit of seen per tag");
        if (take(&r, &p, sizeof p) != 0 || p.tag == 0 || p.tag >= SS_CRP_COUNT ||
            (seen & (1u << p.tag)) != 0 || p.len > r.len) {
            errno = EINVAL;
            return -1;
        }
        seen |= 1u << p.tag;
        struct reader body = {r.p, p.len};
        size_t padded = (p.len + 7) & ~(size_t)7;
        if (thaw_part(v, &h, (enum ss_callrec_tag)p.tag, &body) != 0 ||
            skip(&r, padded < r.len ? padded : r.len) == NULL) {
            errno = EINVAL;
            return -1;
        }
    }
    /* a message whose data part was missing has no buffers to show; a
     * call a fault hit shows its action, which its fault part holds */
    if (r.len != 0 || (v->c.msg != NULL && v->msg.msg_iov == NULL && v->msg.msg_iovlen != 0) ||
        (v->c.fault != 0 && v->c.fault_action == NULL)) {
        errno = EINVAL;
        return -1;
    }
    return 0;
}
