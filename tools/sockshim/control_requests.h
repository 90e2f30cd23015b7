/* sockshim: the requests of the control protocol (docs/control.md), one
 * row each, for the run that serves them (control.c) and for `sockshim
 * ctl` (ctl.c), which checks a request before it sends it.
 *
 * X(name, argument, what the argument is, what ctl prints when the run
 *   said ok)
 *   argument: CTL_ARG_NONE, CTL_ARG_ONE (add RULE, del N), or
 *   CTL_ARG_OPTIONAL (stats [json]); what it is: for a message that says
 *   it is missing.
 */
#ifndef SOCKSHIM_CONTROL_REQUESTS_H
#define SOCKSHIM_CONTROL_REQUESTS_H

#include <string.h>

enum ss_ctl_arg { CTL_ARG_NONE, CTL_ARG_ONE, CTL_ARG_OPTIONAL };

#define SS_CONTROL_REQUESTS(X)                                                                  \
    X(add, CTL_ARG_ONE, "a rule: add RULE", NULL)                                               \
    X(del, CTL_ARG_ONE, "a rule's number: del N", NULL)                                         \
    X(clear, CTL_ARG_NONE, NULL, "all faults removed")                                          \
    X(list, CTL_ARG_NONE, NULL, NULL)                                                           \
    X(pause, CTL_ARG_NONE, NULL, "tracing paused")                                              \
    X(resume, CTL_ARG_NONE, NULL, "tracing resumed")                                            \
    X(stats, CTL_ARG_OPTIONAL, "nothing or 'json'", NULL)                                       \
    X(info, CTL_ARG_NONE, NULL, NULL)

enum ss_ctl_request {
#define SS_CTL_ENUM(name, arg, what, done) SS_CTL_##name,
    SS_CONTROL_REQUESTS(SS_CTL_ENUM)
#undef SS_CTL_ENUM
        SS_CTL_COUNT
};

struct ss_ctl_request_row {
    const char *name;
    enum ss_ctl_arg arg;
    const char *what; /* the argument, for a message */
    const char *done; /* what ctl says on ok, or NULL: the reply's lines */
};

static const struct ss_ctl_request_row ss_ctl_requests[SS_CTL_COUNT] = {
#define SS_CTL_ROW(name, arg, what, done) {#name, arg, what, done},
    SS_CONTROL_REQUESTS(SS_CTL_ROW)
#undef SS_CTL_ROW
};

/* The names, for a message: printf("%.*s", SS_CTL_NAMES_LEN, ss_ctl_names)
 * says "add, del, ..., info". */
#define SS_CTL_STR(name, arg, what, done) #name ", "
static const char ss_ctl_names[] = SS_CONTROL_REQUESTS(SS_CTL_STR);
#undef SS_CTL_STR
#define SS_CTL_NAMES_LEN ((int)sizeof ss_ctl_names - 3)

/* The request named word, or SS_CTL_COUNT. */
static inline enum ss_ctl_request ss_ctl_request_named(const char *word)
{
    for (int i = 0; i < SS_CTL_COUNT; i++)
        if (strcmp(ss_ctl_requests[i].name, word) == 0)
            return (enum ss_ctl_request)i;
    return SS_CTL_COUNT;
}

#endif
