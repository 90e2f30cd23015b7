/* sockshim: live control of a run's faults (control.h).
 *
 * With --control the command makes the run's rule board (a memfd every
 * process of the run maps read-only: shim/common/board.h) and listens on a
 * unix stream socket, DIR/PID.sock, where PID is the command's pid (the
 * run's id) and DIR is --control-dir, else $XDG_RUNTIME_DIR/sockshim, else
 * /tmp/sockshim-UID. DIR is made mode 0700 when missing, and refused when
 * it is not a directory of the user's that only the user may write; the
 * socket is mode 0600, and a connection from another uid (SO_PEERCRED) is
 * closed unanswered. One thread of the command serves it; the command is
 * the board's only writer. The library, not the command, writes into the
 * trace when a change takes effect: the command's stderr stays the
 * program's and the trace's.
 *
 * The protocol. A client sends request lines (ending in "\n"; a "\r"
 * before it is dropped; blank lines are skipped); a line longer than
 * SS_RULE_TEXT_MAX + 16 bytes is answered with an error and skipped. A
 * connection carries any number of requests, each answered in turn; one
 * holding half a line for 5 seconds is closed, and one idle between
 * requests for a minute (or the longest idle one, when 8 are open and
 * another client comes). A reply is zero or more lines of data, then one
 * final line that starts with "ok" or "error " ("error-" starts a line of
 * an error that continues on the next line):
 *
 *   add RULE   checks RULE as --fault does (--strict refusing rules that
 *              warn, as on the command line) and puts it last in the rules
 *              in force, under a new number:
 *                ok N
 *              A rule that warns is taken after the warning's lines,
 *              "warning MESSAGE", "warning   RULE", "warning   ^^^".
 *              A bad rule, with the command line's message, the rule and
 *              a caret line under its bad part:
 *                error-MESSAGE
 *                error-  RULE
 *                error   ^^^^
 *              More than SS_MAX_RULES (64) rules in force, or the run's
 *              SS_RULE_NUMBERS (1024) numbers used up, are errors too.
 *   del N      takes rule N (or #N) out, keeping the others' order:
 *                ok                          or
 *                error no rule #N in force
 *   clear      takes every rule out: ok
 *   list       the rules in force, in order (the first that matches a
 *              call applies), then ok:
 *                #1 connect:error=ECONNREFUSED
 *                #3 send:short=1
 *                ok
 *   info       the run: "pid PID", "program NAME" (as the command line named
 *              it), "started SECONDS"
 *              (since the epoch), then ok (for `sockshim ctl --list`)
 *   other      error unknown request 'WORD' (add, del, clear, list, info)
 *
 * Bytes that are not printable ASCII in a rule or a path are shown as \xNN.
 * The run's first rules (--fault, --fault-file, SOCKSHIM_FAULTS) are #1 to
 * #N; a number is never given twice in a run.
 */
#include "control.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "control_requests.h"
#include "live.h"
#include "fmt.h"
#include "rules.h"
#include "say.h"
#include "shared_memory.h"

enum {
    LINE_MAX_BYTES = SS_RULE_TEXT_MAX + 16, /* a request, without its newline */
    MAX_CLIENTS = 8,      /* connections served at once */
    PARTIAL_LINE_MS = 5000, /* a half line must be finished within this */
    IDLE_MS = 60000,      /* a connection between requests */
    SEND_TIMEOUT_S = 5,   /* a client that does not read its replies */
    SHOWN_MAX = SS_RULE_TEXT_MAX * 4 + 64, /* an escaped rule, and more */
    SWEEP_MS = 1000, /* how often the live counts of ended processes are folded */
};

struct client {
    int fd;               /* -1: a free slot */
    int skipping;         /* in a line too long: dropped up to its newline */
    int64_t deadline_ms;
    size_t len;
    char buf[LINE_MAX_BYTES + 2];
};

static struct {
    struct ss_board *board;
    int listen_fd;
    char path[sizeof ((struct sockaddr_un *)0)->sun_path];
    int strict;
    char program[PATH_MAX];
    long long started;
    int wake[2];          /* a byte on wake[1]: stop serving */
    pthread_t thread;
    int running;
    struct client clients[MAX_CLIENTS];
    int64_t next_sweep_ms;
} ctl = {.listen_fd = -1, .wake = {-1, -1}};

/* ------------------------------------------------------------ places */

size_t ss_control_default_dir(char *buf, size_t cap)
{
    const char *runtime = getenv("XDG_RUNTIME_DIR");
    int n = runtime != NULL && runtime[0] == '/'
                ? snprintf(buf, cap, "%s/sockshim", runtime)
                : snprintf(buf, cap, "/tmp/sockshim-%u", (unsigned)getuid());
    return n < 0 ? cap + 1 : (size_t)n + 1;
}

size_t ss_control_socket_path(const char *dir, long run, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%ld.sock", dir, run);
    return n < 0 ? cap + 1 : (size_t)n + 1;
}

size_t ss_control_path_max(void)
{
    return sizeof ctl.path;
}

/* The directory holds a socket that steers the run's faults: it must be
 * the user's and writable by no one else, or another user could put a
 * socket of their own in its place. A directory we were told to use is
 * followed if it is a link; the default one (in /tmp, maybe) is not. */
static void check_directory(const char *dir, int named)
{
    struct stat st;
    int r = named ? stat(dir, &st) : lstat(dir, &st);
    if (r != 0)
        ss_die("--control: cannot use '%s': %s", dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        ss_die("--control: '%s' is not a directory (name another with --control-dir=DIR)",
               dir);
    if (st.st_uid != getuid())
        ss_die("--control: '%s' belongs to another user (uid %u); control sockets go in a "
               "directory of your own (--control-dir=DIR)",
               dir, (unsigned)st.st_uid);
    if (st.st_mode & (S_IWGRP | S_IWOTH))
        ss_die("--control: '%s' is writable by others (mode %04o); chmod go-w it or name "
               "another with --control-dir=DIR",
               dir, (unsigned)(st.st_mode & 07777));
}

static void make_directory(const char *dir, int named)
{
    if (mkdir(dir, 0700) != 0 && errno != EEXIST)
        ss_die("--control: cannot make the directory '%s': %s%s", dir, strerror(errno),
               named ? "" : " (name one with --control-dir=DIR)");
    check_directory(dir, named);
}

/* A socket left at our path is of an earlier process with our pid that
 * could not remove it (killed): nobody serves it. Anything else there is
 * not ours to remove. */
static void remove_stale_socket(const char *path)
{
    struct stat st;
    if (lstat(path, &st) != 0)
        return;
    if (!S_ISSOCK(st.st_mode) || st.st_uid != getuid())
        ss_die("--control: '%s' exists and is not a control socket of yours; remove it",
               path);
    unlink(path);
}

static void remove_socket_at_exit(void)
{
    if (ctl.path[0] != '\0')
        unlink(ctl.path);
}

static int listen_at(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    memcpy(addr.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    /* 0600 from the start: no moment in which others could connect */
    mode_t old = umask(0177);
    int r = bind(fd, (struct sockaddr *)&addr, sizeof addr);
    umask(old);
    if (r != 0 || listen(fd, 16) != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    return fd;
}

void ss_control_open(const char *dir, const char *program, int strict)
{
    char dflt[PATH_MAX];
    if (dir == NULL) {
        if (ss_control_default_dir(dflt, sizeof dflt) > sizeof dflt)
            ss_die("--control: the default directory's path is too long; name one with "
                   "--control-dir=DIR");
        dir = dflt;
    }
    char path[PATH_MAX];
    size_t need = ss_control_socket_path(dir, (long)getpid(), path, sizeof path);
    if (need > sizeof ctl.path)
        ss_die("--control: '%s' is too long a directory: the control socket's path would "
               "be %zu bytes, and a unix socket's holds at most %zu; name a shorter one with "
               "--control-dir=DIR",
               dir, need - 1, sizeof ctl.path - 1);
    make_directory(dir, dir != dflt);
    remove_stale_socket(path);
    ctl.listen_fd = listen_at(path);
    if (ctl.listen_fd < 0)
        ss_die("--control: cannot listen at '%s': %s", path, strerror(errno));
    strcpy(ctl.path, path);
    atexit(remove_socket_at_exit);
    ctl.strict = strict;
    snprintf(ctl.program, sizeof ctl.program, "%s", program);
    ctl.started = (long long)time(NULL);
}

/* ------------------------------------------------------------ the board */

int ss_control_make_board(int floor)
{
    int fd;
    ctl.board = ss_shared_memory_make("sockshim-rules", sizeof *ctl.board, floor, &fd);
    if (ctl.board == NULL)
        return -1;
    ctl.board->magic = SS_BOARD_MAGIC;
    ctl.board->next_number = 1;
    return fd;
}

/* A change, as the readers' sequence lock wants it: the version goes odd
 * before the first byte changes (the fence keeps the list's stores behind
 * it) and even again, with release, once the last has. */
static void board_begin(void)
{
    uint64_t v = atomic_load_explicit(&ctl.board->version, memory_order_relaxed);
    atomic_store_explicit(&ctl.board->version, v + 1, memory_order_relaxed);
    atomic_thread_fence(memory_order_release);
}

static void board_end(void)
{
    uint64_t v = atomic_load_explicit(&ctl.board->version, memory_order_relaxed);
    atomic_store_explicit(&ctl.board->version, v + 1, memory_order_release);
}

/* The number the rule got. The caller has checked there is room.
 * added_ns: when a rule added while the run goes on was added (its at=
 * and for= count from then); 0 for the run's first rules. */
static uint32_t board_append(const char *text, uint64_t added_ns)
{
    struct ss_board *b = ctl.board;
    board_begin();
    struct ss_board_rule *r = &b->rule[b->n];
    memset(r, 0, sizeof *r);
    r->number = b->next_number++;
    r->added_ns = added_ns;
    snprintf(r->text, sizeof r->text, "%s", text);
    b->n++;
    board_end();
    return r->number;
}

static int board_find(uint32_t number)
{
    for (uint32_t i = 0; i < ctl.board->n; i++)
        if (ctl.board->rule[i].number == number)
            return (int)i;
    return -1;
}

static void board_remove(int at)
{
    struct ss_board *b = ctl.board;
    board_begin();
    memmove(&b->rule[at], &b->rule[at + 1], (b->n - (uint32_t)at - 1) * sizeof b->rule[0]);
    b->n--;
    memset(&b->rule[b->n], 0, sizeof b->rule[0]);
    board_end();
}

static void board_clear(void)
{
    board_begin();
    ctl.board->n = 0;
    board_end();
}

void ss_control_board_add(const char *text)
{
    if (ctl.board != NULL && ctl.board->n < SS_MAX_RULES)
        board_append(text, 0);
}

/* ------------------------------------------------------------ replies */

static int64_t now_ms(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static void drop_client(struct client *c)
{
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    c->len = 0;
    c->skipping = 0;
}

/* Writes all of it (a peer that stops reading times out: SO_SNDTIMEO);
 * on failure the client is dropped. MSG_NOSIGNAL: the command runs with
 * SIGPIPE at its default, and a client gone must not kill the run. */
static void send_all(struct client *c, const char *s, size_t n)
{
    while (n > 0 && c->fd >= 0) {
        ssize_t k = send(c->fd, s, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0) {
            drop_client(c);
            return;
        }
        s += k;
        n -= (size_t)k;
    }
}

__attribute__((format(printf, 2, 3)))
static void reply(struct client *c, const char *fmt, ...)
{
    char line[SHOWN_MAX + 64];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(line, sizeof line - 1, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    size_t len = (size_t)n < sizeof line - 1 ? (size_t)n : sizeof line - 2;
    line[len++] = '\n';
    send_all(c, line, len);
}

/* Text of several lines as one reply's lines: each starts with kind and
 * "-" when it continues on the next, with kind and " " when it is the
 * last and final is set (an error's end), with kind and " " always when
 * not (warnings, which an ok follows). */
static void reply_lines(struct client *c, const char *kind, const char *text, int final)
{
    while (*text != '\0') {
        size_t n = strcspn(text, "\n");
        int last = text[n] == '\0' || text[n + 1] == '\0';
        reply(c, "%s%c%.*s", kind, final && !last ? '-' : ' ', (int)n, text);
        text += n + (text[n] != '\0');
    }
}

static const char *shown(const char *s, char *buf)
{
    return ss_shown(s, strlen(s), buf, SHOWN_MAX);
}

/* ------------------------------------------------------------ requests */

/* A bad rule, or one --strict refuses, told as the command line tells it
 * (check_rules in sockshim.c): the message, the rule, a caret line. */
static void refuse_rule(struct client *c, const char *kind, const char *why, const char *text,
                        const struct ss_rule_error *e, int final)
{
    char body[SHOWN_MAX * 2 + 512];
    char message[sizeof body + 32];
    ss_rule_explain("  ", text, e, body, sizeof body);
    snprintf(message, sizeof message, "%s%s", why, body);
    reply_lines(c, kind, message, final);
}

static void do_add(struct client *c, const char *text)
{
    struct ss_rule *rule = malloc(sizeof *rule); /* large: not on the thread's stack */
    struct ss_rule_error e;
    if (rule == NULL) {
        reply(c, "error out of memory");
        return;
    }
    if (ss_rule_parse(text, rule, &e) != 0) {
        refuse_rule(c, "error", "", text, &e, 1);
    } else if (ss_rule_warning(rule, &e) && ctl.strict) {
        refuse_rule(c, "error", "(--strict) ", text, &e, 1);
    } else if (ctl.board->n >= SS_MAX_RULES) {
        reply(c, "error too many fault rules in force (at most %d; del one, or let rules with "
                 "the same actions share one set of methods: send,recv:...)",
              SS_MAX_RULES);
    } else if (ctl.board->next_number > SS_RULE_NUMBERS) {
        reply(c, "error the run's rule numbers are used up (a run gives out at most %d)",
              SS_RULE_NUMBERS);
    } else {
        if (ss_rule_warning(rule, &e)) {
            size_t n = strlen(e.msg);
            snprintf(e.msg + n, sizeof e.msg - n, " (--strict refuses this)");
            refuse_rule(c, "warning", "", text, &e, 0);
        }
        reply(c, "ok %u", (unsigned)board_append(text, ss_output_clock_ns()));
    }
    free(rule);
}

static void do_del(struct client *c, const char *arg)
{
    uint64_t number;
    const char *digits = arg[0] == '#' ? arg + 1 : arg;
    char buf[SHOWN_MAX];
    if (*digits == '\0' || ss_parse_u64(digits, UINT32_MAX, &number) != 0) {
        reply(c, "error del takes a rule's number, not '%s' (list shows them)",
              shown(arg, buf));
        return;
    }
    int at = board_find((uint32_t)number);
    if (at < 0) {
        reply(c, "error no rule #%llu in force", (unsigned long long)number);
        return;
    }
    board_remove(at);
    reply(c, "ok");
}

static void do_list(struct client *c)
{
    char buf[SHOWN_MAX];
    for (uint32_t i = 0; i < ctl.board->n; i++)
        reply(c, "#%u %s", (unsigned)ctl.board->rule[i].number,
              shown(ctl.board->rule[i].text, buf));
    reply(c, "ok");
}

static void do_info(struct client *c)
{
    char buf[SHOWN_MAX];
    reply(c, "pid %ld", (long)getpid());
    reply(c, "program %s", ss_shown(ctl.program, strlen(ctl.program), buf, sizeof buf));
    reply(c, "started %lld", ctl.started);
    reply(c, "ok");
}

/* Leading and trailing blanks are no part of a rule (as in a fault file). */
static char *trimmed(char *s)
{
    s += strspn(s, " \t");
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
        s[--n] = '\0';
    return s;
}

static void set_paused(struct client *c, int paused)
{
    board_begin();
    ctl.board->tracing_paused = (uint32_t)paused;
    board_end();
    reply(c, "ok");
}

static void reply_data_line(void *arg, const char *line)
{
    struct client *c = arg;
    send_all(c, line, strlen(line));
    send_all(c, "\n", 1);
}

/* stats: the live counts for people; stats json: as one JSON object. */
static void do_stats(struct client *c, const char *arg)
{
    char buf[SHOWN_MAX];
    if (*arg != '\0' && strcmp(arg, "json") != 0) {
        reply(c, "error stats takes %s, not '%s'", ss_ctl_requests[SS_CTL_stats].what,
              shown(arg, buf));
        return;
    }
    if (*arg != '\0')
        ss_live_json(reply_data_line, c);
    else
        ss_live_text(reply_data_line, c);
    reply(c, "ok");
}

/* The request's name was checked, and whether it has its argument. */
static void do_request(struct client *c, enum ss_ctl_request r, const char *arg)
{
    switch (r) {
    case SS_CTL_add:
        do_add(c, arg);
        break;
    case SS_CTL_del:
        do_del(c, arg);
        break;
    case SS_CTL_clear:
        board_clear();
        reply(c, "ok");
        break;
    case SS_CTL_list:
        do_list(c);
        break;
    case SS_CTL_pause:
    case SS_CTL_resume:
        set_paused(c, r == SS_CTL_pause);
        break;
    case SS_CTL_stats:
        do_stats(c, arg);
        break;
    case SS_CTL_info:
    case SS_CTL_COUNT:
        do_info(c);
        break;
    }
}

static void handle_request(struct client *c, char *line)
{
    line = trimmed(line);
    if (*line == '\0')
        return;
    size_t wlen = strcspn(line, " \t");
    char *arg = trimmed(line + wlen);
    line[wlen] = '\0';
    int has_arg = *arg != '\0';
    char buf[SHOWN_MAX];
    enum ss_ctl_request r = ss_ctl_request_named(line);
    if (r == SS_CTL_COUNT)
        reply(c, "error unknown request '%.40s' (%.*s)", shown(line, buf), SS_CTL_NAMES_LEN,
              ss_ctl_names);
    else if (ss_ctl_requests[r].arg == CTL_ARG_ONE && !has_arg)
        reply(c, "error %s takes %s", line, ss_ctl_requests[r].what);
    else if (ss_ctl_requests[r].arg == CTL_ARG_NONE && has_arg)
        reply(c, "error %s takes no argument", line);
    else
        do_request(c, r, arg);
}

/* ------------------------------------------------------------ clients */

static struct client *free_slot(void)
{
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (ctl.clients[i].fd < 0)
            return &ctl.clients[i];
    return NULL;
}

/* Only the user's own processes may steer the run (the socket's mode says
 * so already; this holds even where a file system ignores it). */
static int peer_is_user(int fd)
{
    struct ucred cred;
    socklen_t len = sizeof cred;
    return getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) == 0 &&
           cred.uid == getuid();
}

/* A full house makes room by closing the connection idle (between
 * requests) the longest: a client that keeps one open for the run must
 * not lock others out. NULL when every one is inside a request. */
static struct client *evict_idle(void)
{
    struct client *oldest = NULL;
    for (int i = 0; i < MAX_CLIENTS; i++) {
        struct client *c = &ctl.clients[i];
        if (c->fd >= 0 && c->len == 0 && !c->skipping &&
            (oldest == NULL || c->deadline_ms < oldest->deadline_ms))
            oldest = c;
    }
    if (oldest != NULL)
        drop_client(oldest);
    return oldest;
}

static void accept_client(void)
{
    int fd = accept4(ctl.listen_fd, NULL, NULL, SOCK_CLOEXEC);
    if (fd < 0)
        return;
    struct client *c = free_slot();
    if (c == NULL)
        c = evict_idle();
    if (c == NULL || !peer_is_user(fd)) {
        close(fd);
        return;
    }
    struct timeval t = {.tv_sec = SEND_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
    c->fd = fd;
    c->len = 0;
    c->skipping = 0;
    c->deadline_ms = now_ms() + IDLE_MS;
}

/* Answers every whole line in the buffer and keeps the rest; old_len is
 * what the buffer held before the last read (a half line then means the
 * line under way is not a new one: its 5 seconds go on). */
static void take_lines(struct client *c, size_t old_len)
{
    char *start = c->buf;
    char *nl;
    while (c->fd >= 0 && (nl = memchr(start, '\n', c->len - (size_t)(start - c->buf))) != NULL) {
        size_t len = (size_t)(nl - start);
        *nl = '\0';
        if (memchr(start, '\0', len) != NULL)
            reply(c, "error a request is text: this one holds a NUL byte");
        else {
            if (len > 0 && start[len - 1] == '\r')
                start[len - 1] = '\0';
            handle_request(c, start);
        }
        start = nl + 1;
    }
    if (c->fd < 0)
        return;
    size_t rest = c->len - (size_t)(start - c->buf);
    int same_line = start == c->buf && old_len > 0;
    memmove(c->buf, start, rest);
    c->len = rest;
    if (rest == 0)
        c->deadline_ms = now_ms() + IDLE_MS;
    else if (!same_line)
        c->deadline_ms = now_ms() + PARTIAL_LINE_MS;
}

/* Drops the bytes of a line too long up to its newline: 1 when the line
 * has ended (what follows is a new request), 0 when all was dropped. */
static int skip_rest_of_line(struct client *c)
{
    char *nl = memchr(c->buf, '\n', c->len);
    if (nl == NULL) {
        c->len = 0;
        return 0;
    }
    c->len -= (size_t)(nl + 1 - c->buf);
    memmove(c->buf, nl + 1, c->len);
    c->skipping = 0;
    return 1;
}

static void read_client(struct client *c)
{
    size_t room = LINE_MAX_BYTES + 1 - c->len; /* a whole line and its newline */
    ssize_t n;
    do
        n = recv(c->fd, c->buf + c->len, room, MSG_DONTWAIT);
    while (n < 0 && errno == EINTR);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return;
    if (n <= 0) {
        drop_client(c);
        return;
    }
    size_t old_len = c->len;
    c->len += (size_t)n;
    if (c->skipping) {
        if (!skip_rest_of_line(c))
            return; /* its deadline stands */
        old_len = 0;
    }
    take_lines(c, old_len);
    if (c->fd >= 0 && c->len > LINE_MAX_BYTES) {
        /* answered now; the rest of it must not read as requests */
        reply(c, "error request too long (at most %d bytes a line)", LINE_MAX_BYTES);
        c->len = 0;
        c->skipping = 1;
        c->deadline_ms = now_ms() + PARTIAL_LINE_MS;
    }
}

/* ------------------------------------------------------------ the thread */

static int poll_timeout(void)
{
    int64_t now = now_ms(), soonest = ctl.next_sweep_ms;
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (ctl.clients[i].fd >= 0 && (soonest < 0 || ctl.clients[i].deadline_ms < soonest))
            soonest = ctl.clients[i].deadline_ms;
    if (soonest < 0)
        return -1;
    return soonest <= now ? 0 : (int)(soonest - now);
}

static void drop_late_clients(void)
{
    int64_t now = now_ms();
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (ctl.clients[i].fd >= 0 && ctl.clients[i].deadline_ms <= now)
            drop_client(&ctl.clients[i]);
}

/* One poll round; 0 to go on, -1 when told to stop. */
static int serve_once(void)
{
    struct pollfd p[2 + MAX_CLIENTS];
    int who[2 + MAX_CLIENTS];
    nfds_t n = 0;
    p[n++] = (struct pollfd){.fd = ctl.wake[0], .events = POLLIN};
    p[n++] = (struct pollfd){.fd = ctl.listen_fd, .events = POLLIN};
    for (int i = 0; i < MAX_CLIENTS; i++)
        if (ctl.clients[i].fd >= 0) {
            who[n] = i;
            p[n++] = (struct pollfd){.fd = ctl.clients[i].fd, .events = POLLIN};
        }
    int r = poll(p, n, poll_timeout());
    if (r < 0 && errno != EINTR)
        return -1;
    if (r > 0 && p[0].revents != 0)
        return -1;
    for (nfds_t i = 2; r > 0 && i < n; i++)
        if (p[i].revents != 0)
            read_client(&ctl.clients[who[i]]);
    if (r > 0 && p[1].revents != 0)
        accept_client();
    drop_late_clients();
    if (now_ms() >= ctl.next_sweep_ms) {
        ss_live_sweep();
        ctl.next_sweep_ms = now_ms() + SWEEP_MS;
    }
    return 0;
}

static void *serve(void *arg)
{
    (void)arg;
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_BLOCK, &all, NULL); /* the main thread forwards signals */
    while (serve_once() == 0)
        ;
    for (int i = 0; i < MAX_CLIENTS; i++)
        drop_client(&ctl.clients[i]);
    return NULL;
}

int ss_control_start(void)
{
    if (ctl.listen_fd < 0 || ctl.board == NULL)
        return 0;
    for (int i = 0; i < MAX_CLIENTS; i++)
        ctl.clients[i].fd = -1;
    if (pipe2(ctl.wake, O_CLOEXEC) != 0)
        return -1;
    if (pthread_create(&ctl.thread, NULL, serve, NULL) != 0)
        return -1;
    ctl.running = 1;
    return 0;
}

void ss_control_stop(void)
{
    if (ctl.running) {
        ssize_t ignored = write(ctl.wake[1], "", 1);
        (void)ignored;
        pthread_join(ctl.thread, NULL);
        ctl.running = 0;
    }
    if (ctl.listen_fd >= 0) {
        /* unlink first: a client never finds a path nobody will answer */
        remove_socket_at_exit();
        ctl.path[0] = '\0';
        close(ctl.listen_fd);
        ctl.listen_fd = -1;
    }
}
