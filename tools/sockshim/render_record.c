/* sockshim: rendering the call records of the run's ring, with the
 * library's own renderers (render_record.h). */
#include "render_record.h"

#include "call_record.h"
#include "options.h"
#include "render_call.h"

/* The record being rendered: the render environment (render_call.h) is
 * its writer's. The drain renders on one thread. */
static const struct ss_callrec_view *current;

int ss_render_pid(void)
{
    return current != NULL ? current->who.pid : 0;
}

int ss_render_tid(void)
{
    return current != NULL ? current->who.tid : 0;
}

int ss_render_multithreaded(void)
{
    return current != NULL && current->who.multithreaded;
}

long ss_render_utc_offset_s(void)
{
    return current != NULL ? current->who.utc_offset_s : 0;
}

size_t ss_render_strsize(void)
{
    return current != NULL ? current->who.strsize : SS_STRSIZE_DEFAULT;
}

const char *ss_render_rule_text(const struct ss_call *c)
{
    (void)c;
    return current != NULL && current->who.rule_text != NULL ? current->who.rule_text : "";
}

static void render(struct ss_out *o, const struct ss_callrec_view *v)
{
    if (!v->who.json)
        ss_text_call(o, &v->c);
    else if (v->who.loop)
        ss_json_loop(o, &v->c);
    else
        ss_json_call(o, &v->c);
}

long ss_render_record(int pid, const void *rec, size_t len, char *buf, size_t cap)
{
    static struct ss_callrec_view view;
    if (ss_callrec_thaw(rec, len, &view) != 0 || view.who.pid != pid ||
        view.who.strsize > SS_STRSIZE_MAX)
        return -1;
    struct ss_out o;
    ss_out_init(&o, buf, cap);
    current = &view;
    render(&o, &view);
    current = NULL;
    return (long)o.len;
}
