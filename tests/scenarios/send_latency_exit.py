"""A client that sends and leaves: connects to the sink at port argv[1],
sendall()s argv[3] bytes (bytes(range(251)) repeated), then, by argv[2]:
  close     closes the socket and exits
  shutdown  shuts it for writing, waits for the sink to close (recv() -> b''), exits
  shutdown2 the same, but shuts it for writing twice (the second is a no-op)
  exit      exits with the socket still open (its fd detached from the
            socket object, so nothing closes it before the process ends)
Prints "sent N SEND_MS END_MS": the bytes sent, the time inside sendall()
and inside close()/shutdown() (0 for exit)."""
import socket
import sys
import time

port, mode, size = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
payload = (bytes(range(251)) * (size // 251 + 1))[:size]
c = socket.create_connection(("127.0.0.1", port))
t = time.monotonic()
c.sendall(payload)
send_ms = round((time.monotonic() - t) * 1000, 1)
end_ms = 0.0
t = time.monotonic()
if mode == "close":
    c.close()
    end_ms = round((time.monotonic() - t) * 1000, 1)
elif mode in ("shutdown", "shutdown2"):
    c.shutdown(socket.SHUT_WR)
    if mode == "shutdown2":
        c.shutdown(socket.SHUT_WR)
    end_ms = round((time.monotonic() - t) * 1000, 1)
    c.settimeout(30)
    assert c.recv(100) == b""
    c.close()
elif mode == "exit":
    c.detach()
else:
    sys.exit(f"unknown mode {mode}")
print("sent", size, send_ms, end_ms, flush=True)
