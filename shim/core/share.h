/* sockshim: the run's shared memory, as each process of the run finds it.
 *
 * The sockshim command makes two memfds for a run, the trace ring (ring.h)
 * and the place box (place_box.h), and names each in a variable
 * (options.h, struct ss_fd_ref): the fd where a process inherits it, the
 * identity of its file, and the command's pid and fd. Whoever has these
 * fds can read the whole run's trace and write into it, so they go only to
 * processes that load this library:
 *
 * - In every process that joined, the fd is close-on-exec.
 * - An exec through the library's wrappers whose environment preloads the
 *   library and names the same memfd lends it to the new program (the fd
 *   is made inheritable for the exec, and close-on-exec again if the exec
 *   fails). Any other exec (a clean environment, and every exec the library
 *   cannot see: posix_spawn, system, popen, a raw system call) closes it.
 * - A process that loads the library and does not find the fd where the
 *   variable says (it was closed at its exec) opens the command's copy,
 *   /proc/PID/fd/FD, and checks it is the same file. That open needs the
 *   right to read the command's process (same user, not across a pid
 *   namespace with its own /proc): a process without it is a process the
 *   run's memory should not reach.
 */
#ifndef SOCKSHIM_SHARE_H
#define SOCKSHIM_SHARE_H

enum ss_share {
    SS_SHARE_RING,   /* SOCKSHIM_SINK_RING */
    SS_SHARE_PLACES, /* SOCKSHIM_PLACE_BOX */
    SS_SHARE_BOARD,  /* SOCKSHIM_RULE_BOARD (--control) */
    SS_SHARE_LIVE,   /* SOCKSHIM_LIVE_STATS (--control) */
    SS_SHARE_COUNT
};

/* The share's fd in this process (found as above, close-on-exec, claimed
 * as the shim's own and above the program's fds), or -1 when the variable
 * is unset or bad or the memory cannot be reached. Called once per share,
 * when it is first needed; later calls return the same fd. */
int ss_share_open(enum ss_share which);
int ss_share_fd(enum ss_share which);

/* Before an exec with envp: the shares the new program will find lent to
 * it (a mask of 1 << enum ss_share), for ss_share_after_failed_exec. */
unsigned ss_share_before_exec(char *const envp[]);
void ss_share_after_failed_exec(unsigned lent);

/* The program wants fd's number (dup2 onto it): a share there moves to
 * another number, and the variable says where. 0 when fd is no share or
 * was moved, -1 when it could not be. */
int ss_share_move(int fd);

#endif
