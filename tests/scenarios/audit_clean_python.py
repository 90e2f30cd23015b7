"""Idiomatic CPython networking, for the audit: it should find nothing.

Usage: audit_clean_python.py threading|plain

A line-echo server (socketserver.ThreadingTCPServer, or TCPServer, with
allow_reuse_address, on a fixed port that the kernel has just handed out)
runs serve_forever() in a thread. Its handler (StreamRequestHandler)
reads lines from rfile until end of file and writes each one back in
upper case to wfile (sendall).

The client: socket.create_connection(timeout=5) (a non-blocking connect
checked with SO_ERROR); conn.sendall(b"hello\\n"); f = conn.makefile("rwb");
f.readline(); f.write(b"world\\n"); f.flush(); f.readline();
conn.sendall(a 100001-byte line); f.readline(); conn.shutdown(SHUT_WR);
f.read() (the handler sees end of file, returns, and the server shuts the
connection: b''); f.close(); conn.close(). Then server.shutdown() and
server_close().

Every exchange is one request then its reply (no small writes in a row),
every socket is closed, and CPython ignores SIGPIPE.
"""
import signal
import socket
import socketserver
import sys
import threading

signal.alarm(20)

BASES = {"threading": socketserver.ThreadingTCPServer, "plain": socketserver.TCPServer}
if len(sys.argv) != 2 or sys.argv[1] not in BASES:
    sys.exit("usage: audit_clean_python.py threading|plain")


class LineEcho(socketserver.StreamRequestHandler):
    def handle(self):
        for line in self.rfile:
            self.wfile.write(line.upper())


class Server(BASES[sys.argv[1]]):
    allow_reuse_address = True


def free_port():
    probe = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    return port


port = free_port()
with Server(("127.0.0.1", port), LineEcho) as server:
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    with socket.create_connection(("127.0.0.1", port), timeout=5) as conn:
        conn.sendall(b"hello\n")
        with conn.makefile("rwb") as f:
            print(f.readline())
            f.write(b"world\n")
            f.flush()
            print(f.readline())
            conn.sendall(b"x" * 100000 + b"\n")
            reply = f.readline()
            print(len(reply), reply == b"X" * 100000 + b"\n")
            conn.shutdown(socket.SHUT_WR)
            print("rest", f.read())
    server.shutdown()
    thread.join()
print("done")
