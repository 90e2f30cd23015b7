/* sockshim report: JSON written as it goes (json_out.c), for --perfetto
 * and --html: no document tree, however many calls. */
#ifndef SOCKSHIM_JSON_OUT_H
#define SOCKSHIM_JSON_OUT_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ss_jw {
    FILE *f;
    const char *path; /* for messages */
    int html;         /* inside an HTML <script>: '<', '>', '&' as \u escapes */
};

/* Bytes of JSON text (structure, numbers, escaped strings). */
void ss_jw_raw(struct ss_jw *w, const char *s, size_t n);
void ss_jw_text(struct ss_jw *w, const char *s);
/* A string as a JSON literal, escaped by shim/common/escape.c (a byte
 * that is not UTF-8 becomes U+FFFD). */
void ss_jw_str(struct ss_jw *w, const char *s);
void ss_jw_i64(struct ss_jw *w, int64_t v);
void ss_jw_u64(struct ss_jw *w, uint64_t v);
/* ns as microseconds with three decimals: 12.345 */
void ss_jw_us3(struct ss_jw *w, int64_t ns);
/* "key": */
void ss_jw_key(struct ss_jw *w, const char *key);
/* Closes the file; ends the command (status 2) when it was not written. */
void ss_jw_close(struct ss_jw *w);
/* Opens path for writing (truncated); ends the command when it cannot. */
void ss_jw_open(struct ss_jw *w, const char *path, int html);

#endif
