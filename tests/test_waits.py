"""Waits in the trace: select, poll and epoll, as Python's select module
reads them (docs/trace-format.md, "Waits").

tests/programs/waits.c makes every kind of wait over a loopback connection
and a pipe; Python programs make them through the select module. The
traces are compared exactly; a wait that involves no socket writes nothing,
and waits are left out unless -e asks for them.
"""
import subprocess
import sys

from conftest import SOCKSHIM, base_env, program, run_traced

WAITS = [
    "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock3.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1) -> None",
    "sock3.bind(('127.0.0.1', 0)) -> None",
    "sock3.listen(5) -> None",
    "sock3.getsockname() -> ('127.0.0.1', PORT)",
    "sock4 = socket(AF_INET, SOCK_STREAM, 0)",
    "sock4.connect(('127.0.0.1', PORT)) -> None",
    "sock3.accept() -> (sock5, ('127.0.0.1', PORT))",
    "select.select([sock5, fd6], [sock4], [], 0.25) -> ([], [sock4], [])",
    "sock4.send(b'ping' (4 bytes)) -> 4",
    "poll([(sock5, POLLIN), (fd6, POLLIN), (sock4, POLLOUT)], 1000)"
    " -> [(sock5, POLLIN), (sock4, POLLOUT)]",
    "sock5.recv(64) -> b'ping' (4 bytes)",
    "poll([(sock5, POLLIN)], 1.5) -> []",
    "epoll8 = select.epoll()",
    "epoll8.register(sock5, EPOLLIN) -> None",
    "epoll8.register(sock4, EPOLLOUT|EPOLLET) -> None",
    "epoll8.poll(1.0, 8) -> [(sock4, EPOLLOUT), (fd6, EPOLLIN)]",
    "epoll8.modify(sock4, EPOLLIN) -> None",
    "epoll8.unregister(sock5) -> None",
    "epoll8.poll(0.0, 8) -> [(fd6, EPOLLIN)]",
    "select.select([], [sock4], [], None) -> ([], [sock4], [])",
    "sock5.close()",
    "sock4.close()",
    "sock3.close()",
]

WAIT_OPS = {"select", "poll", "epoll", "epoll_register", "epoll_modify",
            "epoll_unregister", "epoll_poll"}


def test_waits_exact_text(tmp_path):
    trace = run_traced([str(program("waits"))], tmp_path, fmt="text",
                       options=["-e", "all"], check_exit=0)
    assert trace.bodies() == WAITS


def test_waits_are_left_out_unless_asked(tmp_path):
    trace = run_traced([str(program("waits"))], tmp_path, fmt="text", check_exit=0)
    assert trace.bodies() == [b for b in WAITS if not b.startswith(("select.", "poll(", "epoll"))]


def test_wait_group_alone(tmp_path):
    trace = run_traced([str(program("waits"))], tmp_path, fmt="text",
                       options=["-e", "%wait"], check_exit=0)
    assert trace.bodies() == [b for b in WAITS if b.startswith(("select.", "poll(", "epoll"))]


def test_one_wait_method(tmp_path):
    trace = run_traced([str(program("waits"))], tmp_path, fmt="text",
                       options=["-e", "epoll_poll"], check_exit=0)
    assert trace.bodies() == [b for b in WAITS if ".poll(" in b]


def test_waits_json(tmp_path):
    trace = run_traced([str(program("waits"))], tmp_path, options=["-e", "all"], check_exit=0)
    calls = [e for e in trace.events if e["type"] == "call"]
    ids = {}
    for e in calls:
        if e["op"] in ("socket", "accept") and "error" not in e:
            fd = e["ret"] if e["op"] == "socket" else e["out"]["fd"]
            ids[fd] = e["sock"]["id"] if e["op"] == "socket" else None
    accepted = next(e for e in calls if e["op"] == "accept")
    waits = [e for e in calls if e["op"] in WAIT_OPS]
    assert [(e["op"], e["call"]) for e in waits] == [
        ("select", "select"), ("poll", "poll"), ("poll", "ppoll"),
        ("epoll", "epoll_create1"), ("epoll_register", "epoll_ctl"),
        ("epoll_register", "epoll_ctl"), ("epoll_poll", "epoll_wait"),
        ("epoll_modify", "epoll_ctl"), ("epoll_unregister", "epoll_ctl"),
        ("epoll_poll", "epoll_pwait"), ("select", "pselect")]
    select, poll, ppoll, create, reg_a, reg_c, ewait, mod, unreg, epwait, pselect = waits
    for e in waits:
        assert e["sock"] is None
    assert select["fd"] is None and select["ret"] == 1
    assert [f["fd"] for f in select["args"]["read"]] == [5, 6]
    assert select["args"]["read"][1]["id"] is None      # the pipe
    assert select["args"]["write"][0]["id"] == ids[4]
    assert select["args"]["timeout_ns"] == 250_000_000
    assert select["out"] == {"read": [], "write": [{"fd": 4, "id": ids[4]}], "except": []}
    assert poll["args"]["fds"] == [
        {"fd": 5, "id": poll["args"]["fds"][0]["id"], "events": "POLLIN"},
        {"fd": 6, "id": None, "events": "POLLIN"},
        {"fd": 4, "id": ids[4], "events": "POLLOUT"}]
    assert poll["args"]["fds"][0]["id"] not in (None, ids[3], ids[4])
    assert [f["events"] for f in poll["out"]["ready"]] == ["POLLIN", "POLLOUT"]
    assert ppoll["args"]["timeout_ns"] == 1_500_000 and ppoll["out"] == {"ready": []}
    assert "sigmask" not in ppoll["args"]
    assert create["args"] == {"flags": "EPOLL_CLOEXEC"} and create["ret"] == 8
    assert reg_a["fd"] == 8 and reg_a["args"]["data"] == 5
    assert reg_c["args"] == {"target": {"fd": 4, "id": ids[4], "events": "EPOLLOUT|EPOLLET"},
                             "data": 0x5CA1AB1E}
    assert ewait["args"] == {"maxevents": 8, "timeout_ns": 1_000_000_000}
    assert ewait["out"] == {"ready": [{"fd": 4, "id": ids[4], "events": "EPOLLOUT"},
                                      {"fd": 6, "id": None, "events": "EPOLLIN"}]}
    assert unreg["args"] == {"target": {"fd": 5, "id": reg_a["args"]["target"]["id"]}}
    assert epwait["args"]["sigmask"] is True and epwait["ret"] == 1
    assert pselect["args"]["timeout_ns"] is None
    assert accepted["out"]["fd"] == 5


PY_WAITS = r"""
import select, socket
srv = socket.socket(); srv.bind(('127.0.0.1', 0)); srv.listen()
c = socket.create_connection(srv.getsockname())
s, _ = srv.accept()
print(select.select([s], [c], [], 0.5))
c.sendall(b'hi')
p = select.poll(); p.register(s, select.POLLIN); p.register(c, select.POLLOUT)
print(len(p.poll(1000)))
e = select.epoll(); e.register(s, select.EPOLLIN)
print(len(e.poll(1.5)))
e.unregister(s); e.close()
for x in (s, c, srv):
    x.close()
"""


def test_python_select_module(tmp_path):
    """CPython's select module: each wait is one line, in the module's own
    terms (epoll.poll(1.5) passes maxevents FD_SETSIZE - 1)."""
    trace = run_traced([sys.executable, "-c", PY_WAITS], tmp_path, fmt="text",
                       options=["-e", "%wait"], check_exit=0)
    bodies = trace.bodies()
    epoll = [b.split(" = ")[0] for b in bodies if b.endswith("= select.epoll()")][-1]
    assert [b for b in bodies if "sock" in b] == [
        "select.select([sock5], [sock4], [], 0.5) -> ([], [sock4], [])",
        "poll([(sock5, POLLIN), (sock4, POLLOUT)], 1000) -> [(sock5, POLLIN), (sock4, POLLOUT)]",
        f"{epoll}.register(sock5, EPOLLIN) -> None",
        f"{epoll}.poll(1.5, 1023) -> [(sock5, EPOLLIN)]",
        f"{epoll}.unregister(sock5) -> None",
    ]
    assert trace.proc.stdout.decode().split("\n")[1:3] == ["2", "1"]


MANY = r"""
import select, socket
pairs = [socket.socketpair() for _ in range(35)]
p = select.poll()
for a, b in pairs:
    p.register(a, select.POLLOUT)
    p.register(b, select.POLLOUT)
print(len(p.poll(0)))
"""


def test_a_long_wait_is_cut_with_a_count(tmp_path):
    trace = run_traced([sys.executable, "-c", MANY], tmp_path, fmt="text",
                       options=["-e", "poll"], check_exit=0)
    [line] = trace.bodies()
    asked, ready = line.split(" -> ")
    assert asked.count("POLLOUT") == 64 and asked.endswith(", <6 more>], 0)")
    assert ready.count("POLLOUT") == 64 and ready.endswith(", <6 more>]")
    assert trace.proc.stdout == b"70\n"


def test_waits_take_no_fault_rules(tmp_path):
    for rule, token in (("poll:error=EINTR", "'poll'"), ("%wait:delay=1s", "'%wait'"),
                        ("send,epoll_poll:error=EINTR", "'epoll_poll'")):
        r = subprocess.run([str(SOCKSHIM), "--fault", rule, "--", "true"],
                           capture_output=True, env=base_env())
        assert r.returncode == 2, rule
        assert token in r.stderr.decode() and "take no fault rules" in r.stderr.decode()


def test_unknown_group_hint_names_wait(tmp_path):
    r = subprocess.run([str(SOCKSHIM), "-e", "%wiat", "--", "true"], capture_output=True,
                       env=base_env())
    assert r.returncode == 2
    assert "did you mean '%wait'?" in r.stderr.decode()
