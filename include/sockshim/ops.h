/* sockshim: the vocabulary of a trace.
 *
 * Two lists every part of sockshim shares: the methods of a socket object a
 * call is shown as (the "op" of a trace record), and the libc entry points
 * the shim interposes (the "call" of a trace record). Both are X-macro
 * tables, so a name is written once and every table derived from it (enums,
 * name strings, the command's -e validation) stays in step.
 */
#ifndef SOCKSHIM_OPS_H
#define SOCKSHIM_OPS_H

/* Version of the JSON Lines schema (the "v" field of every record). */
#define SOCKSHIM_JSON_SCHEMA 2

/* Methods of a socket object, in the semantics of Python's socket objects,
 * plus the few process-level calls that create or close several sockets.
 * X(name, group): group is the class a method belongs to, for -e filters. */
#define SS_OPS(X)                                                           \
    X(socket, lifecycle)                                                    \
    X(socketpair, lifecycle)                                                \
    X(fromfd, lifecycle)      /* a socket the process did not create */     \
    X(dup, lifecycle)                                                       \
    X(close, lifecycle)                                                     \
    X(close_range, lifecycle) /* closes several sockets in one call */      \
    X(fork, lifecycle)                                                      \
    X(bind, connection)                                                     \
    X(listen, connection)                                                   \
    X(accept, connection)                                                   \
    X(connect, connection)                                                  \
    X(connect_ex, connection) /* connect on a non-blocking socket */        \
    X(shutdown, connection)                                                 \
    X(getsockname, connection)                                              \
    X(getpeername, connection)                                              \
    X(send, io)                                                             \
    X(sendto, io)                                                           \
    X(sendmsg, io)                                                          \
    X(sendmmsg, io)                                                         \
    X(sendfile, io)                                                         \
    X(sendall, io)            /* a loop of sends, rebuilt by the audit */   \
    X(recv, io)                                                             \
    X(recvfrom, io)                                                         \
    X(recvmsg, io)                                                          \
    X(recvmmsg, io)                                                         \
    X(getsockopt, options)                                                  \
    X(setsockopt, options)                                                  \
    X(setblocking, options)                                                 \
    X(set_inheritable, options)                                             \
    X(fcntl, options)                                                       \
    X(ioctl, options)

enum ss_op {
#define SS_OP_ENUM(name, group) SS_OP_##name,
    SS_OPS(SS_OP_ENUM)
#undef SS_OP_ENUM
    SS_OP_COUNT
};

/* The libc entry points sockshim interposes. */
#define SS_CALLS(X)                                                         \
    X(socket) X(socketpair) X(bind) X(listen) X(accept) X(accept4)          \
    X(connect) X(__connect) X(shutdown) X(getsockname) X(getpeername)       \
    X(send) X(__send) X(sendto) X(sendmsg) X(sendmmsg)                      \
    X(recv) X(__recv_chk) X(recvfrom) X(__recvfrom_chk) X(recvmsg)          \
    X(recvmmsg)                                                             \
    X(read) X(__read) X(__read_chk) X(write) X(__write) X(readv) X(writev)  \
    X(preadv2) X(pwritev2) X(preadv64v2) X(pwritev64v2)                     \
    X(sendfile) X(sendfile64) X(splice)                                     \
    X(getsockopt) X(setsockopt)                                             \
    X(close) X(__close) X(close_range) X(closefrom) X(fclose)               \
    X(dup) X(dup2) X(dup3) X(fcntl) X(__fcntl) X(fcntl64) X(ioctl)          \
    X(fork) X(_Fork) X(vfork)                                                \
    X(syscall) /* SYS_close, SYS_close_range: a record keeps the fn it acts  \
                  as (close, close_range) and says via_syscall */

/* Functions that end the process image. They are no socket calls and make
 * no trace line of their own: the library writes the process's summary
 * before it hands them on (shim/ending.c). Not in SS_CALLS, so no struct
 * ss_call names them; tools/lint-shim checks both lists. */
#define SS_ENDINGS(X)                                                       \
    X(_exit) X(_Exit) X(execve) X(execv) X(execvp) X(execvpe) X(execl)      \
    X(execlp) X(execle) X(fexecve) X(execveat)

enum ss_fn {
#define SS_FN_ENUM(name) SS_FN_##name,
    SS_CALLS(SS_FN_ENUM)
#undef SS_FN_ENUM
    SS_FN_COUNT
};

#endif
