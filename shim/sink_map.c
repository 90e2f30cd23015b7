/* sockshim: a trace file written through a shared mapping.
 *
 * A line costs a reservation (one atomic add on a cursor) and a memcpy into
 * a MAP_SHARED mapping of the file: no system call, and the bytes are in
 * the kernel's page cache the moment they are copied, so a process killed
 * with SIGKILL loses no line.
 *
 * Two ways to have one:
 *  - joined: the sockshim command made the run's sink for a -o file: it
 *    opened the file once (the run's processes share that description,
 *    which holds a shared flock) and made a control page (a memfd); both
 *    sit at high fds that fork and exec inherit, named by
 *    SOCKSHIM_SINK_MAP. The command trims the file when the run is over.
 *  - own: a process writing a file of its own (-o trace.%p) keeps the
 *    control page in its memory; it trims the file at exit.
 *
 * The file grows ahead of the cursor in chunks with fallocate, which never
 * shrinks it, so racing writers cannot undo each other; until it is
 * trimmed it ends in NUL bytes (the lines never hold one).
 */
#include "sink_map.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "model.h"
#include "real.h"
#include "sink_ctl.h"

#define CHUNK ((uint64_t)256 << 10) /* the file grows by this much */
#define WINDOW ((uint64_t)4 << 20)  /* mapped this much at a time */
#define MAX_WINDOWS 16384u          /* 64 GiB of trace */

static int file_fd = -1;
static int ctl_fd = -1; /* joined: kept open for the programs exec'd */
static struct ss_sink_ctl *ctl;
static struct ss_sink_ctl own_ctl; /* a file of this process's own */
static _Atomic(char *) windows[MAX_WINDOWS];

/* ---- attaching ----------------------------------------------------------- */

/* The run's sink the command made, if the environment names one for the
 * file this process writes. */
int ss_map_join(const char *path)
{
    const char *v = getenv(SS_ENV_SINK_MAP);
    int f, c;
    struct stat named, st;
    if (v == NULL || sscanf(v, "%d:%d", &f, &c) != 2 || stat(path, &named) != 0 ||
        fstat(f, &st) != 0 || st.st_dev != named.st_dev || st.st_ino != named.st_ino)
        return -1;
    void *p = mmap(NULL, sizeof *ctl, PROT_READ | PROT_WRITE, MAP_SHARED, c, 0);
    if (p == MAP_FAILED)
        return -1;
    struct ss_sink_ctl *k = p;
    if (k->magic != SS_SINK_CTL_MAGIC || k->dev != (uint64_t)st.st_dev ||
        k->ino != (uint64_t)st.st_ino) {
        munmap(p, sizeof *ctl);
        return -1;
    }
    file_fd = f;
    ctl_fd = c;
    ctl = k;
    ss_model_claim_fd(f);
    ss_model_claim_fd(c); /* kept open for the programs this one execs */
    return 0;
}

/* The length of the file without the NUL bytes a writer left at its end
 * (the trace of this process before it exec'd, which nobody trimmed). */
static off_t written_length(int fd, off_t size)
{
    char block[4096];
    while (size > 0) {
        off_t start = size > (off_t)sizeof block ? size - (off_t)sizeof block : 0;
        ssize_t n = pread(fd, block, (size_t)(size - start), start);
        if (n <= 0)
            return size;
        ssize_t i = n;
        while (i > 0 && block[i - 1] == '\0')
            i--;
        if (i > 0)
            return start + i;
        size = start;
    }
    return 0;
}

/* fd (a regular file opened read-write, at a high fd) as this process's
 * own sink: nobody else writes it, so its NUL tail can be cut first. */
int ss_map_own(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        return -1;
    /* the file must grow without ever shrinking under a racer */
    if (fallocate(fd, FALLOC_FL_KEEP_SIZE, st.st_size, 1) != 0)
        return -1;
    off_t end = written_length(fd, st.st_size);
    if (end < st.st_size && ftruncate(fd, end) != 0)
        return -1;
    own_ctl.dev = (uint64_t)st.st_dev;
    own_ctl.ino = (uint64_t)st.st_ino;
    atomic_store_explicit(&own_ctl.cursor, (uint64_t)end, memory_order_relaxed);
    atomic_store_explicit(&own_ctl.allocated, (uint64_t)end, memory_order_relaxed);
    own_ctl.magic = SS_SINK_CTL_MAGIC;
    file_fd = fd;
    ctl = &own_ctl;
    return 0;
}

int ss_map_fd(void)
{
    return file_fd;
}

/* ---- writing --------------------------------------------------------------- */

static char *window(uint64_t index)
{
    if (index >= MAX_WINDOWS)
        return NULL;
    char *w = atomic_load_explicit(&windows[index], memory_order_acquire);
    if (w != NULL)
        return w;
    void *p = mmap(NULL, WINDOW, PROT_READ | PROT_WRITE, MAP_SHARED, file_fd,
                   (off_t)(index * WINDOW));
    if (p == MAP_FAILED)
        return NULL;
    char *expected = NULL;
    if (!atomic_compare_exchange_strong_explicit(&windows[index], &expected, p,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        munmap(p, WINDOW); /* another thread mapped it first */
        return expected;
    }
    return p;
}

#ifndef MADV_POPULATE_WRITE
#define MADV_POPULATE_WRITE 23 /* Linux 5.14 */
#endif

/* How far this process's mappings are known to be populated. */
static _Atomic uint64_t populated;

/* Brings the chunk holding end into the page cache, writable in this
 * process's page tables, with one call: a page fault costs microseconds
 * on a busy machine and the lines would take one every few kilobytes,
 * in every process of the run. Best effort: an older kernel refuses the
 * advice and the pages fault in one by one as before. Two threads may
 * populate the same chunk; that only costs the second call. */
static void prefault(uint64_t end)
{
    uint64_t to = (end + CHUNK - 1) / CHUNK * CHUNK;
    uint64_t allocated = atomic_load_explicit(&ctl->allocated, memory_order_acquire);
    if (to > allocated)
        to = allocated;
    uint64_t from = (end - 1) / CHUNK * CHUNK;
    for (uint64_t at = from; at < to;) {
        char *w = window(at / WINDOW);
        if (w == NULL)
            return;
        uint64_t in = at % WINDOW;
        uint64_t n = WINDOW - in < to - at ? WINDOW - in : to - at;
        (void)madvise(w + in, (size_t)n, MADV_POPULATE_WRITE);
        at += n;
    }
    uint64_t seen = atomic_load_explicit(&populated, memory_order_relaxed);
    while (seen < to && !atomic_compare_exchange_weak_explicit(&populated, &seen, to,
                                                               memory_order_relaxed,
                                                               memory_order_relaxed))
        ;
}

/* Makes the file at least end bytes long. Every chunk it also checks that
 * the file still has a name: deleted under the program, nobody can read
 * what the shim would write. */
static int extend(uint64_t end)
{
    uint64_t have = atomic_load_explicit(&ctl->allocated, memory_order_acquire);
    while (have < end) {
        uint64_t want = (end + CHUNK - 1) / CHUNK * CHUNK;
        if (fallocate(file_fd, 0, (off_t)have, (off_t)(want - have)) != 0)
            return errno;
        struct stat st;
        if (fstat(file_fd, &st) == 0 && st.st_nlink == 0)
            return ENOENT;
        if (atomic_compare_exchange_weak_explicit(&ctl->allocated, &have, want,
                                                  memory_order_acq_rel, memory_order_acquire))
            return 0;
    }
    return 0;
}

int ss_map_emit(const char *line, size_t len)
{
    uint64_t off = atomic_fetch_add_explicit(&ctl->cursor, len, memory_order_relaxed);
    if (off + len > atomic_load_explicit(&ctl->allocated, memory_order_acquire)) {
        int err = extend(off + len);
        if (err != 0)
            return err;
    }
    if (off + len > atomic_load_explicit(&populated, memory_order_relaxed))
        prefault(off + len);
    while (len > 0) {
        char *w = window(off / WINDOW);
        if (w == NULL)
            return ENOMEM;
        size_t at = (size_t)(off % WINDOW);
        size_t n = WINDOW - at < len ? WINDOW - at : len;
        memcpy(w + at, line, n);
        line += n;
        len -= n;
        off += n;
    }
    return 0;
}

/* ---- processes --------------------------------------------------------- */

/* A forked child that writes a file of its own (-o trace.%p) lets go of
 * its parent's (the mappings; the fd is closed by the caller). */
void ss_map_after_fork_child(void)
{
    /* fork does not copy the page tables of shared mappings */
    atomic_store_explicit(&populated, 0, memory_order_relaxed);
}

void ss_map_detach(void)
{
    ss_map_after_fork_child();
    for (unsigned i = 0; i < MAX_WINDOWS; i++) {
        char *w = atomic_exchange_explicit(&windows[i], NULL, memory_order_relaxed);
        if (w != NULL)
            munmap(w, WINDOW);
    }
    ctl = NULL;
    file_fd = -1;
    ctl_fd = -1;
}

/* The program wants one of the sink's numbers for a dup2: the fd moves
 * (keeping whether exec closes it). A program exec'd afterwards no longer
 * finds the run's sink where the environment says, and appends to the file
 * on its own. */
int ss_map_move(int fd)
{
    int *which = fd == file_fd ? &file_fd : fd == ctl_fd ? &ctl_fd : NULL;
    if (which == NULL)
        return 0;
    int cloexec = ss_real.fcntl(fd, F_GETFD);
    int fresh = ss_real.fcntl(fd, cloexec > 0 ? F_DUPFD_CLOEXEC : F_DUPFD, fd + 1);
    if (fresh < 0)
        return -1;
    ss_model_claim_fd(fresh);
    *which = fresh;
    ss_model_release_fd(fd);
    ss_real.close(fd);
    return 0;
}

/* At exit of a process writing its own file, with one thread (another
 * could be writing past the cut): the NUL tail is cut. */
void ss_map_finish(void)
{
    if (ctl != &own_ctl)
        return;
    uint64_t end = atomic_load_explicit(&ctl->cursor, memory_order_acquire);
    uint64_t had = atomic_exchange_explicit(&ctl->allocated, end, memory_order_acq_rel);
    if (ftruncate(file_fd, (off_t)end) != 0)
        atomic_store_explicit(&ctl->allocated, had, memory_order_release);
}
