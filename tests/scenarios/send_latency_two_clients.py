"""Send-side latency in one asyncio loop: two echo servers, a client of
each, 20 round trips apiece (the rule is aimed at the first client's sends
by its peer's port, so the servers' replies are never delayed).

argv: the two servers' ports. Prints, per client, the total seconds of its
round trips, their median and longest (ms), then the longest time (ms)
spent inside one write()+drain() of that client:
  targeted TOTAL MEDIAN_MS MAX_MS
  other TOTAL MEDIAN_MS MAX_MS
  write_targeted MAX_MS
  write_other MAX_MS
"""
import asyncio
import sys
import time


async def echo(r, w):
    while data := await r.read(100):
        w.write(data)
        await w.drain()
    w.close()


async def client(port, n, out, writes):
    r, w = await asyncio.open_connection('127.0.0.1', port)
    times, inside = [], []
    for _ in range(n):
        t = time.monotonic()
        w.write(b'ping')
        await w.drain()
        inside.append(time.monotonic() - t)
        assert await r.readexactly(4) == b'ping'
        times.append(time.monotonic() - t)
    w.close()
    await w.wait_closed()
    out[port] = times
    writes[port] = inside


async def main():
    s1 = await asyncio.start_server(echo, '127.0.0.1', int(sys.argv[1]))
    s2 = await asyncio.start_server(echo, '127.0.0.1', int(sys.argv[2]))
    p1 = s1.sockets[0].getsockname()[1]
    p2 = s2.sockets[0].getsockname()[1]
    out, writes = {}, {}
    await asyncio.gather(client(p1, 20, out, writes), client(p2, 20, out, writes))
    for p, name in ((p1, 'targeted'), (p2, 'other')):
        t = sorted(out[p])
        print(name, round(sum(t), 3), round(t[len(t) // 2] * 1000, 1), round(t[-1] * 1000, 1))
    for p, name in ((p1, 'write_targeted'), (p2, 'write_other')):
        print(name, round(max(writes[p]) * 1000, 1))
    s1.close()
    s2.close()

asyncio.run(main())
