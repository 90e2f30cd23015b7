/* sockshim: the command's messages to the user (say.h). */
#include "say.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

static const char *speaker = "sockshim";

void ss_say_as(const char *who)
{
    speaker = who;
}

__attribute__((format(printf, 2, 0)))
static void say(const char *kind, const char *fmt, va_list ap)
{
    /* one line, written whole: flockfile keeps another thread's out of it */
    flockfile(stderr);
    fprintf(stderr, "%s: %s", speaker, kind);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    funlockfile(stderr);
}

void ss_die(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("", fmt, ap);
    va_end(ap);
    exit(SS_EXIT_TROUBLE);
}

void ss_warn(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("warning: ", fmt, ap);
    va_end(ap);
}

void ss_vnote(const char *fmt, va_list ap)
{
    say("", fmt, ap);
}

void ss_usage_error(const char *command, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("", fmt, ap);
    va_end(ap);
    fprintf(stderr, "Try '%s --help' for more information.\n", command);
    exit(SS_EXIT_TROUBLE);
}

void ss_note(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    say("", fmt, ap);
    va_end(ap);
}
