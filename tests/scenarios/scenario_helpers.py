"""Pieces several scenarios share (a scenario runs as a script: its own
directory is on sys.path, so `import scenario_helpers` finds this)."""
import os
import socket
import threading


def listener(port):
    """A TCP listener on 127.0.0.1:port (SO_REUSEADDR)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", port))
    srv.listen()
    return srv


def connected_pair(port):
    """A connection to a listener of our own on 127.0.0.1:port: (the
    listener, the client's socket, the accepted socket)."""
    srv = listener(port)
    c = socket.create_connection(("127.0.0.1", port))
    peer, _ = srv.accept()
    return srv, c, peer


def echo_server(port):
    """A listener on 127.0.0.1:port whose first connection is echoed, in a
    daemon thread; returns the listening socket."""
    srv = listener(port)

    def serve():
        conn, _ = srv.accept()
        with conn:
            while data := conn.recv(65536):
                conn.sendall(data)

    threading.Thread(target=serve, daemon=True).start()
    return srv


def send_every_way(c, messages, split):
    """Sends messages on c through each send entry point in turn: send,
    sendall, sendmsg and writev (cut at split), write."""
    fd = c.fileno()
    for i, m in enumerate(messages):
        kind = i % 5
        if kind == 0:
            assert c.send(m) == len(m)
        elif kind == 1:
            c.sendall(m)
        elif kind == 2:
            assert c.sendmsg([m[:split], m[split:]]) == len(m)
        elif kind == 3:
            assert os.write(fd, m) == len(m)
        else:
            assert os.writev(fd, [m[:split - 1], m[split - 1:]]) == len(m)
