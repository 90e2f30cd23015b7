"""A line too long for the trace ring (a 1.1 MiB receive shown whole,
with -s 1048576: over 2 MiB of JSON) right after short lines of the same
thread, twenty times over.

Main thread: srv = socket(); srv.bind(); srv.listen(); a = connect;
b = srv.accept(); a.setsockopt(SO_SNDBUF, 8 MiB);
b.setsockopt(SO_RCVBUF, 8 MiB); then twenty rounds of: a.sendall(1.1 MiB);
sleep 10 ms (all of it waits in b's receive buffer); b.send() three
short messages; b.recv() until the 1.1 MiB are in (one call, mostly);
a.recv(64). Prints "rounds 20".
"""
import signal
import socket
import time

signal.alarm(60)
SIZE = 1100 << 10
ROUNDS = 20

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
a = socket.create_connection(srv.getsockname())
b, _ = srv.accept()
a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 8 << 20)
b.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 << 20)
for _ in range(ROUNDS):
    a.sendall(b"y" * SIZE)
    time.sleep(0.01)
    for i in range(3):
        b.send(b"small %d" % i)
    got = 0
    while got < SIZE:
        got += len(b.recv(SIZE - got))
    a.recv(64)
a.close()
b.close()
srv.close()
print("rounds", ROUNDS)
