"""2000 one-byte round trips over a socket pair. CPython retries a call
that fails with EINTR (PEP 475), so the program never notices."""
import socket

a, b = socket.socketpair()
for i in range(2000):
    a.send(b"x")
    b.recv(1)
print("2000 round trips done")
