"""Child of inherited.py: adopts the socket inherited as fd argv[1].

s = socket(fileno=fd) (CPython asks getsockname, getsockopt(SO_TYPE),
getsockopt(SO_PROTOCOL)); s.sendall(); s.recv(); s.detach() (the parent
keeps using the connection; the fd is closed when the process exits).
"""
import signal
import socket
import sys

signal.alarm(10)

fd = int(sys.argv[1])
s = socket.socket(fileno=fd)
print("child: family", s.family.name, "type", s.type.name)
s.sendall(b"from the child")
print("child got", s.recv(1024))
s.detach()
