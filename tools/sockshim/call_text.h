/* sockshim report: strings of a JSON trace record, shown as the text
 * trace shows them (call_text.c). Records are those report.c checked. */
#ifndef SOCKSHIM_CALL_TEXT_H
#define SOCKSHIM_CALL_TEXT_H

#include <jansson.h>
#include <stdio.h>

#include "fmt.h"

/* The exact bytes of a string member: "name_hex" when the writer put one
 * there (the bytes were not UTF-8), else the string itself, NUL bytes
 * included (docs/trace-format.md, "Strings"). */
struct ss_text {
    const char *p;
    size_t n;
    char *owned;
};
struct ss_text ss_text_of(json_t *obj, const char *key);
void ss_text_free(struct ss_text *t);
/* "path_hex" for "path" (keys are report's own, short names) */
const char *ss_twin_key(const char *key, char buf[static 64]);

/* How a string is shown: as the text trace shows a name (no quotes), a
 * file-system name (a Python str literal) or an abstract unix name (a
 * Python bytes literal with its leading NUL). */
enum ss_shown { SS_SHOWN_NAME, SS_SHOWN_PATH, SS_SHOWN_ABSTRACT };
void ss_render_shown(struct ss_out *o, enum ss_shown how, const char *p, size_t n);
void ss_render_member(struct ss_out *o, enum ss_shown how, json_t *obj, const char *key);

/* ('127.0.0.1', 8080) for an address object, as the text trace shows it;
 * None for none. */
void ss_render_addr(struct ss_out *o, json_t *addr);
/* 127.0.0.1:8080, [::1]:8080, a unix path, @abstract: an address in a
 * label (escaped as a name). */
void ss_render_addr_label(struct ss_out *o, json_t *addr);
/* A call record as a line of the text trace without its time and pid, in
 * short: arguments and results as sizes (the data is left out), errors as
 * Python raises them, the fault mark: sock4.send(<5 bytes>) -> 5. */
void ss_render_call_line(struct ss_out *o, json_t *rec);

/* What fn renders, to out (however long). */
typedef void ss_render_fn(struct ss_out *o, const void *arg);
void ss_put_rendered(FILE *out, ss_render_fn *fn, const void *arg);
/* What fn renders, into a new string (free it); *len its length. */
char *ss_rendered(ss_render_fn *fn, const void *arg, size_t *len);

#endif
