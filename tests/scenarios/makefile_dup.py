"""socket.dup() and makefile() on a connected TCP pair.

srv = socket(); srv.bind(); srv.listen(); srv.getsockname();
cli = socket(); cli.connect(); conn = srv.accept();
d = cli.dup() (fcntl F_DUPFD_CLOEXEC); f = d.makefile('rwb') (no dup
of its own: it reads and writes through d); f.write(); f.flush()
(one send on d); conn.recv(); conn.sendall(); f.readline() (one recv
on d); cli.close() (the original) while d still works: d.sendall();
conn.recv(); f.close(); d.close(); conn.close(); srv.close().
"""
import signal
import socket

signal.alarm(10)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]
cli = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
cli.connect(("127.0.0.1", port))
conn, _ = srv.accept()

d = cli.dup()
print("dup is another fd:", d.fileno() != cli.fileno())
f = d.makefile("rwb")
f.write(b"hello over makefile\n")
f.flush()
print("server got", conn.recv(1024))
conn.sendall(b"line one\n")
print("makefile read", f.readline())

cli.close()
d.sendall(b"after close of the original")
print("server got", conn.recv(1024))
f.close()
d.close()
conn.close()
srv.close()
