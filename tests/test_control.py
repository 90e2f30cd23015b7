"""Live control: rules added and removed while the program runs, from the
shell (sockshim ctl) and from Python (sockshim.start): docs/control.md."""
import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
from datetime import datetime

import pytest

from conftest import SOCKSHIM, base_env, free_ports, program, scenario, sockshim


def ctl(directory, *args):
    return subprocess.run([str(SOCKSHIM), "ctl", "--dir", str(directory), *args],
                          capture_output=True, env=base_env(), timeout=30)


def wait_for(predicate, timeout=10):
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def attempts(path):
    return [int(l.split()[1]) for l in path.read_text().splitlines() if l.startswith("attempt")]


def stamp(record):
    return datetime.fromisoformat(record["ts"].rstrip("Z")).timestamp()


@contextlib.contextmanager
def control_client(tmp_path):
    """tests/scenarios/control_client.py under `sockshim --control`, its
    connects traced as JSON, once its socket is there and it has made 3
    attempts: yields (port, control dir, its output, the trace, the
    command's Popen); at the end, stops it and checks it ended well."""
    [port] = free_ports(1)
    control, out, stop = tmp_path / "control", tmp_path / "out", tmp_path / "stop"
    trace = tmp_path / "trace.jsonl"
    cmd = [str(SOCKSHIM), "--control-dir", str(control), "--format", "json", "-o", str(trace),
           "-e", "connect,connect_ex", "--", sys.executable,
           scenario("control_client.py")[-1], str(port), str(stop)]
    with open(out, "w") as sink:
        run = subprocess.Popen(cmd, stdout=sink, env=base_env())
    try:
        wait_for(lambda: (control / f"{run.pid}.sock").exists() and len(attempts(out)) >= 3)
        yield port, control, out, trace, run
    finally:
        stop.touch()
        assert run.wait(timeout=30) == 0


def test_ctl_add_and_del_change_a_running_client(tmp_path):
    """A client connecting every 50 ms: `ctl add 'connect:error=ECONNREFUSED'`
    makes its next connects fail and `ctl del` makes them succeed again;
    the trace shows the rule's addition and removal between the right
    calls, and list/--list show the run and its rules."""
    with control_client(tmp_path) as (port, control, out, trace, run):
        listed = ctl(control, "--list")
        assert listed.returncode == 0 and listed.stdout.decode().startswith(f"{run.pid} ")
        added = ctl(control, str(run.pid), "add", f"connect:error=ECONNREFUSED:port={port}")
        assert added.returncode == 0, added.stderr
        assert added.stdout.decode() == "fault #1 added\n"
        assert ctl(control, str(run.pid), "list").stdout.decode() == \
            f"#1 connect:error=ECONNREFUSED:port={port}\n"
        wait_for(lambda: attempts(out).count(111) >= 4)
        removed = ctl(control, str(run.pid), "del", "1")
        assert removed.returncode == 0 and removed.stdout.decode() == "fault #1 removed\n"
        n = len(attempts(out))
        wait_for(lambda: len(attempts(out)) >= n + 4)
    results = attempts(out)
    first, last = results.index(111), len(results) - 1 - results[::-1].index(111)
    assert set(results[first:last + 1]) == {111} and results[last + 1:] and \
        set(results[last + 1:]) == {0} and set(results[:first]) == {0}
    records = [json.loads(l) for l in trace.read_text().splitlines()]
    changes = [r for r in records if r.get("type") == "rule"]
    assert [(r["rule"], r["change"]) for r in changes] == [(1, "added"), (1, "removed")]
    calls = [r for r in records if r.get("type") == "call"]
    faulted = [r for r in calls if "fault" in r]
    assert len(faulted) == results.count(111)
    # the addition comes before the first faulted call, the removal after
    # the last; each call outside is unfaulted
    at = [records.index(r) for r in (changes[0], faulted[0], faulted[-1], changes[1])]
    assert at == sorted(at)
    assert all("fault" not in r for r in calls
               if records.index(r) < at[0] or records.index(r) > at[3])
    assert not (control / f"{run.pid}.sock").exists()     # gone with the run


def test_ctl_refuses_bad_rules_and_unknown_numbers(tmp_path):
    """A bad rule is refused with the command line's message and status 2,
    and the rules in force stay as they were; del of a number not in force
    is refused too."""
    control = tmp_path / "control"
    with sockshim.start(["sleep", "30"], ["recv:delay=1ms"], control_dir=control,
                        sockshim=SOCKSHIM, env=base_env()) as run:
        bad = ctl(control, str(run.pid), "add", "send:short=0")
        assert bad.returncode == 2
        message = bad.stderr.decode()
        assert message.startswith("sockshim ctl: ") and "short=0" in message, message
        assert "^" in message                            # the bad token, pointed at
        check = subprocess.run([str(SOCKSHIM), "--fault", "send:short=0", "--", "true"],
                               capture_output=True, env=base_env())
        assert check.returncode == 2
        assert message.splitlines()[0].removeprefix("sockshim ctl: ") in \
            check.stderr.decode()
        assert run.rules() == [(1, "recv:delay=1ms")]
        missing = ctl(control, str(run.pid), "del", "7")
        assert missing.returncode == 2 and "no rule #7 in force" in missing.stderr.decode()
        with pytest.raises(sockshim.SockshimError, match="short=0"):
            run.add_fault("send:short=0")
        with pytest.raises(sockshim.SockshimError, match="one line"):
            run.add_fault("send:short=1\nclear")            # never a second request
        assert run.rules() == [(1, "recv:delay=1ms")]
        injected = ctl(control, str(run.pid), "stats", "json\nclear")
        assert injected.returncode == 2 and run.rules() == [(1, "recv:delay=1ms")]
        usage = ctl(control, str(run.pid), "frobnicate")
        assert usage.returncode == 2 and "frobnicate" in usage.stderr.decode()


def test_ctl_against_a_run_that_is_gone_or_never_was(tmp_path):
    """A stale socket (its run ended without removing it) and a run that
    does not exist get clear messages and status 1."""
    control = tmp_path / "control"
    control.mkdir(mode=0o700)
    stale = control / "4242.sock"
    s = socket.socket(socket.AF_UNIX)
    s.bind(str(stale))
    s.close()
    gone = ctl(control, "4242", "list")
    assert gone.returncode == 1
    assert "run 4242 has ended (stale control socket" in gone.stderr.decode()
    never = ctl(control, "4343", "list")
    assert never.returncode == 1
    assert "no run 4343 (no control socket at" in never.stderr.decode()


@pytest.mark.skipif(os.geteuid() != 0 or shutil.which("setpriv") is None,
                    reason="needs root and setpriv to act as a second user")
def test_another_user_cannot_reach_the_control_socket(tmp_path):
    """The control socket is the user's alone: 'nobody' cannot connect to it
    (permission denied), through ctl or directly."""
    control = tmp_path / "control"
    os.chmod(tmp_path, 0o755)
    with sockshim.start(["sleep", "30"], control_dir=control, sockshim=SOCKSHIM,
                        env=base_env()) as run:
        assert (os.stat(control).st_mode & 0o777) == 0o700
        assert (os.stat(run.control).st_mode & 0o777) == 0o600
        nobody = subprocess.run(["setpriv", "--reuid=nobody", "--regid=nogroup",
                                 "--clear-groups", str(SOCKSHIM), "ctl", str(run.control),
                                 "list"], capture_output=True, env=base_env(), timeout=30)
        assert nobody.returncode == 1
        assert "permission denied" in nobody.stderr.decode()
        assert run.rules() == []


def test_rules_change_while_threads_send(tmp_path):
    """ctl add/del in a loop while 8 threads connect, send and receive: the
    program ends well, and every faulted call's rule was in force during
    the call (added before it ended, removed after it began)."""
    control = tmp_path / "control"
    with sockshim.start([program("threads_churn"), "8", "1500"], control_dir=control,
                        sockshim=SOCKSHIM, env=base_env(), stdout=subprocess.PIPE) as run:
        numbers = []
        while run.popen.poll() is None and len(numbers) < 200:
            try:
                numbers.append(run.add_fault("recv:short=2"))
                time.sleep(0.005)
                run.remove(numbers[-1])
            except sockshim.SockshimError:
                break                                   # the run ended meanwhile
        result = run.wait(timeout=120)
    assert result.returncode == 0, result.stderr
    assert numbers == list(range(1, len(numbers) + 1)) and len(numbers) >= 5
    added, removed = {}, {}
    for r in result.events:
        if r.get("type") == "start":     # rules in force when the process started
            added.update({(r["pid"], n): stamp(r) for n in r.get("rules", [])})
        if r.get("type") == "rule":
            (added if r["change"] == "added" else removed)[(r["pid"], r["rule"])] = stamp(r)
    faulted = [r for r in result.calls if "fault" in r]
    for r in faulted:
        key = (r["pid"], r["fault"]["rule"])
        end = stamp(r)
        begin = end - r["dur_ns"] / 1e9
        assert key in added and added[key] <= end + 1e-6, r
        assert key not in removed or removed[key] >= begin - 1e-6, r


def redis_ping(port):
    """PING on a fresh connection: True for +PONG, False for a connection
    the server broke (reset, closed) or a timeout."""
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=2) as s:
            s.sendall(b"*1\r\n$4\r\nPING\r\n")
            return s.recv(64) == b"+PONG\r\n"
    except OSError:
        return False


@pytest.mark.skipif(shutil.which("redis-server") is None, reason="redis-server is not installed")
def test_python_handle_drives_redis_through_a_fault_window(tmp_path):
    """sockshim.start() runs redis-server; inside `with server.fault(...)` its
    receives reset every connection, so a bare client's PING fails; after
    the block the same client gets PONG again, and the trace shows the
    rule's window."""
    [port] = free_ports(1)
    data = tmp_path / "data"
    data.mkdir()
    argv = ["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
            "--appendonly", "no", "--dir", str(data), "--daemonize", "no"]
    with sockshim.start(argv, sockshim=SOCKSHIM, env=base_env(),
                        stdout=subprocess.DEVNULL) as server:
        wait_for(lambda: redis_ping(port))
        with server.fault(f"recv:reset:port={port}") as number:
            assert number == 1 and server.rules() == [(1, f"recv:reset:port={port}")]
            assert not redis_ping(port)
            assert not redis_ping(port)
        assert server.rules() == []
        assert redis_ping(port)
        # events() reads the trace as far as it is written: the records come
        wait_for(lambda: [(r["rule"], r["change"]) for r in server.events()
                          if r.get("type") == "rule"] == [(1, "added"), (1, "removed")])
    result = server.result
    faulted = [r for r in result.calls if "fault" in r]
    assert len(faulted) >= 2 and all(r["error"]["name"] == "ECONNRESET" for r in faulted)


def test_a_rule_added_with_for_ends_by_itself(tmp_path):
    """A rule added with for=300ms counts from its addition, not from the
    run's start: the client's connects fail for about 300 ms after the add,
    then succeed again without a del."""
    [port] = free_ports(1)
    out, stop = tmp_path / "out", tmp_path / "stop"
    with open(out, "w") as sink:
        run = sockshim.start([sys.executable, scenario("control_client.py")[-1], str(port),
                              str(stop)], sockshim=SOCKSHIM, env=base_env(), stdout=sink)
    try:
        time.sleep(1.0)                                 # well past the run's first 300 ms
        run.add_fault(f"connect:error=ECONNREFUSED:port={port}:for=300ms")
        wait_for(lambda: 111 in attempts(out))
        wait_for(lambda: attempts(out)[-1] == 0 and attempts(out).count(111) >= 2)
        assert run.rules() == [(1, f"connect:error=ECONNREFUSED:port={port}:for=300ms")]
    finally:
        stop.touch()
        result = run.wait(timeout=30)
    assert result.returncode == 0
    results = attempts(out)
    refused = results.count(111)
    assert 2 <= refused <= 8                            # 300 ms of 50 ms attempts
    first = results.index(111)
    assert set(results[first:first + refused]) == {111}  # one window, then connects again


def test_pause_and_resume_keep_calls_out_of_the_trace(tmp_path):
    """ctl pause stops the calls' lines, and faults go on meanwhile; ctl
    resume brings them back, and the process says how many calls it did
    not write: the calls written and not written add up to the client's
    attempts, and no call is written between the two records."""
    with control_client(tmp_path) as (port, control, out, trace, run):
        paused = ctl(control, str(run.pid), "pause")
        assert paused.returncode == 0 and paused.stdout.decode() == "tracing paused\n"
        n = len(attempts(out))
        assert ctl(control, str(run.pid), "add",
                   f"connect:error=ECONNREFUSED:port={port}").returncode == 0
        wait_for(lambda: attempts(out)[n:].count(111) >= 3)
        assert ctl(control, str(run.pid), "clear").returncode == 0
        resumed = ctl(control, str(run.pid), "resume")
        assert resumed.returncode == 0 and resumed.stdout.decode() == "tracing resumed\n"
        n = len(attempts(out))
        wait_for(lambda: len(attempts(out)) >= n + 3)
    records = [json.loads(l) for l in trace.read_text().splitlines()]
    changes = [(i, r) for i, r in enumerate(records) if r.get("type") == "tracing"]
    assert [r["change"] for _, r in changes] == ["paused", "resumed"]
    (begin, _), (end, resumed) = changes
    calls = [i for i, r in enumerate(records) if r.get("type") == "call"]
    assert not [i for i in calls if begin < i < end]
    assert calls[0] < begin and calls[-1] > end
    results = attempts(out)
    assert len(calls) + resumed["not_written"] == len(results)
    assert resumed["not_written"] >= results.count(111) >= 3   # faulted while paused
    assert "fault" not in json.dumps([records[i] for i in calls])


def test_stats_shows_the_live_summary(tmp_path):
    """ctl stats (and Running.stats()) while the program runs: its sockets
    open now, its calls by method with their faults and bytes, its
    findings so far, and a forked child that ended, in the ended row."""
    stop = tmp_path / "stop"
    run = sockshim.start([sys.executable, scenario("stats_program.py")[-1], str(stop)],
                         ["send:short=10:when=1"], sockshim=SOCKSHIM, env=base_env(),
                         stdout=subprocess.PIPE)
    try:
        assert run.popen.stdout.readline() == b"ready\n"
        stats = run.stats()
        [proc] = stats["processes"]
        assert proc["pid"] != run.pid and proc["exe"].startswith("python3")
        assert proc["sockets_open"] == 5 and proc["sockets_made"] == 5
        send = proc["methods"]["send"]
        assert (send["calls"], send["faults"], send["bytes"]) == (2, 1, 110)
        assert proc["methods"]["accept"]["calls"] == 2
        assert proc["methods"]["connect"]["calls"] == 2
        assert proc["findings"] == {"lost-bytes": 1}
        ended = stats["ended"]
        assert ended["processes"] == 1 and ended["sockets_made"] == 1
        assert ended["methods"]["socket"]["calls"] == 1 and "sockets_open" not in ended
        assert stats["not_counted"] == 0
        text = ctl(run.control.parent, str(run.control), "stats")
        assert text.returncode == 0, text.stderr
        lines = text.stdout.decode().splitlines()
        assert lines[0].startswith(f"pid {proc['pid']} 'python3")
        assert lines[0].endswith(": 5 sockets open (5 made), " + lines[0].split("made), ")[1])
        assert "1 fault, 1 finding (lost-bytes 1)" in lines[0]
        assert lines[1].split() == ["method", "calls", "errors", "faults", "bytes", "time"]
        assert ["send", "2", "0", "1", "110"] == \
            next(l.split()[:5] for l in lines if l.split()[0] == "send")
        assert "ended: 1 process: 1 socket made, " in text.stdout.decode()
        bad = ctl(run.control.parent, str(run.control), "stats", "xml")
        assert bad.returncode == 2 and "'xml'" in bad.stderr.decode()
    finally:
        stop.touch()
        result = run.wait(timeout=30)
    assert result.returncode == 0
    # the summary at exit counts what stats counted (the counters are one)
    [summary] = [r for r in result.events
                 if r.get("type") == "summary" and r["pid"] == proc["pid"]]
    rows = {m["op"]: m for m in summary["methods"]}
    assert rows["send"]["calls"] == 2 and rows["send"]["bytes"] == 110


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark is missing")
def test_rule_changes_are_packets_of_the_capture(tmp_path):
    """With --pcap, each rule added or removed while the run goes on is a
    packet of a second interface, once however many processes take it: a
    syslog message Wireshark lists, with the change as its comment."""
    [port] = free_ports(1)
    out, stop, pcap = tmp_path / "out", tmp_path / "stop", tmp_path / "cap.pcapng"
    with open(out, "w") as sink:
        run = sockshim.start([sys.executable, scenario("control_client.py")[-1], str(port),
                              str(stop)], sockshim=SOCKSHIM, env=base_env(), stdout=sink,
                             options=["--pcap", str(pcap)])
    try:
        wait_for(lambda: len(attempts(out)) >= 2)
        number = run.add_fault(f"connect:error=ECONNREFUSED:port={port}")
        wait_for(lambda: 111 in attempts(out))
        run.remove(number)
        n = len(attempts(out))
        wait_for(lambda: len(attempts(out)) >= n + 2)
    finally:
        stop.touch()
        assert run.wait(timeout=30).returncode == 0
    rows = subprocess.run(["tshark", "-r", str(pcap), "-Y", "frame.interface_id == 1", "-T",
                           "fields", "-e", "_ws.col.Info", "-e", "frame.comment"],
                          capture_output=True, timeout=60).stdout.decode().splitlines()
    rule = f"connect:error=ECONNREFUSED:port={port}"
    assert rows == [f"USER.NOTICE: sockshim fault #1 added: {rule}\t"
                    f"sockshim fault #1 added: {rule}",
                    f"USER.NOTICE: sockshim fault #1 removed: {rule}\t"
                    f"sockshim fault #1 removed: {rule}"]


def test_a_wait_lets_go_when_its_rule_is_removed(tmp_path):
    """A server waits in select() with no timeout while recv:blackhole
    holds its connection's bytes back; when the rule is removed, the wait
    looks at the board and lets them go: the server gets them without
    making any other call."""
    run = sockshim.start([sys.executable, scenario("select_reader.py")[-1]],
                         ["recv:blackhole"], sockshim=SOCKSHIM, env=base_env(),
                         stdout=subprocess.PIPE)
    try:
        port = int(run.popen.stdout.readline().split()[1])
        with socket.create_connection(("127.0.0.1", port)) as client:
            client.sendall(b"hello")
            time.sleep(0.5)
            assert run.popen.poll() is None          # the bytes are held back
            run.remove(1)
            assert run.popen.stdout.readline() == b"got hello\n"
    finally:
        result = run.wait(timeout=30)
    assert result.returncode == 0
    # one receive, after the wait: nothing else took the rule's removal in
    assert [r["ret"] for r in result.calls if r["op"] == "recv"] == [5]
