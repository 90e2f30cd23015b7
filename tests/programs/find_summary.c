/* find_summary: a small TCP exchange and a socketpair exchange with known
 * byte counts, for the audit's summary.
 *
 * Calls, in order (one process, one thread):
 *   listen_tcp4: socket = L, setsockopt(SO_REUSEADDR), bind(:0), listen,
 *                getsockname
 *   connect_tcp4: socket = C, connect
 *   accept(L) = S
 *   send(C, "hello", 5, 0)                (SIGPIPE at its default:
 *                                          sigpipe-risk, once)
 *   recv(S, 5)                            = 5
 *   send(S, "HELLO, WORLD", 12, MSG_NOSIGNAL)
 *   recv(C, 64)                           = 12
 *   recv(C, 64, MSG_DONTWAIT)             = -1 EAGAIN
 *   shutdown(C, SHUT_WR)
 *   recv(S, 64)                           = 0
 *   socketpair(AF_UNIX, SOCK_STREAM) = (A, B)
 *   send(A, 100 x 'x', MSG_NOSIGNAL)      = 100
 *   recv(B, 100)                          = 100
 *   close(C), close(S), close(L), close(A), close(B)
 *
 * Bytes: C sent 5, received 12; S sent 12, received 5; A sent 100;
 * B received 100; L nothing. Prints "fds L C S A B".
 */
#include "common.h"

int main(void)
{
    start();
    int port;
    int listener = listen_tcp4(&port);
    int client = connect_tcp4(port);
    int server = accept(listener, NULL, NULL);
    if (server < 0)
        die("accept");
    char buf[128];
    print_result("send", send(client, "hello", 5, 0));
    recv_exact(server, buf, 5);
    print_result("send", send(server, "HELLO, WORLD", 12, MSG_NOSIGNAL));
    recv_exact(client, buf, 12);
    print_result("recv", recv(client, buf, 64, MSG_DONTWAIT));
    print_result("shutdown", shutdown(client, SHUT_WR));
    print_result("recv", recv(server, buf, 64, 0));

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    memset(buf, 'x', 100);
    print_result("send", send(sv[0], buf, 100, MSG_NOSIGNAL));
    recv_exact(sv[1], buf, 100);
    printf("fds %d %d %d %d %d\n", listener, client, server, sv[0], sv[1]);
    close(client);
    close(server);
    close(listener);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
