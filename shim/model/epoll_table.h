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
/* Whether instance epfd watches a socket. */
int ss_epoll_table_has_sockets(int epfd);
/* The fd registered with instance epfd under data, or -1. */
int ss_epoll_table_fd_of(int epfd, uint64_t data);
/* In a forked child: the table's lock may have been held by a thread that
 * did not come along. */
void ss_epoll_table_after_fork_child(void);

#endif
