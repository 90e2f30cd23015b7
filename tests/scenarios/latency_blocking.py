"""Blocking sockets under a latency: a server thread echoes; the client
makes round trips, then shows how its timeouts meet data that is late.

argv: the server's port. Prints one line per step.
"""
import socket
import sys
import time

from scenario_helpers import echo_server

srv = echo_server(int(sys.argv[1]))
c = socket.create_connection(srv.getsockname())

t = time.monotonic()
for _ in range(3):
    c.sendall(b"ping")
    assert c.recv(100) == b"ping"
print(f"round trips {time.monotonic() - t:.2f}")

c.settimeout(0.05)
c.sendall(b"late")
try:
    c.recv(100)
    print("timeout none")
except TimeoutError:
    print("timeout raised")
c.settimeout(5)
print("then", c.recv(100))

c.setblocking(False)
c.sendall(b"nb")
try:
    c.recv(100)
    print("nonblocking got data at once")
except BlockingIOError:
    print("nonblocking EAGAIN")
time.sleep(0.4)
print("nonblocking later", c.recv(100))

c.setblocking(True)
big = bytes(range(256)) * 4096
c.sendall(big)
got = b""
while len(got) < len(big):
    got += c.recv(65536)
print("bulk intact", got == big)
c.shutdown(socket.SHUT_WR)
t = time.monotonic()
print("end", c.recv(100), f"{time.monotonic() - t >= 0.15}")
c.close()
