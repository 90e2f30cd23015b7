/* sockshim: when a stream's bytes fall due, under a delay and a rate.
 *
 * Both sides of network time keep the same small record per socket: the
 * bytes [from, upto) of a stream fall due from start_ns to due_ns, evenly
 * (at once when the two are equal: a delay without a rate), a packet at a
 * time. The latency (latency.c) marks bytes that arrived, the outbox
 * (outbox.c) bytes a send handed over. A mark is never due before the
 * one ahead of it: a stream keeps its order, and a link carries one byte
 * at a time.
 */
#ifndef SOCKSHIM_MARKS_H
#define SOCKSHIM_MARKS_H

#include <stdint.h>
#include <string.h>

#define SS_MARKS_MAX 16

/* A paced mark's bytes fall due a packet at a time (a TCP segment's
 * worth on loopback's 1500-byte path): as a slow link delivers them, and
 * without waking a wait for every byte. */
#define SS_MARKS_PACKET 1448u

struct ss_mark {
    uint64_t from, upto, start_ns, due_ns;
};

struct ss_marks {
    uint64_t released; /* the bytes before it are due */
    int n;
    struct ss_mark m[SS_MARKS_MAX];
};

static inline uint64_t ss_marks_last_due(const struct ss_marks *k)
{
    return k->n > 0 ? k->m[k->n - 1].due_ns : 0;
}

/* The bytes [from, upto), handed over (or arrived) at `at`, fall due
 * after delay, at rate (bytes a second, 0: none), behind what came
 * first. Bytes already due at now are released at once. */
static inline void ss_marks_add(struct ss_marks *k, uint64_t from, uint64_t upto, uint64_t at,
                                uint64_t delay, uint64_t rate, uint64_t now)
{
    uint64_t start = at + delay > ss_marks_last_due(k) ? at + delay : ss_marks_last_due(k);
    uint64_t span = rate != 0 ? (uint64_t)((double)(upto - from) * 1e9 / (double)rate) : 0;
    if (start + span <= now && k->n == 0) {
        k->released = upto;
        return;
    }
    if (k->n == SS_MARKS_MAX) { /* joined to the last mark: later, never early */
        struct ss_mark *last = &k->m[k->n - 1];
        last->upto = upto;
        last->due_ns = start + span;
        return;
    }
    k->m[k->n++] = (struct ss_mark){from, upto, start, start + span};
}

/* When byte b of mark m is due. */
static inline uint64_t ss_mark_time_of(const struct ss_mark *m, uint64_t b)
{
    double part = (double)(b - m->from) / (double)(m->upto - m->from);
    return m->start_ns + (uint64_t)(part * (double)(m->due_ns - m->start_ns));
}

/* How far into mark m the bytes are due at now: whole packets. */
static inline uint64_t ss_mark_due_within(const struct ss_mark *m, uint64_t now)
{
    if (now >= m->due_ns)
        return m->upto;
    if (now <= m->start_ns)
        return m->from;
    double part = (double)(now - m->start_ns) / (double)(m->due_ns - m->start_ns);
    uint64_t bytes = (uint64_t)(part * (double)(m->upto - m->from));
    return m->from + bytes / SS_MARKS_PACKET * SS_MARKS_PACKET;
}

/* Moves k->released up to what is due at now. */
static inline void ss_marks_release(struct ss_marks *k, uint64_t now)
{
    int i = 0;
    while (i < k->n && k->m[i].due_ns <= now)
        k->released = k->m[i++].upto;
    if (i > 0) {
        memmove(k->m, k->m + i, (size_t)(k->n - i) * sizeof k->m[0]);
        k->n -= i;
    }
    if (k->n > 0) {
        uint64_t partly = ss_mark_due_within(&k->m[0], now);
        if (partly > k->released)
            k->released = partly;
    }
}

/* When more is due (k->n > 0): the first mark's next packet. */
static inline uint64_t ss_marks_next_due(const struct ss_marks *k)
{
    const struct ss_mark *m = &k->m[0];
    if (m->due_ns <= m->start_ns)
        return m->due_ns;
    uint64_t at = k->released > m->from ? k->released : m->from;
    uint64_t next = at + SS_MARKS_PACKET < m->upto ? at + SS_MARKS_PACKET : m->upto;
    return ss_mark_time_of(m, next);
}

#endif
