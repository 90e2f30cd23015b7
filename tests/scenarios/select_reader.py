"""A server that waits in select() with no timeout for its one
connection's bytes, for the test of a rule removed while a wait goes on:
prints "listening PORT", then "got DATA" once select() says the
connection is readable and recv() gets its bytes."""
import select
import socket

listener = socket.create_server(("127.0.0.1", 0))
print("listening", listener.getsockname()[1], flush=True)
conn, _ = listener.accept()
select.select([conn], [], [])
print("got", conn.recv(100).decode(), flush=True)
