/* dup_fork: one TCP connection reached through several duplicated fds; the
 * peer sees end of file only once the last of them is closed, including a
 * copy inherited by a child process.
 *
 * Calls, in order (fds 20, 21 and 30 are fixed numbers):
 *   socket(AF_INET, SOCK_STREAM, 0) = S, setsockopt(S, SO_REUSEADDR),
 *   bind(S, 127.0.0.1:0), listen(S, 5), getsockname(S)
 *   socket(AF_INET, SOCK_STREAM, 0) = C, connect(C, 127.0.0.1:PORT)
 *   accept(S, NULL, NULL) = P                   (the peer)
 *   dup(C) = D
 *   dup2(C, 20)                                 = 20
 *   dup3(C, 21, O_CLOEXEC)                      = 21
 *   fcntl(C, F_DUPFD_CLOEXEC, 30)               = 30
 *   for each FD of C, D, 20, 21, 30, with x = c, d, 2, 3, F:
 *     send(FD, "x", 1, 0)                       = 1
 *     recv(P, buf, 64, 0)                       = 1 "x"
 *   then for each of C, D, 20, 21 in turn, with the next fd in the list
 *   (D, 20, 21, 30) as NEXT:
 *     close(FD)
 *     recv(P, buf, 64, MSG_DONTWAIT)            = -1 EAGAIN (no end of file)
 *     send(NEXT, "x", 1, 0)                     = 1  (x = d, 2, 3, F)
 *     recv(P, buf, 64, 0)                       = 1 "x"
 *   fork()
 *   child:  send(30, "child", 5, 0) = 5, _exit(0)  (all inherited fds close)
 *   parent: waitpid
 *           recv(P) until 5 bytes               "child"
 *           recv(P, buf, 64, MSG_DONTWAIT)      = -1 EAGAIN (the child's
 *                                                 exit closed only its copies)
 *           close(30)                           (the last fd of C)
 *           recv(P, buf, 64, 0)                 = 0 (end of file)
 *           close(P), close(S)
 *
 * Only the parent prints.
 */
#include <fcntl.h>

#include "common.h"

/* Prints what the peer has right now, without waiting for it. */
static void peek_peer(int peer)
{
    char buf[64];
    print_data("peer recv (no wait)", recv(peer, buf, sizeof buf, MSG_DONTWAIT), buf);
}

int main(void)
{
    start();
    char buf[64];
    int port;
    int server = listen_tcp4(&port);
    int client = connect_tcp4(port);
    int peer = accept(server, NULL, NULL);
    if (peer < 0)
        die("accept");

    int d = dup(client);
    if (d < 0)
        die("dup");
    print_result("dup2 onto 20", dup2(client, 20));
    print_result("dup3 onto 21", dup3(client, 21, O_CLOEXEC));
    int f = fcntl(client, F_DUPFD_CLOEXEC, 30);
    print_result("F_DUPFD_CLOEXEC from 30", f);
    if (f != 30)
        fail("F_DUPFD_CLOEXEC did not return 30");

    /* The same connection through every fd. */
    int fds[] = {client, d, 20, 21, 30};
    const char *tags = "cd23F";
    for (int i = 0; i < 5; i++) {
        char what[32];
        snprintf(what, sizeof what, "send '%c'", tags[i]);
        print_result(what, send(fds[i], &tags[i], 1, 0));
        print_data("peer recv", recv(peer, buf, sizeof buf, 0), buf);
    }

    /* Closing all but the last fd leaves the connection open. */
    for (int i = 0; i < 4; i++) {
        char what[32];
        snprintf(what, sizeof what, "close fd %d of 5", i + 1);
        print_result(what, close(fds[i]));
        peek_peer(peer);
        snprintf(what, sizeof what, "send '%c'", tags[i + 1]);
        print_result(what, send(fds[i + 1], &tags[i + 1], 1, 0));
        print_data("peer recv", recv(peer, buf, sizeof buf, 0), buf);
    }

    /* A child sends through its inherited copy of the last fd. */
    pid_t pid = fork_or_die();
    if (pid == 0) {
        if (send(30, "child", 5, 0) != 5)
            _exit(1);
        _exit(0);
    }
    wait_child(pid);
    recv_exact(peer, buf, 5);
    print_data("peer recv", 5, buf);
    peek_peer(peer);

    /* Only closing the last fd ends the connection. */
    print_result("close fd 5 of 5", close(30));
    print_data("peer recv", recv(peer, buf, sizeof buf, 0), buf);

    close(peer);
    close(server);
    return 0;
}
