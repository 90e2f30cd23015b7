"""Name resolution: getaddrinfo, getnameinfo, gethostbyname(2)(_r) and
gethostbyaddr(_r) traced as the socket module's functions, faulted by
resolve rules, and the sockets a resolution opens inside glibc (an NSS
module's queries) kept out of the trace.

Every name resolved here is answered by /etc/hosts ('localhost'), by a
number, or by the test's own NSS module in a private mount namespace:
never by the network. The shapes of the lines are in
docs/trace-format.md ("Name resolution"), the rules in docs/faults.md.
"""
import json
import re
import shutil
import socket
import subprocess
import time

import pytest

from conftest import (PROGRAMS, PYTHON, SOCKSHIM, TIMEOUT, base_env, parse_text,
                      program, run_traced, scenario)

RETRY = scenario("resolve_retry.py")
AGAIN = "raises gaierror(-3, 'Temporary failure in name resolution')"


def faults(*rules):
    options = []
    for rule in rules:
        options += ["--fault", rule]
    return options


def bodies(trace):
    """The text trace's call lines (no header, summary or notes)."""
    return [line.body for line in trace.lines if not line.body.startswith("#")]


# ---- the Python client of issue 16 -----------------------------------------

def test_client_retries_two_temporary_failures_and_connects(tmp_path):
    trace = run_traced(RETRY, tmp_path, fmt="text", check_exit=0,
                       faults=["resolve:error=EAI_AGAIN:when=1..2"])
    out = trace.proc.stdout.decode().splitlines()
    port = int(out[0].split()[1])
    assert out[1:] == ["attempt 1: gaierror -3", "attempt 2: gaierror -3",
                       "connected after 3 resolutions"]
    asked = f"socket.getaddrinfo('localhost', {port}, family=AF_INET, type=SOCK_STREAM)"
    lines = [b for b in bodies(trace) if b.startswith("socket.")]
    assert lines == [
        f"{asked} {AGAIN} [fault #1 error=EAI_AGAIN]",
        f"{asked} {AGAIN} [fault #1 error=EAI_AGAIN]",
        f"{asked} -> [(AF_INET, SOCK_STREAM, 6, '', ('127.0.0.1', {port}))]",
    ]
    # the connect follows the third resolution, to the address it gave
    calls = bodies(trace)
    third = calls.index(lines[2])
    assert any(re.fullmatch(rf"sock\d+\.connect\(\('127\.0\.0\.1', {port}\)\) -> None", b)
               for b in calls[third:])
    summary = [l.body for l in trace.lines if l.body.startswith("# getaddrinfo ")]
    assert re.fullmatch(r"# getaddrinfo +3 +2 +2 +- .*", summary[0])


def test_client_retry_in_json(tmp_path):
    trace = run_traced(RETRY, tmp_path, check_exit=0,
                       faults=["resolve:error=EAI_AGAIN:when=1..2"])
    port = int(trace.proc.stdout.decode().split()[1])
    records = trace.proc.ops("getaddrinfo")
    assert len(records) == 3
    for record in records:
        assert (record["call"], record["fd"], record["sock"]) == ("getaddrinfo", None, None)
        assert record["args"] == {
            "host": "localhost", "service": str(port),
            "hints": {"family": "AF_INET", "type": "SOCK_STREAM", "proto": 0, "flags": "0"}}
    for record in records[:2]:
        assert record["error"] == {"exception": "gaierror", "code": -3, "name": "EAI_AGAIN",
                                   "message": "Temporary failure in name resolution"}
        assert record["fault"]["rule"] == 1
        assert record["fault"]["action"] == "error=EAI_AGAIN"
        assert "ret" not in record
    last = records[2]
    assert "error" not in last and "fault" not in last
    assert last["ret"] == 0
    assert last["out"] == {"addresses": [
        {"family": "AF_INET", "type": "SOCK_STREAM", "proto": 6, "canonname": None,
         "addr": {"family": "AF_INET", "host": "127.0.0.1", "port": port}}], "count": 1}


# ---- every function, from C ---------------------------------------------------

def run_calls(tmp_path, fmt="text", rules=(), options=()):
    return run_traced([program("resolve_calls")], tmp_path, fmt=fmt, check_exit=0,
                      faults=list(rules), options=list(options))


def what_the_program_saw(stdout):
    """{call: its printed result} from resolve_calls' output."""
    seen = {}
    for line in stdout.decode().splitlines():
        what, _, result = line.partition(": ")
        seen[what] = result
    return seen


def hostent_tuple(result):
    """resolve_calls' 'NAME aliases A B addresses X Y' as the trace's tuple."""
    m = re.fullmatch(r"(\S+) aliases(.*) addresses(.*)", result)
    assert m, result
    aliases = ", ".join(f"'{a}'" for a in m.group(2).split())
    addresses = ", ".join(f"'{a}'" for a in m.group(3).split())
    return f"('{m.group(1)}', [{aliases}], [{addresses}])"


def test_every_function_has_its_line(tmp_path):
    trace = run_calls(tmp_path)
    seen = what_the_program_saw(trace.proc.stdout)
    assert seen["getaddrinfo localhost"] == "0 127.0.0.1:8080/1/6"
    assert seen["getaddrinfo numeric"] == "-2 Name or service not known (res untouched)"
    assert seen["getnameinfo"] == "0 127.0.0.1 80"
    by_name = hostent_tuple(seen["gethostbyname"])
    by_addr = hostent_tuple(seen["gethostbyaddr"])
    assert bodies(trace) == [
        "socket.getaddrinfo('localhost', 8080, family=AF_INET, type=SOCK_STREAM) -> "
        "[(AF_INET, SOCK_STREAM, 6, '', ('127.0.0.1', 8080))]",
        "socket.getaddrinfo('not a number', 80, flags=AI_NUMERICHOST) "
        "raises gaierror(-2, 'Name or service not known')",
        "socket.getnameinfo(('127.0.0.1', 80), NI_NUMERICHOST|NI_NUMERICSERV) -> "
        "('127.0.0.1', '80')",
        f"socket.gethostbyname_ex('localhost') -> {by_name}",
        f"socket.gethostbyname_ex('localhost', AF_INET) -> {by_name}",
        f"socket.gethostbyname_ex('localhost') -> {by_name}",
        f"socket.gethostbyname_ex('localhost', AF_INET) -> {by_name}",
        f"socket.gethostbyaddr('127.0.0.1') -> {by_addr}",
        f"socket.gethostbyaddr('127.0.0.1') -> {by_addr}",
    ]
    rows = {l.body.split()[1]: l.body.split()[2:5] for l in trace.lines
            if re.match(r"# (getaddrinfo|getnameinfo|gethostbyname|gethostbyaddr) ", l.body)}
    assert rows == {"getaddrinfo": ["2", "1", "0"], "getnameinfo": ["1", "0", "0"],
                    "gethostbyname": ["4", "0", "0"], "gethostbyaddr": ["2", "0", "0"]}
    # nothing in the process touched a socket
    assert any(re.search(r"# summary of pid \d+ .*: 0 sockets, 0 findings", l.body)
               for l in trace.lines)


def test_every_function_has_its_record(tmp_path):
    trace = run_calls(tmp_path, fmt="json")
    calls = trace.proc.calls
    assert [(c["op"], c["call"]) for c in calls] == [
        ("getaddrinfo", "getaddrinfo"), ("getaddrinfo", "getaddrinfo"),
        ("getnameinfo", "getnameinfo"),
        ("gethostbyname", "gethostbyname"), ("gethostbyname", "gethostbyname2"),
        ("gethostbyname", "gethostbyname_r"), ("gethostbyname", "gethostbyname2_r"),
        ("gethostbyaddr", "gethostbyaddr"), ("gethostbyaddr", "gethostbyaddr_r")]
    assert all(c["fd"] is None and c["sock"] is None for c in calls)
    numeric = calls[1]
    assert numeric["args"] == {"host": "not a number", "service": "80", "hints": {
        "family": "AF_UNSPEC", "type": 0, "proto": 0, "flags": "AI_NUMERICHOST"}}
    assert numeric["error"] == {"exception": "gaierror", "code": -2, "name": "EAI_NONAME",
                                "message": "Name or service not known"}
    nameinfo = calls[2]
    assert nameinfo["args"] == {"addr": {"family": "AF_INET", "host": "127.0.0.1", "port": 80},
                                "flags": "NI_NUMERICHOST|NI_NUMERICSERV"}
    assert nameinfo["out"] == {"host": "127.0.0.1", "service": "80"}
    byname = calls[3]
    assert byname["args"] == {"host": "localhost", "family": None}
    assert calls[4]["args"] == {"host": "localhost", "family": "AF_INET"}
    assert byname["out"]["addresses"] == ["127.0.0.1"]
    assert byname["out"]["family"] == "AF_INET"
    assert (byname["out"]["count"], byname["out"]["alias_count"]) == \
        (1, len(byname["out"]["aliases"]))
    byaddr = calls[7]
    assert byaddr["args"] == {"addr": "127.0.0.1", "family": "AF_INET", "len": 4}
    assert byaddr["out"]["addresses"] == ["127.0.0.1"]


# ---- faults keep each function's convention --------------------------------------

@pytest.mark.parametrize("rule, code, herr, r_ret", [
    ("resolve:error=EAI_AGAIN", "-3 Temporary failure in name resolution", 2, "EAGAIN"),
    ("resolve:error=TRY_AGAIN", "-3 Temporary failure in name resolution", 2, "EAGAIN"),
    ("resolve:error=EAI_NONAME", "-2 Name or service not known", 1, "0"),
    ("resolve:error=EAI_FAIL", "-4 Non-recoverable failure in name resolution", 3, "ENOENT"),
    ("resolve:error=NO_DATA", "-5 No address associated with hostname", 4, "0"),
    ("resolve:error=EAI_MEMORY", "-10 Memory allocation failure", -1, "ENOMEM"),
])
def test_an_injected_failure_answers_as_the_function_would(tmp_path, rule, code, herr, r_ret):
    trace = run_calls(tmp_path, rules=[rule])
    seen = what_the_program_saw(trace.proc.stdout)
    # getaddrinfo fails without touching *res: nothing for the program to free
    assert seen["getaddrinfo localhost"] == f"{code} (res untouched)"
    assert seen["getaddrinfo numeric"] == f"{code} (res untouched)"
    assert seen["getnameinfo"] == code
    for name in ("gethostbyname", "gethostbyname2", "gethostbyaddr"):
        assert seen[name] == f"NULL h_errno={herr} ret=0"
    for name in ("gethostbyname_r", "gethostbyname2_r", "gethostbyaddr_r"):
        assert seen[name] == f"NULL h_errno={herr} ret={r_ret}"
    action = rule.split(":", 1)[1]
    lines = bodies(trace)
    assert len(lines) == 9
    assert all(l.endswith(f" [fault #1 {action}]") for l in lines)
    if herr == -1:  # a failure of the system: Python raises OSError
        assert lines[3].endswith(" raises error(12, 'Cannot allocate memory') "
                                 f"[fault #1 {action}]")


def test_an_error_gethostbyname_cannot_say_leaves_it_alone(tmp_path):
    trace = run_calls(tmp_path, rules=["resolve:error=EAI_SERVICE"])
    lines = bodies(trace)
    assert [l.endswith("[fault #1 error=EAI_SERVICE]") for l in lines] == [True] * 3 + [False] * 6
    assert "raises gaierror(-8, 'Servname not supported for ai_socktype')" in lines[0]


def test_host_filter_matches_the_name_in_any_case_and_the_address(tmp_path):
    trace = run_calls(tmp_path, rules=["resolve:error=EAI_FAIL:host=LOCALHOST",
                                       "resolve:error=NO_DATA:host=127.0.0.1"])
    faulted = [re.search(r"\[fault #(\d)", l) for l in bodies(trace)]
    assert [m.group(1) if m else None for m in faulted] == \
        ["1", None, "2", "1", "1", "1", "1", "2", "2"]


HOSTS = """
import socket
for name in ("db.test", "DB.Test.", "test", "xtest", "a.b.test"):
    try:
        socket.getaddrinfo(name, 80, flags=socket.AI_NUMERICHOST)
    except socket.gaierror as e:
        print(name, e.errno)
"""


def test_host_suffix_filter(tmp_path):
    trace = run_traced([PYTHON, "-c", HOSTS], tmp_path, fmt="text", check_exit=0,
                       faults=["getaddrinfo:error=EAI_AGAIN:host=*.test"])
    assert trace.proc.stdout.decode().split("\n") == [
        "db.test -3", "DB.Test. -3", "test -2", "xtest -2", "a.b.test -3", ""]


def test_delay_sleeps_before_the_resolution(tmp_path):
    start = time.monotonic()
    trace = run_calls(tmp_path, fmt="json", rules=["getaddrinfo:delay=300ms:when=1"])
    assert time.monotonic() - start >= 0.3
    first, second = trace.proc.ops("getaddrinfo")
    assert first["dur_ns"] >= 300_000_000
    assert first["fault"]["action"] == "delay=300ms"
    assert "error" not in first and first["out"]["count"] == 1
    assert "fault" not in second


HOSTILE = """
import socket
for host, port in ((b'bad\\xff\\x1b[31m\\nname', 80), ('127.0.0.1', '080'), ('127.0.0.1', '000')):
    try:
        socket.getaddrinfo(host, port, socket.AF_INET, socket.SOCK_STREAM, 0,
                           socket.AI_NUMERICHOST)
    except socket.gaierror as e:
        print(e.errno)
"""


def test_names_are_escaped_and_ports_read_as_python_would(tmp_path):
    (tmp_path / "t").mkdir()
    (tmp_path / "j").mkdir()
    text = run_traced([PYTHON, "-c", HOSTILE], tmp_path / "t", fmt="text", check_exit=0)
    hints = "family=AF_INET, type=SOCK_STREAM, flags=AI_NUMERICHOST"
    assert bodies(text) == [
        f"socket.getaddrinfo('bad\\udcff\\x1b[31m\\nname', 80, {hints}) "
        "raises gaierror(-2, 'Name or service not known')",
        f"socket.getaddrinfo('127.0.0.1', 80, {hints}) -> "
        "[(AF_INET, SOCK_STREAM, 6, '', ('127.0.0.1', 80))]",
        f"socket.getaddrinfo('127.0.0.1', 0, {hints}) -> "
        "[(AF_INET, SOCK_STREAM, 6, '', ('127.0.0.1', 0))]",
    ]
    assert all(line.isascii() and line.isprintable() for line in bodies(text))
    records = run_traced([PYTHON, "-c", HOSTILE], tmp_path / "j", check_exit=0).proc.calls
    assert records[0]["args"]["host"] == "bad\ufffd\x1b[31m\nname"
    assert bytes.fromhex(records[0]["args"]["host_hex"]) == b"bad\xff\x1b[31m\nname"
    assert "host_hex" not in records[1]["args"]
    assert records[1]["args"]["service"] == "080"


def faulted_calls(trace):
    """The 1-based numbers of the resolutions a rule hit, in trace order."""
    return [i for i, line in enumerate(bodies(trace), 1) if "[fault #1" in line]


def test_a_seed_replays_the_draws_of_p(tmp_path):
    runs = []
    for seed in (7, 7, 8):
        run_dir = tmp_path / f"run{len(runs)}"
        run_dir.mkdir()
        runs.append(faulted_calls(run_calls(run_dir, rules=["resolve:error=EAI_AGAIN:p=0.5"],
                                            options=["--seed", str(seed)])))
    assert runs[0] == runs[1]
    # p=0.5 over 9 calls: some hit, some not (seed 7 on this generator)
    assert 0 < len(runs[0]) < 9


def test_a_record_file_renders_the_resolutions(tmp_path):
    direct = run_calls(tmp_path, rules=["gethostbyname:error=TRY_AGAIN:when=2"])
    records = tmp_path / "run.rec"
    proc = subprocess.run([str(SOCKSHIM), "--format=raw", "-o", str(records),
                           "--fault", "gethostbyname:error=TRY_AGAIN:when=2", "--",
                           program("resolve_calls")],
                          capture_output=True, timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0, proc.stderr.decode()
    rendered = subprocess.run([str(SOCKSHIM), "render", str(records)], capture_output=True,
                              timeout=TIMEOUT, env=base_env())
    assert rendered.returncode == 0, rendered.stderr.decode()
    lines = [l.body for l in parse_text(rendered.stdout.decode())
             if not l.body.startswith("#")]
    assert lines == bodies(direct)
    assert lines[4].endswith("raises herror(2, 'Host name lookup failure') "
                             "[fault #1 error=TRY_AGAIN]")


# ---- which lines -e keeps -----------------------------------------------------------

@pytest.mark.parametrize("methods, kept", [
    ("%resolve", {"getaddrinfo"}),
    ("resolve", {"getaddrinfo"}),
    ("getaddrinfo,connect", {"getaddrinfo", "connect"}),
    ("!%resolve", {"socket", "bind", "listen", "getsockname", "connect", "close"}),
])
def test_trace_filter_names_the_resolve_group(tmp_path, methods, kept):
    trace = run_traced(RETRY, tmp_path, check_exit=0, options=["-e", methods])
    assert {c["op"] for c in trace.proc.calls} == kept
    # the summary counts every call, traced or not
    summary, = [e for e in trace.events if e["type"] == "summary"]
    assert {"op": "getaddrinfo", "calls": 1, "errors": 0, "faults": 0, "bytes": 0} == \
        {k: v for k, v in summary["methods"][-1].items() if k != "time_ns"}


# ---- the sockets inside a resolution ------------------------------------------------

NSS_MODULE = PROGRAMS / "libnss_sockshimprobe.so.2"
PROBE = "probe.sockshim.test"
PROBE_CLIENT = f"""
import socket
print(socket.getaddrinfo({PROBE!r}, 80, socket.AF_INET, socket.SOCK_STREAM)[0][4])
print(socket.gethostbyname_ex({PROBE!r}))
"""


def private_nss(tmp_path, hosts=None):
    """argv prefix that runs a command with /etc/nsswitch.conf naming the
    test's NSS module first (and with hosts, /etc/hosts holding it), in a
    mount namespace of its own (the machine's files are not touched);
    skips where that cannot be made."""
    unshare = shutil.which("unshare")
    if unshare is None:
        pytest.skip("unshare is missing")
    conf = tmp_path / "nsswitch.conf"
    conf.write_text("hosts: sockshimprobe files\n")
    mounts = f'mount --bind "{conf}" /etc/nsswitch.conf'
    if hosts is not None:
        (tmp_path / "hosts").write_text(hosts)
        mounts += f' && mount --bind "{tmp_path / "hosts"}" /etc/hosts'
    prefix = [unshare, "-rm", "sh", "-c", f'{mounts} && exec "$@"', "sh"]
    probe = subprocess.run(prefix + ["true"], capture_output=True, timeout=TIMEOUT)
    if probe.returncode != 0:
        pytest.skip("no private mount namespace here: " + probe.stderr.decode())
    # the ThreadSanitizer pass's command dies in a user namespace (its
    # runtime's memory layout), with any program: nothing of sockshim's
    probe = subprocess.run(prefix + [str(SOCKSHIM), "--version"], capture_output=True,
                           timeout=TIMEOUT, env=base_env())
    if probe.returncode != 0:
        pytest.skip(f"sockshim cannot run in a private namespace here (status "
                    f"{probe.returncode}, with this test pass's preload)")
    return prefix


def udp_listener():
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    sock.settimeout(5)
    return sock


def test_the_sockets_an_nss_module_opens_stay_out_of_the_trace(tmp_path):
    prefix = private_nss(tmp_path)
    listener = udp_listener()
    out = tmp_path / "trace"
    env = base_env({"LD_LIBRARY_PATH": str(PROGRAMS),
                    "SOCKSHIM_TEST_NSS_PORT": str(listener.getsockname()[1])})
    proc = subprocess.run(prefix + [str(SOCKSHIM), "-o", str(out), "--",
                                    PYTHON, "-c", PROBE_CLIENT],
                          capture_output=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().splitlines() == [
        "('10.0.0.5', 80)", f"('{PROBE}', [], ['10.0.0.5'])"]
    # the module really made its calls: its datagram came
    assert listener.recv(16) == b"probe"
    lines = [l.body for l in parse_text(out.read_text()) if not l.body.startswith("#")]
    assert lines == [
        f"socket.getaddrinfo('{PROBE}', 80, family=AF_INET, type=SOCK_STREAM) -> "
        "[(AF_INET, SOCK_STREAM, 6, '', ('10.0.0.5', 80))]",
        # Python's gethostbyname_ex() asks getaddrinfo first, then gethostbyname_r
        f"socket.getaddrinfo('{PROBE}', None, family=AF_INET) -> "
        "[(AF_INET, SOCK_STREAM, 6, '', ('10.0.0.5', 0)), "
        "(AF_INET, SOCK_DGRAM, 17, '', ('10.0.0.5', 0)), "
        "(AF_INET, SOCK_RAW, 0, '', ('10.0.0.5', 0))]",
        f"socket.gethostbyname_ex('{PROBE}') -> ('{PROBE}', [], ['10.0.0.5'])",
    ]
    assert re.search(r"# summary of pid \d+ .*: 0 sockets, 0 findings", out.read_text())


def test_a_fault_rule_on_sockets_spares_the_nss_module(tmp_path):
    prefix = private_nss(tmp_path)
    listener = udp_listener()
    out = tmp_path / "trace"
    env = base_env({"LD_LIBRARY_PATH": str(PROGRAMS),
                    "SOCKSHIM_TEST_NSS_PORT": str(listener.getsockname()[1])})
    proc = subprocess.run(prefix + [str(SOCKSHIM), "-o", str(out),
                                    "--fault", "socket,connect,send:error=EACCES", "--",
                                    PYTHON, "-c", PROBE_CLIENT],
                          capture_output=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert listener.recv(16) == b"probe"
    assert "[fault" not in out.read_text()


THREADS = f"""
import socket, threading, time
def resolve():
    socket.getaddrinfo({PROBE!r}, 80, socket.AF_INET, socket.SOCK_STREAM)
resolver = threading.Thread(target=resolve)
resolver.start()
time.sleep(0.1)  # the module holds its socket open for 0.4 s
a, b = socket.socketpair()
a.send(b"mine")
print(b.recv(4))
a.close()
b.close()
resolver.join()
"""


def test_another_threads_calls_during_a_resolution_are_traced(tmp_path):
    """The depth inside a resolution is the thread's own: while one thread
    is inside getaddrinfo (the module's socket open), another's calls are
    the program's."""
    prefix = private_nss(tmp_path)
    listener = udp_listener()
    out = tmp_path / "trace"
    env = base_env({"LD_LIBRARY_PATH": str(PROGRAMS), "SOCKSHIM_TEST_NSS_PAUSE_MS": "400",
                    "SOCKSHIM_TEST_NSS_PORT": str(listener.getsockname()[1])})
    proc = subprocess.run(prefix + [str(SOCKSHIM), "-o", str(out), "--no-summary", "--",
                                    PYTHON, "-c", THREADS],
                          capture_output=True, timeout=TIMEOUT, env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout == b"b'mine'\n"
    assert listener.recv(16) == b"probe"
    lines = parse_text(out.read_text())
    calls = [re.sub(r"sock\d+", "sockN", l.body) for l in lines if not l.body.startswith("#")]
    assert calls == [
        "sockN, sockN = socketpair(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC, 0)",
        "sockN.getsockname() -> ''",  # socket.socket(fileno=...) asks each its family
        "sockN.getsockname() -> ''",
        "sockN.send(b'mine' (4 bytes)) -> 4",
        "sockN.recv(4) -> b'mine' (4 bytes)",
        "sockN.close()",
        "sockN.close()",
        f"socket.getaddrinfo('{PROBE}', 80, family=AF_INET, type=SOCK_STREAM) -> "
        "[(AF_INET, SOCK_STREAM, 6, '', ('10.0.0.5', 80))]",
    ]
    # two threads: the resolution's line is the other thread's
    assert len({l.tid for l in lines if not l.body.startswith("#")}) == 2


MANY_HOSTS = "".join(f"10.0.0.{i} many.test alias{i}\n" for i in range(1, 11))
MANY = """
import socket
socket.getaddrinfo('many.test', 80, socket.AF_INET, socket.SOCK_STREAM)
socket.gethostbyname_ex('many.test')
"""


def test_a_long_result_shows_its_first_eight_entries_and_their_count(tmp_path):
    prefix = private_nss(tmp_path, hosts=MANY_HOSTS)
    for fmt in ("text", "json"):
        out = tmp_path / f"trace.{fmt}"
        proc = subprocess.run(prefix + [str(SOCKSHIM), "--format", fmt, "-o", str(out),
                                        "--", PYTHON, "-c", MANY],
                              capture_output=True, timeout=TIMEOUT, env=base_env())
        assert proc.returncode == 0, proc.stderr.decode()
    lines = [l.body for l in parse_text((tmp_path / "trace.text").read_text())
             if l.body.startswith("socket.")]
    entries = ", ".join(f"(AF_INET, SOCK_STREAM, 6, '', ('10.0.0.{i}', 80))"
                        for i in range(1, 9))
    assert lines[0] == ("socket.getaddrinfo('many.test', 80, family=AF_INET, "
                        f"type=SOCK_STREAM) -> [{entries}, ...] (10 entries)")
    aliases = ", ".join(f"'alias{i}'" for i in range(1, 9))
    addresses = ", ".join(f"'10.0.0.{i}'" for i in range(1, 9))
    assert lines[-1] == (f"socket.gethostbyname_ex('many.test') -> ('many.test', "
                         f"[{aliases}, ...] (10 entries), [{addresses}, ...] (10 entries))")
    records = [json.loads(l) for l in (tmp_path / "trace.json").read_text().splitlines()]
    calls = [r for r in records if r["type"] == "call"]
    assert (len(calls[0]["out"]["addresses"]), calls[0]["out"]["count"]) == (8, 10)
    hostent = calls[-1]["out"]
    assert (len(hostent["aliases"]), hostent["alias_count"]) == (8, 10)
    assert (len(hostent["addresses"]), hostent["count"]) == (8, 10)


DIRECT = """
import ctypes, sys
module = ctypes.CDLL(sys.argv[1])
room = ctypes.create_string_buffer(512)
hostent = ctypes.create_string_buffer(64)
err, herr = ctypes.c_int(0), ctypes.c_int(0)
print(module._nss_sockshimprobe_gethostbyname2_r(b"probe.sockshim.test", 2, hostent, room,
      512, ctypes.byref(err), ctypes.byref(herr)))
"""


def test_the_same_module_called_by_the_program_is_traced(tmp_path):
    """The control of the two tests above: the module's calls go through
    the shim's wrappers, and only being inside a resolution hides them."""
    listener = udp_listener()
    port = listener.getsockname()[1]
    trace = run_traced([PYTHON, "-c", DIRECT, str(NSS_MODULE)], tmp_path, fmt="text",
                       check_exit=0, env={"SOCKSHIM_TEST_NSS_PORT": str(port)})
    assert listener.recv(16) == b"probe"
    calls = [re.sub(r"^sock\d+", "sockN", b) for b in bodies(trace)]
    assert calls == ["sockN = socket(AF_INET, SOCK_DGRAM, 0)",
                     f"sockN.connect(('127.0.0.1', {port})) -> None",
                     "sockN.send(b'probe' (5 bytes)) -> 5", "sockN.close()"]
