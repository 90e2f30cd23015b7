/* sockshim: the bytes a call carried, as both formats show them (the
 * literals and the escaping of strings themselves: escape.c). */
#include "render_call.h"

#include <string.h>


/* ---- bytes (the literals and the strings themselves: escape.c) -------- */

size_t ss_bytes_copy(const struct ss_bytes *b, void *dst, size_t n)
{
    size_t done = 0;
    if (n > b->total)
        n = b->total;
    for (int i = 0; i < b->iovcnt && done < n; i++) {
        size_t take = b->iov[i].iov_len;
        if (take > n - done)
            take = n - done;
        if (b->iov[i].iov_base == NULL)
            break;
        memcpy((char *)dst + done, b->iov[i].iov_base, take);
        done += take;
    }
    return done;
}

int ss_bytes_slice(const struct ss_bytes *b, size_t from, size_t *n, struct iovec *out, int max)
{
    size_t want = *n, got = 0, skip = from;
    int cnt = 0;
    for (int i = 0; i < b->iovcnt && got < want && cnt < max; i++) {
        const char *p = b->iov[i].iov_base;
        size_t len = b->iov[i].iov_len;
        if (p == NULL)
            break;
        if (skip >= len) {
            skip -= len;
            continue;
        }
        size_t take = len - skip < want - got ? len - skip : want - got;
        out[cnt++] = (struct iovec){(void *)(p + skip), take};
        got += take;
        skip = 0;
    }
    *n = got;
    return cnt;
}


/* How many of the first n bytes of b its pieces hold: fewer than its total
 * when a receive returned more than its buffer holds (recv with MSG_TRUNC
 * returns a datagram's whole length). */
static size_t bytes_held(const struct ss_bytes *b, size_t n)
{
    size_t held = 0;
    for (int i = 0; i < b->iovcnt && held < n && b->iov[i].iov_base != NULL; i++)
        held += b->iov[i].iov_len < n - held ? b->iov[i].iov_len : n - held;
    return held;
}

void ss_out_pybytes(struct ss_out *o, const struct ss_bytes *b)
{
    size_t shown = bytes_held(b, b->total < ss_render_strsize() ? b->total : ss_render_strsize());
    ss_out_bytes_literal(o, b, shown);
    if (shown < b->total)
        ss_out_str(o, "...");
    ss_out_str(o, " (");
    ss_out_u64(o, b->total);
    ss_out_str(o, b->total == 1 ? " byte)" : " bytes)");
}


void ss_out_json_name(struct ss_out *o, const char *name)
{
    ss_out_char(o, '"');
    ss_out_str(o, name);
    ss_out_char(o, '"');
}

static void out_hex_byte(void *ctx, unsigned char c)
{
    struct ss_out *o = ctx;
    ss_out_hexbytes(o, &c, 1);
}

void ss_out_json_data(struct ss_out *o, const struct ss_bytes *b)
{
    size_t shown = b->total < ss_render_strsize() ? b->total : ss_render_strsize();
    ss_out_str(o, "{\"len\": ");
    ss_out_u64(o, b->total);
    ss_out_str(o, ", \"hex\": \"");
    ss_bytes_each(b, shown, out_hex_byte, o);
    ss_out_str(o, "\"}");
}

/* ---- what a call carried ---------------------------------------------- */

static size_t iov_total(const struct iovec *iov, int n)
{
    size_t total = 0;
    for (int i = 0; iov != NULL && i < n; i++)
        total += iov[i].iov_len;
    return total;
}

void ss_call_sent(const struct ss_call *c, struct ss_bytes *b)
{
    if (c->preview != NULL) { /* a copy of the first bytes; c->len is the size */
        ss_bytes_buf(b, c->preview, c->preview_len);
        b->total = c->len;
    } else if (c->msg != NULL)
        ss_bytes_iov(b, c->msg->msg_iov, (int)c->msg->msg_iovlen,
                     iov_total(c->msg->msg_iov, (int)c->msg->msg_iovlen));
    else if (c->iov != NULL)
        ss_bytes_iov(b, c->iov, c->iovcnt, iov_total(c->iov, c->iovcnt));
    else
        ss_bytes_buf(b, c->cbuf, c->len);
}

void ss_call_received(const struct ss_call *c, struct ss_bytes *b)
{
    size_t got = c->failed || c->ret < 0 ? 0 : (size_t)c->ret;
    if (c->msg != NULL)
        ss_bytes_iov(b, c->msg->msg_iov, (int)c->msg->msg_iovlen, got);
    else if (c->iov != NULL)
        ss_bytes_iov(b, c->iov, c->iovcnt, got);
    else {
        /* a recv with MSG_TRUNC returns a datagram's whole length: the
         * buffer holds no more than its own */
        ss_bytes_buf(b, c->buf, got < c->len ? got : c->len);
        b->total = got;
    }
}

int ss_call_on_socket(const struct ss_call *c)
{
    return c->on_socket;
}

int ss_call_int_option(const struct ss_call *c, int *value)
{
    if (c->op == SS_OP_setsockopt) {
        if (c->optval == NULL || c->optlen != sizeof(int))
            return 0;
        memcpy(value, c->optval, sizeof *value);
        return 1;
    }
    if (c->optval_out == NULL || c->optlen_out == NULL || c->failed ||
        *c->optlen_out != sizeof(int) || c->optlen != sizeof(int))
        return 0;
    memcpy(value, c->optval_out, sizeof *value);
    return 1;
}

