"""A small client/server exchange over 127.0.0.1, traced by tools/demo."""
import socket
import threading

server = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", 0))
server.listen(5)
port = server.getsockname()[1]


def serve():
    conn, _ = server.accept()
    request = conn.recv(4096)
    conn.sendall(request.upper())
    conn.shutdown(socket.SHUT_WR)
    conn.close()


thread = threading.Thread(target=serve)
thread.start()
client = socket.create_connection(("127.0.0.1", port), timeout=5)
client.sendall(b"hello, sockshim\n")
reply = client.recv(4096)
client.close()
thread.join()
server.close()
print("client got", reply)
