"""connect:delay= as a latency of the handshake. Two listeners of this
process, on argv[1] (the rule's port=) and argv[2]; nothing accepts: the
kernel completes the handshakes into the backlog. Prints "name value...":
  asyncio DELAYED_S OTHER_S   two open_connection()s started together in one
                              loop (the delayed one first): seconds from the
                              start to each one's connection
  nonblocking ERRNO           connect_ex() of a non-blocking socket
  writable0 BOOL              poll(POLLOUT, 0) right after
  writable_s T SO_ERROR       select() for writing (3 s at most): seconds
                              from the connect, then SO_ERROR
  blocking_s T                a blocking connect(), seconds
"""
import asyncio
import errno
import select
import socket
import sys
import time

ports = [int(a) for a in sys.argv[1:3]]
listeners = []
for p in ports:
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", p))
    s.listen(16)
    listeners.append(s)
delayed, other = ports


async def timed(port, t0, out):
    r, w = await asyncio.open_connection("127.0.0.1", port)
    out[port] = time.monotonic() - t0
    w.close()
    await w.wait_closed()


async def both():
    out = {}
    t0 = time.monotonic()
    await asyncio.wait_for(asyncio.gather(timed(delayed, t0, out), timed(other, t0, out)), 10)
    print("asyncio", round(out[delayed], 3), round(out[other], 3), flush=True)

asyncio.run(both())

s = socket.socket()
s.setblocking(False)
t = time.monotonic()
rc = s.connect_ex(("127.0.0.1", delayed))
print("nonblocking", errno.errorcode.get(rc, rc))
p = select.poll()
p.register(s, select.POLLOUT)
print("writable0", bool(p.poll(0)))
w = select.select([], [s], [], 3)[1]
print("writable_s", round(time.monotonic() - t, 3) if w else -1,
      s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
s.close()

s = socket.socket()
t = time.monotonic()
s.connect(("127.0.0.1", delayed))
print("blocking_s", round(time.monotonic() - t, 3))
s.close()
