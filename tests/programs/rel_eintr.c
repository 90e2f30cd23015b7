/* rel_eintr: a signal interrupts a blocking recv. Without SA_RESTART the
 * recv must fail with EINTR, as it does bare; with SA_RESTART the kernel
 * restarts it and it returns the data sent after the signal.
 *
 * Usage: rel_eintr [MODE [DELAY_MS]]   MODE: norestart, restart or both
 *        (default norestart: under TSan, which runs a handler only when the
 *        intercepted call returns, a restarted recv waits for ever),
 *        DELAY_MS: when SIGALRM comes (default 500: the signal must find
 *        recv blocked, and a loaded machine may hold main back for a
 *        while before it gets there; the test uses 1000, as alarm(1) would)
 *
 * Calls, in order, for each mode:
 *   socketpair(AF_UNIX, SOCK_STREAM, 0) = (a, b)
 *   a helper thread (SIGALRM blocked there, so the signal goes to main)
 *   waits until the handler has run, waits DELAY_MS / 2 more (so the recv
 *   is blocked again if it was restarted), then send(a, "late", 4, 0) = 4
 *   main: sigaction(SIGALRM, flags 0 or SA_RESTART), a timer of DELAY_MS,
 *   recv(b, 64, 0):
 *     norestart: -1 EINTR; then recv(b, 64, 0) = "late"
 *     restart:   "late" (one recv: the restart is the kernel's)
 *   close(a), close(b)
 *
 * stdout: each recv's result and how many times the handler ran.
 */
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sys/time.h>
#include <time.h>

#include "common.h"

static sem_t handled;
static volatile sig_atomic_t handler_runs;
static int delay_ms;

static void on_alarm(int sig)
{
    (void)sig;
    handler_runs++;
    sem_post(&handled); /* async-signal-safe */
}

static void *sender(void *arg)
{
    int fd = (int)(intptr_t)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    while (sem_wait(&handled) != 0)
        ;
    struct timespec ts = {delay_ms / 2 / 1000, (long)(delay_ms / 2 % 1000) * 1000000L};
    nanosleep(&ts, NULL);
    if (send(fd, "late", 4, 0) != 4)
        die("send");
    return NULL;
}

/* Ends the process after 20 s, whatever happened. SIGALRM stays blocked
 * here, so the signal goes to main. No socket calls. */
static void *watchdog(void *arg)
{
    (void)arg;
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGALRM);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    sleep(20);
    static const char msg[] = "rel_eintr: watchdog: still running after 20 s\n";
    ssize_t w = write(2, msg, sizeof msg - 1);
    (void)w;
    _exit(3);
}

static void run(int restart)
{
    const char *mode = restart ? "restart" : "norestart";
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    sem_init(&handled, 0, 0);
    handler_runs = 0;
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = restart ? SA_RESTART : 0;
    sigemptyset(&sa.sa_mask);
    if (sigaction(SIGALRM, &sa, NULL) < 0)
        die("sigaction");
    pthread_t t;
    if (pthread_create(&t, NULL, sender, (void *)(intptr_t)sv[0]) != 0)
        fail("pthread_create");

    struct itimerval it = {{0, 0}, {delay_ms / 1000, (long)(delay_ms % 1000) * 1000L}};
    setitimer(ITIMER_REAL, &it, NULL);
    char buf[64];
    ssize_t n = recv(sv[1], buf, sizeof buf, 0);
    printf("%s: ", mode);
    print_data("recv", n, buf);
    if (n < 0 && errno == EINTR) {
        n = recv(sv[1], buf, sizeof buf, 0);
        printf("%s: ", mode);
        print_data("recv again", n, buf);
    }
    pthread_join(t, NULL);
    printf("%s: handler ran %d time(s)\n", mode, (int)handler_runs);
    close(sv[0]);
    close(sv[1]);
    sem_destroy(&handled);
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "norestart";
    delay_ms = argc > 2 ? atoi(argv[2]) : 500;
    if (delay_ms < 1 || delay_ms > 5000)
        fail("usage: rel_eintr [norestart|restart|both [DELAY_MS (1-5000)]]");
    /* start()'s alarm(10) watchdog and the timer below are the same
     * ITIMER_REAL, which the timer replaces: a thread keeps watch instead,
     * in case the handler never runs (then the sender never sends). */
    pthread_t w;
    if (pthread_create(&w, NULL, watchdog, NULL) != 0)
        fail("pthread_create");
    pthread_detach(w);
    if (strcmp(mode, "restart") != 0)
        run(0);
    if (strcmp(mode, "norestart") != 0)
        run(1);
    return 0;
}
