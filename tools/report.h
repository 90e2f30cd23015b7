/* sockshim: the report subcommand (report.c). */
#ifndef SOCKSHIM_REPORT_H
#define SOCKSHIM_REPORT_H

/* `sockshim report ARGS...`: argv[0] is "report". Returns the exit status. */
int ss_report_main(int argc, char *argv[]);

#endif
