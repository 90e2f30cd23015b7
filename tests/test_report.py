"""sockshim report: merges the JSON traces of a run, pairs the two ends of
connections traced on both sides, and fails a CI job on findings."""
import importlib.machinery
import importlib.util
import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

import sockshim
from conftest import SOCKSHIM, TIMEOUT, base_env, program, run_traced, scenario

ROOT = Path(__file__).resolve().parent.parent


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


# ---- traces from strangers ----------------------------------------------------

# C0 but newline, DEL, C1, and the bidirectional formatting characters: none
# may reach the terminal from a report
FORBIDDEN = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u061c\u200e\u200f\u202a-\u202e"
                       "\u2066-\u2069]")
# every line of a report: a title, a table row (indented), the first line,
# or empty
REPORT_LINE = re.compile(r"(sockshim report: .*|[a-z].*|  \S.*|)")


def hostile_run(tmp_path):
    work = tmp_path / "w"
    work.mkdir()
    trace = run_traced([*scenario("hostile_names.py"), str(work)], tmp_path, per_pid=True,
                       check_exit=0)
    names = json.loads(trace.proc.stdout)
    return trace, {k: bytes.fromhex(v) for k, v in names.items()}


def assert_terminal_safe(out):
    text = out.decode("utf-8", "strict")
    assert not FORBIDDEN.search(text), FORBIDDEN.findall(text)
    for line in text.splitlines():
        assert REPORT_LINE.fullmatch(line), line
        assert "FORGED" not in line or line.startswith("  "), line


def test_report_escapes_hostile_unix_names(tmp_path):
    """A peer's unix path (ESC, BEL, newline, a forged report line, U+202E;
    bytes that are not UTF-8) and an abstract name (0xff, NUL, newline)
    reach the report escaped as the text trace escapes them."""
    _, names = hostile_run(tmp_path)
    proc = report(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert_terminal_safe(proc.stdout)
    out = proc.stdout.decode()
    # the text trace's forms: Python's repr of the name (os.fsdecode for a path)
    forger, not_utf8 = repr(os.fsdecode(names["forger"])), repr(os.fsdecode(names["not_utf8"]))
    abstract = repr(b"\0" + names["abstract"])
    _, pairs = section(out, "connections (both ends traced)")
    assert any(f"{not_utf8} <-> " in p and p.endswith(f"{forger}: 2 bytes one way, 0 the other")
               for p in pairs), pairs
    assert any(p.endswith(f"{abstract}: 2 bytes one way, 0 the other") for p in pairs), pairs
    _, rows = section(out, "sockets")
    assert sum(f" {not_utf8} -> {forger} " in r for r in rows) == 1
    assert sum(f" {abstract} -> None " in r for r in rows) == 1


def test_hostile_names_parse_in_jansson_python_and_jq(tmp_path):
    """Every line of a trace of hostile names parses in Python's json, in jq
    and (report) in jansson, and jq reads what Python reads; the names come
    back exact from their _hex twins."""
    trace, names = hostile_run(tmp_path)
    files = sorted(tmp_path.glob("trace.*"))
    events = [json.loads(line) for f in files for line in f.read_text().splitlines()]
    jq = shutil.which("jq")
    if jq is None:
        pytest.skip("jq is not installed (tools/check installs it)")
    for f in files:
        proc = subprocess.run([jq, "-c", "."], stdin=f.open("rb"), capture_output=True,
                              timeout=TIMEOUT, check=True)
        lines = f.read_text().splitlines()
        assert [json.loads(x) for x in proc.stdout.decode().splitlines()] == \
            [json.loads(x) for x in lines]
    assert report(tmp_path).returncode == 0
    bound = [sockshim.address_bytes(e["args"]["addr"]) for e in events
             if e["type"] == "call" and e["op"] == "bind"]
    assert bound == [names["forger"], names["not_utf8"], b"\0" + names["abstract"]]
    hexed = [e for e in events if e["type"] == "call" and e["op"] == "bind"
             and "path_hex" in e["args"]["addr"]]
    assert [e["args"]["addr"]["path"] for e in hexed] == ["bad\ufffd\ufffd\x1b[31m\nname"]


def write_trace(tmp_path, records, tail="\n"):
    path = tmp_path / "trace.jsonl"
    path.write_text("\n".join(r if isinstance(r, str) else json.dumps(r)
                              for r in records) + tail)
    return path


START = {"v": 2, "type": "start", "ts": "2026-12-06T00:00:00.000000Z", "pid": 7,
         "tid": 7, "ppid": 1, "exe": "prog", "version": "0.1.0", "strsize": 32}


def send(ret, dur_ns=1, sid=1):
    return {"v": 2, "type": "call", "ts": "2026-12-06T00:00:01.000000Z", "pid": 7,
            "tid": 7, "op": "send", "call": "send", "fd": 3,
            "sock": {"id": sid, "family": "AF_INET", "type": "SOCK_STREAM", "proto": 0,
                     "laddr": None, "raddr": None, "state": [], "blocking": True},
            "args": {}, "ret": ret, "out": None, "dur_ns": dur_ns}


def test_report_sums_saturate(tmp_path):
    """Totals of INT64_MAX-sized sends and durations stop at 2^64 - 1: no
    signed overflow (the ASan+UBSan build of tools/check aborts on one),
    no negative byte count."""
    big = 2**63 - 1
    write_trace(tmp_path, [START] + [send(big, big)] * 3)
    proc = report(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    _, rows = section(out, "methods")
    [row] = [r for r in rows if r.startswith("send ")]
    assert row.split()[:5] == ["send", "3", "0", "0", str(2**64 - 1)]
    _, socks = section(out, "sockets")
    assert socks[0].endswith(f"sent {2**64 - 1}, received 0")
    assert "-" not in row.split()[4]


@pytest.mark.parametrize("record, says", [
    (send(-5), "'ret' is not an integer from 0 to"),
    (send(5, -1), "'dur_ns' is not an integer from 0 to"),
    (send(5, 1.5), "'dur_ns' is not an integer"),
    (dict(send(5), ret="5"), "'ret' is not an integer"),
    (dict(send(5), v=99), "'v' is not an integer from 1 to 2"),
    (dict(send(5), pid=None), "no 'pid'"),
    (dict(send(5), sock={"id": "x"}), "'id' is not an integer"),
    (dict(send(5), sock=[1]), "'sock' is not an object"),
    (dict(send(5), ts="9" * 40), "'ts' is too long"),
    (dict(START, exe=5), "'exe' is not a string"),
    (dict(START, exe_hex="zz"), "'exe_hex' is not hex digits"),
    (dict(START, exe_hex="abc"), "'exe_hex' is not hex digits"),
    ({"v": 2, "type": "summary", "pid": 7, "findings": {}}, "'findings' is not a list"),
    ({"v": 2, "type": "finding", "pid": 7, "code": "leak", "where": 3},
     "'where' is not an object"),
    ({"v": 2, "type": "call", "pid": 7, "op": "send",
      "sock": {"id": 1, "laddr": {"port": 70000}}}, "'port' is not an integer from 0 to 65535"),
    ('{"v": 2, "type": "call", "type": "call", "pid": 7}', "duplicate object key"),
    ('{"v": 2, "pid": 99999999999999999999}', "too big"),
    ('[' * 5000, "maximum parsing depth"),
    # jansson quotes the token it stopped at: an ESC, shown escaped
    ('{"v": 2, "type": "start", "pid": 7, "exe": 1\x1b[31m}', r"'}' expected near '\x1b'"),
    ('{"v": 2, "type": "start", "pid": 7, "exe": "\x1b]0;pwned\x07"}', "control character 0x1b"),
    (b'{"v": 2, "type": "start", "pid": 7, "exe": "\xff"}', "unable to decode byte 0xff"),
], ids=lambda x: None)
def test_report_refuses_a_bad_record(tmp_path, record, says):
    """A record that fails its checks is an error naming the file and line,
    status 2; the error quotes nothing raw from the trace."""
    path = tmp_path / "trace.jsonl"
    line = record if isinstance(record, bytes) else \
        (record if isinstance(record, str) else json.dumps(record)).encode()
    path.write_bytes(json.dumps(START).encode() + b"\n" + line + b"\n")
    proc = report(tmp_path)
    assert proc.returncode == 2, proc.stdout
    err = proc.stderr.decode()
    assert err.startswith(f"sockshim report: {path}:2: "), err
    assert says in err, err
    assert not FORBIDDEN.search(err) and err.count("\n") == 1, err


def test_a_hostile_trace_file_name_is_shown_escaped(tmp_path):
    """Traces travel as files whose names the sender chose: report names
    a bad one escaped, as the text trace escapes a name."""
    path = tmp_path / "run\x1b]0;pwned\x07\n01:00:00.000000 [1] # FORGED.jsonl"
    path.write_bytes(json.dumps(START).encode() + b"\n{}\n")
    proc = subprocess.run([SOCKSHIM, "report", str(path)], capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 2, proc.stdout
    err = proc.stderr.decode()
    assert err == (f"sockshim report: {tmp_path}/run\\x1b]0;pwned\\x07\\n01:00:00.000000 [1] "
                   "# FORGED.jsonl:2: a bad record: no 'v'\n"), err


def test_report_leaves_out_a_cut_last_line(tmp_path):
    """The last line of a run still going (or killed) may lack its end: it
    is left out with a note, and the rest is reported."""
    path = write_trace(tmp_path, [START, send(5), json.dumps(send(7))[:40]], tail="")
    proc = report(tmp_path)
    assert proc.returncode == 0, proc.stderr
    assert f"{path}:3: the last line is cut short" in proc.stderr.decode()
    _, rows = section(proc.stdout.decode(), "methods")
    assert [r.split()[:5] for r in rows if r.startswith("send ")] == [["send", "1", "0", "0", "5"]]


def load_report_scale():
    path = ROOT / "tools" / "bench" / "report-scale"
    loader = importlib.machinery.SourceFileLoader("report_scale", str(path))
    module = importlib.util.module_from_spec(importlib.util.spec_from_loader(loader.name, loader))
    loader.exec_module(module)
    return module


def test_report_of_a_large_trace_pairs_every_connection(tmp_path):
    """tools/bench/report-scale's synthetic trace of 20,000 sockets (10,000
    connections): every connection paired, every socket listed. (Its time
    is measured by tools/bench/report-scale, not here.)"""
    records = load_report_scale().synthetic_trace(str(tmp_path / "trace.jsonl"), 20000)
    proc = report(tmp_path)
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout.decode()
    assert out.startswith("sockshim report: 1 trace, 2 processes, 20001 sockets, 100 findings")
    _, pairs = section(out, "connections (both ends traced)")
    assert len(pairs) == 10000
    assert all(p.endswith(": 5 bytes one way, 0 the other") for p in pairs)
    assert pairs[0].startswith("pid 1000 sock4 ('127.0.0.1', 10000) <-> pid 2000 sock4 ")
    _, socks = section(out, "sockets")
    assert len(socks) == 20001
    _, rows = section(out, "methods")
    counts = {r.split()[0]: int(r.split()[1]) for r in rows[1:]}
    assert counts["send"] == counts["recv"] == counts["accept"] == 10000
    assert records > 70000
