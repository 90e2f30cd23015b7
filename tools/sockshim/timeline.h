/* sockshim report: the timeline of a merged run (timeline.c).
 *
 * report.c reads the traces (one reader, one pairing of connections) and
 * hands the timeline what it needs of each record: every call (its lane,
 * time, duration, method, socket, bytes, result, fault), every finding
 * record, the hosts and processes, and, once read, the connections it
 * paired. ss_tl_finish() then aligns the clocks of the hosts, orders the
 * calls in time, matches each send to the receive that got its bytes and
 * sums up each connection: what --perfetto, --html and the text report's
 * connection table show.
 *
 * Memory: one struct tl_call (40 bytes) per call, strings interned or kept
 * once in an arena; time linear in the calls (but for sorting them). Or,
 * for the text report alone of a run of one host (ss_tl_keep_calls(0)), no
 * call at all: each socket's tally of what the connection table shows,
 * and the accepts whose socket may still change, until it is known; the
 * views then have no calls to show, and the clocks of several hosts no
 * calls to be aligned from (ss_tl_needs_calls()).
 */
#ifndef SOCKSHIM_TIMELINE_H
#define SOCKSHIM_TIMELINE_H

#include <stddef.h>
#include <stdint.h>

#define TL_NONE UINT32_MAX

/* calls.flags (the page contract's bits) */
enum {
    TL_RAISED = 1,   /* the call failed ("error") */
    TL_FAULTED = 2,  /* a fault rule hit it */
    TL_FINDING = 4,  /* a finding was noted on it */
    TL_WAIT = 8,     /* poll, select, epoll_poll */
    TL_BLOCKED = 16, /* it took 1 ms or more */
    TL_PEEK = 32,    /* a receive with MSG_PEEK: its bytes stay (not in the page's flags) */
    TL_RESET = 64,   /* it raised ECONNRESET or EPIPE (not in the page's flags) */
    TL_MAY_MOVE = 128, /* an accept whose call may move to the socket it made
                        * (ss_tl_accepted_by or ss_tl_accept_stays follows) */
};
#define TL_PAGE_FLAGS 31

struct tl_call {
    int64_t t_ns;    /* when it began: ns since the epoch, in the reference clock once finished */
    uint64_t dur_ns;
    uint64_t bytes;  /* what a send or receive moved, else 0 */
    uint32_t lane;
    uint32_t sock;   /* report's socket serial, or TL_NONE */
    uint32_t text;   /* its text line: offset + 1 into the text arena, 0: none */
    uint16_t op;     /* enum ss_op; SS_OP_COUNT when the name is unknown */
    uint8_t flags;
    uint8_t side;    /* once finished: 0 = a, 1 = b of its connection */
};

struct tl_host {
    char *key;       /* boot_id, "name:" + host name, or "" (not known) */
    char *name;      /* for people: the host name, made unique */
    char *boot_id;   /* "" when not known */
    int64_t offset_ns; /* added to its times to get the reference clock's */
    int64_t uncertainty_ns; /* +-; -1: bounded on one side only, or not aligned */
    char *basis;     /* how the offset was found, in words */
};

struct tl_lane {
    uint32_t host;
    long long pid, tid;
    char *exe;       /* the process's argv[0], "" when not known */
    uint64_t calls;
};

/* [t, side, kind, bytes] of the contract's connection events */
enum tl_event_kind { TL_EV_CONNECT, TL_EV_ACCEPT, TL_EV_DATA, TL_EV_SHUTDOWN, TL_EV_RESET,
                     TL_EV_CLOSE, TL_EV_FAULT };
#define TL_EVENTS_MAX 2000
#define TL_RTT_MAX 2000

struct tl_event {
    int64_t t_ns;
    uint64_t bytes;
    uint8_t side, kind;
};

struct tl_conn {
    uint32_t sock[2];   /* a (the end that connected, or the one seen) and b, or TL_NONE */
    uint32_t lane[2];   /* the lane of each end's first call, TL_NONE */
    long long pid[2];
    char *addr[2];      /* "127.0.0.1:41500", a unix path...: "" for b when not traced */
    char *proto;        /* "tcp", "udp", "unix" ... */
    int stream;
    int64_t start_ns, end_ns; /* first call's start, last call's end, reference clock */
    uint64_t bytes[2];  /* sent by a, by b */
    uint64_t calls, faults, findings;
    struct tl_event *events;
    size_t nevents, events_dropped;
    int64_t *rtt_ns;
    size_t nrtt;
};

struct tl_finding {
    uint32_t lane, call; /* call: TL_NONE when none */
    int64_t t_ns;
    char *code, *message, *where;
};

struct tl_fault {
    uint32_t call;
    char *rule;
};

struct tl_flow {
    uint32_t send, recv;
};

struct ss_timeline;

struct ss_timeline *ss_tl_new(void);
void ss_tl_free(struct ss_timeline *tl);
/* Whether calls keep their text line (for --html and --perfetto). */
void ss_tl_keep_text(struct ss_timeline *tl, int keep);
/* Whether every call is kept (the default; the views and the clocks of
 * several hosts need them), or only what the connection table needs of
 * each socket: before the first call. */
void ss_tl_keep_calls(struct ss_timeline *tl, int keep);
/* Whether the calls are not kept and the run has more than one host: the
 * timeline cannot be finished; read the run again keeping the calls. */
int ss_tl_needs_calls(const struct ss_timeline *tl);

/* "2026-12-06T05:14:24.498776Z" as microseconds since the epoch: 0, or
 * -1 when s is no such time (the only form the writer writes). */
int ss_tl_parse_ts(const char *s, int64_t *us);

/* The host of a start record: by its boot_id (one clock), else by its
 * name, else the host not known; "" for what the record lacks. -1 when
 * there would be more hosts than TL_HOSTS_MAX. */
#define TL_HOSTS_MAX 64
long ss_tl_host(struct ss_timeline *tl, const char *name, const char *boot_id);
/* Whether ss_tl_host() would take it (it is known, or there is room). */
int ss_tl_host_fits(const struct ss_timeline *tl, const char *name, const char *boot_id);
/* The lane of a thread, made on first sight. */
uint32_t ss_tl_lane(struct ss_timeline *tl, uint32_t host, long long pid, long long tid);
/* The lanes so far, the process of each, and its name (argv[0]). */
size_t ss_tl_lane_count(const struct ss_timeline *tl);
void ss_tl_lane_process(const struct ss_timeline *tl, uint32_t lane, uint32_t *host,
                        long long *pid);
void ss_tl_name_lane(struct ss_timeline *tl, uint32_t lane, const char *exe);

/* A call: c->t_ns is its end as the trace says (ts); the timeline takes
 * the start from the duration. The text line (may be NULL) is kept when
 * asked to. Returns the call's number. */
uint32_t ss_tl_take_call(struct ss_timeline *tl, const struct tl_call *c, const char *text,
                         size_t text_len, const char *fault_rule);
/* The accept call (taken with TL_MAY_MOVE) that made socket sock
 * (report.c saw its fd next); or, ss_tl_accept_stays(), one whose socket
 * will not be seen (another accept returned its fd): it stays its own
 * socket's. */
void ss_tl_accepted_by(struct ss_timeline *tl, uint32_t sock, uint32_t call);
void ss_tl_accept_stays(struct ss_timeline *tl, uint32_t call);
/* A finding record, noted on the lane's last call. */
void ss_tl_take_finding(struct ss_timeline *tl, uint32_t lane, int64_t t_end_ns,
                        const char *code, const char *message, const char *where);
/* A connection report.c paired (b = TL_NONE: its peer was not traced). */
void ss_tl_add_connection(struct ss_timeline *tl, uint32_t a, uint32_t b, const char *proto,
                          int stream, const char *addr_a, const char *addr_b);

/* After the last record and connection: aligns, orders, matches, sums. */
void ss_tl_finish(struct ss_timeline *tl);

/* ---- the finished timeline (read-only) ---------------------------------- */

struct tl_view {
    const struct tl_call *calls; /* in reading order */
    const uint32_t *order;       /* calls by time: order[k] is the k-th call */
    const uint32_t *rank;        /* its inverse: rank[i] is call i's place in time */
    size_t ncalls;
    const char *text;            /* the arena of text lines */
    const struct tl_host *hosts;
    size_t nhosts;
    const struct tl_lane *lanes;
    size_t nlanes;
    const struct tl_conn *conns;
    size_t nconns;
    const uint32_t *conn_of_sock; /* by socket serial: its connection, or TL_NONE */
    size_t nsocks;
    const struct tl_finding *findings;
    size_t nfindings;
    const struct tl_fault *faults;
    size_t nfaults;
    const struct tl_flow *flows;
    size_t nflows;
    int64_t t0_ns, span_ns;      /* earliest start; last end - t0 */
};

void ss_tl_view(const struct ss_timeline *tl, struct tl_view *v);
/* The call's text line, or NULL. */
const char *ss_tl_text(const struct tl_view *v, uint32_t call);
/* The connection of a call (its socket's, or that of the socket an accept
 * made), or TL_NONE. */
uint32_t ss_tl_conn_of_call(const struct tl_view *v, uint32_t call);
const char *ss_tl_event_name(int kind);
/* A lane's program as the views name it: its argv[0]'s last part, "?"
 * when not known. */
const char *ss_tl_lane_program(const struct tl_lane *l);

#endif
