"""--pcap: a capture of what the program said, read back with tshark.

Every test runs a real program under `sockshim --pcap`, then asks tshark
(Debian's package; tools/check installs it) to read the capture: no
malformed packet, no expert warning, every IP, TCP and UDP checksum good,
and each TCP stream followed gives back exactly the bytes each side sent.
Both ends of the connections are in the traced run, so the capture hears
every byte twice (sent and received) and must write it once.
"""
import os
import shutil
import subprocess

import pytest

from conftest import (PYTHON, SOCKSHIM, TIMEOUT, base_env, curl_or_skip, program, scenario,
                      sockshim)

TSHARK = shutil.which("tshark")
pytestmark = pytest.mark.skipif(TSHARK is None, reason="tshark is missing "
                                "(apt-get install tshark)")


def capture(tmp_path, argv, options=(), check_exit=0, cwd=None):
    """Runs argv under sockshim --pcap; returns (process, capture path)."""
    pcap = tmp_path / "capture.pcapng"
    proc = sockshim.run(argv, methods="none", pcap=pcap, options=options, sockshim=SOCKSHIM,
                        capture_output=True, timeout=TIMEOUT, env=base_env(), cwd=cwd)
    assert proc.returncode == check_exit, proc.stderr.decode(errors="replace")
    return proc, pcap


def tshark(pcap, *args):
    """tshark's output on the capture; it must have nothing to say on stderr
    (but the note it prints when run as root)."""
    proc = subprocess.run([TSHARK, "-r", str(pcap), *args], capture_output=True,
                          timeout=TIMEOUT, text=True)
    assert proc.returncode == 0, proc.stderr
    complaints = [l for l in proc.stderr.splitlines() if not l.startswith("Running as user")]
    assert complaints == [], complaints
    return proc.stdout


CHECKSUMS = ["-o", "ip.check_checksum:TRUE", "-o", "tcp.check_checksum:TRUE",
             "-o", "udp.check_checksum:TRUE"]


# The payload as plain data: the capture's own layers (IP, TCP, UDP) are
# what assert_clean checks. An AF_UNIX server's pseudo-port is a hash of its
# path (docs/pcap-unix.md) and can land on a port some dissector claims
# (1433 read as ATMTCP), which then calls the bytes it does not understand
# malformed.
AS_DATA = ["-d", "tcp.port==1-65535,data", "-d", "udp.port==1-65535,data"]


def assert_clean(pcap):
    """No malformed packet, no expert note of warning level or worse, every
    checksum tshark can check verified good."""
    bad = tshark(pcap, *CHECKSUMS, *AS_DATA, "-Y",
                 "_ws.malformed or "
                 # a reset is a warning, as Wireshark sees it, but no fault
                 "(_ws.expert.severity >= warning and not tcp.connection.rst) or "
                 "ip.checksum.status != 1 or tcp.checksum.status != 1 or "
                 "udp.checksum.status != 1")
    assert bad == ""
    assert tshark(pcap) != ""


def streams(pcap, display_filter="tcp"):
    return sorted({int(s) for s in tshark(pcap, "-Y", display_filter, "-T", "fields",
                                          "-e", "tcp.stream").split()})


def follow(pcap, stream):
    """(bytes from the first node, bytes from the second) of a TCP stream."""
    out = tshark(pcap, "-q", "-z", f"follow,tcp,raw,{stream}")
    first, second = bytearray(), bytearray()
    for line in out.splitlines():
        if not line.strip() or line.startswith(("=", "Follow:", "Filter:", "Node ")):
            continue
        (second if line.startswith("\t") else first).extend(bytes.fromhex(line.strip()))
    return bytes(first), bytes(second)


def field_values(pcap, display_filter, field):
    return tshark(pcap, "-Y", display_filter, "-T", "fields", "-e", field).split("\n")[:-1]


def transfer(tmp_path, family, size, options=(), path=None):
    """pcap_transfer.py's run: (capture, what the client sent, the reply);
    path: a list that gets the AF_UNIX socket's path."""
    sent = tmp_path / "sent"
    _, pcap = capture(tmp_path, scenario("pcap_transfer.py") + [family, str(size), str(sent)],
                      options)
    lines = dict(line.split(" ", 1) for line in sent.read_text().splitlines())
    if path is not None:
        path.append(lines["path"])
    return pcap, bytes.fromhex(lines["client"]), bytes.fromhex(lines["server"])


def test_ten_mebibytes_over_ipv4(tmp_path):
    pcap, payload, reply = transfer(tmp_path, "4", 10 * 1024 * 1024)
    assert reply == b"got 10485760"
    assert_clean(pcap)
    assert streams(pcap) == [0]  # one connection, though both ends reported it
    client, server = follow(pcap, 0)
    assert client == payload
    assert server == reply
    # every byte once: the TCP payloads add up to the two directions exactly
    lengths = [int(n) for n in field_values(pcap, "tcp.len > 0", "tcp.len")]
    assert sum(lengths) == len(payload) + len(reply)
    flags = field_values(pcap, "tcp.flags.syn == 1 or tcp.flags.fin == 1", "tcp.flags.str")
    assert len([f for f in flags if "S" in f]) == 2      # SYN, SYN+ACK
    assert len([f for f in flags if "F" in f]) == 2      # a FIN each way


def test_short_sends_over_ipv6_are_one_byte_segments_with_the_fault_noted(tmp_path):
    """send:short=1 makes every send move one byte, for real: the capture
    shows one-byte segments, each cut one with the rule as its comment."""
    pcap, payload, reply = transfer(tmp_path, "6", 3000, options=("--fault", "send:short=1"))
    assert_clean(pcap)
    client, server = follow(pcap, 0)
    assert (client, server) == (payload, reply)
    assert set(tshark(pcap, "-Y", "tcp.len > 0", "-T", "fields", "-e", "ipv6.src")
               .split()) == {"::1"}
    segments = [line.split("\t") for line in
                tshark(pcap, "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.len",
                       "-e", "frame.comment").splitlines()]
    assert sum(int(n) for n, _ in segments) == len(payload) + len(reply)
    # a receiver's report of bytes waits for the sender's, which carries
    # the rule: every segment is a faulted one-byte send, noted, but the
    # last of each sendall, which asked for one byte (nothing was cut)
    noted = ["1", "sockshim fault #1: send:short=1"]
    assert segments == ([noted] * (len(payload) - 1) + [["1", ""]] +
                        [noted] * (len(reply) - 1) + [["1", ""]])


def test_reset_fault_is_a_reset_packet(tmp_path):
    _, pcap = capture(tmp_path, scenario("fault_reset.py"), ("--fault", "send:reset:when=3"))
    assert_clean(pcap)
    [rst] = field_values(pcap, "tcp.flags.reset == 1", "frame.comment")
    assert rst == "sockshim fault #1: send:reset:when=3"
    client, server = follow(pcap, 0)
    assert client == b"onetwo"  # the third send was the reset
    assert server == b""


def test_udp_datagrams_appear_once(tmp_path):
    proc, pcap = capture(tmp_path, scenario("udp.py"))
    assert_clean(pcap)
    payloads = field_values(pcap, "udp", "udp.payload")
    assert payloads == [b"ping".hex(), b"pong".hex()]  # each once


def test_http_exchange_between_curl_and_http_server(tmp_path):
    """curl fetches a file from python3 -m http.server, both in one run (a
    shell starts them): the request and the response, byte for byte."""
    curl = curl_or_skip()
    www = tmp_path / "www"
    www.mkdir()
    body = os.urandom(200_000)
    (www / "f.bin").write_bytes(body)
    script = tmp_path / "fetch.sh"
    script.write_text(
        "#!/bin/sh\n"
        f"{PYTHON} -u -m http.server 0 --bind 127.0.0.1 > server.out 2>&1 &\n"
        "srv=$!\n"
        "for i in $(seq 400); do\n"
        "  port=$(sed -n 's/.*port \\([0-9]*\\).*/\\1/p' server.out | head -n 1)\n"
        "  [ -n \"$port\" ] && break; sleep 0.05\n"
        "done\n"
        f"{curl} -s -o got.bin http://127.0.0.1:$port/f.bin\n"
        "kill -TERM $srv; wait $srv\n"
        "exit 0\n")
    script.chmod(0o755)
    _, pcap = capture(tmp_path, [str(script)], cwd=www)
    assert (www / "got.bin").read_bytes() == body
    assert_clean(pcap)
    # (curl has a socketpair of its own, an AF_UNIX stream over IPv6)
    [stream] = streams(pcap, "tcp and ip")
    request, response = follow(pcap, stream)
    assert request.startswith(b"GET /f.bin HTTP/1.1\r\nHost: 127.0.0.1:")
    assert response.startswith(b"HTTP/1.0 200 OK\r\n")
    assert response.endswith(b"\r\n\r\n" + body)


def test_close_range_and_closefrom_end_the_connection_with_fins(tmp_path):
    """range_close closes its client with close_range and its server end
    with closefrom: each end's FIN is in the capture, after the data."""
    _, pcap = capture(tmp_path, [program("range_close")])
    assert_clean(pcap)
    assert streams(pcap) == [0]
    assert follow(pcap, 0) == (b"hello, range", b"")
    fins = [line.split("\t") for line in
            tshark(pcap, "-Y", "tcp.flags.fin == 1", "-T", "fields", "-e", "tcp.seq",
                   "-e", "tcp.ack").splitlines()]
    # the client's FIN after its 12 bytes, the server's after the client's FIN
    assert fins == [["13", "1"], ["1", "14"]]


def test_forking_server_parents_close_ends_nothing(tmp_path):
    """The parent closes its copy of the accepted connection right after
    forking the child that serves it: no FIN then (the kernel says the
    socket is still open), the reply whole, the server's FIN after it."""
    size = 2560
    proc, pcap = capture(tmp_path, scenario("pcap_forking_server.py") + [str(size)])
    reply = b"got %d bytes" % size * 1000
    assert proc.stdout == b"reply %d\n" % len(reply)
    assert_clean(pcap)
    assert streams(pcap) == [0]
    assert follow(pcap, 0) == (bytes(range(256)) * (size // 256), reply)
    fins = [line.split("\t") for line in
            tshark(pcap, "-Y", "tcp.flags.fin == 1", "-T", "fields", "-e", "tcp.srcport",
                   "-e", "tcp.seq").splitlines()]
    assert sorted(int(seq) for _, seq in fins) == sorted([size + 1, len(reply) + 1])


SERVE = """
import socket, sys
srv = socket.socket(); srv.bind(("127.0.0.1", 0)); srv.listen(1)
print(srv.getsockname()[1], flush=True)
conn, _ = srv.accept()
request = conn.recv(100)
conn.sendall(bytes(range(256)) * 1200)
conn.close()
"""
FETCH = """
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"give")
got = b""
while chunk := c.recv(5000):
    got += chunk
print(len(got))
"""


def test_only_the_receiving_end_in_the_run(tmp_path):
    """The server runs bare, so only the client's receives tell of the
    reply: every byte is there once, in order, in time order."""
    server = subprocess.Popen([PYTHON, "-c", SERVE], stdout=subprocess.PIPE, env=base_env())
    try:
        port = server.stdout.readline().strip().decode()
        proc, pcap = capture(tmp_path, [PYTHON, "-c", FETCH, port])
    finally:
        server.wait(timeout=TIMEOUT)
    assert proc.stdout == b"307200\n"
    assert_clean(pcap)
    assert follow(pcap, 0) == (b"give", bytes(range(256)) * 1200)
    times = [float(t) for t in field_values(pcap, "tcp", "frame.time_epoch")]
    assert times == sorted(times)
    assert len(set(field_values(pcap, "tcp.len > 0", "frame.time_epoch"))) > 2


def test_datagrams_from_a_wildcard_socket_repeated_or_too_long(tmp_path):
    """A datagram both ends report from 0.0.0.0 is written once, between
    real addresses; identical datagrams only their sender reports are each
    written; a unix datagram longer than an IP packet is cut, and says so."""
    proc, pcap = capture(tmp_path, scenario("pcap_datagram_edges.py"))
    assert proc.stdout == b"b'query' b'answer'\n100000\n"
    assert_clean(pcap)
    packets = [line.split("\t") for line in
               tshark(pcap, "-Y", "udp", "-T", "fields", "-e", "ip.src", "-e", "ip.dst",
                      "-e", "udp.payload", "-e", "frame.comment").splitlines()]
    inet = [p[:3] for p in packets if p[0]]
    assert inet == [["127.0.0.1", "127.0.0.1", b"query".hex()],
                    ["127.0.0.1", "127.0.0.1", b"answer".hex()]] + \
        [["127.0.0.1", "127.0.0.1", b"same query".hex()]] * 3 + \
        [["127.0.0.1", "127.0.0.1", b"other".hex()]]
    [unix] = [p for p in packets if not p[0]]
    assert len(bytes.fromhex(unix[2])) == 65527
    assert unix[3] == ("AF_UNIX SOCK_DGRAM socketpair,"
                       "sockshim: a datagram of 100000 bytes, cut to 65527 here")


def test_capture_beside_a_trace_file(tmp_path):
    """--pcap and -o share the run's ring: both files are whole."""
    trace = tmp_path / "trace.txt"
    pcap = tmp_path / "c.pcapng"
    proc = sockshim.run([program("tcp_echo")], format="text", output=trace, pcap=pcap,
                        sockshim=SOCKSHIM, capture_output=True, timeout=TIMEOUT,
                        env=base_env())
    assert proc.returncode == 0, proc.stderr
    assert "sock3.listen(5) -> None" in proc.trace
    assert_clean(pcap)
    assert follow(pcap, 0) == (b"hello", b"HELLO")


def test_bad_capture_path_is_refused_before_the_program_runs(tmp_path):
    marker = tmp_path / "ran"
    link = tmp_path / "link.pcapng"
    os.symlink(tmp_path / "elsewhere", link)
    for args, message in [
            (["--pcap", ""], "sockshim: --pcap needs a file name"),
            (["--pcap", str(link)], f"sockshim: capture file '{link}' is a symbolic link"),
            (["--pcap", str(tmp_path / "no" / "dir.pcapng")],
             f"sockshim: cannot write capture file '{tmp_path / 'no' / 'dir.pcapng'}'")]:
        proc = subprocess.run([str(SOCKSHIM), *args, "--", "/bin/touch", str(marker)],
                              capture_output=True, timeout=TIMEOUT, env=base_env())
        assert proc.returncode == 2
        assert proc.stderr.decode().startswith(message), proc.stderr
        assert not marker.exists()


# ---- AF_UNIX: TCP and UDP over fd00:756e:6978::/48 (docs/pcap-unix.md) ----

UNIX_PREFIX = "fd00:756e:6978:"


def unix_run(tmp_path, mode, options=()):
    """pcap_unix.py's run: (capture, [(sender, bytes)...], [paths])."""
    out = tmp_path / "sent"
    _, pcap = capture(tmp_path, scenario("pcap_unix.py") + [mode, str(out)], options)
    sent, paths = [], []
    for line in out.read_text().splitlines():
        who, value = line.split(" ", 1)
        if who == "path":
            paths.append(value)
        else:
            sent.append((who, bytes.fromhex(value)))
    return pcap, sent, paths


def addresses(pcap, display_filter):
    return set(tshark(pcap, "-Y", display_filter, "-T", "fields", "-e", "ipv6.src",
                      "-e", "ipv6.dst").split())


def test_unix_stream_is_one_tcp_stream_with_the_path_on_its_syn(tmp_path):
    """A client and a server thread on a path: the client's and the
    accepted socket's reports make one connection."""
    path = []
    pcap, payload, reply = transfer(tmp_path, "unix", 300_000, path=path)
    assert reply == b"got 300000"
    assert_clean(pcap)
    assert streams(pcap) == [0]
    assert follow(pcap, 0) == (payload, reply)
    lengths = [int(n) for n in field_values(pcap, "tcp.len > 0", "tcp.len")]
    assert sum(lengths) == len(payload) + len(reply)
    assert tshark(pcap, "-Y", "not ipv6 or not tcp") == ""
    assert all(a.startswith(UNIX_PREFIX) for a in addresses(pcap, "ipv6"))
    # the SYN, from the client, names the socket; no other packet has a comment
    [syn] = [line.split("\t") for line in tshark(
        pcap, "-Y", "frame.comment", "-T", "fields", "-e", "tcp.flags.str",
        "-e", "frame.comment").splitlines()]
    assert syn == ["··········S·", f"AF_UNIX SOCK_STREAM '{path[0]}'"]
    # the server's end: address and port from the path; the client's: its inode
    [server] = field_values(pcap, "tcp.flags.syn == 1 and tcp.flags.ack == 1", "ipv6.src")
    [client] = field_values(pcap, "tcp.flags.syn == 1 and tcp.flags.ack == 0", "ipv6.src")
    assert server.startswith(UNIX_PREFIX + "1:")
    assert client.startswith(UNIX_PREFIX + ":")


def test_unix_stream_c_program_across_fork(tmp_path):
    """unix_stream: the client is a forked child, the server the parent."""
    proc, pcap = capture(tmp_path, [program("unix_stream"), str(tmp_path)])
    assert b"unlinked: yes" in proc.stdout
    assert_clean(pcap)
    assert streams(pcap) == [0]
    assert follow(pcap, 0) == (b"hello", b"HELLO")
    [comment] = field_values(pcap, "frame.comment", "frame.comment")
    assert comment.startswith(f"AF_UNIX SOCK_STREAM '{tmp_path}/sockshim-unix-")


def test_unix_socketpair_across_fork_is_one_stream(tmp_path):
    """One end in a forked child: the parent's close of the child's end (and
    the child's of the parent's) ends nothing, and the ends agree on the
    addresses (each knows the other's inode)."""
    pcap, sent, _ = unix_run(tmp_path, "pair")
    (_, payload), (_, reply) = sent
    assert_clean(pcap)
    assert streams(pcap) == [0]
    # the end that reports first is taken for the client: either way round
    assert set(follow(pcap, 0)) == {payload, reply}
    lengths = [int(n) for n in field_values(pcap, "tcp.len > 0", "tcp.len")]
    assert sum(lengths) == len(payload) + len(reply)
    assert len(field_values(pcap, "tcp.flags.fin == 1", "tcp.flags.fin")) == 2
    assert field_values(pcap, "frame.comment", "frame.comment") == [
        "AF_UNIX SOCK_STREAM socketpair"]
    assert all(a.startswith(UNIX_PREFIX + ":") for a in addresses(pcap, "ipv6"))


def test_unix_datagrams_between_bound_paths_appear_once(tmp_path):
    pcap, sent, (a_path, b_path) = unix_run(tmp_path, "dgram")
    assert_clean(pcap)
    rows = [line.split("\t") for line in tshark(
        pcap, "-T", "fields", "-e", "udp.srcport", "-e", "udp.payload",
        "-e", "frame.comment").splitlines()]
    assert [bytes.fromhex(p) for _, p, _ in rows] == [data for _, data in sent]
    a_port, b_port = rows[0][0], rows[1][0]
    assert a_port != b_port
    assert [port for port, _, _ in rows] == [a_port, b_port] * 3
    assert [c for _, _, c in rows] == [f"AF_UNIX SOCK_DGRAM '{a_path}' to '{b_path}'"] + [""] * 5
    assert all(a.startswith(UNIX_PREFIX + "1:") for a in addresses(pcap, "ipv6"))


def test_unix_datagrams_from_an_unbound_sender_appear_once(tmp_path):
    """The receiver cannot tell who sent them; the command pairs its report
    with the sender's."""
    pcap, sent, (b_path,) = unix_run(tmp_path, "unbound")
    assert_clean(pcap)
    assert [bytes.fromhex(p) for p in field_values(pcap, "udp", "udp.payload")] == [
        b"first", b"second"]
    assert field_values(pcap, "frame.comment", "frame.comment") == [
        f"AF_UNIX SOCK_DGRAM '{b_path}'"]


def test_unix_seqpacket_messages_are_datagrams(tmp_path):
    pcap, sent, _ = unix_run(tmp_path, "seqpacket")
    assert_clean(pcap)
    assert [bytes.fromhex(p) for p in field_values(pcap, "udp", "udp.payload")] == [
        data for _, data in sent]
    assert field_values(pcap, "frame.comment", "frame.comment") == [
        "AF_UNIX SOCK_SEQPACKET socketpair"]


def test_short_sends_over_a_unix_stream_are_one_byte_segments(tmp_path):
    pcap, payload, reply = transfer(tmp_path, "unix", 2000, options=("--fault", "send:short=1"))
    assert_clean(pcap)
    assert streams(pcap) == [0]
    assert follow(pcap, 0) == (payload, reply)
    segments = [line.split("\t") for line in
                tshark(pcap, "-Y", "tcp.len > 0", "-T", "fields", "-e", "tcp.len",
                       "-e", "frame.comment").splitlines()]
    assert sum(int(n) for n, _ in segments) == len(payload) + len(reply)
    noted = [n for n, comment in segments if comment == "sockshim fault #1: send:short=1"]
    assert set(noted) == {"1"}
    assert len(noted) > len(segments) // 2
