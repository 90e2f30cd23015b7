"""Failing calls and option values as bytes.

s = socket(); s.bind(); s.getsockname(); s.close() (now the port is free);
c = socket(); c.connect(that port) raises ConnectionRefusedError; c.close();
l = socket(); l.bind(); l.listen(); l.getsockname();
b = socket(); b.bind(l's address) raises OSError EADDRINUSE; b.close();
r = socket(); os.close(r.fileno()); r.recv(1) raises OSError EBADF;
r.detach();
o = socket(); o.getsockopt(SOL_SOCKET, SO_LINGER, 8) (8 zero bytes);
o.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack('ii', 1, 0));
o.getsockopt(SOL_SOCKET, SO_LINGER, 8); o.close(); l.close().
"""
import errno
import os
import signal
import socket
import struct

signal.alarm(10)

s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
s.bind(("127.0.0.1", 0))
free = s.getsockname()
s.close()
c = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    c.connect(free)
    print("connect succeeded")
except ConnectionRefusedError as exc:
    print("connect:", type(exc).__name__, exc.errno == errno.ECONNREFUSED)
c.close()

l = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
l.bind(("127.0.0.1", 0))
l.listen(1)
busy = l.getsockname()
b = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
try:
    b.bind(busy)
    print("bind succeeded")
except OSError as exc:
    print("bind:", type(exc).__name__, exc.errno == errno.EADDRINUSE)
b.close()

r = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
os.close(r.fileno())
try:
    r.recv(1)
    print("recv succeeded")
except OSError as exc:
    print("recv:", type(exc).__name__, exc.errno == errno.EBADF)
r.detach()

o = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
print("linger before", o.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8))
o.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
print("linger after", o.getsockopt(socket.SOL_SOCKET, socket.SO_LINGER, 8))
o.close()
l.close()
