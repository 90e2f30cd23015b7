/* sockshim: the run's shared memory, as each process of the run finds it
 * (share.h).
 */
#include "share.h"

#include <dlfcn.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "fdtable.h"
#include "fmt.h"
#include "options.h"
#include "real.h"

static const char *const variable[SS_SHARE_COUNT] = {
    [SS_SHARE_RING] = SS_ENV_SINK_RING,
    [SS_SHARE_PLACES] = SS_ENV_PLACE_BOX,
    [SS_SHARE_BOARD] = SS_ENV_RULE_BOARD,
    [SS_SHARE_LIVE] = SS_ENV_LIVE_STATS,
};

/* Set while the library starts (one thread), read after. */
static struct {
    int opened; /* ss_share_open ran */
    int fd;
    struct ss_fd_ref ref;
} share[SS_SHARE_COUNT] = {[SS_SHARE_RING] = {.fd = -1}, [SS_SHARE_PLACES] = {.fd = -1},
                           [SS_SHARE_BOARD] = {.fd = -1}, [SS_SHARE_LIVE] = {.fd = -1}};

static int is_the_file(int fd, const struct ss_fd_ref *ref)
{
    struct stat st;
    return fd >= 0 && fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
           (unsigned long long)st.st_dev == ref->dev && (unsigned long long)st.st_ino == ref->ino;
}

/* The command's copy, /proc/PID/fd/FD, if it is still the same file. */
static int open_holders_copy(const struct ss_fd_ref *ref)
{
    if (ref->holder_pid <= 0 || ref->holder_fd < 0)
        return -1;
    char path[64];
    struct ss_out o;
    ss_out_init(&o, path, sizeof path);
    ss_out_str(&o, "/proc/");
    ss_out_u64(&o, (uint64_t)ref->holder_pid);
    ss_out_str(&o, "/fd/");
    ss_out_u64(&o, (uint64_t)ref->holder_fd);
    ss_out_char(&o, '\0');
    if (o.len > sizeof path)
        return -1;
    int fd = (int)ss_real.syscall(SYS_openat, AT_FDCWD, path, O_RDWR | O_CLOEXEC);
    if (fd >= 0 && !is_the_file(fd, ref)) {
        ss_real.close(fd);
        return -1;
    }
    return fd;
}

/* Says in the share's variable where this process holds it now. */
static void name_in_environment(enum ss_share which)
{
    char value[96];
    if (ss_format_fd_ref(&share[which].ref, value, sizeof value) <= sizeof value)
        setenv(variable[which], value, 1);
}

/* A copy opened at a low number goes up, out of the program's way. */
static int moved_high(int fd)
{
    int high = ss_real.fcntl(fd, F_DUPFD_CLOEXEC, ss_high_fd_floor());
    if (high < 0)
        return fd;
    ss_real.close(fd);
    return high;
}

int ss_share_open(enum ss_share which)
{
    if (share[which].opened)
        return share[which].fd;
    share[which].opened = 1;
    const char *v = getenv(variable[which]);
    struct ss_fd_ref *ref = &share[which].ref;
    struct ss_parse_error err;
    if (v == NULL || *v == '\0' || ss_parse_fd_ref(v, ref, &err) != 0)
        return -1;
    int fd = ref->fd;
    if (is_the_file(fd, ref)) {
        int flags = ss_real.fcntl(fd, F_GETFD);
        if (flags < 0 || ss_real.fcntl(fd, F_SETFD, flags | FD_CLOEXEC) != 0)
            return -1;
    } else if ((fd = open_holders_copy(ref)) >= 0) {
        fd = moved_high(fd);
        ref->fd = fd;
        name_in_environment(which);
    } else {
        return -1;
    }
    share[which].fd = fd;
    ss_fdtable_claim(fd);
    return fd;
}

int ss_share_fd(enum ss_share which)
{
    return share[which].fd;
}

/* ---- exec --------------------------------------------------------------------- */

/* The value of NAME in envp, or NULL. */
static const char *env_value(char *const envp[], const char *name)
{
    size_t n = strlen(name);
    for (size_t i = 0; envp != NULL && envp[i] != NULL; i++)
        if (strncmp(envp[i], name, n) == 0 && envp[i][n] == '=')
            return envp[i] + n + 1;
    return NULL;
}

static int preloads_this_library(char *const envp[])
{
    Dl_info self;
    const char *preload = env_value(envp, "LD_PRELOAD");
    return preload != NULL && dladdr((void *)ss_share_open, &self) != 0 &&
           self.dli_fname != NULL && strstr(preload, self.dli_fname) != NULL;
}

/* Whether envp names this share where this process holds it: a program
 * told an old number would find something else there, and opens the
 * command's copy instead. */
static int names_it_here(char *const envp[], enum ss_share which)
{
    const char *v = env_value(envp, variable[which]);
    struct ss_fd_ref theirs;
    struct ss_parse_error err;
    const struct ss_fd_ref *ours = &share[which].ref;
    return v != NULL && ss_parse_fd_ref(v, &theirs, &err) == 0 &&
           theirs.fd == share[which].fd && theirs.dev == ours->dev && theirs.ino == ours->ino;
}

static void set_cloexec(int fd, int on)
{
    int flags = ss_real.fcntl(fd, F_GETFD);
    if (flags >= 0)
        ss_real.fcntl(fd, F_SETFD, on ? (flags | FD_CLOEXEC) : (flags & ~FD_CLOEXEC));
}

unsigned ss_share_before_exec(char *const envp[])
{
    unsigned lent = 0;
    for (int i = 0; i < SS_SHARE_COUNT; i++) {
        if (share[i].fd < 0 || !preloads_this_library(envp) || !names_it_here(envp, i))
            continue;
        set_cloexec(share[i].fd, 0);
        lent |= 1u << i;
    }
    return lent;
}

void ss_share_after_failed_exec(unsigned lent)
{
    for (int i = 0; i < SS_SHARE_COUNT; i++)
        if (lent & (1u << i))
            set_cloexec(share[i].fd, 1);
}

/* ---- moving ------------------------------------------------------------------- */

int ss_share_move(int fd)
{
    for (int i = 0; i < SS_SHARE_COUNT; i++) {
        if (fd < 0 || share[i].fd != fd)
            continue;
        int fresh = ss_fdtable_move_claimed(fd, F_DUPFD_CLOEXEC);
        if (fresh < 0)
            return -1;
        share[i].fd = fresh;
        share[i].ref.fd = fresh;
        name_in_environment(i);
    }
    return 0;
}
