"""A client sends a block of bytes to a server in the same process, for the
capture tests.

Usage: pcap_transfer.py FAMILY SIZE OUT
  FAMILY  4 or 6 (127.0.0.1 or ::1), or unix (an AF_UNIX stream socket
          on a path in a new directory of /tmp, removed at the end)
  SIZE    bytes the client sends
  OUT     where to write what was sent, hex: "client <hex>\\nserver <hex>\\n",
          and for unix the socket's path: "path <path>\\n"

The server (a thread) accepts one connection, reads until end of file,
replies b"got N" and closes. The client connects, sendall()s SIZE bytes
(a repeatable pseudo-random pattern), shuts down its sending side, reads
the reply to end of file and closes. Both ends are traced in one run, so
the capture sees every byte twice (sent and received) and must write it
once.
"""
import os
import random
import shutil
import socket
import sys
import tempfile
import threading

signal_alarm = __import__("signal").alarm
signal_alarm(60)

family = {"4": socket.AF_INET, "6": socket.AF_INET6, "unix": socket.AF_UNIX}[sys.argv[1]]
size = int(sys.argv[2])
payload = random.Random(size).randbytes(size)

listener = socket.socket(family, socket.SOCK_STREAM)
if family == socket.AF_UNIX:
    tmpdir = tempfile.mkdtemp(prefix="sockshim-pcap-")
    address = os.path.join(tmpdir, "server.sock")
    listener.bind(address)
else:
    listener.bind(("127.0.0.1" if family == socket.AF_INET else "::1", 0))
    address = listener.getsockname()[:2]
listener.listen(1)
reply = {}


def serve():
    conn, _ = listener.accept()
    got = 0
    while True:
        chunk = conn.recv(65536)
        if not chunk:
            break
        got += len(chunk)
    reply["bytes"] = b"got %d" % got
    conn.sendall(reply["bytes"])
    conn.close()


server = threading.Thread(target=serve)
server.start()
client = socket.socket(family, socket.SOCK_STREAM)
client.connect(address)
client.sendall(payload)
client.shutdown(socket.SHUT_WR)
answer = b""
while True:
    chunk = client.recv(4096)
    if not chunk:
        break
    answer += chunk
client.close()
server.join()
listener.close()
with open(sys.argv[3], "w") as out:
    out.write(f"client {payload.hex()}\nserver {answer.hex()}\n")
    if family == socket.AF_UNIX:
        out.write(f"path {address}\n")
        shutil.rmtree(tmpdir)
print(answer.decode())
