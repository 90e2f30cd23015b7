/* The benchmark's workloads: one program, one workload per first argument.
 *
 *   workload pingpong N       N one-byte round trips over TCP 127.0.0.1
 *   workload bulk MIB         MIB MiB in 64 KiB sends over TCP 127.0.0.1
 *   workload churn N          N connect/accept/close cycles
 *   workload threads T N      T client threads, N round trips each
 *   workload twoconn N PORT   two connections in one poll() loop of one
 *                             thread (servers and clients, as an asyncio
 *                             program has them), N one-byte round trips
 *                             each at once; the first server listens on
 *                             PORT (a fault rule can aim at it); prints
 *                             each connection's median and 99th percentile
 *                             round trip in microseconds
 *   workload paced KIB PORT   a child sends KIB KiB to the parent, which
 *                             listens on PORT and receives it all; prints
 *                             the seconds the transfer took (a rate= rule
 *                             on port PORT paces it)
 *   workload udpsend N        N one-byte sends on a connected UDP socket
 *                             nobody reads (the callgrind probe: one
 *                             intercepted call an iteration, never blocks)
 *
 * The server side runs in a child process (fork), as in a real client and
 * server, so tracers that follow children (strace -f) do their whole job.
 * Every call's result is checked: a workload that fails exits non-zero, so
 * a broken configuration cannot pass for a fast one.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define CHUNK (64 * 1024)

static void die(const char *what)
{
    fprintf(stderr, "workload: %s: %s\n", what, strerror(errno));
    exit(1);
}

static long arg_count(const char *s)
{
    char *end;
    long v = strtol(s, &end, 10);
    if (*s == '\0' || *end != '\0' || v <= 0) {
        fprintf(stderr, "workload: bad count '%s'\n", s);
        exit(2);
    }
    return v;
}

static struct sockaddr_in loopback(int port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sin;
}

/* A listening socket on 127.0.0.1 and an ephemeral port; returns the port. */
static int listen_loopback(int *port, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = loopback(0);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
        die("bind");
    if (listen(fd, backlog) != 0)
        die("listen");
    socklen_t len = sizeof sin;
    if (getsockname(fd, (struct sockaddr *)&sin, &len) != 0)
        die("getsockname");
    *port = ntohs(sin.sin_port);
    return fd;
}

static int connect_loopback(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = loopback(port);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) != 0)
        die("connect");
    return fd;
}

static void no_delay(int fd)
{
    int one = 1;
    if (setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one) != 0)
        die("setsockopt");
}

static void send_all(int fd, const char *buf, size_t len)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            die("send");
        buf += n;
        len -= (size_t)n;
    }
}

static void wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) != pid)
        die("waitpid");
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        fprintf(stderr, "workload: the server failed (status %#x)\n", status);
        exit(1);
    }
}

/* Runs serve(listener, arg) in a child; the parent keeps no copy of the
 * listener. */
static pid_t start_server(int listener, void (*serve)(int, long), long arg)
{
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        serve(listener, arg);
        _exit(0);
    }
    close(listener);
    return pid;
}

/* ---- (a) ping-pong ------------------------------------------------------ */

/* Echoes single bytes until the peer closes. */
static void echo_bytes(int fd)
{
    char b;
    for (;;) {
        ssize_t n = recv(fd, &b, 1, 0);
        if (n == 0)
            return;
        if (n < 0)
            die("recv");
        send_all(fd, &b, 1);
    }
}

static void ping(int fd, long rounds)
{
    char b = 'x';
    for (long i = 0; i < rounds; i++) {
        send_all(fd, &b, 1);
        if (recv(fd, &b, 1, 0) != 1)
            die("recv");
    }
}

static void serve_echo(int listener, long conns)
{
    for (long i = 0; i < conns; i++) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0)
            die("accept");
        no_delay(fd);
        echo_bytes(fd);
        close(fd);
    }
}

static void pingpong(long rounds)
{
    int port;
    int listener = listen_loopback(&port, 1);
    pid_t pid = start_server(listener, serve_echo, 1);
    int fd = connect_loopback(port);
    no_delay(fd);
    ping(fd, rounds);
    close(fd);
    wait_child(pid);
}

/* ---- (b) bulk ------------------------------------------------------------ */

static void serve_sink(int listener, long expected)
{
    int fd = accept(listener, NULL, NULL);
    if (fd < 0)
        die("accept");
    static char buf[CHUNK];
    long total = 0;
    for (;;) {
        ssize_t n = recv(fd, buf, sizeof buf, 0);
        if (n == 0)
            break;
        if (n < 0)
            die("recv");
        total += n;
    }
    close(fd);
    if (total != expected) {
        fprintf(stderr, "workload: received %ld of %ld bytes\n", total, expected);
        exit(1);
    }
}

static void bulk(long mib)
{
    int port;
    int listener = listen_loopback(&port, 1);
    long bytes = mib * 1024 * 1024;
    pid_t pid = start_server(listener, serve_sink, bytes);
    int fd = connect_loopback(port);
    static char buf[CHUNK];
    memset(buf, 'b', sizeof buf);
    for (long sent = 0; sent < bytes; sent += CHUNK)
        send_all(fd, buf, CHUNK);
    close(fd);
    wait_child(pid);
}

/* ---- (c) churn ----------------------------------------------------------- */

/* Accepts and closes at once: the server closes first, so the TIME_WAIT
 * states stay on its side and the client never runs out of ports. */
static void serve_churn(int listener, long conns)
{
    for (long i = 0; i < conns; i++) {
        int fd = accept(listener, NULL, NULL);
        if (fd < 0)
            die("accept");
        close(fd);
    }
}

static void churn(long conns)
{
    int port;
    int listener = listen_loopback(&port, 128);
    pid_t pid = start_server(listener, serve_churn, conns);
    for (long i = 0; i < conns; i++) {
        int fd = connect_loopback(port);
        char b;
        if (recv(fd, &b, 1, 0) != 0) /* waits for the server's close */
            die("recv");
        close(fd);
    }
    wait_child(pid);
}

/* ---- (d) threads ---------------------------------------------------------- */

struct pinger {
    pthread_t thread;
    int port;
    long rounds;
};

static void *pinger_main(void *arg)
{
    struct pinger *p = arg;
    int fd = connect_loopback(p->port);
    no_delay(fd);
    ping(fd, p->rounds);
    close(fd);
    return NULL;
}

struct echoer {
    pthread_t thread;
    int fd;
};

static void *echoer_main(void *arg)
{
    struct echoer *e = arg;
    echo_bytes(e->fd);
    close(e->fd);
    return NULL;
}

/* One echo thread per accepted connection. */
static void serve_threads(int listener, long conns)
{
    struct echoer *e = calloc((size_t)conns, sizeof *e);
    if (e == NULL)
        die("calloc");
    for (long i = 0; i < conns; i++) {
        e[i].fd = accept(listener, NULL, NULL);
        if (e[i].fd < 0)
            die("accept");
        no_delay(e[i].fd);
        if (pthread_create(&e[i].thread, NULL, echoer_main, &e[i]) != 0)
            die("pthread_create");
    }
    for (long i = 0; i < conns; i++)
        pthread_join(e[i].thread, NULL);
    free(e);
}

static void threads(long count, long rounds)
{
    int port;
    int listener = listen_loopback(&port, (int)count);
    pid_t pid = start_server(listener, serve_threads, count);
    struct pinger *p = calloc((size_t)count, sizeof *p);
    if (p == NULL)
        die("calloc");
    for (long i = 0; i < count; i++) {
        p[i].port = port;
        p[i].rounds = rounds;
        if (pthread_create(&p[i].thread, NULL, pinger_main, &p[i]) != 0)
            die("pthread_create");
    }
    for (long i = 0; i < count; i++)
        pthread_join(p[i].thread, NULL);
    free(p);
    wait_child(pid);
}

/* ---- the callgrind probe ------------------------------------------------- */

static void udpsend(long count)
{
    int rx = socket(AF_INET, SOCK_DGRAM, 0);
    int tx = socket(AF_INET, SOCK_DGRAM, 0);
    if (rx < 0 || tx < 0)
        die("socket");
    struct sockaddr_in sin = loopback(0);
    socklen_t len = sizeof sin;
    if (bind(rx, (struct sockaddr *)&sin, sizeof sin) != 0 ||
        getsockname(rx, (struct sockaddr *)&sin, &len) != 0 ||
        connect(tx, (struct sockaddr *)&sin, sizeof sin) != 0)
        die("udp setup");
    for (long i = 0; i < count; i++)
        if (send(tx, "x", 1, 0) != 1)
            die("send");
    close(tx);
    close(rx);
}

/* ---- twoconn ---------------------------------------------------------- */

struct conn {
    int client, server;
    int waiting;      /* a ping is out */
    long done;
    uint64_t sent_ns;
    uint64_t *rtt_us;
};

static uint64_t monotonic_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int listen_on(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    struct sockaddr_in sin = loopback(port);
    if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        bind(fd, (struct sockaddr *)&sin, sizeof sin) != 0 || listen(fd, 1) != 0)
        die("listen");
    return fd;
}

static void open_conn(struct conn *c, int listener, int port, long rounds)
{
    c->client = connect_loopback(port);
    c->server = accept(listener, NULL, NULL);
    if (c->server < 0)
        die("accept");
    no_delay(c->client);
    no_delay(c->server);
    c->rtt_us = calloc((size_t)rounds, sizeof *c->rtt_us);
    if (c->rtt_us == NULL)
        die("calloc");
}

static void one_byte(int from, int to_fd, int echo)
{
    char b;
    if (recv(from, &b, 1, 0) != 1)
        die("recv");
    if (echo && send(to_fd, &b, 1, 0) != 1)
        die("send");
}

static int by_value(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

static void print_percentiles(const struct conn *c, long rounds)
{
    qsort(c->rtt_us, (size_t)rounds, sizeof *c->rtt_us, by_value);
    printf(" %llu %llu", (unsigned long long)c->rtt_us[rounds / 2],
           (unsigned long long)c->rtt_us[rounds * 99 / 100]);
}

static void twoconn(long rounds, int port)
{
    int la = listen_on(port), port_b;
    int lb = listen_loopback(&port_b, 1);
    struct conn conns[2] = {{0}, {0}};
    open_conn(&conns[0], la, port, rounds);
    open_conn(&conns[1], lb, port_b, rounds);
    while (conns[0].done < rounds || conns[1].done < rounds) {
        struct pollfd p[4];
        for (int i = 0; i < 2; i++) {
            struct conn *c = &conns[i];
            if (!c->waiting && c->done < rounds) {
                c->sent_ns = monotonic_ns();
                if (send(c->client, "p", 1, 0) != 1)
                    die("send");
                c->waiting = 1;
            }
            p[2 * i] = (struct pollfd){.fd = c->server, .events = POLLIN};
            p[2 * i + 1] = (struct pollfd){.fd = c->client, .events = POLLIN};
        }
        if (poll(p, 4, -1) < 0 && errno != EINTR)
            die("poll");
        for (int i = 0; i < 2; i++) {
            struct conn *c = &conns[i];
            if (p[2 * i].revents & POLLIN)
                one_byte(c->server, c->server, 1);
            if (p[2 * i + 1].revents & POLLIN) {
                one_byte(c->client, -1, 0);
                c->rtt_us[c->done++] = (monotonic_ns() - c->sent_ns) / 1000;
                c->waiting = 0;
            }
        }
    }
    printf("targeted");
    print_percentiles(&conns[0], rounds);
    printf(" other");
    print_percentiles(&conns[1], rounds);
    printf("\n");
}

/* ---- paced ------------------------------------------------------------ */

static void serve_bytes(int fd, long kib)
{
    static char buf[CHUNK];
    int c = accept(fd, NULL, NULL);
    if (c < 0)
        die("accept");
    uint64_t start = monotonic_ns();
    long long want = kib * 1024LL, got = 0;
    while (got < want) {
        ssize_t n = recv(c, buf, sizeof buf, 0);
        if (n <= 0) {
            if (n < 0 && errno == EINTR)
                continue;
            die("recv");
        }
        got += n;
    }
    printf("%.3f\n", (double)(monotonic_ns() - start) / 1e9);
    close(c);
}

static void paced(long kib, int port)
{
    int l = listen_on(port);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    if (pid == 0) {
        static char buf[CHUNK];
        int c = connect_loopback(port);
        for (long left = kib * 1024; left > 0; left -= CHUNK)
            send_all(c, buf, left < CHUNK ? (size_t)left : CHUNK);
        close(c);
        _exit(0);
    }
    serve_bytes(l, kib);
    wait_child(pid);
}

int main(int argc, char **argv)
{
    const char *w = argc > 1 ? argv[1] : "";
    if (argc == 3 && strcmp(w, "pingpong") == 0)
        pingpong(arg_count(argv[2]));
    else if (argc == 3 && strcmp(w, "bulk") == 0)
        bulk(arg_count(argv[2]));
    else if (argc == 3 && strcmp(w, "churn") == 0)
        churn(arg_count(argv[2]));
    else if (argc == 4 && strcmp(w, "threads") == 0)
        threads(arg_count(argv[2]), arg_count(argv[3]));
    else if (argc == 3 && strcmp(w, "udpsend") == 0)
        udpsend(arg_count(argv[2]));
    else if (argc == 4 && strcmp(w, "paced") == 0)
        paced(arg_count(argv[2]), (int)arg_count(argv[3]));
    else if (argc == 4 && strcmp(w, "twoconn") == 0)
        twoconn(arg_count(argv[2]), (int)arg_count(argv[3]));
    else {
        fprintf(stderr, "usage: workload pingpong N | bulk MIB | churn N | threads T N | "
                        "udpsend N | twoconn N PORT | paced KIB PORT\n");
        return 2;
    }
    return 0;
}
