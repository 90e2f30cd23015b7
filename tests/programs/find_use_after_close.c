/* find_use_after_close: a message over a stream socketpair, for the
 * use-after-close finding.
 *
 * Usage: find_use_after_close [wrong|right]   (default: wrong)
 *   wrong: after close(A), send_late() sends twice more on A's number
 *          (both fail with EBADF: use-after-close, 2 times).
 *   right: everything is sent before close(A).
 * Prints "fd N" (A) and each late send's result.
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM) = (A, B);
 *        send(A, "hello", MSG_NOSIGNAL); right: send(A, "world", MSG_NOSIGNAL);
 *        close(A); wrong: send(A, "world", MSG_NOSIGNAL) twice;
 *        recv(B) until end of file; close(B).
 */
#include "common.h"

NOIPA static void send_late(int fd)
{
    for (int i = 0; i < 2; i++)
        print_result("late send", send(fd, "world", 5, MSG_NOSIGNAL));
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0)) {
        fprintf(stderr, "usage: find_use_after_close [wrong|right]\n");
        return 2;
    }
    int wrong = strcmp(mode, "wrong") == 0;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    printf("fd %d\n", sv[0]);
    print_result("send", send(sv[0], "hello", 5, MSG_NOSIGNAL));
    if (!wrong)
        print_result("send", send(sv[0], "world", 5, MSG_NOSIGNAL));
    close(sv[0]);
    if (wrong)
        send_late(sv[0]);
    char buf[64];
    size_t got = recv_all(sv[1], buf, sizeof buf);
    printf("peer received '%.*s'\n", (int)got, buf);
    close(sv[1]);
    return 0;
}
