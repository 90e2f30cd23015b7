"""sockshim report: merges the JSON traces of a run, pairs the two ends of
connections traced on both sides, and fails a CI job on findings."""
import subprocess

import pytest

from conftest import SOCKSHIM, TIMEOUT, base_env, program, run_traced


def report(tmp_path, *options):
    traces = sorted(str(p) for p in tmp_path.glob("trace*"))
    assert traces, "no trace files"
    return subprocess.run([str(SOCKSHIM), "report", *options, *traces], capture_output=True,
                          timeout=TIMEOUT, env=base_env())


def traced_pair(tmp_path, mode):
    trace = run_traced([program("leaky_pair"), mode], tmp_path, per_pid=True, check_exit=0)
    assert len(list(tmp_path.glob("trace.*"))) == 2  # server and client: two processes
    return trace


def section(text, title):
    """The lines of one section of the report (after its title line)."""
    lines = text.splitlines()
    start = next(i for i, l in enumerate(lines) if l.startswith(title))
    body = []
    for line in lines[start + 1:]:
        if not line.startswith("  "):
            break
        body.append(line.strip())
    return lines[start], body


def test_report_pairs_the_connection_both_processes_traced(tmp_path):
    trace = traced_pair(tmp_path, "clean")
    proc = report(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert out.startswith("sockshim report: 2 traces, 2 processes, ")
    title, pairs = section(out, "connections (both ends traced)")
    assert len(pairs) == 1
    # the client's socket and the server's accepted one, each sent 4 bytes
    # one way and nothing the other
    server = next(e["pid"] for e in trace.events if e["type"] == "start" and
                  e["pid"] == trace.events[0]["pid"])
    assert f"pid {server} sock" in pairs[0]
    assert pairs[0].endswith(": 4 bytes one way, 0 the other") or \
        pairs[0].endswith(": 0 bytes one way, 4 the other")


def test_report_methods_count_every_process(tmp_path):
    traced_pair(tmp_path, "clean")
    out = report(tmp_path).stdout.decode()
    _, rows = section(out, "methods")
    counts = {r.split()[0]: int(r.split()[1]) for r in rows[1:]}
    # two socket() (listener, client), one accept, one connect, one send,
    # one recv; closes: the child's listener copy and client, the parent's
    # connection and listener
    assert counts["socket"] == 2
    assert counts["accept"] == 1 and counts["connect"] == 1
    assert counts["send"] == 1 and counts["recv"] == 1
    assert counts["close"] == 4


def test_report_fails_on_a_leak_in_one_process(tmp_path):
    traced_pair(tmp_path, "leak")
    proc = report(tmp_path, "--fail-on", "leak")
    assert proc.returncode == 1, proc.stdout
    _, findings = section(proc.stdout.decode(), "findings")
    leaks = [f for f in findings if f.startswith("leak ")]
    assert len(leaks) == 1
    assert "a socket created here was never closed (1 time) at main (leaky_pair.c:" in leaks[0]
    # the debug info names the line that created it: the accept
    assert "leaky_pair.c:" in leaks[0]


def test_report_passes_without_the_leak(tmp_path):
    traced_pair(tmp_path, "clean")
    proc = report(tmp_path, "--fail-on", "leak")
    assert proc.returncode == 0
    assert b"findings: none" in proc.stdout


@pytest.mark.parametrize("fail_on, status", [
    ("leak", 1), ("leak,double-close", 1), ("all", 1), ("double-close", 0),
])
def test_fail_on_lists(tmp_path, fail_on, status):
    traced_pair(tmp_path, "leak")
    assert report(tmp_path, f"--fail-on={fail_on}").returncode == status


@pytest.mark.parametrize("args, says", [
    (["--fail-on", "leek"], "unknown finding 'leek'"),
    (["--frobnicate"], "unknown option '--frobnicate'"),
    ([], "no trace to read"),
    (["/nonexistent/trace.jsonl"], "cannot read '/nonexistent/trace.jsonl'"),
])
def test_bad_report_arguments(tmp_path, args, says):
    proc = subprocess.run([str(SOCKSHIM), "report", *args], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 2
    assert says in proc.stderr.decode()


def test_a_text_trace_is_refused_with_a_hint(tmp_path):
    run_traced([program("leaky_pair"), "clean"], tmp_path, fmt="text", check_exit=0)
    proc = report(tmp_path)
    assert proc.returncode == 2
    assert "not a JSON trace line" in proc.stderr.decode()
    assert "--format json" in proc.stderr.decode()
