"""Two blocking clients of the echo server at port argv[1], from the
source ports argv[2] and argv[3], 10 round trips each, one after the
other; prints each one's total time in seconds."""
import socket
import sys
import time

port, first, second = (int(a) for a in sys.argv[1:4])
for name, source in (("first", first), ("second", second)):
    s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.1", source))
    t = time.monotonic()
    for _ in range(10):
        s.sendall(b"ping")
        assert s.recv(100) == b"ping"
    print(name, round(time.monotonic() - t, 3), flush=True)
    s.close()
