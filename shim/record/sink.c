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

#include "fdtable.h"
#include "internal.h"
#include "iov.h"
#include "place.h"
#include "real.h"
#include "call_record.h"
#include "raw_file.h"
#include "ring.h"
#include "share.h"
#include "sink_ring.h"
#include "xlat.h"

enum sink_kind {
    SINK_FILE,   /* a file, tty or device: plain write */
    SINK_PIPE,   /* a reader that may go away: SIGPIPE must be kept off */
    SINK_SOCKET, /* send(MSG_NOSIGNAL) */
};

/* Lines go into the run's ring when there is one; otherwise, and for the
 * lines the ring hands back, they are written to sink_fd, which a ringed
 * process opens only when it first needs it. */
static _Atomic int ringed;
static _Atomic int sink_fd = -1;
/* the destination's kind: set before sink_fd is published (two threads
 * opening the same destination store the same kind) */
static _Atomic int sink_kind;
static _Atomic int sink_failed;

int ss_sink_fd(void)
{
    return atomic_load_explicit(&sink_fd, memory_order_acquire);
}

int ss_sink_ringed(void)
{
    return atomic_load_explicit(&ringed, memory_order_relaxed);
}

int ss_sink_enabled(void)
{
    return atomic_load_explicit(&ringed, memory_order_acquire) || ss_sink_fd() >= 0;
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
    const struct ss_fd_ref *want = &ss_config.output_fd;
    struct stat st;
    if (want->fd < 0 || fstat(want->fd, &st) != 0)
        return -1;
    if ((unsigned long long)st.st_dev != want->dev || (unsigned long long)st.st_ino != want->ino)
        return -1;
    return want->fd;
}

/* The trace file's name for this process (%p expanded). */
static char output_path[sizeof ss_config.output + 24];

/* Why this thread's last open_destination() refused the file, for the
 * message; NULL when it failed for the reason errno gives. Per thread: two
 * threads may open the file at once for lines the ring handed back. */
static __thread const char *refused_because;

static int refuse_fd(int fd, const char *why)
{
    if (fd >= 0)
        ss_real.close(fd);
    refused_because = why;
    errno = EPERM;
    return -1;
}

/* fd once its file passed the one check every output passes
 * (options.h); a file opened by name also loses the O_NONBLOCK it was
 * opened with. A descriptor the user gave keeps its flags: the program
 * shares them. */
static int checked(int fd, enum ss_output_origin origin)
{
    if (fd < 0) {
        int err = errno;
        refused_because = ss_output_open_refusal(output_path, err, geteuid());
        errno = err;
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0)
        return refuse_fd(fd, "cannot be examined (fstat failed)");
    const char *why = ss_output_refusal(&st, geteuid(), origin);
    if (why != NULL)
        return refuse_fd(fd, why);
    int flags = origin == SS_OUTPUT_NAMED ? ss_real.fcntl(fd, F_GETFL) : 0;
    if (flags < 0 || (origin == SS_OUTPUT_NAMED &&
                      ss_real.fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)) {
        int err = errno;
        ss_real.close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

/* This process's own %p file: made now (O_EXCL), or the one this run made
 * before (this process before an exec, or the command's drain). A file an
 * earlier run or anyone else left at the name is never written. */
static int open_pid_file(void)
{
    int fd = open(output_path, SS_OUTPUT_OPEN_FLAGS | O_CREAT | O_EXCL, 0600);
    if (fd >= 0 || errno != EEXIST)
        return checked(fd, SS_OUTPUT_NAMED);
    fd = open(output_path, SS_OUTPUT_OPEN_FLAGS);
    struct stat st;
    if (fd >= 0 && fstat(fd, &st) == 0 && !ss_output_made_by_run(&st, ss_config.run_start_ns))
        return refuse_fd(fd, "exists already and was not made by this run");
    return checked(fd, SS_OUTPUT_NAMED);
}

/* The trace's destination (this process's own file with %p), appended to:
 * lines written by several processes, or by this one and the command's
 * drain, never overwrite each other. */
static int open_destination(void)
{
    refused_because = NULL;
    if (ss_config.output[0] == '\0')
        return ss_real.fcntl(2, F_DUPFD_CLOEXEC, 3);
    int given = ss_output_descriptor(output_path);
    if (given >= 0)
        return checked(ss_real.fcntl(given, F_DUPFD_CLOEXEC, 3), SS_OUTPUT_GIVEN_FD);
    if (ss_config.output_per_pid)
        return open_pid_file();
    return checked(open(output_path, SS_OUTPUT_OPEN_FLAGS | O_CREAT, 0600), SS_OUTPUT_NAMED);
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
    char msg[1024];
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

/* The message for a destination that could not be opened: what happened,
 * and the path with why it was refused, or errno's message. */
static void say_not_opened(const char *what, int err)
{
    if (refused_because == NULL) {
        say_once(what, err);
        return;
    }
    char shown[512], msg[768];
    struct ss_out o;
    ss_out_init(&o, msg, sizeof msg);
    ss_out_str(&o, what);
    ss_out_str(&o, ": '");
    ss_out_str(&o, ss_shown(output_path, strlen(output_path), shown, sizeof shown));
    ss_out_str(&o, "' ");
    ss_out_str(&o, refused_because);
    ss_out_char(&o, '\0');
    msg[sizeof msg - 1] = '\0';
    say_once(msg, 0);
}

static void start_raw_file(int fd);

static void start(enum sink_kind kind, int fd)
{
    atomic_store_explicit(&sink_kind, (int)kind, memory_order_relaxed);
    start_raw_file(fd);
    atomic_store_explicit(&sink_fd, fd, memory_order_release);
}

/* Opens the destination as sink_fd, high and claimed. */
static int open_direct(void)
{
    int fd = open_destination(), high = fd >= 0 ? move_high(fd) : -1;
    if (high < 0) {
        if (fd >= 0)
            ss_real.close(fd);
        return -1;
    }
    ss_fdtable_claim(high);
    start(kind_of(high), high);
    return 0;
}

/* at_start: the process is starting (before main), where a destination
 * refused for safety ends it with status 2, as a bad setting does; later
 * (a forked child's %p file) tracing is off for the process instead. */
static int sink_open(int at_start)
{
    int saved = errno;
    int result = 0;
    int channel = ss_config.output[0] == '\0' ? inherited_channel() : -1;
    if (channel >= 0) {
        /* kept as it is, inheritable: every process of the run uses it */
        ss_fdtable_claim(channel);
        start(kind_of(channel), channel);
    } else if (ss_config.output[0] != '\0' && expand_path() != 0) {
        result = -1;
    } else if (ss_config.output[0] != '\0' && ss_ring_join() == 0 &&
               ss_ring_carries(SS_RING_TRACE)) {
        /* the file is opened if the ring ever hands a line back */
        atomic_store_explicit(&ringed, 1, memory_order_release);
    } else {
        result = open_direct();
    }
    if (result != 0 && at_start && refused_because != NULL) {
        say_not_opened(SS_ENV_OUTPUT, 0);
        ss_real._exit(2);
    }
    if (result != 0)
        say_not_opened("cannot open the trace output, tracing is off", errno);
    errno = saved;
    return result;
}

int ss_sink_open(void)
{
    return sink_open(1);
}

void ss_sink_after_fork_child(void)
{
    ss_ring_after_fork_child(); /* (the capture may use the ring too) */
    if (atomic_load_explicit(&ringed, memory_order_relaxed))
        /* %p: the ring's drain writes the child's lines to the child's
         * file; a file opened for lines the ring handed back is the
         * parent's */
        expand_path();
    if (!ss_config.output_per_pid)
        return;
    int old = atomic_exchange_explicit(&sink_fd, -1, memory_order_acq_rel);
    if (old >= 0) {
        ss_fdtable_unclaim(old);
        ss_real.close(old);
    }
    if (!atomic_load_explicit(&ringed, memory_order_relaxed) &&
        !atomic_load_explicit(&sink_failed, memory_order_relaxed))
        sink_open(0);
}

int ss_sink_move_away(int old)
{
    if (ss_share_move(old) != 0)
        return -1;
    if (old != ss_sink_fd())
        return 0;
    int fresh = ss_fdtable_move_claimed(old, F_DUPFD_CLOEXEC);
    if (fresh < 0)
        return -1;
    atomic_store_explicit(&sink_fd, fresh, memory_order_release);
    return 0;
}

static void stop(int err)
{
    atomic_store_explicit(&ringed, 0, memory_order_release);
    int fd = atomic_exchange_explicit(&sink_fd, -1, memory_order_acq_rel);
    if (fd < 0)
        return; /* another thread already stopped it */
    atomic_store_explicit(&sink_failed, 1, memory_order_relaxed);
    say_once("writing the trace failed, tracing stopped", err);
}

/* The file a ringed process writes itself cannot be opened. */
static void stop_ring(int err)
{
    if (atomic_exchange_explicit(&sink_failed, 1, memory_order_acq_rel))
        return;
    atomic_store_explicit(&ringed, 0, memory_order_release);
    say_not_opened("cannot open the trace output, tracing stopped", err);
}

/* Waits a little for a non-blocking destination (a pipe or tty the program
 * shares and set O_NONBLOCK on) to take more. */
static int wait_writable(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    return ss_real.poll(&p, 1, 1000) > 0;
}

static ssize_t write_once(int fd, struct iovec *iov, int n)
{
    if (atomic_load_explicit(&sink_kind, memory_order_relaxed) == SINK_SOCKET) {
        struct msghdr m = {.msg_iov = iov, .msg_iovlen = (size_t)n};
        return ss_real.sendmsg(fd, &m, MSG_NOSIGNAL);
    }
    return ss_real.writev(fd, iov, n);
}

/* A write to a pipe whose reader is gone raises SIGPIPE in the writing
 * thread; the program must not die of the shim's trace. The signal is held
 * back for the write and, if the write raised it, taken away again. */
static ssize_t write_pipe_once(int fd, struct iovec *iov, int n)
{
    sigset_t pipe_only, old, pending;
    sigemptyset(&pipe_only);
    sigaddset(&pipe_only, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
    sigpending(&pending);
    int was_pending = sigismember(&pending, SIGPIPE);
    ssize_t w = ss_real.writev(fd, iov, n);
    int err = errno;
    if (w < 0 && err == EPIPE && !was_pending) {
        struct timespec zero = {0, 0};
        sigtimedwait(&pipe_only, NULL, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return w;
}

/* A line the ring handed back: the file is opened the first time. Two
 * threads may both open it; the second closes its copy. */
static int direct_fd(void)
{
    int fd = ss_sink_fd();
    if (fd >= 0 || atomic_load_explicit(&sink_failed, memory_order_relaxed))
        return fd;
    int opened = open_destination(), high = opened >= 0 ? move_high(opened) : -1;
    if (high < 0) {
        if (opened >= 0)
            ss_real.close(opened);
        stop_ring(errno);
        return -1;
    }
    /* a record file begins with its start frame before any thread can
     * write a frame into it (a thread that loses the race below may have
     * written a second one, which readers accept) */
    atomic_store_explicit(&sink_kind, (int)kind_of(high), memory_order_relaxed);
    start_raw_file(high);
    int expected = -1;
    if (!atomic_compare_exchange_strong_explicit(&sink_fd, &expected, high,
                                                 memory_order_acq_rel, memory_order_acquire)) {
        ss_real.close(high);
        return expected;
    }
    ss_fdtable_claim(high);
    return high;
}

/* Writes iov[0..n) (the caller's, consumed), in one writev when the
 * destination takes it all: an O_APPEND file takes it whole, so that
 * lines and frames of several processes never interleave. */
static void write_direct(int fd, struct iovec *iov, int n)
{
    while (n > 0) {
        ssize_t w = atomic_load_explicit(&sink_kind, memory_order_relaxed) == SINK_PIPE
                        ? write_pipe_once(fd, iov, n)
                        : write_once(fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0 && errno == EAGAIN && wait_writable(fd))
            continue;
        if (w <= 0) {
            stop(w < 0 ? errno : EIO);
            return;
        }
        ss_iov_consume(&iov, &n, (size_t)w);
    }
}

/* ---- record files (--format=raw, raw_file.h) ------------------------------ */

static int raw_file(void)
{
    return ss_config.format == SS_FORMAT_RAW;
}

/* The frame saying who wrote the file, first in a file this process found
 * empty (or a pipe: its reader may start anywhere) when it begins writing
 * there itself. */
static void start_raw_file(int fd)
{
    struct stat st;
    if (!raw_file() || (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0))
        return;
    struct ss_raw_start_frame start = ss_raw_start_frame();
    struct iovec iov = {&start, sizeof start};
    write_direct(fd, &iov, 1);
}

/* pieces[1..n) written to fd as one frame of kind (pieces[0] is room for
 * its header), or as they are when the trace is not a record file. */
static void write_framed(int fd, enum ss_raw_kind kind, struct iovec *pieces, int n, size_t len)
{
    struct ss_raw_frame frame = ss_raw_frame_of(kind, ss_pid(), len);
    int framed = raw_file();
    pieces[0] = (struct iovec){&frame, framed ? sizeof frame : 0};
    write_direct(fd, framed ? pieces : pieces + 1, framed ? n : n - 1);
}

int ss_sink_emit_record(const struct iovec *iov, int iovcnt, size_t len)
{
    int saved = errno;
    int ring = atomic_load_explicit(&ringed, memory_order_acquire);
    int taken = ring ? ss_ring_emitv(1, iov, iovcnt, len) : -1;
    /* Without the ring a record file takes the record itself, framed. A
     * record the ring refused is not written around it: it may name its
     * socket by reference to a record still in the ring; the caller renders
     * its lines whole instead. */
    if (!ring && raw_file() && iovcnt <= SS_CALLREC_IOV_MAX) {
        int fd = ss_sink_fd();
        struct iovec pieces[SS_CALLREC_IOV_MAX + 1];
        memcpy(pieces + 1, iov, (size_t)iovcnt * sizeof *iov);
        if (fd >= 0)
            write_framed(fd, SS_RAW_RECORD, pieces, iovcnt + 1, len);
        taken = fd >= 0 ? 0 : -1;
    }
    errno = saved;
    return taken;
}

void ss_sink_emit(const char *line, size_t len)
{
    int saved = errno;
    if (atomic_load_explicit(&ringed, memory_order_acquire) && ss_ring_emit(line, len) == 0) {
        errno = saved;
        return;
    }
    int fd = atomic_load_explicit(&ringed, memory_order_relaxed) ? direct_fd() : ss_sink_fd();
    struct iovec pieces[2] = {{NULL, 0}, {(void *)line, len}};
    if (fd >= 0)
        write_framed(fd, ss_raw_line_kind(line, len), pieces, 2, len);
    errno = saved;
}
