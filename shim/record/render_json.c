/* sockshim: the process's own JSON records: its start, findings, notes
 * and summary (the call records: render_call_json.c). */
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "fault.h"
#include "audit.h"
#include "ending.h"
#include "internal.h"
#include "place.h"
#include "real.h"
#include "render.h"
#include "rules.h"
#include "xlat.h"

/* ---- where the process runs ------------------------------------------------
 *
 * The start record says which host (clock domain) and which network
 * namespace (address space) the process runs in, so that `sockshim report`
 * can merge traces of several hosts (docs/report.md, "Several hosts"). Read
 * here, once per process image, when its first line is written: no call
 * pays for them. */

/* /proc/sys/kernel/random/boot_id without its newline, or "" (a kernel
 * without /proc). Raw system calls through the real syscall(): read() and
 * close() are wrapped, and the library calls no wrapped function by name. */
static void read_boot_id(char *buf, size_t cap)
{
    buf[0] = '\0';
    int fd = (int)ss_real.syscall(SYS_openat, AT_FDCWD, "/proc/sys/kernel/random/boot_id",
                                  O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    long n = ss_real.syscall(SYS_read, fd, buf, cap - 1);
    ss_real.syscall(SYS_close, fd);
    size_t len = n > 0 ? (size_t)n : 0;
    buf[len] = '\0';
    buf[strcspn(buf, "\n")] = '\0';
}

static void json_host_members(struct ss_out *o)
{
    struct utsname u;
    if (uname(&u) == 0)
        ss_out_json_text_member(o, "host", u.nodename, strnlen(u.nodename, sizeof u.nodename));
    char boot_id[64];
    read_boot_id(boot_id, sizeof boot_id);
    if (boot_id[0] != '\0')
        ss_out_json_text_member(o, "boot_id", boot_id, strlen(boot_id));
    struct stat ns;
    if (stat("/proc/self/ns/net", &ns) == 0) {
        SS_JSON_KEY(o, "netns");
        ss_out_u64(o, (uint64_t)ns.st_ino);
    }
}

void ss_json_start(struct ss_out *o, uint64_t now_ns)
{
    ss_json_head(o, "start", now_ns);
    SS_JSON_KEY(o, "ppid");
    ss_out_i64(o, getppid());
    ss_out_json_text_member(o, "exe", program_invocation_name, strlen(program_invocation_name));
    SS_JSON_KEY(o, "version");
    ss_out_json_cstr(o, SOCKSHIM_VERSION);
    SS_JSON_KEY(o, "strsize");
    ss_out_u64(o, ss_config.strsize);
    json_host_members(o);
    if (ss_fault_enabled()) {
        SS_JSON_KEY(o, "seed");
        ss_out_u64(o, ss_fault_seed());
        SS_JSON_KEY(o, "faults");
        ss_out_char(o, '[');
        int numbers[SS_MAX_RULES];
        int n = ss_fault_live_numbers(numbers, SS_MAX_RULES);
        for (int k = 0; k < n; k++) {
            if (k > 0)
                ss_out_str(o, ", ");
            ss_out_json_cstr(o, ss_fault_rule_text(numbers[k] - 1));
        }
        ss_out_char(o, ']');
        /* their numbers (after rules came and went, not 1..n) */
        SS_JSON_KEY(o, "rules");
        ss_out_char(o, '[');
        for (int k = 0; k < n; k++) {
            if (k > 0)
                ss_out_str(o, ", ");
            ss_out_i64(o, numbers[k]);
        }
        ss_out_char(o, ']');
    }
    ss_json_close(o);
    ss_out_char(o, '\n');
}

static void json_hex_string(struct ss_out *o, uint64_t v)
{
    ss_out_char(o, '"');
    ss_out_hex(o, v);
    ss_out_char(o, '"');
}

/* "name": "text" (with its "name_hex" twin when not UTF-8), or null when
 * unknown (NULL or empty). */
static void json_text_member_or_null(struct ss_out *o, const char *name, const char *s)
{
    if (s != NULL && s[0] != '\0') {
        ss_out_json_text_member(o, name, s, strlen(s));
    } else {
        ss_json_key(o, name);
        ss_out_str(o, "null");
    }
}

/* {"address": "0x...", "module": "/path", "offset": "0x1269",
 *  "symbol": "main" or null, "function": "main", "file": "/src/prog.c",
 *  "line": 31, "text": "main (prog.c:31)"}; unknown parts null. A
 * Python location has no address, module, offset or symbol. */
static void json_where(struct ss_out *o, uintptr_t addr)
{
    char buf[512];
    struct ss_out tmp;
    struct ss_where w;
    struct ss_place_ref p = {"", "", 0};
    ss_out_init(&tmp, buf, sizeof buf);
    ss_out_where(&tmp, addr);
    int python = ss_python_place(addr, &p);
    int known = !python && ss_where(addr, &w) == 0;
    if (known)
        ss_where_place(addr, &w, &p); /* answered already: ss_out_where asked */
    ss_json_open(o);
    SS_JSON_KEY(o, "address");
    if (python)
        ss_out_str(o, "null");
    else
        json_hex_string(o, addr);
    json_text_member_or_null(o, "module", known ? w.module : NULL);
    SS_JSON_KEY(o, "offset");
    if (known)
        json_hex_string(o, w.module_offset);
    else
        ss_out_str(o, "null");
    json_text_member_or_null(o, "symbol", known ? w.symbol : NULL);
    json_text_member_or_null(o, "function", p.function);
    json_text_member_or_null(o, "file", p.line > 0 ? p.file : NULL);
    SS_JSON_KEY(o, "line");
    if (p.line > 0)
        ss_out_i64(o, p.line);
    else
        ss_out_str(o, "null");
    SS_JSON_KEY(o, "text");
    ss_out_json_str(o, buf, tmp.len < sizeof buf ? tmp.len : sizeof buf);
    ss_json_close(o);
}

static void json_finding_fields(struct ss_out *o, const struct ss_finding_rec *f)
{
    SS_JSON_KEY(o, "code");
    ss_out_json_name(o, ss_finding_code(f->code));
    SS_JSON_KEY(o, "message");
    ss_out_json_cstr(o, ss_finding_text(f->code));
    SS_JSON_KEY(o, "fd");
    ss_out_i64(o, f->fd);
    SS_JSON_KEY(o, "sock");
    ss_json_sock(o, &f->sock);
    SS_JSON_KEY(o, "where");
    json_where(o, f->where);
    if (f->code == SS_FIND_lost_bytes) {
        SS_JSON_KEY(o, "bytes");
        ss_out_u64(o, atomic_load_explicit(&f->amount, memory_order_relaxed));
    }
}

void ss_json_finding(struct ss_out *o, int index)
{
    const struct ss_finding_rec *f = ss_audit_finding(index);
    ss_json_head(o, "finding", f->t_ns);
    json_finding_fields(o, f);
    ss_json_close(o);
    ss_out_char(o, '\n');
}

void ss_json_rule_change(struct ss_out *o, int number, int added, uint64_t now_ns)
{
    ss_json_head(o, "rule", now_ns);
    SS_JSON_KEY(o, "rule");
    ss_out_i64(o, number);
    SS_JSON_KEY(o, "change");
    ss_out_json_name(o, added ? "added" : "removed");
    SS_JSON_KEY(o, "text");
    ss_out_json_cstr(o, ss_fault_rule_text(number - 1));
    SS_JSON_KEY(o, "seed");
    ss_out_u64(o, ss_fault_seed());
    ss_json_close(o);
    ss_out_char(o, '\n');
}

void ss_json_tracing_change(struct ss_out *o, int paused, uint64_t not_written, uint64_t now_ns)
{
    ss_json_head(o, "tracing", now_ns);
    SS_JSON_KEY(o, "change");
    ss_out_json_name(o, paused ? "paused" : "resumed");
    if (!paused) {
        SS_JSON_KEY(o, "not_written");
        ss_out_u64(o, not_written);
    }
    ss_json_close(o);
    ss_out_char(o, '\n');
}

void ss_json_note(struct ss_out *o, const struct ss_call *c)
{
    int short_skipped = c->fault_note_kind == SS_NOTE_SHORT_SKIPPED;
    int dgram_skipped = c->fault_note_kind == SS_NOTE_DATAGRAM_SKIPPED;
    int skipped = short_skipped || dgram_skipped;
    ss_json_head(o, "note", c->t_end_ns);
    SS_JSON_KEY(o, "rule");
    ss_out_i64(o, c->fault_note);
    SS_JSON_KEY(o, "text");
    ss_out_json_cstr(o, ss_fault_rule_text(c->fault_note - 1));
    SS_JSON_KEY(o, "kind");
    ss_out_json_name(o, short_skipped ? "short-skipped"
                        : dgram_skipped ? "datagram-skipped"
                                        : "misfit");
    SS_JSON_KEY(o, "reason");
    ss_out_json_name(o, short_skipped ? SS_NOTE_SHORT_SKIPPED_REASON
                        : dgram_skipped ? SS_NOTE_DATAGRAM_SKIPPED_REASON
                                        : c->fault_note_reason);
    SS_JSON_KEY(o, "applied");
    ss_out_str(o, skipped || ss_fault_strict() ? "false" : "true");
    SS_JSON_KEY(o, "fd");
    ss_out_i64(o, c->fd);
    SS_JSON_KEY(o, "sock");
    ss_json_sock(o, c->sock);
    ss_json_close(o);
    ss_out_char(o, '\n');
}

static void json_methods(struct ss_out *o)
{
    ss_out_char(o, '[');
    int first = 1;
    for (int op = 0; op < SS_OP_COUNT; op++) {
        struct ss_method_stats m;
        ss_audit_method_stats((enum ss_op)op, &m);
        if (m.calls == 0)
            continue;
        ss_out_str(o, first ? "" : ", ");
        first = 0;
        ss_json_open(o);
        SS_JSON_KEY(o, "op");
        ss_out_json_name(o, ss_op_name((enum ss_op)op));
        SS_JSON_KEY(o, "calls");
        ss_out_u64(o, m.calls);
        SS_JSON_KEY(o, "errors");
        ss_out_u64(o, m.errors);
        SS_JSON_KEY(o, "faults");
        ss_out_u64(o, m.faults);
        SS_JSON_KEY(o, "bytes");
        ss_out_u64(o, m.bytes);
        SS_JSON_KEY(o, "time_ns");
        ss_out_u64(o, m.time_ns);
        ss_json_close(o);
    }
    ss_out_char(o, ']');
}

static void json_socket(struct ss_out *o, const struct ss_socket_rec *r)
{
    ss_json_open(o);
    SS_JSON_KEY(o, "fd");
    ss_out_i64(o, r->fd);
    SS_JSON_KEY(o, "sock");
    ss_json_sock(o, &r->info);
    SS_JSON_KEY(o, "bytes_sent");
    ss_out_u64(o, r->info.bytes_sent);
    SS_JSON_KEY(o, "bytes_received");
    ss_out_u64(o, r->info.bytes_received);
    SS_JSON_KEY(o, "created_by");
    ss_out_json_name(o, r->created_by < SS_FN_COUNT ? ss_fn_name(r->created_by) : "");
    SS_JSON_KEY(o, "created");
    ss_out_char(o, '"');
    ss_out_iso8601(o, r->created_ns);
    ss_out_char(o, '"');
    SS_JSON_KEY(o, "closed");
    if (r->closed_ns != 0) {
        ss_out_char(o, '"');
        ss_out_iso8601(o, r->closed_ns);
        ss_out_char(o, '"');
    } else {
        ss_out_str(o, "null");
    }
    SS_JSON_KEY(o, "at_end");
    ss_out_json_name(o, ss_row_end_json(r->end));
    SS_JSON_KEY(o, "where");
    json_where(o, r->created_caller);
    SS_JSON_KEY(o, "options");
    ss_out_char(o, '[');
    for (int i = 0; i < r->n_opts; i++) {
        ss_out_str(o, i == 0 ? "" : ", ");
        ss_json_open(o);
        SS_JSON_KEY(o, "level");
        ss_json_xlat(o, &ss_xlat_sol, r->opts[i][0]);
        SS_JSON_KEY(o, "optname");
        ss_json_xlat(o, ss_xlat_optnames(r->opts[i][0]), r->opts[i][1]);
        SS_JSON_KEY(o, "value");
        ss_out_i64(o, r->opts[i][2]);
        ss_json_close(o);
    }
    ss_out_char(o, ']');
    ss_json_close(o);
}

/* {"by": "exit"|"_exit"|"exec", "status": N or null, "program": "..." or null} */
static void json_ending(struct ss_out *o, const struct ss_end *end)
{
    static const struct ss_end at_exit = {.how = SS_END_EXIT};
    if (end == NULL)
        end = &at_exit;
    ss_json_open(o);
    SS_JSON_KEY(o, "by");
    ss_out_json_name(o, ss_end_name(end->how));
    SS_JSON_KEY(o, "status");
    if (end->how == SS_END__EXIT)
        ss_out_i64(o, end->status);
    else
        ss_out_str(o, "null");
    json_text_member_or_null(o, "program", end->how == SS_END_EXEC ? end->program : NULL);
    ss_json_close(o);
}

void ss_json_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns)
{
    ss_json_head(o, "exec_failed", now_ns);
    ss_out_json_text_member(o, "program", program, strlen(program));
    SS_JSON_KEY(o, "error");
    ss_json_error(o, err);
    ss_json_close(o);
    ss_out_char(o, '\n');
}

void ss_json_summary(struct ss_out *o, uint64_t now_ns)
{
    ss_json_head(o, "summary", now_ns);
    ss_out_json_text_member(o, "exe", program_invocation_name, strlen(program_invocation_name));
    SS_JSON_KEY(o, "end");
    json_ending(o, ss_ending());
    SS_JSON_KEY(o, "methods");
    json_methods(o);
    SS_JSON_KEY(o, "sockets");
    ss_out_char(o, '[');
    for (int i = 0; i < ss_audit_socket_count(); i++) {
        ss_out_str(o, i == 0 ? "" : ", ");
        json_socket(o, ss_audit_socket(i));
    }
    ss_out_char(o, ']');
    SS_JSON_KEY(o, "sockets_dropped");
    ss_out_u64(o, ss_audit_sockets_dropped());
    SS_JSON_KEY(o, "findings");
    ss_out_char(o, '[');
    for (int i = 0; i < ss_audit_finding_count(); i++) {
        const struct ss_finding_rec *f = ss_audit_finding(i);
        ss_out_str(o, i == 0 ? "" : ", ");
        ss_json_open(o);
        json_finding_fields(o, f);
        SS_JSON_KEY(o, "count");
        ss_out_u64(o, atomic_load_explicit(&f->count, memory_order_relaxed));
        SS_JSON_KEY(o, "first");
        ss_out_char(o, '"');
        ss_out_iso8601(o, f->t_ns);
        ss_out_char(o, '"');
        ss_json_close(o);
    }
    ss_out_char(o, ']');
    ss_json_close(o);
    ss_out_char(o, '\n');
}
