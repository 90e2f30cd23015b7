/* naive_client: a careless TCP client for fault-injection tests: it sends
 * its whole buffer with ONE send() call and ignores the return value, so a
 * short write injected by the shim silently loses data.
 *
 * Usage: naive_client PORT COUNT
 *   sends COUNT bytes of the repeating pattern "abcdefghijklmnopqrstuvwxyz"
 *   (byte i is 'a' + i % 26) to 127.0.0.1:PORT, then prints "sent".
 *
 * Calls, in order:
 *   socket(AF_INET, SOCK_STREAM, 0) = C
 *   connect(C, 127.0.0.1:PORT)
 *   send(C, buf, COUNT, 0)          (return value ignored)
 *   close(C)
 */
#include "common.h"

int main(int argc, char **argv)
{
    start();
    if (argc != 3) {
        fprintf(stderr, "usage: naive_client PORT COUNT\n");
        return 2;
    }
    int port = atoi(argv[1]);
    size_t count = strtoul(argv[2], NULL, 10);
    char *buf = malloc(count ? count : 1);
    if (buf == NULL)
        die("malloc");
    for (size_t i = 0; i < count; i++)
        buf[i] = (char)('a' + i % 26);

    int fd = connect_tcp4(port);
    (void)send(fd, buf, count, 0);
    close(fd);
    free(buf);
    printf("sent\n");
    return 0;
}
