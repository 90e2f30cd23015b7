"""A line-oriented reader over loopback, for fault tests of recv:short=.

Usage: fault_lines.py naive|makefile

The peer sends b"hello world\\nsecond line\\n" and shuts down writing, all
before the reader starts (one thread, nothing blocks). Then:
  naive     one conn.recv(1024), assumed to be the whole message: prints
            "message: ..." and exits 1 if it is not
  makefile  conn.makefile("rb").readline() twice: prints each line
"""
import signal
import socket
import sys

signal.alarm(10)
MESSAGE = b"hello world\nsecond line\n"

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
peer = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
peer.sendall(MESSAGE)
peer.shutdown(socket.SHUT_WR)

if sys.argv[1] == "naive":
    message = conn.recv(1024)
    print("message:", message)
    if message != MESSAGE:
        print("incomplete message")
        sys.exit(1)
else:
    f = conn.makefile("rb")
    print("line:", f.readline())
    print("line:", f.readline())
    f.close()
conn.close()
peer.close()
srv.close()
