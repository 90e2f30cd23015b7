"""TCP server in the parent, client in an os.fork() child, over 127.0.0.1.

Parent: srv = socket(); srv.setsockopt(SO_REUSEADDR); srv.bind();
srv.listen(); srv.getsockname(); fork(); srv.accept(); conn.recv();
conn.sendall(); conn.shutdown(SHUT_WR); conn.close(); srv.close();
waitpid().

Child: srv.close() (its inherited copy); cli = socket(); cli.connect();
cli.sendall(); cli.recv() until EOF; cli.getsockopt(SO_ERROR);
cli.close(); os._exit(). The child prints nothing: its result is its
exit status.
"""
import os
import signal
import socket

signal.alarm(10)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]

pid = os.fork()
if pid == 0:
    status = 1
    try:
        srv.close()
        cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        cli.connect(("127.0.0.1", port))
        cli.sendall(b"ping from child")
        reply = b""
        while True:
            chunk = cli.recv(1024)
            if not chunk:
                break
            reply += chunk
        err = cli.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
        cli.close()
        if reply == b"PING FROM CHILD" and err == 0:
            status = 0
    finally:
        os._exit(status)

conn, addr = srv.accept()
data = conn.recv(1024)
conn.sendall(data.upper())
conn.shutdown(socket.SHUT_WR)
conn.close()
srv.close()
_, status = os.waitpid(pid, 0)
print("parent got", data)
print("child exit status", os.waitstatus_to_exitcode(status))
