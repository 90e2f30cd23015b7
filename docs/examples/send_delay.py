"""A client and a server in one process, over loopback: under
send:delay=100ms:port=P the client's send() returns at once and the
server reads the bytes 100 ms later; the end of the stream follows them."""
import socket
import sys
import time

port = int(sys.argv[1]) if len(sys.argv) > 1 else 40031
server = socket.create_server(("127.0.0.1", port))
client = socket.create_connection(("127.0.0.1", port))
conn, _ = server.accept()
for i in range(2):
    start = time.monotonic()
    client.send(b"ping %d" % i)
    sent = time.monotonic()
    data = conn.recv(100)
    print(f"send took {(sent - start) * 1e3:.1f} ms, the peer read {data!r} "
          f"after {(time.monotonic() - start) * 1e3:.0f} ms")
client.sendall(b"x" * 100000)
client.close()
start = time.monotonic()
got = 0
while chunk := conn.recv(65536):
    got += len(chunk)
print(f"after the close the peer read {got} bytes, then the end, "
      f"{(time.monotonic() - start) * 1e3:.0f} ms later")
