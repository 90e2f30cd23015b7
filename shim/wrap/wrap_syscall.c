/* sockshim: closes made with syscall().
 *
 * libuv (and with it Node.js) closes every fd with syscall(SYS_close, fd),
 * to stay clear of close()'s cancellation point. A close the shim does not
 * see leaves the model believing the number is still the socket: the next
 * file opened on that number would be traced and audited as the socket,
 * and the socket reported leaked. So syscall() is interposed; SYS_close and SYS_close_range take
 * the pipeline of close() and close_range() (performed with syscall()
 * itself, as the program asked), every other number goes straight on.
 *
 * syscall() is variadic and a C definition cannot pass on arguments whose
 * number it does not know, so the exported symbol is two instructions of
 * assembly that jump to a C function taking the seven registers and stack
 * slot the x86-64 calling convention gives a system call's number and six
 * arguments (glibc's own syscall() reads all of them alike).
 */
#include <errno.h>
#include <sys/syscall.h>

#include "wrap.h"

#if defined(__x86_64__)

long ss_syscall_entry(long number, unsigned long a1, unsigned long a2, unsigned long a3,
                      unsigned long a4, unsigned long a5, unsigned long a6);

__asm__(".text\n"
        ".globl syscall\n"
        ".type syscall, @function\n"
        "syscall:\n"
        ".cfi_startproc\n"
        "    endbr64\n"
        "    jmp ss_syscall_entry\n"
        ".cfi_endproc\n"
        ".size syscall, .-syscall\n");

static void perform_syscall_close(struct ss_call *c)
{
    c->ret = ss_real.syscall(SYS_close, c->fd);
}

static void perform_syscall_close_range(struct ss_call *c)
{
    c->ret = ss_real.syscall(SYS_close_range, c->first, c->last, c->flags);
}

/* The kernel reads these arguments as unsigned int and int: only the low
 * 32 bits of each register are the program's. */
static long syscall_close(unsigned long fd, uintptr_t caller)
{
    struct ss_call c = {.fn = SS_FN_close, .via_syscall = 1, .caller = caller,
                        .perform = perform_syscall_close, .fd = (int)(unsigned)fd};
    ss_run(&c);
    return c.ret;
}

static long syscall_close_range(unsigned long first, unsigned long last, unsigned long flags,
                                uintptr_t caller)
{
    struct ss_call c = {.fn = SS_FN_close_range, .via_syscall = 1, .caller = caller,
                        .perform = perform_syscall_close_range, .fd = -1,
                        .first = (unsigned)first, .last = (unsigned)last,
                        .flags = (int)(unsigned)flags};
    ss_run(&c);
    return c.ret;
}

/* The system call itself, for the calls that come before the library is
 * initialised: glibc's syscall() is not resolved yet, and resolving it
 * (dlsym) or initialising the library from here would allocate from inside
 * whatever is calling, which can be the allocator's own initialisation
 * (jemalloc, linked into redis-server, reads /proc with syscall() while
 * holding its init lock). */
static long raw_syscall(long number, unsigned long a1, unsigned long a2, unsigned long a3,
                        unsigned long a4, unsigned long a5, unsigned long a6)
{
    register unsigned long r10 __asm__("r10") = a4;
    register unsigned long r8 __asm__("r8") = a5;
    register unsigned long r9 __asm__("r9") = a6;
    long ret;
    __asm__ volatile("syscall"
                     : "=a"(ret)
                     : "a"(number), "D"(a1), "S"(a2), "d"(a3), "r"(r10), "r"(r8), "r"(r9)
                     : "rcx", "r11", "memory");
    if (ret < 0 && ret > -4096) {
        errno = (int)-ret;
        return -1;
    }
    return ret;
}

/* Reached by a jump from syscall(): its return address is the program's. */
__attribute__((visibility("hidden"))) long ss_syscall_entry(long number, unsigned long a1,
                                                             unsigned long a2, unsigned long a3,
                                                             unsigned long a4, unsigned long a5,
                                                             unsigned long a6)
{
    /* never initialises the library (see raw_syscall) */
    int state = atomic_load_explicit(&ss_lib_state, memory_order_acquire);
    if (state == SS_LIB_ACTIVE && (number == SYS_close || number == SYS_close_range)) {
        uintptr_t caller = (uintptr_t)__builtin_return_address(0);
        return number == SYS_close ? syscall_close(a1, caller)
                                   : syscall_close_range(a1, a2, a3, caller);
    }
    if (state == SS_LIB_ACTIVE || state == SS_LIB_PASSTHROUGH)
        return ss_real.syscall(number, a1, a2, a3, a4, a5, a6);
    return raw_syscall(number, a1, a2, a3, a4, a5, a6);
}

#endif
