/* sockshim: where rendered lines go (see sink.h). */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "model.h"
#include "real.h"
#include "sink_map.h"
#include "xlat.h"

enum sink_kind {
    SINK_FILE,   /* tty, device, a file that cannot be mapped: plain write */
    SINK_PIPE,   /* a reader that may go away: SIGPIPE must be kept off */
    SINK_SOCKET, /* send(MSG_NOSIGNAL) */
    SINK_MAP,    /* a regular file, through the run's shared mapping */
};

static _Atomic int sink_fd = -1;
static enum sink_kind sink_kind;
static _Atomic int sink_failed;

int ss_sink_fd(void)
{
    return atomic_load_explicit(&sink_fd, memory_order_acquire);
}

int ss_sink_enabled(void)
{
    return ss_sink_fd() >= 0;
}

/* Moves fd to a high close-on-exec number and closes the original. */
static int move_high(int fd)
{
    int high = ss_real.fcntl(fd, F_DUPFD_CLOEXEC, ss_high_fd_floor());
    if (high < 0)
        high = ss_real.fcntl(fd, F_DUPFD_CLOEXEC, 3);
    if (high < 0)
        return -1;
    ss_real.close(fd);
    return high;
}

static enum sink_kind kind_of(int fd)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return SINK_FILE;
    if (S_ISSOCK(st.st_mode))
        return SINK_SOCKET;
    if (S_ISFIFO(st.st_mode))
        return SINK_PIPE;
    return SINK_FILE;
}

/* The run's stderr, inherited from the command, if fd still is that file
 * (a process in between may have closed it and opened something else). */
static int inherited_channel(void)
{
    const struct ss_output_fd *want = &ss_config.output_fd;
    struct stat st;
    if (want->fd < 0 || fstat(want->fd, &st) != 0)
        return -1;
    if ((unsigned long long)st.st_dev != want->dev || (unsigned long long)st.st_ino != want->ino)
        return -1;
    return want->fd;
}

/* The trace file's name for this process (%p expanded). */
static char output_path[sizeof ss_config.output + 24];

/* An existing regular file is written only when it is the user's own: the
 * trace holds the program's data. (A device or a FIFO the user named,
 * /dev/full or a pipe to a reader, is taken as it is.) */
static int owned_by_user(int fd)
{
    struct stat st;
    return fstat(fd, &st) == 0 && (!S_ISREG(st.st_mode) || st.st_uid == geteuid());
}

/* A file of this process's own (-o trace.%p) is opened read-write, to be
 * mapped; a file the run shares is appended to, unless the command made a
 * mapped sink for it (joined in ss_sink_open). */
static int open_destination(int for_mapping)
{
    if (ss_config.output[0] == '\0')
        return ss_real.fcntl(2, F_DUPFD_CLOEXEC, 3);
    int fd = open(output_path,
                  (for_mapping ? O_RDWR : O_WRONLY | O_APPEND) | O_CREAT | O_CLOEXEC | O_NOFOLLOW,
                  0600);
    if (fd < 0)
        return -1;
    if (!owned_by_user(fd)) {
        ss_real.close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
}

static int expand_path(void)
{
    if (ss_expand_output(ss_config.output, ss_pid(), output_path, sizeof output_path) >
        sizeof output_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

static void say_once(const char *what, int err)
{
    char msg[256];
    struct ss_out o;
    ss_out_init(&o, msg, sizeof msg);
    ss_out_str(&o, "sockshim: ");
    ss_out_str(&o, what);
    if (err != 0) {
        const char *m = ss_errno_message(err);
        ss_out_str(&o, ": ");
        ss_out_str(&o, m != NULL ? m : "unknown error");
    }
    ss_out_char(&o, '\n');
    size_t n = o.len < sizeof msg ? o.len : sizeof msg;
    ssize_t w = ss_real.write(2, msg, n);
    (void)w;
}

static void start(enum sink_kind kind, int fd)
{
    sink_kind = kind;
    atomic_store_explicit(&sink_fd, fd, memory_order_release);
}

/* A regular file of the process's own, mapped; else plain appends. */
static int open_own_file(void)
{
    struct stat st;
    int regular = lstat(output_path, &st) != 0 || S_ISREG(st.st_mode);
    int fd = open_destination(regular);
    if (fd < 0)
        return -1;
    int high = move_high(fd);
    if (high < 0) {
        ss_real.close(fd);
        return -1;
    }
    ss_model_claim_fd(high);
    if (regular && ss_map_own(high) == 0) {
        start(SINK_MAP, high);
        return 0;
    }
    int fl = ss_real.fcntl(high, F_GETFL);
    if (fl >= 0 && !(fl & O_APPEND)) /* not mappable: appended to instead */
        ss_real.fcntl(high, F_SETFL, fl | O_APPEND);
    start(kind_of(high), high);
    return 0;
}

int ss_sink_open(void)
{
    int saved = errno;
    int result = 0;
    int channel = ss_config.output[0] == '\0' ? inherited_channel() : -1;
    if (channel >= 0) {
        /* kept as it is, inheritable: every process of the run uses it */
        ss_model_claim_fd(channel);
        start(kind_of(channel), channel);
    } else if (ss_config.output[0] != '\0' && expand_path() != 0) {
        result = -1;
    } else if (ss_config.output[0] != '\0' && !ss_config.output_per_pid &&
               ss_map_join(output_path) == 0) {
        start(SINK_MAP, ss_map_fd());
    } else if (ss_config.output[0] != '\0' && !ss_config.output_per_pid &&
               getenv(SS_ENV_SINK_MAP) != NULL) {
        /* the run writes the file through a mapping this process cannot
         * reach (its fds were moved): appending could overwrite the run's
         * lines, so this process stays silent */
        errno = EBADF;
        result = -1;
    } else if (ss_config.output_per_pid) {
        result = open_own_file();
    } else {
        int fd = open_destination(0), high = fd >= 0 ? move_high(fd) : -1;
        if (high < 0 && fd >= 0)
            ss_real.close(fd);
        if (high >= 0) {
            ss_model_claim_fd(high);
            start(kind_of(high), high);
        } else {
            result = -1;
        }
    }
    if (result != 0)
        say_once("cannot open the trace output, tracing is off", errno);
    errno = saved;
    return result;
}

void ss_sink_after_fork_child(void)
{
    if (sink_kind == SINK_MAP)
        ss_map_after_fork_child();
    if (!ss_config.output_per_pid)
        return;
    int old = atomic_exchange_explicit(&sink_fd, -1, memory_order_acq_rel);
    if (sink_kind == SINK_MAP)
        ss_map_detach();
    if (old >= 0) {
        ss_model_release_fd(old);
        ss_real.close(old);
    }
    if (!atomic_load_explicit(&sink_failed, memory_order_relaxed))
        ss_sink_open();
}

int ss_sink_move_away(int old)
{
    if (sink_kind == SINK_MAP) {
        int moved = ss_map_move(old);
        atomic_store_explicit(&sink_fd, ss_map_fd(), memory_order_release);
        return moved;
    }
    if (old != ss_sink_fd())
        return 0;
    int fresh = ss_real.fcntl(old, F_DUPFD_CLOEXEC, old + 1);
    if (fresh < 0)
        fresh = ss_real.fcntl(old, F_DUPFD_CLOEXEC, 3);
    if (fresh < 0)
        return -1;
    ss_model_claim_fd(fresh);
    atomic_store_explicit(&sink_fd, fresh, memory_order_release);
    ss_model_release_fd(old);
    ss_real.close(old);
    return 0;
}

static void stop(int err)
{
    int fd = atomic_exchange_explicit(&sink_fd, -1, memory_order_acq_rel);
    if (fd < 0)
        return; /* another thread already stopped it */
    atomic_store_explicit(&sink_failed, 1, memory_order_relaxed);
    say_once("writing the trace failed, tracing stopped", err);
}

/* Waits a little for a non-blocking destination (a pipe or tty the program
 * shares and set O_NONBLOCK on) to take more. */
static int wait_writable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    return poll(&p, 1, 1000) > 0;
}

static ssize_t write_once(int fd, const char *p, size_t n)
{
    if (sink_kind == SINK_SOCKET)
        return ss_real.send(fd, p, n, MSG_NOSIGNAL);
    return ss_real.write(fd, p, n);
}

/* A write to a pipe whose reader is gone raises SIGPIPE in the writing
 * thread; the program must not die of the shim's trace. The signal is held
 * back for the write and, if the write raised it, taken away again. */
static ssize_t write_pipe_once(int fd, const char *p, size_t n)
{
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    ssize_t w = ss_real.write(fd, p, n);
    int err = errno;
    if (w < 0 && err == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_only, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return w;
}

void ss_sink_emit(const char *line, size_t len)
{
    int fd = ss_sink_fd();
    if (fd < 0)
        return;
    int saved = errno;
    if (sink_kind == SINK_MAP) {
        int err = ss_map_emit(line, len);
        if (err != 0)
            stop(err);
        errno = saved;
        return;
    }
    while (len > 0) {
        ssize_t w = sink_kind == SINK_PIPE ? write_pipe_once(fd, line, len)
                                           : write_once(fd, line, len);
        if (w > 0) {
            line += w;
            len -= (size_t)w;
        } else if (w < 0 && errno == EINTR) {
            continue;
        } else if (w < 0 && errno == EAGAIN && wait_writable(fd)) {
            continue;
        } else {
            stop(w < 0 ? errno : EIO);
            break;
        }
    }
    errno = saved;
}

void ss_sink_finish(void)
{
    if (sink_kind == SINK_MAP && ss_sink_enabled() && !ss_multithreaded())
        ss_map_finish();
}
