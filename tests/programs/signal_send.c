/* A signal handler that sends on a socket while the interrupted thread is
 * inside a traced call.
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM) twice (a: the main loop's pair,
 * s: the handler's pair); then, with a SIGALRM handler that does
 * send(s[0], "!", 1, 0) and an interval timer firing every 200 us, the main
 * thread does 20000 rounds of send(a[0], "x", 1) + recv(a[1], 1) (every
 * recv may be interrupted: the handler runs inside the shim's wrapper,
 * usually in the middle of a traced call). Then the timer stops, the main
 * thread drains s[1] with recv(MSG_DONTWAIT) until EAGAIN, and prints how
 * many rounds it made and whether the bytes drained equal the handler's
 * count. The test counts the handler's send lines in the trace against the
 * count the program writes to stderr ("handler sends: N").
 */
#include <signal.h>
#include <sys/time.h>

#include "common.h"

static int handler_fd;
static volatile sig_atomic_t handler_sends;

static void on_alarm(int sig)
{
    (void)sig;
    int saved = errno;
    if (send(handler_fd, "!", 1, MSG_DONTWAIT) == 1)
        handler_sends++;
    errno = saved;
}

static void set_timer(long usec)
{
    struct itimerval it = {{0, usec}, {0, usec}};
    if (setitimer(ITIMER_REAL, &it, NULL) != 0)
        die("setitimer");
}

int main(void)
{
    start();
    alarm(0); /* SIGALRM is ours here; the rounds below are bounded */
    int a[2], s[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, a) != 0 || socketpair(AF_UNIX, SOCK_STREAM, 0, s) != 0)
        die("socketpair");
    handler_fd = s[0];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_alarm;
    sa.sa_flags = SA_RESTART;
    sigaction(SIGALRM, &sa, NULL);
    set_timer(200);

    int rounds = 0;
    for (; rounds < 20000; rounds++) {
        char c;
        if (send(a[0], "x", 1, 0) != 1)
            die("send");
        if (recv(a[1], &c, 1, 0) != 1)
            die("recv");
    }
    set_timer(0);

    long drained = 0;
    char buf[4096];
    ssize_t n;
    while ((n = recv(s[1], buf, sizeof buf, MSG_DONTWAIT)) > 0)
        drained += n;
    printf("rounds: %d\n", rounds);
    printf("drained equals handler sends: %s\n", drained == handler_sends ? "yes" : "no");
    fprintf(stderr, "handler sends: %d\n", (int)handler_sends);
    return 0;
}
