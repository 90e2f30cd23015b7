/* broken_conn: what a program and its peer see when their connection
 * breaks, for the faults that stand for a broken connection (EPIPE,
 * ECONNRESET, a reset, a dead path).
 *
 * Usage: broken_conn send|recv tcp|unix default|ignore|block
 *   tcp:  a listener on 127.0.0.1, a client connected to it, the accepted
 *         socket as the peer; unix: socketpair(AF_UNIX, SOCK_STREAM).
 *   default|ignore|block: SIGPIPE left alone, ignored (SIG_IGN), or
 *         blocked in the thread (sigprocmask).
 *   send: the client sends "x" three times, without MSG_NOSIGNAL;
 *   recv: the peer sends "abc", the client receives 1 byte three times.
 * Each call's result is printed ("send 1: 1", "recv 2: -1 ECONNRESET"),
 * then "sigpipe pending: yes|no" (block only), then what the peer's recv
 * of 1 byte gives past the "x" bytes that reached it ("peer recv: -1
 * ECONNRESET", "peer recv: 0").
 * Killed by SIGPIPE when the kernel raises it at default disposition.
 *
 * Calls, in order (tcp): socket, bind, listen, getsockname, socket, connect,
 * accept; (unix) socketpair; then send/recv on the client as above,
 * shutdown(SHUT_WR) of the client, recv on the peer, close of all.
 */
#include <signal.h>

#include "common.h"

static void connected_pair(const char *family, int *client, int *peer, int *listener)
{
    *listener = -1;
    if (strcmp(family, "unix") == 0) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
            die("socketpair");
        *client = sv[0];
        *peer = sv[1];
        return;
    }
    int port;
    *listener = listen_tcp4(&port);
    *client = connect_tcp4(port);
    *peer = accept(*listener, NULL, NULL);
    if (*peer < 0)
        die("accept");
}

static void set_sigpipe(const char *mode)
{
    if (strcmp(mode, "ignore") == 0) {
        signal(SIGPIPE, SIG_IGN);
    } else if (strcmp(mode, "block") == 0) {
        sigset_t set;
        sigemptyset(&set);
        sigaddset(&set, SIGPIPE);
        if (sigprocmask(SIG_BLOCK, &set, NULL) != 0)
            die("sigprocmask");
    }
}

int main(int argc, char **argv)
{
    start();
    if (argc != 4) {
        fprintf(stderr, "usage: broken_conn send|recv tcp|unix default|ignore|block\n");
        return 2;
    }
    int sending = strcmp(argv[1], "send") == 0;
    int client, peer, listener;
    connected_pair(argv[2], &client, &peer, &listener);
    set_sigpipe(argv[3]);
    if (!sending && send(peer, "abc", 3, 0) != 3)
        die("send abc");
    char what[16], c;
    for (int i = 1; i <= 3; i++) {
        snprintf(what, sizeof what, "%s %d", argv[1], i);
        print_result(what, sending ? send(client, "x", 1, 0) : recv(client, &c, 1, 0));
    }
    if (strcmp(argv[3], "block") == 0) {
        sigset_t pending;
        sigpending(&pending);
        printf("sigpipe pending: %s\n", sigismember(&pending, SIGPIPE) ? "yes" : "no");
    }
    /* the client is done: a peer whose connection did not break sees the
     * end of the stream after the "x" bytes that reached it */
    shutdown(client, SHUT_WR);
    ssize_t n;
    while ((n = recv(peer, &c, 1, 0)) == 1 && c == 'x')
        ;
    print_result("peer recv", n);
    close(client);
    close(peer);
    if (listener >= 0)
        close(listener);
    return 0;
}
