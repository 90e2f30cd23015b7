/* sockshim: the ctl subcommand, which changes the faults of a run started
 * with --control while it goes on (ctl.c; the protocol: control.c). */
#ifndef SOCKSHIM_CTL_H
#define SOCKSHIM_CTL_H

/* `sockshim ctl ARGS...`: argv[0] is "ctl". Returns the exit status: 0
 * when the run answered ok, 1 when it cannot be reached, 2 when it
 * refused the request or the usage is wrong. */
int ss_ctl_main(int argc, char *argv[]);

#endif
