/* sigkill_trace: threads busy on sockets when the process is SIGKILLed.
 *
 *   sigkill_trace COUNTS_FILE THREADS CALLS [fork]
 *
 * Each of THREADS threads has a socketpair of its own and loops:
 *   send(sv[0], &seq, 4, 0)          seq = 0, 1, 2... (4 bytes, big-endian)
 *   recv(sv[1], buf, 4, 0)
 *   counts[thread] = seq + 1         after both calls returned
 * COUNTS_FILE (made by the test, 8 bytes a thread) is mapped shared, so
 * the counts outlive the process. With "fork", a child process runs
 * THREADS more such threads (their counts after the parent's). Once every
 * thread has done CALLS rounds, the main thread kills the child and then
 * its own process with SIGKILL while the threads are still going: no exit
 * handler, no destructor, no flush runs.
 *
 * A trace is complete when, for every thread, it holds the sends and
 * receives of every finished round, in order: at least counts[thread]
 * of each, the last possibly one more (a call whose line was written just
 * before the kill).
 */
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <fcntl.h>
#include <sys/mman.h>

#include "common.h"

struct worker {
    pthread_t thread;
    _Atomic uint64_t *count;
    int sv[2];
};

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    for (uint32_t seq = 0;; seq++) {
        uint32_t be = htonl(seq), got;
        if (send(w->sv[0], &be, sizeof be, 0) != (ssize_t)sizeof be)
            die("send");
        if (recv(w->sv[1], &got, sizeof got, 0) != (ssize_t)sizeof got || got != be)
            die("recv");
        atomic_store_explicit(w->count, (uint64_t)seq + 1, memory_order_release);
    }
    return NULL;
}

static void start_threads(_Atomic uint64_t *counts, int threads)
{
    struct worker *w = calloc((size_t)threads, sizeof *w);
    if (w == NULL)
        die("calloc");
    for (int i = 0; i < threads; i++) {
        w[i].count = &counts[i];
        if (socketpair(AF_UNIX, SOCK_STREAM, 0, w[i].sv) != 0)
            die("socketpair");
        if (pthread_create(&w[i].thread, NULL, worker_main, &w[i]) != 0)
            die("pthread_create");
    }
}

int main(int argc, char **argv)
{
    start();
    if (argc < 4 || argc > 5)
        fail("usage: sigkill_trace COUNTS_FILE THREADS CALLS [fork]");
    int threads = atoi(argv[2]);
    uint64_t calls = strtoull(argv[3], NULL, 10);
    int forking = argc == 5 && strcmp(argv[4], "fork") == 0;
    int fd = open(argv[1], O_RDWR | O_CLOEXEC);
    if (fd < 0)
        die("open");
    int total = threads * (forking ? 2 : 1);
    _Atomic uint64_t *counts =
        mmap(NULL, (size_t)total * sizeof *counts, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (counts == MAP_FAILED)
        die("mmap");
    pid_t child = 0;
    if (forking) {
        child = fork();
        if (child < 0)
            die("fork");
        if (child == 0) {
            start_threads(counts + threads, threads);
            for (;;)
                pause(); /* until the parent kills it */
        }
    }
    start_threads(counts, threads);
    for (int i = 0; i < total; i++)
        while (atomic_load_explicit(&counts[i], memory_order_acquire) < calls)
            usleep(1000);
    if (child > 0)
        kill(child, SIGKILL);
    kill(getpid(), SIGKILL);
    for (;;)
        pause();
}
