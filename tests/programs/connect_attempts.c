/* connect_attempts: connects again and again to a server of its own, for
 * tests of when= and p= on connect (fault injection).
 *
 * Usage: connect_attempts [MODE N]   (default: each 3, so that the
 *        argument-less runs of test_programs.py have something to trace)
 *   each   N attempts, each on a fresh socket, whatever their outcome
 *   retry  attempts until one succeeds, at most N (a client that retries)
 *   fork   N attempts, then a forked child makes N attempts of its own
 *
 * Output, one line per attempt (the child's prefixed "child "):
 *   attempt I: ok            or   attempt I: ENAME
 * then, in retry mode, "connected after I attempts" or "gave up", and in
 * fork mode "child: exit N".
 *
 * Calls: the server is listen_tcp4_backlog(128) (socket, setsockopt, bind,
 * listen, getsockname); each attempt is socket(AF_INET, SOCK_STREAM, 0),
 * connect(127.0.0.1:PORT), close. Nothing is accepted: the connections
 * wait in the server's backlog, which is large enough for all of them.
 */
#include "common.h"

/* Returns 1 if the attempt connected. */
static int attempt(const char *prefix, int i, int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = loopback4(port);
    int r = connect(fd, (struct sockaddr *)&sin, sizeof sin);
    int err = errno;
    printf("%sattempt %d: %s\n", prefix, i, r == 0 ? "ok" : errname(err));
    close(fd);
    return r == 0;
}

int main(int argc, char **argv)
{
    start();
    if (argc != 1 && argc != 3) {
        fprintf(stderr, "usage: connect_attempts [each|retry|fork N]\n");
        return 2;
    }
    const char *mode = argc == 3 ? argv[1] : "each";
    int n = argc == 3 ? atoi(argv[2]) : 3;
    int port;
    int server = listen_tcp4_backlog(&port, 128);

    if (strcmp(mode, "retry") == 0) {
        for (int i = 1; i <= n; i++) {
            if (attempt("", i, port)) {
                printf("connected after %d attempts\n", i);
                close(server);
                return 0;
            }
        }
        printf("gave up\n");
        close(server);
        return 1;
    }
    for (int i = 1; i <= n; i++)
        attempt("", i, port);
    if (strcmp(mode, "fork") == 0) {
        pid_t pid = fork_or_die();
        if (pid == 0) {
            for (int i = 1; i <= n; i++)
                attempt("child ", i, port);
            _exit(0);
        }
        wait_child(pid);
    }
    close(server);
    return 0;
}
