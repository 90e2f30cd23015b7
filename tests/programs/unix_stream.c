/* unix_stream: AF_UNIX SOCK_STREAM server and client on a filesystem path,
 * in one process (fork).
 *
 * Usage: unix_stream [DIR]   the socket is DIR/sockshim-unix-PID.sock
 *                            (DIR defaults to /tmp)
 *
 * Calls, in order:
 *   parent: unlink(PATH)                        (in case it is left over)
 *           socket(AF_UNIX, SOCK_STREAM, 0) = S
 *           bind(S, PATH)
 *           listen(S, 1)
 *           fork()
 *   child:  close(S)                            (its inherited copy)
 *           socket(AF_UNIX, SOCK_STREAM, 0) = C
 *           connect(C, PATH)
 *           send(C, "hello", 5, 0)              = 5
 *           recv(C) until it returns 0          (normally: 5 "HELLO", then 0)
 *           close(C), exit(0)
 *   parent: accept(S, NULL, NULL) = A
 *           recv(A, buf, 5, 0)                  = 5 "hello"
 *           send(A, "HELLO", 5, 0)              = 5
 *           close(A), close(S), waitpid, unlink(PATH)
 *
 * Only the child prints its steps; the parent prints the child's exit
 * status and whether the path is gone after the unlink.
 */
#include <sys/un.h>

#include "common.h"

static struct sockaddr_un unix_address(const char *dir)
{
    struct sockaddr_un sun;
    memset(&sun, 0, sizeof sun);
    sun.sun_family = AF_UNIX;
    int len = snprintf(sun.sun_path, sizeof sun.sun_path, "%s/sockshim-unix-%ld.sock",
                       dir, (long)getpid());
    if (len < 0 || (size_t)len >= sizeof sun.sun_path)
        fail("socket path too long");
    return sun;
}

static void client(const struct sockaddr_un *sun)
{
    int fd = socket(AF_UNIX, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    print_result("connect", connect(fd, (const struct sockaddr *)sun, sizeof *sun));
    print_result("send", send(fd, "hello", 5, 0));
    char reply[64];
    size_t n = recv_all(fd, reply, sizeof reply);
    print_data("reply", (long)n, reply);
    print_result("close", close(fd));
}

static void server(int listener)
{
    int fd = accept(listener, NULL, NULL);
    if (fd < 0)
        die("accept");
    char buf[5];
    recv_exact(fd, buf, sizeof buf);
    if (memcmp(buf, "hello", 5) != 0)
        fail("server received something else");
    if (send(fd, "HELLO", 5, 0) != 5)
        die("send");
    close(fd);
}

int main(int argc, char **argv)
{
    start();
    struct sockaddr_un sun = unix_address(argc > 1 ? argv[1] : "/tmp");
    unlink(sun.sun_path);

    int listener = socket(AF_UNIX, SOCK_STREAM, 0);
    if (listener < 0)
        die("socket");
    if (bind(listener, (struct sockaddr *)&sun, sizeof sun) < 0)
        die("bind");
    if (listen(listener, 1) < 0)
        die("listen");

    pid_t pid = fork_or_die();
    if (pid == 0) {
        close(listener);
        client(&sun);
        exit(0);
    }
    server(listener);
    close(listener);
    int status = wait_child(pid);
    if (unlink(sun.sun_path) < 0)
        die("unlink");
    printf("unlinked: %s\n", access(sun.sun_path, F_OK) < 0 ? "yes" : "no");
    return status;
}
