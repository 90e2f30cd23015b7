/* sockshim: the run's shared memories, as the command makes them
 * (shared_memory.h). */
#include "shared_memory.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

void *ss_shared_memory_make(const char *name, size_t size, int floor, int *fd)
{
    int made = memfd_create(name, MFD_CLOEXEC);
    if (made < 0)
        return NULL;
    void *m = MAP_FAILED;
    if (ftruncate(made, (off_t)size) == 0)
        m = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, made, 0);
    /* inheritable, high: the program's processes find it through its
     * variable (shim/core/share.h) */
    int high = m != MAP_FAILED ? fcntl(made, F_DUPFD, floor) : -1;
    int err = errno;
    close(made);
    if (high < 0) {
        if (m != MAP_FAILED)
            munmap(m, size);
        errno = err;
        return NULL;
    }
    *fd = high;
    return m;
}
