/* sockshim: where a module offset is in the source, found offline.
 *
 * The command answers the library's questions with it while a run lives
 * (tools/sockshim/place_server.c), and `sockshim report` with it for traces written
 * without the command. Files are only ever opened read-only and parsed by
 * elfutils' libdwfl; nothing is executed, nothing is fetched from the
 * network (no debuginfod).
 */
#ifndef SOCKSHIM_LOCATE_H
#define SOCKSHIM_LOCATE_H

#include <stdint.h>
#include <stdio.h>

#define SS_PLACE_FUNCTION 256
#define SS_PLACE_FILE 1024

/* What is known of a code address: each part empty (0) when unknown. */
struct ss_place {
    char function[SS_PLACE_FUNCTION];
    char file[SS_PLACE_FILE];
    int line;
};

/* The place of the code at offset (a return address, as dladdr's module
 * base subtracted from it gives) in the module file at path (relative to
 * the working directory if it is relative). 0 when
 * anything was found, -1 when nothing was. Modules are kept open between
 * calls (at most a few dozen); threads take turns. */
int ss_locate(const char *path, uint64_t offset, struct ss_place *place);

/* Closes every module ss_locate kept. */
void ss_locate_end(void);

/* Writes s with every byte below 0x20, 0x7f and backslash escaped (\xNN):
 * a string from a trace is data, and cannot move the terminal's cursor. */
void ss_locate_put_safe(FILE *out, const char *s);

#endif
