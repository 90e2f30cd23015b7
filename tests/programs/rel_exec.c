/* rel_exec: a connected socket crosses an exec. The program makes a
 * socketpair with SOCK_CLOEXEC, clears FD_CLOEXEC on one end, queues data
 * for it, and execs itself with that fd's number; the new image uses the
 * socket it inherited, then lists its open fds.
 *
 * Usage: rel_exec              the first image
 *        rel_exec child FD     the new image (what the first one execs)
 *
 * Calls, in order:
 *   first image: socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0) = (a, b)
 *                fcntl(a, F_SETFD, 0)          (a survives the exec)
 *                send(b, "before exec", 11, 0) = 11
 *                execv("/proc/self/exe", {argv[0], "child", "A"})
 *                (b is close-on-exec: the exec closes it, no wrapper sees it)
 *   new image:   recv(a, 64, 0) = "before exec"   (the shim adopts a first)
 *                recv(a, 64, 0) = 0                (b is gone: end of file)
 *                close(a)
 *                then reads /proc/self/fd
 *
 * stdout: what the new image received; "fds: N" the number of entries in
 * /proc/self/fd that the program can use (fcntl(F_GETFD) succeeds: the
 * shim's own trace fd answers EBADF, as a closed fd would); stderr: every
 * entry as "fd N -> TARGET".
 */
#include <dirent.h>
#include <fcntl.h>

#include "common.h"

static int child(int fd)
{
    char buf[64];
    ssize_t n = recv(fd, buf, sizeof buf, 0);
    print_data("child recv", n, buf);
    n = recv(fd, buf, sizeof buf, 0);
    print_data("child recv", n, buf);
    close(fd);

    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        die("opendir");
    int usable = 0, entries = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] == '.')
            continue;
        int n_fd = atoi(e->d_name);
        char path[64], target[512];
        snprintf(path, sizeof path, "/proc/self/fd/%d", n_fd);
        ssize_t len = readlink(path, target, sizeof target - 1);
        target[len > 0 ? len : 0] = '\0';
        fprintf(stderr, "fd %d -> %s\n", n_fd, target);
        entries++;
        if (fcntl(n_fd, F_GETFD) >= 0)
            usable++;
    }
    closedir(d);
    fprintf(stderr, "entries: %d\n", entries);
    printf("fds: %d\n", usable);
    return 0;
}

int main(int argc, char **argv)
{
    start();
    if (argc > 2 && strcmp(argv[1], "child") == 0)
        return child(atoi(argv[2]));

    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
        die("socketpair");
    if (fcntl(sv[0], F_SETFD, 0) < 0)
        die("fcntl");
    if (send(sv[1], "before exec", 11, 0) != 11)
        die("send");
    char fdnum[16];
    snprintf(fdnum, sizeof fdnum, "%d", sv[0]);
    printf("exec with the socket's fd\n");
    fflush(stdout);
    char *args[] = {argv[0], "child", fdnum, NULL};
    execv("/proc/self/exe", args);
    die("execv");
}
