/* sockshim: socket options. */
#include "wrap.h"

static void perform_getsockopt(struct ss_call *c)
{
    c->ret = ss_real.getsockopt(c->fd, c->level, c->optname, c->optval_out, c->optlen_out);
}

SS_EXPORT int getsockopt(int fd, int level, int optname, void *optval, socklen_t *optlen)
{
    SS_PASSTHROUGH(getsockopt, fd, level, optname, optval, optlen);
    /* optlen keeps the room offered: the kernel overwrites it */
    struct ss_call c = {.fn = SS_FN_getsockopt, .perform = perform_getsockopt, .fd = fd,
                        .level = level, .optname = optname, .optval_out = optval,
                        .optlen_out = optlen, .optlen = optlen != NULL ? *optlen : 0};
    SS_RUN(int, c);
}

static void perform_setsockopt(struct ss_call *c)
{
    c->ret = ss_real.setsockopt(c->fd, c->level, c->optname, c->optval, c->optlen);
}

SS_EXPORT int setsockopt(int fd, int level, int optname, const void *optval, socklen_t optlen)
{
    SS_PASSTHROUGH(setsockopt, fd, level, optname, optval, optlen);
    struct ss_call c = {.fn = SS_FN_setsockopt, .perform = perform_setsockopt, .fd = fd,
                        .level = level, .optname = optname, .optval = optval,
                        .optlen = optlen};
    SS_RUN(int, c);
}
