/* sockshim: the fault engine (see fault.h). */
#include "fault.h"
#include "latency.h"
#include "outbox.h"

#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <netdb.h>
#include <netinet/in.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "board.h"
#include "share.h"
#include "epoll_table.h"
#include "fault_event.h"
#include "fmt.h"
#include "internal.h"
#include "model.h"
#include "real.h"
#include "render.h"
#include "trace.h"
#include "capture.h"
#include "rules.h"
#include "xlat.h"

/* Rule number N is rules[N - 1], written once before it goes live and
 * never changed after (bss: untouched slots cost nothing). */
static struct ss_rule rules[SS_RULE_NUMBERS];
static _Atomic int n_numbers; /* the numbers seen so far (the highest) */
/* Slots holding their rule, parsed and taken (written before the rule
 * goes live, by the one thread changing the rules). */
static unsigned char slot_taken[SS_RULE_NUMBERS];
static _Atomic uint64_t matches[SS_RULE_NUMBERS]; /* calls each rule matched */
/* The trace has said that the rule's short= skips a socket that is not a
 * stream: it says so once per rule and process. */
static _Atomic int said_short_skipped[SS_RULE_NUMBERS];
/* ... and that its drop, duplicate or reorder= skips a socket that is not
 * a datagram socket. */
static _Atomic int said_datagram_skipped[SS_RULE_NUMBERS];
/* The rules in force, in order: an immutable set, swapped whole (a call
 * reads the set once and never sees half a change). Sets are taken from
 * a ring, so a set stays readable for LIVE_SETS changes after it is
 * replaced. */
struct live_set {
    int n;
    uint16_t slot[SS_MAX_RULES]; /* indices into rules[] */
};
#define LIVE_SETS 256
static struct live_set live_sets[LIVE_SETS];
static unsigned n_sets_made;
static const struct live_set empty_set;
static const struct live_set *_Atomic live = &empty_set;
_Atomic int ss_fault_live_count; /* live->n, for the one load on every call */
int ss_fault_watching;
/* A rule drops datagrams on receive: the receives with MSG_PEEK are
 * watched, so that a datagram a peek showed is never lost after. */
static _Atomic int peeks_watched;
static uint64_t seed;
static int strict;                             /* --strict: a misfit is not applied */
static _Atomic unsigned char noted[SS_RULE_NUMBERS]; /* the trace told of the rule's misfit */
/* The socket counter (ss_model_count) each rule that draws counts its
 * matches on a socket with, or -1: the rules that draw take the counters
 * in turn, and share them once there are more such rules than counters. */
static signed char draw_counter[SS_RULE_NUMBERS];
/* Where each rule's at= and for= count from: the run's start (0), or
 * when the rule was added while the run went on (board.h). */
static uint64_t window_base[SS_RULE_NUMBERS];
/* Whether each rule's exe= names this process's program (looked at once
 * per process image, when the rule is taken): 1 yes, 0 no. */
static signed char exe_fits[SS_RULE_NUMBERS];
static int n_drawing;
/* 0, or in a forked child what sets its draws apart from its parent's and
 * its siblings': made of the fork's number in the parent. */
static uint64_t process_salt;
static _Atomic uint64_t forks_made;   /* by this process */
static __thread uint64_t tls_fork_number; /* the fork this thread is making */

static const struct ss_board *board; /* --control: mapped at the start, read-only */
static _Atomic uint64_t board_seen;  /* the version the rules in force come from */
static void reload_rules(int quiet);

void ss_fault_look_at_board(void)
{
    if (atomic_load_explicit(&board->version, memory_order_relaxed) !=
        atomic_load_explicit(&board_seen, memory_order_relaxed))
        reload_rules(0);
}

static const struct live_set *live_now(void)
{
    return atomic_load_explicit(&live, memory_order_acquire);
}

static int set_has(const struct live_set *set, int slot)
{
    for (int k = 0; k < set->n; k++)
        if (set->slot[k] == slot)
            return 1;
    return 0;
}

/* Makes set the rules in force (by whoever changes them, one at a time). */
static void publish(const struct live_set *set)
{
    struct live_set *next = &live_sets[n_sets_made++ % LIVE_SETS];
    *next = *set;
    atomic_store_explicit(&live, next, memory_order_release);
    atomic_store_explicit(&ss_fault_live_count, next->n, memory_order_relaxed);
}

uint64_t ss_fault_seed(void)
{
    return seed;
}

int ss_fault_live_numbers(int *out, int max)
{
    const struct live_set *set = live_now();
    int n = set->n < max ? set->n : max;
    for (int k = 0; k < n; k++)
        out[k] = set->slot[k] + 1;
    return n;
}

int ss_fault_rule_in_force(int number)
{
    return set_has(live_now(), number - 1);
}

const char *ss_fault_rule_text(int index)
{
    int seen = atomic_load_explicit(&n_numbers, memory_order_acquire);
    return index >= 0 && index < seen ? rules[index].text : "";
}

/* ---- start-up ----------------------------------------------------------- */

static void refuse(const char *msg)
{
    ssize_t w = ss_real.write(2, msg, strlen(msg));
    (void)w;
    ss_real._exit(2);
}

static void refuse_rule(int number, const char *text, const struct ss_rule_error *e,
                        const char *what)
{
    /* the rule twice (escaped bytes take 4 columns) and the message */
    char head[96], body[4 * SS_RULE_TEXT_MAX * 2 + 512], msg[sizeof body + sizeof head];
    snprintf(head, sizeof head, "sockshim: " SS_ENV_FAULTS " rule %d: %s", number, what);
    ss_rule_explain("  ", text, e, body, sizeof body);
    snprintf(msg, sizeof msg, "%s%s", head, body);
    refuse(msg);
}

/* Whether a rule uses its draw: p= decides by it, jitter= and corrupt=
 * take a length and positions from it. */
static int rule_draws(const struct ss_rule *r)
{
    return r->has_p || r->jitter_ns != 0 || (r->actions & SS_ACT_CORRUPT);
}

/* A rule whose only actions are delay=, jitter= and rate=: time added to
 * the network, not to a thread. */
static int is_time_rule(const struct ss_rule *r)
{
    return (r->actions & ~(unsigned)(SS_ACT_DELAY | SS_ACT_RATE)) == 0;
}

/* A time rule (or blackhole) on receives: on a stream socket it is a
 * latency: data arrives later (latency.h); a time rule on accept: on a
 * listening socket, connections do. */
static int is_latency_rule(const struct ss_rule *r)
{
    return ((is_time_rule(r) || r->actions == SS_ACT_BLACKHOLE) && (r->set & SS_OPS_RECVS)) ||
           (is_time_rule(r) && (r->set & SS_OPBIT(accept)));
}

/* A time rule on sends or connects: on a stream socket the bytes reach
 * the peer later, a TCP handshake completes later (outbox.h). */
static int is_outbox_rule(const struct ss_rule *r)
{
    ss_opmask connects = SS_OPBIT(connect) | SS_OPBIT(connect_ex);
    return is_time_rule(r) && (r->set & (SS_OPS_SENDS | connects)) != 0;
}

/* Whether the program's name fits pattern: the name it was run by, or the
 * name of its executable file (python3 and python3.11 alike). */
static int exe_matches(const char *pattern)
{
    if (fnmatch(pattern, program_invocation_short_name, 0) == 0)
        return 1;
    char path[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", path, sizeof path - 1);
    if (n <= 0)
        return 0;
    path[n] = '\0';
    const char *base = strrchr(path, '/');
    return fnmatch(pattern, base != NULL ? base + 1 : path, 0) == 0;
}

/* What the engine keeps of rule slot i besides the rule: whether its exe=
 * fits, which socket counter its draws count with, and the switches it
 * turns on. */
static void took_rule(int i)
{
    const struct ss_rule *r = &rules[i];
    exe_fits[i] = (signed char)(r->exe[0] == '\0' || exe_matches(r->exe));
    if (r->has_window)
        ss_config_need_run_start();
    if ((r->actions & SS_ACT_DROP) && (r->set & SS_OPS_RECVS))
        peeks_watched = 1;
    draw_counter[i] = rule_draws(r) ? (signed char)(n_drawing++ % SS_MODEL_COUNTERS) : -1;
    ss_latency_rules |= is_latency_rule(r);
    ss_event_reorder_rules |= (r->actions & SS_ACT_REORDER) != 0;
    ss_outbox_rules |= is_outbox_rule(r);
}

static struct live_set starting;

static void add_rule(const char *text, int number, int strict_rules)
{
    struct ss_rule_error e;
    if (n_numbers == SS_MAX_RULES)
        refuse("sockshim: " SS_ENV_FAULTS ": too many rules (at most 64)\n");
    if (ss_rule_parse(text, &rules[n_numbers], &e) != 0)
        refuse_rule(number, text, &e, "");
    if (strict_rules && ss_rule_warning(&rules[n_numbers], &e))
        refuse_rule(number, text, &e, "(strict) ");
    took_rule(n_numbers);
    slot_taken[n_numbers] = 1;
    starting.slot[starting.n++] = (uint16_t)n_numbers++;
}

/* Rules are separated by ';' (blanks around them do not count); an empty
 * one (a trailing ';') is skipped. */
static void load_rules(const char *list, int strict_rules)
{
    char text[SS_RULE_TEXT_MAX + 1];
    int number = 0;
    for (const char *p = list;;) {
        const char *end = strchrnul(p, ';');
        while (p < end && (*p == ' ' || *p == '\t' || *p == '\n'))
            p++;
        const char *last = end;
        while (last > p && (last[-1] == ' ' || last[-1] == '\t' || last[-1] == '\n'))
            last--;
        size_t len = (size_t)(last - p);
        number++;
        if (len >= sizeof text) {
            char msg[128];
            snprintf(msg, sizeof msg,
                     "sockshim: " SS_ENV_FAULTS " rule %d: rule too long (at most %d characters)\n",
                     number, SS_RULE_TEXT_MAX - 1);
            refuse(msg);
        }
        if (len > 0) {
            memcpy(text, p, len);
            text[len] = '\0';
            add_rule(text, number, strict_rules);
        }
        if (*end == '\0')
            return;
        p = end + 1;
    }
}

/* The seed the command picked, or one of this process's own, put in the
 * environment so that programs it runs use the same one. Initialisation
 * runs before main(), while the process has one thread: setenv is safe. */
static void load_seed(void)
{
    const char *v = getenv(SS_ENV_SEED);
    if (v != NULL && *v != '\0') {
        if (ss_parse_u64(v, UINT64_MAX, &seed) != 0) {
            char msg[160];
            snprintf(msg, sizeof msg, "sockshim: " SS_ENV_SEED ": bad seed '%.40s' (expected a "
                                      "whole number)\n", v);
            refuse(msg);
        }
        return;
    }
    if (getrandom(&seed, sizeof seed, GRND_NONBLOCK) != sizeof seed)
        seed = ss_now_ns() ^ (uint64_t)ss_pid() << 32;
    seed %= 1000000000000ull; /* short enough to type back in */
    char buf[24];
    snprintf(buf, sizeof buf, "%llu", (unsigned long long)seed);
    setenv(SS_ENV_SEED, buf, 1);
}

/* ---- the rule board: rules added and removed while the run goes on ------ */

static atomic_int board_lock;        /* one thread changes the rules at a time */
static __thread int tls_board_holding;

static void join_board(void)
{
    int fd = ss_share_open(SS_SHARE_BOARD);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0 || st.st_size < (off_t)sizeof *board)
        return;
    const struct ss_board *b = mmap(NULL, sizeof *board, PROT_READ, MAP_SHARED, fd, 0);
    if (b == MAP_FAILED)
        return;
    if (b->magic != SS_BOARD_MAGIC) {
        munmap((void *)b, sizeof *board);
        return;
    }
    board = b;
    ss_fault_watching = 1;
}

/* A whole copy of the board's list (the command may be writing it: read
 * again until a copy is not torn). 0, or -1 when it never settled. */
static int read_board(struct ss_board_rule *out, uint32_t *n, uint64_t *version, int *paused)
{
    for (int tries = 0; tries < 1000; tries++) {
        uint64_t before = atomic_load_explicit(&board->version, memory_order_acquire);
        if (before & 1) {
            sched_yield();
            continue;
        }
        uint32_t count = board->n < SS_MAX_RULES ? board->n : SS_MAX_RULES;
        int paused_then = board->tracing_paused != 0;
        memcpy(out, board->rule, count * sizeof *out);
        atomic_thread_fence(memory_order_acquire);
        if (atomic_load_explicit(&board->version, memory_order_relaxed) == before) {
            *n = count;
            *version = before;
            *paused = paused_then;
            return 0;
        }
    }
    return -1;
}

/* Slot i takes the board's rule: parsed once (the command checked it). */
static int take_board_rule(int i, struct ss_board_rule *r)
{
    if (slot_taken[i])
        return 1;
    struct ss_rule_error e;
    r->text[SS_RULE_TEXT_MAX - 1] = '\0';
    if (ss_rule_parse(r->text, &rules[i], &e) != 0)
        return 0;
    window_base[i] = r->added_ns;
    took_rule(i);
    slot_taken[i] = 1;
    if (i + 1 > atomic_load_explicit(&n_numbers, memory_order_relaxed))
        atomic_store_explicit(&n_numbers, i + 1, memory_order_release);
    return 1;
}

static void rule_changed(int number, int added)
{
    ss_render_rule_change(number, added);
    if (ss_capture_enabled())
        ss_capture_rule_change(number, added);
}

/* The trace and the capture say which rules the process took in and let
 * go of. */
static void announce(const struct live_set *was, const struct live_set *now)
{
    for (int k = 0; k < was->n; k++)
        if (!set_has(now, was->slot[k]))
            rule_changed(was->slot[k] + 1, 0);
    for (int k = 0; k < now->n; k++)
        if (!set_has(was, now->slot[k]))
            rule_changed(now->slot[k] + 1, 1);
}

/* The board moved: the rules in force become its list. A thread that
 * finds another at it goes on with the rules it has. */
static void reload_rules(int quiet)
{
    static struct ss_board_rule copy[SS_MAX_RULES]; /* under board_lock */
    if (!ss_table_lock(&board_lock, &tls_board_holding))
        return;
    uint32_t n;
    uint64_t version;
    int paused;
    if (atomic_load_explicit(&board->version, memory_order_acquire) !=
            atomic_load_explicit(&board_seen, memory_order_relaxed) &&
        read_board(copy, &n, &version, &paused) == 0) {
        struct live_set next = {0, {0}};
        for (uint32_t k = 0; k < n; k++) {
            uint32_t number = copy[k].number;
            if (number == 0 || number > SS_RULE_NUMBERS ||
                !take_board_rule((int)number - 1, &copy[k]))
                continue;
            next.slot[next.n++] = (uint16_t)(number - 1);
        }
        if (!quiet)
            announce(live_now(), &next);
        publish(&next);
        ss_trace_pause(paused, quiet);
        atomic_store_explicit(&board_seen, version, memory_order_release);
    }
    ss_table_unlock(&board_lock, &tls_board_holding);
}

void ss_fault_init(void)
{
    const char *list = getenv(SS_ENV_FAULTS);
    const char *strict_env = getenv(SS_ENV_STRICT);
    int strict_flag = strict_env != NULL && *strict_env != '\0' && strcmp(strict_env, "0") != 0;
    join_board();
    if (board != NULL) { /* the board's rules are the run's, from the start */
        strict = strict_flag;
        load_seed();
        reload_rules(1);
        return;
    }
    if (list == NULL || *list == '\0')
        return;
    strict = strict_flag;
    load_rules(list, strict_flag);
    if (starting.n > 0)
        load_seed();
    publish(&starting);
}

void ss_fault_before_fork(void)
{
    tls_fork_number = atomic_fetch_add_explicit(&forks_made, 1, memory_order_relaxed) + 1;
}

/* when= counts per process: a forked child starts counting afresh (the
 * model zeroes the per-socket counts). Its draws are keyed by the fork as
 * well: workers forked from one server would otherwise all draw alike. */
void ss_fault_after_fork_child(void)
{
    for (int i = 0; i < n_numbers; i++) {
        atomic_store_explicit(&matches[i], 0, memory_order_relaxed);
        atomic_store_explicit(&said_short_skipped[i], 0, memory_order_relaxed);
        atomic_store_explicit(&said_datagram_skipped[i], 0, memory_order_relaxed);
        atomic_store_explicit(&noted[i], 0, memory_order_relaxed);
    }
    process_salt = ss_mix64(process_salt ^ ss_mix64(tls_fork_number));
    atomic_store_explicit(&forks_made, 0, memory_order_relaxed);
}

/* ---- deciding ----------------------------------------------------------- */

/* The key of a call on no socket (socket(), socketpair(), close_range(),
 * a number whose socket was closed). */
#define NO_SOCKET 0

/* A draw that depends only on the seed, the process (in a forked child),
 * the rule, the socket's stable key and a count. */
static uint64_t draw_for(int rule, uint64_t socket_key, uint64_t count)
{
    uint64_t call = ss_mix64(((uint64_t)rule << 40) ^ count);
    return ss_mix64(seed ^ ss_mix64(process_salt ^ socket_key ^ call));
}

/* The draw of a call the rule matched, the n-th in the process. On a
 * socket, a rule that draws counts with the socket's own counter: the
 * socket's sequence of draws then replays whatever other threads do.
 * Without a socket, the process-wide count n serves, as for when=. */
static uint64_t call_draw(int rule, struct ss_obj *obj, uint64_t n)
{
    if (obj == NULL || draw_counter[rule] < 0)
        return draw_for(rule, NO_SOCKET, n);
    uint32_t count = ss_model_count(obj, (unsigned)draw_counter[rule]);
    return draw_for(rule, ss_model_stable_key(obj), count);
}

#define OPBIT(op) SS_OPBIT(op)
#define SENDS SS_OPS_SENDS
#define RECVS SS_OPS_RECVS

static int is_op(const struct ss_call *c, ss_opmask ops)
{
    return (ops >> c->op) & 1;
}

/* The calls a latency holds back: receives, and accepts. */
static int latency_holds(const struct ss_call *c)
{
    return is_op(c, RECVS) || c->op == SS_OP_accept;
}

static int is_connect(const struct ss_call *c)
{
    return c->op == SS_OP_connect || c->op == SS_OP_connect_ex;
}

/* The address the call talks to: the one it names (connect, sendto,
 * sendmsg), else the socket's peer. */
static const struct sockaddr *call_peer(const struct ss_call *c, const struct ss_sockinfo *pre,
                                        socklen_t *len)
{
    if (c->addr != NULL && (c->op == SS_OP_connect || c->op == SS_OP_connect_ex ||
                            c->op == SS_OP_sendto)) {
        *len = c->addrlen;
        return c->addr;
    }
    if (c->op == SS_OP_sendmsg && c->msg != NULL && c->msg->msg_name != NULL) {
        *len = c->msg->msg_namelen;
        return c->msg->msg_name;
    }
    *len = pre->raddr.len;
    return *len != 0 ? (const struct sockaddr *)&pre->raddr.sa : NULL;
}

static int port_of(const struct sockaddr *sa, socklen_t len)
{
    if (sa == NULL)
        return -1;
    if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
        return ntohs(((const struct sockaddr_in *)sa)->sin_port);
    if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        return ntohs(((const struct sockaddr_in6 *)sa)->sin6_port);
    return -1;
}

static int peer_matches(const struct ss_peer_filter *f, const struct sockaddr *sa, socklen_t len)
{
    if (sa == NULL || sa->sa_family != f->family)
        return 0;
    if (f->port >= 0 && port_of(sa, len) != f->port)
        return 0;
    if (f->family == AF_INET && len >= sizeof(struct sockaddr_in))
        return memcmp(&((const struct sockaddr_in *)sa)->sin_addr, f->addr, 4) == 0;
    if (f->family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
        return memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr, f->addr, 16) == 0;
    if (f->family == AF_UNIX) {
        const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
        size_t n = len > offsetof(struct sockaddr_un, sun_path)
                       ? len - offsetof(struct sockaddr_un, sun_path)
                       : 0;
        size_t want = strlen(f->path);
        return n >= want && memcmp(un->sun_path, f->path, want) == 0 &&
               (n == want || un->sun_path[want] == '\0');
    }
    return 0;
}

/* port= is the port of either end: the server's port matches on the
 * client's calls (the peer) and on the server's (its own address). */
static int port_matches(int port, const struct ss_call *c, const struct ss_sockinfo *pre)
{
    socklen_t len;
    const struct sockaddr *peer = call_peer(c, pre, &len);
    return port_of(peer, len) == port ||
           port_of((const struct sockaddr *)&pre->laddr.sa, pre->laddr.len) == port;
}

static uint64_t transferred(const struct ss_call *c, const struct ss_sockinfo *pre)
{
    if (is_op(c, SENDS))
        return pre->bytes_sent;
    if (is_op(c, RECVS))
        return pre->bytes_received;
    return pre->bytes_sent + pre->bytes_received;
}

static int when_matches(const struct ss_rule *r, uint64_t n)
{
    return n >= r->when_first && (r->when_last == 0 || n <= r->when_last) &&
           (n - r->when_first) % r->when_step == 0;
}

static int needs_socket(const struct ss_rule *r)
{
    return r->family != AF_UNSPEC || r->has_peer || r->port >= 0 || r->has_after ||
           r->socktype != 0;
}

/* The socket's state before the call, fetched once and only when a rule
 * asks about it. */
struct pre_call {
    struct ss_sockinfo info;
    int have, with_names;
    int socket_checked; /* 0: not yet; 1: the fd is a socket; -1: it is not */
};

/* read(), write(), close()... work on any fd, and the model can be wrong
 * about a number: a socket closed behind the shim's back (inline assembly,
 * io_uring) whose number open() then gave to a file. A fault is only ever
 * applied to a real socket; the kernel is asked once per call, and only
 * when a rule would apply. */
static int really_a_socket(const struct ss_call *c, struct pre_call *pc)
{
    if (!ss_fn_on_any_fd(c->fn))
        return 1;
    if (pc->socket_checked == 0) {
        struct stat st;
        pc->socket_checked = fstat(c->fd, &st) == 0 && S_ISSOCK(st.st_mode) ? 1 : -1;
    }
    return pc->socket_checked > 0;
}

static const struct ss_sockinfo *pre_info(struct pre_call *pc, const struct ss_rule *r,
                                          const struct ss_call *c, struct ss_obj *obj)
{
    int want_names = r->has_peer || r->port >= 0;
    if (!pc->have || (want_names && !pc->with_names)) {
        ss_model_snapshot(obj, c->fd, &pc->info, want_names);
        pc->have = 1;
        pc->with_names |= want_names;
    }
    return &pc->info;
}

/* The socket's type without SOCK_NONBLOCK and SOCK_CLOEXEC: socket() and
 * socketpair() name it, other calls are made on a socket the model knows. */
static int call_socktype(const struct ss_call *c, const struct ss_sockinfo *pre)
{
    if (c->op == SS_OP_socket || c->op == SS_OP_socketpair)
        return c->type & ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
    return pre->type;
}

/* host=: the name or address a resolution asked for. */
static int host_matches(const struct ss_rule *r, const struct ss_call *c)
{
    char buf[SS_ADDR_TEXT_MAX];
    return ss_rule_host_matches(r, ss_resolution_asked(c, buf, sizeof buf));
}

/* at= and for=: whether the run is in the rule's time now. */
static int in_window(const struct ss_rule *r)
{
    uint64_t base = window_base[r - rules];
    uint64_t now = ss_output_clock_ns(), start = base != 0 ? base : ss_config.run_start_ns;
    uint64_t t = now > start ? now - start : 0;
    return t >= r->at_ns && (r->for_ns == 0 || t - r->at_ns < r->for_ns);
}

/* The filters on the process: exe= and pid=. */
static int process_fits(const struct ss_rule *r)
{
    return exe_fits[r - rules] && (r->pid == 0 || r->pid == ss_pid());
}

static int socket_filters_match(const struct ss_rule *r, const struct ss_call *c,
                                struct ss_obj *obj, struct pre_call *pc);

/* Whether the rule's filters let the call through (its methods are
 * looked at by the caller). */
static int filters_match(const struct ss_rule *r, const struct ss_call *c, struct ss_obj *obj,
                         struct pre_call *pc)
{
    return (!r->has_window || in_window(r)) && socket_filters_match(r, c, obj, pc);
}

/* ... but at= and for=: a latency's time is its arrivals'. */
static int socket_filters_match(const struct ss_rule *r, const struct ss_call *c,
                                struct ss_obj *obj, struct pre_call *pc)
{
    if (!process_fits(r))
        return 0;
    if (r->fd >= 0 && c->fd != r->fd)
        return 0;
    if (r->host[0] != '\0' && !host_matches(r, c))
        return 0;
    if (!needs_socket(r))
        return 1;
    const struct ss_sockinfo *pre = pre_info(pc, r, c, obj);
    int family = c->op == SS_OP_socket || c->op == SS_OP_socketpair ? c->domain : pre->family;
    if (r->family != AF_UNSPEC && family != r->family)
        return 0;
    if (r->socktype != 0 && call_socktype(c, pre) != r->socktype)
        return 0;
    socklen_t len;
    const struct sockaddr *peer = call_peer(c, pre, &len);
    if (r->has_peer && !peer_matches(&r->peer, peer, len))
        return 0;
    if (r->port >= 0 && !port_matches(r->port, c, pre))
        return 0;
    return 1;
}

static size_t iov_total(const struct iovec *iov, size_t count)
{
    size_t total = 0;
    for (size_t i = 0; iov != NULL && i < count; i++)
        total += iov[i].iov_len;
    return total;
}

/* The bytes a transfer asks to move. */
static uint64_t requested(const struct ss_call *c)
{
    if (c->msg != NULL)
        return iov_total(c->msg->msg_iov, c->msg->msg_iovlen);
    if (c->iov != NULL)
        return iov_total(c->iov, (size_t)c->iovcnt);
    if (c->op == SS_OP_sendfile || c->fn == SS_FN_splice)
        return c->count;
    return c->len;
}

/* after=N with an outcome (eof, reset, error, timeout) ends the stream at
 * exactly N bytes: a transfer that would cross the mark is cut to end on
 * it, and the next call meets the outcome. Returns how many bytes the call
 * may move, or 0 when the mark is not in its way. */
static uint64_t limit_before_mark(const struct ss_rule *r, const struct ss_call *c,
                                  uint64_t done)
{
    if (!(r->actions & SS_ACT_OUTCOMES) || !is_op(c, SENDS | RECVS) ||
        c->op == SS_OP_sendmmsg || c->op == SS_OP_recvmmsg)
        return 0;
    uint64_t room = r->after_bytes - done;
    return requested(c) > room ? room : 0;
}

/* After an eof fault, the stream stays ended: a later receive on the
 * socket is answered 0 by the same rule, whatever its filters say. */
static int stream_has_ended(struct ss_call *c, struct ss_obj *obj, struct pre_call *pc)
{
    int rule = ss_event_stream_ended(obj);
    if (rule == 0 || !really_a_socket(c, pc))
        return 0;
    ss_fault_mark(c, rule);
    c->fault_ended = 1;
    return 1;
}

/* short= on a socket that keeps message boundaries (a datagram, a
 * seqpacket record): a kernel never cuts one, so neither does the rule. A
 * type the model does not know (0: a number whose socket was closed, where
 * the call fails anyway) is left to the rule. */
static int short_skipped(const struct ss_rule *r, const struct ss_call *c, struct ss_obj *obj,
                         struct pre_call *pc)
{
    if (!(r->actions & SS_ACT_SHORT))
        return 0;
    int type = call_socktype(c, pre_info(pc, r, c, obj));
    return type != 0 && !ss_rule_short_cuts(type);
}

/* The first call whose socket made rule i skip its short= tells the
 * trace, which says so once per rule and process. */
static void note_short_skipped(struct ss_call *c, int i)
{
    if (c->fault_note == 0 &&
        !atomic_exchange_explicit(&said_short_skipped[i], 1, memory_order_relaxed)) {
        c->fault_note = i + 1;
        c->fault_note_kind = SS_NOTE_SHORT_SKIPPED;
    }
}

/* ---- latency: data that arrives later (latency.h) ------------------------ */

int ss_fault_latency_rule(struct ss_obj *obj, int fd, int listener)
{
    struct ss_call c;
    memset(&c, 0, sizeof c);
    c.fn = listener ? SS_FN_accept : SS_FN_recv;
    c.op = listener ? SS_OP_accept : SS_OP_recv;
    c.fd = fd;
    struct pre_call pc;
    pc.have = 0;
    pc.socket_checked = 1;
    const struct live_set *set = live_now();
    for (int k = 0; k < set->n; k++) {
        int i = set->slot[k];
        const struct ss_rule *r = &rules[i];
        if (!is_latency_rule(r) || !((r->set >> c.op) & 1) ||
            !socket_filters_match(r, &c, obj, &pc))
            continue;
        if (!ss_rule_short_cuts(pre_info(&pc, r, &c, obj)->type))
            continue; /* a datagram's delay is a wait before the call */
        if (listener && !is_time_rule(r))
            continue; /* a blackhole's accept is its own */
        return i + 1;
    }
    if (listener)
        return 0;
    /* a connected socket's addresses are final: no rule ever will */
    struct ss_sockinfo info;
    ss_model_snapshot(obj, fd, &info, 0);
    return info.state & SS_ST_CONNECTED ? -1 : 0;
}

int ss_fault_latency_arrival(int rule, struct ss_obj *obj, uint64_t *delay_ns, uint64_t *rate)
{
    int i = rule - 1;
    const struct ss_rule *r = &rules[i];
    uint64_t n = atomic_fetch_add_explicit(&matches[i], 1, memory_order_relaxed) + 1;
    uint64_t draw = call_draw(i, obj, n);
    *delay_ns = *rate = 0;
    if ((r->has_when && !when_matches(r, n)) || (r->has_p && (draw >> 32) >= r->p_threshold) ||
        (r->has_window && !in_window(r)))
        return 0;
    if (r->actions == SS_ACT_BLACKHOLE) {
        *delay_ns = SS_LATENCY_FOREVER;
        return 1;
    }
    *delay_ns = r->delay_ns +
                (r->jitter_ns != 0 ? ss_mix64(draw ^ 0x6a09e667f3bcc908ull) % r->jitter_ns : 0);
    *rate = r->rate;
    return 1;
}

/* A receive on a socket with a latency: held back when the bytes it asks
 * for are not all due (cut to those that are, or, with none, made to wait
 * or fail with EAGAIN in ss_fault_before), marked when what it gets was
 * delayed. *latency says the socket has one: its rule is then no "wait
 * first" for the call. */
static int hold_receive(struct ss_call *c, struct ss_obj *obj, int *latency)
{
    struct ss_latency_view v;
    if (obj == NULL || !ss_latency_look(obj, c->fd, ss_latency_now(), &v))
        return 0;
    *latency = 1;
    int none_due = v.allowed == 0 && !v.end_due;
    int cut = !none_due && !v.end_due && c->op != SS_OP_accept && v.allowed < requested(c) &&
              v.allowed < v.queued;
    if (!none_due && !cut && !v.delayed)
        return 0;
    ss_fault_mark(c, v.rule);
    c->fault_held = !none_due ? SS_HELD_DELAYED : v.holding ? SS_HELD_WAIT : SS_HELD_IDLE;
    c->fault_limit = cut ? v.allowed : 0;
    return 1;
}

/* drop, duplicate or reorder= on a socket that is not a datagram socket
 * (a connection loses, doubles and reorders nothing): the rule passes it
 * by. A type the model does not know (a number whose socket was closed)
 * too, without a note: the call fails anyway. */
static int datagram_skipped(const struct ss_rule *r, const struct ss_call *c, struct ss_obj *obj,
                            struct pre_call *pc, int *known)
{
    if (!(r->actions & SS_ACT_DATAGRAM))
        return 0;
    int type = call_socktype(c, pre_info(pc, r, c, obj));
    *known = type != 0;
    return !ss_rule_datagram_faults(type);
}

/* The first call whose socket made rule i pass it by tells the trace,
 * once per rule and process. */
static void note_datagram_skipped(struct ss_call *c, int i)
{
    if (c->fault_note == 0 &&
        !atomic_exchange_explicit(&said_datagram_skipped[i], 1, memory_order_relaxed)) {
        c->fault_note = i + 1;
        c->fault_note_kind = SS_NOTE_DATAGRAM_SKIPPED;
    }
}

/* ---- the sending side's network time (outbox.h) ------------------------- */

/* A stream the kernel would take a send on: connected, neither shut for
 * writing nor reset (else its own error, ENOTCONN or EPIPE, answers). */
static int stream_sendable(const struct ss_sockinfo *info)
{
    unsigned broken = SS_ST_SHUT_WR | SS_ST_RESET | SS_ST_CLOSED;
    return ss_rule_short_cuts(info->type) && (info->state & SS_ST_CONNECTED) &&
           !(info->state & broken);
}

/* A call on a socket the outbox knows of: a handshake not done for the
 * program holds back its connects, sends and receives; a shutdown waits
 * for the bytes held; a send goes behind them (*behind: the rule that
 * holds them), unless a rule of its own delays it. */
static int outbox_call(struct ss_call *c, struct ss_obj *obj, int *behind)
{
    if (!is_op(c, SENDS | RECVS) && !is_connect(c) && c->op != SS_OP_shutdown)
        return 0;
    int rule = ss_outbox_holding(obj);
    if (rule == 0) {
        rule = is_connect(c) ? ss_outbox_connect_done(obj) : 0;
        if (rule == 0)
            return 0;
        ss_fault_mark(c, rule);
        c->fault_held = SS_HELD_CONNECTED; /* the kernel would say EISCONN */
        return 1;
    }
    uint64_t due;
    if (ss_outbox_shaking(obj, ss_latency_now(), &due)) {
        ss_fault_mark(c, rule);
        c->fault_held = SS_HELD_HANDSHAKE;
        return 1;
    }
    if (c->op == SS_OP_shutdown) {
        ss_fault_mark(c, rule);
        c->fault_held = SS_HELD_SHUTDOWN;
        return 1;
    }
    *behind = is_op(c, SENDS) ? rule : 0;
    return 0;
}

int ss_fault_decide(struct ss_call *c, struct ss_obj *obj)
{
    /* only .have is set: the snapshot (about 300 bytes) is filled when a
     * filter first needs it, and zeroing it cost more than the rest of a
     * call no rule matches */
    struct pre_call pc;
    pc.have = 0;
    pc.socket_checked = 0;
    if (is_op(c, RECVS) && stream_has_ended(c, obj, &pc))
        return 1;
    int behind = 0;
    if (ss_outbox_enabled() && obj != NULL && outbox_call(c, obj, &behind))
        return 1;
    int latency = 0;
    if (ss_latency_enabled() && latency_holds(c) && hold_receive(c, obj, &latency))
        return 1;
    const struct live_set *set = live_now();
    for (int k = 0; k < set->n; k++) {
        int i = set->slot[k];
        const struct ss_rule *r = &rules[i];
        int known = 0;
        if (!((r->set >> c->op) & 1) || (latency && is_latency_rule(r)) ||
            (behind && !is_outbox_rule(r)) || !filters_match(r, c, obj, &pc))
            continue;
        if (!really_a_socket(c, &pc))
            return 0;
        int outbox = is_outbox_rule(r) && is_op(c, SENDS) &&
                     stream_sendable(pre_info(&pc, r, c, obj));
        /* rate= paces a stream; elsewhere it has nothing to pace */
        if (r->actions == SS_ACT_RATE && !outbox)
            continue;
        if (datagram_skipped(r, c, obj, &pc, &known)) {
            if (known)
                note_datagram_skipped(c, i);
            continue; /* a datagram action stands alone: nothing else to do */
        }
        c->short_skipped = short_skipped(r, c, obj, &pc);
        if (c->short_skipped) {
            note_short_skipped(c, i);
            if (r->actions == SS_ACT_SHORT)
                continue; /* nothing else to do: the rule passes the socket by */
        }
        if (r->has_after) {
            uint64_t done = transferred(c, pre_info(&pc, r, c, obj));
            if (done < r->after_bytes) {
                /* a message is never cut to end on the mark: it goes
                 * whole, and the call after it meets the outcome */
                const struct ss_sockinfo *pre = pre_info(&pc, r, c, obj);
                uint64_t limit = ss_rule_short_cuts(call_socktype(c, pre))
                                     ? limit_before_mark(r, c, done)
                                     : 0;
                if (limit == 0)
                    continue;
                c->fault = i + 1; /* not counted: the outcome is still ahead */
                c->fault_action = r->action_text;
                c->fault_limit = limit;
                return 1;
            }
        }
        uint64_t n = atomic_fetch_add_explicit(&matches[i], 1, memory_order_relaxed) + 1;
        /* drawn before when= decides: a socket's count then counts every
         * match on it, whichever thread was the process's n-th */
        uint64_t draw = call_draw(i, obj, n);
        if (r->has_when && !when_matches(r, n))
            continue;
        if (r->has_p && (draw >> 32) >= r->p_threshold)
            continue;
        c->fault = i + 1;
        c->fault_action = r->action_text;
        c->fault_draw = draw;
        c->fault_held = outbox ? SS_HELD_OUTBOX : 0;
        return 1;
    }
    if (behind) { /* behind the bytes held, no later: unmarked */
        ss_fault_mark(c, behind);
        c->fault_held = SS_HELD_BEHIND;
        return 1;
    }
    return 0;
}

int ss_fault_covers(enum ss_op op)
{
    const struct live_set *set = live_now();
    for (int k = 0; k < set->n; k++)
        if ((rules[set->slot[k]].set >> op) & 1)
            return 1;
    return 0;
}

/* ---- applying ----------------------------------------------------------- */

static const struct ss_rule *rule_of(const struct ss_call *c)
{
    return &rules[c->fault - 1];
}

/* Sleeps the whole duration; a signal handler may run in between, as it
 * would during the real call's wait. */
static void sleep_ns(uint64_t ns)
{
    struct timespec left = {(time_t)(ns / 1000000000u), (long)(ns % 1000000000u)};
    while (nanosleep(&left, &left) != 0 && errno == EINTR)
        ;
}

static uint64_t jitter_ns(const struct ss_rule *r, const struct ss_call *c)
{
    return r->jitter_ns != 0 ? ss_mix64(c->fault_draw ^ 0x6a09e667f3bcc908ull) % r->jitter_ns : 0;
}

/* Copies the first n bytes' worth of iovecs (at most SS_FAULT_IOV of
 * them); returns how many entries it took. */
static int cut_iov(const struct iovec *in, int count, size_t n, struct iovec *out)
{
    int k = 0;
    for (int i = 0; i < count && k < SS_FAULT_IOV && n > 0; i++) {
        out[k] = in[i];
        if (out[k].iov_len > n)
            out[k].iov_len = n;
        n -= out[k].iov_len;
        k++;
    }
    return k;
}

/* short=N: the real call is made with at most N bytes. */
static void cut_call(struct ss_call *c, struct ss_fault_scratch *s, size_t n)
{
    if (c->msg != NULL) {
        s->msg = *c->msg;
        s->msg.msg_iovlen = (size_t)cut_iov(c->msg->msg_iov, (int)c->msg->msg_iovlen, n, s->iov);
        s->msg.msg_iov = s->iov;
        c->msg = &s->msg;
    } else if (c->iov != NULL) {
        c->iovcnt = cut_iov(c->iov, c->iovcnt, n, s->iov);
        c->iov = s->iov;
    } else if (c->op == SS_OP_sendfile || c->fn == SS_FN_splice) {
        if (c->count > n)
            c->count = n;
    } else if (c->len > n) {
        c->len = n;
    }
}

/* The k-th of n distinct positions spread over total bytes from a random
 * start. */
static size_t flip_position(size_t total, unsigned n, unsigned k, uint64_t draw)
{
    return ((size_t)(draw % total) + k * (total / n)) % total;
}

/* How many of the n positions fall below moved: the flipped bytes a
 * partial send really handed to the kernel. */
static int flips_below(size_t total, unsigned n, uint64_t draw, size_t moved)
{
    if (total == 0)
        return 0;
    if (n > total)
        n = (unsigned)total;
    int count = 0;
    for (unsigned k = 0; k < n; k++)
        count += flip_position(total, n, k, draw) < moved;
    return count;
}

/* Walks the bytes of an iovec array, up to total. */
static void flip_bytes(const struct iovec *iov, int count, size_t total, unsigned n,
                       uint64_t draw)
{
    if (total == 0)
        return;
    if (n > total)
        n = (unsigned)total;
    for (unsigned k = 0; k < n; k++) {
        size_t at = flip_position(total, n, k, draw);
        for (int i = 0; i < count; i++) {
            if (at < iov[i].iov_len) {
                ((unsigned char *)iov[i].iov_base)[at] ^= 0xff;
                break;
            }
            at -= iov[i].iov_len;
        }
    }
}

/* The buffers a send gives: its msghdr's, its iovecs, or its one buffer
 * (described in *one). Returns how many; *iov points at them. */
static size_t sent_pieces(const struct ss_call *c, struct iovec *one, const struct iovec **iov)
{
    if (c->msg != NULL) {
        *iov = c->msg->msg_iov;
        return c->msg->msg_iovlen;
    }
    if (c->iov != NULL) {
        *iov = c->iov;
        return (size_t)c->iovcnt;
    }
    *one = (struct iovec){(void *)c->cbuf, c->len};
    *iov = one;
    return 1;
}

/* The bytes of a send, gathered into out (room for requested(c)). */
static void gather_sent(const struct ss_call *c, unsigned char *out)
{
    struct iovec one;
    const struct iovec *iov;
    size_t count = sent_pieces(c, &one, &iov);
    for (size_t i = 0; i < count; i++) {
        if (iov[i].iov_len > 0)
            memcpy(out, iov[i].iov_base, iov[i].iov_len);
        out += iov[i].iov_len;
    }
}

/* corrupt=N on a send: the program's data is const, so a copy is altered
 * and sent in its place (as one buffer). */
static void corrupt_outgoing(struct ss_call *c, struct ss_fault_scratch *s, unsigned n)
{
    struct iovec one;
    const struct iovec *iov;
    size_t count = sent_pieces(c, &one, &iov);
    size_t total = iov_total(iov, count);
    if (total == 0)
        return;
    void *copy = mmap(NULL, total, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (copy == MAP_FAILED)
        return; /* out of memory: the data goes out intact */
    gather_sent(c, copy);
    struct iovec whole = {copy, total};
    flip_bytes(&whole, 1, total, n, s->draw);
    s->copy = copy;
    s->copy_len = total;
    s->iov[0] = whole;
    if (c->msg != NULL) {
        s->msg = *c->msg;
        s->msg.msg_iov = s->iov;
        s->msg.msg_iovlen = 1;
        c->msg = &s->msg;
    } else if (c->iov != NULL) {
        c->iov = s->iov;
        c->iovcnt = 1;
    } else {
        c->cbuf = copy;
    }
}

/* The received bytes of a completed receive, in the program's buffers. */
static void corrupt_incoming(struct ss_call *c, struct ss_fault_scratch *s, unsigned n)
{
    if (c->ret <= 0)
        return;
    struct iovec one = {c->buf, c->len};
    if (c->msg != NULL)
        flip_bytes(c->msg->msg_iov, (int)c->msg->msg_iovlen, (size_t)c->ret, n, s->draw);
    else if (c->iov != NULL)
        flip_bytes(c->iov, c->iovcnt, (size_t)c->ret, n, s->draw);
    else
        flip_bytes(&one, 1, (size_t)c->ret, n, s->draw);
}

/* ---- what the socket is ----------------------------------------------- */

/* The socket's own timeout for the call, as the kernel uses them:
 * SO_RCVTIMEO for receiving and accepting, SO_SNDTIMEO for sending and
 * connecting; 0 when it has none. */
static uint64_t own_timeout_ns(const struct ss_call *c)
{
    int receiving = is_op(c, RECVS) || c->op == SS_OP_accept;
    struct timeval tv = {0, 0};
    socklen_t len = sizeof tv;
    int saved = errno;
    if (ss_real.getsockopt(c->fd, SOL_SOCKET, receiving ? SO_RCVTIMEO : SO_SNDTIMEO, &tv,
                           &len) != 0)
        tv.tv_sec = tv.tv_usec = 0;
    errno = saved;
    return (uint64_t)tv.tv_sec * 1000000000u + (uint64_t)tv.tv_usec * 1000u;
}

/* What the engine knows of the call's socket when it applies a rule. */
struct target {
    struct ss_sockinfo info;
    int nonblocking;
    uint64_t own_timeout_ns; /* SO_RCVTIMEO or SO_SNDTIMEO, as the call uses it; 0: none */
};

static void look_at(struct target *t, const struct ss_call *c, struct ss_obj *obj)
{
    ss_model_snapshot(obj, c->fd, &t->info, 0);
    /* connect_ex is the method of a non-blocking socket's connect */
    t->nonblocking = (obj != NULL && ss_obj_nonblocking(obj)) || c->op == SS_OP_connect_ex ||
                     (is_op(c, SENDS | RECVS) && (c->flags & MSG_DONTWAIT));
    t->own_timeout_ns = own_timeout_ns(c);
}

/* ---- rules no real event fits ------------------------------------------ */

/* Why no real event fits the rule on this call, or NULL when one does
 * (docs/faults.md, "What each fault stands for"). */
static const char *misfit(const struct ss_rule *r, const struct ss_call *c,
                          const struct target *t)
{
    int err = r->actions & SS_ACT_ERROR ? r->err : 0;
    int waits = !t->nonblocking;
    if (err == EINTR && !waits)
        return "a non-blocking call never waits, so no signal interrupts it";
    if (err == EINTR && is_connect(c) && !ss_event_has_connection(&t->info))
        return "a datagram socket's connect never waits, so no signal interrupts it";
    if (err == EAGAIN && waits && !is_connect(c) && t->own_timeout_ns == 0)
        return "a blocking call without SO_RCVTIMEO or SO_SNDTIMEO waits instead of "
               "failing with EAGAIN";
    if (err == EINPROGRESS && is_connect(c) && !ss_event_is_tcp(&t->info))
        return "only a TCP connect is ever in progress";
    if (err == EINPROGRESS && is_connect(c) && waits && t->own_timeout_ns == 0)
        return "a blocking connect without SO_SNDTIMEO waits for the answer instead";
    if ((err == ETIMEDOUT || err == EHOSTUNREACH || err == ENETUNREACH || err == ENETDOWN) &&
        t->info.family == AF_UNIX)
        return "an AF_UNIX socket has no network path to lose";
    if ((err == ECONNRESET || err == EPIPE || (r->actions & SS_ACT_RESET)) &&
        !ss_event_has_connection(&t->info) && !is_connect(c))
        return "a datagram socket has no connection to lose";
    if ((r->actions & SS_ACT_TIMEOUT) && waits && t->own_timeout_ns == 0 &&
        (c->op == SS_OP_accept || !ss_event_is_tcp(&t->info)))
        return "this call has no path to time out: without a timeout of its own it waits "
               "forever";
    return NULL;
}

/* Tells the trace, once per rule and process, that a rule met a call no
 * real event fits (after the call's line: the note names its socket). */
static void note_misfit(struct ss_call *c, const char *why)
{
    if (c->fault_note != 0 || atomic_exchange_explicit(&noted[c->fault - 1], 1,
                                                       memory_order_relaxed))
        return;
    c->fault_note = c->fault;
    c->fault_note_kind = SS_NOTE_MISFIT;
    c->fault_note_reason = why;
}

int ss_fault_strict(void)
{
    return strict;
}

/* ---- applying ----------------------------------------------------------- */

static void fail_with(struct ss_call *c, struct ss_fault_scratch *s, long ret, int err)
{
    c->ret = ret;
    c->err = err;
    s->perform = 0;
}

/* A receive answered 0 without reading: the data stays in the socket. */
static void end_of_stream(struct ss_call *c, struct ss_fault_scratch *s)
{
    if (c->msg != NULL) {
        c->msg->msg_flags = 0;
        c->msg->msg_controllen = 0;
        c->msg->msg_namelen = 0;
    }
    fail_with(c, s, 0, 0);
}

void ss_fault_mark(struct ss_call *c, int rule)
{
    c->fault = rule;
    c->fault_action = rules[rule - 1].action_text;
    c->fault_flipped = -1;
}

/* The connect goes to a stand-in in place of the program's address; after
 * the call the program's address is put back (the trace shows it). */
static int redirect_connect(struct ss_call *c, struct ss_fault_scratch *s,
                            enum ss_stand_in kind, int family)
{
    socklen_t len;
    if (ss_event_stand_in(family, kind, &s->stand_in, &len) != 0)
        return -1;
    s->redirected = kind == SS_STAND_IN_REFUSER ? REDIRECT_REFUSED : REDIRECT_TIMED_OUT;
    s->addr_orig = c->addr;
    s->addrlen_orig = c->addrlen;
    c->addr = (const struct sockaddr *)&s->stand_in;
    c->addrlen = len;
    return 0;
}

/* EINTR or EINPROGRESS on a connect: the connection is tried for real,
 * and a TCP one goes on while the call returns, as POSIX says of an
 * interrupted connect. The call is made non-blocking for the moment. */
static void start_connect(struct ss_call *c, struct ss_fault_scratch *s, int err)
{
    int saved = errno;
    int fl = ss_real.fcntl(c->fd, F_GETFL);
    if (fl >= 0 && !(fl & O_NONBLOCK) && ss_real.fcntl(c->fd, F_SETFL, fl | O_NONBLOCK) == 0)
        s->restore_fl = fl;
    errno = saved;
    s->async_err = err;
}

/* An error= on a connect or a transfer, as the event it stands for. */
static void apply_error(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj,
                        const struct target *t, int err)
{
    /* an interrupted connect, or one in progress: the connection is tried
     * for real (also where no signal could interrupt it, a misfit, noted:
     * a program that then waits for it, as CPython does, finds it) */
    if (is_connect(c) && ss_event_has_connection(&t->info) && (err == EINPROGRESS || err == EINTR)) {
        start_connect(c, s, err);
        return;
    }
    if (is_connect(c) && ss_event_is_tcp(&t->info)) {
        if (ss_event_reported_later(err) &&
            redirect_connect(c, s, SS_STAND_IN_REFUSER, t->info.family) == 0) {
            s->redirect_err = err;
            return;
        }
    }
    if (is_op(c, SENDS | RECVS) && ss_event_breaks_connection(err) &&
        ss_event_break(c->fd, &t->info, obj)) {
        c->fault_reset = 1;
        /* the kernel answers the send on the broken socket itself: EPIPE,
         * and SIGPIPE where it would raise one (no MSG_NOSIGNAL, not
         * ignored; pending if the thread blocks it) */
        if (err == EPIPE && is_op(c, SENDS))
            return;
    }
    fail_with(c, s, -1, err);
}

/* timeout: the wait of a call that gets no answer (docs/faults.md). */
static void apply_timeout(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj,
                          const struct target *t, const struct ss_rule *r)
{
    if (is_connect(c) && ss_event_is_tcp(&t->info) &&
        redirect_connect(c, s, SS_STAND_IN_BLACKHOLE, t->info.family) == 0) {
        /* the kernel waits, retransmits its SYN and times out itself */
        if (r->timeout_ns != 0)
            ss_event_time_connect(c->fd, obj, r->timeout_ns);
        return;
    }
    if (t->nonblocking) {
        fail_with(c, s, -1, EAGAIN);
        return;
    }
    if (t->own_timeout_ns != 0) {
        sleep_ns(t->own_timeout_ns);
        fail_with(c, s, -1, is_connect(c) && ss_event_is_tcp(&t->info) ? EINPROGRESS : EAGAIN);
        return;
    }
    if (!ss_event_is_tcp(&t->info) || c->op == SS_OP_accept) {
        /* no path to time out (a misfit, noted): the rule's own time */
        sleep_ns(r->timeout_ns);
        fail_with(c, s, -1, EAGAIN);
        return;
    }
    /* a dead path: the retransmissions run out, the connection is gone */
    sleep_ns(r->timeout_ns != 0 ? r->timeout_ns : ss_event_dead_path_ns());
    if (!is_connect(c))
        c->fault_reset = ss_event_break(c->fd, &t->info, obj);
    fail_with(c, s, -1, ETIMEDOUT);
}

/* A silent peer (a stream's receives are held back for ever by the
 * latency, latency.c): a send is taken whole and goes nowhere; a
 * datagram that arrives is lost, so a receive waits (or fails) as the
 * kernel makes it, for the next; a connect's SYN is never answered. */
static void leave_alone(struct ss_call *c);
static int send_is_plain(const struct ss_call *c, const struct target *t);

/* A send the kernel would take: on a stream, one that is connected and
 * neither shut for writing nor reset (else the kernel's own ENOTCONN or
 * EPIPE, with its SIGPIPE, is the answer); a datagram that names where
 * it goes and is one whole datagram. */
static int send_would_go(const struct ss_call *c, const struct target *t)
{
    if (!ss_rule_short_cuts(t->info.type))
        return send_is_plain(c, t);
    return stream_sendable(&t->info);
}

static void apply_blackhole(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj,
                            const struct target *t, const struct ss_rule *r)
{
    if (is_op(c, SENDS)) {
        if (send_would_go(c, t))
            fail_with(c, s, (long)requested(c), 0);
        else
            leave_alone(c);
        return;
    }
    if (is_connect(c)) {
        apply_timeout(c, s, obj, t, r);
        return;
    }
    if (ss_rule_short_cuts(t->info.type)) {
        /* a stream's receive the latency could not hold (a signal handler
         * inside the shim): nothing comes */
        apply_timeout(c, s, obj, t, r);
        return;
    }
    /* a receive on a socket without a stream: each datagram is lost */
    int dontwait = c->flags & MSG_DONTWAIT;
    long got;
    do
        got = ss_real.recvfrom(c->fd, NULL, 0, MSG_TRUNC | dontwait, NULL, NULL);
    while (got >= 0);
    fail_with(c, s, -1, errno);
}

/* ---- datagrams ---------------------------------------------------------- */

/* A rule that matched the call but leaves it alone: counted, not marked. */
static void leave_alone(struct ss_call *c)
{
    c->fault = 0;
    c->fault_datagram = SS_DGRAM_NONE;
}

/* Where a send's datagram goes: the address it names, else the socket's
 * peer (NULL, with *len 0). */
static const struct sockaddr *send_destination(const struct ss_call *c, const struct target *t,
                                               socklen_t *len)
{
    if (c->addr != NULL) {
        *len = c->addrlen;
        return c->addr;
    }
    if (c->msg != NULL && c->msg->msg_name != NULL) {
        *len = c->msg->msg_namelen;
        return c->msg->msg_name;
    }
    *len = t->info.raddr.len;
    return *len != 0 ? (const struct sockaddr *)&t->info.raddr.sa : NULL;
}

/* The most a datagram of the socket's family can carry, as the kernel
 * would take it: an IP datagram's payload, an AF_UNIX socket's send
 * buffer. */
static uint64_t datagram_max(const struct ss_call *c, const struct target *t)
{
    if (t->info.family == AF_INET)
        return 65507;
    if (t->info.family == AF_INET6)
        return 65527;
    int sndbuf = 0;
    socklen_t len = sizeof sndbuf;
    int saved = errno;
    if (ss_real.getsockopt(c->fd, SOL_SOCKET, SO_SNDBUF, &sndbuf, &len) != 0 || sndbuf < 0)
        sndbuf = 0;
    errno = saved;
    return (uint64_t)sndbuf;
}

/* Whether the shim may answer for the kernel that a send went: it names a
 * destination (or the socket has a peer), is a whole datagram (not a
 * piece MSG_MORE corks) no larger than a datagram may be, and carries no
 * ancillary data (descriptors, credentials). The kernel is left to answer
 * any other send itself. */
static int send_is_plain(const struct ss_call *c, const struct target *t)
{
    socklen_t len;
    if (send_destination(c, t, &len) == NULL || ss_event_call_flag(c, MSG_MORE))
        return 0;
    if (c->msg != NULL && c->msg->msg_controllen != 0)
        return 0;
    return requested(c) <= datagram_max(c, t) && c->fn != SS_FN_splice;
}


/* The send reported whole and not made: the datagram is lost on the way. */
static void drop_sent(struct ss_call *c, struct ss_fault_scratch *s)
{
    c->fault_datagram = SS_DGRAM_DROPPED;
    fail_with(c, s, (long)requested(c), 0);
}

/* The send reported whole, and its datagram kept to be sent after the
 * socket's next N datagrams (ss_fault_due_datagram); left alone when the
 * socket already holds one back, or there is no memory for it. */
static void hold_sent(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj,
                      const struct target *t, const struct ss_rule *r)
{
    size_t len = (size_t)requested(c);
    struct ss_held_datagram *h = len <= SS_HELD_MAX ? ss_event_new_held(len) : NULL;
    if (h == NULL) {
        leave_alone(c);
        return;
    }
    socklen_t addrlen;
    const struct sockaddr *to = send_destination(c, t, &addrlen);
    h->rule = c->fault;
    h->behind = r->reorder;
    h->flags = ss_event_passes_msg_flags(c) ? c->flags & ~MSG_DONTWAIT : 0;
    /* a connected socket's send goes to its peer: no address given */
    h->addrlen = to == (const struct sockaddr *)&t->info.raddr.sa ? 0 : addrlen;
    if (h->addrlen > sizeof h->addr)
        h->addrlen = sizeof h->addr;
    if (h->addrlen != 0)
        memcpy(&h->addr, to, h->addrlen);
    gather_sent(c, h->bytes);
    if (ss_event_hold(obj, h) != 0) {
        ss_event_free_held(h);
        leave_alone(c);
        return;
    }
    c->fault_datagram = SS_DGRAM_HELD;
    fail_with(c, s, (long)len, 0);
}

/* drop on a receive: the first datagram queued is taken off the socket
 * and discarded (waiting for it as the call would), then the call is made
 * as the program asked: it gets the next one, waits for it, or EAGAIN.
 * A datagram a peek has shown has arrived: it is not lost. */
static void drop_received(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj)
{
    if (ss_event_take_peeked(obj) || ss_event_call_flag(c, MSG_ERRQUEUE)) {
        leave_alone(c);
        return;
    }
    unsigned char byte;
    int flags = MSG_TRUNC | (ss_event_call_flag(c, MSG_DONTWAIT) ? MSG_DONTWAIT : 0);
    ssize_t n = ss_real.recv(c->fd, &byte, 1, flags);
    if (n < 0) { /* nothing to lose: the kernel's own answer */
        int err = errno;
        leave_alone(c);
        fail_with(c, s, -1, err);
        return;
    }
    c->fault_datagram = SS_DGRAM_DROPPED;
}

/* duplicate on a receive: the datagram is read with MSG_PEEK, so that it
 * stays queued and the next receive gets it again, from the kernel. */
static void duplicate_received(struct ss_call *c, struct ss_fault_scratch *s)
{
    if (!ss_event_passes_msg_flags(c) || (c->flags & (MSG_PEEK | MSG_ERRQUEUE))) {
        leave_alone(c);
        return;
    }
    c->flags |= MSG_PEEK;
    s->added_peek = 1;
}

/* drop, duplicate or reorder= on a datagram socket's send. */
static void apply_datagram_send(struct ss_call *c, struct ss_fault_scratch *s,
                                struct ss_obj *obj, const struct ss_rule *r)
{
    struct target t;
    memset(&t, 0, sizeof t);
    look_at(&t, c, obj);
    if (!send_is_plain(c, &t))
        leave_alone(c);
    else if (r->actions & SS_ACT_DROP)
        drop_sent(c, s);
    else if (r->actions & SS_ACT_REORDER)
        hold_sent(c, s, obj, &t, r);
    else
        s->send_again = 1;
}

/* drop or duplicate on a datagram socket's receive (reorder= is refused
 * there when the rule is read). */
static void apply_datagram(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj,
                           const struct ss_rule *r)
{
    if (is_op(c, SENDS))
        apply_datagram_send(c, s, obj, r);
    else if (r->actions & SS_ACT_DROP)
        drop_received(c, s, obj);
    else
        duplicate_received(c, s);
}

/* The copy of a send's datagram: the same bytes to the same place, sent
 * without waiting (a network's copy never holds the sender up; a full
 * buffer means no copy). The count sent, or -1. */
static long send_copy(const struct ss_call *c)
{
    struct iovec one;
    const struct iovec *iov;
    struct msghdr m;
    memset(&m, 0, sizeof m);
    m.msg_iovlen = sent_pieces(c, &one, &iov);
    m.msg_iov = (struct iovec *)iov; /* sendmsg only reads it */
    if (c->msg != NULL) {
        m.msg_name = c->msg->msg_name;
        m.msg_namelen = c->msg->msg_namelen;
    }
    if (c->addr != NULL) {
        m.msg_name = (void *)c->addr;
        m.msg_namelen = c->addrlen;
    }
    int flags = ss_event_passes_msg_flags(c) ? c->flags : 0;
    int saved = errno;
    long n = ss_real.sendmsg(c->fd, &m, flags | MSG_DONTWAIT | MSG_NOSIGNAL);
    errno = saved;
    return n;
}

/* duplicate on a send that went whole: its datagram is sent again. */
static void send_again(struct ss_call *c)
{
    if (c->ret >= 0 && (uint64_t)c->ret == requested(c) && send_copy(c) == c->ret)
        c->fault_datagram = SS_DGRAM_DUPLICATED;
    else
        leave_alone(c);
}

/* duplicate on a receive, made with MSG_PEEK: the program's flags go back;
 * a receive that got no datagram got no copy either. */
static void settle_peeked_copy(struct ss_call *c)
{
    c->flags &= ~MSG_PEEK;
    if (c->ret >= 0)
        c->fault_datagram = SS_DGRAM_DUPLICATED;
    else
        leave_alone(c);
}

static void save_arguments(struct ss_call *c, struct ss_fault_scratch *s)
{
    s->cbuf = c->cbuf;
    s->len = c->len;
    s->count = c->count;
    s->iov_orig = c->iov;
    s->iovcnt = c->iovcnt;
    s->msg_orig = c->msg;
    s->restore_fl = -1;
}

/* A receive held back by a latency: with nothing due, a non-blocking one
 * fails with EAGAIN and a blocking one waits (MSG_WAITALL: for all it
 * asks); then it is cut to the bytes due. */
static void apply_hold(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj)
{
    uint64_t want = c->op == SS_OP_accept ? 1 : requested(c);
    int waitall = (c->flags & MSG_WAITALL) && !(c->flags & MSG_DONTWAIT);
    int none_due = c->fault_held != SS_HELD_DELAYED;
    if (none_due || (waitall && c->fault_limit != 0)) {
        struct target t;
        look_at(&t, c, obj);
        if (t.nonblocking && none_due) {
            /* the kernel's own answer when nothing had arrived: no mark */
            if (c->fault_held == SS_HELD_IDLE)
                c->fault = 0;
            fail_with(c, s, -1, EAGAIN);
            return;
        }
        struct ss_latency_view v;
        if (!t.nonblocking) {
            if (ss_latency_wait(obj, c->fd, t.own_timeout_ns, waitall ? want : 1, &v) != 0) {
                fail_with(c, s, -1, EAGAIN);
                return;
            }
            int whole = v.end_due || v.allowed >= want || v.allowed >= v.queued;
            c->fault_limit = whole ? 0 : v.allowed;
        }
    }
    if (c->fault_limit != 0 && c->fault_limit < want)
        cut_call(c, s, c->fault_limit);
}

/* ---- the sending side's network time (outbox.h) ------------------------- */

/* Whether the outbox can carry a send's bytes: a plain stream of them
 * (urgent data and control messages go as the kernel takes them). */
static int outbox_carries(const struct ss_call *c)
{
    if (c->op == SS_OP_sendmmsg || c->op == SS_OP_sendfile || c->fn == SS_FN_splice)
        return 0;
    if (ss_event_call_flag(c, MSG_OOB) || ss_event_call_flag(c, MSG_ZEROCOPY))
        return 0;
    return c->msg == NULL || c->msg->msg_controllen == 0;
}

/* A send the outbox cannot carry waits until the bytes ahead of it are
 * delivered, and then goes to the kernel (after its own delay, a wait
 * before the call). */
static void send_after_outbox(struct ss_call *c, struct ss_obj *obj)
{
    while (ss_outbox_holding(obj) != 0)
        sleep_ns(1000000);
    const struct ss_rule *r = rule_of(c);
    if (c->fault_held == SS_HELD_OUTBOX && (r->actions & SS_ACT_DELAY))
        sleep_ns(r->delay_ns + jitter_ns(r, c));
}

/* The error a send meets on a socket shut for writing: EPIPE, and
 * SIGPIPE to the thread unless the call asked for none. */
static void fail_shut(struct ss_call *c, struct ss_fault_scratch *s)
{
    if (!ss_event_call_flag(c, MSG_NOSIGNAL))
        raise(SIGPIPE);
    fail_with(c, s, -1, EPIPE);
}

/* Sleeps until `until` on the clock of due times, whatever signal
 * handlers run meanwhile. */
static void sleep_until_ns(uint64_t until)
{
    while (!ss_latency_sleep_until(until))
        ;
}

/* A send found the outbox full: edge-triggered epoll registrations get
 * a new EPOLLOUT edge when room frees (the kernel's buffer, empty, would
 * give none). */
static void no_room(int fd)
{
    ss_epoll_table_hold_everywhere(fd, EPOLLOUT | EPOLLWRNORM);
}

/* A send into the outbox: it takes what it has room for; a non-blocking
 * send returns with that (EAGAIN: none), a blocking one waits for room
 * for the rest (SO_SNDTIMEO kept), as the kernel's send does. */
static void send_to_outbox(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj)
{
    const struct ss_rule *r = rule_of(c);
    int own = c->fault_held == SS_HELD_OUTBOX;
    struct target t;
    look_at(&t, c, obj);
    struct iovec one;
    struct ss_outbox_send os = {.rule = c->fault};
    os.count = sent_pieces(c, &one, &os.iov);
    if (own) {
        os.delay_ns = r->delay_ns + jitter_ns(r, c);
        os.rate = r->rate;
    }
    uint64_t want = requested(c), taken = 0;
    uint64_t deadline = t.own_timeout_ns != 0 ? ss_latency_now() + t.own_timeout_ns : 0;
    for (;;) {
        int err;
        uint64_t room_ns;
        long n = ss_outbox_take(c->fd, obj, &os, &err, &room_ns);
        if (n == -2) { /* no outbox to be had: the old way, a wait first */
            send_after_outbox(c, obj);
            return;
        }
        if (n < 0 && taken > 0)
            break; /* what went is the send's; the error is the next one's */
        if (n == -3) { /* the kernel refuses it, with its own error (and SIGPIPE) */
            c->fault = 0;
            return;
        }
        if (n == -1) {
            fail_with(c, s, -1, err);
            return;
        }
        taken += (uint64_t)n;
        os.skip = taken;
        if (taken < want)
            no_room(c->fd); /* writability comes back as a new edge */
        if (taken == want || t.nonblocking)
            break;
        if (deadline != 0 && ss_latency_now() >= deadline)
            break;
        /* a signal handler that runs after some bytes went makes the
         * send short, as the kernel's */
        if (!ss_latency_sleep_until(deadline != 0 && deadline < room_ns ? deadline : room_ns) &&
            taken > 0)
            break;
    }
    if (taken == 0 && want != 0)
        fail_with(c, s, -1, EAGAIN);
    else
        fail_with(c, s, (long)taken, 0);
}

/* A call on a socket whose handshake is not done for the program: a
 * non-blocking one fails as the kernel's does while it connects (connect:
 * EALREADY; send and receive: EAGAIN), a blocking one waits until done. */
static void wait_handshake(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj)
{
    struct target t;
    look_at(&t, c, obj);
    uint64_t due;
    if (!ss_outbox_shaking(obj, ss_latency_now(), &due))
        return;
    if (t.nonblocking) {
        fail_with(c, s, -1, is_connect(c) ? EALREADY : EAGAIN);
        return;
    }
    sleep_until_ns(due);
    c->fault = 0; /* then the kernel answers, with the connection made */
}

static void apply_outbox(struct ss_call *c, struct ss_fault_scratch *s, struct ss_obj *obj)
{
    switch (c->fault_held) {
    case SS_HELD_HANDSHAKE:
        wait_handshake(c, s, obj);
        break;
    case SS_HELD_CONNECTED:
        fail_with(c, s, 0, 0);
        break;
    case SS_HELD_SHUTDOWN: {
        int left = ss_outbox_shutdown(obj, c->how);
        if (left < 0)
            fail_with(c, s, 0, 0);
        s->how_changed = left >= 0 && left != c->how;
        s->how_orig = c->how; /* put back after the call */
        c->how = left < 0 ? c->how : left;
        break;
    }
    default:
        if (ss_outbox_shut(obj))
            fail_shut(c, s);
        else if (!outbox_carries(c))
            send_after_outbox(c, obj);
        else
            send_to_outbox(c, s, obj);
        break;
    }
    if (c->fault_held != SS_HELD_OUTBOX)
        c->fault = 0; /* the kernel's own answers, or bytes behind others: unmarked */
}

/* A non-blocking TCP connect under a delay went to the kernel: what it
 * started (or made) is done for the program at the due time; until then
 * it is in progress (outbox.h). */
static void settle_handshake(struct ss_call *c, struct ss_fault_scratch *s)
{
    int started = c->ret == 0 || (c->ret == -1 && c->err == EINPROGRESS);
    if (!started)
        return;
    ss_outbox_connecting(s->obj, c->fault, s->handshake_due, c->ret == 0);
    c->ret = -1;
    c->err = EINPROGRESS;
}

/* ---- a resolution's failure, by its function's convention ---------------- */

/* Which convention fn answers by. */
static int returns_hostent_r(enum ss_fn fn)
{
    return fn == SS_FN_gethostbyname_r || fn == SS_FN_gethostbyname2_r ||
           fn == SS_FN_gethostbyaddr_r;
}

void ss_fault_fail_resolution(struct ss_call *c, int eai)
{
    struct ss_resolution *r = c->resolution;
    if (c->op == SS_OP_getaddrinfo || c->op == SS_OP_getnameinfo) {
        /* *res is left as it was: nothing for the program to free */
        r->gai = eai;
        c->ret = eai;
        return;
    }
    const struct ss_resolve_error *h = ss_h_error_of_gai(eai);
    int herr = h != NULL ? h->code : NO_RECOVERY;
    int err = h != NULL ? h->r_ret : ENOENT;
    r->hostent = NULL;
    r->herr = herr;
    c->ret = -1;
    if (returns_hostent_r(c->fn)) {
        if (r->result != NULL)
            *r->result = NULL;
        if (r->h_errnop != NULL)
            *r->h_errnop = herr;
        r->r_ret = err;
    } else {
        h_errno = herr;
    }
    /* glibc sets errno to what a _r form returns, and a NETDB_INTERNAL
     * failure of the others says its cause in errno */
    if (err != 0)
        c->err = err;
}

int ss_fault_resolution(struct ss_call *c)
{
    if (!ss_fault_decide(c, NULL))
        return 0;
    const struct ss_rule *r = rule_of(c);
    c->fault_flipped = -1;
    if (r->actions & SS_ACT_DELAY)
        sleep_ns(r->delay_ns + jitter_ns(r, c));
    return (r->actions & SS_ACT_ERROR) ? r->gai_err : 0;
}

void ss_fault_before(struct ss_call *c, struct ss_obj *obj, struct ss_fault_scratch *s)
{
    const struct ss_rule *r = rule_of(c);
    memset(s, 0, sizeof *s);
    s->perform = 1;
    s->rule = r;
    s->obj = obj;
    s->draw = c->fault_draw;
    save_arguments(c, s);
    c->fault_flipped = -1;
    if (c->fault_held >= SS_HELD_OUTBOX) {
        apply_outbox(c, s, obj);
        return;
    }
    if (c->fault_held) {
        apply_hold(c, s, obj);
        return;
    }
    if (c->fault_limit != 0) {
        cut_call(c, s, c->fault_limit);
        return;
    }

    if (c->fault_ended) {
        end_of_stream(c, s);
        return;
    }
    if (r->actions & SS_ACT_DATAGRAM) {
        apply_datagram(c, s, obj, r);
        return;
    }
    struct target t;
    memset(&t, 0, sizeof t);
    if ((r->actions & (SS_ACT_ERROR | SS_ACT_TIMEOUT | SS_ACT_RESET | SS_ACT_EOF |
                       SS_ACT_BLACKHOLE)) || is_connect(c)) {
        look_at(&t, c, obj);
        const char *why = misfit(r, c, &t);
        if (why != NULL) {
            note_misfit(c, why);
            if (strict) {
                c->fault = 0;
                return;
            }
        }
    }
    if (is_connect(c) && is_time_rule(r) && r->delay_ns + r->jitter_ns != 0 && t.nonblocking &&
        ss_event_is_tcp(&t.info)) {
        /* the handshake is made now and done for the program later */
        s->handshake_due = ss_latency_now() + r->delay_ns + jitter_ns(r, c);
        return;
    }
    if (r->actions & SS_ACT_DELAY)
        sleep_ns(r->delay_ns + jitter_ns(r, c));
    if (r->actions & SS_ACT_BLACKHOLE) {
        apply_blackhole(c, s, obj, &t, r);
        return;
    }
    if (r->actions & SS_ACT_TIMEOUT) {
        apply_timeout(c, s, obj, &t, r);
        return;
    }
    if (r->actions & SS_ACT_ERROR) {
        if (c->op == SS_OP_close)
            s->close_err = r->err; /* Linux frees the fd even when close fails */
        else
            apply_error(c, s, obj, &t, r->err);
        return;
    }
    if (r->actions & SS_ACT_EOF) {
        if (ss_event_has_connection(&t.info))
            ss_event_end_stream(obj, c->fault);
        end_of_stream(c, s);
        return;
    }
    if (r->actions & SS_ACT_RESET) {
        c->fault_reset = ss_event_break(c->fd, &t.info, obj);
        fail_with(c, s, -1, ECONNRESET);
        return;
    }
    if ((r->actions & SS_ACT_CORRUPT) && is_op(c, SENDS))
        corrupt_outgoing(c, s, r->corrupt);
    if ((r->actions & SS_ACT_SHORT) && !c->short_skipped)
        cut_call(c, s, r->short_len);
}

/* A connect sent to a stand-in: the program's address goes back, and the
 * stand-in's answer becomes the one the rule asked for. */
static void settle_redirect(struct ss_call *c, struct ss_fault_scratch *s)
{
    c->addr = s->addr_orig;
    c->addrlen = s->addrlen_orig;
    int in_progress = c->ret == -1 && (c->err == EINPROGRESS || c->err == EINTR);
    if (s->redirected == REDIRECT_TIMED_OUT) {
        if (!in_progress)
            ss_event_restore_options(c->fd, s->obj); /* the connect is over */
        return;
    }
    if (c->ret == -1 && c->err == ECONNREFUSED) {
        c->err = s->redirect_err; /* a blocking connect: answered now */
    } else if (in_progress) {
        if (s->redirect_err != ECONNREFUSED)
            ss_event_report_later(s->obj, s->redirect_err, c->fault);
    } else {
        c->ret = -1; /* the stand-in could not be reached: fail at once */
        c->err = s->redirect_err;
    }
}

/* A connect tried for real, non-blocking, in place of an error: where the
 * blocking call would have waited (a TCP handshake under way, EINPROGRESS;
 * an AF_UNIX listener's full backlog, EAGAIN) the error stands, and the
 * wait is what it interrupted; where the kernel answered at once, its
 * answer stands, and no fault happened. */
static void settle_started(struct ss_call *c, struct ss_fault_scratch *s)
{
    if (s->restore_fl >= 0) {
        int saved = errno;
        ss_real.fcntl(c->fd, F_SETFL, s->restore_fl);
        errno = saved;
    }
    if (c->ret == -1 && (c->err == EINPROGRESS || c->err == EAGAIN))
        c->err = s->async_err;
    else
        c->fault = 0;
}

/* Whether short= changed what the call did (the program's own arguments
 * are back in c): it asked for more than N bytes and moved exactly N. One
 * that asked for N or fewer was not cut; one that moved fewer than N found
 * no more to give or take, and its whole length would have moved as few. */
static int short_cut_something(const struct ss_call *c, const struct ss_rule *r)
{
    return !c->short_skipped && requested(c) > r->short_len && c->ret == (long)r->short_len;
}

/* A call short= did not cut carries the mark of the rule's other actions,
 * or none when short= is all the rule does: it counted for when= and p=
 * (the count is taken before the call), but nothing happened to it. */
static void unmark_short(struct ss_call *c, const struct ss_rule *r)
{
    if (r->uncut_action_text[0] == '\0')
        c->fault = 0;
    else
        c->fault_action = r->uncut_action_text;
}

void ss_fault_after(struct ss_call *c, struct ss_fault_scratch *s)
{
    static const struct ss_rule no_action; /* a cut before an after= mark */
    const struct ss_rule *r = c->fault_limit != 0 ? &no_action : s->rule;
    if (s->redirected != 0)
        settle_redirect(c, s);
    if (s->async_err != 0)
        settle_started(c, s);
    if (s->handshake_due != 0)
        settle_handshake(c, s);
    if (s->how_changed)
        c->how = s->how_orig;
    if (s->close_err != 0) {
        c->ret = -1;
        c->err = s->close_err;
    }
    if (s->send_again)
        send_again(c);
    if (s->added_peek)
        settle_peeked_copy(c);
    if ((r->actions & SS_ACT_CORRUPT) && is_op(c, RECVS) && s->perform) {
        corrupt_incoming(c, s, r->corrupt);
        c->fault_flipped = c->ret > 0 ? (int)(c->ret < r->corrupt ? c->ret : r->corrupt) : 0;
    }
    if ((r->actions & SS_ACT_CORRUPT) && s->copy != NULL)
        c->fault_flipped = c->ret > 0 ? flips_below(s->copy_len, r->corrupt, s->draw,
                                                    (size_t)c->ret)
                                      : 0;
    /* The trace shows what the program asked for; a recvmsg's results go
     * back into the program's own msghdr. */
    if (c->msg != s->msg_orig) {
        s->msg_orig->msg_namelen = c->msg->msg_namelen;
        s->msg_orig->msg_controllen = c->msg->msg_controllen;
        s->msg_orig->msg_flags = c->msg->msg_flags;
        c->msg = s->msg_orig;
    }
    c->cbuf = s->cbuf;
    c->len = s->len;
    c->count = s->count;
    c->iov = s->iov_orig;
    c->iovcnt = s->iovcnt;
    if (s->copy != NULL)
        munmap(s->copy, s->copy_len);
    if ((r->actions & SS_ACT_SHORT) && !short_cut_something(c, r))
        unmark_short(c, r);
}

void ss_fault_received(const struct ss_call *c, struct ss_obj *obj)
{
    if (!ss_latency_enabled() || obj == NULL || !latency_holds(c))
        return;
    int peek = c->op != SS_OP_recvmmsg && c->op != SS_OP_accept && (c->flags & MSG_PEEK);
    if (c->op == SS_OP_accept && c->ret >= 0)
        ss_latency_consumed(c->fd, obj, 1); /* one connection */
    else if (c->ret > 0 && !peek)
        ss_latency_consumed(c->fd, obj, c->op == SS_OP_recvmmsg ? 0 : (uint64_t)c->ret);
    if (c->fault_held && c->ret >= 0) /* the late bytes' mark is on what got them */
        ss_latency_marked(c->fd, obj);
}

void ss_fault_settle(struct ss_call *c, struct ss_obj *obj, int after)
{
    /* a datagram a peek showed has arrived: no drop loses it after */
    if (after && peeks_watched && is_op(c, RECVS) && c->ret >= 0 &&
        ss_event_call_flag(c, MSG_PEEK))
        ss_event_peeked(obj);
    if (obj == NULL || !ss_event_pending(obj))
        return;
    if (after)
        ss_event_settle_after(c, obj);
    else
        ss_event_settle_before(c, obj);
}

/* ---- datagrams held back ---------------------------------------------- */

/* Whether c is one of the socket's datagrams that go out before a held
 * one: a send that went (or was dropped: it went as far as the sender can
 * tell), not the held one itself. */
static int counts_as_sent(const struct ss_call *c)
{
    return is_op(c, SENDS) && c->ret >= 0 && !(c->fault != 0 &&
                                                c->fault_datagram == SS_DGRAM_HELD);
}

static void describe_sent(const struct ss_call *c, const struct ss_held_datagram *h, long ret,
                          int err, struct ss_call *sent)
{
    memset(sent, 0, sizeof *sent);
    sent->fn = SS_FN_sendto;
    sent->op = h->addrlen != 0 ? SS_OP_sendto : SS_OP_send;
    sent->fd = c->fd;
    sent->on_socket = 1;
    sent->cbuf = h->bytes;
    sent->len = h->len;
    sent->flags = h->flags;
    sent->addr = h->addrlen != 0 ? (const struct sockaddr *)&h->addr : NULL;
    sent->addrlen = h->addrlen;
    sent->ret = ret;
    sent->err = err;
    sent->failed = ret < 0;
    sent->t_start_ns = sent->t_end_ns = ss_now_ns();
    sent->sock = sent->new_sock = &ss_no_socket;
    ss_fault_mark(sent, h->rule);
    sent->fault_datagram = SS_DGRAM_RELEASED;
}

struct ss_held_datagram *ss_fault_due_datagram(const struct ss_call *c, struct ss_obj *obj,
                                               int closing, struct ss_call *sent)
{
    if (!closing && !counts_as_sent(c))
        return NULL;
    struct ss_held_datagram *h = ss_event_due(obj, !closing, closing);
    if (h == NULL)
        return NULL;
    int err;
    long ret = ss_event_send_held(c->fd, h, &err);
    describe_sent(c, h, ret, err, sent);
    return h;
}

void ss_fault_free_datagram(struct ss_held_datagram *h)
{
    ss_event_free_held(h);
}

void ss_fault_datagram_news(struct ss_obj *obj, struct ss_datagram_news *news)
{
    *news = (struct ss_datagram_news){0, 0, 0};
    if (ss_fault_enabled() && obj != NULL)
        ss_event_take_news(obj, news);
}

void ss_fault_note_copy(struct ss_obj *obj, int rule)
{
    if (obj != NULL)
        ss_event_copy_next(obj, rule);
}

void ss_fault_note_lost(struct ss_obj *obj, int rule)
{
    if (obj != NULL)
        ss_event_lost(obj, rule);
}
