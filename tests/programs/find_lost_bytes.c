/* find_lost_bytes: two messages (10 and 20 bytes) over a stream socketpair,
 * for the lost-bytes finding. Run it under --fault send:short=1 so that
 * every send() moves one byte.
 *
 * Usage: find_lost_bytes [wrong|right|chunked]   (default: wrong)
 *   wrong: naive_send() sends each message with ONE send() and ignores the
 *          return value: the 2nd send loses 9 bytes of the 1st message, the
 *          close() the 19 left of the 2nd (lost-bytes twice, 28 bytes).
 *   right: send_fully() sends each message with a loop of send()s, each one
 *          carrying on where the last stopped (a sendall).
 *   chunked: send_in_chunks() is just as correct, but each send() asks for
 *          at most CHUNK (8) bytes: after a short send the next one starts
 *          where it stopped and asks for a whole chunk again.
 * Prints "fd N" (the sending socket), then what the peer received.
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM) = (A, B);
 *        send(A, ..., MSG_NOSIGNAL) (wrong: 2 calls; right, chunked: 1 per
 *        byte);
 *        close(A); recv(B) until end of file; close(B).
 */
#include "common.h"

static const char MSG1[] = "0123456789";
static const char MSG2[] = "abcdefghijklmnopqrst";

NOIPA static void naive_send(int fd, const char *msg)
{
    ssize_t n = send(fd, msg, strlen(msg), MSG_NOSIGNAL); /* the rest is lost */
    if (n < 0)
        die("send");
}

NOIPA static void send_fully(int fd, const char *msg)
{
    size_t len = strlen(msg), done = 0;
    while (done < len) {
        ssize_t n = send(fd, msg + done, len - done, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("send");
        done += (size_t)n;
    }
}

#define CHUNK 8

NOIPA static void send_in_chunks(int fd, const char *msg)
{
    size_t len = strlen(msg), done = 0;
    while (done < len) {
        size_t ask = len - done < CHUNK ? len - done : CHUNK;
        ssize_t n = send(fd, msg + done, ask, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("send");
        done += (size_t)n;
    }
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0 &&
                      strcmp(mode, "chunked") != 0)) {
        fprintf(stderr, "usage: find_lost_bytes [wrong|right|chunked]\n");
        return 2;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    printf("fd %d\n", sv[0]);
    void (*send_message)(int, const char *) = strcmp(mode, "wrong") == 0 ? naive_send
                                              : strcmp(mode, "right") == 0 ? send_fully
                                                                              : send_in_chunks;
    send_message(sv[0], MSG1);
    send_message(sv[0], MSG2);
    close(sv[0]);
    char buf[64];
    size_t got = recv_all(sv[1], buf, sizeof buf);
    printf("peer received %zu bytes: '%.*s'\n", got, (int)got, buf);
    close(sv[1]);
    return 0;
}
