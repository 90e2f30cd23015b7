/* sockshim report: the timeline of a merged run (timeline.h).
 *
 * Calls come in reading order, each a struct tl_call. ss_tl_finish():
 *
 *   1. lists each socket's calls in the order of its own clock;
 *   2. walks each stream connection's sends against its peer's receives by
 *      stream offset: a send's bytes [o, o+n) went to the receives whose
 *      ranges overlap, and the first of them is the send's flow; each flow
 *      (and each connect against the accept of its peer) bounds the offset
 *      between the two ends' clocks: a receive cannot end before the send
 *      that carried its bytes began;
 *   3. aligns each host's clock with the first host's (the midpoint of the
 *      feasible interval, hosts reached through the hosts aligned before);
 *   4. orders the calls in time and sums up each connection: bytes, calls,
 *      faults, findings, its events (bursts of data) and round trips.
 */
#include "timeline.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "options.h"
#include "say.h"
#include "sockshim/ops.h"
#include "vec.h"

/* A trace's times are from 1970 to 2099 (ss_tl_parse_ts), under 2^62 ns:
 * times are kept in [0, 2^62] and offsets in [-2^62, 2^62], so that the
 * sum of a time and a duration, or of a time and an offset, and the
 * difference of two times, never overflow. */
#define TIME_MAX ((int64_t)1 << 62)

static int64_t clamp_time(int64_t t)
{
    return t < 0 ? 0 : t > TIME_MAX ? TIME_MAX : t;
}

static int64_t clamp_offset(int64_t d)
{
    return d < -TIME_MAX ? -TIME_MAX : d > TIME_MAX ? TIME_MAX : d;
}

/* ---- interned strings -------------------------------------------------------- */

/* Each string once, in a vector looked up through an index by hash (the
 * strings do not move: a pointer to one stays valid). */
struct interned {
    char **v;
    size_t n, cap;
    struct ss_index ix;
};

static uint64_t hash_str(const char *s)
{
    return ss_hash_bytes(0, s, strlen(s));
}

static uint64_t interned_hash_of(const void *table, size_t i)
{
    return hash_str(((const struct interned *)table)->v[i]);
}

static int interned_eq(const void *table, size_t i, const void *key)
{
    return strcmp(((const struct interned *)table)->v[i], key) == 0;
}

/* The one copy of s, kept until the timeline is freed. */
static char *intern(struct interned *in, const char *s)
{
    size_t *at;
    size_t i = ss_index_get(&in->ix, in, interned_hash_of, interned_eq, s, hash_str(s), &at);
    if (i == SIZE_MAX) {
        in->v = ss_room_for_one(in->v, in->n, &in->cap, sizeof *in->v);
        i = in->n++;
        in->v[i] = ss_copy_of(s);
        ss_index_put(&in->ix, at, i);
    }
    return in->v[i];
}

static void intern_free(struct interned *in)
{
    for (size_t i = 0; i < in->n; i++)
        free(in->v[i]);
    free(in->v);
    free(in->ix.slot);
}

/* ---- the timeline ------------------------------------------------------------ */

struct pair_bounds { /* of offset[y] - offset[x], x < y */
    int64_t lo, hi;
    uint64_t n_lo, n_hi;
};

/* What the connection table says of one end: its calls' first begin and
 * last end, how many, the bytes it sent, the faults and findings on them,
 * its pid (that of its first call: a socket's calls are all its
 * process's). */
struct tl_tally {
    int64_t start_ns, end_ns;
    uint64_t calls, sent, faults, findings;
    long long pid;
};

/* Without the calls: an accept whose socket report.c may still move to the
 * one it made (ss_tl_accepted_by), with what it adds to a tally, until
 * settled. */
struct held_call {
    uint32_t call, lane, sock; /* sock: the one it is on now, or TL_NONE */
    int settled;
    struct tl_tally tally;
};

struct ss_timeline {
    int keep_calls;       /* 0: only each socket's tally (a run of one host, no view) */
    size_t taken;         /* the calls taken: the next call's number */
    struct tl_call *calls;
    size_t ncalls, calls_cap;
    uint32_t *order, *rank;
    char *text;
    size_t text_len, text_cap;
    int keep_text;
    struct tl_host hosts[TL_HOSTS_MAX];
    size_t nhosts;
    struct tl_lane *lanes;
    size_t nlanes, lanes_cap;
    uint32_t *lane_last_call; /* by lane: its latest call so far, TL_NONE */
    uint32_t *lane_last_sock; /* without the calls: that call's socket, TL_NONE */
    struct ss_index lane_ix;  /* the lanes by host, pid and tid */
    struct tl_conn *conns;
    size_t nconns, conns_cap;
    uint32_t *conn_of_sock;
    uint8_t *side_of_sock;
    struct tl_tally *tally_of_sock; /* without the calls: by socket serial */
    size_t nsocks;
    struct held_call *held;
    size_t nheld, held_cap, nsettled;
    struct tl_finding *findings;
    size_t nfindings, findings_cap;
    struct tl_fault *faults;
    size_t nfaults, faults_cap;
    struct tl_flow *flows;
    size_t nflows, flows_cap;
    uint32_t *sock_first, *sock_calls; /* each socket's calls: [first[s], first[s+1]) */
    struct pair_bounds *bounds;        /* nhosts x nhosts, when more than one host */
    struct interned strings;
    int64_t t0_ns, span_ns;
};

struct ss_timeline *ss_tl_new(void)
{
    struct ss_timeline *tl = calloc(1, sizeof *tl);
    if (tl == NULL)
        ss_die("out of memory");
    tl->keep_calls = 1;
    return tl;
}

void ss_tl_keep_calls(struct ss_timeline *tl, int keep)
{
    tl->keep_calls = keep;
}

int ss_tl_needs_calls(const struct ss_timeline *tl)
{
    return !tl->keep_calls && tl->nhosts > 1;
}

void ss_tl_keep_text(struct ss_timeline *tl, int keep)
{
    tl->keep_text = keep;
}

void ss_tl_free(struct ss_timeline *tl)
{
    if (tl == NULL)
        return;
    for (size_t i = 0; i < tl->nconns; i++) {
        free(tl->conns[i].events);
        free(tl->conns[i].rtt_ns);
    }
    for (size_t i = 0; i < tl->nhosts; i++)
        free(tl->hosts[i].basis);
    free(tl->calls);
    free(tl->order);
    free(tl->rank);
    free(tl->text);
    free(tl->lanes);
    free(tl->lane_last_call);
    free(tl->lane_last_sock);
    free(tl->lane_ix.slot);
    free(tl->conns);
    free(tl->conn_of_sock);
    free(tl->side_of_sock);
    free(tl->tally_of_sock);
    free(tl->held);
    free(tl->findings);
    free(tl->faults);
    free(tl->flows);
    free(tl->sock_first);
    free(tl->sock_calls);
    free(tl->bounds);
    intern_free(&tl->strings);
    free(tl);
}

/* ---- time -------------------------------------------------------------------- */

static int digits(const char *s, int n, int *v)
{
    *v = 0;
    for (int i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9')
            return -1;
        *v = *v * 10 + (s[i] - '0');
    }
    return 0;
}

/* Days from 1970-01-01 to y-m-d (proleptic Gregorian; Howard Hinnant's
 * days_from_civil). */
static int64_t days_from_civil(int y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return days[m - 1] + (m == 2 && leap);
}

int ss_tl_parse_ts(const char *s, int64_t *us)
{
    /* YYYY-MM-DDTHH:MM:SS.ffffffZ */
    int y, mo, d, h, mi, sec, frac;
    if (strlen(s) != 27 || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' ||
        s[16] != ':' || s[19] != '.' || s[26] != 'Z' || digits(s, 4, &y) || digits(s + 5, 2, &mo) ||
        digits(s + 8, 2, &d) || digits(s + 11, 2, &h) || digits(s + 14, 2, &mi) ||
        digits(s + 17, 2, &sec) || digits(s + 20, 6, &frac))
        return -1;
    if (y < 1970 || y > 2099 || mo < 1 || mo > 12 || d < 1 || d > days_in_month(y, mo) ||
        h > 23 || mi > 59 || sec > 60)
        return -1;
    int64_t seconds = days_from_civil(y, mo, d) * 86400 + h * 3600 + mi * 60 + sec;
    *us = seconds * 1000000 + frac;
    return 0;
}

/* ---- hosts and lanes ------------------------------------------------------------ */

static void host_key(char *buf, size_t cap, const char *name, const char *boot_id)
{
    if (boot_id[0] != '\0')
        snprintf(buf, cap, "%s", boot_id);
    else if (name[0] != '\0')
        snprintf(buf, cap, "name:%s", name);
    else
        buf[0] = '\0';
}

static long host_known(const struct ss_timeline *tl, const char *key)
{
    for (size_t i = 0; i < tl->nhosts; i++)
        if (strcmp(tl->hosts[i].key, key) == 0)
            return (long)i;
    return -1;
}

int ss_tl_host_fits(const struct ss_timeline *tl, const char *name, const char *boot_id)
{
    char key[512];
    host_key(key, sizeof key, name, boot_id);
    return tl->nhosts < TL_HOSTS_MAX || host_known(tl, key) >= 0;
}

/* The name people see: the host's, with its boot when another host of the
 * run has the same name (a host rebooted between two traces). */
static char *unique_name(struct ss_timeline *tl, const char *name, const char *boot_id)
{
    const char *base = name[0] != '\0' ? name : "host";
    int taken = 0;
    for (size_t i = 0; i < tl->nhosts && !taken; i++)
        taken = strcmp(tl->hosts[i].name, base) == 0;
    if (!taken)
        return intern(&tl->strings, base);
    char buf[512];
    snprintf(buf, sizeof buf, "%s (boot %.8s, #%zu)", base, boot_id[0] ? boot_id : "?",
             tl->nhosts + 1);
    return intern(&tl->strings, buf);
}

long ss_tl_host(struct ss_timeline *tl, const char *name, const char *boot_id)
{
    char key[512];
    host_key(key, sizeof key, name, boot_id);
    long known = host_known(tl, key);
    if (known >= 0)
        return known;
    if (tl->nhosts == TL_HOSTS_MAX)
        return -1;
    struct tl_host *h = &tl->hosts[tl->nhosts];
    *h = (struct tl_host){.key = intern(&tl->strings, key),
                          .name = unique_name(tl, name, boot_id),
                          .boot_id = intern(&tl->strings, boot_id),
                          .uncertainty_ns = -1};
    return (long)tl->nhosts++;
}

static uint64_t lane_hash(uint32_t host, long long pid, long long tid)
{
    return ss_mix64((uint64_t)pid * 0x9e3779b97f4a7c15ull ^ (uint64_t)tid * 0xbf58476d1ce4e5b9ull ^
                    host);
}

static uint64_t lane_hash_of(const void *table, size_t i)
{
    const struct tl_lane *l = &((const struct ss_timeline *)table)->lanes[i];
    return lane_hash(l->host, l->pid, l->tid);
}

static int lane_eq(const void *table, size_t i, const void *key)
{
    const struct tl_lane *l = &((const struct ss_timeline *)table)->lanes[i], *k = key;
    return l->host == k->host && l->pid == k->pid && l->tid == k->tid;
}

uint32_t ss_tl_lane(struct ss_timeline *tl, uint32_t host, long long pid, long long tid)
{
    struct tl_lane k = {host, pid, tid, (char *)"", 0};
    size_t *at;
    size_t i = ss_index_get(&tl->lane_ix, tl, lane_hash_of, lane_eq, &k, lane_hash(host, pid, tid),
                            &at);
    if (i != SIZE_MAX)
        return (uint32_t)i;
    if (tl->nlanes >= TL_NONE - 1)
        ss_die("too many threads");
    size_t cap = tl->lanes_cap;
    tl->lanes = ss_room_for_one(tl->lanes, tl->nlanes, &tl->lanes_cap, sizeof *tl->lanes);
    if (cap != tl->lanes_cap) {
        tl->lane_last_call = ss_grow(tl->lane_last_call, tl->lanes_cap, sizeof *tl->lane_last_call);
        tl->lane_last_sock = ss_grow(tl->lane_last_sock, tl->lanes_cap, sizeof *tl->lane_last_sock);
    }
    tl->lanes[tl->nlanes] = k;
    tl->lane_last_call[tl->nlanes] = TL_NONE;
    tl->lane_last_sock[tl->nlanes] = TL_NONE;
    ss_index_put(&tl->lane_ix, at, tl->nlanes);
    return (uint32_t)tl->nlanes++;
}

size_t ss_tl_lane_count(const struct ss_timeline *tl)
{
    return tl->nlanes;
}

void ss_tl_lane_process(const struct ss_timeline *tl, uint32_t lane, uint32_t *host,
                        long long *pid)
{
    *host = tl->lanes[lane].host;
    *pid = tl->lanes[lane].pid;
}

void ss_tl_name_lane(struct ss_timeline *tl, uint32_t lane, const char *exe)
{
    tl->lanes[lane].exe = intern(&tl->strings, exe);
}

/* ---- tallies: the connection table's numbers of one end -------------------- */

static int sends(const struct tl_call *c)
{
    return c->op < SS_OP_COUNT && ss_op_in((enum ss_op)c->op, SS_OPS_SENDS) &&
           !(c->flags & TL_RAISED);
}

static int receives(const struct tl_call *c)
{
    return c->op < SS_OP_COUNT && ss_op_in((enum ss_op)c->op, SS_OPS_RECVS) &&
           !(c->flags & TL_RAISED);
}

static int moved_bytes_in(const struct tl_call *c)
{
    return receives(c) && c->bytes > 0 && !(c->flags & TL_PEEK);
}

/* When a call began to be the connection's: an accept waited for the
 * connection before there was one, and counts from when it returned. */
static int64_t begin_of(const struct tl_call *k)
{
    return k->op == SS_OP_accept ? clamp_time(k->t_ns + (int64_t)k->dur_ns) : k->t_ns;
}

/* One call's tally (its process's pid), to be merged into its end's. */
static struct tl_tally tally_of(const struct tl_call *k, long long pid)
{
    return (struct tl_tally){.start_ns = begin_of(k),
                             .end_ns = clamp_time(k->t_ns + (int64_t)k->dur_ns),
                             .calls = 1,
                             .sent = sends(k) ? k->bytes : 0,
                             .faults = (k->flags & TL_FAULTED) != 0,
                             .pid = pid};
}

/* into takes t's calls (into's pid stays when it has calls before t's). */
static void tally_merge(struct tl_tally *into, const struct tl_tally *t)
{
    if (t->calls == 0)
        return;
    if (into->calls == 0 || t->start_ns < into->start_ns)
        into->start_ns = t->start_ns;
    if (into->calls == 0 || t->end_ns > into->end_ns)
        into->end_ns = t->end_ns;
    if (into->calls == 0)
        into->pid = t->pid;
    into->calls += t->calls;
    into->sent = t->sent > UINT64_MAX - into->sent ? UINT64_MAX : into->sent + t->sent;
    into->faults += t->faults;
    into->findings += t->findings;
}

/* A connection takes the tally of its end side. */
static void conn_take(struct tl_conn *c, int side, const struct tl_tally *t)
{
    if (t->calls == 0)
        return;
    if (c->calls == 0 || t->start_ns < c->start_ns)
        c->start_ns = t->start_ns;
    if (c->calls == 0 || t->end_ns > c->end_ns)
        c->end_ns = t->end_ns;
    c->calls += t->calls;
    c->faults += t->faults;
    c->findings += t->findings;
    c->bytes[side] = t->sent;
    c->pid[side] = t->pid;
}

/* ---- without the calls: tallies by socket, accepts held ----------------------- */

static struct held_call *held_of(struct ss_timeline *tl, uint32_t call)
{
    size_t lo = 0, hi = tl->nheld; /* held in the order taken: by call */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (tl->held[mid].call < call)
            lo = mid + 1;
        else
            hi = mid;
    }
    if (lo < tl->nheld && tl->held[lo].call == call && !tl->held[lo].settled)
        return &tl->held[lo];
    return NULL;
}

static void drop_settled(struct ss_timeline *tl)
{
    size_t n = 0;
    for (size_t i = 0; i < tl->nheld; i++)
        if (!tl->held[i].settled)
            tl->held[n++] = tl->held[i];
    tl->nheld = n;
    tl->nsettled = 0;
}

/* The held call's socket is final: its tally goes to it (h is gone after). */
static void settle(struct ss_timeline *tl, struct held_call *h)
{
    if (h->sock != TL_NONE)
        tally_merge(&tl->tally_of_sock[h->sock], &h->tally);
    if (tl->lane_last_call[h->lane] == h->call)
        tl->lane_last_sock[h->lane] = h->sock;
    h->settled = 1;
    if (++tl->nsettled * 2 > tl->nheld)
        drop_settled(tl);
}

static void settle_all(struct ss_timeline *tl)
{
    for (size_t i = 0; i < tl->nheld; i++)
        if (!tl->held[i].settled && tl->held[i].sock != TL_NONE)
            tally_merge(&tl->tally_of_sock[tl->held[i].sock], &tl->held[i].tally);
    tl->nheld = tl->nsettled = 0;
}

/* A call into its socket's tally, or held while its socket may move. */
static void tally_taken(struct ss_timeline *tl, const struct tl_call *k, uint32_t call)
{
    struct tl_tally one = tally_of(k, tl->lanes[k->lane].pid);
    if (k->flags & TL_MAY_MOVE) {
        tl->held = ss_room_for_one(tl->held, tl->nheld, &tl->held_cap, sizeof *tl->held);
        tl->held[tl->nheld++] = (struct held_call){call, k->lane, k->sock, 0, one};
    } else if (k->sock != TL_NONE) {
        tally_merge(&tl->tally_of_sock[k->sock], &one);
    }
}

/* A finding record, on the socket of its lane's last call. */
static void tally_finding(struct ss_timeline *tl, uint32_t lane, uint32_t call)
{
    struct held_call *h = call != TL_NONE ? held_of(tl, call) : NULL;
    if (h != NULL)
        h->tally.findings++;
    else if (call != TL_NONE && tl->lane_last_sock[lane] != TL_NONE)
        tl->tally_of_sock[tl->lane_last_sock[lane]].findings++;
}

/* ---- taking records --------------------------------------------------------------- */

static void sock_room(struct ss_timeline *tl, uint32_t sock)
{
    if (sock == TL_NONE || sock < tl->nsocks)
        return;
    size_t n = tl->nsocks ? tl->nsocks : 64;
    while (n <= sock)
        n *= 2;
    tl->conn_of_sock = ss_grow(tl->conn_of_sock, n, sizeof *tl->conn_of_sock);
    tl->side_of_sock = ss_grow(tl->side_of_sock, n, sizeof *tl->side_of_sock);
    if (!tl->keep_calls)
        tl->tally_of_sock = ss_grow(tl->tally_of_sock, n, sizeof *tl->tally_of_sock);
    for (size_t i = tl->nsocks; i < n; i++) {
        tl->conn_of_sock[i] = TL_NONE;
        tl->side_of_sock[i] = 0;
        if (!tl->keep_calls)
            tl->tally_of_sock[i] = (struct tl_tally){0};
    }
    tl->nsocks = n;
}

/* The text line into the arena: its offset + 1, or 0 when it is not kept
 * (the arena's offsets are 32 bits: 4 GiB of lines at most). */
static uint32_t keep_line(struct ss_timeline *tl, const char *text, size_t n)
{
    if (!tl->keep_text || text == NULL || tl->text_len + n + 1 >= TL_NONE)
        return 0;
    while (tl->text_len + n + 1 > tl->text_cap) {
        tl->text_cap = tl->text_cap ? tl->text_cap * 2 : 1 << 16;
        tl->text = ss_grow(tl->text, tl->text_cap, 1);
    }
    uint32_t at = (uint32_t)tl->text_len + 1;
    memcpy(tl->text + tl->text_len, text, n);
    tl->text[tl->text_len + n] = '\0';
    tl->text_len += n + 1;
    return at;
}

/* A call as the timeline keeps it: it began dur_ns before the end the
 * trace gives, not before 0. */
static struct tl_call normalized(const struct tl_call *c)
{
    struct tl_call k = *c;
    uint64_t end = (uint64_t)c->t_ns;
    k.dur_ns = c->dur_ns < end ? c->dur_ns : end;
    k.t_ns = (int64_t)(end - k.dur_ns);
    k.text = 0;
    if (k.dur_ns >= 1000000)
        k.flags |= TL_BLOCKED;
    return k;
}

static void keep_call(struct ss_timeline *tl, struct tl_call *k, const char *text,
                      size_t text_len, const char *fault_rule)
{
    k->text = keep_line(tl, text, text_len);
    tl->calls = ss_room_for_one(tl->calls, tl->ncalls, &tl->calls_cap, sizeof *tl->calls);
    uint32_t i = (uint32_t)tl->ncalls++;
    tl->calls[i] = *k;
    if (fault_rule != NULL) {
        tl->faults = ss_room_for_one(tl->faults, tl->nfaults, &tl->faults_cap, sizeof *tl->faults);
        tl->faults[tl->nfaults++] = (struct tl_fault){i, intern(&tl->strings, fault_rule)};
    }
}

uint32_t ss_tl_take_call(struct ss_timeline *tl, const struct tl_call *c, const char *text,
                         size_t text_len, const char *fault_rule)
{
    if (tl->taken >= TL_NONE - 1)
        ss_die("too many calls for one report (at most %u)", TL_NONE - 2);
    struct tl_call k = normalized(c);
    sock_room(tl, k.sock);
    uint32_t i = (uint32_t)tl->taken++;
    tl->lanes[k.lane].calls++;
    tl->lane_last_call[k.lane] = i;
    tl->lane_last_sock[k.lane] = k.sock;
    if (tl->keep_calls)
        keep_call(tl, &k, text, text_len, fault_rule);
    else
        tally_taken(tl, &k, i);
    return i;
}

void ss_tl_accepted_by(struct ss_timeline *tl, uint32_t sock, uint32_t call)
{
    /* the accept is the first call of the connection it made */
    sock_room(tl, sock);
    if (tl->keep_calls) {
        tl->calls[call].sock = sock;
        return;
    }
    struct held_call *h = held_of(tl, call);
    if (h != NULL) {
        h->sock = sock;
        settle(tl, h);
    }
}

void ss_tl_accept_stays(struct ss_timeline *tl, uint32_t call)
{
    struct held_call *h = tl->keep_calls ? NULL : held_of(tl, call);
    if (h != NULL)
        settle(tl, h);
}

void ss_tl_take_finding(struct ss_timeline *tl, uint32_t lane, int64_t t_end_ns,
                        const char *code, const char *message, const char *where)
{
    uint32_t call = tl->lane_last_call[lane];
    if (!tl->keep_calls) {
        tally_finding(tl, lane, call);
        return;
    }
    tl->findings = ss_room_for_one(tl->findings, tl->nfindings, &tl->findings_cap,
                                sizeof *tl->findings);
    if (call != TL_NONE)
        tl->calls[call].flags |= TL_FINDING;
    tl->findings[tl->nfindings++] = (struct tl_finding){
        lane, call, t_end_ns, intern(&tl->strings, code), intern(&tl->strings, message),
        intern(&tl->strings, where)};
}

void ss_tl_add_connection(struct ss_timeline *tl, uint32_t a, uint32_t b, const char *proto,
                          int stream, const char *addr_a, const char *addr_b)
{
    if (tl->nconns >= TL_NONE - 1)
        ss_die("too many connections");
    sock_room(tl, a);
    sock_room(tl, b);
    tl->conns = ss_room_for_one(tl->conns, tl->nconns, &tl->conns_cap, sizeof *tl->conns);
    uint32_t i = (uint32_t)tl->nconns++;
    tl->conns[i] = (struct tl_conn){.sock = {a, b}, .lane = {TL_NONE, TL_NONE},
                                    .addr = {intern(&tl->strings, addr_a),
                                             intern(&tl->strings, addr_b)},
                                    .proto = intern(&tl->strings, proto), .stream = stream};
    tl->conn_of_sock[a] = i;
    tl->side_of_sock[a] = 0;
    if (b != TL_NONE) {
        tl->conn_of_sock[b] = i;
        tl->side_of_sock[b] = 1;
    }
}

/* ---- finishing: each socket's calls ------------------------------------------ */

static const struct ss_timeline *sorting; /* qsort has no context argument */

static int by_time(const void *x, const void *y)
{
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    const struct tl_call *a = &sorting->calls[i], *b = &sorting->calls[j];
    int64_t ea = a->t_ns + (int64_t)a->dur_ns, eb = b->t_ns + (int64_t)b->dur_ns;
    if (ea != eb)
        return ea < eb ? -1 : 1;
    return (i > j) - (i < j);
}

static int by_start(const void *x, const void *y)
{
    uint32_t i = *(const uint32_t *)x, j = *(const uint32_t *)y;
    const struct tl_call *a = &sorting->calls[i], *b = &sorting->calls[j];
    if (a->t_ns != b->t_ns)
        return a->t_ns < b->t_ns ? -1 : 1;
    return (i > j) - (i < j);
}

static void sort_calls(const struct ss_timeline *tl, uint32_t *v, size_t n,
                       int (*cmp)(const void *, const void *))
{
    if (n < 2)
        return;
    sorting = tl;
    qsort(v, n, sizeof *v, cmp);
    sorting = NULL;
}

/* Each socket's calls, in the order they ended by its own clock. */
static void list_socket_calls(struct ss_timeline *tl)
{
    tl->sock_first = calloc(tl->nsocks + 1, sizeof *tl->sock_first);
    if (tl->sock_first == NULL)
        ss_die("out of memory");
    for (size_t i = 0; i < tl->ncalls; i++)
        if (tl->calls[i].sock != TL_NONE)
            tl->sock_first[tl->calls[i].sock + 1]++;
    for (size_t s = 0; s < tl->nsocks; s++)
        tl->sock_first[s + 1] += tl->sock_first[s];
    tl->sock_calls = ss_grow(NULL, tl->sock_first[tl->nsocks], sizeof *tl->sock_calls);
    uint32_t *next = ss_grow(NULL, tl->nsocks + 1, sizeof *next);
    memcpy(next, tl->sock_first, (tl->nsocks + 1) * sizeof *next);
    for (size_t i = 0; i < tl->ncalls; i++)
        if (tl->calls[i].sock != TL_NONE)
            tl->sock_calls[next[tl->calls[i].sock]++] = (uint32_t)i;
    free(next);
    for (size_t s = 0; s < tl->nsocks; s++)
        sort_calls(tl, tl->sock_calls + tl->sock_first[s], tl->sock_first[s + 1] - tl->sock_first[s],
                   by_time);
}

struct span {
    const uint32_t *v;
    size_t n;
};

static struct span calls_of(const struct ss_timeline *tl, uint32_t sock)
{
    if (sock == TL_NONE || sock >= tl->nsocks)
        return (struct span){NULL, 0};
    return (struct span){tl->sock_calls + tl->sock_first[sock],
                         tl->sock_first[sock + 1] - tl->sock_first[sock]};
}

static uint32_t host_of(const struct ss_timeline *tl, uint32_t call)
{
    return tl->lanes[tl->calls[call].lane].host;
}

/* ---- finishing: flows and what they say of the clocks ----------------------- */

/* A receive on host to ended at recv_end, after a send on host from began
 * at send_start: offset[to] - offset[from] >= send_start - recv_end. */
static void bound_clocks(struct ss_timeline *tl, uint32_t from, uint32_t to, int64_t send_start,
                         int64_t recv_end)
{
    if (from == to || tl->bounds == NULL)
        return;
    int64_t v = send_start - recv_end;
    if (from < to) {
        struct pair_bounds *b = &tl->bounds[from * tl->nhosts + to];
        b->lo = b->n_lo++ == 0 || v > b->lo ? v : b->lo;
    } else { /* offset[from] - offset[to] <= -v */
        struct pair_bounds *b = &tl->bounds[to * tl->nhosts + from];
        b->hi = b->n_hi++ == 0 || -v < b->hi ? -v : b->hi;
    }
}

static void bound_by_calls(struct ss_timeline *tl, uint32_t send, uint32_t recv)
{
    const struct tl_call *r = &tl->calls[recv];
    bound_clocks(tl, host_of(tl, send), host_of(tl, recv), tl->calls[send].t_ns,
                 r->t_ns + (int64_t)r->dur_ns);
}

static void add_flow(struct ss_timeline *tl, uint32_t send, uint32_t recv)
{
    tl->flows = ss_room_for_one(tl->flows, tl->nflows, &tl->flows_cap, sizeof *tl->flows);
    tl->flows[tl->nflows++] = (struct tl_flow){send, recv};
    bound_by_calls(tl, send, recv);
}

/* Each send of from's to the first receive of to's that got its bytes. */
static void match_stream(struct ss_timeline *tl, struct span from, struct span to)
{
    uint64_t sent = 0, received = 0; /* stream offsets: the next send's, receive j's */
    size_t j = 0;
    for (size_t i = 0; i < from.n; i++) {
        const struct tl_call *s = &tl->calls[from.v[i]];
        if (!sends(s) || s->bytes == 0)
            continue;
        while (j < to.n && (!moved_bytes_in(&tl->calls[to.v[j]]) ||
                            received + tl->calls[to.v[j]].bytes <= sent)) {
            if (moved_bytes_in(&tl->calls[to.v[j]]))
                received += tl->calls[to.v[j]].bytes;
            j++;
        }
        if (j < to.n)
            add_flow(tl, from.v[i], to.v[j]);
        sent = s->bytes > UINT64_MAX - sent ? UINT64_MAX : sent + s->bytes;
    }
}

static uint32_t first_call_of_op(const struct ss_timeline *tl, struct span s, ss_opmask ops)
{
    for (size_t i = 0; i < s.n; i++) {
        const struct tl_call *c = &tl->calls[s.v[i]];
        if (c->op < SS_OP_COUNT && ss_op_in((enum ss_op)c->op, ops))
            return s.v[i];
    }
    return TL_NONE;
}

/* The connect of one end began before the accept of the other ended. */
static void bound_by_handshake(struct ss_timeline *tl, struct span a, struct span b)
{
    uint32_t connect = first_call_of_op(tl, a, SS_OPBIT(connect) | SS_OPBIT(connect_ex));
    uint32_t accept = first_call_of_op(tl, b, SS_OPBIT(accept));
    if (connect != TL_NONE && accept != TL_NONE)
        bound_by_calls(tl, connect, accept);
}

static void match_connections(struct ss_timeline *tl)
{
    if (tl->nhosts > 1) {
        tl->bounds = calloc(tl->nhosts * tl->nhosts, sizeof *tl->bounds);
        if (tl->bounds == NULL)
            ss_die("out of memory");
    }
    for (size_t i = 0; i < tl->nconns; i++) {
        const struct tl_conn *c = &tl->conns[i];
        if (c->sock[1] == TL_NONE)
            continue;
        struct span a = calls_of(tl, c->sock[0]), b = calls_of(tl, c->sock[1]);
        bound_by_handshake(tl, a, b);
        bound_by_handshake(tl, b, a);
        if (!c->stream)
            continue;
        match_stream(tl, a, b);
        match_stream(tl, b, a);
    }
}

/* ---- finishing: the clocks ------------------------------------------------------ */

static char *say_basis(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static char *say_basis(const char *fmt, ...)
{
    char buf[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    return ss_copy_of(buf);
}

/* The bounds of offset[y] - offset[x] for any two hosts. */
static struct pair_bounds bounds_between(const struct ss_timeline *tl, uint32_t x, uint32_t y)
{
    if (x < y)
        return tl->bounds[x * tl->nhosts + y];
    struct pair_bounds b = tl->bounds[y * tl->nhosts + x];
    return (struct pair_bounds){-b.hi, -b.lo, b.n_hi, b.n_lo};
}

/* Host y's offset from aligned host x's and what the events between them
 * bound. */
static void align_from(struct ss_timeline *tl, uint32_t x, uint32_t y)
{
    struct pair_bounds b = bounds_between(tl, x, y);
    struct tl_host *hx = &tl->hosts[x], *hy = &tl->hosts[y];
    uint64_t n = b.n_lo + b.n_hi;
    int64_t d, half = -1;
    if (b.n_lo > 0 && b.n_hi > 0 && b.lo <= b.hi) {
        d = b.lo + (b.hi - b.lo) / 2;
        half = (b.hi - b.lo + 1) / 2;
        hy->basis = say_basis("from %llu paired events with %s: between %+.3f and %+.3f ms",
                              (unsigned long long)n, hx->name,
                              (double)clamp_offset(hx->offset_ns + b.lo) / 1e6,
                              (double)clamp_offset(hx->offset_ns + b.hi) / 1e6);
    } else if (b.n_lo > 0 && b.n_hi > 0) {
        d = b.hi + (b.lo - b.hi) / 2;
        half = (b.lo - b.hi + 1) / 2;
        hy->basis = say_basis("%llu paired events with %s disagree by %.3f ms (a clock that "
                              "drifted, or a wrong pairing): midpoint taken",
                              (unsigned long long)n, hx->name, (double)(b.lo - b.hi) / 1e6);
    } else {
        d = b.n_lo > 0 ? b.lo : b.hi;
        hy->basis = say_basis("from %llu events with %s, one way only: at %s %+.3f ms",
                              (unsigned long long)n, hx->name, b.n_lo > 0 ? "least" : "most",
                              (double)clamp_offset(hx->offset_ns + d) / 1e6);
    }
    hy->offset_ns = clamp_offset(hx->offset_ns + d);
    hy->uncertainty_ns = half < 0 || hx->uncertainty_ns < 0 ? -1
                                                            : clamp_offset(hx->uncertainty_ns + half);
}

/* The first host is the reference; the others are aligned through the
 * hosts aligned before them, nearest first (by breadth). */
static void align_clocks(struct ss_timeline *tl)
{
    if (tl->nhosts == 0)
        return;
    uint32_t queue[TL_HOSTS_MAX];
    int aligned[TL_HOSTS_MAX] = {0};
    size_t head = 0, tail = 0;
    tl->hosts[0].offset_ns = 0;
    tl->hosts[0].uncertainty_ns = 0;
    tl->hosts[0].basis = ss_copy_of("reference clock");
    aligned[0] = 1;
    queue[tail++] = 0;
    while (head < tail) {
        uint32_t x = queue[head++];
        for (uint32_t y = 0; y < tl->nhosts; y++) {
            struct pair_bounds b;
            if (aligned[y] || (b = bounds_between(tl, x, y), b.n_lo + b.n_hi == 0))
                continue;
            align_from(tl, x, y);
            aligned[y] = 1;
            queue[tail++] = y;
        }
    }
    for (uint32_t y = 0; y < tl->nhosts; y++)
        if (!aligned[y])
            tl->hosts[y].basis = ss_copy_of("no connection with an aligned host: not aligned");
}

static void apply_offsets(struct ss_timeline *tl)
{
    for (size_t i = 0; i < tl->ncalls; i++) {
        struct tl_call *c = &tl->calls[i];
        c->t_ns = clamp_time(c->t_ns + tl->hosts[host_of(tl, (uint32_t)i)].offset_ns);
    }
    for (size_t i = 0; i < tl->nfindings; i++) {
        struct tl_finding *f = &tl->findings[i];
        f->t_ns = clamp_time(f->t_ns + tl->hosts[tl->lanes[f->lane].host].offset_ns);
    }
}

/* ---- finishing: order and the connections' sums ------------------------------ */

static void order_calls(struct ss_timeline *tl)
{
    tl->order = ss_grow(NULL, tl->ncalls, sizeof *tl->order);
    tl->rank = ss_grow(NULL, tl->ncalls, sizeof *tl->rank);
    for (size_t i = 0; i < tl->ncalls; i++)
        tl->order[i] = (uint32_t)i;
    sort_calls(tl, tl->order, tl->ncalls, by_start);
    for (size_t k = 0; k < tl->ncalls; k++)
        tl->rank[tl->order[k]] = (uint32_t)k;
    int64_t first = TIME_MAX, last = 0;
    for (size_t i = 0; i < tl->ncalls; i++) {
        const struct tl_call *c = &tl->calls[i];
        first = c->t_ns < first ? c->t_ns : first;
        int64_t end = clamp_time(c->t_ns + (int64_t)c->dur_ns);
        last = end > last ? end : last;
    }
    tl->t0_ns = tl->ncalls > 0 ? first : 0;
    tl->span_ns = tl->ncalls > 0 && last > first ? last - first : 0;
}

static void add_event(struct tl_conn *c, size_t *cap, int64_t t, int side, int kind,
                      uint64_t bytes)
{
    if (c->nevents == TL_EVENTS_MAX) {
        c->events_dropped++;
        return;
    }
    c->events = ss_room_for_one(c->events, c->nevents, cap, sizeof *c->events);
    c->events[c->nevents++] = (struct tl_event){t, bytes, (uint8_t)side, (uint8_t)kind};
}

/* A send of side's: added to the burst of its sends that the other side
 * has not answered yet, or the start of a new one. */
static void add_data(struct tl_conn *c, size_t *cap, int64_t t, int side, uint64_t bytes)
{
    struct tl_event *last = c->nevents > 0 ? &c->events[c->nevents - 1] : NULL;
    if (last != NULL && last->kind == TL_EV_DATA && last->side == side) {
        last->bytes = bytes > UINT64_MAX - last->bytes ? UINT64_MAX : last->bytes + bytes;
        return;
    }
    add_event(c, cap, t, side, TL_EV_DATA, bytes);
}

static int event_of_op(int op)
{
    switch (op) {
    case SS_OP_connect:
    case SS_OP_connect_ex:
        return TL_EV_CONNECT;
    case SS_OP_accept:
        return TL_EV_ACCEPT;
    case SS_OP_shutdown:
        return TL_EV_SHUTDOWN;
    case SS_OP_close:
        return TL_EV_CLOSE;
    default:
        return -1;
    }
}

struct summing {
    size_t events_cap, rtt_cap;
    int64_t asked; /* when side a's request began, -1: none waiting */
};

/* Round trips as the end that connected sees them: from the first send of
 * a request to the first receive of bytes after it. */
static void note_round_trip(struct tl_conn *c, struct summing *s, const struct tl_call *k,
                            int side)
{
    if (side != 0)
        return;
    if (sends(k) && k->bytes > 0 && s->asked < 0) {
        s->asked = k->t_ns;
    } else if (moved_bytes_in(k) && s->asked >= 0) {
        if (c->nrtt < TL_RTT_MAX) {
            c->rtt_ns = ss_room_for_one(c->rtt_ns, c->nrtt, &s->rtt_cap, sizeof *c->rtt_ns);
            c->rtt_ns[c->nrtt++] = k->t_ns + (int64_t)k->dur_ns - s->asked;
        }
        s->asked = -1;
    }
}

/* A call of side's: its events, round trips and tally. */
static void sum_call(struct ss_timeline *tl, struct tl_conn *c, struct summing *s,
                     struct tl_tally *tally, uint32_t i)
{
    struct tl_call *k = &tl->calls[i];
    int side = tl->side_of_sock[k->sock];
    k->side = (uint8_t)side;
    struct tl_tally one = tally_of(k, tl->lanes[k->lane].pid);
    tally_merge(&tally[side], &one);
    if (c->lane[side] == TL_NONE)
        c->lane[side] = k->lane;
    int kind = k->op < SS_OP_COUNT ? event_of_op(k->op) : -1;
    if (kind >= 0)
        add_event(c, &s->events_cap, begin_of(k), side, kind, 0);
    if (sends(k) && k->bytes > 0)
        add_data(c, &s->events_cap, k->t_ns, side, k->bytes);
    if (k->flags & TL_RESET)
        add_event(c, &s->events_cap, k->t_ns, side, TL_EV_RESET, 0);
    if (k->flags & TL_FAULTED)
        add_event(c, &s->events_cap, k->t_ns, side, TL_EV_FAULT, 0);
    note_round_trip(c, s, k, side);
}

/* Both ends' calls, merged in time (each end's list is in its own clock's
 * order, which the constant offset of its host keeps; an accept, the first
 * of its end's, keeps it by its end too). */
static void sum_connection(struct ss_timeline *tl, struct tl_conn *c)
{
    struct span a = calls_of(tl, c->sock[0]), b = calls_of(tl, c->sock[1]);
    struct summing s = {0, 0, -1};
    struct tl_tally tally[2] = {{0}, {0}};
    size_t i = 0, j = 0;
    while (i < a.n || j < b.n) {
        int take_a = j >= b.n ||
                     (i < a.n && begin_of(&tl->calls[a.v[i]]) <= begin_of(&tl->calls[b.v[j]]));
        sum_call(tl, c, &s, tally, take_a ? a.v[i++] : b.v[j++]);
    }
    conn_take(c, 0, &tally[0]);
    conn_take(c, 1, &tally[1]);
}

static void sum_from_calls(struct ss_timeline *tl)
{
    for (size_t i = 0; i < tl->nconns; i++)
        sum_connection(tl, &tl->conns[i]);
    for (size_t i = 0; i < tl->nfindings; i++) {
        uint32_t call = tl->findings[i].call;
        uint32_t sock = call != TL_NONE ? tl->calls[call].sock : TL_NONE;
        if (sock != TL_NONE && tl->conn_of_sock[sock] != TL_NONE)
            tl->conns[tl->conn_of_sock[sock]].findings++;
    }
}

/* Without the calls, in a run of one host (offset 0): the sockets' tallies. */
static void sum_from_tallies(struct ss_timeline *tl)
{
    settle_all(tl);
    for (size_t i = 0; i < tl->nconns; i++) {
        struct tl_conn *c = &tl->conns[i];
        for (int side = 0; side < 2; side++)
            if (c->sock[side] != TL_NONE)
                conn_take(c, side, &tl->tally_of_sock[c->sock[side]]);
    }
}

static void sum_connections(struct ss_timeline *tl)
{
    if (tl->keep_calls)
        sum_from_calls(tl);
    else
        sum_from_tallies(tl);
}

void ss_tl_finish(struct ss_timeline *tl)
{
    if (ss_tl_needs_calls(tl))
        ss_die("internal error: the clocks of several hosts are aligned from their calls, "
               "which were not kept");
    if (tl->keep_calls) {
        list_socket_calls(tl);
        match_connections(tl);
    }
    align_clocks(tl);
    apply_offsets(tl);
    order_calls(tl);
    sum_connections(tl);
}

/* ---- the finished timeline ------------------------------------------------------ */

void ss_tl_view(const struct ss_timeline *tl, struct tl_view *v)
{
    *v = (struct tl_view){
        .calls = tl->calls, .order = tl->order, .rank = tl->rank, .ncalls = tl->ncalls,
        .text = tl->text, .hosts = tl->hosts, .nhosts = tl->nhosts, .lanes = tl->lanes,
        .nlanes = tl->nlanes, .conns = tl->conns, .nconns = tl->nconns,
        .conn_of_sock = tl->conn_of_sock, .nsocks = tl->nsocks, .findings = tl->findings,
        .nfindings = tl->nfindings, .faults = tl->faults, .nfaults = tl->nfaults,
        .flows = tl->flows, .nflows = tl->nflows, .t0_ns = tl->t0_ns, .span_ns = tl->span_ns};
}

const char *ss_tl_text(const struct tl_view *v, uint32_t call)
{
    uint32_t at = v->calls[call].text;
    return at != 0 ? v->text + at - 1 : NULL;
}

uint32_t ss_tl_conn_of_call(const struct tl_view *v, uint32_t call)
{
    uint32_t sock = v->calls[call].sock;
    return sock != TL_NONE && sock < v->nsocks ? v->conn_of_sock[sock] : TL_NONE;
}

const char *ss_tl_event_name(int kind)
{
    static const char *const names[] = {"connect", "accept", "data", "shutdown",
                                        "reset", "close", "fault"};
    return kind >= 0 && kind <= TL_EV_FAULT ? names[kind] : "?";
}

const char *ss_tl_lane_program(const struct tl_lane *l)
{
    const char *slash = strrchr(l->exe, '/');
    if (l->exe[0] == '\0')
        return "?";
    return slash != NULL && slash[1] != '\0' ? slash + 1 : l->exe;
}
