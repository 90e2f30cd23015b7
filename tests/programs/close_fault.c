/* close_fault: what a program sees when close() of a socket fails, for
 * the fault test of close:error=... (Linux frees the descriptor even when
 * close reports an error; the shim must too).
 *
 * Output:
 *   close: RET [ENAME]
 *   fcntl after close: RET [ENAME]     (EBADF: the fd is really closed)
 *   next socket reuses the fd: yes|no  (the lowest free number is reused)
 *
 * Calls: socket(AF_INET, SOCK_STREAM, 0) = S, close(S), fcntl(S, F_GETFD),
 * socket(AF_INET, SOCK_STREAM, 0) = T, close(T).
 */
#include <fcntl.h>

#include "common.h"

int main(void)
{
    start();
    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    print_result("close", close(s));
    print_result("fcntl after close", fcntl(s, F_GETFD));
    int t = socket(AF_INET, SOCK_STREAM, 0);
    if (t < 0)
        die("socket");
    printf("next socket reuses the fd: %s\n", t == s ? "yes" : "no");
    close(t);
    return 0;
}
