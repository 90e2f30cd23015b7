/* libFuzzer harness: the fault rule parser (shim/common/rules.h).
 *
 * The input, as a NUL-terminated string, is one rule. Whatever it holds, the
 * parser must return 0 or -1 without touching memory it does not own; a bad
 * rule must come with a NUL-terminated message whose bad part lies inside
 * the rule; a good one must obey the grammar's own limits (docs/faults.md).
 * ss_rule_explain() must honour its contract in any buffer: it returns the
 * size it needs (with the NUL), writes at most cap bytes, and leaves a
 * NUL-terminated prefix of the full message.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "fuzz.h"
#include "rules.h"
#include "xlat.h"

static int terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

/* Explains e into buffers of several sizes, each allocated to exactly its
 * size so that ASan sees a write one byte past it. */
static void explain(const char *prefix, const char *text, const struct ss_rule_error *e)
{
    char probe = 'x';
    size_t need = ss_rule_explain(prefix, text, e, &probe, 0);
    CHECK(probe == 'x'); /* cap 0: nothing written */
    CHECK(need >= 1);

    char *full = malloc(need);
    CHECK(full != NULL);
    CHECK(ss_rule_explain(prefix, text, e, full, need) == need);
    CHECK(strlen(full) == need - 1);
    CHECK(strncmp(full, e->msg, strlen(e->msg)) == 0);
    /* three lines: the message, the rule, the carets */
    size_t lines = 0;
    for (const char *p = full; *p != '\0'; p++)
        lines += *p == '\n';
    CHECK(lines >= 3);
    CHECK(need >= 2 && full[need - 2] == '\n');

    static const size_t caps[] = {1, 2, 17, 80, 256, 4096};
    for (size_t i = 0; i < sizeof caps / sizeof caps[0]; i++) {
        size_t cap = caps[i];
        char *buf = malloc(cap);
        CHECK(buf != NULL);
        CHECK(ss_rule_explain(prefix, text, e, buf, cap) == need);
        CHECK(terminated(buf, cap));
        size_t got = strlen(buf);
        CHECK(got == (need - 1 < cap - 1 ? need - 1 : cap - 1));
        CHECK(memcmp(buf, full, got) == 0);
        free(buf);
    }
    free(full);
}

static unsigned popcount(unsigned v)
{
    return (unsigned)__builtin_popcount(v);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *text = malloc(size + 1);
    if (text == NULL)
        return 0;
    memcpy(text, data, size);
    text[size] = '\0';
    size_t len = strlen(text);

    struct ss_rule *rule = malloc(sizeof *rule);
    struct ss_rule_error e;
    memset(rule, 0xa5, sizeof *rule);
    memset(&e, 0xa5, sizeof e);
    int rc = ss_rule_parse(text, rule, &e);
    CHECK(rc == 0 || rc == -1);

    if (rc != 0) {
        CHECK(terminated(e.msg, sizeof e.msg));
        CHECK(e.msg[0] != '\0');
        CHECK(e.at <= len);
        CHECK(e.len <= len - e.at);
        explain("  ", text, &e);
        explain("", text, &e);
    } else {
        /* what docs/faults.md promises of a rule it accepts */
        CHECK(len > 0 && len < SS_RULE_TEXT_MAX);
        CHECK(strcmp(rule->text, text) == 0);
        CHECK(terminated(rule->action_text, sizeof rule->action_text));
        CHECK(terminated(rule->uncut_action_text, sizeof rule->uncut_action_text));
        CHECK(strstr(rule->uncut_action_text, "short=") == NULL);
        CHECK(rule->actions != 0);
        CHECK(popcount(rule->actions & SS_ACT_OUTCOMES) <= 1);
        CHECK(rule->set != 0);
        CHECK((rule->set & ~SS_OPMASK_ALL) == 0);
        if (rule->actions & SS_ACT_SHORT)
            CHECK(rule->short_len >= 1 && rule->short_len < (2ull << 30));
        if (rule->actions & SS_ACT_CORRUPT)
            CHECK(rule->corrupt >= 1 && rule->corrupt <= 65536);
        if (rule->actions & SS_ACT_REORDER)
            CHECK(rule->reorder >= 1 && rule->reorder <= 65535);
        if (rule->actions & SS_ACT_DATAGRAM) /* one of them, alone */
            CHECK((rule->actions & (rule->actions - 1)) == 0 && rule->jitter_ns == 0);
        CHECK(rule->delay_ns <= 3600ull * 1000000000ull);
        CHECK(rule->jitter_ns <= 3600ull * 1000000000ull);
        if (rule->has_when)
            CHECK(rule->when_last == 0 || rule->when_first <= rule->when_last);
        CHECK(rule->port == -1 || (rule->port >= 1 && rule->port <= 65535));
        CHECK(rule->family == AF_UNSPEC || rule->family == AF_INET ||
              rule->family == AF_INET6 || rule->family == AF_UNIX);
        CHECK(rule->socktype == 0 ||
              ss_xlat_name(&ss_xlat_rule_socktype, rule->socktype) != NULL);
        if (rule->has_peer) {
            CHECK(rule->peer.family == AF_INET || rule->peer.family == AF_INET6 ||
                  rule->peer.family == AF_UNIX);
            CHECK(rule->peer.port == -1 || (rule->peer.port >= 0 && rule->peer.port <= 65535));
            CHECK(terminated(rule->peer.path, sizeof rule->peer.path));
        }

        memset(&e, 0xa5, sizeof e);
        int warned = ss_rule_warning(rule, &e);
        CHECK(warned == 0 || warned == 1);
        if (warned) {
            CHECK(rule->actions & (SS_ACT_ERROR | SS_ACT_SHORT | SS_ACT_DATAGRAM));
            CHECK(terminated(e.msg, sizeof e.msg));
            CHECK(e.at <= len);
            CHECK(e.len <= len - e.at);
            explain("  ", text, &e);
        }
    }
    free(rule);
    free(text);
    return 0;
}
