/* sockshim: what each epoll instance of the process watches.
 *
 * epoll_wait() hands back the data a program registered, not the fd: the
 * table keeps every registration (epoll instance, fd, events, data) so a
 * trace can name the socket behind an event, and says whether an instance
 * watches any socket at all (its waits are traced only then). It is kept
 * only while waits are traced; an instance inherited across exec is not
 * known (its events show their data).
 */
#ifndef SOCKSHIM_EPOLL_TABLE_H
#define SOCKSHIM_EPOLL_TABLE_H

#include <stdint.h>
#include <sys/epoll.h>

/* A new instance got number epfd: what an earlier one of that number
 * watched is forgotten. */
void ss_epoll_table_created(int epfd);
/* An epoll_ctl() that succeeded. */
void ss_epoll_table_changed(int epfd, int op, int fd, const struct epoll_event *event,
                            int is_socket);
/* fd is about to close while another fd (the shim's own) keeps its file
 * open: its registrations are taken out of every instance, as the
 * kernel does when a file's last fd closes. */
void ss_epoll_table_forget_fd(int fd);
/* Whether instance epfd watches a socket. */
int ss_epoll_table_has_sockets(int epfd);
/* The fd registered with instance epfd under data, or -1. */
int ss_epoll_table_fd_of(int epfd, uint64_t data);
/* Readiness network time holds back (shim/fault/latency.h, outbox.h): the
 * shim took events out of a registration until they are due (network
 * time knows when). hold() marks it, with the registration as the
 * program made it in *registered; 1 when it was not held before, 0 when
 * it was, -1 when the table does not know the registration. held()
 * says whether it is, with that registration. holds() lists an
 * instance's held registrations (at most max); release() ends a hold. */
struct ss_epoll_hold {
    int fd;
    struct epoll_event registered;
};
int ss_epoll_table_hold(int epfd, int fd, struct epoll_event *registered);
int ss_epoll_table_held(int epfd, int fd, struct epoll_event *registered);
int ss_epoll_table_holds(int epfd, struct ss_epoll_hold *out, int max);
/* Holds the events take out of fd's registrations in every instance (a
 * send found no room: its writability comes back, as a new edge, when
 * the wait on an instance gives the registration back). */
void ss_epoll_table_hold_everywhere(int fd, uint32_t take);
void ss_epoll_table_release(int epfd, int fd);
/* In a forked child: the table's lock may have been held by a thread that
 * did not come along. */
void ss_epoll_table_after_fork_child(void);

#endif
