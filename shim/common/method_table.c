/* sockshim: the table of methods a summary shows (method_table.h). */
#include "method_table.h"

#include <string.h>

#include "options.h"

/* Right-aligns text in a column of width. */
static void out_column(struct ss_out *o, const char *text, int width)
{
    int n = (int)strlen(text);
    for (int i = n; i < width; i++)
        ss_out_char(o, ' ');
    ss_out_str(o, text);
}

static void out_u64_column(struct ss_out *o, uint64_t v, int width)
{
    char buf[24];
    struct ss_out tmp;
    ss_out_init(&tmp, buf, sizeof buf - 1);
    ss_out_u64(&tmp, v);
    buf[tmp.len] = '\0';
    out_column(o, buf, width);
}

void ss_out_duration(struct ss_out *o, uint64_t ns)
{
    if (ns < 1000000000u) {
        ss_out_u64(o, ns / 1000000u);
        ss_out_char(o, '.');
        ss_out_u64_width(o, ns / 1000u % 1000u, 3);
        ss_out_str(o, " ms");
    } else {
        ss_out_u64(o, ns / 1000000000u);
        ss_out_char(o, '.');
        ss_out_u64_width(o, ns / 1000000u % 1000u, 3);
        ss_out_str(o, " s");
    }
}

void ss_out_method_header(struct ss_out *o)
{
    ss_out_str(o, "method            calls  errors  faults        bytes      time");
}

/* The name column is 13 wide and the calls column ends 10 after it: a
 * longer name (set_inheritable) takes from the calls column's blanks, so
 * that the columns after it stay where the header has them. */
enum { NAME_WIDTH = 13, CALLS_END = NAME_WIDTH + 10 };

void ss_out_method_row(struct ss_out *o, enum ss_op op, const struct ss_method_stats *m)
{
    const char *name = ss_op_name(op);
    int len = (int)strlen(name);
    ss_out_str(o, name);
    for (int i = len; i < NAME_WIDTH; i++)
        ss_out_char(o, ' ');
    int calls_width = CALLS_END - (len > NAME_WIDTH ? len : NAME_WIDTH);
    ss_out_char(o, ' '); /* a name never runs into its count */
    out_u64_column(o, m->calls, calls_width > 1 ? calls_width - 1 : 0);
    out_u64_column(o, m->errors, 8);
    out_u64_column(o, m->faults, 8);
    if (op >= SS_OP_send && op <= SS_OP_recvmmsg)
        out_u64_column(o, m->bytes, 13);
    else
        out_column(o, "-", 13);
    ss_out_str(o, "  ");
    ss_out_duration(o, m->time_ns);
}
