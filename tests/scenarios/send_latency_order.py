"""Send-side latency with jitter keeps a stream's order: a sink thread of
this process listens on argv[1] (the rule, delay= and jitter=, is aimed at
peer=127.0.0.1:PORT); the client makes 60 small sends in a row through
send, sendall, sendmsg, write and writev, then closes. Prints:
  sends_ms T         the time inside the 60 sends together
  first_ms T         from the first send to the sink's first byte
  order BOOL N       the sink read exactly the 60 messages, in order
"""
import os
import socket
import sys
import threading
import time

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen()
got, first = [], []


def sink():
    conn, _ = srv.accept()
    with conn:
        while data := conn.recv(65536):
            if not first:
                first.append(time.monotonic())
            got.append(data)


th = threading.Thread(target=sink)
th.start()
c = socket.create_connection(srv.getsockname())
fd = c.fileno()
messages = [b"<%02d:%s>" % (i, b"x" * (i % 7)) for i in range(60)]
t = time.monotonic()
for i, m in enumerate(messages):
    kind = i % 5
    if kind == 0:
        assert c.send(m) == len(m)
    elif kind == 1:
        c.sendall(m)
    elif kind == 2:
        assert c.sendmsg([m[:2], m[2:]]) == len(m)
    elif kind == 3:
        assert os.write(fd, m) == len(m)
    else:
        assert os.writev(fd, [m[:1], m[1:]]) == len(m)
print("sends_ms", round((time.monotonic() - t) * 1000, 1))
c.close()
th.join(30)
print("first_ms", round((first[0] - t) * 1000, 1) if first else -1)
data = b"".join(got)
print("order", data == b"".join(messages), len(data))
