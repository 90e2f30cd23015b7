/* sockshim: names for numbers.
 *
 * Every table below comes from one X-macro list. A list takes two macros:
 *   X(CONST)        the constant named as spelled: {CONST, "CONST"}
 *   N(value, "NAME") a value under another name, where the usual spelling is
 *                    not a macro of its own (SOL_UDP) or is an alias we
 *                    prefer to the one the header picks (SO_RCVTIMEO)
 * SS_XLAT_DEFINE turns a list into the exported const table.
 *
 * Lookups scan in list order and the first entry wins, so when two names
 * share a value only one of them is listed (the one strace shows, or the one
 * a caller most likely wrote); the aliases left out are noted in comments.
 *
 * The target is glibc 2.36 with Debian 12's kernel headers (Linux 6.1); all
 * constants are listed unguarded except the few newer than that, which sit
 * behind an #ifdef via an OPT_* helper macro (an #ifdef cannot go inside a
 * macro definition).
 *
 * Nothing here allocates, locks or reads the locale: the renderers run inside
 * signal handlers.
 */
#include "xlat.h"

#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/uio.h>
#include <unistd.h>
#include <poll.h>
#include <sys/epoll.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/sockios.h>

#define XLAT_ENTRY(c) {(long)(c), #c},
#define XLAT_NAMED(v, s) {(long)(v), s},

#define SS_XLAT_DEFINE(name, LIST)                                           \
    static const struct ss_xlat_entry name##_entries[] = {                   \
        LIST(XLAT_ENTRY, XLAT_NAMED)};                                       \
    const struct ss_xlat ss_xlat_##name = {                                  \
        name##_entries, sizeof name##_entries / sizeof name##_entries[0]}

/* Constants newer than the target's headers (Linux 6.5). */
#ifdef SO_PASSPIDFD
#define OPT_SO_PASSPIDFD(X) X(SO_PASSPIDFD)
#else
#define OPT_SO_PASSPIDFD(X)
#endif
#ifdef SO_PEERPIDFD
#define OPT_SO_PEERPIDFD(X) X(SO_PEERPIDFD)
#else
#define OPT_SO_PEERPIDFD(X)
#endif

/* ---- Single values ---------------------------------------------------- */

/* Left out: PF_* (same values), AF_LOCAL and AF_FILE (= AF_UNIX), AF_ROUTE
 * (= AF_NETLINK), AF_MAX (not a family). */
#define AF_LIST(X, N)                                                        \
    X(AF_UNSPEC) X(AF_UNIX) X(AF_INET) X(AF_AX25) X(AF_IPX)                  \
    X(AF_APPLETALK) X(AF_NETROM) X(AF_BRIDGE) X(AF_ATMPVC) X(AF_X25)         \
    X(AF_INET6) X(AF_ROSE) X(AF_DECnet) X(AF_NETBEUI) X(AF_SECURITY)         \
    X(AF_KEY) X(AF_NETLINK) X(AF_PACKET) X(AF_ASH) X(AF_ECONET)              \
    X(AF_ATMSVC) X(AF_RDS) X(AF_SNA) X(AF_IRDA) X(AF_PPPOX) X(AF_WANPIPE)    \
    X(AF_LLC) X(AF_IB) X(AF_MPLS) X(AF_CAN) X(AF_TIPC) X(AF_BLUETOOTH)       \
    X(AF_IUCV) X(AF_RXRPC) X(AF_ISDN) X(AF_PHONET) X(AF_IEEE802154)          \
    X(AF_CAIF) X(AF_ALG) X(AF_NFC) X(AF_VSOCK) X(AF_KCM) X(AF_QIPCRTR)       \
    X(AF_SMC) X(AF_XDP) X(AF_MCTP)
SS_XLAT_DEFINE(af, AF_LIST);

#define SOCKTYPE_LIST(X, N)                                                  \
    X(SOCK_STREAM) X(SOCK_DGRAM) X(SOCK_RAW) X(SOCK_RDM)                     \
    X(SOCK_SEQPACKET) X(SOCK_DCCP) X(SOCK_PACKET)
SS_XLAT_DEFINE(socktype, SOCKTYPE_LIST);

/* The rule language's spelling of the socket types a program meets (type=
 * in docs/faults.md): the parser reads its names, its messages list them. */
#define RULE_SOCKTYPE_LIST(X, N)                                             \
    N(SOCK_STREAM, "stream") N(SOCK_DGRAM, "dgram")                          \
    N(SOCK_SEQPACKET, "seqpacket") N(SOCK_RAW, "raw")
SS_XLAT_DEFINE(rule_socktype, RULE_SOCKTYPE_LIST);

/* IPPROTO_IP (0) stays for completeness; socket() shows a zero protocol as
 * 0. Left out: IPPROTO_HOPOPTS (also 0, an IPv6 extension header). */
#define IPPROTO_LIST(X, N)                                                   \
    X(IPPROTO_IP) X(IPPROTO_ICMP) X(IPPROTO_IGMP) X(IPPROTO_IPIP)            \
    X(IPPROTO_TCP) X(IPPROTO_EGP) X(IPPROTO_PUP) X(IPPROTO_UDP)              \
    X(IPPROTO_IDP) X(IPPROTO_TP) X(IPPROTO_DCCP) X(IPPROTO_IPV6)             \
    X(IPPROTO_ROUTING) X(IPPROTO_FRAGMENT) X(IPPROTO_RSVP) X(IPPROTO_GRE)    \
    X(IPPROTO_ESP) X(IPPROTO_AH) X(IPPROTO_ICMPV6) X(IPPROTO_NONE)           \
    X(IPPROTO_DSTOPTS) X(IPPROTO_MTP) X(IPPROTO_BEETPH) X(IPPROTO_ENCAP)     \
    X(IPPROTO_PIM) X(IPPROTO_COMP) X(IPPROTO_SCTP) X(IPPROTO_MH)             \
    X(IPPROTO_UDPLITE) X(IPPROTO_MPLS) X(IPPROTO_ETHERNET) X(IPPROTO_RAW)    \
    X(IPPROTO_MPTCP)
SS_XLAT_DEFINE(ipproto, IPPROTO_LIST);

/* Socket option levels, spelled as strace does: a level below 256 is an IP
 * protocol number, shown as SOL_<protocol> (glibc has no SOL_UDP, SOL_SCTP
 * or SOL_UDPLITE). SOL_SOCKET is 1, which beats IPPROTO_ICMP. */
#define SOL_LIST(X, N)                                                       \
    N(IPPROTO_IP, "SOL_IP") X(SOL_SOCKET) N(IPPROTO_TCP, "SOL_TCP")          \
    N(IPPROTO_UDP, "SOL_UDP") N(IPPROTO_IPV6, "SOL_IPV6")                    \
    N(IPPROTO_ICMPV6, "SOL_ICMPV6") N(IPPROTO_SCTP, "SOL_SCTP")              \
    N(IPPROTO_UDPLITE, "SOL_UDPLITE") N(IPPROTO_RAW, "SOL_RAW")              \
    X(SOL_DECNET) X(SOL_X25) X(SOL_PACKET) X(SOL_ATM) X(SOL_AAL)             \
    X(SOL_IRDA) X(SOL_NETBEUI) X(SOL_LLC) X(SOL_DCCP) X(SOL_NETLINK)         \
    X(SOL_TIPC) X(SOL_RXRPC) X(SOL_PPPOL2TP) X(SOL_BLUETOOTH) X(SOL_PNPIPE)  \
    X(SOL_RDS) X(SOL_IUCV) X(SOL_CAIF) X(SOL_ALG) X(SOL_NFC) X(SOL_KCM)      \
    X(SOL_TLS) X(SOL_XDP) X(SOL_MPTCP) X(SOL_MCTP) X(SOL_SMC)
SS_XLAT_DEFINE(sol, SOL_LIST);

/* x86_64 values (asm-generic). The y2038 pairs: the _OLD value is what
 * SO_RCVTIMEO, SO_TIMESTAMP... mean on a 64-bit build, so it gets the plain
 * name; the _NEW ones keep theirs. Left out: SO_GET_FILTER (= SO_ATTACH_
 * FILTER), SO_DETACH_BPF (= SO_DETACH_FILTER). */
#define SO_LIST(X, N)                                                        \
    X(SO_DEBUG) X(SO_REUSEADDR) X(SO_TYPE) X(SO_ERROR) X(SO_DONTROUTE)       \
    X(SO_BROADCAST) X(SO_SNDBUF) X(SO_RCVBUF) X(SO_KEEPALIVE)                \
    X(SO_OOBINLINE) X(SO_NO_CHECK) X(SO_PRIORITY) X(SO_LINGER)               \
    X(SO_BSDCOMPAT) X(SO_REUSEPORT) X(SO_PASSCRED) X(SO_PEERCRED)            \
    X(SO_RCVLOWAT) X(SO_SNDLOWAT)                                            \
    N(SO_RCVTIMEO_OLD, "SO_RCVTIMEO") N(SO_SNDTIMEO_OLD, "SO_SNDTIMEO")      \
    X(SO_SECURITY_AUTHENTICATION) X(SO_SECURITY_ENCRYPTION_TRANSPORT)        \
    X(SO_SECURITY_ENCRYPTION_NETWORK) X(SO_BINDTODEVICE)                     \
    X(SO_ATTACH_FILTER) X(SO_DETACH_FILTER) X(SO_PEERNAME)                   \
    N(SO_TIMESTAMP_OLD, "SO_TIMESTAMP") X(SO_ACCEPTCONN) X(SO_PEERSEC)       \
    X(SO_SNDBUFFORCE) X(SO_RCVBUFFORCE) X(SO_PASSSEC)                        \
    N(SO_TIMESTAMPNS_OLD, "SO_TIMESTAMPNS") X(SO_MARK)                       \
    N(SO_TIMESTAMPING_OLD, "SO_TIMESTAMPING") X(SO_PROTOCOL) X(SO_DOMAIN)    \
    X(SO_RXQ_OVFL) X(SO_WIFI_STATUS) X(SO_PEEK_OFF) X(SO_NOFCS)              \
    X(SO_LOCK_FILTER) X(SO_SELECT_ERR_QUEUE) X(SO_BUSY_POLL)                 \
    X(SO_MAX_PACING_RATE) X(SO_BPF_EXTENSIONS) X(SO_INCOMING_CPU)            \
    X(SO_ATTACH_BPF) X(SO_ATTACH_REUSEPORT_CBPF)                             \
    X(SO_ATTACH_REUSEPORT_EBPF) X(SO_CNX_ADVICE) X(SO_MEMINFO)               \
    X(SO_INCOMING_NAPI_ID) X(SO_COOKIE) X(SO_PEERGROUPS) X(SO_ZEROCOPY)      \
    X(SO_TXTIME) X(SO_BINDTOIFINDEX) X(SO_TIMESTAMP_NEW)                     \
    X(SO_TIMESTAMPNS_NEW) X(SO_TIMESTAMPING_NEW) X(SO_RCVTIMEO_NEW)          \
    X(SO_SNDTIMEO_NEW) X(SO_DETACH_REUSEPORT_BPF) X(SO_PREFER_BUSY_POLL)     \
    X(SO_BUSY_POLL_BUDGET) X(SO_NETNS_COOKIE) X(SO_BUF_LOCK)                 \
    X(SO_RESERVE_MEM) X(SO_TXREHASH) X(SO_RCVMARK)                           \
    OPT_SO_PASSPIDFD(X) OPT_SO_PEERPIDFD(X)
SS_XLAT_DEFINE(so, SO_LIST);

/* <netinet/tcp.h> option names. Left out: TCP_CM_INQ (= TCP_INQ). */
#define TCP_LIST(X, N)                                                       \
    X(TCP_NODELAY) X(TCP_MAXSEG) X(TCP_CORK) X(TCP_KEEPIDLE)                 \
    X(TCP_KEEPINTVL) X(TCP_KEEPCNT) X(TCP_SYNCNT) X(TCP_LINGER2)             \
    X(TCP_DEFER_ACCEPT) X(TCP_WINDOW_CLAMP) X(TCP_INFO) X(TCP_QUICKACK)      \
    X(TCP_CONGESTION) X(TCP_MD5SIG) X(TCP_COOKIE_TRANSACTIONS)               \
    X(TCP_THIN_LINEAR_TIMEOUTS) X(TCP_THIN_DUPACK) X(TCP_USER_TIMEOUT)       \
    X(TCP_REPAIR) X(TCP_REPAIR_QUEUE) X(TCP_QUEUE_SEQ)                       \
    X(TCP_REPAIR_OPTIONS) X(TCP_FASTOPEN) X(TCP_TIMESTAMP)                   \
    X(TCP_NOTSENT_LOWAT) X(TCP_CC_INFO) X(TCP_SAVE_SYN) X(TCP_SAVED_SYN)     \
    X(TCP_REPAIR_WINDOW) X(TCP_FASTOPEN_CONNECT) X(TCP_ULP)                  \
    X(TCP_MD5SIG_EXT) X(TCP_FASTOPEN_KEY) X(TCP_FASTOPEN_NO_COOKIE)          \
    X(TCP_ZEROCOPY_RECEIVE) X(TCP_INQ) X(TCP_TX_DELAY)
SS_XLAT_DEFINE(tcp, TCP_LIST);

/* Protocol-independent multicast options, valid at both IP levels (their
 * values, 42..48, are free in both). */
#define MCAST_LIST(X)                                                        \
    X(MCAST_JOIN_GROUP) X(MCAST_BLOCK_SOURCE) X(MCAST_UNBLOCK_SOURCE)        \
    X(MCAST_LEAVE_GROUP) X(MCAST_JOIN_SOURCE_GROUP)                          \
    X(MCAST_LEAVE_SOURCE_GROUP) X(MCAST_MSFILTER)

/* Left out: IP_RECVRETOPTS (= IP_RETOPTS), IP_PMTUDISC (= IP_MTU_DISCOVER),
 * IP_RECVORIGDSTADDR (= IP_ORIGDSTADDR, which strace shows). */
#define IP_LIST(X, N)                                                        \
    X(IP_TOS) X(IP_TTL) X(IP_HDRINCL) X(IP_OPTIONS) X(IP_ROUTER_ALERT)       \
    X(IP_RECVOPTS) X(IP_RETOPTS) X(IP_PKTINFO) X(IP_PKTOPTIONS)              \
    X(IP_MTU_DISCOVER) X(IP_RECVERR) X(IP_RECVTTL) X(IP_RECVTOS) X(IP_MTU)   \
    X(IP_FREEBIND) X(IP_IPSEC_POLICY) X(IP_XFRM_POLICY) X(IP_PASSSEC)        \
    X(IP_TRANSPARENT) X(IP_ORIGDSTADDR) X(IP_MINTTL) X(IP_NODEFRAG)          \
    X(IP_CHECKSUM) X(IP_BIND_ADDRESS_NO_PORT) X(IP_RECVFRAGSIZE)             \
    X(IP_RECVERR_RFC4884) X(IP_MULTICAST_IF) X(IP_MULTICAST_TTL)             \
    X(IP_MULTICAST_LOOP) X(IP_ADD_MEMBERSHIP) X(IP_DROP_MEMBERSHIP)          \
    X(IP_UNBLOCK_SOURCE) X(IP_BLOCK_SOURCE) X(IP_ADD_SOURCE_MEMBERSHIP)      \
    X(IP_DROP_SOURCE_MEMBERSHIP) X(IP_MSFILTER) MCAST_LIST(X)                \
    X(IP_MULTICAST_ALL) X(IP_UNICAST_IF)
SS_XLAT_DEFINE(ip, IP_LIST);

/* Left out: IPV6_ADD_MEMBERSHIP/IPV6_DROP_MEMBERSHIP (= IPV6_JOIN_GROUP/
 * IPV6_LEAVE_GROUP), IPV6_RXHOPOPTS/IPV6_RXDSTOPTS (= IPV6_HOPOPTS/
 * IPV6_DSTOPTS), IPV6_RECVORIGDSTADDR (= IPV6_ORIGDSTADDR). */
#define IPV6_LIST(X, N)                                                      \
    X(IPV6_ADDRFORM) X(IPV6_2292PKTINFO) X(IPV6_2292HOPOPTS)                 \
    X(IPV6_2292DSTOPTS) X(IPV6_2292RTHDR) X(IPV6_2292PKTOPTIONS)             \
    X(IPV6_CHECKSUM) X(IPV6_2292HOPLIMIT) X(IPV6_NEXTHOP) X(IPV6_AUTHHDR)    \
    X(IPV6_UNICAST_HOPS) X(IPV6_MULTICAST_IF) X(IPV6_MULTICAST_HOPS)         \
    X(IPV6_MULTICAST_LOOP) X(IPV6_JOIN_GROUP) X(IPV6_LEAVE_GROUP)            \
    X(IPV6_ROUTER_ALERT) X(IPV6_MTU_DISCOVER) X(IPV6_MTU) X(IPV6_RECVERR)    \
    X(IPV6_V6ONLY) X(IPV6_JOIN_ANYCAST) X(IPV6_LEAVE_ANYCAST)                \
    X(IPV6_MULTICAST_ALL) X(IPV6_ROUTER_ALERT_ISOLATE)                       \
    X(IPV6_RECVERR_RFC4884) X(IPV6_IPSEC_POLICY) X(IPV6_XFRM_POLICY)         \
    X(IPV6_HDRINCL) MCAST_LIST(X) X(IPV6_RECVPKTINFO) X(IPV6_PKTINFO)        \
    X(IPV6_RECVHOPLIMIT) X(IPV6_HOPLIMIT) X(IPV6_RECVHOPOPTS)                \
    X(IPV6_HOPOPTS) X(IPV6_RTHDRDSTOPTS) X(IPV6_RECVRTHDR) X(IPV6_RTHDR)     \
    X(IPV6_RECVDSTOPTS) X(IPV6_DSTOPTS) X(IPV6_RECVPATHMTU)                  \
    X(IPV6_PATHMTU) X(IPV6_DONTFRAG) X(IPV6_RECVTCLASS) X(IPV6_TCLASS)       \
    X(IPV6_AUTOFLOWLABEL) X(IPV6_ADDR_PREFERENCES) X(IPV6_MINHOPCOUNT)       \
    X(IPV6_ORIGDSTADDR) X(IPV6_TRANSPARENT) X(IPV6_UNICAST_IF)               \
    X(IPV6_RECVFRAGSIZE) X(IPV6_FREEBIND)
SS_XLAT_DEFINE(ipv6, IPV6_LIST);

#define SHUT_LIST(X, N) X(SHUT_RD) X(SHUT_WR) X(SHUT_RDWR)
SS_XLAT_DEFINE(shut, SHUT_LIST);

/* Left out: F_GETLK64, F_SETLK64, F_SETLKW64 (= F_GETLK, F_SETLK, F_SETLKW
 * on x86_64). */
#define FCNTL_CMD_LIST(X, N)                                                 \
    X(F_DUPFD) X(F_GETFD) X(F_SETFD) X(F_GETFL) X(F_SETFL) X(F_GETLK)        \
    X(F_SETLK) X(F_SETLKW) X(F_SETOWN) X(F_GETOWN) X(F_SETSIG) X(F_GETSIG)   \
    X(F_SETOWN_EX) X(F_GETOWN_EX) X(F_OFD_GETLK) X(F_OFD_SETLK)              \
    X(F_OFD_SETLKW) X(F_SETLEASE) X(F_GETLEASE) X(F_NOTIFY)                  \
    X(F_DUPFD_CLOEXEC) X(F_SETPIPE_SZ) X(F_GETPIPE_SZ) X(F_ADD_SEALS)        \
    X(F_GET_SEALS) X(F_GET_RW_HINT) X(F_SET_RW_HINT) X(F_GET_FILE_RW_HINT)   \
    X(F_SET_FILE_RW_HINT)
SS_XLAT_DEFINE(fcntl_cmd, FCNTL_CMD_LIST);

/* Requests seen on sockets. Left out: SIOCINQ and TIOCINQ (= FIONREAD),
 * TIOCOUTQ (= SIOCOUTQ). SIOCGSTAMP and SIOCGSTAMPNS are the _OLD values
 * on x86_64; the _NEW ones differ and are listed under their own names. */
#define IOCTL_LIST(X, N)                                                     \
    X(FIONBIO) X(FIONREAD) X(FIOCLEX) X(FIONCLEX) X(FIOASYNC) X(FIOQSIZE)    \
    X(SIOCOUTQ) X(FIOSETOWN) X(SIOCSPGRP) X(FIOGETOWN) X(SIOCGPGRP)          \
    X(SIOCATMARK) X(SIOCGSTAMP) X(SIOCGSTAMPNS) X(SIOCGSTAMP_NEW)            \
    X(SIOCGSTAMPNS_NEW) X(SIOCADDRT) X(SIOCDELRT) X(SIOCRTMSG)               \
    X(SIOCGIFNAME) X(SIOCSIFLINK) X(SIOCGIFCONF) X(SIOCGIFFLAGS)             \
    X(SIOCSIFFLAGS) X(SIOCGIFADDR) X(SIOCSIFADDR) X(SIOCGIFDSTADDR)          \
    X(SIOCSIFDSTADDR) X(SIOCGIFBRDADDR) X(SIOCSIFBRDADDR)                    \
    X(SIOCGIFNETMASK) X(SIOCSIFNETMASK) X(SIOCGIFMETRIC) X(SIOCSIFMETRIC)    \
    X(SIOCGIFMEM) X(SIOCSIFMEM) X(SIOCGIFMTU) X(SIOCSIFMTU) X(SIOCSIFNAME)   \
    X(SIOCSIFHWADDR) X(SIOCGIFENCAP) X(SIOCSIFENCAP) X(SIOCGIFHWADDR)        \
    X(SIOCGIFSLAVE) X(SIOCSIFSLAVE) X(SIOCADDMULTI) X(SIOCDELMULTI)          \
    X(SIOCGIFINDEX) X(SIOCSIFPFLAGS) X(SIOCGIFPFLAGS) X(SIOCDIFADDR)         \
    X(SIOCSIFHWBROADCAST) X(SIOCGIFCOUNT) X(SIOCGIFBR) X(SIOCSIFBR)          \
    X(SIOCGIFTXQLEN) X(SIOCSIFTXQLEN) X(SIOCETHTOOL) X(SIOCGMIIPHY)          \
    X(SIOCGMIIREG) X(SIOCSMIIREG) X(SIOCWANDEV) X(SIOCOUTQNSD)               \
    X(SIOCGSKNS) X(SIOCDARP) X(SIOCGARP) X(SIOCSARP) X(SIOCDRARP)            \
    X(SIOCGRARP) X(SIOCSRARP) X(SIOCGIFMAP) X(SIOCSIFMAP) X(SIOCADDDLCI)     \
    X(SIOCDELDLCI) X(SIOCGIFVLAN) X(SIOCSIFVLAN) X(SIOCBONDENSLAVE)          \
    X(SIOCBONDRELEASE) X(SIOCBONDSETHWADDR) X(SIOCBONDSLAVEINFOQUERY)        \
    X(SIOCBONDINFOQUERY) X(SIOCBONDCHANGEACTIVE) X(SIOCBRADDBR)              \
    X(SIOCBRDELBR) X(SIOCBRADDIF) X(SIOCBRDELIF) X(SIOCSHWTSTAMP)            \
    X(SIOCGHWTSTAMP)
SS_XLAT_DEFINE(ioctl, IOCTL_LIST);

/* Control message types at level SOL_SOCKET; the timestamp ones are the
 * x86_64 (_OLD) values. */
#define SCM_LIST(X, N)                                                       \
    X(SCM_RIGHTS) X(SCM_CREDENTIALS) X(SCM_TIMESTAMP) X(SCM_TIMESTAMPNS)     \
    X(SCM_TIMESTAMPING) X(SCM_WIFI_STATUS) X(SCM_TIMESTAMPING_OPT_STATS)     \
    X(SCM_TIMESTAMPING_PKTINFO) X(SCM_TXTIME)
SS_XLAT_DEFINE(scm, SCM_LIST);

/* ---- Bit flags --------------------------------------------------------- */

/* Left out: MSG_TRYHARD (= MSG_DONTROUTE). */
#define MSG_FLAGS_LIST(X, N)                                                 \
    X(MSG_OOB) X(MSG_PEEK) X(MSG_DONTROUTE) X(MSG_CTRUNC) X(MSG_PROXY)       \
    X(MSG_TRUNC) X(MSG_DONTWAIT) X(MSG_EOR) X(MSG_WAITALL) X(MSG_FIN)        \
    X(MSG_SYN) X(MSG_CONFIRM) X(MSG_RST) X(MSG_ERRQUEUE) X(MSG_NOSIGNAL)     \
    X(MSG_MORE) X(MSG_WAITFORONE) X(MSG_BATCH) X(MSG_ZEROCOPY)               \
    X(MSG_FASTOPEN) X(MSG_CMSG_CLOEXEC)
SS_XLAT_DEFINE(msg_flags, MSG_FLAGS_LIST);

/* poll()'s events, as Python's select module names them. Left out:
 * POLLREMOVE (not Linux's). */
#define POLL_EVENTS_LIST(X, N)                                               \
    X(POLLIN) X(POLLPRI) X(POLLOUT) X(POLLERR) X(POLLHUP) X(POLLNVAL)        \
    X(POLLRDNORM) X(POLLRDBAND) X(POLLWRNORM) X(POLLWRBAND) X(POLLMSG)       \
    X(POLLRDHUP)
SS_XLAT_DEFINE(poll_events, POLL_EVENTS_LIST);

/* epoll's events and input flags, as Python's select module names them. */
#define EPOLL_EVENTS_LIST(X, N)                                              \
    X(EPOLLIN) X(EPOLLPRI) X(EPOLLOUT) X(EPOLLERR) X(EPOLLHUP)               \
    X(EPOLLRDNORM) X(EPOLLRDBAND) X(EPOLLWRNORM) X(EPOLLWRBAND) X(EPOLLMSG)  \
    X(EPOLLRDHUP) X(EPOLLEXCLUSIVE) X(EPOLLWAKEUP) X(EPOLLONESHOT)           \
    X(EPOLLET)
SS_XLAT_DEFINE(epoll_events, EPOLL_EVENTS_LIST);

#define EPOLL_CREATE_FLAGS_LIST(X, N) X(EPOLL_CLOEXEC)
SS_XLAT_DEFINE(epoll_create_flags, EPOLL_CREATE_FLAGS_LIST);

/* getaddrinfo's hints (glibc's IDN flags are shown by number). */
#define AI_FLAGS_LIST(X, N)                                                  \
    X(AI_PASSIVE) X(AI_CANONNAME) X(AI_NUMERICHOST) X(AI_V4MAPPED) X(AI_ALL) \
    X(AI_ADDRCONFIG) X(AI_NUMERICSERV)
SS_XLAT_DEFINE(ai_flags, AI_FLAGS_LIST);

#define NI_FLAGS_LIST(X, N)                                                  \
    X(NI_NUMERICHOST) X(NI_NUMERICSERV) X(NI_NOFQDN) X(NI_NAMEREQD) X(NI_DGRAM)
SS_XLAT_DEFINE(ni_flags, NI_FLAGS_LIST);

#define SOCK_FLAGS_LIST(X, N) X(SOCK_NONBLOCK) X(SOCK_CLOEXEC)
SS_XLAT_DEFINE(sock_flags, SOCK_FLAGS_LIST);

/* File status flags. The access mode is not a set of bits: O_RDONLY is 0,
 * so it cannot be an entry; ss_out_flags prints it for this table when
 * (v & O_ACCMODE) == 0 (see out_open_flags). O_WRONLY and O_RDWR come first
 * so the access mode leads. O_SYNC includes O_DSYNC's bit and O_TMPFILE
 * includes O_DIRECTORY's, so each precedes the smaller one (a matched entry
 * consumes its bits). O_LARGEFILE is 0 in 64-bit userspace headers but the
 * kernel sets 0x8000 in what F_GETFL returns. O_CREAT, O_EXCL, O_NOCTTY
 * and O_TRUNC never come back from F_GETFL but may be passed to F_SETFL.
 * Left out: O_NDELAY (= O_NONBLOCK), O_FSYNC and O_RSYNC (= O_SYNC). */
#define OPEN_FLAGS_LIST(X, N)                                                \
    X(O_WRONLY) X(O_RDWR) X(O_CREAT) X(O_EXCL) X(O_NOCTTY) X(O_TRUNC)        \
    X(O_APPEND) X(O_NONBLOCK) X(O_SYNC) X(O_DSYNC) X(O_ASYNC) X(O_DIRECT)    \
    N(0x8000, "O_LARGEFILE") X(O_TMPFILE) X(O_DIRECTORY) X(O_NOFOLLOW)       \
    X(O_NOATIME) X(O_CLOEXEC) X(O_PATH)
SS_XLAT_DEFINE(open_flags, OPEN_FLAGS_LIST);

#define FD_FLAGS_LIST(X, N) X(FD_CLOEXEC)
SS_XLAT_DEFINE(fd_flags, FD_FLAGS_LIST);

#define RWF_FLAGS_LIST(X, N)                                                 \
    X(RWF_HIPRI) X(RWF_DSYNC) X(RWF_SYNC) X(RWF_NOWAIT) X(RWF_APPEND)        \
    X(RWF_NOAPPEND)
SS_XLAT_DEFINE(rwf_flags, RWF_FLAGS_LIST);

#define SPLICE_FLAGS_LIST(X, N)                                              \
    X(SPLICE_F_MOVE) X(SPLICE_F_NONBLOCK) X(SPLICE_F_MORE) X(SPLICE_F_GIFT)
SS_XLAT_DEFINE(splice_flags, SPLICE_FLAGS_LIST);

/* close_range(2) flags */
#define CLOSE_RANGE_FLAGS_LIST(X, N) X(CLOSE_RANGE_UNSHARE) X(CLOSE_RANGE_CLOEXEC)
SS_XLAT_DEFINE(close_range_flags, CLOSE_RANGE_FLAGS_LIST);

/* ---- Lookups and rendering --------------------------------------------- */

const char *ss_xlat_name(const struct ss_xlat *t, long v)
{
    for (size_t i = 0; i < t->count; i++)
        if (t->entries[i].value == v)
            return t->entries[i].name;
    return NULL;
}

int ss_xlat_value(const struct ss_xlat *t, const char *name, size_t len, long *value)
{
    for (size_t i = 0; i < t->count; i++) {
        if (strlen(t->entries[i].name) == len && memcmp(t->entries[i].name, name, len) == 0) {
            *value = t->entries[i].value;
            return 0;
        }
    }
    return -1;
}

void ss_out_xlat(struct ss_out *o, const struct ss_xlat *t, long v)
{
    const char *name = ss_xlat_name(t, v);
    if (name != NULL)
        ss_out_str(o, name);
    else
        ss_out_i64(o, v);
}

/* Writes the name of every entry whose bits are all in *v, in table order,
 * clearing them from *v so a wider entry (O_SYNC) hides the narrower one it
 * contains (O_DSYNC). sep says whether something was written before; the
 * result says whether something has been written now. Zero-valued entries
 * would match anything and are skipped. */
static int out_flag_names(struct ss_out *o, const struct ss_xlat *t,
                          unsigned long *v, int sep)
{
    for (size_t i = 0; i < t->count; i++) {
        unsigned long bits = (unsigned long)t->entries[i].value;
        if (bits == 0 || (*v & bits) != bits)
            continue;
        if (sep)
            ss_out_char(o, '|');
        ss_out_str(o, t->entries[i].name);
        *v &= ~bits;
        sep = 1;
    }
    return sep;
}

/* Bits no entry names, as one hex number. */
static void out_flag_rest(struct ss_out *o, unsigned long v, int sep)
{
    if (v == 0)
        return;
    if (sep)
        ss_out_char(o, '|');
    ss_out_hex(o, v);
}

/* Open flags carry an access mode in their low bits, and its read-only
 * value is 0, which no bit test can find: name it explicitly, first, as
 * strace does ("O_RDONLY|O_NONBLOCK", and "O_RDONLY" for 0). O_WRONLY and
 * O_RDWR are ordinary entries at the head of the table. */
static void out_open_flags(struct ss_out *o, unsigned long v)
{
    int sep = 0;
    if ((v & O_ACCMODE) == 0) {
        ss_out_str(o, "O_RDONLY");
        sep = 1;
    }
    /* v != 0 here unless O_RDONLY was written, so "0" is never needed. */
    sep = out_flag_names(o, &ss_xlat_open_flags, &v, sep);
    out_flag_rest(o, v, sep);
}

void ss_out_flags(struct ss_out *o, const struct ss_xlat *t, unsigned long v)
{
    /* The one table whose zero has a name; see out_open_flags. */
    if (t == &ss_xlat_open_flags) {
        out_open_flags(o, v);
        return;
    }
    if (v == 0) {
        ss_out_char(o, '0');
        return;
    }
    int sep = out_flag_names(o, t, &v, 0);
    out_flag_rest(o, v, sep);
}

/* The kernel's SOCK_TYPE_MASK (not exported to userspace): the low bits
 * of socket()'s type are the type, the rest are creation flags. */
#define SS_SOCK_TYPE_MASK 0xfu

void ss_out_socktype(struct ss_out *o, int type)
{
    unsigned int u = (unsigned int)type; /* no sign extension into rest */
    ss_out_xlat(o, &ss_xlat_socktype, (long)(u & SS_SOCK_TYPE_MASK));
    unsigned long rest = u & ~SS_SOCK_TYPE_MASK;
    int sep = out_flag_names(o, &ss_xlat_sock_flags, &rest, 1);
    out_flag_rest(o, rest, sep);
}

const struct ss_xlat *ss_xlat_optnames(int level)
{
    switch (level) {
    case SOL_SOCKET:
        return &ss_xlat_so;
    case IPPROTO_TCP:
        return &ss_xlat_tcp;
    case IPPROTO_IP:
        return &ss_xlat_ip;
    case IPPROTO_IPV6:
        return &ss_xlat_ipv6;
    default:
        return NULL;
    }
}

/* ---- errno ------------------------------------------------------------- */

/* The kernel never returns errno values above this (MAX_ERRNO). */
#define SS_MAX_ERRNO 4095

/* glibc's strerrorname_np and strerrordesc_np index static tables: no
 * locale, no allocation, no lock, so they are fine in a signal handler. 0 is
 * not an error (glibc would call it "0", "Success"), so it has no name. */
const char *ss_errno_name(int err)
{
    return err > 0 ? strerrorname_np(err) : NULL;
}

const char *ss_errno_message(int err)
{
    return err > 0 ? strerrordesc_np(err) : NULL;
}

/* Names glibc's table does not return because another name has the same
 * value (it says EAGAIN, EDEADLK, EOPNOTSUPP). */
#define ERRNO_ALIAS_LIST(X, N) X(EWOULDBLOCK) X(EDEADLOCK) X(ENOTSUP)
static const struct ss_xlat_entry errno_aliases[] = {
    ERRNO_ALIAS_LIST(XLAT_ENTRY, XLAT_NAMED)};

static int errno_by_name(const char *s)
{
    for (int e = 1; e <= SS_MAX_ERRNO; e++) {
        const char *name = strerrorname_np(e);
        if (name != NULL && strcmp(name, s) == 0)
            return e;
    }
    for (size_t i = 0; i < sizeof errno_aliases / sizeof errno_aliases[0]; i++)
        if (strcmp(errno_aliases[i].name, s) == 0)
            return (int)errno_aliases[i].value;
    return 0;
}

int ss_errno_parse(const char *s, int *err)
{
    if (s == NULL)
        return -1;
    uint64_t n;
    if (ss_parse_u64(s, SS_MAX_ERRNO, &n) == 0) {
        if (n == 0)
            return -1;
        *err = (int)n;
        return 0;
    }
    int e = errno_by_name(s);
    if (e == 0)
        return -1;
    *err = e;
    return 0;
}

/* ---- name resolution errors ------------------------------------------ */

/* getaddrinfo's and getnameinfo's codes, with gai_strerror's text (C
 * locale), and the h_errno a gethostbyname-style call reports for the same
 * failure (0: such a call has none). */
#define GAI_ERRORS(X)                                                              \
    X(EAI_BADFLAGS, "Bad value for ai_flags", 0)                                   \
    X(EAI_NONAME, "Name or service not known", HOST_NOT_FOUND)                     \
    X(EAI_AGAIN, "Temporary failure in name resolution", TRY_AGAIN)                \
    X(EAI_FAIL, "Non-recoverable failure in name resolution", NO_RECOVERY)         \
    X(EAI_NODATA, "No address associated with hostname", NO_DATA)                  \
    X(EAI_FAMILY, "ai_family not supported", 0)                                    \
    X(EAI_SOCKTYPE, "ai_socktype not supported", 0)                                \
    X(EAI_SERVICE, "Servname not supported for ai_socktype", 0)                    \
    X(EAI_ADDRFAMILY, "Address family for hostname not supported", 0)              \
    X(EAI_MEMORY, "Memory allocation failure", NETDB_INTERNAL)                     \
    X(EAI_SYSTEM, "System error", 0)                                               \
    X(EAI_OVERFLOW, "Unknown error", 0) /* glibc 2.36 has no text of its own */

#define GAI_ENTRY(code, message, herr) {code, #code, message, herr, 0},
static const struct ss_resolve_error gai_errors[] = {GAI_ERRORS(GAI_ENTRY)};
#undef GAI_ENTRY

/* gethostbyname's h_errno values, with hstrerror's text, the EAI_* code
 * of the same failure, and what a _r form returns with it (glibc: 0 for
 * "not found", EAGAIN for a temporary failure; NETDB_INTERNAL is a failure
 * of the system, here the allocation EAI_MEMORY stands for). */
#define H_ERRORS(X)                                                                \
    X(HOST_NOT_FOUND, "Unknown host", EAI_NONAME, 0)                               \
    X(TRY_AGAIN, "Host name lookup failure", EAI_AGAIN, EAGAIN)                    \
    X(NO_RECOVERY, "Unknown server error", EAI_FAIL, ENOENT)                       \
    X(NO_DATA, "No address associated with name", EAI_NODATA, 0)                  \
    X(NETDB_INTERNAL, "Resolver internal error", EAI_MEMORY, ENOMEM)

#define H_ENTRY(code, message, eai, r_ret) {code, #code, message, eai, r_ret},
static const struct ss_resolve_error h_errors[] = {H_ERRORS(H_ENTRY)};
#undef H_ENTRY

static const struct ss_resolve_error *find_resolve_error(const struct ss_resolve_error *t,
                                                         size_t n, int code)
{
    for (size_t i = 0; i < n; i++)
        if (t[i].code == code)
            return &t[i];
    return NULL;
}

const struct ss_resolve_error *ss_gai_error(int code)
{
    return find_resolve_error(gai_errors, sizeof gai_errors / sizeof gai_errors[0], code);
}

const struct ss_resolve_error *ss_h_error(int herr)
{
    return find_resolve_error(h_errors, sizeof h_errors / sizeof h_errors[0], herr);
}

int ss_resolve_error_parse(const char *s, size_t n, int *eai)
{
    for (size_t i = 0; i < sizeof gai_errors / sizeof gai_errors[0]; i++)
        if (strlen(gai_errors[i].name) == n && memcmp(gai_errors[i].name, s, n) == 0) {
            *eai = gai_errors[i].code;
            return 0;
        }
    for (size_t i = 0; i < sizeof h_errors / sizeof h_errors[0]; i++)
        if (strlen(h_errors[i].name) == n && memcmp(h_errors[i].name, s, n) == 0) {
            *eai = h_errors[i].other;
            return 0;
        }
    return -1;
}

const struct ss_resolve_error *ss_h_error_of_gai(int eai)
{
    const struct ss_resolve_error *g = ss_gai_error(eai);
    return g != NULL && g->other != 0 ? ss_h_error(g->other) : NULL;
}

void ss_out_dup3_flags(struct ss_out *o, int flags)
{
    unsigned rest = (unsigned)flags & ~(unsigned)O_CLOEXEC;
    if (flags & O_CLOEXEC)
        ss_out_str(o, "O_CLOEXEC");
    if (rest != 0 || flags == 0) {
        if (flags & O_CLOEXEC)
            ss_out_char(o, '|');
        ss_out_hex(o, rest);
    }
}

/* ---- findings ------------------------------------------------------------ */

static const char *const finding_codes[] = {
#define SS_FINDING_CODE(id, code, text) code,
    SS_FINDINGS(SS_FINDING_CODE)
#undef SS_FINDING_CODE
};

static const char *const finding_texts[] = {
#define SS_FINDING_TEXT(id, code, text) text,
    SS_FINDINGS(SS_FINDING_TEXT)
#undef SS_FINDING_TEXT
};

const char *ss_finding_code(enum ss_finding f)
{
    return (unsigned)f < SS_FINDING_COUNT ? finding_codes[f] : "?";
}

const char *ss_finding_text(enum ss_finding f)
{
    return (unsigned)f < SS_FINDING_COUNT ? finding_texts[f] : "?";
}
