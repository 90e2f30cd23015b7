"""A client sends one byte at a time; a server thread reads until the
connection ends and reports how it ended."""
import socket
import threading

server = socket.socket()
server.bind(("127.0.0.1", 0))
server.listen(1)
ending = {}


def serve():
    conn, _ = server.accept()
    try:
        while conn.recv(100):
            pass
        ending["server"] = "end of file"
    except OSError as e:
        ending["server"] = type(e).__name__


thread = threading.Thread(target=serve)
thread.start()
client = socket.create_connection(server.getsockname())
for i in range(1, 6):
    try:
        client.send(b"x")
        print("send", i, "ok")
    except OSError as e:
        print("send", i, type(e).__name__)
print("recv", client.recv(10))
thread.join()
print("the server saw", ending["server"])
