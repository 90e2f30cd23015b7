/* sockshim: rendering the call records of the run's ring, with the
 * library's own renderers (render_record.h). */
#include "render_record.h"

#include <stdint.h>
#include <stdlib.h>

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

/* ---- the sockets the records gave whole ------------------------------------
 *
 * A record names its socket by id and version once a record of the same
 * process gave it whole at that version (call_record.h). The table keeps,
 * per process and socket, the last few versions given whole: a reference
 * is to the newest version the writer knew recorded, and another thread's
 * record of an older version may come after it in the ring. A socket
 * leaves the table with the record that shows it closed. */

#define SOCK_VERSIONS 4

struct known_sock {
    int pid; /* 0: free */
    uint64_t id;
    int n;
    struct ss_sockinfo *v[SOCK_VERSIONS];
};

static struct {
    struct known_sock *slot;
    size_t cap, used;
} known;

static size_t known_hash(int pid, uint64_t id)
{
    uint64_t h = ((uint64_t)(uint32_t)pid << 40) ^ id;
    h ^= h >> 33;
    h *= 0xff51afd7ed558ccdull;
    h ^= h >> 33;
    return (size_t)h;
}

/* The entry of (pid, id), or where it would go (pid 0); NULL when the
 * table cannot grow. */
static struct known_sock *known_find(int pid, uint64_t id);

static int known_grow(void)
{
    size_t cap = known.cap != 0 ? known.cap * 2 : 1024;
    struct known_sock *old = known.slot;
    size_t old_cap = known.cap;
    struct known_sock *slot = calloc(cap, sizeof *slot);
    if (slot == NULL)
        return -1;
    known.slot = slot;
    known.cap = cap;
    known.used = 0;
    for (size_t i = 0; i < old_cap; i++) {
        if (old[i].pid == 0)
            continue;
        struct known_sock *k = known_find(old[i].pid, old[i].id);
        *k = old[i];
        known.used++;
    }
    free(old);
    return 0;
}

static struct known_sock *known_find(int pid, uint64_t id)
{
    if (known.cap == 0)
        return NULL;
    for (size_t i = known_hash(pid, id) & (known.cap - 1);; i = (i + 1) & (known.cap - 1)) {
        struct known_sock *k = &known.slot[i];
        if (k->pid == 0 || (k->pid == pid && k->id == id))
            return k;
    }
}

/* A socket given whole: kept, in place of its lowest version when full. */
static void known_put(int pid, const struct ss_sockinfo *s)
{
    if ((known.used + 1) * 2 > known.cap && known_grow() != 0)
        return;
    struct known_sock *k = known_find(pid, s->id);
    if (k->pid == 0) {
        *k = (struct known_sock){.pid = pid, .id = s->id};
        known.used++;
    }
    int at = k->n;
    for (int i = 0; i < k->n; i++)
        if (k->v[i]->version == s->version)
            at = i;
    if (at == SOCK_VERSIONS) {
        at = 0;
        for (int i = 1; i < k->n; i++)
            if (k->v[i]->version < k->v[at]->version)
                at = i;
    }
    if (at == k->n) {
        if ((k->v[at] = malloc(sizeof *k->v[at])) == NULL)
            return;
        k->n++;
    }
    *k->v[at] = *s;
}

/* The socket a reference names: that version, or when the table no longer
 * has it (four newer versions given whole came between the writer's look
 * at its object and its record) the newest it has. */
static int known_get(int pid, uint64_t id, uint32_t version, struct ss_sockinfo *out)
{
    struct known_sock *k = known_find(pid, id);
    if (k == NULL || k->pid == 0 || k->n == 0)
        return -1;
    int best = 0;
    for (int i = 0; i < k->n; i++) {
        if (k->v[i]->version == version) {
            best = i;
            break;
        }
        if (k->v[i]->version > k->v[best]->version)
            best = i;
    }
    *out = *k->v[best];
    return 0;
}

/* Removes an entry of a linear-probing table and moves up the ones after
 * it that would no longer be found. */
static void known_drop(int pid, uint64_t id)
{
    struct known_sock *k = known_find(pid, id);
    if (k == NULL || k->pid == 0)
        return;
    for (int i = 0; i < k->n; i++)
        free(k->v[i]);
    size_t mask = known.cap - 1, hole = (size_t)(k - known.slot);
    known.slot[hole].pid = 0;
    known.used--;
    for (size_t i = (hole + 1) & mask; known.slot[i].pid != 0; i = (i + 1) & mask) {
        size_t home = known_hash(known.slot[i].pid, known.slot[i].id) & mask;
        /* the entry at i stays unless its home lies cyclically outside (hole, i] */
        if ((i > hole && (home <= hole || home > i)) || (i < hole && home <= hole && home > i)) {
            known.slot[hole] = known.slot[i];
            known.slot[i].pid = 0;
            hole = i;
        }
    }
}

void ss_record_forget_all(void)
{
    for (size_t i = 0; i < known.cap; i++)
        for (int v = 0; known.slot[i].pid != 0 && v < known.slot[i].n; v++)
            free(known.slot[i].v[v]);
    free(known.slot);
    known.slot = NULL;
    known.cap = known.used = 0;
}

/* The socket of the record: kept when given whole, filled in when named. */
static int resolve_sock(int pid, struct ss_callrec_view *v)
{
    if (v->c.sock != &v->sock)
        return 0;
    if (v->sock.by_reference)
        return known_get(pid, v->sock.id, v->sock.version, &v->sock);
    if (v->sock.id != 0) /* a snapshot a signal handler could not take holds no socket */
        known_put(pid, &v->sock);
    return 0;
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

static struct ss_callrec_view view;

int ss_record_open(int pid, const void *rec, size_t len)
{
    if (ss_callrec_thaw(rec, len, &view) != 0 || view.who.pid != pid ||
        view.who.strsize > SS_STRSIZE_MAX || resolve_sock(pid, &view) != 0)
        return -1;
    return 0;
}

int ss_record_shown_as(int json)
{
    int shown = json ? view.who.in_json : view.who.in_text;
    if (!shown && (view.who.in_text || view.who.in_json))
        return 0;
    view.who.json = json;
    view.who.loop = view.who.loop && json;
    return 1;
}

long ss_record_render(char *buf, size_t cap)
{
    struct ss_out o;
    ss_out_init(&o, buf, cap);
    current = &view;
    render(&o, &view);
    current = NULL;
    return (long)o.len;
}

void ss_record_close(int pid)
{
    if (view.c.sock == &view.sock && (view.sock.state & SS_ST_CLOSED))
        known_drop(pid, view.sock.id);
}
