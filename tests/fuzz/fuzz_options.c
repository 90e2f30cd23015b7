/* libFuzzer harness: every parser of shim/common/options.h.
 *
 * The input, as a NUL-terminated string, is given to each parser in turn, as
 * a user could give it in an option or a SOCKSHIM_* variable. Each returns 0
 * with a value in its range, or -1 with a NUL-terminated message. The
 * writers (ss_expand_output, ss_format_fd_ref) honour snprintf's
 * contract in buffers of any size, and what they write parses back.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz.h"
#include "options.h"

static const size_t small_caps[] = {1, 2, 5, 16, 64};

/* A failed parse leaves a message; a successful one may leave e alone. */
static void check_result(int rc, const struct ss_parse_error *e)
{
    CHECK(rc == 0 || rc == -1);
    if (rc != 0) {
        CHECK(memchr(e->msg, '\0', sizeof e->msg) != NULL);
        CHECK(e->msg[0] != '\0');
    }
}

static void init_error(struct ss_parse_error *e)
{
    memset(e, 0xa5, sizeof *e);
}

/* ss_expand_output into exact-size, empty and small buffers; returns the
 * size it needs (with the NUL). */
static size_t check_expand(const char *pattern, long pid)
{
    char probe = 'x';
    size_t need = ss_expand_output(pattern, pid, &probe, 0);
    CHECK(probe == 'x');
    CHECK(need >= 1);
    char *full = malloc(need);
    CHECK(full != NULL);
    CHECK(ss_expand_output(pattern, pid, full, need) == need);
    CHECK(strlen(full) == need - 1);
    /* every %% became %, every %p the pid, nothing else changed: the
     * expansion is at most the pattern plus the pid's digits per %p */
    CHECK(need - 1 <= strlen(pattern) * 20 + 1);
    for (size_t i = 0; i < sizeof small_caps / sizeof small_caps[0]; i++) {
        size_t cap = small_caps[i];
        char *buf = malloc(cap);
        CHECK(buf != NULL);
        CHECK(ss_expand_output(pattern, pid, buf, cap) == need);
        CHECK(memchr(buf, '\0', cap) != NULL);
        size_t got = strlen(buf);
        CHECK(got == (need - 1 < cap - 1 ? need - 1 : cap - 1));
        CHECK(memcmp(buf, full, got) == 0);
        free(buf);
    }
    free(full);
    return need;
}

static void check_fd_ref(const char *s)
{
    struct ss_parse_error e;
    struct ss_fd_ref v, again;
    init_error(&e);
    memset(&v, 0, sizeof v);
    int rc = ss_parse_fd_ref(s, &v, &e);
    check_result(rc, &e);
    if (rc != 0)
        return;
    CHECK(v.fd >= 0 && v.fd <= 1 << 30);
    /* what the command writes, the library reads back */
    char probe = 'x';
    size_t need = ss_format_fd_ref(&v, &probe, 0);
    CHECK(probe == 'x');
    char *full = malloc(need);
    CHECK(full != NULL);
    CHECK(ss_format_fd_ref(&v, full, need) == need);
    CHECK(strlen(full) == need - 1);
    init_error(&e);
    CHECK(ss_parse_fd_ref(full, &again, &e) == 0);
    CHECK(again.fd == v.fd && again.dev == v.dev && again.ino == v.ino &&
          again.holder_pid == v.holder_pid && again.holder_fd == v.holder_fd);
    CHECK(v.holder_pid >= 0 && v.holder_pid <= SS_PID_LIMIT);
    for (size_t i = 0; i < sizeof small_caps / sizeof small_caps[0]; i++) {
        size_t cap = small_caps[i];
        char *buf = malloc(cap);
        CHECK(buf != NULL);
        CHECK(ss_format_fd_ref(&v, buf, cap) == need);
        CHECK(memchr(buf, '\0', cap) != NULL);
        CHECK(memcmp(buf, full, strlen(buf)) == 0);
        free(buf);
    }
    free(full);
}

static void check_closest(const char *word, size_t wordlen, const char *const *names, size_t n)
{
    const char *near = ss_closest_name(word, wordlen, names, n);
    if (near == NULL)
        return;
    size_t i = 0;
    while (i < n && names[i] != near)
        i++;
    CHECK(i < n); /* one of the names, not a copy */
    CHECK(!(strlen(near) == wordlen && memcmp(near, word, wordlen) == 0)); /* a typo */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* exact size: ASan sees a read past the NUL */
    char *s = malloc(size + 1);
    if (s == NULL)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    size_t len = strlen(s);
    struct ss_parse_error e;
    int rc;

    enum ss_format format;
    init_error(&e);
    rc = ss_parse_format(s, &format, &e);
    check_result(rc, &e);
    if (rc == 0)
        CHECK(format == SS_FORMAT_TEXT || format == SS_FORMAT_JSON || format == SS_FORMAT_RAW);

    unsigned strsize;
    init_error(&e);
    rc = ss_parse_strsize(s, &strsize, &e);
    check_result(rc, &e);
    if (rc == 0)
        CHECK(strsize <= SS_STRSIZE_MAX);

    ss_opmask mask;
    init_error(&e);
    rc = ss_parse_opmask(s, &mask, &e);
    check_result(rc, &e);
    if (rc == 0)
        CHECK((mask & ~SS_OPMASK_ALL) == 0);

    init_error(&e);
    check_result(ss_parse_output(s, &e), &e);

    check_fd_ref(s);

    enum ss_summary summary;
    init_error(&e);
    rc = ss_parse_summary(s, &summary, &e);
    check_result(rc, &e);
    if (rc == 0)
        CHECK(summary == SS_SUMMARY_ON || summary == SS_SUMMARY_OFF ||
              summary == SS_SUMMARY_ONLY);

    int flag;
    init_error(&e);
    rc = ss_parse_flag(s, &flag, &e);
    check_result(rc, &e);
    if (rc == 0)
        CHECK(flag == 0 || flag == 1);

    /* %p: a pid of another length changes the expansion exactly when the
     * pattern has one */
    int has_pid = ss_output_has_pid(s);
    CHECK(has_pid == 0 || has_pid == 1);
    size_t short_pid = check_expand(s, 7);
    size_t long_pid = check_expand(s, 4194304);
    CHECK(has_pid == (short_pid != long_pid));
    check_expand(s, 0);
    check_expand(s, -1);
    check_expand(s, LONG_MIN);
    check_expand(s, LONG_MAX);

    /* did-you-mean: the input as the word, against the methods, against
     * the input's own comma-separated words, and an empty list */
    const char *ops[SS_OP_COUNT];
    for (int i = 0; i < SS_OP_COUNT; i++) {
        ops[i] = ss_op_name((enum ss_op)i);
        CHECK(ops[i] != NULL && strcmp(ops[i], "?") != 0);
        CHECK(ss_op_group((enum ss_op)i) != NULL);
    }
    char *word = malloc(size > 0 ? size : 1); /* not NUL-terminated */
    CHECK(word != NULL);
    memcpy(word, data, size);
    check_closest(word, size, ops, SS_OP_COUNT);
    check_closest(word, size, ops, 0);
    const char *words[16];
    size_t n = 0;
    for (char *p = s; n < 16;) {
        words[n++] = p;
        char *comma = strchr(p, ',');
        if (comma == NULL)
            break;
        *comma = '\0';
        p = comma + 1;
    }
    if (n > 1)
        check_closest(words[0], strlen(words[0]), words + 1, n - 1);
    (void)len;

    if (size > 0) { /* names of numbers out of range are "?" */
        CHECK(ss_op_name((enum ss_op)(SS_OP_COUNT + data[0])) != NULL);
        CHECK(ss_fn_name((enum ss_fn)data[0]) != NULL);
    }
    free(word);
    free(s);
    return 0;
}
