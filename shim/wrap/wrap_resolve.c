/* sockshim: name resolution, the socket module's functions.
 *
 * Each wrapper keeps what the program asked and got in a struct
 * ss_resolution on its stack (call.h); the perform functions make the
 * real call from it. A fault answers in place of the real call
 * (ss_fault_fail_resolution, shim/fault/fault.c), with each function's
 * own convention.
 */
#include <netdb.h>

#include "wrap.h"

static struct ss_resolution *res_of(struct ss_call *c)
{
    return c->resolution;
}

/* Runs the call through the pipeline. */
#define SS_RUN_RESOLUTION(call)                                                \
    do {                                                                       \
        (call).caller = (uintptr_t)__builtin_return_address(0);                \
        ss_run(&(call));                                                       \
    } while (0)

/* ---- getaddrinfo, getnameinfo ------------------------------------------- */

static void perform_getaddrinfo(struct ss_call *c)
{
    struct ss_resolution *r = res_of(c);
    r->gai = ss_real.getaddrinfo(r->host, r->service, r->hints, r->res);
    c->ret = r->gai;
}

SS_EXPORT int getaddrinfo(const char *node, const char *service, const struct addrinfo *hints,
                          struct addrinfo **res)
{
    SS_PASSTHROUGH(getaddrinfo, node, service, hints, res);
    struct ss_resolution r = {.host = node, .service = service, .hints = hints, .res = res};
    struct ss_call c = {.fn = SS_FN_getaddrinfo, .perform = perform_getaddrinfo, .fd = -1,
                        .resolution = &r};
    SS_RUN_RESOLUTION(c);
    return r.gai;
}

static void perform_getnameinfo(struct ss_call *c)
{
    struct ss_resolution *r = res_of(c);
    r->gai = ss_real.getnameinfo(c->addr, c->addrlen, r->host_out, r->host_outlen, r->serv_out,
                                 r->serv_outlen, c->flags);
    c->ret = r->gai;
}

SS_EXPORT int getnameinfo(const struct sockaddr *sa, socklen_t salen, char *host,
                          socklen_t hostlen, char *serv, socklen_t servlen, int flags)
{
    SS_PASSTHROUGH(getnameinfo, sa, salen, host, hostlen, serv, servlen, flags);
    struct ss_resolution r = {.host_out = host, .host_outlen = hostlen, .serv_out = serv,
                              .serv_outlen = servlen};
    struct ss_call c = {.fn = SS_FN_getnameinfo, .perform = perform_getnameinfo, .fd = -1,
                        .addr = sa, .addrlen = salen, .flags = flags, .resolution = &r};
    SS_RUN_RESOLUTION(c);
    return r.gai;
}

/* ---- gethostbyname, gethostbyaddr ----------------------------------------- */

/* What a call that returns a hostent (or NULL and h_errno) got. */
static void took_hostent(struct ss_call *c, struct hostent *h)
{
    struct ss_resolution *r = res_of(c);
    r->hostent = h;
    r->herr = h == NULL ? h_errno : 0;
    c->ret = h == NULL ? -1 : 0;
}

/* ... and a _r form, which returns an error number and answers through
 * *result and *h_errnop. */
static void took_hostent_r(struct ss_call *c, int ret)
{
    struct ss_resolution *r = res_of(c);
    r->r_ret = ret;
    r->hostent = r->result != NULL ? *r->result : NULL;
    r->herr = r->hostent == NULL && r->h_errnop != NULL ? *r->h_errnop : 0;
    c->ret = r->hostent == NULL ? -1 : 0;
}

static void perform_gethostbyname(struct ss_call *c)
{
    took_hostent(c, ss_real.gethostbyname(res_of(c)->host));
}

static void perform_gethostbyname2(struct ss_call *c)
{
    struct ss_resolution *r = res_of(c);
    took_hostent(c, ss_real.gethostbyname2(r->host, r->family));
}

static void perform_gethostbyaddr(struct ss_call *c)
{
    struct ss_resolution *r = res_of(c);
    took_hostent(c, ss_real.gethostbyaddr(r->addr, r->addrlen, r->family));
}

static void perform_gethostbyname_r(struct ss_call *c)
{
    struct ss_resolution *r = res_of(c);
    took_hostent_r(c, ss_real.gethostbyname_r(r->host, r->ret_buf, r->buf, r->buflen, r->result,
                                              r->h_errnop));
}

static void perform_gethostbyname2_r(struct ss_call *c)
{
    struct ss_resolution *r = res_of(c);
    took_hostent_r(c, ss_real.gethostbyname2_r(r->host, r->family, r->ret_buf, r->buf,
                                               r->buflen, r->result, r->h_errnop));
}

static void perform_gethostbyaddr_r(struct ss_call *c)
{
    struct ss_resolution *r = res_of(c);
    took_hostent_r(c, ss_real.gethostbyaddr_r(r->addr, r->addrlen, r->family, r->ret_buf,
                                              r->buf, r->buflen, r->result, r->h_errnop));
}

SS_EXPORT struct hostent *gethostbyname(const char *name)
{
    SS_PASSTHROUGH(gethostbyname, name);
    struct ss_resolution r = {.host = name};
    struct ss_call c = {.fn = SS_FN_gethostbyname, .perform = perform_gethostbyname, .fd = -1,
                        .resolution = &r};
    SS_RUN_RESOLUTION(c);
    return r.hostent;
}

SS_EXPORT struct hostent *gethostbyname2(const char *name, int af)
{
    SS_PASSTHROUGH(gethostbyname2, name, af);
    struct ss_resolution r = {.host = name, .family = af};
    struct ss_call c = {.fn = SS_FN_gethostbyname2, .perform = perform_gethostbyname2,
                        .fd = -1, .resolution = &r};
    SS_RUN_RESOLUTION(c);
    return r.hostent;
}

SS_EXPORT struct hostent *gethostbyaddr(const void *addr, socklen_t len, int type)
{
    SS_PASSTHROUGH(gethostbyaddr, addr, len, type);
    struct ss_resolution r = {.addr = addr, .addrlen = len, .family = type};
    struct ss_call c = {.fn = SS_FN_gethostbyaddr, .perform = perform_gethostbyaddr, .fd = -1,
                        .resolution = &r};
    SS_RUN_RESOLUTION(c);
    return r.hostent;
}

SS_EXPORT int gethostbyname_r(const char *name, struct hostent *ret, char *buf, size_t buflen,
                              struct hostent **result, int *h_errnop)
{
    SS_PASSTHROUGH(gethostbyname_r, name, ret, buf, buflen, result, h_errnop);
    struct ss_resolution r = {.host = name, .ret_buf = ret, .buf = buf, .buflen = buflen,
                              .result = result, .h_errnop = h_errnop};
    struct ss_call c = {.fn = SS_FN_gethostbyname_r, .perform = perform_gethostbyname_r,
                        .fd = -1, .resolution = &r};
    SS_RUN_RESOLUTION(c);
    return r.r_ret;
}

SS_EXPORT int gethostbyname2_r(const char *name, int af, struct hostent *ret, char *buf,
                               size_t buflen, struct hostent **result, int *h_errnop)
{
    SS_PASSTHROUGH(gethostbyname2_r, name, af, ret, buf, buflen, result, h_errnop);
    struct ss_resolution r = {.host = name, .family = af, .ret_buf = ret, .buf = buf,
                              .buflen = buflen, .result = result, .h_errnop = h_errnop};
    struct ss_call c = {.fn = SS_FN_gethostbyname2_r, .perform = perform_gethostbyname2_r,
                        .fd = -1, .resolution = &r};
    SS_RUN_RESOLUTION(c);
    return r.r_ret;
}

SS_EXPORT int gethostbyaddr_r(const void *addr, socklen_t len, int type, struct hostent *ret,
                              char *buf, size_t buflen, struct hostent **result, int *h_errnop)
{
    SS_PASSTHROUGH(gethostbyaddr_r, addr, len, type, ret, buf, buflen, result, h_errnop);
    struct ss_resolution r = {.addr = addr, .addrlen = len, .family = type, .ret_buf = ret,
                              .buf = buf, .buflen = buflen, .result = result,
                              .h_errnop = h_errnop};
    struct ss_call c = {.fn = SS_FN_gethostbyaddr_r, .perform = perform_gethostbyaddr_r,
                        .fd = -1, .resolution = &r};
    SS_RUN_RESOLUTION(c);
    return r.r_ret;
}
