"""Connects to a listener of its own every 100 ms for 1.6 s and prints each
attempt as TIME:RESULT: seconds since it started, and 0 or the errno
(111: refused). argv: the port."""
import socket, time, sys
port = int(sys.argv[1])
l = socket.socket(); l.bind(('127.0.0.1', port)); l.listen(64)
t0 = time.monotonic()
out = []
while time.monotonic() - t0 < 1.6:
    c = socket.socket()
    r = c.connect_ex(('127.0.0.1', port)); c.close()
    out.append((round(time.monotonic() - t0, 2), r))
    try:
        l.setblocking(False); a, _ = l.accept(); a.close()
    except BlockingIOError: pass
    time.sleep(0.1)
print(' '.join(f'{t}:{r}' for t, r in out))
