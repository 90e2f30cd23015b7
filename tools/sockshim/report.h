/* sockshim: the report subcommand (report.c). */
#ifndef SOCKSHIM_REPORT_H
#define SOCKSHIM_REPORT_H

#include <stddef.h>
#include <stdio.h>

/* `sockshim report ARGS...`: argv[0] is "report". Returns the exit status. */
int ss_report_main(int argc, char *argv[]);

/* The reading half, on its own for tests/fuzz/fuzz_report.c: the tables
 * of a run, one trace line at a time. ss_report_line() returns 0 when it
 * took the line, -1 when the line is no JSON trace record or a record that
 * fails its checks (why: the reason, NUL-terminated, escaped); a bad line
 * changes nothing. ss_report_print_tables() prints the header, processes,
 * methods, connections and sockets (not the findings, whose source lines
 * come from the module files), once, after the last line. */
struct ss_report;
struct ss_report *ss_report_new(void);
int ss_report_line(struct ss_report *r, const char *line, size_t len, char *why, size_t cap);
void ss_report_print_tables(struct ss_report *r, FILE *out);
void ss_report_free(struct ss_report *r);
/* Whether each call's text line is kept for the timeline (--html,
 * --perfetto): before the first line. */
void ss_report_keep_text(struct ss_report *r, int keep);
/* Whether every call is kept for the timeline (the default: the views and
 * the clocks of several hosts need them), or only what the text report
 * shows (its memory then follows the sockets): before the first line.
 * Without the calls, a run of more than one host cannot be finished:
 * ss_report_needs_calls() says so once a second host is read, and the
 * lines must then be read again, into a report that keeps them. */
void ss_report_keep_calls(struct ss_report *r, int keep);
int ss_report_needs_calls(const struct ss_report *r);

/* The run's timeline (timeline.h), finished, after the last line. */
struct ss_timeline;
const struct ss_timeline *ss_report_timeline(struct ss_report *r);
/* --perfetto FILE (report_perfetto.c) and --html FILE (report_html.c):
 * each writes the file whole or ends the command with status 2. */
void ss_report_write_perfetto(const struct ss_timeline *tl, const char *path);
void ss_report_write_html(const struct ss_timeline *tl, const char *path, const char *title);

#endif
