/* socketpair_basic: AF_UNIX socket pairs, stream and datagram, used with
 * every family of data calls, and a socket passed over SCM_RIGHTS.
 *
 * Calls, in order (one process, no fork):
 *   socketpair(AF_UNIX, SOCK_STREAM, 0) = S0, S1
 *   write(S0, "abc", 3) = 3;        read(S1, buf, 64) = 3 "abc"
 *   send(S1, "xyz", 3, 0) = 3;      recv(S0, buf, 64, 0) = 3 "xyz"
 *   writev(S0, ["one", "-", "two"]) = 7
 *   readv(S1, [4 bytes, 60 bytes])  = 7: "one-" and "two"
 *   writev(S1, ["back", "wards"])   = 9
 *   readv(S0, [2 bytes, 3 bytes, 59 bytes]) = 9: "ba", "ckw", "ards"
 *   getsockname(S0), getpeername(S0)    both unnamed: length 2, empty path
 *   socketpair(AF_UNIX, SOCK_DGRAM, 0) = D0, D1
 *   send(D0, "ping", 4, 0) = 4;     recv(D1, buf, 64, 0) = 4 "ping"
 *   write(D1, "pong", 4) = 4;       read(D0, buf, 64) = 4 "pong"
 *   getsockname(D1), getpeername(D1)    both unnamed
 *   sendmsg(S0, "fd", SCM_RIGHTS [D0]) = 2
 *   close(D0)                           (the receiver's copy keeps it open)
 *   recvmsg(S1, 64 bytes, room for one fd) = 2 "fd", SCM_RIGHTS: one fd = N
 *   send(N, "passed", 6, 0) = 6;    recv(D1, buf, 64, 0) = 6 "passed"
 *   send(D1, "reply", 5, 0) = 5;    recv(N, buf, 64, 0) = 5 "reply"
 *   close(N), close(D1), close(S1), close(S0)
 */
#include <stddef.h>
#include <sys/uio.h>
#include <sys/un.h>

#include "common.h"

/* Prints an AF_UNIX name as getsockname/getpeername return it. */
static void print_name(const char *what, int fd, int peer)
{
    struct sockaddr_un sun;
    socklen_t len = sizeof sun;
    memset(&sun, 0, sizeof sun);
    int ret = peer ? getpeername(fd, (struct sockaddr *)&sun, &len)
                   : getsockname(fd, (struct sockaddr *)&sun, &len);
    if (ret < 0) {
        print_result(what, ret);
        return;
    }
    size_t pathlen = len - offsetof(struct sockaddr_un, sun_path);
    printf("%s: %d %s length %u path '%.*s'\n", what, ret,
           sun.sun_family == AF_UNIX ? "AF_UNIX" : "other", (unsigned)len, (int)pathlen,
           sun.sun_path);
}

/* Sends fd TO_PASS over SOCK with the data "fd". */
static void send_fd(int sock, int to_pass)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    memset(&control, 0, sizeof control);
    struct iovec iov = {.iov_base = "fd", .iov_len = 2};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    cmsg->cmsg_level = SOL_SOCKET;
    cmsg->cmsg_type = SCM_RIGHTS;
    cmsg->cmsg_len = CMSG_LEN(sizeof(int));
    memcpy(CMSG_DATA(cmsg), &to_pass, sizeof(int));
    print_result("sendmsg SCM_RIGHTS", sendmsg(sock, &msg, 0));
}

/* Receives the data and the fd send_fd sent; returns the fd. */
static int recv_fd(int sock)
{
    union {
        struct cmsghdr align;
        char buf[CMSG_SPACE(sizeof(int))];
    } control;
    char data[64];
    struct iovec iov = {.iov_base = data, .iov_len = sizeof data};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1,
                         .msg_control = control.buf, .msg_controllen = sizeof control.buf};
    ssize_t n = recvmsg(sock, &msg, 0);
    print_data("recvmsg", n, data);
    struct cmsghdr *cmsg = CMSG_FIRSTHDR(&msg);
    if (cmsg == NULL || cmsg->cmsg_level != SOL_SOCKET || cmsg->cmsg_type != SCM_RIGHTS ||
        cmsg->cmsg_len != CMSG_LEN(sizeof(int)))
        fail("recvmsg: no SCM_RIGHTS with one fd");
    int fd;
    memcpy(&fd, CMSG_DATA(cmsg), sizeof fd);
    printf("recvmsg: SCM_RIGHTS with one fd, MSG_CTRUNC %s\n",
           msg.msg_flags & MSG_CTRUNC ? "set" : "clear");
    return fd;
}

int main(void)
{
    start();
    char buf[64];
    int s[2], d[2];

    /* Stream pair: each family of data calls, both ways. */
    print_result("socketpair stream", socketpair(AF_UNIX, SOCK_STREAM, 0, s));
    print_result("write s0", write(s[0], "abc", 3));
    print_data("read s1", read(s[1], buf, sizeof buf), buf);
    print_result("send s1", send(s[1], "xyz", 3, 0));
    print_data("recv s0", recv(s[0], buf, sizeof buf, 0), buf);

    struct iovec out3[] = {{"one", 3}, {"-", 1}, {"two", 3}};
    print_result("writev s0", writev(s[0], out3, 3));
    char a[4], b[60];
    struct iovec in2[] = {{a, sizeof a}, {b, sizeof b}};
    ssize_t n = readv(s[1], in2, 2);
    print_result("readv s1", n);
    printf("readv s1 parts: '%.4s' '%.*s'\n", a, n > 4 ? (int)(n - 4) : 0, b);

    struct iovec out2[] = {{"back", 4}, {"wards", 5}};
    print_result("writev s1", writev(s[1], out2, 2));
    char x[2], y[3], z[59];
    struct iovec in3[] = {{x, sizeof x}, {y, sizeof y}, {z, sizeof z}};
    n = readv(s[0], in3, 3);
    print_result("readv s0", n);
    printf("readv s0 parts: '%.2s' '%.3s' '%.*s'\n", x, y, n > 5 ? (int)(n - 5) : 0, z);

    print_name("getsockname s0", s[0], 0);
    print_name("getpeername s0", s[0], 1);

    /* Datagram pair. */
    print_result("socketpair dgram", socketpair(AF_UNIX, SOCK_DGRAM, 0, d));
    print_result("send d0", send(d[0], "ping", 4, 0));
    print_data("recv d1", recv(d[1], buf, sizeof buf, 0), buf);
    print_result("write d1", write(d[1], "pong", 4));
    print_data("read d0", read(d[0], buf, sizeof buf), buf);
    print_name("getsockname d1", d[1], 0);
    print_name("getpeername d1", d[1], 1);

    /* Pass D0 over the stream pair, close our copy, use the received one. */
    send_fd(s[0], d[0]);
    print_result("close d0", close(d[0]));
    int passed = recv_fd(s[1]);
    print_result("send passed", send(passed, "passed", 6, 0));
    print_data("recv d1", recv(d[1], buf, sizeof buf, 0), buf);
    print_result("send d1", send(d[1], "reply", 5, 0));
    print_data("recv passed", recv(passed, buf, sizeof buf, 0), buf);

    close(passed);
    close(d[1]);
    close(s[1]);
    close(s[0]);
    return 0;
}
