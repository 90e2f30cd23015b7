/* rel_fork_busy: fork (or _Fork) while other threads are busy inside socket
 * calls, so that the children start with the shim's state caught mid-call.
 *
 * Usage: rel_fork_busy [MODE [FORKS]]   MODE: fork, _Fork or both (default
 *        fork: TSan, which does not intercept _Fork, reports false races in
 *        a _Fork child), FORKS per mode (default 5)
 *
 * Calls, in order:
 *   main:   socketpair(AF_UNIX, SOCK_STREAM, 0) 4 times = (a[i], b[i])
 *           (fds 3..10), then starts 4 busy threads
 *   busy thread i, until main tells it to stop (after a first round that
 *   main waits for, so every fork happens while all four are running):
 *           send(a[i], "x", 1, 0) = 1, recv(b[i], 1, 0) = "x"
 *   main, FORKS times: fork() or _Fork() = CHILD, then waits for it
 *   each child (alarm(5) first: a child stuck in the shim dies of SIGALRM
 *   and the parent prints it):
 *           close(a[0]), close(b[0]), ... close(a[3]), close(b[3])
 *           socketpair(AF_UNIX, SOCK_STREAM, 0) = (c, d)
 *           send(c, "c", 1, 0) = 1, recv(d, 1, 0) = "c"
 *           close(c), close(d), _exit(0) (_exit(3) if the data was wrong)
 *   main:   stops and joins the threads, then close(a[i]), close(b[i]) for
 *           each i
 *
 * stdout: one line per mode (deterministic). stderr: "busy sends: N" (the
 * total number of sends of the busy threads) and "child pids MODE: P ...".
 */
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>

#include "common.h"

#define BUSY 4

static int a[BUSY], b[BUSY];
static atomic_int stop, started;
static long sends[BUSY];

static void *busy(void *arg)
{
    int i = (int)(intptr_t)arg;
    int first = 1;
    while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
        if (send(a[i], "x", 1, 0) != 1)
            die("send");
        sends[i]++;
        char c;
        if (recv(b[i], &c, 1, 0) != 1 || c != 'x')
            die("recv");
        if (first) {
            first = 0;
            atomic_fetch_add(&started, 1);
        }
    }
    return NULL;
}

static void child(void)
{
    alarm(5);
    for (int i = 0; i < BUSY; i++) {
        close(a[i]);
        close(b[i]);
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        _exit(2);
    char c = 0;
    if (send(sv[0], "c", 1, 0) != 1 || recv(sv[1], &c, 1, 0) != 1)
        _exit(2);
    close(sv[0]);
    close(sv[1]);
    _exit(c == 'c' ? 0 : 3);
}

/* Forks FORKS children one after the other; returns how many exited 0. */
static int run(const char *mode, int forks)
{
    int ok = 0;
    fprintf(stderr, "child pids %s:", mode);
    for (int k = 0; k < forks; k++) {
        fflush(stdout);
        pid_t pid = strcmp(mode, "_Fork") == 0 ? _Fork() : fork();
        if (pid < 0)
            die("fork");
        if (pid == 0)
            child();
        fprintf(stderr, " %d", (int)pid);
        int status;
        if (waitpid(pid, &status, 0) < 0)
            die("waitpid");
        if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
            ok++;
        else if (WIFSIGNALED(status))
            printf("%s child %d: killed by signal %d%s\n", mode, k, WTERMSIG(status),
                   WTERMSIG(status) == SIGALRM ? " (it hung)" : "");
        else
            printf("%s child %d: exit %d\n", mode, k, WEXITSTATUS(status));
    }
    fprintf(stderr, "\n");
    printf("%s: %d of %d children exited 0\n", mode, ok, forks);
    return ok == forks;
}

int main(int argc, char **argv)
{
    start();
    alarm(60);
    const char *mode = argc > 1 ? argv[1] : "fork";
    int forks = argc > 2 ? atoi(argv[2]) : 5;
    if (strcmp(mode, "fork") != 0 && strcmp(mode, "_Fork") != 0 && strcmp(mode, "both") != 0)
        fail("usage: rel_fork_busy [fork|_Fork|both [FORKS]]");

    for (int i = 0; i < BUSY; i++) {
        int sv[2];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
            die("socketpair");
        a[i] = sv[0];
        b[i] = sv[1];
    }
    pthread_t t[BUSY];
    for (int i = 0; i < BUSY; i++)
        if (pthread_create(&t[i], NULL, busy, (void *)(intptr_t)i) != 0)
            fail("pthread_create");
    while (atomic_load(&started) < BUSY)
        sched_yield();

    int good = 1;
    if (strcmp(mode, "_Fork") != 0)
        good &= run("fork", forks);
    if (strcmp(mode, "fork") != 0)
        good &= run("_Fork", forks);

    atomic_store(&stop, 1);
    long total = 0;
    for (int i = 0; i < BUSY; i++) {
        pthread_join(t[i], NULL);
        total += sends[i];
    }
    for (int i = 0; i < BUSY; i++) {
        close(a[i]);
        close(b[i]);
    }
    fprintf(stderr, "busy sends: %ld\n", total);
    printf("busy threads stopped\n");
    return good ? 0 : 1;
}
