"""A server thread sends N bytes (default 10000); the client reads them in
1000-byte recv()s until end of file and says how many arrived and whether
they are the bytes that were sent."""
import hashlib
import socket
import sys
import threading

n = int(sys.argv[1]) if len(sys.argv) > 1 else 10000
data = bytes(i % 251 for i in range(n))
server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)


def serve():
    conn, _ = server.accept()
    conn.sendall(data)
    conn.close()


thread = threading.Thread(target=serve)
thread.start()
client = socket.create_connection(server.getsockname())
got = b""
while chunk := client.recv(1000):
    got += chunk
thread.join()
print(len(got), "bytes,", "intact" if got == data else "NOT the bytes sent")
