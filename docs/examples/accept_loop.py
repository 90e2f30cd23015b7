"""A server accepts three clients, one after another, and survives a failed
accept() by trying again."""
import socket

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(5)
clients = [socket.create_connection(server.getsockname()) for _ in range(3)]
accepted = 0
for attempt in range(1, 6):
    try:
        conn, _ = server.accept()
        accepted += 1
        print("accept", attempt, "ok")
        if accepted == 3:
            break
    except OSError as e:
        print("accept", attempt, type(e).__name__, e.strerror)
