/* ipv6_echo: tcp_echo over ::1, a TCP server and client in one process
 * (fork). If IPv6 is not available (socket(AF_INET6) or bind to ::1 fails),
 * it prints "ipv6: unavailable" and exits 0.
 *
 * Calls, in order:
 *   parent: socket(AF_INET6, SOCK_STREAM, 0) = S
 *           setsockopt(S, SOL_SOCKET, SO_REUSEADDR, 1)
 *           bind(S, [::1]:0)
 *           listen(S, 5)
 *           getsockname(S)                      (to learn the port)
 *           fork()
 *   child:  close(S)                            (its inherited copy)
 *           socket(AF_INET6, SOCK_STREAM, 0) = C
 *           connect(C, [::1]:PORT)
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

static struct sockaddr_in6 loopback6(int port)
{
    struct sockaddr_in6 sin6;
    memset(&sin6, 0, sizeof sin6);
    sin6.sin6_family = AF_INET6;
    sin6.sin6_port = htons((unsigned short)port);
    sin6.sin6_addr = in6addr_loopback;
    return sin6;
}

/* The listening socket, or -1 if IPv6 is unavailable. */
static int listen_tcp6(int *port)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        return -1;
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die("setsockopt");
    struct sockaddr_in6 sin6 = loopback6(0);
    if (bind(fd, (struct sockaddr *)&sin6, sizeof sin6) < 0) {
        close(fd);
        return -1;
    }
    if (listen(fd, 5) < 0)
        die("listen");
    *port = local_port(fd);
    return fd;
}

static void client(int port)
{
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in6 sin6 = loopback6(port);
    print_result("connect", connect(fd, (struct sockaddr *)&sin6, sizeof sin6));
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
    int listener = listen_tcp6(&port);
    if (listener < 0) {
        printf("ipv6: unavailable\n");
        return 0;
    }

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
