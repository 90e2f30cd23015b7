/* sockshim: the vocabulary of a trace.
 *
 * The methods of a socket object a call is shown as (the "op" of a trace
 * record), as an X-macro table: a name is written once and every table
 * derived from it (the enum, name strings, groups, the sends and receives,
 * the command's -e validation) stays in step. The libc entry points (the
 * "call" of a record) are listed in the library's shim/common/entries.h.
 */
#ifndef SOCKSHIM_OPS_H
#define SOCKSHIM_OPS_H

/* Version of the JSON Lines schema (the "v" field of every record). */
#define SOCKSHIM_JSON_SCHEMA 2

/* Methods of a socket object, in the semantics of Python's socket objects,
 * plus the few process-level calls that create or close several sockets,
 * and the socket module's name resolution functions (group resolve: they
 * are called on no socket).
 * X(name, group, way): group is the class a method belongs to, for -e
 * filters and rules (%io; %wait, the waits of Python's select module,
 * is the one group a trace leaves out unless asked); way is which way it moves the socket's data:
 * out (a send), in (a receive) or none. sendall is a loop of sends the
 * trace rebuilds into one line. */
#define SS_OPS(X)                                                           \
    X(socket, lifecycle, none)                                              \
    X(socketpair, lifecycle, none)                                          \
    X(fromfd, lifecycle, none)      /* a socket the process did not create */ \
    X(dup, lifecycle, none)                                                 \
    X(close, lifecycle, none)                                               \
    X(close_range, lifecycle, none) /* closes several sockets in one call */ \
    X(fork, lifecycle, none)                                                \
    X(bind, connection, none)                                               \
    X(listen, connection, none)                                             \
    X(accept, connection, none)                                             \
    X(connect, connection, none)                                            \
    X(connect_ex, connection, none) /* connect on a non-blocking socket */  \
    X(shutdown, connection, none)                                           \
    X(getsockname, connection, none)                                        \
    X(getpeername, connection, none)                                        \
    X(send, io, out)                                                        \
    X(sendto, io, out)                                                      \
    X(sendmsg, io, out)                                                     \
    X(sendmmsg, io, out)                                                    \
    X(sendfile, io, out)                                                    \
    X(sendall, io, out)                                                     \
    X(recv, io, in)                                                         \
    X(recvfrom, io, in)                                                     \
    X(recvmsg, io, in)                                                      \
    X(recvmmsg, io, in)                                                     \
    X(getsockopt, options, none)                                            \
    X(setsockopt, options, none)                                            \
    X(setblocking, options, none)                                           \
    X(set_inheritable, options, none)                                       \
    X(fcntl, options, none)                                                 \
    X(ioctl, options, none)                                                 \
    X(select, wait, none)           /* select(), pselect() */               \
    X(poll, wait, none)             /* poll(), ppoll() */                   \
    X(epoll, wait, none)            /* epoll_create(): select.epoll() */    \
    X(epoll_register, wait, none)   /* epoll_ctl(EPOLL_CTL_ADD) */          \
    X(epoll_modify, wait, none)     /* epoll_ctl(EPOLL_CTL_MOD) */          \
    X(epoll_unregister, wait, none) /* epoll_ctl(EPOLL_CTL_DEL) */          \
    X(epoll_poll, wait, none)       /* epoll_wait() and its forms */        \
    X(getaddrinfo, resolve, none)   /* module functions: no socket */       \
    X(getnameinfo, resolve, none)                                           \
    X(gethostbyname, resolve, none) /* and gethostbyname2, the _r forms */  \
    X(gethostbyaddr, resolve, none) /* and gethostbyaddr_r */

/* The groups of SS_OPS's group column, in the order -e lists them. */
#define SS_GROUPS(X) X(lifecycle) X(connection) X(io) X(options) X(wait) X(resolve)

enum ss_op {
#define SS_OP_ENUM(name, group, way) SS_OP_##name,
    SS_OPS(SS_OP_ENUM)
#undef SS_OP_ENUM
    SS_OP_COUNT
};

#endif
