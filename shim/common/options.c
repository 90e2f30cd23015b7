/* sockshim: the settings a user gives, and their one parser. */
#include "options.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>

#include "fmt.h"

const char *const ss_op_names[SS_OP_COUNT] = {
#define SS_OP_NAME(name, group, way) #name,
    SS_OPS(SS_OP_NAME)
#undef SS_OP_NAME
};

static const char *const op_groups[] = {
#define SS_OP_GROUP(name, group, way) #group,
    SS_OPS(SS_OP_GROUP)
#undef SS_OP_GROUP
};

static const char *const fn_names[] = {
#define SS_FN_NAME(ret, name, ...) #name,
    SS_ENTRIES(SS_FN_NAME)
#undef SS_FN_NAME
};

static const char *const group_names[] = {
#define SS_GROUP_NAME(g) #g,
    SS_GROUPS(SS_GROUP_NAME)
#undef SS_GROUP_NAME
    "all"};

const char *ss_op_name(enum ss_op op)
{
    return (unsigned)op < SS_OP_COUNT ? ss_op_names[op] : "?";
}

int ss_op_from_name(const char *name)
{
    for (int op = 0; op < SS_OP_COUNT; op++)
        if (strcmp(ss_op_names[op], name) == 0)
            return op;
    return -1;
}

const char *ss_op_group(enum ss_op op)
{
    return (unsigned)op < SS_OP_COUNT ? op_groups[op] : "?";
}

const char *ss_fn_name(enum ss_fn fn)
{
    return (unsigned)fn < SS_FN_COUNT ? fn_names[fn] : "?";
}

/* Writes a message into e; the token is quoted as given, cut to fit. */
static int fail(struct ss_parse_error *e, const char *what, const char *token,
                size_t toklen, const char *hint)
{
    if (e == NULL)
        return -1;
    struct ss_out o;
    ss_out_init(&o, e->msg, sizeof e->msg - 1);
    ss_out_str(&o, what);
    ss_out_str(&o, " '");
    for (size_t i = 0; i < toklen && i < 64; i++)
        (void)ss_out_shown_byte(&o, (unsigned char)token[i]);
    if (toklen > 64)
        ss_out_str(&o, "...");
    ss_out_char(&o, '\'');
    if (hint != NULL) {
        ss_out_str(&o, " (");
        ss_out_str(&o, hint);
        ss_out_char(&o, ')');
    }
    e->msg[o.len < o.cap ? o.len : o.cap] = '\0';
    return -1;
}

int ss_parse_format(const char *s, enum ss_format *out, struct ss_parse_error *e)
{
    if (strcmp(s, "text") == 0) {
        *out = SS_FORMAT_TEXT;
        return 0;
    }
    if (strcmp(s, "json") == 0 || strcmp(s, "jsonl") == 0) {
        *out = SS_FORMAT_JSON;
        return 0;
    }
    if (strcmp(s, "raw") == 0) {
        *out = SS_FORMAT_RAW;
        return 0;
    }
    return fail(e, "unknown trace format", s, strlen(s), "expected 'text', 'json' or 'raw'");
}

int ss_parse_summary(const char *s, enum ss_summary *out, struct ss_parse_error *e)
{
    static const char *const names[] = {"on", "off", "only"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum ss_summary)i;
            return 0;
        }
    }
    return fail(e, "unknown summary setting", s, strlen(s), "expected on, off or only");
}

int ss_parse_flag(const char *s, int *out, struct ss_parse_error *e)
{
    if (strcmp(s, "0") == 0 || strcmp(s, "1") == 0) {
        *out = s[0] == '1';
        return 0;
    }
    return fail(e, "bad setting", s, strlen(s), "expected 0 or 1");
}

int ss_parse_strsize(const char *s, unsigned *out, struct ss_parse_error *e)
{
    uint64_t v;
    if (ss_parse_u64(s, SS_STRSIZE_MAX, &v) != 0)
        return fail(e, "bad string size", s, strlen(s),
                    "expected a whole number of bytes from 0 to 1048576");
    *out = (unsigned)v;
    return 0;
}

static int lookup_op(const char *tok, size_t len)
{
    for (int i = 0; i < SS_OP_COUNT; i++)
        if (strlen(ss_op_names[i]) == len && memcmp(ss_op_names[i], tok, len) == 0)
            return i;
    return -1;
}

static int group_mask(const char *tok, size_t len, ss_opmask *mask)
{
    if (len == 3 && memcmp(tok, "all", 3) == 0) {
        *mask = SS_OPMASK_ALL;
        return 0;
    }
    for (int i = 0; i < SS_OP_COUNT; i++) {
        if (strlen(op_groups[i]) == len && memcmp(op_groups[i], tok, len) == 0)
            *mask |= (ss_opmask)1 << i;
    }
    return *mask != 0 ? 0 : -1;
}

/* One element of an -e list: a method, %group, "all" or "none". A method
 * named by itself also goes into named. */
static int parse_op_token(const char *list, const char *tok, size_t len, ss_opmask *mask,
                          ss_opmask *named, struct ss_parse_error *e)
{
    if (len == 0)
        return fail(e, "empty method name in", list, strlen(list), "remove the extra comma");
    if (tok[0] == '%') {
        ss_opmask m = 0;
        if (group_mask(tok + 1, len - 1, &m) != 0) {
            const char *near = ss_closest_name(tok + 1, len - 1, group_names,
                                               sizeof group_names / sizeof group_names[0]);
            char hint[96];
            if (near != NULL)
                snprintf(hint, sizeof hint, "did you mean '%%%s'?", near);
            else
                snprintf(hint, sizeof hint, "groups are %s", SS_GROUP_LIST);
            return fail(e, "unknown method group", tok, len, hint);
        }
        *mask |= m;
        return 0;
    }
    if (len == 3 && memcmp(tok, "all", 3) == 0) {
        *mask |= SS_OPMASK_ALL;
        return 0;
    }
    if (len == 4 && memcmp(tok, "none", 4) == 0)
        return 0;
    if (len == 7 && memcmp(tok, "resolve", 7) == 0) /* a group that is no method's name */
        return group_mask(tok, len, mask);
    int op = lookup_op(tok, len);
    if (op < 0) {
        const char *near = ss_closest_name(tok, len, ss_op_names, SS_OP_COUNT);
        char hint[96];
        if (near != NULL)
            snprintf(hint, sizeof hint, "did you mean '%s'?", near);
        else
            snprintf(hint, sizeof hint, "'sockshim --help' lists the methods");
        return fail(e, "unknown method", tok, len, hint);
    }
    *mask |= (ss_opmask)1 << op;
    *named |= (ss_opmask)1 << op;
    return 0;
}

int ss_parse_opmask(const char *s, ss_opmask *out, struct ss_parse_error *e)
{
    ss_opmask named;
    return ss_parse_trace(s, out, &named, e);
}

int ss_parse_trace(const char *s, ss_opmask *traced, ss_opmask *named,
                   struct ss_parse_error *e)
{
    if (strncmp(s, "trace=", 6) == 0)
        s += 6;
    int negate = 0;
    if (*s == '!') {
        negate = 1;
        s++;
    }
    if (*s == '\0')
        return fail(e, "empty method list", s, 0, "name methods such as 'connect,accept'");
    ss_opmask mask = 0, by_name = 0;
    for (const char *tok = s;;) {
        const char *end = strchr(tok, ',');
        size_t len = end != NULL ? (size_t)(end - tok) : strlen(tok);
        if (parse_op_token(s, tok, len, &mask, &by_name, e) != 0)
            return -1;
        if (end == NULL)
            break;
        tok = end + 1;
    }
    /* "!close": what a trace shows by default, but close */
    *traced = negate ? (SS_OPMASK_DEFAULT & ~mask) : mask;
    *named = negate ? 0 : by_name; /* "!fork" asks not to see it */
    return 0;
}

int ss_parse_output(const char *s, struct ss_parse_error *e)
{
    if (*s == '\0')
        return fail(e, "empty output path", s, 0, "give a file name, e.g. -o trace.txt");
    for (const char *p = s; *p != '\0'; p++) {
        if (*p != '%')
            continue;
        if (p[1] == 'p' || p[1] == '%') {
            p++;
            continue;
        }
        return fail(e, "bad escape in output path", s, strlen(s),
                    "only %p (the pid) and %% are expanded");
    }
    return 0;
}

/* Parses one decimal field ended by stop ('\0' or ':'); NULL on error. */
static const char *parse_field(const char *s, char stop, unsigned long long *out)
{
    char digits[24];
    size_t n = 0;
    while (s[n] != stop && s[n] != '\0' && n < sizeof digits - 1) {
        digits[n] = s[n];
        n++;
    }
    if (s[n] != stop)
        return NULL;
    digits[n] = '\0';
    uint64_t v;
    if (ss_parse_u64(digits, UINT64_MAX, &v) != 0)
        return NULL;
    *out = v;
    return s + n + (stop != '\0');
}

int ss_parse_fd_ref(const char *s, struct ss_fd_ref *out, struct ss_parse_error *e)
{
    unsigned long long fd, pid = 0, holder_fd = 0;
    const char *p = parse_field(s, ':', &fd);
    if (p != NULL)
        p = parse_field(p, ':', &out->dev);
    if (p != NULL && strchr(p, ':') == NULL) {
        p = parse_field(p, '\0', &out->ino);
    } else if (p != NULL) {
        p = parse_field(p, ':', &out->ino);
        if (p != NULL)
            p = parse_field(p, ':', &pid);
        if (p != NULL)
            p = parse_field(p, '\0', &holder_fd);
        if (pid == 0 || pid > SS_PID_LIMIT)
            p = NULL;
    }
    if (p == NULL || fd > 1u << 30 || holder_fd > 1u << 30)
        return fail(e, "bad inherited fd", s, strlen(s), "expected FD:DEV:INODE[:PID:FD]");
    out->fd = (int)fd;
    out->holder_pid = (int)pid;
    out->holder_fd = pid != 0 ? (int)holder_fd : -1;
    return 0;
}

size_t ss_format_fd_ref(const struct ss_fd_ref *v, char *buf, size_t cap)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap);
    ss_out_u64(&o, (uint64_t)v->fd);
    ss_out_char(&o, ':');
    ss_out_u64(&o, v->dev);
    ss_out_char(&o, ':');
    ss_out_u64(&o, v->ino);
    if (v->holder_pid > 0) {
        ss_out_char(&o, ':');
        ss_out_u64(&o, (uint64_t)v->holder_pid);
        ss_out_char(&o, ':');
        ss_out_u64(&o, (uint64_t)v->holder_fd);
    }
    ss_out_char(&o, '\0');
    if (cap > 0 && o.len > cap)
        buf[cap - 1] = '\0';
    return o.len;
}

/* The descriptor named by what follows prefix in path, or -1. */
static int descriptor_after(const char *path, const char *prefix)
{
    size_t n = strlen(prefix);
    uint64_t fd;
    if (strncmp(path, prefix, n) != 0 || ss_parse_u64(path + n, 1u << 30, &fd) != 0)
        return -1;
    return (int)fd;
}

int ss_output_descriptor(const char *path)
{
    if (strcmp(path, "/dev/stdout") == 0)
        return 1;
    if (strcmp(path, "/dev/stderr") == 0)
        return 2;
    int fd = descriptor_after(path, "/dev/fd/");
    return fd >= 0 ? fd : descriptor_after(path, "/proc/self/fd/");
}

const char *ss_output_refusal(const struct stat *st, unsigned uid, enum ss_output_origin origin)
{
    int named = origin == SS_OUTPUT_NAMED;
    if (S_ISREG(st->st_mode)) {
        if (st->st_uid != uid)
            return "belongs to another user";
        /* a link another user planted to one of the user's files
         * (~/.profile) must not be emptied or filled with a trace */
        if (named && st->st_nlink > 1)
            return "has another hard link (a second name for the same file)";
        return NULL;
    }
    if (S_ISFIFO(st->st_mode) || S_ISSOCK(st->st_mode)) {
        /* whoever made a FIFO in a shared directory reads what goes in */
        if (named && st->st_uid != uid)
            return S_ISFIFO(st->st_mode) ? "is a FIFO that belongs to another user"
                                         : "is a socket that belongs to another user";
        return NULL;
    }
    if (S_ISCHR(st->st_mode))
        return NULL; /* a terminal, /dev/null: only root makes device nodes */
    if (S_ISDIR(st->st_mode))
        return "is a directory";
    return "is not a regular file, a terminal, a pipe or a socket";
}

const char *ss_output_open_refusal(const char *path, int err, unsigned uid)
{
    struct stat st;
    if ((err != ELOOP && err != ENXIO) || lstat(path, &st) != 0)
        return NULL;
    if (err == ELOOP && S_ISLNK(st.st_mode))
        return "is a symbolic link, which sockshim does not follow";
    if (err != ENXIO || (!S_ISFIFO(st.st_mode) && !S_ISSOCK(st.st_mode)))
        return NULL;
    const char *why = ss_output_refusal(&st, uid, SS_OUTPUT_NAMED);
    if (why != NULL)
        return why;
    return S_ISFIFO(st.st_mode) ? "is a FIFO that no one reads (start its reader first)"
                                : "is a socket, which cannot be opened as a file";
}

uint64_t ss_output_clock_ns(void)
{
    /* The kernel stamps files from the coarse clock (or later): a file made
     * after this reading has a ctime no earlier than it. */
    struct timespec ts;
    if (clock_gettime(CLOCK_REALTIME_COARSE, &ts) != 0)
        return 0;
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int ss_output_made_by_run(const struct stat *st, uint64_t run_start_ns)
{
    if (run_start_ns == 0 || st->st_ctim.tv_sec < 0)
        return 0;
    uint64_t changed = (uint64_t)st->st_ctim.tv_sec * 1000000000u + (uint64_t)st->st_ctim.tv_nsec;
    return changed >= run_start_ns;
}

int ss_output_has_pid(const char *pattern)
{
    for (const char *p = pattern; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 'p')
            return 1;
        if (p[0] == '%' && p[1] == '%')
            p++;
    }
    return 0;
}

size_t ss_expand_output(const char *pattern, long pid, char *buf, size_t cap)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap);
    for (const char *p = pattern; *p != '\0'; p++) {
        if (p[0] == '%' && p[1] == 'p') {
            ss_out_i64(&o, pid);
            p++;
        } else if (p[0] == '%' && p[1] == '%') {
            ss_out_char(&o, '%');
            p++;
        } else {
            ss_out_char(&o, *p);
        }
    }
    ss_out_char(&o, '\0');
    if (cap > 0 && o.len > cap)
        buf[cap - 1] = '\0';
    return o.len;
}

/* Damerau-free Levenshtein distance, bounded to short words. */
static size_t edit_distance(const char *a, size_t la, const char *b, size_t lb)
{
    size_t row[33];
    if (la > 32 || lb > 32)
        return (size_t)-1;
    for (size_t j = 0; j <= lb; j++)
        row[j] = j;
    for (size_t i = 1; i <= la; i++) {
        size_t diag = row[0];
        row[0] = i;
        for (size_t j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;
            if (row[j] + 1 < best)
                best = row[j] + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    return row[lb];
}

const char *ss_closest_name(const char *word, size_t wordlen,
                            const char *const *names, size_t n)
{
    const char *best = NULL;
    size_t best_d = (size_t)-1;
    for (size_t i = 0; i < n; i++) {
        size_t d = edit_distance(word, wordlen, names[i], strlen(names[i]));
        if (d < best_d) {
            best_d = d;
            best = names[i];
        }
    }
    /* a typo is at most two edits away, and fewer than half the word */
    if (best == NULL || best_d == 0 || best_d > 2 || best_d * 2 > wordlen)
        return NULL;
    return best;
}

int ss_high_fd_floor(void)
{
    struct rlimit rl;
    long floor = 1000;
    if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY &&
        (long)rl.rlim_cur - 24 < floor)
        floor = (long)rl.rlim_cur - 24;
    return floor < 10 ? 10 : (int)floor;
}
