/* rel_nomem: the address space runs out while the program opens sockets.
 *
 *   rel_nomem [PAIRS]     (default 1500)
 *
 * Raises its fd limit to the hard limit, then caps its address space
 * (RLIMIT_AS) at what it maps now plus 256 KiB, and makes PAIRS
 * socketpairs: any memory the shim wants for them (socket objects come in
 * chunks of 160 KiB) is soon refused. Then, for every pair:
 *   send(sv[0], "x", 1, 0) = 1;  recv(sv[1], buf, 1, 0) = 1 'x'
 * and closes all. Prints how many pairs worked; the program needs no
 * memory of its own after the cap, so bare and traced print the same.
 */
#include <sys/resource.h>

#include "common.h"

static unsigned long mapped_bytes(void)
{
    FILE *f = fopen("/proc/self/statm", "r");
    unsigned long pages = 0;
    if (f == NULL || fscanf(f, "%lu", &pages) != 1)
        fail("statm");
    fclose(f);
    return pages * (unsigned long)sysconf(_SC_PAGESIZE);
}

int main(int argc, char **argv)
{
    start();
    int pairs = argc > 1 ? atoi(argv[1]) : 1500;
    struct rlimit nofile;
    if (getrlimit(RLIMIT_NOFILE, &nofile) != 0)
        die("getrlimit");
    nofile.rlim_cur = nofile.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &nofile) != 0)
        die("setrlimit NOFILE");
    if (nofile.rlim_cur < (rlim_t)(2 * pairs + 64))
        pairs = (int)(nofile.rlim_cur - 64) / 2;
    int (*sv)[2] = calloc((size_t)pairs, sizeof *sv);
    if (sv == NULL)
        die("calloc");
    printf("pairs: %d\n", pairs);

    struct rlimit as = {mapped_bytes() + (256u << 10), RLIM_INFINITY};
    as.rlim_max = as.rlim_cur;
    if (setrlimit(RLIMIT_AS, &as) != 0)
        die("setrlimit AS");

    int worked = 0;
    for (int i = 0; i < pairs; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv[i]) != 0)
            die("socketpair");
    for (int i = 0; i < pairs; i++) {
        char c = 0;
        if (send(sv[i][0], "x", 1, 0) == 1 && recv(sv[i][1], &c, 1, 0) == 1 && c == 'x')
            worked++;
    }
    for (int i = 0; i < pairs; i++) {
        close(sv[i][0]);
        close(sv[i][1]);
    }
    printf("worked: %d of %d\n", worked, pairs);
    return worked == pairs ? 0 : 1;
}
