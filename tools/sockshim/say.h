/* sockshim: the command's messages to the user, one way for all its parts.
 *
 * Every message is one line on stderr that starts with who says it
 * ("sockshim: ", or "sockshim report: " for the report): an error, after
 * which the command exits with status 2; a warning, "warning: " after the
 * prefix; or a note. Callers escape what came from outside (a trace's
 * strings, file names from a trace) before they pass it.
 */
#ifndef SOCKSHIM_SAY_H
#define SOCKSHIM_SAY_H

#include <stdarg.h>

#define SS_EXIT_TROUBLE 2

/* Who the messages say they are from (default "sockshim"). */
void ss_say_as(const char *who);

__attribute__((format(printf, 1, 2), noreturn)) void ss_die(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void ss_warn(const char *fmt, ...);
__attribute__((format(printf, 1, 2))) void ss_note(const char *fmt, ...);
__attribute__((format(printf, 1, 0))) void ss_vnote(const char *fmt, va_list ap);
/* A bad command line: the message, then where help is ("Try 'COMMAND
 * --help' ..."), and exit with status 2. */
__attribute__((format(printf, 2, 3), noreturn)) void ss_usage_error(const char *command,
                                                                    const char *fmt, ...);

#endif
