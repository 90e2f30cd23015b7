"""Two servers, on port 6379 and on a port the kernel picks; the client
talks to both and times each exchange."""
import socket
import threading
import time


def echo_server(port):
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", port))
    s.listen(1)

    def serve():
        conn, _ = s.accept()
        conn.sendall(conn.recv(100))
        conn.close()

    threading.Thread(target=serve).start()
    return s.getsockname()


for name, addr in (("port 6379", echo_server(6379)), ("other port", echo_server(0))):
    c = socket.create_connection(addr)
    start = time.monotonic()
    c.sendall(b"ping")
    c.recv(100)
    print(f"{name}: {time.monotonic() - start:.1f} s")
    c.close()
