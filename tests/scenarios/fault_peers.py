"""Sends on three connections in one process, for fault tests of the
filters port=, peer=, family=, fd= and after=.

Usage: fault_peers.py HOST_A:PORT_A HOST_B:PORT_B

Connects to A and to B (servers the test runs; nothing here accepts) and
makes a unix socketpair; then sends b"hello" twice on each (A, B, then the
pair's first end), and prints per connection "NAME fd=FD sent=R1,R2".
"""
import signal
import socket
import sys

signal.alarm(10)


def address(arg):
    host, port = arg.rsplit(":", 1)
    return host, int(port)


conns = {
    "A": socket.create_connection(address(sys.argv[1])),
    "B": socket.create_connection(address(sys.argv[2])),
}
conns["unix"], other_end = socket.socketpair()
for name, sock in conns.items():
    sent = [sock.send(b"hello") for _ in range(2)]
    print(f"{name} fd={sock.fileno()} sent={sent[0]},{sent[1]}")
for sock in [*conns.values(), other_end]:
    sock.close()
