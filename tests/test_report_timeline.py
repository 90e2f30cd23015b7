"""sockshim report's timeline: --perfetto (Chrome trace-event JSON), --html
(the page's data blob, docs/report.md "The data"), the connection table
and the merging of traces of several hosts (network namespaces here, and a
trace whose clock the test moves)."""
import datetime
import json
import os
import re
import shutil
import signal
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from test_report import section
from conftest import (PYTHON, SOCKSHIM, TIMEOUT, base_env, curl_or_skip, free_ports, program,
                      run_traced, scenario)

DATA_RE = re.compile(rb'<script id="sockshim-data" type="application/json">(.*?)</script>',
                     re.S)


def report(paths, *options, check=True):
    proc = subprocess.run([str(SOCKSHIM), "report", *options, *map(str, paths)],
                          capture_output=True, timeout=TIMEOUT, env=base_env())
    if check:
        assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    return proc


def records(paths):
    return [json.loads(line) for p in paths for line in Path(p).read_text().splitlines()
            if line.strip()]


def traces(tmp_path):
    return sorted(p for p in tmp_path.glob("trace*") if p.is_file())


def views(tmp_path, paths):
    """The text report, the Perfetto document and the page's data."""
    perfetto, page = tmp_path / "run.perfetto.json", tmp_path / "run.html"
    proc = report(paths, "--perfetto", perfetto, "--html", page)
    return proc.stdout.decode(), json.loads(perfetto.read_text()), page_data(page)


def page_data(page):
    raw = page.read_bytes()
    blobs = DATA_RE.findall(raw)
    assert len(blobs) == 1, "one data blob"
    blob = blobs[0]
    # nothing in the blob can end the script element or open a comment
    assert b"<" not in blob and b">" not in blob and b"&" not in blob
    return json.loads(blob)


# ---- what each view must hold -------------------------------------------------------

def check_perfetto(doc, recs):
    """The trace-event format: every event has ph, pid and tid, every timed
    one a ts; a slice per call record; flows pair by id; an instant per
    fault and per finding record."""
    assert doc["displayTimeUnit"] == "ns"
    events = doc["traceEvents"]
    for e in events:
        assert e["ph"] in "MXsfi", e
        assert isinstance(e["pid"], int) and isinstance(e["tid"], int), e
        assert isinstance(e["ts"], (int, float)) and e["ts"] >= 0, e
        if e["ph"] == "X":
            assert e["dur"] >= 0 and isinstance(e["name"], str) and isinstance(e["args"], dict)
        if e["ph"] == "i":
            assert e["s"] == "t"
    calls = [r for r in recs if r["type"] == "call"]
    slices = [e for e in events if e["ph"] == "X"]
    assert len(slices) == len(calls)
    assert Counter(e["name"] for e in slices) == Counter(r["op"] for r in calls)
    starts = Counter(e["id"] for e in events if e["ph"] == "s")
    finishes = [e for e in events if e["ph"] == "f"]
    assert all(e["bp"] == "e" for e in finishes)
    assert Counter(e["id"] for e in finishes) == starts
    assert all(n == 1 for n in starts.values())
    faults = sum("fault" in r for r in calls)
    findings = sum(r["type"] == "finding" for r in recs)
    instants = [e for e in events if e["ph"] == "i"]
    assert len(instants) == faults + findings
    assert sum(e["cat"] == "fault" for e in instants) == faults
    threads = {(e["pid"], e["tid"]) for e in events if e["ph"] == "M" and e["name"] == "thread_name"}
    assert threads == {(e["pid"], e["tid"]) for e in slices + instants}
    return starts


def check_page(data, recs):
    """The contract's data: counts match the trace."""
    assert data["version"] == 1
    calls = [r for r in recs if r["type"] == "call"]
    threads = {(r["pid"], r.get("tid", r["pid"])) for r in recs if r["type"] in ("call", "finding")}
    assert len(data["lanes"]) == len(threads)
    assert {(l["pid"], l["tid"]) for l in data["lanes"]} == threads
    columns = data["calls"]
    n = len(calls)
    for key in ("t", "dur", "lane", "op", "conn", "bytes", "flags", "text"):
        assert len(columns[key]) == n, key
    assert columns["t"] == sorted(columns["t"])
    assert Counter(data["ops"][i] for i in columns["op"]) == Counter(r["op"] for r in calls)
    assert all(0 <= lane < len(data["lanes"]) for lane in columns["lane"])
    assert all(-1 <= c < len(data["connections"]) for c in columns["conn"])
    assert sum(f & 2 != 0 for f in columns["flags"]) == sum("fault" in r for r in calls)
    assert sum(f & 1 != 0 for f in columns["flags"]) == sum("error" in r for r in calls)
    assert len(data["faults"]) == sum("fault" in r for r in calls)
    assert len(data["findings"]) == sum(r["type"] == "finding" for r in recs)
    for c in data["connections"]:
        assert c["start"] <= c["end"]
        times = [e[0] for e in c["events"]]
        assert times == sorted(times)
        assert {e[2] for e in c["events"]} <= {"connect", "accept", "data", "shutdown", "reset",
                                               "close", "fault"}
        assert len(c["events"]) <= 2000
    for f in data["findings"]:
        assert -1 <= f["call"] < n and 0 <= f["lane"] < len(data["lanes"])
    return data


def paired(data):
    return [c for c in data["connections"] if c["b"] is not None]


# ---- real programs over loopback -----------------------------------------------------

def test_c_client_server(tmp_path):
    """tests/programs/tcp_echo: 'hello' one way, 'HELLO' back; one connection
    paired, a flow each way, the connect before the accept's end."""
    run_traced([program("tcp_echo")], tmp_path, per_pid=True, check_exit=0)
    paths = traces(tmp_path)
    recs = records(paths)
    text, doc, data = views(tmp_path, paths)
    flows = check_perfetto(doc, recs)
    assert len(flows) == 2  # one send each way, each to the receive that got it
    check_page(data, recs)
    [conn] = paired(data)
    assert conn["bytes_ab"] == 5 and conn["bytes_ba"] == 5
    kinds = [(e[1], e[2]) for e in conn["events"]]
    # the client connects first (its data may come before the server, busy
    # forking, accepts)
    assert kinds[0] == (0, "connect") and (1, "accept") in kinds
    assert [k for _, k in kinds].count("data") == 2 and [k for _, k in kinds].count("close") == 2
    assert len(conn["rtt_us"]) == 1
    assert len(data["hosts"]) == 1 and data["hosts"][0]["offset_us"] == 0
    _, rows = section(text, "connection table")
    assert len(rows) == 2  # the heading and the one connection
    assert rows[1].split()[2:7] == ["5", "5", str(conn["calls"]), "0", str(conn["findings"])]
    assert all(len(line) <= 100 for line in text.splitlines() if "connection table" not in line
               and "127.0.0.1:" in line and " > " in line)


def serve_http(tmp_path, port):
    """python3 -m http.server traced into tmp_path/trace.server.%p."""
    argv = [str(SOCKSHIM), "-o", str(tmp_path / "trace.server.%p"), "--format=json", "--",
            PYTHON, "-u", "-m", "http.server", "--bind", "127.0.0.1", str(port)]
    server = subprocess.Popen(argv, cwd=tmp_path, stdout=subprocess.PIPE,
                              stderr=subprocess.DEVNULL, env=base_env(), start_new_session=True)
    line = server.stdout.readline()  # "Serving HTTP on ..." once it listens
    assert b"Serving HTTP" in line, line
    return server


def stop(server):
    os.killpg(server.pid, signal.SIGINT)
    try:
        server.wait(timeout=TIMEOUT)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait()
    server.stdout.close()


def test_curl_and_http_server(tmp_path):
    curl = curl_or_skip()
    (tmp_path / "hello.txt").write_text("hello, timeline\n" * 100)
    [port] = free_ports(1)
    server = serve_http(tmp_path, port)
    try:
        client = subprocess.run([str(SOCKSHIM), "-o", str(tmp_path / "trace.client"),
                                 "--format=json", "--", curl, "-s",
                                 f"http://127.0.0.1:{port}/hello.txt"],
                                capture_output=True, timeout=TIMEOUT, env=base_env())
        assert client.returncode == 0 and client.stdout == b"hello, timeline\n" * 100
    finally:
        stop(server)
    paths = traces(tmp_path)
    recs = records(paths)
    text, doc, data = views(tmp_path, paths)
    flows = check_perfetto(doc, recs)
    check_page(data, recs)
    [conn] = [c for c in paired(data) if c["proto"] == "tcp"]  # (curl has a socketpair too)
    curl_lane = data["lanes"][conn["a"]["lane"]]
    assert curl_lane["exe"].endswith("curl")
    assert conn["bytes_ba"] > 1600 and conn["bytes_ab"] > 0
    assert len(flows) >= 2 and conn["rtt_us"]
    assert any(t.startswith("sock") and ".connect_ex(('127.0.0.1', " in t
               for t in data["calls"]["text"])  # curl connects without blocking
    _, pairs = section(text, "connections (both ends traced)")
    assert len([p for p in pairs if "127.0.0.1" in p]) == 1


def test_fault_run(tmp_path):
    """A run under --fault: every faulted call flagged, an instant each."""
    run_traced([program("tcp_echo")], tmp_path, per_pid=True, check_exit=0,
               faults=["send:short=2"])
    paths = traces(tmp_path)
    recs = records(paths)
    assert any("fault" in r for r in recs if r["type"] == "call")
    _, doc, data = views(tmp_path, paths)
    check_perfetto(doc, recs)
    check_page(data, recs)
    [conn] = paired(data)
    assert conn["faults"] == len(data["faults"]) > 0
    assert "fault" in [e[2] for e in conn["events"]]
    assert all(f["rule"] == "send:short=2" for f in data["faults"])
    # the bytes are those the short sends moved
    sent = Counter(r["pid"] for r in recs if r["type"] == "call" and r["op"] == "send"
                   for _ in range(r.get("ret", 0)))
    assert sorted([conn["bytes_ab"], conn["bytes_ba"]]) == sorted(sent.values())


def test_an_empty_run(tmp_path):
    """A trace with no calls: an empty timeline, still a valid page and
    trace-event file."""
    path = tmp_path / "trace.jsonl"
    path.write_text(json.dumps(START) + "\n")
    _, doc, data = views(tmp_path, [path])
    assert [e for e in doc["traceEvents"] if e["ph"] != "M"] == []
    assert data["lanes"] == [] and data["calls"]["t"] == [] and data["connections"] == []


# ---- traces from strangers ----------------------------------------------------------

START = {"v": 2, "type": "start", "ts": "2026-12-06T00:00:00.000000Z", "pid": 7, "tid": 7,
         "ppid": 1, "exe": "prog", "version": "0.1.0", "strsize": 32}


def unix_call(op, ts, path, **extra):
    addr = {"family": "AF_UNIX", "path": path}
    rec = {"v": 2, "type": "call", "ts": ts, "pid": 7, "tid": 7, "op": op, "call": op, "fd": 3,
           "sock": {"id": 1, "family": "AF_UNIX", "type": "SOCK_STREAM", "proto": 0,
                    "laddr": addr, "raddr": addr, "state": ["connected"], "blocking": True},
           "args": {"addr": addr}, "ret": 0, "out": None, "dur_ns": 1000}
    rec.update(extra)
    return rec


HOSTILE = "</script><script>alert(1)</script><!--&amp;"


def test_hostile_strings_stay_in_the_data_blob(tmp_path):
    """An exe name, a unix path, a finding's message and a fault rule that
    say </script>: the page's data is still one blob that parses, with the
    strings exact."""
    path = tmp_path / "trace.jsonl"
    recs = [dict(START, exe=HOSTILE, host=HOSTILE),
            unix_call("connect", "2026-12-06T00:00:01.000000Z", HOSTILE,
                      fault={"rule": 1, "action": "error=EPIPE", "text": HOSTILE}),
            {"v": 2, "type": "finding", "ts": "2026-12-06T00:00:01.000001Z", "pid": 7, "tid": 7,
             "code": "leak", "message": HOSTILE, "fd": 3,
             "where": {"text": HOSTILE}}]
    path.write_text("".join(json.dumps(r) + "\n" for r in recs))
    page = tmp_path / "run.html"
    perfetto = tmp_path / "run.json"
    report([path], "--html", page, "--perfetto", perfetto)
    template = (Path(__file__).resolve().parent.parent / "tools" / "sockshim" / "report_page" /
                "page.html").read_bytes()
    out = page.read_bytes()
    assert out.count(b"</script>") == template.count(b"</script>")
    assert out.count(b"<!--") == template.count(b"<!--")
    data = page_data(page)
    assert data["lanes"][0]["exe"] == HOSTILE
    assert data["hosts"][0]["name"] == HOSTILE
    assert data["connections"][0]["a"]["addr"] == HOSTILE
    assert data["findings"][0]["message"] == HOSTILE and data["findings"][0]["where"] == HOSTILE
    assert data["faults"][0]["rule"] == HOSTILE
    doc = json.loads(perfetto.read_text())
    assert any(e["ph"] == "i" and e["name"] == "fault: " + HOSTILE for e in doc["traceEvents"])


@pytest.mark.parametrize("record, says", [
    (dict(START, boot_id="not a boot id"), "'boot_id' is not a boot id"),
    (dict(START, boot_id=5), "'boot_id' is not a string"),
    (dict(START, netns=-1), "'netns' is not an integer from 0 to"),
    (dict(START, host=["h"]), "'host' is not a string"),
    (unix_call("send", "2026-13-06T00:00:01.000000Z", "/x"), "'ts' is not a time"),
    (unix_call("send", "yesterday", "/x"), "'ts' is not a time"),
    (unix_call("send", "2026-12-06T00:00:01.000000Z", "/x", tid="7"), "'tid' is not an integer"),
    (unix_call("send", "2026-12-06T00:00:01.000000Z", "/x", args={"data": {"len": -3}}),
     "'len' is not an integer from 0 to"),
    (unix_call("send", "2026-12-06T00:00:01.000000Z", "/x", fault={"rule": "1"}),
     "'rule' is not an integer"),
    (unix_call("send", "2026-12-06T00:00:01.000000Z", "/x", error={"errno": 32, "message": 3}),
     "'message' is not a string"),
    ({"v": 2, "type": "finding", "ts": "2026-02-30T00:00:00.000000Z", "pid": 7, "code": "leak"},
     "'ts' is not a time"),
], ids=lambda x: None)
def test_bad_records_are_refused(tmp_path, record, says):
    """Status 2, the file and line named; no page or trace-event file is
    left behind."""
    path = tmp_path / "trace.jsonl"
    path.write_text(json.dumps(START) + "\n" + json.dumps(record) + "\n")
    page = tmp_path / "run.html"
    proc = report([path], "--html", page, "--perfetto", tmp_path / "run.json", check=False)
    assert proc.returncode == 2, proc.stdout
    err = proc.stderr.decode()
    assert err.startswith(f"sockshim report: {path}:2: a bad record: "), err
    assert says in err, err
    assert not page.exists() and not (tmp_path / "run.json").exists()


def test_more_hosts_than_a_report_merges(tmp_path):
    path = tmp_path / "trace.jsonl"
    path.write_text("".join(json.dumps(dict(START, pid=i, boot_id=f"{i:08x}")) + "\n"
                            for i in range(1, 70)))
    proc = report([path], check=False)
    assert proc.returncode == 2
    assert f"{path}:65: a bad record: a host past the 64" in proc.stderr.decode()


def test_a_file_without_a_start_past_the_hosts_a_report_merges(tmp_path):
    """A file whose records come before any start record is the host not
    known: refused as a 65th host, not read into a host that is not there."""
    full, unknown = tmp_path / "full.jsonl", tmp_path / "unknown.jsonl"
    full.write_text("".join(json.dumps(dict(START, pid=i, boot_id=f"{i:08x}")) + "\n"
                            for i in range(1, 65)))
    unknown.write_text(json.dumps(dict(finding(7, 1000), tid=7)) + "\n")
    for options in ((), ("--html", tmp_path / "run.html")):
        proc = report([full, unknown], *options, check=False)
        assert proc.returncode == 2, proc.stderr.decode(errors="replace")
        assert f"{unknown}:1: a bad record: a host past the 64" in proc.stderr.decode()


# ---- several hosts: two network namespaces ------------------------------------------

def ip_or_skip():
    if os.geteuid() != 0:
        pytest.skip("making network namespaces needs root (ip netns add)")
    ip = shutil.which("ip")
    if ip is None:
        pytest.skip("ip is missing (apt-get install iproute2)")
    return ip


@pytest.fixture
def two_namespaces():
    """Two network namespaces joined by a veth pair: 10.200.77.1/30 in the
    first, 10.200.77.2/30 in the second; removed afterwards."""
    ip = ip_or_skip()
    tag = uuid.uuid4().hex[:6]
    a, b = f"ssa{tag}", f"ssb{tag}"
    va, vb = f"ssva{tag}", f"ssvb{tag}"

    def run(*args):
        subprocess.run([ip, *args], check=True, capture_output=True, timeout=TIMEOUT)
    made = []
    try:
        for ns in (a, b):
            run("netns", "add", ns)
            made.append(ns)
        run("link", "add", va, "type", "veth", "peer", "name", vb)
        run("link", "set", va, "netns", a)
        run("link", "set", vb, "netns", b)
        run("-n", a, "addr", "add", "10.200.77.1/30", "dev", va)
        run("-n", b, "addr", "add", "10.200.77.2/30", "dev", vb)
        for ns, dev in ((a, va), (b, vb)):
            run("-n", ns, "link", "set", dev, "up")
            run("-n", ns, "link", "set", "lo", "up")
        yield ip, a, b
    finally:
        for ns in made:  # deleting a namespace deletes its end of the veth pair, and so both
            subprocess.run([ip, "netns", "del", ns], capture_output=True, timeout=TIMEOUT)


SERVER = """\
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("10.200.77.1", 5555))
s.listen(1)
print("listening", flush=True)
c, _ = s.accept()
for _ in range(3):
    c.sendall(c.recv(100).upper())
c.close()
s.close()
"""

CLIENT = """\
import socket
c = socket.create_connection(("10.200.77.1", 5555), timeout=30)
for word in (b"one", b"two", b"three"):
    c.sendall(word)
    assert c.recv(100) == word.upper()
c.close()
"""


def in_namespace(ip, ns, out, script):
    return [ip, "netns", "exec", ns, str(SOCKSHIM), "-o", str(out), "--format=json", "--",
            PYTHON, "-c", script]


def shifted(path, out, seconds, boot_id, host):
    """The trace as another host with a clock `seconds` ahead would write it."""
    lines = []
    for line in path.read_text().splitlines():
        rec = json.loads(line)
        if rec["type"] == "start":
            rec.update(boot_id=boot_id, host=host)
        if "ts" in rec:
            t = datetime.datetime.strptime(rec["ts"], "%Y-%m-%dT%H:%M:%S.%fZ")
            rec["ts"] = (t + datetime.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        lines.append(json.dumps(rec))
    out.write_text("\n".join(lines) + "\n")
    return out


CLOCK_RE = re.compile(r"(\S+) \(boot (\w+)\): ([+-][\d.]+) ms \+- ([\d.]+) ms \(from (\d+) "
                      r"paired events with ")


def test_two_namespaces_merge(tmp_path, two_namespaces):
    ip, ns_a, ns_b = two_namespaces
    server_trace, client_trace = tmp_path / "server.jsonl", tmp_path / "client.jsonl"
    server = subprocess.Popen(in_namespace(ip, ns_a, server_trace, SERVER), stdout=subprocess.PIPE,
                              env=base_env(), start_new_session=True)
    try:
        assert server.stdout.readline() == b"listening\n"
        client = subprocess.run(in_namespace(ip, ns_b, client_trace, CLIENT), capture_output=True,
                                timeout=TIMEOUT, env=base_env())
        assert client.returncode == 0, client.stderr.decode(errors="replace")
        assert server.wait(timeout=TIMEOUT) == 0
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
        server.stdout.close()
    starts = [r for r in records([server_trace, client_trace]) if r["type"] == "start"]
    assert len({r["netns"] for r in starts}) == 2  # two address spaces
    assert len({r["boot_id"] for r in starts}) == 1  # one clock

    # the same clock: one host, offset 0, the connection paired by the
    # addresses each side saw
    text, doc, data = views(tmp_path, [server_trace, client_trace])
    check_perfetto(doc, records([server_trace, client_trace]))
    check_page(data, records([server_trace, client_trace]))
    _, pairs = section(text, "connections (both ends traced)")
    assert len(pairs) == 1 and "'10.200.77.2'" in pairs[0] and "'10.200.77.1', 5555" in pairs[0]
    _, clocks = section(text, "clocks")
    assert len(clocks) == 1 and clocks[0].endswith(": the reference clock")
    [conn] = paired(data)
    assert conn["bytes_ab"] == conn["bytes_ba"] == len(b"onetwothree")

    # the client as another host whose clock is 3.5 s ahead: the report
    # finds the offset from the connection, within the uncertainty it states
    moved = shifted(client_trace, tmp_path / "client-moved.jsonl", 3.5,
                    "0123abcd-0000-4000-8000-000000000000", "far-host")
    text, doc, data = views(tmp_path, [server_trace, moved])
    check_perfetto(doc, records([server_trace, moved]))
    check_page(data, records([server_trace, moved]))
    _, pairs = section(text, "connections (both ends traced)")
    assert len(pairs) == 1
    _, clocks = section(text, "clocks")
    assert len(clocks) == 2
    m = CLOCK_RE.match(clocks[1])
    assert m and m.group(1) == "far-host" and m.group(2) == "0123abcd", clocks
    offset_ms, uncertainty_ms = float(m.group(3)), float(m.group(4))
    assert abs(offset_ms - (-3500.0)) <= uncertainty_ms + 0.002, clocks[1]
    assert uncertainty_ms < 50
    far = data["hosts"][1]
    assert far["name"] == "far-host" and far["basis"].startswith("from ")
    assert abs(far["offset_us"] + 3_500_000) <= far["uncertainty_us"] + 1
    assert doc["metadata"]["hosts"][1]["name"] == "far-host"
    [conn] = paired(data)
    lanes = data["lanes"]
    assert {lanes[conn["a"]["lane"]]["host"], lanes[conn["b"]["lane"]]["host"]} == {0, 1}
    # aligned: each flow's receive ends after its send began
    assert len(conn["rtt_us"]) == 3 and all(0 <= r < 1_000_000 for r in conn["rtt_us"])
    kinds = [(e[1], e[2]) for e in conn["events"]]
    assert kinds[0] == (0, "connect") and (1, "accept") in kinds


def one_byte_call(pid, ts, host, laddr, raddr, op, dur, out=None):
    """A call record of one TCP socket between host:laddr and host:raddr
    that moved one byte."""
    def addr(port):
        return {"family": "AF_INET", "host": host, "port": port}
    return {"v": 2, "type": "call", "ts": ts, "pid": pid, "tid": pid, "op": op, "call": op,
            "fd": 3, "sock": {"id": 1, "family": "AF_INET", "type": "SOCK_STREAM",
                              "proto": 0, "laddr": addr(laddr), "raddr": addr(raddr),
                              "state": ["connected"], "blocking": True},
            "args": {"data": {"len": 1, "hex": "78"}, "flags": "0"}, "ret": 1,
            "out": out, "dur_ns": dur}


def test_loopback_of_two_namespaces_does_not_pair(tmp_path):
    """127.0.0.1 in one network namespace is not 127.0.0.1 in another: two
    traces of loopback connections with the same ports, from two netns,
    stay unpaired; from one netns they pair."""
    def call(pid, ts, laddr, raddr):
        return one_byte_call(pid, ts, "127.0.0.1", laddr, raddr, "send", 1000)
    for netns, pairs in ((1, 1), (2, 0)):
        a, b = tmp_path / f"a{netns}.jsonl", tmp_path / f"b{netns}.jsonl"
        a.write_text(json.dumps(dict(START, pid=10, boot_id="ab", netns=1)) + "\n" +
                     json.dumps(call(10, "2026-12-06T00:00:01.000000Z", 40000, 80)) + "\n")
        b.write_text(json.dumps(dict(START, pid=20, boot_id="ab", netns=netns)) + "\n" +
                     json.dumps(call(20, "2026-12-06T00:00:02.000000Z", 80, 40000)) + "\n")
        out = report([a, b]).stdout.decode()
        if pairs:
            assert len(section(out, "connections (both ends traced)")[1]) == 1
        else:
            assert "connections (both ends traced): none" in out


def test_scenario_hostile_names_keep_the_page_whole(tmp_path):
    """tests/scenarios/hostile_names.py binds unix names with ESC, newlines,
    bytes that are not UTF-8 and a forged report line: the page's data
    parses and holds every connection."""
    work = tmp_path / "w"
    work.mkdir()
    run_traced([*scenario("hostile_names.py"), str(work)], tmp_path, per_pid=True, check_exit=0)
    paths = traces(tmp_path)
    recs = records(paths)
    _, doc, data = views(tmp_path, paths)
    check_perfetto(doc, recs)
    check_page(data, recs)
    assert len(paired(data)) >= 2


def test_times_at_the_ends_of_the_range(tmp_path):
    """Two hosts 129 years apart, a duration of 2^63 - 1 ns, a connection
    between them: the report aligns, clamps and writes without
    overflowing (the sanitizer pass of tools/check aborts on one)."""
    def tcp(pid, ts, laddr, raddr, op, dur):
        return one_byte_call(pid, ts, "10.9.9.9", laddr, raddr, op, dur,
                             out={"data": {"len": 1, "hex": "78"}})
    a, b = tmp_path / "a.jsonl", tmp_path / "b.jsonl"
    a.write_text(json.dumps(dict(START, pid=10, boot_id="aa")) + "\n" +
                 json.dumps(tcp(10, "1970-01-01T00:00:00.000001Z", 1, 2, "send", 2**63 - 1)) +
                 "\n" + json.dumps(tcp(10, "1970-01-01T00:00:00.000002Z", 1, 2, "recv", 0)) + "\n")
    b.write_text(json.dumps(dict(START, pid=20, boot_id="bb")) + "\n" +
                 json.dumps(tcp(20, "2099-12-31T23:59:59.999999Z", 2, 1, "recv", 2**63 - 1)) +
                 "\n" + json.dumps(tcp(20, "2099-12-31T23:59:59.999999Z", 2, 1, "send", 0)) + "\n")
    text, doc, data = views(tmp_path, [a, b])
    assert len(paired(data)) == 1 and len(data["hosts"]) == 2
    assert "from 2 paired events" in section(text, "clocks")[1][1]
    assert all(t >= 0 for t in data["calls"]["t"])


# ---- the text report without the calls -------------------------------------------------

def tcp_sock(sid, laddr, raddr, host="10.1.1.1", peer="10.1.1.2"):
    def addr(h, port):
        return None if port is None else {"family": "AF_INET", "host": h, "port": port}
    return {"id": sid, "family": "AF_INET", "type": "SOCK_STREAM", "proto": 0,
            "laddr": addr(host, laddr), "raddr": addr(peer, raddr), "state": [],
            "blocking": True}


def tcp_call(pid, us, op, fd, sock, ret=0, dur=1000, **extra):
    rec = {"v": 2, "type": "call", "ts": "2026-12-06T00:00:%02d.%06dZ" % divmod(us, 1000000),
           "pid": pid, "tid": pid, "op": op, "call": op, "fd": fd, "sock": sock, "args": {},
           "ret": ret, "out": None, "dur_ns": dur}
    rec.update(extra)
    if rec.get("error") is not None or rec["ret"] is None:
        rec.pop("ret")
    return rec


def finding(pid, us, code="eof-spin"):
    return {"v": 2, "type": "finding", "ts": "2026-12-06T00:00:%02d.%06dZ" % divmod(us, 1000000),
            "pid": pid, "tid": pid, "code": code, "message": "noted", "fd": 4}


def accepts_run():
    """A server (pid 7) whose accepts move to the sockets they made, and
    one that stays on its listener (another accept returned its fd first);
    a finding noted on an accept; a listener that pairs with no one; a
    client (pid 8) whose sends fail, are faulted and peek; records out of
    time order."""
    listener = tcp_sock(1, 80, 1, peer="10.9.9.8")  # pairable: a row of its own
    served = tcp_sock(2, 80, 4000)
    client = tcp_sock(1, 4000, 80, host="10.1.1.2", peer="10.1.1.1")
    data = {"data": {"len": 5, "hex": "6869686968"}}
    return [
        dict(START, pid=7, boot_id="aa", host="one"),
        dict(START, pid=8, ppid=7, boot_id="aa", host="one"),
        tcp_call(7, 10, "listen", 3, listener),
        tcp_call(8, 30, "connect", 3, client, dur=20000),
        tcp_call(7, 5000, "accept", 3, listener, ret=5, dur=4000000),  # its fd 5 never seen
        tcp_call(7, 5100, "accept", 3, listener, ret=4, dur=90),
        finding(7, 5101),  # on that accept: the connection's
        tcp_call(7, 6000, "accept", 3, listener, ret=5, dur=50),  # the first one's stays
        tcp_call(7, 5500, "recv", 4, served, ret=5, args=data, out=data),
        tcp_call(8, 5200, "send", 3, client, ret=5, args=data),
        tcp_call(8, 5300, "send", 3, client, ret=None,
                 error={"name": "EPIPE", "errno": 32, "message": "Broken pipe"}),
        tcp_call(8, 5400, "send", 3, client, ret=2, args=data,
                 fault={"rule": 1, "text": "send:short=2", "action": "short"}),
        tcp_call(8, 7000, "recv", 3, client, ret=2, args={"flags": "MSG_PEEK"}),
        tcp_call(7, 6500, "send", 4, served, ret=2, args=data),
        finding(8, 7001, "sigpipe-risk"),
        tcp_call(7, 7500, "accept", None, None, ret=9),  # no socket at all
        tcp_call(7, 8000, "close", 4, served),
        tcp_call(7, 4000, "getsockname", 3, listener),  # earlier than the accepts
    ]


def write_lines(path, recs, cut=""):
    path.write_text("".join(json.dumps(r) + "\n" for r in recs) + cut)
    return path


def test_the_text_report_is_the_same_without_a_view(tmp_path):
    """Without --html or --perfetto the timeline keeps no call, only each
    socket's tally (and the accepts until their socket is known): the
    report is the one printed with the calls kept, byte for byte."""
    path = write_lines(tmp_path / "trace.jsonl", accepts_run())
    plain = report([path]).stdout.decode()
    kept = report([path], "--perfetto", tmp_path / "p.json").stdout.decode()
    assert plain == kept
    title, rows = section(plain, "connection table")
    assert len(rows) == 3, plain
    by_a = {r.split()[7]: r.split()[1:7] for r in rows[1:]}
    # the client's 5 calls and the server's accept (fd 4), recv, send and close;
    # a fault, and two findings: one on the accept
    assert by_a["8"] == ["7.990", "7", "2", "9", "1", "2"], plain
    # the listener: listen, getsockname and the two accepts whose fd 5 was not seen
    assert by_a["7"] == ["5.991", "0", "0", "4", "0", "0"], plain


def test_several_hosts_are_read_again_with_the_calls(tmp_path):
    """A second host's clock is aligned from the calls: the report that
    kept none meets the second host and reads the traces again, keeping
    them; a cut last line is noted once. A pipe keeps them from the start."""
    def call(pid, ts, laddr, raddr, op):
        return one_byte_call(pid, ts, "10.9.9.9", laddr, raddr, op, 1000,
                             out={"data": {"len": 1, "hex": "78"}})
    a_recs = [dict(START, pid=10, boot_id="aa", host="a"),
              call(10, "2026-12-06T00:00:01.000000Z", 1, 2, "send"),
              call(10, "2026-12-06T00:00:01.000900Z", 1, 2, "recv")]
    b_recs = [dict(START, pid=20, boot_id="bb", host="b"),
              call(20, "2026-12-06T00:00:04.500500Z", 2, 1, "recv"),
              call(20, "2026-12-06T00:00:04.500600Z", 2, 1, "send")]
    a = write_lines(tmp_path / "a.jsonl", a_recs, cut='{"v": 2, "ty')
    b = write_lines(tmp_path / "b.jsonl", b_recs)
    plain = report([a, b])
    kept = report([a, b], "--html", tmp_path / "p.html")
    assert plain.stdout == kept.stdout
    assert plain.stderr.decode().count("the last line is cut short") == 1, plain.stderr
    clock = section(plain.stdout.decode(), "clocks")[1][1]
    assert "from 2 paired events with a: between -3500.501 and -3499.699 ms" in clock, clock
    both = write_lines(tmp_path / "both.jsonl", a_recs + b_recs)
    with both.open("rb") as f:
        piped = subprocess.run([str(SOCKSHIM), "report", "/dev/stdin"], stdin=f,
                               capture_output=True, timeout=TIMEOUT, env=base_env())
    assert piped.returncode == 0, piped.stderr
    assert section(piped.stdout.decode(), "clocks")[1][1] == clock
