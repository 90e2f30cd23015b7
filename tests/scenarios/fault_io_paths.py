"""Receives on a socketpair the way a program of each kind does, for the
tests of what a transfer fault stands for (tests/test_fault_fidelity.py).

Usage: fault_io_paths.py MODE
  nonblocking  the receiving end is non-blocking; the peer sends b'abc',
               then the program receives 1 byte three times
  blocking     the same on a blocking socket (CPython retries a receive
               that fails with EINTR, PEP 475)

Prints one line per receive: "recv I: DATA" or "recv I: ExceptionName ERRNO".
"""
import signal
import socket
import sys

signal.alarm(20)
mode = sys.argv[1]
mine, peer = socket.socketpair()
mine.setblocking(mode != "nonblocking")
peer.sendall(b"abc")
for i in range(1, 4):
    try:
        outcome = repr(mine.recv(1))
    except OSError as e:
        outcome = f"{type(e).__name__} {e.errno}"
    print(f"recv {i}: {outcome}", flush=True)
