/* sockshim: the command's capture writer (--pcap): capture events from the
 * run's ring into a pcapng file (pcap.c). */
#ifndef SOCKSHIM_PCAP_H
#define SOCKSHIM_PCAP_H

#include <stddef.h>

/* Starts the capture file on fd (opened for writing, empty), named path
 * in messages: writes its headers. 0, or -1 with errno. */
int ss_pcap_open(const char *path, int fd);

/* Whether a capture file is open. */
int ss_pcap_is_open(void);

/* One capture event (a record of the ring). */
void ss_pcap_event(const void *record, size_t len);

/* Flushes and closes the file; says so on stderr if writing it failed. */
void ss_pcap_close(void);

#endif
