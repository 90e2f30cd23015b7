"""Rules aimed at one process of many (exe=, pid=) and at a time of the run
(at=, for=): docs/faults.md, "Filters"."""
import subprocess
from datetime import datetime

from conftest import SOCKSHIM, base_env, free_ports, program, run_traced, scenario


def test_a_window_faults_exactly_the_calls_inside_it(tmp_path):
    """connect:error=ECONNREFUSED:at=0.5s:for=500ms: a client connecting
    every 100 ms is refused only between 0.5 s and 1 s of the run, by the
    calls' own timestamps, and connects before and after."""
    [port] = free_ports(1)
    trace = run_traced(scenario("phases.py") + [str(port)], tmp_path, fmt="json",
                       options=["-e", "connect,connect_ex"], check_exit=0,
                       faults=["connect:error=ECONNREFUSED:at=0.5s:for=500ms"])
    calls = [r for r in trace.calls if r["op"] in ("connect", "connect_ex")]
    refused = [r for r in calls if "fault" in r]
    assert 3 <= len(refused) <= 6
    assert all(r["error"]["name"] == "ECONNREFUSED" for r in refused)
    # one block: every call before the window connects, every call after too
    first = calls.index(refused[0])
    assert calls[first:first + len(refused)] == refused
    assert first >= 2 and len(calls) - (first + len(refused)) >= 2
    # by the calls' own times: the block lasts at most the window, the
    # calls around it are outside it
    t = [datetime.fromisoformat(r["ts"].rstrip("Z")).timestamp() for r in calls]
    last = first + len(refused) - 1
    assert t[last] - t[first] <= 0.5
    assert t[last + 1] - t[first - 1] >= 0.5
    results = [int(a.split(":")[1]) for a in trace.proc.stdout.decode().split()]
    assert results.count(111) == len(refused)


def test_exe_picks_one_program_of_a_run(tmp_path):
    """exe=connect_attempts under a shell that runs it and a Python client:
    only the C program's connects fail; with exe=python3* only Python's."""
    [port] = free_ports(1)
    py = ("import socket,sys; l=socket.create_server(('127.0.0.1',%d)); "
          "c=socket.socket(); print('python', c.connect_ex(('127.0.0.1',%d)))" % (port, port))
    script = f"{program('connect_attempts')} each 2; python3 -c \"{py}\""
    for rule, c_refused, py_result in (("exe=connect_attempts", True, "0"),
                                       ("exe=python3*", False, "111")):
        r = subprocess.run([str(SOCKSHIM), "-o", str(tmp_path / "t.txt"), "--fault",
                            f"connect:error=ECONNREFUSED:{rule}", "--", "sh", "-c", script],
                           capture_output=True, env=base_env(), timeout=60)
        out = r.stdout.decode()
        assert r.returncode == 0, r.stderr
        assert ("attempt 1: ECONNREFUSED" in out) == c_refused, out
        assert ("attempt 2: ok" in out) == (not c_refused), out
        assert f"python {py_result}" in out, out


def test_pid_picks_one_process(tmp_path):
    """pid=: a rule aimed at a process's own pid fails its connect, and not
    that of the child it forks."""
    [port] = free_ports(1)
    r = subprocess.run([str(SOCKSHIM), "-o", str(tmp_path / "t.txt"), "--",
                        "python3", scenario("pid_filter.py")[-1], str(port)],
                       capture_output=True, env=base_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout.decode().split("\n")[:2] == ["child 0", "parent 111"]


def test_bad_process_and_time_filters_are_refused():
    for rule, says in (("connect:error=EPIPE:exe=/usr/bin/curl", "bad exe '/usr/bin/curl'"),
                       ("connect:error=EPIPE:pid=0", "pid"),
                       ("connect:error=EPIPE:for=0s", "bad for '0s'"),
                       ("connect:error=EPIPE:at=soon", "bad at 'soon'"),
                       ("connect:error=EPIPE:at=1s:at=2s", "at=")):
        r = subprocess.run([str(SOCKSHIM), "--fault", rule, "--", "true"],
                           capture_output=True, env=base_env())
        assert r.returncode == 2, rule
        assert says in r.stderr.decode(), (rule, r.stderr)


def test_a_fault_file_of_phases(tmp_path):
    """A fault file written as phases: 'at 0.5s: RULE' gets at=, 'at 1s:
    clear' ends the rules in force with for=, a later phase starts another
    rule; the run does what the file says, in order, and the trace's
    header shows the rules as they were made."""
    [port] = free_ports(1)
    faults = tmp_path / "scenario.txt"
    faults.write_text("# redis goes away, comes back, then the network breaks\n"
                      f"at 0.5s: connect:error=ECONNREFUSED:port={port}\n"
                      "at 1s: clear\n"
                      f"at 1.2s: connect:error=ENETUNREACH:port={port}\n")
    trace = tmp_path / "trace.txt"
    r = subprocess.run([str(SOCKSHIM), "-o", str(trace), "--fault-file", str(faults), "--",
                        *scenario("phases.py"), str(port)],
                       capture_output=True, env=base_env(), timeout=60)
    assert r.returncode == 0, r.stderr
    results = [int(a.split(":")[1]) for a in r.stdout.decode().split()]
    # before 0.5 s: connects; then refused; then connects; then unreachable
    runs = [k for i, k in enumerate(results) if i == 0 or results[i - 1] != k]
    assert runs == [0, 111, 0, 101], results
    header = [l for l in trace.read_text().splitlines() if "# fault #" in l]
    assert f"'connect:error=ECONNREFUSED:port={port}:at=500ms:for=500ms'" in header[0]
    assert f"'connect:error=ENETUNREACH:port={port}:at=1200ms'" in header[1]


def test_bad_phases_are_refused(tmp_path):
    for text, says in (("at 1s: connect:error=EPIPE\nat 0.5s: clear\n",
                        "scenario.txt:2: phases go in time order"),
                       ("at soon: clear\n", "scenario.txt:1: bad phase time 'soon'"),
                       ("at 1s: connect:error=EPIPE:at=2s\n",
                        "scenario.txt:1: a phase's rule takes its at= from the phase"),
                       ("at 1s: clear\nconnect:error=EPIPE\n",
                        "scenario.txt:2: after an 'at' line every line is"),
                       ("at 1s connect:error=EPIPE\n",
                        "scenario.txt:1: bad phase time '1s connect'")):
        faults = tmp_path / "scenario.txt"
        faults.write_text(text)
        r = subprocess.run([str(SOCKSHIM), "--fault-file", str(faults), "--", "true"],
                           capture_output=True, env=base_env())
        assert r.returncode == 2, text
        assert says in r.stderr.decode(), (text, r.stderr)
