/* sockshim: the fd table.
 *
 * Where socket objects live and which fds name them. An object stands for
 * an open file description: dup()ed fds and a fork()ed child's copy refer
 * to the same object until the last of them closes. The table keeps the
 * objects' memory, counts their references, holds each one's lock, and
 * maps every fd to an object, to a tag (not a socket, the shim's own fd, a
 * socket closed here) or to nothing. Close-on-exec lives in the fd slot
 * (it belongs to the fd).
 *
 * The table knows of an object only its head (struct ss_obj_head): what a
 * socket is and what calls did to it is the model's (model.h), which
 * builds every object, an adopted one from what the table probed of its
 * fd (struct ss_fd_probe).
 *
 * Nothing here takes a lock that a signal handler, a forked child or a
 * thread blocked in the kernel could leave held: the fd table is an array of
 * atomic words, objects are reference counted and recycled through a
 * lock-free free list, and the fields of an object are guarded by a spin
 * lock that is only ever held for a copy and that gives up rather than wait
 * on its own thread.
 */
#ifndef SOCKSHIM_FDTABLE_H
#define SOCKSHIM_FDTABLE_H

#include <stdint.h>

struct ss_obj; /* the model's (model.c) */

/* What the table knows of an fd. */
enum ss_fd_kind {
    SS_FD_UNKNOWN,    /* never seen, or seen closed */
    SS_FD_NOT_SOCKET, /* a file, pipe, ...: not our business */
    SS_FD_SHIM,       /* the shim's own (trace sink) */
    SS_FD_SOCKET,
    SS_FD_CLOSED_SOCKET, /* held a socket that was closed; not open now */
};

/* ---- objects ---------------------------------------------------------- */

/* The table's part of an object, its first member (model.c): only
 * fdtable.c reads or writes it. */
struct ss_obj_head {
    _Atomic uint32_t refs;      /* fd slots referring to it + calls in flight */
    _Atomic uint32_t nfds;      /* fd slots referring to it */
    _Atomic uint32_t lock;      /* guards the rest of the object */
    _Atomic uint32_t next_free; /* free-list link (index + 1; 0 ends it) */
    uint32_t index;
    int fd_hint;                /* one of the fds that name it */
};

/* The memory each object takes, its head included: model.c checks that
 * struct ss_obj has this size (docs/architecture.md, "Memory bounds"). */
#define SS_OBJ_SIZE 704u

/* A fresh object, its head set and everything after it zeroed, without a
 * reference yet: nobody else can reach it until ss_obj_publish() gives it
 * its first one, the caller's. NULL when out of memory: the shim then just
 * does not model that socket. */
struct ss_obj *ss_obj_alloc(void);
void ss_obj_publish(struct ss_obj *obj);
/* Drops a reference; the last one sends the object back to the free list. */
void ss_obj_put(struct ss_obj *obj);
/* The fd slots that refer to the object (0 once its last fd is closed). */
uint32_t ss_obj_fd_count(struct ss_obj *obj);

/* The object's lock, which guards all of it but the head: it never waits
 * on its own thread (a signal handler that interrupts the holder gets 0
 * and skips its update), gives up after a bounded spin, and is 0 for a
 * NULL object. */
int ss_obj_lock(struct ss_obj *obj);
void ss_obj_unlock(struct ss_obj *obj);

/* ---- lookup ----------------------------------------------------------- */

/* What the table asks the kernel of an fd it has never seen, once fstat
 * said it is a socket: enough for the model to build its object. */
struct ss_fd_probe {
    int family, type, protocol;
    int listening; /* SO_ACCEPTCONN */
};

/* Builds the object of an fd the table found to be a socket, with one
 * reference (the caller's), or NULL. */
typedef struct ss_obj *ss_fd_adopt_fn(int fd, const struct ss_fd_probe *probe);

/* The object behind fd with a reference the caller must drop with
 * ss_obj_put(), or NULL with *kind saying why. An fd never seen before is
 * examined (fstat, SO_DOMAIN...) and, if it is a socket, adopted: adopt()
 * builds its object, which the table installs (*adopted set; adopted may
 * be NULL). errno is left as it was. */
struct ss_obj *ss_fdtable_get(int fd, enum ss_fd_kind *kind, int *adopted,
                              ss_fd_adopt_fn *adopt);
enum ss_fd_kind ss_fdtable_kind(int fd);
int ss_fdtable_cloexec(int fd);

/* ---- what calls do to the table ---------------------------------------- */

/* A socket was made on fd: obj's reference passes to the slot. Whatever
 * the slot held is dropped (an object there is stale: its fd was closed in
 * a way the shim could not see). */
void ss_fdtable_install(int fd, struct ss_obj *obj, int cloexec);
/* newfd is a duplicate of one of obj's fds. */
void ss_fdtable_dup(struct ss_obj *obj, int newfd, int cloexec);
/* A close of fd (obj's) is about to be made, or was made: the table lets
 * go of the number, if its slot still holds obj, and keeps a tombstone, so
 * that a later call on the number can be told to be on a socket closed
 * before (use after close, double close). The pipeline lets go before the
 * real close: once it frees the number, another thread's socket() may get
 * it at once; had the slot still held obj then, the new socket would take
 * it over and this close would find obj's last fd still counted. */
void ss_fdtable_release_closing(int fd, struct ss_obj *obj);
/* fd's slot is forgotten whatever it held but the shim's own: a socket
 * leaves a tombstone (a descriptor received with SCM_RIGHTS may take a
 * number whose slot is stale; it is adopted on first use). */
void ss_fdtable_forget(int fd);
/* An fd that was no socket (or a tombstone's number) was closed: its
 * number may now be anything. */
void ss_fdtable_forget_not_socket(int fd);
void ss_fdtable_set_cloexec(int fd, int on);

/* A close_range or closefrom took every fd in [first, last] (with
 * cloexec, they stay, close-on-exec). Each object whose last fd went is
 * passed to last_fd_gone, with the fd, while the table still holds a
 * reference to it. */
typedef void ss_fdtable_gone_fn(struct ss_obj *obj, int fd, void *arg);
void ss_fdtable_close_range(unsigned first, unsigned last, int cloexec,
                            ss_fdtable_gone_fn *last_fd_gone, void *arg);

/* ---- walks ------------------------------------------------------------- */

/* The sockets among fds [first, last]: up to max of them in fds, and how
 * many there are. */
int ss_fdtable_sockets_in_range(unsigned first, unsigned last, int *fds, int max);
/* The shim's own fds among [first, last], in ascending order. */
int ss_fdtable_shim_fds_in_range(unsigned first, unsigned last, int *fds, int max);
/* fn(fd, obj, arg) for each socket of fds [first, last], holding a
 * reference to obj meanwhile. */
typedef void ss_fdtable_visit_fn(int fd, struct ss_obj *obj, void *arg);
void ss_fdtable_each_socket_in_range(unsigned first, unsigned last, ss_fdtable_visit_fn *fn,
                                     void *arg);
/* Every socket still open, once each (an object, not an fd: dup'ed fds
 * name one socket), with one of its fds. */
void ss_fdtable_each_socket(ss_fdtable_visit_fn *fn, void *arg);

/* ---- the shim's own fds ------------------------------------------------ */

/* Marks an fd as the shim's own: the table protects it from the program. */
void ss_fdtable_claim(int fd);
/* Gives up the claim on fd (it is about to be closed). */
void ss_fdtable_unclaim(int fd);
/* Moves one of the shim's own fds off its number (duplicated with dup_cmd,
 * F_DUPFD or F_DUPFD_CLOEXEC, above it if it can): the new fd, claimed, or
 * -1. */
int ss_fdtable_move_claimed(int old, int dup_cmd);

/* ---- process events ---------------------------------------------------- */

/* In a forked child: every object's lock is let go (the threads that held
 * them do not exist there), and reset(obj) clears what else the model
 * keeps per process. */
void ss_fdtable_after_fork_child(void (*reset)(struct ss_obj *obj));

#endif
