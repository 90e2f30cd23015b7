/* raw_syscall_close: closes sockets with syscall(), as libuv (Node.js)
 * does, then reuses their numbers for a file, and makes other system calls
 * through syscall() that the shim must pass on untouched.
 *
 *  0 mkstemp(), write(it), close(it)                a scratch file (not traced)
 *  1 socket(AF_INET, SOCK_STREAM, 0)                = S
 *  2 syscall(SYS_close, S)                          = 0
 *  3 open(the scratch file)                        = S's number again
 *    read(it, 64)                                   = the file's bytes (a file:
 *                                                     not traced), close(it)
 *  4 socket(AF_INET, SOCK_DGRAM, 0) x 3             = U1, U2, U3
 *  5 bind(U1, 127.0.0.1:0), getsockname(U1)
 *  6 syscall(SYS_sendto, U2, "raw sendto", 10, 0, &U1's address, len)
 *                                                   = 10 (six arguments, the
 *                                                     last one on the stack)
 *    recv(U1, 64)                                   = "raw sendto"
 *  7 syscall(SYS_close_range, U3, U3, CLOSE_RANGE_CLOEXEC) = 0
 *  8 syscall(SYS_close_range, U1, U3, 0)            = 0 (closes all three)
 *  9 syscall(SYS_close, -1)                         = -1 EBADF
 * 10 syscall(SYS_close, U1)                         = -1 EBADF (closed by 8)
 * 11 syscall(SYS_getpid)                            = getpid()
 *    unlink(the scratch file)
 */
#include <linux/close_range.h>
#include <sys/syscall.h>

#include "common.h"

int main(void)
{
    start();
    char path[] = "/tmp/sockshim-raw-close-XXXXXX";
    make_scratch_file(path, "file data, not socket data\n");

    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    print_result("syscall(SYS_close)", syscall(SYS_close, s));
    char buf[64];
    ssize_t n = read_file_on_number(path, s, buf, sizeof buf);
    printf("read the file on the socket's number: %.*s", (int)n, buf);

    int u[3];
    for (int i = 0; i < 3; i++)
        if ((u[i] = socket(AF_INET, SOCK_DGRAM, 0)) < 0)
            die("socket");
    if (u[1] != u[0] + 1 || u[2] != u[0] + 2)
        fail("the three sockets are not consecutive");
    struct sockaddr_in addr = loopback4(0);
    socklen_t len = sizeof addr;
    if (bind(u[0], (struct sockaddr *)&addr, sizeof addr) < 0 ||
        getsockname(u[0], (struct sockaddr *)&addr, &len) < 0)
        die("bind");
    print_result("syscall(SYS_sendto)", syscall(SYS_sendto, u[1], "raw sendto", 10, 0,
                                                (struct sockaddr *)&addr, sizeof addr));
    n = recv(u[0], buf, sizeof buf, 0);
    if (n < 0)
        die("recv");
    printf("received: %.*s\n", (int)n, buf);

    print_result("syscall(SYS_close_range, CLOEXEC)",
                 syscall(SYS_close_range, u[2], u[2], CLOSE_RANGE_CLOEXEC));
    print_result("syscall(SYS_close_range)", syscall(SYS_close_range, u[0], u[2], 0));
    print_result("syscall(SYS_close, -1)", syscall(SYS_close, -1));
    print_result("syscall(SYS_close) again", syscall(SYS_close, u[0]));
    printf("syscall(SYS_getpid) is getpid(): %s\n",
           syscall(SYS_getpid) == getpid() ? "yes" : "no");
    unlink(path);
    return 0;
}
