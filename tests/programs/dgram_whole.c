/* dgram_whole: a 12-byte message, "hello, world", through a pair of
 * sockets of one kind, received into a buffer that holds it and, on the
 * kinds that keep message boundaries, into buffers that do not: what
 * short= must leave exactly as the kernel makes it.
 *
 * Usage: dgram_whole [udp|unix|seqpacket|stream]   (none: each in turn)
 *
 * Calls, in order, for each kind (one process, no fork):
 *   udp        socket(AF_INET, SOCK_DGRAM, 0) = A, bind(A, 127.0.0.1:0),
 *              getsockname(A); the same for B; A sends with sendto(A, ...,
 *              B's address)
 *   unix       socketpair(AF_UNIX, SOCK_DGRAM, 0) = A, B
 *   seqpacket  socketpair(AF_UNIX, SOCK_SEQPACKET, 0) = A, B
 *   stream     socketpair(AF_UNIX, SOCK_STREAM, 0) = A, B
 *              (the socketpairs send with sendto(A, ..., NULL, 0))
 * then
 *   send 12 from A; recv(B, 100 bytes, 0)
 * and, except for stream (where MSG_TRUNC means something else):
 *   send 12 from A; recvmsg(B, one 4-byte iovec, 0): the kernel truncates
 *              the message to 4 bytes and sets MSG_TRUNC in msg_flags
 *   send 12 from A; recv(B, 4-byte buffer, MSG_TRUNC): returns the
 *              message's real length, 12, with 4 bytes in the buffer
 *   close(A), close(B)
 *
 * Prints "kind: KIND", then "send: RET" for each send and, for each
 * receive, what it returned, the bytes in the buffer and (recvmsg) whether
 * MSG_TRUNC came back.
 */
#include <sys/uio.h>

#include "common.h"

static const char MESSAGE[] = "hello, world"; /* 12 bytes */
#define MESSAGE_LEN (sizeof MESSAGE - 1)

struct pair {
    int a, b;
    struct sockaddr_in b_addr; /* udp: where A sends */
    int udp;
};

static const char *const KINDS[] = {"udp", "unix", "seqpacket", "stream"};

static void open_pair(const char *kind, struct pair *p)
{
    memset(p, 0, sizeof *p);
    if (strcmp(kind, "udp") == 0) {
        struct sockaddr_in a_addr;
        p->udp = 1;
        p->a = bound_udp4(&a_addr);
        p->b = bound_udp4(&p->b_addr);
        return;
    }
    int type = strcmp(kind, "unix") == 0        ? SOCK_DGRAM
               : strcmp(kind, "seqpacket") == 0 ? SOCK_SEQPACKET
               : strcmp(kind, "stream") == 0    ? SOCK_STREAM
                                                : -1;
    if (type < 0)
        fail("usage: dgram_whole [udp|unix|seqpacket|stream]");
    int sv[2];
    if (socketpair(AF_UNIX, type, 0, sv) < 0)
        die("socketpair");
    p->a = sv[0];
    p->b = sv[1];
}

static void send_message(const struct pair *p)
{
    const struct sockaddr *to = p->udp ? (const struct sockaddr *)&p->b_addr : NULL;
    socklen_t tolen = p->udp ? sizeof p->b_addr : 0;
    print_result("send", sendto(p->a, MESSAGE, MESSAGE_LEN, 0, to, tolen));
}

/* Room for the whole message and more. */
static void recv_whole(const struct pair *p)
{
    char buf[100];
    print_data("recv 100", recv(p->b, buf, sizeof buf, 0), buf);
}

/* A 4-byte iovec: the kernel truncates the message and says so. */
static void recvmsg_small(const struct pair *p)
{
    char buf[4];
    struct iovec iov = {buf, sizeof buf};
    struct msghdr msg;
    memset(&msg, 0, sizeof msg);
    msg.msg_iov = &iov;
    msg.msg_iovlen = 1;
    ssize_t n = recvmsg(p->b, &msg, 0);
    if (n < 0)
        die("recvmsg");
    printf("recvmsg 4: %zd '%.*s' %s\n", n, (int)n, buf,
           msg.msg_flags & MSG_TRUNC ? "MSG_TRUNC" : "no MSG_TRUNC");
}

/* MSG_TRUNC asks for the message's real length. The buffer is allocated
 * to exactly 4 bytes, so that a sanitizer sees anyone reading past it. */
static void recv_small_truncating(const struct pair *p)
{
    char *buf = malloc(4);
    if (buf == NULL)
        fail("malloc");
    ssize_t n = recv(p->b, buf, 4, MSG_TRUNC);
    if (n < 0)
        die("recv");
    printf("recv 4 MSG_TRUNC: %zd '%.*s'\n", n, n < 4 ? (int)n : 4, buf);
    free(buf);
}

static void run_kind(const char *kind)
{
    struct pair p;
    printf("kind: %s\n", kind);
    open_pair(kind, &p);
    send_message(&p);
    recv_whole(&p);
    if (strcmp(kind, "stream") != 0) {
        send_message(&p);
        recvmsg_small(&p);
        send_message(&p);
        recv_small_truncating(&p);
    }
    close(p.a);
    close(p.b);
}

int main(int argc, char *argv[])
{
    start();
    if (argc > 2)
        fail("usage: dgram_whole [udp|unix|seqpacket|stream]");
    if (argc == 2) {
        run_kind(argv[1]);
        return 0;
    }
    for (size_t i = 0; i < sizeof KINDS / sizeof KINDS[0]; i++)
        run_kind(KINDS[i]);
    return 0;
}
