/* range_close: a TCP connection whose ends are closed by close_range and
 * closefrom, never by close().
 *
 *  1 socket(), setsockopt(SO_REUSEADDR), bind(127.0.0.1:0), listen(1),
 *    getsockname()                                 = L
 *  2 socket(), connect(L's address)                = C
 *  3 accept(L)                                     = S (L < C < S)
 *  4 send(C, "hello, range", 12, MSG_NOSIGNAL)     = 12 (or fewer under a
 *                                                    send:short fault: not
 *                                                    retried, bytes lost)
 *  5 close_range(C, C, 0)                          closes the client
 *  6 recv(S, 64) until it returns 0                prints what arrived
 *  7 closefrom(L)                                  closes L and S
 */
#include <linux/close_range.h>

#include "common.h"

int main(void)
{
    start();
    int l = socket(AF_INET, SOCK_STREAM, 0);
    if (l < 0)
        die("socket");
    int one = 1;
    struct sockaddr_in addr = loopback4(0);
    socklen_t len = sizeof addr;
    if (setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(l, (struct sockaddr *)&addr, sizeof addr) < 0 || listen(l, 1) < 0 ||
        getsockname(l, (struct sockaddr *)&addr, &len) < 0)
        die("listen");
    int c = socket(AF_INET, SOCK_STREAM, 0);
    if (c < 0 || connect(c, (struct sockaddr *)&addr, sizeof addr) < 0)
        die("connect");
    int s = accept(l, NULL, NULL);
    if (s < 0)
        die("accept");
    if (!(l < c && c < s))
        fail("the fds are not in the order L < C < S");

    static const char hello[] = "hello, range";
    print_result("send", send(c, hello, sizeof hello - 1, MSG_NOSIGNAL));
    print_result("close_range(client)", close_range((unsigned)c, (unsigned)c, 0));

    char got[64];
    size_t total = 0;
    ssize_t n;
    while ((n = recv(s, got + total, sizeof got - total, 0)) > 0)
        total += (size_t)n;
    if (n < 0)
        die("recv");
    printf("server got %zu bytes: %.*s\n", total, (int)total, got);
    closefrom(l);
    printf("closefrom(listener): done\n");
    return 0;
}
