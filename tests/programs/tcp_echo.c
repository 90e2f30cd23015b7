/* tcp_echo: a TCP server and client over 127.0.0.1 in one process (fork).
 *
 * Calls, in order:
 *   parent: socket(AF_INET, SOCK_STREAM, 0) = S
 *           setsockopt(S, SOL_SOCKET, SO_REUSEADDR, 1)
 *           bind(S, 127.0.0.1:0)
 *           listen(S, 5)
 *           getsockname(S)                      (to learn the port)
 *           fork()
 *   child:  close(S)                            (its inherited copy)
 *           socket(AF_INET, SOCK_STREAM, 0) = C
 *           connect(C, 127.0.0.1:PORT)
 *           send(C, "hello", 5, 0)              = 5
 *           shutdown(C, SHUT_WR)
 *           recv(C) until it returns 0          (normally: 5 "HELLO", then 0)
 *           close(C), exit(0)
 *   parent: accept(S, NULL, NULL) = A
 *           recv(A) until it returns 0          (normally: 5 "hello", then 0)
 *           send(A, "HELLO", 5, 0)              = 5
 *           close(A), close(S), waitpid
 *
 * Only the client prints its steps; the parent prints the child's exit
 * status once the child has finished.
 */
#include <ctype.h>

#include "common.h"

static void client(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = loopback4(port);
    print_result("connect", connect(fd, (struct sockaddr *)&sin, sizeof sin));
    print_result("send", send(fd, "hello", 5, 0));
    print_result("shutdown", shutdown(fd, SHUT_WR));
    char reply[64];
    size_t n = recv_all(fd, reply, sizeof reply);
    print_data("reply", (long)n, reply);
    print_result("close", close(fd));
}

static void server(int listener)
{
    int fd = accept(listener, NULL, NULL);
    if (fd < 0)
        die("accept");
    char buf[64];
    size_t n = recv_all(fd, buf, sizeof buf);
    for (size_t i = 0; i < n; i++)
        buf[i] = (char)toupper((unsigned char)buf[i]);
    if (send(fd, buf, n, 0) != (ssize_t)n)
        die("send");
    close(fd);
}

int main(void)
{
    start();
    int port;
    int listener = listen_tcp4(&port);

    pid_t pid = fork_or_die();
    if (pid == 0) {
        close(listener);
        client(port);
        exit(0);
    }
    server(listener);
    close(listener);
    return wait_child(pid);
}
