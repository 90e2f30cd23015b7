/* rel_fdreuse: threads that only open and close sockets, so that the
 * kernel hands the number one thread just closed to another thread at
 * once: the race between a close and a socket() that reuses its number.
 *
 * Usage: rel_fdreuse [THREADS [CYCLES]]   (defaults: 4 threads, 250 cycles)
 *
 * Calls: each thread, CYCLES times: socket(AF_UNIX, SOCK_DGRAM, 0) = S,
 * close(S). No other socket call.
 *
 * stdout: the totals (deterministic).
 */
#include <pthread.h>
#include <stdatomic.h>

#include "common.h"

static atomic_long opened, closed;

static void *worker(void *arg)
{
    long cycles = (long)(intptr_t)arg;
    for (long i = 0; i < cycles; i++) {
        int fd = socket(AF_UNIX, SOCK_DGRAM, 0);
        if (fd < 0)
            die("socket");
        atomic_fetch_add_explicit(&opened, 1, memory_order_relaxed);
        if (close(fd) == 0)
            atomic_fetch_add_explicit(&closed, 1, memory_order_relaxed);
    }
    return NULL;
}

int main(int argc, char **argv)
{
    start();
    alarm(60);
    int threads = argc > 1 ? atoi(argv[1]) : 4;
    long cycles = argc > 2 ? atol(argv[2]) : 250;
    if (threads < 1 || threads > 256 || cycles < 0)
        fail("usage: rel_fdreuse [THREADS (1-256) [CYCLES]]");
    pthread_t t[256];
    for (int i = 0; i < threads; i++)
        if (pthread_create(&t[i], NULL, worker, (void *)(intptr_t)cycles) != 0)
            fail("pthread_create");
    for (int i = 0; i < threads; i++)
        pthread_join(t[i], NULL);
    printf("sockets opened: %ld, closed: %ld\n", atomic_load(&opened), atomic_load(&closed));
    return atomic_load(&opened) == (long)threads * cycles &&
                   atomic_load(&closed) == (long)threads * cycles
               ? 0
               : 1;
}
