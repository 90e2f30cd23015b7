/* libFuzzer harness: the call record (shim/common/call_record.h), which the
 * library freezes from a call and the command's drain thaws from the run's
 * ring, where any traced process may have written anything.
 *
 * The first input byte picks a mode:
 *
 * even: raw. The rest of the input is a record, given to ss_callrec_thaw()
 *   (from an exact-size copy, so that ASan sees a read past its end); a
 *   record it accepts is rendered as the drain renders it: text, and JSON
 *   with ss_json_call() or ss_json_loop() as its `who` says, with its
 *   strsize and rule text. Nothing a record says may make a renderer read
 *   outside the record and the view.
 *
 * odd: round trip. The rest of the input builds a plausible struct ss_call
 *   (each pointer present or not, pointing at buffers of its own, each
 *   allocated to exactly its size, with lengths that stay within them) and
 *   the `who` of its record. A call that fits is frozen; the pieces, put
 *   end to end, must make a record of the length freezing said, a multiple
 *   of 8, that thawing accepts; and the thawed call must render exactly as
 *   the call did, in text and in JSON. A record is thawed twice, into views
 *   filled with different bytes first, so that a field thawing leaves
 *   unset shows up as a difference too.
 *
 * Every rendering is done into buffers of several sizes (0, 1, 7, the size
 * it needs less one, and exactly that), each allocated to exactly its
 * size: the length an ss_out reports must not depend on its capacity, what
 * fits must be a prefix of the whole, and a line is one line.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "call_record.h"
#include "fuzz.h"
#include "stubs.h"

/* ---- rendering into buffers of every size ------------------------------- */

typedef void render_fn(struct ss_out *o, const struct ss_call *c);

/* ss_json_sock() keeps the object of the last socket it wrote, keyed by its
 * id and version: rendering the call and then its thawed copy would show
 * the first's object twice. Writing another socket first empties it. */
static void forget_sock_cache(const struct ss_call *c)
{
    struct ss_sockinfo other = {.version = 0x5eed};
    for (other.id = 1; other.id == c->sock->id || other.id == c->new_sock->id; other.id++)
        ;
    char buf[512];
    struct ss_out o;
    ss_out_init(&o, buf, sizeof buf);
    ss_json_sock(&o, &other);
}

struct rendering {
    render_fn *fn;
    const struct ss_call *c;
};

static void render_one(struct ss_out *o, const void *arg)
{
    const struct rendering *r = arg;
    r->fn(o, r->c);
}

/* c's line at every buffer size (fuzz_render_sizes); returns the whole
 * line (malloc'd, NUL added) and its length. */
static char *render(render_fn *fn, const struct ss_call *c, size_t *len)
{
    forget_sock_cache(c);
    struct rendering r = {fn, c};
    size_t need;
    char *full = fuzz_render_sizes(render_one, &r, &need);
    /* one line: a newline at its end and nowhere else */
    CHECK(need > 0 && full[need - 1] == '\n');
    CHECK(memchr(full, '\n', need - 1) == NULL);
    *len = need;
    return full;
}

/* The lines of c, text and JSON (call or loop, as who says), rendered
 * with who's strsize and rule text as the render environment. */
struct lines {
    char *text, *json;
    size_t text_len, json_len;
};

static void render_lines(const struct ss_call *c, const struct ss_callrec_who *who,
                         struct lines *out)
{
    fuzz_strsize = who->strsize;
    fuzz_rule_text = who->rule_text != NULL ? who->rule_text : "";
    out->text = render(ss_text_call, c, &out->text_len);
    out->json = render(who->loop ? ss_json_loop : ss_json_call, c, &out->json_len);
    CHECK(out->json[0] == '{');
    fuzz_strsize = SS_STRSIZE_DEFAULT;
    fuzz_rule_text = "";
}

static void free_lines(struct lines *l)
{
    free(l->text);
    free(l->json);
}

static void check_same_lines(const struct lines *a, const struct lines *b)
{
    if (a->text_len != b->text_len || memcmp(a->text, b->text, a->text_len) != 0 ||
        a->json_len != b->json_len || memcmp(a->json, b->json, a->json_len) != 0)
        fprintf(stderr, "call:    %s%s\nthawed:  %s%s\n", a->text, a->json, b->text, b->json);
    CHECK(a->text_len == b->text_len && memcmp(a->text, b->text, a->text_len) == 0);
    CHECK(a->json_len == b->json_len && memcmp(a->json, b->json, a->json_len) == 0);
}

/* The text renderer shows the data of each control header CMSG_FIRSTHDR
 * and CMSG_NXTHDR give it for as many bytes as its cmsg_len says, but
 * neither checks the cmsg_len of the header it returns against
 * msg_controllen (glibc's CMSG_NXTHDR checks the one it steps over): a
 * header that claims more than the control bytes hold is read past them.
 * The text renderer shows no more than the control bytes hold (a finding
 * of this harness: corpus/callrec/raw-cmsg-len-overrun), and a frozen
 * call keeps them all, so both renderings agree either way; the
 * generator still keeps its headers within their bytes, as a kernel's
 * are. Returns the first header that claims more, or NULL. */
static struct cmsghdr *cmsg_overrun(void *control, size_t len)
{
    struct msghdr m = {.msg_control = control, .msg_controllen = len};
    if (control == NULL)
        return NULL;
    for (struct cmsghdr *cm = CMSG_FIRSTHDR(&m); cm != NULL; cm = CMSG_NXTHDR(&m, cm))
        if (cm->cmsg_len > (size_t)((unsigned char *)control + len - (unsigned char *)cm))
            return cm;
    return NULL;
}

/* ---- raw: a record from anywhere ------------------------------------------ */

static void raw(const uint8_t *data, size_t size)
{
    unsigned char *rec = malloc(size > 0 ? size : 1);
    struct ss_callrec_view *v = malloc(sizeof *v);
    CHECK(rec != NULL && v != NULL);
    memcpy(rec, data, size);
    if (ss_callrec_thaw(rec, size, v) == 0) {
        /* the drain refuses a strsize beyond the option's limit
         * (render_record.c); the renderers are tried with any */
        struct lines l;
        render_lines(&v->c, &v->who, &l);
        free_lines(&l);
    }
    free(v);
    free(rec);
}

/* ---- round trip: a call from the input ------------------------------------- */

/* The input, read from the front; past its end every read gives zeros. */
struct gen {
    const uint8_t *p;
    size_t n;
    void *owned[96]; /* the call's buffers, freed after the check */
    int n_owned;
};

static uint64_t take(struct gen *g, size_t bytes)
{
    uint64_t v = 0;
    for (size_t i = 0; i < bytes && g->n > 0; i++, g->p++, g->n--)
        v |= (uint64_t)g->p[0] << (8 * i);
    return v;
}

static uint8_t u8(struct gen *g)
{
    return (uint8_t)take(g, 1);
}

static uint32_t u32(struct gen *g)
{
    return (uint32_t)take(g, 4);
}

static int32_t i32(struct gen *g)
{
    return (int32_t)u32(g);
}

static uint64_t u64(struct gen *g)
{
    return take(g, 8);
}

/* A small number most of the time (the input's byte, sign-extended), a
 * full int when the byte says so: fds, counts and errnos are small. */
static int small_int(struct gen *g)
{
    int8_t b = (int8_t)u8(g);
    return b == -128 ? i32(g) : b;
}

static void *own(struct gen *g, size_t n)
{
    CHECK(g->n_owned < (int)(sizeof g->owned / sizeof g->owned[0]));
    void *p = malloc(n);
    CHECK(p != NULL || n == 0);
    g->owned[g->n_owned++] = p;
    return p;
}

/* A buffer of up to max bytes of the input (fewer when the input ends),
 * allocated to exactly its length. */
static void *carve(struct gen *g, size_t max, size_t *len)
{
    size_t want = (size_t)(take(g, 2) % (max + 1));
    size_t n = want < g->n ? want : g->n;
    void *p = own(g, n);
    if (n > 0)
        memcpy(p, g->p, n);
    g->p += n;
    g->n -= n;
    *len = n;
    return p;
}

/* A NUL-ended string of up to 48 bytes of the input (any bytes: it ends at
 * the first NUL). */
static const char *string(struct gen *g)
{
    size_t n;
    const char *bytes = carve(g, 48, &n);
    char *s = own(g, n + 1);
    memcpy(s, bytes, n);
    s[n] = '\0';
    return s;
}

/* A fault's action as a rule has it (rules.c writes a term and its
 * checked value): printable ASCII, up to 63 bytes. */
static const char *action(struct gen *g)
{
    size_t n;
    const unsigned char *bytes = carve(g, 63, &n);
    char *s = own(g, n + 1);
    for (size_t i = 0; i < n; i++)
        s[i] = (char)(0x20 + bytes[i] % 0x5f);
    s[n] = '\0';
    return s;
}

/* A length within a buffer of n bytes. */
static size_t within(struct gen *g, size_t n)
{
    return (size_t)(take(g, 2) % (n + 1));
}

static int receives(enum ss_op op)
{
    return ss_op_in(op, SS_OPS_RECVS);
}

static const struct ss_sockinfo *sockinfo(struct gen *g)
{
    if (!(u8(g) & 1))
        return &ss_no_socket;
    struct ss_sockinfo *s = own(g, sizeof *s);
    memset(s, 0, sizeof *s);
    /* a snapshot of no socket is all zero (model.c): one with an id 0 and
     * anything else is none the model makes */
    s->id = u64(g);
    s->id += s->id == 0;
    s->version = u32(g);
    s->family = small_int(g);
    s->type = small_int(g);
    s->protocol = small_int(g);
    s->state = u32(g);
    s->nonblocking = u8(g) & 1;
    size_t n;
    const void *a = carve(g, sizeof s->laddr.sa, &n);
    memcpy(&s->laddr.sa, a, n);
    s->laddr.len = (socklen_t)within(g, n);
    a = carve(g, sizeof s->raddr.sa, &n);
    memcpy(&s->raddr.sa, a, n);
    s->raddr.len = (socklen_t)within(g, n);
    s->bytes_sent = u64(g);
    s->bytes_received = u64(g);
    return s;
}

/* An iovec array of up to SS_CALLREC_MAX_PIECES, each buffer its own (or
 * NULL: writev takes them, and a program may pass one). */
static struct iovec *iovecs(struct gen *g, size_t *count)
{
    size_t n = u8(g) % (SS_CALLREC_MAX_PIECES + 1);
    struct iovec *iov = own(g, n * sizeof *iov);
    for (size_t i = 0; i < n; i++) {
        uint8_t how = u8(g);
        if (how % 8 == 0) {
            iov[i] = (struct iovec){NULL, how / 8 % 4};
        } else {
            size_t len;
            void *p = carve(g, 256, &len);
            iov[i] = (struct iovec){p, how % 8 == 1 ? within(g, len) : len};
        }
    }
    *count = n;
    return iov;
}

/* Ancillary data: any bytes, but headers that stay within them
 * (cmsg_overrun): one that claims more claims what is left instead. */
static void fit_cmsgs(void *control, size_t len)
{
    struct cmsghdr *cm;
    while ((cm = cmsg_overrun(control, len)) != NULL)
        cm->cmsg_len = (size_t)((unsigned char *)control + len - (unsigned char *)cm);
}

static struct msghdr *message(struct gen *g)
{
    struct msghdr *m = own(g, sizeof *m);
    memset(m, 0, sizeof *m);
    uint8_t bits = u8(g);
    size_t n;
    if (bits & 1) {
        m->msg_name = carve(g, 128, &n);
        m->msg_namelen = (socklen_t)within(g, n);
    } else {
        m->msg_namelen = u8(g) & 0x1f; /* a length without a name */
    }
    if (bits & 2) {
        m->msg_iov = iovecs(g, &n);
        m->msg_iovlen = n;
    }
    if (bits & 4) {
        /* malloc'd, so aligned as a cmsghdr must be */
        m->msg_control = carve(g, SS_CALLREC_MAX_CONTROL, &n);
        m->msg_controllen = within(g, n);
        fit_cmsgs(m->msg_control, m->msg_controllen);
    } else if (bits & 8) {
        m->msg_controllen = u8(g) % 64; /* a length without a buffer */
    }
    m->msg_flags = i32(g);
    return m;
}

static struct ss_fault_marks *marks(struct gen *g)
{
    struct ss_fault_marks *m = own(g, sizeof *m);
    memset(m, 0, sizeof *m);
    uint8_t b = u8(g);
    m->n = b % (SS_LOOP_MARKS + 1); /* the tracer keeps the first ones */
    m->more = b >> 7;
    for (int i = 0; i < m->n; i++) {
        m->rule[i] = small_int(g);
        m->action[i] = u8(g) & 1 ? action(g) : NULL;
    }
    return m;
}

/* The ioctl requests whose argument points at an int (call.c). */
static const unsigned long int_requests[] = {FIONREAD, SIOCOUTQ, SIOCATMARK, FIONBIO};

/* c as a wrapper of send, recv, read or write and the pipeline leave a
 * call no fault hit: every field the compact record leaves out zero (or
 * as thawing sets it), so that the record takes its compact form. */
static void as_plain_transfer(struct ss_call *c)
{
    if (c->iov != NULL || c->msg != NULL || c->preview != NULL)
        return; /* one buffer, or none */
    struct ss_call plain = {
        .fn = c->fn, .via_syscall = c->via_syscall, .op = receives(c->op) ? SS_OP_recv
                                                                          : SS_OP_send,
        .fd = c->fd, .cbuf = c->cbuf, .buf = c->buf, .len = c->len, .buflen = c->buflen,
        .flags = c->flags, .ret = c->ret, .err = c->err, .failed = c->failed,
        .caller = c->caller, .on_socket = c->on_socket, .loop = c->loop,
        .loop_calls = c->loop_calls, .loop_faults = c->loop_faults, .loop_done = c->loop_done,
        .fault_flipped = c->fault_flipped, .fault_reset = c->fault_reset,
        .fault_ended = c->fault_ended, .short_skipped = c->short_skipped,
        .t_start_ns = c->t_start_ns, .t_end_ns = c->t_end_ns, .sock = c->sock,
        .new_sock = &ss_no_socket};
    *c = plain;
}

static void make_call(struct gen *g, struct ss_call *c)
{
    memset(c, 0, sizeof *c);
    c->fn = (enum ss_fn)(take(g, 2) % SS_FN_COUNT);
    c->op = (enum ss_op)(u8(g) % SS_OP_COUNT);
    uint32_t has = u32(g); /* which pointers the call has */
    c->via_syscall = has >> 31;
    c->fd = small_int(g);
    c->domain = small_int(g);
    c->type = small_int(g);
    c->protocol = small_int(g);
    c->offset = (off_t)u64(g);
    c->vlen = u32(g);
    c->flags = i32(g);
    c->level = small_int(g);
    c->optname = small_int(g);
    c->how = small_int(g);
    c->backlog = small_int(g);
    c->cmd = small_int(g);
    uint8_t req = u8(g);
    c->request = req < 4 * 32 ? int_requests[req % 4] : u32(g);
    c->arg = (long)u64(g);
    c->newfd = small_int(g);
    c->other_fd = small_int(g);
    c->count = u64(g);
    c->first = u32(g);
    c->last = u32(g);
    c->len = u64(g) % 70000; /* set again below for a buffer */
    c->buflen = u64(g);
    c->ret = small_int(g) == 0 ? (long)u64(g) : (long)(u32(g) % 70000) - 1;
    c->err = small_int(g);
    c->failed = (has >> 30) & 1;
    c->caller = (uintptr_t)u64(g);
    c->on_socket = (has >> 29) & 1;
    c->loop = u8(g) & 1 ? u64(g) : 0;
    c->loop_calls = u8(g) & 1 ? u32(g) : 0;
    c->loop_faults = u8(g) & 1 ? u32(g) : 0;
    c->loop_done = u64(g);
    uint8_t rule = u8(g);
    c->fault = rule < 128 ? 0 : rule - 127; /* 1-based, or 0 */
    c->fault_draw = u64(g);
    c->fault_limit = u8(g) & 1 ? u64(g) : 0;
    c->fault_flipped = small_int(g);
    c->fault_reset = (has >> 28) & 1;
    c->fault_ended = (has >> 27) & 1;
    c->short_skipped = (has >> 26) & 1;
    c->fault_note = small_int(g);
    c->fault_note_kind = small_int(g);
    c->t_start_ns = u64(g);
    c->t_end_ns = u64(g);
    c->new_fd = small_int(g);
    c->n_closed_fds = u8(g) % 20; /* a count: may exceed the array, is never negative */
    for (int i = 0; i < 8; i++)
        c->closed_fds[i] = small_int(g);
    c->prior_fd_was_socket = (has >> 25) & 1;
    c->fd_released = (has >> 24) & 1;

    size_t n;
    if (has & (1u << 0)) {
        int *sv = own(g, 2 * sizeof *sv);
        sv[0] = small_int(g);
        sv[1] = small_int(g);
        c->sv = sv;
    }
    if (has & (1u << 1)) {
        c->addr = carve(g, 128, &n);
        c->addrlen = (socklen_t)within(g, n);
    } else {
        c->addrlen = u8(g) & 0x1f;
    }
    if (has & (1u << 2))
        c->addr_out = carve(g, 128, &n);
    else
        n = 128; /* no buffer: the length is anything a buffer could take */
    if (has & (1u << 3)) {
        socklen_t *lenp = own(g, sizeof *lenp);
        *lenp = (socklen_t)within(g, n);
        c->addrlen_out = lenp;
    }

    /* The data: the library's calls carry one of a buffer, an iovec array,
     * a message, or (a loop's record, which has nothing else) a copy of
     * its first bytes. A rebuilt loop of a message's or an iovec's sends
     * keeps its first call's and has a buffer besides (trace.c). */
    switch ((has >> 4) % 8) {
    case 1:
    case 2: {
        void *p = carve(g, 1024, &n);
        c->len = within(g, n);
        if (receives(c->op) != ((has >> 7) & 1)) /* mostly as the method has it */
            c->buf = p;
        else
            c->cbuf = p;
        break;
    }
    case 3:
        c->iov = iovecs(g, &n);
        c->iovcnt = (int)n;
        break;
    case 4:
        c->msg = message(g);
        break;
    case 5:
        c->preview = carve(g, 256, &c->preview_len);
        c->preview_len = within(g, c->preview_len);
        break;
    case 6:
    case 7:
        if ((has >> 7) & 1) {
            c->msg = message(g);
        } else {
            c->iov = iovecs(g, &n);
            c->iovcnt = (int)n;
        }
        c->cbuf = carve(g, 1024, &n);
        c->len = within(g, n);
        break;
    default:
        break;
    }

    if (has & (1u << 8)) {
        c->optval = carve(g, SS_CALLREC_MAX_OPT, &n);
        c->optlen = (socklen_t)within(g, n);
    } else {
        c->optlen = u8(g) % 16;
    }
    if (has & (1u << 9)) {
        c->optval_out = carve(g, SS_CALLREC_MAX_OPT, &n);
        if (c->optval == NULL || c->optlen > n) /* the one optlen is both buffers' */
            c->optlen = (socklen_t)within(g, n);
    }
    if (has & (1u << 10)) {
        socklen_t *lenp = own(g, sizeof *lenp);
        *lenp = (socklen_t)within(g, c->optlen); /* what getsockopt wrote back */
        c->optlen_out = lenp;
    }
    if (c->fn == SS_FN_ioctl && (c->request == FIONREAD || c->request == SIOCOUTQ ||
                                 c->request == SIOCATMARK || c->request == FIONBIO)) {
        /* the int it reads or writes (call.c reads it), or no argument */
        if (has & (1u << 11)) {
            int *value = own(g, sizeof *value);
            *value = small_int(g);
            c->arg = (long)(uintptr_t)value;
        } else {
            c->arg = 0;
        }
    }
    if (has & (1u << 12)) {
        off_t *p = own(g, sizeof *p);
        *p = c->offset;
        c->offp = p;
    }
    if (has & (1u << 13)) {
        loff_t *p = own(g, sizeof *p);
        *p = c->offset;
        c->off_in = p;
    }
    if (has & (1u << 14)) {
        loff_t *p = own(g, sizeof *p);
        *p = c->offset;
        c->off_out = p;
    }
    /* a call a fault hit has its action's text (fault.c) */
    if (c->fault != 0 || (has & (1u << 15)))
        c->fault_action = action(g);
    if (has & (1u << 16))
        c->loop_marks = marks(g);
    c->sock = sockinfo(g);
    c->new_sock = sockinfo(g);
    if ((has >> 23) & 1)
        as_plain_transfer(c);
}

static void make_who(struct gen *g, struct ss_callrec_who *who)
{
    uint8_t bits = u8(g);
    *who = (struct ss_callrec_who){
        .pid = i32(g), .tid = i32(g), .multithreaded = bits & 1, .json = (bits >> 1) & 1,
        .loop = (bits >> 2) & 1, .utc_offset_s = i32(g), .strsize = take(g, 2) % 4097};
    /* the library sets a rule's text only for a call a fault hit */
    who->rule_text = bits & 8 ? string(g) : NULL;
}

static void check_who(const struct ss_callrec_who *a, const struct ss_callrec_who *b,
                      const struct ss_call *c)
{
    CHECK(a->pid == b->pid && a->tid == b->tid);
    CHECK(a->multithreaded == b->multithreaded && a->json == b->json && a->loop == b->loop);
    CHECK(a->utc_offset_s == b->utc_offset_s && a->strsize == b->strsize);
    if (c->fault != 0)
        CHECK(strcmp(a->rule_text != NULL ? a->rule_text : "", b->rule_text) == 0);
}

static void round_trip(const uint8_t *data, size_t size)
{
    struct gen g = {data, size, {0}, 0};
    struct ss_call c;
    struct ss_callrec_who who;
    make_who(&g, &who);
    make_call(&g, &c);

    struct ss_callrec_room *room = malloc(sizeof *room);
    CHECK(room != NULL);
    struct iovec iov[SS_CALLREC_IOV_MAX];
    size_t len = 0;
    int n = ss_callrec_fits(&c) ? ss_callrec_freeze(&c, &who, room, iov, &len) : -1;
    if (n >= 0) {
        CHECK(n >= 1 && n <= SS_CALLREC_IOV_MAX);
        size_t total = 0;
        for (int i = 0; i < n; i++)
            total += iov[i].iov_len;
        CHECK(total == len);
        CHECK(len % 8 == 0);
        unsigned char *rec = malloc(len);
        CHECK(rec != NULL);
        for (size_t i = 0, at = 0; i < (size_t)n; at += iov[i].iov_len, i++)
            memcpy(rec + at, iov[i].iov_base, iov[i].iov_len);

        struct lines want;
        render_lines(&c, &who, &want);
        for (int fill = 0; fill < 2; fill++) {
            struct ss_callrec_view *v = malloc(sizeof *v);
            CHECK(v != NULL);
            memset(v, fill ? 0xa5 : 0, sizeof *v);
            CHECK(ss_callrec_thaw(rec, len, v) == 0);
            check_who(&who, &v->who, &c);
            struct lines got;
            render_lines(&v->c, &v->who, &got);
            check_same_lines(&want, &got);
            free_lines(&got);
            free(v);
        }
        free_lines(&want);
        free(rec);
    }
    free(room);
    for (int i = 0; i < g.n_owned; i++)
        free(g.owned[i]);
}

/* ---- seeds ------------------------------------------------------------------ */

/* The seeds of corpus/callrec are records the library would write: the
 * harness run with FUZZ_CALLREC_SEEDS=DIR freezes a few calls, writes each
 * record to DIR as a raw input (0, then the record) and as a round trip's
 * (1, then the same bytes as the generator's input), and exits. A record
 * holds the build's struct ss_call, so they are made by a build, not by
 * make_corpus.py. */
static void write_seed(const char *dir, const char *name, int mode, const struct ss_call *c,
                       const struct ss_callrec_who *who)
{
    struct ss_callrec_room room;
    struct iovec iov[SS_CALLREC_IOV_MAX];
    size_t len;
    CHECK(ss_callrec_fits(c));
    int n = ss_callrec_freeze(c, who, &room, iov, &len);
    CHECK(n > 0);
    char path[4096];
    snprintf(path, sizeof path, "%s/%s-%s", dir, mode ? "roundtrip" : "raw", name);
    FILE *f = fopen(path, "wb");
    CHECK(f != NULL);
    CHECK(fputc(mode, f) == mode);
    for (int i = 0; i < n; i++)
        CHECK(fwrite(iov[i].iov_base, 1, iov[i].iov_len, f) == iov[i].iov_len);
    CHECK(fclose(f) == 0);
}

static void write_seeds(const char *dir)
{
    static const char data[] = "GET / HTTP/1.1\r\nHost: localhost\r\n\r\n";
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80),
                              .sin_addr.s_addr = htonl(0x7f000001)};
    struct ss_sockinfo sock = {.id = 1, .version = 3, .family = AF_INET, .type = SOCK_STREAM,
                               .state = SS_ST_CONNECTED, .bytes_sent = 38};
    sock.laddr.len = sock.raddr.len = sizeof sin;
    memcpy(&sock.laddr.sa, &sin, sizeof sin);
    memcpy(&sock.raddr.sa, &sin, sizeof sin);
    struct ss_callrec_who text = {.pid = 4242, .tid = 4242, .strsize = SS_STRSIZE_DEFAULT};
    struct ss_callrec_who json = text;
    json.json = 1;
    struct ss_call base = {.fd = 3, .on_socket = 1, .fault_flipped = -1, .sock = &sock,
                           .new_sock = &ss_no_socket, .t_start_ns = 1000, .t_end_ns = 5120};

    struct ss_call c = base;
    c.fn = SS_FN_connect, c.op = SS_OP_connect;
    c.addr = (const struct sockaddr *)&sin, c.addrlen = sizeof sin;
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "connect", mode, &c, &text);

    c = base;
    c.fn = SS_FN_send, c.op = SS_OP_send;
    c.cbuf = data, c.len = sizeof data - 1, c.ret = (long)c.len;
    c.fault = 1, c.fault_action = "short=1", c.fault_limit = 0;
    struct ss_callrec_who faulted = json;
    faulted.rule_text = "send:short=1";
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "send-fault", mode, &c, &faulted);

    /* a receive into three buffers that got less than they hold */
    char a[8], b[16], d[sizeof data];
    memcpy(a, data, sizeof a), memcpy(b, data + 8, sizeof b), memcpy(d, data, sizeof d);
    struct iovec pieces[3] = {{a, sizeof a}, {b, sizeof b}, {d, sizeof d}};
    c = base;
    c.fn = SS_FN_readv, c.op = SS_OP_recv;
    c.iov = pieces, c.iovcnt = 3, c.ret = 20;
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "readv", mode, &c, &text);

    /* recvmsg with a name and an fd passed */
    union {
        struct cmsghdr h;
        unsigned char room[CMSG_SPACE(2 * sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    control.h.cmsg_level = SOL_SOCKET, control.h.cmsg_type = SCM_RIGHTS;
    control.h.cmsg_len = CMSG_LEN(2 * sizeof(int));
    int fds[2] = {5, 6};
    memcpy(CMSG_DATA(&control.h), fds, sizeof fds);
    struct sockaddr_un sun = {.sun_family = AF_UNIX, .sun_path = "/run/app.sock"};
    struct msghdr m = {.msg_name = &sun, .msg_namelen = sizeof sun, .msg_iov = pieces,
                       .msg_iovlen = 2, .msg_control = &control,
                       .msg_controllen = sizeof control, .msg_flags = MSG_CTRUNC};
    c = base;
    c.fn = SS_FN_recvmsg, c.op = SS_OP_recvmsg;
    c.msg = &m, c.len = sizeof control, c.ret = 12;
    for (int mode = 0; mode < 2; mode++) {
        write_seed(dir, "recvmsg-text", mode, &c, &text);
        write_seed(dir, "recvmsg-json", mode, &c, &json);
    }

    /* accept: the peer's address and the new socket */
    struct ss_sockinfo accepted = sock;
    accepted.id = 2;
    socklen_t addrlen = sizeof sin;
    struct sockaddr_in peer = sin;
    c = base;
    c.fn = SS_FN_accept4, c.op = SS_OP_accept, c.flags = SOCK_CLOEXEC;
    c.addr_out = (struct sockaddr *)&peer, c.addrlen_out = &addrlen;
    c.ret = 4, c.new_fd = 4, c.new_sock = &accepted;
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "accept4", mode, &c, &json);

    /* getsockopt of an int, ioctl(FIONREAD), socketpair, sendfile */
    int one = 1, pending = 42, sv[2] = {3, 4};
    socklen_t optlen_out = sizeof one;
    off_t off = 100;
    c = base;
    c.fn = SS_FN_getsockopt, c.op = SS_OP_getsockopt, c.level = SOL_SOCKET;
    c.optname = SO_REUSEADDR, c.optval_out = &one, c.optlen = sizeof one;
    c.optlen_out = &optlen_out;
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "getsockopt", mode, &c, &text);
    c = base;
    c.fn = SS_FN_ioctl, c.op = SS_OP_ioctl, c.request = FIONREAD;
    c.arg = (long)(uintptr_t)&pending;
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "ioctl-fionread", mode, &c, &text);
    c.failed = 1, c.err = EBADF, c.ret = -1; /* wrote nothing: the record has no value */
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "ioctl-fionread-failed", mode, &c, &text);
    c = base;
    c.fn = SS_FN_socketpair, c.op = SS_OP_socketpair, c.fd = -1;
    c.domain = AF_UNIX, c.type = SOCK_STREAM, c.sv = sv;
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "socketpair", mode, &c, &json);
    c = base;
    c.fn = SS_FN_sendfile, c.op = SS_OP_sendfile, c.other_fd = 7, c.offset = off;
    c.offp = &off, c.count = 4096, c.ret = 4096;
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "sendfile", mode, &c, &text);

    /* a sendall the tracer rebuilt from a loop: a copy of its first bytes,
     * the rules that hit it; as a JSON loop record too */
    struct ss_fault_marks marks = {.n = 2, .rule = {1, 2}, .action = {"short=1", "error=EINTR"}};
    c = base;
    c.fn = SS_FN_send, c.op = SS_OP_sendall, c.len = 1 << 20, c.ret = 1 << 20;
    c.preview = data, c.preview_len = sizeof data - 1;
    c.loop = 9, c.loop_calls = 5, c.loop_faults = 2, c.loop_marks = &marks;
    c.loop_done = 1 << 20;
    struct ss_callrec_who loop = json;
    loop.loop = 1;
    for (int mode = 0; mode < 2; mode++) {
        write_seed(dir, "sendall-text", mode, &c, &text);
        write_seed(dir, "sendall-loop", mode, &c, &loop);
    }
    c.failed = 1, c.err = EPIPE, c.ret = -1, c.loop_done = 65536;
    for (int mode = 0; mode < 2; mode++)
        write_seed(dir, "sendall-epipe", mode, &c, &text);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    const char *dir = getenv("FUZZ_CALLREC_SEEDS");
    if (dir != NULL) {
        write_seeds(dir);
        exit(0);
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    if (data[0] % 2 == 0)
        raw(data + 1, size - 1);
    else
        round_trip(data + 1, size - 1);
    return 0;
}
