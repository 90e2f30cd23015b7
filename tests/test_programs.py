"""The C scenario programs (tests/programs/*.c, built into build/programs)
run bare and under sockshim: behaviour unchanged, exact text traces, the
libc entry point behind every JSON record, the JSON fields, the socket model
as the trace shows it, and a multi-threaded run.

Each program's top comment lists the socket calls it makes, in order; the
expected traces below follow those lists. Ports vary from run to run and are
replaced by PORT (conftest.normalize); pids, the abstract name the kernel
autobinds and the pids of fork children are replaced by the small documented
substitutions in the helpers below. Within one process the order of lines is
fixed; across processes (fork) or threads it is not, so traces are compared
per pid and multi-threaded runs only by counts.
"""
import os
import re
from datetime import datetime

import pytest

from conftest import PROGRAMS, ROOT, LINE_RE, program, run_bare, run_traced

# ---- helpers ---------------------------------------------------------------

SOURCES = ROOT / "tests" / "programs"
# Programs that need arguments (the fault-injection pair) are left out of the
# argument-less runs. A program is a build/programs entry built from a
# tests/programs/NAME.c (not, e.g., the helper library libearly.so).
# static_exit: no socket call to trace; secure_probe: prints whether the shim
# is loaded (tests/test_secure.py)
NEEDS_ARGS = {"naive_client", "sink_server", "sigkill_trace", "broken_conn", "end_ways",
              "ring_forge", "static_exit", "secure_probe", "epoll_echo"}
ALL_PROGRAMS = sorted(p.stem for p in SOURCES.glob("*.c")
                      if (PROGRAMS / p.stem).is_file() and p.stem not in NEEDS_ARGS)


def header_pid(trace):
    """The pid of the first `#` header line: the process sockshim started."""
    for line in trace.lines:
        if line.body.startswith("#"):
            return line.pid
    pytest.fail("the trace has no header line:\n" + trace.raw)


def bodies_by_pid(trace):
    """(parent pid, {pid: normalised bodies}) of a text trace; the parent is
    the pid of the header line, any other pid is a fork child."""
    parent = header_pid(trace)
    pids = {parent} | {l.pid for l in trace.lines}
    return parent, {pid: trace.bodies(pid) for pid in pids}


def parent_and_child(trace):
    """(parent pid, parent bodies, child pid, child bodies) of a text trace of
    a program that forks once. The parent's `fork() -> N` line must name the
    child's pid; it is rewritten to `fork() -> CHILD`."""
    parent, by_pid = bodies_by_pid(trace)
    children = sorted(set(by_pid) - {parent})
    assert len(children) == 1, f"expected one child pid, got {children}:\n{trace.raw}"
    child = children[0]
    fork_line = f"fork() -> {child}"
    parent_bodies = ["fork() -> CHILD" if b == fork_line else b for b in by_pid[parent]]
    return parent, parent_bodies, child, by_pid[child]


def run_text(tmp_path, name, *args):
    """Runs a program under sockshim in text format; it must exit 0."""
    return run_traced([program(name), *args], tmp_path, fmt="text", check_exit=0)


def run_json(tmp_path, name, *args):
    """Runs a program under sockshim in JSON format; it must exit 0."""
    return run_traced([program(name), *args], tmp_path, fmt="json", check_exit=0)


def start_pid(trace):
    """The pid of the first JSON start record."""
    starts = [e for e in trace.events if e["type"] == "start"]
    assert starts, "no start record:\n" + trace.raw
    return starts[0]["pid"]


def own_calls(trace):
    """The call records of the process sockshim started (not of children)."""
    pid = start_pid(trace)
    return [e for e in trace.calls if e["pid"] == pid]


def data_bytes(data):
    """The bytes of a JSON data object {"len": N, "hex": ...} (whole: N must
    fit in the default -s 32)."""
    raw = bytes.fromhex(data["hex"])
    assert len(raw) == data["len"], data
    return raw


# Text method names: an optional `sockN = ` / `sockN, sockM = ` result, an
# optional `sockN.` / `fdN.` subject, then the method and its `(`.
METHOD_RE = re.compile(r"^(?:sock\d+(?:, sock\d+)? = )?(?:(?:sock|fd)\d+\.)?(\w+)\(")


def method_of(body):
    m = METHOD_RE.match(body)
    assert m, f"no method in {body!r}"
    return m.group(1)


# ---- 1. differential: bare vs traced ---------------------------------------

@pytest.mark.parametrize("fmt", ["text", "json"])
@pytest.mark.parametrize("name", ALL_PROGRAMS)
def test_traced_run_behaves_like_bare_run(name, fmt, tmp_path):
    bare = run_bare([program(name)])
    traced = run_traced([program(name)], tmp_path, fmt=fmt)
    assert traced.proc.returncode == bare.returncode, traced.proc.stderr.decode(errors="replace")
    assert traced.proc.stdout == bare.stdout
    assert b"sockshim:" not in traced.proc.stderr
    assert traced.raw, "empty trace"


def test_every_program_is_run():
    """The parametrized list above is not silently empty or short."""
    expected = {"tcp_echo", "udp_pair", "unix_stream", "unix_dgram", "ipv6_echo",
                "nonblock_connect", "dup_fork", "socketpair_basic",
                "fortify_recv_fortify", "every_call", "threads_churn"}
    assert expected <= set(ALL_PROGRAMS)


# ---- 2. exact text traces ---------------------------------------------------

TCP_ECHO_PARENT = [
    "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock3.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) -> None",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(5) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "fork() -> CHILD",
    "sock3.accept() -> (sock4, ('127.0.0.1', PORT))",
    "sock4.recv(64) -> b'hello' (5 bytes)",
    "sock4.recv(59) -> b'' (0 bytes)",
    "sock4.send(b'HELLO' (5 bytes)) -> 5",
    "sock4.close()",
    "sock3.close()",
]
TCP_ECHO_CHILD = [
    "sock3.close()",
    "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock3.connect(('127.0.0.1', PORT)) -> None",
    "sock3.send(b'hello' (5 bytes)) -> 5",
    "sock3.shutdown(SHUT_WR) -> None",
    "sock3.recv(64) -> b'HELLO' (5 bytes)",
    "sock3.recv(59) -> b'' (0 bytes)",
    "sock3.close()",
]

IPV6_ECHO_PARENT = [
    "sock3 = socket(AF_INET6, SOCK_STREAM, 0)",
    "sock3.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) -> None",
    "sock3.bind(('::1', 0, 0, 0)) -> None",
    "sock3.listen(5) -> None",
    "sock3.getsockname() -> ('::1', PORT, 0, 0)",
    "fork() -> CHILD",
    "sock3.accept() -> (sock4, ('::1', PORT, 0, 0))",
    "sock4.recv(64) -> b'hello' (5 bytes)",
    "sock4.recv(59) -> b'' (0 bytes)",
    "sock4.send(b'HELLO' (5 bytes)) -> 5",
    "sock4.close()",
    "sock3.close()",
]
IPV6_ECHO_CHILD = [
    "sock3.close()",
    "sock3 = socket(AF_INET6, SOCK_STREAM, 0)",
    "sock3.connect(('::1', PORT, 0, 0)) -> None",
    "sock3.send(b'hello' (5 bytes)) -> 5",
    "sock3.shutdown(SHUT_WR) -> None",
    "sock3.recv(64) -> b'HELLO' (5 bytes)",
    "sock3.recv(59) -> b'' (0 bytes)",
    "sock3.close()",
]

UDP_PAIR = [
    "sock3 = socket(AF_INET, SOCK_DGRAM, 0)",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "sock4 = socket(AF_INET, SOCK_DGRAM, 0)",
    "sock4.bind(('127.0.0.1', 0)) -> None",
    "sock4.getsockname() -> ('127.0.0.1', PORT)",
    "sock3.sendto(b'ping' (4 bytes), ('127.0.0.1', PORT)) -> 4",
    "sock4.recvfrom(64) -> (b'ping' (4 bytes), ('127.0.0.1', PORT))",
    "sock4.sendto(b'pong' (4 bytes), ('127.0.0.1', PORT)) -> 4",
    "sock3.recvfrom(64) -> (b'pong' (4 bytes), ('127.0.0.1', PORT))",
    "sock3.close()",
    "sock4.close()",
]

# The socket path is /tmp/sockshim-unix-PID.sock, PID the parent's pid.
UNIX_STREAM_PARENT = [
    "sock3 = socket(AF_UNIX, SOCK_STREAM, 0)",
    "sock3.bind('/tmp/sockshim-unix-PID.sock') -> None",
    "sock3.listen(1) -> None",
    "fork() -> CHILD",
    "sock3.accept() -> (sock4, '')",
    "sock4.recv(5) -> b'hello' (5 bytes)",
    "sock4.send(b'HELLO' (5 bytes)) -> 5",
    "sock4.close()",
    "sock3.close()",
]
UNIX_STREAM_CHILD = [
    "sock3.close()",
    "sock3 = socket(AF_UNIX, SOCK_STREAM, 0)",
    "sock3.connect('/tmp/sockshim-unix-PID.sock') -> None",
    "sock3.send(b'hello' (5 bytes)) -> 5",
    "sock3.recv(64) -> b'HELLO' (5 bytes)",
    "sock3.recv(59) -> b'' (0 bytes)",
    "sock3.close()",
]

# R's abstract name carries the pid (PID); S's autobound name is 5 hex digits
# the kernel picks (AUTOBIND).
UNIX_DGRAM = [
    "sock3 = socket(AF_UNIX, SOCK_DGRAM, 0)",
    "sock3.bind(b'\\x00sockshim-dgram-PID') -> None",
    "sock4 = socket(AF_UNIX, SOCK_DGRAM, 0)",
    "sock4.bind('') -> None",
    "sock4.getsockname() -> b'\\x00AUTOBIND'",
    "sock4.sendto(b'ping' (4 bytes), b'\\x00sockshim-dgram-PID') -> 4",
    "sock3.recvfrom(64) -> (b'ping' (4 bytes), b'\\x00AUTOBIND')",
    "sock3.sendto(b'pong' (4 bytes), b'\\x00AUTOBIND') -> 4",
    "sock4.recvfrom(64) -> (b'pong' (4 bytes), b'\\x00sockshim-dgram-PID')",
    "sock4.close()",
    "sock3.close()",
]

NONBLOCK_CONNECT = [
    "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock3.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) -> None",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(5) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "sock4 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock4.bind(('127.0.0.1', 0)) -> None",
    "sock4.getsockname() -> ('127.0.0.1', PORT)",
    "sock5 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock5.fcntl(F_GETFL) -> O_RDWR",
    "sock5.setblocking(False)",
    "sock5.connect_ex(('127.0.0.1', PORT)) -> 115 (EINPROGRESS)",
    "sock5.getsockopt(SOL_SOCKET, SO_ERROR) -> 0",
    "sock6 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock6.setblocking(False)",
    "sock6.connect_ex(('127.0.0.1', PORT)) -> 115 (EINPROGRESS)",
    "sock6.getsockopt(SOL_SOCKET, SO_ERROR) -> 111 (ECONNREFUSED)",
    "sock5.recv(64) raises error(11, 'Resource temporarily unavailable')",
    "sock6.close()",
    "sock5.close()",
    "sock4.close()",
    "sock3.close()",
]


def _dup_fork_rounds():
    # C = sock4, D = sock6, then 20, 21, 30; P = sock5 (the peer).
    lines = []
    for fd, x in [(4, "c"), (6, "d"), (20, "2"), (21, "3"), (30, "F")]:
        lines += [f"sock{fd}.send(b'{x}' (1 byte)) -> 1",
                  f"sock5.recv(64) -> b'{x}' (1 byte)"]
    for fd, (nxt, x) in zip([4, 6, 20, 21], [(6, "d"), (20, "2"), (21, "3"), (30, "F")]):
        lines += [f"sock{fd}.close()",
                  "sock5.recv(64, MSG_DONTWAIT) raises error(11, 'Resource temporarily unavailable')",
                  f"sock{nxt}.send(b'{x}' (1 byte)) -> 1",
                  f"sock5.recv(64) -> b'{x}' (1 byte)"]
    return lines


DUP_FORK_PARENT = [
    "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock3.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) -> None",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(5) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "sock4 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock4.connect(('127.0.0.1', PORT)) -> None",
    "sock3.accept() -> (sock5, ('127.0.0.1', PORT))",
    "sock6 = sock4.dup()",
    "sock20 = sock4.dup2(20)",
    "sock21 = sock4.dup3(21, O_CLOEXEC)",
    "sock30 = sock4.dup()",                 # fcntl(F_DUPFD_CLOEXEC, 30)
    *_dup_fork_rounds(),
    "fork() -> CHILD",
    "sock5.recv(5) -> b'child' (5 bytes)",
    "sock5.recv(64, MSG_DONTWAIT) raises error(11, 'Resource temporarily unavailable')",
    "sock30.close()",
    "sock5.recv(64) -> b'' (0 bytes)",
    "sock5.close()",
    "sock3.close()",
]
# The child's _exit closes its inherited fds in the kernel: no close lines.
DUP_FORK_CHILD = [
    "sock30.send(b'child' (5 bytes)) -> 5",
]

SOCKETPAIR_BASIC = [
    "sock3, sock4 = socketpair(AF_UNIX, SOCK_STREAM, 0)",
    "sock3.send(b'abc' (3 bytes)) -> 3",                  # write
    "sock4.recv(64) -> b'abc' (3 bytes)",                 # read
    "sock4.send(b'xyz' (3 bytes)) -> 3",
    "sock3.recv(64) -> b'xyz' (3 bytes)",
    "sock3.send(b'one-two' (7 bytes)) -> 7",              # writev
    "sock4.recv(64) -> b'one-two' (7 bytes)",             # readv
    "sock4.send(b'backwards' (9 bytes)) -> 9",
    "sock3.recv(64) -> b'backwards' (9 bytes)",
    "sock3.getsockname() -> ''",
    "sock3.getpeername() -> ''",
    "sock5, sock6 = socketpair(AF_UNIX, SOCK_DGRAM, 0)",
    "sock5.send(b'ping' (4 bytes)) -> 4",
    "sock6.recv(64) -> b'ping' (4 bytes)",
    "sock6.send(b'pong' (4 bytes)) -> 4",
    "sock5.recv(64) -> b'pong' (4 bytes)",
    "sock6.getsockname() -> ''",
    "sock6.getpeername() -> ''",
    "sock3.sendmsg([b'fd' (2 bytes)], [(SOL_SOCKET, SCM_RIGHTS, [5])]) -> 2",
    "sock5.close()",
    "sock4.recvmsg(64, 24) -> (b'fd' (2 bytes), [(SOL_SOCKET, SCM_RIGHTS, [5])], 0, None)",
    # the received fd takes the number D0 had; first use adopts it
    "sock5 = fromfd(5, AF_UNIX, SOCK_DGRAM, 0) [adopted, laddr '', raddr '']",
    "sock5.send(b'passed' (6 bytes)) -> 6",
    "sock6.recv(64) -> b'passed' (6 bytes)",
    "sock6.send(b'reply' (5 bytes)) -> 5",
    "sock5.recv(64) -> b'reply' (5 bytes)",
    "sock5.close()",
    "sock6.close()",
    "sock4.close()",
    "sock3.close()",
]

FORTIFY = [
    "sock3, sock4 = socketpair(AF_UNIX, SOCK_STREAM, 0)",
    "sock3.send(b'recv' (4 bytes)) -> 4",
    "sock4.recv(32) -> b'recv' (4 bytes)",                # __recv_chk
    "sock3.send(b'recvfrom' (8 bytes)) -> 8",
    "sock4.recv(32) -> b'recvfrom' (8 bytes)",            # __recvfrom_chk, no address
    "sock3.send(b'read' (4 bytes)) -> 4",
    "sock4.recv(32) -> b'read' (4 bytes)",                # __read_chk
    "sock4.close()",
    "sock3.close()",
]

# L = sock3, A = sock4, B = sock5; fd6 the temporary file, fd7/fd8 the pipe.
# Not in the brief's list, but the only program that makes sendmmsg,
# recvmmsg, sendfile, ioctl and close_range: their exact lines are here.
EVERY_CALL = [
    "sock3 = socket(AF_INET, SOCK_STREAM|SOCK_NONBLOCK, 0)",
    "sock4, sock5 = socketpair(AF_UNIX, SOCK_STREAM, 0)",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(5) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "sock3.accept() raises error(11, 'Resource temporarily unavailable')",
    "sock3.accept() raises error(11, 'Resource temporarily unavailable') [SOCK_CLOEXEC]",
    "sock3.connect_ex(('127.0.0.1', PORT)) -> 106 (EISCONN)",
    "sock4.send(b'send' (4 bytes)) -> 4",
    "sock4.send(b'sendto' (6 bytes)) -> 6",
    "sock4.sendmsg([b'sendmsg' (7 bytes)]) -> 7",
    "sock4.sendmmsg([b'mm1' (3 bytes), b'mm2' (3 bytes)]) -> 2",
    "sock5.recv(4) -> b'send' (4 bytes)",
    "sock5.recv(6) -> b'sendto' (6 bytes)",
    "sock5.recvmsg(7) -> (b'sendmsg' (7 bytes), [], 0, None)",
    "sock5.recvmmsg(2) -> [b'mm1' (3 bytes), b'mm2' (3 bytes)]",
    "sock5.send(b'write' (5 bytes)) -> 5",
    "sock4.recv(5) -> b'write' (5 bytes)",
    "sock5.send(b'writev' (6 bytes)) -> 6",
    "sock4.recv(6) -> b'writev' (6 bytes)",
    "sock5.send(b'pwritev2' (8 bytes)) -> 8",
    "sock4.recv(8) -> b'pwritev2' (8 bytes)",
    "sock4.sendfile(fd6, offset=0, count=8) -> 8",
    "sock5.recv(8) -> <8 bytes spliced into fd8>",
    "sock4.sendfile(fd7, count=8) -> 8 [splice]",
    "sock5.ioctl(FIONREAD) -> 8",
    "sock3.getsockopt(SOL_SOCKET, SO_ACCEPTCONN) -> 1",
    "sock4.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1) -> None",
    "sock4.shutdown(SHUT_WR) -> None",
    "sock4.getpeername() -> ''",
    "sock9 = sock4.dup()",
    "sock50 = sock4.dup2(50)",
    "sock41 = sock4.dup3(41, O_CLOEXEC)",
    "sock4.fcntl(F_GETFL) -> O_RDWR",
    "sock42 = sock41.dup()",                              # fcntl64(F_DUPFD_CLOEXEC)
    "sock4.setblocking(False)",                           # ioctl(FIONBIO)
    "fork() -> CHILD",
    "vfork() -> CHILD",
    "_Fork() -> CHILD",
    "sock5.close() [fclose]",
    "sock3.close()",
    "close_range(41, 42) -> None [closes sock41, sock42]",
    "closefrom(50) -> None [closes sock50]",
]

# syscall(SYS_close) and syscall(SYS_close_range), as libuv closes: the
# file then opened on sock3's number is not traced (its read is no recv).
RAW_SYSCALL_CLOSE = [
    "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock3.close() [syscall]",
    "sock3 = socket(AF_INET, SOCK_DGRAM, 0)",
    "sock4 = socket(AF_INET, SOCK_DGRAM, 0)",
    "sock5 = socket(AF_INET, SOCK_DGRAM, 0)",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "sock3.recv(64) -> b'raw sendto' (10 bytes)",          # syscall(SYS_sendto): not traced
    "close_range(5, 5, CLOSE_RANGE_CLOEXEC) -> None [makes non-inheritable sock5] [syscall]",
    "close_range(3, 5) -> None [closes sock3, sock4, sock5] [syscall]",
    "sock3.close() raises error(9, 'Bad file descriptor') [syscall]",
]

# A connection closed by close_range and closefrom, never by close().
RANGE_CLOSE = [
    "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock3.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) -> None",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(1) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "sock4 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock4.connect(('127.0.0.1', PORT)) -> None",
    "sock3.accept() -> (sock5, ('127.0.0.1', PORT))",
    "sock4.send(b'hello, range' (12 bytes), MSG_NOSIGNAL) -> 12",
    "close_range(4, 4) -> None [closes sock4]",
    "sock5.recv(64) -> b'hello, range' (12 bytes)",
    "sock5.recv(52) -> b'' (0 bytes)",
    "closefrom(3) -> None [closes sock3, sock5]",
]

EXPECTED_TEXT = [TCP_ECHO_PARENT, TCP_ECHO_CHILD, IPV6_ECHO_PARENT, IPV6_ECHO_CHILD,
                 UDP_PAIR, UNIX_STREAM_PARENT, UNIX_STREAM_CHILD, UNIX_DGRAM,
                 NONBLOCK_CONNECT, DUP_FORK_PARENT, DUP_FORK_CHILD,
                 SOCKETPAIR_BASIC, FORTIFY, EVERY_CALL, RAW_SYSCALL_CLOSE, RANGE_CLOSE]


def single_process(trace):
    """The bodies of a program that does not fork (one pid in the trace)."""
    parent, by_pid = bodies_by_pid(trace)
    assert set(by_pid) == {parent}, f"unexpected pids:\n{trace.raw}"
    return parent, by_pid[parent]


def test_text_ipv6_echo(tmp_path):
    if b"ipv6: unavailable" in run_bare([program("ipv6_echo")]).stdout:
        pytest.skip("IPv6 (::1) is not available here")
    trace = run_text(tmp_path, "ipv6_echo")
    _, parent, _, child = parent_and_child(trace)
    assert parent == IPV6_ECHO_PARENT
    assert child == IPV6_ECHO_CHILD


def test_text_unix_stream(tmp_path):
    trace = run_text(tmp_path, "unix_stream")
    pid, parent, _, child = parent_and_child(trace)
    path = f"/tmp/sockshim-unix-{pid}.sock"     # the pid in the path is the parent's

    def unpid(bodies):
        return [b.replace(path, "/tmp/sockshim-unix-PID.sock") for b in bodies]

    assert unpid(parent) == UNIX_STREAM_PARENT
    assert unpid(child) == UNIX_STREAM_CHILD


# The name the kernel autobinds: a NUL and 5 hex digits (unix(7)).
AUTOBIND_RE = re.compile(r"^sock4\.getsockname\(\) -> b'\\x00([0-9a-f]{5})'$")


def test_text_unix_dgram(tmp_path):
    pid, bodies = single_process(run_text(tmp_path, "unix_dgram"))
    names = [m.group(1) for m in map(AUTOBIND_RE.match, bodies) if m]
    assert len(names) == 1, bodies
    bodies = [b.replace(f"sockshim-dgram-{pid}", "sockshim-dgram-PID")
               .replace(f"b'\\x00{names[0]}'", "b'\\x00AUTOBIND'") for b in bodies]
    assert bodies == UNIX_DGRAM


def test_text_nonblock_connect(tmp_path):
    _, bodies = single_process(run_text(tmp_path, "nonblock_connect"))
    # The first non-blocking connect may complete at once (the program allows
    # "EINPROGRESS or 0"); a 0 is folded into the usual EINPROGRESS.
    first = "sock5.connect_ex(('127.0.0.1', PORT)) -> "
    bodies = [first + "115 (EINPROGRESS)" if b == first + "0" else b for b in bodies]
    assert bodies == NONBLOCK_CONNECT


@pytest.mark.parametrize("name", ["udp_pair", "socketpair_basic", "fortify_recv_fortify",
                                  "raw_syscall_close", "range_close"])
def test_text_one_process(tmp_path, name):
    expected = {"udp_pair": UDP_PAIR, "socketpair_basic": SOCKETPAIR_BASIC,
                "fortify_recv_fortify": FORTIFY, "raw_syscall_close": RAW_SYSCALL_CLOSE,
                "range_close": RANGE_CLOSE}[name]
    _, bodies = single_process(run_text(tmp_path, name))
    assert bodies == expected


@pytest.mark.parametrize("name", ["tcp_echo", "dup_fork"])
def test_text_parent_and_child(tmp_path, name):
    expected = {"tcp_echo": (TCP_ECHO_PARENT, TCP_ECHO_CHILD),
                "dup_fork": (DUP_FORK_PARENT, DUP_FORK_CHILD)}[name]
    _, parent, _, child = parent_and_child(run_text(tmp_path, name))
    assert (parent, child) == expected


def test_text_tcp_echo_run_by_a_shell_traces_only_tcp_echo(tmp_path):
    """The shell forks and touches no socket: it writes nothing, and the
    trace is exactly that of tcp_echo's two processes."""
    echo = program("tcp_echo")
    trace = run_traced(["sh", "-c", f"{echo}; true"], tmp_path, fmt="text", check_exit=0)
    parent, parent_bodies, child, child_bodies = parent_and_child(trace)
    assert (parent_bodies, child_bodies) == (TCP_ECHO_PARENT, TCP_ECHO_CHILD)
    headers = [l.body for l in trace.lines if l.body.startswith("# sockshim")]
    [shell] = {int(h.rsplit(" ", 1)[1]) for h in headers if f"pid {parent} " in h}
    assert sorted(headers) == sorted([
        f"# sockshim 0.1.0 traces pid {parent} '{echo}', parent {shell}",
        f"# sockshim 0.1.0 traces pid {child} '{echo}', parent {parent}"])
    assert shell not in {l.pid for l in trace.lines}


def test_json_tcp_echo_run_by_a_shell_traces_only_tcp_echo(tmp_path):
    echo = program("tcp_echo")
    trace = run_traced(["sh", "-c", f"{echo}; true"], tmp_path, fmt="json", check_exit=0)
    starts = {e["pid"]: e for e in trace.events if e["type"] == "start"}
    assert {e["exe"] for e in starts.values()} == {echo}
    [fork] = [e for e in trace.calls if e["op"] == "fork"]
    parent, child = fork["pid"], fork["ret"]
    assert set(starts) == {e["pid"] for e in trace.events} == {parent, child}
    assert starts[child]["ppid"] == parent
    assert starts[parent]["ppid"] not in starts   # the shell wrote nothing
    assert sorted(e["pid"] for e in trace.events if e["type"] == "summary") == sorted(
        [parent, child])


FORK_RE = re.compile(r"^(fork|vfork|_Fork)\(\) -> (\d+)$")


def test_text_every_call(tmp_path):
    """The children of fork, vfork and _Fork only _exit: they trace nothing,
    so their pids (three different ones) are replaced by CHILD."""
    pid, bodies = single_process(run_text(tmp_path, "every_call"))
    children = [int(m.group(2)) for m in map(FORK_RE.match, bodies) if m]
    assert len(set(children)) == 3 and pid not in children, bodies
    bodies = [FORK_RE.sub(r"\1() -> CHILD", b) for b in bodies]
    assert bodies == EVERY_CALL


# Every method of the text format (the -e list of `sockshim --help`).
TEXT_METHODS = {
    "socket", "socketpair", "fromfd", "dup", "close", "close_range", "fork",
    "bind", "listen", "accept", "connect", "connect_ex", "shutdown",
    "getsockname", "getpeername", "send", "sendto", "sendmsg", "sendmmsg",
    "sendfile", "recv", "recvfrom", "recvmsg", "recvmmsg", "getsockopt",
    "setsockopt", "setblocking", "set_inheritable", "fcntl", "ioctl",
}
# No program calls fcntl(F_SETFD), ioctl(FIOCLEX) or ioctl(FIONCLEX).
NOT_EXERCISED = {"set_inheritable"}


def test_exact_traces_cover_every_text_method():
    covered = {method_of(b) for expected in EXPECTED_TEXT for b in expected}
    assert TEXT_METHODS - NOT_EXERCISED - covered == set()


# ---- 3. the libc entry point behind each JSON record -------------------------

# every_call's calls in order: (JSON "call", JSON "op").
EVERY_CALL_JSON = [
    ("socket", "socket"), ("socketpair", "socketpair"), ("bind", "bind"),
    ("listen", "listen"), ("getsockname", "getsockname"),
    ("accept", "accept"), ("accept4", "accept"),
    ("connect", "connect_ex"),             # the listener is non-blocking
    ("send", "send"), ("sendto", "send"),  # sendto without an address
    ("sendmsg", "sendmsg"), ("sendmmsg", "sendmmsg"),
    ("recv", "recv"), ("recvfrom", "recv"),  # recvfrom without an address
    ("recvmsg", "recvmsg"), ("recvmmsg", "recvmmsg"),
    ("write", "send"), ("read", "recv"), ("writev", "send"), ("readv", "recv"),
    ("pwritev2", "send"), ("preadv2", "recv"),
    ("sendfile", "sendfile"),
    ("splice", "recv"),                    # socket into pipe
    ("splice", "sendfile"),                # pipe into socket
    ("ioctl", "ioctl"),                    # FIONREAD
    ("getsockopt", "getsockopt"), ("setsockopt", "setsockopt"),
    ("shutdown", "shutdown"), ("getpeername", "getpeername"),
    ("dup", "dup"), ("dup2", "dup"), ("dup3", "dup"),
    ("fcntl", "fcntl"),                    # F_GETFL
    ("fcntl64", "dup"),                    # F_DUPFD_CLOEXEC
    ("ioctl", "setblocking"),              # FIONBIO
    ("fork", "fork"), ("vfork", "fork"), ("_Fork", "fork"),
    ("fclose", "close"), ("close", "close"),
    ("close_range", "close_range"), ("closefrom", "close_range"),
]
# glibc may export the 64-bit-offset names; they are the same calls.
CALL_ALIASES = {"preadv64v2": "preadv2", "pwritev64v2": "pwritev2"}


@pytest.fixture(scope="module")
def every_call_json(tmp_path_factory):
    return run_json(tmp_path_factory.mktemp("every_call"), "every_call")


def call_name(e):
    return CALL_ALIASES.get(e["call"], e["call"])


@pytest.mark.parametrize("call", sorted({c for c, _ in EVERY_CALL_JSON}))
def test_every_call_traced_once_with_its_op(every_call_json, call):
    expected_ops = sorted(op for c, op in EVERY_CALL_JSON if c == call)
    records = [e for e in own_calls(every_call_json) if call_name(e) == call]
    assert sorted(e["op"] for e in records) == expected_ops


def test_every_call_nothing_else_traced(every_call_json):
    """The whole sequence, in order: no call missing, none traced twice, no
    record from the fork children (they only _exit)."""
    pid = start_pid(every_call_json)
    calls = every_call_json.calls
    assert all(e["pid"] == pid for e in calls)
    assert [(call_name(e), e["op"]) for e in calls] == EVERY_CALL_JSON


def test_raw_syscall_close_json(tmp_path):
    """A close made with syscall() is the close method, its "call" is
    syscall; the file opened on the freed number is no socket (no record, no
    leak), and the second close of a number close_range closed is a double
    close."""
    trace = run_json(tmp_path, "raw_syscall_close")
    calls = [(e["call"], e["op"], e["fd"], e.get("ret"), (e.get("error") or {}).get("name"))
             for e in own_calls(trace)]
    assert calls == [
        ("socket", "socket", 3, 3, None),
        ("syscall", "close", 3, 0, None),
        ("socket", "socket", 3, 3, None), ("socket", "socket", 4, 4, None),
        ("socket", "socket", 5, 5, None),
        ("bind", "bind", 3, 0, None), ("getsockname", "getsockname", 3, 0, None),
        ("recv", "recv", 3, 10, None),
        ("syscall", "close_range", None, 0, None),
        ("syscall", "close_range", None, 0, None),
        ("syscall", "close", 3, None, "EBADF"),
    ], calls
    assert [(f["code"], f["count"]) for f in trace.proc.findings] == [("double-close", 1)]


FORTIFY_CALLS = ["__recv_chk", "__recvfrom_chk", "__read_chk"]


def test_fortify_calls(tmp_path):
    binary = open(program("fortify_recv_fortify"), "rb").read()
    missing = [f for f in FORTIFY_CALLS if f.encode() + b"\0" not in binary]
    if missing:
        pytest.skip(f"fortify_recv_fortify does not import {missing}: built "
                    "without glibc's fortified wrappers (e.g. with clang)")
    calls = own_calls(run_json(tmp_path, "fortify_recv_fortify"))
    assert [(e["call"], e["op"]) for e in calls] == [
        ("socketpair", "socketpair"),
        ("send", "send"), ("__recv_chk", "recv"),
        ("send", "send"), ("__recvfrom_chk", "recv"),
        ("send", "send"), ("__read_chk", "recv"),
        ("close", "close"), ("close", "close"),
    ]
    received = [data_bytes(e["out"]["data"]) for e in calls if e["op"] == "recv"]
    assert received == [b"recv", b"recvfrom", b"read"]


# ---- 4. JSON fields ------------------------------------------------------------

TS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$")
CALL_KEYS = {"v", "type", "ts", "pid", "tid", "op", "call", "fd", "sock", "args", "dur_ns"}
SOCK_KEYS = {"id", "family", "type", "proto", "laddr", "raddr", "state", "blocking"}
STATES = {"bound", "listening", "connecting", "connected", "shut_rd", "shut_wr",
          "closed", "adopted"}
START_KEYS = {"v", "type", "ts", "pid", "tid", "ppid", "exe", "version", "strsize"}


def check_ts(ts):
    assert TS_RE.match(ts), ts
    datetime.strptime(ts, "%Y-%m-%dT%H:%M:%S.%fZ")


@pytest.mark.parametrize("name", ["tcp_echo", "nonblock_connect", "socketpair_basic",
                                  "unix_dgram", "every_call"])
def test_json_record_fields(name, tmp_path):
    trace = run_json(tmp_path, name)
    assert trace.events
    for e in trace.events:
        assert e["v"] == 2, e
        check_ts(e["ts"])
        if e["type"] == "start":
            assert START_KEYS <= set(e), e
            continue
        if e["type"] in ("finding", "summary", "loop"):  # tests/test_audit.py
            continue
        assert e["type"] == "call", e
        assert CALL_KEYS <= set(e), e
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int), e
        assert e["op"] in TEXT_METHODS, e
        assert isinstance(e["call"], str) and (e["call"] or e["op"] == "fromfd"), e
        assert e["fd"] is None or isinstance(e["fd"], int), e
        assert isinstance(e["args"], dict), e
        assert ("ret" in e) != ("error" in e), f"need exactly one of ret/error: {e}"
        assert ("out" in e) == ("ret" in e), e
        if "error" in e:
            err = e["error"]
            assert set(err) == {"errno", "name", "message"}, e
            assert isinstance(err["errno"], int) and err["name"].startswith("E"), e
            assert err["message"] == os.strerror(err["errno"]), e
        if e["sock"] is not None:
            assert SOCK_KEYS <= set(e["sock"]), e
            assert set(e["sock"]["state"]) <= STATES, e


def test_json_error_record(tmp_path):
    """nonblock_connect: the EAGAIN recv and the EINPROGRESS connects are
    error records; the refused connect's SO_ERROR is a value, not an error."""
    calls = own_calls(run_json(tmp_path, "nonblock_connect"))
    recv = [e for e in calls if e["op"] == "recv"]
    assert len(recv) == 1
    assert recv[0]["error"] == {"errno": 11, "name": "EAGAIN",
                                "message": "Resource temporarily unavailable"}
    assert "ret" not in recv[0]
    connects = [e for e in calls if e["op"] == "connect_ex"]
    assert len(connects) == 2
    # the first may complete at once; the refused one is always in progress
    assert connects[1]["error"] == {"errno": 115, "name": "EINPROGRESS",
                                    "message": "Operation now in progress"}
    so_error = [e for e in calls if e["op"] == "getsockopt"]
    assert [e["args"] for e in so_error] == [
        {"level": "SOL_SOCKET", "optname": "SO_ERROR", "optlen": 4}] * 2
    assert [(e["ret"], e["out"]["value"]) for e in so_error] == [(0, 0), (0, 111)]
    assert all("error" not in e for e in so_error)


def split_tcp_echo(trace):
    """(parent records, child records) of a JSON trace of tcp_echo."""
    parent = start_pid(trace)
    calls = trace.calls
    return ([e for e in calls if e["pid"] == parent],
            [e for e in calls if e["pid"] != parent])


def test_json_data_fields(tmp_path):
    parent, child = split_tcp_echo(run_json(tmp_path, "tcp_echo"))
    sent = [e for e in child if e["op"] == "send"]
    assert [e["args"]["data"] for e in sent] == [{"len": 5, "hex": "68656c6c6f"}]
    assert data_bytes(sent[0]["args"]["data"]) == b"hello"
    received = [data_bytes(e["out"]["data"]) for e in parent if e["op"] == "recv"]
    assert received == [b"hello", b""]
    reply = [data_bytes(e["args"]["data"]) for e in parent if e["op"] == "send"]
    assert reply == [b"HELLO"]


def test_json_accepted_socket_addresses(tmp_path):
    """The accepted socket's laddr is the listener's name (getsockname) and
    the address the client connected to; its raddr is the client's own
    address and what accept returned."""
    parent, child = split_tcp_echo(run_json(tmp_path, "tcp_echo"))
    [name] = [e["out"]["addr"] for e in parent if e["op"] == "getsockname"]
    [accept] = [e for e in parent if e["op"] == "accept"]
    [connect] = [e for e in child if e["op"] == "connect"]
    afd = accept["out"]["fd"]
    accepted = [e for e in parent if e["fd"] == afd and e["op"] != "accept"]
    assert accepted
    for e in accepted:
        sock = e["sock"]
        assert sock["laddr"] == name == connect["args"]["addr"], e
        assert sock["raddr"] == connect["sock"]["laddr"] == accept["out"]["addr"], e
    assert name["port"] != 0 and connect["sock"]["laddr"]["port"] != 0


# ---- 5. the socket model as the trace shows it --------------------------------

def test_dup_fork_dups_share_the_object(tmp_path):
    trace = run_json(tmp_path, "dup_fork")
    parent = start_pid(trace)
    calls = trace.calls
    mine = [e for e in calls if e["pid"] == parent]
    connect = next(e for e in mine if e["op"] == "connect")
    c_fd, c_id = connect["fd"], connect["sock"]["id"]
    dups = [e for e in mine if e["op"] == "dup"]
    assert [e["ret"] for e in dups] == [dups[0]["ret"], 20, 21, 30]
    fds = {c_fd} | {e["ret"] for e in dups}
    assert all(e["sock"]["id"] == c_id for e in dups)
    # every record on one of C's fds up to the close of the last one (30)
    last_close = max(i for i, e in enumerate(mine) if e["op"] == "close" and e["fd"] == 30)
    on_c = [e for e in mine[:last_close + 1] if e["fd"] in fds]
    assert len(on_c) == 1 + 1 + 4 + 5 + 4 * 2 + 1   # connect, socket, dups, sends, close+send, close
    assert all(e["sock"]["id"] == c_id for e in on_c), [e["sock"] for e in on_c]
    # closing a copy leaves the object open; closing the last one closes it
    closes = [e for e in on_c if e["op"] == "close"]
    assert [e["fd"] for e in closes] == [c_fd, dups[0]["ret"], 20, 21, 30]
    assert ["closed" in e["sock"]["state"] for e in closes] == [False] * 4 + [True]


def test_dup_fork_child_records_carry_child_pid(tmp_path):
    trace = run_json(tmp_path, "dup_fork")
    parent = start_pid(trace)
    [fork] = [e for e in trace.calls if e["op"] == "fork"]
    assert fork["pid"] == parent
    child = fork["ret"]
    assert child != parent
    theirs = [e for e in trace.calls if e["pid"] != parent]
    assert theirs and all(e["pid"] == child == e["tid"] for e in theirs)
    [send] = theirs
    c_id = next(e for e in trace.calls if e["op"] == "connect")["sock"]["id"]
    assert (send["op"], send["fd"], send["sock"]["id"]) == ("send", 30, c_id)
    assert data_bytes(send["args"]["data"]) == b"child"


def test_tcp_echo_accepted_socket_is_connected(tmp_path):
    parent, _ = split_tcp_echo(run_json(tmp_path, "tcp_echo"))
    [accept] = [e for e in parent if e["op"] == "accept"]
    accepted = [e for e in parent if e["fd"] == accept["out"]["fd"] and e["op"] != "accept"]
    assert [e["op"] for e in accepted] == ["recv", "recv", "send", "close"]
    assert all("connected" in e["sock"]["state"] for e in accepted)
    assert "closed" in accepted[-1]["sock"]["state"]
    assert all("closed" not in e["sock"]["state"] for e in accepted[:-1])


def test_tcp_echo_shutdown_sets_shut_wr(tmp_path):
    _, child = split_tcp_echo(run_json(tmp_path, "tcp_echo"))
    ops = [e["op"] for e in child]
    i = ops.index("shutdown")
    assert child[i]["args"] == {"how": "SHUT_WR"}
    assert all("shut_wr" not in e["sock"]["state"] for e in child[:i] if e["sock"])
    assert all("shut_wr" in e["sock"]["state"] for e in child[i:])
    assert ops[i:] == ["shutdown", "recv", "recv", "close"]


def test_every_call_listener_is_never_connected(every_call_json):
    on_listener = [e for e in own_calls(every_call_json) if e["fd"] == 3]
    assert on_listener
    assert all("connected" not in e["sock"]["state"] for e in on_listener), \
        [(e["call"], e["sock"]["state"]) for e in on_listener]


# ---- 6. many threads ------------------------------------------------------------

THREADS, CYCLES = 8, 50


def test_threads_churn_counts(tmp_path):
    trace = run_json(tmp_path, "threads_churn", str(THREADS), str(CYCLES))
    calls = trace.calls
    n = THREADS * CYCLES
    ops = [e["op"] for e in calls]
    assert ops.count("connect") == n
    assert ops.count("accept") == n
    assert all("ret" in e for e in calls if e["op"] in ("connect", "accept", "close"))
    # one close per socket created (socket() or accept()), and each object
    # (the model's "sock"."id") closed exactly once
    created = ops.count("socket") + ops.count("accept")
    assert created == n + n + 1
    closed = [e["sock"]["id"] for e in calls if e["op"] == "close"]
    assert len(closed) == created
    assert len(set(closed)) == created


def test_threads_churn_text_lines_carry_tid(tmp_path):
    trace = run_text(tmp_path, "threads_churn", str(THREADS), str(CYCLES))
    raw_lines = trace.raw.splitlines()
    assert len(trace.lines) == len(raw_lines)          # every line parsed
    has_tid = [LINE_RE.match(l).group(3) is not None for l in raw_lines]
    first = has_tid.index(True)
    # [PID:TID] once a second thread exists, and it never turns back
    assert all(has_tid[first:])
    assert not any(has_tid[:first])
    pid = header_pid(trace)
    assert {l.pid for l in trace.lines} == {pid}
    tids = {l.tid for l in trace.lines}
    assert len(tids) == THREADS + 2                    # main, server, clients
    # every call made by the server and client threads is in the tid form
    bodies = trace.bodies()
    assert sum(".connect(" in b for b in bodies) == THREADS * CYCLES
    assert sum(".accept()" in b for b in bodies) == THREADS * CYCLES
    for text, line in zip(raw_lines, trace.lines):
        if line.tid != pid:
            assert f"[{pid}:{line.tid}]" in text


# ---- 7. glibc's exported aliases -------------------------------------------------

def test_double_underscore_aliases_are_traced_as_their_methods(tmp_path):
    trace = run_json(tmp_path, "alias_calls")
    assert [(e["call"], e["op"]) for e in own_calls(trace)] == [
        ("socketpair", "socketpair"),
        ("__send", "send"),
        ("__read", "recv"),
        ("__write", "send"),
        ("recv", "recv"),
        ("__fcntl", "fcntl"),
        ("socket", "socket"),
        ("bind", "bind"),
        ("getsockname", "getsockname"),
        ("socket", "socket"),
        ("__connect", "connect"),
        ("__close", "close"),
        ("__close", "close"),
        ("__close", "close"),
        ("__close", "close"),
    ]
    refused = [e for e in trace.calls if e["call"] == "__connect"][0]
    assert refused["error"]["name"] == "ECONNREFUSED"


# ---- 8. exact JSON arguments and results of every method --------------------------

PORT_ = "PORT"

EVERY_CALL_EXACT = [
    ("socket", "socket", {"family": "AF_INET", "type": "SOCK_STREAM|SOCK_NONBLOCK", "proto": 0}, None),
    ("socketpair", "socketpair", {"family": "AF_UNIX", "type": "SOCK_STREAM", "proto": 0}, [4, 5]),
    ("bind", "bind", {"addr": {"family": "AF_INET", "host": "127.0.0.1", "port": 0}}, None),
    ("listen", "listen", {"backlog": 5}, None),
    ("getsockname", "getsockname", {},
     {"fd": 3, "addr": {"family": "AF_INET", "host": "127.0.0.1", "port": PORT_}}),
    ("accept", "accept", {"flags": "0"}, "EAGAIN"),
    ("accept4", "accept", {"flags": "SOCK_CLOEXEC"}, "EAGAIN"),
    ("connect", "connect_ex", {"addr": {"family": "AF_INET", "host": "127.0.0.1", "port": PORT_}},
     "EISCONN"),
    ("send", "send", {"data": {"len": 4, "hex": b"send".hex()}, "flags": "0"}, None),
    ("sendto", "send", {"data": {"len": 6, "hex": b"sendto".hex()}, "flags": "0"}, None),
    ("sendmsg", "sendmsg", {"data": {"len": 7, "hex": b"sendmsg".hex()}, "flags": "0",
                            "addr": None, "iovcnt": 1, "controllen": 0}, None),
    ("sendmmsg", "sendmmsg", {"vlen": 2, "flags": "0", "messages": [
        {"len": 3, "hex": b"mm1".hex()}, {"len": 3, "hex": b"mm2".hex()}]}, None),
    ("recv", "recv", {"bufsize": 4, "flags": "0"},
     {"fd": 5, "data": {"len": 4, "hex": b"send".hex()}}),
    ("recvfrom", "recv", {"bufsize": 6, "flags": "0"},
     {"fd": 5, "data": {"len": 6, "hex": b"sendto".hex()}}),
    ("recvmsg", "recvmsg", {"bufsize": 7, "flags": "0", "ancbufsize": 0, "iovcnt": 1},
     {"fd": 5, "data": {"len": 7, "hex": b"sendmsg".hex()}, "addr": None, "msg_flags": "0",
      "controllen": 0}),
    ("recvmmsg", "recvmmsg", {"vlen": 2, "flags": "0"},
     {"messages": [{"len": 3, "hex": b"mm1".hex()}, {"len": 3, "hex": b"mm2".hex()}]}),
    ("write", "send", {"data": {"len": 5, "hex": b"write".hex()}, "flags": "0"}, None),
    ("read", "recv", {"bufsize": 5, "flags": "0"},
     {"fd": 4, "data": {"len": 5, "hex": b"write".hex()}}),
    ("writev", "send", {"data": {"len": 6, "hex": b"writev".hex()}, "flags": "0", "iovcnt": 2},
     None),
    ("readv", "recv", {"bufsize": 6, "flags": "0", "iovcnt": 2},
     {"fd": 4, "data": {"len": 6, "hex": b"writev".hex()}}),
    ("pwritev2", "send", {"data": {"len": 8, "hex": b"pwritev2".hex()}, "flags": "0",
                          "iovcnt": 1}, None),
    ("preadv2", "recv", {"bufsize": 8, "flags": "0", "iovcnt": 1},
     {"fd": 4, "data": {"len": 8, "hex": b"pwritev2".hex()}}),
    ("sendfile", "sendfile", {"in_fd": 6, "offset": 0, "count": 8}, None),
    ("splice", "recv", {"bufsize": 8, "flags": "0", "into_fd": 8}, {"fd": 5}),
    ("splice", "sendfile", {"in_fd": 7, "offset": None, "count": 8}, None),
    ("ioctl", "ioctl", {"request": "FIONREAD"}, {"value": 8}),
    ("getsockopt", "getsockopt", {"level": "SOL_SOCKET", "optname": "SO_ACCEPTCONN",
                                  "optlen": 4}, {"optlen": 4, "value": 1}),
    ("setsockopt", "setsockopt", {"level": "SOL_SOCKET", "optname": "SO_KEEPALIVE",
                                  "optlen": 4, "value": 1}, None),
    ("shutdown", "shutdown", {"how": "SHUT_WR"}, None),
    ("getpeername", "getpeername", {}, {"fd": 4, "addr": {"family": "AF_UNIX", "path": ""}}),
    ("dup", "dup", {}, None),
    ("dup2", "dup", {"newfd": 50}, None),
    ("dup3", "dup", {"newfd": 41, "flags": "O_CLOEXEC"}, None),
    ("fcntl", "fcntl", {"cmd": "F_GETFL", "arg": 0}, None),
    ("fcntl64", "dup", {"cmd": "F_DUPFD_CLOEXEC", "arg": 42}, None),
    ("ioctl", "setblocking", {"flag": False}, None),
    ("fork", "fork", {}, None),
    ("vfork", "fork", {}, None),
    ("_Fork", "fork", {}, None),
    ("fclose", "close", {}, None),
    ("close", "close", {}, None),
    ("close_range", "close_range", {"first": 41, "last": 42, "flags": "0"},
     {"closed": [41, 42], "count": 2}),
    ("closefrom", "close_range", {"first": 50, "last": 4294967295, "flags": "0"},
     {"closed": [50], "count": 1}),
]


def _ports_hidden(value):
    """Replaces non-zero ports in an args/out value by PORT."""
    if isinstance(value, dict):
        return {k: (PORT_ if k == "port" and v else _ports_hidden(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_ports_hidden(v) for v in value]
    return value


def test_every_call_exact_json_args_and_results(every_call_json):
    seen = []
    for e in own_calls(every_call_json):
        result = e["error"]["name"] if "error" in e else e["out"]
        seen.append((e["call"].replace("64v2", "2"), e["op"], _ports_hidden(e["args"]),
                     _ports_hidden(result)))
    assert seen == EVERY_CALL_EXACT
