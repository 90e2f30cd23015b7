/* sockshim: start-up, the table of real functions, process identity.
 *
 * The only file that calls dlsym. The library initialises on the first
 * intercepted call or in its constructor, whichever comes first: another
 * library's constructor may open a socket before ours runs.
 */
#include <dlfcn.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/single_threaded.h>
#include <time.h>
#include <unistd.h>

#include "audit.h"
#include "capture.h"
#include "ending.h"
#include "fault.h"
#include "internal.h"
#include "ledger.h"
#include "model.h"
#include "real.h"
#include "render.h"
#include "sink.h"
#include "trace.h"
#include "place.h"
#include "epoll_table.h"
#include "latency.h"
#include "outbox.h"

struct ss_real_table ss_real;
_Atomic int ss_lib_state = SS_LIB_UNINIT;

static void resolve_real_functions(void)
{
    /* The pointers are written once, before ss_lib_state publishes them
     * with release ordering. Every name exists in glibc 2.34 and later. */
#define SS_RESOLVE(ret, name, ...) *(void **)(&ss_real.name) = dlsym(RTLD_NEXT, #name);
    SS_ENTRIES(SS_RESOLVE)
    SS_ENDINGS(SS_RESOLVE)
#undef SS_RESOLVE
}

void *ss_global_symbol(const char *name)
{
    return dlsym(RTLD_DEFAULT, name);
}

/* ---- identity --------------------------------------------------------- */

static pid_t cached_pid;
static __thread pid_t cached_tid;

pid_t ss_pid(void)
{
    pid_t p = __atomic_load_n(&cached_pid, __ATOMIC_RELAXED);
    if (p == 0) {
        p = getpid();
        __atomic_store_n(&cached_pid, p, __ATOMIC_RELAXED);
    }
    return p;
}

pid_t ss_tid(void)
{
    if (cached_tid == 0)
        cached_tid = gettid();
    return cached_tid;
}

void ss_identity_reset_after_fork(void)
{
    __atomic_store_n(&cached_pid, getpid(), __ATOMIC_RELAXED);
    cached_tid = gettid();
}

int ss_multithreaded(void)
{
    return !__libc_single_threaded;
}

uint64_t ss_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static long utc_offset;

long ss_utc_offset_s(void)
{
    return utc_offset;
}

/* localtime_r may read /etc/localtime and takes a lock: fine once here,
 * never in a signal handler, so the offset is fixed for the process. */
static void load_utc_offset(void)
{
    time_t now = time(NULL);
    struct tm tm;
    if (localtime_r(&now, &tm) != NULL)
        utc_offset = tm.tm_gmtoff;
}

/* ---- fork ------------------------------------------------------------- */

void ss_after_fork_child(void)
{
    ss_identity_reset_after_fork();
    ss_model_after_fork_child();
    ss_epoll_table_after_fork_child();
    ss_latency_after_fork_child();
    ss_outbox_after_fork_child();
    ss_fault_after_fork_child();
    ss_audit_after_fork_child();
    ss_ending_after_fork_child();
    ss_ledger_after_fork_child();
    ss_trace_after_fork_child();
    ss_sink_after_fork_child();
    ss_render_process_start();
}

static void atfork_child(void)
{
    if (atomic_load_explicit(&ss_lib_state, memory_order_acquire) == SS_LIB_ACTIVE)
        ss_after_fork_child();
}

/* ---- initialisation --------------------------------------------------- */

static __thread int tls_initializing;

/* Reads the settings and starts what they ask for; whether anything is. */
static int configure(void)
{
    ss_config_load();
    ss_fault_init();
    load_utc_offset();
    ss_model_init();
    ss_audit_init();
    ss_capture_init();
    int active = ss_config.traced != 0 || ss_fault_enabled() || ss_capture_enabled();
    if (active) {
        if (ss_config.traced != 0) {
            ss_sink_open();
            ss_place_join();
        }
        pthread_atfork(NULL, NULL, atfork_child);
    }
    return active;
}

static void initialize(void)
{
    /* No signal handler may run on this thread while the library is half
     * made: it would find a wrapper that cannot proceed. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    tls_initializing = 1;

    resolve_real_functions();
    /* Secure execution (a set-user-ID, set-group-ID or file-capability
     * program): the environment belongs to a less privileged caller, so no
     * SOCKSHIM_* variable is read and the library only passes calls
     * through: no trace, no fault, no file, no ring. (glibc preloads a
     * library there by bare name from the system directories when it is
     * set-user-ID itself, or through /etc/ld.so.preload.) */
    int active = !getauxval(AT_SECURE) && configure();
    atomic_store_explicit(&ss_lib_state, active ? SS_LIB_ACTIVE : SS_LIB_PASSTHROUGH,
                          memory_order_release);

    tls_initializing = 0;
    pthread_sigmask(SIG_SETMASK, &old, NULL);
}

int ss_init_slow(void)
{
    int saved = errno;
    int expected = SS_LIB_UNINIT;
    if (atomic_compare_exchange_strong_explicit(&ss_lib_state, &expected, SS_LIB_INITIALIZING,
                                                memory_order_acq_rel, memory_order_acquire)) {
        initialize();
    } else if (tls_initializing) {
        /* The initialisation itself made a call: the real functions are
         * resolved by now and this call is none of the program's. */
        errno = saved;
        return 0;
    } else {
        while (atomic_load_explicit(&ss_lib_state, memory_order_acquire) == SS_LIB_INITIALIZING)
            sched_yield();
    }
    errno = saved;
    return atomic_load_explicit(&ss_lib_state, memory_order_acquire) == SS_LIB_ACTIVE;
}

__attribute__((constructor)) static void sockshim_constructor(void)
{
    if (ss_intercepting() && ss_config.traced != 0)
        ss_python_install();
}

/* At exit: what is still open, the loops left unfinished, and the summary
 * (ending.h: _exit and exec write theirs in their wrappers). */
__attribute__((destructor)) static void sockshim_destructor(void)
{
    static const struct ss_end at_exit = {.how = SS_END_EXIT};
    ss_end_process(&at_exit);
}
