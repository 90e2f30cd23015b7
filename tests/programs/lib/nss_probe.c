/* An NSS hosts module, libnss_sockshimprobe.so.2, standing for the modules
 * that query a server over a socket (mdns, resolve, sss, ldap): glibc
 * loads it inside a resolution, and it calls socket(), connect(), send()
 * and close() through the PLT, where sockshim's wrappers are. For the one
 * name probe.sockshim.test it sends the datagram "probe" to 127.0.0.1 at
 * the port in $SOCKSHIM_TEST_NSS_PORT and answers 10.0.0.5; every other
 * name is not found (the next module in nsswitch.conf answers). With
 * $SOCKSHIM_TEST_NSS_PAUSE_MS it holds its socket open that long before
 * it sends, so that other threads make their own calls meanwhile. */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <nss.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PROBE_NAME "probe.sockshim.test"

/* What glibc looks up in the module (its nss.h declares none of them). */
enum nss_status _nss_sockshimprobe_gethostbyname2_r(const char *name, int af,
                                                    struct hostent *result, char *buffer,
                                                    size_t buflen, int *errnop, int *h_errnop);
enum nss_status _nss_sockshimprobe_gethostbyname_r(const char *name, struct hostent *result,
                                                   char *buffer, size_t buflen, int *errnop,
                                                   int *h_errnop);

static void send_probe(void)
{
    const char *port = getenv("SOCKSHIM_TEST_NSS_PORT");
    if (port == NULL)
        return;
    struct sockaddr_in to = {.sin_family = AF_INET, .sin_port = htons((uint16_t)atoi(port))};
    to.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int fd = socket(AF_INET, SOCK_DGRAM, 0);
    if (fd < 0)
        return;
    const char *pause = getenv("SOCKSHIM_TEST_NSS_PAUSE_MS");
    if (pause != NULL) {
        long ms = atol(pause);
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        nanosleep(&ts, NULL);
    }
    if (connect(fd, (struct sockaddr *)&to, sizeof to) == 0)
        send(fd, "probe", 5, 0);
    close(fd);
}

/* The answer, laid out in the caller's buffer: the name, an empty alias
 * list, one address. */
static enum nss_status answer(const char *name, struct hostent *result, char *buffer,
                              size_t buflen, int *errnop, int *h_errnop)
{
    size_t namelen = strlen(name) + 1;
    size_t need = namelen + 4 + 3 * sizeof(char *) + sizeof(char *);
    if (buflen < need) {
        *errnop = ERANGE;
        *h_errnop = NETDB_INTERNAL;
        return NSS_STATUS_TRYAGAIN;
    }
    char **lists = (char **)(void *)buffer; /* aliases[1], addr_list[2] */
    char *addr = buffer + 3 * sizeof(char *);
    char *copy = addr + 4;
    inet_pton(AF_INET, "10.0.0.5", addr);
    memcpy(copy, name, namelen);
    lists[0] = NULL;
    lists[1] = addr;
    lists[2] = NULL;
    result->h_name = copy;
    result->h_aliases = &lists[0];
    result->h_addrtype = AF_INET;
    result->h_length = 4;
    result->h_addr_list = &lists[1];
    return NSS_STATUS_SUCCESS;
}

enum nss_status _nss_sockshimprobe_gethostbyname2_r(const char *name, int af,
                                                    struct hostent *result, char *buffer,
                                                    size_t buflen, int *errnop, int *h_errnop)
{
    if (strcmp(name, PROBE_NAME) != 0 || (af != AF_INET && af != AF_UNSPEC)) {
        *h_errnop = HOST_NOT_FOUND;
        return NSS_STATUS_NOTFOUND;
    }
    send_probe();
    return answer(name, result, buffer, buflen, errnop, h_errnop);
}

enum nss_status _nss_sockshimprobe_gethostbyname_r(const char *name, struct hostent *result,
                                                   char *buffer, size_t buflen, int *errnop,
                                                   int *h_errnop)
{
    return _nss_sockshimprobe_gethostbyname2_r(name, AF_INET, result, buffer, buflen, errnop,
                                               h_errnop);
}
