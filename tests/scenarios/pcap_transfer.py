"""A client sends a block of bytes to a server in the same process, for the
capture tests.

Usage: pcap_transfer.py FAMILY SIZE OUT
  FAMILY  4 or 6 (127.0.0.1 or ::1)
  SIZE    bytes the client sends
  OUT     where to write what was sent, hex: "client <hex>\\nserver <hex>\\n"

The server (a thread) accepts one connection, reads until end of file,
replies b"got N" and closes. The client connects, sendall()s SIZE bytes
(a repeatable pseudo-random pattern), shuts down its sending side, reads
the reply to end of file and closes. Both ends are traced in one run, so
the capture sees every byte twice (sent and received) and must write it
once.
"""
import random
import socket
import sys
import threading

signal_alarm = __import__("signal").alarm
signal_alarm(60)

family = socket.AF_INET if sys.argv[1] == "4" else socket.AF_INET6
host = "127.0.0.1" if family == socket.AF_INET else "::1"
size = int(sys.argv[2])
payload = random.Random(size).randbytes(size)

listener = socket.socket(family, socket.SOCK_STREAM)
listener.bind((host, 0))
listener.listen(1)
port = listener.getsockname()[1]
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
client.connect((host, port))
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
print(answer.decode())
