/* find_leak: a TCP listener on 127.0.0.1 (port 0), for the leak finding.
 *
 * Usage: find_leak [wrong|right]   (default: wrong)
 *   wrong: main returns without closing the listener made by
 *          open_listener() (leak, once).
 *   right: the listener is closed before main returns.
 * Prints "fd N" (the listener).
 *
 * Calls: socket(AF_INET, SOCK_STREAM, 0) = L (in open_listener);
 *        bind(L, 127.0.0.1:0); listen(L, 5); right only: close(L).
 */
#include "common.h"

NOIPA static int open_listener(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = loopback4(0);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("bind");
    if (listen(fd, 5) < 0)
        die("listen");
    return fd;
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0)) {
        fprintf(stderr, "usage: find_leak [wrong|right]\n");
        return 2;
    }
    int fd = open_listener();
    printf("fd %d\n", fd);
    if (strcmp(mode, "right") == 0)
        close(fd);
    return 0; /* wrong: the listener is still open at exit */
}
