/* sockshim: opening the files the command writes (output_file.h). */
#include "output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "options.h"
#include "pcap.h"
#include "say.h"

/* What to do when a file sockshim writes cannot be written (errno err). */
const char *ss_write_error_hint(int err)
{
    switch (err) {
    case ENOENT:
        return " (its directory does not exist: create it, or choose another path)";
    case EACCES:
    case EPERM:
    case EROFS:
        return " (choose a path you may write, or change the directory's permissions)";
    case EISDIR:
        return " (that is a directory: give a file name in it)";
    case ENOSPC:
    case EDQUOT:
        return " (free some space, or write elsewhere)";
    default:
        return "";
    }
}

/* Opens a file sockshim writes (the trace, the capture) and dies, naming
 * the path and the reason, unless it passes the check every output passes
 * (options.h: a symbolic link, another user's file or FIFO, a file with a
 * second hard link are refused). A path naming a descriptor (/dev/stdout,
 * /dev/fd/N) is that descriptor, duplicated; sets *given for one. A regular
 * file met by name is emptied. */
int ss_open_output_file(const char *what, const char *path, int *given)
{
    int number = ss_output_descriptor(path);
    *given = number >= 0;
    int fd = *given ? fcntl(number, F_DUPFD_CLOEXEC, 3)
                    : open(path, SS_OUTPUT_OPEN_FLAGS | O_CREAT, 0600);
    if (fd < 0) {
        int err = errno;
        const char *why = *given ? NULL : ss_output_open_refusal(path, err, geteuid());
        if (why != NULL)
            ss_die("%s '%s' %s%s", what, path, why,
                err == ELOOP ? "; give the link's target instead" : "");
        ss_die("cannot write %s '%s': %s%s", what, path, strerror(err), ss_write_error_hint(err));
    }
    struct stat st;
    const char *why = fstat(fd, &st) != 0
                          ? "cannot be examined"
                          : ss_output_refusal(&st, geteuid(),
                                              *given ? SS_OUTPUT_GIVEN_FD : SS_OUTPUT_NAMED);
    if (why != NULL)
        ss_die("%s '%s' %s; sockshim writes only the user's own files, and terminals, pipes "
            "and sockets",
            what, path, why);
    if (*given)
        return fd; /* its flags are the program's too: left as they are */
    int flags = fcntl(fd, F_GETFL);
    if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) != 0)
        ss_die("cannot write %s '%s': %s", what, path, strerror(errno));
    if (S_ISREG(st.st_mode) && ftruncate(fd, 0) != 0)
        ss_die("cannot empty %s '%s': %s (remove it, or choose another name)", what, path,
            strerror(errno));
    return fd;
}


int ss_open_capture_file(const char *path)
{
    int given;
    int fd = ss_open_output_file("capture file", path, &given);
    struct stat st;
    if (given || fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        ss_die("--pcap: '%s' is not a regular file; the capture needs one: give its name", path);
    if (ss_pcap_open(path, fd) != 0)
        ss_die("cannot write capture file '%s': %s%s", path, strerror(errno),
               ss_write_error_hint(errno));
    return fd;
}
