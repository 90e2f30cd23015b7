"""AF_UNIX exchanges for the capture tests, both ends in the traced run.

Usage: pcap_unix.py MODE OUT
  MODE  pair       socketpair(AF_UNIX, SOCK_STREAM); fork; the child sends
                   a block of bytes on its end, shuts down its sending
                   side and reads the reply to end of file; the parent
                   reads to end of file, replies b"got N" and closes
        dgram      two SOCK_DGRAM sockets bound to paths a.sock and b.sock
                   in a new directory of /tmp: a sends b three datagrams
                   (sendto), b answers each (recvfrom, sendto to the
                   sender's address), a reads the answers
        unbound    a SOCK_DGRAM socket bound to a path; an unbound one
                   sends it two datagrams (the receiver cannot tell who
                   sent them: recvfrom gives no address)
        seqpacket  socketpair(AF_UNIX, SOCK_SEQPACKET): three messages
                   one way, one back
  OUT   what was sent, one line each, in order: "<sender> <hex>", where
        sender is a, b, child, parent...; then "path <p>" for each socket
        path (the directory is removed at the end)
"""
import os
import random
import shutil
import signal
import socket
import sys
import tempfile

signal.alarm(30)

mode, out_path = sys.argv[1], sys.argv[2]
lines = []


def recv_all(sock):
    data = b""
    while True:
        chunk = sock.recv(65536)
        if not chunk:
            return data
        data += chunk


if mode == "pair":
    payload = random.Random(7).randbytes(100_000)
    parent, child = socket.socketpair()
    pid = os.fork()
    if pid == 0:
        parent.close()
        child.sendall(payload)
        child.shutdown(socket.SHUT_WR)
        recv_all(child)
        child.close()
        os._exit(0)
    child.close()
    got = recv_all(parent)
    reply = b"got %d" % len(got)
    parent.sendall(reply)
    parent.close()
    _, status = os.waitpid(pid, 0)
    assert status == 0 and got == payload
    lines += [f"child {payload.hex()}", f"parent {reply.hex()}"]
elif mode in ("dgram", "unbound"):
    tmpdir = tempfile.mkdtemp(prefix="sockshim-pcap-")
    try:
        a_path, b_path = os.path.join(tmpdir, "a.sock"), os.path.join(tmpdir, "b.sock")
        a = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        b = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        b.bind(b_path)
        if mode == "dgram":
            a.bind(a_path)
            for i in range(3):
                message = b"datagram %d" % i
                a.sendto(message, b_path)
                lines.append(f"a {message.hex()}")
                data, sender = b.recvfrom(1024)
                assert data == message and sender == a_path, (data, sender)
                answer = b"answer %d" % i
                b.sendto(answer, sender)
                lines.append(f"b {answer.hex()}")
                assert a.recv(1024) == answer
            lines += [f"path {a_path}", f"path {b_path}"]
        else:
            for message in (b"first", b"second"):
                a.sendto(message, b_path)
                lines.append(f"a {message.hex()}")
                data, sender = b.recvfrom(1024)
                assert data == message and not sender, (data, sender)
            lines.append(f"path {b_path}")
        a.close()
        b.close()
    finally:
        shutil.rmtree(tmpdir)
elif mode == "seqpacket":
    p1, p2 = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    for message in (b"one", b"two", b"three"):
        p1.send(message)
        lines.append(f"p1 {message.hex()}")
    for message in (b"one", b"two", b"three"):
        assert p2.recv(1024) == message
    p2.send(b"back")
    lines.append(f"p2 {b'back'.hex()}")
    assert p1.recv(1024) == b"back"
    p1.close()
    assert p2.recv(1024) == b""  # the end of the connection, no message
    p2.close()
else:
    sys.exit(f"unknown mode {mode}")

with open(out_path, "w") as out:
    out.write("".join(line + "\n" for line in lines))
