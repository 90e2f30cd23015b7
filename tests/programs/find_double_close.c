/* find_double_close: a message over a stream socketpair, for the
 * double-close finding.
 *
 * Usage: find_double_close [wrong|right]   (default: wrong)
 *   wrong: close_again() closes A a second time (EBADF: double-close, once).
 *   right: A is closed once.
 * Prints "fd N" (A) and the second close's result.
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM) = (A, B);
 *        send(A, "hello", MSG_NOSIGNAL); close(A); recv(B) until end of
 *        file; close(B); wrong: close(A) again.
 */
#include "common.h"

NOIPA static void close_again(int fd)
{
    print_result("close again", close(fd));
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0)) {
        fprintf(stderr, "usage: find_double_close [wrong|right]\n");
        return 2;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    printf("fd %d\n", sv[0]);
    if (send(sv[0], "hello", 5, MSG_NOSIGNAL) != 5)
        die("send");
    close(sv[0]);
    char buf[64];
    size_t got = recv_all(sv[1], buf, sizeof buf);
    printf("peer received '%.*s'\n", (int)got, buf);
    close(sv[1]);
    if (strcmp(mode, "wrong") == 0)
        close_again(sv[0]); /* no socket was made since: the number is free */
    return 0;
}
