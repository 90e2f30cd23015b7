/* sink_server: a TCP server for fault-injection tests: it counts and
 * checksums everything one client sends.
 *
 * Output: the first line is the port it listens on (flushed at once, so a
 * test can start a client against it); then, after the client has closed:
 *   bytes: N
 *   fnv1a64: HHHHHHHHHHHHHHHH      (FNV-1a 64-bit hash of the bytes, hex)
 *
 * Calls, in order:
 *   socket(AF_INET, SOCK_STREAM, 0) = S
 *   setsockopt(S, SOL_SOCKET, SO_REUSEADDR, 1)
 *   bind(S, 127.0.0.1:0)
 *   listen(S, 5)
 *   getsockname(S)
 *   accept(S, NULL, NULL) = A
 *   read(A, buf, 65536) until it returns 0
 *   close(A), close(S)
 */
#include <inttypes.h>
#include <stdint.h>

#include "common.h"

int main(void)
{
    start();
    int port;
    int server = listen_tcp4(&port);
    printf("%d\n", port);
    fflush(stdout);

    int fd = accept(server, NULL, NULL);
    if (fd < 0)
        die("accept");

    static char buf[65536];
    uint64_t hash = 14695981039346656037ULL; /* FNV-1a 64 offset basis */
    unsigned long long total = 0;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0)
            die("read");
        if (n == 0)
            break;
        for (ssize_t i = 0; i < n; i++) {
            hash ^= (unsigned char)buf[i];
            hash *= 1099511628211ULL; /* FNV-1a 64 prime */
        }
        total += (unsigned long long)n;
    }
    close(fd);
    close(server);
    printf("bytes: %llu\n", total);
    printf("fnv1a64: %016" PRIx64 "\n", hash);
    return 0;
}
