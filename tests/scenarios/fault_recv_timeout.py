"""recv() on a blocking socket with SO_RCVTIMEO 0.2 s while data is
waiting, for fault tests of recv:timeout (the kernel's own timeout is what
the fault waits for).

Prints "recv: DATA MS" or "recv: ExceptionName ERRNO MS".
"""
import signal
import socket
import struct
import time

signal.alarm(10)

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
peer = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
conn.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, struct.pack("ll", 0, 200000))
peer.sendall(b"waiting")
start = time.monotonic()
try:
    outcome = repr(conn.recv(100))
except OSError as e:
    outcome = f"{type(e).__name__} {e.errno}"
print(f"recv: {outcome} {(time.monotonic() - start) * 1000:.1f}")
conn.close()
peer.close()
srv.close()
