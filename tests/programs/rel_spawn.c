/* rel_spawn: starts a Python child with posix_spawn and another with
 * system(), between socket calls of its own. glibc makes the child inside
 * posix_spawn and system with internal clone/exec calls no wrapper sees;
 * the child is traced from the moment the program it runs loads the
 * library again.
 *
 * Usage: rel_spawn [PYTHON]   (default /usr/bin/python3)
 *
 * Calls, in order:
 *   socketpair(AF_UNIX, SOCK_STREAM, 0) = (a, b)
 *   send(a, "before", 6, 0) = 6, recv(b, 64, 0) = "before"
 *   posix_spawn(PYTHON -c CODE), waitpid
 *   send(a, "between", 7, 0) = 7, recv(b, 64, 0) = "between"
 *   system("PYTHON -c 'CODE'")
 *   send(a, "after", 5, 0) = 5, recv(b, 64, 0) = "after"
 *   close(a), close(b)
 * CODE is "import socket, os; socket.socket().close();
 * os.write(2, b'python pid %d\n' % os.getpid())": one socket(AF_INET,
 * SOCK_STREAM|SOCK_CLOEXEC, 0) and its close, then its pid on stderr.
 *
 * stdout: what was received and how each child ended (deterministic).
 */
#include <spawn.h>

#include "common.h"

extern char **environ;

#define CODE                                                                   \
    "import socket, os; socket.socket().close(); "                           \
    "os.write(2, b'python pid %d\\n' % os.getpid())"

static void exchange(int a, int b, const char *word)
{
    if (send(a, word, strlen(word), 0) != (ssize_t)strlen(word))
        die("send");
    char buf[64];
    ssize_t n = recv(b, buf, sizeof buf, 0);
    print_data("recv", n, buf);
}

int main(int argc, char **argv)
{
    start();
    alarm(30);
    const char *python = argc > 1 ? argv[1] : "/usr/bin/python3";
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    exchange(sv[0], sv[1], "before");

    fflush(stdout);
    pid_t pid;
    char *child_argv[] = {(char *)python, "-c", CODE, NULL};
    int err = posix_spawn(&pid, python, NULL, NULL, child_argv, environ);
    if (err != 0) {
        errno = err;
        die("posix_spawn");
    }
    int status;
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid");
    printf("posix_spawn child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    fprintf(stderr, "posix_spawn pid %d\n", (int)pid);
    exchange(sv[0], sv[1], "between");

    char command[512];
    snprintf(command, sizeof command, "%s -c \"%s\"", python, CODE);
    fflush(stdout);
    status = system(command);
    printf("system child: %s %d\n", WIFEXITED(status) ? "exit" : "signal",
           WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
    exchange(sv[0], sv[1], "after");

    close(sv[0]);
    close(sv[1]);
    return 0;
}
