/* sockshim: the command's side of the run's trace ring (shim/common/ring.h).
 *
 * A thread of the command drains the ring: every 10 ms, or sooner when a
 * writer finds the ring half full, it writes the committed lines to the
 * trace file (with %p, to the file of the process each line comes from)
 * and frees their room. When the program has exited it drains the rest,
 * closes the ring (processes still running write their lines themselves
 * from then on) and drains what was reserved before the close.
 *
 * A record whose writer died before committing it (SIGKILL in the middle
 * of a copy) is skipped once /proc shows the process gone, and counted.
 */
#include "drain.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "call_record.h"
#include "fmt.h"
#include "iov.h"
#include "ledger.h"
#include "ledger_event.h"
#include "options.h"
#include "pcap.h"
#include "raw_file.h"
#include "render_record.h"
#include "ring.h"
#include "say.h"
#include "shared_memory.h"

#define DRAIN_PERIOD_NS 10000000L /* 10 ms between drains when nobody asks sooner */
#define STUCK_GIVE_UP_NS 1000000000ull /* a live writer that stopped mid-line, at the end */
#define MAX_OPEN_FILES 64           /* %p: files kept open at once */
#define LEDGER_LOOK_EVERY 10        /* drains between looks at which processes ended */
#define BATCH IOV_MAX

/* --max-size: what a trace file holds, and the lines held back from it
 * since the last time the file said so. */
struct budget {
    uint64_t written;
    int full;             /* call lines no longer fit: all later ones are dropped */
    uint64_t dropped;
    int json;             /* the dropped lines were JSON records */
    int pid;              /* ... the last of them from this process */
    char prefix[40];      /* ... its "TIME [PID] " (text) */
    size_t prefix_len;
};

struct dest {
    int pid; /* 0: free */
    int fd;
    uint64_t last_use;
    struct budget budget;
};

static struct {
    struct ss_ring_ctl *ctl;
    char *data;
    uint64_t mask;
    int ring_fd;
    int file_fd;          /* one file for the run, or -1 with %p */
    char *path;           /* ... and its name (a copy) */
    const char *pattern;  /* %p: the file name pattern */
    struct dest dests[MAX_OPEN_FILES];
    uint64_t uses;
    struct iovec iov[BATCH];
    int n_iov;
    int batch_fd;
    int write_failed;
    unsigned long lost;
    uint64_t max_size;    /* --max-size, or 0 */
    struct budget file_budget; /* the one file's */
    _Atomic int finishing;
    pthread_t thread;
    int running;
    /* the program the command started: its pid and wait status, written
     * by the main thread before child_ended publishes them */
    int child, child_status;
    _Atomic int child_ended;
    int json;                    /* the trace's format (ss_drain_format) */
    int raw;                     /* a record file (--format=raw): frames, not lines */
    unsigned long malformed;     /* records dropped as no writer of ours wrote them */
    uint64_t malformed_at;       /* ... the last one's offset + 1 (counted once) */
} d = {.ring_fd = -1, .file_fd = -1, .batch_fd = -1};

/* One warning for the run: a trace that cannot be written says so once. */
static void write_failed(const char *path, int err)
{
    if (d.write_failed)
        return;
    d.write_failed = 1;
    ss_warn("cannot write the trace%s%s%s: %s",
            path != NULL ? " file '" : "", path != NULL ? path : "", path != NULL ? "'" : "",
            strerror(err));
}

/* The size of the file behind fd (it may hold an earlier part of the run
 * when a %p file is opened again). */
static uint64_t file_size(int fd)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && st.st_size > 0 ? (uint64_t)st.st_size : 0;
}

/* ---- making the ring -------------------------------------------------------- */

int ss_drain_create(int file_fd, const char *path, const char *pattern, int fd_floor,
                    unsigned carries)
{
    uint64_t size = SS_RING_DEFAULT_SIZE;
    int high;
    char *all = ss_shared_memory_make("sockshim-ring", SS_RING_CTL_SIZE + size, fd_floor, &high);
    if (all == NULL)
        return -1;
    d.ctl = (struct ss_ring_ctl *)all;
    d.data = all + SS_RING_CTL_SIZE;
    d.mask = size - 1;
    d.ctl->size = size;
    d.ctl->carries = carries;
    d.ctl->drain_pid = (int32_t)getpid();
    d.ctl->magic = SS_RING_MAGIC;
    d.ring_fd = high;
    d.file_fd = file_fd;
    d.file_budget.written = file_size(file_fd); /* a record file's start frame */
    d.path = path != NULL ? strdup(path) : NULL;
    d.pattern = pattern;
    return high;
}

/* ---- where lines go --------------------------------------------------------- */

static void flush(void);

/* %p files: when the run started, and whether a file was refused. Kept
 * apart from the ring's state: only the opening of files uses them. */
static struct {
    uint64_t run_start;
    int refused;
} pid_files;

void ss_drain_run_start(uint64_t run_start_ns)
{
    pid_files.run_start = run_start_ns;
}

int ss_drain_refused(void)
{
    return pid_files.refused;
}

/* A %p file refused for safety: said at once, naming the file; the
 * process's lines are not written anywhere, and the command's status says
 * the trace is incomplete. */
static int refuse_pid_file(const char *path, int pid, int fd, const char *why)
{
    if (fd >= 0)
        close(fd);
    pid_files.refused = 1;
    ss_note("trace file '%s' %s; the lines of pid %d are not written (sockshim writes only "
            "files of its own user that this run made)",
            path, why, pid);
    errno = EPERM;
    return -1;
}

/* Why pid's file, open as fd, must not be written, or NULL. One that
 * existed already (created is 0) is this run's when it was changed since
 * the run started: the drain made it and closed it to keep
 * MAX_OPEN_FILES, or the process wrote it itself (before an exec, after
 * the ring closed); a file left by anyone or anything else is refused. */
static const char *pid_file_refusal(int fd, int created)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return "cannot be examined";
    if (!created && !ss_output_made_by_run(&st, pid_files.run_start))
        return "exists already and was not made by this run";
    return ss_output_refusal(&st, geteuid(), SS_OUTPUT_NAMED);
}

/* pid's file, opened O_APPEND (O_NONBLOCK cleared once checked); -1, said,
 * when it cannot be written. */
static int open_pid_file(int pid)
{
    char path[PATH_MAX];
    if (ss_expand_output(d.pattern, pid, path, sizeof path) > sizeof path)
        return -1;
    int created = 1;
    int fd = open(path, SS_OUTPUT_OPEN_FLAGS | O_CREAT | O_EXCL, 0600);
    if (fd < 0 && errno == EEXIST) {
        created = 0;
        fd = open(path, SS_OUTPUT_OPEN_FLAGS);
    }
    if (fd < 0) {
        int err = errno;
        const char *why = ss_output_open_refusal(path, err, geteuid());
        if (why != NULL)
            return refuse_pid_file(path, pid, -1, why);
        write_failed(path, err);
        return -1;
    }
    const char *why = pid_file_refusal(fd, created);
    if (why != NULL)
        return refuse_pid_file(path, pid, fd, why);
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0) {
        write_failed(path, errno);
        close(fd);
        return -1;
    }
    return fd;
}

static void say_dropped(int fd, struct budget *b);

/* The fd of pid's file (%p), opened on first use, and its budget; the
 * least recently used is closed when too many are open. */
static int pid_file(int pid, struct budget **budget)
{
    struct dest *lru = &d.dests[0];
    for (int i = 0; i < MAX_OPEN_FILES; i++) {
        struct dest *e = &d.dests[i];
        if (e->pid == pid) {
            e->last_use = ++d.uses;
            *budget = &e->budget;
            return e->fd;
        }
        if (e->pid == 0 || e->last_use < lru->last_use)
            lru = e;
    }
    if (lru->pid != 0 && lru->fd >= 0) {
        if (lru->fd == d.batch_fd)
            flush();
        say_dropped(lru->fd, &lru->budget);
        close(lru->fd);
    }
    lru->pid = pid;
    lru->fd = open_pid_file(pid);
    lru->last_use = ++d.uses;
    memset(&lru->budget, 0, sizeof lru->budget);
    lru->budget.written = file_size(lru->fd);
    *budget = &lru->budget;
    return lru->fd;
}

static void flush(void)
{
    struct iovec *iov = d.iov;
    int n = d.n_iov;
    d.n_iov = 0;
    while (n > 0 && d.batch_fd >= 0) {
        ssize_t w = writev(d.batch_fd, iov, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            write_failed(NULL, errno);
            return;
        }
        ss_iov_consume(&iov, &n, (size_t)w);
    }
}

static void add_piece(int fd, const char *p, size_t n)
{
    if (fd != d.batch_fd || d.n_iov == BATCH)
        flush();
    d.batch_fd = fd;
    d.iov[d.n_iov++] = (struct iovec){(void *)p, n};
}

/* Room in the batch for the n pieces of one line or frame: they go out in
 * one writev, which an O_APPEND file takes whole, so that a line a process
 * writes itself never lands between them. */
static void keep_together(int fd, int n)
{
    if (fd != d.batch_fd || d.n_iov + n > BATCH)
        flush();
    d.batch_fd = fd;
}

static void add_rendered(int pid, const char *rec, uint64_t len);

/* Queues len bytes of the ring from offset at (they may wrap around its
 * end). */
static void add_ring_bytes(int fd, uint64_t at, uint64_t len)
{
    keep_together(fd, 2);
    uint64_t pos = at & d.mask, size = d.mask + 1;
    uint64_t first = size - pos < len ? size - pos : len;
    add_piece(fd, d.data + pos, first);
    if (first < len)
        add_piece(fd, d.data, len - first);
}

/* A binary record, in one piece (copied out when it wraps around the end
 * of the ring): a call's, rendered as its line; a ledger event; or a
 * capture event, handed to the pcap writer. */
static void binary_event(int pid, const char *event, uint64_t len)
{
    if (len > 0 && (unsigned char)event[0] == SS_CALLREC_KIND && d.raw)
        ss_ledger_saw_line(pid); /* `sockshim render` renders it */
    else if (len > 0 && (unsigned char)event[0] == SS_CALLREC_KIND)
        add_rendered(pid, event, len);
    else if (len > 0 && (unsigned char)event[0] >= SS_LEDGER_FIRST)
        ss_ledger_event(pid, event, len);
    else
        ss_pcap_event(event, len);
}

static void add_framed(int pid, uint64_t at, uint64_t len, enum ss_raw_kind kind);

static void add_capture(int pid, uint64_t at, uint64_t len)
{
    static char *unwrapped;
    if (d.raw)
        add_framed(pid, at, len, SS_RAW_RECORD);
    uint64_t pos = at & d.mask, size = d.mask + 1;
    if (pos + len <= size) {
        binary_event(pid, d.data + pos, len);
        return;
    }
    if (len > ss_ring_max_line(size) ||
        (unwrapped == NULL && (unwrapped = malloc(ss_ring_max_line(size))) == NULL))
        return;
    memcpy(unwrapped, d.data + pos, size - pos);
    memcpy(unwrapped + (size - pos), d.data, len - (size - pos));
    binary_event(pid, unwrapped, len);
}

/* ---- --max-size ----------------------------------------------------------- */

/* The first bytes of a record (it may wrap around the end of the ring),
 * NUL-terminated. */
static void record_head(uint64_t at, uint64_t len, char *out, size_t cap)
{
    uint64_t pos = at & d.mask, size = d.mask + 1;
    size_t n = len < cap - 1 ? (size_t)len : cap - 1;
    for (size_t i = 0; i < n; i++)
        out[i] = d.data[(pos + i) & (size - 1)];
    out[n] = '\0';
}

/* Whether a record may be held back for the size limit: the lines of
 * calls and loops; never a header, a note, a finding or a summary. */
static int record_droppable(const char *head)
{
    if (head[0] == '{')
        return strstr(head, "\"type\": \"call\"") != NULL ||
               strstr(head, "\"type\": \"loop\"") != NULL;
    const char *body = strstr(head, "] ");
    return body != NULL && body[2] != '#';
}

/* The room kept for what is never dropped (headers, findings, summaries):
 * a quarter of the limit, at most 256 KiB. */
static uint64_t room_for_calls(void)
{
    uint64_t reserve = d.max_size / 4 < (256u << 10) ? d.max_size / 4 : (256u << 10);
    return d.max_size - reserve;
}

static void hold_back(struct budget *b, int pid, const char *head)
{
    b->dropped++;
    b->json = head[0] == '{';
    b->pid = pid;
    const char *end = strstr(head, "] ");
    b->prefix_len = 0;
    if (!b->json && end != NULL && (size_t)(end - head) + 2 <= sizeof b->prefix) {
        b->prefix_len = (size_t)(end - head) + 2;
        memcpy(b->prefix, head, b->prefix_len);
    }
}

/* Says in the file how many lines were held back there, where the last
 * of them would have been. */
static void say_dropped(int fd, struct budget *b)
{
    if (b->dropped == 0 || fd < 0)
        return;
    char line[256];
    int n;
    if (b->json)
        n = snprintf(line, sizeof line,
                     "{\"v\": 1, \"type\": \"dropped\", \"pid\": %d, \"lines\": %llu, "
                     "\"reason\": \"max-size\", \"max_size\": %llu}\n",
                     b->pid, (unsigned long long)b->dropped, (unsigned long long)d.max_size);
    else
        n = snprintf(line, sizeof line, "%.*s# %llu line%s dropped: the trace reached "
                     "--max-size (%llu bytes)\n",
                     (int)b->prefix_len, b->prefix, (unsigned long long)b->dropped,
                     b->dropped == 1 ? "" : "s", (unsigned long long)d.max_size);
    if (n < 0 || (size_t)n >= sizeof line)
        return;
    flush();
    for (const char *p = line; n > 0;) {
        ssize_t w = write(fd, p, (size_t)n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            break;
        p += w;
        n -= (int)w;
    }
    b->written += strlen(line);
    b->dropped = 0;
}

/* Whether the line goes to the file (else it is counted as dropped). */
static int within_budget(struct budget *b, int fd, int pid, const char *head, uint64_t len)
{
    if (d.max_size == 0)
        return 1;
    /* once full, always full: a shorter line that would still fit is not
     * let through, so the file never has a hole in the middle of its calls */
    if (record_droppable(head) && (b->full || b->written + len > room_for_calls())) {
        b->full = 1;
        hold_back(b, pid, head);
        return 0;
    }
    say_dropped(fd, b);
    b->written += len;
    return 1;
}

/* Queues a record's line (it may wrap around the end of the ring). */
static void add_line(int pid, uint64_t at, uint64_t len)
{
    if (d.raw) {
        char first = len > 0 ? d.data[at & d.mask] : '\0';
        add_framed(pid, at, len, ss_raw_line_kind(&first, len > 0));
        return;
    }
    struct budget *b = &d.file_budget;
    int fd = d.pattern != NULL ? pid_file(pid, &b) : d.file_fd;
    char head[64];
    if (d.max_size != 0)
        record_head(at, len, head, sizeof head);
    if (!within_budget(b, fd, pid, head, len))
        return;
    add_ring_bytes(fd, at, len);
}

/* ---- call records -------------------------------------------------------- */

/* Lines rendered from call records wait in the arena for the batch's
 * writev; it is emptied only when no queued piece points into it. */
static struct {
    char *buf;
    size_t cap, used;
} arena;

static void arena_reset(void)
{
    arena.used = 0;
}

/* Room for need bytes at arena.buf + arena.used, or 0. */
static int arena_room(size_t need)
{
    if (arena.cap - arena.used >= need)
        return 1;
    flush(); /* nothing queued points into it now */
    arena_reset();
    if (arena.cap >= need)
        return 1;
    size_t cap = arena.cap != 0 ? arena.cap : (size_t)1 << 20;
    while (cap < need)
        cap *= 2;
    char *bigger = realloc(arena.buf, cap);
    if (bigger == NULL)
        return 0;
    arena.buf = bigger;
    arena.cap = cap;
    return 1;
}

/* A call record, rendered as the line the library would have written
 * and queued like one. */
static void add_rendered(int pid, const char *rec, uint64_t len)
{
    if (arena.buf == NULL && !arena_room((size_t)1 << 16))
        return;
    if (ss_record_open(pid, rec, len) != 0) {
        d.malformed++;
        return;
    }
    long need = ss_record_render(arena.buf + arena.used, arena.cap - arena.used);
    if ((size_t)need > arena.cap - arena.used) {
        if (!arena_room((size_t)need)) {
            ss_record_close(pid);
            return;
        }
        need = ss_record_render(arena.buf + arena.used, arena.cap - arena.used);
    }
    ss_record_close(pid);
    char *line = arena.buf + arena.used;
    struct budget *b = &d.file_budget;
    int fd = d.pattern != NULL ? pid_file(pid, &b) : d.file_fd;
    char head[64] = "";
    if (d.max_size != 0) { /* the budget tells calls by their first bytes */
        size_t n = (size_t)need < sizeof head - 1 ? (size_t)need : sizeof head - 1;
        memcpy(head, line, n);
        head[n] = '\0';
    }
    if (!within_budget(b, fd, pid, head, (uint64_t)need))
        return;
    arena.used += (size_t)need;
    add_piece(fd, line, (size_t)need);
    ss_ledger_saw_line(pid);
}

/* ---- record files (--format=raw, raw_file.h) ------------------------------ */

/* Queues a copy of n bytes, kept in the arena until the batch is written. */
static int add_copy(int fd, const void *p, size_t n)
{
    if (!arena_room(n))
        return -1;
    memcpy(arena.buf + arena.used, p, n);
    add_piece(fd, arena.buf + arena.used, n);
    arena.used += n;
    return 0;
}

/* A file the drain writes first starts with the frame saying who wrote
 * it (an empty %p file; the one file's is written when it is made). */
static void start_if_new(int fd, struct budget *b)
{
    if (b->written != 0 || fd < 0)
        return;
    struct ss_raw_start_frame start = ss_raw_start_frame();
    if (add_copy(fd, &start, sizeof start) == 0)
        b->written = sizeof start;
}

/* Queues the record at ring offset at (it may wrap around the end of the
 * ring) as a frame of kind, in pid's file. */
static void add_framed(int pid, uint64_t at, uint64_t len, enum ss_raw_kind kind)
{
    struct budget *b = &d.file_budget;
    int fd = d.pattern != NULL ? pid_file(pid, &b) : d.file_fd;
    start_if_new(fd, b);
    struct ss_raw_frame frame = ss_raw_frame_of(kind, pid, len);
    if (fd < 0 || !arena_room(sizeof frame))
        return;
    keep_together(fd, 3); /* the header and the (wrapped) payload */
    if (add_copy(fd, &frame, sizeof frame) != 0)
        return;
    add_ring_bytes(fd, at, len);
    b->written += sizeof frame + len;
}

/* A line of the command's own (a summary, a count of dropped records),
 * written now: framed in a record file. */
static int write_own_line(int fd, int pid, const char *text, size_t len)
{
    struct ss_raw_frame frame = ss_raw_frame_of(ss_raw_line_kind(text, len), pid, len);
    struct iovec iov[2] = {{&frame, sizeof frame}, {(void *)text, len}};
    struct iovec *from = d.raw ? iov : iov + 1;
    int n = d.raw ? 2 : 1;
    size_t want = (d.raw ? sizeof frame : 0) + len;
    flush();
    return writev(fd, from, n) == (ssize_t)want ? 0 : -1;
}

void ss_drain_limit(uint64_t max_size)
{
    d.max_size = max_size;
}

/* ---- draining ----------------------------------------------------------- */

/* Whether pid has exited: gone from /proc, or a zombie. */
static int process_gone(int pid)
{
    char path[64], stat[512];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return 1;
    stat[n] = '\0';
    const char *paren = strrchr(stat, ')');
    return paren != NULL && (paren[2] == 'Z' || paren[2] == 'X');
}

/* For the ledger (ledger.h): how pid is doing. A zombie's wait status is
 * field 52 of its stat (exit_code, Linux 3.5), readable until its parent
 * reaps it. */
static enum ss_ledger_life process_life(int pid, int *status)
{
    if (atomic_load_explicit(&d.child_ended, memory_order_acquire) && pid == d.child) {
        *status = d.child_status;
        return SS_LIFE_STATUS;
    }
    char path[64], stat[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT || errno == ESRCH ? SS_LIFE_ENDED : SS_LIFE_RUNNING;
    ssize_t n = read(fd, stat, sizeof stat - 1);
    close(fd);
    if (n <= 0)
        return SS_LIFE_ENDED;
    stat[n] = '\0';
    const char *field = strrchr(stat, ')');
    if (field == NULL || (field[2] != 'Z' && field[2] != 'X'))
        return SS_LIFE_RUNNING;
    for (int i = 2; i < 52 && field != NULL; i++) /* field 2 ends at the ')' */
        field = strchr(field + 1, ' ');
    if (field == NULL)
        return SS_LIFE_ENDED;
    *status = atoi(field + 1);
    return SS_LIFE_STATUS;
}

/* The summary of a process that wrote none (ledger.h), never held back by
 * --max-size. */
static void write_summary(int pid, const char *text, size_t len)
{
    struct budget *b = &d.file_budget;
    int fd = d.pattern != NULL ? pid_file(pid, &b) : d.file_fd;
    if (fd < 0)
        return;
    if (d.raw)
        start_if_new(fd, b);
    if (write_own_line(fd, pid, text, len) == 0)
        b->written += len;
    else
        write_failed(d.path != NULL ? d.path : "trace file", errno);
}

void ss_drain_format(enum ss_format format)
{
    d.json = format == SS_FORMAT_JSON;
    d.raw = format == SS_FORMAT_RAW;
    ss_ledger_setup(d.raw ? SS_LEDGER_BOTH : d.json ? SS_LEDGER_JSON : SS_LEDGER_TEXT,
                    write_summary);
}

void ss_drain_child_ended(int pid, int status)
{
    d.child = pid;
    d.child_status = status;
    atomic_store_explicit(&d.child_ended, 1, memory_order_release);
}

/* ---- records no writer of ours wrote ------------------------------------ */

/* The ring is memory every process of the run can write: a record's
 * length and pid are checked before they are used. A length no writer
 * gives (longer than a line the ring takes, or past what was reserved)
 * would have the drain write its own memory into the trace; a pid names
 * a %p file. */
static int record_fits(uint64_t pos, uint64_t len, uint64_t limit)
{
    return len <= ss_ring_max_line(d.mask + 1) && pos + ss_ring_record_size(len) <= limit;
}

static void count_malformed(uint64_t pos)
{
    if (d.malformed_at != pos + 1) { /* a record looked at again is counted once */
        d.malformed++;
        d.malformed_at = pos + 1;
    }
}

/* The next header written after a bad record at pos, before limit: a
 * header is known by its seq (ring.h). 0 when none is there yet. */
static int next_header(uint64_t pos, uint64_t limit, uint64_t *next)
{
    for (uint64_t q = pos + 16; q < limit; q += 16) {
        struct ss_ring_rec *rec = (struct ss_ring_rec *)(d.data + (q & d.mask));
        if (atomic_load_explicit(&rec->seq, memory_order_acquire) == ss_ring_seq(q)) {
            *next = q;
            return 1;
        }
    }
    return 0;
}

/* The highest pid the kernel gives (/proc/sys/kernel/pid_max; at most
 * 2^22 on 64-bit Linux). */
static int pid_max(void)
{
    static int max;
    if (max == 0) {
        char buf[32] = "";
        int fd = open("/proc/sys/kernel/pid_max", O_RDONLY | O_CLOEXEC);
        ssize_t n = fd >= 0 ? read(fd, buf, sizeof buf - 1) : -1;
        if (fd >= 0)
            close(fd);
        max = n > 0 ? atoi(buf) : 0;
        if (max <= 0)
            max = 1 << 22;
    }
    return max;
}

/* Whether pid is one a writer could have put there: a pid the kernel
 * gives. Which process of the run wrote a record cannot be known: the
 * pid is the writer's in its own pid namespace (a program run in a
 * container has its own numbers), and a process that is exiting has
 * already closed its fds. */
static int pid_of_the_run(int pid)
{
    return pid > 0 && pid <= pid_max();
}

enum stop { DRAINED, NOT_STARTED, IN_FLIGHT };

/* Writes out the committed records from tail on; says why it stopped.
 * give_up: skip an uncommitted record of a live writer too (the end). */
static enum stop drain_once(uint64_t limit, int give_up)
{
    uint64_t pos = atomic_load_explicit(&d.ctl->tail, memory_order_relaxed);
    enum stop why = DRAINED;
    while (pos < limit) {
        struct ss_ring_rec *rec = (struct ss_ring_rec *)(d.data + (pos & d.mask));
        if (atomic_load_explicit(&rec->seq, memory_order_acquire) != ss_ring_seq(pos)) {
            why = NOT_STARTED;
            break;
        }
        uint64_t info = atomic_load_explicit(&rec->info, memory_order_acquire);
        uint64_t len = info & SS_REC_LEN_MASK;
        int pid = (int)((info >> SS_REC_PID_SHIFT) & SS_REC_PID_MASK);
        if (!record_fits(pos, len, limit)) {
            count_malformed(pos);
            uint64_t next;
            if (!next_header(pos, limit, &next)) {
                why = NOT_STARTED;
                break;
            }
            pos = next;
            continue;
        }
        if (!(info & SS_REC_COMMITTED) && (give_up || process_gone(pid)))
            /* the writer may have committed just before it exited */
            info = atomic_load_explicit(&rec->info, memory_order_acquire);
        else if (!(info & SS_REC_COMMITTED)) {
            why = IN_FLIGHT;
            break;
        }
        if ((info & SS_REC_COMMITTED) && !pid_of_the_run(pid))
            count_malformed(pos);
        else if ((info & SS_REC_COMMITTED) && (info & SS_REC_CAPTURE))
            add_capture(pid, pos + sizeof *rec, len);
        else if (info & SS_REC_COMMITTED) {
            add_line(pid, pos + sizeof *rec, len);
            ss_ledger_saw_line(pid);
        }
        else
            d.lost++;
        pos += ss_ring_record_size(len);
    }
    flush(); /* before the room is handed back */
    arena_reset();
    atomic_store_explicit(&d.ctl->tail, pos, memory_order_release);
    return why;
}

static uint64_t head(void)
{
    return atomic_load_explicit(&d.ctl->head, memory_order_acquire) & ~SS_RING_CLOSED;
}

static uint64_t now_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static void sleep_until_woken(void)
{
    uint32_t seen = atomic_load_explicit(&d.ctl->wake, memory_order_acquire);
    atomic_store_explicit(&d.ctl->asleep, 1, memory_order_relaxed);
    if (!atomic_load_explicit(&d.finishing, memory_order_acquire)) {
        struct timespec period = {0, DRAIN_PERIOD_NS};
        syscall(SYS_futex, &d.ctl->wake, FUTEX_WAIT, seen, &period, NULL, 0);
    }
    atomic_store_explicit(&d.ctl->asleep, 0, memory_order_relaxed);
}

/* Steps tail over a record whose writer died between reserving it and
 * writing its header (its length is unknown) to the next header written
 * after it, if any before end. A header is recognised by its seq: a line's
 * bytes never hold a NUL, and every seq below 2^56 has one; stale headers
 * of earlier laps carry other offsets. Only used once no writer is left. */
static int resync(uint64_t end)
{
    uint64_t from = atomic_load_explicit(&d.ctl->tail, memory_order_relaxed);
    for (uint64_t pos = from + 16; pos < end; pos += 16) {
        struct ss_ring_rec *rec = (struct ss_ring_rec *)(d.data + (pos & d.mask));
        if (atomic_load_explicit(&rec->seq, memory_order_acquire) == ss_ring_seq(pos)) {
            atomic_store_explicit(&d.ctl->tail, pos, memory_order_release);
            return 1;
        }
    }
    atomic_store_explicit(&d.ctl->tail, end, memory_order_release);
    return 0;
}

/* The end: what was reserved before the ring closed is drained; a writer
 * still in the middle of a line (stopped, or a daemon in a signal handler)
 * gets a second. */
static void drain_to_the_end(void)
{
    drain_once(head(), 0);
    uint64_t end = atomic_fetch_or_explicit(&d.ctl->head, SS_RING_CLOSED, memory_order_acq_rel) &
                   ~SS_RING_CLOSED;
    uint64_t deadline = now_ns() + STUCK_GIVE_UP_NS;
    for (;;) {
        enum stop why = drain_once(end, 0);
        if (why == DRAINED)
            break;
        if (now_ns() > deadline) {
            /* every writer is gone or stuck: what is in flight is lost,
             * and a record never started is stepped over */
            while (drain_once(end, 1) == NOT_STARTED && resync(end))
                d.lost++;
            break;
        }
        struct timespec pause = {0, 1000000L};
        nanosleep(&pause, NULL);
    }
    /* the ring is closed and drained: a process that has ended wrote all
     * it will */
    ss_ledger_look(process_life);
    ss_ledger_write_ended();
}

void ss_drain_pass(void)
{
    uint64_t end = head();
    while (drain_once(end, 1) == NOT_STARTED && resync(end))
        d.lost++;
}

static void *drain_main(void *arg)
{
    (void)arg;
    unsigned rounds = 0;
    while (!atomic_load_explicit(&d.finishing, memory_order_acquire)) {
        /* which processes ended is looked at before the drain reads the
         * ring: all they wrote is then in what it reads */
        int look = rounds++ % LEDGER_LOOK_EVERY == 0;
        if (look)
            ss_ledger_look(process_life);
        drain_once(head(), 0);
        if (look)
            ss_ledger_write_ended();
        sleep_until_woken();
    }
    drain_to_the_end();
    return NULL;
}

int ss_drain_start(void)
{
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* signals are the main thread's */
    int err = pthread_create(&d.thread, NULL, drain_main, NULL);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    d.running = err == 0;
    return err == 0 ? 0 : -1;
}

/* Records of the ring that no writer of sockshim's wrote (a process of
 * the run wrote into the ring's memory): said in the one trace file, as
 * "--max-size" drops are, and on stderr. */
static int malformed_line(char *line, size_t cap, int json)
{
    if (json)
        return snprintf(line, cap,
                        "{\"v\": %d, \"type\": \"dropped\", \"lines\": %lu, "
                        "\"reason\": \"malformed ring records\"}\n",
                        SOCKSHIM_JSON_SCHEMA, d.malformed);
    /* a line of the command's own */
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    struct ss_out o;
    ss_out_init(&o, line, cap);
    ss_command_line_prefix(&o, (int)getpid(),
                           (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec);
    ss_out_u64(&o, d.malformed);
    ss_out_str(&o, d.malformed == 1 ? " malformed ring record dropped\n"
                                    : " malformed ring records dropped\n");
    return o.len < cap ? (int)o.len : -1;
}

static void say_malformed(void)
{
    if (d.malformed == 0)
        return;
    for (int json = 0; json < 2; json++) {
        if (!d.raw && json != d.json)
            continue; /* a record file has both */
        char line[160];
        int n = malformed_line(line, sizeof line, json);
        if (d.file_fd >= 0 && n > 0 && (size_t)n < sizeof line &&
            write_own_line(d.file_fd, (int)getpid(), line, (size_t)n) != 0)
            write_failed(d.path != NULL ? d.path : "trace file", errno);
    }
    ss_warn("%lu malformed ring record%s dropped: a process of the run wrote into the "
            "trace's shared memory",
            d.malformed, d.malformed == 1 ? "" : "s");
}

void ss_drain_finish(void)
{
    if (d.ctl == NULL)
        return;
    atomic_store_explicit(&d.finishing, 1, memory_order_release);
    atomic_fetch_add_explicit(&d.ctl->wake, 1, memory_order_release);
    syscall(SYS_futex, &d.ctl->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
    if (d.running)
        pthread_join(d.thread, NULL);
    else
        drain_to_the_end();
    say_dropped(d.file_fd, &d.file_budget);
    for (int i = 0; i < MAX_OPEN_FILES; i++) {
        if (d.dests[i].pid != 0 && d.dests[i].fd >= 0) {
            say_dropped(d.dests[i].fd, &d.dests[i].budget);
            close(d.dests[i].fd);
        }
    }
    struct stat st;
    if (d.file_fd >= 0 && d.path != NULL && fstat(d.file_fd, &st) == 0 && st.st_nlink == 0)
        ss_warn("trace file '%s' was deleted while the program ran; its lines went with it",
                d.path);
    say_malformed();
    if (d.lost > 0)
        ss_warn("%lu trace line%s lost: %s process was killed while writing %s",
                d.lost, d.lost == 1 ? "" : "s", d.lost == 1 ? "its" : "their",
                d.lost == 1 ? "it" : "them");
}
