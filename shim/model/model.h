/* sockshim: the socket-object model.
 *
 * What each call does to a socket object: the sockets it makes, closes
 * and duplicates, and the state bits, addresses, options and counters it
 * changes; snapshots of an object for the renderers; each socket's stable
 * key and its counters for the fault engine. The fd table (fdtable.h)
 * stores the objects and says which fds name them; an object stands for
 * an open file description, so the blocking mode lives here (close-on-exec
 * belongs to the fd, and lives in the table). Every field of an object is
 * guarded by its lock (ss_obj_lock), which never waits on its own thread
 * and may fail: an update that cannot take it is skipped. The model knows
 * nothing of rendering or faults.
 */
#ifndef SOCKSHIM_MODEL_H
#define SOCKSHIM_MODEL_H

#include <stddef.h>
#include <stdint.h>

#include "call.h"
#include "fdtable.h"

void ss_model_init(void);
void ss_model_after_fork_child(void);

/* The object behind fd with a reference the caller must drop with
 * ss_obj_put(), or NULL with *kind saying why. An fd never seen before is
 * examined (fstat, SO_DOMAIN...) and, if it is a socket, adopted (*adopted
 * set; adopted may be NULL): the model asks the kernel for the rest of
 * what it keeps (blocking mode, names, TCP options). errno is left as it
 * was. */
struct ss_obj *ss_model_get(int fd, enum ss_fd_kind *kind, int *adopted);

/* Records the effect of a completed call (c->ret, c->err set) on the model:
 * new sockets, closes, dups, state changes, counters. obj is the subject's
 * object, or NULL. Returns 1 when the call closed the object's last fd. */
int ss_model_update(struct ss_call *c, struct ss_obj *obj);

/* Every fd in [first, last] was closed (close_range, closefrom). */
void ss_model_forget_range(unsigned first, unsigned last);
/* The effect of a completed close_range or closefrom: with
 * CLOSE_RANGE_CLOEXEC the fds become close-on-exec; else they are closed,
 * and each socket object whose last fd went is marked closed and passed to
 * closed(), which may lock it, before the model drops it. */
typedef void ss_model_closed_fn(struct ss_obj *obj, int fd, void *arg);
void ss_model_close_range(const struct ss_call *c, ss_model_closed_fn *closed, void *arg);

/* Copies an object's state for rendering. want_names: fetch local and peer
 * addresses not yet known (getsockname/getpeername on fd, once per socket). */
void ss_model_snapshot(struct ss_obj *obj, int fd, struct ss_sockinfo *out, int want_names);
/* The same for an fd (accept's new socket...): 0 when it is no socket. */
int ss_model_snapshot_fd(int fd, struct ss_sockinfo *out, int want_names);

/* For call records (render_line.c): whether a record of this process in
 * the run's ring already holds the socket as it is now, whole; then *id
 * and *version name it, and a call's record refers to it instead of
 * carrying it (the command keeps what it was given). Read without the
 * lock. */
int ss_model_recorded(struct ss_obj *obj, uint64_t *id, uint32_t *version);
/* The ring took a record holding the socket whole at version. */
void ss_model_mark_recorded(struct ss_obj *obj, uint32_t version);

int ss_obj_nonblocking(struct ss_obj *obj);

/* ---- rooms for the other stages ---------------------------------------
 * The audit and the fault engine keep state per socket, under the
 * object's lock. The object reserves a room of fixed size for each and
 * never looks inside: each stage defines its state in its own header
 * (audit.h: struct ss_audit_sock; fault_event.h: struct ss_fault_sock),
 * checks there that it fits its room, and finds it with ss_obj_room(). So
 * the model depends on no stage's definitions, and the object's size
 * (docs/architecture.md, "Memory bounds") cannot grow behind its back: a
 * stage whose state outgrows its room fails to build. A room starts
 * zeroed when its socket is made. */
enum ss_obj_room { SS_ROOM_AUDIT, SS_ROOM_FAULT };
#define SS_ROOM_AUDIT_SIZE 96
#define SS_ROOM_FAULT_SIZE 48
#define SS_ROOM_ALIGN 8
/* Where each room lies in the object (model.c): read on every call, so
 * found inline rather than through a call into the model. */
extern const size_t ss_obj_room_offset[2];
static inline void *ss_obj_room(struct ss_obj *obj, enum ss_obj_room room)
{
    return (char *)obj + ss_obj_room_offset[room];
}

/* For the audit: a copy of the object's state, under its lock. */
void ss_model_snapshot_locked(struct ss_obj *obj, struct ss_sockinfo *out);
/* The little the audit looks at on every call, without the addresses. */
struct ss_sockbrief {
    int family, type;
    unsigned state;
};
void ss_model_brief_locked(struct ss_obj *obj, struct ss_sockbrief *out);
/* The object's serial (struct ss_sockinfo's id): fixed once published. */
uint64_t ss_model_id(const struct ss_obj *obj);
void ss_model_origin(struct ss_obj *obj, enum ss_fn *created_by, uint64_t *created_ns);
/* The options the object knows it has (level, optname, value), in the
 * order they were first set: set with setsockopt, taken from its listener
 * by accept, or found on adoption. At most SS_MODEL_MAX_OPTS. */
#define SS_MODEL_MAX_OPTS 8
int ss_model_options(struct ss_obj *obj, int (*opts)[3], int max);

/* Called before a close: when it is the socket's last fd, asks the kernel
 * for the names the model does not know yet. */
void ss_model_learn_names(struct ss_obj *obj, int fd);
/* The same for every socket of [first, last] (before a close_range). */
void ss_model_learn_names_in_range(unsigned first, unsigned last);

/* The capture (--pcap) names an AF_UNIX socket by its inode and its
 * peer's, asked of the kernel once and kept in the object: what is known
 * (SS_CAP_KNOW_* bits), and what was learnt (the bits of ids->known). A
 * connect forgets the peer. */
#define SS_CAP_KNOW_INO 1u
#define SS_CAP_KNOW_PEER 2u
struct ss_cap_ids {
    uint64_t ino, peer_ino;
    unsigned known;
};
void ss_model_cap_ids(struct ss_obj *obj, struct ss_cap_ids *out);
void ss_model_set_cap_ids(struct ss_obj *obj, const struct ss_cap_ids *ids);

/* A fault reset the connection: it is neither connected nor usable. */
void ss_model_mark_reset(struct ss_obj *obj);

/* Which socket this is from one run to the next, as far as the threads'
 * timing allows: a key made from how the socket came to be, fixed for its
 * life and shared by its dup'ed fds (docs/faults.md, "Which socket is
 * which"):
 *   - made by socket() or socketpair(): the number of that call among the
 *     process's calls that made sockets (and which end of a pair);
 *   - accepted: the listening socket's key and the number of the
 *     connection among those accepted from it;
 *   - not made by the process (inherited, received): the number of its
 *     first use among those of the process's other such sockets.
 * A forked child numbers on from its parent's counts at the fork, so that
 * no two of its sockets share a key. */
uint64_t ss_model_stable_key(struct ss_obj *obj);

/* Counters each socket keeps for the fault engine's draws: zero when the
 * socket is made, and again in a forked child (they count per process).
 * Lock-free, so a signal handler may count too. Adds one to counter
 * (modulo SS_MODEL_COUNTERS) and returns its new value; it wraps after
 * 2^32. docs/architecture.md states the memory they take. */
#define SS_MODEL_COUNTERS 4
uint32_t ss_model_count(struct ss_obj *obj, unsigned counter);

#endif
