/* threads_churn: many short TCP connections from several threads at once
 * against a server thread in the same process.
 *
 * Usage: threads_churn [THREADS [CYCLES]]   (defaults: 4 threads, 50 cycles)
 *
 * Calls, in order:
 *   main:   socket(AF_INET, SOCK_STREAM, 0) = S, setsockopt(S, SO_REUSEADDR),
 *           bind(S, 127.0.0.1:0), listen(S, 128), getsockname(S)
 *           then starts the server thread and THREADS client threads
 *   server thread, THREADS * CYCLES times:
 *           accept(S, NULL, NULL) = A
 *           recv(A) until 4 bytes    "ping" (usually one call)
 *           send(A, "pong", 4, 0)    = 4
 *           close(A)
 *   each client thread, CYCLES times:
 *           socket(AF_INET, SOCK_STREAM, 0) = C, connect(C, 127.0.0.1:PORT)
 *           send(C, "ping", 4, 0)    = 4
 *           recv(C) until it returns 0 (usually: 4 "pong", then 0)
 *           close(C)
 *   main:   joins all threads, close(S)
 * The order of calls between threads varies from run to run; each thread's
 * own sequence does not. Only main prints, the totals, after the joins.
 */
#include <pthread.h>

#include "common.h"

struct client_totals {
    int cycles;
    long sent, received, good_replies;
};

static int server_port;
static int server_fd;
static int connections_expected;
static long server_accepted, server_received;

static void *server_thread(void *arg)
{
    for (int i = 0; i < connections_expected; i++) {
        int fd = accept(server_fd, NULL, NULL);
        if (fd < 0)
            die("accept");
        char buf[4];
        recv_exact(fd, buf, sizeof buf);
        if (memcmp(buf, "ping", 4) != 0)
            fail("server: not a ping");
        if (send(fd, "pong", 4, 0) != 4)
            die("send");
        close(fd);
        server_accepted++;
        server_received += 4;
    }
    return NULL;
}

static void *client_thread(void *arg)
{
    struct client_totals *totals = arg;
    for (int i = 0; i < totals->cycles; i++) {
        int fd = connect_tcp4(server_port);
        if (send(fd, "ping", 4, 0) != 4)
            die("send");
        totals->sent += 4;
        char buf[16];
        size_t n = recv_all(fd, buf, sizeof buf);
        totals->received += (long)n;
        if (n == 4 && memcmp(buf, "pong", 4) == 0)
            totals->good_replies++;
        close(fd);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    start();
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    int cycles = argc > 2 ? atoi(argv[2]) : 50;
    if (threads < 1 || threads > 64 || cycles < 0)
        fail("usage: threads_churn [THREADS (1-64) [CYCLES]]");

    server_fd = listen_tcp4_backlog(&server_port, 128);
    connections_expected = threads * cycles;

    pthread_t server;
    if (pthread_create(&server, NULL, server_thread, NULL) != 0)
        fail("pthread_create");
    pthread_t clients[64];
    struct client_totals totals[64];
    for (int t = 0; t < threads; t++) {
        totals[t] = (struct client_totals){.cycles = cycles};
        if (pthread_create(&clients[t], NULL, client_thread, &totals[t]) != 0)
            fail("pthread_create");
    }

    long sent = 0, received = 0, good = 0;
    for (int t = 0; t < threads; t++) {
        pthread_join(clients[t], NULL);
        sent += totals[t].sent;
        received += totals[t].received;
        good += totals[t].good_replies;
    }
    pthread_join(server, NULL);
    close(server_fd);

    printf("threads: %d, cycles each: %d\n", threads, cycles);
    printf("server: accepted %ld, received %ld bytes\n", server_accepted, server_received);
    printf("clients: sent %ld bytes, received %ld bytes, good replies %ld\n", sent, received,
           good);
    return good == (long)threads * cycles ? 0 : 1;
}
