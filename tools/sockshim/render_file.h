/* sockshim: `sockshim render RECORDS`: a record file (--format=raw) as a
 * text or JSON trace, or a capture (render_file.c). */
#ifndef SOCKSHIM_RENDER_FILE_H
#define SOCKSHIM_RENDER_FILE_H

#include <stdio.h>

/* Renders the record file read from in (named name in messages) to out,
 * as JSON or text; its capture events go to the capture if one is open
 * (pcap.h), counted in *captured. 0; -1 with what is wrong with the file
 * in why; 1, with why, when the file ends inside a frame (it was cut: a
 * copy taken while it was written, or the command was killed). */
int ss_raw_render(FILE *in, const char *name, FILE *out, int json, unsigned long *captured,
                  char *why, size_t cap);

/* argv[0] is "render". Returns the exit status. */
int ss_render_main(int argc, char *argv[]);

#endif
