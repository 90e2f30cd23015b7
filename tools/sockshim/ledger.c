/* sockshim: the command's side of the ledger (ledger.h). */
#include "ledger.h"

#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>

#include "escape.h"
#include "fmt.h"
#include "ledger_event.h"
#include "locate.h"
#include "options.h"
#include "sockshim/findings.h"
#include "xlat.h"

struct sock_rec {
    uint64_t id, created_ns, offset;
    int fd, family, type, protocol;
    unsigned created_by;
    const char *module; /* interned; NULL: not known */
};

struct proc {
    int pid;          /* 0: free slot; TOMBSTONE: a removed one */
    char *name;
    int ended;        /* it wrote its summary itself */
    int foreign;      /* its pid is of another pid namespace: not looked up */
    int marked;       /* ss_ledger_look found it ended */
    int has_status, status;
    struct sock_rec *socks;
    size_t n_socks, cap_socks;
};

#define TOMBSTONE (-1)

static struct {
    struct proc *procs; /* open addressing on pid */
    size_t cap, used;   /* used: live and tombstones */
    char **modules;
    size_t n_modules;
    enum ss_ledger_formats formats;
    ss_ledger_write_fn *write;
} L;

void ss_ledger_setup(enum ss_ledger_formats formats, ss_ledger_write_fn *write)
{
    L.formats = formats;
    L.write = write;
}

/* ---- the table of processes -------------------------------------------- */

static size_t slot_of(int pid, size_t cap)
{
    return ((uint32_t)pid * 2654435761u) & (cap - 1);
}

static void forget(struct proc *p)
{
    free(p->name);
    free(p->socks);
    memset(p, 0, sizeof *p);
    p->pid = TOMBSTONE;
}

static int grow(void)
{
    size_t cap = L.cap != 0 ? L.cap * 2 : 64;
    struct proc *procs = calloc(cap, sizeof *procs);
    if (procs == NULL)
        return -1;
    size_t used = 0;
    for (size_t i = 0; i < L.cap; i++) {
        if (L.procs[i].pid <= 0)
            continue;
        size_t j = slot_of(L.procs[i].pid, cap);
        while (procs[j].pid != 0)
            j = (j + 1) & (cap - 1);
        procs[j] = L.procs[i];
        used++;
    }
    free(L.procs);
    L.procs = procs;
    L.cap = cap;
    L.used = used;
    return 0;
}

/* pid's entry, made when missing (NULL when memory runs out) */
static struct proc *proc_of(int pid)
{
    if (pid <= 0)
        return NULL;
    if (L.cap != 0) {
        for (size_t i = slot_of(pid, L.cap);; i = (i + 1) & (L.cap - 1)) {
            if (L.procs[i].pid == pid)
                return &L.procs[i];
            if (L.procs[i].pid == 0)
                break;
        }
    }
    if ((L.used + 1) * 2 > L.cap && grow() != 0)
        return NULL;
    size_t i = slot_of(pid, L.cap);
    while (L.procs[i].pid > 0)
        i = (i + 1) & (L.cap - 1);
    if (L.procs[i].pid == 0)
        L.used++;
    memset(&L.procs[i], 0, sizeof L.procs[i]);
    L.procs[i].pid = pid;
    return &L.procs[i];
}

static const char *intern_module(const char *s, size_t n)
{
    for (size_t i = 0; i < L.n_modules; i++)
        if (strlen(L.modules[i]) == n && memcmp(L.modules[i], s, n) == 0)
            return L.modules[i];
    char **more = realloc(L.modules, (L.n_modules + 1) * sizeof *more);
    if (more == NULL)
        return NULL;
    L.modules = more;
    char *copy = strndup(s, n);
    if (copy == NULL)
        return NULL;
    return L.modules[L.n_modules++] = copy;
}

/* ---- events -------------------------------------------------------------- */

static void opened(struct proc *p, const struct ss_ledger_event *ev, const char *payload)
{
    if (p->n_socks == p->cap_socks) {
        size_t cap = p->cap_socks != 0 ? p->cap_socks * 2 : 8;
        struct sock_rec *more = realloc(p->socks, cap * sizeof *more);
        if (more == NULL)
            return;
        p->socks = more;
        p->cap_socks = cap;
    }
    p->socks[p->n_socks++] = (struct sock_rec){
        .id = ev->sock_id,
        .created_ns = ev->ts_ns,
        .offset = ev->offset,
        .fd = ev->fd,
        .family = ev->family,
        .type = ev->type,
        .protocol = ev->protocol,
        .created_by = ev->created_by,
        .module = ev->len != 0 ? intern_module(payload, ev->len) : NULL,
    };
}

static void closed(struct proc *p, uint64_t id)
{
    for (size_t i = p->n_socks; i-- > 0;) { /* the newest go first, mostly */
        if (p->socks[i].id == id) {
            memmove(&p->socks[i], &p->socks[i + 1], (p->n_socks - i - 1) * sizeof *p->socks);
            p->n_socks--;
            return;
        }
    }
}

/* A process image says its name before anything else: a second name is
 * a new image (an exec), whose sockets are adopted, not made. */
/* The command's pid namespace (its inode), or 0 when not known. */
static uint64_t own_pid_namespace(void)
{
    static uint64_t ino = UINT64_MAX;
    struct stat ns;
    if (ino == UINT64_MAX)
        ino = stat("/proc/self/ns/pid", &ns) == 0 ? (uint64_t)ns.st_ino : 0;
    return ino;
}

static void named(struct proc *p, const char *payload, size_t len, uint64_t pid_namespace)
{
    /* a process in a container has pids of its own: /proc here would
     * answer for another process of the same number */
    p->foreign = pid_namespace == 0 || pid_namespace != own_pid_namespace();
    if (p->name != NULL) {
        p->ended = 0;
        p->n_socks = 0;
    }
    char *name = strndup(payload, len);
    if (name != NULL) {
        free(p->name);
        p->name = name;
    }
}

void ss_ledger_event(int pid, const void *event, size_t len)
{
    struct ss_ledger_event ev;
    if (len < sizeof ev)
        return;
    memcpy(&ev, event, sizeof ev);
    /* the ring is the program's memory: a length it did not write whole
     * is taken as none */
    if (ev.len > SS_LEDGER_MAX_PAYLOAD || sizeof ev + ev.len > len)
        ev.len = 0;
    const char *payload = (const char *)event + sizeof ev;
    struct proc *p = proc_of(pid);
    if (p == NULL)
        return;
    switch (ev.kind) {
    case SS_LEDGER_NAME:
        named(p, payload, ev.len, ev.offset);
        break;
    case SS_LEDGER_OPEN:
        opened(p, &ev, payload);
        break;
    case SS_LEDGER_CLOSE:
        closed(p, ev.sock_id);
        break;
    case SS_LEDGER_END:
        p->ended = 1;
        break;
    case SS_LEDGER_RESUME:
        p->ended = 0;
        break;
    default:
        break;
    }
}

void ss_ledger_saw_line(int pid)
{
    (void)proc_of(pid);
}

void ss_ledger_look(ss_ledger_life_fn *life)
{
    for (size_t i = 0; i < L.cap; i++) {
        struct proc *p = &L.procs[i];
        /* a process is looked up once its name has said from which pid
         * namespace it is */
        if (p->pid <= 0 || p->marked || p->foreign || p->name == NULL)
            continue;
        enum ss_ledger_life now = life(p->pid, &p->status);
        p->marked = now != SS_LIFE_RUNNING;
        p->has_status = now == SS_LIFE_STATUS;
    }
}

/* ---- the summary ---------------------------------------------------------- */

/* "killed by SIGKILL", "killed by SIGSEGV (core dumped)", "exited 3" */
static void describe_end(const struct proc *p, char *out, size_t cap)
{
    if (!p->has_status)
        snprintf(out, cap, "ended (how: not known, its parent reaped it)");
    else if (WIFSIGNALED(p->status))
        snprintf(out, cap, "killed by SIG%s%s", sigabbrev_np(WTERMSIG(p->status)) != NULL
                                                   ? sigabbrev_np(WTERMSIG(p->status))
                                                   : "?",
                 WCOREDUMP(p->status) ? " (core dumped)" : "");
    else
        snprintf(out, cap, "exited %d", WEXITSTATUS(p->status));
}

static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash != NULL ? slash + 1 : path;
}

/* Where a socket was made, as the library writes a place: "main
 * (end_ways.c:57)" from the module's debug information (locate.h),
 * "main (end_ways+0x121d)" without a line, "end_ways+0x121d" with
 * nothing better. */
static void out_where(struct ss_out *o, const struct sock_rec *s)
{
    if (s->module == NULL) {
        ss_out_char(o, '?');
        return;
    }
    struct ss_place place;
    int known = ss_locate(s->module, s->offset, &place) == 0;
    if (known) {
        ss_out_safe(o, place.function[0] != '\0' ? place.function : "??");
        ss_out_str(o, " (");
    }
    if (known && place.line > 0) {
        ss_out_safe(o, base_name(place.file));
        ss_out_char(o, ':');
        ss_out_i64(o, place.line);
    } else {
        ss_out_safe(o, base_name(s->module));
        ss_out_char(o, '+');
        ss_out_hex(o, s->offset);
    }
    if (known)
        ss_out_char(o, ')');
}

void ss_command_line_prefix(struct ss_out *o, int pid, uint64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    localtime_r(&secs, &tm);
    ss_out_u64_width(o, (uint64_t)tm.tm_hour, 2);
    ss_out_char(o, ':');
    ss_out_u64_width(o, (uint64_t)tm.tm_min, 2);
    ss_out_char(o, ':');
    ss_out_u64_width(o, (uint64_t)tm.tm_sec, 2);
    ss_out_char(o, '.');
    ss_out_u64_width(o, (ns % 1000000000u) / 1000u, 6);
    ss_out_str(o, " [");
    ss_out_i64(o, pid);
    ss_out_str(o, "] # ");
}

static void out_prefix(struct ss_out *o, int pid, uint64_t ns)
{
    ss_command_line_prefix(o, pid, ns);
}

static const char *leak_text(void)
{
    return ss_finding_text(SS_FIND_leak);
}

static void out_leak(struct ss_out *o, const struct sock_rec *s)
{
    ss_out_str(o, "finding leak sock");
    ss_out_i64(o, s->fd);
    ss_out_str(o, ": ");
    ss_out_str(o, leak_text());
    ss_out_str(o, " at ");
    out_where(o, s);
}

static void emit(int pid, struct ss_out *o)
{
    if (o->len < o->cap)
        L.write(pid, o->buf, o->len);
}

static void text_summary(const struct proc *p, uint64_t now)
{
    char buf[8192], how[96];
    struct ss_out o;
    describe_end(p, how, sizeof how);
    for (size_t i = 0; i < p->n_socks; i++) { /* the findings, as they come */
        ss_out_init(&o, buf, sizeof buf);
        out_prefix(&o, p->pid, now);
        out_leak(&o, &p->socks[i]);
        ss_out_char(&o, '\n');
        emit(p->pid, &o);
    }
    ss_out_init(&o, buf, sizeof buf);
    out_prefix(&o, p->pid, now);
    ss_out_str(&o, "summary of pid ");
    ss_out_i64(&o, p->pid);
    ss_out_char(&o, ' ');
    const char *name = p->name != NULL ? p->name : "?";
    ss_out_pystr(&o, name, strlen(name)); /* as the process's own summary names it */
    ss_out_str(&o, ", ");
    ss_out_str(&o, how);
    ss_out_str(&o, " (written by sockshim: the process ran no code at its end): ");
    ss_out_u64(&o, p->n_socks);
    ss_out_str(&o, p->n_socks == 1 ? " socket open, " : " sockets open, ");
    ss_out_u64(&o, p->n_socks);
    ss_out_str(&o, p->n_socks == 1 ? " finding\n" : " findings\n");
    emit(p->pid, &o);
    for (size_t i = 0; i < p->n_socks; i++) {
        const struct sock_rec *s = &p->socks[i];
        ss_out_init(&o, buf, sizeof buf);
        out_prefix(&o, p->pid, now);
        ss_out_str(&o, "sock");
        ss_out_i64(&o, s->fd);
        ss_out_str(&o, "  ");
        ss_out_xlat(&o, &ss_xlat_af, s->family);
        ss_out_char(&o, '/');
        ss_out_xlat(&o, &ss_xlat_socktype, s->type);
        ss_out_str(&o, "  open at its end, created by ");
        ss_out_str(&o, s->created_by < SS_FN_COUNT ? ss_fn_name(s->created_by) : "?");
        ss_out_str(&o, "() at ");
        out_where(&o, s);
        ss_out_char(&o, '\n');
        emit(p->pid, &o);
    }
    for (size_t i = 0; i < p->n_socks; i++) {
        ss_out_init(&o, buf, sizeof buf);
        out_prefix(&o, p->pid, now);
        out_leak(&o, &p->socks[i]);
        ss_out_str(&o, " (once)\n");
        emit(p->pid, &o);
    }
}

/* ---- JSON ---------------------------------------------------------------- */

/* obj.key = s as the library writes a string (ss_out_json_text_member,
 * docs/trace-format.md "Strings"): each byte that is not UTF-8 becomes
 * U+FFFD, and key_hex beside it holds the exact bytes; NULL is null. */
static void set_text(json_t *obj, const char *key, const char *s)
{
    if (s == NULL) {
        json_object_set_new(obj, key, json_null());
        return;
    }
    size_t n = strlen(s);
    if (ss_utf8_valid(s, n)) {
        json_object_set_new(obj, key, json_stringn(s, n));
        return;
    }
    char replaced[3 * SS_LEDGER_MAX_PAYLOAD + 8], hex[2 * SS_LEDGER_MAX_PAYLOAD + 8];
    char twin[64];
    struct ss_out o;
    ss_out_init(&o, replaced, sizeof replaced);
    ss_out_utf8_replaced(&o, s, n);
    size_t rn = o.len;
    ss_out_init(&o, hex, sizeof hex);
    ss_out_hexbytes(&o, s, n);
    size_t hn = o.len;
    snprintf(twin, sizeof twin, "%s" SS_JSON_HEX_SUFFIX, key);
    if (rn > sizeof replaced || hn > sizeof hex) { /* longer than a ledger string can be */
        json_object_set_new(obj, key, json_null());
        return;
    }
    json_object_set_new(obj, key, json_stringn(replaced, rn));
    json_object_set_new(obj, twin, json_stringn(hex, hn));
}

static json_t *json_iso8601(uint64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000u);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char buf[64];
    snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%06luZ", tm.tm_year + 1900,
             tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
             (unsigned long)((ns % 1000000000u) / 1000u));
    return json_string(buf);
}

static json_t *json_name(const struct ss_xlat *t, long v)
{
    const char *name = ss_xlat_name(t, v);
    return name != NULL ? json_string(name) : json_integer(v);
}

/* As the library's "sock", with what the ledger knows: no addresses, no
 * state, the blocking mode not known. */
static json_t *json_sock(const struct sock_rec *s)
{
    return json_pack("{s:I, s:o, s:o, s:i, s:n, s:n, s:[], s:n}", "id", (json_int_t)s->id,
                     "family", json_name(&ss_xlat_af, s->family), "type",
                     json_name(&ss_xlat_socktype, s->type), "proto", s->protocol, "laddr",
                     "raddr", "state", "blocking");
}

/* As the library's where: the same fields, the text as out_where says;
 * unknown parts null (no address: the process's memory is gone). */
static json_t *json_where(const struct sock_rec *s)
{
    char text[2048], offset[32];
    struct ss_out o;
    ss_out_init(&o, text, sizeof text);
    out_where(&o, s);
    text[o.len < sizeof text ? o.len : sizeof text - 1] = '\0';
    snprintf(offset, sizeof offset, "0x%llx", (unsigned long long)s->offset);
    struct ss_place place;
    int known = s->module != NULL && ss_locate(s->module, s->offset, &place) == 0;
    json_t *where = json_object();
    json_object_set_new(where, "address", json_null());
    set_text(where, "module", s->module);
    json_object_set_new(where, "offset", json_string(offset));
    json_object_set_new(where, "symbol", json_null());
    set_text(where, "function", known && place.function[0] != '\0' ? place.function : NULL);
    set_text(where, "file", known && place.line > 0 ? place.file : NULL);
    json_object_set_new(where, "line", known && place.line > 0 ? json_integer(place.line)
                                                               : json_null());
    set_text(where, "text", text);
    return where;
}

static json_t *json_leak(const struct sock_rec *s)
{
    return json_pack("{s:s, s:s, s:i, s:o, s:o}", "code", "leak", "message", leak_text(), "fd",
                     s->fd, "sock", json_sock(s), "where", json_where(s));
}

static json_t *json_head(const char *type, const struct proc *p, uint64_t now)
{
    return json_pack("{s:i, s:s, s:o, s:i, s:i}", "v", SOCKSHIM_JSON_SCHEMA, "type", type, "ts",
                     json_iso8601(now), "pid", p->pid, "tid", p->pid);
}

/* {"by": "signal", "signal": "SIGKILL", "core_dumped": false, ...},
 * {"by": "exit", "status": 3, ...} or {"by": "unknown", ...} */
static json_t *json_end(const struct proc *p)
{
    json_t *end = json_pack("{s:s, s:n, s:n}", "by", "unknown", "status", "program");
    if (p->has_status && WIFSIGNALED(p->status)) {
        char name[32];
        const char *abbrev = sigabbrev_np(WTERMSIG(p->status));
        snprintf(name, sizeof name, "SIG%s", abbrev != NULL ? abbrev : "?");
        json_object_set_new(end, "by", json_string("signal"));
        json_object_set_new(end, "signal", json_string(name));
        json_object_set_new(end, "core_dumped", json_boolean(WCOREDUMP(p->status)));
    } else if (p->has_status) {
        json_object_set_new(end, "by", json_string("exit"));
        json_object_set_new(end, "status", json_integer(WEXITSTATUS(p->status)));
    }
    return end;
}

static void emit_json(int pid, json_t *j)
{
    char *text = json_dumps(j, JSON_PRESERVE_ORDER | JSON_ENSURE_ASCII); /* schema 2: ASCII */
    json_decref(j);
    if (text == NULL)
        return;
    size_t n = strlen(text);
    text[n] = '\n'; /* over the NUL: the length says where it ends */
    L.write(pid, text, n + 1);
    free(text);
}

static void json_summary(const struct proc *p, uint64_t now)
{
    json_t *sockets = json_array(), *findings = json_array();
    for (size_t i = 0; i < p->n_socks; i++) {
        const struct sock_rec *s = &p->socks[i];
        json_t *finding = json_head("finding", p, now);
        json_object_update(finding, json_leak(s));
        emit_json(p->pid, finding);
        json_array_append_new(
            sockets, json_pack("{s:i, s:o, s:n, s:n, s:s, s:o, s:n, s:s, s:o, s:[]}", "fd", s->fd,
                               "sock", json_sock(s), "bytes_sent", "bytes_received",
                               "created_by",
                               s->created_by < SS_FN_COUNT ? ss_fn_name(s->created_by) : "",
                               "created", json_iso8601(s->created_ns), "closed", "at_end",
                               "open", "where", json_where(s), "options"));
        json_t *listed = json_leak(s);
        json_object_set_new(listed, "count", json_integer(1));
        json_object_set_new(listed, "first", json_iso8601(now));
        json_array_append_new(findings, listed);
    }
    json_t *summary = json_head("summary", p, now);
    set_text(summary, "exe", p->name);
    json_object_set_new(summary, "end", json_end(p));
    json_object_set_new(summary, "written_by", json_string("sockshim"));
    json_object_set_new(summary, "methods", json_array());
    json_object_set_new(summary, "sockets", sockets);
    json_object_set_new(summary, "sockets_dropped", json_integer(0));
    json_object_set_new(summary, "findings", findings);
    emit_json(p->pid, summary);
}

void ss_ledger_write_ended(void)
{
    struct timespec t;
    clock_gettime(CLOCK_REALTIME, &t);
    uint64_t now = (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
    for (size_t i = 0; i < L.cap; i++) {
        struct proc *p = &L.procs[i];
        if (p->pid <= 0 || !p->marked)
            continue;
        if (!p->ended && L.write != NULL) {
            if (L.formats & SS_LEDGER_TEXT)
                text_summary(p, now);
            if (L.formats & SS_LEDGER_JSON)
                json_summary(p, now);
        }
        forget(p);
    }
}
