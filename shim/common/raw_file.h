/* sockshim: the record file of a run (--format=raw), written by the
 * command's drain and by the library, read by `sockshim render`
 * (docs/trace-format.md, "Record files").
 *
 * A record file is a sequence of frames. Each frame is a 16-byte header
 * (struct ss_raw_frame) and len bytes of payload:
 *
 *   SS_RAW_START   who wrote the file: struct ss_raw_start. The file's
 *                  first frame; another may follow anywhere (two writers
 *                  that both found a per-process file empty each write
 *                  one), and must say the same.
 *   SS_RAW_TEXT    a line the library or the command rendered as text
 *   SS_RAW_JSON    ... the same line as JSON: every line a process renders
 *                  itself (its header, notes, findings, summary, a call
 *                  too large for a record) is in the file in both formats
 *   SS_RAW_RECORD  a binary record of the ring: a call (call_record.h), a
 *                  ledger event or a capture event (capture_event.h)
 *
 * Call records hold struct ss_call as the build lays it out, so a record
 * file is read by the sockshim that wrote it: the start frame names the
 * version and the layout, and a reader refuses any other. Numbers are in
 * the writer's byte order; the start frame's byte_order says which.
 *
 * A text or JSON line is told from the other by its first byte: a JSON
 * record starts with '{', a text line with its time.
 */
#ifndef SOCKSHIM_RAW_FILE_H
#define SOCKSHIM_RAW_FILE_H

#include <stddef.h>
#include <stdint.h>

#define SS_RAW_FRAME_MAGIC 0x52485353u /* "SSHR" in little-endian memory */
#define SS_RAW_BYTE_ORDER 0x01020304u
#define SS_RAW_VERSION 1u
/* The longest payload a reader takes: the largest line -s allows, with
 * room to spare. */
#define SS_RAW_MAX_LEN (256u << 20)

enum ss_raw_kind {
    SS_RAW_START = 1,
    SS_RAW_TEXT = 2,
    SS_RAW_JSON = 3,
    SS_RAW_RECORD = 4,
};

struct ss_raw_frame {
    uint32_t magic; /* SS_RAW_FRAME_MAGIC */
    uint32_t len;   /* bytes of payload after the header */
    int32_t pid;    /* the process the payload is from (0: the file's start) */
    uint16_t kind;  /* enum ss_raw_kind */
    uint16_t reserved;
};

_Static_assert(sizeof(struct ss_raw_frame) == 16, "a frame header is 16 bytes");

struct ss_raw_start {
    char name[16];        /* "sockshim raw\n", NUL-padded */
    uint32_t byte_order;  /* SS_RAW_BYTE_ORDER as the writer stores it */
    uint32_t version;     /* SS_RAW_VERSION */
    uint32_t callrec_version; /* SS_CALLREC_VERSION */
    uint32_t call_size;   /* sizeof(struct ss_call) of the writer */
    char sockshim[32];    /* SOCKSHIM_VERSION, NUL-padded */
};

#define SS_RAW_NAME "sockshim raw\n"

/* The frame header of a len-byte payload. */
static inline struct ss_raw_frame ss_raw_frame_of(enum ss_raw_kind kind, int pid, size_t len)
{
    struct ss_raw_frame f = {SS_RAW_FRAME_MAGIC, (uint32_t)len, pid, (uint16_t)kind, 0};
    return f;
}

/* The kind of a rendered line. */
static inline enum ss_raw_kind ss_raw_line_kind(const char *line, size_t len)
{
    return len > 0 && line[0] == '{' ? SS_RAW_JSON : SS_RAW_TEXT;
}

/* A record file's start, as this build writes it: the frame and its
 * payload, one piece of memory (raw_file.c). */
struct ss_raw_start_frame {
    struct ss_raw_frame frame;
    struct ss_raw_start start;
};

_Static_assert(sizeof(struct ss_raw_start_frame) ==
                   sizeof(struct ss_raw_frame) + sizeof(struct ss_raw_start),
               "the start frame is its header and payload, unpadded");

struct ss_raw_start_frame ss_raw_start_frame(void);

#endif
