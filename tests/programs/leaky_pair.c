/* A server and a client in two processes (fork), over 127.0.0.1. With
 * argv[1] "leak" the server never closes the connection it accepted (a
 * leak the audit reports at exit); with "clean" it closes everything.
 *
 * Calls: socket, setsockopt(SO_REUSEADDR), bind(port 0), listen,
 * getsockname, fork; the child: socket, connect, send(MSG_NOSIGNAL)
 * "ping", close, _exit via exit(0); the parent: accept, recv, [close],
 * close(listener), waitpid.
 */
#include "common.h"

int main(int argc, char *argv[])
{
    start();
    int leak = argc > 1 && strcmp(argv[1], "leak") == 0;
    int port;
    int listener = listen_tcp4(&port);
    pid_t child = fork_or_die();
    if (child == 0) {
        close(listener);
        int c = connect_tcp4(port);
        if (send(c, "ping", 4, MSG_NOSIGNAL) != 4)
            die("send");
        close(c);
        exit(0);
    }
    int conn = accept(listener, NULL, NULL);
    if (conn < 0)
        die("accept");
    char buf[16];
    print_data("recv", recv(conn, buf, sizeof buf, 0), buf);
    if (!leak)
        close(conn);
    close(listener);
    wait_child(child);
    return 0;
}
