/* epoll_echo: an edge-triggered epoll echo server on 127.0.0.1:argv[1],
 * one thread, non-blocking sockets. Each registration's data is the fd
 * plus 1 << 40 (not the fd alone, as many servers keep a pointer there).
 * Prints "ready" once it listens; ends when its stdin ends.
 *
 * Calls: socket, setsockopt(SO_REUSEADDR), bind, listen, epoll_create1,
 * epoll_ctl(ADD) of the listener, of stdin and of each accepted socket;
 * then epoll_wait in a loop: accept4(SOCK_NONBLOCK) until EAGAIN, recv and
 * send until EAGAIN, close at end of file.
 */
#include <sys/epoll.h>

#include "common.h"

#define TAG (1ull << 40)

static void add(int ep, int fd, unsigned events)
{
    struct epoll_event ev = {.events = events, .data.u64 = TAG | (unsigned)fd};
    if (epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev) != 0)
        die("epoll_ctl");
}

static void accept_all(int ep, int l)
{
    int c;
    while ((c = accept4(l, NULL, NULL, SOCK_NONBLOCK)) >= 0)
        add(ep, c, EPOLLIN | EPOLLET);
}

/* Echoes what can be read now; 0 when the peer is done. */
static int echo(int fd)
{
    char buf[4096];
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            return 0;
        if (n < 0)
            return errno == EAGAIN ? 1 : 0;
        if (send(fd, buf, (size_t)n, MSG_NOSIGNAL) != n)
            return 0;
    }
}

int main(int argc, char **argv)
{
    if (argc != 2)
        fail("usage: epoll_echo PORT");
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    int one = 1;
    struct sockaddr_in sin = loopback4(atoi(argv[1]));
    if (l < 0 || setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(l, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(l, 16) != 0)
        die("listen");
    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    add(ep, l, EPOLLIN);
    add(ep, 0, EPOLLIN);
    printf("ready\n");
    fflush(stdout);
    for (;;) {
        struct epoll_event ev[16];
        int n = epoll_wait(ep, ev, 16, -1);
        if (n < 0 && errno != EINTR)
            die("epoll_wait");
        for (int i = 0; i < n; i++) {
            int fd = (int)(ev[i].data.u64 & ~TAG);
            if (fd == 0)
                return 0;
            if (fd == l)
                accept_all(ep, l);
            else if (!echo(fd))
                close(fd);
        }
    }
}
