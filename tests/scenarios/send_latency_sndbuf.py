"""A send-side latency holds at most the socket's SO_SNDBUF: what that
does to non-blocking sends, to select/poll/epoll, and to blocking sends.

argv[1]: the port of a sink server thread of this process (the rule is
aimed at peer=127.0.0.1:PORT with delay=500ms, so the client sockets'
sends are held and the sink's sockets are untouched). Each client socket
sets SO_SNDBUF to 32 KiB before it connects (the kernel reports 64 KiB).
Prints "name value...":
  A sndbuf N                    SO_SNDBUF as getsockopt reports it
  A fill SENT EAGAIN SHORT MS   non-blocking 4 KiB sends until EAGAIN (or 2 s
                                or 8 MiB): bytes taken, whether EAGAIN came,
                                whether a send was short, time taken
  A poll0 / select0 / epoll0 / epollet0 / write_eagain BOOL
                                at once after the fill: poll, select and
                                epoll (level and edge triggered) report it
                                writable; write() fails with EAGAIN
  A writable_ms T               epoll_wait(3 s) reports it writable T ms
                                after the fill began
  A epollet BOOL / A poll BOOL / A select BOOL
                                then each reports it writable (within 0.5 s)
  B fill SENT EAGAIN SHORT MS   the same fill on a second socket
  B sndtimeo OUTCOME MS         then a blocking send() with SO_SNDTIMEO 200 ms:
                                EAGAIN (BlockingIOError), partial, or sent
  B settimeout OUTCOME MS       then send() with settimeout(0.1): timeout or sent
  C sendall N MS                a blocking sendall() of 3 x SO_SNDBUF bytes
  sink X N INTACT               what the sink read from socket X (A, B, C),
                                whole and in order
  sent X N                      what the client's sends took on X
"""
import os
import select
import socket
import struct
import sys
import threading
import time

from scenario_helpers import listener

PATTERN = bytes(range(251))
port = int(sys.argv[1])
srv = listener(port)
results = {}


def pattern(n, start):
    start %= 251
    return (PATTERN * ((start + n) // 251 + 2))[start:start + n]


def sink(conn):
    with conn:
        peer = conn.getpeername()[1]
        chunks = []
        while data := conn.recv(65536):
            chunks.append(data)
        got = b"".join(chunks)
        results[peer] = (len(got), got == pattern(len(got), 0))


def serve():
    while True:
        conn, _ = srv.accept()
        threading.Thread(target=sink, args=(conn,), daemon=True).start()


def ms(t):
    return round((time.monotonic() - t) * 1000, 1)


def client():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 32768)
    s.connect(("127.0.0.1", port))
    return s


def fill(s):
    """Non-blocking 4 KiB sends until EAGAIN (at most 2 s, 8 MiB)."""
    s.setblocking(False)
    t = time.monotonic()
    sent, eagain, short = 0, False, False
    while time.monotonic() - t < 2 and sent < 8 << 20:
        try:
            n = s.send(pattern(4096, sent))
        except BlockingIOError:
            eagain = True
            break
        short = short or n < 4096
        sent += n
    return t, sent, eagain, short, ms(t)


threading.Thread(target=serve, daemon=True).start()
sent = {}

# A: non-blocking, and the waits
a = client()
names = {a.getsockname()[1]: "A"}
print("A sndbuf", a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
t0, n, eagain, short, took = fill(a)
sent["A"] = n
print("A fill", n, eagain, short, took)
p = select.poll()
p.register(a, select.POLLOUT)
ep = select.epoll()
ep.register(a.fileno(), select.EPOLLOUT)
et = select.epoll()
et.register(a.fileno(), select.EPOLLOUT | select.EPOLLET)
print("A poll0", bool(p.poll(0)))
print("A select0", bool(select.select([], [a], [], 0)[1]))
print("A epoll0", bool(ep.poll(0)))
print("A epollet0", bool(et.poll(0)))
try:
    k = os.write(a.fileno(), pattern(4096, sent["A"]))
    sent["A"] += k
    print("A write_eagain", False)
except BlockingIOError:
    print("A write_eagain", True)
events = ep.poll(3)
print("A writable_ms", ms(t0) if events else -1)
print("A epollet", bool(et.poll(0.5)))
# within 0.5 s: the delivery thread hands the held bytes to the kernel, and
# until the peer reads them the kernel's own buffer may be full a moment
print("A poll", bool(p.poll(500)))
print("A select", bool(select.select([], [a], [], 0.5)[1]))
ep.close()
et.close()
a.close()

# B: blocking sends with a timeout, the room still taken
b = client()
names[b.getsockname()[1]] = "B"
t0, n, eagain, short, took = fill(b)
sent["B"] = n
print("B fill", n, eagain, short, took)
b.setblocking(True)
b.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 0, 200000))
t = time.monotonic()
try:
    k = b.send(pattern(4096, sent["B"]))
    sent["B"] += k
    outcome = "partial" if k < 4096 else "sent"
except BlockingIOError:
    outcome = "EAGAIN"
print("B sndtimeo", outcome, ms(t))
b.settimeout(0.1)
t = time.monotonic()
try:
    k = b.send(pattern(4096, sent["B"]))
    sent["B"] += k
    outcome = "sent"
except TimeoutError:
    outcome = "timeout"
print("B settimeout", outcome, ms(t))
b.close()

# C: a blocking sendall of more than the room waits for it
c = client()
names[c.getsockname()[1]] = "C"
size = 3 * c.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
t = time.monotonic()
c.sendall(pattern(size, 0))
sent["C"] = size
print("C sendall", size, ms(t))
c.close()

deadline = time.monotonic() + 10
while len(results) < 3 and time.monotonic() < deadline:
    time.sleep(0.05)
by_name = {names[p]: r for p, r in results.items()}
for name in "ABC":
    print("sink", name, *by_name.get(name, (-1, False)))
for name in "ABC":
    print("sent", name, sent[name])
