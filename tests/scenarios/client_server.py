"""TCP server thread and client in one process over 127.0.0.1.

Main thread: srv = socket(); srv.setsockopt(SO_REUSEADDR); srv.bind();
srv.listen(); srv.getsockname(); cli = create_connection() (socket +
connect), all before the server thread starts so that file descriptor
numbers are deterministic (a blocked accept() reserves its fd early).
Then cli.sendall(); cli.recv() until EOF; cli.getsockopt(SO_ERROR);
cli.close(); srv.close() after the thread ends.

Server thread: conn = srv.accept(); conn.recv(); conn.sendall();
conn.shutdown(SHUT_WR); conn.close().
"""
import signal
import socket
import threading

signal.alarm(10)

srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(1)
port = srv.getsockname()[1]

cli = socket.create_connection(("127.0.0.1", port))


def serve():
    conn, addr = srv.accept()
    data = conn.recv(1024)
    conn.sendall(data.upper())
    conn.shutdown(socket.SHUT_WR)
    conn.close()
    print("server got", data)


thread = threading.Thread(target=serve)
thread.start()

cli.sendall(b"hello server")
reply = b""
while True:
    chunk = cli.recv(1024)
    if not chunk:
        break
    reply += chunk
err = cli.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
cli.close()
thread.join()
srv.close()
print("client got", reply, "so_error", err)
