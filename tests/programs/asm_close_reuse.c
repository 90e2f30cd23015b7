/* asm_close_reuse: a socket closed by a system call the shim cannot see
 * (the syscall instruction itself, as inline assembly or io_uring would),
 * its number then given to a file by open(), and the file read.
 *
 *  0 mkstemp(), write the file, close(it)           (not traced)
 *  1 socket(AF_INET, SOCK_STREAM, 0)                = S
 *  2 the close system call on S, in assembly        = 0 (unseen)
 *  3 open(the file)                                 = S's number
 *    read(it, 64)                                   = the whole file: the
 *      shim takes the number for the socket still, but a fault rule for
 *      recv must not cut a file's read
 *    close(it), unlink(the file)
 */
#include <sys/syscall.h>

#include "common.h"

static long close_behind_the_shims_back(int fd)
{
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"((long)SYS_close), "D"((long)fd)
                     : "rcx", "r11", "memory");
    return ret;
}

int main(void)
{
    start();
    char path[] = "/tmp/sockshim-asm-close-XXXXXX";
    make_scratch_file(path, "the whole file, read at once\n");

    int s = socket(AF_INET, SOCK_STREAM, 0);
    if (s < 0)
        die("socket");
    printf("closed unseen: %ld\n", close_behind_the_shims_back(s));
    char buf[64];
    ssize_t n = read_file_on_number(path, s, buf, sizeof buf);
    printf("read %zd bytes: %.*s", n, (int)n, buf);
    unlink(path);
    return 0;
}
