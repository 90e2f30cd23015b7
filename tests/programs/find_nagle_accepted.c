/* find_nagle_accepted: a server greets each client in two small writes on
 * the accepted socket and then waits for the client's answer, for the
 * nagle-small-writes finding on a socket that inherits (or not) TCP_NODELAY
 * from its listener.
 *
 * Usage: find_nagle_accepted [wrong|right|adopted]   (default: wrong)
 *   wrong: the listener keeps Nagle's algorithm, so the accepted socket
 *          does too: greet() sends "HELLO " and "there\n" on it, then
 *          waits in recv() for the answer (nagle-small-writes, 2 times:
 *          once per round).
 *   right: the listener sets TCP_NODELAY before any client connects;
 *          Linux copies it to the socket accept() returns, so the same
 *          writes are right.
 *   adopted: as right, but the listener is made and given TCP_NODELAY
 *          behind the shim's back (raw system calls), as a server started
 *          by systemd's socket activation gets a listener configured for
 *          it: the shim adopts it at bind and asks the kernel.
 * Prints "fd N" (the accepted socket S) and "accepted TCP_NODELAY: V" (what
 * the kernel says of S: 0 wrong, 1 right and adopted).
 *
 * Calls: wrong, right: listen_tcp4 (socket = L, setsockopt SO_REUSEADDR,
 *        bind :0, listen, getsockname); right: setsockopt(L, IPPROTO_TCP,
 *        TCP_NODELAY, 1); adopted: syscall(SYS_socket) = L,
 *        syscall(SYS_setsockopt, L, IPPROTO_TCP, TCP_NODELAY, 1), bind(L,
 *        127.0.0.1:0), listen(L), getsockname(L);
 *        connect_tcp4 (socket = C, connect); accept(L) = S;
 *        getsockopt(S, IPPROTO_TCP, TCP_NODELAY);
 *        twice: send(S, "HELLO ") send(S, "there\n") recv(C) (12 bytes)
 *               send(C, "bye") recv(S);
 *        close(C), close(S), close(L). Every send uses MSG_NOSIGNAL.
 */
#include <netinet/tcp.h>
#include <sys/syscall.h>

#include "common.h"

/* A listener the shim sees only from its bind on: made and given
 * TCP_NODELAY with raw system calls, which no wrapper sees. */
static int listen_tcp4_unseen_nodelay(int *port)
{
    int fd = (int)syscall(SYS_socket, AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    if (syscall(SYS_setsockopt, fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
        die("setsockopt");
    struct sockaddr_in sin = loopback4(0);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("bind");
    if (listen(fd, 5) < 0)
        die("listen");
    *port = local_port(fd);
    return fd;
}

/* A round: the server's greeting in two writes, then its wait for the
 * client's answer. */
NOIPA static void greet(int server, int client)
{
    if (send(server, "HELLO ", 6, MSG_NOSIGNAL) != 6 ||
        send(server, "there\n", 6, MSG_NOSIGNAL) != 6)
        die("send");
    char greeting[12];
    recv_exact(client, greeting, sizeof greeting);
    if (send(client, "bye", 3, MSG_NOSIGNAL) != 3)
        die("send");
    char buf[64];
    print_data("answer", recv(server, buf, sizeof buf, 0), buf);
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0 &&
                      strcmp(mode, "adopted") != 0)) {
        fprintf(stderr, "usage: find_nagle_accepted [wrong|right|adopted]\n");
        return 2;
    }
    int port;
    int listener = strcmp(mode, "adopted") == 0 ? listen_tcp4_unseen_nodelay(&port)
                                                : listen_tcp4(&port);
    if (strcmp(mode, "right") == 0) {
        int one = 1;
        if (setsockopt(listener, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
            die("setsockopt");
    }
    int client = connect_tcp4(port);
    int server = accept(listener, NULL, NULL);
    if (server < 0)
        die("accept");
    printf("fd %d\n", server);
    int nodelay = -1;
    socklen_t len = sizeof nodelay;
    if (getsockopt(server, IPPROTO_TCP, TCP_NODELAY, &nodelay, &len) < 0)
        die("getsockopt");
    printf("accepted TCP_NODELAY: %d\n", nodelay);
    for (int round = 0; round < 2; round++)
        greet(server, client);
    close(client);
    close(server);
    close(listener);
    return 0;
}
