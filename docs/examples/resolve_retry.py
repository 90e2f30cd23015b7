"""A client that retries a name lookup that fails for now (EAI_AGAIN), as
tests of a flaky DNS want."""
import socket, sys
server = socket.socket(); server.bind(("127.0.0.1", 0)); server.listen(1)
port = server.getsockname()[1]
for attempt in range(1, 6):
    try:
        family, kind, proto, _, addr = socket.getaddrinfo(
            "localhost", port, socket.AF_INET, socket.SOCK_STREAM)[0]
        break
    except socket.gaierror as e:
        print("attempt", attempt, "failed:", e.strerror)
else:
    sys.exit(1)
client = socket.socket(family, kind, proto)
client.connect(addr)
print("attempt", attempt, "connected")
client.close(); server.close()
