/* find_unchecked_connect: a non-blocking connect to a listener on
 * 127.0.0.1, then a request, for the unchecked-connect finding.
 *
 * Usage: find_unchecked_connect [wrong|right]   (default: wrong)
 *   wrong: once poll() says writable, send_request() sends without asking
 *          whether the connect worked (unchecked-connect, once).
 *   right: getsockopt(SO_ERROR) first, then send_request().
 * Prints "fd N" (the client C) and what connect() returned.
 *
 * Calls: listen_tcp4 (socket = L, setsockopt SO_REUSEADDR, bind :0,
 *        listen, getsockname); socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK) = C;
 *        connect(C) = -1 EINPROGRESS; (poll, untraced);
 *        right: getsockopt(C, SOL_SOCKET, SO_ERROR) = 0;
 *        send(C, "ping\n", MSG_NOSIGNAL); accept(L) = S; recv(S) (5 bytes);
 *        close(C), close(S), close(L).
 */
#include <poll.h>

#include "common.h"

#define NOIPA __attribute__((noipa))

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
    int listener = listen_tcp4(&port);
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
        if (err != 0) {
            errno = err;
            die("connect");
        }
    }
    send_request(client);
    int server = accept(listener, NULL, NULL);
    if (server < 0)
        die("accept");
    char buf[5];
    recv_exact(server, buf, sizeof buf);
    printf("server received '%.5s'\n", buf);
    close(client);
    close(server);
    close(listener);
    return 0;
}
