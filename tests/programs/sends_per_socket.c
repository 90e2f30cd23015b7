/* sends_per_socket: several threads (or processes) each send many small
 * messages on a socket of their own with a loop that survives short sends,
 * and report which of their send calls were short: for tests of p= draws
 * keyed per socket (a seed must replay each socket's decisions whatever the
 * threads' interleaving).
 *
 * Usage: sends_per_socket MODE [THREADS [MESSAGES]]  (defaults: 4, 200)
 *
 * A message is 8 bytes: a letter naming its socket ('A' + index) and the
 * message's number in 7 digits. A sender sends each one with
 *   send(fd, rest of the message, rest, 0)  until all 8 bytes went
 * (one call unless a send came back short) and, in all modes but accept,
 * reads it back from the other end of its socketpair with
 *   recv(other end) until 8 bytes           (one call: the bytes are there)
 * and checks it.
 *
 * MODE says who makes the sockets, and so in which order:
 *   main     main: socketpair(AF_UNIX, SOCK_STREAM, 0) THREADS times, one
 *            after the other (pair i for thread i); then the THREADS
 *            threads start together and each sends on end 0 of its pair
 *   threads  the THREADS threads start together; each makes its own pair
 *            (the socketpair calls race) and sends on end 0
 *   accept   main: listen_tcp4_backlog(THREADS) (common.h); THREADS client
 *            threads make their sockets together (socket(AF_INET,
 *            SOCK_STREAM, 0): the calls race), then connect(127.0.0.1:PORT)
 *            one after the other: client i when main has accepted client
 *            i - 1's connection, so that main's i-th accept(S, NULL, NULL)
 *            is client i's; main starts handler thread i on it at once;
 *            right after its connect, each client also makes a
 *            socketpair(AF_UNIX, SOCK_STREAM, 0) and closes both ends, so
 *            that sockets are made while main accepts (the order of the
 *            two varies); the handlers send together, each on its accepted
 *            socket, then close it; each client receives its messages (recv
 *            until 8 bytes, per message), checks them, and closes
 *   fork     main: one socketpair; sends on end 0 (the process "parent");
 *            then fork() twice, one child after the other: each child
 *            sends on its inherited end 0 ("child 1", "child 2") and exits
 *
 * Output, one line per sender, in the order of their sockets (threads:
 * of the threads; fork: parent, child 1, child 2):
 *   NAME: MESSAGES messages intact, CALLS sends, short: N N N...
 * where the Ns are the numbers (from 1) of the sender's send calls that
 * sent less than asked: the faulted ones, as a send on these sockets is
 * never short otherwise (a few bytes, and a reader that keeps up).
 * "DAMAGED" instead of "intact" if a message read back was not the one
 * sent (accept: as the client received it). Exit status 0 if all intact.
 */
#include <pthread.h>
#include <stdint.h>

#include "common.h"

#define MESSAGE_SIZE 8
#define MAX_SENDERS 16

struct sender {
    char name[32];
    char letter;
    int fd, back_fd; /* send on fd; read back from back_fd (-1: no) */
    int messages;
    int calls;
    int shorts[4096]; /* the numbers of the short send calls */
    int n_shorts;
    int intact;
};

static struct sender senders[MAX_SENDERS];
static int n_threads, n_messages;
static pthread_barrier_t all_ready;

static void make_message(char *msg, char letter, int number)
{
    char text[16]; /* room for any int: main keeps number below 10^7 */
    snprintf(text, sizeof text, "%c%07d", letter, number);
    memcpy(msg, text, MESSAGE_SIZE);
}

/* Sends one message, all of it, noting the send calls that came back
 * short. */
static void send_message(struct sender *s, const char *msg)
{
    size_t done = 0;
    while (done < MESSAGE_SIZE) {
        ssize_t n = send(s->fd, msg + done, MESSAGE_SIZE - done, 0);
        if (n <= 0)
            die("send");
        s->calls++;
        if ((size_t)n < MESSAGE_SIZE - done && s->n_shorts < 4096)
            s->shorts[s->n_shorts++] = s->calls;
        done += (size_t)n;
    }
}

/* Sends the sender's messages; with a back_fd, reads each one back. */
static void send_messages(struct sender *s)
{
    s->intact = 1;
    for (int i = 1; i <= s->messages; i++) {
        char msg[MESSAGE_SIZE], back[MESSAGE_SIZE];
        make_message(msg, s->letter, i);
        send_message(s, msg);
        if (s->back_fd < 0)
            continue;
        recv_exact(s->back_fd, back, sizeof back);
        if (memcmp(msg, back, sizeof msg) != 0)
            s->intact = 0;
    }
}

static void init_sender(struct sender *s, const char *name, int index)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->letter = (char)('A' + index);
    s->messages = n_messages;
    s->fd = s->back_fd = -1;
}

static void print_sender(const struct sender *s)
{
    printf("%s: %d messages %s, %d sends, short:", s->name, s->messages,
           s->intact ? "intact" : "DAMAGED", s->calls);
    for (int i = 0; i < s->n_shorts; i++)
        printf(" %d", s->shorts[i]);
    printf("\n");
}

static void make_pair(struct sender *s)
{
    int sv[2];
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
        die("socketpair");
    s->fd = sv[0];
    s->back_fd = sv[1];
}

static void close_pair(struct sender *s)
{
    close(s->fd);
    close(s->back_fd);
}

/* ---- main, threads ------------------------------------------------------ */

static void *pair_sender(void *arg)
{
    struct sender *s = arg;
    pthread_barrier_wait(&all_ready);
    if (s->fd < 0)
        make_pair(s); /* threads mode: the threads' socketpair calls race */
    send_messages(s);
    return NULL;
}

static void run_threads(int pairs_by_main)
{
    pthread_t threads[MAX_SENDERS];
    for (int i = 0; i < n_threads; i++) {
        char name[32];
        snprintf(name, sizeof name, "%s %d", pairs_by_main ? "socket" : "thread", i + 1);
        init_sender(&senders[i], name, i);
        if (pairs_by_main)
            make_pair(&senders[i]);
    }
    pthread_barrier_init(&all_ready, NULL, (unsigned)n_threads);
    for (int i = 0; i < n_threads; i++)
        if (pthread_create(&threads[i], NULL, pair_sender, &senders[i]) != 0)
            fail("pthread_create");
    for (int i = 0; i < n_threads; i++)
        pthread_join(threads[i], NULL);
    pthread_barrier_destroy(&all_ready);
}

/* ---- accept ------------------------------------------------------------- */

static int server_port;
static pthread_mutex_t turn_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t turn_changed = PTHREAD_COND_INITIALIZER;
static int turn; /* the client whose turn it is to connect (main passes it) */
static int client_intact[MAX_SENDERS];

static void wait_for_turn(int index)
{
    pthread_mutex_lock(&turn_lock);
    while (turn != index)
        pthread_cond_wait(&turn_changed, &turn_lock);
    pthread_mutex_unlock(&turn_lock);
}

static void pass_turn(void)
{
    pthread_mutex_lock(&turn_lock);
    turn++;
    pthread_cond_broadcast(&turn_changed);
    pthread_mutex_unlock(&turn_lock);
}

static void *client(void *arg)
{
    int index = (int)(intptr_t)arg;
    pthread_barrier_wait(&all_ready);
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        die("socket");
    wait_for_turn(index);
    struct sockaddr_in sin = loopback4(server_port);
    if (connect(fd, (struct sockaddr *)&sin, sizeof sin) < 0)
        die("connect");
    int scratch[2]; /* made while main accepts the connection */
    if (socketpair(AF_UNIX, SOCK_STREAM, 0, scratch) < 0)
        die("socketpair");
    close(scratch[0]);
    close(scratch[1]);
    int intact = 1;
    for (int i = 1; i <= n_messages; i++) {
        char want[MESSAGE_SIZE], got[MESSAGE_SIZE];
        make_message(want, (char)('A' + index), i);
        recv_exact(fd, got, sizeof got);
        if (memcmp(want, got, sizeof want) != 0)
            intact = 0;
    }
    client_intact[index] = intact;
    close(fd);
    return NULL;
}

static void *handler(void *arg)
{
    struct sender *s = arg;
    send_messages(s);
    close(s->fd);
    return NULL;
}

static void run_accept(void)
{
    int listener = listen_tcp4_backlog(&server_port, n_threads);
    pthread_t clients[MAX_SENDERS], handlers[MAX_SENDERS];
    pthread_barrier_init(&all_ready, NULL, (unsigned)n_threads);
    for (int i = 0; i < n_threads; i++)
        if (pthread_create(&clients[i], NULL, client, (void *)(intptr_t)i) != 0)
            fail("pthread_create");
    for (int i = 0; i < n_threads; i++) {
        char name[32];
        snprintf(name, sizeof name, "connection %d", i + 1);
        init_sender(&senders[i], name, i);
        senders[i].fd = accept(listener, NULL, NULL);
        if (senders[i].fd < 0)
            die("accept");
        pass_turn(); /* the next client may connect */
        if (pthread_create(&handlers[i], NULL, handler, &senders[i]) != 0)
            fail("pthread_create");
    }
    for (int i = 0; i < n_threads; i++) {
        pthread_join(handlers[i], NULL);
        pthread_join(clients[i], NULL);
        senders[i].intact = senders[i].intact && client_intact[i];
    }
    pthread_barrier_destroy(&all_ready);
    close(listener);
}

/* ---- fork --------------------------------------------------------------- */

static void run_fork(void)
{
    struct sender *parent = &senders[0];
    init_sender(parent, "parent", 0);
    make_pair(parent);
    send_messages(parent);
    print_sender(parent);
    for (int i = 1; i <= 2; i++) {
        pid_t pid = fork_or_die();
        if (pid == 0) {
            struct sender *s = &senders[i];
            char name[32];
            snprintf(name, sizeof name, "child %d", i);
            init_sender(s, name, i);
            s->fd = parent->fd;
            s->back_fd = parent->back_fd;
            send_messages(s);
            print_sender(s);
            _exit(s->intact ? 0 : 1);
        }
        if (wait_child(pid) != 0)
            parent->intact = 0;
    }
    close_pair(parent);
}

int main(int argc, char **argv)
{
    start();
    const char *mode = argc > 1 ? argv[1] : "main";
    n_threads = argc > 2 ? atoi(argv[2]) : 4;
    n_messages = argc > 3 ? atoi(argv[3]) : 200;
    if (n_threads < 1 || n_threads > MAX_SENDERS || n_messages < 1 || n_messages > 9999999)
        fail("usage: sends_per_socket main|threads|accept|fork [THREADS (1-16) [MESSAGES]]");

    if (strcmp(mode, "fork") == 0) {
        run_fork();
        return senders[0].intact ? 0 : 1;
    }
    if (strcmp(mode, "main") == 0 || strcmp(mode, "threads") == 0)
        run_threads(strcmp(mode, "main") == 0);
    else if (strcmp(mode, "accept") == 0)
        run_accept();
    else
        fail("unknown mode");
    int all_intact = 1;
    for (int i = 0; i < n_threads; i++) {
        print_sender(&senders[i]);
        all_intact = all_intact && senders[i].intact;
        if (strcmp(mode, "accept") != 0)
            close_pair(&senders[i]);
    }
    return all_intact ? 0 : 1;
}
