"""Fault injection: the rules of --fault, --fault-file and SOCKSHIM_FAULTS
against real programs over loopback.

Every test runs a real program (a C program from tests/programs or a
Python scenario from tests/scenarios/fault_*.py) and checks both what the
program saw and what the trace says. Timing is checked only from below
(a delay lasts at least its length), except for jitter, whose point is an
upper bound; that bound gets a generous margin.

The rule language is specified by shim/common/rules.c (grammar in shim/common/rules.h)
and applied by shim/fault/fault.c.
"""
import ast
import json
import re
import socket
import subprocess

import pytest

from conftest import sockshim
from conftest import (BUILD, SANITIZED, SOCKSHIM, TIMEOUT, base_env, parse_text, program,
                      run_bare, run_traced, scenario)

LIBRARY = BUILD / "libsockshim.so"
TOUCH = "/usr/bin/touch"
MS = 1_000_000  # nanoseconds


# ---- helpers ---------------------------------------------------------------

def fault_options(*rules, seed=None):
    """sockshim options giving each rule with --fault (and the seed)."""
    options = []
    for rule in rules:
        options += ["--fault", rule]
    if seed is not None:
        options += ["--seed", str(seed)]
    return options


def output(trace):
    return trace.proc.stdout.decode()


ANNOTATION_RE = re.compile(r" \[fault #(\d+) ([^\]]*)\]$")


def annotation(body):
    """(rule number, actions) of a faulted text line, or None."""
    m = ANNOTATION_RE.search(body)
    return (int(m.group(1)), m.group(2)) if m else None


def lines_with(trace, text):
    """Text trace bodies that contain text."""
    return [b for b in trace.bodies() if text in b]


def header(trace):
    """The text trace's header lines (after the pid) of the first process:
    the '# sockshim' line and the '# fault' lines after it."""
    pid = trace.lines[0].pid
    return [l.body for l in trace.lines
            if l.pid == pid and (l.body.startswith("# sockshim ") or
                                 l.body.startswith("# fault #"))]


HEADER_RULE_RE = re.compile(r"^# fault #(\d+): ('.*'|\".*\")(?: \(seed (\d+)\))?$")


def header_rules(trace):
    """[(number, rule, seed or None)] from the text header's fault lines."""
    rules = []
    for line in header(trace):
        m = HEADER_RULE_RE.match(line)
        if m:
            seed = int(m.group(3)) if m.group(3) else None
            rules.append((int(m.group(1)), ast.literal_eval(m.group(2)), seed))
    return rules


def start_record(trace):
    [start] = [e for e in trace.events if e["type"] == "start"]
    return start


def calls(trace, op, pid=None):
    """The JSON call records of method op (of one process if pid)."""
    return [c for c in trace.calls
            if c["op"] == op and (pid is None or c["pid"] == pid)]


def faulted_numbers(records):
    """1-based positions of the records that carry a fault."""
    return [i for i, c in enumerate(records, 1) if "fault" in c]


ATTEMPT_RE = re.compile(r"^(child )?attempt (\d+): (\S+)$", re.M)


def refused_attempts(text, child=False):
    """The attempts connect_attempts reported as failed."""
    return [int(n) for who, n, outcome in ATTEMPT_RE.findall(text)
            if bool(who) == child and outcome != "ok"]


def pattern(size):
    """The data naive_client and fault_sender.py send: 'a' + i % 26."""
    return bytes(ord("a") + i % 26 for i in range(size))


# What socket_types prints bare, line by line ("what: result").
SOCKET_TYPES_BARE = {
    "socket dgram": "ok", "socket stream": "ok", "socketpair seqpacket": "ok",
    "dgram send": "12", "stream send": "12",
    "dgram recv": "12 'hello, world'", "stream recv": "12 'hello, world'",
}


def fnv1a64(data):
    """The hash sink_server prints."""
    h = 14695981039346656037
    for byte in data:
        h = ((h ^ byte) * 1099511628211) % 2**64
    return f"{h:016x}"


def millis(line):
    """The time in ms a scenario printed at the end of its line."""
    return float(line.rsplit(" ", 1)[1])


def preload_env(extra):
    """Environment for running a program with the library preloaded by
    hand (after the test suite's own preload, if any)."""
    env = base_env()
    preloads = [p for p in (env.get("LD_PRELOAD"), str(LIBRARY)) if p]
    env["LD_PRELOAD"] = ":".join(preloads)
    env.update(extra)
    return env


class Sink:
    """sink_server in the background, bare or under sockshim (wrap: a
    function from argv to the argv to run); it prints its port first."""

    def __init__(self, wrap=list):
        self.proc = subprocess.Popen(wrap([program("sink_server")]),
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE, env=base_env())
        self.port = int(self.proc.stdout.readline())

    def result(self):
        """(byte count, FNV-1a hash) of what it received."""
        out, err = self.proc.communicate(timeout=TIMEOUT)
        assert self.proc.returncode == 0, err.decode(errors="replace")
        fields = dict(l.split(": ") for l in out.decode().splitlines())
        return int(fields["bytes"]), fields["fnv1a64"]

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


# ---- 1. every action against real programs ---------------------------------

@pytest.mark.parametrize("argv, seen", [
    (lambda: scenario("fault_connect.py"), "connect 1: ConnectionRefusedError 111"),
    (lambda: [program("connect_attempts"), "each", "1"], "attempt 1: ECONNREFUSED"),
], ids=["python", "c"])
def test_connect_error_is_what_the_program_sees(tmp_path, argv, seen):
    # the server is listening: only the fault can refuse the connection
    trace = run_traced(argv(), tmp_path, fmt="text",
                       options=fault_options("connect:error=ECONNREFUSED"),
                       check_exit=0)
    assert seen in output(trace)
    [line] = lines_with(trace, ".connect(")
    assert "raises error(111, 'Connection refused')" in line
    assert line.endswith(" [fault #1 error=ECONNREFUSED]")


def test_accept_error_emfile_leaves_the_connection_waiting(tmp_path):
    trace = run_traced(scenario("fault_accept.py"), tmp_path, fmt="text",
                       options=fault_options("accept:error=EMFILE:when=1"),
                       check_exit=0)
    assert output(trace) == ("accept 1: OSError 24\n"
                             "accept 2: ok\n"
                             "data: b'ping'\n")
    first, second = lines_with(trace, ".accept(")
    assert "raises error(24, 'Too many open files')" in first
    assert first.endswith(" [fault #1 error=EMFILE]")
    assert annotation(second) is None


def test_faulted_close_closes_the_fd_and_reports_the_error(tmp_path):
    trace = run_traced([program("close_fault")], tmp_path, fmt="text",
                       options=fault_options("close:error=EIO:when=1"),
                       check_exit=0)
    assert output(trace) == ("close: -1 EIO\n"
                             "fcntl after close: -1 EBADF\n"
                             "next socket reuses the fd: yes\n")
    assert trace.bodies() == [
        "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
        "sock3.close() raises error(5, 'Input/output error') [fault #1 error=EIO]",
        "sock3.fcntl(F_GETFD) raises error(9, 'Bad file descriptor')",  # use after close
        "sock3 = socket(AF_INET, SOCK_STREAM, 0)",
        "sock3.close()",
    ]


def test_sendall_delivers_everything_through_one_byte_sends(tmp_path):
    size = 20_000
    with Sink() as sink:
        trace = run_traced(scenario("fault_sender.py") + [str(sink.port), str(size)],
                           tmp_path, options=fault_options("send:short=1"),
                           check_exit=0)
        assert sink.result() == (size, fnv1a64(pattern(size)))
    sends = calls(trace, "send")
    assert len(sends) == size
    assert all(c["ret"] == 1 for c in sends)
    # the last send asks for the one byte left: short=1 cuts nothing there
    assert faulted_numbers(sends) == list(range(1, size))
    assert all(c["fault"]["action"] == "short=1" for c in sends[:-1])


def test_naive_client_loses_data_under_short_sends(tmp_path):
    with Sink() as sink:
        trace = run_traced([program("naive_client"), str(sink.port), "10000"],
                           tmp_path, fmt="text", options=fault_options("send:short=1"),
                           check_exit=0)
        assert sink.result() == (1, fnv1a64(b"a"))
    assert output(trace) == "sent\n"
    [line] = lines_with(trace, ".send(")
    assert line.endswith("(10000 bytes)) -> 1 [fault #1 short=1]")


def test_short_recv_breaks_a_reader_that_wants_whole_messages(tmp_path):
    trace = run_traced(scenario("fault_lines.py") + ["naive"], tmp_path, fmt="text",
                       options=fault_options("recv:short=1"), check_exit=1)
    assert output(trace) == "message: b'h'\nincomplete message\n"
    [line] = lines_with(trace, ".recv(")
    assert line.endswith(".recv(1024) -> b'h' (1 byte) [fault #1 short=1]")


def test_short_recv_still_gives_makefile_readline_whole_lines(tmp_path):
    trace = run_traced(scenario("fault_lines.py") + ["makefile"], tmp_path, fmt="text",
                       options=fault_options("recv:short=1"), check_exit=0)
    assert output(trace) == "line: b'hello world\\n'\nline: b'second line\\n'\n"
    recvs = lines_with(trace, ".recv(")
    assert len(recvs) == len(b"hello world\nsecond line\n")
    assert all(l.endswith(" (1 byte) [fault #1 short=1]") for l in recvs)


# ---- datagrams and records ----------------------------------------------------

# What dgram_whole prints for a kind that keeps message boundaries, bare: a
# datagram arrives whole in a buffer with room for it, and a smaller buffer
# truncates it the kernel's way (recvmsg says MSG_TRUNC; recv with MSG_TRUNC
# returns the datagram's real length).
WHOLE_MESSAGES = ("send: 12\n"
                  "recv 100: 12 'hello, world'\n"
                  "send: 12\n"
                  "recvmsg 4: 4 'hell' MSG_TRUNC\n"
                  "send: 12\n"
                  "recv 4 MSG_TRUNC: 12 'hell'\n")

MESSAGE_KINDS = {"udp": "SOCK_DGRAM", "unix": "SOCK_DGRAM", "seqpacket": "SOCK_SEQPACKET"}


def skip_notes(trace):
    """The text trace's notes that a rule's short= skipped a socket."""
    return [l.body for l in trace.lines if ": short= skipped here " in l.body]


def skip_note(rule, sock, socktype):
    return (f"# note: fault #{rule} on {sock}: short= skipped here ({socktype}) and on every "
            "other socket that is not a stream: the kernel moves their messages whole")


TRUNCATING_RECVS = ["sock4.recv(100) -> b'hello, world' (12 bytes)",
                    "sock4.recvmsg(4) -> (b'hell' (4 bytes), [], MSG_TRUNC, None)",
                    # the 4 bytes the buffer holds, of the 12 recv returned
                    "sock4.recv(4, MSG_TRUNC) -> b'hell'... (12 bytes)"]


@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_the_kernel_truncates_a_message_only_for_a_smaller_buffer(tmp_path, kind):
    bare = run_bare([program("dgram_whole"), kind])
    assert bare.returncode == 0, bare.stderr
    assert bare.stdout.decode() == f"kind: {kind}\n" + WHOLE_MESSAGES
    trace = run_traced([program("dgram_whole"), kind], tmp_path, fmt="text", check_exit=0)
    assert output(trace) == f"kind: {kind}\n" + WHOLE_MESSAGES
    assert [b for b in trace.bodies() if b.startswith("sock4.recv")] == TRUNCATING_RECVS


@pytest.mark.parametrize("rule, sock", [("send:short=1", "sock3"), ("recv:short=1", "sock4")])
@pytest.mark.parametrize("kind", MESSAGE_KINDS)
def test_short_leaves_datagrams_and_records_whole(tmp_path, kind, rule, sock):
    trace = run_traced([program("dgram_whole"), kind], tmp_path, fmt="text",
                       options=fault_options(rule), check_exit=0)
    # the receiving side got every message whole, and MSG_TRUNC as bare
    assert output(trace) == f"kind: {kind}\n" + WHOLE_MESSAGES
    assert [annotation(b) for b in trace.bodies()] == [None] * len(trace.bodies())
    assert skip_notes(trace) == [skip_note(1, sock, MESSAGE_KINDS[kind])]
    assert [b for b in trace.bodies() if b.startswith("sock4.recv")] == TRUNCATING_RECVS


def test_short_skip_is_a_json_note_once_per_rule(tmp_path):
    trace = run_traced([program("dgram_whole"), "udp"], tmp_path,
                       options=fault_options("send:short=1", "recv:short=1"), check_exit=0)
    assert output(trace) == "kind: udp\n" + WHOLE_MESSAGES
    skips = [e for e in trace.events if e["type"] == "note"]
    assert [(e["rule"], e["text"], e["kind"], e["fd"], e["sock"]["type"], e["applied"])
            for e in skips] == [
        (1, "send:short=1", "short-skipped", 3, "SOCK_DGRAM", False),
        (2, "recv:short=1", "short-skipped", 4, "SOCK_DGRAM", False)]
    assert all(e["reason"] == "the kernel moves their messages whole" for e in skips)
    assert all("fault" not in c for c in trace.calls)
    [recvmsg] = calls(trace, "recvmsg")
    assert (recvmsg["ret"], recvmsg["out"]["msg_flags"]) == (4, "MSG_TRUNC")
    truncating = [c for c in calls(trace, "recv") if c["args"]["flags"] == "MSG_TRUNC"]
    assert [(c["ret"], c["out"]["data"]) for c in truncating] == \
        [(12, {"len": 12, "hex": b"hell".hex()})]


@pytest.mark.parametrize("rule, seen", [
    ("send:short=1", "send: 1\nrecv 100: 1 'h'\n"),
    ("recv:short=1", "send: 12\nrecv 100: 1 'h'\n"),
])
def test_short_still_cuts_a_stream(tmp_path, rule, seen):
    trace = run_traced([program("dgram_whole"), "stream"], tmp_path, fmt="text",
                       options=fault_options(rule), check_exit=0)
    assert output(trace) == "kind: stream\n" + seen
    assert skip_notes(trace) == []
    faulted = [b for b in trace.bodies() if annotation(b)]
    assert [annotation(b) for b in faulted] == [(1, "short=1")]


def test_short_with_a_delay_delays_a_datagram_and_leaves_it_whole(tmp_path):
    trace = run_traced([program("dgram_whole"), "unix"], tmp_path,
                       options=fault_options("send:short=1:delay=50ms"), check_exit=0)
    assert output(trace) == "kind: unix\n" + WHOLE_MESSAGES
    sends = calls(trace, "send")
    assert [c["ret"] for c in sends] == [12, 12, 12]
    # the delay applies and the mark says only it
    assert all(c["fault"]["action"] == "delay=50ms" and c["dur_ns"] >= 50 * MS for c in sends)
    assert [e["rule"] for e in trace.events if e["type"] == "note"] == [1]


def test_a_short_only_rule_passes_datagrams_by(tmp_path):
    """socket_types sends a datagram, then on a stream: send:short=1 does
    not count the datagram, so when=1 is the stream's send; and the next
    rule gets the datagram."""
    trace = run_traced([program("socket_types")], tmp_path, fmt="text",
                       options=fault_options("send:short=1:when=1", "send:error=ENOBUFS"),
                       check_exit=0)
    seen = dict(l.split(": ", 1) for l in output(trace).splitlines())
    assert seen == {**SOCKET_TYPES_BARE, "dgram send": "-1 ENOBUFS", "dgram recv": "-1 EAGAIN",
                    "stream send": "1", "stream recv": "1 'h'"}
    sends = lines_with(trace, ".send(")
    assert [annotation(l) for l in sends] == [(2, "error=ENOBUFS"), (1, "short=1")]


# ---- short= that cut nothing ------------------------------------------------------

def test_short_above_the_length_sent_is_not_a_fault(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["2", "ping"], tmp_path, fmt="text",
                       options=fault_options("send:short=7"), check_exit=0)
    assert output(trace) == "send 1: 4\nsend 2: 4\nreceived: b'pingping'\n"
    assert lines_with(trace, ".send(") == ["sock4.send(b'ping' (4 bytes)) -> 4"] * 2


def test_short_receive_is_a_fault_only_when_it_filled_the_cut_buffer(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["1"], tmp_path, fmt="text",
                       options=fault_options("recv:short=7"), check_exit=0)
    assert output(trace).endswith("received: b'hello world'\n")
    assert lines_with(trace, ".recv(") == [
        "sock5.recv(65536) -> b'hello w' (7 bytes) [fault #1 short=7]",
        "sock5.recv(65536) -> b'orld' (4 bytes)",   # 4 waited: nothing was cut
        "sock5.recv(65536) -> b'' (0 bytes)",
    ]


def test_short_that_cut_nothing_keeps_the_rules_other_actions(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["1", "ping"], tmp_path, fmt="text",
                       options=fault_options("send:short=7:delay=1ms"), check_exit=0)
    assert lines_with(trace, ".send(") == ["sock4.send(b'ping' (4 bytes)) -> 4 [fault #1 delay=1ms]"]


def test_short_that_cut_nothing_still_counts_and_applies(tmp_path):
    """The first send is rule 1's when=1: it cuts nothing (4 bytes asked),
    but rule 1 applied, so rule 2 is not tried; the second goes to rule 2."""
    trace = run_traced(scenario("fault_sends.py") + ["2", "ping"], tmp_path, fmt="text",
                       options=fault_options("send:short=4:when=1", "send:short=1"),
                       check_exit=0)
    assert output(trace).startswith("send 1: 4\nsend 2: 1\n")
    assert [annotation(l) for l in lines_with(trace, ".send(")] == [None, (2, "short=1")]


def test_sendall_counts_the_sends_short_cut(tmp_path):
    with Sink() as sink:
        trace = run_traced(scenario("fault_sender.py") + [str(sink.port), "20"], tmp_path,
                           fmt="text", options=fault_options("send:short=7"), check_exit=0)
        assert sink.result() == (20, fnv1a64(pattern(20)))
    # 20 = 7 + 7 + 6: the third send asks for 6 bytes, below the cut
    [line] = lines_with(trace, ".sendall(")
    assert line.endswith("(20 bytes)) -> None [3 sends, 2 faulted: fault #1 short=7]")


def test_a_folded_sendall_keeps_the_marks_of_every_rule_that_hit_it(tmp_path):
    """Rule 1 cuts the first send to 1 byte, rule 2 the rest to 2: the one
    sendall line names both, so a search for either rule finds it."""
    with Sink() as sink:
        trace = run_traced(scenario("fault_sender.py") + [str(sink.port), "20"], tmp_path,
                           fmt="text", options=fault_options("send:short=1:when=1",
                                                             "send:short=2"),
                           check_exit=0)
        assert sink.result() == (20, fnv1a64(pattern(20)))
    # 20 = 1 + 9 * 2 + 1: the last send asks for 1 byte, below rule 2's cut
    [line] = lines_with(trace, ".sendall(")
    assert line.endswith("(20 bytes)) -> None [11 sends, 10 faulted: fault #1 short=1, "
                         "fault #2 short=2]"), line
    assert lines_with(trace, "fault #2") == [line]


def test_delay_makes_the_call_last_at_least_the_delay(tmp_path):
    trace = run_traced(scenario("fault_connect.py"), tmp_path,
                       options=fault_options("connect:delay=150ms"), check_exit=0)
    line = output(trace).strip()
    assert line.startswith("connect 1: ok ")
    assert millis(line) >= 150
    [connect] = calls(trace, "connect")
    assert connect["ret"] == 0
    assert connect["fault"]["action"] == "delay=150ms"
    assert connect["dur_ns"] >= 150 * MS


def test_jitter_adds_at_most_the_jitter_to_the_delay(tmp_path):
    # margin: how late a sleep may wake on a loaded machine
    delay, jitter, margin = 20, 100, 1000 if SANITIZED else 150
    trace = run_traced(scenario("fault_connect.py") + ["5"], tmp_path,
                       options=fault_options(f"connect:delay={delay}ms:jitter={jitter}ms",
                                             seed=1),
                       check_exit=0)
    durations = [c["dur_ns"] / MS for c in calls(trace, "connect")]
    assert len(durations) == 5
    assert all(delay <= d <= delay + jitter + margin for d in durations), durations
    # with seed 1 the jitter draws are spread over [0, 100ms): some call
    # got more than half of it (a lower bound, so load cannot break it)
    assert max(durations) >= delay + jitter / 2, durations


def test_no_fault_on_a_file_the_model_takes_for_a_closed_socket(tmp_path):
    """asm_close_reuse closes a socket with the bare syscall instruction
    (the shim cannot see it) and opens a file on its number: the model
    still takes the number for the socket (docs/limits.md), but the fault
    engine asks the kernel before cutting a read, and leaves the file's
    read whole."""
    bare = run_bare([program("asm_close_reuse")])
    trace = run_traced([program("asm_close_reuse")], tmp_path,
                       options=fault_options("recv:short=1"), check_exit=0)
    assert trace.proc.stdout == bare.stdout == (
        b"closed unseen: 0\nread 29 bytes: the whole file, read at once\n")
    [read] = calls(trace, "recv")
    assert read["ret"] == 29 and read.get("fault") is None


def test_eof_returns_at_once_and_ends_the_stream_for_good(tmp_path):
    # recv 1 comes before the peer sends: without the fault it would block;
    # after a peer's FIN every receive gives 0, so recv 2 and 3 do too,
    # though the rule's when= is over and data waits in the socket
    trace = run_traced(scenario("fault_eof.py"), tmp_path, fmt="text",
                       options=fault_options("recv:eof:when=1"), check_exit=0)
    assert output(trace) == ("recv 1: b''\n"
                             "recv 2: b''\n"
                             "recv 3: b''\n")
    recvs = lines_with(trace, ".recv(")
    assert [annotation(l) for l in recvs] == [(1, "eof"), (1, "eof"), (1, "eof")]
    assert recvs[0].endswith(".recv(1024) -> b'' (0 bytes) [fault #1 eof]")


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_eof_after_4096_bytes_ends_the_stream_exactly_there(tmp_path, fmt):
    trace_file = tmp_path / "sink.trace"
    def under_sockshim(argv):
        return sockshim.command(argv, ["recv:eof:after=4096"], output=trace_file,
                                format=fmt, sockshim=SOCKSHIM)
    with Sink(under_sockshim) as sink:
        client = run_bare([program("naive_client"), str(sink.port), "10000"])
        assert client.returncode == 0
        assert sink.result() == (4096, fnv1a64(pattern(4096)))
    if fmt == "text":
        recvs = [l.body for l in parse_text(trace_file.read_text()) if ".recv(" in l.body]
        *data, end = recvs
        cuts = [re.search(r"\(\d+ bytes?\) \[fault #1 cut to (\d+) bytes? before eof\]$", l)
                for l in data]
        assert data and all(cuts), recvs
        assert int(cuts[0].group(1)) == 4096  # the room left before the mark
        assert end.endswith(".recv(65536) -> b'' (0 bytes) [fault #1 eof]")
    else:
        recvs = [e for e in map(json.loads, trace_file.read_text().splitlines())
                 if e.get("op") == "recv"]
        *data, end = recvs
        assert sum(c["ret"] for c in data) == 4096
        assert data[0]["fault"]["cut_to"] == 4096
        assert all("cut_to" in c["fault"] for c in data)
        assert end["ret"] == 0
        assert end["fault"] == {"rule": 1, "action": "eof", "text": "recv:eof:after=4096"}


def test_send_reset_really_resets_the_connection(tmp_path):
    trace = run_traced(scenario("fault_reset.py"), tmp_path, fmt="text",
                       options=fault_options("send:reset:when=3"), check_exit=0)
    assert output(trace) == (
        "client send 1: 3\n"
        "server recv: b'one'\n"
        "client send 2: 3\n"
        "server recv: b'two'\n"
        "client send 3: ConnectionResetError 104\n"
        # the peer got an RST, not a FIN
        "server recv: ConnectionResetError 104\n"
        # and the program's own socket is now a reset one
        "client send after: BrokenPipeError 32\n"
        "client recv after: b''\n")
    sends = lines_with(trace, ".send(")
    assert [annotation(l) for l in sends] == [None, None, (1, "reset"), None]
    assert "raises error(104, 'Connection reset by peer')" in sends[2]
    assert "raises error(32, 'Broken pipe')" in sends[3]


def test_recv_timeout_waits_for_so_rcvtimeo_then_fails_with_eagain(tmp_path):
    trace = run_traced(scenario("fault_recv_timeout.py"), tmp_path,
                       options=fault_options("recv:timeout"), check_exit=0)
    line = output(trace).strip()
    assert line.startswith("recv: BlockingIOError 11 ")  # data was waiting
    assert millis(line) >= 200
    [recv] = calls(trace, "recv")
    assert recv["error"]["name"] == "EAGAIN"
    assert recv["fault"]["action"] == "timeout"
    assert recv["dur_ns"] >= 200 * MS


def test_connect_timeout_is_a_dead_path_the_kernel_times_out(tmp_path):
    # the connect goes to a port that never answers: the kernel retransmits
    # its SYN and gives up after TCP_USER_TIMEOUT, as against a dead host
    trace = run_traced(scenario("fault_connect.py"), tmp_path,
                       options=fault_options("connect:timeout=1500ms"),
                       check_exit=0)
    line = output(trace).strip()
    assert line.startswith("connect 1: TimeoutError 110 ")
    assert millis(line) >= 1500
    [connect] = calls(trace, "connect")
    assert connect["error"]["name"] == "ETIMEDOUT"
    assert connect["fault"]["action"] == "timeout=1500ms"
    assert connect["dur_ns"] >= 1500 * MS


@pytest.mark.parametrize("method", ["send", "recv"])
@pytest.mark.parametrize("count", [1, 3, 16])
def test_corrupt_flips_exactly_n_bytes(tmp_path, method, count):
    trace = run_traced(scenario("fault_corrupt.py") + ["1000"], tmp_path, fmt="text",
                       options=fault_options(f"{method}:corrupt={count}"), check_exit=0)
    report = dict(l.split(" ", 1) for l in output(trace).splitlines())
    assert report["sent"] == "1000"
    assert report["received"] == "1000"
    assert report["intact"] == "False"
    # each faulted call that carries data flips `count` bytes of it
    chunks = 1 if method == "send" else int(report["chunks"])
    assert int(report["differing"]) == count * chunks
    faulted = [l for l in lines_with(trace, f".{method}(") if annotation(l)]
    # the annotation says how many bytes flipped in what moved (0 at EOF)
    moved = [l for l in faulted if not l.split(" -> ")[-1].startswith("b'' (0 bytes)")]
    assert moved and all(annotation(l) == (1, f"corrupt={count}, {count} flipped")
                         for l in moved)


def test_corrupt_on_a_partial_send_reports_the_flips_that_went_out(tmp_path):
    """The flips are spread over the data offered; of a send the kernel
    takes only in part, the trace says how many flipped bytes it took, and
    that is what the receiver sees differ."""
    trace = run_traced(scenario("fault_partial_send.py"), tmp_path,
                       options=fault_options("send:corrupt=1000:when=1", seed=1),
                       check_exit=0)
    report = dict(l.split(" ", 1) for l in output(trace).splitlines())
    sent = int(report["sent"])
    assert 1000 < sent < 1_000_000  # the kernel took part of it
    faulted = [c for c in calls(trace, "send") if "fault" in c]
    assert len(faulted) == 1 and faulted[0]["ret"] == sent
    assert faulted[0]["fault"]["flipped"] == int(report["differing"])
    assert 0 < int(report["differing"]) < 1000


def test_corrupt_send_changes_what_a_c_receiver_hashes(tmp_path):
    with Sink() as sink:
        run_traced([program("naive_client"), str(sink.port), "10000"], tmp_path,
                   options=fault_options("send:corrupt=5"), check_exit=0)
        size, digest = sink.result()
    assert size == 10000
    assert digest != fnv1a64(pattern(10000))


# ---- 2. when= ----------------------------------------------------------------

def test_retrying_client_is_refused_exactly_three_times(tmp_path):
    trace = run_traced([program("connect_attempts"), "retry", "10"], tmp_path,
                       fmt="text",
                       options=fault_options("connect:error=ECONNREFUSED:when=1..3"),
                       check_exit=0)
    assert output(trace) == ("attempt 1: ECONNREFUSED\n"
                             "attempt 2: ECONNREFUSED\n"
                             "attempt 3: ECONNREFUSED\n"
                             "attempt 4: ok\n"
                             "connected after 4 attempts\n")
    connects = lines_with(trace, ".connect(")
    assert [annotation(l) for l in connects] == [(1, "error=ECONNREFUSED")] * 3 + [None]
    assert connects[3].endswith(" -> None")


@pytest.mark.parametrize("when, faulted", [
    ("2+", [2, 3, 4, 5, 6, 7, 8, 9, 10]),  # every call from the 2nd on
    ("3", [3]),                             # only the 3rd
    ("2..10+3", [2, 5, 8]),
    ("1+2", [1, 3, 5, 7, 9]),               # odd calls
    ("4..6", [4, 5, 6]),
    ("9..20", [9, 10]),
])
def test_when_picks_the_calls(tmp_path, when, faulted):
    trace = run_traced([program("connect_attempts"), "each", "10"], tmp_path,
                       options=fault_options(f"connect:error=ECONNREFUSED:when={when}"),
                       check_exit=0)
    assert refused_attempts(output(trace)) == faulted
    assert faulted_numbers(calls(trace, "connect")) == faulted


def test_when_counts_per_process(tmp_path):
    trace = run_traced([program("connect_attempts"), "fork", "3"], tmp_path,
                       options=fault_options("connect:error=ECONNREFUSED:when=2"),
                       check_exit=0)
    # the child's 2nd connect is the process's 2nd: counting starts afresh
    assert refused_attempts(output(trace)) == [2]
    assert refused_attempts(output(trace), child=True) == [2]
    pids = {c["pid"] for c in calls(trace, "connect")}
    assert len(pids) == 2
    for pid in pids:
        assert faulted_numbers(calls(trace, "connect", pid)) == [2]


# ---- 3. p= and the seed ------------------------------------------------------

P_RULE = "connect:error=ECONNREFUSED:p=0.5"
P_ATTEMPTS = 20


def p_decisions(tmp_path, name, options=(), env=None, fmt="json"):
    """Runs 20 connects under P_RULE; returns (refused attempts, trace)."""
    directory = tmp_path / name
    directory.mkdir()
    trace = run_traced([program("connect_attempts"), "each", str(P_ATTEMPTS)],
                       directory, fmt=fmt, options=[*fault_options(P_RULE), *options],
                       env=env, check_exit=0)
    refused = refused_attempts(output(trace))
    if fmt == "json":
        assert refused == faulted_numbers(calls(trace, "connect"))
    else:
        connects = lines_with(trace, ".connect(")
        assert refused == [i for i, l in enumerate(connects, 1) if annotation(l)]
    return refused, trace


def seed_of(trace):
    """The seed the trace's header shows."""
    if trace.events:
        return start_record(trace)["seed"]
    [(number, rule, seed)] = header_rules(trace)
    return seed


def test_same_seed_same_decisions(tmp_path):
    first, _ = p_decisions(tmp_path, "a", ["--seed", "1"])
    second, _ = p_decisions(tmp_path, "b", ["--seed", "1"])
    assert first == second
    assert 0 < len(first) < P_ATTEMPTS


def test_different_seed_different_decisions(tmp_path):
    # seeds 1 and 2 are known to differ over 20 draws at p=0.5 (seed 1
    # refuses 1 3 4 6 7 8 9 10 12 14 15 16 17 18 19 20, seed 2 refuses 1 3
    # 4 5 8 9 11 13 14 16 19 20); two seeds agree on all 20 only with
    # probability 2**-20
    one, _ = p_decisions(tmp_path, "a", ["--seed", "1"])
    two, _ = p_decisions(tmp_path, "b", ["--seed", "2"])
    assert one != two


def test_seed_from_the_environment_is_used(tmp_path):
    by_option, _ = p_decisions(tmp_path, "a", ["--seed", "7"])
    by_env, trace = p_decisions(tmp_path, "b", env={"SOCKSHIM_SEED": "7"})
    assert seed_of(trace) == 7
    assert by_env == by_option


@pytest.mark.parametrize("fmt", ["text", "json"])
def test_seed_shown_when_none_given_replays_the_run(tmp_path, fmt):
    first, trace = p_decisions(tmp_path, "a", fmt=fmt)
    seed = seed_of(trace)
    assert seed is not None
    replay, trace = p_decisions(tmp_path, "b", ["--seed", str(seed)], fmt=fmt)
    assert seed_of(trace) == seed
    assert replay == first


def test_seed_picked_by_the_library_replays_the_run(tmp_path):
    """Preloaded by hand, without a seed: the library picks one itself."""
    def run(name, extra):
        trace_file = tmp_path / name
        proc = subprocess.run(
            [program("connect_attempts"), "each", str(P_ATTEMPTS)],
            capture_output=True, timeout=TIMEOUT,
            env=preload_env({"SOCKSHIM_FAULTS": P_RULE, "SOCKSHIM_FORMAT": "json",
                             "SOCKSHIM_OUTPUT": str(trace_file), **extra}))
        assert proc.returncode == 0, proc.stderr
        events = [json.loads(l) for l in trace_file.read_text().splitlines()]
        return refused_attempts(proc.stdout.decode()), events[0]["seed"]

    first, seed = run("first", {})
    replay, replay_seed = run("replay", {"SOCKSHIM_SEED": str(seed)})
    assert replay_seed == seed
    assert replay == first


# p= draws are keyed per socket: sends_per_socket's senders (threads, or
# processes in fork mode) each send 200 8-byte messages on a socket of their
# own, with a loop that survives short sends, all at once, and print which
# of their send calls came back short. The same seed must fault the same
# calls of each socket whatever the threads' interleaving.

SOCKET_RULE = "send:short=1:p=0.3"
SENDER_RE = re.compile(r"^(.+): (\d+) messages (\w+), (\d+) sends, short:((?: \d+)*)$", re.M)


def faults_per_socket(tmp_path, name, mode, seed=1):
    """Runs sends_per_socket MODE under SOCKET_RULE; returns ([(sender, the
    numbers of the socket's faulted send calls)] in the program's order,
    stdout). Checks that every message arrived intact and that the
    program's short sends are the trace's faulted ones (but those that were
    asked for one byte, which short=1 leaves whole)."""
    directory = tmp_path / name
    directory.mkdir()
    trace = run_traced([program("sends_per_socket"), mode], directory,
                       options=fault_options(SOCKET_RULE, seed=seed), check_exit=0)
    text = output(trace)
    senders = SENDER_RE.findall(text)
    assert len(senders) == (3 if mode == "fork" else 4), text
    assert all((messages, state) == ("200", "intact") for _, messages, state, _, _ in senders)

    # a socket is a pid (the fork children share their parent's socket)
    # and the model's serial; serials follow the sockets' creation, and
    # the processes run one after the other
    pids = list(dict.fromkeys(c["pid"] for c in trace.calls))
    per_socket = {}
    for c in calls(trace, "send"):
        per_socket.setdefault((pids.index(c["pid"]), c["sock"]["id"]), []).append(c)
    sockets = [per_socket[key] for key in sorted(per_socket)]
    if mode == "threads":  # their own order: which thread's pair came first
        sockets.sort(key=lambda sends: sends[0]["args"]["data"]["hex"])
    assert len(sockets) == len(senders)
    faulted = []
    for (sender, _, _, count, shorts), sends in zip(senders, sockets):
        assert len(sends) == int(count), sender
        cut = [i for i, c in enumerate(sends, 1) if "fault" in c and c["args"]["data"]["len"] > 1]
        assert [int(n) for n in shorts.split()] == cut, sender
        faulted.append((sender, faulted_numbers(sends)))
    return faulted, text


def assert_some_faulted(faulted):
    """p=0.3 faulted some of each socket's sends, not all, and the sockets'
    sequences differ (each has a key of its own)."""
    for sender, numbers in faulted:
        assert 0 < len(numbers) < 200, sender
    assert len({tuple(numbers) for _, numbers in faulted}) == len(faulted)


def test_same_seed_same_faults_per_socket_with_threads(tmp_path):
    """main makes the four socketpairs one after the other, then the four
    threads send at once: each socket's faulted calls replay exactly (the
    old process-wide count dealt the draws in the threads' interleaving)."""
    first, first_text = faults_per_socket(tmp_path, "a", "main")
    second, second_text = faults_per_socket(tmp_path, "b", "main")
    assert_some_faulted(first)
    assert second == first
    assert second_text == first_text


def test_different_seed_different_faults_per_socket_with_threads(tmp_path):
    one, _ = faults_per_socket(tmp_path, "a", "main", seed=1)
    two, _ = faults_per_socket(tmp_path, "b", "main", seed=2)
    assert_some_faulted(two)
    # over about 280 sends, two seeds agree only by a negligible chance
    for (sender, numbers_one), (_, numbers_two) in zip(one, two):
        assert numbers_one != numbers_two, sender


def test_same_seed_same_faults_per_accepted_connection_with_threads(tmp_path):
    """The clients' socket() calls race, their connects are taken in turn;
    the k-th connection accepted has the same faulted sends in every run,
    the handler threads sending at once."""
    first, first_text = faults_per_socket(tmp_path, "a", "accept")
    second, second_text = faults_per_socket(tmp_path, "b", "accept")
    assert_some_faulted(first)
    assert second == first
    assert second_text == first_text


def test_threads_making_their_sockets_at_once_get_the_same_sequences(tmp_path):
    """Each thread makes its own socketpair, the calls racing: the sockets
    are numbered in the order the calls completed, so the same sequences
    come out, possibly dealt to other threads (docs/faults.md)."""
    first, _ = faults_per_socket(tmp_path, "a", "threads")
    second, _ = faults_per_socket(tmp_path, "b", "threads")
    assert_some_faulted(first)
    assert sorted(numbers for _, numbers in second) == sorted(numbers for _, numbers in first)


def test_forked_children_draw_afresh_and_apart_on_an_inherited_socket(tmp_path):
    """The parent and then two children, one after the other, send on one
    socketpair: each process's faulted sends replay, and differ (a child
    counts afresh, and its draws are keyed by its fork)."""
    first, _ = faults_per_socket(tmp_path, "a", "fork")
    second, _ = faults_per_socket(tmp_path, "b", "fork")
    assert [sender for sender, _ in first] == ["parent", "child 1", "child 2"]
    assert_some_faulted(first)
    assert second == first


# ---- 4. filters ---------------------------------------------------------------

@pytest.fixture
def servers():
    """Two listening TCP servers, A on 127.0.0.1 and B on 127.0.0.2, as
    {"A": (host, port), "B": (host, port)}. Nothing accepts: connections
    wait in the backlog, and what is sent to them in the socket buffers."""
    socks = {}
    for name, host in (("A", "127.0.0.1"), ("B", "127.0.0.2")):
        socks[name] = socket.socket()
        socks[name].bind((host, 0))
        socks[name].listen(16)
    yield {name: s.getsockname() for name, s in socks.items()}
    for s in socks.values():
        s.close()


PEERS_RE = re.compile(r"^(\w+) fd=(\d+) sent=(\d+),(\d+)$", re.M)


def run_peers(tmp_path, servers, rule=None):
    """fault_peers.py against the servers (bare without a rule); returns
    ({name: (fd, [sent, sent])}, trace or None)."""
    argv = scenario("fault_peers.py") + [f"{h}:{p}" for h, p in servers.values()]
    if rule is None:
        proc, trace = run_bare(argv), None
        assert proc.returncode == 0, proc.stderr
        text = proc.stdout.decode()
    else:
        trace = run_traced(argv, tmp_path, options=fault_options(rule), check_exit=0)
        text = output(trace)
    result = {name: (int(fd), [int(a), int(b)]) for name, fd, a, b in PEERS_RE.findall(text)}
    assert set(result) == {"A", "B", "unix"}
    return result, trace


def assert_only_hit(result, trace, hit):
    """Connection `hit` got the 1-byte sends, the others none; the trace's
    faulted sends are all on its fd."""
    for name, (fd, sent) in result.items():
        assert sent == ([1, 1] if name == hit else [5, 5]), (name, result)
    faulted_fds = {c["fd"] for c in calls(trace, "send") if "fault" in c}
    assert faulted_fds == {result[hit][0]}


@pytest.mark.parametrize("target", ["A", "B"])
def test_port_filter(tmp_path, servers, target):
    port = servers[target][1]
    result, trace = run_peers(tmp_path, servers, f"send:short=1:port={port}")
    assert_only_hit(result, trace, target)


def test_peer_address_filter(tmp_path, servers):
    result, trace = run_peers(tmp_path, servers, "send:short=1:peer=127.0.0.2")
    assert_only_hit(result, trace, "B")


@pytest.mark.parametrize("target", ["A", "B"])
def test_peer_address_and_port_filter(tmp_path, servers, target):
    host, port = servers[target]
    result, trace = run_peers(tmp_path, servers, f"send:short=1:peer={host}:{port}")
    assert_only_hit(result, trace, target)


def test_family_unix_filter(tmp_path, servers):
    result, trace = run_peers(tmp_path, servers, "send:short=1:family=unix")
    assert_only_hit(result, trace, "unix")


def test_family_inet_filter_leaves_unix_sockets_alone(tmp_path, servers):
    result, trace = run_peers(tmp_path, servers, "send:short=1:family=inet")
    assert result["unix"][1] == [5, 5]
    assert result["A"][1] == result["B"][1] == [1, 1]


def test_fd_filter(tmp_path, servers):
    bare, _ = run_peers(tmp_path, servers)  # fd numbers are deterministic
    fd_of_b = bare["B"][0]
    result, trace = run_peers(tmp_path, servers, f"send:short=1:fd={fd_of_b}")
    assert result["B"][0] == fd_of_b
    assert_only_hit(result, trace, "B")


@pytest.mark.parametrize("rule, changed, faulted", [
    # socket() and socketpair() by the type they ask for, flags left out
    ("socket:error=EMFILE:type=dgram", {"socket dgram": "-1 EMFILE"}, ["socket"]),
    ("socket:error=EMFILE:type=stream", {"socket stream": "-1 EMFILE"}, ["socket"]),
    ("socketpair:error=EMFILE:type=seqpacket", {"socketpair seqpacket": "-1 EMFILE"},
     ["socketpair"]),
    # transfers by their socket's type
    ("send:short=1:type=stream", {"stream send": "1", "stream recv": "1 'h'"}, ["send"]),
    ("send:error=ENOBUFS:type=dgram", {"dgram send": "-1 ENOBUFS", "dgram recv": "-1 EAGAIN"},
     ["send"]),
    ("recv:eof:type=dgram", {"dgram recv": "0 ''"}, ["recv"]),
    ("recv:eof:type=stream", {"stream recv": "0 ''"}, ["recv"]),
    ("%io:error=EIO:type=raw", {}, []),
])
def test_type_filter(tmp_path, rule, changed, faulted):
    bare = run_bare([program("socket_types")])
    assert dict(l.split(": ", 1) for l in bare.stdout.decode().splitlines()) == SOCKET_TYPES_BARE
    trace = run_traced([program("socket_types")], tmp_path, options=fault_options(rule),
                       check_exit=0)
    seen = dict(l.split(": ", 1) for l in output(trace).splitlines())
    assert seen == {**SOCKET_TYPES_BARE, **changed}
    assert [c["op"] for c in trace.calls if "fault" in c] == faulted


def test_after_filter_counts_each_sockets_bytes(tmp_path, servers):
    # each connection's first 5 bytes go out whole, later sends are cut
    result, trace = run_peers(tmp_path, servers, "send:short=1:after=5")
    assert {name: sent for name, (fd, sent) in result.items()} == \
        {"A": [5, 1], "B": [5, 1], "unix": [5, 1]}
    per_fd = {}
    for c in calls(trace, "send"):
        per_fd.setdefault(c["fd"], []).append("fault" in c)
    assert list(per_fd.values()) == [[False, True]] * 3


# ---- 5. where rules come from ---------------------------------------------------

SOURCE_RULE = "connect:error=ECONNREFUSED:when=2"

FAULT_FILE = f"""\
# refuse the second connect

   {SOURCE_RULE}   # spaces and a comment around it

# nothing else
"""


def run_with_rule_from(source, tmp_path):
    """connect_attempts each 3 with SOURCE_RULE given by source; returns
    (stdout, JSON events)."""
    argv = [program("connect_attempts"), "each", "3"]
    if source == "preload":
        trace_file = tmp_path / "trace"
        proc = subprocess.run(argv, capture_output=True, timeout=TIMEOUT,
                              env=preload_env({"SOCKSHIM_FAULTS": SOURCE_RULE,
                                               "SOCKSHIM_FORMAT": "json",
                                               "SOCKSHIM_OUTPUT": str(trace_file)}))
        assert proc.returncode == 0, proc.stderr
        events = [json.loads(l) for l in trace_file.read_text().splitlines()]
        return proc.stdout.decode(), events
    options, env = [], None
    if source == "option":
        options = ["--fault", SOURCE_RULE]
    elif source == "environment":
        env = {"SOCKSHIM_FAULTS": SOURCE_RULE}
    elif source == "file":
        path = tmp_path / "rules.txt"
        path.write_text(FAULT_FILE)
        options = ["--fault-file", str(path)]
    trace = run_traced(argv, tmp_path, options=options, env=env, check_exit=0)
    return output(trace), trace.events


@pytest.mark.parametrize("source", ["option", "environment", "preload", "file"])
def test_rule_sources(tmp_path, source):
    text, events = run_with_rule_from(source, tmp_path)
    assert refused_attempts(text) == [2]
    assert events[0]["type"] == "start"
    assert events[0]["faults"] == [SOURCE_RULE]
    connects = [e for e in events if e.get("op") == "connect"]
    assert faulted_numbers(connects) == [2]
    assert connects[1]["fault"]["text"] == SOURCE_RULE


def test_first_matching_rule_applies(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["3"], tmp_path, fmt="text",
                       options=fault_options("send:short=1:when=1", "send:short=2"),
                       check_exit=0)
    assert output(trace) == ("send 1: 1\n"
                             "send 2: 2\n"
                             "send 3: 2\n"
                             "received: b'hhehe'\n")
    sends = lines_with(trace, ".send(")
    assert [annotation(l) for l in sends] == [(1, "short=1"), (2, "short=2"), (2, "short=2")]


def test_command_line_rules_come_before_the_environments(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["2"], tmp_path, fmt="text",
                       options=fault_options("send:short=1"),
                       env={"SOCKSHIM_FAULTS": "send:short=2"}, check_exit=0)
    assert output(trace).startswith("send 1: 1\nsend 2: 1\n")
    assert [rule for _, rule, _ in header_rules(trace)] == ["send:short=1", "send:short=2"]


def test_fault_file_and_fault_options_keep_command_line_order(tmp_path):
    path = tmp_path / "rules.txt"
    path.write_text("send:short=2\n")
    trace = run_traced(scenario("fault_sends.py") + ["1"], tmp_path, fmt="text",
                       options=["--fault-file", str(path), "--fault", "send:short=1"],
                       check_exit=0)
    assert output(trace).startswith("send 1: 2\n")


def test_semicolon_in_a_fault_rule_is_refused(tmp_path):
    """';' separates rules in SOCKSHIM_FAULTS: a --fault rule holding one
    would become two, so it is refused, pointing at the ';'."""
    rule = "send:delay=1ms:peer=/a;send:short=1"
    trace = run_traced(scenario("fault_sends.py") + ["1"], tmp_path, fmt="text",
                       options=fault_options(rule))
    assert trace.proc.returncode == 2
    stderr = trace.proc.stderr.decode()
    assert "';' separates rules" in stderr
    assert marks(stderr, rule, ";")


# ---- 6. bad rules ------------------------------------------------------------------

LONG_RULE = "send:short=1:fd=" + "1" * 496  # 512 characters

# (rule, what the message says, the part of the rule the carets mark as
# the message prints it (non-printable bytes escaped as \xNN), or for an
# empty field the column of the one caret that marks where it is missing)
BAD_RULES = [
    # methods
    ("sned:short=1", "unknown method 'sned' (did you mean 'send'?)", "sned"),
    ("frobnicate:short=1", "unknown method 'frobnicate'", "frobnicate"),
    ("%bogus:short=1", "unknown method group '%bogus'", "%bogus"),
    # actions and filters
    ("send:explode", "unknown action or filter 'explode'", "explode"),
    ("send:shrot=1", "unknown action 'shrot' (did you mean 'short'?)", "shrot"),
    # errno values
    ("connect:error=ECONNREFUSE", "unknown error 'ECONNREFUSE'", "ECONNREFUSE"),
    ("connect:error=0", "unknown error '0'", "0"),
    ("connect:error=4096", "unknown error '4096'", "4096"),
    # numbers out of range
    ("send:short=0", "bad short= length '0'", "0"),
    ("send:short=2147483648", "bad short= length '2147483648'", "2147483648"),
    ("send:short=1:port=70000", "bad port '70000'", "70000"),
    ("send:short=1:port=0", "bad port '0'", "0"),
    ("recv:corrupt=65537", "bad corrupt= byte count '65537'", "65537"),
    ("send:short=1:fd=1073741825", "bad fd '1073741825'", "1073741825"),
    # negative numbers
    ("send:short=-1", "bad short= length '-1'", "-1"),
    ("send:short=1:fd=-1", "bad fd '-1'", "-1"),
    ("send:short=1:when=-2", "bad when= call number '-2'", "-2"),
    ("send:short=1:port=-80", "bad port '-80'", "-80"),
    ("recv:corrupt=-2", "bad corrupt= byte count '-2'", "-2"),
    # huge numbers
    ("send:short=99999999999999999999", "bad short= length", "99999999999999999999"),
    ("send:short=1:when=99999999999999999999", "bad when= call number",
     "99999999999999999999"),
    ("send:short=1:fd=99999999999999999999", "bad fd", "99999999999999999999"),
    ("connect:error=99999999999999999999", "unknown error", "99999999999999999999"),
    ("send:delay=99999999999999999999s", "bad delay", "99999999999999999999s"),
    # empty fields
    ("", "empty rule", ""),
    ("send:", "empty term", ""),
    (":short=1", "empty method name", 0),
    ("send::short=1", "empty term", 5),
    ("send,:short=1", "empty method name", 5),
    ("send:short=1:", "empty term", ""),
    ("send:short=1:family=", "'family=' has an empty value", "family="),
    ("send", "has no ':'", "send"),
    # missing values, values where none are allowed
    ("send:short", "'short' needs a value", "short"),
    ("send:delay", "'delay' needs a value", "delay"),
    ("send:when", "'when' needs a value", "when"),
    ("recv:eof=1", "'eof' takes no value", "eof=1"),
    ("send:reset=yes", "'reset' takes no value", "reset=yes"),
    ("recv:timeout=0s", "bad timeout '0s' (from 1us to 1 hour", "0s"),
    ("recv:timeout=", "'timeout=' has an empty value", "timeout="),
    # when= ranges
    ("send:short=1:when=1..", "unterminated range '1..'", "1.."),
    ("send:short=1:when=1..+2", "unterminated range '1..+2'", "1..+2"),
    ("send:short=1:when=5..2", "bad when= last call number '2'", "2"),
    ("send:short=1:when=0", "bad when= call number '0'", "0"),
    ("send:short=1:when=1+0", "bad when= step '0'", "0"),
    # durations
    ("send:delay=200", "bad delay '200'", "200"),
    ("send:delay=-1ms", "bad delay '-1ms'", "-1ms"),
    ("send:delay=2h", "bad delay '2h'", "2h"),
    ("send:delay=ms", "bad delay 'ms'", "ms"),
    ("send:delay=3601s", "bad delay '3601s'", "3601s"),
    ("send:delay=1.5.5s", "bad delay '1.5.5s'", "1.5.5s"),
    ("send:delay=10ms:jitter=2h", "bad jitter '2h'", "2h"),
    # probabilities
    ("send:short=1:p=2", "bad probability '2'", "2"),
    ("send:short=1:p=-0.1", "bad probability '-0.1'", "-0.1"),
    ("send:short=1:p=abc", "bad probability 'abc'", "abc"),
    ("send:short=1:p=101%", "bad probability '101%'", "101%"),
    # sizes
    ("send:short=1:after=4x", "bad after= byte count '4x'", "4x"),
    ("send:short=1:after=k", "bad after= byte count 'k'", "k"),
    ("send:short=1:after=-1", "bad after= byte count '-1'", "-1"),
    ("send:short=1:after=1.5k", "bad after= byte count '1.5k'", "1.5k"),
    ("send:short=1:after=1KB", "bad after= byte count '1KB'", "1KB"),
    # peers and families
    ("send:short=1:peer=localhost", "bad peer address 'localhost'", "localhost"),
    ("send:short=1:peer=1.2.3.4.5", "bad peer address '1.2.3.4.5'", "1.2.3.4.5"),
    ("send:short=1:peer=999.0.0.1", "bad peer address '999.0.0.1'", "999.0.0.1"),
    ("send:short=1:peer=relative/path", "bad peer address", "relative/path"),
    ("send:short=1:family=ipx", "unknown family 'ipx'", "ipx"),
    ("send:short=1:family=INET", "unknown family 'INET'", "INET"),
    ("send:short=1:type=dgarm", "unknown socket type 'dgarm' (did you mean 'dgram'?)", "dgarm"),
    ("recv:eof:type=SOCK_DGRAM", "unknown socket type 'SOCK_DGRAM' (did you mean 'dgram'?)",
     "SOCK_DGRAM"),
    ("recv:eof:type=STREAM", "unknown socket type 'STREAM' (did you mean 'stream'?)", "STREAM"),
    ("send:short=1:type=packet",
     "unknown socket type 'packet' (expected stream, dgram, seqpacket or raw)", "packet"),
    ("send:short=1:type=", "'type=' has an empty value", "type="),
    ("send:delay=1ms:type=dgram:type=raw", "'type' is given twice", "type"),
    ("send:short=1:tpye=stream", "unknown filter 'tpye' (did you mean 'type'?)", "tpye"),
    # actions that do not go together
    ("recv:error=EIO:eof", "more than one of error=, eof, reset, timeout and blackhole",
     "recv:error=EIO:eof"),
    ("recv:eof:reset", "more than one of error=, eof, reset, timeout and blackhole", "recv:eof:reset"),
    ("send:short=1:error=EIO", "short= cannot go with error=", "send:short=1:error=EIO"),
    ("send:corrupt=1:reset", "corrupt= cannot go with", "send:corrupt=1:reset"),
    # actions that do not apply to the method
    ("accept:short=1", "short= applies to send and recv methods", "accept"),
    ("send:eof", "eof applies to recv methods", "send"),
    ("connect:corrupt=1", "corrupt= applies to send and recv methods", "connect"),
    ("close:reset", "reset applies to send and recv methods", "close"),
    ("bind:timeout", "timeout applies to accept, connect, send and recv", "bind"),
    ("send:jitter=10ms", "jitter= adds to a delay: give delay= too", "send:jitter=10ms"),
    # the datagram actions: bare words but reorder=, each alone, where they fit
    ("sendto:drop=3", "'drop' takes no value (write just 'drop')", "drop=3"),
    ("recv:duplicate=2", "'duplicate' takes no value", "duplicate=2"),
    ("sendto:reorder", "'reorder' needs a value ('reorder=...')", "reorder"),
    ("sendto:reorder=0", "bad reorder= datagram count '0' (expected a whole number from 1 "
     "to 65535)", "0"),
    ("sendto:reorder=x", "bad reorder= datagram count 'x'", "x"),
    ("sendto:reorder=70000", "bad reorder= datagram count '70000'", "70000"),
    ("sendto:drop:duplicate", "more than one of drop, duplicate and reorder=",
     "sendto:drop:duplicate"),
    ("sendto:drop:delay=1ms", "drop, duplicate and reorder= go with no other action",
     "sendto:drop:delay=1ms"),
    ("recv:reorder=1", "reorder= applies to send methods of one datagram", "recv"),
    ("accept:drop", "drop applies to send and recv methods of one datagram", "accept"),
    ("sendmmsg:duplicate", "duplicate applies to send and recv methods of one datagram",
     "sendmmsg"),
    ("sendto:dorp", "unknown action 'dorp' (did you mean 'drop'?)", "dorp"),
    # a term twice, no action
    ("send:short=1:short=2", "'short' is given twice", "short"),
    ("send:short=1:when=1:when=2", "'when' is given twice", "when"),
    ("send:when=1", "the rule has no action", "send:when=1"),
    ("send:p=0.5:fd=3", "the rule has no action", "send:p=0.5:fd=3"),
    # name resolution: its errors, its filter, the actions it has none of
    ("connect:error=EAI_AGAIN", "error=EAI_AGAIN is an error of name resolution", "EAI_AGAIN"),
    ("resolve:error=ECONNREFUSED", "error=ECONNREFUSED is an errno: the resolve methods fail "
     "with EAI_AGAIN", "ECONNREFUSED"),
    ("gethostbyname:error=5", "error=5 is an errno", "5"),
    ("getaddrinfo:error=EAI_BOGUS", "unknown resolution error 'EAI_BOGUS'", "EAI_BOGUS"),
    ("resolve:error=EAI_SYSTEM", "EAI_SYSTEM cannot be injected", "EAI_SYSTEM"),
    ("gethostbyname:error=EAI_SERVICE", "error=EAI_SERVICE is no failure of 'gethostbyname'",
     "EAI_SERVICE"),
    ("connect:delay=1ms:host=db.local", "host= filters the resolve methods", "db.local"),
    ("resolve:delay=1ms:port=53", "peer=, port=, family=, type=, fd= and after= filter calls "
     "on a socket", "resolve"),
    ("resolve:delay=1ms:host=*db", "bad host '*db'", "*db"),
    ("%all:delay=1ms:host=a:port=80", "the rule leaves none of the methods '%all'", "%all"),
    ("getaddrinfo:short=1", "short= applies to send and recv methods", "getaddrinfo"),
    ("resolve:reset", "reset applies to send and recv methods", "resolve"),
    ("%resolve:eof", "eof applies to recv methods", "%resolve"),
    ("resolve:corrupt=1", "corrupt= applies to send and recv methods", "resolve"),
    ("getnameinfo:timeout", "timeout applies to accept, connect, send and recv",
     "getnameinfo"),
    # bytes that are not UTF-8, a rule too long, a ';' in one rule
    (b"send:short=\xff", "bad short= length '\\xff'", "\\xff"),
    (b"s\xe9nd:short=1", "unknown method 's\\xe9nd'", "s\\xe9nd"),
    (LONG_RULE, "rule too long (at most 511 characters)", LONG_RULE),
    ("send:short=1;recv:eof", "';' separates rules", ";"),
]


def escaped(rule):
    """The rule as messages print it."""
    raw = rule.encode() if isinstance(rule, str) else rule
    return "".join(chr(b) if 0x20 <= b < 0x7f else f"\\x{b:02x}" for b in raw)


def rule_id(case):
    text = escaped(case[0])
    return text if len(text) <= 40 else text[:37] + "..."


def caret_span(stderr, rule):
    """(column, width) of the carets under the rule: the message prints the
    rule indented by two spaces, and the caret line right under it."""
    lines = stderr.split("\n")
    carets = lines[lines.index("  " + escaped(rule)) + 1]
    assert re.fullmatch(r"  *\^+", carets), carets
    width = len(carets.lstrip(" "))
    return len(carets) - width - 2, width


def expected_span(rule, part):
    """Where the carets should be: under the last occurrence of part, or
    one caret at column part (an int) for an empty field; a part at the end
    of the rule gets one caret just after it."""
    if isinstance(part, int):
        return part, 1
    return escaped(rule).rfind(part), max(len(part), 1)


def marks(stderr, rule, part):
    return caret_span(stderr, rule) == expected_span(rule, part)


def run_refused(argv, tmp_path, env):
    """Runs argv (which ends with the program `touch marker`) in tmp_path;
    returns (status, stderr, whether the program ran)."""
    proc = subprocess.run(argv, cwd=tmp_path, env=env, capture_output=True,
                          timeout=TIMEOUT)
    return proc.returncode, proc.stderr.decode(errors="replace"), \
        (tmp_path / "marker").exists()


@pytest.mark.parametrize("rule, message, part", BAD_RULES, ids=map(rule_id, BAD_RULES))
def test_bad_rule_is_refused_by_the_command(tmp_path, rule, message, part):
    status, stderr, ran = run_refused(
        [str(SOCKSHIM), "--fault", rule, "--", TOUCH, "marker"], tmp_path, base_env())
    assert (status, ran) == (2, False), stderr
    assert "sockshim: --fault '" in stderr
    assert message in stderr
    assert marks(stderr, rule, part)


# In SOCKSHIM_FAULTS ';' separates rules, and an empty list is no rules.
ENV_BAD_RULES = [case for case in BAD_RULES if case[0] and ";" not in escaped(case[0])]


@pytest.mark.parametrize("rule, message, part", ENV_BAD_RULES,
                         ids=map(rule_id, ENV_BAD_RULES))
def test_bad_rule_is_refused_by_the_library(tmp_path, rule, message, part):
    env = preload_env({"SOCKSHIM_FAULTS": rule})
    status, stderr, ran = run_refused([TOUCH, "marker"], tmp_path, env)
    assert (status, ran) == (2, False), stderr
    assert "sockshim: SOCKSHIM_FAULTS rule 1: " in stderr
    assert message in stderr
    if rule != LONG_RULE:  # see test_long_bad_rule_message_from_the_library_is_whole
        assert marks(stderr, rule, part)


def test_bad_rule_in_the_environment_is_refused_by_the_command(tmp_path):
    env = base_env({"SOCKSHIM_FAULTS": "send:short=1;send:shrot=1"})
    status, stderr, ran = run_refused([str(SOCKSHIM), "--", TOUCH, "marker"], tmp_path, env)
    assert (status, ran) == (2, False)
    assert "SOCKSHIM_FAULTS rule 2: unknown action 'shrot' (did you mean 'short'?)" in stderr


def test_bad_rule_in_a_fault_file_names_the_line(tmp_path):
    path = tmp_path / "rules.txt"
    path.write_text("# faults\nsend:short=1\n\nrecv:eof=1\n")
    status, stderr, ran = run_refused(
        [str(SOCKSHIM), "--fault-file", str(path), "--", TOUCH, "marker"], tmp_path,
        base_env())
    assert (status, ran) == (2, False)
    assert f"sockshim: {path}:4: 'eof' takes no value" in stderr
    assert marks(stderr, "recv:eof=1", "eof=1")


def test_long_bad_rule_message_from_the_library_is_whole(tmp_path):
    digits = "1" * 420
    rule = "send:short=1:p=" + digits
    status, stderr, ran = run_refused([TOUCH, "marker"], tmp_path,
                                      preload_env({"SOCKSHIM_FAULTS": rule}))
    assert (status, ran) == (2, False)
    assert stderr.endswith("\n")
    assert marks(stderr, rule, digits)


UNLISTED = "recv:error=EADDRINUSE"  # recv(2) does not list EADDRINUSE


@pytest.mark.parametrize("how", ["option", "environment", "preload"])
def test_strict_refuses_an_errno_the_man_page_does_not_list(tmp_path, how):
    if how == "preload":
        argv = [TOUCH, "marker"]
        env = preload_env({"SOCKSHIM_FAULTS": UNLISTED, "SOCKSHIM_STRICT": "1"})
    else:
        strict = ["--strict"] if how == "option" else []
        argv = [str(SOCKSHIM), *strict, "--fault", UNLISTED, "--", TOUCH, "marker"]
        env = base_env({"SOCKSHIM_STRICT": "1"} if how == "environment" else None)
    status, stderr, ran = run_refused(argv, tmp_path, env)
    assert (status, ran) == (2, False), stderr
    assert "recv(2) does not list EADDRINUSE among its errors" in stderr
    assert marks(stderr, UNLISTED, "EADDRINUSE")


def test_without_strict_an_unlisted_errno_only_warns(tmp_path):
    status, stderr, ran = run_refused(
        [str(SOCKSHIM), "--fault", UNLISTED, "--", TOUCH, "marker"], tmp_path, base_env())
    assert (status, ran) == (0, True)
    assert "sockshim: warning: --fault 'recv:error=EADDRINUSE': recv(2) does not list " \
           "EADDRINUSE among its errors (--strict refuses this)" in stderr


SHORT_ON_DGRAMS = "send:short=1:type=dgram"  # short= never cuts a datagram
SHORT_ON_DGRAMS_WHY = ("type=dgram leaves short= nothing to cut: a dgram socket sends and "
                       "receives its messages whole (short= cuts stream sockets only)")


@pytest.mark.parametrize("how", ["option", "environment", "preload"])
def test_strict_refuses_a_short_its_type_leaves_nothing_to_cut(tmp_path, how):
    if how == "preload":
        argv = [TOUCH, "marker"]
        env = preload_env({"SOCKSHIM_FAULTS": SHORT_ON_DGRAMS, "SOCKSHIM_STRICT": "1"})
    else:
        strict = ["--strict"] if how == "option" else []
        argv = [str(SOCKSHIM), *strict, "--fault", SHORT_ON_DGRAMS, "--", TOUCH, "marker"]
        env = base_env({"SOCKSHIM_STRICT": "1"} if how == "environment" else None)
    status, stderr, ran = run_refused(argv, tmp_path, env)
    assert (status, ran) == (2, False), stderr
    assert SHORT_ON_DGRAMS_WHY in stderr
    assert marks(stderr, SHORT_ON_DGRAMS, "type=dgram")


def test_without_strict_a_short_its_type_leaves_nothing_to_cut_only_warns(tmp_path):
    status, stderr, ran = run_refused(
        [str(SOCKSHIM), "--fault", SHORT_ON_DGRAMS, "--", TOUCH, "marker"], tmp_path,
        base_env())
    assert (status, ran) == (0, True)
    assert (f"sockshim: warning: --fault '{SHORT_ON_DGRAMS}': {SHORT_ON_DGRAMS_WHY} "
            "(--strict refuses this)") in stderr


@pytest.mark.parametrize("path", ["missing.txt", "."], ids=["missing", "directory"])
def test_unreadable_fault_file_is_refused(tmp_path, path):
    status, stderr, ran = run_refused(
        [str(SOCKSHIM), "--fault-file", path, "--", TOUCH, "marker"], tmp_path, base_env())
    assert (status, ran) == (2, False)
    assert f"sockshim: --fault-file: cannot read '{path}'" in stderr


@pytest.mark.parametrize("seed", ["abc", "-1", "1.5", "", " 1", "99999999999999999999"])
def test_bad_seed_is_refused(tmp_path, seed):
    status, stderr, ran = run_refused(
        [str(SOCKSHIM), "--seed", seed, "--fault", "send:short=1", "--", TOUCH, "marker"],
        tmp_path, base_env())
    assert (status, ran) == (2, False)
    assert f"sockshim: --seed: bad seed '{seed}'" in stderr


def test_bad_seed_in_the_environment_is_refused_by_the_library(tmp_path):
    env = preload_env({"SOCKSHIM_FAULTS": "send:short=1", "SOCKSHIM_SEED": "abc"})
    status, stderr, ran = run_refused([TOUCH, "marker"], tmp_path, env)
    assert (status, ran) == (2, False)
    assert "sockshim: SOCKSHIM_SEED: bad seed 'abc'" in stderr


# ---- 7. the trace -----------------------------------------------------------------

TWO_RULES = ("send:delay=1ms:short=2:when=1", "send:short=1")


def test_text_header_lists_the_rules_and_the_seed(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["2"], tmp_path, fmt="text",
                       options=fault_options(*TWO_RULES, seed=42), check_exit=0)
    assert header(trace)[1:] == [
        "# fault #1: 'send:delay=1ms:short=2:when=1' (seed 42)",
        "# fault #2: 'send:short=1'",
    ]


def test_text_line_ends_with_the_rule_and_its_actions(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["2"], tmp_path, fmt="text",
                       options=fault_options(*TWO_RULES), check_exit=0)
    assert output(trace).startswith("send 1: 2\nsend 2: 1\n")
    assert lines_with(trace, ".send(") == [
        "sock4.send(b'hello world' (11 bytes)) -> 2 [fault #1 delay=1ms short=2]",
        "sock4.send(b'hello world' (11 bytes)) -> 1 [fault #2 short=1]",
    ]
    assert [annotation(b) for b in trace.bodies() if ".send(" not in b] == \
        [None] * (len(trace.bodies()) - 2)


def test_json_records_carry_the_rules_the_seed_and_the_fault(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["2"], tmp_path,
                       options=fault_options(*TWO_RULES, seed=42), check_exit=0)
    start = start_record(trace)
    assert (start["seed"], start["faults"]) == (42, list(TWO_RULES))
    first, second = calls(trace, "send")
    assert first["fault"] == {"rule": 1, "action": "delay=1ms short=2",
                              "text": "send:delay=1ms:short=2:when=1"}
    assert second["fault"] == {"rule": 2, "action": "short=1", "text": "send:short=1"}
    assert all("fault" not in c for c in trace.calls if c["op"] != "send")


def test_model_records_what_really_left(tmp_path):
    trace = run_traced(scenario("fault_sends.py") + ["3"], tmp_path,
                       options=fault_options("send:short=1"), check_exit=0)
    assert output(trace).endswith("received: b'hhh'\n")
    sends = calls(trace, "send")
    assert [c["args"]["data"]["len"] for c in sends] == [11, 11, 11]  # as asked
    assert [c["ret"] for c in sends] == [1, 1, 1]                     # as done
    received = [c["ret"] for c in calls(trace, "recv")]
    assert received[-1] == 0
    assert sum(received) == sum(c["ret"] for c in sends) == 3
