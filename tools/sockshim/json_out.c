/* sockshim report: JSON written as it goes (json_out.h). */
#include "json_out.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "fmt.h"
#include "say.h"

/* '<' '>' '&' in a <script> element as JSON's own escapes: "</script>" or
 * "<!--" from a trace cannot end the element or change how it is read. */
static void raw_html_safe(struct ss_jw *w, const char *s, size_t n)
{
    size_t from = 0;
    for (size_t i = 0; i < n; i++) {
        const char *esc = s[i] == '<' ? "\\u003c" : s[i] == '>' ? "\\u003e"
                                                 : s[i] == '&' ? "\\u0026" : NULL;
        if (esc == NULL)
            continue;
        fwrite(s + from, 1, i - from, w->f);
        fputs(esc, w->f);
        from = i + 1;
    }
    fwrite(s + from, 1, n - from, w->f);
}

void ss_jw_raw(struct ss_jw *w, const char *s, size_t n)
{
    if (w->html)
        raw_html_safe(w, s, n);
    else
        fwrite(s, 1, n, w->f);
}

void ss_jw_text(struct ss_jw *w, const char *s)
{
    ss_jw_raw(w, s, strlen(s));
}

void ss_jw_str(struct ss_jw *w, const char *s)
{
    char small[512];
    size_t n = strlen(s);
    struct ss_out o;
    ss_out_init(&o, small, sizeof small);
    ss_out_json_str(&o, s, n);
    if (!ss_out_overflowed(&o)) {
        ss_jw_raw(w, small, o.len);
        return;
    }
    size_t need = o.len;
    char *big = malloc(need);
    if (big == NULL)
        ss_die("out of memory");
    ss_out_init(&o, big, need);
    ss_out_json_str(&o, s, n);
    ss_jw_raw(w, big, need);
    free(big);
}

void ss_jw_i64(struct ss_jw *w, int64_t v)
{
    fprintf(w->f, "%" PRId64, v);
}

void ss_jw_u64(struct ss_jw *w, uint64_t v)
{
    fprintf(w->f, "%" PRIu64, v);
}

void ss_jw_us3(struct ss_jw *w, int64_t ns)
{
    uint64_t a = ns < 0 ? (uint64_t)0 - (uint64_t)ns : (uint64_t)ns;
    fprintf(w->f, "%s%" PRIu64 ".%03" PRIu64, ns < 0 ? "-" : "", a / 1000, a % 1000);
}

void ss_jw_key(struct ss_jw *w, const char *key)
{
    ss_jw_str(w, key);
    fputc(':', w->f);
}

/* A file name for a message, escaped as the text trace escapes a name. */
static const char *shown(const char *path, char buf[static 512])
{
    struct ss_out o;
    ss_out_init(&o, buf, 511);
    ss_out_safe(&o, path);
    buf[o.len < 511 ? o.len : 511] = '\0';
    return buf;
}

void ss_jw_open(struct ss_jw *w, const char *path, int html)
{
    w->f = fopen(path, "we");
    w->path = path;
    w->html = html;
    if (w->f == NULL)
        ss_die("cannot write '%s': %s", shown(path, (char[512]){0}), strerror(errno));
}

void ss_jw_close(struct ss_jw *w)
{
    int failed = ferror(w->f);
    if (fclose(w->f) != 0 || failed)
        ss_die("cannot write '%s': %s", shown(w->path, (char[512]){0}), strerror(errno));
}
