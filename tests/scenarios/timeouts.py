"""Timeouts: a connect with a timeout, then a recv that times out.

srv = socket(); srv.bind(); srv.listen(); srv.getsockname();
cli = create_connection(addr, timeout=5): socket(), settimeout(5)
(ioctl FIONBIO: setblocking(False)), then a non-blocking connect
(connect_ex -> EINPROGRESS), poll, getsockopt(SO_ERROR);
conn = srv.accept() (the server never sends anything);
cli.settimeout(0.2); cli.recv(10) raises socket.timeout;
cli.settimeout(None) (setblocking(True)); cli.close(); conn.close();
srv.close().
"""
import signal
import socket
import time

signal.alarm(10)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
cli = socket.create_connection(("127.0.0.1", port), timeout=5)
conn, _ = srv.accept()
cli.settimeout(0.2)
start = time.monotonic()
try:
    cli.recv(10)
    print("recv returned")
except socket.timeout as exc:
    elapsed = time.monotonic() - start
    print("recv raised", type(exc).__name__, exc, "after >= 0.2s:", elapsed >= 0.19)
print("timeout is", cli.gettimeout())
cli.settimeout(None)
print("timeout is", cli.gettimeout())
cli.close()
conn.close()
srv.close()
