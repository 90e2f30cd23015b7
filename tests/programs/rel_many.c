/* rel_many: many sockets open at once. Opens PAIRS socketpairs, keeps them
 * all open, checks each pair works, then closes every fd.
 *
 * Usage: rel_many [PAIRS]   (default 1000)
 *
 * When 2 * PAIRS + 64 fds do not fit under the soft RLIMIT_NOFILE, it
 * raises both limits to 2 * PAIRS + 10000 first (root may raise the hard
 * limit); if that is refused it prints "skip: ..." and exits 77.
 *
 * Calls, in order:
 *   PAIRS times: socketpair(AF_UNIX, SOCK_STREAM, 0) = (a[i], b[i])
 *   for each i: send(a[i], "m", 1, 0) = 1, recv(b[i], 1, 0) = "m"
 *   for each i: close(a[i]), close(b[i])
 *
 * stdout: the counts (deterministic). stderr: "VmHWM: N kB" (the peak
 * resident set size, from /proc/self/status) and "VmRSS: N kB".
 */
#include <sys/resource.h>

#include "common.h"

static void print_memory(void)
{
    FILE *f = fopen("/proc/self/status", "r");
    if (f == NULL)
        return;
    char line[256];
    while (fgets(line, sizeof line, f) != NULL)
        if (strncmp(line, "VmHWM:", 6) == 0 || strncmp(line, "VmRSS:", 6) == 0)
            fputs(line, stderr);
    fclose(f);
}

int main(int argc, char **argv)
{
    start();
    alarm(120);
    long pairs = argc > 1 ? atol(argv[1]) : 1000;
    if (pairs < 1 || pairs > 500000)
        fail("usage: rel_many [PAIRS (1-500000)]");

    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        die("getrlimit");
    rlim_t need = (rlim_t)(2 * pairs + 64);
    if (rl.rlim_cur < need) {
        rlim_t want = (rlim_t)(2 * pairs + 10000);
        struct rlimit more = {want, want > rl.rlim_max ? want : rl.rlim_max};
        if (setrlimit(RLIMIT_NOFILE, &more) < 0) {
            printf("skip: cannot raise RLIMIT_NOFILE to %lu: %s\n", (unsigned long)want,
                   errname(errno));
            return 77;
        }
    }

    int *fds = malloc(sizeof(int) * 2 * (size_t)pairs);
    if (fds == NULL)
        fail("malloc");
    for (long i = 0; i < pairs; i++)
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, &fds[2 * i]) < 0)
            die("socketpair");
    long good = 0;
    for (long i = 0; i < pairs; i++) {
        char c = 0;
        if (send(fds[2 * i], "m", 1, 0) != 1)
            die("send");
        if (recv(fds[2 * i + 1], &c, 1, 0) == 1 && c == 'm')
            good++;
    }
    long closed = 0;
    for (long i = 0; i < 2 * pairs; i++)
        closed += close(fds[i]) == 0;
    free(fds);
    printf("pairs: %ld, working: %ld, fds closed: %ld\n", pairs, good, closed);
    print_memory();
    return good == pairs && closed == 2 * pairs ? 0 : 1;
}
