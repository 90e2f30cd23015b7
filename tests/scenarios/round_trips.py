"""N one-byte round trips over a socketpair: a trace of 2N call lines,
for the tests of --max-size (tests/test_command.py).

Usage: round_trips.py N
"""
import socket
import sys

count = int(sys.argv[1])
a, b = socket.socketpair()
for _ in range(count):
    a.send(b"x")
    b.recv(1)
a.close()
b.close()
