/* sockshim: the end of a process image (ending.h). */
#include "ending.h"
#include "outbox.h"

#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

#include "audit.h"
#include "internal.h"
#include "ledger.h"
#include "render.h"
#include "trace.h"

static _Atomic int ended;                 /* this image wrote its summary */
static const struct ss_end *_Atomic ending; /* ... and how it ended */
static struct ss_audit_rows exec_rows;    /* the rows an exec's summary added */

static const char *const end_names[] = {
#define SS_END_NAME(id, name) name,
    SS_END_HOWS(SS_END_NAME)
#undef SS_END_NAME
};

const char *ss_end_name(enum ss_end_how how)
{
    return end_names[how];
}

const struct ss_end *ss_ending(void)
{
    return atomic_load_explicit(&ending, memory_order_acquire);
}

static int library_active(void)
{
    int state = atomic_load_explicit(&ss_lib_state, memory_order_acquire);
    return state == SS_LIB_ACTIVE;
}

void ss_end_process(const struct ss_end *end)
{
    /* A child of clone(CLONE_VM) (not vfork: the library makes that a
     * fork) shares this memory and its tables: they are its parent's. */
    if (!library_active() || getpid() != ss_pid())
        return;
    if (ss_outbox_enabled()) { /* bytes held for the peer are handed over first */
        int before_finish = errno;
        ss_outbox_finish();
        errno = before_finish;
    }
    int expected = 0;
    if (!atomic_compare_exchange_strong_explicit(&ended, &expected, 1, memory_order_acq_rel,
                                                 memory_order_relaxed))
        return;
    int saved = errno;
    atomic_store_explicit(&ending, end, memory_order_release);
    int before = ss_audit_finding_count();
    struct ss_audit_rows rows;
    ss_audit_finish(end->how == SS_END_EXEC, &rows);
    for (int i = before; i < ss_audit_finding_count(); i++)
        ss_trace_finding(i);
    ss_trace_finish();
    ss_ledger_mark(SS_LEDGER_END);
    if (end->how == SS_END_EXEC)
        exec_rows = rows;
    atomic_store_explicit(&ending, NULL, memory_order_release);
    errno = saved;
}

void ss_end_exec_failed(const char *program)
{
    if (!library_active() || getpid() != ss_pid() ||
        !atomic_load_explicit(&ended, memory_order_acquire))
        return;
    int saved = errno;
    ss_audit_forget_rows(&exec_rows);
    ss_render_exec_failed(program, saved);
    ss_ledger_mark(SS_LEDGER_RESUME);
    atomic_store_explicit(&ended, 0, memory_order_release);
    errno = saved;
}

void ss_ending_after_fork_child(void)
{
    atomic_store_explicit(&ended, 0, memory_order_relaxed);
    atomic_store_explicit(&ending, NULL, memory_order_relaxed);
}
