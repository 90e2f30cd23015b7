/* sockshim: the Python code behind a CPython program's socket calls
 * (place.h).
 *
 * In a CPython process every C location is inside _socket's module, which
 * tells a user nothing. CPython raises an audit event before the socket
 * calls that matter (socket.__new__, socket.connect, socket.bind,
 * socket.sendto, socket.sendmsg); a hook installed with
 * PySys_AddAuditHook sees each with the GIL held and the calling Python
 * frame current, and notes the frame's file, line and function for its
 * thread. The next interposed call of that thread takes the note as its
 * where when it is the call the event announced (socket() for
 * socket.__new__...); any call forgets it.
 *
 * Every CPython function is looked up at run time (ss_global_symbol):
 * nothing is linked, and a process without CPython finds no hook function
 * and installs nothing. PySys_AddAuditHook may be called before
 * Py_Initialize (the runtime keeps hooks across its initialisation), so the
 * library's constructor installs it. The functions used exist from CPython
 * 3.9 on (PyFrame_GetCode, PyFrame_GetBack).
 *
 * Locations are interned in a process-wide table of PY_PLACES entries,
 * claimed by compare-and-swap and never changed once filled (readers take
 * no lock); a where value is SS_WHERE_PYTHON | its index. When the table is
 * full, calls keep their C location.
 */
#include "place.h"

#include <stdatomic.h>
#include <string.h>

#include "fmt.h"
#include "internal.h"

#define PY_PLACES 512
#define PY_PROBES 64
#define PY_DEPTH 8 /* frames looked at past the standard library's socket code */

enum { PY_EMPTY, PY_FILLING, PY_READY };

struct py_place {
    _Atomic uint32_t state;
    int line;
    uint32_t hash;
    char function[96];
    char file[400];
};

static struct py_place places[PY_PLACES];

/* What the last socket event of this thread announced: the call it is for
 * (SS_FN_COUNT: none) and its place. */
static __thread struct {
    enum ss_fn fn;
    uint32_t index;
} announced = {SS_FN_COUNT, 0};

/* CPython's API, as opaque pointers. */
typedef struct py_object py_object;
static struct {
    void *(*get_frame)(void);
    int (*frame_line)(void *frame);
    py_object *(*frame_code)(void *frame);
    void *(*frame_back)(void *frame);
    py_object *(*getattr)(py_object *o, const char *name);
    const char *(*utf8)(py_object *s);
    void (*decref)(py_object *o);
    void (*err_clear)(void);
} py;

/* ---- the table ---------------------------------------------------------------- */

static uint32_t hash_of(const char *file, const char *function, int line)
{
    uint64_t h = (uint64_t)(unsigned)line;
    for (const char *s = file; *s != '\0'; s++)
        h = ss_mix64(h ^ (unsigned char)*s);
    for (const char *s = function; *s != '\0'; s++)
        h = ss_mix64(h ^ (unsigned char)*s);
    return (uint32_t)h;
}

static int same(const struct py_place *p, uint32_t h, const char *file, const char *function,
                int line)
{
    return p->hash == h && p->line == line && strncmp(p->file, file, sizeof p->file - 1) == 0 &&
           strncmp(p->function, function, sizeof p->function - 1) == 0;
}

/* The index of this place in the table, added if new; -1 when full. */
static int intern(const char *file, const char *function, int line)
{
    uint32_t h = hash_of(file, function, line);
    for (unsigned i = 0; i < PY_PROBES; i++) {
        unsigned k = (h + i) % PY_PLACES;
        struct py_place *p = &places[k];
        uint32_t st = atomic_load_explicit(&p->state, memory_order_acquire);
        if (st == PY_READY && same(p, h, file, function, line))
            return (int)k;
        if (st == PY_EMPTY &&
            atomic_compare_exchange_strong(&p->state, &st, PY_FILLING)) {
            ss_copy_cut(p->file, sizeof p->file, file);
            ss_copy_cut(p->function, sizeof p->function, function);
            p->line = line;
            p->hash = h;
            atomic_store_explicit(&p->state, PY_READY, memory_order_release);
            return (int)k;
        }
    }
    return -1;
}

int ss_python_place(uintptr_t where, struct ss_place_ref *p)
{
    if ((where & SS_WHERE_PYTHON) == 0 || (where & ~SS_WHERE_PYTHON) >= PY_PLACES)
        return 0;
    const struct py_place *e = &places[where & ~SS_WHERE_PYTHON];
    if (atomic_load_explicit(&e->state, memory_order_acquire) != PY_READY)
        return 0;
    p->function = e->function;
    p->file = e->file;
    p->line = e->line;
    return 1;
}

/* ---- the hook ----------------------------------------------------------------- */

/* The call an audit event announces, or SS_FN_COUNT. */
static enum ss_fn announced_call(const char *event)
{
    /* every event of interest starts "socket.": one compare for the rest
     * (open, import, exec, compile...) */
    if (strncmp(event, "socket.", 7) != 0)
        return SS_FN_COUNT;
    const char *m = event + 7;
    if (strcmp(m, "__new__") == 0)
        return SS_FN_socket;
    if (strcmp(m, "connect") == 0)
        return SS_FN_connect;
    if (strcmp(m, "bind") == 0)
        return SS_FN_bind;
    if (strcmp(m, "sendto") == 0)
        return SS_FN_sendto;
    if (strcmp(m, "sendmsg") == 0)
        return SS_FN_sendmsg;
    /* gethostbyname, gethostbyaddr and getnameinfo ask getaddrinfo first
     * (a name to an address); the first resolution after the event takes
     * its place (ss_python_take_resolution) */
    if (strcmp(m, "getaddrinfo") == 0 || strcmp(m, "gethostbyname") == 0 ||
        strcmp(m, "gethostbyaddr") == 0 || strcmp(m, "getnameinfo") == 0)
        return SS_FN_getaddrinfo;
    return SS_FN_COUNT;
}

static int ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), k = strlen(tail);
    return n >= k && strcmp(s + n - k, tail) == 0;
}

/* The standard library's own socket code is how the program called, not
 * where: socket.socket() is socket.py's __init__ calling _socket's. */
static int library_frame(const char *file)
{
    return ends_with(file, "/socket.py") || ends_with(file, "/ssl.py");
}

/* A code object's string attribute (co_filename, co_name) into dst. */
static int code_string(py_object *code, const char *name, char *dst, size_t cap)
{
    py_object *s = py.getattr(code, name);
    const char *u = s != NULL ? py.utf8(s) : NULL;
    if (u != NULL)
        ss_copy_cut(dst, cap, u);
    else
        py.err_clear();
    if (s != NULL)
        py.decref(s);
    return u != NULL;
}

/* The place of the innermost frame outside the standard library's socket
 * code: its index, or -1. */
static int current_place(void)
{
    void *frame = py.get_frame(); /* borrowed */
    void *owned = NULL;           /* frames from frame_back are new references */
    int index = -1;
    for (int depth = 0; frame != NULL && depth < PY_DEPTH; depth++) {
        char file[400], function[96];
        py_object *code = py.frame_code(frame);
        int ok = code != NULL && code_string(code, "co_filename", file, sizeof file) &&
                 code_string(code, "co_name", function, sizeof function);
        if (code != NULL)
            py.decref(code);
        if (!ok)
            break;
        if (!library_frame(file)) {
            index = intern(file, function, py.frame_line(frame));
            break;
        }
        void *back = py.frame_back(frame);
        if (owned != NULL)
            py.decref((py_object *)owned);
        owned = frame = back;
    }
    if (owned != NULL)
        py.decref((py_object *)owned);
    return index;
}

static int audit_hook(const char *event, void *args, void *data)
{
    (void)args, (void)data;
    enum ss_fn fn = announced_call(event);
    if (fn == SS_FN_COUNT)
        return 0;
    int index = current_place();
    announced.fn = index >= 0 ? fn : SS_FN_COUNT;
    announced.index = index >= 0 ? (uint32_t)index : 0;
    return 0; /* never refuses an event */
}

uintptr_t ss_python_take(enum ss_fn fn, uintptr_t caller)
{
    enum ss_fn expected = announced.fn;
    if (expected == SS_FN_COUNT)
        return caller;
    announced.fn = SS_FN_COUNT;
    int match = fn == expected || (expected == SS_FN_connect && fn == SS_FN___connect);
    return match ? (SS_WHERE_PYTHON | announced.index) : caller;
}

uintptr_t ss_python_take_resolution(uintptr_t caller)
{
    if (announced.fn != SS_FN_getaddrinfo)
        return caller; /* a connect's own event waits for the connect */
    announced.fn = SS_FN_COUNT;
    return SS_WHERE_PYTHON | announced.index;
}

void ss_python_install(void)
{
    int (*add_hook)(int (*)(const char *, void *, void *), void *);
    *(void **)&add_hook = ss_global_symbol("PySys_AddAuditHook");
    *(void **)&py.get_frame = ss_global_symbol("PyEval_GetFrame");
    *(void **)&py.frame_line = ss_global_symbol("PyFrame_GetLineNumber");
    *(void **)&py.frame_code = ss_global_symbol("PyFrame_GetCode");
    *(void **)&py.frame_back = ss_global_symbol("PyFrame_GetBack");
    *(void **)&py.getattr = ss_global_symbol("PyObject_GetAttrString");
    *(void **)&py.utf8 = ss_global_symbol("PyUnicode_AsUTF8");
    *(void **)&py.decref = ss_global_symbol("Py_DecRef");
    *(void **)&py.err_clear = ss_global_symbol("PyErr_Clear");
    if (add_hook == NULL || py.get_frame == NULL || py.frame_line == NULL ||
        py.frame_code == NULL || py.frame_back == NULL || py.getattr == NULL ||
        py.utf8 == NULL || py.decref == NULL || py.err_clear == NULL)
        return; /* not CPython, or older than 3.9 */
    add_hook(audit_hook, NULL);
}
