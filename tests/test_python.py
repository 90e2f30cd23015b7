"""Python programs under sockshim: CPython's socket module, traced.

Each test runs a scenario script from tests/scenarios with /usr/bin/python3
bare and under sockshim, checks that the program behaves the same (stdout
and exit status), and compares the trace with the exact lines expected.

Lines are grouped by thread (or process) before they are compared: the
relative order of two threads' lines varies from run to run, the order
within one thread does not. The scenarios create their sockets in an order
that keeps the fd numbers (and so the sockN names) deterministic; ports are
replaced by PORT (conftest.normalize).

CPython 3.11 specifics that show in the traces: socket() passes
SOCK_CLOEXEC; accept() is accept4(SOCK_CLOEXEC) and the accepted socket is
wrapped by socket(fileno=...), which asks getsockname(); settimeout() and
setblocking() are ioctl(FIONBIO); sendall() of small data is one send();
dup() is fcntl(F_DUPFD_CLOEXEC) followed by settimeout() of the copy;
subprocess uses vfork.
"""
import re
from collections import defaultdict

import pytest

from conftest import normalize, run_bare, run_traced, scenario

CLOEXEC_STREAM = "SOCK_STREAM|SOCK_CLOEXEC"


# ---- helpers ---------------------------------------------------------------

def differential(name, tmp_path, fmt="text", per_pid=False, env=None, options=()):
    """Runs scenario `name` bare and traced; both must print the same and
    exit the same. Returns (bare, trace)."""
    bare = run_bare(scenario(name), env=env)
    trace = run_traced(scenario(name), tmp_path, fmt=fmt, per_pid=per_pid,
                       env=env, options=options)
    assert trace.proc.stdout == bare.stdout
    assert trace.proc.returncode == bare.returncode, \
        trace.proc.stderr.decode(errors="replace")
    assert trace.proc.stderr == bare.stderr
    return bare, trace


def split_by(trace, key, norm=normalize):
    """{pid or tid: [normalised bodies]}, header lines left out."""
    groups = defaultdict(list)
    for line in trace.lines:
        if not line.body.startswith("#"):
            groups[getattr(line, key)].append(norm(line.body))
    return dict(groups)


FORK_RE = re.compile(r"^v?fork\(\) -> (\d+)$")


def main_pid(trace):
    """The traced program's pid: the one no fork line made (per-pid files
    come sorted by name, so the parent's need not be the first)."""
    children = {int(m.group(1)) for l in trace.lines
                for m in [FORK_RE.match(l.body)] if m}
    pids = {l.pid for l in trace.lines} - children
    assert len(pids) == 1, (pids, children)
    return pids.pop()


def by_tid(trace):
    """(main thread's bodies, [other threads' bodies])."""
    pid = main_pid(trace)
    groups = split_by(trace, "tid")
    main = groups.pop(pid)
    return main, list(groups.values())


def by_tid_raw(trace):
    """by_tid() without port normalisation."""
    pid = main_pid(trace)
    groups = split_by(trace, "tid", norm=lambda b: b)
    main = groups.pop(pid)
    return main, list(groups.values())


def raw_ports(bodies):
    return [int(p) for b in bodies
            for p in re.findall(r"\('(?:127\.0\.0\.1|::1)', (\d+)", b)]


# ---- 1. a server thread and a client in one process --------------------------

CS_MAIN = [
    f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
    "sock3.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) -> None",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(1) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    # create_connection() resolves its address, a number too
    "socket.getaddrinfo('127.0.0.1', PORT, type=SOCK_STREAM) -> "
    "[(AF_INET, SOCK_STREAM, 6, '', ('127.0.0.1', PORT))]",
    # create_connection(): getaddrinfo gives proto IPPROTO_TCP
    f"sock4 = socket(AF_INET, {CLOEXEC_STREAM}, IPPROTO_TCP)",
    "sock4.connect(('127.0.0.1', PORT)) -> None",
    "sock4.send(b'hello server' (12 bytes)) -> 12",
    "sock4.recv(1024) -> b'HELLO SERVER' (12 bytes)",
    "sock4.recv(1024) -> b'' (0 bytes)",
    "sock4.getsockopt(SOL_SOCKET, SO_ERROR) -> 0",
    "sock4.close()",
    "sock3.close()",
]

CS_SERVER = [
    "sock3.accept() -> (sock5, ('127.0.0.1', PORT)) [SOCK_CLOEXEC]",
    "sock5.getsockname() -> ('127.0.0.1', PORT)",
    "sock5.recv(1024) -> b'hello server' (12 bytes)",
    "sock5.send(b'HELLO SERVER' (12 bytes)) -> 12",
    "sock5.shutdown(SHUT_WR) -> None",
    "sock5.close()",
]


def test_client_server(tmp_path):
    bare, trace = differential("client_server.py", tmp_path)
    assert bare.returncode == 0
    assert bare.stdout == (b"server got b'hello server'\n"
                           b"client got b'HELLO SERVER' so_error 0\n")
    main, others = by_tid(trace)
    assert main == CS_MAIN
    assert others == [CS_SERVER]
    # the ports agree: the server's, then the client's
    raw_main, raw_others = by_tid_raw(trace)
    server_port = raw_ports([raw_main[4]])[0]
    assert raw_ports(raw_main[5:6]) == [server_port, server_port]
    assert raw_ports(raw_main[7:8]) == [server_port]
    assert raw_ports(raw_others[0][1:2]) == [server_port]
    client_port = raw_ports(raw_others[0][:1])[0]
    assert client_port != server_port


# ---- 2. a forking server ---------------------------------------------------

FORK_PARENT = [
    f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
    "sock3.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) -> None",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(1) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "fork() -> CHILD_PID",
    "sock3.accept() -> (sock4, ('127.0.0.1', PORT)) [SOCK_CLOEXEC]",
    "sock4.getsockname() -> ('127.0.0.1', PORT)",
    "sock4.recv(1024) -> b'ping from child' (15 bytes)",
    "sock4.send(b'PING FROM CHILD' (15 bytes)) -> 15",
    "sock4.shutdown(SHUT_WR) -> None",
    "sock4.close()",
    "sock3.close()",
]

FORK_CHILD = [
    "sock3.close()",
    f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
    "sock3.connect(('127.0.0.1', PORT)) -> None",
    "sock3.send(b'ping from child' (15 bytes)) -> 15",
    "sock3.recv(1024) -> b'PING FROM CHILD' (15 bytes)",
    "sock3.recv(1024) -> b'' (0 bytes)",
    "sock3.getsockopt(SOL_SOCKET, SO_ERROR) -> 0",
    "sock3.close()",
]


def check_forking(trace):
    parent = main_pid(trace)
    groups = split_by(trace, "pid")
    forks = [b for b in groups[parent] if b.startswith("fork() -> ")]
    assert len(forks) == 1, groups[parent]
    child = int(forks[0].split("-> ")[1])
    assert child != parent
    assert set(groups) == {parent, child}
    expected = [b.replace("CHILD_PID", str(child)) for b in FORK_PARENT]
    assert groups[parent] == expected
    assert groups[child] == FORK_CHILD
    return parent, child


def test_forking_server(tmp_path):
    bare, trace = differential("forking_server.py", tmp_path)
    assert bare.stdout == (b"parent got b'ping from child'\n"
                           b"child exit status 0\n")
    check_forking(trace)


def test_forking_server_per_pid_files(tmp_path):
    _, trace = differential("forking_server.py", tmp_path, per_pid=True)
    parent, child = check_forking(trace)
    # each process writes its own file, every line carrying its pid
    for pid in (parent, child):
        text = (tmp_path / f"trace.{pid}").read_text()
        lines = text.splitlines()
        assert lines[0].split(" ", 2)[1] == f"[{pid}]"
        assert "# sockshim" in lines[0]
        assert all(f" [{pid}] " in l or f" [{pid}:" in l for l in lines)


# ---- 3. UDP ----------------------------------------------------------------

UDP = [
    "sock3 = socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, 0)",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "sock4 = socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC, 0)",
    "sock4.bind(('127.0.0.1', 0)) -> None",
    "sock4.getsockname() -> ('127.0.0.1', PORT)",
    "sock3.sendto(b'ping' (4 bytes), ('127.0.0.1', PORT)) -> 4",
    "sock4.recvfrom(1024) -> (b'ping' (4 bytes), ('127.0.0.1', PORT))",
    "sock4.sendto(b'pong' (4 bytes), ('127.0.0.1', PORT)) -> 4",
    "sock3.recvfrom(1024) -> (b'pong' (4 bytes), ('127.0.0.1', PORT))",
    "sock4.close()",
    "sock3.close()",
]


def test_udp(tmp_path):
    bare, trace = differential("udp.py", tmp_path)
    assert bare.stdout == (b"b got b'ping' from a: True\n"
                           b"a got b'pong' from b: True\n")
    assert trace.bodies() == UDP
    raw = [l.body for l in trace.lines if not l.body.startswith("#")]
    a_port, b_port = raw_ports([raw[2]]) + raw_ports([raw[5]])
    assert raw_ports(raw[6:10]) == [b_port, a_port, a_port, b_port]


# ---- 4. AF_UNIX --------------------------------------------------------------

def test_unix_sockets(tmp_path):
    env = {"TMPDIR": str(tmp_path)}
    bare, trace = differential("unix_sockets.py", tmp_path, env=env)
    assert bare.stdout == (
        b"stream: b'over a path' b'OVER A PATH' peer address ''\n"
        b"dgram: b'dgram' sender None\n"
        b"pair: b'to p2' b'to p1'\n")
    pid = main_pid(trace)
    bodies = trace.bodies()
    # the scenario's temporary directory: <TMPDIR>/sockshim-XXXXXXXX
    dirs = set(re.findall(re.escape(str(tmp_path)) + r"/sockshim-[^/']+", "\n".join(bodies)))
    assert len(dirs) == 1, bodies
    path = dirs.pop() + "/stream.sock"
    name = f"sockshim-{pid}-dgram"
    bodies = [b.replace(path, "PATH").replace(name, "NAME") for b in bodies]
    assert bodies == [
        f"sock3 = socket(AF_UNIX, {CLOEXEC_STREAM}, 0)",
        "sock3.bind('PATH') -> None",
        "sock3.listen(1) -> None",
        f"sock4 = socket(AF_UNIX, {CLOEXEC_STREAM}, 0)",
        "sock4.connect('PATH') -> None",
        "sock3.accept() -> (sock5, '') [SOCK_CLOEXEC]",
        "sock5.getsockname() -> 'PATH'",
        "sock4.send(b'over a path' (11 bytes)) -> 11",
        "sock5.recv(1024) -> b'over a path' (11 bytes)",
        "sock5.send(b'OVER A PATH' (11 bytes)) -> 11",
        "sock4.recv(1024) -> b'OVER A PATH' (11 bytes)",
        "sock5.close()",
        "sock4.close()",
        "sock3.close()",
        # the abstract name b'\0sockshim-<pid>-dgram'
        "sock3 = socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC, 0)",
        "sock3.bind(b'\\x00NAME') -> None",
        "sock4 = socket(AF_UNIX, SOCK_DGRAM|SOCK_CLOEXEC, 0)",
        "sock4.sendto(b'dgram' (5 bytes), b'\\x00NAME') -> 5",
        # an unbound sender: Python's recvfrom gives None as the address
        "sock3.recvfrom(1024) -> (b'dgram' (5 bytes), None)",
        "sock4.close()",
        "sock3.close()",
        f"sock3, sock4 = socketpair(AF_UNIX, {CLOEXEC_STREAM}, 0)",
        "sock3.getsockname() -> ''",
        "sock4.getsockname() -> ''",
        "sock3.send(b'to p2' (5 bytes)) -> 5",
        "sock4.recv(1024) -> b'to p2' (5 bytes)",
        "sock4.send(b'to p1' (5 bytes)) -> 5",
        "sock3.recv(1024) -> b'to p1' (5 bytes)",
        "sock3.close()",
        "sock4.close()",
    ]


# ---- 5. IPv6 -----------------------------------------------------------------

def test_ipv6(tmp_path):
    bare = run_bare(scenario("ipv6.py"))
    if bare.returncode == 77:
        pytest.skip("::1 is not usable here")
    bare, trace = differential("ipv6.py", tmp_path)
    assert bare.stdout == (b"client peer is server: True\n"
                           b"server peer is client: True ::1 4\n"
                           b"b'over ipv6' b'OVER IPV6'\n")
    assert trace.bodies() == [
        f"sock3 = socket(AF_INET6, {CLOEXEC_STREAM}, 0)",
        "sock3.bind(('::1', 0, 0, 0)) -> None",
        "sock3.listen(1) -> None",
        "sock3.getsockname() -> ('::1', PORT, 0, 0)",
        f"sock4 = socket(AF_INET6, {CLOEXEC_STREAM}, 0)",
        "sock4.connect(('::1', PORT, 0, 0)) -> None",
        "sock3.accept() -> (sock5, ('::1', PORT, 0, 0)) [SOCK_CLOEXEC]",
        "sock5.getsockname() -> ('::1', PORT, 0, 0)",
        "sock4.getpeername() -> ('::1', PORT, 0, 0)",
        "sock3.getsockname() -> ('::1', PORT, 0, 0)",
        "sock5.getpeername() -> ('::1', PORT, 0, 0)",
        "sock4.send(b'over ipv6' (9 bytes)) -> 9",
        "sock5.recv(1024) -> b'over ipv6' (9 bytes)",
        "sock5.send(b'OVER IPV6' (9 bytes)) -> 9",
        "sock4.recv(1024) -> b'OVER IPV6' (9 bytes)",
        "sock5.close()",
        "sock4.close()",
        "sock3.close()",
    ]


# ---- 6. a large sendall ------------------------------------------------------

SIZE = 4 * 1024 * 1024

# data is cut at 32 bytes; the full size follows. The count of send/recv
# calls depends on timing: their byte counts are checked instead.
DATA = r"b'(x*)'(\.\.\.)? \((\d+) bytes?\)"
SEND_RE = re.compile(r"^sock4\.send\(" + DATA + r"\) (?:-> (\d+)|raises (.*?))(?: \[loop \d+\])?$")
RECV_RE = re.compile(r"^sock5\.recv\(65536\) -> " + DATA + r"$")


def check_data(shown, dots, size):
    if size > 32:
        assert (len(shown), dots) == (32, "..."), (shown, dots, size)
    else:
        assert (len(shown), dots) == (size, None), (shown, dots, size)


SENDALL_RE = re.compile(r"^sock4\.sendall\(b'(x{32})'\.\.\. \(4194304 bytes\)\) -> None "
                        r"\[(\d+) sends\]$")


def test_large_sendall_is_one_sendall_line(tmp_path):
    """The send()s of sendall() become the one call the program made."""
    bare, trace = differential("large_sendall.py", tmp_path)
    main, _ = by_tid(trace)
    assert main[-5] == "sock4.setblocking(False)" or main[10] == "sock4.setblocking(False)"
    sendalls = [b for b in main if ".sendall(" in b]
    assert len(sendalls) == 1, main
    assert int(SENDALL_RE.match(sendalls[0]).group(2)) > 1
    assert not [b for b in main if ".send(" in b]


def test_large_sendall(tmp_path):
    """--calls: every send() of the sendall() on its own line."""
    bare, trace = differential("large_sendall.py", tmp_path, options=["--calls"])
    assert bare.stdout == b"received 4194304 bytes, intact: True\n"
    main, others = by_tid(trace)
    assert main[:11] == [
        f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock3.setsockopt(SOL_SOCKET, SO_RCVBUF, 4096) -> None",
        "sock3.bind(('127.0.0.1', 0)) -> None",
        "sock3.listen(1) -> None",
        "sock3.getsockname() -> ('127.0.0.1', PORT)",
        f"sock4 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock4.setsockopt(SOL_SOCKET, SO_SNDBUF, 4096) -> None",
        "sock4.connect(('127.0.0.1', PORT)) -> None",
        "sock3.accept() -> (sock5, ('127.0.0.1', PORT)) [SOCK_CLOEXEC]",
        "sock5.getsockname() -> ('127.0.0.1', PORT)",
        "sock4.setblocking(False)",
    ]
    assert main[-4:] == [
        "sock4.shutdown(SHUT_WR) -> None",
        "sock4.close()",
        "sock5.close()",
        "sock3.close()",
    ]
    # sendall(): send() after send(), each offered what is left
    sends = main[11:-4]
    remaining, sent, sends_done = SIZE, 0, 0
    for body in sends:
        m = SEND_RE.match(body)
        assert m, body
        shown, dots, size, ret, error = m.groups()
        assert int(size) == remaining, body
        assert body.endswith("]")  # [loop N]
        check_data(shown, dots, int(size))
        if ret is None:
            # sendall() polls before each send(): a send() that still
            # finds no room (EAGAIN) is retried after the next poll
            assert error == "error(11, 'Resource temporarily unavailable')"
            continue
        assert 0 < int(ret) <= remaining
        remaining -= int(ret)
        sent += int(ret)
        sends_done += 1
    assert sent == SIZE
    assert remaining == 0
    assert sends_done > 1
    # the reader thread's recv() calls add up to the same
    assert len(others) == 1
    reader = others[0]
    assert reader[-1] == "sock5.recv(65536) -> b'' (0 bytes)"
    received = 0
    for body in reader[:-1]:
        m = RECV_RE.match(body)
        assert m, body
        shown, dots, size = m.groups()
        check_data(shown, dots, int(size))
        assert 0 < int(size) <= 65536
        received += int(size)
    assert received == SIZE
    assert len(reader) > 2


# ---- 7. timeouts ---------------------------------------------------------------

def test_timeouts(tmp_path):
    bare, trace = differential("timeouts.py", tmp_path)
    assert bare.stdout == (
        b"recv raised TimeoutError timed out after >= 0.2s: True\n"
        b"timeout is 0.2\n"
        b"timeout is None\n")
    bodies = trace.bodies()
    assert bodies == [
        f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock3.bind(('127.0.0.1', 0)) -> None",
        "sock3.listen(1) -> None",
        "sock3.getsockname() -> ('127.0.0.1', PORT)",
        "socket.getaddrinfo('127.0.0.1', PORT, type=SOCK_STREAM) -> "
        "[(AF_INET, SOCK_STREAM, 6, '', ('127.0.0.1', PORT))]",
        f"sock4 = socket(AF_INET, {CLOEXEC_STREAM}, IPPROTO_TCP)",
        # create_connection(timeout=5): settimeout(5) is ioctl(FIONBIO, 1)
        "sock4.setblocking(False)",
        # a connect with a timeout: non-blocking, then poll and SO_ERROR
        "sock4.connect_ex(('127.0.0.1', PORT)) -> 115 (EINPROGRESS)",
        "sock4.getsockopt(SOL_SOCKET, SO_ERROR) -> 0",
        "sock3.accept() -> (sock5, ('127.0.0.1', PORT)) [SOCK_CLOEXEC]",
        "sock5.getsockname() -> ('127.0.0.1', PORT)",
        # settimeout(0.2): CPython sets O_NONBLOCK again
        "sock4.setblocking(False)",
        # recv(10) with a timeout: CPython polls first and raises
        # socket.timeout when poll() times out, so recv() is never
        # called and the trace has no recv line at all
        "sock4.setblocking(True)",  # settimeout(None)
        "sock4.close()",
        "sock5.close()",
        "sock3.close()",
    ]
    assert not any(".recv" in b for b in bodies)


# ---- 8. makefile() and dup() -----------------------------------------------------

def test_makefile_dup(tmp_path):
    bare, trace = differential("makefile_dup.py", tmp_path)
    assert bare.stdout == (
        b"dup is another fd: True\n"
        b"server got b'hello over makefile\\n'\n"
        b"makefile read b'line one\\n'\n"
        b"server got b'after close of the original'\n")
    bodies = trace.bodies()
    assert bodies == [
        f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock3.bind(('127.0.0.1', 0)) -> None",
        "sock3.listen(1) -> None",
        "sock3.getsockname() -> ('127.0.0.1', PORT)",
        f"sock4 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock4.connect(('127.0.0.1', PORT)) -> None",
        "sock3.accept() -> (sock5, ('127.0.0.1', PORT)) [SOCK_CLOEXEC]",
        "sock5.getsockname() -> ('127.0.0.1', PORT)",
        # cli.dup(): fcntl(F_DUPFD_CLOEXEC), then socket(fileno=) asks
        # getsockname() and dup() copies the timeout (None: blocking)
        "sock6 = sock4.dup()",
        "sock6.getsockname() -> ('127.0.0.1', PORT)",
        "sock6.setblocking(True)",
        # d.makefile('rwb') has no fd of its own: writes are sends on d
        "sock6.send(b'hello over makefile\\n' (20 bytes)) -> 20",
        "sock5.recv(1024) -> b'hello over makefile\\n' (20 bytes)",
        "sock5.send(b'line one\\n' (9 bytes)) -> 9",
        # readline() reads through the BufferedReader: recv(8192)
        "sock6.recv(8192) -> b'line one\\n' (9 bytes)",
        "sock4.close()",
        # the dup still works after the original is closed
        "sock6.send(b'after close of the original' (27 bytes)) -> 27",
        "sock5.recv(1024) -> b'after close of the original' (27 bytes)",
        "sock6.close()",
        "sock5.close()",
        "sock3.close()",
    ]
    raw = [l.body for l in trace.lines if not l.body.startswith("#")]
    # the dup is the client's end: its address is the accepted peer's
    assert raw_ports([raw[9]]) == raw_ports([raw[6]])


# ---- 9. a socket inherited by a subprocess ---------------------------------------

INH_PARENT_MAIN = [
    f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(1) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    f"sock4 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
    "sock4.connect(('127.0.0.1', PORT)) -> None",
    "sock3.accept() -> (sock5, ('127.0.0.1', PORT)) [SOCK_CLOEXEC]",
    "sock5.getsockname() -> ('127.0.0.1', PORT)",
    "vfork() -> CHILD_PID",
    # after the child is gone the parent's sockets are as they were
    "sock4.send(b'parent still works' (18 bytes)) -> 18",
    "sock5.recv(1024) -> b'parent still works' (18 bytes)",
    "sock5.send(b'reply to parent' (15 bytes)) -> 15",
    "sock4.recv(1024) -> b'reply to parent' (15 bytes)",
    "sock4.close()",
    "sock5.close()",
    "sock3.close()",
]

INH_PARENT_THREAD = [
    "sock5.recv(1024) -> b'from the child' (14 bytes)",
    "sock5.send(b'FROM THE CHILD' (14 bytes)) -> 14",
]

INH_CHILD = [
    # between vfork and exec (_posixsubprocess): pass_fds makes fd 4
    # inheritable, the others are closed (the errpipe fds 6 and 7 are
    # pipes: only what closes sockets shows)
    "sock4.fcntl(F_GETFD) -> FD_CLOEXEC",
    "sock4.set_inheritable(True)",
    "close_range(3, 3) -> None [closes sock3]",
    "close_range(5, 6) -> None [closes sock5]",
    # after exec: the new program's first call on fd 4 adopts it
    "sock4 = fromfd(4, AF_INET, SOCK_STREAM, IPPROTO_TCP) [adopted, "
    "laddr ('127.0.0.1', PORT), raddr ('127.0.0.1', PORT)]",
    "sock4.getsockname() -> ('127.0.0.1', PORT)",
    "sock4.getsockopt(SOL_SOCKET, SO_TYPE) -> 1",
    "sock4.getsockopt(SOL_SOCKET, SO_PROTOCOL) -> 6",
    "sock4.send(b'from the child' (14 bytes)) -> 14",
    "sock4.recv(1024) -> b'FROM THE CHILD' (14 bytes)",
]

INH_STDOUT = (b"child: family AF_INET type SOCK_STREAM\n"
              b"child got b'FROM THE CHILD'\n"
              b"child exit status 0\n"
              b"parent got b'parent still works'\n"
              b"parent got b'reply to parent'\n")


def check_inherited(trace):
    parent = main_pid(trace)
    by_pid = split_by(trace, "pid")
    forks = [b for b in by_pid[parent] if b.startswith("vfork() -> ")]
    assert len(forks) == 1, by_pid[parent]
    child = int(forks[0].split("-> ")[1])
    assert set(by_pid) == {parent, child}
    groups = split_by(trace, "tid")
    main = groups.pop(parent)
    child_lines = groups.pop(child)
    assert main == [b.replace("CHILD_PID", str(child)) for b in INH_PARENT_MAIN]
    assert list(groups.values()) == [INH_PARENT_THREAD]
    assert child_lines == INH_CHILD
    # the child's adoption names the connection the parent made
    raw = {l.body for l in trace.lines}
    connect = [l.body for l in trace.lines
               if l.pid == parent and l.body.startswith("sock4.connect")]
    server_port = raw_ports(connect)[0]
    adopt = [b for b in raw if "[adopted" in b]
    assert len(adopt) == 1
    laddr_port, raddr_port = raw_ports(adopt)
    assert raddr_port == server_port
    accepted = [l.body for l in trace.lines if ".accept()" in l.body]
    assert raw_ports(accepted) == [laddr_port]
    return parent, child


def test_inherited(tmp_path):
    bare, trace = differential("inherited.py", tmp_path, per_pid=True)
    assert bare.stdout == INH_STDOUT
    parent, child = check_inherited(trace)
    assert sorted(p.name for p in tmp_path.glob("trace.*")) == \
        sorted([f"trace.{parent}", f"trace.{child}"])
    # the child's file: a header before the exec and one after it, and
    # every line carries the child's pid
    lines = (tmp_path / f"trace.{child}").read_text().splitlines()
    headers = [l for l in lines if "] # sockshim" in l]
    assert len(headers) == 2
    assert all(f"[{child}" in l.split(" ")[1] for l in lines)
    assert all(f"parent {parent}" in h for h in headers)


def test_inherited_one_file(tmp_path):
    # parent and child share one trace file: the child's close_range
    # between vfork and exec must leave the shared file alone
    bare, trace = differential("inherited.py", tmp_path)
    assert bare.stdout == INH_STDOUT
    check_inherited(trace)


# ---- 10. errors and bytes option values -------------------------------------------

def test_errors(tmp_path):
    bare, trace = differential("errors.py", tmp_path)
    assert bare.stdout == (
        b"connect: ConnectionRefusedError True\n"
        b"bind: OSError True\n"
        b"recv: OSError True\n"
        b"linger before b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'\n"
        b"linger after b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00'\n")
    bodies = trace.bodies()
    assert bodies == [
        f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock3.bind(('127.0.0.1', 0)) -> None",
        "sock3.getsockname() -> ('127.0.0.1', PORT)",
        "sock3.close()",
        f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock3.connect(('127.0.0.1', PORT)) raises error(111, 'Connection refused')",
        "sock3.close()",
        f"sock3 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock3.bind(('127.0.0.1', 0)) -> None",
        "sock3.listen(1) -> None",
        "sock3.getsockname() -> ('127.0.0.1', PORT)",
        f"sock4 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock4.bind(('127.0.0.1', PORT)) raises error(98, 'Address already in use')",
        "sock4.close()",
        f"sock4 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock4.close()",  # os.close(r.fileno())
        # the fd is no socket any more: it is named by number
        "sock4.recv(1) raises error(9, 'Bad file descriptor')",  # a closed socket's fd
        f"sock4 = socket(AF_INET, {CLOEXEC_STREAM}, 0)",
        "sock4.getsockopt(SOL_SOCKET, SO_LINGER, 8) -> b'\\x00\\x00\\x00\\x00\\x00\\x00\\x00\\x00'",
        "sock4.setsockopt(SOL_SOCKET, SO_LINGER, b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00') -> None",
        "sock4.getsockopt(SOL_SOCKET, SO_LINGER, 8) -> b'\\x01\\x00\\x00\\x00\\x00\\x00\\x00\\x00'",
        "sock4.close()",
        "sock3.close()",
    ]
    raw = [l.body for l in trace.lines if not l.body.startswith("#")]
    # the refused connect went to the freed port, the failed bind to the
    # listener's
    assert raw_ports([raw[5]]) == raw_ports([raw[2]])
    assert raw_ports([raw[12]]) == raw_ports([raw[10]])


# ---- 11. JSON ------------------------------------------------------------------------

def json_by_tid(trace):
    pid = trace.events[0]["pid"]
    groups = defaultdict(list)
    for e in trace.calls:
        assert e["pid"] == pid
        groups[e["tid"]].append(e)
    main = groups.pop(pid)
    return main, list(groups.values())


def check_records(trace):
    """Every line parsed (run_traced json.loads them all); the common keys."""
    assert trace.raw.endswith("\n")
    assert len(trace.events) == len(trace.raw.splitlines())
    assert trace.events[0]["type"] == "start"
    for e in trace.events:
        assert e["v"] == 2
        assert e["type"] in ("start", "call", "loop", "finding", "summary"), e
        for key in ("ts", "pid", "tid"):
            assert key in e, e
        if e["type"] == "call":
            for key in ("op", "call", "fd", "sock", "args", "dur_ns"):
                assert key in e, e
            assert ("error" in e) != ("ret" in e), e


def test_json_client_server(tmp_path):
    _, trace = differential("client_server.py", tmp_path, fmt="json")
    check_records(trace)
    main, others = json_by_tid(trace)
    assert [(e["op"], e["call"], e["fd"]) for e in main] == [
        ("socket", "socket", 3),
        ("setsockopt", "setsockopt", 3),
        ("bind", "bind", 3),
        ("listen", "listen", 3),
        ("getsockname", "getsockname", 3),
        ("getaddrinfo", "getaddrinfo", None),  # create_connection()'s
        ("socket", "socket", 4),
        ("connect", "connect", 4),
        ("send", "send", 4),       # sendall() of 12 bytes: one send()
        ("recv", "recv", 4),
        ("recv", "recv", 4),
        ("getsockopt", "getsockopt", 4),
        ("close", "close", 4),
        ("close", "close", 3),
    ]
    assert len(others) == 1
    server = others[0]
    assert [(e["op"], e["call"], e["fd"]) for e in server] == [
        ("accept", "accept4", 3),
        ("getsockname", "getsockname", 5),
        ("recv", "recv", 5),
        ("send", "send", 5),
        ("shutdown", "shutdown", 5),
        ("close", "close", 5),
    ]
    assert main[0]["args"] == {"family": "AF_INET",
                               "type": "SOCK_STREAM|SOCK_CLOEXEC", "proto": 0}
    port = main[4]["out"]["addr"]["port"]
    assert main[5]["args"]["service"] == str(port)
    assert main[6]["args"]["proto"] == 6
    assert main[7]["args"] == {"addr": {"family": "AF_INET",
                                        "host": "127.0.0.1", "port": port}}
    assert main[8]["args"]["data"] == {"len": 12, "hex": b"hello server".hex()}
    assert main[8]["ret"] == 12
    assert main[10]["ret"] == 0
    assert main[11]["out"]["value"] == 0
    assert server[0]["args"] == {"flags": "SOCK_CLOEXEC"}
    assert server[0]["ret"] == 5
    assert server[0]["out"]["fd"] == 5
    # the socket as it is after connect: both ends known
    assert main[7]["sock"]["raddr"] == {"family": "AF_INET",
                                        "host": "127.0.0.1", "port": port}
    assert server[0]["out"]["addr"] == main[7]["sock"]["laddr"]
    assert server[2]["out"]["data"] == {"len": 12, "hex": b"hello server".hex()}
    assert server[4]["args"] == {"how": "SHUT_WR"}


def test_json_dup_and_settimeout(tmp_path):
    _, trace = differential("makefile_dup.py", tmp_path, fmt="json")
    check_records(trace)
    dups = [e for e in trace.calls if e["op"] == "dup"]
    assert len(dups) == 1
    assert (dups[0]["call"], dups[0]["fd"], dups[0]["args"]["cmd"], dups[0]["ret"]) == \
        ("fcntl64", 4, "F_DUPFD_CLOEXEC", 6)
    blocking = [(e["op"], e["call"], e["fd"], e["args"]) for e in trace.calls
                if e["call"] == "ioctl"]
    assert blocking == [("setblocking", "ioctl", 6, {"flag": True})]


def test_json_timeouts(tmp_path):
    _, trace = differential("timeouts.py", tmp_path, fmt="json")
    check_records(trace)
    pairs = [(e["op"], e["call"]) for e in trace.calls]
    assert pairs == [
        ("socket", "socket"),
        ("bind", "bind"),
        ("listen", "listen"),
        ("getsockname", "getsockname"),
        ("getaddrinfo", "getaddrinfo"),
        ("socket", "socket"),
        ("setblocking", "ioctl"),
        ("connect_ex", "connect"),
        ("getsockopt", "getsockopt"),
        ("accept", "accept4"),
        ("getsockname", "getsockname"),
        ("setblocking", "ioctl"),
        ("setblocking", "ioctl"),
        ("close", "close"),
        ("close", "close"),
        ("close", "close"),
    ]
    connect = trace.calls[7]
    assert connect["error"]["errno"] == 115
    assert connect["error"]["name"] == "EINPROGRESS"
    assert [e["args"] for e in trace.calls if e["op"] == "setblocking"] == \
        [{"flag": False}, {"flag": False}, {"flag": True}]


def test_json_large_sendall(tmp_path):
    _, trace = differential("large_sendall.py", tmp_path, fmt="json")
    check_records(trace)
    main, others = json_by_tid(trace)
    sends = [e for e in main if e["op"] == "send"]
    assert all((e["call"], e["fd"]) == ("send", 4) for e in sends)
    remaining, sent = SIZE, 0
    for e in sends:
        data = e["args"]["data"]
        # the full length, the data itself cut at 32 bytes (-s default)
        assert data["len"] == remaining
        assert data["hex"] == b"x".hex() * min(32, remaining)
        if "error" in e:  # EAGAIN after a poll: retried (see the text test)
            assert e["error"]["errno"] == 11
            continue
        remaining -= e["ret"]
        sent += e["ret"]
    assert (sent, remaining) == (SIZE, 0)
    assert len([e for e in sends if "ret" in e]) > 1
    assert len(others) == 1
    recvs = others[0]
    assert all((e["op"], e["call"], e["fd"]) == ("recv", "recv", 5) for e in recvs)
    assert sum(e["ret"] for e in recvs) == SIZE
    assert [e["out"]["data"]["len"] for e in recvs] == [e["ret"] for e in recvs]
    assert recvs[-1]["ret"] == 0
