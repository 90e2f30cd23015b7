/* sockshim: what a call's arguments mean, for the stages and the
 * renderers alike (call.h). */
#include "call.h"

#include <fcntl.h>
#include <linux/sockios.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/ioctl.h>

#include "render_call.h"

int ss_call_ioctl_reads_arg(const struct ss_call *c)
{
    if (c->fn != SS_FN_ioctl || c->arg == 0)
        return 0;
    int in = c->request == FIONBIO;
    int out = !c->failed && (c->request == FIONREAD || c->request == SIOCOUTQ ||
                             c->request == SIOCATMARK);
    return in || out;
}

int ss_call_ioctl_int(const struct ss_call *c, int *value)
{
    if (c->fn == SS_FN_ioctl && c->ioctl_int != NULL) {
        *value = *c->ioctl_int;
        return 1;
    }
    if (!ss_call_ioctl_reads_arg(c))
        return 0;
    memcpy(value, (const void *)c->arg, sizeof *value);
    return 1;
}

int ss_call_blocking_flag(const struct ss_call *c)
{
    if (c->fn == SS_FN_ioctl) { /* FIONBIO takes a pointer to an int */
        int on = 0;
        ss_call_ioctl_int(c, &on);
        return on == 0;
    }
    return (c->arg & O_NONBLOCK) == 0;
}

int ss_call_inheritable_flag(const struct ss_call *c)
{
    if (c->fn == SS_FN_ioctl)
        return c->request == FIONCLEX;
    return (c->arg & FD_CLOEXEC) == 0;
}

enum ss_fcntl_arg ss_fcntl_arg_kind(int cmd)
{
    switch (cmd) {
    case F_GETFD:
    case F_GETFL:
    case F_GETOWN:
    case F_GETSIG:
    case F_GETLEASE:
    case F_GETPIPE_SZ:
    case F_GET_SEALS:
        return SS_FCNTL_NO_ARG;
    case F_DUPFD:
    case F_DUPFD_CLOEXEC:
    case F_SETFD:
    case F_SETFL:
    case F_SETOWN:
    case F_SETSIG:
    case F_SETLEASE:
    case F_NOTIFY:
    case F_SETPIPE_SZ:
    case F_ADD_SEALS:
        return SS_FCNTL_INT_ARG;
    default:
        return SS_FCNTL_PTR_ARG;
    }
}

const struct ss_sockinfo ss_no_socket;

/* The address bytes of a reverse lookup, and their family. */
static const void *reverse_address(const struct ss_call *c, int *family)
{
    const struct ss_resolution *r = c->resolution;
    if (c->op == SS_OP_gethostbyaddr) {
        socklen_t want = r->family == AF_INET ? 4 : r->family == AF_INET6 ? 16 : 0;
        *family = r->family;
        return want != 0 && r->addr != NULL && r->addrlen >= want ? r->addr : NULL;
    }
    const struct sockaddr *sa = c->addr;
    if (sa == NULL || c->addrlen < sizeof sa->sa_family)
        return NULL;
    *family = sa->sa_family;
    if (sa->sa_family == AF_INET && c->addrlen >= sizeof(struct sockaddr_in))
        return &((const struct sockaddr_in *)sa)->sin_addr;
    if (sa->sa_family == AF_INET6 && c->addrlen >= sizeof(struct sockaddr_in6))
        return &((const struct sockaddr_in6 *)sa)->sin6_addr;
    return NULL;
}

const char *ss_resolution_asked(const struct ss_call *c, char *buf, size_t cap)
{
    if (c->resolution == NULL)
        return NULL;
    if (c->op == SS_OP_getaddrinfo || c->op == SS_OP_gethostbyname)
        return c->resolution->host;
    int family = 0;
    const void *addr = reverse_address(c, &family);
    if (addr == NULL)
        return NULL;
    ss_format_ip(buf, cap, family, addr);
    return buf;
}
