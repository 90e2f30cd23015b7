"""sendall() of 4 MiB through small socket buffers to a slow reader thread.

Main thread: srv = socket(); srv.setsockopt(SO_RCVBUF, 4096) (accepted
sockets inherit it); srv.bind(); srv.listen(); srv.getsockname();
cli = socket(); cli.setsockopt(SO_SNDBUF, 4096); cli.connect();
conn = srv.accept();
cli.settimeout(120) (so sendall() sends without blocking: each send()
moves only what fits and sendall() polls and sends the rest);
start the reader; cli.sendall(4 MiB); cli.shutdown(SHUT_WR);
cli.close(); join the reader; conn.close(); srv.close().

Reader thread: conn.recv(65536) with a short sleep between calls until
it returns b''.
"""
import hashlib
import signal
import socket
import threading
import time

signal.alarm(180)

SIZE = 4 * 1024 * 1024
payload = bytes(b"x" * SIZE)

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

received = []


def reader():
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        received.append(chunk)
        time.sleep(0.0005)


thread = threading.Thread(target=reader)
thread.start()
cli.sendall(payload)
cli.shutdown(socket.SHUT_WR)
cli.close()
thread.join()
conn.close()
srv.close()
data = b"".join(received)
print("received", len(data), "bytes, intact:",
      hashlib.sha256(data).digest() == hashlib.sha256(payload).digest())
