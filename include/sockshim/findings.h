/* sockshim: the findings of the audit (docs/findings.md documents each).
 *
 * X(identifier, "code", "what it means"): the code is the stable name a
 * trace, a report and --fail-on use.
 */
#ifndef SOCKSHIM_FINDINGS_H
#define SOCKSHIM_FINDINGS_H

#define SS_FINDINGS(X)                                                                     \
    X(lost_bytes, "lost-bytes", "a short send was not continued")       \
    X(leak, "leak", "a socket created here was never closed")                             \
    X(use_after_close, "use-after-close", "a call on an fd whose socket was closed")      \
    X(send_after_shutdown, "send-after-shutdown", "a transfer the socket was shut for")   \
    X(sigpipe_risk, "sigpipe-risk", "a stream send without MSG_NOSIGNAL, SIGPIPE at its default") \
    X(eof_spin, "eof-spin", "recv kept being called after end of file")                   \
    X(nagle_small_writes, "nagle-small-writes",                                           \
      "small sends in a row, then a wait for the reply, without TCP_NODELAY")             \
    X(unchecked_connect, "unchecked-connect",                                             \
      "a non-blocking connect failed and a transfer found out, SO_ERROR never read") \
    X(reuseaddr_missing, "reuseaddr-missing", "a TCP server bound without SO_REUSEADDR")  \
    X(double_close, "double-close", "close of an fd already closed")

enum ss_finding {
#define SS_FINDING_ENUM(id, code, text) SS_FIND_##id,
    SS_FINDINGS(SS_FINDING_ENUM)
#undef SS_FINDING_ENUM
    SS_FINDING_COUNT
};

#endif
