/* A library whose constructor makes socket calls: when a program linked
 * with it starts under sockshim, these calls may come before the shim's own
 * constructor has run. Calls: socketpair(AF_UNIX, SOCK_STREAM), send(sv[0],
 * "early", 5), close(sv[0]); sv[1] stays open for the program to read. */
#include <sys/socket.h>
#include <unistd.h>

int early_fd = -1;

__attribute__((constructor)) static void early_init(void)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
        return;
    send(sv[0], "early", 5, 0);
    close(sv[0]);
    early_fd = sv[1];
}
