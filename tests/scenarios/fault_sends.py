"""N sends of b"hello world" (or MESSAGE; no sendall: each send's return
value is printed), then everything the server receives, for fault tests
of send:short=, recv:short= and of which rule applies.

Usage: fault_sends.py N [MESSAGE]

One thread: srv, client = create_connection(), conn = srv.accept();
client.send() N times; client.shutdown(SHUT_WR); conn.recv(65536) until
end of file. Prints "send I: RET" lines and "received: DATA".
"""
import signal
import socket
import sys

signal.alarm(10)
count = int(sys.argv[1])
message = sys.argv[2].encode() if len(sys.argv) > 2 else b"hello world"

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
client = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
for i in range(1, count + 1):
    print(f"send {i}: {client.send(message)}")
client.shutdown(socket.SHUT_WR)
received = b""
while True:
    chunk = conn.recv(65536)
    if not chunk:
        break
    received += chunk
print("received:", received)
client.close()
conn.close()
srv.close()
