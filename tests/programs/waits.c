/* waits: select, poll and epoll over a loopback connection and a pipe.
 *
 * Calls, in order (one process, no fork; fds: l=3, c=4, a=5, pipe 6 and 7,
 * epoll instance 8):
 *   listen_tcp4 (socket, setsockopt, bind, listen, getsockname) = l
 *   connect_tcp4 (socket, connect) = c, accept(l, NULL, NULL) = a, pipe
 *   select(8, {a, pipe-r}, {c}, {}, 0.25 s)      = 1 (c writable)
 *   poll([(pipe-r, POLLIN)], 0)                   = 0 (no socket: untraced)
 *   send(c, "ping")                               = 4
 *   poll([(a, POLLIN), (pipe-r, POLLIN), (c, POLLOUT)], 1000) = 2
 *   recv(a, 64)                                   = 4 "ping"
 *   ppoll([(a, POLLIN)], 1.5 ms, no mask)         = 0 (timed out)
 *   epoll_create1(EPOLL_CLOEXEC)                  = ep
 *   epoll_ctl(ADD, a, EPOLLIN, data.fd = a)
 *   epoll_ctl(ADD, pipe-r, EPOLLIN, data = 0xfeed) (no socket: untraced)
 *   epoll_ctl(ADD, c, EPOLLOUT|EPOLLET, data = 0x5ca1ab1e)
 *   write(pipe-w, "x")
 *   epoll_wait(ep, 8, 1000)                       = 2 (c writable, pipe readable)
 *   epoll_ctl(MOD, c, EPOLLIN, data = 0x5ca1ab1e), epoll_ctl(DEL, a)
 *   epoll_pwait(ep, 8, 0, empty mask)             = 1 (the pipe)
 *   pselect(8, {}, {c}, {}, NULL, empty mask)     = 1
 *   close(ep) and the pipe (untraced), close(a), close(c), close(l)
 *
 * Prints what each wait returned.
 */
#include <poll.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/select.h>

#include "common.h"

static void add(int ep, int fd, unsigned events, uint64_t data)
{
    struct epoll_event ev = {.events = events, .data.u64 = data};
    print_result("epoll_ctl add", epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev));
}

static void print_events(const char *what, int n, const struct epoll_event *ev)
{
    printf("%s: %d", what, n);
    for (int i = 0; i < n; i++)
        printf(" %#llx/%#x", (unsigned long long)ev[i].data.u64, ev[i].events);
    printf("\n");
}

int main(void)
{
    start();
    int port;
    int l = listen_tcp4(&port);
    int c = connect_tcp4(port);
    int a = accept(l, NULL, NULL);
    int p[2];
    if (a < 0 || pipe(p) != 0)
        die("accept or pipe");

    fd_set r, w;
    FD_ZERO(&r);
    FD_ZERO(&w);
    FD_SET(a, &r);
    FD_SET(p[0], &r);
    FD_SET(c, &w);
    struct timeval tv = {0, 250000};
    print_result("select", select(p[0] + 2, &r, &w, NULL, &tv));

    struct pollfd only_pipe = {.fd = p[0], .events = POLLIN};
    print_result("poll pipe", poll(&only_pipe, 1, 0));

    print_result("send", send(c, "ping", 4, 0));
    struct pollfd three[3] = {{.fd = a, .events = POLLIN},
                              {.fd = p[0], .events = POLLIN},
                              {.fd = c, .events = POLLOUT}};
    print_result("poll", poll(three, 3, 1000));
    char buf[64];
    print_data("recv", recv(a, buf, sizeof buf, 0), buf);
    struct timespec ms15 = {0, 1500000};
    print_result("ppoll", ppoll(three, 1, &ms15, NULL));

    int ep = epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0)
        die("epoll_create1");
    add(ep, a, EPOLLIN, (uint64_t)a);
    add(ep, p[0], EPOLLIN, 0xfeed);
    add(ep, c, EPOLLOUT | EPOLLET, 0x5ca1ab1e);
    if (write(p[1], "x", 1) != 1)
        die("write");
    struct epoll_event ev[8];
    print_events("epoll_wait", epoll_wait(ep, ev, 8, 1000), ev);
    struct epoll_event in = {.events = EPOLLIN, .data.u64 = 0x5ca1ab1e};
    print_result("epoll_ctl mod", epoll_ctl(ep, EPOLL_CTL_MOD, c, &in));
    print_result("epoll_ctl del", epoll_ctl(ep, EPOLL_CTL_DEL, a, NULL));
    sigset_t none;
    sigemptyset(&none);
    print_events("epoll_pwait", epoll_pwait(ep, ev, 8, 0, &none), ev);

    FD_ZERO(&w);
    FD_SET(c, &w);
    print_result("pselect", pselect(c + 1, NULL, &w, NULL, NULL, &none));

    close(ep);
    close(p[0]);
    close(p[1]);
    close(a);
    close(c);
    close(l);
    return 0;
}
