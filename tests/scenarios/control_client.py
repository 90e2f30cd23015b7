"""A client that connects to a listener of its own every 50 ms, for the
live control tests: prints "attempt RESULT" (0, or the errno of
connect_ex) for each, flushed, and stops once the file argv[2] exists
(or after 20 s). argv: the port, the stop file."""
import os
import socket
import sys
import time

port, stop = int(sys.argv[1]), sys.argv[2]
listener = socket.create_server(("127.0.0.1", port), backlog=1024)
listener.setblocking(False)
deadline = time.monotonic() + 20
while not os.path.exists(stop) and time.monotonic() < deadline:
    with socket.socket() as s:
        print("attempt", s.connect_ex(("127.0.0.1", port)), flush=True)
    try:
        listener.accept()[0].close()
    except BlockingIOError:
        pass
    time.sleep(0.05)
