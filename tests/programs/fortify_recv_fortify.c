/* fortify_recv_fortify: receive calls that glibc's _FORTIFY_SOURCE routes to
 * its checking entry points. The build compiles files named *_fortify.c with
 * -O2 -D_FORTIFY_SOURCE=2, so recv, recvfrom and read into a char array whose
 * size the compiler knows, with a length it does not know at compile time,
 * become calls to __recv_chk, __recvfrom_chk and __read_chk (checked with
 * `nm -D` on a GCC 12 / glibc 2.36 build: the binary imports those three
 * symbols and not recv, recvfrom or read; clang 14 with glibc 2.36 does not
 * use glibc's fortified wrappers and calls the plain functions). The length
 * is read from a volatile variable so the optimiser cannot fold it into a
 * constant (with a constant length that fits, glibc would call the plain
 * function).
 *
 * Calls, in order (one process, no fork):
 *   socketpair(AF_UNIX, SOCK_STREAM, 0) = S0, S1
 *   send(S0, "recv", 4, 0)           = 4
 *   __recv_chk(S1, buf, 32, 32, 0)   = 4 "recv"       (source: recv)
 *   send(S0, "recvfrom", 8, 0)       = 8
 *   __recvfrom_chk(S1, buf, 32, 32, 0, NULL, NULL) = 8 "recvfrom"
 *                                                     (source: recvfrom)
 *   send(S0, "read", 4, 0)           = 4
 *   __read_chk(S1, buf, 32, 32)      = 4 "read"       (source: read)
 *   close(S1), close(S0)
 */
#include "common.h"

/* The length to receive, hidden from the optimiser. */
static volatile size_t room = 32;

int main(void)
{
    start();
    int sv[2];
    char buf[32];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");

    print_result("send", send(sv[0], "recv", 4, 0));
    print_data("recv", recv(sv[1], buf, room, 0), buf);

    print_result("send", send(sv[0], "recvfrom", 8, 0));
    print_data("recvfrom", recvfrom(sv[1], buf, room, 0, NULL, NULL), buf);

    print_result("send", send(sv[0], "read", 4, 0));
    print_data("read", read(sv[1], buf, room), buf);

    close(sv[1]);
    close(sv[0]);
    return 0;
}
