/* sockshim: names for numbers.
 *
 * One table per kind of constant, each generated from one X-macro list in
 * xlat.c, so a name is spelled once. Lookups are plain array scans over
 * const data: safe anywhere, including signal handlers.
 */
#ifndef SOCKSHIM_XLAT_H
#define SOCKSHIM_XLAT_H

#include <stddef.h>

#include "fmt.h"
#include "sockshim/findings.h"

struct ss_xlat_entry {
    long value;
    const char *name;
};

struct ss_xlat {
    const struct ss_xlat_entry *entries;
    size_t count;
};

/* Tables of single values (a lookup by equality). */
extern const struct ss_xlat ss_xlat_af;        /* AF_* */
extern const struct ss_xlat ss_xlat_socktype;  /* SOCK_STREAM, SOCK_DGRAM... */
extern const struct ss_xlat ss_xlat_ipproto;   /* IPPROTO_* */
extern const struct ss_xlat ss_xlat_sol;       /* SOL_SOCKET, IPPROTO_TCP as a level... */
extern const struct ss_xlat ss_xlat_so;        /* SO_* (level SOL_SOCKET) */
extern const struct ss_xlat ss_xlat_tcp;       /* TCP_* (level IPPROTO_TCP) */
extern const struct ss_xlat ss_xlat_ip;        /* IP_* (level IPPROTO_IP) */
extern const struct ss_xlat ss_xlat_ipv6;      /* IPV6_* (level IPPROTO_IPV6) */
extern const struct ss_xlat ss_xlat_shut;      /* SHUT_RD, SHUT_WR, SHUT_RDWR */
extern const struct ss_xlat ss_xlat_fcntl_cmd; /* F_* */
extern const struct ss_xlat ss_xlat_ioctl;     /* FIONBIO, FIONREAD, SIOC*... */
extern const struct ss_xlat ss_xlat_scm;       /* SCM_RIGHTS, SCM_CREDENTIALS... */
/* The socket types as a fault rule's type= names them: stream, dgram... */
extern const struct ss_xlat ss_xlat_rule_socktype;

/* Tables of bit flags (rendered as A|B|0x40). */
extern const struct ss_xlat ss_xlat_msg_flags;  /* MSG_* */
extern const struct ss_xlat ss_xlat_sock_flags; /* SOCK_NONBLOCK, SOCK_CLOEXEC */
extern const struct ss_xlat ss_xlat_poll_events;  /* POLLIN, POLLOUT... */
extern const struct ss_xlat ss_xlat_epoll_events; /* EPOLLIN, EPOLLET... */
extern const struct ss_xlat ss_xlat_epoll_create_flags; /* EPOLL_CLOEXEC */
extern const struct ss_xlat ss_xlat_open_flags; /* O_* as F_GETFL/F_SETFL show them */
extern const struct ss_xlat ss_xlat_fd_flags;   /* FD_CLOEXEC */
extern const struct ss_xlat ss_xlat_rwf_flags;  /* RWF_* */
extern const struct ss_xlat ss_xlat_splice_flags; /* SPLICE_F_* */
extern const struct ss_xlat ss_xlat_close_range_flags; /* CLOSE_RANGE_* */
extern const struct ss_xlat ss_xlat_ai_flags;   /* AI_* (getaddrinfo's hints) */
extern const struct ss_xlat ss_xlat_ni_flags;   /* NI_* (getnameinfo) */

/* The name of v in t, or NULL. */
const char *ss_xlat_name(const struct ss_xlat *t, long v);

/* The value t names name[0..len) (compared exactly): 0 with *value set,
 * or -1 when t has no such name. */
int ss_xlat_value(const struct ss_xlat *t, const char *name, size_t len, long *value);

/* Writes the name of v, or v in decimal when t has no name for it. */
void ss_out_xlat(struct ss_out *o, const struct ss_xlat *t, long v);

/* Writes flags as NAME|NAME|0xrest, or "0" when none are set. */
void ss_out_flags(struct ss_out *o, const struct ss_xlat *t, unsigned long v);

/* dup3()'s flags: O_CLOEXEC is the only one there is. */
void ss_out_dup3_flags(struct ss_out *o, int flags);

/* A socket type with its creation flags: SOCK_STREAM|SOCK_CLOEXEC. */
void ss_out_socktype(struct ss_out *o, int type);

/* The option-name table for a level (SO_* for SOL_SOCKET...), or NULL. */
const struct ss_xlat *ss_xlat_optnames(int level);

/* errno: "ECONNREFUSED" and "Connection refused" (C locale); NULL when
 * unknown. */
const char *ss_errno_name(int err);
const char *ss_errno_message(int err);

/* Parses an errno given as a name ("ECONNREFUSED") or a number; 0 on
 * success. */
int ss_errno_parse(const char *s, int *err);

/* Name resolution errors: getaddrinfo's EAI_* codes and gethostbyname's
 * h_errno values, their names and the text gai_strerror and hstrerror
 * give (C locale). other: for an EAI_* code, the h_errno of the same
 * failure (0: none); for an h_errno, the EAI_* code. r_ret: what a
 * gethostbyname_r-style call returns with that h_errno. */
struct ss_resolve_error {
    int code;
    const char *name;
    const char *message;
    int other;
    int r_ret;
};
const struct ss_resolve_error *ss_gai_error(int code);  /* NULL: unknown */
const struct ss_resolve_error *ss_h_error(int herr);    /* NULL: unknown */
/* The h_errno entry of the failure an EAI_* code stands for, or NULL. */
const struct ss_resolve_error *ss_h_error_of_gai(int eai);
/* An EAI_* or h_errno name (TRY_AGAIN...) as the EAI_* code of its
 * failure; 0 on success. */
int ss_resolve_error_parse(const char *s, size_t n, int *eai);

/* A finding's code ("lost-bytes") and what it means (findings.h), for the
 * library's findings and the command's (report, the ledger); "?" for a
 * value that is none. */
const char *ss_finding_code(enum ss_finding f);
const char *ss_finding_text(enum ss_finding f);

#endif
