/* sockshim: what the parts of the library share, behind the ss_ prefix. */
#ifndef SOCKSHIM_INTERNAL_H
#define SOCKSHIM_INTERNAL_H

#include <sched.h>
#include <stdatomic.h>
#include <stdint.h>
#include <sys/types.h>

#include "options.h"
#include "call.h"

#define SS_EXPORT __attribute__((visibility("default")))
#define SS_LIKELY(x) __builtin_expect(!!(x), 1)
#define SS_UNLIKELY(x) __builtin_expect(!!(x), 0)

/* Lifecycle of the library in this process. */
enum ss_lib_state {
    SS_LIB_UNINIT,      /* nothing resolved yet */
    SS_LIB_INITIALIZING,
    SS_LIB_PASSTHROUGH, /* resolved; nothing to do but call libc */
    SS_LIB_ACTIVE,      /* every call goes through the pipeline */
};

extern _Atomic int ss_lib_state;

/* Slow path of ss_intercepting(): initialises the library (or waits for the
 * thread doing it) and says whether calls go through the pipeline. */
int ss_init_slow(void);

/* Whether a wrapper should hand its call to the pipeline. One load on the
 * hot path; the first call in the process initialises the library, which is
 * how a wrapper called before the constructor (from another library's
 * constructor) works. */
static inline int ss_intercepting(void)
{
    int s = atomic_load_explicit(&ss_lib_state, memory_order_acquire);
    if (SS_LIKELY(s == SS_LIB_ACTIVE))
        return 1;
    if (s == SS_LIB_PASSTHROUGH)
        return 0;
    return ss_init_slow();
}

/* The settings of this process, read from the environment once. */
struct ss_config {
    enum ss_format format;
    unsigned strsize;
    ss_opmask traced;            /* methods that are rendered */
    char output[4096];           /* pattern; empty: stderr */
    int output_per_pid;          /* the pattern has %p */
    uint64_t run_start_ns;       /* with %p, or rules with at=/for=: SS_ENV_RUN_START */
    struct ss_fd_ref output_fd; /* without output: the run's stderr; fd -1: none */
    enum ss_summary summary;     /* the summary at exit */
    int every_call;              /* no rebuilt loops in text */
    int capture;                 /* --pcap: capture events for the command */
    /* Who writes: by default only a process that touched a socket (see
     * ss_audit_touched_socket). --all-processes: every process that made a
     * call; -e naming fork: every process writes its fork lines. */
    int all_processes;
    int render_in_process; /* lines, not call records, into the ring (benchmarks) */
    int fork_named;
};

extern struct ss_config ss_config;

/* Reads the environment into ss_config; on a bad value writes the message
 * to stderr and ends the process with status 2 (a run must never go on
 * half-configured). */
void ss_config_load(void);
/* Rules with at= or for= count from the run's start: loaded (or, in the
 * run's first process, set) now. Before main(), while single-threaded. */
void ss_config_need_run_start(void);

/* The identity of the calling process and thread, cached: getpid() and
 * gettid() are system calls, and a trace line needs both. */
pid_t ss_pid(void);
pid_t ss_tid(void);
void ss_identity_reset_after_fork(void);
int ss_multithreaded(void);

uint64_t ss_now_ns(void);       /* CLOCK_REALTIME */
long ss_utc_offset_s(void);     /* local time minus UTC, fixed at start */

/* splitmix64's finaliser: a bijection whose every output bit depends on
 * every input bit. The fault engine's draws and the model's stable keys
 * are made of it. */
static inline uint64_t ss_mix64(uint64_t x)
{
    x += 0x9e3779b97f4a7c15ull;
    x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
    x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
    return x ^ (x >> 31);
}

/* A lock for the shim's own small tables (epoll_table.c, latency.c): it
 * spins, then yields, and gives up (returns 0) rather than wait for ever;
 * a thread that holds it already (a signal handler ran inside the shim)
 * gets 0 at once. holding is the thread's own flag for that lock. */
static inline int ss_table_lock(atomic_int *lock, int *holding)
{
    if (*holding)
        return 0;
    for (unsigned spin = 0; spin < 4096; spin++) {
        if (!atomic_exchange_explicit(lock, 1, memory_order_acquire)) {
            *holding = 1;
            return 1;
        }
        if (spin >= 64)
            sched_yield();
    }
    return 0;
}

static inline void ss_table_unlock(atomic_int *lock, int *holding)
{
    *holding = 0;
    atomic_store_explicit(lock, 0, memory_order_release);
}

/* In a forked child: a thread that did not come along may have held it. */
static inline void ss_table_lock_reset(atomic_int *lock, int *holding)
{
    *holding = 0;
    atomic_store_explicit(lock, 0, memory_order_relaxed);
}

/* The one path every intercepted call takes (pipeline.c). */
void ss_run(struct ss_call *call);
/* ... and the one a wait takes: select, poll, epoll (wait.c). */
void ss_run_wait(struct ss_call *call);

/* Decides the method a call is shown as (classify.c); nonblocking is the
 * subject socket's mode. */
void ss_classify_call(struct ss_call *call, int nonblocking);
/* What a setblocking()/set_inheritable() call asks for: call.h. */

/* Whether fn works on any fd (read, close, dup...) and is only of interest
 * when the fd is a socket, as opposed to the socket API proper. */
int ss_fn_on_any_fd(enum ss_fn fn);
/* Whether fn is a name resolution (getaddrinfo...): a call on no socket. */
int ss_fn_is_resolution(enum ss_fn fn);

/* How many name resolutions the calling thread is inside (pipeline.c):
 * the socket calls glibc makes for one (nss_dns's queries) are not the
 * program's and are performed untouched. */
extern __thread int ss_resolving;

/* Fork support (preload.c): after a fork in the child. */
void ss_after_fork_child(void);
/* A symbol of the process's global scope (dlsym(RTLD_DEFAULT)), or NULL:
 * how python_where.c finds CPython's API without linking it. */
void *ss_global_symbol(const char *name);

#endif
