"""Three receives on one connection, for fault tests of recv:eof: the
first before the peer has sent anything (without a fault it would wait
for ever), the next two after the peer has sent b"payload" (the
connection stays open throughout).

Prints "recv I: DATA" for each.
"""
import signal
import socket

signal.alarm(10)

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
peer = socket.create_connection(srv.getsockname())
conn, _ = srv.accept()
print("recv 1:", conn.recv(1024))
peer.sendall(b"payload")
print("recv 2:", conn.recv(1024))
print("recv 3:", conn.recv(1024))
conn.close()
peer.close()
srv.close()
