/* find_sigpipe_blocked: a sender thread writes three messages over a stream
 * socketpair without MSG_NOSIGNAL, with SIGPIPE at its default action, for
 * the sigpipe-risk finding and the idiom that makes it right: SIGPIPE
 * blocked in the thread that sends.
 *
 * Usage: find_sigpipe_blocked [wrong|right|mixed]   (default: wrong)
 *   wrong: the sender thread leaves SIGPIPE unblocked: send_messages()
 *          sends with flags 0 (sigpipe-risk, 3 times: once per send).
 *   right: the sender thread blocks SIGPIPE (pthread_sigmask) first; the
 *          main thread leaves it unblocked. After the three sends the peer
 *          closes and a fourth send fails with EPIPE: the SIGPIPE it raised
 *          stays pending in the sender thread, which takes it with
 *          sigtimedwait before it unblocks SIGPIPE again.
 *   mixed: the sender thread blocks SIGPIPE as in right; then the main
 *          thread, which does not, sends once more on the same socket with
 *          flags 0 (sigpipe-risk, once, from main: the mask that counts is
 *          the sending thread's).
 * Prints "fd N" (A).
 *
 * Calls: socketpair(AF_UNIX, SOCK_STREAM) = (A, B); in the sender thread:
 *        send(A, ...) x3 (flags 0); in the main thread: recv(B) until the
 *        14 bytes came; right: close(B), then in the sender thread
 *        send(A, "four", 0) (EPIPE); mixed: in the main thread
 *        send(A, "four", 0), recv(B) (4 bytes); main: close(A), wrong and
 *        mixed: close(B).
 */
#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "common.h"

#define MESSAGES_LEN 14 /* "one " "two " "three" and a newline */

struct sender {
    int fd;
    int block_sigpipe;
    int send_to_closed_peer;       /* right */
    pthread_barrier_t peer_closed; /* ... once the main thread closed it */
};

static sigset_t sigpipe_only(void)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    return set;
}

NOIPA static void send_messages(int fd)
{
    static const char *const msgs[] = {"one ", "two ", "three\n"};
    for (int i = 0; i < 3; i++)
        if (send(fd, msgs[i], strlen(msgs[i]), 0) < 0)
            die("send");
    printf("sent 3 messages\n");
}

/* The peer is gone: the send fails with EPIPE and its SIGPIPE, blocked in
 * this thread, waits there; sigtimedwait takes it, so unblocking later
 * delivers nothing. */
static void send_to_closed_peer_and_drain(int fd)
{
    print_result("send after the peer closed", send(fd, "four", 4, 0));
    sigset_t set = sigpipe_only();
    struct timespec now = {0, 0};
    int sig = sigtimedwait(&set, NULL, &now);
    printf("pending SIGPIPE taken: %s\n", sig == SIGPIPE ? "yes" : "no");
    if (pthread_sigmask(SIG_UNBLOCK, &set, NULL) != 0)
        fail("pthread_sigmask");
}

/* mixed: a send from the main thread, where SIGPIPE is not blocked. */
NOIPA static void send_from_main(int fd, int peer)
{
    if (send(fd, "four", 4, 0) != 4)
        die("send");
    char buf[4];
    recv_exact(peer, buf, sizeof buf);
    printf("peer received '%.4s' from the main thread\n", buf);
}

static void *sender_main(void *arg)
{
    struct sender *s = arg;
    if (s->block_sigpipe) {
        sigset_t set = sigpipe_only();
        if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
            fail("pthread_sigmask");
    }
    send_messages(s->fd);
    if (s->send_to_closed_peer) {
        pthread_barrier_wait(&s->peer_closed);
        send_to_closed_peer_and_drain(s->fd);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "wrong";
    if (argc > 2 || (strcmp(mode, "wrong") != 0 && strcmp(mode, "right") != 0 &&
                      strcmp(mode, "mixed") != 0)) {
        fprintf(stderr, "usage: find_sigpipe_blocked [wrong|right|mixed]\n");
        return 2;
    }
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    printf("fd %d\n", sv[0]);
    struct sender s = {.fd = sv[0],
                       .block_sigpipe = strcmp(mode, "wrong") != 0,
                       .send_to_closed_peer = strcmp(mode, "right") == 0};
    if (pthread_barrier_init(&s.peer_closed, NULL, 2) != 0)
        fail("pthread_barrier_init");
    pthread_t thread;
    if (pthread_create(&thread, NULL, sender_main, &s) != 0)
        fail("pthread_create");
    char buf[MESSAGES_LEN];
    recv_exact(sv[1], buf, sizeof buf);
    if (s.send_to_closed_peer) {
        close(sv[1]);
        pthread_barrier_wait(&s.peer_closed);
    }
    if (pthread_join(thread, NULL) != 0)
        fail("pthread_join");
    /* printed after the thread's lines, so the output's order is fixed */
    printf("peer received '%.*s'\n", MESSAGES_LEN - 1, buf);
    if (strcmp(mode, "mixed") == 0)
        send_from_main(sv[0], sv[1]);
    close(sv[0]);
    if (!s.send_to_closed_peer)
        close(sv[1]);
    pthread_barrier_destroy(&s.peer_closed);
    return 0;
}
