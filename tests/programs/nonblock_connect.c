/* nonblock_connect: non-blocking connects, one that succeeds and one that is
 * refused, and a receive with no data pending.
 *
 * Calls, in order (one process, no fork):
 *   server:   socket(AF_INET, SOCK_STREAM, 0) = S, setsockopt(S, SO_REUSEADDR),
 *             bind(S, 127.0.0.1:0), listen(S, 5), getsockname(S)
 *   closed:   socket(AF_INET, SOCK_STREAM, 0) = X, bind(X, 127.0.0.1:0),
 *             getsockname(X)        (bound, never listening: connecting to
 *                                    its port is refused)
 *   1st:      socket(AF_INET, SOCK_STREAM, 0) = A
 *             fcntl(A, F_GETFL) = FLAGS
 *             fcntl(A, F_SETFL, FLAGS | O_NONBLOCK)
 *             connect(A, 127.0.0.1:S's port)    = -1 EINPROGRESS (or 0)
 *             poll(A, POLLOUT, 5s)              = 1, POLLOUT
 *             getsockopt(A, SOL_SOCKET, SO_ERROR) = 0, error 0
 *   2nd:      socket(AF_INET, SOCK_STREAM, 0) = B
 *             ioctl(B, FIONBIO, &1)
 *             connect(B, 127.0.0.1:X's port)    = -1 EINPROGRESS
 *             poll(B, POLLOUT, 5s)              = 1, POLLOUT|POLLERR|POLLHUP
 *             getsockopt(B, SOL_SOCKET, SO_ERROR) = 0, error ECONNREFUSED
 *   no data:  recv(A, buf, 64, 0)               = -1 EAGAIN
 *             (the connection is still waiting in S's accept queue)
 *   close(B), close(A), close(X), close(S)
 */
#include <fcntl.h>
#include <poll.h>
#include <sys/ioctl.h>

#include "common.h"

/* Waits for FD to become writable and prints the events poll reported. */
static void wait_writable(const char *what, int fd)
{
    struct pollfd pfd = {.fd = fd, .events = POLLOUT};
    int n = poll(&pfd, 1, 5000);
    if (n < 0)
        die("poll");
    printf("%s: %d%s%s%s\n", what, n, pfd.revents & POLLOUT ? " POLLOUT" : "",
           pfd.revents & POLLERR ? " POLLERR" : "", pfd.revents & POLLHUP ? " POLLHUP" : "");
}

/* Prints the pending error of FD (getsockopt SO_ERROR). */
static void print_so_error(const char *what, int fd)
{
    int err = -1;
    socklen_t len = sizeof err;
    int ret = getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
    if (ret < 0)
        die("getsockopt");
    printf("%s: %d error %s\n", what, ret, err == 0 ? "0" : errname(err));
}

/* Prints the result of a non-blocking connect: EINPROGRESS and 0 both mean
 * the connection is under way, so they print the same. */
static void print_connect(const char *what, int ret)
{
    if (ret == 0 || errno == EINPROGRESS)
        printf("%s: in progress (EINPROGRESS or 0)\n", what);
    else
        print_result(what, ret);
}

int main(void)
{
    start();
    int port;
    int server = listen_tcp4(&port);

    int closed = socket(AF_INET, SOCK_STREAM, 0);
    if (closed < 0)
        die("socket");
    struct sockaddr_in any = loopback4(0);
    if (bind(closed, (struct sockaddr *)&any, sizeof any) < 0)
        die("bind");
    int closed_port = local_port(closed);

    /* 1st: made non-blocking with fcntl, connects to a listening server. */
    int a = socket(AF_INET, SOCK_STREAM, 0);
    if (a < 0)
        die("socket");
    int flags = fcntl(a, F_GETFL);
    if (flags < 0)
        die("fcntl F_GETFL");
    printf("F_GETFL: O_NONBLOCK %s\n", flags & O_NONBLOCK ? "set" : "clear");
    print_result("F_SETFL O_NONBLOCK", fcntl(a, F_SETFL, flags | O_NONBLOCK));
    struct sockaddr_in sin = loopback4(port);
    print_connect("connect a", connect(a, (struct sockaddr *)&sin, sizeof sin));
    wait_writable("poll a", a);
    print_so_error("SO_ERROR a", a);

    /* 2nd: made non-blocking with ioctl, connects to a port nobody listens on. */
    int b = socket(AF_INET, SOCK_STREAM, 0);
    if (b < 0)
        die("socket");
    int one = 1;
    print_result("ioctl FIONBIO", ioctl(b, FIONBIO, &one));
    sin = loopback4(closed_port);
    print_result("connect b", connect(b, (struct sockaddr *)&sin, sizeof sin));
    wait_writable("poll b", b);
    print_so_error("SO_ERROR b", b);

    /* A non-blocking receive with nothing to receive. */
    char buf[64];
    print_data("recv a", recv(a, buf, sizeof buf, 0), buf);

    close(b);
    close(a);
    close(closed);
    close(server);
    return 0;
}
