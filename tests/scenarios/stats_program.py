"""A program whose counts are known, for the live summary's tests
(ctl stats): a listener, two connections (five sockets open), one send a
rule cuts short and that is not continued (a lost-bytes finding), one
whole send, and a forked child that makes a socket and exits. Prints
"ready" once all that is done, flushed, and keeps its sockets open until
the file argv[1] exists (or 30 s)."""
import os
import socket
import sys
import time

stop = sys.argv[1]
listener = socket.create_server(("127.0.0.1", 0))
port = listener.getsockname()[1]
clients = [socket.create_connection(("127.0.0.1", port)) for _ in range(2)]
accepted = [listener.accept()[0] for _ in clients]
clients[0].send(b"a" * 100)   # under send:short=10:when=1, 10 bytes go
clients[0].send(b"b" * 100)   # a new buffer: the first one's rest is lost
child = os.fork()
if child == 0:
    socket.socket().close()
    os._exit(0)
os.waitpid(child, 0)
print("ready", flush=True)
deadline = time.monotonic() + 30
while not os.path.exists(stop) and time.monotonic() < deadline:
    time.sleep(0.02)
