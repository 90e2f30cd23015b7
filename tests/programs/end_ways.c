/* end_ways: a process that ends in one of the ways that run no destructor.
 *
 *   end_ways HOW [PROGRAM]
 *
 * Calls, in order:
 *   socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = a     (close-on-exec)
 *   bind(a, 127.0.0.1:0)
 *   socket(AF_INET, SOCK_DGRAM, 0) = b                   (inherited by an exec)
 * then, by HOW:
 *   _exit      _exit(3)
 *   _Exit      _Exit(4)
 *   exec       execl(PROGRAM, PROGRAM, NULL)            (PROGRAM's status)
 *   execfail   execl(PROGRAM, ...) fails: prints "exec: ENAME", then
 *              close(a), close(b), returns 0
 *   kill       raise(SIGKILL)
 *   segv       raise(SIGSEGV), at its default action
 * Neither socket is closed before the end, except after execfail.
 */
#include <signal.h>

#include "common.h"

static void end(const char *how, const char *program)
{
    if (strcmp(how, "_exit") == 0)
        _exit(3);
    if (strcmp(how, "_Exit") == 0)
        _Exit(4);
    if (strcmp(how, "exec") == 0 || strcmp(how, "execfail") == 0) {
        execl(program, program, (char *)NULL);
        printf("exec: %s\n", errname(errno));
        return;
    }
    if (strcmp(how, "kill") == 0)
        raise(SIGKILL);
    if (strcmp(how, "segv") == 0) {
        signal(SIGSEGV, SIG_DFL);
        raise(SIGSEGV);
    }
    fprintf(stderr, "end_ways: unknown HOW %s\n", how);
    exit(2);
}

int main(int argc, char **argv)
{
    if (argc < 2 || ((strcmp(argv[1], "exec") == 0 || strcmp(argv[1], "execfail") == 0) &&
                     argc < 3)) {
        fprintf(stderr, "usage: end_ways _exit|_Exit|exec PROGRAM|execfail PROGRAM|kill|segv\n");
        return 2;
    }
    int a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    if (a < 0 || bind(a, (struct sockaddr *)&sin, sizeof sin) != 0) {
        perror("end_ways: socket/bind");
        return 1;
    }
    int b = socket(AF_INET, SOCK_DGRAM, 0);
    if (b < 0) {
        perror("end_ways: socket");
        return 1;
    }
    fflush(stdout);
    end(argv[1], argv[2]);
    close(a);
    close(b);
    return 0;
}
