/* find_sigpipe_risk: three messages over a stream socketpair, for the
 * sigpipe-risk finding.
 *
 * Usage: find_sigpipe_risk [wrong|right|ignore]   (default: wrong)
 *   wrong:  send_messages() sends with flags 0 while SIGPIPE is at its
 *           default (sigpipe-risk, 3 times: once per send).
 *   right:  the same sends with MSG_NOSIGNAL.
 *   ignore: signal(SIGPIPE, SIG_IGN) first, then the sends with flags 0.
 * Prints "fd N" (A).
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM) = (A, B); send(A, ...) x3;
 *        close(A); recv(B) until end of file; close(B).
 */
#include <signal.h>

#include "common.h"

NOIPA static void send_messages(int fd, int flags)
{
    static const char *const msgs[] = {"one ", "two ", "three"};
    for (int i = 0; i < 3; i++)
        if (send(fd, msgs[i], strlen(msgs[i]), flags) < 0)
            die("send");
    printf("sent 3 messages\n");
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0 &&
                      strcmp(mode, "ignore") != 0)) {
        fprintf(stderr, "usage: find_sigpipe_risk [wrong|right|ignore]\n");
        return 2;
    }
    if (strcmp(mode, "ignore") == 0)
        signal(SIGPIPE, SIG_IGN);
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    printf("fd %d\n", sv[0]);
    send_messages(sv[0], strcmp(mode, "right") == 0 ? MSG_NOSIGNAL : 0);
    close(sv[0]);
    char buf[64];
    size_t got = recv_all(sv[1], buf, sizeof buf);
    printf("peer received '%.*s'\n", (int)got, buf);
    close(sv[1]);
    return 0;
}
