/* sockshim: the command's answers to the library's place questions
 * (shim/common/place_box.h), from a thread of its own. */
#ifndef SOCKSHIM_PLACE_SERVER_H
#define SOCKSHIM_PLACE_SERVER_H

/* Makes the run's place box at an fd of at least floor, inheritable, for
 * the program to inherit. The fd, or -1 (the run then writes module+offset
 * locations, as without the command). */
int ss_place_server_make(int floor);

/* Starts answering, from a thread (after the fork: the child execs at
 * once). 0, or -1 when the thread cannot start (the box is then marked
 * closed and nobody asks). */
int ss_place_server_start(void);

/* Marks the box closed (later questions are not asked) and stops the thread. */
void ss_place_server_stop(void);

#endif
