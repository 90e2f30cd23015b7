"""AF_UNIX sockets: a stream socket on a path, an abstract datagram socket,
and a socketpair.

Stream: srv = socket(AF_UNIX, SOCK_STREAM); srv.bind(path); srv.listen();
cli = socket(AF_UNIX, SOCK_STREAM); cli.connect(path);
conn = srv.accept(); cli.sendall(); conn.recv(); conn.sendall();
cli.recv(); conn.close(); cli.close(); srv.close().
The path is <tempdir>/sockshim-XXXX/stream.sock (the directory varies).

Datagram: d1 = socket(AF_UNIX, SOCK_DGRAM); d1.bind(b'\\0sockshim-<pid>-dgram');
d2 = socket(AF_UNIX, SOCK_DGRAM); d2.sendto(b'dgram', name);
d1.recvfrom() (the sender is unbound: address ''); d2.close(); d1.close().

Socketpair: p1, p2 = socketpair(); p1.sendall(); p2.recv();
p2.sendall(); p1.recv(); p1.close(); p2.close().
"""
import os
import shutil
import signal
import socket
import tempfile

signal.alarm(10)

tmpdir = tempfile.mkdtemp(prefix="sockshim-")
try:
    path = os.path.join(tmpdir, "stream.sock")
    srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    srv.bind(path)
    srv.listen(1)
    cli = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    cli.connect(path)
    conn, addr = srv.accept()
    cli.sendall(b"over a path")
    data = conn.recv(1024)
    conn.sendall(data.upper())
    reply = cli.recv(1024)
    print("stream:", data, reply, "peer address", repr(addr))
    conn.close()
    cli.close()
    srv.close()
finally:
    shutil.rmtree(tmpdir)

name = b"\0sockshim-%d-dgram" % os.getpid()
d1 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d1.bind(name)
d2 = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
d2.sendto(b"dgram", name)
data, sender = d1.recvfrom(1024)
print("dgram:", data, "sender", repr(sender))
d2.close()
d1.close()

p1, p2 = socket.socketpair()
p1.sendall(b"to p2")
got2 = p2.recv(1024)
p2.sendall(b"to p1")
got1 = p1.recv(1024)
print("pair:", got2, got1)
p1.close()
p2.close()
