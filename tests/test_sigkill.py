"""The trace survives SIGKILL: every call up to the last is in the file.

The library copies each line into a shared mapping of the trace file, so
the bytes are the kernel's as soon as the call returns; nothing is held in
the process to be flushed at exit. tests/programs/sigkill_trace runs
threads that send and receive numbered messages and records, in a shared
file, how many rounds each finished; then the process is killed with
SIGKILL mid-flight. Each thread's trace must hold every finished round,
in order, with no gap, and at most the one call in flight beyond.
"""
import ast
import json
import re

import pytest

from conftest import SOCKSHIM, TIMEOUT, base_env, program, parse_text
import subprocess

THREADS = 4
ROUNDS = 3000
SIGKILL_STATUS = 128 + 9

BYTES = r"""(b'.*'|b".*")"""  # Python's repr quotes with " when the bytes hold '
TEXT_SEND = re.compile(r"^sock\d+\.send\(" + BYTES + r" \(4 bytes\)\) -> 4$")
TEXT_RECV = re.compile(r"^sock\d+\.recv\(4\) -> " + BYTES + r" \(4 bytes\)$")


def run_killed(tmp_path, fmt, options=(), fork=False, per_pid=False):
    counts_file = tmp_path / "counts"
    processes = 2 if fork else 1
    counts_file.write_bytes(bytes(8 * THREADS * processes))
    out = tmp_path / ("trace.%p" if per_pid else "trace")
    cmd = [str(SOCKSHIM), "-o", str(out), "--format", fmt, *options, "--",
           program("sigkill_trace"), str(counts_file), str(THREADS), str(ROUNDS)]
    if fork:
        cmd.append("fork")
    proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, env=base_env())
    assert proc.returncode == SIGKILL_STATUS, proc.stderr.decode(errors="replace")
    raw_counts = counts_file.read_bytes()
    counts = [int.from_bytes(raw_counts[i:i + 8], "little")
              for i in range(0, len(raw_counts), 8)]
    files = sorted(tmp_path.glob("trace.*")) if per_pid else [out]
    data = b"".join(f.read_bytes() for f in files)
    return proc, counts, data


def sequences_from_json(data):
    """{(pid, tid): (sent numbers, received numbers)} in file order."""
    seqs = {}
    for line in data.decode().splitlines():
        rec = json.loads(line)  # a cut-off line would fail here
        if rec["type"] != "call" or rec["op"] not in ("send", "recv"):
            continue
        sent, received = seqs.setdefault((rec["pid"], rec["tid"]), ([], []))
        if rec["op"] == "send":
            sent.append(int(rec["args"]["data"]["hex"], 16))
        else:
            received.append(int(rec["out"]["data"]["hex"], 16))
    return seqs


def sequences_from_text(data):
    seqs = {}
    for line in parse_text(data.decode()):
        send = TEXT_SEND.match(line.body)
        recv = TEXT_RECV.match(line.body)
        if not send and not recv:
            continue
        sent, received = seqs.setdefault((line.pid, line.tid), ([], []))
        literal = ast.literal_eval((send or recv).group(1))
        (sent if send else received).append(int.from_bytes(literal, "big"))
    return seqs


def assert_complete(seqs, counts):
    """Each worker thread's calls are 0, 1, 2... with no gap, and there are
    as many as it finished, or one more (the call in flight at the kill)."""
    assert len(seqs) == len(counts), (sorted(seqs), counts)
    done = []
    for key, (sent, received) in seqs.items():
        assert sent == list(range(len(sent))), f"{key}: sends out of order or missing"
        assert received == list(range(len(received))), f"{key}: receives out of order"
        assert len(sent) - 1 <= len(received) <= len(sent), key
        done.append((len(received), len(sent)))
    # the threads' counts and the trace's rounds, matched smallest first: a
    # round is finished (counted) only after both its lines were written
    for (received, sent), count in zip(sorted(done), sorted(counts)):
        assert count >= ROUNDS
        assert received >= count, f"{count} rounds finished, {received} in the trace"
        assert sent <= count + 1


@pytest.mark.parametrize("fork", [False, True], ids=["one-process", "two-processes"])
@pytest.mark.parametrize("fmt,options", [("json", ()), ("text", ()), ("text", ("--calls",))],
                         ids=["json", "text", "text-calls"])
def test_sigkill_loses_no_call(tmp_path, fmt, options, fork):
    proc, counts, data = run_killed(tmp_path, fmt, options, fork=fork)
    assert b"\0" not in data, "the trace keeps NUL bytes"
    assert data.endswith(b"\n")
    parse = sequences_from_json if fmt == "json" else sequences_from_text
    assert_complete(parse(data), counts)


def test_sigkill_per_process_files(tmp_path):
    """-o trace.%p: each process writes a file of its own, killed or not."""
    proc, counts, data = run_killed(tmp_path, "json", fork=True, per_pid=True)
    assert len(list(tmp_path.glob("trace.*"))) == 2
    assert b"\0" not in data
    assert_complete(sequences_from_json(data), counts)


def test_unfinished_lines_are_removed(tmp_path):
    """A hole a killed writer left (the start of its line, then NUL bytes)
    is removed with that unfinished line when the run ends; the lines
    around it stay."""
    out = tmp_path / "trace"
    script = (f"printf 'one\\ntwo\\nunfin\\0\\0\\0three\\n\\0\\0four\\ncut' > {out}; "
              f"printf '\\0\\0\\0' >> {out}")
    proc = subprocess.run([str(SOCKSHIM), "-o", str(out), "--", "/bin/sh", "-c", script],
                          capture_output=True, timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 0, proc.stderr
    assert out.read_bytes() == b"one\ntwo\nthree\nfour\n"
    assert proc.stderr.decode() == (
        f"sockshim: warning: {out}: removed 2 lines that a killed process left unfinished\n")


def test_report_reads_a_trace_with_holes(tmp_path):
    """A trace left untrimmed (a daemon held it) reads like the trimmed one:
    `sockshim report` skips the NUL bytes and the line cut short."""
    clean = tmp_path / "clean.jsonl"
    proc = subprocess.run([str(SOCKSHIM), "-o", str(clean), "--format", "json", "--",
                           program("tcp_echo")], capture_output=True, timeout=TIMEOUT,
                          env=base_env())
    assert proc.returncode == 0, proc.stderr
    lines = clean.read_bytes().splitlines(keepends=True)
    holed = tmp_path / "holed.jsonl"
    holed.write_bytes(b"".join(lines[:3]) + lines[3][:40] + bytes(100)
                      + b"".join(lines[3:]) + bytes(4096))
    want = subprocess.run([str(SOCKSHIM), "report", str(clean)], capture_output=True,
                          timeout=TIMEOUT)
    got = subprocess.run([str(SOCKSHIM), "report", str(holed)], capture_output=True,
                         timeout=TIMEOUT)
    assert want.returncode == got.returncode == 0, got.stderr
    assert got.stdout == want.stdout
    assert got.stderr.decode() == (f"sockshim report: {holed}: skipped 1 unfinished line "
                                   "(a process killed while writing)\n")
