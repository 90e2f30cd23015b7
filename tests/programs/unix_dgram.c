/* unix_dgram: AF_UNIX SOCK_DGRAM between a receiver bound to an abstract
 * address ("\0sockshim-dgram-PID") and an autobound sender.
 *
 * Calls, in order (one process, no fork):
 *   socket(AF_UNIX, SOCK_DGRAM, 0) = R
 *   bind(R, "\0sockshim-dgram-PID")        (abstract: leading NUL byte)
 *   socket(AF_UNIX, SOCK_DGRAM, 0) = S
 *   bind(S, family only)                   (autobind: the kernel picks an
 *                                           abstract name of 5 hex digits)
 *   getsockname(S)
 *   sendto(S, "ping", 4, 0, R's address)   = 4
 *   recvfrom(R, buf, 64, 0, &from)         = 4 "ping", from == S's name
 *   sendto(R, "pong", 4, 0, &from)         = 4  (replies to the sender)
 *   recvfrom(S, buf, 64, 0, &from)         = 4 "pong", from == R's address
 *   close(S), close(R)
 *
 * Prints the data, whether the sender's autobound name is abstract, and
 * whether each recvfrom address equals the other side's name (yes/no).
 */
#include <stddef.h>
#include <sys/un.h>

#include "common.h"

/* Whether two AF_UNIX addresses of the given lengths are the same. */
static const char *same_address(const struct sockaddr_un *a, socklen_t alen,
                                const struct sockaddr_un *b, socklen_t blen)
{
    if (alen != blen || a->sun_family != b->sun_family)
        return "no";
    size_t pathlen = alen - offsetof(struct sockaddr_un, sun_path);
    return memcmp(a->sun_path, b->sun_path, pathlen) == 0 ? "yes" : "no";
}

int main(void)
{
    start();
    char buf[64];

    /* The receiver, on an abstract address: the name is not NUL-terminated,
     * its length is given by the address length. */
    struct sockaddr_un raddr;
    memset(&raddr, 0, sizeof raddr);
    raddr.sun_family = AF_UNIX;
    int namelen = snprintf(raddr.sun_path + 1, sizeof raddr.sun_path - 1,
                           "sockshim-dgram-%ld", (long)getpid());
    socklen_t rlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 1 + namelen);
    int r = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (r < 0)
        die("socket");
    print_result("bind abstract", bind(r, (struct sockaddr *)&raddr, rlen));

    /* The sender, autobound: binding just the family makes the kernel pick
     * a unique abstract name. */
    int s = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (s < 0)
        die("socket");
    struct sockaddr_un saddr;
    memset(&saddr, 0, sizeof saddr);
    saddr.sun_family = AF_UNIX;
    print_result("bind autobind", bind(s, (struct sockaddr *)&saddr, sizeof(sa_family_t)));
    socklen_t slen = sizeof saddr;
    if (getsockname(s, (struct sockaddr *)&saddr, &slen) < 0)
        die("getsockname");
    printf("autobound name is abstract: %s\n",
           slen > sizeof(sa_family_t) && saddr.sun_path[0] == '\0' ? "yes" : "no");

    struct sockaddr_un from;
    socklen_t fromlen;
    print_result("sendto s->r", sendto(s, "ping", 4, 0, (struct sockaddr *)&raddr, rlen));
    fromlen = sizeof from;
    ssize_t n = recvfrom(r, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    print_data("recvfrom r", n, buf);
    printf("from is s: %s\n", same_address(&from, fromlen, &saddr, slen));

    print_result("sendto r->s", sendto(r, "pong", 4, 0, (struct sockaddr *)&from, fromlen));
    fromlen = sizeof from;
    n = recvfrom(s, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    print_data("recvfrom s", n, buf);
    printf("from is r: %s\n", same_address(&from, fromlen, &raddr, rlen));

    close(s);
    close(r);
    return 0;
}
