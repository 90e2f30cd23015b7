/* sockshim: run a program with libsockshim.so preloaded, strace-style.
 *
 *   sockshim [options] [--] PROGRAM [ARGS...]
 *
 * The command does no tracing itself. It checks its options with the same
 * parsers the library uses (shim/common/options.h), hands them to the library in
 * SOCKSHIM_* environment variables, adds the library to LD_PRELOAD,
 * runs PROGRAM and exits with PROGRAM's status. Everything that can be
 * checked before PROGRAM starts is checked first, so a typo never costs a
 * half-run program: on any such error sockshim exits 2 without starting it.
 */
#include <dirent.h>
#include <elf.h>
#include <endian.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <sys/xattr.h>
#include <time.h>
#include <unistd.h>

#include "control.h"
#include "ctl.h"
#include "drain.h"
#include "fmt.h"
#include "options.h"
#include "output_file.h"
#include "pcap.h"
#include "place_server.h"
#include "raw_file.h"
#include "render_file.h"
#include "report.h"
#include "say.h"
#include "ring.h"
#include "live.h"
#include "rules.h"

#ifndef SOCKSHIM_VERSION
#define SOCKSHIM_VERSION "unknown"
#endif

#define LIBRARY_NAME "libsockshim.so"
#define ENV_LIBRARY "SOCKSHIM_LIBRARY" /* read by the command only */

/* The status of every failure of sockshim itself (bad usage, program or
 * library not found, trace file not writable...), as for strace's usage
 * errors. A program's own status is passed through unchanged. */
#define EXIT_SOCKSHIM_ERROR SS_EXIT_TROUBLE

/* ---------------------------------------------------------------- messages */

#define die ss_die
#define warn ss_warn

#define usage_error(...) ss_usage_error("sockshim", __VA_ARGS__)

/* ------------------------------------------------------------------- help */

static void print_wrapped_words(const char *indent, const char *first,
                                const char *const *words, size_t n)
{
    enum { WIDTH = 79 };
    int col = printf("%s%s", indent, first);
    for (size_t i = 0; i < n; i++) {
        int len = (int)strlen(words[i]) + 1;
        if (col + len > WIDTH)
            col = printf("\n%s%*s", indent, (int)strlen(first), "");
        col += printf(" %s", words[i]);
    }
    putchar('\n');
}

/* The methods -e accepts, a line per group, taken from the same table the
 * parser uses so the list cannot go stale. */
static void print_methods(void)
{
    const char *words[SS_OP_COUNT];
    int start = 0;
    while (start < SS_OP_COUNT) {
        const char *group = ss_op_group((enum ss_op)start);
        size_t n = 0;
        int i = start;
        for (; i < SS_OP_COUNT && strcmp(ss_op_group((enum ss_op)i), group) == 0; i++)
            words[n++] = ss_op_name((enum ss_op)i);
        char label[32];
        snprintf(label, sizeof label, "%%%-11s", group);
        print_wrapped_words("  ", label, words, n);
        start = i;
    }
}

static void print_python_path(void);

static void print_help(void)
{
    printf("Usage: sockshim [options] [--] PROGRAM [ARGS...]\n"
           "       sockshim report [--fail-on C] [--perfetto F] [--html F] TRACE... (--help)\n"
           "       sockshim render [--format=FORMAT] RECORDS     (sockshim render --help)\n"
           "       sockshim ctl RUN add RULE | del N | stats | ...  (sockshim ctl --help)\n"
           "Run PROGRAM with %s preloaded and trace its socket calls\n"
           "as method calls on Python socket objects.\n"
           "\n"
           "Options:\n"
           "  -o, --output=FILE        write the trace to FILE instead of stderr;\n"
           "                           %%p in FILE becomes each process's pid\n"
           "      --format=FORMAT      trace format: text (default), json (JSON Lines),\n"
           "                           or raw: a record file (-o) that 'sockshim render'\n"
           "                           turns into text, JSON or a capture later\n"
           "  -s, --string-limit=N     show at most N data bytes a call (default %u)\n"
           "  -e, --trace=METHODS      trace only METHODS: a comma-separated list of\n"
           "                           methods and %%groups (%%wait only when named);\n"
           "                           !LIST traces the default but LIST\n"
           "      --fault=RULE         inject a fault, e.g. send:short=1 or\n"
           "                           connect:error=ECONNREFUSED:when=1..3 (repeatable;\n"
           "                           the first matching rule applies; docs/faults.md)\n"
           "      --fault-file=FILE    read rules from FILE, one a line, # comments\n"
           "      --seed=N             seed of p= draws (default: a new one, shown in\n"
           "                           the trace header, to replay a run exactly)\n"
           "      --strict             refuse rules that warn: an error= the call's\n"
           "                           man page does not list, a short= its type=\n"
           "                           leaves nothing to cut (default: warn); leave\n"
           "                           alone calls no real event fits a rule on\n"
           "      --calls              show every libc call, not the sendall() a loop\n"
           "                           of sends makes (each line names its loop)\n"
           "      --summary            write only each process's summary at exit:\n"
           "                           calls, sockets and findings, no call lines\n"
           "      --no-summary         write no summary at exit\n"
           "      --all-processes      write every process's header, forks and summary,\n"
           "                           even of those touching no socket (a shell)\n"
           "      --max-size=SIZE      keep each -o file within SIZE (1M, 500MiB): call\n"
           "                           lines past it are dropped and counted, not the rest\n"
           "      --pcap=FILE          also write the run's TCP, UDP and AF_UNIX traffic\n"
           "                           to FILE as a pcapng capture (docs/pcap.md)\n"
           "      --control, --control-dir=DIR  let 'sockshim ctl' change faults live\n"
           "      --python-path        print the Python module's directory and exit\n"
           "  -h, --help               show this help and exit\n"
           "      --version            show the version and exit\n"
           "\n"
           "Methods for -e, by %%group (also: all, none):\n",
           LIBRARY_NAME, SS_STRSIZE_DEFAULT);
    print_methods();
    printf("\n"
           "Example:\n"
           "  sockshim -o trace.%%p.txt -e connect,accept -s 64 -- curl -s http://localhost/\n"
           "  sockshim --fault send:short=1 --fault 'recv:delay=200ms:port=6379' -- ./client\n"
           "  sockshim --format=raw -o run.rec -- ./server && sockshim render run.rec\n"
           "\n"
           "Environment:\n"
           "  %-17s the library to preload (default: next to sockshim, or in\n"
           "                    ../lib, ../lib/x86_64-linux-gnu or ../lib64 from it)\n"
           "  %s, %s, %s, %s\n"
           "                    set from -o, --format, -s, -e (cleared when not given)\n"
           "  %s    fault rules separated by ';', run after --fault's\n"
           "  %s, %s  used when --seed, --strict are not given\n"
           "  LD_PRELOAD        the library is added after the user's own preloads\n"
           "\n"
           "Exit status: PROGRAM's, 128+N if signal N killed it, 2 if sockshim failed.\n"
           "Every rule, finding and format in full: man sockshim, and docs/.\n",
           ENV_LIBRARY, SS_ENV_OUTPUT, SS_ENV_FORMAT, SS_ENV_STRSIZE, SS_ENV_TRACE,
           SS_ENV_FAULTS, SS_ENV_SEED, SS_ENV_STRICT);
}

/* ----------------------------------------------------------- command line */

/* A fault rule and where it came from, for messages. */
struct rule_source {
    char *text;
    char *origin; /* "--fault 'send:short=1'", "rules.txt:3" */
};

struct settings {
    const char *output;  /* -o as given; NULL: the trace goes to stderr */
    const char *format;  /* --format as given, NULL: the library's default */
    enum ss_format trace_format; /* ... as parsed (text when not given) */
    const char *strsize; /* -s */
    const char *trace;   /* -e */
    const char *seed;    /* --seed */
    int strict;          /* --strict */
    int summary_only;    /* --summary */
    int every_call;      /* --calls */
    int no_summary;      /* --no-summary */
    int all_processes;   /* --all-processes */
    uint64_t max_size;   /* --max-size, or 0 */
    const char *pcap;    /* --pcap FILE, or NULL */
    int control;         /* --control, --control-dir */
    const char *control_dir; /* --control-dir DIR, or NULL: the default */
    struct rule_source *rules; /* --fault, --fault-file, then SOCKSHIM_FAULTS */
    size_t n_rules;
    char **program_argv; /* PROGRAM ARGS..., NULL-terminated (from argv) */
};

/* Long options return codes of their own, never their short letter, so that
 * an error can name the spelling the user typed (-s or --string-limit). */
enum {
    OPT_OUTPUT = 0x100,
    OPT_FORMAT,
    OPT_STRING_LIMIT,
    OPT_TRACE,
    OPT_HELP,
    OPT_VERSION,
    OPT_FAULT,
    OPT_FAULT_FILE,
    OPT_SEED,
    OPT_STRICT,
    OPT_SUMMARY,
    OPT_NO_SUMMARY,
    OPT_CALLS,
    OPT_ALL_PROCESSES,
    OPT_PCAP,
    OPT_MAX_SIZE,
    OPT_PYTHON_PATH,
    OPT_CONTROL,
    OPT_CONTROL_DIR,
};

static const struct option long_options[] = {
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"format", required_argument, NULL, OPT_FORMAT},
    {"string-limit", required_argument, NULL, OPT_STRING_LIMIT},
    {"trace", required_argument, NULL, OPT_TRACE},
    {"fault", required_argument, NULL, OPT_FAULT},
    {"fault-file", required_argument, NULL, OPT_FAULT_FILE},
    {"seed", required_argument, NULL, OPT_SEED},
    {"strict", no_argument, NULL, OPT_STRICT},
    {"summary", no_argument, NULL, OPT_SUMMARY},
    {"no-summary", no_argument, NULL, OPT_NO_SUMMARY},
    {"calls", no_argument, NULL, OPT_CALLS},
    {"all-processes", no_argument, NULL, OPT_ALL_PROCESSES},
    {"pcap", required_argument, NULL, OPT_PCAP},
    {"max-size", required_argument, NULL, OPT_MAX_SIZE},
    {"control", no_argument, NULL, OPT_CONTROL},
    {"control-dir", required_argument, NULL, OPT_CONTROL_DIR},
    {"python-path", no_argument, NULL, OPT_PYTHON_PATH},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

/* '+': stop at the first non-option, so PROGRAM's own options stay its own.
 * ':': report a missing argument as ':' rather than '?'. */
static const char short_options[] = "+:ho:s:e:";

/* "-s" or "--string-limit", for a code getopt_long returned. */
static const char *option_spelling(int code, char *buf, size_t cap)
{
    for (const struct option *o = long_options; o->name != NULL; o++)
        if (o->val == code) {
            snprintf(buf, cap, "--%s", o->name);
            return buf;
        }
    snprintf(buf, cap, "-%c", code);
    return buf;
}

/* getopt_long returned '?' or ':'; say which token was wrong. glibc leaves
 * optopt at 0 for an unknown long option, which it has already stepped over,
 * and at the option's code otherwise. */
__attribute__((noreturn))
static void reject_option(int result, char *const argv[])
{
    char name[64];
    if (result == ':')
        usage_error("option '%s' requires an argument",
                    option_spelling(optopt, name, sizeof name));
    if (optopt == 0) {
        const char *token = argv[optind - 1];
        usage_error("unknown option '%.*s'", (int)strcspn(token, "="), token);
    }
    if (optopt >= OPT_OUTPUT)
        usage_error("option '%s' does not take an argument",
                    option_spelling(optopt, name, sizeof name));
    if (optopt >= 0x20 && optopt < 0x7f)
        usage_error("unknown option '-%c'", optopt);
    usage_error("unknown option character 0x%02x", (unsigned)optopt & 0xff);
}

__attribute__((noreturn))
static void reject_value(int code, const struct ss_parse_error *err)
{
    char name[64];
    die("%s: %s", option_spelling(code, name, sizeof name), err->msg);
}

/* ---------------------------------------------------------------- faults */

/* s with every byte that is not printable ASCII written as \xNN, as the
 * rule line under a message shows it. */
static const char *printable(const char *s, char *buf, size_t cap)
{
    return ss_shown(s, strlen(s), buf, cap);
}

static void add_rule(struct settings *s, const char *text, const char *origin_fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_rule(struct settings *s, const char *text, const char *origin_fmt, ...)
{
    struct rule_source *grown = realloc(s->rules, (s->n_rules + 1) * sizeof *grown);
    if (grown == NULL)
        die("out of memory");
    s->rules = grown;
    va_list ap;
    va_start(ap, origin_fmt);
    struct rule_source *r = &s->rules[s->n_rules++];
    r->text = strdup(text);
    if (r->text == NULL || vasprintf(&r->origin, origin_fmt, ap) < 0)
        die("out of memory");
    va_end(ap);
}

/* One rule a line; '#' starts a comment; blank lines are skipped. */
/* A fault file's phases ('at 2s: RULE', 'at 5s: clear'): the rules of
 * a phase get at= its time; a clear ends the rules in force with for=
 * (docs/faults.md, "Phases"). */
struct phases {
    uint64_t at_ns;   /* the current phase's time */
    size_t first;     /* the file's first rule among the settings' */
    int seen;         /* an 'at' line came */
};

/* "at 2s: rest": the time and the rest; 0 when the line is no phase's. */
static int phase_line(char *line, const char *origin, uint64_t *at_ns, char **rest)
{
    if (strncmp(line, "at", 2) != 0 || (line[2] != ' ' && line[2] != '\t'))
        return 0;
    char *time = line + 2 + strspn(line + 2, " \t");
    char *colon = strchr(time, ':');
    char shown[256];
    if (colon == NULL)
        die("%s: an 'at' line is 'at TIME: RULE' or 'at TIME: clear' (no ':' in '%s')", origin,
            printable(line, shown, sizeof shown));
    size_t len = (size_t)(colon - time);
    while (len > 0 && (time[len - 1] == ' ' || time[len - 1] == '\t'))
        len--;
    struct ss_rule_error e;
    if (ss_rule_duration(time, len, "phase time", at_ns, &e) != 0)
        die("%s: %s", origin, e.msg);
    *rest = colon + 1 + strspn(colon + 1, " \t");
    return 1;
}

/* A time as a rule writes it, in the largest unit that keeps it exact. */
static const char *duration_text(uint64_t ns, char *buf, size_t cap)
{
    if (ns % 1000000000u == 0)
        snprintf(buf, cap, "%llus", (unsigned long long)(ns / 1000000000u));
    else if (ns % 1000000u == 0)
        snprintf(buf, cap, "%llums", (unsigned long long)(ns / 1000000u));
    else
        snprintf(buf, cap, "%lluus", (unsigned long long)(ns / 1000u));
    return buf;
}

/* Ends the file's rules in force at end_ns: each one not ended yet gets
 * for= the time from its start to end_ns. */
static void end_phase_rules(struct settings *s, const struct phases *p, uint64_t end_ns)
{
    for (size_t i = p->first; i < s->n_rules; i++) {
        struct ss_rule rule;
        struct ss_rule_error e;
        if (ss_rule_parse(s->rules[i].text, &rule, &e) != 0 || rule.for_ns != 0 ||
            rule.at_ns >= end_ns)
            continue;
        char *longer, t[32];
        if (asprintf(&longer, "%s:for=%s", s->rules[i].text,
                     duration_text(end_ns - rule.at_ns, t, sizeof t)) < 0)
            die("out of memory");
        free(s->rules[i].text);
        s->rules[i].text = longer;
    }
}

/* One line of a fault file: a rule, or a phase's rule or clear. */
static void take_fault_line(struct settings *s, struct phases *p, char *line,
                            const char *path, unsigned number)
{
    char origin[PATH_MAX + 16];
    snprintf(origin, sizeof origin, "%s:%u", path, number);
    uint64_t at_ns;
    char *rest;
    char shown[256];
    if (!phase_line(line, origin, &at_ns, &rest)) {
        if (p->seen)
            die("%s: after an 'at' line every line is 'at TIME: RULE' or 'at TIME: clear' "
                "('%s')", origin, printable(line, shown, sizeof shown));
        add_rule(s, line, "%s", origin);
        return;
    }
    if (p->seen && at_ns < p->at_ns)
        die("%s: phases go in time order (this one is earlier than the one before)", origin);
    p->seen = 1;
    p->at_ns = at_ns;
    if (strcmp(rest, "clear") == 0) {
        end_phase_rules(s, p, at_ns);
        return;
    }
    if (strstr(rest, ":at=") != NULL)
        die("%s: a phase's rule takes its at= from the phase ('%s')", origin,
            printable(rest, shown, sizeof shown));
    char *timed, t[32];
    if (asprintf(&timed, "%s:at=%s", rest, duration_text(at_ns, t, sizeof t)) < 0)
        die("out of memory");
    add_rule(s, timed, "%s", origin);
    free(timed);
}

static void read_fault_file(struct settings *s, const char *path)
{
    FILE *f = fopen(path, "re");
    if (f == NULL)
        die("--fault-file: cannot read '%s': %s (give a readable file of rules, one a line)",
            path, strerror(errno));
    char *line = NULL;
    size_t cap = 0;
    unsigned number = 0;
    struct phases phases = {0, s->n_rules, 0};
    while (getline(&line, &cap, f) >= 0) {
        number++;
        line[strcspn(line, "#\n")] = '\0';
        char *start = line + strspn(line, " \t\r");
        size_t len = strlen(start);
        while (len > 0 && strchr(" \t\r", start[len - 1]) != NULL)
            start[--len] = '\0';
        if (len > 0)
            take_fault_line(s, &phases, start, path, number);
    }
    if (ferror(f))
        die("--fault-file: cannot read '%s': %s", path, strerror(errno));
    free(line);
    fclose(f);
}

/* Rules already in the environment come after the command line's: a fault
 * test run under sockshim keeps its faults. */
static void add_environment_rules(struct settings *s)
{
    const char *list = getenv(SS_ENV_FAULTS);
    unsigned number = 0;
    for (const char *p = list; p != NULL && *p != '\0';) {
        const char *end = strchrnul(p, ';');
        number++;
        /* blanks around a rule do not count, as in the library */
        const char *first = p + strspn(p, " \t\n");
        const char *last = end;
        while (last > first && strchr(" \t\n", last[-1]) != NULL)
            last--;
        if (last > first) {
            char *text = strndup(first, (size_t)(last - first));
            if (text == NULL)
                die("out of memory");
            add_rule(s, text, "%s rule %u", SS_ENV_FAULTS, number);
            free(text);
        }
        p = *end == ';' ? end + 1 : end;
    }
}

static void explain_rule(const char *kind, const struct rule_source *r,
                         const struct ss_rule_error *e)
{
    char body[2048];
    ss_rule_explain("  ", r->text, e, body, sizeof body);
    fprintf(stderr, "sockshim: %s%s: %s", kind, r->origin, body);
}

/* Every rule is checked before anything starts: a fault test must never
 * pass because its faults silently did not load. */
/* Whether a rule counts from the run's start (at=, for=). */
static int rules_have_window(const struct settings *s)
{
    struct ss_rule rule;
    struct ss_rule_error e;
    for (size_t i = 0; i < s->n_rules; i++)
        if (ss_rule_parse(s->rules[i].text, &rule, &e) == 0 && rule.has_window)
            return 1;
    return 0;
}

static void check_rules(const struct settings *s)
{
    struct ss_rule rule;
    struct ss_rule_error e;
    for (size_t i = 0; i < s->n_rules; i++) {
        const struct rule_source *r = &s->rules[i];
        if (i == SS_MAX_RULES)
            die("%s: too many fault rules (at most %d; rules with the same actions can "
                "share one set of methods: send,recv:...)",
                r->origin, SS_MAX_RULES);
        if (ss_rule_parse(r->text, &rule, &e) != 0) {
            explain_rule("", r, &e);
            exit(EXIT_SOCKSHIM_ERROR);
        }
        if (ss_rule_warning(&rule, &e)) {
            if (s->strict) {
                explain_rule("(--strict) ", r, &e);
                exit(EXIT_SOCKSHIM_ERROR);
            }
            size_t n = strlen(e.msg);
            snprintf(e.msg + n, sizeof e.msg - n, " (--strict refuses this)");
            explain_rule("warning: ", r, &e);
        }
    }
}

static void parse_command_line(int argc, char *argv[], struct settings *s)
{
    struct ss_parse_error err;
    int c;

    memset(s, 0, sizeof *s);
    opterr = 0; /* our messages name the token; getopt's would come twice */
    while ((c = getopt_long(argc, argv, short_options, long_options, NULL)) != -1) {
        switch (c) {
        case 'o':
        case OPT_OUTPUT:
            if (ss_parse_output(optarg, &err) != 0)
                reject_value(c, &err);
            s->output = optarg;
            break;
        case OPT_FORMAT: {
            enum ss_format format;
            if (ss_parse_format(optarg, &format, &err) != 0)
                reject_value(c, &err);
            s->format = optarg;
            s->trace_format = format;
            break;
        }
        case 's':
        case OPT_STRING_LIMIT: {
            unsigned size;
            if (ss_parse_strsize(optarg, &size, &err) != 0)
                reject_value(c, &err);
            s->strsize = optarg;
            break;
        }
        case 'e':
        case OPT_TRACE: {
            ss_opmask mask;
            if (ss_parse_opmask(optarg, &mask, &err) != 0)
                reject_value(c, &err);
            s->trace = optarg;
            break;
        }
        case OPT_FAULT: {
            char shown[SS_RULE_TEXT_MAX * 4 + 1];
            add_rule(s, optarg, "--fault '%s'", printable(optarg, shown, sizeof shown));
            break;
        }
        case OPT_FAULT_FILE:
            read_fault_file(s, optarg);
            break;
        case OPT_SEED: {
            uint64_t seed;
            if (ss_parse_u64(optarg, UINT64_MAX, &seed) != 0)
                die("--seed: bad seed '%s' (expected a whole number, such as the one a "
                    "trace header shows)",
                    optarg);
            s->seed = optarg;
            break;
        }
        case OPT_STRICT:
            s->strict = 1;
            break;
        case OPT_SUMMARY:
            s->summary_only = 1;
            break;
        case OPT_NO_SUMMARY:
            s->no_summary = 1;
            break;
        case OPT_CALLS:
            s->every_call = 1;
            break;
        case OPT_ALL_PROCESSES:
            s->all_processes = 1;
            break;
        case OPT_MAX_SIZE:
            if (ss_parse_byte_count(optarg, strlen(optarg), &s->max_size) != 0 ||
                s->max_size < 4096)
                die("--max-size: bad size '%s' (expected a byte count of at least 4k, such "
                    "as 1M or 500MiB)",
                    optarg);
            break;
        case OPT_PCAP:
            if (optarg[0] == '\0')
                usage_error("--pcap needs a file name");
            s->pcap = optarg;
            break;
        case OPT_CONTROL:
            s->control = 1;
            break;
        case OPT_CONTROL_DIR:
            if (optarg[0] == '\0')
                usage_error("--control-dir needs a directory");
            s->control = 1;
            s->control_dir = optarg;
            break;
        case OPT_PYTHON_PATH:
            print_python_path();
            exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_SOCKSHIM_ERROR);
        case 'h':
        case OPT_HELP:
            print_help();
            exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_SOCKSHIM_ERROR);
        case OPT_VERSION:
            printf("sockshim %s\n", SOCKSHIM_VERSION);
            exit(fflush(stdout) == 0 ? EXIT_SUCCESS : EXIT_SOCKSHIM_ERROR);
        default:
            reject_option(c, argv);
        }
    }
    if (s->summary_only && s->no_summary)
        usage_error("--summary and --no-summary cannot go together");
    if (s->max_size != 0 && s->output == NULL)
        usage_error("--max-size bounds a trace file: give one with -o FILE");
    int raw = s->trace_format == SS_FORMAT_RAW;
    if (raw && s->output == NULL)
        usage_error("--format=raw writes a record file: give one with -o FILE");
    if (raw && s->max_size != 0)
        usage_error("--max-size cannot go with --format=raw: a record file is rendered "
                    "later, whole (bound the rendered trace instead)");
    if (optind >= argc)
        usage_error("no program to run\nUsage: sockshim [options] [--] PROGRAM [ARGS...]");
    s->program_argv = argv + optind;
    const char *strict = getenv(SS_ENV_STRICT);
    if (strict != NULL && *strict != '\0' && strcmp(strict, "0") != 0)
        s->strict = 1;
    add_environment_rules(s);
    check_rules(s);
}

/* ---------------------------------------------------------- the program */

/* 0 if execve could run path, else the errno it would most likely fail
 * with. Directories and devices are refused as execve refuses them. */
static int check_executable(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return errno;
    if (!S_ISREG(st.st_mode))
        return EACCES;
    if (faccessat(AT_FDCWD, path, X_OK, AT_EACCESS) != 0)
        return errno;
    return 0;
}

/* Finds PROGRAM as execvp would: a name with a '/' is used as it is, other
 * names are looked up in PATH (glibc's default when PATH is unset; an empty
 * element is the current directory). 0, or the errno execvp would give:
 * EACCES when some candidate existed but could not be run, else ENOENT. */
static int resolve_program(const char *name, char *out, size_t cap)
{
    if (name[0] == '\0')
        return ENOENT;
    if (strchr(name, '/') != NULL) {
        if (strlen(name) >= cap)
            return ENAMETOOLONG;
        strcpy(out, name);
        return check_executable(out);
    }
    const char *path = getenv("PATH");
    if (path == NULL)
        path = "/bin:/usr/bin";
    int result = ENOENT;
    for (const char *dir = path;;) {
        const char *end = strchrnul(dir, ':');
        int dirlen = (int)(end - dir);
        int n = dirlen == 0 ? snprintf(out, cap, "%s", name)
                            : snprintf(out, cap, "%.*s/%s", dirlen, dir, name);
        if (n >= 0 && (size_t)n < cap) {
            int err = check_executable(out);
            if (err == 0)
                return 0;
            if (err == EACCES)
                result = EACCES;
        }
        if (*end == '\0')
            return result;
        dir = end + 1;
    }
}

enum linkage { LINKAGE_UNKNOWN, LINKAGE_DYNAMIC, LINKAGE_STATIC };

/* An ELF executable is dynamically linked when it names a program
 * interpreter (PT_INTERP, the dynamic loader); without one, as in a static
 * or static-pie binary, nothing reads LD_PRELOAD. Anything that is not an
 * ELF file of this machine's byte order (a #! script...) is UNKNOWN. */
static enum linkage elf_linkage(int fd)
{
    union {
        unsigned char ident[EI_NIDENT];
        Elf32_Ehdr h32;
        Elf64_Ehdr h64;
    } eh;
#if __BYTE_ORDER == __LITTLE_ENDIAN
    const unsigned char host_data = ELFDATA2LSB;
#else
    const unsigned char host_data = ELFDATA2MSB;
#endif
    ssize_t n = pread(fd, &eh, sizeof eh, 0);
    if (n < (ssize_t)EI_NIDENT || memcmp(eh.ident, ELFMAG, SELFMAG) != 0 ||
        eh.ident[EI_DATA] != host_data)
        return LINKAGE_UNKNOWN;

    uint64_t phoff;
    unsigned type, phnum, phentsize;
    if (eh.ident[EI_CLASS] == ELFCLASS64 && n >= (ssize_t)sizeof eh.h64) {
        type = eh.h64.e_type;
        phoff = eh.h64.e_phoff;
        phnum = eh.h64.e_phnum;
        phentsize = eh.h64.e_phentsize;
    } else if (eh.ident[EI_CLASS] == ELFCLASS32 && n >= (ssize_t)sizeof eh.h32) {
        type = eh.h32.e_type;
        phoff = eh.h32.e_phoff;
        phnum = eh.h32.e_phnum;
        phentsize = eh.h32.e_phentsize;
    } else {
        return LINKAGE_UNKNOWN;
    }
    /* p_type is the first field of Elf32_Phdr and Elf64_Phdr alike */
    if ((type != ET_EXEC && type != ET_DYN) || phnum == PN_XNUM ||
        phentsize < sizeof(uint32_t))
        return LINKAGE_UNKNOWN;
    for (unsigned i = 0; i < phnum; i++) {
        uint32_t p_type;
        off_t at = (off_t)(phoff + (uint64_t)i * phentsize);
        if (pread(fd, &p_type, sizeof p_type, at) != (ssize_t)sizeof p_type)
            return LINKAGE_UNKNOWN;
        if (p_type == PT_INTERP)
            return LINKAGE_DYNAMIC;
    }
    return LINKAGE_STATIC;
}

/* Why the kernel would start path in secure-execution mode (AT_SECURE), in
 * which glibc ignores LD_PRELOAD, or NULL. That happens when exec changes
 * the real user or group: a set-id bit for another user or group, unless
 * the file system is mounted nosuid, or file capabilities for a non-root
 * user. (Linux ignores set-id bits on #! scripts; those are not ELF and
 * never get here.) */
static const char *secure_exec_reason(const char *path, const struct stat *st)
{
    struct statvfs fs;
    int setid_honoured = statvfs(path, &fs) != 0 || !(fs.f_flag & ST_NOSUID);
    if (setid_honoured && (st->st_mode & S_ISUID) && st->st_uid != getuid())
        return "setuid";
    if (setid_honoured && (st->st_mode & S_ISGID) && st->st_gid != getgid())
        return "setgid";
    if (getuid() != 0 && getxattr(path, "security.capability", NULL, 0) > 0)
        return "given file capabilities";
    return NULL;
}

/* glibc loads no preloaded library into a static binary or a program run
 * in secure-execution mode; say so up front, since otherwise the only sign
 * is an empty trace. The program still runs: the user may want its output. */
static void warn_if_shim_cannot_load(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return; /* execute-only: nothing to inspect, execve will tell */
    struct stat st;
    enum linkage linkage = elf_linkage(fd);
    int have_stat = fstat(fd, &st) == 0;
    close(fd);
    if (linkage == LINKAGE_UNKNOWN)
        return;
    if (linkage == LINKAGE_STATIC) {
        warn("'%s' is statically linked, so nothing loads the shim into it "
             "(LD_PRELOAD needs the dynamic loader) and none of its calls will "
             "be traced; running it anyway",
             path);
        return;
    }
    const char *reason = have_stat ? secure_exec_reason(path, &st) : NULL;
    if (reason != NULL)
        warn("'%s' is %s, and glibc ignores LD_PRELOAD for such programs, so "
             "none of its calls will be traced; running it anyway",
             path, reason);
}

/* ------------------------------------------------------------ the library */

/* Why path cannot be loaded as a library, or NULL if it can. */
static const char *unreadable_file_reason(const char *path)
{
    struct stat st;
    if (stat(path, &st) != 0)
        return strerror(errno);
    if (!S_ISREG(st.st_mode))
        return "not a regular file";
    if (access(path, R_OK) != 0)
        return strerror(errno);
    return NULL;
}

/* The directory of the running sockshim binary, with symlinks resolved, so
 * that a symlink to sockshim in ~/bin still finds the library. */
static void own_directory(char *out, size_t cap)
{
    ssize_t n = readlink("/proc/self/exe", out, cap - 1);
    if (n < 0)
        die("cannot find where sockshim is installed (/proc/self/exe: %s); "
            "set %s to the path of %s",
            strerror(errno), ENV_LIBRARY, LIBRARY_NAME);
    if ((size_t)n >= cap - 1)
        die("cannot find where sockshim is installed (its path is too long); "
            "set %s to the path of %s",
            ENV_LIBRARY, LIBRARY_NAME);
    out[n] = '\0';
    char *slash = strrchr(out, '/');
    if (slash == out)
        slash[1] = '\0';
    else if (slash != NULL)
        *slash = '\0';
}

/* Looks for name in each of places (relative to the command's own
 * directory, "" for that directory itself) and puts the first readable
 * one's absolute path in out (PATH_MAX bytes). 0 if found, else -1. */
static int find_beside(const char *const *places, size_t n, const char *name, char *out)
{
    char dir[PATH_MAX];
    own_directory(dir, sizeof dir);
    for (size_t i = 0; i < n; i++) {
        char candidate[PATH_MAX + 256];
        snprintf(candidate, sizeof candidate, "%s%s/%s", strcmp(dir, "/") == 0 ? "" : dir,
                 places[i], name);
        if (unreadable_file_reason(candidate) == NULL && realpath(candidate, out) != NULL)
            return 0;
    }
    return -1;
}

/* The absolute path of the library to preload: SOCKSHIM_LIBRARY if set,
 * else the first of the places a build tree or an installation puts it
 * relative to the command. */
static void find_library(char out[PATH_MAX])
{
    const char *override = getenv(ENV_LIBRARY);
    if (override != NULL && override[0] != '\0') {
        const char *reason = unreadable_file_reason(override);
        if (reason != NULL)
            die("%s='%s': %s; point it at %s, or unset it to use the one "
                "installed with sockshim",
                ENV_LIBRARY, override, reason, LIBRARY_NAME);
        if (realpath(override, out) == NULL)
            die("%s='%s': %s", ENV_LIBRARY, override, strerror(errno));
        return;
    }

    static const char *const places[] = {"", "/../lib", "/../lib/x86_64-linux-gnu", "/../lib64"};
    enum { NPLACES = sizeof places / sizeof places[0] };
    if (find_beside(places, NPLACES, LIBRARY_NAME, out) == 0)
        return;
    char dir[PATH_MAX];
    own_directory(dir, sizeof dir);
    fprintf(stderr, "sockshim: cannot find %s; looked in:\n", LIBRARY_NAME);
    for (size_t i = 0; i < NPLACES; i++)
        fprintf(stderr, "  %s%s/%s\n", strcmp(dir, "/") == 0 ? "" : dir, places[i], LIBRARY_NAME);
    fprintf(stderr, "Set %s to its path, or reinstall sockshim.\n", ENV_LIBRARY);
    exit(EXIT_SOCKSHIM_ERROR);
}

/* The Python module's directory: installed under share/, or in a build
 * tree beside the command (CMake copies it there). */
static void print_python_path(void)
{
    static const char *const places[] = {"/../share/sockshim/python", "/python"};
    char path[PATH_MAX];
    if (find_beside(places, sizeof places / sizeof places[0], "sockshim/__init__.py", path) != 0)
        die("cannot find the sockshim Python module beside the command; "
            "reinstall sockshim (cmake --install installs it in share/sockshim/python)");
    path[strlen(path) - strlen("/sockshim/__init__.py")] = '\0';
    puts(path);
}

/* ld.so splits LD_PRELOAD at ':' and at spaces, so such a path cannot be
 * preloaded at all; better refuse than silently trace nothing. */
static void check_preloadable(const char *library)
{
    if (strpbrk(library, ": \t") != NULL)
        die("cannot preload '%s': LD_PRELOAD cannot hold a path with ':' or "
            "blanks; copy or link the library elsewhere and set %s",
            library, ENV_LIBRARY);
}

/* ------------------------------------------------------------- trace file */

/* The library opens the trace file after PROGRAM may have chdir()ed, so it
 * is given an absolute pattern. The working directory becomes part of the
 * pattern: its '%' signs are escaped so they stay themselves. */
static void absolute_output_pattern(const char *pattern, char *out, size_t cap)
{
    if (pattern[0] == '/') {
        if (snprintf(out, cap, "%s", pattern) >= (int)cap)
            die("-o '%s': path too long (give a shorter one)", pattern);
        return;
    }
    char cwd[PATH_MAX];
    if (getcwd(cwd, sizeof cwd) == NULL)
        die("-o '%s': cannot tell the current directory (%s); give an absolute path",
            pattern, strerror(errno));
    size_t len = 0;
    for (const char *c = cwd; *c != '\0' && len + 2 < cap; c++) {
        if (*c == '%')
            out[len++] = '%';
        out[len++] = *c;
    }
    int n = len + 2 < cap ? snprintf(out + len, cap - len, "/%s", pattern) : -1;
    if (n < 0 || (size_t)n >= cap - len)
        die("-o '%s': path too long (give a shorter one)", pattern);
}

static void set_env(const char *name, const char *value);

/* What the run's ring (tools/sockshim/drain.c) carries, prepared before the program
 * starts: the trace's file or %p pattern, and the capture. */
static struct {
    int trace_fd;          /* the -o file, opened O_APPEND, or -1 */
    char *trace_path;
    const char *trace_pattern; /* -o with %p, or NULL */
    int pcap_fd;           /* --pcap's file, or -1 */
    int made;
    int trace_channel;     /* -o that is not a regular file: its fd, or -1 */
    uint64_t run_start;    /* -o with %p: when the run started (SS_ENV_RUN_START) */
} run_ring = {.trace_fd = -1, .pcap_fd = -1, .trace_channel = -1};

/* Names a memfd of the run (the ring, the place box) in variable: the
 * program inherits it at fd, and a process of the run that did not (an
 * exec the library could not see, shim/core/share.h) opens the command's copy,
 * kept open at the same number for the whole run. */
static void name_shared_memory(const char *variable, int fd)
{
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        set_env(variable, NULL);
        return;
    }
    struct ss_fd_ref ref = {fd, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                            (int)getpid(), fd};
    char value[96];
    ss_format_fd_ref(&ref, value, sizeof value);
    set_env(variable, value);
}

static void make_ring(void)
{
    unsigned carries = (run_ring.trace_fd >= 0 || run_ring.trace_pattern != NULL ? SS_RING_TRACE
                                                                                 : 0) |
                       (run_ring.pcap_fd >= 0 ? SS_RING_CAPTURE : 0);
    if (carries == 0)
        return;
    int fd = ss_drain_create(run_ring.trace_fd, run_ring.trace_path, run_ring.trace_pattern,
                             ss_high_fd_floor(), carries);
    if (fd < 0) {
        if (run_ring.pcap_fd >= 0)
            die("--pcap: cannot make the capture's shared memory: %s (check the memory "
                "limits, ulimit -v; or run without --pcap)",
                strerror(errno));
        return; /* the library writes the trace file itself */
    }
    name_shared_memory(SS_ENV_SINK_RING, fd);
    run_ring.made = 1;
}

/* The run's place box (place_server.h): the library asks it which
 * function, file and line a location is. Without it (no memory for it),
 * locations are written as module+offset. */
static void make_place_box(void)
{
    name_shared_memory(SS_ENV_PLACE_BOX, ss_place_server_make(ss_high_fd_floor()));
}

/* --control: the run's rule board (control.h), holding the run's first
 * rules as #1 to #N. With a board the library takes its rules from it
 * alone, so the run cannot go without one: no memory for it is an error. */
static int rule_board_made;

static void make_rule_board(const struct settings *s)
{
    if (!s->control)
        return;
    int fd = ss_control_make_board(ss_high_fd_floor());
    if (fd < 0)
        die("--control: cannot make the rule board's shared memory: %s (check the memory "
            "limits, ulimit -v; or run without --control)",
            strerror(errno));
    for (size_t i = 0; i < s->n_rules; i++)
        ss_control_board_add(s->rules[i].text);
    name_shared_memory(SS_ENV_RULE_BOARD, fd);
    int live = ss_live_make(ss_high_fd_floor());
    if (live < 0)
        die("--control: cannot make the live counts' shared memory: %s (check the memory "
            "limits, ulimit -v; or run without --control)",
            strerror(errno));
    name_shared_memory(SS_ENV_LIVE_STATS, live);
    rule_board_made = 1;
}

/* A regular file named by -o goes through the run's ring; anything else
 * (a terminal, a FIFO, /dev/null, a descriptor the user named) is handed
 * to the program as an open descriptor, as stderr is without -o: a FIFO
 * is opened once, so its reader sees no end of file between processes. */
static void create_empty_trace_file(const char *path)
{
    int given;
    int fd = ss_open_output_file("trace file", path, &given);
    struct stat st;
    if (!given && fstat(fd, &st) == 0 && S_ISREG(st.st_mode)) {
        run_ring.trace_fd = fd; /* the drain writes through it */
        run_ring.trace_path = strdup(path);
    } else {
        run_ring.trace_channel = fd;
    }
}

/* With %p the library creates one file per process; all that can be checked
 * now is that their directory admits new files. */
static void check_trace_directory(const char *pattern, const char *abs_pattern)
{
    char dir_pattern[PATH_MAX * 2];
    const char *slash = strrchr(abs_pattern, '/'); /* there is one: absolute */
    size_t len = slash == abs_pattern ? 1 : (size_t)(slash - abs_pattern);
    if (len >= sizeof dir_pattern)
        die("-o '%s': path too long (give a shorter one)", pattern);
    memcpy(dir_pattern, abs_pattern, len);
    dir_pattern[len] = '\0';
    if (ss_output_has_pid(dir_pattern))
        die("-o '%s': %%p may only appear in the file name, not in a directory "
            "(the directories would not exist)",
            pattern);

    char dir[PATH_MAX * 2];
    if (ss_expand_output(dir_pattern, 0, dir, sizeof dir) > sizeof dir)
        die("-o '%s': path too long (give a shorter one)", pattern);
    struct stat st;
    if (stat(dir, &st) != 0)
        die("-o '%s': cannot create trace files in '%s': %s", pattern, dir, strerror(errno));
    if (!S_ISDIR(st.st_mode))
        die("-o '%s': cannot create trace files in '%s': %s", pattern, dir, strerror(ENOTDIR));
    if (access(dir, W_OK | X_OK) != 0)
        die("-o '%s': cannot create trace files in '%s': %s", pattern, dir, strerror(errno));
}

/* Checks (and, without %p, creates) the trace destination; writes the
 * absolute pattern to hand to the library into out. */
static void prepare_output(const char *pattern, char *out, size_t cap)
{
    absolute_output_pattern(pattern, out, cap);
    if (ss_output_has_pid(out)) {
        check_trace_directory(pattern, out);
        run_ring.trace_pattern = out;
        run_ring.run_start = ss_output_clock_ns();
        ss_drain_run_start(run_ring.run_start);
        return;
    }
    char path[PATH_MAX * 2];
    if (ss_expand_output(out, 0, path, sizeof path) > sizeof path)
        die("-o '%s': path too long (give a shorter one)", pattern);
    create_empty_trace_file(path);
}

/* --format=raw: the record file starts with the frame saying who wrote it
 * (raw_file.h), even if the run writes nothing else. */
static void start_record_file(const char *output)
{
    if (run_ring.trace_pattern != NULL)
        return; /* each process's file gets its own */
    if (run_ring.trace_fd < 0)
        die("--format=raw: -o '%s' is not a regular file; a record file must be one",
            output);
    struct ss_raw_start_frame start = ss_raw_start_frame();
    if (write(run_ring.trace_fd, &start, sizeof start) != (ssize_t)sizeof start)
        die("cannot write record file '%s': %s%s", output, strerror(errno),
            ss_write_error_hint(errno));
}

/* --pcap FILE: the file, empty, with its pcapng headers. */
static void prepare_capture(const char *path)
{
    run_ring.pcap_fd = ss_open_capture_file(path);
}

/* ------------------------------------------------------------ environment */

static void set_env(const char *name, const char *value)
{
    if (value == NULL ? unsetenv(name) != 0 : setenv(name, value, 1) != 0)
        die("cannot set %s: %s", name, strerror(errno));
}

/* The environment PROGRAM starts with. It is set here, in sockshim itself,
 * rather than between fork and exec, so that a failure is reported plainly;
 * sockshim makes no socket calls and execs nothing else, so it is not
 * affected. Settings not given as options are cleared: an inherited
 * SOCKSHIM_OUTPUT (say, from an outer sockshim) must not redirect this
 * trace, and the options alone say what the trace looks like. */
/* The rules, joined as SOCKSHIM_FAULTS reads them, and one seed for every
 * process of the run (the one given, the environment's, or a new one), so
 * that a run can be replayed exactly from the seed its trace shows. */
static void export_seed(const struct settings *s);

static void export_faults(const struct settings *s)
{
    set_env(SS_ENV_STRICT, s->strict ? "1" : NULL);
    if (s->n_rules == 0) {
        set_env(SS_ENV_FAULTS, NULL);
        if (s->control)
            export_seed(s); /* for the p= of rules added later */
        return;
    }
    size_t len = 1;
    for (size_t i = 0; i < s->n_rules; i++)
        len += strlen(s->rules[i].text) + 1;
    char *joined = calloc(1, len);
    if (joined == NULL)
        die("out of memory");
    for (size_t i = 0; i < s->n_rules; i++) {
        if (i > 0)
            strcat(joined, ";");
        strcat(joined, s->rules[i].text);
    }
    set_env(SS_ENV_FAULTS, joined);
    free(joined);
    export_seed(s);
}

/* One seed for every process of the run: the one given, the
 * environment's, or a new one. */
static void export_seed(const struct settings *s)
{
    const char *seed = s->seed != NULL ? s->seed : getenv(SS_ENV_SEED);
    uint64_t value;
    if (seed != NULL && *seed != '\0' && ss_parse_u64(seed, UINT64_MAX, &value) != 0)
        die("%s: bad seed '%s' (expected a whole number; unset it for a new seed)",
            SS_ENV_SEED, seed);
    char fresh[24];
    if (seed == NULL || *seed == '\0') {
        uint64_t r;
        if (getrandom(&r, sizeof r, GRND_NONBLOCK) != sizeof r)
            r = (uint64_t)time(NULL) ^ (uint64_t)getpid() << 20;
        snprintf(fresh, sizeof fresh, "%llu", (unsigned long long)(r % 1000000000000ull));
        seed = fresh;
    }
    set_env(SS_ENV_SEED, seed);
}

/* Without -o the trace goes to the stderr sockshim was started with (with
 * -o naming no regular file, to that file opened once). It is handed to
 * the program as an inheritable fd placed high, which every
 * process of the run finds again after exec: a program that redirects its
 * own stderr, or its children's (subprocess with capture_output), must not
 * find the trace in its data. */
static void export_channel(int from)
{
    int fd = fcntl(from, F_DUPFD, ss_high_fd_floor());
    if (from != 2)
        close(from);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        set_env(SS_ENV_OUTPUT_FD, NULL); /* no stderr: the library uses fd 2 */
        return;
    }
    struct ss_fd_ref channel = {fd, (unsigned long long)st.st_dev, (unsigned long long)st.st_ino,
                                0, -1};
    char value[96];
    ss_format_fd_ref(&channel, value, sizeof value);
    set_env(SS_ENV_OUTPUT_FD, value);
}

static void export_settings(const struct settings *s, const char *output,
                            const char *library)
{
    set_env(SS_ENV_OUTPUT, output);
    if (!run_ring.made)
        set_env(SS_ENV_SINK_RING, NULL);
    /* an outer run's board must not steer an uncontrolled run's faults */
    if (!rule_board_made) {
        set_env(SS_ENV_RULE_BOARD, NULL);
        set_env(SS_ENV_LIVE_STATS, NULL);
    }
    set_env(SS_ENV_PCAP, s->pcap != NULL ? "1" : NULL);
    if (output == NULL)
        export_channel(run_ring.trace_channel >= 0 ? run_ring.trace_channel : 2);
    else
        set_env(SS_ENV_OUTPUT_FD, NULL);
    /* the run's start: where -o %p files and the rules' at= count from
     * (with --control, of rules that may come later too) */
    char start[24];
    uint64_t started = run_ring.run_start != 0 ? run_ring.run_start : ss_output_clock_ns();
    snprintf(start, sizeof start, "%llu", (unsigned long long)started);
    set_env(SS_ENV_RUN_START,
            run_ring.run_start != 0 || rules_have_window(s) || s->control ? start : NULL);
    set_env(SS_ENV_FORMAT, s->format);
    set_env(SS_ENV_STRSIZE, s->strsize);
    set_env(SS_ENV_TRACE, s->trace);
    set_env(SS_ENV_SUMMARY, s->summary_only ? "only" : s->no_summary ? "off" : NULL);
    set_env(SS_ENV_CALLS, s->every_call ? "1" : NULL);
    set_env(SS_ENV_ALL_PROCESSES, s->all_processes ? "1" : NULL);
    export_faults(s);

    /* The user's own preloads keep their place in front of ours: a
     * sanitizer runtime must come first, and an allocator or another
     * interposer the user chose stays between the program and libc. */
    const char *preload = getenv("LD_PRELOAD");
    if (preload == NULL || preload[0] == '\0') {
        set_env("LD_PRELOAD", library);
        return;
    }
    char *joined;
    if (asprintf(&joined, "%s:%s", preload, library) < 0)
        die("cannot set LD_PRELOAD: %s", strerror(ENOMEM));
    set_env("LD_PRELOAD", joined);
    free(joined);
}

/* ---------------------------------------------------------------- running */

/* The only state shared with the signal handler: whom to forward to, 0 once
 * the child is gone. pid_t fits in sig_atomic_t (both int) on Linux. */
static volatile sig_atomic_t forward_to;

static const int forwarded_signals[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
enum { NFORWARDED = sizeof forwarded_signals / sizeof forwarded_signals[0] };

/* A signal some process sent to sockshim alone (kill, sigqueue, timeout...)
 * is passed on. One the kernel generated, like a terminal's Ctrl-C, went to
 * the whole foreground process group and so to the child already; those
 * have a positive si_code (SI_KERNEL), process-sent ones a non-positive one
 * (SI_USER is 0, SI_QUEUE and SI_TKILL are negative). */
static void forward_signal(int sig, siginfo_t *info, void *context)
{
    pid_t child = (pid_t)forward_to;
    if (child <= 0 || info->si_code > 0 || info->si_pid == child)
        return;
    int saved_errno = errno;
    kill(child, sig);
    errno = saved_errno;
}

static void block_forwarded_signals(sigset_t *old)
{
    sigset_t set;
    sigemptyset(&set);
    for (int i = 0; i < NFORWARDED; i++)
        sigaddset(&set, forwarded_signals[i]);
    sigprocmask(SIG_BLOCK, &set, old);
}

/* A signal sockshim was started with ignored (SIGINT in a background job of
 * a script, SIGHUP under nohup) stays ignored in sockshim, as in the child. */
static void install_forwarding(void)
{
    for (int i = 0; i < NFORWARDED; i++) {
        struct sigaction old;
        if (sigaction(forwarded_signals[i], NULL, &old) == 0 && old.sa_handler == SIG_IGN)
            continue;
        struct sigaction sa;
        memset(&sa, 0, sizeof sa);
        sa.sa_sigaction = forward_signal;
        sa.sa_flags = SA_SIGINFO | SA_RESTART;
        sigemptyset(&sa.sa_mask);
        sigaction(forwarded_signals[i], &sa, NULL);
    }
}

/* In the child, after fork: only async-signal-safe calls. If exec fails,
 * its errno goes up the close-on-exec pipe; a successful exec closes it. */
__attribute__((noreturn))
static void exec_in_child(const char *path, char *const argv[],
                          const sigset_t *original_mask, int report_fd)
{
    sigprocmask(SIG_SETMASK, original_mask, NULL);
    execv(path, argv);
    int err = errno;
    ssize_t ignored = write(report_fd, &err, sizeof err);
    (void)ignored;
    _exit(127);
}

/* The child's exec errno, or 0 once exec succeeded (EOF on the pipe). */
static int read_exec_error(int fd)
{
    int err;
    ssize_t n;
    do
        n = read(fd, &err, sizeof err);
    while (n < 0 && errno == EINTR);
    return n == (ssize_t)sizeof err ? err : 0;
}

/* Waits for the child and returns its wait status. The child is waited for
 * without being reaped first (WNOWAIT): as a zombie its pid cannot be
 * reused, so a signal forwarded meanwhile cannot hit a stranger. Forwarding
 * stops before the pid is released. */
static int wait_for_child(pid_t pid)
{
    siginfo_t info;
    while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) != 0)
        if (errno != EINTR)
            die("waiting for the program: %s", strerror(errno));
    forward_to = 0;
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waiting for the program: %s", strerror(errno));
    return status;
}

/* The status a shell would report for the child. */
static int exit_code_of(int status)
{
    if (WIFEXITED(status))
        return WEXITSTATUS(status);
    if (WIFSIGNALED(status))
        return 128 + WTERMSIG(status);
    return EXIT_SOCKSHIM_ERROR;
}

static const char *exec_error_hint(int err, const char *path)
{
    if (err == ENOENT && access(path, F_OK) == 0)
        return " (the file exists: its #! interpreter or dynamic loader is missing)";
    if (err == ENOENT)
        return " (check the name; one without '/' is looked for in PATH)";
    if (err == EACCES)
        return " (it is not executable: chmod +x it, or run it through its interpreter)";
    if (err == ENOEXEC)
        return " (not a program this system can run; a script needs a #! line)";
    return "";
}

/* Runs path with argv and returns the exit code sockshim should exit with. */
static int run_program(const char *path, char *const argv[])
{
    /* SIGCHLD must not be ignored or the child could not be waited for, and
     * the child should start with SIGPIPE at its default */
    signal(SIGCHLD, SIG_DFL);
    signal(SIGPIPE, SIG_DFL);

    int report[2];
    if (pipe2(report, O_CLOEXEC) != 0)
        die("cannot start '%s': pipe: %s (too many open files? see ulimit -n)", argv[0],
            strerror(errno));

    /* Forwarded signals are held from before fork until forward_to is set,
     * so one arriving in between is delivered late rather than lost. */
    sigset_t original_mask;
    block_forwarded_signals(&original_mask);
    pid_t pid = fork();
    if (pid < 0)
        die("cannot start '%s': fork: %s (too many processes? see ulimit -u)", argv[0],
            strerror(errno));
    if (pid == 0) {
        close(report[0]);
        exec_in_child(path, argv, &original_mask, report[1]);
    }
    forward_to = pid;
    if (run_ring.made) {
        if (ss_drain_start() != 0)
            warn("cannot start the trace drain: the trace is written when the program "
                 "exits");
    }
    if (ss_place_server_start() != 0)
        warn("cannot start answering where calls are: locations are written as "
             "module+offset");
    if (ss_control_start() != 0)
        warn("cannot start serving the control socket: 'sockshim ctl' cannot reach "
             "this run");
    install_forwarding();
    sigprocmask(SIG_SETMASK, &original_mask, NULL);

    close(report[1]);
    int err = read_exec_error(report[0]);
    close(report[0]);
    int status = wait_for_child(pid);
    ss_control_stop();
    ss_place_server_stop();
    if (run_ring.made) {
        ss_drain_child_ended(pid, status);
        ss_drain_finish();
    }
    ss_pcap_close();
    if (err != 0)
        die("cannot run '%s': %s%s", argv[0], strerror(err), exec_error_hint(err, path));
    return exit_code_of(status);
}

static const char *exec_error_hint(int err, const char *path);

/* What execve() would say of path's format before anything is started: an
 * ELF file, or a #! script whose interpreter exists and can be run, is
 * fine (0); anything else fails with ENOEXEC, a missing interpreter with
 * its errno. Catching these here, not after fork, keeps an existing trace
 * file untouched when the program cannot run. execve may still refuse for
 * reasons found only then (E2BIG, ETXTBSY); those are reported after. */
static int check_exec_format(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return 0; /* execute-only: execve will tell */
    char head[256];
    ssize_t n = read(fd, head, sizeof head - 1);
    close(fd);
    if (n >= SELFMAG && memcmp(head, ELFMAG, SELFMAG) == 0)
        return 0;
    if (n < 2 || head[0] != '#' || head[1] != '!')
        return ENOEXEC;
    head[n] = '\0';
    char *interp = head + 2;
    interp += strspn(interp, " \t");
    interp[strcspn(interp, " \t\n")] = '\0';
    if (*interp == '\0')
        return ENOEXEC;
    return access(interp, X_OK) == 0 ? 0 : errno;
}

/* ------------------------------------------------------------------- main */

int main(int argc, char *argv[])
{
    if (argc > 1 && strcmp(argv[1], "report") == 0)
        return ss_report_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "render") == 0)
        return ss_render_main(argc - 1, argv + 1);
    if (argc > 1 && strcmp(argv[1], "ctl") == 0)
        return ss_ctl_main(argc - 1, argv + 1);
    struct settings settings;
    parse_command_line(argc, argv, &settings);
    const char *name = settings.program_argv[0];

    char program[PATH_MAX];
    int err = resolve_program(name, program, sizeof program);
    if (err != 0)
        die("cannot run '%s': %s%s", name, strerror(err), exec_error_hint(err, name));

    char library[PATH_MAX];
    find_library(library);
    check_preloadable(library);

    err = check_exec_format(program);
    if (err != 0)
        die("cannot run '%s': %s%s", name, strerror(err), exec_error_hint(err, program));
    warn_if_shim_cannot_load(program);
    /* before any file is touched: an unsafe directory stops the run whole
     * (the socket is removed at exit, however the command ends) */
    if (settings.control)
        ss_control_open(settings.control_dir, name, settings.strict); /* as named */

    /* last, so that no earlier failure leaves a truncated trace behind */
    char output[PATH_MAX * 2];
    if (settings.output != NULL)
        prepare_output(settings.output, output, sizeof output);
    if (settings.pcap != NULL)
        prepare_capture(settings.pcap);
    if (settings.trace_format == SS_FORMAT_RAW)
        start_record_file(settings.output);
    make_ring();
    make_place_box();
    make_rule_board(&settings);
    if (settings.max_size != 0) {
        if (run_ring.trace_channel >= 0)
            die("--max-size: -o '%s' is not a regular file; --max-size keeps a file within "
                "a size",
                settings.output);
        if (!run_ring.made)
            die("--max-size: cannot make the trace's shared memory: %s (check the memory "
                "limits, ulimit -v; or run without --max-size)",
                strerror(errno));
        ss_drain_limit(settings.max_size);
    }
    if (run_ring.made)
        ss_drain_format(settings.trace_format);

    export_settings(&settings,
                    settings.output != NULL && run_ring.trace_channel < 0 ? output : NULL,
                    library);
    int status = run_program(program, settings.program_argv);
    /* a %p file refused during the run: the trace is incomplete */
    return ss_drain_refused() ? 2 : status;
}
