"""Connects N times to a server of its own, for fault tests on connect
(error=, delay=, jitter=, timeout, when=).

Usage: fault_connect.py [N]   (default 1)

srv = socket(); srv.bind(); srv.listen(N); then N times: cli = socket();
cli.connect(srv); cli.close(). Nothing is accepted. Prints one line per
attempt, with the time connect() took as the program saw it:
    connect I: ok MS
    connect I: ExceptionName ERRNO MS
"""
import signal
import socket
import sys
import time

signal.alarm(10)
count = int(sys.argv[1]) if len(sys.argv) > 1 else 1

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(count)
for i in range(1, count + 1):
    cli = socket.socket()
    start = time.monotonic()
    try:
        cli.connect(srv.getsockname())
        outcome = "ok"
    except OSError as e:
        outcome = f"{type(e).__name__} {e.errno}"
    ms = (time.monotonic() - start) * 1000
    print(f"connect {i}: {outcome} {ms:.1f}", flush=True)
    cli.close()
srv.close()
