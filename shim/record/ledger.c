/* sockshim: ledger events into the run's ring (ledger.h). */
#include "ledger.h"

#include <dlfcn.h>
#include <errno.h>
#include <stdatomic.h>
#include <link.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/uio.h>

#include "internal.h"
#include "model.h"
#include "ring.h"
#include "sink_ring.h"

_Static_assert(SS_FN_COUNT <= 256, "an enum ss_fn fits the event's created_by");

static int ledger_on(void)
{
    return ss_ring_carries(SS_RING_TRACE);
}

static void emit(const struct ss_ledger_event *ev, const char *payload)
{
    struct iovec iov[2] = {
        {(void *)ev, sizeof *ev},
        {(void *)payload, ev->len},
    };
    /* a ring that is closed (the command is done) takes no more: the
     * process then writes its own lines, and no one keeps its ledger */
    (void)ss_ring_emitv(1, iov, payload != NULL ? 2 : 1, sizeof *ev + ev->len);
}

static uint16_t payload_len(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;
    return (uint16_t)(n < SS_LEDGER_MAX_PAYLOAD ? n : SS_LEDGER_MAX_PAYLOAD);
}

/* The name comes first of a process image's events, once: the command
 * takes a second name for a pid as a new image (an exec). */
static _Atomic int named;

void ss_ledger_name(void)
{
    if (!ledger_on() || atomic_exchange_explicit(&named, 1, memory_order_acq_rel))
        return;
    struct ss_ledger_event ev = {.kind = SS_LEDGER_NAME, .ts_ns = ss_now_ns()};
    /* its pids are the command's only in the command's pid namespace */
    struct stat ns;
    if (stat("/proc/self/ns/pid", &ns) == 0)
        ev.offset = (uint64_t)ns.st_ino;
    ev.len = payload_len(program_invocation_name);
    emit(&ev, program_invocation_name);
}

/* The module of a return address and the address's offset from where the
 * module is mapped: what dladdr gives (ss_where), found without its
 * search of the symbol tables. _dl_find_object is async-signal-safe. */
static const char *module_of(uintptr_t addr, uint64_t *offset)
{
    struct dl_find_object found;
    if (addr == 0 || _dl_find_object((void *)(addr - 1), &found) != 0)
        return NULL;
    *offset = addr - (uintptr_t)found.dlfo_map_start;
    const char *name = found.dlfo_link_map != NULL ? found.dlfo_link_map->l_name : NULL;
    /* the main program's map has no name: dladdr says argv[0], as here */
    return name != NULL && name[0] != '\0' ? name : program_invocation_name;
}

void ss_ledger_open(struct ss_obj *obj, int fd, uintptr_t caller)
{
    if (!ledger_on())
        return;
    int saved = errno;
    ss_ledger_name();
    struct ss_sockinfo info;
    ss_model_snapshot(obj, fd, &info, 0);
    enum ss_fn created_by;
    uint64_t created_ns;
    ss_model_origin(obj, &created_by, &created_ns);
    struct ss_ledger_event ev = {
        .kind = SS_LEDGER_OPEN,
        .created_by = (uint8_t)created_by,
        .fd = fd,
        .family = info.family,
        .type = info.type,
        .protocol = info.protocol,
        .sock_id = info.id,
        .ts_ns = created_ns,
    };
    const char *module = module_of(caller, &ev.offset);
    ev.len = payload_len(module);
    emit(&ev, module);
    errno = saved;
}

void ss_ledger_close(struct ss_obj *obj)
{
    if (!ledger_on())
        return;
    struct ss_ledger_event ev = {
        .kind = SS_LEDGER_CLOSE, .sock_id = ss_model_id(obj), .ts_ns = ss_now_ns()};
    emit(&ev, NULL);
}

void ss_ledger_after_fork_child(void)
{
    atomic_store_explicit(&named, 0, memory_order_relaxed);
}

void ss_ledger_mark(enum ss_ledger_kind kind)
{
    if (!ledger_on())
        return;
    struct ss_ledger_event ev = {.kind = (uint8_t)kind, .ts_ns = ss_now_ns()};
    emit(&ev, NULL);
}
