/* sockshim: the process's own text lines: its header, notes, findings
 * and summary (the call lines: render_call_text.c). */
#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "audit.h"
#include "ending.h"
#include "internal.h"
#include "render.h"
#include "rules.h"
#include "xlat.h"

/* "'send:reset:port=6379'", and with seed " (seed N)": a rule as the
 * trace names it, with the seed of its draws (to replay the run). */
static void rule_text(struct ss_out *o, int number, int seed)
{
    const char *text = ss_fault_rule_text(number - 1);
    ss_out_pystr(o, text, strlen(text));
    if (seed) {
        ss_out_str(o, " (seed ");
        ss_out_u64(o, ss_fault_seed());
        ss_out_char(o, ')');
    }
}

void ss_text_start(struct ss_out *o, uint64_t now_ns)
{
    ss_out_clock(o, now_ns);
    ss_out_str(o, " [");
    ss_out_i64(o, ss_pid());
    ss_out_str(o, "] # sockshim " SOCKSHIM_VERSION " traces pid ");
    ss_out_i64(o, ss_pid());
    ss_out_char(o, ' ');
    ss_out_pystr(o, program_invocation_name, strlen(program_invocation_name));
    ss_out_str(o, ", parent ");
    ss_out_i64(o, getppid());
    ss_out_char(o, '\n');
    /* the rules in force and the seed, so that the run can be replayed */
    int numbers[SS_MAX_RULES];
    int n = ss_fault_live_numbers(numbers, SS_MAX_RULES);
    for (int k = 0; k < n; k++) {
        int i = numbers[k] - 1;
        ss_out_clock(o, now_ns);
        ss_out_str(o, " [");
        ss_out_i64(o, ss_pid());
        ss_out_str(o, "] # fault #");
        ss_out_i64(o, i + 1);
        ss_out_str(o, ": ");
        rule_text(o, i + 1, k == 0);
        ss_out_char(o, '\n');
    }
}

/* "# fault #3 added: 'send:reset:port=6379'": a rule the process took in
 * or let go of while it ran (docs/control.md). */
void ss_text_rule_change(struct ss_out *o, int number, int added, uint64_t now_ns)
{
    ss_text_prefix(o, now_ns);
    ss_out_str(o, "# fault #");
    ss_out_i64(o, number);
    ss_out_str(o, added ? " added: " : " removed: ");
    rule_text(o, number, added);
    ss_out_char(o, '\n');
}

/* "# tracing paused", "# tracing resumed: 120 calls not written": where
 * ctl pause and resume took effect in this process (docs/control.md). */
void ss_text_tracing_change(struct ss_out *o, int paused, uint64_t not_written, uint64_t now_ns)
{
    ss_text_prefix(o, now_ns);
    if (paused) {
        ss_out_str(o, "# tracing paused\n");
        return;
    }
    ss_out_str(o, "# tracing resumed: ");
    ss_out_u64(o, not_written);
    ss_out_str(o, not_written == 1 ? " call not written\n" : " calls not written\n");
}

/* "# note: fault #1 on sock4: ...": once per rule and process. */
void ss_text_note(struct ss_out *o, const struct ss_call *c)
{
    ss_text_prefix(o, c->t_end_ns);
    ss_out_str(o, "# note: fault #");
    ss_out_i64(o, c->fault_note);
    ss_out_str(o, " on ");
    ss_out_fdname(o, c->fd, 1);
    ss_out_str(o, ": ");
    if (c->fault_note_kind == SS_NOTE_SHORT_SKIPPED) {
        ss_out_str(o, "short= skipped here (");
        ss_out_xlat(o, &ss_xlat_socktype, c->sock->type);
        ss_out_str(o, ") and on every other socket that is not a stream: ");
        ss_out_str(o, SS_NOTE_SHORT_SKIPPED_REASON);
    } else if (c->fault_note_kind == SS_NOTE_DATAGRAM_SKIPPED) {
        ss_out_str(o, "drop, duplicate and reorder= skipped here (");
        ss_out_xlat(o, &ss_xlat_socktype, c->sock->type);
        ss_out_str(o, ") and on every other socket that is not a datagram socket: ");
        ss_out_str(o, SS_NOTE_DATAGRAM_SKIPPED_REASON);
    } else {
        ss_out_str(o, c->fault_note_reason);
        ss_out_str(o, ss_fault_strict() ? " (not applied: --strict)"
                                        : " (applied all the same; --strict skips it)");
    }
    ss_out_char(o, '\n');
}

/* ---- findings and the summary ------------------------------------------ */

/* "CODE sockN: what it means (details) at module+symbol+offset" */
static void out_finding_body(struct ss_out *o, const struct ss_finding_rec *f)
{
    ss_out_str(o, ss_finding_code(f->code));
    ss_out_char(o, ' ');
    ss_out_fdname(o, f->fd, 1);
    ss_out_str(o, ": ");
    ss_out_str(o, ss_finding_text(f->code));
    uint64_t amount = atomic_load_explicit(&f->amount, memory_order_relaxed);
    if (f->code == SS_FIND_lost_bytes) {
        ss_out_str(o, ": ");
        ss_out_u64(o, amount);
        ss_out_str(o, amount == 1 ? " byte never sent" : " bytes never sent");
    }
    ss_out_str(o, " at ");
    ss_out_where(o, f->where);
}

void ss_text_finding(struct ss_out *o, int index)
{
    const struct ss_finding_rec *f = ss_audit_finding(index);
    ss_text_prefix(o, f->t_ns);
    ss_out_str(o, "# finding ");
    out_finding_body(o, f);
    ss_out_char(o, '\n');
}

static void summary_line(struct ss_out *o, uint64_t now_ns)
{
    ss_text_prefix(o, now_ns);
    ss_out_str(o, "# ");
}

static void text_method_table(struct ss_out *o, uint64_t now_ns)
{
    summary_line(o, now_ns);
    ss_out_method_header(o);
    ss_out_char(o, '\n');
    for (int op = 0; op < SS_OP_COUNT; op++) {
        struct ss_method_stats m;
        ss_audit_method_stats((enum ss_op)op, &m);
        if (m.calls == 0)
            continue;
        summary_line(o, now_ns);
        ss_out_method_row(o, (enum ss_op)op, &m);
        ss_out_char(o, '\n');
    }
}

static void out_state_words(struct ss_out *o, unsigned state)
{
    static const struct {
        unsigned bit;
        const char *name;
    } words[] = {{SS_ST_LISTENING, "listening"}, {SS_ST_CONNECTED, "connected"},
                 {SS_ST_CONNECTING, "connecting"}, {SS_ST_SHUT_RD, "shut_rd"},
                 {SS_ST_SHUT_WR, "shut_wr"}, {SS_ST_RESET, "reset"},
                 {SS_ST_CLOSED, "closed"}};
    int any = 0;
    for (size_t i = 0; i < sizeof words / sizeof words[0]; i++) {
        if (!(state & words[i].bit))
            continue;
        ss_out_str(o, any ? "," : "");
        ss_out_str(o, words[i].name);
        any = 1;
    }
    if (!any)
        ss_out_str(o, (state & SS_ST_BOUND) ? "bound" : "created");
}

static void text_socket_row(struct ss_out *o, const struct ss_socket_rec *r, uint64_t now_ns)
{
    const struct ss_sockinfo *s = &r->info;
    summary_line(o, now_ns);
    ss_out_fdname(o, r->fd, 1);
    ss_out_str(o, "  ");
    ss_out_xlat(o, &ss_xlat_af, s->family);
    ss_out_char(o, '/');
    ss_out_xlat(o, &ss_xlat_socktype, s->type);
    ss_out_str(o, "  ");
    ss_out_pyaddr(o, (const struct sockaddr *)&s->laddr.sa, s->laddr.len);
    ss_out_str(o, " -> ");
    ss_out_pyaddr(o, (const struct sockaddr *)&s->raddr.sa, s->raddr.len);
    ss_out_str(o, "  ");
    /* closed by the program; the other ends say how after the state */
    out_state_words(o, r->end == SS_ROW_CLOSED ? s->state | SS_ST_CLOSED : s->state & ~SS_ST_CLOSED);
    ss_out_str(o, ss_row_end_text(r->end));
    ss_out_str(o, "  sent ");
    ss_out_u64(o, s->bytes_sent);
    ss_out_str(o, ", received ");
    ss_out_u64(o, s->bytes_received);
    ss_out_str(o, ", lived ");
    ss_out_duration(o, (r->closed_ns != 0 ? r->closed_ns : now_ns) - r->created_ns);
    for (int i = 0; i < r->n_opts; i++) {
        ss_out_str(o, i == 0 ? ", options " : " ");
        const struct ss_xlat *names = ss_xlat_optnames(r->opts[i][0]);
        if (names != NULL)
            ss_out_xlat(o, names, r->opts[i][1]);
        else
            ss_out_i64(o, r->opts[i][1]);
        ss_out_char(o, '=');
        ss_out_i64(o, r->opts[i][2]);
    }
    if (r->created_by < SS_FN_COUNT) {
        ss_out_str(o, ", created by ");
        ss_out_str(o, ss_fn_name(r->created_by));
        ss_out_str(o, "() at ");
    } else {
        /* inherited, received or opened where the shim did not see it */
        ss_out_str(o, ", adopted at ");
    }
    ss_out_where(o, r->created_caller);
    ss_out_char(o, '\n');
}

/* ", ended by _exit(3)", ", ended by exec of 'prog'"; nothing for exit,
 * the usual end, whose status the library cannot know. */
static void out_ending(struct ss_out *o, const struct ss_end *end)
{
    if (end == NULL || end->how == SS_END_EXIT)
        return;
    ss_out_str(o, ", ended by ");
    ss_out_str(o, ss_end_name(end->how));
    if (end->how == SS_END__EXIT) {
        ss_out_char(o, '(');
        ss_out_i64(o, end->status);
        ss_out_char(o, ')');
    } else {
        ss_out_str(o, " of ");
        ss_out_pystr(o, end->program, strlen(end->program));
    }
}

void ss_text_exec_failed(struct ss_out *o, const char *program, int err, uint64_t now_ns)
{
    summary_line(o, now_ns);
    ss_out_str(o, "exec of ");
    ss_out_pystr(o, program, strlen(program));
    ss_text_raises(o, err);
    ss_out_str(o, ": pid ");
    ss_out_i64(o, ss_pid());
    ss_out_str(o, " goes on, and writes its summary again when it ends\n");
}

void ss_text_summary(struct ss_out *o, uint64_t now_ns)
{
    int n_sockets = ss_audit_socket_count(), n_findings = ss_audit_finding_count();
    /* the header counts every socket, also those the table had no room for */
    uint64_t all_sockets = (uint64_t)n_sockets + ss_audit_sockets_dropped();
    summary_line(o, now_ns);
    ss_out_str(o, "summary of pid ");
    ss_out_i64(o, ss_pid());
    ss_out_char(o, ' ');
    ss_out_pystr(o, program_invocation_name, strlen(program_invocation_name));
    out_ending(o, ss_ending());
    ss_out_str(o, ": ");
    ss_out_u64(o, all_sockets);
    ss_out_str(o, all_sockets == 1 ? " socket, " : " sockets, ");
    ss_out_i64(o, n_findings);
    ss_out_str(o, n_findings == 1 ? " finding\n" : " findings\n");
    text_method_table(o, now_ns);
    for (int i = 0; i < n_sockets; i++)
        text_socket_row(o, ss_audit_socket(i), now_ns);
    if (ss_audit_sockets_dropped() != 0) {
        summary_line(o, now_ns);
        ss_out_str(o, "... and ");
        ss_out_u64(o, ss_audit_sockets_dropped());
        ss_out_str(o, " more sockets\n");
    }
    for (int i = 0; i < n_findings; i++) {
        const struct ss_finding_rec *f = ss_audit_finding(i);
        uint32_t count = atomic_load_explicit(&f->count, memory_order_relaxed);
        summary_line(o, now_ns);
        ss_out_str(o, "finding ");
        out_finding_body(o, f);
        ss_out_str(o, count == 1 ? " (once)" : " (");
        if (count != 1) {
            ss_out_u64(o, count);
            ss_out_str(o, " times)");
        }
        ss_out_char(o, '\n');
    }
}
