"""Send-side latency on an AF_UNIX stream (socket.socketpair()); the rule
is send:delay=200ms:family=unix. Prints "name value...":
  sends_ms T          time inside send(), sendall() and write() of b'one',
                      b'two', b'three' on one end
  nonblocking EAGAIN  a non-blocking recv() on the other end right after
  readable0 BOOL      select() for reading on it, at once
  first_ms T          a blocking recv(): ms from the first send to its data
  got DATA            all that arrived, in order
  close_ms T          send(b'last') then close() of the sending end: time
                      inside close()
  after DATA DATA     the other end's next two recv()s: b'last', then b''
"""
import os
import select
import socket
import time

a, b = socket.socketpair()
b.settimeout(10)   # a watchdog only
t = time.monotonic()
a.send(b"one")
a.sendall(b"two")
os.write(a.fileno(), b"three")
print("sends_ms", round((time.monotonic() - t) * 1000, 1))
b.setblocking(False)
try:
    early = b.recv(100)
    print("nonblocking", early)
except BlockingIOError:
    early = b""
    print("nonblocking EAGAIN")
print("readable0", bool(select.select([b], [], [], 0)[0]))
b.settimeout(10)
got = early
while len(got) < 11:
    data = b.recv(100)
    if not got:
        print("first_ms", round((time.monotonic() - t) * 1000, 1))
    got += data
print("got", got)
a.send(b"last")
t = time.monotonic()
a.close()
print("close_ms", round((time.monotonic() - t) * 1000, 1))
last = b.recv(100)
print("after", last, b.recv(100))
