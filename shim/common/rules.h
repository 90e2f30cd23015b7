/* sockshim: the fault rule language, and its one parser.
 *
 *   RULE    := SET ':' TERM (':' TERM)*
 *   SET     := METHOD (',' METHOD)*          send, recv, connect, %io, %all...
 *   TERM    := ACTION | FILTER
 *   ACTION  := 'error=' ERRNO | 'short=' N | 'delay=' DURATION
 *            | 'jitter=' DURATION | 'eof' | 'reset' | 'timeout' ['=' DURATION]
 *            | 'corrupt=' N | 'blackhole' | 'drop' | 'duplicate' | 'reorder=' N
 *            | 'rate=' SIZE '/s'
 *   FILTER  := 'when=' FIRST ['..' LAST] ['+' STEP] | 'when=' FIRST '+'
 *            | 'p=' PROBABILITY | 'after=' SIZE | 'peer=' ADDRESS
 *            | 'port=' N | 'family=' ('inet' | 'inet6' | 'unix') | 'fd=' N
 *            | 'type=' ('stream' | 'dgram' | 'seqpacket' | 'raw')
 *            | 'host=' NAME                   the resolve methods only
 *
 * docs/faults.md is the reference. This file is linked into the library
 * (which reads SOCKSHIM_FAULTS) and into the command (which checks every
 * rule before it starts anything): both accept exactly the same rules.
 */
#ifndef SOCKSHIM_RULES_H
#define SOCKSHIM_RULES_H

#include <netinet/in.h>
#include <stddef.h>
#include <stdint.h>

#include "options.h"

#define SS_MAX_RULES 64
/* The rule numbers a run can give out (a rule keeps its number, #N in the
 * trace, for the whole run; rules added and removed while it runs take
 * new ones: docs/control.md). */
#define SS_RULE_NUMBERS 1024
#define SS_RULE_TEXT_MAX 512

/* What a rule does to a call it applies to. */
enum ss_action_bit {
    SS_ACT_ERROR = 1u << 0,   /* fail without performing */
    SS_ACT_SHORT = 1u << 1,   /* perform with the length cut */
    SS_ACT_DELAY = 1u << 2,   /* sleep first */
    SS_ACT_EOF = 1u << 3,     /* a receive returns 0 without reading */
    SS_ACT_RESET = 1u << 4,   /* the connection is really reset */
    SS_ACT_TIMEOUT = 1u << 5, /* wait the socket's timeout, then fail */
    SS_ACT_CORRUPT = 1u << 6, /* flip bytes of the data */
    SS_ACT_DROP = 1u << 7,    /* a datagram is lost on the way */
    SS_ACT_DUPLICATE = 1u << 8, /* a datagram arrives twice */
    SS_ACT_REORDER = 1u << 9, /* a datagram is sent behind the next N */
    SS_ACT_BLACKHOLE = 1u << 10, /* a silent peer: nothing gets through, either way */
    SS_ACT_RATE = 1u << 11,   /* a stream's data arrives at most this fast */
};

/* The actions that decide a call's outcome: a rule has at most one. */
#define SS_ACT_OUTCOMES \
    (SS_ACT_ERROR | SS_ACT_EOF | SS_ACT_RESET | SS_ACT_TIMEOUT | SS_ACT_BLACKHOLE)
/* What a network does to datagrams: a rule has at most one, and nothing
 * else (docs/faults.md, "drop, duplicate, reorder=N"). */
#define SS_ACT_DATAGRAM (SS_ACT_DROP | SS_ACT_DUPLICATE | SS_ACT_REORDER)

/* peer=ADDR[:PORT] */
struct ss_peer_filter {
    int family;                 /* AF_INET, AF_INET6 or AF_UNIX */
    unsigned char addr[16];     /* in network order */
    int port;                   /* -1: any */
    char path[108];             /* AF_UNIX */
};

struct ss_rule {
    char text[SS_RULE_TEXT_MAX]; /* as the user wrote it */
    ss_opmask set;               /* the methods it applies to */

    unsigned actions;            /* enum ss_action_bit */
    int err;                     /* error= */
    uint64_t short_len;          /* short= */
    uint64_t delay_ns, jitter_ns;
    uint64_t rate;               /* rate=: bytes a second */
    uint64_t timeout_ns;         /* timeout=: how long a dead path takes; 0: the kernel's */
    unsigned corrupt;            /* corrupt= */
    unsigned reorder;            /* reorder=: held behind this many datagrams */

    int has_when;
    uint64_t when_first, when_last, when_step; /* last 0: no end */
    int has_p;
    uint64_t p_threshold;        /* p * 2^32 */
    int has_after;
    uint64_t after_bytes;
    int has_peer;
    struct ss_peer_filter peer;
    int port;                    /* -1: any */
    int family;                  /* AF_UNSPEC: any */
    int fd;                      /* -1: any */
    int socktype;                /* type=: SOCK_STREAM, SOCK_DGRAM...; 0: any */
    int gai_err;                 /* error= on the resolve methods: an EAI_* code */
    char host[256];              /* host=: a name, "*.suffix" or an address; "": any */
    char exe[64];                /* exe=: the program's name (a glob); "": any */
    int pid;                     /* pid=: the process; 0: any */
    int has_window;              /* at= or for=: a time of the run */
    uint64_t at_ns, for_ns;      /* from at_ns after the run started, for for_ns (0: on) */

    char action_text[64];        /* the actions, for the trace: "short=1" */
    char uncut_action_text[64];  /* ... but short=: the mark of a call short=
                                  * did not cut ("" when short= is all) */
};

struct ss_rule_error {
    char msg[256];
    size_t at, len;              /* the bad part of the rule text */
};

/* Parses one rule. 0 on success; else -1 with e saying what and where. */
int ss_rule_parse(const char *text, struct ss_rule *rule, struct ss_rule_error *e);
/* A duration as rules write them (200ms, 1.5s, 500us; at most 1 hour):
 * the len bytes of text, named what in the message. 0, or -1 with e. */
int ss_rule_duration(const char *text, size_t len, const char *what, uint64_t *ns,
                     struct ss_rule_error *e);

/* A warning about a valid rule (an errno the call's man page does not list
 * for it, a short= that its type= leaves nothing to cut): writes it into e
 * and returns 1, or returns 0. --strict refuses such rules. */
int ss_rule_warning(const struct ss_rule *rule, struct ss_rule_error *e);

/* Whether a name (or an address's text) a resolution asked for matches
 * host= (which is not empty): the same name in any case, or for
 * "*.suffix" any name that ends in ".suffix" (a trailing dot of a fully
 * qualified name does not count). */
int ss_rule_host_matches(const struct ss_rule *rule, const char *name);

/* Whether short= may cut a transfer on a socket of this type (SOCK_*,
 * without SOCK_NONBLOCK and SOCK_CLOEXEC): only on a byte stream. A kernel
 * sends a datagram or a seqpacket record whole or not at all, and a
 * receive truncates one only when the buffer is smaller. */
int ss_rule_short_cuts(int socktype);

/* Whether drop, duplicate and reorder= act on a socket of this type: only
 * on a datagram socket (UDP, AF_UNIX SOCK_DGRAM). A connection delivers
 * what it carries once and in order, or breaks. */
int ss_rule_datagram_faults(int socktype);

/* Renders the message for a bad rule, the rule, and a caret line under
 * the bad part, each line starting with prefix. Returns the length needed. */
size_t ss_rule_explain(const char *prefix, const char *rule_text, const struct ss_rule_error *e,
                       char *buf, size_t cap);

/* Environment: rules separated by ';', and the seed of p=. */
#define SS_ENV_FAULTS "SOCKSHIM_FAULTS"
#define SS_ENV_SEED "SOCKSHIM_SEED"
#define SS_ENV_STRICT "SOCKSHIM_STRICT"

#endif
