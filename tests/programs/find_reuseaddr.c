/* find_reuseaddr: a TCP server on a fixed port of 127.0.0.1, for the
 * reuseaddr-missing finding. The port is one the kernel just handed out:
 * a socket bound to port 0 learns it and is closed.
 *
 * Usage: find_reuseaddr [wrong|right]   (default: wrong)
 *   wrong: serve_on() binds the port and listens without SO_REUSEADDR
 *          (reuseaddr-missing, once, at the listen).
 *   right: serve_on() sets SO_REUSEADDR before bind.
 * Prints "fd N" (the server L) and what the server received.
 *
 * Calls: socket = P, bind(P, 127.0.0.1:0), getsockname(P), close(P);
 *        socket = L, right: setsockopt(L, SO_REUSEADDR, 1),
 *        bind(L, 127.0.0.1:PORT), listen(L, 5);
 *        connect_tcp4 (socket = C, connect); accept(L) = S;
 *        send(C, "hi", MSG_NOSIGNAL); recv(S) (2 bytes);
 *        close(C), close(S), close(L).
 */
#include "common.h"

NOIPA static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = loopback4(0);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("bind");
    int port = local_port(fd);
    close(fd);
    return port;
}

NOIPA static int serve_on(int port, int reuse)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    if (reuse && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die("setsockopt");
    struct sockaddr_in sin = loopback4(port);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("bind");
    if (listen(fd, 5) < 0)
        die("listen");
    printf("listening\n");
    return fd;
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0)) {
        fprintf(stderr, "usage: find_reuseaddr [wrong|right]\n");
        return 2;
    }
    int port = free_port();
    int listener = serve_on(port, strcmp(mode, "right") == 0);
    printf("fd %d\n", listener);
    int client = connect_tcp4(port);
    int server = accept(listener, NULL, NULL);
    if (server < 0)
        die("accept");
    if (send(client, "hi", 2, MSG_NOSIGNAL) != 2)
        die("send");
    char buf[2];
    recv_exact(server, buf, sizeof buf);
    printf("server received '%.2s'\n", buf);
    close(client);
    close(server);
    close(listener);
    return 0;
}
