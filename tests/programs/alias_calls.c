/* glibc's exported double-underscore aliases, which older binaries and some
 * libraries import instead of the plain names: each must be traced once,
 * as the method its plain name is.
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM); __send(sv[0], "a", 1, 0);
 * __read(sv[1], 8); __write(sv[1], "b", 1); recv(sv[0], 8);
 * __fcntl(sv[0], F_GETFL); socket(AF_INET, SOCK_STREAM); __connect(it, a
 * bound but not listening 127.0.0.1 port) -> ECONNREFUSED; __close on
 * every socket.
 */
#include <fcntl.h>

#include "common.h"

/* Exported by glibc, declared by no header. */
ssize_t __send(int fd, const void *buf, size_t len, int flags);
ssize_t __read(int fd, void *buf, size_t len);
ssize_t __write(int fd, const void *buf, size_t len);
int __close(int fd);
int __connect(int fd, const struct sockaddr *addr, socklen_t len);
int __fcntl(int fd, int cmd, ...);

int main(void)
{
    start();
    int sv[2];
    char buf[8];
    print_result("socketpair", socketpair(AF_UNIX, SOCK_STREAM, 0, sv));
    print_result("__send", __send(sv[0], "a", 1, 0));
    print_data("__read", __read(sv[1], buf, sizeof buf), buf);
    print_result("__write", __write(sv[1], "b", 1));
    print_data("recv", recv(sv[0], buf, sizeof buf, 0), buf);
    print_result("__fcntl F_GETFL has O_RDWR", (__fcntl(sv[0], F_GETFL) & O_ACCMODE) == O_RDWR);

    int closed_port = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = loopback4(0);
    if (bind(closed_port, (struct sockaddr *)&addr, sizeof addr) != 0)
        die("bind");
    addr.sin_port = htons(local_port(closed_port));
    int s = socket(AF_INET, SOCK_STREAM, 0);
    print_result("__connect", __connect(s, (struct sockaddr *)&addr, sizeof addr));
    print_result("__close", __close(s));
    print_result("__close", __close(closed_port));
    print_result("__close", __close(sv[0]));
    print_result("__close", __close(sv[1]));
    return 0;
}
