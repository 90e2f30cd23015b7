/* A program linked with libearly.so (tests/programs/lib/early.c), whose
 * constructor makes socket calls before main and maybe before the shim's
 * constructor. Calls: (in the library's constructor) socketpair, send,
 * close; (in main) recv(early_fd, 64) until EOF, close(early_fd). Prints
 * what it received. */
#include "common.h"

extern int early_fd;

int main(void)
{
    start();
    if (early_fd < 0)
        fail("the library's constructor made no socket");
    char buf[64];
    ssize_t n = recv(early_fd, buf, sizeof buf, 0);
    print_data("recv", n, buf);
    n = recv(early_fd, buf, sizeof buf, 0);
    print_result("recv", n);
    print_result("close", close(early_fd));
    return 0;
}
