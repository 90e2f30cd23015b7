"""Record files: `sockshim --format=raw -o FILE` records a run, and
`sockshim render` turns the file into the text or JSON trace (or the
capture) the run would have written, without running the program again.

The trace a record file renders to is compared with the trace a run of the
same program writes directly: the same lines for each process, once what
differs from run to run (times, pids, ports, durations, addresses) is
taken out.
"""
import json
import os
import re
import signal
import struct
import subprocess
from collections import defaultdict

import pytest

from conftest import PYTHON, SOCKSHIM, TIMEOUT, base_env, preload_list, program

# A sendall the shim folds into one text line but writes as every call and
# a loop record in JSON, from one of two threads, then a plain send.
SENDALL = r"""
import socket, threading
a, b = socket.socketpair()
got = []
t = threading.Thread(target=lambda: got.append(b.recv(20000, socket.MSG_WAITALL)))
t.start()
a.sendall(b'x' * 20000)
t.join()
a.send(b'tail')
assert b.recv(16) == b'tail'
a.close(); b.close()
"""
SHORT_SENDS = ("--fault", "send:short=1000", "--seed", "7")


def run(argv, check_exit=0, env=None, **kwargs):
    proc = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, env=base_env(env),
                          **kwargs)
    assert proc.returncode == check_exit, proc.stderr.decode(errors="replace")
    return proc


def traced(tmp_path, name, argv, fmt, options=()):
    out = tmp_path / name
    run([str(SOCKSHIM), "--format", fmt, "-o", str(out), *options, "--", *argv])
    return out


def render(records, *options, check_exit=0):
    return run([str(SOCKSHIM), "render", *options, str(records)], check_exit=check_exit)


TEXT_LINE = re.compile(r"^\d\d:\d\d:\d\d\.\d{6} \[(\d+)(?::\d+)?\] (.*)$")
VOLATILE_TEXT = [
    (re.compile(r"\('(127\.0\.0\.1|::1)', [1-9]\d*"), r"('\1', PORT"),
    (re.compile(r"\d+\.\d+ ms"), "T ms"),
    (re.compile(r"\b(pid|parent|fork\(\) ->) \d+"), r"\1 N"),
    (re.compile(r"0x[0-9a-f]{6,}"), "0xADDR"),
]


def text_by_process(text):
    """Each process's lines (its pid replaced by its rank), in order."""
    ranks, lines = {}, defaultdict(list)
    for line in text.splitlines():
        m = TEXT_LINE.match(line)
        assert m, f"not a trace line: {line!r}"
        body = m.group(2)
        for pattern, replacement in VOLATILE_TEXT:
            body = pattern.sub(replacement, body)
        lines[ranks.setdefault(m.group(1), len(ranks))].append(body)
    return dict(lines)


VOLATILE_KEYS = {"ts", "pid", "tid", "ppid", "dur_ns", "time_ns", "created", "closed", "first",
                 "address", "port", "parent"}


def stable(value):
    if isinstance(value, dict):
        return {k: stable(v) for k, v in value.items()
                if k not in VOLATILE_KEYS and not (k == "ret" and value.get("op") == "fork")}
    if isinstance(value, list):
        return [stable(v) for v in value]
    if isinstance(value, str):
        return re.sub(r"\b(pid|parent) \d+", r"\1 N", re.sub(r"\d+\.\d+ ms", "T ms", value))
    return value


def json_by_process(text):
    ranks, records = {}, defaultdict(list)
    for line in text.splitlines():
        record = json.loads(line)
        records[ranks.setdefault(record["pid"], len(ranks))].append(
            json.dumps(stable(record), sort_keys=True))
    return dict(records)


def same_lines(direct, rendered, single_thread_ranks=()):
    """The same processes with the same lines: in the same order for a
    process of one thread, as the same set for one whose threads
    interleave differently from run to run."""
    assert direct.keys() == rendered.keys()
    for rank in direct:
        if rank in single_thread_ranks:
            assert rendered[rank] == direct[rank]
        else:
            assert sorted(rendered[rank]) == sorted(direct[rank])


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_a_record_file_renders_as_the_trace_a_run_writes(tmp_path, fmt):
    script = tmp_path / "sendall.py"
    script.write_text(SENDALL)
    argv = [PYTHON, str(script)]
    direct = traced(tmp_path, "direct", argv, fmt, SHORT_SENDS).read_text()
    records = traced(tmp_path, "run.rec", argv, "raw", SHORT_SENDS)
    rendered = render(records, "--format", fmt).stdout.decode()
    by_process = text_by_process if fmt == "text" else json_by_process
    same_lines(by_process(direct), by_process(rendered))
    if fmt == "text":
        # the loop is one line with its faults, as a direct trace has it
        assert any(re.search(r"sock3\.sendall\(b'x+'\.\.\. \(20000 bytes\)\) -> None "
                             r"\[20 sends, 19 faulted: fault #1 short=1000\]", line)
                   for line in rendered.splitlines())
    else:
        kinds = [json.loads(line)["type"] for line in rendered.splitlines()]
        assert kinds.count("loop") == 1
        sends = [r for r in map(json.loads, rendered.splitlines())
                 if r["type"] == "call" and r["op"] == "send"]
        assert len(sends) == 21


def test_a_forking_programs_record_file_renders_each_process(tmp_path):
    argv = [program("tcp_echo")]
    options = ("--fault", "send:short=2", "--seed", "7")
    direct = traced(tmp_path, "direct", argv, "text", options).read_text()
    records = traced(tmp_path, "run.rec", argv, "raw", options)
    rendered = render(records).stdout.decode()
    by_process = text_by_process(rendered)
    assert len(by_process) == 2
    same_lines(text_by_process(direct), by_process, single_thread_ranks=(0, 1))
    assert any(line.startswith("# finding lost-bytes") for line in by_process[1])
    as_json = render(records, "-f", "json").stdout.decode()
    same_lines(json_by_process(traced(tmp_path, "direct.json", argv, "json",
                                      options).read_text()),
               json_by_process(as_json), single_thread_ranks=(0, 1))


def test_a_file_per_process_is_a_record_file_each(tmp_path):
    run([str(SOCKSHIM), "--format=raw", "-o", str(tmp_path / "run.%p.rec"), "--",
         program("tcp_echo")])
    files = sorted(tmp_path.glob("run.*.rec"))
    assert len(files) == 2
    for f in files:
        pid = re.match(r"run\.(\d+)\.rec", f.name).group(1)
        lines = render(f).stdout.decode().splitlines()
        assert lines and all(f"[{pid}]" in line for line in lines)
        assert f"# sockshim 0.1.0 traces pid {pid} '{program('tcp_echo')}'" in lines[0]
        assert any("# summary of pid " + pid in line for line in lines)


def test_the_capture_rendered_from_a_record_file_is_the_runs(tmp_path):
    live = tmp_path / "live.pcap"
    records = traced(tmp_path, "run.rec", [program("tcp_echo")], "raw",
                     ("--pcap", str(live), "--fault", "send:short=2"))
    again = tmp_path / "again.pcap"
    proc = render(records, "--pcap", str(again), "-o", str(tmp_path / "trace.txt"))
    assert proc.stderr == b""
    assert again.read_bytes() == live.read_bytes()
    assert "sock3.connect(" in (tmp_path / "trace.txt").read_text()


def test_a_capture_from_a_record_file_without_traffic_is_said_to_be_empty(tmp_path):
    records = traced(tmp_path, "run.rec", [program("tcp_echo")], "raw")
    proc = render(records, "--pcap", str(tmp_path / "x.pcap"))
    assert b"holds no traffic: record the run with --pcap" in proc.stderr


def test_a_killed_process_gets_its_summary_in_both_formats(tmp_path):
    script = tmp_path / "killed.py"
    script.write_text("import os, socket\ns = socket.socket()\ns.bind(('127.0.0.1', 0))\n"
                      "os.kill(os.getpid(), 9)\n")
    records = tmp_path / "run.rec"
    run([str(SOCKSHIM), "--format=raw", "-o", str(records), "--", PYTHON, str(script)],
        check_exit=128 + signal.SIGKILL)
    text = render(records).stdout.decode()
    assert re.search(r"# summary of pid \d+ '.*', killed by SIGKILL \(written by sockshim",
                     text)
    summaries = [r for r in map(json.loads, render(records, "-f", "json").stdout.splitlines())
                 if r["type"] == "summary"]
    assert len(summaries) == 1 and summaries[0]["end"]["by"] == "signal"


def test_the_library_alone_writes_a_record_file(tmp_path):
    script = tmp_path / "sendall.py"
    script.write_text(SENDALL)
    records = tmp_path / "bare.rec"
    run([PYTHON, str(script)],
        env={"LD_PRELOAD": preload_list(str(SOCKSHIM.parent / "libsockshim.so")),
             "SOCKSHIM_FORMAT": "raw",
             "SOCKSHIM_OUTPUT": str(records), "SOCKSHIM_FAULTS": "send:short=1000",
             "SOCKSHIM_SEED": "7"})
    text = render(records).stdout.decode()
    assert "sock3.sendall(b'xxxx" in text and "# summary of pid" in text
    calls = [r for r in map(json.loads, render(records, "-f", "json").stdout.splitlines())
             if r["type"] == "call"]
    assert [c["op"] for c in calls].count("send") == 21


def test_the_library_refuses_raw_without_a_file(tmp_path):
    proc = run([PYTHON, "-c", "pass"], check_exit=2,
               env={"LD_PRELOAD": preload_list(str(SOCKSHIM.parent / "libsockshim.so")),
                    "SOCKSHIM_FORMAT": "raw"})
    assert proc.stderr.decode() == ("sockshim: SOCKSHIM_FORMAT: raw writes a record file: "
                                    "name it with SOCKSHIM_OUTPUT\n")


@pytest.mark.parametrize("options, message", [
    ((), "--format=raw writes a record file: give one with -o FILE"),
    (("-o", "x.rec", "--max-size", "1M"), "--max-size cannot go with --format=raw"),
    (("-o", "/dev/null"), "--format=raw: -o '/dev/null' is not a regular file"),
])
def test_the_command_refuses_raw_without_a_record_file(tmp_path, options, message):
    proc = run([str(SOCKSHIM), "--format=raw", *options, "--", "true"], check_exit=2,
               cwd=tmp_path)
    assert message in proc.stderr.decode()


# ---- a record file is data from strangers ------------------------------------

FRAME = struct.Struct("=IIiHH")


def frames(data):
    """(offset, kind, payload) of each frame of a record file."""
    at = 0
    while at < len(data):
        magic, length, _pid, kind, _ = FRAME.unpack_from(data, at)
        yield at, kind, data[at + 16:at + 16 + length]
        at += 16 + length


@pytest.fixture
def recorded(tmp_path):
    return traced(tmp_path, "run.rec", [program("tcp_echo")], "raw").read_bytes()


def refused(tmp_path, data, *options):
    bad = tmp_path / "bad.rec"
    bad.write_bytes(data)
    proc = render(bad, *options, check_exit=2)
    message = proc.stderr.decode()
    assert message.startswith(f"sockshim render: {bad}: byte ")
    assert message.count("\n") == 1
    return proc, message


def test_a_cut_record_file_renders_up_to_the_cut_and_says_where(tmp_path, recorded):
    offsets = [at for at, _, _ in frames(recorded)]
    cut = offsets[len(offsets) // 2] + 20
    proc, message = refused(tmp_path, recorded[:cut])
    assert f"byte {offsets[len(offsets) // 2]}: the file ends inside a frame's payload" \
        in message
    whole = render(tmp_path / "run.rec").stdout.decode().splitlines()
    got = proc.stdout.decode().splitlines()
    assert got and got == whole[:len(got)]


@pytest.mark.parametrize("damage, expected", [
    (lambda d: b"", "byte 0: an empty file: not a record file"),
    (lambda d: b"20:00:00.000000 [1] # a text trace\n", "byte 0: not a sockshim record file"),
    (lambda d: d[:16] + b"\0" * (len(d) - 16),
     "byte 0: the start frame does not name a sockshim record file"),
    (lambda d: d[16 + 64:], "byte 0: the file does not begin with a start frame"),
])
def test_what_is_not_a_record_file_is_refused(tmp_path, recorded, damage, expected):
    _, message = refused(tmp_path, damage(recorded))
    assert expected in message


def start_frame(recorded):
    at, kind, payload = next(frames(recorded))
    assert kind == 1 and at == 0
    return payload


def test_a_record_file_of_another_sockshim_is_refused(tmp_path, recorded):
    start = bytearray(start_frame(recorded))
    start[32:64] = b"9.9.9".ljust(32, b"\0")
    _, message = refused(tmp_path, recorded[:16] + bytes(start) + recorded[16 + len(start):])
    assert "written by sockshim '9.9.9'" in message
    assert "render it with the sockshim that wrote it" in message


def test_a_frame_whose_line_holds_control_bytes_is_refused(tmp_path, recorded):
    at, kind, payload = next((f for f in frames(recorded) if f[1] == 2))
    damaged = bytearray(recorded)
    damaged[at + 16 + 3] = 0x1b  # ESC: a terminal escape in a "line"
    _, message = refused(tmp_path, bytes(damaged))
    assert f"byte {at}: a line holding byte 0x1b" in message


def test_a_call_record_that_does_not_hold_together_is_refused(tmp_path, recorded):
    at, _, payload = next((f for f in frames(recorded) if f[1] == 4 and f[2][0] == 0x30))
    damaged = bytearray(recorded)
    damaged[at + 16 + 8:at + 16 + 12] = struct.pack("=I", 0xffffff)  # its size
    _, message = refused(tmp_path, bytes(damaged))
    assert f"byte {at}: a call record that does not hold together" in message


def test_a_json_frame_that_is_not_json_is_refused(tmp_path, recorded):
    at, _, payload = next((f for f in frames(recorded) if f[1] == 3))
    damaged = bytearray(recorded)
    damaged[at + 16 + 1] = ord("}")
    _, message = refused(tmp_path, bytes(damaged), "-f", "json")
    assert f"byte {at}: a JSON line that is not a JSON object" in message


def test_render_options_are_checked(tmp_path):
    for argv, message in [
        ([], "no record file to render"),
        (["--format=raw", "x"], "--format: unknown format 'raw'"),
        (["--bogus", "x"], "unknown option '--bogus'"),
        (["a", "b"], "one record file at a time: 'b' is one too many"),
        (["missing.rec"], "cannot read 'missing.rec': No such file or directory"),
    ]:
        proc = run([str(SOCKSHIM), "render", *argv], check_exit=2, cwd=tmp_path)
        assert message in proc.stderr.decode(), argv
    assert b"Usage: sockshim render" in run([str(SOCKSHIM), "render", "--help"]).stdout


def test_render_reads_standard_input(tmp_path, recorded):
    proc = subprocess.run([str(SOCKSHIM), "render", "-"], input=recorded, capture_output=True,
                          timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0
    assert proc.stdout == render(tmp_path / "run.rec").stdout


# ---- sockshim report reads record files ------------------------------------------

def test_report_reads_a_record_file_as_its_json_trace(tmp_path, recorded):
    records = tmp_path / "run.rec"
    as_json = tmp_path / "run.jsonl"
    as_json.write_bytes(render(records, "-f", "json").stdout)
    direct = run([str(SOCKSHIM), "report", str(as_json)]).stdout
    assert run([str(SOCKSHIM), "report", str(records)]).stdout == direct
    assert b"2 processes" in direct


def test_report_reads_a_cut_record_file_up_to_the_cut(tmp_path, recorded):
    offsets = [at for at, _, _ in frames(recorded)]
    cut = tmp_path / "cut.rec"
    cut.write_bytes(recorded[:offsets[-1] + 8])
    proc = run([str(SOCKSHIM), "report", str(cut)])
    assert proc.stderr.decode() == (
        f"sockshim report: {cut}: byte {offsets[-1]}: the file ends inside a frame header "
        "(8 of 16 bytes): it was cut: the frames before it are read\n")
    assert b"2 processes" in proc.stdout


def test_report_refuses_a_damaged_record_file(tmp_path, recorded):
    at, _, _ = next((f for f in frames(recorded) if f[1] == 2))
    damaged = bytearray(recorded)
    damaged[at + 16 + 3] = 0x07
    bad = tmp_path / "bad.rec"
    bad.write_bytes(bytes(damaged))
    proc = run([str(SOCKSHIM), "report", str(bad)], check_exit=2)
    assert proc.stderr.decode() == (f"sockshim report: {bad}: byte {at}: a line holding byte "
                                    "0x07, which no trace line holds\n")
