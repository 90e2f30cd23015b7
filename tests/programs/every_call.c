/* every_call: calls every libc entry point the shim interposes on a socket,
 * each exactly once (ioctl and splice twice, as noted), in this fixed order,
 * so a test can check each is traced exactly once. One process; children of
 * the fork calls only _exit(0).
 *
 * Sockets: L = the TCP listener (non-blocking from the start, so accept
 * does not wait); A, B = an AF_UNIX stream pair that carries the data. With
 * socket() called only once there is no second TCP socket, so accept and
 * accept4 find no connection (EAGAIN) and connect is made on the listener
 * itself (EISCONN).
 *
 *  1 socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0) = L
 *  2 socketpair(AF_UNIX, SOCK_STREAM, 0, sv)      = 0, sv = A, B
 *  3 bind(L, 127.0.0.1:0)                         = 0
 *  4 listen(L, 5)                                 = 0
 *  5 getsockname(L)                               = 0 (learns the port)
 *  6 accept(L, NULL, NULL)                        = -1 EAGAIN
 *  7 accept4(L, NULL, NULL, SOCK_CLOEXEC)         = -1 EAGAIN
 *  8 connect(L, 127.0.0.1:PORT)                   = -1 EISCONN
 *  9 send(A, "send", 4, 0)                        = 4
 * 10 sendto(A, "sendto", 6, 0, NULL, 0)           = 6
 * 11 sendmsg(A, ["sendmsg"], 0)                   = 7
 * 12 sendmmsg(A, [["mm1"], ["mm2"]], 2, 0)        = 2
 * 13 recv(B, buf, 4, 0)                           = 4 "send"
 * 14 recvfrom(B, buf, 6, 0, NULL, NULL)           = 6 "sendto"
 * 15 recvmsg(B, [7 bytes], 0)                     = 7 "sendmsg"
 * 16 recvmmsg(B, [[3 bytes], [3 bytes]], 2, 0, NULL) = 2 "mm1" "mm2"
 * 17 write(B, "write", 5)                         = 5
 * 18 read(A, buf, 5)                              = 5 "write"
 * 19 writev(B, ["writ", "ev"], 2)                 = 6
 * 20 readv(A, [3 bytes, 3 bytes], 2)              = 6 "wri" "tev"
 * 21 pwritev2(B, ["pwritev2"], 1, -1, 0)          = 8
 * 22 preadv2(A, [8 bytes], 1, -1, 0)              = 8 "pwritev2"
 * 23 sendfile(A, TMPFILE, &offset 0, 8)           = 8 (file holds "sendfile")
 * 24 splice(B, NULL, PIPE_W, NULL, 8, 0)          = 8 (socket into pipe)
 * 25 splice(PIPE_R, NULL, A, NULL, 8, 0)          = 8 (pipe into socket)
 * 26 ioctl(B, FIONREAD, &n)                       = 0, n = 8
 * 27 getsockopt(L, SOL_SOCKET, SO_ACCEPTCONN)     = 0, value 1
 * 28 setsockopt(A, SOL_SOCKET, SO_KEEPALIVE, 1)   = 0
 * 29 shutdown(A, SHUT_WR)                         = 0
 * 30 getpeername(A)                               = 0, AF_UNIX unnamed
 * 31 dup(A)                                       = D
 * 32 dup2(A, 50)                                  = 50
 * 33 dup3(A, 41, O_CLOEXEC)                       = 41
 * 34 fcntl(A, F_GETFL)                            = O_RDWR (O_NONBLOCK clear)
 * 35 fcntl64(41, F_DUPFD_CLOEXEC, 42)             = 42
 * 36 ioctl(A, FIONBIO, &1)                        = 0
 * 37 fork()                                       child _exit(0)s; waitpid
 * 38 vfork()                                      child _exit(0)s; waitpid
 * 39 _Fork()                                      child _exit(0)s; waitpid
 * 40 fdopen(B, "r+") then fclose()                = 0 (closes B)
 * 41 close(L)                                     = 0
 * 42 close_range(41, 42, 0)                       = 0 (closes two dups of A)
 * 43 closefrom(50)                                (closes the dup of A at 50)
 * A and D (both the socket A) are left open; the kernel closes them at exit.
 *
 * Other libc calls it makes are on non-sockets only: tmpfile, fputs, fflush
 * (the temporary file), pipe, waitpid, and stdio on stdout.
 */
#include <fcntl.h>
#include <sys/ioctl.h>
#include <sys/sendfile.h>
#include <sys/uio.h>

#include "common.h"

/* Prints the result of a call that returns a new fd: "ok", not the number,
 * which depends on what else the process has open. */
static void print_fd(const char *what, int ret)
{
    if (ret < 0)
        print_result(what, ret);
    else
        printf("%s: ok\n", what);
}

/* Waits for the child of one of the fork calls and prints how it ended. */
static void print_child(const char *what, pid_t pid)
{
    if (pid < 0) {
        print_result(what, pid);
        return;
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid");
    printf("%s: child exit %d\n", what, WIFEXITED(status) ? WEXITSTATUS(status) : -1);
}

int main(void)
{
    start();
    char buf[64];
    int sv[2];

    /* 1 socket */
    int l = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    print_fd("socket", l);
    if (l < 0)
        return 1;

    /* 2 socketpair */
    print_result("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    int a = sv[0], b = sv[1];

    /* 3 bind */
    struct sockaddr_in sin = loopback4(0);
    print_result("bind", bind(l, (struct sockaddr *)&sin, sizeof sin));

    /* 4 listen */
    print_result("listen", listen(l, 5));

    /* 5 getsockname */
    socklen_t len = sizeof sin;
    print_result("getsockname", getsockname(l, (struct sockaddr *)&sin, &len));

    /* 6 accept: nothing is connecting, the listener is non-blocking */
    print_fd("accept", accept(l, NULL, NULL));

    /* 7 accept4 */
    print_fd("accept4", accept4(l, NULL, NULL, SOCK_CLOEXEC));

    /* 8 connect: the listener to its own address */
    print_result("connect", connect(l, (struct sockaddr *)&sin, len));

    /* 9 send */
    print_result("send", send(a, "send", 4, 0));

    /* 10 sendto */
    print_result("sendto", sendto(a, "sendto", 6, 0, NULL, 0));

    /* 11 sendmsg */
    struct iovec iov = {.iov_base = "sendmsg", .iov_len = 7};
    struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};
    print_result("sendmsg", sendmsg(a, &msg, 0));

    /* 12 sendmmsg */
    struct iovec mm_out[2] = {{.iov_base = "mm1", .iov_len = 3}, {.iov_base = "mm2", .iov_len = 3}};
    struct mmsghdr mmsg[2];
    memset(mmsg, 0, sizeof mmsg);
    mmsg[0].msg_hdr.msg_iov = &mm_out[0];
    mmsg[0].msg_hdr.msg_iovlen = 1;
    mmsg[1].msg_hdr.msg_iov = &mm_out[1];
    mmsg[1].msg_hdr.msg_iovlen = 1;
    print_result("sendmmsg", sendmmsg(a, mmsg, 2, 0));

    /* 13 recv */
    print_data("recv", recv(b, buf, 4, 0), buf);

    /* 14 recvfrom */
    print_data("recvfrom", recvfrom(b, buf, 6, 0, NULL, NULL), buf);

    /* 15 recvmsg */
    iov.iov_base = buf;
    iov.iov_len = 7;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    print_data("recvmsg", recvmsg(b, &msg, 0), buf);

    /* 16 recvmmsg */
    char m1[3], m2[3];
    struct iovec mm_in[2] = {{.iov_base = m1, .iov_len = 3}, {.iov_base = m2, .iov_len = 3}};
    memset(mmsg, 0, sizeof mmsg);
    mmsg[0].msg_hdr.msg_iov = &mm_in[0];
    mmsg[0].msg_hdr.msg_iovlen = 1;
    mmsg[1].msg_hdr.msg_iov = &mm_in[1];
    mmsg[1].msg_hdr.msg_iovlen = 1;
    print_result("recvmmsg", recvmmsg(b, mmsg, 2, 0, NULL));
    printf("recvmmsg messages: %u '%.3s' %u '%.3s'\n", mmsg[0].msg_len, m1, mmsg[1].msg_len, m2);

    /* 17 write */
    print_result("write", write(b, "write", 5));

    /* 18 read */
    print_data("read", read(a, buf, 5), buf);

    /* 19 writev */
    struct iovec out[2] = {{.iov_base = "writ", .iov_len = 4}, {.iov_base = "ev", .iov_len = 2}};
    print_result("writev", writev(b, out, 2));

    /* 20 readv */
    char r1[3], r2[3];
    struct iovec in[2] = {{.iov_base = r1, .iov_len = 3}, {.iov_base = r2, .iov_len = 3}};
    print_result("readv", readv(a, in, 2));
    printf("readv parts: '%.3s' '%.3s'\n", r1, r2);

    /* 21 pwritev2: offset -1, as on any stream */
    iov.iov_base = "pwritev2";
    iov.iov_len = 8;
    print_result("pwritev2", pwritev2(b, &iov, 1, -1, 0));

    /* 22 preadv2: offset -1 */
    iov.iov_base = buf;
    iov.iov_len = 8;
    print_data("preadv2", preadv2(a, &iov, 1, -1, 0), buf);

    /* 23 sendfile: from a temporary file into A */
    FILE *tmp = tmpfile();
    if (tmp == NULL || fputs("sendfile", tmp) < 0 || fflush(tmp) != 0)
        die("tmpfile");
    off_t offset = 0;
    print_result("sendfile", sendfile(a, fileno(tmp), &offset, 8));

    /* 24 splice: from B (holding what sendfile sent) into a pipe */
    int pipefd[2];
    if (pipe(pipefd) < 0)
        die("pipe");
    print_result("splice socket->pipe", splice(b, NULL, pipefd[1], NULL, 8, 0));

    /* 25 splice: from the pipe into A */
    print_result("splice pipe->socket", splice(pipefd[0], NULL, a, NULL, 8, 0));

    /* 26 ioctl FIONREAD: what splice sent is waiting on B */
    int pending = -1;
    print_result("ioctl FIONREAD", ioctl(b, FIONREAD, &pending));
    printf("FIONREAD bytes: %d\n", pending);

    /* 27 getsockopt */
    int value = -1;
    socklen_t vlen = sizeof value;
    print_result("getsockopt SO_ACCEPTCONN", getsockopt(l, SOL_SOCKET, SO_ACCEPTCONN, &value, &vlen));
    printf("SO_ACCEPTCONN: %d\n", value);

    /* 28 setsockopt */
    int one = 1;
    print_result("setsockopt SO_KEEPALIVE", setsockopt(a, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));

    /* 29 shutdown */
    print_result("shutdown", shutdown(a, SHUT_WR));

    /* 30 getpeername: the peer of a socket pair is unnamed */
    struct sockaddr_storage peer;
    socklen_t plen = sizeof peer;
    print_result("getpeername", getpeername(a, (struct sockaddr *)&peer, &plen));
    printf("getpeername: %s, path length %d\n", peer.ss_family == AF_UNIX ? "AF_UNIX" : "other",
           (int)plen - (int)sizeof(sa_family_t));

    /* 31 dup */
    int d = dup(a);
    print_fd("dup", d);

    /* 32 dup2: onto 50, for closefrom at the end */
    print_result("dup2", dup2(a, 50));

    /* 33 dup3: onto 41, for close_range */
    print_result("dup3", dup3(a, 41, O_CLOEXEC));

    /* 34 fcntl */
    int flags = fcntl(a, F_GETFL);
    if (flags < 0)
        print_result("fcntl F_GETFL", flags);
    else
        printf("fcntl F_GETFL: %s, O_NONBLOCK %s\n", (flags & O_ACCMODE) == O_RDWR ? "O_RDWR" : "other",
               flags & O_NONBLOCK ? "set" : "clear");

    /* 35 fcntl64 (declared by <fcntl.h> with _GNU_SOURCE): onto 42 */
    int f = fcntl64(41, F_DUPFD_CLOEXEC, 42);
    print_result("fcntl64 F_DUPFD_CLOEXEC", f);
    if (f != 42)
        fail("fcntl64 did not return 42");

    /* 36 ioctl FIONBIO */
    print_result("ioctl FIONBIO", ioctl(a, FIONBIO, &one));

    /* 37 fork */
    fflush(stdout);
    pid_t pid = fork();
    if (pid == 0)
        _exit(0);
    print_child("fork", pid);

    /* 38 vfork */
    pid = vfork();
    if (pid == 0)
        _exit(0);
    print_child("vfork", pid);

    /* 39 _Fork */
    fflush(stdout);
    pid = _Fork();
    if (pid == 0)
        _exit(0);
    print_child("_Fork", pid);

    /* 40 fdopen then fclose: closes B */
    FILE *stream = fdopen(b, "r+");
    if (stream == NULL)
        die("fdopen");
    print_result("fclose", fclose(stream));

    /* 41 close */
    print_result("close", close(l));

    /* 42 close_range: fds 41 and 42, two dups of A */
    print_result("close_range", close_range(41, 42, 0));

    /* 43 closefrom: fd 50, the last dup of A (returns nothing) */
    closefrom(50);
    printf("closefrom: done\n");
    return 0;
}
