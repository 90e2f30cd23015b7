/* sockshim: where a module offset is in the source, found offline (locate.h).
 *
 * One libdwfl session per module file, reported with dwfl_report_elf at
 * base 0 and kept for the next question. The debug information is the
 * file's own, or a separate file found by our own search (never libdwfl's
 * standard one, which may ask debuginfod servers over the network):
 *   /usr/lib/debug/.build-id/NN/REST.debug         (the build id)
 *   DIR/LINK, DIR/.debug/LINK, /usr/lib/debug/DIR/LINK  (.gnu_debuglink)
 *
 * An offset is what dladdr gives: the address minus the module's lowest
 * mapping (glibc's l_map_start), which is the lowest PT_LOAD's p_vaddr
 * rounded down to a page, plus the load bias. So the ELF address is the
 * offset plus that rounded p_vaddr, for ET_EXEC (bias 0, p_vaddr 0x400000)
 * and ET_DYN (p_vaddr usually 0) alike.
 */
#include "locate.h"

#include <dwarf.h>
#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <fcntl.h>
#include <gelf.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fmt.h"

#define MAX_MODULES 32
#define MAX_PATH 4096

struct module {
    char *path;          /* NULL: slot free */
    Dwfl *dwfl;          /* NULL: the file is no ELF we can read */
    Dwfl_Module *mod;
    GElf_Addr map_start; /* the lowest PT_LOAD's p_vaddr, page-aligned, plus the bias */
};

static struct module modules[MAX_MODULES];
static unsigned next_victim;

/* A regular file, opened read-only: a FIFO or device named by a hostile
 * trace neither blocks nor becomes the controlling terminal. */
static int open_regular(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd >= 0 && (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))) {
        close(fd);
        fd = -1;
    }
    return fd;
}

static int open_found(const char *path, char **name)
{
    int fd = open_regular(path);
    if (fd >= 0)
        *name = strdup(path); /* libdwfl keeps it as the debug file's name */
    return fd;
}

static int open_by_build_id(Dwfl_Module *mod, char **name)
{
    const unsigned char *bits;
    GElf_Addr vaddr;
    int len = dwfl_module_build_id(mod, &bits, &vaddr);
    if (len < 2 || len > 64)
        return -1;
    static const char hex[] = "0123456789abcdef";
    char path[sizeof "/usr/lib/debug/.build-id/" + 2 * 64 + sizeof "/.debug"];
    size_t n = strlen(strcpy(path, "/usr/lib/debug/.build-id/"));
    for (int i = 0; i < len; i++) {
        path[n++] = hex[bits[i] >> 4];
        path[n++] = hex[bits[i] & 15];
        if (i == 0)
            path[n++] = '/';
    }
    strcpy(path + n, ".debug");
    return open_found(path, name);
}

/* The .gnu_debuglink name beside the file, in .debug/ beside it, and
 * under /usr/lib/debug with the file's directory. */
static int open_by_link(const char *file, const char *link, char **name)
{
    if (file == NULL || link == NULL || strchr(link, '/') != NULL)
        return -1;
    const char *slash = strrchr(file, '/');
    int dir_len = slash != NULL ? (int)(slash - file) : 1;
    const char *dir = slash != NULL ? file : ".";
    static const char *const forms[] = {"%.*s/%s", "%.*s/.debug/%s", "/usr/lib/debug%.*s/%s"};
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        char path[MAX_PATH];
        int n = snprintf(path, sizeof path, forms[i], dir_len, dir, link);
        if (n <= 0 || (size_t)n >= sizeof path || strcmp(path, file) == 0)
            continue;
        int fd = open_found(path, name);
        if (fd >= 0)
            return fd;
    }
    return -1;
}

static int find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname,
                          Dwarf_Addr base, const char *file_name, const char *debuglink_file,
                          GElf_Word debuglink_crc, char **debuginfo_file_name)
{
    (void)userdata, (void)modname, (void)base, (void)debuglink_crc;
    int fd = open_by_build_id(mod, debuginfo_file_name);
    return fd >= 0 ? fd : open_by_link(file_name, debuglink_file, debuginfo_file_name);
}

static const Dwfl_Callbacks callbacks = {
    .find_debuginfo = find_debuginfo,
    .section_address = dwfl_offline_section_address,
};

/* The lowest PT_LOAD's p_vaddr rounded down to a page, or -1. */
static int64_t lowest_load(Elf *elf)
{
    size_t n;
    if (elf_getphdrnum(elf, &n) != 0)
        return -1;
    GElf_Addr low = (GElf_Addr)-1;
    for (size_t i = 0; i < n; i++) {
        GElf_Phdr ph;
        if (gelf_getphdr(elf, (int)i, &ph) != NULL && ph.p_type == PT_LOAD && ph.p_vaddr < low)
            low = ph.p_vaddr;
    }
    long page = sysconf(_SC_PAGESIZE);
    if (low == (GElf_Addr)-1 || page <= 0)
        return -1;
    return (int64_t)(low & ~((GElf_Addr)page - 1));
}

static void open_module(struct module *m)
{
    int fd = open_regular(m->path);
    Dwfl *d = fd >= 0 ? dwfl_begin(&callbacks) : NULL;
    if (d == NULL) {
        if (fd >= 0)
            close(fd);
        return;
    }
    dwfl_report_begin(d);
    Dwfl_Module *mod = dwfl_report_elf(d, m->path, m->path, fd, 0, false);
    if (mod == NULL)
        close(fd); /* consumed only on success */
    GElf_Addr bias = 0;
    Elf *elf = mod != NULL && dwfl_report_end(d, NULL, NULL) == 0 ? dwfl_module_getelf(mod, &bias)
                                                                 : NULL;
    int64_t low = elf != NULL ? lowest_load(elf) : -1;
    if (low < 0) {
        dwfl_end(d);
        return;
    }
    m->dwfl = d;
    m->mod = mod;
    m->map_start = (GElf_Addr)low + bias;
}

static struct module *module_of(const char *path)
{
    for (int i = 0; i < MAX_MODULES; i++)
        if (modules[i].path != NULL && strcmp(modules[i].path, path) == 0)
            return &modules[i];
    struct module *m = &modules[next_victim++ % MAX_MODULES];
    if (m->dwfl != NULL)
        dwfl_end(m->dwfl);
    free(m->path);
    memset(m, 0, sizeof *m);
    m->path = strdup(path);
    if (m->path != NULL)
        open_module(m);
    return m;
}

static void take_line(const char *file, int line, struct ss_place *place)
{
    if (file != NULL && line > 0) {
        ss_copy_cut(place->file, sizeof place->file, file);
        place->line = line;
    }
}

/* The line from the compilation unit whose ranges hold pc, found by
 * walking the units: libdwfl's own lookup goes through .debug_aranges,
 * which clang does not emit by default. */
static void line_by_units(Dwfl_Module *mod, Dwarf_Addr pc, struct ss_place *place)
{
    Dwarf_Addr bias;
    Dwarf *dw = dwfl_module_getdwarf(mod, &bias);
    Dwarf_Die *cu = NULL;
    while (dw != NULL && (cu = dwfl_module_nextcu(mod, cu, &bias)) != NULL) {
        if (dwarf_haspc(cu, pc - bias) <= 0)
            continue;
        Dwarf_Line *line = dwarf_getsrc_die(cu, pc - bias);
        int lineno = 0;
        if (line != NULL && dwarf_lineno(line, &lineno) == 0) {
            const char *file = dwarf_linesrc(line, NULL, NULL);
            take_line(file, lineno, place);
        }
        return;
    }
}

/* The innermost function whose code holds pc, from the DWARF scopes: the
 * inlined one when a call was inlined (its line is in that function, so
 * the symbol table's outer function would name the wrong code). */
static void function_by_scopes(Dwfl_Module *mod, Dwarf_Addr pc, struct ss_place *place)
{
    Dwarf_Addr bias;
    Dwarf_Die *cu = dwfl_module_addrdie(mod, pc, &bias);
    Dwarf_Die *scopes = NULL;
    int n = cu != NULL ? dwarf_getscopes(cu, pc - bias, &scopes) : 0;
    for (int i = 0; i < n; i++) {
        int tag = dwarf_tag(&scopes[i]);
        if (tag != DW_TAG_inlined_subroutine && tag != DW_TAG_subprogram)
            continue;
        const char *name = dwarf_diename(&scopes[i]); /* follows abstract_origin */
        if (name != NULL)
            ss_copy_cut(place->function, sizeof place->function, name);
        break;
    }
    free(scopes);
}

/* The command's two asking threads (the place server's, the drain's for
 * the ledger) take turns: the module table and libdwfl's sessions are
 * not to be shared. */
static pthread_mutex_t locate_lock = PTHREAD_MUTEX_INITIALIZER;

static int locate_locked(const char *path, uint64_t offset, struct ss_place *place)
{
    memset(place, 0, sizeof *place);
    /* a relative path (a main program named by its argv[0]) is relative to
     * the working directory, as the program's was */
    if (path == NULL || path[0] == '\0' || strlen(path) >= MAX_PATH || offset == 0)
        return -1;
    struct module *m = module_of(path);
    if (m->dwfl == NULL || offset > UINT64_MAX - m->map_start)
        return -1;
    /* the offset is a return address, just past the call: look up the call */
    Dwarf_Addr pc = m->map_start + offset - 1;
    GElf_Off off;
    GElf_Sym sym;
    const char *name = dwfl_module_addrinfo(m->mod, pc, &off, &sym, NULL, NULL, NULL);
    if (name != NULL)
        ss_copy_cut(place->function, sizeof place->function, name);
    Dwfl_Line *line = dwfl_module_getsrc(m->mod, pc);
    int lineno = 0;
    if (line != NULL) {
        Dwarf_Addr at;
        const char *file = dwfl_lineinfo(line, &at, &lineno, NULL, NULL, NULL);
        take_line(file, lineno, place);
        function_by_scopes(m->mod, pc, place);
    } else
        line_by_units(m->mod, pc, place);
    return place->function[0] != '\0' || place->line > 0 ? 0 : -1;
}

int ss_locate(const char *path, uint64_t offset, struct ss_place *place)
{
    pthread_mutex_lock(&locate_lock);
    int found = locate_locked(path, offset, place);
    pthread_mutex_unlock(&locate_lock);
    return found;
}

void ss_locate_end(void)
{
    pthread_mutex_lock(&locate_lock);
    for (int i = 0; i < MAX_MODULES; i++) {
        if (modules[i].dwfl != NULL)
            dwfl_end(modules[i].dwfl);
        free(modules[i].path);
        memset(&modules[i], 0, sizeof modules[i]);
    }
    pthread_mutex_unlock(&locate_lock);
}

void ss_locate_put_safe(FILE *out, const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if (*p < 0x20 || *p == 0x7f || *p == '\\')
            fprintf(out, "\\x%02x", *p);
        else
            fputc(*p, out);
    }
}
