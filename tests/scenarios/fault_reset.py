"""A client sends b"one", b"two", b"three"... one send at a time, and the
server (in the same thread) reads each before the next is sent, for fault
tests of send:reset. After the client's first failed send, the server
reads once more, and the client sends and receives once more.

Prints, for each step, "client send N: ok|ExceptionName ERRNO",
"server recv: DATA|ExceptionName ERRNO", and at the end
"client send after: ..." and "client recv after: ...".
"""
import signal
import socket

signal.alarm(10)


def attempt(what, fn):
    try:
        result = fn()
        print(f"{what}: {result!r}")
        return True
    except OSError as e:
        print(f"{what}: {type(e).__name__} {e.errno}")
        return False


srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
client = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
for n, word in enumerate([b"one", b"two", b"three", b"four"], 1):
    if not attempt(f"client send {n}", lambda: client.send(word)):
        break
    attempt("server recv", lambda: conn.recv(100))
attempt("server recv", lambda: conn.recv(100))
attempt("client send after", lambda: client.send(b"more"))
attempt("client recv after", lambda: client.recv(100))
client.close()
conn.close()
srv.close()
