/* rel_handshake: makes socket calls, tells its driver it is ready (a line on
 * stdout), waits for a line on stdin, then makes more socket calls. A test
 * changes the world in between (deletes the trace file, ...).
 *
 * Usage: rel_handshake [wait [ROUNDS]]   (default: no wait, 100 rounds);
 *        only with "wait" does it read stdin (a bare run may have a
 *        terminal there).
 *
 * Calls, in order:
 *   socketpair(AF_UNIX, SOCK_STREAM, 0) = (a, b)
 *   send(a, "one", 3, 0) = 3, recv(b, 64, 0) = "one"
 *   -- prints "ready", reads a line from stdin (with "wait") --
 *   ROUNDS times: send(a, "two", 3, 0) = 3, recv(b, 64, 0) = "two"
 *   close(a), close(b)
 *
 * stdout: "ready", what the line from stdin was, the rounds that worked.
 */
#include "common.h"

int main(int argc, char **argv)
{
    start();
    int wait_stdin = argc > 1 && strcmp(argv[1], "wait") == 0;
    int rounds = argc > 2 ? atoi(argv[2]) : 100;
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    char buf[64];
    if (send(sv[0], "one", 3, 0) != 3)
        die("send");
    print_data("recv", recv(sv[1], buf, sizeof buf, 0), buf);

    printf("ready\n");
    fflush(stdout);
    char line[64];
    if (!wait_stdin)
        printf("stdin: not read\n");
    else if (fgets(line, sizeof line, stdin) != NULL)
        printf("stdin: %s", line);
    else
        printf("stdin: end of file\n");

    int good = 0;
    for (int i = 0; i < rounds; i++) {
        if (send(sv[0], "two", 3, 0) != 3)
            die("send");
        ssize_t n = recv(sv[1], buf, sizeof buf, 0);
        good += n == 3 && memcmp(buf, "two", 3) == 0;
    }
    printf("rounds: %d of %d\n", good, rounds);
    close(sv[0]);
    close(sv[1]);
    return good == rounds ? 0 : 1;
}
