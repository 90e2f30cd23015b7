"""SIZE bytes over loopback, sent with one send() and read until end of
file, for fault tests of send:corrupt= and recv:corrupt=.

Usage: fault_corrupt.py SIZE

The client sends before the server reads (one thread; SIZE fits in the
socket buffers) and shuts down writing. Prints
    sent N                     (what send() returned)
    chunks K                   (receives that returned data)
    received N
    differing D                (bytes that differ from what was sent)
    intact True|False          (sha256 of both sides equal)
"""
import hashlib
import signal
import socket
import sys

signal.alarm(10)
size = int(sys.argv[1])
data = bytes(ord("a") + i % 26 for i in range(size))

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
client = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
print("sent", client.send(data))
client.shutdown(socket.SHUT_WR)
chunks = []
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    chunks.append(chunk)
got = b"".join(chunks)
print("chunks", len(chunks))
print("received", len(got))
print("differing", sum(a != b for a, b in zip(got, data)))
print("intact", hashlib.sha256(got).digest() == hashlib.sha256(data).digest())
client.close()
conn.close()
srv.close()
