/* sockshim: live control of a run's faults (--control): the rule board
 * the command writes and the control socket it serves (control.c has the
 * protocol; docs/control.md). */
#ifndef SOCKSHIM_CONTROL_H
#define SOCKSHIM_CONTROL_H

#include <stddef.h>

/* Where control sockets are when no directory is named:
 * $XDG_RUNTIME_DIR/sockshim, else /tmp/sockshim-UID. Returns the length
 * needed (like snprintf). The command and `sockshim ctl` agree on it. */
size_t ss_control_default_dir(char *buf, size_t cap);

/* DIR/RUN.sock for a run's id; the length needed (like snprintf). */
size_t ss_control_socket_path(const char *dir, long run, char *buf, size_t cap);

/* The longest path a unix socket address holds (sun_path, with its NUL). */
size_t ss_control_path_max(void);

/* Makes (mode 0700) or checks dir (NULL: the default) and listens on
 * DIR/PID.sock, mode 0600, before anything starts; program and strict
 * are what `info` tells and how `add` checks a rule. Dies (status 2) when
 * the directory is unsafe or the socket cannot be made. The socket is
 * removed when the command exits, however it exits (atexit). */
void ss_control_open(const char *dir, const char *program, int strict);

/* Makes the run's rule board (shim/common/board.h) at an inheritable fd
 * of at least floor; the fd, or -1 with errno. */
int ss_control_make_board(int floor);

/* Puts one of the run's first rules (already checked) on the board, with
 * the next number, before the program starts. */
void ss_control_board_add(const char *text);

/* Serves the socket from a thread (after the fork). 0, or -1 when the
 * thread cannot start. */
int ss_control_start(void);

/* Stops serving, closes and removes the socket. Safe to call twice. */
void ss_control_stop(void);

#endif
