/* socket_types: sockets of two types side by side, for the tests of the
 * type= filter of fault rules.
 *
 * Calls, in order (one process, no fork):
 *   socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, 0)     then close() if it worked
 *   socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, 0)   then close() if it worked
 *   socketpair(AF_UNIX, SOCK_SEQPACKET, 0)          then close() both if it worked
 *   socketpair(AF_UNIX, SOCK_STREAM, 0) = S0, S1
 *   socketpair(AF_UNIX, SOCK_DGRAM, 0) = D0, D1
 *   send(D0, "hello, world", 12, 0)
 *   send(S0, "hello, world", 12, 0)
 *   recv(D1, 100 bytes, MSG_DONTWAIT), recv(S1, 100 bytes, MSG_DONTWAIT)
 *   close(S0), close(S1), close(D0), close(D1)
 *
 * Prints what each call returned ("ok" for a socket, the errno name of a
 * failure) and the bytes each receive got.
 */
#include "common.h"

static const char MESSAGE[] = "hello, world"; /* 12 bytes */

/* socket(AF_INET, type): prints "what: ok" or "what: -1 ENAME". */
static void try_socket(const char *what, int type)
{
    int fd = socket(AF_INET, type, 0);
    if (fd < 0) {
        print_result(what, fd);
        return;
    }
    printf("%s: ok\n", what);
    close(fd);
}

static void try_socketpair(const char *what, int type)
{
    int sv[2];
    int rc = socketpair(AF_UNIX, type, 0, sv);
    if (rc < 0) {
        print_result(what, rc);
        return;
    }
    printf("%s: ok\n", what);
    close(sv[0]);
    close(sv[1]);
}

static void pair_or_die(int type, int sv[2])
{
    if (socketpair(AF_UNIX, type, 0, sv) < 0)
        die("socketpair");
}

static void receive(const char *what, int fd)
{
    char buf[100];
    print_data(what, recv(fd, buf, sizeof buf, MSG_DONTWAIT), buf);
}

int main(void)
{
    start();
    try_socket("socket dgram", SOCK_DGRAM | SOCK_CLOEXEC);
    try_socket("socket stream", SOCK_STREAM | SOCK_NONBLOCK);
    try_socketpair("socketpair seqpacket", SOCK_SEQPACKET);

    int s[2], d[2];
    pair_or_die(SOCK_STREAM, s);
    pair_or_die(SOCK_DGRAM, d);
    print_result("dgram send", send(d[0], MESSAGE, sizeof MESSAGE - 1, 0));
    print_result("stream send", send(s[0], MESSAGE, sizeof MESSAGE - 1, 0));
    receive("dgram recv", d[1]);
    receive("stream recv", s[1]);
    close(s[0]);
    close(s[1]);
    close(d[0]);
    close(d[1]);
    return 0;
}
