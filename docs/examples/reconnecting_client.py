"""A small echo server and a client loop in one program: every 100 ms the
client sends a ping over its connection, and when the connection breaks
it reconnects. It prints one line a round: 'ok', or the error it met.
argv: the port; it runs until it is stopped."""
import socket
import sys
import threading
import time

port = int(sys.argv[1])
server = socket.create_server(("127.0.0.1", port))


def serve(conn):
    with conn:
        try:
            while data := conn.recv(64):
                conn.sendall(data)
        except OSError:
            pass


def accept_forever():
    while True:
        conn, _ = server.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


threading.Thread(target=accept_forever, daemon=True).start()
client = None
while True:
    try:
        if client is None:
            client = socket.create_connection(("127.0.0.1", port), timeout=1)
        client.sendall(b"ping")
        if client.recv(64) != b"ping":
            raise ConnectionError("the connection closed")
        print("ok", flush=True)
    except OSError as e:
        print(type(e).__name__, flush=True)
        if client is not None:
            client.close()
        client = None
    time.sleep(0.1)
