"""A client that retries a refused connect, as tests of retry logic want."""
import socket, sys, time
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
for attempt in range(1, 6):
    client = socket.socket()
    try:
        client.connect(server.getsockname())
        print("attempt", attempt, "connected")
        break
    except ConnectionRefusedError:
        print("attempt", attempt, "refused")
        client.close()
