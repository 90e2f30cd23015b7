/* sockshim: opening the files the command writes: the trace, the
 * capture, what `sockshim render` writes. */
#ifndef SOCKSHIM_OUTPUT_FILE_H
#define SOCKSHIM_OUTPUT_FILE_H

/* What to do when a file sockshim writes cannot be written (errno err):
 * " (...)", or "". */
const char *ss_write_error_hint(int err);

/* Opens the file path names for writing, or dies (status 2) saying why;
 * what names it in messages ("trace file"). Refuses what no output of
 * sockshim's may be (options.h); a path naming a descriptor (/dev/stdout)
 * is that descriptor, duplicated, and sets *given. A regular file met by
 * name is emptied. */
int ss_open_output_file(const char *what, const char *path, int *given);

/* --pcap FILE: the file (a regular one), emptied, with the capture's
 * headers written (pcap.h); its fd. Dies saying why otherwise. */
int ss_open_capture_file(const char *path);

#endif
