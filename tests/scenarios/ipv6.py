"""TCP over the IPv6 loopback ::1; exits with status 77 when ::1 is not
usable (the test then skips).

srv = socket(AF_INET6, SOCK_STREAM); srv.bind(('::1', 0)); srv.listen();
srv.getsockname(); cli = socket(AF_INET6, SOCK_STREAM); cli.connect();
conn = srv.accept(); cli.getpeername(); conn.getpeername();
cli.sendall(); conn.recv(); conn.sendall(); cli.recv(); conn.close();
cli.close(); srv.close().
"""
import signal
import socket
import sys

signal.alarm(10)

if not socket.has_ipv6:
    sys.exit(77)
try:
    srv = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    srv.bind(("::1", 0))
except OSError:
    sys.exit(77)
srv.listen(1)
port = srv.getsockname()[1]
cli = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
cli.connect(("::1", port))
conn, addr = srv.accept()
print("client peer is server:", cli.getpeername() == srv.getsockname())
print("server peer is client:", conn.getpeername() == addr, addr[0], len(addr))
cli.sendall(b"over ipv6")
data = conn.recv(1024)
conn.sendall(data.upper())
reply = cli.recv(1024)
print(data, reply)
conn.close()
cli.close()
srv.close()
