"""A connected TCP socket inherited by a child process (subprocess.run
with pass_fds; CPython 3.11 uses vfork and exec).

srv = socket(); srv.bind(); srv.listen(); srv.getsockname();
cli = socket(); cli.connect(); conn = srv.accept();
subprocess.run([python, child_inherits.py, str(cli.fileno())],
pass_fds=[cli.fileno()]) (between vfork and exec the child marks cli's
fd inheritable and closes the others); the child sends on the
inherited socket and reads a reply: conn.recv(); conn.sendall();
after the child exits: cli.sendall(); conn.recv(); conn.sendall();
cli.recv(); cli.close(); conn.close(); srv.close().
"""
import os
import signal
import socket
import subprocess
import sys
import threading

signal.alarm(10)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
cli.connect(("127.0.0.1", port))
conn, _ = srv.accept()

child = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                     "child_inherits.py")
fd = cli.fileno()


def answer():
    data = conn.recv(1024)
    conn.sendall(data.upper())


# the child's request is answered by a thread: subprocess.run() waits
thread = threading.Thread(target=answer)
thread.start()
result = subprocess.run([sys.executable, child, str(fd)], pass_fds=[fd])
thread.join()
print("child exit status", result.returncode)

cli.sendall(b"parent still works")
print("parent got", conn.recv(1024))
conn.sendall(b"reply to parent")
print("parent got", cli.recv(1024))
cli.close()
conn.close()
srv.close()
