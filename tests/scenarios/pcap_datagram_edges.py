"""Datagrams the capture must not double, drop or mangle.

Usage: pcap_datagram_edges.py
1. A receiver bound to 0.0.0.0 and a sender bound implicitly exchange
   b"query" and b"answer" over 127.0.0.1 (both ends report each datagram,
   from a wildcard local address).
2. Three identical datagrams b"same query", then b"other", to 127.0.0.1
   port 9, where nobody in the run listens (only the sender reports them).
3. A 100,000-byte datagram over an AF_UNIX socketpair (longer than an IP
   packet can hold).
Prints what the two receivers got.
"""
import signal
import socket

signal.alarm(10)

receiver = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
receiver.bind(("0.0.0.0", 0))
port = receiver.getsockname()[1]
sender = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
sender.sendto(b"query", ("127.0.0.1", port))
data, addr = receiver.recvfrom(100)
receiver.sendto(b"answer", addr)
print(data, sender.recvfrom(100)[0])

for _ in range(3):
    sender.sendto(b"same query", ("127.0.0.1", 9))
sender.sendto(b"other", ("127.0.0.1", 9))

a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_DGRAM)
a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 1 << 20)
b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 1 << 20)
a.send(b"x" * 100_000)
print(len(b.recv(200_000)))
