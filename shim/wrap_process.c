/* sockshim: processes. A forked child shares its parent's sockets; the
 * model's copy in the child stays true without any work, but the child
 * has a new pid, may need its own trace file, and inherits no thread that
 * could release a lock. */
#include <unistd.h>

#include "fault.h"
#include "wrap.h"

static void perform_fork(struct ss_call *c)
{
    /* the atfork handler readies the child (pthread_atfork in preload.c) */
    ss_fault_before_fork();
    c->ret = ss_real.fork();
}

SS_EXPORT pid_t fork(void)
{
    SS_PASSTHROUGH(fork);
    struct ss_call c = {.fn = SS_FN_fork, .perform = perform_fork, .fd = -1};
    SS_RUN(pid_t, c);
}

/* _Fork() runs no atfork handlers: the child is readied here. */
static void perform__Fork(struct ss_call *c)
{
    ss_fault_before_fork();
    c->ret = ss_real._Fork();
    if (c->ret == 0)
        ss_after_fork_child();
}

SS_EXPORT pid_t _Fork(void)
{
    SS_PASSTHROUGH(_Fork);
    struct ss_call c = {.fn = SS_FN__Fork, .perform = perform__Fork, .fd = -1};
    SS_RUN(pid_t, c);
}

/* vfork() cannot be wrapped: the child would return from the wrapper into
 * the parent's stack frame and wreck it. A fork() behaves the same for
 * every correct vfork() child (it only calls exec or _exit), and lets the
 * child's calls (CPython's subprocess calls close_range and dup2 there)
 * update its own copy of the model instead of the parent's. */
SS_EXPORT pid_t vfork(void)
{
    SS_PASSTHROUGH(fork);
    struct ss_call c = {.fn = SS_FN_vfork, .perform = perform_fork, .fd = -1};
    SS_RUN(pid_t, c);
}
