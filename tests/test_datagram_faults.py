"""drop, duplicate and reorder=: what a network does to datagrams.

Every test runs tests/scenarios/dgram_faults.py, a real Python program
with two datagram sockets over loopback (UDP on 127.0.0.1, or AF_UNIX
SOCK_DGRAM sockets bound to paths), and checks what its receiver got, the
trace's lines, and (where a capture is asked for) the pcapng, read back
with tshark. docs/faults.md says what each action stands for.
"""
import re
import subprocess

import pytest

from conftest import SOCKSHIM, TIMEOUT, base_env, run_traced, scenario
from test_pcap import TSHARK, assert_clean, tshark

FAMILIES = ["inet", "unix"]


def run(tmp_path, args, *rules, seed=None, pcap=None):
    """The scenario under sockshim with the rules: (its output, the trace)."""
    options = []
    for rule in rules:
        options += ["--fault", rule]
    if seed is not None:
        options += ["--seed", str(seed)]
    if pcap is not None:
        options += ["--pcap", str(pcap)]
    trace = run_traced(scenario("dgram_faults.py") + list(args), tmp_path, fmt="text",
                       options=["--no-summary", *options], check_exit=0)
    return trace.proc.stdout.decode(), trace


def got(output):
    """The numbers of the "got" line."""
    [line] = [l for l in output.splitlines() if l.startswith("got")]
    return [int(n) for n in line.split()[1:]]


def marked(trace, rule=1):
    return [b for b in trace.bodies() if f"[fault #{rule} " in b]


def datagrams(pcap):
    """(payload, comment) of each UDP packet of a clean capture, in order."""
    assert_clean(pcap)
    rows = [line.split("\t") for line in tshark(pcap, "-Y", "udp", "-T", "fields",
                                                 "-e", "udp.payload", "-e", "frame.comment")
            .splitlines()]
    return [(bytes.fromhex(payload).decode(), comment) for payload, comment in rows]


def receiver_address(trace):
    """How the trace shows where the sender sends: ('127.0.0.1', PORT) or
    a path, as written."""
    first = next(b for b in trace.bodies() if ".sendto(" in b)
    return re.search(r"\(b'0' \(1 byte\), (.*)\) -> 1", first).group(1)


def sendto_line(to, n, mark=""):
    data = str(n)
    size = f"{len(data)} byte" + ("s" if len(data) > 1 else "")
    return f"sock4.sendto(b'{data}' ({size}), {to}) -> {len(data)}{mark}"


# ---- drop ----------------------------------------------------------------------

@pytest.mark.skipif(TSHARK is None, reason="tshark is missing (apt-get install tshark)")
@pytest.mark.parametrize("family", FAMILIES)
def test_seeded_drop_loses_the_same_datagrams_in_every_run(tmp_path, family):
    """sendto:drop:p=0.2 with one seed: the same sends are lost in two
    runs; each is reported sent in full (the sender cannot know) and marked
    in the trace; the receiver gets exactly the others, in order; the
    capture lacks them, and the packet after each gap says how many were
    lost before it."""
    rule = "sendto:drop:p=0.2"
    runs = []
    for attempt in ("first", "second"):
        where = tmp_path / attempt
        where.mkdir()
        output, trace = run(where, ["send", "50", family], rule, seed=11,
                            pcap=where / "capture.pcapng")
        runs.append((got(output), trace, where / "capture.pcapng"))
    (received, trace, pcap), (again, _, _) = runs
    lost = [n for n in range(50) if n not in received]
    assert received == again
    assert received == [n for n in range(50) if n not in lost]
    assert 3 <= len(lost) <= 20, lost
    to = receiver_address(trace)
    assert marked(trace) == [sendto_line(to, n, " [fault #1 drop]") for n in lost]
    packets = datagrams(pcap)
    assert [int(p) for p, _ in packets] == received
    notes = []
    previous = -1
    for n in received:
        gap = n - previous - 1
        notes.append("" if gap == 0 else
                     f"sockshim fault #1: {rule}: {gap} datagram{'s' if gap > 1 else ''} "
                     "lost before this one")
        previous = n
    comments = [c for _, c in packets]
    if family == "unix":  # the first packet of a flow names its sockets
        assert comments[0].startswith("AF_UNIX SOCK_DGRAM ")
        comments[0] = notes[0]
    assert comments == notes


def test_another_seed_loses_other_datagrams(tmp_path):
    one, _ = run(tmp_path, ["send", "50", "inet"], "sendto:drop:p=0.2", seed=11)
    other, _ = run(tmp_path, ["send", "50", "inet"], "sendto:drop:p=0.2", seed=12)
    assert got(one) != got(other)


@pytest.mark.parametrize("family", FAMILIES)
def test_a_received_datagram_dropped_leaves_a_nonblocking_receive_with_eagain(tmp_path,
                                                                              family):
    """recv:drop on the first receive: b'a' is taken off the socket and
    discarded; with nothing else queued, the non-blocking receive gets
    EAGAIN, as if it had never arrived; the next one gets b'b'."""
    output, trace = run(tmp_path, ["nonblock", family], "recv:drop:when=1")
    assert output == "EAGAIN\nb\n"
    assert [b for b in trace.bodies() if b.startswith("sock3.recv")] == [
        "sock3.recv(100) raises error(11, 'Resource temporarily unavailable') "
        "[fault #1 drop]",
        "sock3.recv(100) -> b'b' (1 byte)"]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_blocking_receive_whose_datagram_is_dropped_waits_for_the_next(tmp_path, family):
    output, trace = run(tmp_path, ["block", family], "recv:drop:when=1")
    assert output == "b waited\n"
    assert "sock3.recv(100) -> b'b' (1 byte) [fault #1 drop]" in trace.bodies()


def test_receive_drops_counted_per_call_end_with_the_receive_timeout(tmp_path):
    """recvfrom:drop on the 2nd, 4th, 6th... receive, with SO_RCVTIMEO:
    each of them loses one datagram and returns the next; the last finds
    nothing after the one it lost and times out (EAGAIN)."""
    output, trace = run(tmp_path, ["recv", "8", "unix"], "recvfrom:drop:when=2+2")
    assert output == "got 0 2 3 5 6\nend EAGAIN\n"
    assert len(marked(trace)) == 3


def test_a_datagram_a_peek_showed_is_never_lost(tmp_path):
    """A peek drops first (the peek shows the datagram after the lost one),
    and the receive after a peek gets what the peek showed."""
    output, _ = run(tmp_path, ["peek", "inet"], "recv:drop")
    assert output == "peek b\nrecv b\nrecv EAGAIN\n"
    output, trace = run(tmp_path, ["peek", "inet"], "recv:drop:when=2")
    assert output == "peek a\nrecv a\nrecv b\n"
    assert marked(trace) == []


@pytest.mark.parametrize("rule, received", [
    ("recvfrom:drop:when=2", [0, 2, 3, 4, 5]),
    ("recvfrom:duplicate:when=2", [0, 1, 1, 2, 3, 4, 5]),
])
def test_an_event_loop_woken_by_epoll_sees_the_datagrams_the_kernel_has(tmp_path, rule,
                                                                         received):
    """asyncio waits in epoll, which sockshim does not interpose: a drop
    leaves it a receive that gets EAGAIN (it waits again), a duplicate a
    datagram still queued (it is woken again)."""
    output, _ = run(tmp_path, ["asyncio", "6"], rule)
    assert got(output) == received


# ---- duplicate ----------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
def test_a_duplicated_send_arrives_twice(tmp_path, family):
    output, trace = run(tmp_path, ["send", "4", family], "sendto:duplicate:when=2")
    assert got(output) == [0, 1, 1, 2, 3]
    assert marked(trace) == [sendto_line(receiver_address(trace), 1, " [fault #1 duplicate]")]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_duplicated_receive_is_received_again_by_the_next(tmp_path, family):
    """The 3rd receive (the one after the second send) gets b'1' and leaves
    it queued: the next receive gets it again, from the kernel."""
    output, trace = run(tmp_path, ["send", "4", family], "recv:duplicate:when=3")
    assert got(output) == [0, 1, 1, 2, 3]
    assert marked(trace) == ["sock3.recv(100, MSG_DONTWAIT) -> b'1' (1 byte) "
                             "[fault #1 duplicate]"]


@pytest.mark.skipif(TSHARK is None, reason="tshark is missing (apt-get install tshark)")
def test_duplicates_are_two_packets_in_the_capture(tmp_path):
    run(tmp_path, ["send", "3", "inet"], "sendto:duplicate:when=2",
        pcap=tmp_path / "capture.pcapng")
    assert datagrams(tmp_path / "capture.pcapng") == [
        ("0", ""), ("1", "sockshim fault #1: sendto:duplicate:when=2: sent twice"),
        ("1", "sockshim fault #1: sendto:duplicate:when=2: a copy of the datagram before "
              "this one"),
        ("2", "")]


# ---- reorder= -----------------------------------------------------------------

@pytest.mark.parametrize("family", FAMILIES)
@pytest.mark.parametrize("rule, order", [
    ("sendto:reorder=1:when=2", [0, 2, 1, 3, 4, 5]),
    ("sendto:reorder=3:when=2", [0, 2, 3, 4, 1, 5]),
    # fewer sends than it waits for: it goes out before the socket closes
    ("sendto:reorder=3:when=5", [0, 1, 2, 3, 5, 4]),
])
def test_a_reordered_send_arrives_behind_the_next_n(tmp_path, family, rule, order):
    output, trace = run(tmp_path, ["send", "6", family], rule)
    assert got(output) == order
    held = int(rule.split("when=")[1]) - 1
    assert marked(trace) == [sendto_line(receiver_address(trace), held,
                                         f" [fault #1 {rule.split(':')[1]}]")]


@pytest.mark.parametrize("family", FAMILIES)
def test_a_connected_sender_loses_doubles_and_reorders_what_it_sends_its_peer(tmp_path,
                                                                               family):
    """send() without an address: the datagram goes to the socket's peer,
    the held one too."""
    output, trace = run(tmp_path, ["connected", "6", family], "send:drop:when=2",
                        "send:duplicate:when=3", "send:reorder=1:when=3")
    assert got(output) == [0, 2, 3, 3, 5, 4]
    assert marked(trace, 1) == ["sock4.send(b'1' (1 byte)) -> 1 [fault #1 drop]"]
    assert marked(trace, 2) == ["sock4.send(b'3' (1 byte)) -> 1 [fault #2 duplicate]"]
    assert marked(trace, 3) == ["sock4.send(b'4' (1 byte)) -> 1 [fault #3 reorder=1]"]


@pytest.mark.skipif(TSHARK is None, reason="tshark is missing (apt-get install tshark)")
def test_a_reordered_datagram_is_captured_where_it_went(tmp_path):
    rule = "sendto:reorder=3:when=2"
    run(tmp_path, ["send", "6", "inet"], rule, pcap=tmp_path / "capture.pcapng")
    late = f"sockshim fault #1: {rule}: held back, sent after the datagrams before this one"
    assert datagrams(tmp_path / "capture.pcapng") == [
        ("0", ""), ("2", ""), ("3", ""), ("4", ""), ("1", late), ("5", "")]


# ---- connections ----------------------------------------------------------------

def test_on_a_connection_the_datagram_actions_leave_every_call_whole(tmp_path):
    """send:drop on TCP: no call is touched, none is counted, and the trace
    says so once."""
    output, trace = run(tmp_path, ["tcp"], "send:drop")
    assert output == "got onetwothree\n"
    assert marked(trace) == []
    notes = [l.body for l in trace.lines if l.body.startswith("# note:")]
    assert notes == ["# note: fault #1 on sock4: drop, duplicate and reorder= skipped here "
                     "(SOCK_STREAM) and on every other socket that is not a datagram socket: "
                     "a connection delivers what it carries once and in order, or breaks"]


def test_a_datagram_rule_for_streams_is_warned_about_and_refused_when_strict(tmp_path):
    argv = [str(SOCKSHIM), "--strict", "--fault", "send:drop:type=stream", "--", "/bin/true"]
    proc = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, env=base_env())
    assert proc.returncode == 2
    assert "type=stream leaves drop, duplicate and reorder= nothing to do" in \
        proc.stderr.decode()


def test_the_json_trace_marks_each_datagram_fault(tmp_path):
    """Three rules, tried in order, each counting the sends the ones before
    it did not take: the 2nd send is lost, the 4th doubled, the 5th held
    behind the 6th."""
    trace = run_traced(scenario("dgram_faults.py") + ["send", "6", "inet"], tmp_path,
                       fmt="json", options=["--no-summary", "--fault", "sendto:drop:when=2",
                                            "--fault", "sendto:duplicate:when=3",
                                            "--fault", "sendto:reorder=1:when=3"],
                       check_exit=0)
    assert got(trace.proc.stdout.decode()) == [0, 2, 3, 3, 5, 4]
    sends = [c for c in trace.calls if c["op"] == "sendto"]
    assert [(c.get("fault") or {}).get("action") for c in sends] == [
        None, "drop", None, "duplicate", "reorder=1", None]
    assert [c["ret"] for c in sends] == [1] * 6  # each reported sent in full
