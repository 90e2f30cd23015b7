/* sockshim: writing a list of pieces with writev(2), shared by the
 * library's sink and the command's drain. */
#ifndef SOCKSHIM_IOV_H
#define SOCKSHIM_IOV_H

#include <stddef.h>
#include <sys/uio.h>

/* Steps *iov and *n over the w bytes a writev wrote: the pieces written
 * whole are dropped, and the one written in part starts after what was. */
static inline void ss_iov_consume(struct iovec **iov, int *n, size_t w)
{
    while (*n > 0 && w >= (*iov)->iov_len) {
        w -= (*iov)->iov_len;
        (*iov)++;
        (*n)--;
    }
    if (*n > 0) {
        (*iov)->iov_base = (char *)(*iov)->iov_base + w;
        (*iov)->iov_len -= w;
    }
}

#endif
