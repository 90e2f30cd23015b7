/* sockshim: naming, connecting and shutting down sockets. */
#include "wrap.h"

int __connect(int fd, const struct sockaddr *addr, socklen_t len);

static void perform_bind(struct ss_call *c)
{
    c->ret = ss_real.bind(c->fd, c->addr, c->addrlen);
}

SS_EXPORT int bind(int fd, __CONST_SOCKADDR_ARG addr, socklen_t len)
{
    SS_PASSTHROUGH(bind, fd, SS_SA(addr), len);
    struct ss_call c = {.fn = SS_FN_bind, .perform = perform_bind, .fd = fd,
                        .addr = SS_SA(addr), .addrlen = len};
    SS_RUN(int, c);
}

static void perform_listen(struct ss_call *c)
{
    c->ret = ss_real.listen(c->fd, c->backlog);
}

SS_EXPORT int listen(int fd, int backlog)
{
    SS_PASSTHROUGH(listen, fd, backlog);
    struct ss_call c = {.fn = SS_FN_listen, .perform = perform_listen, .fd = fd,
                        .backlog = backlog};
    SS_RUN(int, c);
}

static void perform_accept(struct ss_call *c)
{
    c->ret = ss_real.accept(c->fd, c->addr_out, c->addrlen_out);
}

SS_EXPORT int accept(int fd, __SOCKADDR_ARG addr, socklen_t *len)
{
    SS_PASSTHROUGH(accept, fd, SS_SA(addr), len);
    struct ss_call c = {.fn = SS_FN_accept, .perform = perform_accept, .fd = fd,
                        .addr_out = SS_SA(addr), .addrlen_out = len};
    SS_RUN(int, c);
}

static void perform_accept4(struct ss_call *c)
{
    c->ret = ss_real.accept4(c->fd, c->addr_out, c->addrlen_out, c->flags);
}

SS_EXPORT int accept4(int fd, __SOCKADDR_ARG addr, socklen_t *len, int flags)
{
    SS_PASSTHROUGH(accept4, fd, SS_SA(addr), len, flags);
    struct ss_call c = {.fn = SS_FN_accept4, .perform = perform_accept4, .fd = fd,
                        .addr_out = SS_SA(addr), .addrlen_out = len, .flags = flags};
    SS_RUN(int, c);
}

/* connect() and glibc's exported alias __connect(). */
#define SS_WRAP_CONNECT(name, addr_type, addr_expr)                            \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd, c->addr, c->addrlen);                     \
    }                                                                          \
    SS_EXPORT int name(int fd, addr_type addr, socklen_t len)                  \
    {                                                                          \
        SS_PASSTHROUGH(name, fd, addr_expr, len);                              \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = fd, .addr = addr_expr, .addrlen = len};      \
        SS_RUN(int, c);                                                        \
    }
SS_WRAP_CONNECT(connect, __CONST_SOCKADDR_ARG, SS_SA(addr))
SS_WRAP_CONNECT(__connect, const struct sockaddr *, addr)

static void perform_shutdown(struct ss_call *c)
{
    c->ret = ss_real.shutdown(c->fd, c->how);
}

SS_EXPORT int shutdown(int fd, int how)
{
    SS_PASSTHROUGH(shutdown, fd, how);
    struct ss_call c = {.fn = SS_FN_shutdown, .perform = perform_shutdown, .fd = fd,
                        .how = how};
    SS_RUN(int, c);
}

/* getsockname() and getpeername() */
#define SS_WRAP_NAME(name)                                                     \
    static void perform_##name(struct ss_call *c)                              \
    {                                                                          \
        c->ret = ss_real.name(c->fd, c->addr_out, c->addrlen_out);             \
    }                                                                          \
    SS_EXPORT int name(int fd, __SOCKADDR_ARG addr, socklen_t *len)            \
    {                                                                          \
        SS_PASSTHROUGH(name, fd, SS_SA(addr), len);                            \
        struct ss_call c = {.fn = SS_FN_##name, .perform = perform_##name,     \
                            .fd = fd, .addr_out = SS_SA(addr),                 \
                            .addrlen_out = len};                               \
        SS_RUN(int, c);                                                        \
    }
SS_WRAP_NAME(getsockname)
SS_WRAP_NAME(getpeername)
