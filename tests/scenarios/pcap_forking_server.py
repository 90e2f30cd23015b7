"""A forking server: the parent accepts a connection, forks a child to
serve it and closes its own copy at once, before the child has read or
written anything; the client (the parent too) sends a request and reads
the reply to end of file. For the capture: the parent's close ends
nothing (the child still holds the connection), so the server's FIN comes
after the reply, from the child's close.

Usage: pcap_forking_server.py REQUEST_SIZE
Prints "reply N" (the reply's length) and exits 0 when the exchange worked.
"""
import os
import signal
import socket
import sys

signal.alarm(20)
size = int(sys.argv[1])

listener = socket.socket()
listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
listener.bind(("127.0.0.1", 0))
listener.listen(1)
client = socket.create_connection(listener.getsockname())
conn, _ = listener.accept()
child = os.fork()
if child == 0:
    listener.close()
    client.close()
    got = b""
    while len(got) < size:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += chunk
    conn.sendall(b"got %d bytes" % len(got) * 1000)
    conn.close()
    os._exit(0)
conn.close()  # the parent's copy: the child still serves the connection
client.sendall(bytes(range(256)) * (size // 256))
reply = b""
while chunk := client.recv(65536):
    reply += chunk
client.close()
_, status = os.waitpid(child, 0)
print("reply", len(reply))
sys.exit(0 if status == 0 and reply == b"got %d bytes" % size * 1000 else 1)
