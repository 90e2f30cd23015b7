/* Name resolution through each interposed function, on names and
 * addresses /etc/hosts answers (never the network): prints one line per
 * call with what it returned, so a test can check the trace against what
 * the program saw, bare and under faults.
 *
 * Calls, in order: getaddrinfo("localhost", "8080", AF_INET/SOCK_STREAM),
 * getaddrinfo("not a number", "80", AI_NUMERICHOST) (fails EAI_NONAME),
 * getnameinfo(127.0.0.1:80, NI_NUMERICHOST|NI_NUMERICSERV),
 * gethostbyname("localhost"), gethostbyname2("localhost", AF_INET),
 * gethostbyname_r("localhost"), gethostbyname2_r("localhost", AF_INET),
 * gethostbyaddr(127.0.0.1), gethostbyaddr_r(127.0.0.1). No socket call.
 */
#include <netdb.h>

#include "common.h"

static void print_gai(const char *what, int rc, struct addrinfo *res, struct addrinfo *sentinel)
{
    if (rc != 0) {
        printf("%s: %d %s%s\n", what, rc, gai_strerror(rc),
               res == sentinel ? " (res untouched)" : " (res changed)");
        return;
    }
    printf("%s: 0", what);
    for (struct addrinfo *ai = res; ai != NULL; ai = ai->ai_next) {
        char host[64];
        const struct sockaddr_in *sin = (const struct sockaddr_in *)ai->ai_addr;
        inet_ntop(AF_INET, &sin->sin_addr, host, sizeof host);
        printf(" %s:%d/%d/%d", host, ntohs(sin->sin_port), ai->ai_socktype, ai->ai_protocol);
    }
    printf("\n");
    freeaddrinfo(res);
}

static void resolve_addrinfo(void)
{
    struct addrinfo sentinel, *res = &sentinel;
    struct addrinfo hints = {.ai_family = AF_INET, .ai_socktype = SOCK_STREAM};
    int rc = getaddrinfo("localhost", "8080", &hints, &res);
    print_gai("getaddrinfo localhost", rc, res, &sentinel);
    res = &sentinel;
    hints = (struct addrinfo){.ai_flags = AI_NUMERICHOST};
    rc = getaddrinfo("not a number", "80", &hints, &res);
    print_gai("getaddrinfo numeric", rc, res, &sentinel);
}

static void resolve_nameinfo(void)
{
    struct sockaddr_in sin = {.sin_family = AF_INET, .sin_port = htons(80)};
    inet_pton(AF_INET, "127.0.0.1", &sin.sin_addr);
    char host[NI_MAXHOST] = "", serv[NI_MAXSERV] = "";
    int rc = getnameinfo((struct sockaddr *)&sin, sizeof sin, host, sizeof host, serv,
                         sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV);
    if (rc != 0)
        printf("getnameinfo: %d %s\n", rc, gai_strerror(rc));
    else
        printf("getnameinfo: 0 %s %s\n", host, serv);
}

static void print_hostent(const char *what, const struct hostent *h, int herr, int ret)
{
    if (h == NULL) {
        printf("%s: NULL h_errno=%d ret=%s\n", what, herr, ret == 0 ? "0" : errname(ret));
        return;
    }
    printf("%s: %s aliases", what, h->h_name);
    for (char **a = h->h_aliases; *a != NULL; a++)
        printf(" %s", *a);
    printf(" addresses");
    for (char **a = h->h_addr_list; *a != NULL; a++) {
        char text[64];
        inet_ntop(h->h_addrtype, *a, text, sizeof text);
        printf(" %s", text);
    }
    printf("\n");
}

static void resolve_hostent(void)
{
    struct hostent *h = gethostbyname("localhost");
    print_hostent("gethostbyname", h, h_errno, 0);
    h = gethostbyname2("localhost", AF_INET);
    print_hostent("gethostbyname2", h, h_errno, 0);

    struct hostent buf, *result = &buf;
    char room[2048];
    int herr = 0;
    int ret = gethostbyname_r("localhost", &buf, room, sizeof room, &result, &herr);
    print_hostent("gethostbyname_r", result, herr, ret);
    result = &buf;
    ret = gethostbyname2_r("localhost", AF_INET, &buf, room, sizeof room, &result, &herr);
    print_hostent("gethostbyname2_r", result, herr, ret);

    struct in_addr loopback;
    inet_pton(AF_INET, "127.0.0.1", &loopback);
    h = gethostbyaddr(&loopback, sizeof loopback, AF_INET);
    print_hostent("gethostbyaddr", h, h_errno, 0);
    result = &buf;
    ret = gethostbyaddr_r(&loopback, sizeof loopback, AF_INET, &buf, room, sizeof room, &result,
                          &herr);
    print_hostent("gethostbyaddr_r", result, herr, ret);
}

int main(void)
{
    start();
    resolve_addrinfo();
    resolve_nameinfo();
    resolve_hostent();
    return 0;
}
