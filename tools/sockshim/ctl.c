/* sockshim: the ctl subcommand (ctl.h).
 *
 *   sockshim ctl [--dir DIR] RUN add RULE | del N | clear | list | pause | resume
 *                                | stats [json] | info
 *   sockshim ctl [--dir DIR] --list
 *
 * It sends one request line to the run's control socket (control.c has
 * the protocol) and turns the reply into a message and an exit status:
 * 0 on ok, 2 on an error reply (its lines on stderr, as the command line
 * shows a bad --fault) and on bad usage, 1 when the run cannot be reached.
 */
#include "ctl.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "control.h"
#include "control_requests.h"
#include "fmt.h"
#include "options.h"
#include "say.h"

enum {
    EXIT_OK = 0,
    EXIT_UNREACHABLE = 1,
    EXIT_REFUSED = SS_EXIT_TROUBLE,
    ANSWER_TIMEOUT_S = 10, /* the run answers at once; more is a hung run */
    REPLY_LINE_MAX = 8 << 20, /* stats json of thousands of processes */
};

static void usage(void)
{
    printf("Usage: sockshim ctl [--dir DIR] RUN add RULE\n"
           "       sockshim ctl [--dir DIR] RUN del N\n"
           "       sockshim ctl [--dir DIR] RUN clear | list | pause | resume | info\n"
           "       sockshim ctl [--dir DIR] RUN stats [json]\n"
           "       sockshim ctl [--dir DIR] --list\n"
           "Change a run of 'sockshim --control' while it goes on: its fault rules, its\n"
           "trace; or see its live summary.\n"
           "\n"
           "  RUN          the run's id (the pid of its sockshim command, as --list\n"
           "               shows it) or the path of its control socket\n"
           "  add RULE     put RULE (as --fault takes it) last in the rules in force;\n"
           "               says the number it got: fault #N added\n"
           "  del N        take rule #N out\n"
           "  clear        take every rule out\n"
           "  list         the rules in force, in order: #N RULE\n"
           "  pause        stop writing calls to the trace (faults, the audit and\n"
           "               --pcap go on); each process says where: # tracing paused\n"
           "  resume       write them again: # tracing resumed: N calls not written\n"
           "  stats        the live summary: each running process's sockets open,\n"
           "               calls, errors, faults and findings so far, by method;\n"
           "               the processes that ended, summed (json: one JSON object)\n"
           "  info         the run's pid, program and start (seconds since the epoch)\n"
           "  --list       the runs of this user that can be controlled: RUN  PROGRAM\n"
           "  --dir=DIR    where the control sockets are (as --control-dir; default:\n"
           "               $XDG_RUNTIME_DIR/sockshim, else /tmp/sockshim-UID)\n"
           "\n"
           "Example:\n"
           "  sockshim --control -- ./client &\n"
           "  sockshim ctl --list\n"
           "  sockshim ctl 12345 add 'connect:error=ECONNREFUSED:port=6379'\n"
           "  sockshim ctl 12345 del 1\n"
           "  sockshim ctl 12345 stats\n"
           "\n"
           "Exit status: 0 when the run did it, 1 when the run cannot be reached,\n"
           "2 when it refused (a bad rule, no such rule) or on bad usage.\n"
           "The protocol, to drive a run from a program: docs/control.md.\n");
}

#define usage_error(...) ss_usage_error("sockshim ctl", __VA_ARGS__)

static const char *shown(const char *s, char *buf, size_t cap)
{
    return ss_shown(s, strlen(s), buf, cap);
}

/* ------------------------------------------------------------ reaching */

/* A run: what the user called it, and its socket. */
struct run {
    const char *name;
    char path[PATH_MAX];
};

static int all_digits(const char *s)
{
    return *s != '\0' && strspn(s, "0123456789") == strlen(s);
}

static void find_run(const char *dir, const char *name, struct run *run)
{
    char buf[256];
    run->name = name;
    if (strchr(name, '/') != NULL) {
        if (strlen(name) >= sizeof run->path)
            usage_error("the socket path '%s' is too long", shown(name, buf, sizeof buf));
        strcpy(run->path, name);
        return;
    }
    uint64_t pid;
    if (!all_digits(name) || ss_parse_u64(name, SS_PID_LIMIT, &pid) != 0 || pid == 0)
        usage_error("bad run '%s' (give the run's id, the pid --list shows, or the path of "
                    "its control socket)",
                    shown(name, buf, sizeof buf));
    if (ss_control_socket_path(dir, (long)pid, run->path, sizeof run->path) > sizeof run->path)
        usage_error("--dir '%s': path too long", shown(dir, buf, sizeof buf));
}

/* A connected socket, or -1 with errno. */
static int dial(const char *path)
{
    struct sockaddr_un addr = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof addr.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    strcpy(addr.sun_path, path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int r;
    do
        r = connect(fd, (struct sockaddr *)&addr, sizeof addr);
    while (r != 0 && errno == EINTR);
    if (r != 0) {
        int err = errno;
        close(fd);
        errno = err;
        return -1;
    }
    struct timeval t = {.tv_sec = ANSWER_TIMEOUT_S};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &t, sizeof t);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &t, sizeof t);
    return fd;
}

/* Says why the run cannot be reached; the status to exit with. */
static int unreachable(const struct run *run, int err)
{
    char name[256], path[PATH_MAX * 4];
    shown(run->name, name, sizeof name);
    shown(run->path, path, sizeof path);
    if (err == ENOENT)
        ss_note("no run %s (no control socket at %s: was it started with --control?)", name,
                path);
    else if (err == ECONNREFUSED)
        ss_note("run %s has ended (stale control socket %s)", name, path);
    else if (err == EACCES || err == EPERM)
        ss_note("cannot reach run %s at %s: permission denied (a run of another user?)", name,
                path);
    else
        ss_note("cannot reach run %s at %s: %s", name, path, strerror(err));
    return EXIT_UNREACHABLE;
}

/* ------------------------------------------------------------ talking */

static int send_all(int fd, const char *s, size_t n)
{
    while (n > 0) {
        ssize_t k = send(fd, s, n, MSG_NOSIGNAL);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            return -1;
        s += k;
        n -= (size_t)k;
    }
    return 0;
}

struct reader {
    int fd;
    size_t len, off;
    char buf[4096];
};

/* The next line, without its newline, into line (cut at cap - 1 bytes):
 * 1, or 0 at the end, or -1 with errno (EAGAIN: no answer in time). */
static int next_line(struct reader *r, char *line, size_t cap)
{
    size_t n = 0;
    for (;;) {
        if (r->off == r->len) {
            ssize_t k;
            do
                k = recv(r->fd, r->buf, sizeof r->buf, 0);
            while (k < 0 && errno == EINTR);
            if (k <= 0)
                return k == 0 ? 0 : -1;
            r->len = (size_t)k;
            r->off = 0;
        }
        char ch = r->buf[r->off++];
        if (ch == '\n')
            break;
        if (n + 1 < cap)
            line[n++] = ch;
    }
    line[n] = '\0';
    return 1;
}

/* What a reply came to. */
struct reply {
    int status;       /* EXIT_OK, EXIT_REFUSED or EXIT_UNREACHABLE */
    int dial_error;   /* unreachable: connect's errno, or 0 */
    char ok[64];      /* what followed "ok" */
};

/* A line of an error or a warning: its first line as a message of ours,
 * the rest (the rule and the caret line) as they are, as the command
 * line shows a bad --fault. */
static void show_message_line(const char *text, int first, const char *kind)
{
    if (first)
        ss_note("%s%s", kind, text);
    else
        fprintf(stderr, "%s\n", text);
}

/* Handles one line of the reply; 1 once the reply is over. */
static int take_reply_line(const char *line, struct reply *r, int *msg_lines,
                           void (*data)(const char *line))
{
    if (strcmp(line, "ok") == 0 || strncmp(line, "ok ", 3) == 0) {
        const char *rest = line[2] != '\0' ? line + 3 : "";
        size_t n = strnlen(rest, sizeof r->ok - 1);
        memcpy(r->ok, rest, n);
        r->ok[n] = '\0';
        r->status = EXIT_OK;
        return 1;
    }
    if (strncmp(line, "error ", 6) == 0 || strncmp(line, "error-", 6) == 0) {
        show_message_line(line + 6, (*msg_lines)++ == 0, "");
        r->status = EXIT_REFUSED;
        return line[5] == ' ';
    }
    if (strncmp(line, "warning ", 8) == 0)
        show_message_line(line + 8, (*msg_lines)++ == 0, "warning: ");
    else if (data != NULL)
        data(line);
    return 0;
}

/* Why the reply did not come (got: what next_line last said). */
static void say_lost(const struct run *run, int got, int err)
{
    char path[PATH_MAX * 4];
    shown(run->path, path, sizeof path);
    if (got < 0 && (err == EAGAIN || err == EWOULDBLOCK))
        ss_note("run %s did not answer within %d seconds (%s)", run->name, ANSWER_TIMEOUT_S,
                path);
    else
        ss_note("run %s closed the connection without answering (%s)%s", run->name, path,
                got == 0 ? ": is it a run of this user?" : "");
}

/* Sends request to the run and reads its reply; data gets the reply's
 * lines of data. quiet: no message when the run cannot be reached (the
 * caller says it). */
static void ask(const struct run *run, const char *request, void (*data)(const char *line),
                struct reply *r, int quiet)
{
    *r = (struct reply){.status = EXIT_UNREACHABLE};
    int fd = dial(run->path);
    if (fd < 0) {
        r->dial_error = errno;
        if (!quiet)
            unreachable(run, errno);
        return;
    }
    struct reader reader = {.fd = fd};
    static char line[REPLY_LINE_MAX];
    int msg_lines = 0, got = -1;
    if (send_all(fd, request, strlen(request)) == 0 && send_all(fd, "\n", 1) == 0) {
        while ((got = next_line(&reader, line, sizeof line)) == 1)
            if (take_reply_line(line, r, &msg_lines, data))
                break;
    }
    int err = errno;
    close(fd);
    if (got == 1)
        return;
    r->status = EXIT_UNREACHABLE;
    if (!quiet)
        say_lost(run, got, err);
}

/* ------------------------------------------------------------ requests */

static void print_line(const char *line)
{
    puts(line);
}

static int finish(int status)
{
    if (fflush(stdout) != 0) {
        ss_note("cannot write: %s", strerror(errno));
        return EXIT_REFUSED;
    }
    return status;
}

static int ctl_add(const struct run *run, const char *rule)
{
    if (rule[0] == '\0')
        usage_error("add: the rule is empty");
    if (strpbrk(rule, "\n\r") != NULL)
        usage_error("add: a rule is one line (it holds a line break)");
    char *request;
    if (asprintf(&request, "add %s", rule) < 0)
        ss_die("out of memory");
    struct reply r;
    ask(run, request, NULL, &r, 0);
    free(request);
    if (r.status == EXIT_OK)
        printf("fault #%s added\n", r.ok);
    return finish(r.status);
}

static int ctl_del(const struct run *run, const char *number)
{
    const char *digits = number[0] == '#' ? number + 1 : number;
    uint64_t n;
    char buf[256];
    if (!all_digits(digits) || ss_parse_u64(digits, UINT32_MAX, &n) != 0)
        usage_error("del: bad rule number '%s' (list shows the rules' numbers)",
                    shown(number, buf, sizeof buf));
    char request[32];
    snprintf(request, sizeof request, "del %llu", (unsigned long long)n);
    struct reply r;
    ask(run, request, NULL, &r, 0);
    if (r.status == EXIT_OK)
        printf("fault #%llu removed\n", (unsigned long long)n);
    return finish(r.status);
}

/* The other requests: the data lines as they come, and what the request
 * did when it says nothing (done, from control_requests.h). */
static int ctl_plain(const struct run *run, const char *request, const char *done)
{
    struct reply r;
    ask(run, request, print_line, &r, 0);
    if (r.status == EXIT_OK && done != NULL)
        printf("%s\n", done);
    return finish(r.status);
}

static int ctl_stats(const struct run *run, const char *form)
{
    char request[64], buf[256];
    if (form != NULL && strpbrk(form, "\n\r") != NULL)
        usage_error("stats: unexpected '%s'", shown(form, buf, sizeof buf)); /* one line */
    snprintf(request, sizeof request, "stats %.40s", form != NULL ? form : "");
    return ctl_plain(run, request, NULL); /* the run refuses a form it does not know */
}

static int ctl_request(const struct run *run, char *const args[], int n)
{
    char buf[256];
    const char *verb = args[0];
    enum ss_ctl_request req = ss_ctl_request_named(verb);
    if (req == SS_CTL_COUNT)
        usage_error("unknown request '%s' (%.*s)", shown(verb, buf, sizeof buf),
                    SS_CTL_NAMES_LEN, ss_ctl_names);
    enum ss_ctl_arg arg = ss_ctl_requests[req].arg;
    int given = n - 1, most = arg == CTL_ARG_NONE ? 0 : 1;
    if (arg == CTL_ARG_ONE && given < 1)
        usage_error("%s needs %s", verb, ss_ctl_requests[req].what);
    if (given > most)
        usage_error("%s: unexpected '%s'%s", verb, shown(args[most + 1], buf, sizeof buf),
                    req == SS_CTL_add ? " (quote the rule: it is one argument)" : "");
    switch (req) {
    case SS_CTL_add:
        return ctl_add(run, args[1]);
    case SS_CTL_del:
        return ctl_del(run, args[1]);
    case SS_CTL_stats:
        return ctl_stats(run, given > 0 ? args[1] : NULL);
    default:
        return ctl_plain(run, verb, ss_ctl_requests[req].done);
    }
}

/* ------------------------------------------------------------ --list */

static char listed_program[PATH_MAX * 4];

static void keep_program(const char *line)
{
    if (strncmp(line, "program ", 8) == 0)
        snprintf(listed_program, sizeof listed_program, "%s", line + 8);
}

static int by_number(const void *a, const void *b)
{
    long x = atol(*(char *const *)a), y = atol(*(char *const *)b);
    return (x > y) - (x < y);
}

/* The ids of DIR's sockets (NAME.sock, NAME all digits), in order. */
static size_t list_ids(DIR *d, char ***ids)
{
    size_t n = 0, cap = 0;
    *ids = NULL;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        size_t len = strlen(e->d_name);
        if (len <= 5 || strcmp(e->d_name + len - 5, ".sock") != 0 ||
            strspn(e->d_name, "0123456789") != len - 5)
            continue;
        if (n == cap) {
            cap = cap ? cap * 2 : 16;
            char **grown = realloc(*ids, cap * sizeof *grown);
            if (grown == NULL)
                ss_die("out of memory");
            *ids = grown;
        }
        if (((*ids)[n++] = strndup(e->d_name, len - 5)) == NULL)
            ss_die("out of memory");
    }
    qsort(*ids, n, sizeof **ids, by_number);
    return n;
}

/* One socket of --list: "RUN  PROGRAM", or why there is no program. */
static void list_one(const char *dir, const char *id)
{
    struct run run;
    run.name = id;
    ss_control_socket_path(dir, atol(id), run.path, sizeof run.path);
    struct reply r;
    listed_program[0] = '\0';
    ask(&run, "info", keep_program, &r, 1);
    if (r.status == EXIT_OK)
        printf("%s  %s\n", id, listed_program);
    else if (r.dial_error == ECONNREFUSED)
        printf("%s  stale (the run has ended)\n", id);
    else if (r.dial_error == ENOENT)
        return; /* gone since the directory was read */
    else if (r.dial_error != 0)
        printf("%s  unreachable (%s)\n", id, strerror(r.dial_error));
    else
        printf("%s  stale (does not answer)\n", id);
}

static int list_runs(const char *dir)
{
    char buf[PATH_MAX * 4];
    DIR *d = opendir(dir);
    if (d == NULL && errno != ENOENT) {
        ss_note("cannot read '%s': %s", shown(dir, buf, sizeof buf), strerror(errno));
        return EXIT_UNREACHABLE;
    }
    char **ids = NULL;
    size_t n = d != NULL ? list_ids(d, &ids) : 0;
    if (d != NULL)
        closedir(d);
    for (size_t i = 0; i < n; i++) {
        list_one(dir, ids[i]);
        free(ids[i]);
    }
    free(ids);
    if (n == 0)
        ss_note("no runs with --control in %s", shown(dir, buf, sizeof buf));
    return finish(EXIT_OK);
}

/* ------------------------------------------------------------ main */

int ss_ctl_main(int argc, char *argv[])
{
    ss_say_as("sockshim ctl");
    char dflt[PATH_MAX], buf[256];
    const char *dir = NULL;
    int list = 0, i = 1;
    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            usage();
            return finish(EXIT_OK);
        }
        if (strcmp(a, "--list") == 0)
            list = 1;
        else if (strncmp(a, "--dir=", 6) == 0)
            dir = a + 6;
        else if (strcmp(a, "--dir") == 0 && i + 1 < argc)
            dir = argv[++i];
        else if (strcmp(a, "--dir") == 0)
            usage_error("option '--dir' requires an argument");
        else
            usage_error("unknown option '%s'", shown(a, buf, sizeof buf));
    }
    if (dir != NULL && dir[0] == '\0')
        usage_error("--dir needs a directory");
    if (dir == NULL) {
        if (ss_control_default_dir(dflt, sizeof dflt) > sizeof dflt)
            usage_error("the default directory's path is too long; give one with --dir");
        dir = dflt;
    }
    if (list && i < argc)
        usage_error("--list takes no run: unexpected '%s'", shown(argv[i], buf, sizeof buf));
    if (list)
        return list_runs(dir);
    if (i >= argc)
        usage_error("no run named\nUsage: sockshim ctl [--dir DIR] RUN add|del|clear|list ...");
    if (i + 1 >= argc)
        usage_error("no request for run '%s' (%.*s)", shown(argv[i], buf, sizeof buf),
                    SS_CTL_NAMES_LEN, ss_ctl_names);
    struct run run;
    find_run(dir, argv[i], &run);
    return ctl_request(&run, argv + i + 1, argc - i - 1);
}
