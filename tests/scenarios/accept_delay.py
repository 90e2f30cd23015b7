"""accept:delay= on two asyncio listeners (only the first is delayed) and
on a plain listener: non-blocking, with a timeout, and blocking.
argv: the two asyncio ports; the plain listener takes the first + 2."""
import asyncio, socket, sys, time
p1, p2 = int(sys.argv[1]), int(sys.argv[2])
async def main():
    seen = {}
    def handler(port):
        async def h(r, w):
            seen[port] = time.monotonic() - t0
            w.close()
        return h
    s1 = await asyncio.start_server(handler(p1), '127.0.0.1', p1)
    s2 = await asyncio.start_server(handler(p2), '127.0.0.1', p2)
    t0 = time.monotonic()
    c1 = socket.create_connection(('127.0.0.1', p1)); c2 = socket.create_connection(('127.0.0.1', p2))
    while len(seen) < 2:
        await asyncio.sleep(0.01)
    print('accepted after', {k: round(v, 3) for k, v in seen.items()})
asyncio.run(main())
l = socket.socket(); l.bind(('127.0.0.1', p1 + 2)); l.listen()
c = socket.create_connection(l.getsockname()); t0 = time.monotonic()
l.setblocking(False)
try: l.accept(); print('nonblocking accept got it at once')
except BlockingIOError: print('nonblocking accept: EAGAIN')
l.settimeout(0.1)
try: l.accept(); print('accept with 0.1 s timeout got it')
except TimeoutError: print('accept with 0.1 s timeout: timed out')
l.settimeout(None); l.setblocking(True)
a, _ = l.accept(); print('blocking accept after %.3f' % (time.monotonic() - t0))
