/* find_nagle: two request/reply rounds over TCP on 127.0.0.1, each request
 * written as two small sends, for the nagle-small-writes finding.
 *
 * Usage: find_nagle [wrong|right]   (default: wrong)
 *   wrong: the client socket keeps Nagle's algorithm: ask() sends "GET "
 *          and "key\n", then waits in recv() for the reply
 *          (nagle-small-writes, 2 times: once per round).
 *   right: the client sets TCP_NODELAY after connecting.
 * Prints "fd N" (the client socket C).
 *
 * Calls: listen_tcp4 (socket = L, setsockopt SO_REUSEADDR, bind :0,
 *        listen, getsockname); connect_tcp4 (socket = C, connect);
 *        accept(L) = S; right: setsockopt(C, IPPROTO_TCP, TCP_NODELAY, 1);
 *        twice: send(C, "GET ") send(C, "key\n") recv(S) (8 bytes)
 *               send(S, "value\n") recv(C);
 *        close(C), close(S), close(L). Every send uses MSG_NOSIGNAL.
 */
#include <netinet/tcp.h>

#include "common.h"

/* The client's half of a round: the request in two writes, then the reply. */
NOIPA static void ask(int fd, int server)
{
    if (send(fd, "GET ", 4, MSG_NOSIGNAL) != 4 || send(fd, "key\n", 4, MSG_NOSIGNAL) != 4)
        die("send");
    char req[8];
    recv_exact(server, req, sizeof req);
    if (send(server, "value\n", 6, MSG_NOSIGNAL) != 6)
        die("send");
    char buf[64];
    print_data("reply", recv(fd, buf, sizeof buf, 0), buf);
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0)) {
        fprintf(stderr, "usage: find_nagle [wrong|right]\n");
        return 2;
    }
    int port;
    int listener = listen_tcp4(&port);
    int client = connect_tcp4(port);
    int server = accept(listener, NULL, NULL);
    if (server < 0)
        die("accept");
    printf("fd %d\n", client);
    if (strcmp(mode, "right") == 0) {
        int one = 1;
        if (setsockopt(client, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) < 0)
            die("setsockopt");
    }
    for (int round = 0; round < 2; round++)
        ask(client, server);
    close(client);
    close(server);
    close(listener);
    return 0;
}
