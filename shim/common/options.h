/* sockshim: the settings a user gives, and their one parser.
 *
 * The command parses its options with these functions and passes them to the
 * library through the environment (SOCKSHIM_* variables, listed in
 * docs/trace-format.md); the library parses the environment with the same
 * functions. A value the command accepts is one the library accepts.
 */
#ifndef SOCKSHIM_OPTIONS_H
#define SOCKSHIM_OPTIONS_H

#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>

#include "entries.h"

/* Environment variables: the contract between the command and the library. */
#define SS_ENV_OUTPUT "SOCKSHIM_OUTPUT"   /* trace file, %p = pid; unset: stderr */
#define SS_ENV_FORMAT "SOCKSHIM_FORMAT"   /* text | json */
#define SS_ENV_STRSIZE "SOCKSHIM_STRSIZE" /* data bytes shown per call */
#define SS_ENV_TRACE "SOCKSHIM_TRACE"     /* methods traced (-e) */
#define SS_ENV_SUMMARY "SOCKSHIM_SUMMARY" /* on | off | only (--summary) */
#define SS_ENV_CALLS "SOCKSHIM_CALLS"     /* 1: every call, no rebuilt loops (--calls) */
#define SS_ENV_PCAP "SOCKSHIM_PCAP"       /* 1: capture events into the run's ring (--pcap) */
/* 1: every process writes its header, fork lines and summary, not only
 * those that touched a socket (--all-processes) */
#define SS_ENV_ALL_PROCESSES "SOCKSHIM_ALL_PROCESSES"
#define SS_ENV_RENDER_IN_PROCESS "SOCKSHIM_RENDER_IN_PROCESS"
/* Without -o the command hands every process of the run the stderr it was
 * started with, as an inherited fd "N:DEV:INO": a program that redirects
 * its own stderr (or a child's) does not get the trace in its data. */
#define SS_ENV_OUTPUT_FD "SOCKSHIM_OUTPUT_FD"
/* The fd of the run's trace ring (shim/common/ring.h), set by the command for a
 * -o file. */
#define SS_ENV_SINK_RING "SOCKSHIM_SINK_RING"
/* Set by the command: the fd of the run's place box (place_box.h), where
 * the library asks which function, file and line a code address is. */
#define SS_ENV_PLACE_BOX "SOCKSHIM_PLACE_BOX"
/* Set by the command with --control: the fd of the run's rule board
 * (board.h), where the rules in force while the run goes on are. */
#define SS_ENV_RULE_BOARD "SOCKSHIM_RULE_BOARD"
/* Set by the command with --control: the fd of the run's live counts
 * (live_stats.h), where each process keeps its counts for ctl stats. */
#define SS_ENV_LIVE_STATS "SOCKSHIM_LIVE_STATS"
/* When the run started (CLOCK_REALTIME_COARSE, ns), set by the command or
 * by the first process that loads the library: a %p file last changed
 * before then was not made by this run and is never written. */
#define SS_ENV_RUN_START "SOCKSHIM_RUN_START"

/* raw: a record file for `sockshim render` (raw_file.h), to a file only */
enum ss_format { SS_FORMAT_TEXT, SS_FORMAT_JSON, SS_FORMAT_RAW };
enum ss_summary { SS_SUMMARY_ON, SS_SUMMARY_OFF, SS_SUMMARY_ONLY };

#define SS_STRSIZE_DEFAULT 32u
#define SS_STRSIZE_MAX (1u << 20)

typedef uint64_t ss_opmask; /* bit (1 << enum ss_op) */
#define SS_OPMASK_ALL ((((ss_opmask)1) << SS_OP_COUNT) - 1)
#define SS_OPBIT(op) ((ss_opmask)1 << SS_OP_##op)
/* The methods that move a socket's data, each way (SS_OPS's way column). */
#define SS_OPBIT_IF_out_out(op) SS_OPBIT(op) |
#define SS_OPBIT_IF_out_in(op)
#define SS_OPBIT_IF_out_none(op)
#define SS_OPBIT_IF_in_in(op) SS_OPBIT(op) |
#define SS_OPBIT_IF_in_out(op)
#define SS_OPBIT_IF_in_none(op)
#define SS_OPBIT_OUT(name, group, way) SS_OPBIT_IF_out_##way(name)
#define SS_OPBIT_IN(name, group, way) SS_OPBIT_IF_in_##way(name)
#define SS_OPS_SENDS (SS_OPS(SS_OPBIT_OUT) 0)
#define SS_OPS_RECVS (SS_OPS(SS_OPBIT_IN) 0)
/* The methods of one group of SS_GROUPS, as a mask (a constant). */
enum ss_group {
#define SS_GROUP_ENUM(g) SS_GROUP_##g,
    SS_GROUPS(SS_GROUP_ENUM)
#undef SS_GROUP_ENUM
};
/* "%lifecycle, %connection, ..., %all": the groups -e takes, as text. */
#define SS_GROUP_PCT(g) "%" #g ", "
#define SS_GROUP_LIST SS_GROUPS(SS_GROUP_PCT) "%all"
#define SS_OPBIT_IF_IN(name, group, g) (SS_GROUP_##group == SS_GROUP_##g ? SS_OPBIT(name) : 0) |
/* The waits of Python's select module (%wait): a trace leaves them out
 * unless asked for (docs/trace-format.md, "Waits"). */
#define SS_OPBIT_WAIT(name, group, way) SS_OPBIT_IF_IN(name, group, wait)
#define SS_OPS_WAITS (SS_OPS(SS_OPBIT_WAIT) 0)
/* The name resolutions (%resolve): calls on no socket. */
#define SS_OPBIT_RESOLVE(name, group, way) SS_OPBIT_IF_IN(name, group, resolve)
#define SS_OPS_RESOLVE (SS_OPS(SS_OPBIT_RESOLVE) 0)
/* What a trace shows when -e does not say. */
#define SS_OPMASK_DEFAULT (SS_OPMASK_ALL & ~SS_OPS_WAITS)

static inline int ss_op_in(enum ss_op op, ss_opmask ops)
{
    return (ops >> op) & 1;
}

/* A parse error: what was wrong, naming the bad token. */
struct ss_parse_error {
    char msg[256];
};

int ss_parse_format(const char *s, enum ss_format *out, struct ss_parse_error *e);
int ss_parse_summary(const char *s, enum ss_summary *out, struct ss_parse_error *e);
int ss_parse_flag(const char *s, int *out, struct ss_parse_error *e); /* 0/1 */
int ss_parse_strsize(const char *s, unsigned *out, struct ss_parse_error *e);

/* -e: "connect,accept", "trace=connect,accept", "!close", "%io", "all",
 * "none". 0 on success. */
int ss_parse_opmask(const char *s, ss_opmask *out, struct ss_parse_error *e);
/* The same, and which methods the list names by themselves (not through a
 * %group, "all" or a "!"): a method named so is one the user asked to see
 * in every process (fork). */
int ss_parse_trace(const char *s, ss_opmask *traced, ss_opmask *named,
                   struct ss_parse_error *e);

/* -o: a path, where %p stands for the pid and %% for a percent sign. */
int ss_parse_output(const char *s, struct ss_parse_error *e);
/* An fd the command hands to the processes of the run, in the value of a
 * variable (SOCKSHIM_OUTPUT_FD, SOCKSHIM_SINK_RING, SOCKSHIM_PLACE_BOX):
 * its number where inherited, the identity of its file (an fd at that
 * number that is another file is not it), and, for the run's shared
 * memory, the process that holds it open for the whole run and its number
 * there: a process that did not inherit it opens /proc/PID/fd/FD. */
#define SS_PID_LIMIT (1 << 22) /* PID_MAX_LIMIT: the kernel gives no larger pid */
struct ss_fd_ref {
    int fd;
    unsigned long long dev, ino;
    int holder_pid; /* 0: none */
    int holder_fd;
};
/* "FD:DEV:INODE" or "FD:DEV:INODE:PID:FD". */
int ss_parse_fd_ref(const char *s, struct ss_fd_ref *out, struct ss_parse_error *e);
/* Writes it; returns the length needed. */
size_t ss_format_fd_ref(const struct ss_fd_ref *v, char *buf, size_t cap);

/* The lowest fd the shim's own descriptors take: high, out of the way of
 * programs that hand out fds from 3 up or close a range of them. */
int ss_high_fd_floor(void);

/* ---- output files, safely --------------------------------------------
 *
 * Every file sockshim writes (the -o trace, each %p file, the --pcap
 * capture, SOCKSHIM_OUTPUT opened by the library) is opened with these
 * flags (plus O_CREAT, and O_EXCL for a %p name), then checked with
 * ss_output_refusal() on its fstat before a byte is written or the file is
 * emptied. O_NONBLOCK: opening a FIFO no one reads fails (ENXIO) instead of
 * hanging the program; the opener clears it once the file is checked. */
#define SS_OUTPUT_OPEN_FLAGS (O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK)

struct stat;

/* How an output reached sockshim. */
enum ss_output_origin {
    SS_OUTPUT_NAMED,    /* a path, maybe in a directory other users write */
    SS_OUTPUT_GIVEN_FD, /* a descriptor the user's shell or program opened */
};

/* A path that names a descriptor the process holds (/dev/stdout,
 * /dev/stderr, /dev/fd/N, /proc/self/fd/N): its number; otherwise -1. Such
 * a path is a symbolic link (O_NOFOLLOW refuses it): sockshim writes the
 * descriptor itself. */
int ss_output_descriptor(const char *path);

/* Why the file that st describes must not take a trace or a capture of
 * user uid, or NULL when it may: a regular file must be the user's own
 * with no other hard link; a FIFO or socket met by name the user's own; a
 * character device (a terminal, /dev/null) is taken (only root makes
 * device nodes); nothing else. A descriptor the user gave needs only be of
 * one of these types, and a regular file the user's. */
const char *ss_output_refusal(const struct stat *st, unsigned uid, enum ss_output_origin origin);

/* Why opening path failed with err when the reason is one of safety: a
 * symbolic link (O_NOFOLLOW), a FIFO of another user or one no one reads
 * (O_NONBLOCK); NULL when err says it all (ENOENT...). */
const char *ss_output_open_refusal(const char *path, int err, unsigned uid);

/* Whether an existing %p file (O_EXCL found it) was made by this run: it
 * was last changed no earlier than the run started (run_start_ns, see
 * SS_ENV_RUN_START). The drain reopens such a file after closing it, a
 * process appends to the file it had before exec, and the library's and
 * the drain's lines for one process meet in one file; a file left by an
 * earlier run is never written. */
int ss_output_made_by_run(const struct stat *st, uint64_t run_start_ns);
/* The clock SS_ENV_RUN_START is read from: the one file times come from. */
uint64_t ss_output_clock_ns(void);

/* Whether the pattern has a %p (not a %%p). */
int ss_output_has_pid(const char *pattern);
/* Expands %p; returns the length needed (like snprintf). */
size_t ss_expand_output(const char *pattern, long pid, char *buf, size_t cap);

/* The methods' names, by enum ss_op. */
extern const char *const ss_op_names[SS_OP_COUNT];
const char *ss_op_name(enum ss_op op);
/* The method named name, or -1. */
int ss_op_from_name(const char *name);
const char *ss_op_group(enum ss_op op);
const char *ss_fn_name(enum ss_fn fn);

/* The name in names[0..n) closest to word (for "did you mean"), or NULL
 * when none is close enough to be a plausible typo. */
const char *ss_closest_name(const char *word, size_t wordlen,
                            const char *const *names, size_t n);

#endif
