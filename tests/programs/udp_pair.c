/* udp_pair: two UDP sockets on 127.0.0.1 exchange one datagram each way.
 *
 * Calls, in order (one process, no fork):
 *   socket(AF_INET, SOCK_DGRAM, 0) = A, bind(A, 127.0.0.1:0), getsockname(A)
 *   socket(AF_INET, SOCK_DGRAM, 0) = B, bind(B, 127.0.0.1:0), getsockname(B)
 *   sendto(A, "ping", 4, 0, B's address)   = 4
 *   recvfrom(B, buf, 64, 0, &from)         = 4 "ping", from == A's address
 *   sendto(B, "pong", 4, 0, &from)         = 4  (replies to where it came from)
 *   recvfrom(A, buf, 64, 0, &from)         = 4 "pong", from == B's address
 *   close(A), close(B)
 *
 * Prints the data and whether each sender's address, as recvfrom reported
 * it, equals what getsockname said for the sender (yes/no, not the port).
 */
#include "common.h"

static const char *same_address(const struct sockaddr_in *a, socklen_t alen,
                                const struct sockaddr_in *b)
{
    if (alen != sizeof *b || a->sin_family != b->sin_family)
        return "no";
    if (a->sin_port != b->sin_port || a->sin_addr.s_addr != b->sin_addr.s_addr)
        return "no";
    return "yes";
}

int main(void)
{
    start();
    struct sockaddr_in name_a, name_b, from;
    socklen_t fromlen;
    char buf[64];
    int a = bound_udp4(&name_a);
    int b = bound_udp4(&name_b);

    print_result("sendto a->b", sendto(a, "ping", 4, 0, (struct sockaddr *)&name_b,
                                        sizeof name_b));
    fromlen = sizeof from;
    ssize_t n = recvfrom(b, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    print_data("recvfrom b", n, buf);
    printf("from is a: %s\n", same_address(&from, fromlen, &name_a));

    print_result("sendto b->a", sendto(b, "pong", 4, 0, (struct sockaddr *)&from,
                                        fromlen));
    fromlen = sizeof from;
    n = recvfrom(a, buf, sizeof buf, 0, (struct sockaddr *)&from, &fromlen);
    print_data("recvfrom a", n, buf);
    printf("from is b: %s\n", same_address(&from, fromlen, &name_b));

    close(a);
    close(b);
    return 0;
}
