/* sockshim: processes. A forked child shares its parent's sockets; the
 * model's copy in the child stays true without any work, but the child
 * has a new pid, may need its own trace file, and inherits no thread that
 * could release a lock. */
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "ending.h"
#include "share.h"
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

/* ---- the ends of a process image (ending.h) -------------------------- */

/* _exit runs no destructor: the summary is written here. A signal
 * handler may call _exit: the way there takes no lock it could find held
 * for good (the model's give up after a bounded wait). */
static _Noreturn void end_by_exit(void (*real_exit)(int), int status)
{
    if (ss_intercepting()) {
        struct ss_end end = {.how = SS_END__EXIT, .status = status};
        ss_end_process(&end);
    }
    real_exit(status);
    for (;;) /* real_exit does not return */
        ss_real.syscall(SYS_exit_group, status);
}

SS_EXPORT void _exit(int status)
{
    end_by_exit(ss_real._exit, status);
}

SS_EXPORT void _Exit(int status)
{
    end_by_exit(ss_real._Exit, status);
}

/* Before an exec the image writes its summary, and lends the run's shared
 * memory to a program that will trace (share.h); if the exec returns, it
 * failed and the process goes on. */
static unsigned exec_begins(const char *program, char *const envp[])
{
    if (!ss_intercepting())
        return 0;
    struct ss_end end = {.how = SS_END_EXEC, .program = program != NULL ? program : "?"};
    ss_end_process(&end);
    return ss_share_before_exec(envp);
}

static int exec_failed(const char *program, int ret, unsigned lent)
{
    ss_share_after_failed_exec(lent);
    ss_end_exec_failed(program != NULL ? program : "?");
    return ret;
}

SS_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
    unsigned lent = exec_begins(path, envp);
    return exec_failed(path, ss_real.execve(path, argv, envp), lent);
}

SS_EXPORT int execv(const char *path, char *const argv[])
{
    unsigned lent = exec_begins(path, environ);
    return exec_failed(path, ss_real.execv(path, argv), lent);
}

SS_EXPORT int execvp(const char *file, char *const argv[])
{
    unsigned lent = exec_begins(file, environ);
    return exec_failed(file, ss_real.execvp(file, argv), lent);
}

SS_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
    unsigned lent = exec_begins(file, envp);
    return exec_failed(file, ss_real.execvpe(file, argv, envp), lent);
}

/* The program is named by an fd: /proc/self/fd/N says which while it is
 * open, but reading it is a call of ours; the fd is what the summary
 * names. */
SS_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
    char name[32];
    snprintf(name, sizeof name, "fd %d", fd);
    unsigned lent = exec_begins(name, envp);
    return exec_failed(name, ss_real.fexecve(fd, argv, envp), lent);
}

SS_EXPORT int execveat(int dirfd, const char *path, char *const argv[], char *const envp[],
                       int flags)
{
    unsigned lent = exec_begins(path, envp);
    return exec_failed(path, ss_real.execveat(dirfd, path, argv, envp, flags), lent);
}

/* execl, execlp and execle take their arguments as a list, ended by a
 * NULL (execle's envp follows it): counted, then copied into an array on
 * the stack, as glibc's own do. */
static size_t count_list(const char *arg0, va_list ap)
{
    size_t n = arg0 != NULL;
    while (n > 0 && va_arg(ap, const char *) != NULL)
        n++;
    return n;
}

static void fill_list(char **argv, size_t argc, const char *arg0, va_list *ap)
{
    argv[0] = (char *)arg0;
    for (size_t i = 1; i < argc; i++)
        argv[i] = va_arg(*ap, char *);
    argv[argc] = NULL;
    if (argc > 0)
        (void)va_arg(*ap, char *); /* the list's NULL */
}

/* Declares argv (on the caller's stack) from the list after arg0; ap is
 * left after the list's NULL, still open. */
#define SS_LIST_ARGV(argv, arg0, ap)                                           \
    va_list ap, ap_count;                                                      \
    va_start(ap, arg0);                                                        \
    va_copy(ap_count, ap);                                                     \
    size_t argv##_count = count_list(arg0, ap_count);                          \
    va_end(ap_count);                                                          \
    char *argv[argv##_count + 1];                                              \
    fill_list(argv, argv##_count, arg0, &ap)

SS_EXPORT int execl(const char *path, const char *arg0, ...)
{
    SS_LIST_ARGV(argv, arg0, ap);
    va_end(ap);
    unsigned lent = exec_begins(path, environ);
    return exec_failed(path, ss_real.execv(path, argv), lent);
}

SS_EXPORT int execlp(const char *file, const char *arg0, ...)
{
    SS_LIST_ARGV(argv, arg0, ap);
    va_end(ap);
    unsigned lent = exec_begins(file, environ);
    return exec_failed(file, ss_real.execvp(file, argv), lent);
}

SS_EXPORT int execle(const char *path, const char *arg0, ...)
{
    SS_LIST_ARGV(argv, arg0, ap);
    char *const *envp = va_arg(ap, char *const *);
    va_end(ap);
    unsigned lent = exec_begins(path, envp);
    return exec_failed(path, ss_real.execve(path, argv, envp), lent);
}
