"""Send-side latency: a delay= (jitter=, rate=) rule on the sends of a
stream socket delays when the peer can read the bytes, not the sender's
thread (docs/faults.md, "delay="). The send returns at once with its bytes
taken; the shim holds them (at most the socket's SO_SNDBUF) and hands them
to the kernel, in order, when they are due, also after shutdown(), close()
and the end of the process. connect:delay= delays the handshake the same
way: a non-blocking connect is in progress until it is due.

Timing bounds are deliberately loose: a delayed byte arrives at least its
delay late, a call that must not wait returns in far less than the delay.
The peers are threads of the traced process whose sockets the rule's peer=
does not match, or bare processes (send_latency_sink.py).
"""
import re
import subprocess

import pytest

from conftest import TIMEOUT, base_env, free_ports, run_traced, scenario


def steps(stdout, words=1):
    """{key: [values]} of lines 'key value...'; the key is the first
    `words` words."""
    out = {}
    for line in stdout.decode().splitlines():
        parts = line.split()
        out[" ".join(parts[:words])] = parts[words:]
    return out


def faulted(trace):
    """The text trace's call lines that a rule marked."""
    return [l.body for l in trace.lines if "[fault #" in l.body]


def sockets_of(bodies):
    return {b.split(".", 1)[0] for b in bodies}


# ---- the sender is not held up; the peer reads late --------------------------

def test_asyncio_send_delay_slows_only_its_connection(tmp_path):
    """Two echo servers and a client of each in one asyncio loop, the delay
    aimed at one client's sends: its round trips take the delay, its
    write()+drain() returns at once, and the other client's 20 round trips
    are not held up (the loop never sleeps)."""
    p1, p2 = free_ports(2)
    trace = run_traced(scenario("send_latency_two_clients.py") + [str(p1), str(p2)],
                       tmp_path, fmt="text", options=["-e", "send"], check_exit=0,
                       faults=[f"send:delay=100ms:peer=127.0.0.1:{p1}"])
    t = {k: [float(v) for v in vs] for k, vs in steps(trace.proc.stdout).items()}
    total, median, _ = t["targeted"]
    assert total >= 1.9 and median >= 98.0          # 20 round trips, 100 ms each
    assert t["other"][0] < 1.0                      # not held up by the other's delay
    assert t["write_targeted"][0] < 50              # the send itself returns at once
    assert t["write_other"][0] < 50
    marked = faulted(trace)
    assert len(marked) == 20
    assert len(sockets_of(marked)) == 1
    assert all(re.fullmatch(r"sock\d+\.send\(b'ping' \(4 bytes\)\) -> 4 \[fault #1 delay=100ms\]",
                            b) for b in marked), marked


def test_blocking_send_returns_at_once_and_the_peer_reads_late(tmp_path):
    """A blocking client: each send() returns in far less than the delay
    while its echo comes back at least the delay later; 20 sends through
    send, sendall, sendmsg, write and writev are all taken at once and
    arrive whole and in order; shutdown(SHUT_WR) right after a sendall()
    returns at once, and the peer gets every byte, then the end of the
    stream, after the delay. The server thread's sends are not delayed."""
    [port] = free_ports(1)
    trace = run_traced(scenario("send_latency_blocking.py") + [str(port)], tmp_path,
                       fmt="text", options=["-e", "%io,shutdown"], check_exit=0,
                       faults=[f"send:delay=200ms:peer=127.0.0.1:{port}"])
    s = steps(trace.proc.stdout)
    assert float(s["send_ms"][0]) < 50
    rtt_min, rtt_max = (float(v) for v in s["rtt_ms"])
    assert rtt_min >= 195 and rtt_max < 1500
    assert float(s["burst_ms"][0]) < 250            # 20 sends, none waits the delay
    assert float(s["burst_echo_ms"][0]) >= 195
    assert s["order"] == ["True"]
    assert float(s["shutdown_ms"][0]) < 50
    assert float(s["tail_first_ms"][0]) >= 195
    assert float(s["eof_ms"][0]) >= 180             # the FIN comes after the held bytes
    assert s["tail"] == ["True", "30000"]
    marked = faulted(trace)
    assert len(sockets_of(marked)) == 1             # the client's socket only
    assert all(b.endswith("[fault #1 delay=200ms]") for b in marked), marked
    pings = [b for b in marked if "(b'ping' (4 bytes))" in b]
    assert len(pings) == 5 and all(".send(" in b and "-> 4 " in b for b in pings)
    assert len(marked) >= 5 + 20 + 1                # round trips, burst, the tail's sendall
    server = [l.body for l in trace.lines if l.tid != l.pid and ".send" in l.body]
    assert server and not any("fault" in b for b in server)


def test_unix_stream_send_delay(tmp_path):
    """On an AF_UNIX stream (socketpair) the bytes of send(), sendall()
    and write() are taken at once and are not in the other end's socket
    until the delay has passed (a non-blocking recv() gets EAGAIN, select()
    does not report it readable); then they come in order. close() with a
    send still held returns at once; the other end reads that send, then
    the end of the stream."""
    trace = run_traced(scenario("send_latency_unix.py"), tmp_path, fmt="text",
                       options=["-e", "send,sendall,recv,close"], check_exit=0,
                       faults=["send:delay=200ms:family=unix"])
    s = steps(trace.proc.stdout)
    assert float(s["sends_ms"][0]) < 50
    assert s["nonblocking"] == ["EAGAIN"]
    assert s["readable0"] == ["False"]
    assert float(s["first_ms"][0]) >= 195
    assert s["got"] == ["b'onetwothree'"]
    assert float(s["close_ms"][0]) < 50
    assert s["after"] == ["b'last'", "b''"]
    marked = faulted(trace)
    assert all(b.endswith("[fault #1 delay=200ms]") for b in marked), marked
    assert [re.search(r"\((b'[a-z]+')", b).group(1) for b in marked] == [
        "b'one'", "b'two'", "b'three'", "b'last'"]
    assert len(sockets_of(marked)) == 1


def test_jitter_keeps_the_stream_in_order(tmp_path):
    """delay= with jitter=: 60 small sends through every send entry point
    return at once, each is marked, and the peer reads exactly the bytes
    sent, in order (a later send never overtakes an earlier one however
    the jitter falls), none before the delay."""
    [port] = free_ports(1)
    trace = run_traced(scenario("send_latency_order.py") + [str(port)], tmp_path,
                       fmt="text", options=["-e", "%io"], check_exit=0,
                       faults=[f"send:delay=30ms:jitter=120ms:peer=127.0.0.1:{port}"])
    s = steps(trace.proc.stdout)
    assert float(s["sends_ms"][0]) < 500
    assert float(s["first_ms"][0]) >= 28
    assert s["order"] == ["True", "474"]
    marked = faulted(trace)
    assert len(marked) == 60
    assert len(sockets_of(marked)) == 1


# ---- the end of the stream, and of the process --------------------------------

@pytest.mark.parametrize("mode,method", [("close", "send"), ("close", "sendall"),
                                         ("shutdown", "send"), ("shutdown2", "send"),
                                         ("exit", "send")])
def test_bytes_held_at_close_shutdown_and_exit_all_arrive(tmp_path, mode, method):
    """A client sendall()s 100000 bytes to a bare sink under a 300 ms
    delay, then closes the socket, shuts it for writing, or exits with it
    open: close()/shutdown() return at once, the process exits 0, and the
    sink still reads all 100000 bytes, intact and in order, the first of
    them no sooner than the delay, then the end of the stream. A second
    shutdown(SHUT_WR) while the end is held changes nothing (the kernel's
    would end the stream before the bytes)."""
    [port] = free_ports(1)
    sink = subprocess.Popen(scenario("send_latency_sink.py") + [str(port)],
                            stdout=subprocess.PIPE, env=base_env())
    try:
        assert sink.stdout.readline() == b"ready\n"
        trace = run_traced(scenario("send_latency_exit.py") + [str(port), mode, "100000"],
                           tmp_path, fmt="text", options=["-e", "send,sendall,shutdown,close"],
                           check_exit=0,
                           faults=[f"{method}:delay=300ms:peer=127.0.0.1:{port}"])
        out, _ = sink.communicate(timeout=TIMEOUT)
    finally:
        if sink.poll() is None:
            sink.kill()
            sink.wait()
    sent = steps(trace.proc.stdout)["sent"]
    assert sent[0] == "100000"
    assert float(sent[1]) < 100                     # the sendall takes its bytes at once
    assert float(sent[2]) < 50                      # close() / shutdown() do not wait
    got = steps(out)["got"]
    assert got[:2] == ["100000", "True"], out
    first_ms, eof_ms = float(got[2]), float(got[3])
    assert 250 <= first_ms < 5000 and eof_ms >= first_ms
    marked = faulted(trace)
    assert marked and all(b.endswith("[fault #1 delay=300ms]") for b in marked), marked


def test_closing_one_of_two_fds_keeps_the_epoll_registration(tmp_path):
    """The shim keeps a duplicate of a socket whose sends it holds, so it
    drops the epoll registrations made on an fd when the program closes it
    as the socket's last fd, as the kernel would. Only then: while a dup()
    of the socket is open the first fd's registration stays and reports the
    peer's bytes; the dup's, after it closed as the last fd, reports
    nothing, though bytes are still held; the peer reads every held byte."""
    [port] = free_ports(1)
    trace = run_traced(scenario("send_latency_dup_close.py") + [str(port)], tmp_path,
                       fmt="text", options=["-e", "send,close"], check_exit=0,
                       faults=[f"send:delay=200ms:peer=127.0.0.1:{port}"])
    s = steps(trace.proc.stdout)
    assert s["open_events"] == ["1"], s
    assert s["closed_events"] == ["0"], s
    assert s["peer_read"] == ["onetwo"], s


@pytest.mark.parametrize("order", ["recv", "send"])
def test_a_reset_while_bytes_are_held_is_the_programs_next_calls(tmp_path, order):
    """The peer resets the connection before the bytes a send handed over
    are due: they are lost with it, and the program's calls after their
    due time see what the kernel says without a delay, whichever comes
    first: a receive ECONNRESET (not the end of the stream), a send
    ECONNRESET, and every send after it EPIPE."""
    [port] = free_ports(1)
    argv = scenario("send_latency_reset.py") + [str(port), order]
    bare = subprocess.run(argv, capture_output=True, timeout=TIMEOUT, env=base_env(),
                          check=True)
    trace = run_traced(argv, tmp_path, fmt="text", options=["-e", "send,recv"], check_exit=0,
                       faults=[f"send:delay=200ms:peer=127.0.0.1:{port}"])
    want = {"recv": ["recv ConnectionResetError", "send BrokenPipeError", "send BrokenPipeError"],
            "send": ["send ConnectionResetError", "send BrokenPipeError", "recv b''"]}[order]
    assert bare.stdout.decode().splitlines() == want
    assert trace.proc.stdout.decode().splitlines() == want
    marked = faulted(trace)
    assert len(marked) == 1, marked                 # the refused sends are the kernel's
    assert marked[0].endswith("(5 bytes)) -> 5 [fault #1 delay=200ms]"), marked


# ---- SO_SNDBUF: how much is held, and the waits ------------------------------------

def test_held_bytes_are_bounded_by_sndbuf_and_waits_see_no_room(tmp_path):
    """At most SO_SNDBUF bytes are held: non-blocking sends then fail with
    EAGAIN (as does write()), poll/select/epoll (level and edge triggered)
    do not report the socket writable until the first held bytes are due,
    and then do. A blocking send with SO_SNDTIMEO 200 ms gives up after it
    (EAGAIN or a partial count), one with settimeout(0.1) raises
    TimeoutError; a blocking sendall() of 3 x SO_SNDBUF waits for room.
    Every byte any of them took reaches the peer, in order."""
    [port] = free_ports(1)
    trace = run_traced(scenario("send_latency_sndbuf.py") + [str(port)], tmp_path,
                       fmt="text", options=["-e", "send"], check_exit=0,
                       faults=[f"send:delay=500ms:peer=127.0.0.1:{port}"])
    s = steps(trace.proc.stdout, words=2)
    sndbuf = int(s["A sndbuf"][0])
    for name in "AB":
        sent, eagain, _short, took = s[f"{name} fill"]
        assert eagain == "True", s
        assert sndbuf // 2 <= int(sent) <= sndbuf, (sndbuf, s)
        assert float(took) < 250                    # full before anything is due
    for wait in ("poll0", "select0", "epoll0", "epollet0"):
        assert s[f"A {wait}"] == ["False"], wait
    assert s["A write_eagain"] == ["True"]
    assert 450 <= float(s["A writable_ms"][0]) < 2500
    for wait in ("epollet", "poll", "select"):
        assert s[f"A {wait}"] == ["True"], wait
    outcome, took = s["B sndtimeo"]
    assert outcome in ("EAGAIN", "partial") and 150 <= float(took) < 450, s["B sndtimeo"]
    outcome, took = s["B settimeout"]
    assert outcome == "timeout" and float(took) >= 80, s["B settimeout"]
    size, took = s["C sendall"]
    assert int(size) == 3 * sndbuf and float(took) >= 450
    for name in "ABC":
        assert s[f"sink {name}"] == [s[f"sent {name}"][0], "True"], (name, s)
    marked = faulted(trace)
    assert marked and all("[fault #1 delay=500ms" in b for b in marked)


# ---- rate= on the sends ----------------------------------------------------------

def test_send_rate_paces_a_sendall(tmp_path):
    """send:rate=256KiB/s: a 1 MiB sendall() from a blocking socket (its
    SO_SNDBUF set to 32 KiB, so at most 64 KiB can be held) takes about
    4 s, and so does the peer's reading of it, intact; a transfer of the
    same size on another connection of the process is not paced."""
    [port] = free_ports(1)
    trace = run_traced(scenario("send_latency_rate.py") + [str(port), str(1 << 20), "sndbuf"],
                       tmp_path, fmt="text", options=["-e", "send,sendall"], check_exit=0,
                       faults=[f"send:rate=256KiB/s:peer=127.0.0.1:{port}"])
    s = steps(trace.proc.stdout)
    sendall_s, done_s, n, intact = s["other"]
    assert float(sendall_s) < 1.0 and float(done_s) < 1.0
    assert (n, intact) == (str(1 << 20), "True")
    sendall_s, done_s, n, intact = s["paced"]
    assert 3.5 <= float(sendall_s) < 12
    assert 3.5 <= float(done_s) < 12
    assert (n, intact) == (str(1 << 20), "True")
    marked = faulted(trace)
    assert marked and all("[fault #1 rate=256KiB/s" in b for b in marked)
    assert len(sockets_of(marked)) == 1
    assert any("fault" not in l.body and ".send" in l.body for l in trace.lines)


def test_send_rate_paces_the_peers_reading_with_the_default_sndbuf(tmp_path):
    """send:rate=256KiB/s on a socket that leaves SO_SNDBUF to the kernel
    (megabytes on loopback): whatever the sendall() returns, the peer reads
    the 1 MiB in about 4 s, intact; the other connection is not paced."""
    [port] = free_ports(1)
    trace = run_traced(scenario("send_latency_rate.py") + [str(port), str(1 << 20), "default"],
                       tmp_path, fmt="text", options=["-e", "send,sendall"], check_exit=0,
                       faults=[f"send:rate=256KiB/s:peer=127.0.0.1:{port}"])
    s = steps(trace.proc.stdout)
    assert float(s["other"][1]) < 1.0 and s["other"][2:] == [str(1 << 20), "True"]
    sendall_s, done_s, n, intact = s["paced"]
    assert 3.5 <= float(done_s) < 12 and float(sendall_s) <= float(done_s)
    assert (n, intact) == (str(1 << 20), "True")
    assert len(sockets_of(faulted(trace))) == 1


# ---- connect:delay= ----------------------------------------------------------------

def test_connect_delay_holds_only_that_handshake(tmp_path):
    """connect:delay=300ms:port=P: in one asyncio loop, open_connection()
    to P takes at least 0.3 s while one to another port, started with it,
    connects at once; a non-blocking connect() gets EINPROGRESS and the
    socket is writable (SO_ERROR 0) only after the delay; a blocking
    connect() takes the delay."""
    delayed, other = free_ports(2)
    trace = run_traced(scenario("send_latency_connect.py") + [str(delayed), str(other)],
                       tmp_path, fmt="text", options=["-e", "connect,connect_ex"],
                       check_exit=0, faults=[f"connect:delay=300ms:port={delayed}"])
    s = steps(trace.proc.stdout)
    delayed_s, other_s = (float(v) for v in s["asyncio"])
    assert delayed_s >= 0.29 and other_s < 0.2
    assert s["nonblocking"] == ["EINPROGRESS"]
    assert s["writable0"] == ["False"]
    assert 0.29 <= float(s["writable_s"][0]) < 2.5 and s["writable_s"][1] == "0"
    assert float(s["blocking_s"][0]) >= 0.29
    marked = faulted(trace)
    assert len(marked) >= 3                         # asyncio's, the non-blocking, the blocking
    assert all(".connect" in b and "[fault #1 delay=300ms" in b for b in marked), marked
    assert any(".connect" in l.body and "fault" not in l.body for l in trace.lines)
