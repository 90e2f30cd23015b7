/* rel_churn: many client threads open, use and close TCP connections at
 * once against two acceptor threads on one listening socket, and count every
 * socket call they make, so a test can check that each call made one trace
 * record, no more, no less.
 *
 * Usage: rel_churn [THREADS [CYCLES]]   (defaults: 4 threads, 25 cycles)
 *
 * Calls, in order:
 *   main:   socket(AF_INET, SOCK_STREAM, 0) = S, setsockopt(S, SO_REUSEADDR),
 *           bind(S, 127.0.0.1:0), listen(S, 512), getsockname(S)
 *           then starts 2 acceptor threads and THREADS client threads
 *   each acceptor thread, its share of THREADS * CYCLES times (the shares
 *   add up to the total, so whichever thread wins an accept, both finish):
 *           accept(S, NULL, NULL) = A
 *           recv(A, 4, MSG_WAITALL)  "ping"
 *           send(A, "pong", 4, 0)    = 4
 *           close(A)
 *   each client thread, CYCLES times:
 *           socket(AF_INET, SOCK_STREAM, 0) = C, connect(C, 127.0.0.1:PORT)
 *           send(C, "ping", 4, 0)    = 4
 *           recv(C, 4, MSG_WAITALL)  "pong"
 *           recv(C, 16, 0)           = 0 (end of file)
 *           close(C)
 *   main:   joins all threads, close(S)
 *
 * stdout: the totals (deterministic). stderr: "calls: socket=N connect=N
 * accept=N send=N recv=N close=N setsockopt=N bind=N listen=N
 * getsockname=N", every call the program made, failed or not.
 */
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

enum { C_SOCKET, C_CONNECT, C_ACCEPT, C_SEND, C_RECV, C_CLOSE, C_SETSOCKOPT, C_BIND,
       C_LISTEN, C_GETSOCKNAME, C_COUNT };
static const char *const names[C_COUNT] = {"socket", "connect", "accept", "send",
                                           "recv", "close", "setsockopt", "bind",
                                           "listen", "getsockname"};
static atomic_long counts[C_COUNT];
#define COUNT(k) atomic_fetch_add_explicit(&counts[k], 1, memory_order_relaxed)

static int server_fd, server_port;
static atomic_long accepted, good_replies, bad;

static void *acceptor(void *arg)
{
    long share = (long)(intptr_t)arg;
    for (long i = 0; i < share; i++) {
        COUNT(C_ACCEPT);
        int fd = accept(server_fd, NULL, NULL);
        if (fd < 0)
            die("accept");
        char buf[4];
        COUNT(C_RECV);
        if (recv(fd, buf, 4, MSG_WAITALL) != 4 || memcmp(buf, "ping", 4) != 0)
            atomic_fetch_add(&bad, 1);
        COUNT(C_SEND);
        if (send(fd, "pong", 4, 0) != 4)
            die("send");
        COUNT(C_CLOSE);
        close(fd);
        atomic_fetch_add(&accepted, 1);
    }
    return NULL;
}

static void *client(void *arg)
{
    long cycles = (long)(intptr_t)arg;
    struct sockaddr_in sin = loopback4(server_port);
    for (long i = 0; i < cycles; i++) {
        COUNT(C_SOCKET);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            die("socket");
        COUNT(C_CONNECT);
        if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
            die("connect");
        COUNT(C_SEND);
        if (send(fd, "ping", 4, 0) != 4)
            die("send");
        char buf[16];
        COUNT(C_RECV);
        ssize_t n = recv(fd, buf, 4, MSG_WAITALL);
        COUNT(C_RECV);
        ssize_t end = recv(fd, buf + 4, 12, 0);
        if (n == 4 && memcmp(buf, "pong", 4) == 0 && end == 0)
            atomic_fetch_add(&good_replies, 1);
        else
            atomic_fetch_add(&bad, 1);
        COUNT(C_CLOSE);
        close(fd);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    start();
    alarm(60); /* the test bounds the run itself; this is the last resort */
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    long cycles = argc > 2 ? atol(argv[2]) : 25;
    if (threads < 1 || threads > 256 || cycles < 0)
        fail("usage: rel_churn [THREADS (1-256) [CYCLES]]");

    COUNT(C_SOCKET);
    COUNT(C_SETSOCKOPT);
    COUNT(C_BIND);
    COUNT(C_LISTEN);
    COUNT(C_GETSOCKNAME);
    server_fd = listen_tcp4_backlog(&server_port, 512);

    long total = (long)threads * cycles;
    pthread_t acc[2], cli[256];
    long shares[2] = {total / 2, total - total / 2};
    for (int i = 0; i < 2; i++)
        if (pthread_create(&acc[i], NULL, acceptor, (void *)(intptr_t)shares[i]) != 0)
            fail("pthread_create");
    for (int t = 0; t < threads; t++)
        if (pthread_create(&cli[t], NULL, client, (void *)(intptr_t)cycles) != 0)
            fail("pthread_create");
    for (int t = 0; t < threads; t++)
        pthread_join(cli[t], NULL);
    for (int i = 0; i < 2; i++)
        pthread_join(acc[i], NULL);
    COUNT(C_CLOSE);
    close(server_fd);

    printf("threads: %d, cycles each: %ld\n", threads, cycles);
    printf("accepted: %ld, good replies: %ld, bad: %ld\n", atomic_load(&accepted),
           atomic_load(&good_replies), atomic_load(&bad));
    fprintf(stderr, "calls:");
    for (int k = 0; k < C_COUNT; k++)
        fprintf(stderr, " %s=%ld", names[k], atomic_load(&counts[k]));
    fprintf(stderr, "\n");
    return atomic_load(&good_replies) == total && atomic_load(&bad) == 0 ? 0 : 1;
}
