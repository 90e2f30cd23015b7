"""accept() on a server with a client waiting, twice if the first fails:
for fault tests of accept:error=.

srv = socket(); srv.bind(); srv.listen(); cli = create_connection(srv);
then srv.accept() until it succeeds (at most 3 tries), printing
    accept I: ok            or   accept I: ExceptionName ERRNO
and finally whether the accepted connection carries the client's data.
"""
import signal
import socket

signal.alarm(10)

srv = socket.socket()
srv.bind(("127.0.0.1", 0))
srv.listen(1)
cli = socket.create_connection(srv.getsockname())
cli.sendall(b"ping")
conn = None
for i in range(1, 4):
    try:
        conn, _ = srv.accept()
        print(f"accept {i}: ok")
        break
    except OSError as e:
        print(f"accept {i}: {type(e).__name__} {e.errno}")
if conn is not None:
    print("data:", conn.recv(16))
    conn.close()
cli.close()
srv.close()
