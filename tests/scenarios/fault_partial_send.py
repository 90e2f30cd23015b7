"""One non-blocking send() of 1 MB through a small send buffer, which the
kernel takes only part of, for fault tests of send:corrupt= on a partial
send. One thread: the receiver reads only after the send.

Prints "sent K" (what send() returned) and "differing D" (how many of
those K bytes arrived different from what the program sent).
"""
import signal
import socket

signal.alarm(10)
SIZE = 1_000_000
data = bytes(ord("a") + i % 26 for i in range(SIZE))

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
client = socket.socket()
client.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
client.connect(srv.getsockname())
conn, _ = srv.accept()
client.setblocking(False)
sent = client.send(data)
got = b""
while len(got) < sent:
    got += conn.recv(sent - len(got))
print("sent", sent)
print("differing", sum(a != b for a, b in zip(got, data)))
client.close()
conn.close()
srv.close()
