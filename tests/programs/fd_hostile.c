/* A program that treats every fd above 2 as its own, as daemons do.
 *
 * Calls (none on a socket until the end): close(fd) for every fd from 3 to
 * 1099 (EBADF for those not open), closefrom(3), close_range(3, ~0U, 0),
 * then dup2(1, fd) and close(fd) for every fd from 900 to 1099, so one of
 * them lands on the number of the shim's trace fd (which must then move out
 * of the way); then socketpair(AF_UNIX, SOCK_STREAM), send(sv[0], "still
 * traced", 13), recv(sv[1], 64), close both. Prints the results; the test
 * checks the trace has the socket calls made after all that.
 */
#include "common.h"

int main(void)
{
    start();
    int closed = 0;
    for (int fd = 3; fd < 1100; fd++)
        if (close(fd) == 0)
            closed++;
    printf("closed by the loop: %s\n", closed == 0 ? "none" : "some");
    closefrom(3);
    print_result("close_range", close_range(3, ~0U, 0));

    int dup_failures = 0;
    for (int fd = 900; fd < 1100; fd++) {
        if (dup2(1, fd) != fd)
            dup_failures++;
        else if (close(fd) != 0)
            dup_failures++;
    }
    printf("dup2 over 900..1099: %d failures\n", dup_failures);

    int sv[2];
    print_result("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    print_result("send", send(sv[0], "still traced", 12, 0));
    char buf[64];
    ssize_t n = recv(sv[1], buf, sizeof buf, 0);
    print_data("recv", n, buf);
    print_result("close", close(sv[0]));
    print_result("close", close(sv[1]));
    return 0;
}
