/* find_send_after_shutdown: two messages over a stream socketpair, for the
 * send-after-shutdown finding.
 *
 * Usage: find_send_after_shutdown [wrong|right]   (default: wrong)
 *   wrong: shutdown(A, SHUT_WR) after the 1st message, then
 *          send_after_shutdown() sends the 2nd twice (EPIPE both times:
 *          send-after-shutdown, 2 times).
 *   right: both messages are sent, then shutdown(A, SHUT_WR).
 * Prints "fd N" (A).
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM) = (A, B);
 *        send(A, "hello", MSG_NOSIGNAL);
 *        wrong: shutdown(A, SHUT_WR), send(A, "world", MSG_NOSIGNAL) x2;
 *        right: send(A, "world", MSG_NOSIGNAL), shutdown(A, SHUT_WR);
 *        recv(B) until end of file; close(A); close(B).
 */
#include "common.h"

NOIPA static void send_after_shutdown(int fd)
{
    for (int i = 0; i < 2; i++)
        print_result("send after shutdown", send(fd, "world", 5, MSG_NOSIGNAL));
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0)) {
        fprintf(stderr, "usage: find_send_after_shutdown [wrong|right]\n");
        return 2;
    }
    int wrong = strcmp(mode, "wrong") == 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    printf("fd %d\n", sv[0]);
    print_result("send", send(sv[0], "hello", 5, MSG_NOSIGNAL));
    if (wrong) {
        print_result("shutdown", shutdown(sv[0], SHUT_WR));
        send_after_shutdown(sv[0]);
    } else {
        print_result("send", send(sv[0], "world", 5, MSG_NOSIGNAL));
        print_result("shutdown", shutdown(sv[0], SHUT_WR));
    }
    char buf[64];
    size_t got = recv_all(sv[1], buf, sizeof buf);
    printf("peer received '%.*s'\n", (int)got, buf);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
