/* sockshim: what every wrapper file shares.
 *
 * A wrapper does two things: when the library has nothing to do it calls
 * libc straight away (SS_PASSTHROUGH), otherwise it marshals its arguments
 * into a struct ss_call and hands that to ss_run(). The perform function
 * next to it makes the real call from the record, so the fault engine can
 * change the record (a shorter length) before it is made.
 */
#ifndef SOCKSHIM_WRAP_H
#define SOCKSHIM_WRAP_H

#include <sys/socket.h>

#include "internal.h"
#include "real.h"

#define SS_PASSTHROUGH(name, ...)                                              \
    do {                                                                       \
        if (!ss_intercepting())                                                \
            return ss_real.name(__VA_ARGS__);                                  \
    } while (0)

/* Runs a marshalled call and returns what the real function returned. */
#define SS_RUN(type, call)                                                     \
    do {                                                                       \
        (call).caller = (uintptr_t)__builtin_return_address(0);                \
        ss_run(&(call));                                                       \
        return (type)(call).ret;                                               \
    } while (0)

/* The same for a wait (select, poll, epoll), whose call holds its
 * arguments in a struct ss_wait_args (shim/core/wait.c). */
#define SS_RUN_WAIT(call)                                                      \
    do {                                                                       \
        (call).caller = (uintptr_t)__builtin_return_address(0);                \
        ss_run_wait(&(call));                                                  \
        return (int)(call).ret;                                                \
    } while (0)

/* glibc declares the sockaddr arguments as transparent unions under
 * _GNU_SOURCE; a definition takes the same type and reads its plain
 * member. */
#define SS_SA(arg) ((arg).__sockaddr__)

#endif
