/* secure_probe: says whether libsockshim.so is loaded into it and whether
 * its kernel runs it in secure-execution mode, then makes one exchange on
 * a socket pair. tests/test_secure.py runs it set-user-ID.
 *
 * Calls, in order (one process):
 *   socketpair(AF_UNIX, SOCK_STREAM, 0) = S0, S1
 *   send(S0, "ping", 4, 0) = 4;  recv(S1, buf, 64, 0) = 4 "ping"
 *   close(S0), close(S1)
 */
#include <link.h>
#include <sys/auxv.h>

#include "common.h"

static int find_shim(struct dl_phdr_info *info, size_t size, void *found)
{
    (void)size;
    if (strstr(info->dlpi_name, "libsockshim.so") != NULL)
        *(int *)found = 1;
    return 0;
}

int main(void)
{
    int loaded = 0;
    dl_iterate_phdr(find_shim, &loaded);
    printf("shim loaded: %s\n", loaded ? "yes" : "no");
    printf("secure execution: %s\n", getauxval(AT_SECURE) ? "yes" : "no");
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        die("socketpair");
    ssize_t sent = send(sv[0], "ping", 4, 0);
    printf("send: %zd%s%s\n", sent, sent < 0 ? " " : "", sent < 0 ? errname(errno) : "");
    char buf[64];
    ssize_t got = sent > 0 ? recv(sv[1], buf, sizeof buf, 0) : 0;
    printf("recv: %zd\n", got);
    close(sv[0]);
    close(sv[1]);
    return 0;
}
