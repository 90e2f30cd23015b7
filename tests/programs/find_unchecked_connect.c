/* find_unchecked_connect: a non-blocking connect that fails (the port on
 * 127.0.0.1 has no listener any more), for the unchecked-connect finding.
 *
 * Usage: find_unchecked_connect [wrong|right]   (default: wrong)
 *   wrong: once poll() says writable, send_request() sends without asking
 *          whether the connect worked: the send fails with ECONNREFUSED
 *          (unchecked-connect, once).
 *   right: getsockopt(SO_ERROR) first: ECONNREFUSED, nothing is sent.
 * Prints "fd N" (the client C), what connect() returned and what the
 * program learned.
 *
 * Calls: listen_tcp4 (socket = L, setsockopt SO_REUSEADDR, bind :0,
 *        listen, getsockname); close(L);
 *        socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK) = C;
 *        connect(C) = -1 EINPROGRESS; (poll, untraced);
 *        wrong: send(C, "ping\n", MSG_NOSIGNAL) = -1 ECONNREFUSED;
 *        right: getsockopt(C, SOL_SOCKET, SO_ERROR) = ECONNREFUSED;
 *        close(C).
 */
#include <poll.h>

#include "common.h"

NOIPA static void send_request(int fd)
{
    print_result("send", send(fd, "ping\n", 5, MSG_NOSIGNAL));
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0)) {
        fprintf(stderr, "usage: find_unchecked_connect [wrong|right]\n");
        return 2;
    }
    int port;
    close(listen_tcp4(&port)); /* a port nobody listens on */
    int client = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    if (client < 0)
        die("socket");
    printf("fd %d\n", client);
    struct sockaddr_in sin = loopback4(port);
    print_result("connect", connect(client, (struct sockaddr *)&sin, sizeof sin));
    struct pollfd pfd = {.fd = client, .events = POLLOUT};
    if (poll(&pfd, 1, 5000) != 1)
        die("poll");
    if (strcmp(mode, "right") == 0) {
        int err = -1;
        socklen_t len = sizeof err;
        if (getsockopt(client, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
            die("getsockopt");
        printf("SO_ERROR: %s\n", err != 0 ? errname(err) : "0");
    } else {
        send_request(client);
    }
    close(client);
    return 0;
}
