/* sockshim: `sockshim render`: a record file (--format=raw, raw_file.h)
 * as a text or JSON trace, and its traffic as a pcapng capture, without
 * running the program again.
 *
 * A record file is data from whoever could write it: every frame is
 * checked before it is believed (its magic, kind and length; the start
 * frame against this build; a call record by ss_callrec_thaw; a line for
 * bytes no renderer writes, a JSON line by parsing it). The first frame
 * that fails stops the rendering with status 2 and a message naming the
 * file and the byte it starts at; what came before it is written.
 */
#include "render_file.h"

#include <errno.h>
#include <stdarg.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "call.h"
#include "call_record.h"
#include "capture_event.h"
#include "fmt.h"
#include "ledger_event.h"
#include "output_file.h"
#include "pcap.h"
#include "raw_file.h"
#include "render_record.h"
#include "say.h"

struct reader {
    FILE *in;
    const char *name;     /* for messages */
    char why[512];        /* what is wrong with the file, once something is */
    int cut;              /* ... it ends inside a frame */
    unsigned long long at; /* the offset of the frame being read */
    unsigned char *buf;
    size_t cap;
    struct ss_raw_start start;
    int started;
};

struct writer {
    FILE *out;
    const char *name;
    int json;
    int pcap;              /* --pcap: capture events go to the capture */
    unsigned long captured; /* ... how many did */
    char *line;
    size_t line_cap;
};

static void usage(FILE *f)
{
    fputs("Usage: sockshim render [OPTION]... RECORDS\n"
          "Render a record file, written by 'sockshim --format=raw -o RECORDS', as the\n"
          "trace the run would have written, without running the program again.\n"
          "\n"
          "  -f, --format=FORMAT  text (default) or json (JSON Lines)\n"
          "  -o, --output=FILE    write the trace to FILE (default: standard output)\n"
          "      --pcap=FILE      also write the run's traffic to FILE as a pcapng capture\n"
          "                       (the run must have been recorded with --pcap)\n"
          "  -h, --help           show this help\n"
          "\n"
          "RECORDS may be '-' for standard input. Exit status: 0, or 2 for a bad option\n"
          "or a record file that does not hold together (what came before the bad frame\n"
          "is written). docs/trace-format.md, \"Record files\".\n",
          f);
}

/* Says what is wrong with the frame at r->at; returns -1. */
__attribute__((format(printf, 2, 3)))
static int bad_file(struct reader *r, const char *fmt, ...)
{
    char what[400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    snprintf(r->why, sizeof r->why, "byte %llu: %s", r->at, what);
    return -1;
}

/* Reads n bytes: 0; 1 at the end of the file before any byte of a frame
 * header (what NULL); -1 when the file cannot be read or ends early. */
static int read_exactly(struct reader *r, void *p, size_t n, const char *what)
{
    size_t got = fread(p, 1, n, r->in);
    if (got == n)
        return 0;
    if (ferror(r->in)) {
        snprintf(r->why, sizeof r->why, "cannot read: %s", strerror(errno));
        return -1;
    }
    if (got == 0 && what == NULL)
        return 1;
    r->cut = 1;
    return bad_file(r, "the file ends inside %s (%zu of %zu bytes): it was cut",
                    what != NULL ? what : "a frame header", got, n);
}

/* ---- the start frame ------------------------------------------------------ */

static int check_start(struct reader *r, const unsigned char *p, size_t len)
{
    struct ss_raw_start s;
    if (len != sizeof s)
        return bad_file(r, "a start frame of %zu bytes (a record file's has %zu)", len,
                        sizeof s);
    memcpy(&s, p, sizeof s);
    if (memcmp(s.name, SS_RAW_NAME, sizeof SS_RAW_NAME - 1) != 0)
        return bad_file(r, "the start frame does not name a sockshim record file");
    if (s.byte_order != SS_RAW_BYTE_ORDER)
        return bad_file(r, "written by a machine of the other byte order: render it there");
    s.sockshim[sizeof s.sockshim - 1] = '\0';
    struct ss_raw_start mine = ss_raw_start_frame().start;
    if (s.version != mine.version || s.callrec_version != mine.callrec_version ||
        s.call_size != mine.call_size || strcmp(s.sockshim, mine.sockshim) != 0) {
        char shown[64];
        return bad_file(r,
                        "written by sockshim '%s' (record file %u, call records %u of %u "
                        "bytes); this is sockshim %s (%u, %u of %u bytes): render it with "
                        "the sockshim that wrote it",
                        ss_shown(s.sockshim, strlen(s.sockshim), shown, sizeof shown),
                        s.version, s.callrec_version, s.call_size, SOCKSHIM_VERSION,
                        mine.version, mine.callrec_version, mine.call_size);
    }
    if (r->started && memcmp(&s, &r->start, sizeof s) != 0)
        return bad_file(r, "a second start frame that differs from the first");
    r->start = s;
    r->started = 1;
    return 0;
}

/* ---- lines ------------------------------------------------------------------ */

/* A rendered line or lines (a summary is several): printable ASCII, each
 * ending with a newline; a JSON line an object jansson reads. */
static int check_lines(struct reader *r, enum ss_raw_kind kind, const unsigned char *p,
                        size_t len)
{
    if (len == 0 || p[len - 1] != '\n')
        return bad_file(r, "a line frame whose line does not end with a newline");
    if ((kind == SS_RAW_JSON) != (p[0] == '{'))
        return bad_file(r, "a %s frame whose line is not %s",
                        kind == SS_RAW_JSON ? "JSON" : "text",
                        kind == SS_RAW_JSON ? "a JSON object" : "a text line");
    for (size_t i = 0; i < len; i++)
        if ((p[i] < 0x20 && p[i] != '\n' && p[i] != '\t') || p[i] >= 0x7f)
            return bad_file(r, "a line holding byte 0x%02x, which no trace line holds", p[i]);
    if (kind != SS_RAW_JSON)
        return 0;
    for (size_t start = 0; start < len;) {
        const unsigned char *nl = memchr(p + start, '\n', len - start);
        size_t n = (size_t)(nl - (p + start));
        json_error_t err;
        json_t *j = json_loadb((const char *)p + start, n, JSON_REJECT_DUPLICATES, &err);
        int object = j != NULL && json_is_object(j);
        json_decref(j);
        char shown[256];
        if (!object)
            return bad_file(r, "a JSON line that is not a JSON object: %s",
                            j == NULL ? ss_shown(err.text, strlen(err.text), shown, sizeof shown)
                                      : "another value");
        start += n + 1;
    }
    return 0;
}

static void put(struct writer *w, const void *p, size_t n)
{
    if (fwrite(p, 1, n, w->out) != n)
        ss_die("cannot write the trace to %s: %s", w->name, strerror(errno));
}

/* ---- records ---------------------------------------------------------------- */

static int render_call_record(struct reader *r, struct writer *w, int pid,
                               const unsigned char *p, size_t len)
{
    if (ss_record_open(pid, p, len) != 0)
        return bad_file(r,
                        "a call record that does not hold together (or names a socket no "
                        "earlier record of process %d gave)",
                        pid);
    if (ss_record_shown_as(w->json)) {
        long need = ss_record_render(w->line, w->line_cap);
        if ((size_t)need > w->line_cap) {
            char *bigger = realloc(w->line, (size_t)need);
            if (bigger == NULL)
                ss_die("out of memory");
            w->line = bigger;
            w->line_cap = (size_t)need;
            need = ss_record_render(w->line, w->line_cap);
        }
        put(w, w->line, (size_t)need);
    }
    ss_record_close(pid);
    return 0;
}

static int binary_record(struct reader *r, struct writer *w, int pid, const unsigned char *p,
                          size_t len)
{
    if (len == 0)
        return bad_file(r, "an empty record");
    if (p[0] == SS_CALLREC_KIND) {
        return render_call_record(r, w, pid, p, len);
    } else if (p[0] >= SS_LEDGER_FIRST) {
        /* the command's knowledge of processes: the summaries it wrote
         * from it are lines of the file */
    } else if (w->pcap) {
        ss_pcap_event(p, len);
        w->captured++;
    }
    return 0;
}

/* ---- the file --------------------------------------------------------------- */

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case SS_RAW_START:
        return "start";
    case SS_RAW_TEXT:
        return "text";
    case SS_RAW_JSON:
        return "JSON";
    case SS_RAW_RECORD:
        return "record";
    }
    return NULL;
}

/* The next frame's header and payload (into r->buf): 0; 1 at the end;
 * -1 for a frame that is not one. */
static int next_frame(struct reader *r, struct ss_raw_frame *f)
{
    int end = read_exactly(r, f, sizeof *f, NULL);
    if (end < 0 && r->at == 0 && !ferror(r->in))
        return bad_file(r, "not a sockshim record file (one is written by "
                           "'sockshim --format=raw -o FILE')");
    if (end != 0)
        return end;
    if (f->magic != SS_RAW_FRAME_MAGIC)
        return bad_file(r, r->at == 0 ? "not a sockshim record file (one is written by "
                                 "'sockshim --format=raw -o FILE')"
                               : "not a frame (its magic is wrong): the file is damaged");
    if (kind_name(f->kind) == NULL)
        return bad_file(r, "a frame of unknown kind %u", f->kind);
    if (!r->started && f->kind != SS_RAW_START)
        return bad_file(r, "the file does not begin with a start frame");
    if (f->len > SS_RAW_MAX_LEN)
        return bad_file(r, "a frame of %u bytes, more than a record file holds", f->len);
    if (f->kind != SS_RAW_START && (f->pid <= 0 || f->pid > (1 << 22)))
        return bad_file(r, "a %s frame of process %d, not a process id", kind_name(f->kind),
                        f->pid);
    if (f->len > r->cap) {
        unsigned char *bigger = realloc(r->buf, f->len);
        if (bigger == NULL)
            ss_die("out of memory");
        r->buf = bigger;
        r->cap = f->len;
    }
    return f->len > 0 ? read_exactly(r, r->buf, f->len, "a frame's payload") : 0;
}

static int render_frame(struct reader *r, struct writer *w, const struct ss_raw_frame *f)
{
    switch (f->kind) {
    case SS_RAW_START:
        return check_start(r, r->buf, f->len);
    case SS_RAW_TEXT:
    case SS_RAW_JSON:
        if (check_lines(r, f->kind, r->buf, f->len) != 0)
            return -1;
        if ((f->kind == SS_RAW_JSON) == w->json)
            put(w, r->buf, f->len);
        return 0;
    default:
        return binary_record(r, w, f->pid, r->buf, f->len);
    }
}

int ss_raw_render(FILE *in, const char *name, FILE *out, int json, unsigned long *captured,
                  char *why, size_t cap)
{
    struct reader r = {.in = in, .name = name};
    struct writer w = {.out = out, .name = name, .json = json, .pcap = ss_pcap_is_open()};
    struct ss_raw_frame f;
    int got;
    ss_record_forget_all(); /* a file is a run of its own */
    while ((got = next_frame(&r, &f)) == 0 && render_frame(&r, &w, &f) == 0)
        r.at += sizeof f + f.len;
    if (got == 1 && !r.started)
        bad_file(&r, "an empty file: not a record file (one is written by "
                     "'sockshim --format=raw -o FILE')");
    free(r.buf);
    free(w.line);
    snprintf(why, cap, "%s", r.why);
    *captured = w.captured;
    return r.why[0] == '\0' ? 0 : r.cut ? 1 : -1;
}

/* ---- the command -------------------------------------------------------- */

struct render_options {
    int json;
    const char *output, *pcap, *records;
};

static void parse(int argc, char *argv[], struct render_options *o)
{
    static const struct option longs[] = {
        {"format", required_argument, NULL, 'f'}, {"output", required_argument, NULL, 'o'},
        {"pcap", required_argument, NULL, 'p'},   {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    memset(o, 0, sizeof *o);
    opterr = 0;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "+:f:o:h", longs, NULL)) != -1) {
        switch (c) {
        case 'f':
            if (strcmp(optarg, "text") != 0 && strcmp(optarg, "json") != 0 &&
                strcmp(optarg, "jsonl") != 0)
                ss_die("--format: unknown format '%s' (expected 'text' or 'json'; a record "
                       "file is rendered, not written, here)",
                       optarg);
            o->json = optarg[0] == 'j';
            break;
        case 'o':
            o->output = optarg;
            break;
        case 'p':
            o->pcap = optarg;
            break;
        case 'h':
            usage(stdout);
            exit(0);
        case ':':
            ss_die("option '%s' requires an argument\nTry 'sockshim render --help' for more "
                   "information.",
                   argv[optind - 1]);
        default:
            ss_die("unknown option '%s'\nTry 'sockshim render --help' for more information.",
                   argv[optind - 1]);
        }
    }
    if (optind >= argc)
        ss_die("no record file to render\nUsage: sockshim render [OPTION]... RECORDS");
    if (optind + 1 < argc)
        ss_die("one record file at a time: '%s' is one too many", argv[optind + 1]);
    o->records = argv[optind];
}

static FILE *open_records(const char *path)
{
    if (strcmp(path, "-") == 0)
        return stdin;
    FILE *f = fopen(path, "rbe");
    if (f == NULL)
        ss_die("cannot read '%s': %s", path, strerror(errno));
    struct stat st;
    if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode))
        ss_die("'%s' is a directory: give a record file", path);
    return f;
}

int ss_render_main(int argc, char *argv[])
{
    ss_say_as("sockshim render");
    struct render_options o;
    parse(argc, argv, &o);
    FILE *in = open_records(o.records), *out = stdout;
    const char *out_name = "standard output";
    if (o.output != NULL) {
        int given;
        int fd = ss_open_output_file("trace file", o.output, &given);
        if ((out = fdopen(fd, "w")) == NULL)
            ss_die("cannot write trace file '%s': %s", o.output, strerror(errno));
        out_name = o.output;
    }
    if (o.pcap != NULL)
        ss_open_capture_file(o.pcap);
    char why[512];
    unsigned long captured;
    int bad = ss_raw_render(in, o.records, out, o.json, &captured, why, sizeof why);
    if (fflush(out) != 0 || (out != stdout && fclose(out) != 0))
        ss_die("cannot write the trace to %s: %s", out_name, strerror(errno));
    ss_pcap_close();
    if (bad)
        ss_die("%s: %s", o.records, why);
    if (o.pcap != NULL && captured == 0)
        ss_warn("'%s' holds no traffic: record the run with --pcap as well to render a "
                "capture from it",
                o.records);
    return 0;
}
