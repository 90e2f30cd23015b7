"""Two sendall()s (8 MiB of b'a', then 1 MiB of b'b') through a small send
buffer to a reader that starts late, for the audit's sendall rebuild.

Main thread: srv = socket(); srv.setsockopt(SO_RCVBUF, 4096) (accepted
sockets inherit it: the reader's window stays small); srv.bind();
srv.listen(); srv.getsockname(); cli = socket();
cli.setsockopt(SO_SNDBUF, 4096); cli.connect(); conn = srv.accept();
cli.settimeout(120) (sendall() then sends without blocking: each send()
moves what fits, and sendall() waits and sends the rest); start the
reader; cli.sendall(8 MiB); cli.sendall(1 MiB); cli.shutdown(SHUT_WR);
cli.close(); join the reader; conn.close(); srv.close(). Prints "fd N"
(cli) and what the reader got.

Reader thread: sleeps 0.2 s, then conn.recv(1 MiB) until it returns b''.
"""
import signal
import socket
import threading
import time

signal.alarm(180)

FIRST = b"a" * (8 * 1024 * 1024)
SECOND = b"b" * (1024 * 1024)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
cli.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4096)
cli.connect(("127.0.0.1", port))
conn, _ = srv.accept()
# any timeout makes sendall() non-blocking; it is one deadline for the
# whole transfer, so it is long enough for a sanitizer on a loaded machine
cli.settimeout(120)
print("fd", cli.fileno())

received = []


def reader():
    time.sleep(0.2)
    while True:
        chunk = conn.recv(1024 * 1024)
        if not chunk:
            break
        received.append(chunk)


thread = threading.Thread(target=reader)
thread.start()
cli.sendall(FIRST)
cli.sendall(SECOND)
cli.shutdown(socket.SHUT_WR)
cli.close()
thread.join()
conn.close()
srv.close()
data = b"".join(received)
print("received", len(data), "bytes, intact:", data == FIRST + SECOND)
