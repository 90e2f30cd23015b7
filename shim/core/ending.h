/* sockshim: the end of a process image, however it comes.
 *
 * A process writes its summary (and finds its leaks) once per image, at
 * whichever end comes first:
 *   - exit() or a return from main: the library's destructor;
 *   - _exit() and _Exit(), which run no destructor: their wrappers;
 *   - an exec, which replaces the image and the library with it: the exec
 *     wrappers, just before the exec. An exec that fails leaves the
 *     process running: a line says so, and its summary is written again
 *     at its real end.
 * A fatal signal leaves the process no chance; see docs/limits.md.
 */
#ifndef SOCKSHIM_ENDING_H
#define SOCKSHIM_ENDING_H

/* exit(), or a return from main (the status is not known here);
 * _exit(status) or _Exit(status); an exec of program. The name is the
 * summary's (JSON "end": {"by": NAME}). */
#define SS_END_HOWS(X) X(EXIT, "exit") X(_EXIT, "_exit") X(EXEC, "exec")

enum ss_end_how {
#define SS_END_ENUM(id, name) SS_END_##id,
    SS_END_HOWS(SS_END_ENUM)
#undef SS_END_ENUM
};
const char *ss_end_name(enum ss_end_how how);

struct ss_end {
    enum ss_end_how how;
    int status;          /* _exit's */
    const char *program; /* exec's, as the program named it */
};

/* Writes the findings and the summary of the process ending as *end says,
 * unless the process already did: once per process image. Keeps errno. */
void ss_end_process(const struct ss_end *end);

/* The end being written, for the summary's renderers; NULL otherwise. */
const struct ss_end *ss_ending(void);

/* The exec that ss_end_process was told of returned: the process goes
 * on. Keeps errno (the exec's error, which the program reads next). */
void ss_end_exec_failed(const char *program);

void ss_ending_after_fork_child(void);

#endif
