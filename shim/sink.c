/* sockshim: where rendered lines go (see sink.h). */
#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "internal.h"
#include "model.h"
#include "real.h"
#include "xlat.h"

enum sink_kind {
    SINK_FILE,   /* regular file, tty...: plain write */
    SINK_PIPE,   /* a reader that may go away: SIGPIPE must be kept off */
    SINK_SOCKET, /* send(MSG_NOSIGNAL) */
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

static int open_destination(void)
{
    if (ss_config.output[0] == '\0')
        return ss_real.fcntl(2, F_DUPFD_CLOEXEC, 3);
    char path[sizeof ss_config.output + 24];
    if (ss_expand_output(ss_config.output, ss_pid(), path, sizeof path) > sizeof path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    int fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return -1;
    /* An existing regular file is appended to only when it is the user's
     * own: the trace holds the program's data. (A device or a FIFO the user
     * named, /dev/full or a pipe to a reader, is taken as it is.) */
    struct stat st;
    if (fstat(fd, &st) != 0 || (S_ISREG(st.st_mode) && st.st_uid != geteuid())) {
        ss_real.close(fd);
        errno = EPERM;
        return -1;
    }
    return fd;
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

int ss_sink_open(void)
{
    int saved = errno;
    int channel = ss_config.output[0] == '\0' ? inherited_channel() : -1;
    if (channel >= 0) {
        /* kept as it is, inheritable: every process of the run uses it */
        sink_kind = kind_of(channel);
        ss_model_claim_fd(channel);
        atomic_store_explicit(&sink_fd, channel, memory_order_release);
        errno = saved;
        return 0;
    }
    int fd = open_destination();
    if (fd < 0) {
        say_once("cannot open the trace output, tracing is off", errno);
        errno = saved;
        return -1;
    }
    int high = move_high(fd);
    if (high < 0) {
        ss_real.close(fd);
        errno = saved;
        return -1;
    }
    sink_kind = kind_of(high);
    ss_model_claim_fd(high);
    atomic_store_explicit(&sink_fd, high, memory_order_release);
    errno = saved;
    return 0;
}

void ss_sink_after_fork_child(void)
{
    if (!ss_config.output_per_pid)
        return;
    int old = atomic_exchange_explicit(&sink_fd, -1, memory_order_acq_rel);
    if (old >= 0) {
        ss_model_release_fd(old);
        ss_real.close(old);
    }
    if (!atomic_load_explicit(&sink_failed, memory_order_relaxed))
        ss_sink_open();
}

int ss_sink_move_away(void)
{
    int old = ss_sink_fd();
    if (old < 0)
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
