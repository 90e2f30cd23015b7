"""A sink for one connection, run bare (not under the shim): listens on
argv[1], prints "ready", accepts one connection and reads it to the end.
Then prints
  got N INTACT FIRST_MS EOF_MS
N the bytes read, INTACT whether they are bytes(range(251)) repeated (so
whole and in order), FIRST_MS and EOF_MS the time from the accept to the
first byte and to the end of the stream. Closes the connection after the
end of the stream (a client waiting in recv() then sees its end too)."""
import socket
import sys
import time

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", int(sys.argv[1])))
srv.listen()
print("ready", flush=True)
srv.settimeout(30)
conn, _ = srv.accept()
conn.settimeout(30)
t = time.monotonic()
chunks, first = [], None
while data := conn.recv(65536):
    if first is None:
        first = time.monotonic() - t
    chunks.append(data)
eof = time.monotonic() - t
conn.close()
got = b"".join(chunks)
want = (bytes(range(251)) * (len(got) // 251 + 1))[:len(got)]
print("got", len(got), got == want, round((first or 0) * 1000, 1), round(eof * 1000, 1))
