"""Send-side latency with jitter keeps a stream's order: a sink thread of
this process listens on argv[1] (the rule, delay= and jitter=, is aimed at
peer=127.0.0.1:PORT); the client makes 60 small sends in a row through
send, sendall, sendmsg, write and writev, then closes. Prints:
  sends_ms T         the time inside the 60 sends together
  first_ms T         from the first send to the sink's first byte
  order BOOL N       the sink read exactly the 60 messages, in order
"""
import socket
import sys
import threading
import time

from scenario_helpers import send_every_way

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
messages = [b"<%02d:%s>" % (i, b"x" * (i % 7)) for i in range(60)]
t = time.monotonic()
send_every_way(c, messages, 2)
print("sends_ms", round((time.monotonic() - t) * 1000, 1))
c.close()
th.join(30)
print("first_ms", round((first[0] - t) * 1000, 1) if first else -1)
data = b"".join(got)
print("order", data == b"".join(messages), len(data))
