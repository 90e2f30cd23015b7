"""Connects to a server of its own the way a program of each kind does, for
the tests of what a connect fault stands for (tests/test_fault_fidelity.py).

Usage: fault_connect_paths.py MODE
  create_connection  socket.create_connection() (a blocking socket), then
                     sendall(b'hello') and recv: the server thread answers
                     in upper case
  blocking           a blocking socket's connect()
  sndtimeo           a blocking socket with SO_SNDTIMEO of 1 s
  asyncio            asyncio.open_connection() (a non-blocking socket, the
                     event loop waits for writability, then reads SO_ERROR)

The server listens on 127.0.0.1 and accepts (create_connection only).
Prints one line, "MODE: ok ANSWER MS" or "MODE: ExceptionName ERRNO MS",
MS being the time the attempt took.
"""
import asyncio
import signal
import socket
import struct
import sys
import threading
import time

signal.alarm(20)
mode = sys.argv[1]
srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
address = srv.getsockname()


def serve():
    conn, _ = srv.accept()
    conn.sendall(conn.recv(100).upper())
    conn.close()


def exchange(sock):
    sock.sendall(b"hello")
    return sock.recv(100)


def attempt():
    if mode == "create_connection":
        threading.Thread(target=serve, daemon=True).start()
        with socket.create_connection(address) as sock:
            return exchange(sock)
    if mode == "asyncio":
        async def main():
            reader, writer = await asyncio.open_connection(*address)
            writer.close()
        return asyncio.run(main())
    with socket.socket() as sock:
        if mode == "sndtimeo":
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, struct.pack("ll", 1, 0))
        sock.connect(address)


start = time.monotonic()
try:
    outcome = f"ok {attempt()!r}"
except OSError as e:
    outcome = f"{type(e).__name__} {e.errno}"
print(f"{mode}: {outcome} {(time.monotonic() - start) * 1000:.1f}", flush=True)
