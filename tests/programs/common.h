/* Helpers shared by the test programs in this directory.
 *
 * Every helper is a static inline function so that each program stays one
 * self-contained translation unit. The helpers that make socket calls say in
 * their comment exactly which calls they make, in order, because the tests
 * assert on the trace the shim writes for them.
 *
 * Output rules (the tests compare stdout bare and under the shim byte for
 * byte): print only what is deterministic (return values, errno names,
 * data), never fd numbers, ports, pids or timing.
 */
#ifndef SOCKSHIM_TEST_PROGRAMS_COMMON_H
#define SOCKSHIM_TEST_PROGRAMS_COMMON_H

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

/* Marks a function that must stay a function of its own, called where the
 * program calls it, because a test names it as the place of a finding
 * (tests/test_audit.py, with addr2line): gcc's noipa also keeps it from
 * being cloned or changed by its callers' optimisations; clang has no
 * noipa, and noinline is the nearest it offers. */
#if defined(__clang__)
#define NOIPA __attribute__((noinline))
#else
#define NOIPA __attribute__((noipa))
#endif

/* The name of an errno value ("ECONNREFUSED"), or "E?" if it has none. */
static inline const char *errname(int err)
{
    const char *name = strerrorname_np(err);
    return name ? name : "E?";
}

/* Reports a failed call on stderr and exits with status 1. */
static inline void die(const char *what)
{
    int err = errno;
    fprintf(stderr, "%s: %s (%s)\n", what, errname(err), strerror(err));
    exit(1);
}

/* Reports an unexpected result (errno is meaningless) and exits with 1. */
static inline void fail(const char *what)
{
    fprintf(stderr, "unexpected: %s\n", what);
    exit(1);
}

/* Common start of every program: a watchdog so a bug never hangs the test
 * suite (10 s, or TEST_WATCHDOG seconds: the suite gives more under a
 * sanitizer), and line-buffered stdout so that output written before a fork
 * is never duplicated by the child and lines from parent and child come out
 * in the order they were printed. No socket calls. */
static inline void start(void)
{
    const char *watchdog = getenv("TEST_WATCHDOG");
    alarm(watchdog != NULL && atoi(watchdog) > 0 ? (unsigned)atoi(watchdog) : 10u);
    setvbuf(stdout, NULL, _IOLBF, 0);
}

/* Creates a file from path, a mkstemp() template it completes, holding
 * text (none if NULL), and closes it, so that its fd number is free again.
 * No socket calls. */
static inline void make_scratch_file(char *path, const char *text)
{
    int fd = mkstemp(path);
    if (fd < 0)
        die("mkstemp");
    size_t len = text != NULL ? strlen(text) : 0;
    if (len > 0 && write(fd, text, len) != (ssize_t)len)
        die("write scratch file");
    close(fd);
}

/* Opens path for reading, which must get fd number `number` (the lowest
 * free one: a socket's, just closed), reads up to size bytes into buf,
 * closes it, and returns how many it read. No socket calls. */
static inline ssize_t read_file_on_number(const char *path, int number, char *buf, size_t size)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0)
        die("open");
    if (fd != number)
        fail("the file did not get the socket's number");
    ssize_t n = read(fd, buf, size);
    if (n < 0)
        die("read");
    close(fd);
    return n;
}

/* Prints "what: RET" or, when RET < 0, "what: -1 ENAME" (from errno). */
static inline void print_result(const char *what, long ret)
{
    int err = errno;
    if (ret < 0)
        printf("%s: %ld %s\n", what, ret, errname(err));
    else
        printf("%s: %ld\n", what, ret);
}

/* Prints "what: RET 'DATA'" for a receive call that returned RET bytes of
 * DATA, or "what: -1 ENAME" when it failed. */
static inline void print_data(const char *what, long ret, const char *data)
{
    int err = errno;
    if (ret < 0)
        printf("%s: %ld %s\n", what, ret, errname(err));
    else
        printf("%s: %ld '%.*s'\n", what, ret, (int)ret, data);
}

/* 127.0.0.1:PORT as a socket address. No socket calls. */
static inline struct sockaddr_in loopback4(int port)
{
    struct sockaddr_in sin;
    memset(&sin, 0, sizeof sin);
    sin.sin_family = AF_INET;
    sin.sin_port = htons((unsigned short)port);
    sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    return sin;
}

/* The port a socket is bound to. Calls: getsockname(fd). */
static inline int local_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof ss;
    if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0)
        die("getsockname");
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

/* A TCP server on 127.0.0.1, on a port the kernel picks.
 * Calls: socket(AF_INET, SOCK_STREAM, 0), setsockopt(SOL_SOCKET,
 * SO_REUSEADDR, 1), bind(127.0.0.1:0), listen(BACKLOG), getsockname. */
static inline int listen_tcp4_backlog(int *port, int backlog)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    int one = 1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
        die("setsockopt");
    struct sockaddr_in sin = loopback4(0);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("bind");
    if (listen(fd, backlog) < 0)
        die("listen");
    *port = local_port(fd);
    return fd;
}

/* listen_tcp4_backlog with a backlog of 5. */
static inline int listen_tcp4(int *port)
{
    return listen_tcp4_backlog(port, 5);
}

/* A UDP socket bound to 127.0.0.1 on a port the kernel picks; its
 * address in *name. Calls: socket, bind, getsockname. */
static inline int bound_udp4(struct sockaddr_in *name)
{
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = loopback4(0);
    if (bind(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("bind");
    socklen_t len = sizeof *name;
    if (getsockname(fd, (struct sockaddr *)name, &len) < 0)
        die("getsockname");
    return fd;
}

/* A TCP client connected to 127.0.0.1:PORT.
 * Calls: socket(AF_INET, SOCK_STREAM, 0), connect(127.0.0.1:PORT). */
static inline int connect_tcp4(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    struct sockaddr_in sin = loopback4(port);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("connect");
    return fd;
}

/* Receives until end of file or until CAP bytes; returns the byte count.
 * Calls: recv(fd, ..., 0) repeatedly, the last one returning 0 unless the
 * buffer filled up first. */
static inline size_t recv_all(int fd, char *buf, size_t cap)
{
    size_t got = 0;
    while (got < cap) {
        ssize_t n = recv(fd, buf + got, cap - got, 0);
        if (n < 0)
            die("recv");
        if (n == 0)
            break;
        got += (size_t)n;
    }
    return got;
}

/* Receives exactly LEN bytes (fails on an early end of file).
 * Calls: recv(fd, ..., 0) until LEN bytes arrived (usually once). */
static inline void recv_exact(int fd, char *buf, size_t len)
{
    if (recv_all(fd, buf, len) != len)
        fail("early end of file");
}

/* Waits for a child and prints "child: exit N" (or "child: signal N"). */
static inline int wait_child(pid_t pid)
{
    int status;
    if (waitpid(pid, &status, 0) < 0)
        die("waitpid");
    if (WIFEXITED(status)) {
        printf("child: exit %d\n", WEXITSTATUS(status));
        return WEXITSTATUS(status);
    }
    printf("child: signal %d\n", WTERMSIG(status));
    return 128 + WTERMSIG(status);
}

/* fork() after flushing stdout so the child never repeats buffered output. */
static inline pid_t fork_or_die(void)
{
    fflush(stdout);
    pid_t pid = fork();
    if (pid < 0)
        die("fork");
    return pid;
}

#endif
