/* find_eof_spin: reading a short reply over a stream socketpair, for the
 * eof-spin finding.
 *
 * Usage: find_eof_spin [wrong|right]   (default: wrong)
 *   wrong: read_reply_spinning() calls recv() 4 times, whatever it returns:
 *          the data, then end of file 3 times (eof-spin, once: on the 3rd).
 *   right: read_reply() stops at the first end of file.
 * Prints "fd N" (A).
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM) = (A, B);
 *        send(B, "bye", MSG_NOSIGNAL); close(B);
 *        wrong: recv(A) x4 (3, 0, 0, 0); right: recv(A) x2 (3, 0); close(A).
 */
#include "common.h"

NOIPA static void read_reply_spinning(int fd)
{
    char buf[64];
    for (int i = 0; i < 4; i++) /* a retry count instead of a check for 0 */
        print_data("recv", recv(fd, buf, sizeof buf, 0), buf);
}

NOIPA static void read_reply(int fd)
{
    char buf[64];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        print_data("recv", n, buf);
        if (n <= 0)
            break;
    }
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0)) {
        fprintf(stderr, "usage: find_eof_spin [wrong|right]\n");
        return 2;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    printf("fd %d\n", sv[0]);
    if (send(sv[1], "bye", 3, MSG_NOSIGNAL) != 3)
        die("send");
    close(sv[1]);
    if (strcmp(mode, "wrong") == 0)
        read_reply_spinning(sv[0]);
    else
        read_reply(sv[0]);
    close(sv[0]);
    return 0;
}
