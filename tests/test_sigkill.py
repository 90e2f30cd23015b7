"""The trace survives SIGKILL: every call up to the last is in the file.

The library copies each line into the run's trace ring, shared memory the
sockshim command holds and drains into the file, so the bytes are out of
the process as soon as the call returns; nothing is held in the process to
be flushed at exit. tests/programs/sigkill_trace runs
threads that send and receive numbered messages and records, in a shared
file, how many rounds each finished; then the process is killed with
SIGKILL mid-flight. Each thread's trace must hold every finished round,
in order, with no gap, and at most the one call in flight beyond.
"""
import ast
import json
import re

import pytest

from conftest import SOCKSHIM, TIMEOUT, base_env, program, parse_text, sockshim
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
    argv = [program("sigkill_trace"), str(counts_file), str(THREADS), str(ROUNDS)]
    if fork:
        argv.append("fork")
    # the raw bytes are read back, not the parsed records: a line cut by
    # the kill must be seen as such
    cmd = sockshim.command(argv, output=out, format=fmt, options=options, sockshim=SOCKSHIM)
    proc = subprocess.run(cmd, capture_output=True, timeout=TIMEOUT, env=base_env())
    assert proc.returncode == SIGKILL_STATUS, proc.stderr.decode(errors="replace")
    raw_counts = counts_file.read_bytes()
    counts = [int.from_bytes(raw_counts[i:i + 8], "little")
              for i in range(0, len(raw_counts), 8)]
    data = b"".join(f.read_bytes() for f in sockshim.trace_files(out))
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
    assert data.endswith(b"\n")
    # a line a thread was copying at the kill is lost, and said so
    assert re.fullmatch(rb"(sockshim: warning: \d+ trace lines? lost: (its|their) process "
                        rb"was killed while writing (it|them)\n)?", proc.stderr), proc.stderr
    parse = sequences_from_json if fmt == "json" else sequences_from_text
    assert_complete(parse(data), counts)


def test_sigkill_per_process_files(tmp_path):
    """-o trace.%p: each process writes a file of its own, killed or not."""
    proc, counts, data = run_killed(tmp_path, "json", fork=True, per_pid=True)
    assert len(list(tmp_path.glob("trace.*"))) == 2
    assert_complete(sequences_from_json(data), counts)
